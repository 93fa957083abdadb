#!/usr/bin/python3
"""
bench_durability.py: kill -9 of the entry node at a random moment loses
nothing it acknowledged (issue 10).

Two nodes (entry and a peer).  Each round, a sender posts to the entry
node, either single transactions at 25 tx/s or 500-tx batches back to back,
and the entry node is sent SIGKILL at a random moment (0.2 to 2 s in); then
it is started again on the same data dir.  Every transaction whose answer
said "accepted" must be on the entry node or on its peer afterwards: the
count of those on neither is printed ("acknowledged lost"; must be 0).
ROUNDS rounds of each load (20 by default, --sync batch, the default).

Figures only; run through `make bench`.  Exit status 1 if anything
acknowledged was lost.  Env: NODED, NODECTL, BENCH_DURABILITY_ROUNDS (20),
BENCH_DURABILITY_SYNC (batch).
"""

import http.client
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)
os.environ.setdefault("NODED_START_TIMEOUT", "120")

import conftest  # noqa: E402
from bench_network import machine  # noqa: E402
from bench_restart import presign  # noqa: E402


def sender(node, hexes, mode, acked, stop):
    """Posts until stop is set or the node dies; adds acknowledged ids."""
    c = http.client.HTTPConnection("127.0.0.1", node.api_port, timeout=30)
    i = 0
    try:
        while not stop.is_set() and i < len(hexes):
            if mode == "rate":
                body = {"tx": hexes[i]}
                i += 1
            else:
                body = {"txs": hexes[i:i + 500]}
                i += 500
            c.request("POST", "/v1/tx", body=json.dumps(body),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            out = json.loads(r.read())
            for v in out.get("results", [out]):
                if v.get("status") == "accepted":
                    acked.add(v["id"])
            if mode == "rate":
                time.sleep(0.04)
    except (OSError, http.client.HTTPException, ValueError):
        pass    # killed mid-request: that one was not acknowledged
    finally:
        c.close()


def main():
    rounds = int(os.environ.get("BENCH_DURABILITY_ROUNDS", "20"))
    sync = os.environ.get("BENCH_DURABILITY_SYNC", "batch")
    rng = random.Random(int(os.environ.get("BENCH_SEED", "10")))
    print("machine: %s" % machine())
    total_lost = 0
    with tempfile.TemporaryDirectory(prefix="noded-bench-dur-") as work:
        print("signing transactions...", flush=True)
        hexes = presign(work, rounds * (100 + 20 * 500), wallets=8)
        cl = conftest.Cluster(work)
        try:
            # BENCH_DURABILITY_SYNC= (empty): no --sync, for a noded without it.
            args = ["--sync", sync] if sync else []
            peer = cl.start("peer", args=args)
            entry = cl.start("entry", peers=[peer], args=args)
            conftest.wait_connected(entry, peer)
            pos = 0
            for mode in ("rate", "batch"):
                acked_all, lost_mode = 0, 0
                for rnd in range(rounds):
                    want = 100 if mode == "rate" else 20 * 500
                    chunk, pos = hexes[pos:pos + want], pos + want
                    acked, stop = set(), threading.Event()
                    th = threading.Thread(target=sender,
                                          args=(entry, chunk, mode, acked, stop))
                    th.start()
                    time.sleep(rng.uniform(0.2, 2.0))
                    entry.stop(signal.SIGKILL)
                    stop.set()
                    th.join()
                    entry.start()
                    have = entry.mempool_ids() | peer.mempool_ids()
                    lost = acked - have
                    acked_all += len(acked)
                    lost_mode += len(lost)
                    conftest.wait_connected(entry, peer, timeout=30)
                print("  %-5s %2d rounds (%s): %6d acknowledged, %d lost" % (
                    mode, rounds, "25 tx/s" if mode == "rate" else "500-tx batches",
                    acked_all, lost_mode), flush=True)
                total_lost += lost_mode
        finally:
            cl.stop_all()
    print("acknowledged lost: %d (target 0; --sync %s)" % (total_lost, sync))
    return 1 if total_lost else 0


if __name__ == "__main__":
    sys.exit(main())
