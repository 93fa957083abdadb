"""
Peer exchange and dial targets against hostile input (found in review, kept
as regressions): a PEERS answer must not make a node dial itself again and
again, nor redial an honest peer it is already linked to under a made-up
node id, nor push the addresses it has seen on real connections out of its
address book; PEERS nobody asked for is ignored; POST /v1/peers is bounded.
"""

import json
import os
import socket
import struct
import time
import urllib.error
import urllib.request

import p2plib
from conftest import wait_until


def peers_payload(entries):
    out = struct.pack(">H", len(entries))
    for nid, ip4, port in entries:
        out += nid + b"\x04" + socket.inet_aton(ip4) + b"\x00" * 12 + \
            struct.pack(">H", port)
    return out


def serve(conn, seconds, answer=None):
    """Answers PINGs for seconds; answer(conn) on each GETPEERS."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.timeout = max(0.05, min(0.5, deadline - time.monotonic()))
        try:
            f, p = conn.recv_frame()
        except (socket.timeout, TimeoutError):
            continue
        if f == p2plib.FRAME_PING:
            conn.send_frame(p2plib.FRAME_PONG, p)
        elif f == p2plib.FRAME_GETPEERS and answer is not None:
            answer(conn)


def count(node, pattern):
    return len(node.log_grep(pattern))


def test_peers_naming_the_node_itself_are_dialled_once(cluster):
    victim = cluster.start("victim")
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    wait_until(lambda: evil.node_id in victim.peer_ids(), 5, "active")
    # the GETPEERS sent on connect, answered with nobody; then PEERS nobody
    # asked for, which is ignored
    evil.recv_until(p2plib.FRAME_GETPEERS)
    evil.send_frame(p2plib.FRAME_PEERS, peers_payload([]))
    evil.send_frame(p2plib.FRAME_PEERS, peers_payload(
        [(os.urandom(32), "127.0.0.1", victim.p2p_port) for _ in range(100)]))
    serve(evil, 1.5)
    assert count(victim, r"connected to itself") == 0
    # the answers to its GETPEERS: made-up ids, all at its own address
    sent = []

    def answer(conn):
        conn.send_frame(p2plib.FRAME_PEERS, peers_payload(
            [(os.urandom(32), "127.0.0.1", victim.p2p_port)
             for _ in range(100)]))
        sent.append(1)
    serve(evil, 12, answer)
    assert sent, "the victim never sent GETPEERS"
    # one dial finds out the address is its own; every entry there goes
    # (each self-connection logs a line at both ends of the link)
    selfs = count(victim, r"connected to itself")
    assert 1 <= selfs <= 2, "%d 'connected to itself' lines in 12 s" % selfs
    assert count(victim, r"reaches this node itself") == 1
    assert victim.alive()


def test_peers_giving_a_linked_peer_another_id_do_not_disturb_the_link(cluster):
    victim = cluster.start("victim")
    honest = cluster.start("honest", peers=[victim])
    wait_until(lambda: honest.node_id in victim.peer_ids(), 10, "honest linked")
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    wait_until(lambda: evil.node_id in victim.peer_ids(), 5, "active")
    sent = []

    def answer(conn):
        conn.send_frame(p2plib.FRAME_PEERS, peers_payload(
            [(os.urandom(32), "127.0.0.1", honest.p2p_port)]))
        sent.append(1)
    serve(evil, 12, answer)
    assert sent, "the victim never sent GETPEERS"
    dups = count(victim, r"duplicate connection")
    assert dups == 0, "%d duplicate-connection closes in 12 s" % dups
    assert count(victim, r"peer honest disconnected") == 0
    assert honest.node_id in victim.peer_ids()


def test_hearsay_does_not_evict_addresses_seen_on_connections(cluster):
    # The victim learns honest's address on a real link (direct), then gets
    # far more hearsay than its address book holds.  After honest restarts
    # the victim must still know where to find it.
    victim = cluster.start("victim", args=["--outbound", "8"])
    honest = cluster.start("honest", peers=[victim])
    wait_until(lambda: honest.node_id in victim.peer_ids(), 10, "honest linked")
    # eleven peers each answer the GETPEERS sent on connect with 100 junk
    # addresses: more than the book holds (1000)
    evils = []
    for k in range(11):
        evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil%d" % k)
        evil.recv_until(p2plib.FRAME_GETPEERS)
        evil.send_frame(p2plib.FRAME_PEERS, peers_payload(
            [(os.urandom(32), "127.0.0.%d" % (2 + k), 1 + j)
             for j in range(100)]))
        evils.append(evil)
    time.sleep(1)
    for evil in evils:
        evil.close()
    # honest goes away without dialling back; the victim must redial it
    honest.stop()
    time.sleep(1)
    # back on the same port and key, without --peer: it cannot dial out
    honest.peer_addrs = []
    ok, why = honest._start_once()
    assert ok, why
    wait_until(lambda: honest.node_id in victim.peer_ids(), 45,
               "victim redials the address it saw on a connection")


def post_peer(node, addr):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/v1/peers" % node.api_port,
        data=json.dumps({"addr": addr}).encode(), method="POST",
        headers=dict(node.admin_headers(), **{"Content-Type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


def test_post_peers_is_bounded(cluster):
    victim = cluster.start("victim")
    codes = [post_peer(victim, "h%d.example.invalid:%d" % (k, 7000 + k))[0]
             for k in range(64)]
    assert codes == [202] * 64
    code, body = post_peer(victim, "h64.example.invalid:7064")
    assert code == 422 and "64 peers added through the API" in body["error"], body
    # an address already added is still accepted (it is not a new one)
    assert post_peer(victim, "h3.example.invalid:7003")[0] == 202
    assert victim.alive() and victim.status() is not None


def test_every_getpeers_is_answered_at_most_one_peers_a_second(cluster):
    """docs/PROTOCOL.md 5.6: every GETPEERS gets a PEERS; one that comes less
    than a second after the last answer waits for that second; a burst of
    them shares one answer.  (Once a GETPEERS within the second got nothing.)"""
    a = cluster.start("gp")
    probe = p2plib.SecureConn(a.p2p_port)
    probe.hello("probe")
    wait_until(lambda: probe.node_id in a.peer_ids(), 5, "active")
    got = []

    def collect(seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            probe.timeout = max(0.05, min(0.5, deadline - time.monotonic()))
            try:
                f, p = probe.recv_frame()
            except (socket.timeout, TimeoutError):
                continue
            if f == p2plib.FRAME_PING:
                probe.send_frame(p2plib.FRAME_PONG, p)
            elif f == p2plib.FRAME_PEERS:
                got.append(time.monotonic())

    t0 = time.monotonic()
    probe.send_frame(p2plib.FRAME_GETPEERS)
    collect(0.3)
    assert len(got) == 1, "the first GETPEERS was not answered at once"
    # Five more at once, within the second: one answer, after the second.
    for _ in range(5):
        probe.send_frame(p2plib.FRAME_GETPEERS)
    collect(2.0)
    assert len(got) == 2, "%d PEERS for a burst of 5 GETPEERS within a second" % (
        len(got) - 1)
    assert got[1] - got[0] >= 0.95, "two PEERS %.3f s apart" % (got[1] - got[0])
    assert got[1] - t0 < 3.0, "the deferred answer came %.2f s after" % (got[1] - t0)
