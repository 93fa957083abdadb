#!/usr/bin/python3
"""
bench_network.py: end-to-end throughput and memory of real noded processes.

1. Four nodes, fully meshed on loopback, on this machine's cores.  N
   transactions are signed in advance and injected at node 1 through
   POST /v1/tx batches, as fast as it takes them.  Printed: transactions
   accepted by all four nodes per second, beside the bound
   (bare verify rate on all cores) / 4, since each node verifies each
   transaction once and the four share the cores.  Target: >= 0.6 of it.
2. One node holding 100,000 transactions: its resident memory (VmRSS).
   Target: <= 64 MiB.

Figures only; nothing here fails on timing.  Run it through `make bench`,
which builds build/bench/bench_validator (the bare verify rate) first.  Env:
NODED, BUILD, BENCH_TXS (20000), BENCH_MEMPOOL_TXS (100000).
"""

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import conftest  # noqa: E402  (Node, Cluster, wait_until)
import txlib  # noqa: E402

BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))


def bare_rate():
    out = subprocess.run([os.path.join(BUILD, "bench", "bench_validator"), "--bare"],
                         env=dict(os.environ, BENCH_N="10000"), check=True,
                         capture_output=True, text=True).stdout
    return float(out.split()[-1])


def sign_many(n):
    wallets = [txlib.Wallet() for _ in range(8)]
    return [wallets[i % 8].tx(amount=i % 101).hex() for i in range(n)]


def inject(node, hexes, conns=4, batch=500):
    """Posts hexes to node in batches over `conns` keep-alive connections."""
    chunks = [hexes[i:i + batch] for i in range(0, len(hexes), batch)]
    lock = threading.Lock()
    errors = []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", node.api_port, timeout=120)
        while True:
            with lock:
                if not chunks:
                    break
                ch = chunks.pop(0)
            c.request("POST", "/v1/tx", body=json.dumps({"txs": ch}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            body = json.loads(r.read())
            if r.status != 200 or body.get("accepted") != len(ch):
                errors.append((r.status, {k: body.get(k) for k in ("accepted", "rejected")}))
        c.close()

    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores" % (model, os.cpu_count() or 0)


def bench_four_nodes(work, n):
    cl = conftest.Cluster(work)
    try:
        a = cl.start("node1")
        b = cl.start("node2", peers=[a])
        c = cl.start("node3", peers=[a, b])
        d = cl.start("node4", peers=[a, b, c])
        nodes = [a, b, c, d]
        conftest.wait_until(lambda: all(x.status()["peers"] == 3 for x in nodes), 20,
                            "a full mesh of 4 nodes")
        print("signing %d transactions in advance..." % n, flush=True)
        hexes = sign_many(n)
        bound = bare_rate() / 4
        t0 = time.monotonic()
        errors = inject(a, hexes)
        t_inj = time.monotonic() - t0
        conftest.wait_until(lambda: all(x.status()["mempool_txs"] >= n for x in nodes),
                            300, "all 4 nodes to hold %d txs" % n, interval=0.02)
        dt = time.monotonic() - t0
        rate = n / dt
        print("4 nodes, %d txs injected at node1 in %.2f s, on all 4 after %.2f s"
              % (n, t_inj, dt))
        if errors:
            print("  (%d batches had rejections: %s)" % (len(errors), errors[:3]))
        print("  accepted by all 4 nodes: %8.0f tx/s" % rate)
        print("  bound (bare verify on all cores)/4: %8.0f tx/s" % bound)
        print("  ratio: %.2f (target >= 0.60)" % (rate / bound))
    finally:
        cl.stop_all()


def bench_memory(work, n):
    cl = conftest.Cluster(work)
    try:
        a = cl.start("mem1", args=["--mempool-max-txs", str(n + 1000)])
        base = rss_kib(a.proc.pid)
        print("signing %d transactions..." % n, flush=True)
        hexes = sign_many(n)
        inject(a, hexes)
        conftest.wait_until(lambda: a.status()["mempool_txs"] >= n, 300,
                            "%d txs in the mempool" % n)
        rss = rss_kib(a.proc.pid)
        print("1 node holding %d txs: VmRSS %.1f MiB (at start %.1f MiB), "
              "target <= 64 MiB" % (a.status()["mempool_txs"], rss / 1024.0, base / 1024.0))
    finally:
        cl.stop_all()


def main():
    n = int(os.environ.get("BENCH_TXS", "20000"))
    m = int(os.environ.get("BENCH_MEMPOOL_TXS", "100000"))
    print("machine: %s" % machine())
    with tempfile.TemporaryDirectory(prefix="noded-bench-") as work:
        bench_four_nodes(os.path.join(work, "four"), n)
        bench_memory(os.path.join(work, "mem"), m)


if __name__ == "__main__":
    main()
