#!/usr/bin/python3
"""
bench_gossipsub.py: noded and go-libp2p-pubsub gossipsub side by side, in
one run on this machine (issue 11; `make bench-gossipsub`, the table in
docs/PERFORMANCE.md, "Relay: noded and gossipsub").

The workloads are bench_propagation.py's: 32 nodes on the links of
`tools/cluster up -n 32 --topology random:4 --seed 11` at 20 and 200 tx/s
(BENCH_PROP_SECONDS, 10 s each), and 4 nodes fully meshed at max rate
(BENCH_PROP_MAX_COUNT, 5000 transactions into node 1).  noded runs through
tools/cluster up/bench; gossipsub through tests/bench/gossipsub (Go, built
here into BUILD/bench/gossipsub-bench): one process per node on the same
links, one Ed25519 verify per message per node in a topic validator, its
queues raised so that it delivers every message, 187-byte messages,
latency from the nodes' own clocks (see tests/bench/gossipsub/main.go).
Per group of links, noded runs first, then gossipsub.

Usage: make bench-gossipsub, or
    /usr/bin/python3 tests/bench/bench_gossipsub.py --run [--json FILE]
Without --run (or NODED_BENCH_GOSSIPSUB=1) it exits at once, so that
`make bench` (which runs every tests/bench/bench_*.py) passes it by; with
it, but without a go command, it says so and exits 0.  Building the harness
the first time fetches its modules (go.sum pins them) through the Go
module proxy.  Env: as bench_propagation.py, and GO (the go command),
BENCH_GOSSIPSUB_PORT (28000: ports PORT+1.. PORT+399).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_propagation as bp  # noqa: E402

GODIR = os.path.join(HERE, "gossipsub")
EXE = os.path.join(bp.BUILD, "bench", "gossipsub-bench")
GS_PORT = int(os.environ.get("BENCH_GOSSIPSUB_PORT", "28000"))


def go_command():
    go = os.environ.get("GO") or shutil.which("go")
    if not go and os.access("/usr/local/go/bin/go", os.X_OK):
        go = "/usr/local/go/bin/go"
    return go


def build(go):
    os.makedirs(os.path.dirname(EXE), exist_ok=True)
    print("building %s (go build in tests/bench/gossipsub)" % os.path.relpath(EXE),
          flush=True)
    p = subprocess.run([go, "build", "-o", EXE, "."], cwd=GODIR)
    if p.returncode != 0:
        raise SystemExit("bench_gossipsub: go build failed (%d); modules come "
                         "through the Go module proxy (GOPROXY)" % p.returncode)


def run_gossipsub(w, port, log=print):
    key, label, n, topo, rate, count = w
    links = bp.edges(n, topo, bp.SEED)
    argv = [EXE, "run", "-n", str(n), "--edges",
            ",".join("%d-%d" % e for e in links), "--rate", str(rate),
            "--count", str(count), "--size", str(bp.SIZE), "--base-port",
            str(port), "--json"]
    before = os.getloadavg()
    log("gossipsub: %s (%s): gossipsub-bench run -n %d --edges <%d links of %s "
        "seed %d> --rate %g --count %d --size %d --base-port %d --json" % (
            label, bp.load(), n, len(links), topo, bp.SEED, rate, count,
            bp.SIZE, port))
    p = subprocess.run(argv, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise SystemExit("bench_gossipsub: gossipsub-bench failed (%d)"
                         % p.returncode)
    r = json.loads(p.stdout)
    r["load_before"] = before
    return r


def f1(x):
    return "-" if x is None else "%.1f" % x


def rows(w, r):
    """The figures of one workload, as (name, text)."""
    if not r:
        return []
    last, each = r["to_last_node_ms"], r["to_each_node_ms"]
    out = [
        ("entry -> last node p50 / p99 ms", "%s / %s" % (f1(last["p50"]), f1(last["p99"]))),
        ("entry -> last node p90 / max ms", "%s / %s" % (f1(last["p90"]), f1(last["max"]))),
        ("entry -> each node p50 / p99 ms", "%s / %s" % (f1(each["p50"]), f1(each["p99"]))),
        ("delivered", "%.4f" % r["delivered"]),
        ("full copies received per node per tx", "%.2f" % r["copies_per_node"]),
        ("bytes received per node per tx", "%.0f (%.2f x)" % (
            r["bytes_received_per_node"], r["bytes_received_per_tx_byte"])),
        ("tx/s on all nodes (sent at)", "%s (%s)" % (
            "%.0f" % r["tx_per_second_on_all"] if r.get("tx_per_second_on_all")
            else "-", "%.0f" % (r["count"] / max(1e-6, r["send_seconds"]))
            if r["rate"] else "-")),
        ("load average (1 min) before", "%.1f" % r["load_before"][0]),
    ]
    return out


def print_side_by_side(noded, gs, bound=None):
    print("")
    print("| workload | figure | noded | gossipsub |")
    print("|---|---|---|---|")
    for w in bp.WORKLOADS:
        a, b = rows(w, noded.get(w[0])), dict(rows(w, gs.get(w[0])))
        for name, text in a:
            print("| %s | %s | %s | %s |" % (w[1], name, text, b.get(name, "-")))
    m_n = noded.get("full4_max", {}).get("tx_per_second_on_all")
    m_g = gs.get("full4_max", {}).get("tx_per_second_on_all")
    if m_n and m_g:
        print("\n4 nodes fully meshed: noded %.0f tx/s on all 4, gossipsub %.0f: "
              "%.2f x (target >= 3 x)" % (m_n, m_g, m_n / m_g))
    if bound and m_n:
        print("bound: bare verify on all cores / 4 = %.0f tx/s; noded at %.2f "
              "of it (target >= 0.8)" % (bound, m_n / bound))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", action="store_true",
                    help="run (without it, or NODED_BENCH_GOSSIPSUB=1, exit at once)")
    ap.add_argument("--json", metavar="FILE", help="write every figure here")
    ap.add_argument("--no-bound", action="store_true",
                    help="skip the bare verify rate")
    a = ap.parse_args()
    if not a.run and os.environ.get("NODED_BENCH_GOSSIPSUB") != "1":
        print("bench_gossipsub.py: skipped here; `make bench-gossipsub` runs it "
              "(it needs Go and the Go module proxy)")
        return 0
    go = go_command()
    if not go:
        print("bench_gossipsub.py: skipped: no go command (set GO or put Go "
              "on PATH to compare with gossipsub)")
        return 0
    build(go)
    print("machine: %s; %s" % (bp.machine(), bp.load()), flush=True)
    t0 = time.monotonic()
    log = lambda s: print(s, flush=True)  # noqa: E731
    noded, gs = {}, {}
    groups = []
    for w in bp.WORKLOADS:
        if not groups or groups[-1][0][2:4] != w[2:4]:
            groups.append([])
        groups[-1].append(w)
    for gi, group in enumerate(groups):
        noded.update(bp.run_noded(group, port=bp.PORT + 200 * gi, log=log))
        for wi, w in enumerate(group):
            gs[w[0]] = run_gossipsub(w, GS_PORT + 200 * gi + 100 * wi, log=log)
    bound = None
    if not a.no_bound:
        all_cores, one, cores = bp.verify_bound()
        bound = all_cores / 4
        print("bare verify: %.0f/s on %d cores (bench_verify, one per core at "
              "once; one core %.0f/s)" % (all_cores, cores, one))
    print_side_by_side(noded, gs, bound)
    print("(%.0f s in all; %s)" % (time.monotonic() - t0, bp.load()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"noded": noded, "gossipsub": gs, "bound": bound,
                       "machine": bp.machine()}, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
