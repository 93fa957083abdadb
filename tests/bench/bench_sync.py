#!/usr/bin/python3
"""
bench_sync.py: what durable acceptance costs (issue 10).  Four nodes, fully
meshed on loopback, all with --sync batch (the default: commits and their
fsync on the store's commit thread) or all with --sync none (not synced); N
pre-signed transactions are posted to node1 in 500-tx batches and the time
until all four hold them gives the throughput.  The two modes alternate,
ROUNDS times each, on the same transactions' kind, and the ratio of their
best rates is printed.  Target: batch >= 0.9 x none.

Figures only; nothing here fails on timing.  Run through `make bench`.
Env: NODED, NODECTL, BENCH_SYNC_TXS (10000), BENCH_SYNC_ROUNDS (2).
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
from bench_network import inject, machine  # noqa: E402
from bench_restart import presign  # noqa: E402


def run(work, mode, hexes):
    cl = conftest.Cluster(work)
    try:
        args = ["--sync", mode]
        a = cl.start("node1", args=args)
        b = cl.start("node2", peers=[a], args=args)
        c = cl.start("node3", peers=[a, b], args=args)
        d = cl.start("node4", peers=[a, b, c], args=args)
        nodes = [a, b, c, d]
        conftest.wait_until(lambda: all(x.status()["peers"] == 3 for x in nodes),
                            20, "a full mesh of 4 nodes")
        n = len(hexes)
        t0 = time.monotonic()
        errors = inject(a, hexes)
        t_ack = time.monotonic() - t0
        conftest.wait_until(lambda: all(x.status()["mempool_txs"] >= n for x in nodes),
                            600, "all 4 nodes to hold %d txs" % n, interval=0.02)
        dt = time.monotonic() - t0
        commits = sum(x.metric("noded_store_commits_total") or 0 for x in nodes)
        csec = sum(x.metric("noded_store_commit_seconds_total") or 0 for x in nodes)
        print("  --sync %-5s %d txs: acknowledged in %.2f s, on all 4 in %.2f s: "
              "%.0f tx/s; 4 nodes: %d commits, %.3f s in them%s" % (
                  mode, n, t_ack, dt, n / dt, commits, csec,
                  " errors: %s" % errors[:2] if errors else ""), flush=True)
        return n / dt, csec / 4, dt
    finally:
        cl.stop_all()


def main():
    n = int(os.environ.get("BENCH_SYNC_TXS", "10000"))
    rounds = int(os.environ.get("BENCH_SYNC_ROUNDS", "2"))
    print("machine: %s" % machine())
    rates = {"none": [], "batch": []}
    with tempfile.TemporaryDirectory(prefix="noded-bench-sync-") as work:
        for r in range(rounds):
            for mode in ("none", "batch"):
                # Fresh transactions each run: nothing is known in advance.
                keys = os.path.join(work, "keys%d%s" % (r, mode))
                os.makedirs(keys, exist_ok=True)
                hexes = presign(keys, n, wallets=8)
                rates[mode].append(run(os.path.join(work, "%s%d" % (mode, r)),
                                       mode, hexes))
    best = {m: max(r[0] for r in v) for m, v in rates.items()}
    print("4 nodes, best of %d: --sync none %.0f tx/s, --sync batch %.0f tx/s" % (
        rounds, best["none"], best["batch"]))
    print("ratio batch / none: %.2f (target >= 0.90)" % (best["batch"] / best["none"]))
    # Where the cost went: the share of each node's run its store commit
    # thread spent committing (fsync included).  The loop no longer waits for
    # it; a verdict waits for its batch's commit, so this shows as latency of
    # the acknowledgement, not as loop time.
    share = {m: sum(r[1] for r in v) / sum(r[2] for r in v) for m, v in rates.items()}
    means = {m: sum(r[0] for r in v) / len(v) for m, v in rates.items()}
    print("commit thread busy per node: --sync none %.2f%%, --sync batch %.2f%%" % (
        100 * share["none"], 100 * share["batch"]))
    print("mean of the rounds: --sync none %.0f tx/s, --sync batch %.0f tx/s: "
          "ratio %.2f" % (means["none"], means["batch"],
                          means["batch"] / means["none"]))
    with open("/proc/loadavg") as f:
        print("load average: %s" % " ".join(f.read().split()[:3]))


if __name__ == "__main__":
    main()
