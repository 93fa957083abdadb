"""
Memory budgets (issue 9, docs/SECURITY.md "Memory budgets"): what peers that
do not read, API clients without a token or with large bodies, and slow
event subscribers can make a node hold is bounded, and goes back after.

Budgets are given through the environment (NODED_PEER_SEND_BUDGET, ...),
which a node without these options ignores: on such a node the tests fail
on what it does, not on a refused option.  Assertions are on the node's
own gauges (noded_budget_bytes), not on RSS.
"""

import json
import socket
import struct
import time

import p2plib
from conftest import HOST, wait_until
from test_api import EventStream, call, check_error, start_api_node, streams, \
    write_token  # noqa: F401
from txlib import Wallet


def budget(node, kind, what="noded_budget_bytes"):
    """A labelled budget metric (None if the node has none)."""
    return node.metrics().get('%s{kind="%s"}' % (what, kind))


def fill_mempool(node, n, memo=200):
    """n transactions of about 300 bytes each in node's mempool; their ids (bytes)."""
    ids = []
    w = Wallet()
    for k in range(0, n, 100):
        batch = [w.tx(amount=1, memo=b"m" * memo) for _ in range(min(100, n - k))]
        code, body = node.submit_batch([t.hex() for t in batch])
        assert code == 200, body
        ids += [bytes.fromhex(t.id_hex()) for t in batch]
    wait_until(lambda: node.status()["mempool_txs"] >= n, 20, "mempool filled")
    return ids


def send_until_blocked(conn, data, seconds):
    """Sends data again and again for at most seconds, until the node stops
    taking it (its receive window full) or closes; returns the copies sent."""
    sent = 0
    conn.sock.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn.sock.sendall(data)
        except (socket.timeout, TimeoutError, OSError):
            break
        sent += 1
    return sent


# === peers ================================================================================

def test_a_peer_that_requests_and_never_reads_is_paused_then_cut(cluster):
    """A peer asks for known transactions again and again and reads nothing:
    the node stops reading its requests once its share of the send budget is
    queued (it does not queue up to the 16 MiB cut-off), disconnects it once
    nothing has drained for a while, and the gauge goes back to zero."""
    victim = cluster.start("victim", env={"NODED_PEER_SEND_BUDGET": "256k"})
    ids = fill_mempool(victim, 300)
    # About 100 KB of answers per GETDATA of the 300 ids.
    c = p2plib.SecureConn(victim.p2p_port)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.hello("hog")
    wait_until(lambda: c.node_id in victim.peer_ids(), 5, "hog active")
    # Each record is sealed once: send many distinct ones (the stream's nonces advance).
    records = b"".join(c.seal(p2plib.frame(p2plib.FRAME_GETDATA, p2plib.ids_payload(ids)))
                       for _ in range(200))
    c.sock.settimeout(5)
    try:
        c.sock.sendall(records)          # 200 x 9.6 KB: ~20 MB of answers asked for
    except OSError:
        pass
    # Nothing drains: cut within PEER_STALL_MS (5 s) and a tick.  (Reading
    # the socket to see it closed would drain it: watch the log instead.)
    wait_until(lambda: victim.log_grep(r"peer hog disconnected"), 30, "hog disconnected")
    # It was cut for not reading, with about its share queued (plus one
    # record's answers), not at the 16 MiB per-peer cut-off.  What was sent
    # also counts what the kernel's socket buffers took (a few MB on loopback).
    assert victim.log_grep(r"peer hog disconnected .*not reading: \d+ bytes queued "
                           r"\(its share of the send budget: 262144\), none taken for 5000 ms")
    queued = victim.metrics()['noded_bytes_sent_total{type="TX"}']
    assert queued < 8 << 20, queued
    assert budget(victim, "peer_send", "noded_budget_refused_total") >= 1
    peak = victim.status()["budgets"]["peer_send"]["peak"]
    assert peak < 1 << 20, peak
    assert budget(victim, "peer_send", "noded_budget_disconnects_total") == 1
    wait_until(lambda: budget(victim, "peer_send") == 0, 10, "peer_send budget back to 0")
    assert budget(victim, "peer_send", "noded_budget_limit_bytes") == 262144
    c.close()


def test_a_peer_that_reads_slowly_is_served_all_it_asked(cluster):
    """Backpressure, not drops: a peer over its share whose output drains is
    read again, and gets an answer to every request."""
    victim = cluster.start("victim", env={"NODED_PEER_SEND_BUDGET": "64k"})
    ids = fill_mempool(victim, 200)
    c = p2plib.SecureConn(victim.p2p_port, timeout=20)
    c.hello("slow")
    wait_until(lambda: c.node_id in victim.peer_ids(), 5, "slow active")
    rounds = 20
    c.sock.sendall(b"".join(c.seal(p2plib.frame(p2plib.FRAME_GETDATA, p2plib.ids_payload(ids)))
                            for _ in range(rounds)))
    got = 0
    deadline = time.monotonic() + 60
    while got < rounds * len(ids) and time.monotonic() < deadline:
        t, p = c.recv_frame()
        if t == p2plib.FRAME_TX:
            got += 1
        elif t == p2plib.FRAME_PING:
            c.send_frame(p2plib.FRAME_PONG, p)
    assert got == rounds * len(ids), got
    assert (budget(victim, "peer_send", "noded_budget_refused_total") or 0) >= 1
    assert budget(victim, "peer_send", "noded_budget_disconnects_total") == 0
    assert not c.peer_closed()
    c.close()
