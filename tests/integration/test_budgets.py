"""
Memory budgets (issue 9, docs/SECURITY.md "Memory budgets"): what peers that
do not read, API clients without a token or with large bodies, and slow
event subscribers can make a node hold is bounded, and goes back after.

Budgets are given through the environment (NODED_PEER_SEND_BUDGET, ...),
which a node without these options ignores: on such a node the tests fail
on what it does, not on a refused option.  Assertions are on the node's
own gauges (noded_budget_bytes), not on RSS.
"""

import json
import socket
import struct
import time

import p2plib
from conftest import HOST, wait_until
from test_api import EventStream, call, check_error, start_api_node, streams, \
    write_token  # noqa: F401
from txlib import Wallet


def budget(node, kind, what="noded_budget_bytes"):
    """A labelled budget metric (None if the node has none)."""
    return node.metrics().get('%s{kind="%s"}' % (what, kind))


def fill_mempool(node, n, memo=200):
    """n transactions of about 300 bytes each in node's mempool; their ids (bytes)."""
    ids = []
    w = Wallet()
    for k in range(0, n, 100):
        batch = [w.tx(amount=1, memo=b"m" * memo) for _ in range(min(100, n - k))]
        code, body = node.submit_batch([t.hex() for t in batch])
        assert code == 200, body
        ids += [bytes.fromhex(t.id_hex()) for t in batch]
    wait_until(lambda: node.status()["mempool_txs"] >= n, 20, "mempool filled")
    return ids


def send_until_blocked(conn, data, seconds):
    """Sends data again and again for at most seconds, until the node stops
    taking it (its receive window full) or closes; returns the copies sent."""
    sent = 0
    conn.sock.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn.sock.sendall(data)
        except (socket.timeout, TimeoutError, OSError):
            break
        sent += 1
    return sent


# === peers ================================================================================

def test_a_peer_that_requests_and_never_reads_is_paused_then_cut(cluster):
    """A peer asks for known transactions again and again and reads nothing:
    the node stops reading its requests once its share of the send budget is
    queued (it does not queue up to the 16 MiB cut-off), disconnects it once
    nothing has drained for a while, and the gauge goes back to zero."""
    victim = cluster.start("victim", env={"NODED_PEER_SEND_BUDGET": "256k"})
    ids = fill_mempool(victim, 300)
    # About 100 KB of answers per GETDATA of the 300 ids.
    c = p2plib.SecureConn(victim.p2p_port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.hello("hog")
    wait_until(lambda: c.node_id in victim.peer_ids(), 5, "hog active")
    # Each record is sealed once: send many distinct ones (the stream's nonces advance).
    records = b"".join(c.seal(p2plib.frame(p2plib.FRAME_GETDATA, p2plib.ids_payload(ids)))
                       for _ in range(200))
    c.sock.settimeout(5)
    try:
        c.sock.sendall(records)          # 200 x 9.6 KB: ~20 MB of answers asked for
    except OSError:
        pass
    # Nothing drains: cut within PEER_STALL_MS (5 s) and a tick.  (Reading
    # the socket to see it closed would drain it: watch the log instead.)
    wait_until(lambda: victim.log_grep(r"peer hog disconnected"), 30, "hog disconnected")
    # It was cut for not reading, with about its share queued (plus one
    # record's answers), not at the 16 MiB per-peer cut-off.  What was sent
    # also counts what the kernel's socket buffers took (a few MB on loopback).
    assert victim.log_grep(r"peer hog disconnected .*not reading: \d+ bytes queued "
                           r"\(its share of the send budget: 262144\), \d+ taken in 5000 ms")
    queued = victim.metrics()['noded_bytes_sent_total{type="TX"}']
    assert queued < 8 << 20, queued
    assert budget(victim, "peer_send", "noded_budget_refused_total") >= 1
    peak = victim.status()["budgets"]["peer_send"]["peak"]
    assert peak < 1 << 20, peak
    assert budget(victim, "peer_send", "noded_budget_disconnects_total") == 1
    wait_until(lambda: budget(victim, "peer_send") == 0, 10, "peer_send budget back to 0")
    assert budget(victim, "peer_send", "noded_budget_limit_bytes") == 262144
    c.close()


def test_a_large_getdata_is_answered_a_slice_at_a_time(cluster):
    """One GETDATA of 1,000 known ids (about 360 KB of answers) is not sealed
    into the peer's output in one go, ahead of every other peer: it is
    answered from a queue, a slice (16 KiB) a loop turn, which stops while
    the peer's output is over its share (64 KiB here), so that output never
    holds much more than the share, and every id is still answered.  (The
    whole answer at once put 364 KB in it.)"""
    victim = cluster.start("victim", env={"NODED_PEER_SEND_BUDGET": "64k"})
    ids = fill_mempool(victim, 1000)
    c = p2plib.SecureConn(victim.p2p_port, timeout=20)
    c.hello("asker")
    wait_until(lambda: c.node_id in victim.peer_ids(), 5, "asker active")
    c.send_frame(p2plib.FRAME_GETDATA, p2plib.ids_payload(ids))
    got = set()
    deadline = time.monotonic() + 30
    while len(got) < len(ids) and time.monotonic() < deadline:
        t, p = c.recv_frame()
        if t == p2plib.FRAME_TX:
            got.add(p)
        elif t == p2plib.FRAME_PING:
            c.send_frame(p2plib.FRAME_PONG, p)
    assert len(got) == len(ids), len(got)
    peak = victim.status()["budgets"]["peer_send"]["peak"]
    assert peak < (64 + 16) << 10, peak
    m = victim.metrics()
    assert m.get('noded_relay_frames_queued_total{type="getdata"}', 0) >= 1, m
    assert m.get("noded_relay_peers_held") == 0, m
    c.close()


def test_a_peer_that_reads_slowly_is_served_all_it_asked(cluster):
    """Backpressure, not drops: a peer over its share whose output drains is
    read again, and gets an answer to every request."""
    victim = cluster.start("victim", env={"NODED_PEER_SEND_BUDGET": "64k"})
    ids = fill_mempool(victim, 200)
    c = p2plib.SecureConn(victim.p2p_port, timeout=20)
    c.hello("slow")
    wait_until(lambda: c.node_id in victim.peer_ids(), 5, "slow active")
    rounds = 20
    c.sock.sendall(b"".join(c.seal(p2plib.frame(p2plib.FRAME_GETDATA, p2plib.ids_payload(ids)))
                            for _ in range(rounds)))
    got = 0
    deadline = time.monotonic() + 60
    while got < rounds * len(ids) and time.monotonic() < deadline:
        t, p = c.recv_frame()
        if t == p2plib.FRAME_TX:
            got += 1
        elif t == p2plib.FRAME_PING:
            c.send_frame(p2plib.FRAME_PONG, p)
    assert got == rounds * len(ids), got
    assert (budget(victim, "peer_send", "noded_budget_refused_total") or 0) >= 1
    assert budget(victim, "peer_send", "noded_budget_disconnects_total") == 0
    assert not c.peer_closed()
    c.close()


# === API request bodies ==================================================================

def raw_head(node, head, timeout=5):
    """Sends a request head alone (no body) and reads the answer until the
    node closes or timeout: (status, headers, body).  A node that waits for
    the body answers nothing: AssertionError."""
    s = socket.create_connection((HOST, node.api_port), timeout=timeout)
    got = b""
    try:
        s.sendall(head.encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = s.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not data:
                break
            got += data
    finally:
        s.close()
    assert got, "no answer within %s s to a head without its body" % timeout
    head_, _, body = got.partition(b"\r\n\r\n")
    lines = head_.decode("latin-1").split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def post_head(path, length, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, length, extra))


def test_an_unauthenticated_body_is_refused_on_its_head(cluster, tmp_path):
    """With --api-token-file, a POST without the token gets 401 as soon as its
    head is in: its body is never read (the client need not send it)."""
    token = "tok-budgets-" + "a" * 20
    path = write_token(tmp_path / "token", token + "\n")
    a = start_api_node(cluster, "a", token=token, args=["--api-token-file", path])
    code, hdrs, body = raw_head(a, post_head("/v1/tx", 4 << 20))
    assert code == 401, (code, body)
    assert hdrs.get("www-authenticate") == 'Bearer realm="noded"', hdrs
    assert hdrs.get("connection") == "close", hdrs
    assert json.loads(body) == {"error": "missing token: send \"Authorization: Bearer <token>\"",
                                "code": "missing_token"}
    code, _, body = raw_head(a, post_head("/v1/tx", 4 << 20, "Authorization: Bearer nope\r\n"))
    assert code == 401 and json.loads(body)["code"] == "bad_token", body
    assert a.log_grep(r"WARN api: refused POST /v1/tx from 127\.0\.0\.1:\d+: missing token: .*"
                      r"\(401, body not read\)")
    # With the token, a body over the limit gets 413 from its Content-Length.
    code, _, body = raw_head(a, post_head("/v1/tx", 2 << 20, "Authorization: Bearer %s\r\n" % token))
    assert code == 413, body
    assert json.loads(body)["error"] == \
        "request body of 2097152 bytes is over the limit of 1048576 bytes"
    # A client that sends its body anyway still reads the answer (the node
    # reads and throws the body away rather than resetting the connection).
    r = call(a, "POST", "/v1/tx", b"x" * (3 << 20))
    check_error(r, 401, "missing token")
    # Nothing was held, and the node still serves.
    assert budget(a, "api_body") == 0
    assert call(a, "GET", "/v1/status", headers={"Authorization": "Bearer " + token}).status == 200


def test_an_admin_body_without_the_admin_token_is_refused_on_its_head(cluster):
    a = cluster.start("a")
    code, hdrs, body = raw_head(a, post_head("/v1/peers", 100000))
    assert code == 401, body
    assert json.loads(body)["code"] == "missing_token"
    assert "changes the node and needs the admin token" in json.loads(body)["error"]
    # Chunked request bodies are not followed: 411.
    code, _, body = raw_head(a, "POST /v1/tx HTTP/1.1\r\nHost: x\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n")
    assert code == 411 and json.loads(body)["code"] == "length_required", body


def test_bodies_over_the_budget_get_503(cluster):
    """The bodies being read count against --api-body-budget from their
    Content-Length: one that would pass it is refused at once."""
    a = cluster.start("a", env={"NODED_API_BODY_BUDGET": "1m"})
    hold = socket.create_connection((HOST, a.api_port), timeout=10)
    try:
        # A body of 900,000 bytes, of which only the first bytes come.
        hold.sendall(post_head("/v1/tx", 900000).encode() + b'{"tx": "')
        wait_until(lambda: budget(a, "api_body") == 900000, 10, "the body counted")
        code, _, body = raw_head(a, post_head("/v1/tx", 200000))
        assert code == 503, body
        assert json.loads(body)["code"] == "body_budget", body
        assert budget(a, "api_body", "noded_budget_refused_total") == 1
        # A small one still fits.
        r = call(a, "POST", "/v1/tx", {"tx": "00"})
        assert r.status == 422, r
    finally:
        hold.close()
    wait_until(lambda: budget(a, "api_body") == 0, 10, "the budget given back")
    assert budget(a, "api_body", "noded_budget_limit_bytes") == 1 << 20
    # Requests one after another on one connection are followed body by body.
    import http.client
    conn = http.client.HTTPConnection(HOST, a.api_port, timeout=10)
    try:
        for _ in range(3):
            conn.request("POST", "/v1/tx", body=json.dumps({"tx": "00"}).encode(),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 422
            conn.request("GET", "/v1/status")
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["name"] == "a"
    finally:
        conn.close()
    assert budget(a, "api_body") == 0


# === event streams =======================================================================

def test_slow_event_subscribers_are_cut_at_the_events_budget(cluster, streams):
    """Three subscribers that read nothing: once the streams together hold
    more than --events-budget, one over its share is cut (each would be
    allowed 1 MiB alone), and the gauge stays near the budget."""
    name = "slow" + "x" * 60
    a = cluster.start(name, env={"NODED_EVENTS_BUDGET": "1m"})
    good = streams(a)
    good.wait_comment("noded %s events" % name)
    slow = [streams(a, rcvbuf=4096, maxseg=536, read=False) for _ in range(3)]
    assert all(s.status == 200 for s in slow)
    w = Wallet()
    # ~250 bytes an event: 3,000 events are ~750 KB a stream, under the
    # per-stream 1 MiB, over 1 MiB for the three together.
    for _ in range(3):
        batch = w.txs(1000, amount=1000)
        code, body = a.request("POST", "/v1/tx", {"txs": [t.hex() for t in batch]})
        assert code == 200 and body["rejected"] == 1000, body
    wait_until(lambda: (budget(a, "events", "noded_budget_disconnects_total") or 0) >= 1, 20,
               "a slow subscriber cut")
    assert a.log_grep(r"WARN api: events: dropping 127\.0\.0\.1:\d+: slow reader: \d+ bytes "
                      r"unsent, over its share \(\d+\) of the events budget")
    assert budget(a, "events") <= (1 << 20) + 64 * 1024
    assert a.status()["budgets"]["events"]["peak"] <= (1 << 20) + 64 * 1024
    # The reader that keeps up saw every event and stays.
    t = w.tx(amount=1000)
    assert a.request("POST", "/v1/tx", {"tx": t.hex()})[0] == 422
    good.wait_event("tx_rejected", lambda d: d["id"] == t.id_hex(), timeout=30)
    assert len(good.of("tx_rejected")) == 3001


def test_bodies_of_any_method_and_pipelined_heads_are_screened(cluster, tmp_path):
    """evhttp (2.1.12) reads a body for GET, DELETE and OPTIONS too: such a
    body is screened like a POST's.  A refused request sent behind one not
    answered yet (pipelined) cannot be answered first: the earlier one is
    answered, the refused one gets no answer, and the connection closes."""
    token = "tok-pipe-" + "b" * 20
    path = write_token(tmp_path / "token", token + "\n")
    a = start_api_node(cluster, "a", token=token, args=["--api-token-file", path])
    for method in ("GET", "DELETE", "OPTIONS"):
        code, _, body = raw_head(a, "%s /v1/status HTTP/1.1\r\nHost: x\r\n"
                                    "Content-Length: %d\r\n\r\n" % (method, 4 << 20))
        assert code == 401 and json.loads(body)["code"] == "missing_token", (method, body)
    first = "GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % token
    s = socket.create_connection((HOST, a.api_port), timeout=15)
    got = b""
    try:
        s.sendall((first + post_head("/v1/tx", 4 << 20)).encode())
        while True:
            data = s.recv(65536)
            if not data:
                break
            got += data
    finally:
        s.close()
    assert got.startswith(b"HTTP/1.1 200 "), got[:200]
    assert got.count(b"HTTP/1.1 ") == 1, got
    assert a.log_grep(r"refused POST /v1/tx from 127\.0\.0\.1:\d+: missing token.*sent "
                      r"behind 1 unanswered")
    assert budget(a, "api_body") == 0
