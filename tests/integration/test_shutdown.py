"""
Signals (issue 3, "The node" item 8): SIGTERM and SIGINT stop the node
cleanly (exit 0 within 2 s) even in the middle of a flood of transactions,
with no sanitizer report; SIGHUP reopens the log file.
"""

import http.client
import json
import os
import signal
import subprocess
import threading

from conftest import HOST, NODED, wait_all_have, wait_connected, wait_until
from txlib import Wallet

EXIT_WITHIN_S = 2.0


class Flooder(threading.Thread):
    """Submits pre-signed transactions over one keep-alive connection as fast
    as the node answers, singly or in batches, until stopped or refused."""

    def __init__(self, node, hexes, batch=1):
        super().__init__(daemon=True)
        self.node, self.hexes, self.batch = node, hexes, batch
        self.sent = 0
        self.accepted = 0
        self.statuses = {}
        self.stop = threading.Event()
        self.error = None

    def run(self):
        conn = None
        i = 0
        while not self.stop.is_set() and i < len(self.hexes):
            chunk = self.hexes[i:i + self.batch]
            i += len(chunk)
            body = {"tx": chunk[0]} if self.batch == 1 else {"txs": chunk}
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.node.api_port, timeout=10)
                conn.request("POST", "/v1/tx", body=json.dumps(body),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                self.sent += len(chunk)
                self.statuses[resp.status] = self.statuses.get(resp.status, 0) + 1
                if resp.status == 200:
                    self.accepted += (json.loads(data)["accepted"]
                                      if self.batch > 1 else 1)
            except (OSError, http.client.HTTPException, ValueError) as e:
                # Expected once the node shuts down.
                self.error = e
                if conn is not None:
                    conn.close()
                    conn = None
                if not self.node.alive():
                    break
        if conn is not None:
            conn.close()


def assert_clean_exit(node, code, took):
    assert code == 0, "%s exited with %s; stderr tail:\n%s" % (
        node.name, code, node.stderr_tail(40))
    assert took < EXIT_WITHIN_S, "%s took %.2f s to exit" % (node.name, took)
    assert not node.sanitizer_reports(), node.stderr_tail(80)


def test_sigterm_during_flood_exits_0_within_2s(cluster):
    a = cluster.start("flood1")
    b = cluster.start("flood2", peers=[a])
    wait_connected(a, b)
    w = Wallet()
    hexes = [t.hex() for t in w.txs(20000, amount=1)]
    floods = [Flooder(a, hexes[:5000]), Flooder(a, hexes[5000:], batch=100)]
    for f in floods:
        f.start()
    # Stop in the middle: the node is busy verifying and relaying.  Answered
    # "accepted" counts, not the mempool: an answer waits for the store's
    # commit (on its own thread), and the pending ones get 503 at SIGTERM.
    wait_until(lambda: sum(f.accepted for f in floods) >= 300 and
               b.status()["mempool_txs"] >= 50,
               30, "the flood to be under way at both nodes")
    assert all(f.is_alive() for f in floods), "flood finished before SIGTERM"

    code, took = a.stop(signal.SIGTERM)
    for f in floods:
        f.stop.set()
        f.join(10)
    assert_clean_exit(a, code, took)
    assert sum(f.accepted for f in floods) >= 300
    # The honest peer saw a go, logged it and keeps running.
    wait_until(lambda: b.peers() == [], 10, "flood2 to notice flood1 left")
    assert b.alive()
    assert b.log_grep(r"flood1|" + a.node_id[:16])
    code, took = b.stop(signal.SIGTERM)
    assert_clean_exit(b, code, took)


def test_sigint_exits_0_within_2s_with_peers(cluster):
    a = cluster.start("int1")
    b = cluster.start("int2", peers=[a])
    wait_connected(a, b)
    t = Wallet().tx(amount=5)
    assert a.submit(t.hex())[0] == 200
    wait_all_have([b], [t.id_hex()], 10)
    code, took = b.stop(signal.SIGINT)
    assert_clean_exit(b, code, took)
    code, took = a.stop(signal.SIGTERM)
    assert_clean_exit(a, code, took)


def test_sighup_reopens_log_file(cluster):
    a = cluster.start("hup1")
    wait_until(lambda: a.log_lines(), 5, "hup1 to write its log")
    rotated = a.log_path + ".1"
    os.rename(a.log_path, rotated)
    a.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: os.path.exists(a.log_path), 5, "a new noded.log after SIGHUP")
    # New events go to the new file, none to the rotated one.
    size = os.path.getsize(rotated)
    t = Wallet().tx(amount=9)
    assert a.submit(t.hex())[0] == 200
    wait_until(lambda: a.log_grep(t.id_hex()[:16]), 5, "the tx in the new log")
    with open(rotated, encoding="utf-8", errors="replace") as f:
        assert t.id_hex()[:16] not in f.read()
    assert os.path.getsize(rotated) >= size
    assert a.alive()
    code, took = a.stop()
    assert_clean_exit(a, code, took)


def test_one_node_per_data_dir(cluster):
    """A second noded on a data dir in use exits 2, naming the dir and the
    holder's pid (issue 10: two ran happily on one data dir: same identity,
    one log); once the first is gone, even by SIGKILL, the dir is free."""
    a = cluster.start("locked")
    second = subprocess.run(
        [NODED, "--data-dir", a.data_dir, "--listen", "127.0.0.1:0",
         "--api", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert second.returncode == 2, (second.returncode, second.stderr)
    assert "'%s' is in use by another noded (pid %d)" % (a.data_dir, a.proc.pid) \
        in second.stderr, second.stderr
    assert a.status()["name"] == "locked"
    a.kill()
    a.start()
    assert a.status()["name"] == "locked"
