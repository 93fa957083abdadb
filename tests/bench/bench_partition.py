#!/usr/bin/python3
"""
bench_partition.py: a partition heals into identical mempools (issue 10).

Four nodes, fully meshed on loopback, are split 2 | 2 through
POST /v1/partition.  Each half is sent 1,000 transactions, 50 of which
conflict with one sent to the other half (the same sender and nonce, a
different transaction).  Once each half agrees within itself, the partition
is healed (DELETE /v1/partition on every node) and the time until every
node's GET /v1/mempool/digest is the same is printed, with the bytes the
nodes received meanwhile.  Target: equal digests within 5 s; the winner of
every conflict is the smaller id (docs/PROTOCOL.md 5.4).

Figures only; nothing here fails on timing.  Run through `make bench`.
Env: NODED, BENCH_PARTITION_TXS (1000 per half), BENCH_PARTITION_CONFLICTS (50).
"""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import conftest  # noqa: E402
import txlib  # noqa: E402
from bench_network import inject, machine  # noqa: E402


def received(nodes):
    return sum(p["bytes_received"] for n in nodes for p in n.peers())


def digests(nodes):
    return [n._get_json("/v1/mempool/digest") for n in nodes]


def main():
    per_half = int(os.environ.get("BENCH_PARTITION_TXS", "1000"))
    conflicts = int(os.environ.get("BENCH_PARTITION_CONFLICTS", "50"))
    print("machine: %s" % machine())
    with tempfile.TemporaryDirectory(prefix="noded-bench-part-") as work:
        cl = conftest.Cluster(work)
        try:
            a = cl.start("node1")
            b = cl.start("node2", peers=[a])
            c = cl.start("node3", peers=[a, b])
            d = cl.start("node4", peers=[a, b, c])
            nodes, left, right = [a, b, c, d], [a, b], [c, d]
            conftest.wait_until(lambda: all(x.status()["peers"] == 3 for x in nodes),
                                20, "a full mesh of 4 nodes")
            for side, other in ((left, right), (right, left)):
                for n in side:
                    code, body = n.request("POST", "/v1/partition",
                                           {"cut": [o.node_id for o in other]},
                                           headers=n.admin_headers())
                    assert code == 200, body
            conftest.wait_until(lambda: all(x.status()["peers"] == 1 for x in nodes),
                                20, "two halves of 2")
            wallets = [txlib.Wallet() for _ in range(16)]
            txl = [wallets[i % 16].tx(amount=1 + i % 100)
                   for i in range(per_half - conflicts)]
            txr = [wallets[i % 16].tx(amount=1 + i % 100)
                   for i in range(per_half - conflicts)]
            winners = []
            for i in range(conflicts):
                w = wallets[i % 16]
                x, y = w.tx(amount=1, nonce=10**9 + i), w.tx(amount=2, nonce=10**9 + i)
                txl.append(x)
                txr.append(y)
                winners.append(min(x.id_hex(), y.id_hex()))
            for n, txs in ((a, txl), (c, txr)):
                errors = inject(n, [t.hex() for t in txs])
                assert not errors, errors
            conftest.wait_until(
                lambda: b.status()["mempool_txs"] == per_half and
                d.status()["mempool_txs"] == per_half, 60, "each half to agree")
            want = 2 * per_half - conflicts
            before = received(nodes)
            t0 = time.monotonic()
            for n in nodes:
                code, body = n.request("DELETE", "/v1/partition",
                                       headers=n.admin_headers())
                assert code == 200, body
            conftest.wait_until(
                lambda: len({(x["count"], x["digest"]) for x in digests(nodes)}) == 1
                and digests(nodes)[0]["count"] == want, 120,
                "every digest equal", interval=0.02)
            took = time.monotonic() - t0
            moved = received(nodes) - before
            lost = [i for i in winners if not all(n.has_tx(i) for n in nodes)]
            print("4 nodes split 2|2, %d txs per half (%d conflicting pairs), healed:"
                  % (per_half, conflicts))
            print("  every digest equal after %.2f s (target <= 5 s); %d txs each"
                  % (took, want))
            print("  bytes received by the 4 nodes meanwhile: %d (%.0f per tx "
                  "that crossed)" % (moved, moved / (2.0 * (per_half - conflicts)
                                                    + conflicts)))
            print("  conflicts won by the smaller id on every node: %d of %d"
                  % (conflicts - len(lost), conflicts))
        finally:
            cl.stop_all()


if __name__ == "__main__":
    main()
