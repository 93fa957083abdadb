"""
The durable store (issue 10, daemon/core/store.c): every transaction the API
answered "accepted" is on disk (DATA_DIR/store/data.mdb) before the answer
leaves, so a kill -9 at any moment loses none of them, and a restarted node
comes back with its mempool.  A store that cannot be used (not writable,
corrupt, full) gets a clear error and exit status 3, or a 503 "store error"
instead of "accepted" at run time; never a crash.

On a node without the store (the main of before, NODED=/tmp/base/bin/noded)
test_kill9_after_ack and test_alone_restarts_with_mempool fail: a restarted
node there has an empty mempool.
"""

import os
import random
import signal
import subprocess

import pytest

from conftest import (NODED, START_TIMEOUT, _pdeathsig, run_nodectl,
                      wait_connected, wait_until)
from txlib import Wallet

STORE_EXIT = 3


def restart(node, sig=signal.SIGKILL):
    node.stop(sig)
    node.start()
    return node


def accepted_ids(code, body):
    """The ids a POST /v1/tx answer acknowledged."""
    if "results" in body:
        assert code == 200, body
        return {r["id"] for r in body["results"] if r["status"] == "accepted"}
    return {body["id"]} if code == 200 and body.get("status") == "accepted" else set()


def test_kill9_after_ack(cluster):
    """30 rounds: a batch and single transactions acknowledged, then kill -9
    at once; after the restart every acknowledged transaction is there."""
    rng = random.Random(10)
    w = Wallet()
    node = cluster.start("n1")
    acked = set()
    for rnd in range(30):
        txs = w.txs(rng.choice([1, 20, 200]))
        if len(txs) == 1:
            acked |= accepted_ids(*node.submit(txs[0].hex()))
        else:
            acked |= accepted_ids(*node.submit_batch([t.hex() for t in txs]))
        node.stop(signal.SIGKILL)
        node.start()
        have = node.mempool_ids()
        lost = acked - have
        assert not lost, "round %d: %d acknowledged txs lost after kill -9, " \
            "e.g. %s" % (rnd, len(lost), sorted(lost)[:3])
    assert len(acked) > 30


def test_alone_restarts_with_mempool(cluster):
    """A node alone, stopped cleanly or killed, comes back with its mempool
    and says so in one log line."""
    w = Wallet()
    node = cluster.start("n1")
    code, body = node.submit_batch([t.hex() for t in w.txs(50)])
    ids = accepted_ids(code, body)
    assert len(ids) == 50
    digest = node.request("GET", "/v1/mempool/digest")[1]
    restart(node, signal.SIGTERM)
    assert node.mempool_ids() == ids
    assert node.request("GET", "/v1/mempool/digest")[1] == digest
    assert node.log_grep(r"store: 50 txs loaded, 0 expired, 0 invalid in \d+ ms")
    restart(node, signal.SIGKILL)
    assert node.mempool_ids() == ids


def test_restart_drops_expired(cluster):
    """Transactions that expired while the node was down do not come back."""
    w = Wallet()
    node = cluster.start("n1", args=["--max-age-ms", "3000"])
    old = w.tx(timestamp_ms=__import__("time").time_ns() // 1000000 - 2000)
    code, body = node.submit(old.hex())
    assert code == 200, body
    fresh = accepted_ids(*node.submit(w.tx().hex()))
    node.stop(signal.SIGKILL)
    __import__("time").sleep(1.5)
    node.start()
    assert node.mempool_ids() == fresh
    assert node.log_grep(r"store: 1 txs loaded, 1 expired, 0 invalid")


def test_peer_txs_are_durable(cluster):
    """A transaction accepted from a peer is kept too."""
    w = Wallet()
    a = cluster.start("a")
    b = cluster.start("b", peers=[a])
    wait_connected(a, b)
    ids = accepted_ids(*a.submit_batch([t.hex() for t in w.txs(20)]))
    wait_until(lambda: ids <= b.mempool_ids(), 20, "txs at b")
    a.stop(signal.SIGKILL)
    restart(b)
    assert ids <= b.mempool_ids()


def run_noded(tmp_path, args, data_dir=None, preexec=None):
    data_dir = data_dir or str(tmp_path / "data")
    cmd = [NODED, "--data-dir", data_dir, "--listen", "127.0.0.1:0",
           "--api", "127.0.0.1:0", "--log-file", "none"] + list(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODED_")}
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=START_TIMEOUT,
                          preexec_fn=preexec or _pdeathsig)


def make_store(tmp_path, cluster_args=()):
    """Runs a node once (SIGTERM at once) so that DATA_DIR/store exists."""
    data = tmp_path / "data"
    p = subprocess.Popen([NODED, "--data-dir", str(data), "--listen",
                          "127.0.0.1:0", "--api", "127.0.0.1:0", "--log-file",
                          "none"] + list(cluster_args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=_pdeathsig)
    wait_until(lambda: (data / "store" / "data.mdb").exists() and
               (data / ".cookie").exists(), START_TIMEOUT, "the store")
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    return data


def test_read_only_store(tmp_path):
    # nobody (below, when root) must reach the data dir: not under pytest's 0700 tmp.
    tmp_path = __import__("pathlib").Path(__import__("tempfile").mkdtemp(
        prefix="store-ro-", dir="/tmp"))
    try:
        _read_only_store(tmp_path)
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(tmp_path)])
        __import__("shutil").rmtree(tmp_path, ignore_errors=True)


def _read_only_store(tmp_path):
    os.chmod(tmp_path, 0o755)
    data = make_store(tmp_path)
    store = data / "store"
    for f in ("data.mdb", "lock.mdb"):
        os.chmod(store / f, 0o444)
    os.chmod(store, 0o555)

    def as_nobody():
        _pdeathsig()
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)

    if os.geteuid() == 0:
        # nobody may use the data dir, not the store in it.
        for root, dirs, files in os.walk(data):
            if os.path.abspath(root).startswith(os.path.abspath(store)):
                continue
            os.chown(root, 65534, 65534)
            for f in files:
                os.chown(os.path.join(root, f), 65534, 65534)
        os.chmod(tmp_path, 0o755)
    r = run_noded(tmp_path, [], preexec=as_nobody)
    assert r.returncode == STORE_EXIT, r.stderr
    assert str(store / "data.mdb") in r.stderr, r.stderr
    assert "not writable" in r.stderr, r.stderr


def test_corrupt_store(tmp_path):
    data = make_store(tmp_path)
    path = data / "store" / "data.mdb"
    with open(path, "r+b") as f:
        f.write(b"\x5a" * 8192)
    r = run_noded(tmp_path, [])
    assert r.returncode == STORE_EXIT, r.stderr
    assert str(path) in r.stderr and "not an LMDB file" in r.stderr, r.stderr
    assert "Segmentation" not in r.stderr


def test_store_full(cluster):
    """A store too small: submits get 503 "store error", never "accepted",
    and what was accepted before is still there after a restart."""
    w = Wallet()
    node = cluster.start("n1", args=["--store-map-size", "64k"])
    acked, refused = set(), 0
    for _ in range(40):
        code, body = node.submit_batch([t.hex() for t in w.txs(20)])
        assert code == 200, body
        for r in body["results"]:
            if r["status"] == "accepted":
                acked.add(r["id"])
            else:
                assert r["code"] == "store_error", r
                assert "data.mdb" in r["message"] and "full" in r["message"], r
                refused += 1
        if refused:
            break
    assert refused > 0, "64 KiB held %d txs" % len(acked)
    # The single-transaction answer: 503 with the code.
    code, body = node.submit(w.tx().hex())
    if code != 200:
        assert code == 503 and body["code"] == "store_error", body
    else:
        acked.add(body["id"])
    # nodectl prints it as a verdict and fails.
    r = run_nodectl("submit", w.tx().hex(), node=node)
    if "accepted" in r.stdout:
        acked.add(r.stdout.split()[0])
    else:
        assert r.returncode == 1 and "rejected: store error: " in r.stdout, (r.stdout, r.stderr)
    assert node.alive()
    # What was refused is not in the mempool either.
    assert node.mempool_ids() == acked
    assert node.log_grep(r"store: .*data\.mdb.*the store is full")
    node.stop(signal.SIGKILL)
    node.args = [a for a in node.args if a not in ("--store-map-size", "64k")]
    node.start()
    assert node.mempool_ids() == acked


@pytest.mark.parametrize("mode", ["none", "always", "batch"])
def test_sync_modes(cluster, mode):
    w = Wallet()
    node = cluster.start("n1", args=["--sync", mode])
    ids = accepted_ids(*node.submit_batch([t.hex() for t in w.txs(30)]))
    ids |= accepted_ids(*node.submit(w.tx().hex()))
    assert len(ids) == 31
    restart(node)
    assert node.mempool_ids() == ids


def test_sync_bad_value(tmp_path):
    r = run_noded(tmp_path, ["--sync", "sometimes"])
    assert r.returncode == 2
    assert "--sync 'sometimes': must be batch|always|none" in r.stderr, r.stderr
    r = run_noded(tmp_path, ["--store-map-size", "1k"])
    assert r.returncode == 2
    assert "--store-map-size '1k'" in r.stderr, r.stderr


def test_restart_dials_last_good_peer(cluster):
    """A node restarted without --peer dials the peers it last had, from
    the store, first."""
    a = cluster.start("a")
    b = cluster.start("b", peers=[a])
    wait_connected(a, b)
    # Committed within a tick (200 ms) of connecting; SIGTERM commits anyway.
    b.stop(signal.SIGTERM)
    b.peer_addrs = []
    b.start()
    wait_connected(a, b)
    assert b.log_grep(r"dialling %s, a good peer" % a.p2p_addr.replace(".", r"\."))
    assert b.log_grep(r"1 last good peers in the store, 1 dialled first")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_corrupt_pages_inside(cluster, tmp_path, seed):
    """Pages overwritten in the middle of data.mdb: LMDB itself may fault
    or abort reading them; the node checks the whole file in a child
    process first and exits 3 naming it, never crashing."""
    w = Wallet()
    node = cluster.start("n1")
    for _ in range(3):
        assert len(accepted_ids(*node.submit_batch([t.hex() for t in w.txs(200)]))) == 200
    node.stop(signal.SIGTERM)
    path = os.path.join(node.data_dir, "store", "data.mdb")
    rng = random.Random(seed)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        # Every other page past the two meta pages, at a random place in it.
        for page in range(2, size // 4096, 2):
            f.seek(page * 4096 + rng.randrange(3000))
            f.write(bytes(rng.randrange(256) for _ in range(rng.choice([64, 1024]))))
    r = run_noded(tmp_path, [], data_dir=node.data_dir)
    assert r.returncode == STORE_EXIT, (r.returncode, r.stderr)
    assert path in r.stderr, r.stderr
    assert "corrupt" in r.stderr or "cannot be read" in r.stderr, r.stderr


def test_table_name_lost(cluster, tmp_path):
    """A bad byte in the page that names the tables ("txs" read as "txz"):
    the node once took the missing table for a new store, created an empty
    one and started with none of its transactions.  It must refuse, naming
    the file."""
    w = Wallet()
    node = cluster.start("n1")
    assert len(accepted_ids(*node.submit_batch([t.hex() for t in w.txs(50)]))) == 50
    node.stop(signal.SIGTERM)
    path = os.path.join(node.data_dir, "store", "data.mdb")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    patched = 0
    for page in range(2, len(data) // 4096):
        p = data[page * 4096:(page + 1) * 4096]
        if b"meta" in p and b"peers" in p and b"txs" in p:
            i = p.index(b"txs")
            data[page * 4096 + i + 2] = ord("z")
            patched += 1
    assert patched >= 1
    with open(path, "wb") as f:
        f.write(data)
    r = run_noded(tmp_path, [], data_dir=node.data_dir)
    assert r.returncode == STORE_EXIT, (r.returncode, r.stderr)
    assert path in r.stderr and "corrupt" in r.stderr, r.stderr
