#!/usr/bin/python3
"""
bench_recon.py: bytes two live nodes move to catch up when a link comes up
(issue 10, docs/PROTOCOL.md section 7).

Two nodes on loopback are cut apart (POST /v1/partition); both are sent the
same BENCH_RECON_TXS transactions (20,000), and node1 BENCH_RECON_DIFF more
(100).  The partition is healed and, once both mempool digests are equal,
the bytes both nodes sent meanwhile are printed by frame type (from
/metrics): with reconciliation the shared ids cost a few hundred bytes,
without it (BENCH_RECON_BASE=path of an older noded, run the same way) each
side announces its whole mempool.

Figures only; nothing here fails on timing.  Run through `make bench`.
Env: NODED, BENCH_RECON_TXS, BENCH_RECON_DIFF, BENCH_RECON_BASE.
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


def by_type(nodes, name):
    out = {}
    for n in nodes:
        for k, v in n.metrics().items():
            if k.startswith(name + "{"):
                t = k.split('type="', 1)[1].split('"', 1)[0]
                out[t] = out.get(t, 0) + v
    return out


def run(binary, label, shared, diff, work):
    nodes = []
    try:
        a = conftest.Node("node1", work, binary=binary)
        nodes.append(a)
        a.start()
        b = conftest.Node("node2", work, peers=[a], binary=binary)
        nodes.append(b)
        b.start()
        conftest.wait_until(lambda: a.status()["peers"] == 1 and
                            b.status()["peers"] == 1, 20, "the link")
        for n, o in ((a, b), (b, a)):
            code, body = n.request("POST", "/v1/partition",
                                   {"cut": [o.node_id]},
                                   headers=n.admin_headers())
            assert code == 200, body
        conftest.wait_until(lambda: a.status()["peers"] == 0 and
                            b.status()["peers"] == 0, 20, "the cut")
        wallets = [txlib.Wallet() for _ in range(16)]
        common = [wallets[i % 16].tx(amount=1 + i % 100).hex()
                  for i in range(shared)]
        extra = [wallets[i % 16].tx(amount=1 + i % 100).hex()
                 for i in range(diff)]
        for n, txs in ((a, common + extra), (b, common)):
            errors = inject(n, txs)
            assert not errors, errors
        conftest.wait_until(lambda: a.status()["mempool_txs"] == shared + diff
                            and b.status()["mempool_txs"] == shared, 120,
                            "both mempools filled")
        before = by_type(nodes, "noded_bytes_sent_total")
        t0 = time.monotonic()
        for n in nodes:
            code, body = n.request("DELETE", "/v1/partition",
                                   headers=n.admin_headers())
            assert code == 200, body
        conftest.wait_until(
            lambda: a._get_json("/v1/mempool/digest") ==
            b._get_json("/v1/mempool/digest"), 120, "equal digests",
            interval=0.02)
        took = time.monotonic() - t0
        time.sleep(1)   # what follows the last TX (a full announcement's tail)
        after = by_type(nodes, "noded_bytes_sent_total")
        moved = {t: after.get(t, 0) - before.get(t, 0) for t in after}
        total = sum(v for t, v in moved.items() if t != "handshake")
        recon = sum(v for t, v in moved.items() if t.startswith("RECON"))
        print("%s: %d shared txs, %d on node1 only; healed, equal digests "
              "after %.2f s" % (label, shared, diff, took))
        print("  bytes sent by both nodes (frames, headers included): %d in all"
              % total)
        print("  RECON_*: %d   INV: %d   GETDATA: %d   TX: %d   other: %d" % (
            recon, moved.get("INV", 0), moved.get("GETDATA", 0),
            moved.get("TX", 0), total - recon - sum(
                moved.get(t, 0) for t in ("INV", "GETDATA", "TX"))))
    finally:
        for n in nodes:
            n.stop()


def main():
    shared = int(os.environ.get("BENCH_RECON_TXS", "20000"))
    diff = int(os.environ.get("BENCH_RECON_DIFF", "100"))
    print("machine: %s" % machine())
    runs = [(conftest.NODED, "reconciliation")]
    if os.environ.get("BENCH_RECON_BASE"):
        runs.append((os.environ["BENCH_RECON_BASE"], "whole-mempool announcement"))
    for binary, label in runs:
        with tempfile.TemporaryDirectory(prefix="noded-bench-recon-") as work:
            run(binary, label, shared, diff, work)


if __name__ == "__main__":
    main()
