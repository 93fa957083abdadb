"""
nodectl against real noded processes on loopback (issues 3 and 4): every
command, its human and --json output, and every exit code (0 success,
1 rejected or not found, 2 usage or connection error).
"""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import txlib
from conftest import NODECTL, Node, free_port, wait_connected, wait_until
from txlib import Tx, Wallet

ID_RE = re.compile(r"\b[0-9a-f]{64}\b")
WATCH_RE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) (\S+) +(\w+) ?(.*)$")
COMMANDS = ["keygen", "pubkey", "send", "submit", "tx", "mempool", "status",
            "peers", "connect", "disconnect", "bans", "unban", "watch",
            "health"]


def ctl(*args, node=None, env=None, input=None, timeout=30):
    """Runs nodectl; node: a Node (or "host:port") for --node."""
    cmd = [NODECTL]
    if node is not None:
        cmd += ["--node", node if isinstance(node, str) else node.api_addr]
    cmd += [str(a) for a in args]
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("NODECTL_") and not k.startswith("NODED_")}
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, input=input,
                          env=e, timeout=timeout)


def ok(r):
    assert r.returncode == 0, "exit %d\nstdout: %s\nstderr: %s" % (
        r.returncode, r.stdout, r.stderr)
    return r


def keygen(path):
    r = ok(ctl("keygen", "--out", path))
    return r.stdout.strip()


@pytest.fixture
def keys(tmp_path):
    """Two wallet key files made by nodectl: {name: (path, pubkey hex)}."""
    out = {}
    for who in ("alice", "bob"):
        path = str(tmp_path / (who + ".key"))
        out[who] = (path, keygen(path))
    return out


def closed_port():
    """A loopback port nothing listens on."""
    return free_port()


class Watch:
    """`nodectl watch` in the background; lines of stdout collected by a thread."""

    def __init__(self, *nodes, args=(), env=None, watch_args=()):
        cmd = [NODECTL]
        for n in nodes:
            cmd += ["--node", n if isinstance(n, str) else n.api_addr]
        cmd += list(args) + ["watch"] + list(watch_args)
        e = {k: v for k, v in os.environ.items() if not k.startswith("NODECTL_")}
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=e)
        self.lines, self.errors = [], []
        self._t = [threading.Thread(target=self._read, args=(self.proc.stdout, self.lines),
                                    daemon=True),
                   threading.Thread(target=self._read, args=(self.proc.stderr, self.errors),
                                    daemon=True)]
        for t in self._t:
            t.start()

    @staticmethod
    def _read(f, out):
        for line in f:
            out.append(line.rstrip("\n"))

    def grep(self, pattern):
        r = re.compile(pattern)
        return [l for l in list(self.lines) if r.search(l)]

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("nodectl watch ignored signal %d" % sig)
        for t in self._t:
            t.join(5)
        return rc

    def wait_exit(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("nodectl watch did not exit; stderr: %s" % self.errors)
        for t in self._t:
            t.join(5)
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watches():
    made = []

    def start(*nodes, **kw):
        w = Watch(*nodes, **kw)
        made.append(w)
        return w
    yield start
    for w in made:
        w.close()


def send_until_seen(node, watch, key, to, pattern_for_id, timeout=15):
    """
    Sends transactions at node until watch prints lines matching
    pattern_for_id(id) (a watch only sees events after it has subscribed,
    which it does not announce); returns that id.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = ok(ctl("send", "--key", key, "--to", to, "--amount", "42", node=node))
        tx_id = ID_RE.search(r.stdout).group(0)
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            if pattern_for_id(tx_id)(watch):
                return tx_id
            time.sleep(0.05)
    raise AssertionError("watch printed nothing expected; stdout %s stderr %s" % (
        watch.lines, watch.errors))


# --- without a node ---------------------------------------------------------------

def test_help_for_every_command_and_version():
    r = ok(ctl("--help"))
    for c in COMMANDS:
        assert re.search(r"^\s+%s\b" % c, r.stdout, re.M), (c, r.stdout)
    assert "--node" in r.stdout and "--token-file" in r.stdout and "--json" in r.stdout
    for c in COMMANDS:
        r = ok(ctl(c, "--help"))
        assert r.stdout.startswith("usage: nodectl [global options] %s" % c), r.stdout
        assert r.stderr == ""
    r = ok(ctl("help", "send"))
    assert "--dry-run" in r.stdout
    r = ok(ctl("--version"))
    assert re.match(r"^nodectl \S+\n$", r.stdout), r.stdout


@pytest.mark.parametrize("args, message", [
    ([], "usage: nodectl"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["status", "--frob"], "unknown option '--frob'"),
    (["status", "extra"], "unexpected argument 'extra'"),
    (["--node", "127.0.0.1:70x0", "status"], "--node '127.0.0.1:70x0': bad port"),
    # One parser for noded and nodectl (lib/addr.c): noded's words.
    (["--node", "127.0.0.1:99999", "status"],
     "--node '127.0.0.1:99999': port out of range (0..65535)"),
    (["--node", "127.0.0.1:0", "status"], "--node '127.0.0.1:0': port must be 1..65535"),
    (["--node", "localhost", "status"], "expected HOST:PORT"),
    (["--node", "127.0.0.1:1", "--node", "127.0.0.1:2", "status"], "only watch"),
    (["--timeout", "0", "status"], "--timeout '0'"),
    (["keygen"], "--out FILE is required"),
    (["pubkey"], "--key FILE is required"),
    (["send", "--to", "aa" * 32, "--amount", "1"], "--key FILE is required"),
    (["send", "--key", "k", "--amount", "1"], "--to PUBKEY is required"),
    (["send", "--key", "k", "--to", "aa" * 32], "--amount N is required"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "x"],
     "--amount 'x': not a number"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "-5"],
     "--amount '-5': not a number"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "18446744073709551616"],
     "too large"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "1", "--nonce", "1x"],
     "--nonce '1x': not a number"),
    (["send", "--key", "k", "--to", "xyz", "--amount", "1"],
     "--to: expected 64 hex characters"),
    (["send", "--key", "k", "--to", "aa" * 31, "--amount", "1"],
     "--to: expected 64 hex characters"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "1", "--memo", "m" * 257],
     "--memo: 257 bytes; at most 256"),
    (["send", "--key", "k", "--to", "aa" * 32, "--amount", "1", "--network", ""],
     "--network ''"),
    (["send", "--key"], "option '--key' needs a value"),
    (["submit"], "required"),
    (["submit", "abc"], "an odd number of hex digits (3)"),
    (["submit", "zz"], "not hex (only 0-9, a-f and A-F)"),
    (["submit", "aa" * 2000], "at most"),
    (["tx"], "ID is required"),
    (["tx", "abcd"], "expected 64 hex characters"),
    (["mempool", "--limit", "0"], "--limit '0': from 1 to 10000"),
    (["mempool", "--limit", "10001"], "from 1 to 10000"),
    (["mempool", "--after", "xyz"], "--after: expected 64 hex characters"),
    (["connect"], "HOST:PORT is required"),
    (["connect", "127.0.0.1:70x0"], "bad port"),
    (["connect", "http://127.0.0.1:7000"], "not a URL"),
    (["disconnect"], "NODE_ID is required"),
])
def test_usage_errors_exit_2_and_name_the_problem(args, message):
    r = ctl(*args)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    assert message in r.stderr, (args, r.stderr)
    assert r.stdout == ""


def test_keygen_writes_a_0600_key_and_pubkey_reads_it(tmp_path):
    path = str(tmp_path / "w.key")
    pub = keygen(path)
    assert re.fullmatch(r"[0-9a-f]{64}", pub)
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600
    with open(path) as f:
        text = f.read()
    assert re.fullmatch(r"[0-9a-f]{128}\n", text), text
    sk = bytes.fromhex(text.strip())
    # libsodium's secret key is seed | public key, and the seed gives both.
    assert sk[32:].hex() == pub
    assert txlib.seed_keypair(sk[:32])[0].hex() == pub
    assert ok(ctl("pubkey", "--key", path)).stdout == pub + "\n"
    j = json.loads(ok(ctl("--json", "pubkey", "--key", path)).stdout)
    assert j == {"public_key": pub}

    # Never overwritten without --force.
    r = ctl("keygen", "--out", path)
    assert r.returncode == 2 and "exists" in r.stderr and "--force" in r.stderr
    with open(path) as f:
        assert f.read() == text
    r = ok(ctl("--json", "keygen", "--out", path, "--force"))
    j = json.loads(r.stdout)
    assert j["key_file"] == path and j["public_key"] != pub
    assert ok(ctl("pubkey", "--key", path)).stdout.strip() == j["public_key"]
    assert os.stat(path).st_mode & 0o777 == 0o600

    # Two keys are never the same.
    assert keygen(str(tmp_path / "other.key")) not in (pub, j["public_key"])

    r = ctl("keygen", "--out", str(tmp_path / "no" / "such" / "dir.key"))
    assert r.returncode == 2 and "No such file or directory" in r.stderr


def test_bad_key_files_are_refused_by_name(tmp_path, keys):
    good = open(keys["alice"][0]).read().strip()
    cases = {
        "short": "ab" * 10 + "\n",
        "nothex": "zz" * 64 + "\n",
        "big": "0" * 100000,
        # Public half of another key: the halves do not belong together.
        "mixed": good[:64] + open(keys["bob"][0]).read().strip()[64:] + "\n",
    }
    for name, text in cases.items():
        p = tmp_path / name
        p.write_text(text)
        os.chmod(p, 0o600)
        r = ctl("pubkey", "--key", p)
        assert r.returncode == 2, (name, r.stdout)
        assert "--key '%s'" % p in r.stderr, (name, r.stderr)
    r = ctl("pubkey", "--key", tmp_path / "missing")
    assert r.returncode == 2 and "No such file or directory" in r.stderr
    r = ctl("pubkey", "--key", tmp_path)
    assert r.returncode == 2 and "not a regular file" in r.stderr
    r = ctl("send", "--key", tmp_path / "mixed", "--to", keys["bob"][1],
            "--amount", "1", "--dry-run")
    assert r.returncode == 2 and "damaged" in r.stderr and r.stdout == ""

    # A key readable by others still works, with a warning.
    loose = tmp_path / "loose.key"
    loose.write_text(good + "\n")
    os.chmod(loose, 0o644)
    r = ok(ctl("pubkey", "--key", loose))
    assert r.stdout.strip() == keys["alice"][1]
    assert "chmod 600" in r.stderr


def test_dry_run_builds_what_was_asked(keys):
    key, pub = keys["alice"]
    to = keys["bob"][1]
    before = txlib.now_ms()
    r = ok(ctl("send", "--key", key, "--to", to.upper(), "--amount", "42",
               "--nonce", "18446744073709551615", "--memo", "caf\u00e9 \u2615",
               "--network", "othernet", "--dry-run"))
    hexes = r.stdout.split()
    assert len(hexes) == 1
    t = Tx.decode(hexes[0])
    assert t.version == txlib.TX_VERSION
    assert t.sender.hex() == pub and t.recipient.hex() == to
    assert (t.amount, t.nonce) == (42, 2 ** 64 - 1)
    assert t.memo == "caf\u00e9 \u2615".encode()
    assert t.netid == txlib.netid("othernet")
    assert before - 1000 <= t.timestamp_ms <= txlib.now_ms() + 1000
    assert t.verify()

    # Without --network, a dry run signs for devnet when no node answers.
    j = json.loads(ok(ctl("--json", "send", "--key", key, "--to", to,
                          "--amount", "0", "--dry-run",
                          node="127.0.0.1:%d" % closed_port())).stdout)
    t = Tx.decode(j["tx"])
    assert j["id"] == t.id_hex() and j["nonce"] == t.nonce
    assert t.netid == txlib.netid("devnet") and t.amount == 0 and t.memo == b""

    # Without --nonce every transaction gets a fresh one.
    nonces = set()
    for _ in range(5):
        r = ok(ctl("send", "--key", key, "--to", to, "--amount", "1", "--dry-run",
                   "--network", "devnet"))
        nonces.add(Tx.decode(r.stdout.strip()).nonce)
    assert len(nonces) == 5


def test_connection_errors_exit_2_and_name_the_address(keys, tmp_path):
    port = closed_port()
    addr = "127.0.0.1:%d" % port
    msg = "nodectl: cannot connect to %s: Connection refused" % addr
    key, _ = keys["alice"]
    runs = [
        ["status"], ["peers"], ["mempool"], ["tx", "ab" * 32],
        ["send", "--key", key, "--to", keys["bob"][1], "--amount", "1"],
        ["submit", Wallet().tx().hex()], ["connect", "127.0.0.1:7000"],
        ["disconnect", "ab" * 32], ["watch"],
    ]
    for args in runs:
        r = ctl(*args, node=addr)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert msg in r.stderr, (args, r.stderr)
    # The default address and NODECTL_NODE.
    r = ctl("status", env={"NODECTL_NODE": addr})
    assert r.returncode == 2 and msg in r.stderr
    r = ctl("status", node="[::1]:%d" % port)
    assert r.returncode == 2 and "[::1]:%d" % port in r.stderr


def test_a_silent_node_times_out():
    # Accepts connections (the kernel does) but never answers.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        addr = "127.0.0.1:%d" % s.getsockname()[1]
        t0 = time.monotonic()
        r = ctl("--timeout", "1", "status", node=addr)
        took = time.monotonic() - t0
        assert r.returncode == 2
        assert "%s: no answer within 1 s" % addr in r.stderr, r.stderr
        assert 0.9 <= took < 5, took
    finally:
        s.close()


# --- against real nodes --------------------------------------------------------------

def test_send_accepted_then_tx_shows_it(cluster, keys):
    n = cluster.start("ctl1")
    key, pub = keys["alice"]
    to = keys["bob"][1]
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "42",
               "--memo", "lunch money", node=n))
    m = re.fullmatch(r"([0-9a-f]{64}) accepted\n", r.stdout)
    assert m, r.stdout
    tx_id = m.group(1)
    assert n.has_tx(tx_id)

    r = ok(ctl("tx", tx_id, node=n))
    fields = dict(re.split(r"\s{2,}", l.strip(), maxsplit=1) for l in r.stdout.splitlines())
    assert fields["id"] == tx_id
    assert fields["sender"] == pub and fields["recipient"] == to
    assert fields["amount"] == "42"
    assert fields["memo"] == "lunch money"
    assert fields["network"] == txlib.netid("devnet").hex()

    j = json.loads(ok(ctl("--json", "tx", tx_id.upper(), node=n)).stdout)
    assert j["id"] == tx_id and j["amount"] == 42 and j["sender"] == pub
    t = Tx.decode(j["raw"])
    assert t.id_hex() == tx_id and t.verify()

    # --json of send is the node's answer.
    j = json.loads(ok(ctl("--json", "send", "--key", key, "--to", to, "--amount",
                          "7", node=n)).stdout)
    assert j["status"] == "accepted" and ID_RE.fullmatch(j["id"])


def test_rejections_exit_1_with_the_reason(cluster, keys):
    n = cluster.start("ctl2")
    key, _ = keys["alice"]
    to = keys["bob"][1]

    r = ctl("send", "--key", key, "--to", to, "--amount", "150", node=n)
    assert r.returncode == 1, (r.stdout, r.stderr)
    m = re.fullmatch(r"([0-9a-f]{64}) rejected: amount too high.*\n", r.stdout)
    assert m, r.stdout
    assert not n.has_tx(m.group(1))

    r = ctl("send", "--key", key, "--to", to, "--amount", "5", "--network",
            "othernet", node=n)
    assert r.returncode == 1
    assert re.fullmatch(r"[0-9a-f]{64} rejected: wrong network.*\n", r.stdout), r.stdout

    # One nonce, two transactions: the smaller id keeps it (PROTOCOL.md 5.4),
    # so whichever lost is refused when the same bytes come again.  (Signed
    # once each: a new `send` would sign a new timestamp, a new id.)
    first = ok(ctl("send", "--key", key, "--to", to, "--amount", "5", "--nonce", "9",
                   "--dry-run", node=n)).stdout.strip()
    second = ok(ctl("send", "--key", key, "--to", to, "--amount", "6", "--nonce", "9",
                    "--dry-run", node=n)).stdout.strip()
    ok(ctl("submit", first, node=n))
    r = ctl("submit", second, node=n)
    if r.returncode == 0:
        r = ctl("submit", first, node=n)
    assert r.returncode == 1
    assert re.fullmatch(r"[0-9a-f]{64} rejected: nonce already used.*\n", r.stdout), r.stdout

    bad = Wallet().tx(amount=3).with_bad_signature()
    r = ctl("submit", bad.hex(), node=n)
    assert r.returncode == 1
    assert r.stdout == "%s rejected: bad signature\n" % bad.id_hex(), r.stdout

    r = ctl("--json", "send", "--key", key, "--to", to, "--amount", "101", node=n)
    assert r.returncode == 1
    j = json.loads(r.stdout)
    assert j["status"] == "rejected" and j["reason"] == "amount too high"

    # Bytes that are no transaction at all: rejected, with no id to show.
    r = ctl("submit", "01" + "00" * 40, node=n)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == "rejected: bad encoding\n"
    r = ctl("submit", "00" * 40, node=n)
    assert r.returncode == 1 and r.stdout == "rejected: unknown version\n"


def test_dry_run_output_round_trips_through_submit(cluster, keys):
    n1 = cluster.start("rt1")
    n2 = cluster.start("rt2")
    key, _ = keys["alice"]
    r = ok(ctl("send", "--key", key, "--to", keys["bob"][1], "--amount", "17",
               "--memo", "signed offline", "--dry-run"))
    hexstr = r.stdout.strip()
    want = Tx.decode(hexstr).id_hex()
    assert not n1.has_tx(want)        # --dry-run submitted nothing

    r = ok(ctl("submit", hexstr, node=n1))
    assert r.stdout == "%s accepted\n" % want
    code, got = n1.tx(want)
    assert code == 200 and got["raw"] == hexstr and got["amount"] == 17

    # The same bytes again: accepted as a duplicate.
    r = ok(ctl("submit", hexstr.upper(), node=n1))
    assert r.stdout.startswith(want + " accepted")
    assert "duplicate" in r.stdout

    # From standard input, to another node.
    r = ok(ctl("submit", "-", node=n2, input=hexstr + "\n"))
    assert r.stdout == "%s accepted\n" % want
    assert n2.has_tx(want)


def test_tx_not_found_exits_1(cluster):
    n = cluster.start("nf")
    missing = Wallet().tx().id_hex()
    r = ctl("tx", missing, node=n)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "%s: transaction not found" % n.api_addr in r.stderr, r.stderr
    assert r.stdout == ""
    r = ctl("--json", "tx", missing, node=n)
    assert r.returncode == 1 and "error" in json.loads(r.stdout)


def test_status_table_and_json(cluster):
    n = cluster.start("stat1")
    r = ok(ctl("status", node=n))
    rows = dict(re.split(r"\s{2,}", l.strip(), maxsplit=1) for l in r.stdout.splitlines())
    assert rows["name"] == "stat1"
    assert rows["node id"] == n.node_id
    assert rows["network"] == "devnet"
    assert rows["peers"].startswith("0")
    assert rows["mempool"].startswith("0 txs")
    # Aligned: every value starts in the same column.
    cols = {len(m.group(1)) for m in re.finditer(r"^(\S.*?\s{2,})\S", r.stdout, re.M)}
    assert len(cols) == 1, r.stdout
    j = json.loads(ok(ctl("--json", "status", node=n)).stdout)
    assert j["name"] == "stat1" and j["node_id"] == n.node_id
    # NODECTL_NODE picks the node; --node wins over it.
    r = ok(ctl("status", env={"NODECTL_NODE": n.api_addr}))
    assert "stat1" in r.stdout
    r = ctl("status", node=n, env={"NODECTL_NODE": "127.0.0.1:%d" % closed_port()})
    assert r.returncode == 0


def test_mempool_lists_and_pages(cluster, wallet):
    n = cluster.start("mp1")
    txs = wallet.txs(5, amount=3)
    for t in txs:
        code, body = n.submit(t.hex())
        assert code == 200, body
    want = [t.id_hex() for t in txs]

    r = ok(ctl("mempool", node=n))
    assert r.stdout.startswith("5 transactions in the mempool, 5 shown\n"), r.stdout
    assert ID_RE.findall(r.stdout) == want        # oldest first

    r = ok(ctl("mempool", "--limit", "2", node=n))
    assert ID_RE.findall(r.stdout)[:2] == want[:2]
    # the hint is a command that works as printed: it names the node
    assert "next page: nodectl --node %s mempool --limit 2 --after %s" % (
        n.api_addr, want[1]) in r.stdout
    r = ok(ctl("mempool", "--limit", "2", "--after", want[1], node=n))
    assert ID_RE.findall(r.stdout)[:2] == want[2:4]

    j = json.loads(ok(ctl("--json", "mempool", "--limit", "3", node=n)).stdout)
    assert j["count"] == 5 and j["txs"] == want[:3]


def test_connect_peers_disconnect(cluster, keys, watches):
    a = cluster.start("pa", args=["--peer-exchange", "off"])
    b = cluster.start("pb", args=["--peer-exchange", "off"])
    assert "no peers" in ok(ctl("peers", node=a)).stdout
    # connect and disconnect need the node's cookie: nodectl reads it from its data dir.
    adm = {"NODECTL_DATA_DIR": a.data_dir}

    r = ok(ctl("connect", b.p2p_addr, node=a, env=adm))
    assert r.stdout == "connecting to %s\n" % b.p2p_addr
    wait_connected(a, b)

    r = ok(ctl("peers", node=a))
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "NODE", "ID", "ADDRESS"], r.stdout
    row = [l for l in lines[1:] if l.startswith("pb ")]
    assert row and b.node_id[:16] in row[0] and " out " in row[0], r.stdout
    j = json.loads(ok(ctl("--json", "peers", node=a)).stdout)
    assert [p["node_id"] for p in j["peers"]] == [b.node_id]
    assert "pa" in ok(ctl("peers", node=b)).stdout

    w = watches(a)
    # watch does not say when it has subscribed; the node does.
    wait_until(lambda: a.metric("noded_api_event_clients") == 1, 10, "watch subscribed")
    r = ok(ctl("disconnect", b.node_id, node=a, env=adm))
    assert r.stdout == "disconnected %s\n" % b.node_id
    wait_until(lambda: w.grep(r" pa +peer_disconnected %s " % b.node_id[:16]), 10,
               "peer_disconnected in watch: %s" % w.lines)

    # By name and by id prefix, once the peers are linked again.
    j = json.loads(ok(ctl("--json", "connect", b.p2p_addr, node=a, env=adm)).stdout)
    assert j == {"addr": b.p2p_addr, "status": "connecting"}
    wait_connected(a, b)
    r = ok(ctl("disconnect", "pb", node=a, env=adm))
    assert r.stdout == "disconnected %s\n" % b.node_id
    ok(ctl("connect", b.p2p_addr, node=a, env=adm))
    wait_connected(a, b)
    j = json.loads(ok(ctl("--json", "disconnect", b.node_id[:10], node=a, env=adm)).stdout)
    assert j == {"node_id": b.node_id, "status": "disconnected"}

    r = ctl("disconnect", "ab" * 32, node=a, env=adm)
    assert r.returncode == 1, (r.stdout, r.stderr)
    r = ctl("disconnect", "nosuchpeer", node=a, env=adm)
    assert r.returncode == 1 and "no peer named 'nosuchpeer'" in r.stderr
    # a prefix too short to look up says so, rather than "no peer"
    r = ctl("disconnect", b.node_id[:3], node=a, env=adm)
    assert r.returncode == 2 and "at least 4 hex digits" in r.stderr, r.stderr


def test_watch_merges_nodes_and_survives_one_going_away(cluster, keys, watches):
    n1 = cluster.start("w1")
    n2 = cluster.start("w2", peers=[n1])
    wait_connected(n1, n2)
    key, to = keys["alice"][0], keys["bob"][1]
    w = watches(n1, n2)

    def both(tx_id):
        return lambda wt: (wt.grep(r" w1 +tx_accepted %s from=api amount=42$" % tx_id[:16])
                           and wt.grep(r" w2 +tx_accepted %s from=w1 amount=42$" % tx_id[:16]))
    tx_id = send_until_seen(n1, w, key, to, both)
    for line in w.grep(tx_id[:16]):
        m = WATCH_RE.match(line)
        assert m, line
        assert 0 <= int(m.group(1)) < 24 and 0 <= int(m.group(2)) < 60
        assert m.group(6) == "tx_accepted"
    assert "\033[" not in "".join(w.lines)      # no colours into a pipe

    # A rejection carries its reason.
    bad = Wallet().tx(amount=500)
    n1.submit(bad.hex())
    wait_until(lambda: w.grep(r' w1 +tx_rejected %s from=api reason="amount too high' %
                              bad.id_hex()[:16]), 10, "tx_rejected line: %s" % w.lines)

    # w2 goes away: watch says so and goes on with w1.
    n2.stop()
    wait_until(lambda: any("%s: event stream ended" % n2.api_addr in e for e in w.errors),
               10, "message about w2: %s" % w.errors)
    assert w.proc.poll() is None
    r = ok(ctl("send", "--key", key, "--to", to, "--amount", "42", node=n1))
    tx2 = ID_RE.search(r.stdout).group(0)
    wait_until(lambda: w.grep(r" w1 +tx_accepted %s " % tx2[:16]), 10, "w1 after w2 left")
    assert w.stop() == 0


def test_watch_json_and_exit_when_every_stream_ends(cluster, keys, watches):
    n = cluster.start("wj")
    key, to = keys["alice"][0], keys["bob"][1]
    # --reconnect 0: a stream that ends is not reopened (see test_conventions_api.py).
    w = watches(n, args=["--json"], watch_args=["--reconnect", "0"])

    def seen(tx_id):
        def f(wt):
            for l in list(wt.lines):
                j = json.loads(l)
                if j.get("type") == "tx_accepted" and j.get("id") == tx_id:
                    return j
            return None
        return f
    tx_id = send_until_seen(n, w, key, to, seen)
    j = seen(tx_id)(w)
    assert j["node"] == "wj" and j["from"] == "api" and j["amount"] == 42
    assert abs(j["ts_us"] / 1e6 - time.time()) < 60

    # The only node stops: watch ends on its own, exit 0.
    n.stop()
    assert w.wait_exit(10) == 0
    assert any("event stream ended" in e for e in w.errors), w.errors


def test_watch_reports_an_unreachable_node_and_follows_the_rest(cluster, keys, watches):
    n = cluster.start("wu")
    dead = "127.0.0.1:%d" % closed_port()
    w = watches(dead, n)
    wait_until(lambda: any("cannot connect to %s: Connection refused" % dead in e
                           for e in w.errors), 10, "message about %s: %s" % (dead, w.errors))
    send_until_seen(n, w, keys["alice"][0], keys["bob"][1],
                    lambda i: lambda wt: wt.grep(r" wu +tx_accepted %s " % i[:16]))
    # Interrupted; a node could not be followed at all: exit 2.
    assert w.stop(signal.SIGINT) == 2


def test_watch_colours_node_names_on_a_terminal(cluster, keys):
    import pty
    import select
    a = cluster.start("col1")
    b = cluster.start("col2", peers=[a])
    wait_connected(a, b)
    key, to = keys["alice"][0], keys["bob"][1]

    def run(env):
        master, slave = pty.openpty()
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("NODECTL_") and k != "NO_COLOR"}
        e.update(env)
        p = subprocess.Popen([NODECTL, "--node", a.api_addr, "--node", b.api_addr,
                              "watch"], stdout=slave, stderr=subprocess.DEVNULL, env=e)
        os.close(slave)
        out = b""
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and out.count(b"tx_accepted") < 2:
                ok(ctl("send", "--key", key, "--to", to, "--amount", "1", node=a))
                end = time.monotonic() + 0.5
                while time.monotonic() < end:
                    if select.select([master], [], [], 0.1)[0]:
                        try:
                            out += os.read(master, 65536)
                        except OSError:
                            break
        finally:
            p.send_signal(signal.SIGINT)
            p.wait(10)
            os.close(master)
        assert out.count(b"tx_accepted") >= 2, out
        return out.decode("utf-8", "replace")

    out = run({})
    c1 = re.search(r"(\x1b\[[0-9;]*m)col1\x1b\[0m", out)
    c2 = re.search(r"(\x1b\[[0-9;]*m)col2\x1b\[0m", out)
    assert c1 and c2, repr(out)
    assert c1.group(1) != c2.group(1)           # each node its own colour
    out = run({"NO_COLOR": "1"})
    assert "\x1b[" not in out and " col1 " in out, repr(out)


def test_api_token(cluster, tmp_path, keys):
    tok = tmp_path / "token"
    tok.write_text("s3cr3t-token-for-tests\n")
    os.chmod(tok, 0o600)

    class TokenNode(Node):
        """A Node whose own requests (start-up wait, teardown) carry the token."""
        def request(self, method, path, body=None, timeout=15.0, headers=None):
            h = dict(headers or {})
            h.setdefault("Authorization", "Bearer s3cr3t-token-for-tests")
            return Node.request(self, method, path, body, timeout, h)

    n = TokenNode("tok1", cluster.workdir, args=["--api-token-file", str(tok)])
    cluster.nodes.append(n)          # stopped at teardown like the others
    n.start()

    r = ctl("status", node=n)
    assert r.returncode == 2
    assert "HTTP 401" in r.stderr and "--token-file" in r.stderr, r.stderr
    assert "tok1" in ok(ctl("--token-file", tok, "status", node=n)).stdout
    ok(ctl("status", node=n, env={"NODECTL_TOKEN_FILE": str(tok)}))
    spaced = tmp_path / "spaced"
    spaced.write_text("\n  s3cr3t-token-for-tests \r\n\n")
    ok(ctl("--token-file", spaced, "status", node=n))
    empty = tmp_path / "empty"
    empty.write_text(" \n")
    r = ctl("--token-file", empty, "status", node=n)
    assert r.returncode == 2 and "holds no token" in r.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-token\n")
    r = ctl("--token-file", wrong, "status", node=n)
    assert r.returncode == 2 and "HTTP 401" in r.stderr
    assert "refused the token (from %s)" % wrong in r.stderr, r.stderr
    r = ok(ctl("--token-file", tok, "send", "--key", keys["alice"][0], "--to",
               keys["bob"][1], "--amount", "1", node=n))
    assert "accepted" in r.stdout
    r = ctl("--token-file", tmp_path / "nope", "status", node=n)
    assert r.returncode == 2 and "--token-file '%s'" % (tmp_path / "nope") in r.stderr
    # watch sends it too.
    r = ctl("watch", node=n)
    assert r.returncode == 2 and "HTTP 401" in r.stderr


def test_dry_run_count_builds_consecutive_nonces(keys):
    _, pub = keys["alice"]
    to = keys["bob"][1]
    r = ok(ctl("send", "--key", keys["alice"][0], "--to", to, "--amount", "3",
               "--nonce", "10", "--count", "5", "--dry-run"))
    txs = [Tx.decode(h) for h in r.stdout.split()]
    assert [t.nonce for t in txs] == [10, 11, 12, 13, 14]
    assert all(t.verify() and t.sender.hex() == pub for t in txs)
    assert len({t.id() for t in txs}) == 5
    # Bounds, and only with --dry-run: a submit sends one.
    for n in ("0", "1000001", "x"):
        r = ctl("send", "--key", keys["alice"][0], "--to", to, "--amount", "3",
                "--count", n, "--dry-run")
        assert r.returncode == 2 and "--count" in r.stderr, (n, r.stderr)
    r = ctl("send", "--key", keys["alice"][0], "--to", to, "--amount", "3", "--count", "2")
    assert r.returncode == 2 and "only with --dry-run" in r.stderr, r.stderr
