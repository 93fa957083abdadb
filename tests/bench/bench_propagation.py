#!/usr/bin/python3
"""
bench_propagation.py: noded's relay on the workloads of issue 11, through
`tools/cluster up` and `tools/cluster bench` on this machine.

    32 nodes, random degree 4 (tools/cluster --topology random:4, fixed
    --seed), 20 tx/s and 200 tx/s for BENCH_PROP_SECONDS (10) each, the
    nodes taking turns as entry;
    4 nodes fully meshed, BENCH_PROP_MAX_COUNT (5000) transactions POSTed
    to node1 as fast as it takes them.

Printed per workload, from the nodes' own tx_accepted times: entry
acceptance -> last node and -> each node (p50/p90/p99/max), delivered
fraction, full copies and bytes received per node per transaction (187
bytes), transactions on all nodes per second; and the bound of issue 11 for
the 4-node mesh: the bare verify rate on all cores / 4 (build/bench/
bench_verify, one copy per core at once, the bare op/s added up).

Figures only; nothing here fails on timing.  Run through `make bench`, or
by hand (`--json FILE` writes the figures).  bench_gossipsub.py imports the
workloads and the runner from here.  Env: NODED, NODECTL, BUILD,
BENCH_PROP_SECONDS (10), BENCH_PROP_MAX_COUNT (5000), BENCH_PROP_SEED (11),
BENCH_PROP_PORT (27000: clusters use ports PORT+1.. PORT+399).
"""

import argparse
import importlib.machinery
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLUSTER = os.path.join(ROOT, "tools", "cluster")
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
SIZE = 187

SECONDS = float(os.environ.get("BENCH_PROP_SECONDS", "10"))
MAX_COUNT = int(os.environ.get("BENCH_PROP_MAX_COUNT", "5000"))
SEED = int(os.environ.get("BENCH_PROP_SEED", "11"))
PORT = int(os.environ.get("BENCH_PROP_PORT", "27000"))

# (key, label, nodes, topology, rate, count); rate 0: as fast as taken.
WORKLOADS = [
    ("r4_20", "32 nodes, random degree 4, 20 tx/s", 32, "random:4", 20,
     int(20 * SECONDS)),
    ("r4_200", "32 nodes, random degree 4, 200 tx/s", 32, "random:4", 200,
     int(200 * SECONDS)),
    ("full4_max", "4 nodes fully meshed, max rate", 4, "full", 0, MAX_COUNT),
]


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


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def cluster_module():
    """tools/cluster as a module, for its topologies."""
    loader = importlib.machinery.SourceFileLoader("cluster_tool", CLUSTER)
    spec = importlib.util.spec_from_loader("cluster_tool", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def edges(n, topo, seed):
    """The links tools/cluster up -n N --topology TOPO --seed SEED makes."""
    return cluster_module().topology_edges(n, topo, random.Random(seed))


def cluster(args, env, capture=True):
    p = subprocess.run([sys.executable, CLUSTER] + args, env=env,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.STDOUT if capture else None,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError("tools/cluster %s failed (%d):\n%s" % (
            " ".join(args), p.returncode, p.stdout or ""))
    return p.stdout or ""


def bench_json(out):
    return json.loads(out[out.index("{"):])


def run_noded(workloads, port=PORT, seed=SEED, log=print):
    """Runs each workload on a noded cluster; one cluster per (n, topology),
    in a temporary CLUSTER_DIR.  Returns {key: tools/cluster bench JSON}."""
    res = {}
    groups = []
    for w in workloads:
        if not groups or groups[-1][0][2:4] != w[2:4]:
            groups.append([])
        groups[-1].append(w)
    for gi, group in enumerate(groups):
        n, topo = group[0][2], group[0][3]
        work = tempfile.mkdtemp(prefix="noded-bench-prop-")
        env = dict(os.environ, CLUSTER_DIR=work)
        env.setdefault("NODED", os.path.join(ROOT, "bin", "noded"))
        env.setdefault("NODECTL", os.path.join(ROOT, "bin", "nodectl"))
        p2p, api = port + 200 * gi, port + 200 * gi + 100
        up = ["up", "-q", "-n", str(n), "--topology", topo, "--seed",
              str(seed), "--p2p-base", str(p2p), "--api-base", str(api)]
        try:
            log("noded: tools/cluster %s" % " ".join(up))
            t0 = time.monotonic()
            cluster(up, env)
            log("  up in %.1f s" % (time.monotonic() - t0))
            for key, label, _, _, rate, count in group:
                args = ["bench", "--rate", str(rate), "--count", str(count),
                        "--size", str(SIZE), "--json"]
                before = os.getloadavg()
                log("noded: %s (%s): tools/cluster %s" % (label, load(),
                                                         " ".join(args)))
                res[key] = bench_json(cluster(args, env))
                res[key]["load_before"] = before
        finally:
            try:
                cluster(["down"], env)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    return res


def verify_bound():
    """(bare verifies a second on all cores, one core's, cores): one
    bench_verify per core at once, their bare op/s added up."""
    exe = os.path.join(BUILD, "bench", "bench_verify")
    cores = os.cpu_count() or 1
    procs = [subprocess.Popen([exe], stdout=subprocess.PIPE,
                              universal_newlines=True) for _ in range(cores)]
    rates = []
    for p in procs:
        out, _ = p.communicate()
        m = re.search(r"bare crypto_sign_verify_detached\s+[\d.]+ us/op\s+(\d+) op/s",
                      out)
        if p.returncode != 0 or not m:
            raise RuntimeError("%s: no bare verify rate in its output:\n%s"
                               % (exe, out))
        rates.append(float(m.group(1)))
    return sum(rates), max(rates), cores


def ms(x):
    return "-" if x is None else "%.1f" % x


def print_table(res, log=print):
    log("")
    log("| workload | entry -> last node p50 / p90 / p99 / max ms | entry -> "
        "each node p50 / p99 ms | delivered | copies per node per tx | "
        "bytes received per node per tx | tx/s on all nodes | tx/s sent |")
    log("|---|---|---|---|---|---|---|---|")
    for key, label, *_ in WORKLOADS:
        r = res.get(key)
        if not r:
            continue
        last, each = r["to_last_node_ms"], r["to_each_node_ms"]
        log("| %s | %s / %s / %s / %s | %s / %s | %.4f | %.2f | %.0f (%.2f x) | %s | %s |" % (
            label, ms(last["p50"]), ms(last["p90"]), ms(last["p99"]),
            ms(last["max"]), ms(each["p50"]), ms(each["p99"]), r["delivered"],
            r["copies_per_node"], r["bytes_received_per_node"],
            r["bytes_received_per_tx_byte"],
            "%.0f" % r["tx_per_second_on_all"] if "tx_per_second_on_all" in r
            else "-", "%.0f" % (r["count"] / max(1e-6, r["send_seconds"]))
            if r["rate"] else "-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="FILE", help="write the figures here")
    a = ap.parse_args()
    print("machine: %s; %s" % (machine(), load()), flush=True)
    t0 = time.monotonic()
    res = run_noded(WORKLOADS, log=lambda s: print(s, flush=True))
    all_cores, one, cores = verify_bound()
    res["bound"] = {"bare_verify_all_cores": all_cores,
                    "bare_verify_one_core": one, "cores": cores,
                    "tx_per_second": all_cores / 4}
    print_table(res)
    m = res.get("full4_max", {}).get("tx_per_second_on_all")
    print("\nbound for 4 nodes: bare verify on all cores / 4 = %.0f / 4 = "
          "%.0f tx/s (bench_verify, %d at once; one core %.0f/s)"
          % (all_cores, all_cores / 4, cores, one))
    if m:
        print("4 nodes fully meshed: %.0f tx/s on all 4 = %.2f of the bound "
              "(target >= 0.8)" % (m, m / (all_cores / 4)))
    print("(%.0f s in all; %s)" % (time.monotonic() - t0, load()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
