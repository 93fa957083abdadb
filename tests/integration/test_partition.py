"""
Partitions and link shaping on purpose (issue 10): POST/DELETE
/v1/partition cuts this node off from a list of node ids and heals it;
/v1/link (and --link-delay, --link-jitter, --link-rate) adds delay, jitter
and a rate cap in the node's own send path.  Timing is checked only from
below (a delay can only make things slower), never against an upper bound.
"""

import time

from conftest import wait_connected, wait_until
from txlib import Wallet


def cut(node, others):
    code, body = node.request("POST", "/v1/partition",
                              {"cut": [o.node_id for o in others]},
                              headers=node.admin_headers())
    assert code == 200, body
    return body


def heal(node):
    code, body = node.request("DELETE", "/v1/partition",
                              headers=node.admin_headers())
    assert code == 200 and body == {"cut": []}, body


def link(node, **shape):
    code, body = node.request("POST", "/v1/link", shape,
                              headers=node.admin_headers())
    assert code == 200, body
    return body


def peer_of(a, b):
    for p in a.peers():
        if p["node_id"] == b.node_id:
            return p
    return None


def test_partition_cuts_links_keeps_them_cut_and_heals(cluster):
    fast = ["--ping-interval-ms", "500"]
    n1 = cluster.start("p1", args=fast)
    n2 = cluster.start("p2", peers=[n1], args=fast)
    n3 = cluster.start("p3", peers=[n1, n2], args=fast)
    n4 = cluster.start("p4", peers=[n1, n2, n3], args=fast)
    nodes = [n1, n2, n3, n4]
    for a in nodes:
        for b in nodes:
            if a is not b:
                wait_connected(a, b)
    left, right = [n1, n2], [n3, n4]
    for n in left:
        body = cut(n, right)
        assert sorted(body["cut"]) == sorted(o.node_id for o in right), body
    for n in right:
        cut(n, left)
    assert n1.request("GET", "/v1/partition")[1]["cut"] == \
        cut(n1, right)["cut"]
    for n, side in ((n1, n2), (n2, n1), (n3, n4), (n4, n3)):
        wait_until(lambda: n.peer_ids() == {side.node_id}, 10,
                   "%s linked only to %s" % (n.name, side.name))
    # Each side gets its own transaction; nothing crosses.
    w = Wallet()
    ta, tb = w.tx(amount=1), w.tx(amount=2)
    assert n1.submit(ta.hex())[0] == 200
    assert n4.submit(tb.hex())[0] == 200
    wait_until(lambda: n2.has_tx(ta.id_hex()), 10, "ta on p2")
    wait_until(lambda: n3.has_tx(tb.id_hex()), 10, "tb on p3")
    # The --peer targets keep redialling (backoff from 500 ms): the links
    # stay cut all the same.
    time.sleep(2)
    for n, side in ((n1, n2), (n2, n1), (n3, n4), (n4, n3)):
        assert n.peer_ids() == {side.node_id}, n.name
    assert not n3.has_tx(ta.id_hex()) and not n4.has_tx(ta.id_hex())
    assert not n1.has_tx(tb.id_hex()) and not n2.has_tx(tb.id_hex())
    assert n1.log_grep(r"partition: 2 nodes cut off, [12] links? closed")
    # Healed: the links come back at once, not after a 30 s backoff, and
    # the mempools become one.
    for n in nodes:
        heal(n)
    for a in nodes:
        for b in nodes:
            if a is not b:
                wait_connected(a, b, timeout=10)
    wait_until(lambda: all(n.has_tx(ta.id_hex()) and n.has_tx(tb.id_hex())
                           for n in nodes), 10, "both txs everywhere")
    digests = {n._get_json("/v1/mempool/digest")["digest"] for n in nodes}
    assert len(digests) == 1, digests
    assert n1.log_grep(r"partition healed: 2 nodes no longer cut off")


def test_link_delay_slows_what_a_node_sends(cluster):
    n1 = cluster.start("d1", args=["--link-delay", "300ms",
                                   "--ping-interval-ms", "300"])
    n2 = cluster.start("d2", peers=[n1], args=["--ping-interval-ms", "300"])
    wait_connected(n1, n2)
    body = n1.request("GET", "/v1/link")[1]
    assert body == {"delay": "300ms", "jitter": "0", "rate": "0",
                    "delay_us": 300000, "jitter_us": 0, "rate_bps": 0}, body
    # n2's PINGs come back through n1's delay.
    wait_until(lambda: (peer_of(n2, n1) or {}).get("last_ping_ms") is not None,
               10, "a ping of d2's")
    assert peer_of(n2, n1)["last_ping_ms"] >= 300, peer_of(n2, n1)
    # A transaction n1 relays: pushed whole (the push tree), it waits 300 ms.
    tx = Wallet().tx(amount=3)
    t0 = time.monotonic()
    assert n1.submit(tx.hex())[0] == 200
    wait_until(lambda: n2.has_tx(tx.id_hex()), 10, "the tx at d2")
    assert time.monotonic() - t0 >= 0.29
    # Changed at run time: jitter, then off.
    body = link(n1, jitter="100ms")
    assert body["delay"] == "300ms" and body["jitter"] == "100ms", body
    body = link(n1, delay="0", jitter="0")
    assert body["delay_us"] == 0 and body["jitter_us"] == 0, body
    tx2 = Wallet().tx(amount=4)
    assert n1.submit(tx2.hex())[0] == 200
    wait_until(lambda: n2.has_tx(tx2.id_hex()), 10, "the second tx at d2")
    assert n1.log_grep(r"links now add delay 0, jitter 0, rate 0")


def test_link_rate_caps_what_a_node_sends(cluster):
    n1 = cluster.start("r1")
    n2 = cluster.start("r2", peers=[n1])
    wait_connected(n1, n2)
    link(n1, rate="16kbit")          # 2,000 bytes a second
    before = peer_of(n2, n1)["bytes_received"]
    txs = Wallet().txs(20)
    t0 = time.monotonic()
    for t in txs:
        assert n1.submit(t.hex())[0] == 200
    wait_until(lambda: all(n2.has_tx(t.id_hex()) for t in txs), 30,
               "20 txs at r2")
    took = time.monotonic() - t0
    moved = peer_of(n2, n1)["bytes_received"] - before
    assert moved > 20 * 187, moved
    # Nothing beats the cap (one write's worth of slack).
    assert took >= (moved - 2000) / 2000.0, (took, moved)


def test_partition_and_link_refuse_bad_requests(cluster):
    n = cluster.start("b1")
    h = n.admin_headers()
    for body, code, text in (
            ({"cut": "x"}, 400, "cut: expected an array"),
            ({"cut": ["zz"]}, 400, "cut[0]: expected a node id of 64 hex"),
            ({"cut": ["00" * 32, 5]}, 400, "cut[1]"),
            ({"cut": ["00" * 32] * 1025}, 400, "1025 node ids, at most 1024"),
            ({"cut": [], "x": 1}, 400, "unknown field 'x'")):
        got, reply = n.request("POST", "/v1/partition", body, headers=h)
        assert got == code and text in reply["error"], (body, got, reply)
    for body, text in (
            ({"delay": "5x"}, "delay '5x': not a duration"),
            ({"delay": 50}, "delay: expected a string"),
            ({"jitter": "61s"}, "at most 60s"),
            ({"rate": "100bit"}, "rate must be 0 (no cap) or 8kbit"),
            ({"rate": "1Mbit"}, "rate '1Mbit': not a rate"),
            ({"loss": "1%"}, "unknown field 'loss'")):
        got, reply = n.request("POST", "/v1/link", body, headers=h)
        assert got == 400 and text in reply["error"], (body, got, reply)
    # Nothing changed, and both need the admin token.
    assert n.request("GET", "/v1/link")[1]["delay_us"] == 0
    assert n.request("GET", "/v1/partition")[1] == {"cut": []}
    for m, p, b in (("POST", "/v1/partition", {"cut": []}),
                    ("DELETE", "/v1/partition", None),
                    ("POST", "/v1/link", {"delay": "1ms"})):
        got, reply = n.request(m, p, b)
        assert got == 401 and reply["code"] == "missing_token", (m, p, reply)
    assert n.alive()
