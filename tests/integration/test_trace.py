"""
Transaction provenance (issue 13): GET /v1/tx/<id>/trace along a line of
three nodes (the parent chain, announcers, receivers, hop counts), nodectl
trace's tree and --json, bad and unknown ids, the bound of --trace-ring,
and the web view's files and CORS rules.
"""

import json
import os
import re

from conftest import Node, run_nodectl, wait_all_have, wait_until
from txlib import Wallet

NO_PEX = ["--peer-exchange", "off"]


def trace(node, tx_id):
    return node.request("GET", "/v1/tx/%s/trace" % tx_id)


def line_of_three(cluster):
    # Announce then pull on every link (no push tree): INV, GETDATA, TX each hop.
    n1, n2, n3 = cluster.line(3, args=NO_PEX + ["--relay-push", "off"], prefix="t")
    wait_until(lambda: n2.peer_ids() == {n1.node_id, n3.node_id}, 20, "the line t1-t2-t3")
    return n1, n2, n3


def test_trace_follows_the_line(cluster):
    n1, n2, n3 = line_of_three(cluster)
    t = Wallet().tx(amount=7)
    code, body = n1.submit(t.hex())
    assert code == 200 and body["status"] == "accepted", body
    wait_all_have([n2, n3], [t.id_hex()])
    # The last node may still be announcing: wait for its verdict.
    wait_until(lambda: trace(n3, t.id_hex())[1].get("state") == "accepted", 10, "t3's verdict")
    tr = {n.name: trace(n, t.id_hex()) for n in (n1, n2, n3)}
    for name, (code, body) in tr.items():
        assert code == 200, (name, body)
        assert body["id"] == t.id_hex() and body["node"]["name"] == name, body
        assert body["state"] == "accepted", body
        assert body["verify_us"] is not None and body["verify_us"] >= 0, body
        assert body["queued_us"] is not None, body
        assert body["received_us"] >= body["first_seen_us"], body
        assert body["verdict_us"] >= body["received_us"], body
    b1, b2, b3 = (tr[n][1] for n in ("t1", "t2", "t3"))
    # The parent chain: api -> t1 -> t2 -> t3.
    assert b1["from"] == "api" and b1["announcers"] == 0, b1
    assert b2["from"] == {"name": "t1", "id": n1.node_id}, b2
    assert b3["from"] == {"name": "t2", "id": n2.node_id}, b3
    # Who announced it to whom, and who was sent the copy.
    assert [a["name"] for a in b2["announced_by"]] == ["t1"], b2
    assert [a["name"] for a in b3["announced_by"]] == ["t2"], b3
    assert {(s["name"], s["what"]) for s in b1["sent_to"]} == {("t2", "inv"), ("t2", "tx")}, b1
    assert ("t3", "tx") in {(s["name"], s["what"]) for s in b2["sent_to"]}, b2
    assert b3["sent_to"] == [] or all(s["name"] != "t2" or s["what"] == "inv"
                                      for s in b3["sent_to"]), b3
    # Time flows down the line (one wall clock on one machine).
    assert b1["received_us"] <= b2["first_seen_us"] <= b2["received_us"] <= b3["first_seen_us"]

    # nodectl trace: the tree, hop counts, ms since entry.
    r = run_nodectl("trace", t.id_hex(), "--node", n3.api_addr, "--node",
                    "%s,%s" % (n1.api_addr, n2.api_addr))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "tx %s: seen by 3 of 3 nodes" % t.id_hex()[:16], r.stdout
    assert lines[1].split() == ["NODE", "FROM", "HOP", "SEEN_MS", "GOT_MS", "QUEUED_MS",
                                "VERIFY_MS", "STATE", "ANNOUNCERS"], r.stdout
    rows = [l.split() for l in lines[2:5]]
    assert [(x[0], x[1], x[2], x[7]) for x in rows] == [
        ("t1", "api", "0", "accepted"), ("t2", "t1", "1", "accepted"),
        ("t3", "t2", "2", "accepted")], r.stdout
    assert rows[0][3] == "0.000" and float(rows[2][4]) >= float(rows[1][4]) >= 0, r.stdout
    # Children are indented under their parent.
    assert lines[3].startswith("  t2") and lines[4].startswith("    t3"), r.stdout
    assert re.match(r"collected from 3 nodes in \d+ ms$", lines[-1]), r.stdout

    r = run_nodectl("trace", t.id_hex().upper(), "--json", "--node",
                    ",".join(n.api_addr for n in (n1, n2, n3)))
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["id"] == t.id_hex() and j["entry_us"] == b1["received_us"], j
    got = {n["node"]["name"]: n for n in j["nodes"]}
    assert {k: (v["parent"], v["hop"]) for k, v in got.items()} == {
        "t1": (None, 0), "t2": ("t1", 1), "t3": ("t2", 2)}, j
    assert got["t1"]["seen_ms"] == 0 and got["t3"]["received_ms"] > 0, j
    assert j["never_saw"] == [] and j["errors"] == [], j


def test_trace_names_the_nodes_that_never_saw_it(cluster):
    a = cluster.start("lonely1", args=NO_PEX)
    b = cluster.start("lonely2", args=NO_PEX)
    t = Wallet().tx(amount=1)
    assert a.submit(t.hex())[0] == 200
    r = run_nodectl("trace", t.id_hex(), "--node", a.api_addr, "--node", b.api_addr)
    assert r.returncode == 0, r.stderr
    assert "tx %s: seen by 1 of 2 nodes" % t.id_hex()[:16] in r.stdout, r.stdout
    assert "never saw it: lonely2 (%s)" % b.api_addr in r.stdout, r.stdout
    r = run_nodectl("trace", t.id_hex(), "--json", "--node", a.api_addr, "--node", b.api_addr)
    j = json.loads(r.stdout)
    assert j["never_saw"] == [{"api": b.api_addr, "name": "lonely2"}], j
    # Seen by none: exit 1.
    other = Wallet().tx(amount=2)
    r = run_nodectl("trace", other.id_hex(), "--node", a.api_addr, "--node", b.api_addr)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "seen by 0 of 2 nodes" in r.stdout and "never saw it: lonely1" in r.stdout, r.stdout
    r = run_nodectl("trace", "xyz", "--node", a.api_addr)
    assert r.returncode == 2 and "ID 'xyz': expected 64 hex characters" in r.stderr, r.stderr


def test_trace_bad_and_unknown_ids(cluster):
    a = cluster.start("a", args=NO_PEX)
    for bad in ("zz", "0" * 63, "0" * 65, "g" * 64):
        code, body = a.request("GET", "/v1/tx/%s/trace" % bad)
        assert code == 400, (bad, code, body)
        assert body["error"] == "bad transaction id '%s': expected 64 hex digits" % bad, body
    code, body = trace(a, "ab" * 32)
    assert code == 404 and body["code"] == "not_found", body
    assert body["error"] == ("tx abababababababab: no trace (never seen here, or older "
                             "than the last 65536 ids of --trace-ring)"), body
    # Only "/trace" after the id.
    assert a.request("GET", "/v1/tx/%s/tracex" % ("ab" * 32))[0] == 404
    assert a.request("GET", "/v1/tx//trace")[0] == 404
    code, body = a.request("POST", "/v1/tx/%s/trace" % ("ab" * 32), {})
    assert code == 405, body


def test_trace_ring_is_bounded(cluster):
    a = cluster.start("ring", args=NO_PEX + ["--trace-ring", "16"])
    w = Wallet()
    txs = [w.tx(amount=1 + i) for i in range(20)]
    code, body = a.submit_batch([t.hex() for t in txs])
    assert code == 200, body
    codes = [trace(a, t.id_hex())[0] for t in txs]
    assert codes == [404] * 4 + [200] * 16, codes
    code, body = trace(a, txs[0].id_hex())
    assert "older than the last 16 ids of --trace-ring" in body["error"], body


def test_web_files_and_cors(cluster, tmp_path):
    a = cluster.start("web", args=NO_PEX)
    code, body = a.request("GET", "/")
    assert code == 200 and "<title>noded</title>" in body, body[:200]
    for path, ctype in (("/index.html", "text/html"), ("/net.html", "text/html"),
                        ("/app.js", "text/javascript"), ("/style.css", "text/css")):
        r = raw(a, "GET", path)
        assert r.status == 200 and r.getheader("Content-Type").startswith(ctype), path
        assert "default-src 'self'" in r.getheader("Content-Security-Policy"), path
    # No page refers to another site.
    for path in ("/index.html", "/net.html", "/app.js", "/node.js", "/net.js", "/style.css"):
        text = a.request("GET", path)[1]
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
    # CORS: a loopback origin may read; another site may not.
    r = raw(a, "OPTIONS", "/v1/status", {"Origin": "http://127.0.0.1:9",
                                         "Access-Control-Request-Method": "GET",
                                         "Access-Control-Request-Headers": "authorization"})
    assert r.status == 204, r.status
    assert r.getheader("Access-Control-Allow-Origin") == "http://127.0.0.1:9"
    assert "Authorization" in r.getheader("Access-Control-Allow-Headers")
    r = raw(a, "GET", "/v1/status", {"Origin": "http://localhost:8080"})
    assert r.status == 200 and r.getheader("Access-Control-Allow-Origin") == "http://localhost:8080"
    r = raw(a, "GET", "/v1/status", {"Origin": "http://evil.example"})
    assert r.status == 200 and r.getheader("Access-Control-Allow-Origin") is None
    r = raw(a, "OPTIONS", "/v1/status", {"Origin": "http://127.0.0.1.evil.example"})
    assert r.status == 403 and r.getheader("Access-Control-Allow-Origin") is None
    assert "origin 'http://127.0.0.1.evil.example' may not read this API" in r.read().decode()
    # Without an Origin, OPTIONS is what it was: not a method of the API.
    assert raw(a, "OPTIONS", "/v1/status").status == 405


def test_web_with_token(cluster, tmp_path):
    tok = "tok-" + os.urandom(8).hex()
    path = tmp_path / "tokfile"
    path.write_text(tok + "\n")
    os.chmod(path, 0o600)

    class TokNode(Node):
        def request(self, method, p, body=None, timeout=10, headers=None):
            h = dict(headers or {})
            h.setdefault("Authorization", "Bearer " + tok)
            return Node.request(self, method, p, body, timeout, h)
    n = TokNode("tok", cluster.workdir, args=NO_PEX + ["--api-token-file", str(path)])
    cluster.nodes.append(n)
    n.start()
    # The page is served without the token (it asks for it); the API is not.
    assert raw(n, "GET", "/").status == 200
    assert raw(n, "GET", "/v1/status").status == 401
    # Any origin may ask (the token guards it); the preflight needs no token.
    r = raw(n, "OPTIONS", "/v1/tx/%s/trace" % ("ab" * 32), {"Origin": "http://elsewhere.example"})
    assert r.status == 204 and r.getheader("Access-Control-Allow-Origin") == "http://elsewhere.example"
    r = raw(n, "GET", "/v1/status", {"Origin": "http://elsewhere.example"})
    assert r.status == 401


def raw(node, method, path, headers=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", node.api_port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    r.body = r.read()
    r.read = lambda: r.body
    return r


# tools/cluster trace, with test_cluster.py's cluster helper (its fixtures).
from test_cluster import keys, mk  # noqa: E402,F401


def test_cluster_trace_and_web_url(mk, keys):
    c = mk(4)
    p = c.run("up", "-n", "4", "--topology", "line", "--p2p-base", str(c.base),
              "--api-base", str(c.base + 100))
    api = ["127.0.0.1:%d" % c.api_port(k) for k in range(1, 5)]
    assert "  web:    http://%s/  (network: http://%s/net.html?nodes=%s)" % (
        api[0], api[0], ",".join(api)) in p.stdout, p.stdout
    assert "trace TX_ID" in p.stdout, p.stdout
    rc, txid, _ = c.send(1, 5, keys["alice"][0], keys["bob"][1])
    assert rc == 0
    wait_until(lambda: c.has_tx(4, txid), 10, "tx at node4 of the line")
    p = c.run("trace", txid)
    lines = p.stdout.splitlines()
    assert lines[0] == "tx %s: seen by 4 of 4 nodes" % txid[:16], p.stdout
    rows = [l.split() for l in lines[2:6]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("node1", "api", "0"), ("node2", "node1", "1"), ("node3", "node2", "2"),
        ("node4", "node3", "3")], p.stdout
    # Any deployment, by its API addresses; --json.
    p = c.run("trace", txid, "--json", "--api", api[3], "--api", api[2])
    j = json.loads(p.stdout)
    assert sorted((n["node"]["name"], n["parent"]) for n in j["nodes"]) == [
        ("node3", None), ("node4", "node3")], j
    p = c.run("trace", "nothex", check=False)
    assert p.returncode == 2 and "expected 64 hex characters" in p.stderr, p.stderr
