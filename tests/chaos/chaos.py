#!/usr/bin/python3
"""
chaos.py: a local network under crashes, partitions, delays and conflicting
transactions, then the two promises of issue 10 checked: nothing a node
answered "accepted" is lost, and every mempool ends up the same.

  tests/chaos/chaos.py [--duration S] [--nodes N] [--rate TX/S] [--seed N]
                       [--ports LO-HI] [--keep] [-- NODED_ARGS...]

Drives tools/cluster (its own CLUSTER_DIR and free ports): N nodes, fully
meshed.  While transactions flow in (RATE a second, single and in batches
of 50, to random running nodes), every 0.5-2 s one of these happens at
random: a node is killed with SIGKILL (right after it answered
a batch of 50 "accepted", 7 times in 10; started again 0.5-3 s later), the
cluster is cut into two random groups, a partition heals, a node's sends get
a random delay and jitter (or lose them), or two transactions with one
(sender, nonce) go to two different nodes.  At the end everything is healed
and restarted, and the script waits (60 s at most) for:
  - every transaction answered "accepted" (200) on every node, except the
    loser of a conflict, which must be on none while its winner (the smaller
    id, docs/PROTOCOL.md 5.4) is on all;
  - every node's GET /v1/mempool/digest equal.
Exit 0 if both hold, 1 otherwise, naming what is missing where.  `make chaos
DURATION=600` runs it long; tests/integration/test_chaos.py runs it for about
60 s in `make test`.  Python standard library, plus tests/integration/txlib.py.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import txlib  # noqa: E402

CLUSTER = os.path.join(REPO, "tools", "cluster")
PYTHON = "/usr/bin/python3"
CONVERGE_S = 60.0


def say(msg):
    print("chaos: %s" % msg, flush=True)


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_base(n, rng, lo=30000, hi=40000):
    """A base port b with b+1..b+n (P2P) and b+101..b+100+n (API) free, in lo..hi."""
    for _ in range(200):
        b = rng.randrange(lo, max(lo + 1, hi - 100 - n), 200 if hi - lo >= 2000 else 1)
        if all(port_free(b + k) and port_free(b + 100 + k) for k in range(1, n + 1)):
            return b
    raise SystemExit("chaos: no free port range for %d nodes" % n)


class Net:
    """The cluster, through tools/cluster and the nodes' APIs."""

    def __init__(self, cdir, n, base, noded_args):
        self.cdir, self.n, self.base = cdir, n, base
        self.env = dict(os.environ, CLUSTER_DIR=cdir)
        self.noded_args = noded_args
        self.lock = threading.Lock()
        self.down = set()              # nodes killed and not yet restarted

    def cluster(self, *args, check=True):
        p = subprocess.run([PYTHON, CLUSTER] + list(args), env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120)
        if check and p.returncode != 0:
            raise SystemExit("chaos: tools/cluster %s failed (exit %d):\n%s%s"
                             % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def up(self):
        self.cluster(*(["up", "-n", str(self.n), "-q", "--topology", "full",
                        "--p2p-base", str(self.base), "--api-base",
                        str(self.base + 100)] + (["--"] + self.noded_args
                                                  if self.noded_args else [])))

    def running(self):
        with self.lock:
            return [k for k in range(1, self.n + 1) if k not in self.down]

    def request(self, k, method, path, body=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.base + 100 + k,
                                       timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data,
                      headers={"Content-Type": "application/json"} if data else {})
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, raw
        finally:
            c.close()

    def pid(self, k):
        try:
            with open(os.path.join(self.cdir, "node%d" % k, "noded.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def digest(self, k):
        code, body = self.request(k, "GET", "/v1/mempool/digest", timeout=5)
        return (body["count"], body["digest"]) if code == 200 else None

    def has(self, k, txid):
        return self.request(k, "GET", "/v1/tx/" + txid, timeout=5)[0] == 200


class Ledger:
    """What the nodes acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}                # id -> node that said "accepted"
        self.pairs = []                # (id a, id b): one (sender, nonce)
        self.sent = self.refused = self.failed = 0

    def note(self, k, txs, code, body):
        with self.lock:
            self.sent += len(txs)
            if code is None:
                self.failed += len(txs)
                return
            if not isinstance(body, dict):
                self.failed += len(txs)
                return
            results = body.get("results") if len(txs) > 1 else [body]
            for t, r in zip(txs, results or []):
                if code == 200 and r.get("status") == "accepted":
                    self.acked[t.id_hex()] = k
                else:
                    self.refused += 1


def submit(net, ledger, k, txs):
    try:
        if len(txs) == 1:
            code, body = net.request(k, "POST", "/v1/tx", {"tx": txs[0].hex()})
        else:
            code, body = net.request(k, "POST", "/v1/tx",
                                     {"txs": [t.hex() for t in txs]})
    except (OSError, http.client.HTTPException):
        code, body = None, None
    ledger.note(k, txs, code, body)


def sender(net, ledger, rng, rate, stop, wallets):
    """RATE transactions a second, one at a time or 50 at once, to random
    running nodes."""
    next_t = time.monotonic()
    while not stop.is_set():
        nodes = net.running()
        if not nodes:
            time.sleep(0.05)
            continue
        k = rng.choice(nodes)
        n = 50 if rng.random() < 0.05 else 1
        txs = [rng.choice(wallets).tx(amount=rng.randint(1, 100)) for _ in range(n)]
        submit(net, ledger, k, txs)
        next_t += n / float(rate)
        d = next_t - time.monotonic()
        if d > 0:
            stop.wait(d)
        elif d < -2:
            next_t = time.monotonic()


def restart_later(net, k, delay, counts):
    time.sleep(delay)
    p = net.cluster("start", "node%d" % k, "--timeout", "30", check=False)
    if p.returncode != 0:
        say("node%d did not start again: %s" % (k, p.stderr.strip()))
        return
    with net.lock:
        net.down.discard(k)
    counts["restarts"] += 1


def chaos(net, ledger, rng, duration, wallets):
    counts = {"kills": 0, "kills right after an ack": 0, "restarts": 0, "partitions": 0, "heals": 0,
              "netem": 0, "conflicts": 0}
    threads = []
    end = time.monotonic() + duration
    while time.monotonic() < end:
        time.sleep(rng.uniform(0.5, 2.0))
        r = rng.random()
        up = net.running()
        if r < 0.25 and len(up) > 1:
            k = rng.choice(up)
            with net.lock:
                net.down.add(k)
            if rng.random() < 0.7:
                # The worst moment: just after the node answered "accepted"
                # for a batch that no peer can have fetched yet (SIGKILL
                # straight from here: tools/cluster would take 50 ms to start).
                w = rng.choice(wallets)
                batch = [w.tx(amount=rng.randint(1, 100)) for _ in range(50)]
                pid = net.pid(k)
                submit(net, ledger, k, batch)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    counts["kills right after an ack"] += 1
            net.cluster("kill", "node%d" % k, check=False)
            counts["kills"] += 1
            t = threading.Thread(target=restart_later,
                                 args=(net, k, rng.uniform(0.5, 3.0), counts))
            t.start()
            threads.append(t)
        elif r < 0.40:
            names = list(range(1, net.n + 1))
            rng.shuffle(names)
            cut = rng.randint(1, net.n - 1)
            groups = [names[:cut], names[cut:]]
            net.cluster("partition", *[",".join("node%d" % x for x in g)
                                       for g in groups])
            counts["partitions"] += 1
        elif r < 0.60:
            net.cluster("heal")
            counts["heals"] += 1
        elif r < 0.70:
            k = rng.choice(up)
            d = rng.choice([0, 0, 5, 20, 50])
            net.cluster("netem", "node%d" % k, "--delay", "%dms" % d,
                        "--jitter", "%dms" % (d // 4), check=False)
            counts["netem"] += 1
        elif len(up) > 1:
            a, b = rng.sample(up, 2)
            w = rng.choice(wallets)
            nonce = rng.getrandbits(63)
            ta, tb = w.tx(amount=1, nonce=nonce), w.tx(amount=2, nonce=nonce)
            with ledger.lock:
                ledger.pairs.append((ta.id_hex(), tb.id_hex()))
            ta_t = threading.Thread(target=submit, args=(net, ledger, a, [ta]))
            ta_t.start()
            submit(net, ledger, b, [tb])
            ta_t.join()
            counts["conflicts"] += 1
    for t in threads:
        t.join()
    return counts


def converge(net, ledger):
    """Heals everything, then waits for the promises; returns problems."""
    net.cluster("heal")
    net.cluster("netem", "all", "--delay", "0", "--jitter", "0", check=False)
    for k in sorted(net.down):
        net.cluster("start", "node%d" % k, check=False)
    return wait_promises(net, ledger, range(1, net.n + 1), CONVERGE_S, 0.25)


def wait_promises(net, ledger, nodes, limit_s, step_s):
    """Waits (limit_s at most) until every acknowledged tx but a conflict's
    loser is on every node, and every node's digest is equal; returns
    (problems, seconds, txs).  net: anything with digest(k) and request()
    (tools/cluster here, docker compose in tests/docker/chaos_test.py)."""
    losers = {}
    for a, b in ledger.pairs:
        win, lose = (a, b) if a < b else (b, a)
        losers[lose] = win
    must = {i for i in ledger.acked if i not in losers}
    # A conflict's winner must survive if it was acknowledged, or if its
    # loser was and the winner may have got in (sent, answer lost in a
    # kill).  A winner its node refused or never answered may also be on no
    # node: then its acknowledged loser must be on every node instead.
    either = {}
    for lose, win in losers.items():
        if win in ledger.acked:
            must.add(win)
        elif lose in ledger.acked:
            either[win] = lose
    t0 = time.monotonic()
    problems = []
    while True:
        problems = []
        digests = {}
        for k in nodes:
            try:
                digests[k] = net.digest(k)
            except (OSError, http.client.HTTPException) as e:
                digests[k] = None
                problems.append("node%d: no digest (%s)" % (k, e))
        if len(set(digests.values())) != 1:
            problems.append("digests differ: %s" % ", ".join(
                "node%d %s" % (k, "%d/%s" % (v[0], v[1][:12]) if v else "?")
                for k, v in sorted(digests.items())))
        if not problems:
            ids = mempool_ids(net, min(nodes))
            missing = must - ids
            # neither of a pair whose loser was acknowledged
            missing |= {w for w, l in either.items() if w not in ids and l not in ids}
            present_losers = [l for l, w in losers.items() if l in ids and
                              (w in ids or w in must)]
            if missing:
                m = sorted(missing)[0]
                problems.append("%d acknowledged txs on no node (e.g. %s, %s)" % (
                    len(missing), m[:16],
                    "acknowledged by node%d" % ledger.acked[m] if m in ledger.acked
                    else "won a conflict whose loser node%d acknowledged, and "
                    "the loser is gone too" % ledger.acked[either[m]]))
            if present_losers:
                problems.append("%d conflict losers kept (e.g. %s)"
                                % (len(present_losers), present_losers[0][:16]))
            if not problems:
                return [], time.monotonic() - t0, len(ids)
        if time.monotonic() - t0 > limit_s:
            return problems, time.monotonic() - t0, None
        time.sleep(step_s)


def mempool_ids(net, k):
    ids, after = set(), None
    while True:
        path = "/v1/mempool?limit=1000" + ("&after=" + after if after else "")
        code, body = net.request(k, "GET", path)
        if code != 200:
            raise OSError("GET %s: %s" % (path, code))
        ids.update(body.get("txs", []))
        after = body.get("next")
        if not after:
            return ids


def main(argv):
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="tests/chaos/chaos.py",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60, metavar="S")
    ap.add_argument("--nodes", type=int, default=4, metavar="N")
    ap.add_argument("--rate", type=float, default=25, metavar="TX/S")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--ports", default="30000-40000", metavar="LO-HI",
                    help="the range the nodes' ports are taken from")
    ap.add_argument("--keep", action="store_true",
                    help="keep the cluster directory (default: only on failure)")
    a = ap.parse_args(argv)
    if a.nodes < 2 or a.nodes > 32:
        ap.error("--nodes: 2..32")
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    cdir = tempfile.mkdtemp(prefix="noded-chaos-")
    lo, hi = (int(x) for x in a.ports.split("-", 1))
    net = Net(cdir, a.nodes, pick_base(a.nodes, rng, lo, hi), extra)
    say("seed %d, %d nodes, %g s, %g tx/s, cluster in %s" % (seed, a.nodes,
        a.duration, a.rate, cdir))
    ledger = Ledger()
    ok = False
    try:
        net.up()
        wallets = [txlib.Wallet() for _ in range(32)]
        stop = threading.Event()
        st = threading.Thread(target=sender, args=(net, ledger, random.Random(seed + 1),
                                                   a.rate, stop, wallets))
        st.start()
        try:
            counts = chaos(net, ledger, rng, a.duration, wallets)
        finally:
            stop.set()
            st.join()
        say("%s; %d txs sent, %d acknowledged, %d refused, %d unanswered"
            % (", ".join("%d %s" % (v, k) for k, v in counts.items()),
               ledger.sent, len(ledger.acked), ledger.refused, ledger.failed))
        problems, took, n = converge(net, ledger)
        if problems:
            for p in problems:
                say("FAILED: " + p)
        else:
            say("ok: 0 acknowledged transactions lost; all %d digests equal "
                "(%d txs) %.1f s after the last heal" % (a.nodes, n, took))
            ok = True
    finally:
        net.cluster("down", check=False)
        if ok and not a.keep:
            shutil.rmtree(cdir, ignore_errors=True)
        else:
            say("cluster directory kept: %s" % cdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
