"""
The HTTP API's limits and path handling (docs/API.md, "Limits") against real
noded processes on 127.0.0.1: running out of file descriptors, the cap on
connections, the deadline for a whole request, the memory a slow event
reader costs, the cap on event streams, a token file holding the longest
token, and percent-encoded paths.

Helpers come from test_api.py (call, check_error, the streams fixture, ApiNode...).
No assertion is on speed: waits are bounded by wait_until, and the only
durations are the node's own documented deadlines.
"""

import os
import re
import socket
import time

import pytest

from conftest import HOST, NODED, Node, NodeStartError, run_nodectl, wait_until
from test_api import (ApiNode, call, check_error, check_json, scrape,
                      start_api_node, streams, value, write_token)  # noqa: F401
from txlib import Wallet

MAX_CONNS = 256          # SERVER_MAX_CONNS (daemon/http/server.h)
MAX_STREAMS = 64         # EVENTS_MAX_STREAMS (daemon/http/events.h)
REQUEST_S = 20           # SERVER_REQUEST_S (daemon/http/server.c)
TOKEN_MAX = 4096
ZERO_ID = "0" * 64


def asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def proc_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


def connect_idle(port, count, timeout=5):
    """count TCP connections to port that send nothing; those that did not connect are left out."""
    out = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((HOST, port))
        except OSError:
            s.close()
            continue
        s.settimeout(None)          # blocking: closed_by_peer polls with MSG_DONTWAIT
        out.append(s)
    return out


def closed_by_peer(s):
    """True if the node closed s (EOF or reset); False if it is still open."""
    try:
        data = s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    return data == b""


def close_all(socks):
    for s in socks:
        s.close()


class LimitedNode(Node):
    """A Node started under `ulimit -n nofile` (the shell execs noded: same pid)."""

    def __init__(self, name, workdir, nofile, **kw):
        Node.__init__(self, name, workdir, **kw)
        self.nofile = nofile

    def command(self):
        return ["/bin/sh", "-c", 'ulimit -n %d && exec "$0" "$@"' % self.nofile] + \
            Node.command(self)


# === file descriptors and connections ======================================================

def test_descriptor_exhaustion_pauses_the_listener_and_logs_once(cluster):
    assert os.access(NODED, os.X_OK), NODED
    a = LimitedNode("fd", cluster.workdir, 128)
    cluster.nodes.append(a)
    a.start(attempts=3)
    socks = connect_idle(a.api_port, 200, timeout=1)
    try:
        # The node runs out of descriptors after some hundred connections.  It
        # used to retry accept(2) at once, forever: 100% CPU, and a libevent
        # warning per try (220 MB of log in 8 s).  Now it pauses the listener
        # and logs once.
        wait_until(lambda: a.log_grep(r"WARN api: cannot accept connections: "
                                      r"Too many open files"), 10, "the accept failure logged")
        time.sleep(3)                       # room for a spin to show in the log
        assert a.alive()
        assert len(a.log_grep(r"cannot accept connections")) == 1
        assert not a.log_grep(r"Error from accept"), a.log_grep(r"Error from accept")[:3]
        assert os.path.getsize(a.log_path) < 64 * 1024
    finally:
        close_all(socks)
    # The descriptors come back once the clients leave: the API answers again.
    wait_until(lambda: call(a, "GET", "/v1/status", timeout=2).status == 200, 30,
               "the API to answer after the clients left")
    # The episode ends with an accept 10 s after the last failure.
    wait_until(lambda: call(a, "GET", "/v1/status", timeout=2).status == 200 and a.log_grep(
        r"INFO api: accepting connections again after \d+ failed accept\(2\) calls"), 30,
        "the end of the episode logged", interval=0.5)
    assert len(a.log_grep(r"cannot accept connections")) == 1


def test_connections_over_the_cap_are_closed_at_once(cluster):
    a = cluster.start("cap")
    extra = 40
    socks = connect_idle(a.api_port, MAX_CONNS + extra)
    try:
        assert len(socks) == MAX_CONNS + extra
        # Well before the request deadline: the ones over the cap are closed.
        # (The start-up's own requests may still count for a moment.)
        wait_until(lambda: sum(closed_by_peer(s) for s in socks) >= extra, REQUEST_S / 2,
                   "the node to close the connections over %d" % MAX_CONNS)
        open_ = [s for s in socks if not closed_by_peer(s)]
        assert MAX_CONNS - 4 <= len(open_) <= MAX_CONNS, len(open_)
        assert a.log_grep(r"WARN api: %d connections open, the limit: closing new "
                          r"ones until some close" % MAX_CONNS)
        # Room again once some leave.
        close_all(open_[:10])
        wait_until(lambda: call(a, "GET", "/v1/status", timeout=2).status == 200, 10,
                   "the API to answer below the cap")
        wait_until(lambda: a.log_grep(r"INFO api: below %d connections again; \d+ refused"
                                      % MAX_CONNS), 5, "the end of the episode logged")
    finally:
        close_all(socks)


def test_a_request_sent_slowly_or_never_is_cut_off(cluster):
    a = cluster.start("slowloris")
    idle = connect_idle(a.api_port, 1)[0]
    slow = connect_idle(a.api_port, 1)[0]
    try:
        # One header byte a second would reset evhttp's idle timeout forever;
        # the node wants the whole request within its deadline instead.
        slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        cut = False
        while time.monotonic() - t0 < REQUEST_S + 15:
            try:
                slow.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            if closed_by_peer(slow):
                cut = True
                break
            time.sleep(1)
        assert cut, "a request dribbled for %d s is still being read" % (REQUEST_S + 15)
        assert closed_by_peer(idle), "an idle connection outlived the request deadline"
        # A request sent at once is unaffected.
        assert call(a, "GET", "/v1/status").status == 200
    finally:
        idle.close()
        slow.close()


# === event streams ===========================================================================

def test_slow_event_readers_cost_bounded_memory(cluster, streams):
    # A long name makes each event ~250 bytes.  Each slow reader advertises a
    # tiny window, so its events pile up in the node until the 1 MiB bound.
    # They used to be held one 512..1024-byte buffer per event: ~6 MiB per
    # reader, 1.87 GB for 300 of them.
    readers = 16
    name = "slow" + "x" * 60
    a = cluster.start(name)
    pid = a.proc.pid
    good = streams(a)
    good.wait_comment("noded %s events" % name)
    slow = [streams(a, rcvbuf=4096, maxseg=536, read=False) for _ in range(readers)]
    assert all(s.status == 200 for s in slow)
    rss0 = proc_kb(pid, "VmRSS")
    w = Wallet()
    sent = 0
    dropped = 0
    while dropped < readers:
        assert sent < 60000, "%d of %d slow readers dropped after %d events" % (
            dropped, readers, sent)
        # Over the amount limit: every one is a tx_rejected event, and the
        # mempool does not grow.
        batch = w.txs(1000, amount=1000)
        body = check_json(call(a, "POST", "/v1/tx", {"txs": [t.hex() for t in batch]}), 200)
        assert body["rejected"] == 1000, body
        sent += 1000
        dropped = value(scrape(a)[1], "noded_api_event_clients_dropped_total")
    peak = proc_kb(pid, "VmHWM")
    assert dropped == readers
    # Each at its own 1 MiB bound, or over its share of the events budget
    # (16 MiB by default) once the streams together hold it.
    assert len(a.log_grep(r"WARN api: events: dropping 127\.0\.0\.1:\d+: slow reader: "
                          r"\d+ bytes unsent, (limit 1048576|over its share)")) == readers
    # 1 MiB per reader, and some slack for the requests and the allocator.
    # (Not under AddressSanitizer, whose redzones and quarantine add their own.)
    if not asan(pid):
        assert peak - rss0 < readers * 1024 + 16 * 1024, \
            "RSS grew from %d to a peak of %d KiB with %d slow readers" % (rss0, peak, readers)
    # The good reader saw every event and stays connected.
    t = w.tx(amount=1000)
    assert call(a, "POST", "/v1/tx", {"tx": t.hex()}).status == 422
    good.wait_event("tx_rejected", lambda d: d["id"] == t.id_hex(), timeout=30)
    assert len(good.of("tx_rejected")) == sent + 1
    assert value(scrape(a)[1], "noded_api_event_clients") == 1


def test_event_streams_over_the_cap_get_503(cluster, streams):
    a = cluster.start("streams")
    open_ = [streams(a, read=False) for _ in range(MAX_STREAMS)]
    assert all(s.status == 200 for s in open_)
    wait_until(lambda: value(scrape(a)[1], "noded_api_event_clients") == MAX_STREAMS, 5,
               "%d streams" % MAX_STREAMS)
    over = streams(a, read=False)
    assert over.status == 503, over.status
    assert over.headers.get("content-type", "").startswith("application/json")
    assert re.fullmatch(rb'\{"error":"too many event streams: %d open, limit %d",'
                        rb'"code":"too_many_streams"\}\n'
                        % (MAX_STREAMS, MAX_STREAMS), over.body), over.body
    # Other requests are still answered; a stream that leaves makes room.
    assert call(a, "GET", "/v1/status").status == 200
    open_[0].close()
    wait_until(lambda: value(scrape(a)[1], "noded_api_event_clients") == MAX_STREAMS - 1, 10,
               "the node to notice a stream left")
    again = streams(a)
    assert again.status == 200
    again.wait_comment("noded streams events")


# === the token file ==========================================================================

def test_a_token_of_4096_bytes_with_its_newline(cluster, tmp_path):
    token = ("tok-" + os.urandom(8).hex()) * (TOKEN_MAX // 20) + "z" * (TOKEN_MAX % 20)
    assert len(token) == TOKEN_MAX
    path = write_token(tmp_path / "longest", token + "\n")
    a = start_api_node(cluster, "a", token=token, args=["--api-token-file", path])
    assert call(a, "GET", "/v1/status").status == 401
    assert call(a, "GET", "/v1/status",
                headers={"Authorization": "Bearer " + token}).status == 200
    # nodectl reads the same file.  (It then fails to send the token: see
    # test_nodectl_sends_a_4096_byte_token.)
    spaced = write_token(tmp_path / "spaced", "\n  " + token + " \r\n" + "\n" * 200)
    for p in (path, spaced):
        r = run_nodectl("--token-file", p, "status", node=a)
        assert "--token-file" not in r.stderr, r.stderr

    # One byte more of token, or a file far over the token's size: refused,
    # by both, saying which.
    cases = [("long", token + "x\n", "token over 4096 bytes", "token over 4096 bytes"),
             ("huge", token + "\n" * 300, "over 4352 bytes; the file must hold only the "
              "token (at most 4096 bytes)", "over 4352 bytes; the file must hold only the "
              "token (at most 4096 bytes)")]
    for name, text, noded_msg, ctl_msg in cases:
        p = write_token(tmp_path / name, text)
        n = ApiNode(name, cluster.workdir, args=["--api-token-file", p])
        cluster.nodes.append(n)
        with pytest.raises(NodeStartError):
            n.start(attempts=1)
        err = n.stderr_text()
        assert "--api-token-file '%s': %s" % (p, noded_msg) in err, err
        r = run_nodectl("--token-file", p, "status", node=a)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "--token-file '%s': %s" % (p, ctl_msg) in r.stderr, r.stderr


# === paths ===================================================================================

def raw_request(node, line):
    """Sends one request line as is (http.client would normalise it); returns (status, body)."""
    with socket.create_connection((HOST, node.api_port), timeout=10) as s:
        s.sendall(line.encode("latin-1") + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_percent_encoded_paths_are_decoded(cluster):
    a = cluster.start("pct")
    # %30 is '0': the same id as 64 zeros, so the same 404 answer.
    assert check_error(call(a, "GET", "/v1/tx/%30" + "0" * 63), 404) == "transaction not found"
    assert check_error(call(a, "GET", "/v1/tx/" + "%30" * 64), 404) == "transaction not found"
    assert check_json(call(a, "GET", "/v1/%73tatus"), 200)["name"] == "pct"
    assert check_json(call(a, "GET", "/v1/mempool?limit=1"), 200)["count"] == 0
    assert check_json(call(a, "GET", "/v1/%6dempool?limit=1"), 200)["count"] == 0
    w = Wallet()
    t = w.tx(amount=5)
    assert check_json(call(a, "POST", "/v1/tx", {"tx": t.hex()}), 200)["status"] == "accepted"
    tid = t.id_hex()
    enc = "".join("%%%02X" % ord(ch) for ch in tid)
    assert check_json(call(a, "GET", "/v1/tx/" + enc), 200)["id"] == tid
    # An escape may not add or hide a segment boundary, nor end the string.
    assert "%2F" in check_error(call(a, "GET", "/v1/tx%2F" + ZERO_ID), 400, "bad path")
    assert "%2F" in check_error(call(a, "GET", "/v1/tx/%2f"), 400, "bad path")
    assert "%00" in check_error(call(a, "GET", "/v1/status%00"), 400, "bad path")
    check_error(call(a, "GET", "/v1/tx/%zz"), 400, "bad path '/v1/tx/%zz'", "two hex digits")
    check_error(call(a, "GET", "/v1/status%4"), 400, "two hex digits")
    # Not found: the message names the path as sent.
    assert check_error(call(a, "GET", "/v1/%6Eope"), 404) == "not found: /v1/%6Eope"


def test_a_path_starting_with_two_slashes_is_not_a_host(cluster):
    a = cluster.start("slashes")
    # evhttp reads "//v1/status" as host "v1" and path "/status".
    code, body = raw_request(a, "GET //v1/status HTTP/1.1")
    assert code == 404, body
    assert body == b'{"error":"not found: //v1/status"}\n', body
    code, body = raw_request(a, "GET //v1/status?x=1 HTTP/1.1")
    assert (code, body) == (404, b'{"error":"not found: //v1/status"}\n')
    # An absolute URI still works (RFC 7230 5.3.2).
    code, body = raw_request(a, "GET http://%s:%d/v1/status HTTP/1.1" % (HOST, a.api_port))
    assert code == 200 and b'"name":"slashes"' in body, body


def test_nodectl_sends_a_4096_byte_token(cluster, tmp_path):
    token = "t" * TOKEN_MAX
    path = write_token(tmp_path / "longest", token + "\n")
    a = start_api_node(cluster, "a", token=token, args=["--api-token-file", path])
    r = run_nodectl("--token-file", path, "status", node=a)
    assert r.returncode == 0, r.stderr
