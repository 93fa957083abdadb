#!/usr/bin/python3
"""tests/docker/chaos_test.py: the chaos test of issue 10 on containers.

The four nodes of docker-compose.yml (under their own project name) take
transactions while, every 1-3 s, one of these happens at random: a container
is killed with `docker kill` (SIGKILL; 7 times in 10 right after its node
answered "accepted" for a batch of 50) and started again 1-4 s later; a
container is cut from the compose network with `docker network disconnect`
and connected again later (with its service name as alias, so that its peers
find it again); two transactions with one (sender, nonce) go to two nodes.
At the end every container runs and is connected, and the test waits (90 s
at most) for:
  - every transaction answered "accepted" on every node, except the loser of
    a conflict, which must be on none while its winner (the smaller id,
    docs/PROTOCOL.md 5.4) is on all;
  - every node's GET /v1/mempool/digest equal.
Run by tests/docker/run.sh after compose_test.py (same ports, 8001-8004).
Prints "docker chaos: 1 passed, 0 failed" (or 0, 1) last.

Environment: COMPOSE, NODECTL as compose_test.py; CHAOS_PROJECT (default
nodedchaos), CHAOS_SECONDS (default 40), CHAOS_SEED (default: random,
printed).
"""

import http.client
import json
import os
import random
import shlex
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tests", "chaos"))

import txlib  # noqa: E402
from chaos import Ledger, submit, wait_promises  # noqa: E402

COMPOSE = shlex.split(os.environ.get("COMPOSE") or "docker compose")
PROJECT = os.environ.get("CHAOS_PROJECT") or "nodedchaos"
SECONDS = float(os.environ.get("CHAOS_SECONDS") or 40)
CONVERGE_S = 90.0
NODES = (1, 2, 3, 4)


class Fail(Exception):
    pass


def say(msg):
    print("docker chaos: " + msg, flush=True)


def run(argv, check=True, timeout=120):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout, cwd=REPO)
    if check and p.returncode != 0:
        raise Fail("%s: exit %d\n%s%s" % (" ".join(argv), p.returncode,
                                          p.stdout, p.stderr))
    return p


def compose(*args, check=True, timeout=180):
    return run(COMPOSE + ["-p", PROJECT, "-f", os.path.join(REPO, "docker-compose.yml")]
               + list(args), check=check, timeout=timeout)


class DockerNet:
    """The compose project's containers, as chaos.py's Net sees a cluster."""

    def __init__(self):
        self.n = len(NODES)
        self.lock = threading.Lock()
        self.down = set()              # killed or cut, not yet back
        self.cut = set()               # disconnected from the network
        self.cid = {}
        self.network = PROJECT + "_default"

    def container(self, k):
        if k not in self.cid:
            cid = compose("ps", "-q", "node%d" % k).stdout.strip()
            if not cid:
                raise Fail("no container for node%d" % k)
            self.cid[k] = cid
        return self.cid[k]

    def running(self):
        with self.lock:
            return [k for k in NODES if k not in self.down]

    def request(self, k, method, path, body=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", 8000 + k, timeout=timeout)
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

    def status(self, k):
        try:
            code, body = self.request(k, "GET", "/v1/status", timeout=3)
            return body if code == 200 else None
        except (OSError, http.client.HTTPException):
            return None

    def digest(self, k):
        code, body = self.request(k, "GET", "/v1/mempool/digest", timeout=5)
        return (body["count"], body["digest"]) if code == 200 else None

    def kill(self, k):
        run(["docker", "kill", self.container(k)], check=False)

    def start(self, k):
        run(["docker", "start", self.container(k)])

    def disconnect(self, k):
        run(["docker", "network", "disconnect", self.network, self.container(k)])
        with self.lock:
            self.cut.add(k)

    def connect(self, k):
        run(["docker", "network", "connect", "--alias", "node%d" % k,
             self.network, self.container(k)])
        with self.lock:
            self.cut.discard(k)


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.25)


def sender(net, ledger, rng, stop, wallets):
    """About 20 transactions a second, one at a time or 50 at once."""
    while not stop.is_set():
        nodes = net.running()
        if not nodes:
            stop.wait(0.05)
            continue
        k = rng.choice(nodes)
        n = 50 if rng.random() < 0.05 else 1
        submit(net, ledger, k, [rng.choice(wallets).tx(amount=rng.randint(1, 100))
                                for _ in range(n)])
        stop.wait(n / 20.0)


def back_later(net, k, delay, what, counts):
    time.sleep(delay)
    try:
        if what == "kill":
            net.start(k)
        else:
            net.connect(k)
    except Fail as e:
        say("node%d did not come back: %s" % (k, e))
        return
    with net.lock:
        net.down.discard(k)
    counts["back"] += 1


def chaos(net, ledger, rng, wallets):
    counts = {"kills": 0, "kills right after an ack": 0, "disconnects": 0,
              "conflicts": 0, "back": 0}
    threads = []
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        time.sleep(rng.uniform(1.0, 3.0))
        up = net.running()
        r = rng.random()
        if r < 0.4 and len(up) > 2:
            k = rng.choice(up)
            with net.lock:
                net.down.add(k)
            if rng.random() < 0.7:
                w = rng.choice(wallets)
                submit(net, ledger, k, [w.tx(amount=rng.randint(1, 100))
                                        for _ in range(50)])
                counts["kills right after an ack"] += 1
            net.kill(k)
            counts["kills"] += 1
            what = "kill"
        elif r < 0.7 and len(up) > 2:
            k = rng.choice(up)
            with net.lock:
                net.down.add(k)
            net.disconnect(k)
            counts["disconnects"] += 1
            what = "disconnect"
        else:
            if len(up) < 2:
                continue
            a, b = rng.sample(up, 2)
            w = rng.choice(wallets)
            nonce = rng.getrandbits(63)
            ta, tb = w.tx(amount=1, nonce=nonce), w.tx(amount=2, nonce=nonce)
            with ledger.lock:
                ledger.pairs.append((ta.id_hex(), tb.id_hex()))
            submit(net, ledger, a, [ta])
            submit(net, ledger, b, [tb])
            counts["conflicts"] += 1
            continue
        t = threading.Thread(target=back_later,
                             args=(net, k, rng.uniform(1.0, 4.0), what, counts))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return counts


def converge(net, ledger):
    for k in sorted(net.cut):
        net.connect(k)
    for k in NODES:
        if net.status(k) is None:
            run(["docker", "start", net.container(k)], check=False)
    return wait_promises(net, ledger, NODES, CONVERGE_S, 0.5)


def main():
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    say("seed %d, %g s, project %s" % (seed, SECONDS, PROJECT))
    ok = False
    net = DockerNet()
    try:
        compose("up", "-d")
        wait(lambda: all((net.status(k) or {}).get("peers", 0) >= 3 for k in NODES),
             120, "4 meshed nodes")
        wallets = [txlib.Wallet() for _ in range(8)]
        ledger = Ledger()
        stop = threading.Event()
        t = threading.Thread(target=sender, args=(net, ledger, rng, stop, wallets))
        t.start()
        try:
            counts = chaos(net, ledger, rng, wallets)
        finally:
            stop.set()
            t.join()
        say("done: %s; %d sent, %d acknowledged, %d refused or failed"
            % (", ".join("%s %d" % kv for kv in counts.items()), ledger.sent,
               len(ledger.acked), ledger.refused + ledger.failed))
        problems, took, count = converge(net, ledger)
        if problems:
            for p in problems:
                say("FAIL: " + p)
        else:
            say("PASS: nothing acknowledged lost, digests equal (%d txs) %.1f s "
                "after the last fault" % (count, took))
            ok = True
    except (Fail, subprocess.TimeoutExpired) as e:
        say("FAIL: %s" % e)
    finally:
        if not ok:
            p = compose("logs", "--no-color", "--tail", "20", check=False)
            print(p.stdout[-6000:], flush=True)
        compose("down", "-v", "--remove-orphans", check=False)
    print("docker chaos: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1),
          flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
