"""
Deterministic conflicts (issue 10, docs/PROTOCOL.md 5.4): of two valid
transactions with the same (sender, nonce), the one with the smaller id wins
on every node, whichever each saw first.  Before, each side of a partition
kept the one it saw first, forever, and the mempools never converged.
"""

import json
import urllib.request

from conftest import wait_connected, wait_until
from txlib import Wallet


def pair(w, nonce):
    """Two transactions of w with one nonce, (smaller id, larger id)."""
    a, b = w.tx(amount=1, nonce=nonce), w.tx(amount=2, nonce=nonce)
    return (a, b) if a.id() < b.id() else (b, a)


def test_the_smaller_id_wins_on_both_sides_of_a_partition(cluster):
    n1 = cluster.start("c1")
    n2 = cluster.start("c2")
    w = Wallet()
    small, large = pair(w, 7)
    # Each side sees one of them first: n1 the loser, n2 the winner.
    assert n1.submit(large.hex())[0] == 200
    assert n2.submit(small.hex())[0] == 200
    assert n1.has_tx(large.id_hex()) and n2.has_tx(small.id_hex())
    # The partition heals.
    code, body = n1.request("POST", "/v1/peers", {"addr": n2.p2p_addr},
                            headers=n1.admin_headers())
    assert code == 202, body
    wait_connected(n1, n2)
    wait_until(lambda: n1.has_tx(small.id_hex()) and not n1.has_tx(large.id_hex()),
               10, "n1 to take the smaller id in place of the larger")
    assert n2.has_tx(small.id_hex()) and not n2.has_tx(large.id_hex())
    assert n1.mempool_ids() == n2.mempool_ids()
    # GET /v1/mempool/digest: the count and the XOR of the ids, equal on both.
    d1, d2 = n1._get_json("/v1/mempool/digest"), n2._get_json("/v1/mempool/digest")
    xor = 0
    for i in n1.mempool_ids():
        xor ^= int(i, 16)
    assert d1 == d2 == {"count": 1, "digest": "%064x" % xor}, (d1, d2)
    assert n1.status()["mempool_digest"] == d1["digest"]
    # n1 says what it did, and asking for the loser names the winner.
    assert n1.log_grep(r"tx %s replaces tx %s" % (small.id_hex()[:16],
                                                   large.id_hex()[:16]))
    code, body = n1.request("GET", "/v1/tx/" + large.id_hex())
    assert code == 404, body
    assert body["code"] == "replaced" and body["replaced_by"] == small.id_hex(), body
    assert body["error"] == "replaced by " + small.id_hex(), body
    # The loser sent again anywhere is refused, naming the winner.
    for n in (n1, n2):
        code, body = n.submit(large.hex())
        assert code == 422 and body["reason"] == "nonce already used", body
        assert small.id_hex() in body["message"], body
    assert n1.metric("noded_txs_replaced_total") == 1


def test_tx_replaced_event(cluster):
    n = cluster.start("ev")
    w = Wallet()
    small, large = pair(w, 9)
    req = urllib.request.Request("http://127.0.0.1:%d/v1/events" % n.api_port)
    with urllib.request.urlopen(req, timeout=10) as stream:
        wait_until(lambda: n.metric("noded_api_event_clients") == 1, 5, "stream")
        assert n.submit(large.hex())[0] == 200
        assert n.submit(small.hex())[0] == 200
        got, event = None, None
        while got is None:
            line = stream.readline().decode()
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "tx_replaced":
                got = json.loads(line[5:])
        assert got["id"] == small.id_hex() and got["replaced"] == large.id_hex(), got
        assert got["from"] == "api", got
