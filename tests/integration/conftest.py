"""
Shared fixtures for noded's integration tests: real `noded` processes on
127.0.0.1 with free ports, each in its own data directory.

Binaries come from the environment (`make integration` sets both):
    NODED    path of noded   (default: <repo>/bin/noded)
    NODECTL  path of nodectl (default: <repo>/bin/nodectl)

The fixture most tests want is `cluster`:

    def test_two(cluster):
        a = cluster.start("n1")
        b = cluster.start("n2", peers=[a])           # --peer a's P2P address
        wait_connected(a, b)
        code, body = a.submit(Wallet().tx(amount=5).hex())
        wait_until(lambda: b.has_tx(body["id"]), 10, "tx at n2")

`Node` methods: status(), peers(), peer_ids(), mempool(), mempool_ids(),
tx(id), has_tx(id), submit(hex), submit_batch([hex]), metrics(),
metric(name), request(method, path, body), log_lines(), log_grep(regex),
stderr_text(), sanitizer_reports(), stop(sig) -> (exit code, seconds),
kill(), alive().

Each node keeps one log: DATA_DIR/noded.log, noded's default (log_lines()
reads it).  Its stdout and stderr go to DIR/stderr.log (stderr_text()),
which holds only what is not in the log: messages from before the log is
open, error lines during start-up, and sanitizer reports.  A node given
`--log-file none` logs to stderr, and log_lines() reads stderr.log.

Guarantees:
- every process started through `cluster` is stopped at teardown (SIGTERM,
  then SIGKILL after 5 s), even when the test fails; a child also dies with
  the pytest process (PR_SET_PDEATHSIG), so no node is ever orphaned;
- when a test fails, the report gets a section per node with the tail of its
  log (and any sanitizer report), and its data directory is kept (the path is
  printed); when it passes, the data directories are deleted;
- an AddressSanitizer / LeakSanitizer / UBSan report in any node's stderr
  fails the test at teardown (the sanitizer build runs this same suite).

Waits are bounded: use wait_until(predicate, timeout, what), never a bare
sleep as an assertion.  Other helpers here: wait_connected(a, b),
wait_all_have(nodes, ids), run_nodectl(...), free_port(); fixture `wallet`.

Companion modules: txlib.py (build and sign transactions in Python, checked
against docs/PROTOCOL.md by test_txlib.py) and p2plib.py (raw P2P sockets
and a Python secure-channel client for hostile tests).
"""

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODED = os.environ.get("NODED", os.path.join(REPO, "bin", "noded"))
NODECTL = os.environ.get("NODECTL", os.path.join(REPO, "bin", "nodectl"))

HOST = "127.0.0.1"
# Slow machines and sanitizer builds start slowly; these are upper bounds.
START_TIMEOUT = float(os.environ.get("NODED_START_TIMEOUT", "20"))
HTTP_TIMEOUT = 15.0
LOG_TAIL_LINES = 60

SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|LeakSanitizer|"
    r"runtime error:|ThreadSanitizer|SUMMARY: \w+Sanitizer")
BIND_FAIL_RE = re.compile(r"in use|EADDRINUSE", re.I)


# --- small helpers -------------------------------------------------------------

def free_port():
    """A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(predicate, timeout, what="condition", interval=0.05):
    """
    Polls predicate() until it returns a truthy value, which is returned.
    Transient OSError / ValueError (node busy, connection refused) count as
    "not yet".  An AssertionError raised by the predicate propagates at once
    (so a predicate can check an invariant while waiting).  Raises
    AssertionError naming `what` after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
            last_exc = None
        except (OSError, ValueError, http.client.HTTPException) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1f s waiting for %s" % (timeout, what)
            if last_exc is not None:
                msg += " (last error: %r)" % (last_exc,)
            raise AssertionError(msg)
        time.sleep(interval)


def wait_connected(a, b, timeout=15):
    """Waits until nodes a and b list each other as active peers."""
    wait_until(lambda: b.node_id in a.peer_ids() and a.node_id in b.peer_ids(),
               timeout, "%s and %s to connect" % (a.name, b.name))


def wait_all_have(nodes, tx_ids, timeout=20):
    """Waits until every node in nodes has every id in tx_ids in its mempool."""
    want = set(tx_ids)

    def done():
        return all(want <= n.mempool_ids() for n in nodes)
    try:
        wait_until(done, timeout, "%d txs on %s" % (len(want), [n.name for n in nodes]))
    except AssertionError as e:
        missing = {n.name: len(want - n.mempool_ids()) for n in nodes}
        raise AssertionError("%s; missing per node: %s" % (e, missing)) from None


def _pdeathsig():
    """preexec_fn: the child gets SIGKILL if pytest dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)           # PR_SET_PDEATHSIG
    except OSError:
        pass


class NodeStartError(Exception):
    pass


def log_path_of(args, data_dir, stderr_path):
    """Where a noded with these arguments logs: its last --log-file, stderr
    for `none`, else DATA_DIR/noded.log."""
    path = os.path.join(data_dir, "noded.log")
    for i, a in enumerate(args):
        if a == "--log-file" and i + 1 < len(args):
            path = args[i + 1]
        elif a.startswith("--log-file="):
            path = a.split("=", 1)[1]
    return stderr_path if path == "none" else path


# --- one node --------------------------------------------------------------------

class Node:
    """One noded process on loopback.  Create through the `cluster` fixture."""

    def __init__(self, name, workdir, network="devnet", peers=(), args=(), env=None,
                 binary=None):
        self.name = name
        self.network = network
        self.peer_addrs = [p.p2p_addr if isinstance(p, Node) else str(p) for p in peers]
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.binary = binary or NODED
        self.dir = os.path.join(str(workdir), name)
        self.data_dir = os.path.join(self.dir, "data")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.log_path = log_path_of(self.args, self.data_dir, self.stderr_path)
        self.proc = None
        self.p2p_port = None
        self.api_port = None
        self.node_id = None
        self.returncode = None
        self._stderr = None

    # addresses
    @property
    def p2p_addr(self):
        return "%s:%d" % (HOST, self.p2p_port)

    @property
    def api_addr(self):
        return "%s:%d" % (HOST, self.api_port)

    def command(self):
        cmd = [self.binary, "--name", self.name,
               "--listen", self.p2p_addr, "--api", self.api_addr,
               "--data-dir", self.data_dir, "--network", self.network]
        for p in self.peer_addrs:
            cmd += ["--peer", p]
        return cmd + self.args

    # life cycle
    def start(self, attempts=5):
        """Starts noded on fresh free ports; retries on a port collision."""
        os.makedirs(self.dir, exist_ok=True)
        last = ""
        for _ in range(attempts):
            self.p2p_port = free_port()
            self.api_port = free_port()
            while self.api_port == self.p2p_port:
                self.api_port = free_port()
            ok, last = self._start_once()
            if ok:
                return self
            if not BIND_FAIL_RE.search(last):
                break
        raise NodeStartError("noded %s did not start: %s\n%s" % (
            self.name, " ".join(self.command()), last))

    def _start_once(self):
        env = dict(os.environ)
        # Keep the tests' view of the node independent of the caller's shell.
        for k in list(env):
            if k.startswith("NODED_") and k != "NODED_START_TIMEOUT":
                del env[k]
        env.update(self.extra_env)
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = open(self.stderr_path, "ab")
        self.returncode = None
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr,
                                     env=env, preexec_fn=_pdeathsig)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                return False, "exited with %d: %s" % (self.returncode, self.stderr_tail(20))
            try:
                code, st = self.request("GET", "/v1/status", timeout=2)
                if code == 200 and st.get("name") == self.name:
                    self.node_id = st["node_id"]
                    return True, ""
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        self.kill()
        return False, "no answer on GET /v1/status within %.0f s: %s" % (
            START_TIMEOUT, self.stderr_tail(20))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig and waits; returns (exit code, seconds taken).  SIGKILL after timeout."""
        if not self.alive():
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        took = time.monotonic() - t0
        self.returncode = self.proc.returncode
        return self.returncode, took

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.returncode = self.proc.returncode

    def close(self):
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # HTTP API
    def request(self, method, path, body=None, timeout=HTTP_TIMEOUT, headers=None):
        """One HTTP request; returns (status, parsed JSON or raw text)."""
        conn = http.client.HTTPConnection(HOST, self.api_port, timeout=timeout)
        try:
            data = None
            hdrs = dict(headers or {})
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                if isinstance(data, str):
                    data = data.encode()
                hdrs.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            ctype = resp.getheader("Content-Type") or ""
            if "json" in ctype or raw[:1] in (b"{", b"["):
                try:
                    return resp.status, json.loads(raw)
                except ValueError:
                    pass
            return resp.status, raw.decode("utf-8", "replace")
        finally:
            conn.close()

    def _get_json(self, path):
        code, body = self.request("GET", path)
        if code != 200 or not isinstance(body, dict):
            raise AssertionError("%s: GET %s -> %s %r" % (self.name, path, code, body))
        return body

    def admin_headers(self):
        """Authorization for admin requests (POST/DELETE /v1/peers): the token
        the node wrote to DATA_DIR/.cookie (docs/API.md, Authentication)."""
        with open(os.path.join(self.data_dir, ".cookie")) as f:
            return {"Authorization": "Bearer " + f.read().strip()}

    def status(self):
        return self._get_json("/v1/status")

    def peers(self):
        """The list of active peers (dicts as in docs/API.md)."""
        return self._get_json("/v1/peers")["peers"]

    def peer_ids(self):
        return {p["node_id"] for p in self.peers()}

    def mempool(self, limit=100, after=None):
        path = "/v1/mempool?limit=%d" % limit
        if after:
            path += "&after=" + after
        return self._get_json(path)

    def mempool_ids(self):
        """Every tx id in the mempool (follows the pagination)."""
        ids, after = set(), None
        while True:
            page = self.mempool(limit=10000, after=after)
            ids.update(page["txs"])
            after = page.get("next")
            if not page["txs"] or not after:
                return ids

    def tx(self, tx_id):
        """(http status, json) of GET /v1/tx/<id>."""
        return self.request("GET", "/v1/tx/" + tx_id)

    def has_tx(self, tx_id):
        return self.tx(tx_id)[0] == 200

    def submit(self, tx_hex):
        """(http status, json) of POST /v1/tx."""
        if not isinstance(tx_hex, str):
            tx_hex = tx_hex.hex()
        return self.request("POST", "/v1/tx", {"tx": tx_hex})

    def submit_batch(self, hexes):
        return self.request("POST", "/v1/tx", {"txs": list(hexes)})

    def metrics(self):
        """GET /metrics parsed to {name-with-labels: float}."""
        code, text = self.request("GET", "/metrics")
        if code != 200:
            raise AssertionError("%s: GET /metrics -> %s" % (self.name, code))
        out = {}
        for line in str(text).splitlines():
            if not line or line.startswith("#"):
                continue
            parts = line.rsplit(None, 1)
            if len(parts) == 2:
                try:
                    out[parts[0]] = float(parts[1])
                except ValueError:
                    pass
        return out

    def metric(self, name):
        """Value of an unlabelled metric, or None."""
        return self.metrics().get(name)

    # logs
    def log_lines(self):
        """The node's log file as a list of lines (empty if not written yet)."""
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def log_grep(self, pattern, flags=0):
        """Log lines matching the regular expression."""
        r = re.compile(pattern, flags)
        return [l for l in self.log_lines() if r.search(l)]

    def stderr_text(self):
        try:
            with open(self.stderr_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stderr_tail(self, n):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def sanitizer_reports(self):
        """Lines of stderr that belong to a sanitizer report."""
        return [l for l in self.stderr_text().splitlines() if SANITIZER_RE.search(l)]

    def __repr__(self):
        return "<Node %s p2p=%s api=%s>" % (self.name, self.p2p_port, self.api_port)


# --- the cluster fixture --------------------------------------------------------------

class Cluster:
    """Starts nodes for one test and cleans them up."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.nodes = []

    def start(self, name=None, peers=(), network="devnet", args=(), env=None):
        """Starts one node (name defaults to n1, n2, ...) and waits for its API."""
        if not os.access(NODED, os.X_OK):
            raise NodeStartError("noded binary not found: %s (set NODED or run make)" % NODED)
        name = name or "n%d" % (len(self.nodes) + 1)
        node = Node(name, self.workdir, network=network, peers=peers, args=args, env=env)
        self.nodes.append(node)
        return node.start()

    def line(self, count, args=(), prefix="n"):
        """count nodes in a line: node k dials node k-1 only.  Returns the list."""
        out = []
        for i in range(count):
            out.append(self.start("%s%d" % (prefix, i + 1),
                                  peers=[out[-1]] if out else [], args=args))
        return out

    def stop_all(self):
        for n in self.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for n in self.nodes:
            if n.proc is None:
                continue
            try:
                n.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                n.proc.kill()
                n.proc.wait()
            n.returncode = n.proc.returncode
            n.close()

    def report(self):
        """Text for a failure report: each node's log tail, then what it wrote
        to stderr besides (start-up errors, sanitizer reports)."""
        parts = []
        for n in self.nodes:
            lines = n.log_lines()
            head = "---- %s (%s, p2p %s, api %s, exit %s, dir %s)" % (
                n.name, n.node_id and n.node_id[:16], n.p2p_port, n.api_port,
                n.proc.poll() if n.proc else None, n.dir)
            parts.append(head)
            parts.extend(lines[-LOG_TAIL_LINES:])
            err = n.stderr_text().splitlines() if n.log_path != n.stderr_path else []
            if n.sanitizer_reports():
                parts.append("-- sanitizer output in %s:" % n.stderr_path)
                parts.extend(n.stderr_text().splitlines()[-80:])
            elif err:
                parts.append("-- stderr (%s):" % n.stderr_path)
                parts.extend(err[-20:])
        return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Attaches node log tails to failed reports and remembers the outcome."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
    if rep.failed:
        cl = item.funcargs.get("cluster") if hasattr(item, "funcargs") else None
        if cl is not None and cl.nodes:
            rep.sections.append(("noded logs (%s)" % rep.when, cl.report()))


@pytest.fixture
def cluster(request, tmp_path):
    """A Cluster; every node is stopped at teardown; logs kept only on failure."""
    cl = Cluster(tmp_path)
    try:
        yield cl
    finally:
        cl.stop_all()
    failed = any(getattr(request.node, "rep_" + w, None) is not None and
                 getattr(request.node, "rep_" + w).failed for w in ("setup", "call"))
    san = {n.name: n.sanitizer_reports() for n in cl.nodes}
    san = {k: v for k, v in san.items() if v}
    if failed or san:
        print("noded data kept in %s" % tmp_path)
    else:
        for n in cl.nodes:
            shutil.rmtree(n.dir, ignore_errors=True)
    if san:
        pytest.fail("sanitizer report in stderr of %s:\n%s" % (
            ", ".join(san), cl.report()), pytrace=False)


@pytest.fixture
def wallet():
    """A fresh Ed25519 wallet (txlib.Wallet)."""
    from txlib import Wallet
    return Wallet()


def run_nodectl(*args, node=None, timeout=20, check=False):
    """Runs nodectl; returns CompletedProcess (text).  node: a Node for --node."""
    cmd = [NODECTL]
    if node is not None:
        cmd += ["--node", node.api_addr]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=check)
