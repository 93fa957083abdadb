#!/usr/bin/python3
"""
bench_hostile.py: the hostile benchmark of issue 9 (`make bench-hostile`,
figures in docs/SECURITY.md).

For each attack, a fresh 3-node line n1 - n2 - n3 on 127.0.0.1 (n2 dials
n1, n3 dials n2, --peer-exchange off, default settings otherwise), 50
honest tx/s signed here and POSTed to n1, each timed from just before its
POST to its tx_accepted event on n3.  Then:

    warm-up (3 s) | baseline (10 s) | attack (20 s) | after (10 s)

The attack runs build/bench/hostile (tests/bench/hostile/, C, libevent,
proto/) on this machine, against n2 (spam: against n1).  Measured:

- lost: honest transactions accepted by n1 during the attack and still not
  on n3 10 s after it stopped (events, then GET /v1/tx on n3 to be sure);
- latency p50/p99 entry -> n3 during the attack, beside the baseline's (the
  verdict uses the run's baseline p99: the median of the rows' baselines);
- n2's VmRSS (/proc) just before, its peak during, and 10 s after;
- admission (halfopen, slowloris): a fresh honest peer tries 20 times to
  complete the handshake and HELLO within 2 s (hostile probe);
- n2's log growth: bytes added to DATA_DIR/noded.log plus its stderr (it
  writes every line to both), per minute of attack, less the rate of the
  baseline window (the honest load's own "accepted" lines); raw figure too;
- spam: an honest sender POSTs 1 tx/s to n1 during the attack; all must be
  accepted and still in n1's mempool at the end.

Each attack also checks that it reached the node (peers active, junk asked
for, requests answered, spam accepted...) and says so: a row whose attack
did not exercise the node is marked INVALID and the exit status is 3.

Usage: make bench-hostile, or
    /usr/bin/python3 tests/bench/bench_hostile.py --run [--seconds 20]
        [--only junk,spam] [--json FILE] [--list] [--keep] [--strict]
Without --run (or NODED_BENCH_HOSTILE=1) it exits at once, so that
`make bench` (which runs every tests/bench/bench_*.py) passes it by.
Env: NODED (bin/noded), BUILD (build), HOSTILE (BUILD/bench/hostile).
Standard library only; transactions are signed with tests/integration/txlib.py.
"""

import argparse
import ctypes
import http.client
import ipaddress
import json
import os
import platform
import queue
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
NODED = os.environ.get("NODED", os.path.join(ROOT, "bin", "noded"))
HOSTILE = os.environ.get("HOSTILE", os.path.join(BUILD, "bench", "hostile"))
HOSTILE_SRC = ["tests/bench/hostile/hostile.c", "tests/bench/hostile/link.c",
               "tests/bench/hostile/peers.c", "tests/bench/hostile/raw.c"]
HOST = "127.0.0.1"
MIB = 1024.0 * 1024.0

# Targets of issue 9.
T_P99_RATIO = 3.0
T_RSS_PEAK_MIB = 256.0
T_RSS_AFTER_RATIO = 2.0
T_ADMISSION = 19
T_LOG_KB_MIN = 100.0


def build_command(out=None):
    """The one-line build of the attacker (also what the Makefile rule runs)."""
    out = out or HOSTILE
    return (["cc", "-O2", "-g", "-D_GNU_SOURCE", "-I.", "-o", out] + HOSTILE_SRC
            + [os.path.join(BUILD, "libproto.a"), "-levent", "-lsodium"])


def ensure_hostile():
    """Builds build/bench/hostile when missing or older than its sources."""
    srcs = [os.path.join(ROOT, s) for s in HOSTILE_SRC + ["tests/bench/hostile/hostile.h"]]
    if os.path.exists(HOSTILE) and all(os.path.getmtime(HOSTILE) >= os.path.getmtime(s)
                                       for s in srcs):
        return
    if not os.path.exists(os.path.join(BUILD, "libproto.a")):
        sys.exit("bench_hostile: %s missing: run `make all` first"
                 % os.path.join(BUILD, "libproto.a"))
    os.makedirs(os.path.dirname(HOSTILE), exist_ok=True)
    cmd = build_command()
    print("building the attacker: %s" % " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)


# --- processes ----------------------------------------------------------------

def _pdeathsig():
    """preexec_fn: the child gets SIGKILL if this process dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(pred, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, http.client.HTTPException):
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class Node:
    """One noded on 127.0.0.1 with free ports, its own data dir and stderr file."""

    def __init__(self, name, workdir, peers=(), args=(), token=None):
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.data_dir, "noded.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.peers = list(peers)
        self.args = list(args)
        self.token = token
        self.proc = None
        self.p2p_port = self.api_port = None
        self._err = None

    @property
    def p2p_addr(self):
        return "%s:%d" % (HOST, self.p2p_port)

    @property
    def api_addr(self):
        return "%s:%d" % (HOST, self.api_port)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NODED_")}
        for _ in range(5):
            self.p2p_port, self.api_port = free_port(), free_port()
            if self.p2p_port == self.api_port:
                continue
            cmd = [NODED, "--name", self.name, "--listen", self.p2p_addr,
                   "--api", self.api_addr, "--data-dir", self.data_dir,
                   "--peer-exchange", "off"]
            for p in self.peers:
                cmd += ["--peer", p.p2p_addr]
            cmd += self.args
            self._err = open(self.stderr_path, "ab")
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._err,
                                         stderr=self._err, env=env, preexec_fn=_pdeathsig)
            try:
                wait_until(lambda: self.proc.poll() is None and
                           self.get("/v1/status").get("name") == self.name
                           or self.proc.poll() is not None, 20, "%s's API" % self.name)
            except RuntimeError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return self
            self._err.close()
        raise RuntimeError("noded %s did not start; see %s" % (self.name, self.stderr_path))

    def request(self, method, path, body=None, timeout=10.0):
        conn = http.client.HTTPConnection(HOST, self.api_port, timeout=timeout)
        try:
            headers = {}
            if self.token:
                headers["Authorization"] = "Bearer " + self.token
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw[:1] in (b"{", b"[") else raw.decode()
            except ValueError:
                return r.status, raw.decode("utf-8", "replace")
        finally:
            conn.close()

    def get(self, path, timeout=10.0):
        code, body = self.request("GET", path, timeout=timeout)
        if code != 200:
            raise OSError("%s: GET %s -> %d %r" % (self.name, path, code, body))
        return body

    def metrics(self, timeout=10.0):
        text = self.get("/metrics", timeout=timeout)
        out = {}
        for line in str(text).splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out

    def has_tx(self, tx_id):
        return self.request("GET", "/v1/tx/" + tx_id)[0] == 200

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_s(self):
        """User + system CPU seconds so far (/proc/PID/stat)."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def log_sizes(self):
        """(bytes of DATA_DIR/noded.log, bytes of stderr)."""
        out = []
        for p in (self.log_path, self.stderr_path):
            try:
                out.append(os.path.getsize(p))
            except OSError:
                out.append(0)
        return tuple(out)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._err is not None:
            self._err.close()
            self._err = None


# --- honest traffic -------------------------------------------------------------

class Events(threading.Thread):
    """Reads a node's GET /v1/events; first tx_accepted time (s) of every id."""

    ID_RE = re.compile(r'"id":"([0-9a-f]{64})"')
    TS_RE = re.compile(r'"ts_us":(\d+)')

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node = node
        self.seen = {}
        self.subscribed = threading.Event()
        self.stopping = False
        self.reconnects = 0

    def run(self):
        while not self.stopping:
            try:
                self._stream()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if not self.stopping:
                self.reconnects += 1
                time.sleep(0.2)

    def _stream(self):
        # Blocking reads: a timeout in the middle of a chunk would lose our place.
        conn = http.client.HTTPConnection(HOST, self.node.api_port, timeout=None)
        headers = {"Accept": "text/event-stream"}
        if self.node.token:
            headers["Authorization"] = "Bearer " + self.node.token
        conn.request("GET", "/v1/events", headers=headers)
        r = conn.getresponse()
        if r.status != 200:
            raise OSError("events: %d" % r.status)
        etype = None
        try:
            while not self.stopping:
                line = r.readline()
                if not line:
                    return
                if line.startswith(b":"):
                    self.subscribed.set()
                elif line.startswith(b"event: "):
                    etype = line[7:].strip()
                elif line.startswith(b"data: ") and etype == b"tx_accepted":
                    s = line.decode("ascii", "replace")
                    m, t = self.ID_RE.search(s), self.TS_RE.search(s)
                    if m and t and m.group(1) not in self.seen:
                        self.seen[m.group(1)] = int(t.group(1)) / 1e6
        finally:
            conn.close()


class HonestLoad:
    """
    rate tx/s signed here (txlib) and POSTed one by one to node's API, on a
    fixed schedule (workers so that one slow answer does not hold the next).
    Each send is recorded: (time just before the POST, id, HTTP status).
    """

    def __init__(self, node, rate, workers=4, memo=b""):
        import txlib
        self.txlib = txlib
        self.node = node
        self.rate = rate
        self.memo = memo
        self.wallets = [txlib.Wallet() for _ in range(4)]
        self.q = queue.Queue()
        self.sent = []          # (t_submit, id, status)
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = [threading.Thread(target=self._worker, daemon=True)
                        for _ in range(workers)]
        self.pacer = threading.Thread(target=self._pace, daemon=True)

    def start(self):
        for t in self.threads:
            t.start()
        self.pacer.start()

    def stop(self):
        self.stopping = True
        for _ in self.threads:
            self.q.put(None)
        self.pacer.join(5)
        for t in self.threads:
            t.join(15)

    def _pace(self):
        t0, i = time.monotonic(), 0
        while not self.stopping:
            due = t0 + i / self.rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            self.q.put(i)
            i += 1

    def _worker(self):
        conn = None
        while True:
            i = self.q.get()
            if i is None:
                break
            tx = self.wallets[i % len(self.wallets)].tx(amount=1 + i % 100, memo=self.memo)
            body = json.dumps({"tx": tx.hex()}).encode()
            headers = {"Content-Type": "application/json"}
            if self.node.token:
                headers["Authorization"] = "Bearer " + self.node.token
            t = time.time()
            status = 0
            for _ in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(HOST, self.node.api_port, timeout=30)
                    conn.request("POST", "/v1/tx", body=body, headers=headers)
                    r = conn.getresponse()
                    r.read()
                    status = r.status
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
            with self.lock:
                self.sent.append((t, tx.id_hex(), status))

    def window(self, t0, t1):
        with self.lock:
            return [s for s in self.sent if t0 <= s[0] < t1]


class Sampler(threading.Thread):
    """n2's VmRSS every 100 ms: [(time, KiB)]."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node = node
        self.samples = []
        self.stopping = False

    def run(self):
        while not self.stopping:
            self.samples.append((time.time(), self.node.rss_kib()))
            time.sleep(0.1)

    def peak(self, t0, t1):
        return max([k for t, k in self.samples if t0 <= t <= t1] or [0])


def cpu_times():
    """(busy, total) jiffies of the whole machine (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v) - v[3] - v[4], sum(v)
    except (OSError, ValueError):
        return 0, 0


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return 0.0


def percentile(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def slow_hops(nodes, slowest, events):
    """Where the slowest honest transactions spent their time: each node's
    trace (GET /v1/tx/<id>/trace) as ms after n1's verdict: heard of,
    copy received, verdict, relayed onward."""
    out = []
    for off, ms, i in slowest:
        row = {"id": i[:16], "ms": ms, "at_s": off}
        base = None
        for nd in nodes:
            try:
                tr = nd.get("/v1/tx/%s/trace" % i, timeout=2)
            except Exception:
                continue
            if base is None and tr.get("verdict_us"):
                base = tr["verdict_us"]
            rel = lambda k: (round((tr[k] - base) / 1000.0, 2)
                             if tr.get(k) and base else None)
            row[nd.name] = {k: rel(k + "_us") for k in
                            ("first_seen", "received", "verdict", "relayed")}
            row[nd.name]["queued_ms"] = round((tr.get("queued_us") or 0) / 1000.0, 2)
            row[nd.name]["verify_ms"] = round((tr.get("verify_us") or 0) / 1000.0, 2)
        out.append(row)
    return out


def latency(load, events, t0, t1):
    """(p50 ms, p99 ms, samples, accepted at n1, [ids accepted at n1],
    the 20 slowest as [s after t0, ms, id prefix])."""
    sent = load.window(t0, t1)
    acc = [(t, i) for t, i, st in sent if st == 200]
    timed = [(t, i, (events.seen[i] - t) * 1000.0) for t, i in acc if i in events.seen]
    lat = [ms for _, _, ms in timed]
    slowest = [[round(t - t0, 3), round(ms, 2), i]
               for t, i, ms in sorted(timed, key=lambda x: -x[2])[:20]]
    return (percentile(lat, 50), percentile(lat, 99), len(lat), len(sent),
            [i for _, i in acc], slowest)


def lost_ids(ids, events, n3):
    """Ids not seen on n3's events and not in its mempool now."""
    out = []
    for i in ids:
        if i in events.seen:
            continue
        try:
            if n3.has_tx(i):
                continue
        except (OSError, http.client.HTTPException):
            pass
        out.append(i)
    return out


# --- log growth -------------------------------------------------------------------

NORM = [(re.compile(r"\b[0-9a-f]{8,}\b"), "H"),
        (re.compile(r"\d+(\.\d+)*"), "#")]
TXID_RE = re.compile(rb"\btx ([0-9a-f]{16})")


def log_segment(path, start, end, honest, top=4):
    """
    Reads the log lines added between two offsets.  Returns (bytes of lines
    about honest transactions, bytes of the others, the commonest others with
    numbers and hex folded).
    """
    counts, hb, ob = {}, 0, 0
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(max(0, end - start))
    except OSError:
        return 0, 0, []
    for line in data.splitlines(True):
        m = TXID_RE.search(line)
        if m and m.group(1).decode() in honest:
            hb += len(line)
            continue
        ob += len(line)
        s = line.decode("utf-8", "replace").rstrip("\n")
        parts = s.split(" ", 2)
        s = parts[2] if len(parts) == 3 else s
        for rx, rep in NORM:
            s = rx.sub(rep, s)
        s = s[:90]
        counts[s] = counts.get(s, 0) + 1
    return hb, ob, sorted(counts.items(), key=lambda kv: -kv[1])[:top]


def log_rate(node, s0, s1, honest):
    """
    KB a minute that node wrote between two snapshots (time, (file, stderr))
    to its log file and stderr, less the lines about honest transactions
    (the same lines go to both), and the commonest other lines.
    """
    (t0, (f0, e0)), (t1, (f1, e1)) = s0, s1
    hb, ob, kinds = log_segment(node.log_path, f0, f1, honest)
    attack = max(0, (f1 - f0) - hb) + max(0, (e1 - e0) - hb)
    return {"seconds": round(t1 - t0, 1), "file_bytes": f1 - f0, "stderr_bytes": e1 - e0,
            "honest_line_bytes": hb, "kb_per_min": round(attack * 60.0 / max(0.1, t1 - t0)
                                                       / 1000.0, 1),
            "top_lines": kinds}


def log_count(path, start, end, needle):
    n = 0
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(max(0, end - start))
        n = data.count(needle.encode())
    except OSError:
        pass
    return n


# --- attacks ----------------------------------------------------------------------

class Attack:
    """One attack: node options, attacker processes, and the proof it hit."""
    name = ""
    what = ""
    target = "n2"           # node attacked
    n1_args = ()
    n2_token = False
    probe = False           # admission probe during baseline and attack

    def __init__(self, opts):
        self.o = opts

    def attackers(self, ctx):
        """[(delay s, label, argv)] started at the attack's start."""
        raise NotImplementedError

    def exercised(self, ctx):
        """(True/False, evidence text)."""
        raise NotImplementedError


def hostile(mode, target, seconds, *extra, src=None):
    argv = [HOSTILE, mode, "--target", target, "--seconds", "%g" % seconds, "-v"]
    if src:
        argv += ["--src", src]
    return argv + [str(x) for x in extra]


def attacker_ips(o):
    """The addresses the many-peer attacks spread over: o.attacker_ips of them from
    --attacker-ip up, so that --max-inbound-per-ip (32) lets the peers in as it
    would peers of several hosts; 127.0.0.1 alone (exempt from per-address
    limits) when no --attacker-ip is given."""
    if not o.attacker_ip or o.attacker_ip == HOST:
        return [HOST]
    base = ipaddress.ip_address(o.attacker_ip)
    return [str(base + i) for i in range(max(1, o.attacker_ips))]


def spread(o, mode, target, *extra):
    """One attacker process a source address, the o.peers peers shared out;
    labelled "mode@i", folded back into out[mode] by merge_spread."""
    ips = attacker_ips(o)
    if len(ips) == 1:
        return [(0, mode, hostile(mode, target, o.seconds, "--conns", o.peers, *extra,
                                  src=ips[0]))]
    share = [o.peers // len(ips) + (1 if i < o.peers % len(ips) else 0)
             for i in range(len(ips))]
    return [(0, "%s@%d" % (mode, i), hostile(mode, target, o.seconds, "--conns", n,
                                             *extra, src=ip))
            for i, (ip, n) in enumerate(zip(ips, share)) if n > 0]


# Of a spread attack's processes: summed (peers, counters), else the first's.
SPREAD_SUMMED = ("conns", "links_open_at_end", "active_at_end", "active_max",
                 "active_mean", "peers_holding_at_end")


def merge_spread(out):
    """Folds the outputs "mode@i" into out[mode].  active_max is the sum of each
    process's maximum, an upper bound on the peers active at once."""
    merged = {k: v for k, v in out.items() if "@" not in k}
    for label in sorted(k for k in out if "@" in k):
        mode, part = label.split("@", 1)[0], out[label]
        if mode not in merged:
            merged[mode] = dict(part, counters=dict(part.get("counters", {})), spread=1)
            continue
        m = merged[mode]
        m["spread"] += 1
        for k in SPREAD_SUMMED:
            if k in part:
                m[k] = m.get(k, 0) + part[k]
        for k, v in part.get("counters", {}).items():
            m["counters"][k] = m["counters"].get(k, 0) + v
    return merged


class Junk(Attack):
    name = "junk"
    what = "authenticated peers each announcing 2,000 fresh random ids/s (INV)"

    def attackers(self, ctx):
        return spread(self.o, "junk", ctx.n2.p2p_addr, "--rate", 2000)

    def exercised(self, ctx):
        a = ctx.out["junk"]
        c = a["counters"]
        ok = a["active_max"] >= min(self.o.peers, 100) and c.get("inv_ids_sent", 0) > 0
        return ok, ("%d/%d attacker peers active at n2 (mean %.0f; n2 saw at most %s "
                    "inbound); %s junk ids announced, n2 asked for %s of them"
                    % (a["active_max"], self.o.peers, a["active_mean"], ctx.max_inbound,
                       fmt_n(c.get("inv_ids_sent", 0)), fmt_n(c.get("getdata_ids_recv", 0))))


class GetData(Attack):
    name = "getdata"
    what = "peers requesting known ids (GETDATA) and never reading"

    def attackers(self, ctx):
        return spread(self.o, "getdata", ctx.n2.p2p_addr)

    def exercised(self, ctx):
        a = ctx.out["getdata"]
        c = a["counters"]
        ok = a["active_max"] >= min(self.o.peers, 100) and c.get("tx_recv", 0) > 0 and \
            c.get("getdata_frames_sent", 0) > a["active_max"]
        return ok, ("%d/%d attacker peers active at n2; %s ids asked (answers of ~%d bytes, "
                    "%.1f MiB asked per peer), %d peers holding at the end, %d closed by n2"
                    % (a["active_max"], self.o.peers, fmt_n(c.get("getdata_ids_sent", 0)),
                       a.get("answer_wire_bytes", 0), a.get("hold_bytes_per_peer", 0) / MIB,
                       a.get("peers_holding_at_end", 0), c.get("closed_by_node", 0)))


class ApiBody(Attack):
    name = "api"
    what = "250 API clients without a token, each POSTing a 4 MiB body, again and again"
    n2_token = True

    def attackers(self, ctx):
        return [(0, "api", hostile("api", ctx.n2.api_addr, self.o.seconds, "--conns", 250,
                                   src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a = ctx.out["api"]
        c = a["counters"]
        answers = c.get("http_401", 0) + c.get("http_413", 0) + c.get("http_other", 0)
        refused = log_count(ctx.n2.log_path, ctx.log_a0[0], ctx.log_a1[0], "refused POST")
        ok = c.get("connects", 0) >= 250 and (answers > 0 or refused > 0)
        return ok, ("%s connections, %.0f MiB of bodies queued; answers: %d x 401, %d x 413, "
                    "%d other; n2 logged %d refusals (missing token)"
                    % (fmt_n(c.get("connects", 0)), c.get("bytes_sent", 0) / MIB,
                       c.get("http_401", 0), c.get("http_413", 0), c.get("http_other", 0),
                       refused))


class Flood(Attack):
    conns = 250
    probe = True

    def attackers(self, ctx):
        return [(0, self.name, hostile(self.name, ctx.n2.p2p_addr, self.o.seconds, "--conns",
                                       self.conns, src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a = ctx.out[self.name]
        c = a["counters"]
        # Taken (n2 sent its M1) or refused at accept (inbound admission,
        # docs/SECURITY.md): either way n2 had to deal with them.
        ok = c.get("accepted", 0) + c.get("refused", 0) >= 100
        return ok, ("%d sockets kept trying; n2 took %s of them (held %.0f slots on average, "
                    "%d at most) and refused %s connections"
                    % (self.conns, fmt_n(c.get("accepted", 0)), a["active_mean"],
                       a["active_max"], fmt_n(c.get("refused", 0))))


class HalfOpen(Flood):
    name = "halfopen"
    what = "250 sockets that never send a byte, reopened as soon as closed"


class Slowloris(Flood):
    name = "slowloris"
    what = "250 sockets sending a valid M1 one byte a second, reopened as soon as closed"


class Refuse(Attack):
    name = "refuse"
    what = "inbound filled by idle peers, then connect-and-close as fast as possible"

    def attackers(self, ctx):
        s = self.o.seconds
        return [(0, "idle", hostile("idle", ctx.n2.p2p_addr, s + 2, "--conns", self.o.peers,
                                    src=self.o.attacker_ip)),
                (2, "refuse", hostile("refuse", ctx.n2.p2p_addr, s, "--conns", 32,
                                      src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a, r = ctx.out["idle"], ctx.out["refuse"]
        c = r["counters"]
        lines = log_count(ctx.n2.log_path, ctx.log_a0[0], ctx.log_a1[0], "refusing connection")
        # Inbound admission caps the idle peers one address gets in
        # (--max-inbound-per-ip): filled means as many as n2 took.
        ok = a["active_max"] > 0 and c.get("connects", 0) > 1000
        return ok, ("%d idle peers filled inbound; %s connections in %.0f s, %s refused at "
                    "once; n2 logged %s \"refusing connection\" lines"
                    % (a["active_max"], fmt_n(c.get("connects", 0)), r["seconds"],
                       fmt_n(c.get("refused", 0)), fmt_n(lines)))


class Replay(Attack):
    name = "replay"
    what = "one fixed M1 replayed at 2,800 connections/s; close after n2's M2"

    def attackers(self, ctx):
        return [(0, "replay", hostile("replay", ctx.n2.p2p_addr, self.o.seconds, "--rate",
                                      2800, "--conns", 32, src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a = ctx.out["replay"]
        c = a["counters"]
        ok = c.get("hs_answered", 0) > 0
        return ok, ("n2 answered %s handshakes (%s/s, target 2,800/s) and used %.0f %% of a "
                    "core" % (fmt_n(c.get("hs_answered", 0)), fmt_n(a.get("answered_per_s", 0)),
                              ctx.n2_cpu_pct))


class BadSig(Attack):
    name = "badsig"
    what = "one peer sending bad signatures, reconnecting at once"

    def attackers(self, ctx):
        return [(0, "badsig", hostile("badsig", ctx.n2.p2p_addr, self.o.seconds, "--conns", 1,
                                      src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a = ctx.out["badsig"]
        d = ctx.n2_delta
        # (the label is the reason's code since metrics use them; the text before)
        bad = d.get('noded_txs_rejected_total{reason="bad_signature"}',
                    d.get('noded_txs_rejected_total{reason="bad signature"}', 0))
        refused = sum(v for k, v in d.items()
                      if k.startswith("noded_inbound_refused_total{"))
        ok = bad > 0
        ctx.extra["badsig_refused"] = refused
        ctx.extra["bad_signatures_verified"] = bad
        return ok, ("n2 verified %s signatures (%s rejected as bad) and dropped the peer %s "
                    "times; it reconnected %s times with one node key, %s refused (bans)"
                    % (fmt_n(d.get("noded_validator_verified_total", 0)), fmt_n(bad),
                       fmt_n(d.get("noded_peers_dropped_total", 0)),
                       fmt_n(a["counters"].get("connects", 0)), fmt_n(refused)))


class Spam(Attack):
    name = "spam"
    what = "valid spam from 1,000 keys, 256-byte memos, 1,500 tx/s into n1 (--mempool-max-txs 20000)"
    target = "n1"
    n1_args = ("--mempool-max-txs", "20000")
    mempool_max = 20000

    def attackers(self, ctx):
        return [(0, "spam", hostile("spam", ctx.n1.p2p_addr, self.o.seconds, "--conns", 4,
                                    "--rate", 1500, "--keys", 1000, "--memo", 256,
                                    src=self.o.attacker_ip))]

    def exercised(self, ctx):
        a = ctx.out["spam"]
        d = ctx.n1_delta
        acc = d.get("noded_txs_accepted_total", 0)
        ok = acc > self.mempool_max
        return ok, ("%s spam tx sent; n1 accepted %s transactions in all and evicted %s "
                    "(log); n1's mempool %s/%d at the end"
                    % (fmt_n(a["counters"].get("tx_sent", 0)), fmt_n(acc),
                       fmt_n(ctx.extra.get("n1_evicted", 0)),
                       fmt_n(ctx.extra.get("n1_mempool_end", 0)), self.mempool_max))


ATTACKS = [Junk, GetData, ApiBody, HalfOpen, Slowloris, Refuse, Replay, BadSig, Spam]


def fmt_n(x):
    try:
        return "{:,}".format(int(x))
    except (TypeError, ValueError):
        return str(x)


# --- one run --------------------------------------------------------------------

class Ctx:
    pass


def run_procs(schedule, workdir, tag):
    """Starts each (delay, label, argv) after delay s; returns {label: JSON}, CPU s."""
    out, errs, threads = {}, {}, []
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)

    def one(delay, label, argv):
        time.sleep(delay)
        err = open(os.path.join(workdir, "%s-%s.stderr" % (tag, label)), "wb")
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                             preexec_fn=_pdeathsig)
        try:
            so, _ = p.communicate(timeout=float(argv[argv.index("--seconds") + 1]) + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            so, _ = p.communicate()
        err.close()
        try:
            out[label] = json.loads(so.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            errs[label] = "exit %s, output %r" % (p.returncode, so[-300:])

    for d, label, argv in schedule:
        t = threading.Thread(target=one, args=(d, label, argv), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if errs:
        raise RuntimeError("attacker failed: %s" % errs)
    return out, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def probe_argv(ctx, seconds, tries=20):
    interval = max(100, int((seconds - 4) * 1000 / tries))
    return hostile("probe", ctx.n2.p2p_addr, seconds + 5, "--tries", tries, "--timeout-ms",
                   2000, "--interval-ms", interval)


def run_attack(cls, o, workdir):
    atk = cls(o)
    wd = os.path.join(workdir, atk.name)
    os.makedirs(wd, exist_ok=True)
    ctx = Ctx()
    ctx.extra = {}
    res = {"attack": atk.name, "what": atk.what, "target": atk.target}
    token = None
    if atk.n2_token:
        token = "hostile-bench-token-" + os.urandom(8).hex()
        with open(os.path.join(wd, "token"), "w") as f:
            f.write(token + "\n")
        os.chmod(os.path.join(wd, "token"), 0o600)
    n1 = Node("n1", wd, args=atk.n1_args)
    n2 = Node("n2", wd, peers=[n1], token=token,
              args=["--api-token-file", os.path.join(wd, "token")] if token else [])
    nodes = [n1, n2]
    load = events = sampler = None
    try:
        n1.start()
        n2.start()
        n3 = Node("n3", wd, peers=[n2]).start()
        nodes.append(n3)
        ctx.n1, ctx.n2, ctx.n3 = n1, n2, n3
        wait_until(lambda: n2.get("/v1/status")["peers"] == 2 and
                   n1.get("/v1/status")["peers"] == 1 and n3.get("/v1/status")["peers"] == 1,
                   20, "the line n1 - n2 - n3 to connect")
        events = Events(n3)
        events.start()
        if not events.subscribed.wait(10):
            raise RuntimeError("no event stream from n3")
        sampler = Sampler(n2)
        sampler.start()
        load = HonestLoad(n1, o.rate)
        load.start()
        time.sleep(o.warmup)

        # Baseline.
        b0 = time.time()
        log_b0 = (b0, n2.log_sizes())
        if atk.probe:
            bprobe, _ = run_procs([(1, "probe", probe_argv(ctx, o.baseline))], wd, "baseline")
            res["admission_baseline"] = bprobe["probe"]["ok"]
        time.sleep(max(0.0, b0 + o.baseline - time.time()))
        b1 = time.time()
        log_b1 = (b1, n2.log_sizes())

        # Attack.
        rss0 = n2.rss_kib()
        m0 = {"n1": n1.metrics(), "n2": n2.metrics()}
        cpu0 = n2.cpu_s()
        mach0, load0 = cpu_times(), loadavg()
        mp0 = n2.get("/v1/status")["mempool_bytes"]
        ctx.log_a0 = n2.log_sizes()
        n1log0 = os.path.getsize(n1.log_path) if os.path.exists(n1.log_path) else 0
        a0 = time.time()
        sched = atk.attackers(ctx)
        if atk.probe:
            sched.append((2, "probe", probe_argv(ctx, o.seconds)))
        ctx.max_inbound = 0
        honest = []
        stop_side = threading.Event()

        def poll_n2():
            while not stop_side.is_set():
                try:
                    st = n2.get("/v1/status", timeout=2)
                    ctx.max_inbound = max(ctx.max_inbound, st.get("peers_inbound", 0))
                except (OSError, http.client.HTTPException, ValueError):
                    pass
                stop_side.wait(1)

        def honest_sender():
            import txlib
            w = txlib.Wallet()
            t0 = time.time()
            k = 0
            while not stop_side.is_set():
                tx = w.tx(amount=1)
                try:
                    code, body = n1.request("POST", "/v1/tx", {"tx": tx.hex()}, timeout=30)
                except (OSError, http.client.HTTPException):
                    code, body = 0, None
                honest.append((tx.id_hex(), code, body))
                k += 1
                stop_side.wait(max(0.0, t0 + k - time.time()))

        # The log is measured once the attack runs steadily: from ramp s in
        # to 1 s before its planned end (connection lines of the ramp, and
        # of the attackers leaving, are not a rate).
        planned = max(d + float(argv[argv.index("--seconds") + 1])
                      for d, label, argv in sched if label != "probe")
        snaps = {}

        def snapper():
            for key, at in (("s0", a0 + min(o.log_ramp, planned / 4)), ("s1", a0 + planned - 1)):
                stop_side.wait(max(0.0, at - time.time()))
                snaps[key] = (time.time(), n2.log_sizes())

        side = [threading.Thread(target=poll_n2, daemon=True),
                threading.Thread(target=snapper, daemon=True)]
        if isinstance(atk, Spam):
            side.append(threading.Thread(target=honest_sender, daemon=True))
        for t in side:
            t.start()
        ctx.out, att_cpu = run_procs(sched, wd, "attack")
        ctx.out = merge_spread(ctx.out)
        a1 = time.time()
        for nd in nodes:
            if nd.proc.poll() is not None:
                raise RuntimeError("%s exited with status %s during the attack (its log: %s)"
                                   % (nd.name, nd.proc.returncode, nd.log_path))
        while "s1" not in snaps and time.time() < a1 + 5:
            time.sleep(0.05)
        stop_side.set()
        for t in side:
            t.join(35)
        ctx.log_a1 = n2.log_sizes()
        cpu1 = n2.cpu_s()
        mach1, load1 = cpu_times(), loadavg()
        ctx.n2_cpu_pct = 100.0 * (cpu1 - cpu0) / max(0.001, a1 - a0)

        # After.
        time.sleep(max(0.0, a1 + o.after - time.time()))
        rss_after = n2.rss_kib()
        mp1 = n2.get("/v1/status")["mempool_bytes"]
        m1 = {"n1": n1.metrics(), "n2": n2.metrics()}
        ctx.n1_delta = {k: v - m0["n1"].get(k, 0) for k, v in m1["n1"].items()}
        ctx.n2_delta = {k: v - m0["n2"].get(k, 0) for k, v in m1["n2"].items()}

        # Honest transactions: latency and loss.
        bp50, bp99, bn, bsent, bids, _ = latency(load, events, b0, b1)
        p50, p99, n, sent, ids, slowest = latency(load, events, a0, a1)
        hops = slow_hops(nodes, slowest[:5], events)
        for x in slowest:
            x[2] = x[2][:16]
        lost = lost_ids(ids, events, n3)
        lost_n2 = [i for i in lost if not n2.has_tx(i)]
        blost = lost_ids(bids, events, n3)
        if isinstance(atk, Spam):
            n1log1 = os.path.getsize(n1.log_path)
            with open(n1.log_path, "rb") as f:
                f.seek(n1log0)
                ctx.extra["n1_evicted"] = sum(int(x) for x in re.findall(
                    rb"evicted (\d+) oldest", f.read(n1log1 - n1log0)))
            ctx.extra["n1_mempool_end"] = n1.get("/v1/status")["mempool_txs"]
            acc = [h for h in honest if h[1] == 200 and isinstance(h[2], dict)
                   and h[2].get("status") == "accepted"]
            kept = [h for h in acc if n1.has_tx(h[0])]
            res["spam_honest"] = {"sent": len(honest), "accepted": len(acc),
                                  "evicted": len(acc) - len(kept),
                                  "refused": [h[2] for h in honest if h not in acc][:5]}
        load.stop()
        exercised, evidence = atk.exercised(ctx)

        # Logs.
        honest_ids = {i[:16] for _, i, _ in load.window(0, time.time() + 1)}
        honest_ids.update(h[0][:16] for h in honest)
        dur = a1 - a0
        da = ctx.log_a1[0] - ctx.log_a0[0], ctx.log_a1[1] - ctx.log_a0[1]
        steady = log_rate(n2, snaps["s0"], snaps["s1"], honest_ids)
        steady["raw_kb_per_min"] = round((da[0] + da[1]) * 60.0 / dur / 1000.0, 1)
        steady["raw_file_bytes"], steady["raw_stderr_bytes"] = da
        steady["baseline"] = log_rate(n2, log_b0, log_b1, honest_ids)
        res.update({
            "seconds": round(dur, 1),
            "honest_sent": sent, "honest_accepted_n1": len(ids),
            "lost": len(lost), "lost_ids": lost[:10], "lost_missing_at_n2_too": len(lost_n2),
            "baseline": {"p50_ms": bp50, "p99_ms": bp99, "samples": bn, "sent": bsent,
                         "lost": len(blost)},
            "p50_ms": p50, "p99_ms": p99, "samples": n, "slowest": slowest,
            "slowest_hops": hops,
            "rss_mib": {"start": rss0 / 1024.0, "peak": sampler.peak(a0, a1) / 1024.0,
                        "after": rss_after / 1024.0, "after_s": o.after,
                        "n2_mempool_mib_start": mp0 / MIB, "n2_mempool_mib_after": mp1 / MIB},
            "machine": {"loadavg_start": load0, "loadavg_end": load1,
                        "cpu_busy_pct": round(100.0 * (mach1[0] - mach0[0]) /
                                              max(1, mach1[1] - mach0[1]), 1)},
            "n2_cpu_pct": round(ctx.n2_cpu_pct, 1),
            "attacker_cpu_s": round(att_cpu, 1),
            "log": steady,
            "exercised": exercised, "evidence": evidence,
            "attacker": ctx.out, "extra": ctx.extra,
            "events_reconnects": events.reconnects,
        })
        if atk.probe:
            res["admission"] = ctx.out["probe"]["ok"]
            res["admission_tries"] = ctx.out["probe"]["tries"]
            res["admission_failures"] = ctx.out["probe"]["failures"][:5]
        res["probe"] = atk.probe
        return res
    finally:
        if load is not None and not load.stopping:
            load.stop()
        if events is not None:
            events.stopping = True
        if sampler is not None:
            sampler.stopping = True
        for nd in reversed(nodes):
            nd.stop()
        if not o.keep:
            shutil.rmtree(wd, ignore_errors=True)


def run_baseline_p99(results):
    """
    The run's baseline p99: the median of the rows' baselines.  One row's own
    10 s baseline can catch a pause of the machine (a p99 is its tenth
    slowest sample) and would then excuse a slow attack row.
    """
    xs = sorted(r["baseline"]["p99_ms"] for r in results
                if "error" not in r and r["baseline"]["p99_ms"] is not None)
    return xs[len(xs) // 2] if xs else None


def verdicts(r, b99):
    v = {}
    v["lost"] = r["lost"] == 0
    p99 = r["p99_ms"]
    v["p99"] = bool(b99 and p99 is not None and p99 <= T_P99_RATIO * b99)
    v["rss_peak"] = r["rss_mib"]["peak"] <= T_RSS_PEAK_MIB
    v["rss_after"] = r["rss_mib"]["after"] <= T_RSS_AFTER_RATIO * r["rss_mib"]["start"]
    if r["probe"]:
        v["admission"] = r["admission"] >= T_ADMISSION
    v["log"] = r["log"]["kb_per_min"] <= T_LOG_KB_MIN
    if "spam_honest" in r:
        s = r["spam_honest"]
        v["spam"] = s["sent"] > 0 and s["accepted"] == s["sent"] and s["evicted"] == 0
    return v


# --- report -----------------------------------------------------------------------

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
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    osname = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "%s, %d cores, %d MiB RAM, %s, Linux %s" % (
        model, os.cpu_count() or 0, mem, osname, platform.release())


def version():
    try:
        return subprocess.run([NODED, "--version"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def ms(x):
    return "-" if x is None else "%.0f" % x if x >= 10 else "%.1f" % x


VERDICT_KEYS = [("lost", "L"), ("p99", "P"), ("rss_peak", "M"), ("rss_after", "R"),
                ("admission", "A"), ("log", "G"), ("spam", "S")]


def table(results):
    head = ("attack", "lost", "p50/p99 ms", "base p50/p99", "n2 RSS MiB start/peak/after",
            "admission", "log KB/min", "verdicts")
    rows = []
    for r in results:
        if "error" in r:
            rows.append((r["attack"], "-", "-", "-", "-", "-", "-", "ERROR: " + r["error"][:60]))
            continue
        b = r["baseline"]
        rss = r["rss_mib"]
        adm = "%d/%d" % (r["admission"], r["admission_tries"]) if "admission" in r else "-"
        vs = " ".join("%s:%s" % (short, "ok" if r["verdicts"][k] else "FAIL")
                      for k, short in VERDICT_KEYS if k in r["verdicts"])
        if not r["exercised"]:
            vs = "INVALID (attack did not reach the node) " + vs
        rows.append((r["attack"], "%d/%d" % (r["lost"], r["honest_accepted_n1"]),
                     "%s/%s" % (ms(r["p50_ms"]), ms(r["p99_ms"])),
                     "%s/%s" % (ms(b["p50_ms"]), ms(b["p99_ms"])),
                     "%.0f/%.0f/%.0f" % (rss["start"], rss["peak"], rss["after"]), adm,
                     "%.0f (raw %.0f)" % (r["log"]["kb_per_min"], r["log"]["raw_kb_per_min"]),
                     vs))
    w = [max(len(str(x[i])) for x in rows + [head]) for i in range(len(head))]
    lines = ["  ".join(str(x[i]).ljust(w[i]) for i in range(len(head))).rstrip()
             for x in [head] + rows]
    lines.insert(1, "  ".join("-" * w[i] for i in range(len(head))))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="run (without it: exit at once)")
    ap.add_argument("--seconds", type=float, default=20, help="each attack (default 20)")
    ap.add_argument("--only", action="append", default=[],
                    help="attacks to run, comma-separated or repeated (default: all)")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--list", action="store_true", help="list the attacks and exit")
    ap.add_argument("--rate", type=float, default=50, help="honest tx/s into n1 (50)")
    ap.add_argument("--peers", type=int, default=125, help="attacking peers (125)")
    ap.add_argument("--baseline", type=float, default=10, help="baseline window s (10)")
    ap.add_argument("--after", type=float, default=10, help="wait after an attack s (10)")
    ap.add_argument("--warmup", type=float, default=3, help="warm-up s (3)")
    ap.add_argument("--log-ramp", type=float, default=5,
                    help="log rate measured from this many s into an attack (5)")
    ap.add_argument("--attacker-ip", default=None,
                    help="bind attackers to this loopback address (default 127.0.0.1)")
    ap.add_argument("--attacker-ips", type=int, default=4,
                    help="junk and getdata: spread the peers over this many addresses from "
                    "--attacker-ip up (4)")
    ap.add_argument("--keep", action="store_true", help="keep the nodes' data dirs and logs")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    o = ap.parse_args()

    if o.list:
        for a in ATTACKS:
            print("%-10s %s" % (a.name, a.what))
        return 0
    if not o.run and os.environ.get("NODED_BENCH_HOSTILE") != "1":
        print("bench_hostile.py: skipped (the hostile benchmark takes ~8 minutes and "
              "saturates this machine): run `make bench-hostile`, or this script with --run")
        return 0
    if o.seconds < 5:
        sys.exit("bench_hostile: --seconds must be at least 5 (issue 9 asks for 20)")
    names = [x for s in o.only for x in s.split(",") if x]
    unknown = set(names) - {a.name for a in ATTACKS}
    if unknown:
        sys.exit("bench_hostile: unknown attack(s) %s; --list shows them" % ", ".join(sorted(unknown)))
    chosen = [a for a in ATTACKS if not names or a.name in names]
    if not os.access(NODED, os.X_OK):
        sys.exit("bench_hostile: noded not found at %s (run `make all` or set NODED)" % NODED)
    ensure_hostile()

    info = {"machine": machine(), "noded": version(), "noded_path": NODED,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": o.seconds, "honest_rate": o.rate, "peers": o.peers,
            "attacker_ip": o.attacker_ip or HOST,
            "attacker_ips_junk_getdata": attacker_ips(o),
            "note": "attackers, the 3 nodes and the honest load share this machine"}
    print("machine: %s" % info["machine"])
    print("noded: %s (%s)" % (info["noded"], NODED))
    print("line n1 - n2 - n3 on %s, %g honest tx/s into n1 timed at n3; attacks of %g s "
          "against n2 from this machine" % (HOST, o.rate, o.seconds), flush=True)
    results = []
    work = tempfile.mkdtemp(prefix="noded-hostile-")
    try:
        for cls in chosen:
            t = time.time()
            print("== %s: %s" % (cls.name, cls.what), flush=True)
            try:
                r = run_attack(cls, o, work)
            except (RuntimeError, OSError, http.client.HTTPException, KeyError) as e:
                r = {"attack": cls.name, "what": cls.what, "error": str(e)}
                print("   ERROR: %s" % e, flush=True)
            else:
                print("   %s" % r["evidence"])
                print("   lost %d/%d, p50/p99 %s/%s ms (baseline %s/%s), n2 RSS %.0f -> %.0f "
                      "-> %.0f MiB, n2 CPU %.0f %%, log %.0f KB/min of attack lines (all "
                      "lines over the attack: %.0f KB/min, %s file + %s stderr bytes)%s" % (
                          r["lost"], r["honest_accepted_n1"], ms(r["p50_ms"]), ms(r["p99_ms"]),
                          ms(r["baseline"]["p50_ms"]), ms(r["baseline"]["p99_ms"]),
                          r["rss_mib"]["start"], r["rss_mib"]["peak"], r["rss_mib"]["after"],
                          r["n2_cpu_pct"], r["log"]["kb_per_min"], r["log"]["raw_kb_per_min"],
                          fmt_n(r["log"]["raw_file_bytes"]), fmt_n(r["log"]["raw_stderr_bytes"]),
                          ", admission %d/%d (baseline %d)" % (
                              r["admission"], r["admission_tries"], r["admission_baseline"])
                          if "admission" in r else ""))
                if r["log"]["top_lines"]:
                    print("   commonest log lines: %s" % "; ".join(
                        "%s x %s" % (fmt_n(n), s) for s, n in r["log"]["top_lines"][:2]))
                if "spam_honest" in r:
                    s = r["spam_honest"]
                    print("   honest sender at 1 tx/s: %d sent, %d accepted, %d evicted from "
                          "n1 by the end" % (s["sent"], s["accepted"], s["evicted"]))
                print("   (%.0f s; machine: %.0f %% of all cores busy during the attack, load "
                      "average %.1f -> %.1f; n2's mempool %.1f -> %.1f MiB)" % (
                          time.time() - t, r["machine"]["cpu_busy_pct"],
                          r["machine"]["loadavg_start"], r["machine"]["loadavg_end"],
                          r["rss_mib"]["n2_mempool_mib_start"],
                          r["rss_mib"]["n2_mempool_mib_after"]), flush=True)
            results.append(r)
    finally:
        if o.keep:
            print("node data kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    b99 = run_baseline_p99(results)
    for r in results:
        if "error" not in r:
            r["verdicts"] = verdicts(r, b99)
    info["baseline_p99_ms"] = b99
    print()
    print(table(results))
    print("L lost = 0   P p99 <= %g x the run's baseline p99 (%s ms: the median of the rows' "
          "baselines)   M RSS peak <= %g MiB   R RSS %g s after <= "
          "%g x start   A admission >= %d/20   G log lines not about honest txs <= %g "
          "KB/min (file + stderr, steady attack)   S spam: honest all accepted, none evicted"
          % (T_P99_RATIO, ms(b99), T_RSS_PEAK_MIB, o.after, T_RSS_AFTER_RATIO, T_ADMISSION,
             T_LOG_KB_MIN))
    if o.json:
        with open(o.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1, sort_keys=True)
        print("figures written to %s" % o.json)
    if any("error" in r or not r["exercised"] for r in results):
        return 3
    if o.strict and any(not all(r["verdicts"].values()) for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
