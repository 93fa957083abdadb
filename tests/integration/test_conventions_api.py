"""
Issue 14, the API's and nodectl's side: what users of bitcoind, geth and
Prometheus expect, against real noded processes on loopback.

- Admin requests (POST /v1/peers, DELETE /v1/peers/<id>) need the token the
  node writes to DATA_DIR/.cookie, even on loopback; nodectl finds it
  (--data-dir, NODECTL_DATA_DIR, NODED_DATA_DIR, ~/.noded).
- HEAD on every GET route; /healthz and /readyz; `nodectl health`.
- process_* metrics, reason labels as codes, requests by method and code,
  `promtool check metrics`.
- Machine codes beside the human messages (answers, events).
- Event ids, Last-Event-ID resumption from the ring, the reset event, and
  `nodectl watch` resuming after its connection is cut or the node restarts.
- `nodectl send` takes the network from the node.

How a watch's connection is cut (test_watch_resumes_after_its_connection_is_cut):
nodectl watches the node through CutProxy, a TCP relay on loopback written
here.  cut() resets both TCP connections it relays (SO_LINGER 0: an RST to
nodectl and to the node, as a NAT that drops its state or a restarted proxy
would) and turns away new connections until open(); meanwhile the test sends
transactions straight to the node, whose events go only to its ring.  This
is deterministic (no timing: the test waits until the node counts no event
client before it sends), needs no privileges (ss -K would need
CONFIG_INET_DIAG_DESTROY and root) and keeps the node running, so its ring
holds what the watch missed.
"""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import threading
import time

import pytest

import txlib
from conftest import NODECTL, Node, free_port, wait_connected, wait_until
from test_api import (EventStream, call, check_error, check_json, family, post_tx,
                      scrape, value, start_api_node, write_token)
from txlib import Tx, Wallet

ZERO_ID = "0" * 64
ID_RE = re.compile(r"\b[0-9a-f]{64}\b")
EVENT_ID_RE = re.compile(r"^([0-9a-f]{16})-(\d+)$")
# reason_str() -> reason_code(): docs/API.md publishes both.
REASON_CODES = {
    "bad encoding": "bad_encoding", "unknown version": "unknown_version",
    "bad signature": "bad_signature", "wrong network": "wrong_network",
    "amount too high": "amount_too_high", "memo too long": "memo_too_long",
    "timestamp too far in the future": "timestamp_in_future",
    "timestamp too old": "timestamp_too_old", "nonce already used": "nonce_used",
    "mempool full": "mempool_full", "node busy": "node_busy",
    "store error": "store_error",
}
RING_EVENTS = 4096          # EVENTS_RING_MAX (events.h)


def cookie_path(node):
    return os.path.join(node.data_dir, ".cookie")


def read_cookie(node):
    with open(cookie_path(node)) as f:
        return f.read().strip()


def bearer(token):
    return {"Authorization": "Bearer " + token}


def ctl(*args, node=None, env=None, input=None, timeout=30):
    """nodectl with an environment free of NODECTL_* and NODED_* (and HOME
    as given), so that no cookie is found by accident."""
    cmd = [NODECTL]
    if node is not None:
        cmd += ["--node", node if isinstance(node, str) else node.api_addr]
    cmd += [str(a) for a in args]
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("NODECTL_") and not k.startswith("NODED_")}
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, input=input, env=e,
                          timeout=timeout)


def ok(r):
    assert r.returncode == 0, "exit %d\nstdout: %s\nstderr: %s" % (
        r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture
def home(tmp_path):
    """A HOME without ~/.noded, for nodectl's default data dir."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def keys(tmp_path):
    """A wallet key file made by nodectl and a recipient: (path, pubkey hex)."""
    path = str(tmp_path / "alice.key")
    ok(ctl("keygen", "--out", path))
    return path, Wallet().pk.hex()


# === admin requests need the cookie ========================================================

def test_admin_requests_need_the_cookie_even_on_loopback(cluster):
    off = ["--peer-exchange", "off"]
    a = cluster.start("a", args=off)
    b = cluster.start("b", args=off)
    path = cookie_path(a)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        text = f.read()
    assert re.fullmatch(r"[0-9a-f]{64}\n", text), text
    tok = text.strip()
    assert tok != read_cookie(b)
    assert a.log_grep(r"INFO api: listening on http://%s \(admin token in %s\)" % (
        re.escape(a.api_addr), re.escape(path)))

    admin = [("POST", "/v1/peers", {"addr": b.p2p_addr}),
             ("DELETE", "/v1/peers/" + b.node_id, None)]
    for method, p, body in admin:
        r = call(a, method, p, body)
        got = check_json(r, 401)
        assert set(got) == {"error", "code"} and got["code"] == "missing_token", got
        for frag in ("missing admin token", "%s %s changes the node" % (method, p), path,
                     "--data-dir", "NODECTL_DATA_DIR", "Authorization: Bearer"):
            assert frag in got["error"], (frag, got)
        assert r.header("WWW-Authenticate") == 'Bearer realm="noded"'
        for wrong in ("0" * 64, read_cookie(b)):
            got = check_json(call(a, method, p, body, headers=bearer(wrong)), 401)
            assert got["code"] == "bad_token" and "bad admin token" in got["error"], got
        got = check_json(call(a, method, p, body, headers={"Authorization": tok}), 401)
        assert got["code"] == "bad_authorization", got
    assert a.log_grep(r"WARN api: refused POST /v1/peers from 127\.0\.0\.1:\d+: missing admin "
                      r"token")
    assert a.peers() == [] and b.peers() == []

    # Reading and submitting stay open on loopback.
    for p in ("/v1/status", "/v1/peers", "/v1/mempool", "/metrics", "/healthz", "/readyz",
              "/v1/tx/" + ZERO_ID):
        assert call(a, "GET", p).status in (200, 404), p
    t = Wallet().tx(amount=1)
    assert check_json(post_tx(a, t), 200)["id"] == t.id_hex()
    s = EventStream(a)
    try:
        assert s.status == 200
        s.wait_comment("noded a events")
    finally:
        s.close()
    # Routing comes first: a wrong method is still 405, an unknown path 404.
    check_error(call(a, "PUT", "/v1/peers"), 405)
    check_error(call(a, "POST", "/v1/nope", {}), 404)

    # With the cookie's token: done.
    assert check_json(call(a, "POST", "/v1/peers", {"addr": b.p2p_addr},
                           headers=bearer(tok)), 202)["status"] == "connecting"
    wait_connected(a, b)
    assert check_json(call(a, "DELETE", "/v1/peers/" + b.node_id, headers=bearer(tok)),
                      200)["status"] == "disconnected"
    wait_until(lambda: not a.peers(), 10, "a to drop b")


def test_the_cookie_lives_as_long_as_the_node(cluster, tmp_path):
    a = cluster.start("a")
    path = cookie_path(a)
    first = read_cookie(a)
    code, _ = a.stop()
    assert code == 0
    assert not os.path.exists(path), "cookie left after a clean stop"
    assert not os.path.exists(path + ".tmp")

    # A new run, a new token: the old one is refused.
    a.start()
    second = read_cookie(a)
    assert second != first
    check_json(call(a, "POST", "/v1/peers", {"addr": "127.0.0.1:1"}, headers=bearer(first)),
               401)
    # SIGKILL leaves it; the next start replaces it, 0600 even over a stale 0644 file.
    a.kill()
    assert read_cookie(a) == second
    os.chmod(path, 0o644)
    a.start()
    assert read_cookie(a) not in (first, second)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # A start that fails after the API bound (the P2P port is taken) removes
    # the cookie it wrote.
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        c = Node("c", cluster.workdir)
        cluster.nodes.append(c)
        os.makedirs(c.dir)
        c.p2p_port, c.api_port = taken.getsockname()[1], free_port()
        started, why = c._start_once()
        assert not started and c.returncode not in (None, 0), why
    finally:
        taken.close()
    # What the node said: its log (the data dir's noded.log) and stderr.
    err = c.stderr_text() + "\n".join(c.log_lines())
    assert "(admin token in %s)" % cookie_path(c) in err, err      # it was written
    assert not os.path.exists(cookie_path(c)), "cookie left after a failed start"

    # A cookie that cannot be written stops the start, saying why and what to do.
    e = Node("e", cluster.workdir)
    cluster.nodes.append(e)
    os.makedirs(os.path.join(e.data_dir, ".cookie"))
    e.p2p_port, e.api_port = free_port(), free_port()
    started, why = e._start_once()
    assert not started and e.returncode not in (None, 0), why
    assert "ERROR api: cannot write the API cookie %s: Is a directory (the data dir must be " \
        "writable, or give --api-token-file FILE)" % cookie_path(e) in e.stderr_text(), \
        e.stderr_text()
    assert not os.path.exists(cookie_path(e) + ".tmp")

    # With --api-token-file, that token guards everything and no cookie is written.
    token = "tok-" + os.urandom(8).hex()
    d = start_api_node(cluster, "d", token=token,
                       args=["--api-token-file", write_token(tmp_path / "t", token + "\n")])
    assert not os.path.exists(cookie_path(d))
    assert call(d, "POST", "/v1/peers", {"addr": "127.0.0.1:1"}).status == 401
    assert call(d, "POST", "/v1/peers", {"addr": a.p2p_addr},
                headers=bearer(token)).status == 202


# === HEAD, /healthz, /readyz ===============================================================

def raw_exchange(node, data, timeout=10):
    """Sends raw bytes; returns everything the node sends until it closes."""
    s = socket.create_connection(("127.0.0.1", node.api_port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                return got
            got += d
    finally:
        s.close()


def head_of(raw):
    """(status, {lower-case name: value}, rest) of the first answer in raw."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, rest


def test_head_on_every_get_route(cluster):
    a = cluster.start("a")
    t = Wallet().tx(amount=3)
    assert post_tx(a, t).status == 200
    # Answers that do not change between two requests: the same length too.
    stable = ["/v1/tx/" + t.id_hex(), "/v1/tx/" + ZERO_ID, "/v1/tx/zz", "/v1/mempool",
              "/v1/mempool?limit=0", "/v1/peers", "/healthz", "/readyz"]
    moving = ["/v1/status", "/metrics"]
    for p in stable + moving:
        g = call(a, "GET", p)
        q = "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n" \
            "Connection: close\r\n\r\n" % p
        status, hdrs, rest = head_of(raw_exchange(a, q.encode()))
        assert status == g.status, (p, status, g)
        # No body after the head: the next bytes are the pipelined GET's answer.
        assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), (p, rest[:200])
        want = {k.lower(): v for k, v in g.headers.items() if k.lower() != "date"}
        have = {k: v for k, v in hdrs.items() if k != "date"}
        assert set(have) == set(want), (p, have, want)
        for k in have:
            if k != "content-length" or p in stable:
                assert have[k] == want[k], (p, k, have[k], want[k])
        assert int(have["content-length"]) > 0

    # The event stream: its head (chunked, no body), and no stream is opened.
    status, hdrs, rest = head_of(raw_exchange(
        a, b"HEAD /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == 200 and rest == b"", rest[:200]
    assert hdrs["content-type"] == "text/event-stream" and \
        hdrs["transfer-encoding"] == "chunked" and hdrs["cache-control"] == "no-store", hdrs
    s = EventStream(a)
    try:
        assert s.status == 200 and s.headers["transfer-encoding"] == "chunked"
        s.wait_comment("noded a events")
    finally:
        s.close()
    _, fams = scrape(a)
    assert value(fams, "noded_api_event_clients") == 0
    assert value(fams, "noded_api_requests_total", method="HEAD", code="200") == 8

    # Allow lists HEAD beside GET; HEAD where GET is not allowed is 405, without a body.
    r = call(a, "PUT", "/v1/status")
    assert check_error(r, 405) == "method PUT not allowed on /v1/status (allowed: GET, HEAD)"
    assert r.header("Allow") == "GET, HEAD"
    assert call(a, "PUT", "/v1/peers").header("Allow") == "GET, HEAD, POST"
    status, hdrs, rest = head_of(raw_exchange(
        a, b"HEAD /v1/tx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert (status, hdrs["allow"], rest) == (405, "POST", b""), (status, hdrs, rest)


def test_healthz_and_readyz(cluster):
    a = cluster.start("a")
    assert check_json(call(a, "GET", "/healthz"), 200) == {"status": "alive"}
    assert check_json(call(a, "GET", "/readyz"), 200) == \
        {"status": "ready", "validators": 2, "peers": 0}

    # --peer given, no peer active: alive, not ready.
    dead = "127.0.0.1:%d" % free_port()
    b = cluster.start("b", peers=[dead, dead.replace("127.0.0.1", "localhost")])
    assert check_json(call(b, "GET", "/healthz"), 200) == {"status": "alive"}
    got = check_json(call(b, "GET", "/readyz"), 503)
    assert got == {"error": "not ready: no active peer yet (2 --peer addresses given)",
                   "code": "no_peers"}, got

    # Ready once a peer is up; not ready again when it is gone.
    c = cluster.start("c", peers=[a], args=["--validators", "1"])
    wait_until(lambda: call(c, "GET", "/readyz").status == 200, 15, "c ready")
    assert check_json(call(c, "GET", "/readyz"), 200) == \
        {"status": "ready", "validators": 1, "peers": 1}
    a.stop()
    wait_until(lambda: call(c, "GET", "/readyz").status == 503, 15, "c not ready")
    assert check_json(call(c, "GET", "/readyz"), 503)["code"] == "no_peers"
    assert call(c, "GET", "/healthz").status == 200


def test_nodectl_health(cluster):
    a = cluster.start("a")
    r = ok(ctl("health", node=a))
    assert r.stdout == "alive\n" and r.stderr == ""
    assert ok(ctl("health", "--ready", node=a)).stdout == "ready\n"
    assert json.loads(ok(ctl("--json", "health", "--ready", node=a)).stdout)["status"] == \
        "ready"
    b = cluster.start("b", peers=["127.0.0.1:%d" % free_port()])
    assert ok(ctl("health", node=b)).stdout == "alive\n"
    r = ctl("health", "--ready", node=b)
    assert r.returncode == 1 and r.stdout == "", r
    assert "not ready: no active peer yet (1 --peer address given) (HTTP 503)" in r.stderr, r
    # Not reachable, or asked wrongly: 1 as well (docker reserves 2).
    dead = "127.0.0.1:%d" % free_port()
    r = ctl("health", node=dead)
    assert r.returncode == 1 and "cannot connect to %s: Connection refused" % dead in r.stderr
    assert ctl("health", "--frob", node=a).returncode == 1
    assert ctl("health", "extra", node=a).returncode == 1
    assert ok(ctl("health", "--help")).stdout.startswith("usage: nodectl [global options] "
                                                         "health [--ready]")


# === metrics ===============================================================================

def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_metrics_process_reason_codes_and_requests(cluster):
    t0 = time.time()
    a = cluster.start("a")
    w = Wallet()
    assert post_tx(a, w.tx(amount=500)).status == 422
    assert post_tx(a, w.tx(amount=5)).status == 200
    assert call(a, "GET", "/v1/nope").status == 404
    assert call(a, "HEAD", "/v1/status").status == 200
    assert call(a, "POST", "/v1/peers", {"addr": "127.0.0.1:1"}).status == 401
    text, fams = scrape(a)

    samples = family(fams, "noded_txs_rejected_total").samples
    assert {s.labels["reason"] for s in samples} == set(REASON_CODES.values())
    assert value(fams, "noded_txs_rejected_total", reason="amount_too_high") == 1
    assert sum(s.value for s in samples) == 1

    for method, code, n in [("POST", "422", 1), ("POST", "200", 1), ("GET", "404", 1),
                            ("HEAD", "200", 1), ("POST", "401", 1)]:
        assert value(fams, "noded_api_requests_total", method=method, code=code) == n, \
            (method, code)
    gets = value(fams, "noded_api_requests_total", method="GET", code="200")
    assert gets >= 1                 # the start-up wait's GET /v1/status
    assert 'noded_api_requests_total{method="GET",code="200"}' in text
    _, f2 = scrape(a)
    assert value(f2, "noded_api_requests_total", method="GET", code="200") == gets + 1

    types = {"process_cpu_seconds_total": "counter", "process_start_time_seconds": "gauge",
             "process_resident_memory_bytes": "gauge", "process_virtual_memory_bytes": "gauge",
             "process_open_fds": "gauge", "process_max_fds": "gauge"}
    for name, typ in types.items():
        assert re.search(r"^# TYPE %s %s$" % (name, typ), text, re.M), name
    start = value(fams, "process_start_time_seconds")
    assert t0 - 2 <= start <= time.time() + 1, (t0, start)
    assert value(fams, "process_cpu_seconds_total") >= 0
    rss = value(fams, "process_resident_memory_bytes")
    assert 1 << 20 < rss <= value(fams, "process_virtual_memory_bytes")
    fds = value(fams, "process_open_fds")
    assert abs(fds - proc_fds(a.proc.pid)) <= 3, (fds, proc_fds(a.proc.pid))
    with open("/proc/%d/limits" % a.proc.pid) as f:
        soft = re.search(r"^Max open files\s+(\d+)", f.read(), re.M).group(1)
    assert value(fams, "process_max_fds") == int(soft)


def test_promtool_check_metrics(cluster):
    a = cluster.start("a")
    b = cluster.start("b", peers=[a])
    wait_connected(a, b)
    w = Wallet()
    for t in (w.tx(amount=500), w.tx(amount=5), w.tx(amount=5).with_bad_signature()):
        post_tx(a, t)
    call(a, "HEAD", "/metrics")
    r = call(a, "GET", "/metrics")
    text = r.raw.decode()
    assert "process_open_fds " in text and 'reason="amount_too_high"' in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; make deps-test "
                    "installs it): the exposition was not checked by promtool")
    p = subprocess.run([promtool, "check", "metrics"], input=r.raw, capture_output=True,
                       timeout=30)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b"", (p.stdout, p.stderr)


# === machine codes =========================================================================

def test_rejections_carry_machine_codes(cluster):
    a = cluster.start("a", args=["--max-memo", "8"])
    s = EventStream(a)
    try:
        s.wait_comment("noded a events")
        w = Wallet()
        t = w.tx(amount=5)
        assert post_tx(a, t).status == 200
        now = txlib.now_ms()
        cases = [
            (w.tx(amount=150), "amount too high"),
            (w.tx(amount=5).with_bad_signature(), "bad signature"),
            (w.tx(amount=5, network="testnet"), "wrong network"),
            (w.loser(t), "nonce already used"),
            (w.tx(amount=5, memo=b"123456789"), "memo too long"),
            (w.tx(amount=5, timestamp_ms=now + 600000), "timestamp too far in the future"),
            (w.tx(amount=5, timestamp_ms=now - 2 * 86400000), "timestamp too old"),
        ]
        for bad, reason in cases:
            body = check_json(post_tx(a, bad), 422)
            assert list(body) == ["id", "status", "reason", "code", "message"], body
            assert (body["reason"], body["code"]) == (reason, REASON_CODES[reason]), body
            d = s.wait_event("tx_rejected", lambda d, i=bad.id_hex(): d["id"] == i)
            assert (d["reason"], d["code"]) == (reason, REASON_CODES[reason]), d
        for raw, code in [(t.hex()[:100], "bad_encoding"), ("02" + t.hex()[2:], "unknown_version")]:
            body = check_json(post_tx(a, raw), 422)
            assert body["code"] == code and "id" not in body, body
        body = check_json(call(a, "POST", "/v1/tx", {"txs": [w.tx(amount=1).hex(),
                                                             w.tx(amount=900).hex()]}), 200)
        assert "code" not in body["results"][0], body
        assert body["results"][1]["code"] == "amount_too_high", body
    finally:
        s.close()


# === event ids, the ring, Last-Event-ID ====================================================

def event_blocks(stream):
    """[(id or None, type or None, data dict or None)] of the blocks read so far."""
    out = []
    with stream.cond:
        blocks = list(stream.blocks)
    for block in blocks:
        eid = etype = None
        data = []
        for line in block.split("\n"):
            if line.startswith("id:"):
                eid = line[3:].strip()
            elif line.startswith("event:"):
                etype = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        out.append((eid, etype, json.loads("\n".join(data)) if data else None))
    return out


def typed(stream):
    return [(i, t, d) for i, t, d in event_blocks(stream) if t is not None]


def send_events(node, wallet, n):
    """n tx_accepted events at node (batches of 1000)."""
    ids = []
    while n > 0:
        k = min(n, 1000)
        txs = wallet.txs(k, amount=1)
        body = check_json(call(node, "POST", "/v1/tx", {"txs": [t.hex() for t in txs]}), 200)
        assert body["accepted"] == k
        ids += [t.id_hex() for t in txs]
        n -= k
    return ids


def test_event_ids_and_resuming_with_last_event_id(cluster):
    a = cluster.start("a")
    w = Wallet()
    first = EventStream(a)
    try:
        first.wait_comment("noded a events")
        # A fresh stream's first block carries the latest id: none yet.
        hello_id, hello_type, _ = event_blocks(first)[0]
        m = EVENT_ID_RE.match(hello_id or "")
        assert m and hello_type is None and m.group(2) == "0", event_blocks(first)[0]
        run = m.group(1)
        txs = send_events(a, w, 5)
        wait_until(lambda: len(first.of("tx_accepted")) == 5, 10, "5 events")
        evs = typed(first)
        # A batch's verdicts come in the order the validators finish them.
        assert sorted(d["id"] for _, _, d in evs) == sorted(txs)
        assert [i for i, _, _ in evs] == ["%s-%d" % (run, k) for k in range(1, 6)]
        seen = {i: d["id"] for i, _, d in evs}
    finally:
        first.close()

    # Events while nobody listens are kept too; a reader resuming after the
    # 2nd event gets the 3rd to the 8th, then live ones, each once.
    more = send_events(a, w, 3)
    s = EventStream(a, headers={"Last-Event-ID": "%s-2" % run})
    try:
        wait_until(lambda: len(s.of("tx_accepted")) == 6, 10, "6 events replayed")
        live = send_events(a, w, 1)
        s.wait_event("tx_accepted", lambda d: d["id"] == live[0])
        evs = typed(s)
        assert [i for i, _, _ in evs] == ["%s-%d" % (run, k) for k in range(3, 10)]
        assert [d["id"] for _, _, d in evs[:3]] == [seen["%s-%d" % (run, k)]
                                                    for k in range(3, 6)]
        assert sorted(d["id"] for _, _, d in evs[3:6]) == sorted(more)
        assert evs[6][2]["id"] == live[0]
        # A resumed stream's first block sets no id: the client's stays its own.
        assert event_blocks(s)[0][0] is None
    finally:
        s.close()
    # Resuming after the latest event: nothing to replay; the run in either case.
    last = 9
    for r in (run, run.upper()):
        s = EventStream(a, headers={"Last-Event-ID": "%s-%d" % (r, last)})
        try:
            s.wait_comment("noded a events")
            live = send_events(a, w, 1)
            s.wait_event("tx_accepted", lambda d: d["id"] == live[0])
            assert [(i, d["id"]) for i, _, d in typed(s)] == [("%s-%d" % (run, last + 1),
                                                               live[0])]
        finally:
            s.close()
        last += 1


def test_resuming_what_the_node_no_longer_has_gets_a_reset(cluster):
    a = cluster.start("a")
    w = Wallet()
    s = EventStream(a)
    s.wait_comment("noded a events")
    run = EVENT_ID_RE.match(event_blocks(s)[0][0]).group(1)
    s.close()
    txs = send_events(a, w, RING_EVENTS + 1000)
    last = len(txs)

    def resume(last_id):
        st = EventStream(a, headers={"Last-Event-ID": last_id})
        try:
            d = st.wait_event("reset")
            eid, etype, _ = typed(st)[0]
            assert etype == "reset" and eid == "%s-%d" % (run, last), typed(st)[0]
            live = send_events(a, w, 1)
            st.wait_event("tx_accepted", lambda e: e["id"] == live[0])
            assert [t for _, t, _ in typed(st)] == ["reset", "tx_accepted"]
            assert typed(st)[1][0] == "%s-%d" % (run, last + 1)
            return d
        finally:
            st.close()

    # Too old: the ring kept the last 4096 events (fewer if they pass 768 KiB).
    d = resume("%s-1" % run)
    assert (d["code"], d["last_event_id"], d["node"]) == ("too_old", "%s-1" % run, "a"), d
    assert "no longer all kept" in d["reason"] and "4096" in d["reason"], d
    last += 1
    # The most recent ones are still there, in full.
    st = EventStream(a, headers={"Last-Event-ID": "%s-%d" % (run, last - 100)})
    try:
        wait_until(lambda: len(st.of("tx_accepted")) == 100, 10, "100 events replayed")
        evs = typed(st)
        assert [i for i, _, _ in evs] == ["%s-%d" % (run, k) for k in range(last - 99, last + 1)]
    finally:
        st.close()
    # Not ids of this node: malformed, or past the last event.
    for bad in ("garbage", "%s-%d" % (run, last + 5), "%s-" % run, "-5", run + "-1x"):
        d = resume(bad)
        assert d["code"] == "bad_id" and d["last_event_id"] == bad, d
        last += 1
    # Another run: the node restarted.
    a.stop()
    a.start()
    s = EventStream(a)
    s.wait_comment("noded a events")
    new_run = EVENT_ID_RE.match(event_blocks(s)[0][0]).group(1)
    s.close()
    assert new_run != run
    run, last = new_run, 0
    d = resume("%s-7" % (run[::-1] if run[::-1] != run else "0" * 16))
    assert d["code"] == "other_run" and "restarted" in d["reason"], d
    assert a.log_grep(r"INFO api: events: 127\.0\.0\.1:\d+ resumes after '.*': other_run")


# === nodectl and the cookie ================================================================

def test_nodectl_finds_the_cookie_in_the_data_dir(cluster, home):
    off = ["--peer-exchange", "off"]
    a = cluster.start("a", args=off)
    b = cluster.start("b", args=off)
    base = {"HOME": str(home)}

    # No cookie anywhere: reads work, admin commands say what to do.
    assert "a" in ok(ctl("status", node=a, env=base)).stdout
    r = ctl("connect", b.p2p_addr, node=a, env=base)
    assert r.returncode == 2 and "HTTP 401" in r.stderr, r.stderr
    for frag in ("missing admin token", "--data-dir DIR or NODECTL_DATA_DIR",
                 "no cookie in the default data dir '%s/.noded'" % home, "--token-file"):
        assert frag in r.stderr, (frag, r.stderr)
    assert a.peers() == []

    # --data-dir, NODECTL_DATA_DIR, NODED_DATA_DIR (a node's container sets it).
    r = ok(ctl("--data-dir", a.data_dir, "connect", b.p2p_addr, node=a, env=base))
    assert r.stdout == "connecting to %s\n" % b.p2p_addr
    wait_connected(a, b)
    ok(ctl("disconnect", "b", node=a, env=dict(base, NODECTL_DATA_DIR=a.data_dir)))
    wait_until(lambda: not a.peers(), 10, "a to drop b")
    ok(ctl("connect", b.p2p_addr, node=a, env=dict(base, NODED_DATA_DIR=a.data_dir)))
    wait_connected(a, b)
    # NODECTL_DATA_DIR before NODED_DATA_DIR: b's cookie is refused, and named.
    r = ctl("disconnect", b.node_id, node=a,
            env=dict(base, NODECTL_DATA_DIR=b.data_dir, NODED_DATA_DIR=a.data_dir))
    assert r.returncode == 2 and "bad admin token" in r.stderr
    assert "refused the admin token of %s" % cookie_path(b) in r.stderr, r.stderr
    # The default data dir, ~/.noded.
    os.makedirs(str(home / ".noded"))
    shutil.copy(cookie_path(a), str(home / ".noded" / ".cookie"))
    r = ok(ctl("disconnect", b.node_id, node=a, env=base))
    assert r.stdout == "disconnected %s\n" % b.node_id
    # A --token-file comes first: that token, not the cookie, is sent.
    bogus = home / "bogus"
    bogus.write_text("not-the-cookie\n")
    r = ctl("--token-file", bogus, "connect", b.p2p_addr, node=a, env=base)
    assert r.returncode == 2 and "refused the token (from %s)" % bogus in r.stderr, r.stderr
    # watch sends the cookie too, harmlessly.
    assert "--data-dir DIR" in ok(ctl("--help")).stdout


def local_ipv4():
    """An address of this host that is not loopback, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("198.51.100.1", 9))     # no packet is sent: this picks a route
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def test_nodectl_sends_the_default_cookie_only_to_loopback(cluster, home):
    ip = local_ipv4()
    if ip is None:
        pytest.skip("this host has no address but loopback: nothing to test")
    a = start_api_node(cluster, "pub", api_host="0.0.0.0", args=["--api-insecure"])
    os.makedirs(str(home / ".noded"))
    shutil.copy(cookie_path(a), str(home / ".noded" / ".cookie"))
    base = {"HOME": str(home)}
    there = "%s:%d" % (ip, a.api_port)
    # Reachable on its public address too; reads need nothing.
    assert "pub" in ok(ctl("status", node=there, env=base)).stdout
    # The default data dir's cookie is not sent to a non-loopback address...
    r = ctl("connect", "127.0.0.1:1", node=there, env=base)
    assert r.returncode == 2 and "missing admin token" in r.stderr, r.stderr
    assert ("the cookie of the default data dir '%s/.noded' goes only to loopback addresses, "
            "not to %s" % (home, there)) in r.stderr, r.stderr
    # ... but to loopback, and wherever a data dir is named.
    ok(ctl("connect", "127.0.0.1:1", node=a, env=base))
    ok(ctl("--data-dir", a.data_dir, "connect", "127.0.0.1:1", node=there, env=base))


# === nodectl send and the node's network ===================================================

def test_nodectl_send_takes_the_network_from_the_node(cluster, keys):
    key, to = keys
    n = cluster.start("tn", network="testnet")
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "5", node=n))
    tx_id = ID_RE.search(r.stdout).group(0)
    assert r.stdout == "%s accepted\n" % tx_id
    code, body = n.tx(tx_id)
    assert code == 200 and body["network"] == txlib.netid("testnet").hex()
    # A dry run asks the node too, when one answers.
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "5", "--dry-run", node=n))
    assert Tx.decode(r.stdout.strip()).netid == txlib.netid("testnet")
    assert r.stderr == ""
    # ... and signs for devnet when none does, saying so.
    dead = "127.0.0.1:%d" % free_port()
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "5", "--dry-run", node=dead))
    assert Tx.decode(r.stdout.strip()).netid == txlib.netid("devnet")
    assert "cannot connect to %s" % dead in r.stderr and "signed for devnet" in r.stderr
    # --network still decides.
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "5", "--network", "alpha",
               "--dry-run", node=n))
    assert Tx.decode(r.stdout.strip()).netid == txlib.netid("alpha")
    # Without a node, a send fails as before.
    r = ctl("send", "--key", key, "--to", to, "--amount", "5", node=dead)
    assert r.returncode == 2 and "cannot connect to %s" % dead in r.stderr


def test_nodectl_names_both_networks(cluster, keys):
    key, to = keys
    n = cluster.start("al", network="alpha")
    r = ctl("send", "--key", key, "--to", to, "--amount", "5", "--network", "beta", node=n)
    assert r.returncode == 1, r
    tx_id = ID_RE.search(r.stdout).group(0)
    assert r.stdout == ("%s rejected: wrong network: signed for beta (netid %s), this node "
                        "is on alpha (netid %s)\n" % (tx_id, txlib.netid("beta").hex()[:16],
                                                      txlib.netid("alpha").hex()[:16])), r.stdout
    assert "give --network alpha" in r.stderr, r.stderr
    # The node's own answer names its network, and a well-known one it was signed for.
    j = json.loads(ctl("--json", "send", "--key", key, "--to", to, "--amount", "5",
                       "--network", "testnet", node=n).stdout)
    assert j["code"] == "wrong_network" and j["message"].startswith(
        "wrong network: signed for testnet (netid %s), this node is on alpha"
        % txlib.netid("testnet").hex()[:16]), j


# === nodectl watch resumes =================================================================

class CutProxy:
    """
    A TCP relay on loopback to a node's API.  cut() resets every relayed
    connection on both sides (SO_LINGER 0) and turns new ones away (reset at
    once) until open().
    """

    def __init__(self, port):
        self.target = ("127.0.0.1", port)
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.pairs = []
        self.dead = set()           # sockets cut: their pumps close them
        self.accepted = 0
        self.refused = 0
        self.gate = True
        self.closed = False
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    @staticmethod
    def _reset(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                if self.closed or not self.gate:
                    self.refused += 1
                    self._reset(c)
                    continue
                try:
                    u = socket.create_connection(self.target, timeout=5)
                except OSError:
                    self._reset(c)
                    continue
                u.settimeout(None)
                self.pairs.append((c, u))
                self.accepted += 1
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                d = src.recv(65536)
                if not d:
                    break
                dst.sendall(d)
        except OSError:
            pass
        with self.lock:
            dead = src in self.dead
        if dead:
            # Closed here, once no thread is inside recv on it: with
            # SO_LINGER 0 the kernel sends an RST.
            src.close()
            return
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Resets both sides of every relayed connection; turns new ones away."""
        with self.lock:
            self.gate = False
            pairs, self.pairs = self.pairs, []
            for c, u in pairs:
                self.dead.update((c, u))
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    # Wakes the pump blocked in recv, sending nothing.
                    s.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
        return len(pairs)

    def open(self):
        with self.lock:
            self.gate = True

    def close(self):
        with self.lock:
            self.closed = True
        self.lsock.close()
        self.cut()


class Watch:
    """`nodectl watch ARGS` in the background; stdout and stderr lines collected."""

    def __init__(self, *nodes, args=(), env=None):
        cmd = [NODECTL]
        for n in nodes:
            cmd += ["--node", n if isinstance(n, str) else n.api_addr]
        cmd += ["watch"] + list(args)
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("NODECTL_") and not k.startswith("NODED_")}
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=e)
        self.lines, self.errors = [], []
        self._t = [threading.Thread(target=self._read, args=(f, out), daemon=True)
                   for f, out in ((self.proc.stdout, self.lines),
                                  (self.proc.stderr, self.errors))]
        for t in self._t:
            t.start()

    @staticmethod
    def _read(f, out):
        for line in f:
            out.append(line.rstrip("\n"))

    def count(self, tx_id):
        return sum(1 for l in list(self.lines) if " %s " % tx_id[:16] in l + " ")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        for t in self._t:
            t.join(5)
        return rc


@pytest.fixture
def watches():
    made = []

    def start(*nodes, **kw):
        w = Watch(*nodes, **kw)
        made.append(w)
        return w
    yield start
    for w in made:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def event_clients(node):
    return value(scrape(node)[1], "noded_api_event_clients")


def test_watch_resumes_after_its_connection_is_cut(cluster, watches):
    n = cluster.start("wc")
    proxy = CutProxy(n.api_port)
    try:
        w = watches(proxy.addr, args=["--reconnect", "60"])
        wait_until(lambda: event_clients(n) == 1, 10, "the watch to subscribe")
        wl = Wallet()
        before = [wl.tx(amount=1) for _ in range(3)]
        for t in before:
            assert n.submit(t.hex())[0] == 200
        wait_until(lambda: all(w.count(t.id_hex()) for t in before), 10,
                   "the watch to print the first events: %s" % w.lines)

        # The connection is cut; the node notices; events go on meanwhile.
        assert proxy.cut() == 1
        wait_until(lambda: event_clients(n) == 0, 10, "the node to lose the watch")
        during = [wl.tx(amount=2) for _ in range(5)]
        for t in during:
            assert n.submit(t.hex())[0] == 200
        wait_until(lambda: proxy.refused > 0, 10, "nodectl to try to reconnect")
        assert not any(w.count(t.id_hex()) for t in during), w.lines
        proxy.open()
        wait_until(lambda: all(w.count(t.id_hex()) for t in during), 15,
                   "the events sent while the watch was cut off: %s %s" % (w.lines, w.errors))
        after = wl.tx(amount=3)
        assert n.submit(after.hex())[0] == 200
        wait_until(lambda: w.count(after.id_hex()), 10, "an event after the resumption")

        sent = before + during + [after]
        printed = [l for l in list(w.lines) if " tx_accepted " in l]
        assert [w.count(t.id_hex()) for t in sent] == [1] * len(sent), printed
        assert len(printed) == len(sent), printed
        order = [next(i for i, l in enumerate(printed) if t.id_hex()[:16] in l) for t in sent]
        assert order == sorted(order), printed
        assert any("%s: event stream ended" % proxy.addr in e and "reopening it" in e
                   for e in w.errors), w.errors
        assert any(re.search(r"%s: event stream reopened, resuming after event "
                             r"[0-9a-f]{16}-3$" % proxy.addr, e) for e in w.errors), w.errors
        assert not any("lost" in e for e in w.errors), w.errors
        assert w.proc.poll() is None
        assert w.stop() == 0
    finally:
        proxy.close()


def test_watch_follows_a_node_that_restarts(cluster, watches):
    n = cluster.start("wr")
    w = watches(n, args=["--reconnect", "60"])
    wait_until(lambda: event_clients(n) == 1, 10, "the watch to subscribe")
    wl = Wallet()
    t1 = wl.tx(amount=1)
    assert n.submit(t1.hex())[0] == 200
    wait_until(lambda: w.count(t1.id_hex()), 10, "the first event")
    code, _ = n.stop()
    assert code == 0
    wait_until(lambda: any("event stream ended" in e for e in w.errors), 10, "the break")
    started, why = n._start_once()          # the same ports: the watch's address
    assert started, why
    wait_until(lambda: w.lines and " reset " in w.lines[-1], 20,
               "the reset event: %s %s" % (w.lines, w.errors))
    assert re.search(r" wr +reset other_run last_event_id=[0-9a-f]{16}-1 reason=\"event ids of "
                     r"another run of the node \(it restarted\)", w.lines[-1]), w.lines
    assert any("%s: events were lost: event ids of another run" % n.api_addr in e
               for e in w.errors), w.errors
    t2 = wl.tx(amount=2)
    assert n.submit(t2.hex())[0] == 200
    wait_until(lambda: w.count(t2.id_hex()), 10, "an event of the new run")
    assert w.count(t1.id_hex()) == 1
    # The node goes away for good: watch gives up after --reconnect and ends.
    w2 = watches(n, args=["--reconnect", "1"])
    wait_until(lambda: event_clients(n) == 2, 10, "the second watch to subscribe")
    n.stop()
    rc = w2.proc.wait(15)
    assert rc == 0, w2.errors
    assert any("gave up reopening the event stream after 1 s" in e for e in w2.errors), \
        w2.errors
