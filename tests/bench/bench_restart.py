#!/usr/bin/python3
"""
bench_restart.py: a node restarts with 100,000 transactions in its store
(issue 10).  One node is sent N transactions (pre-signed by nodectl send
--dry-run --count), killed with SIGKILL, and started again: the time from
exec to an API that answers with the whole mempool is printed, with the
node's own figure from its log line "store: N txs loaded, M expired,
K invalid in X ms" (read, validated again on --validators threads, put back
in the mempool).  Target: mempool back in <= 5 s.  Every signature is
verified again, so the figure is bound by the bare Ed25519 verify rate of the
machine (bench_validator --bare, printed beside it).

Figures only; nothing here fails on timing.  Run through `make bench`.
Env: NODED, NODECTL, BENCH_RESTART_TXS (100000).
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
# The API answers once the store is read back: allow for a loaded machine.
os.environ.setdefault("NODED_START_TIMEOUT", "300")

import conftest  # noqa: E402
from bench_network import bare_rate, inject, machine  # noqa: E402


def presign(work, n, wallets=4, network="devnet"):
    """n signed transactions in hex, from `wallets` keys (nodectl, in C)."""
    out = []
    per = (n + wallets - 1) // wallets
    for w in range(wallets):
        key = os.path.join(work, "w%d.key" % w)
        pk = subprocess.run([conftest.NODECTL, "keygen", "--out", key], check=True,
                            capture_output=True, text=True).stdout.split()[0]
        r = subprocess.run([conftest.NODECTL, "send", "--key", key, "--to", pk,
                            "--amount", "1", "--dry-run", "--network", network,
                            "--count", str(min(per, n - len(out))), "--nonce", "1"],
                           check=True, capture_output=True, text=True)
        out += r.stdout.split()
    return out[:n]


def main():
    n = int(os.environ.get("BENCH_RESTART_TXS", "100000"))
    print("machine: %s" % machine())
    with tempfile.TemporaryDirectory(prefix="noded-bench-restart-") as work:
        cl = conftest.Cluster(work)
        try:
            a = cl.start("node1", args=["--mempool-max-txs", str(max(n, 200000))])
            print("signing %d transactions..." % n, flush=True)
            hexes = presign(work, n)
            t0 = time.monotonic()
            errors = inject(a, hexes, batch=1000)
            conftest.wait_until(lambda: a.status()["mempool_txs"] >= n, 600,
                                "%d txs in the mempool" % n)
            print("%d txs accepted (and committed) in %.2f s%s" % (
                n, time.monotonic() - t0, " (rejections: %s)" % errors[:2] if errors else ""))
            size = os.path.getsize(os.path.join(a.data_dir, "store", "data.mdb"))
            print("store: %.1f MiB for %d txs" % (size / 1048576.0, n))
            a.stop(signal.SIGKILL)
            bare = bare_rate()
            t0 = time.monotonic()
            a.start()
            conftest.wait_until(lambda: a.status()["mempool_txs"] >= n, 120,
                                "the mempool back")
            dt = time.monotonic() - t0
            line = [l for l in a.log_lines() if "txs loaded" in l][-1]
            ms = int(re.search(r"in (\d+) ms", line).group(1))
            print("restart after kill -9: %d txs back in %.2f s from exec "
                  "(target <= 5 s)" % (a.status()["mempool_txs"], dt))
            print("  node's own figure: %s" % line.split(" store: ", 1)[-1])
            checked = [l for l in a.log_lines() if "bytes checked" in l]
            if checked:
                print("  before it, the store check in a child process: %s"
                      % checked[-1].split(": ", 2)[-1])
            print("  read + verify + insert: %d ms; every signature is verified "
                  "again, so the floor is n / bare verify rate = %d / %.0f = %.2f s "
                  "on this machine now (ratio %.2f)" % (ms, n, bare, n / bare,
                                                        (ms / 1000.0) / (n / bare)))
            with open("/proc/loadavg") as f:
                print("  load average: %s" % " ".join(f.read().split()[:3]))
        finally:
            cl.stop_all()


if __name__ == "__main__":
    main()
