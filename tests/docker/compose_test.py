#!/usr/bin/python3
"""tests/docker/compose_test.py: the four-node docker compose test.

Run by tests/docker/run.sh once the image is built (it decides whether a
Docker engine is there at all).  Brings docker-compose.yml up under its own
project name, waits until the four containers are healthy and meshed, sends a
transaction to node1 through the published port 127.0.0.1:8001 with the
host's bin/nodectl and sees it on all four, and in `compose logs` (the log
goes to stderr, not to a file in the volume); stops node3, sends another, starts
node3 again, sees it reconnect and receive a transaction sent after its
return; always ends with `compose down -v`.  Prints
"docker: 1 passed, 0 failed" or "docker: 0 passed, 1 failed" last.

Environment: COMPOSE ("docker compose" or "docker-compose"), PROJECT
(default nodedtest), NODECTL (default bin/nodectl).
"""

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
COMPOSE = shlex.split(os.environ.get("COMPOSE") or "docker compose")
PROJECT = os.environ.get("PROJECT") or "nodedtest"
NODECTL = os.path.abspath(os.environ.get("NODECTL") or
                          os.path.join(REPO, "bin", "nodectl"))
NODES = (1, 2, 3, 4)
ID_RE = re.compile(r"\b[0-9a-f]{64}\b")


class Fail(Exception):
    pass


def log(msg):
    print("docker test: " + msg, flush=True)


def compose(*args, check=True, timeout=180):
    argv = COMPOSE + ["-p", PROJECT, "-f", os.path.join(REPO,
                                                         "docker-compose.yml")]
    p = subprocess.run(argv + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True,
                       timeout=timeout, cwd=REPO)
    if check and p.returncode != 0:
        raise Fail("%s %s: exit %d\n%s%s" % (" ".join(COMPOSE), " ".join(args),
                                             p.returncode, p.stdout, p.stderr))
    return p


def nodectl(k, *args, timeout=30):
    return subprocess.run([NODECTL, "--node", "127.0.0.1:%d" % (8000 + k)] +
                          list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)


def api(k, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (8000 + k, path),
                                    timeout=3) as r:
            return json.loads(r.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(0.25)


def container(k):
    cid = compose("ps", "-q", "node%d" % k).stdout.strip()
    return cid or None


def inspect(cid, fmt):
    p = subprocess.run(["docker", "inspect", "-f", fmt, cid],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=30)
    return p.stdout.strip() if p.returncode == 0 else None


def healthy(k):
    cid = container(k)
    return cid and inspect(cid, "{{.State.Health.Status}}") == "healthy"


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


def has_tx(k, txid):
    return nodectl(k, "tx", txid).returncode == 0


def send(key, to, amount, k=1):
    p = nodectl(k, "send", "--key", key, "--to", to, "--amount", str(amount))
    m = ID_RE.search(p.stdout)
    if p.returncode != 0 or not m:
        raise Fail("nodectl --node 127.0.0.1:%d send: exit %d\n%s%s"
                   % (8000 + k, p.returncode, p.stdout, p.stderr))
    log("sent tx %s (amount %d) to node%d through 127.0.0.1:%d"
        % (m.group(0)[:16], amount, k, 8000 + k))
    return m.group(0)


def wait_everywhere(txid, nodes, timeout=20):
    t0 = time.monotonic()
    wait(lambda: all(has_tx(k, txid) for k in nodes), timeout,
         "tx %s on node%s" % (txid[:16], ",".join(map(str, nodes))))
    log("tx %s is on %s (%.2f s)" % (txid[:16], ", ".join("node%d" % k
                                                          for k in nodes),
                                     time.monotonic() - t0))


def run(tmp):
    busy = [8000 + k for k in NODES if not port_free(8000 + k)]
    if busy:
        raise Fail("127.0.0.1 ports %s are in use (a tools/cluster network or "
                   "another compose project?); stop it first" % busy)
    t0 = time.monotonic()
    compose("up", "-d")
    log("compose up -d: 4 containers started")
    wait(lambda: all(healthy(k) for k in NODES), 90, "4 healthy containers")
    log("all 4 healthy (%.1f s)" % (time.monotonic() - t0))
    wait(lambda: all((api(k, "/v1/status") or {}).get("peers", 0) >= 3
                     for k in NODES), 60, "a full mesh (3 peers each)")
    log("meshed: %s" % ", ".join("node%d %d peers" % (
        k, api(k, "/v1/status")["peers"]) for k in NODES))

    # nodectl inside a container (the healthcheck's tool) works too
    p = compose("exec", "-T", "node1", "nodectl", "status")
    if "node1" not in p.stdout:
        raise Fail("docker compose exec node1 nodectl status:\n" + p.stdout)
    log("compose exec node1 nodectl status: ok")

    key, rkey = os.path.join(tmp, "wallet.key"), os.path.join(tmp, "to.key")
    for path in (key, rkey):
        p = subprocess.run([NODECTL, "keygen", "--out", path],
                           stdout=subprocess.PIPE, universal_newlines=True)
        if p.returncode != 0:
            raise Fail("nodectl keygen failed")
    to = ID_RE.search(p.stdout).group(0)

    tx1 = send(key, to, 10)
    wait_everywhere(tx1, NODES)
    # the logs reach docker on stdout/stderr, and only there: no log file
    # grows inside the data volume
    if tx1[:16] not in compose("logs", "--no-color", "node2").stdout:
        raise Fail("compose logs node2 does not mention tx %s" % tx1[:16])
    p = subprocess.run(["docker", "cp", "%s:/data/noded.log" % container(2), "-"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode == 0:
        raise Fail("node2 writes /data/noded.log in its volume as well (%d bytes "
                   "of tar): its log should go to stderr alone" % len(p.stdout))
    log("compose logs node2 follows tx %s; no /data/noded.log" % tx1[:16])

    id3 = api(3, "/v1/status")["node_id"]
    compose("stop", "node3")
    cid3 = container(3)
    running = inspect(cid3, "{{.State.Running}}") if cid3 else "false"
    if running != "false":
        raise Fail("node3 still running after compose stop")
    if nodectl(3, "status").returncode == 0:
        raise Fail("node3's API still answers after compose stop")
    log("node3 stopped")
    tx2 = send(key, to, 20)
    wait_everywhere(tx2, (1, 2, 4))

    compose("start", "node3")
    wait(lambda: healthy(3), 60, "node3 healthy again")
    wait(lambda: (api(3, "/v1/status") or {}).get("peers", 0) > 0, 60,
         "node3 to reconnect")
    st3 = api(3, "/v1/status")
    if st3["node_id"] != id3:
        raise Fail("node3 came back with node id %s, not %s: its data volume "
                   "did not keep its identity" % (st3["node_id"][:16], id3[:16]))
    log("node3 back, %d peers, same node id %s (kept in its volume)"
        % (st3["peers"], id3[:16]))
    tx3 = send(key, to, 30)
    wait_everywhere(tx3, NODES)


def main():
    ok = False
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(tmp)
            ok = True
        except (Fail, subprocess.TimeoutExpired) as e:
            log("FAIL: %s" % e)
            p = compose("logs", "--no-color", "--tail", "30", check=False)
            print(p.stdout[-6000:], flush=True)
        finally:
            p = compose("down", "-v", "--remove-orphans", check=False)
            if p.returncode != 0:
                log("compose down -v: exit %d\n%s" % (p.returncode, p.stderr))
                ok = False
            else:
                log("compose down -v: containers, network and volumes removed")
    print("docker: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1),
          flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
