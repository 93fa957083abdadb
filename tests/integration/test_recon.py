"""
Set reconciliation (issue 10, docs/PROTOCOL.md section 7): a new link
reconciles the two mempools instead of announcing one to the other, and an
outbound link reconciles again every --recon-interval.  Byte figures come
from /metrics (noded_recon_bytes_total, noded_frames_sent_total by type);
bounds are generous, the figures themselves are in tests/bench.
"""

import time

from conftest import wait_connected, wait_until
from txlib import Wallet


def cut(node, others):
    code, body = node.request("POST", "/v1/partition",
                              {"cut": [o.node_id for o in others]},
                              headers=node.admin_headers())
    assert code == 200, body


def heal(node):
    code, body = node.request("DELETE", "/v1/partition",
                              headers=node.admin_headers())
    assert code == 200, body


def metric(node, name, **labels):
    key = name
    if labels:
        key += "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    return node.metrics().get(key, 0.0)


def recon_bytes(*nodes):
    """RECON_* bytes sent by these nodes (what crossed the links)."""
    return sum(metric(n, "noded_recon_bytes_total", dir="sent") for n in nodes)


def sessions_ok(*nodes):
    return sum(metric(n, "noded_recon_sessions_total", result="ok")
               for n in nodes)


def split(a, b):
    cut(a, [b])
    cut(b, [a])
    wait_until(lambda: b.node_id not in a.peer_ids() and
               a.node_id not in b.peer_ids(), 10, "the link cut")


def join(a, b):
    heal(a)
    heal(b)
    wait_connected(a, b, timeout=15)


def submit_all(node, txs):
    for i in range(0, len(txs), 1000):
        code, body = node.submit_batch([t.hex() for t in txs[i:i + 1000]])
        assert code == 200 and body["accepted"] == len(txs[i:i + 1000]), body


def test_recon_same_mempools_move_almost_nothing(cluster):
    n1 = cluster.start("r1")
    n2 = cluster.start("r2", peers=[n1])
    wait_connected(n1, n2)
    split(n1, n2)
    txs = Wallet().txs(2000)
    submit_all(n1, txs)
    submit_all(n2, txs)
    inv_before = (metric(n1, "noded_frames_sent_total", type="INV") +
                  metric(n2, "noded_frames_sent_total", type="INV"))
    bytes_before, ok_before = recon_bytes(n1, n2), sessions_ok(n1, n2)
    join(n1, n2)
    # One session on the new link, counted by both ends (a link that
    # loses a duplicate race may add one).
    wait_until(lambda: sessions_ok(n1, n2) >= ok_before + 2, 15,
               "a session decoded and answered")
    moved = recon_bytes(n1, n2) - bytes_before
    # The whole-mempool announcement of one side is 2,000 * 32 bytes plus
    # headers (64 KB); reconciling equal sets takes a RECON_INIT, one batch
    # of 32 symbols and a RECON_DONE (about 460 bytes) per session.
    assert 0 < moved < 2000, moved
    assert metric(n1, "noded_recon_fallbacks_total") == 0
    assert metric(n2, "noded_recon_fallbacks_total") == 0
    inv_after = (metric(n1, "noded_frames_sent_total", type="INV") +
                 metric(n2, "noded_frames_sent_total", type="INV"))
    assert inv_after == inv_before, (inv_before, inv_after)
    assert n1.mempool_ids() == n2.mempool_ids()


def test_recon_brings_back_what_each_side_missed(cluster):
    n1 = cluster.start("m1")
    n2 = cluster.start("m2", peers=[n1])
    wait_connected(n1, n2)
    w = Wallet()
    common = w.txs(300)
    submit_all(n1, common)
    wait_until(lambda: all(n2.has_tx(t.id_hex()) for t in common), 20,
               "the common txs at m2")
    split(n1, n2)
    only1, only2 = w.txs(40), w.txs(25)
    submit_all(n1, only1)
    submit_all(n2, only2)
    bytes_before = recon_bytes(n1, n2)
    diff_before = (metric(n1, "noded_recon_diff_total") +
                   metric(n2, "noded_recon_diff_total"))
    join(n1, n2)
    wait_until(lambda: all(n2.has_tx(t.id_hex()) for t in only1) and
               all(n1.has_tx(t.id_hex()) for t in only2), 20,
               "each side's txs on the other")
    # The initiator counts the 65 it found, the responder the ids it was
    # asked for (40 or 25, by who dialled).
    diff = (metric(n1, "noded_recon_diff_total") +
            metric(n2, "noded_recon_diff_total")) - diff_before
    assert diff >= 65 + 25, diff
    moved = recon_bytes(n1, n2) - bytes_before
    assert moved < 6000, moved
    wait_until(lambda: n1.mempool_ids() == n2.mempool_ids(), 10,
               "equal mempools")


def test_recon_periodic_rounds(cluster):
    n1 = cluster.start("p1")
    n2 = cluster.start("p2", peers=[n1], args=["--recon-interval", "1100ms"])
    wait_connected(n1, n2)
    wait_until(lambda: metric(n2, "noded_recon_sessions_total",
                              result="ok") >= 4, 20, "periodic sessions")
    # The inbound side answers; it starts none of its own.
    assert metric(n1, "noded_recon_sessions_total", result="ok") >= 3
    assert metric(n1, "noded_recon_sessions_total", result="refused") == 0
    # A tx m1 got while the link was cut comes back at once on the new
    # link, and later ones are still relayed as before.
    split(n1, n2)
    t = Wallet().tx(amount=9)
    assert n1.submit(t.hex())[0] == 200
    join(n1, n2)
    wait_until(lambda: n2.has_tx(t.id_hex()), 15, "the missed tx at p2")
    u = Wallet().tx(amount=8)
    assert n2.submit(u.hex())[0] == 200
    wait_until(lambda: n1.has_tx(u.id_hex()), 15, "a new tx relayed")


def test_recon_off_and_version_1_peers_still_catch_up(cluster):
    # --recon-interval 0: only the first round, on connect.
    n1 = cluster.start("o1")
    txs = Wallet().txs(50)
    submit_all(n1, txs)
    n2 = cluster.start("o2", peers=[n1], args=["--recon-interval", "0"])
    wait_connected(n1, n2)
    wait_until(lambda: all(n2.has_tx(t.id_hex()) for t in txs), 20,
               "the mempool at o2")
    assert metric(n2, "noded_recon_sessions_total", result="ok") == 1
    assert metric(n2, "noded_recon_diff_total") == 50


# --- the wire, from an independent client (tests/integration/p2plib.py) ---

def siphash24(key, data):
    import ctypes
    from p2plib import sodium
    out = ctypes.create_string_buffer(8)
    sodium.crypto_shorthash_siphash24(out, data, ctypes.c_ulonglong(len(data)),
                                      key)
    return int.from_bytes(out.raw, "little")


def recon_key(salt_i, salt_r):
    import hashlib
    return hashlib.blake2b(b"noded recon v1" + salt_i + salt_r,
                           digest_size=16).digest()


def hello_v(conn, version):
    import p2plib
    conn.send_frame(p2plib.FRAME_HELLO,
                    p2plib.hello_payload("probe", 0, version=version))
    return conn.recv_until(p2plib.FRAME_HELLO)


def test_recon_wire_answers_as_specified(cluster):
    import os
    import struct
    import p2plib
    n = cluster.start("w1")
    t = Wallet().tx(amount=5)
    assert n.submit(t.hex())[0] == 200
    conn = p2plib.SecureConn(n.p2p_port)
    hello_v(conn, 2)
    salt_i = os.urandom(16)
    conn.send_frame(p2plib.FRAME_RECON_INIT,
                    struct.pack(">I", 7) + salt_i + struct.pack(">IH", 0, 3))
    p = conn.recv_until(p2plib.FRAME_RECON_SYMBOLS)
    session, = struct.unpack(">I", p[:4])
    salt_r = p[4:20]
    set_size, first, count = struct.unpack(">IIH", p[20:30])
    assert (session, set_size, first, count) == (7, 1, 0, 3)
    assert len(p) == 30 + 3 * 11
    # Symbol 0 holds every id: here the one transaction, as 7.2 and 7.3 say.
    key = recon_key(salt_i, salt_r)
    s = siphash24(key, t.id())
    h = siphash24(key, s.to_bytes(8, "little"))
    assert p[30:41] == s.to_bytes(8, "big") + (h & 0xffffff).to_bytes(3, "big")
    # Asked for by short id, it is announced by its full id.
    conn.send_frame(p2plib.FRAME_RECON_WANT,
                    struct.pack(">IH", 7, 1) + s.to_bytes(8, "big"))
    conn.send_frame(p2plib.FRAME_RECON_DONE, struct.pack(">IB", 7, 0))
    inv = conn.recv_until(p2plib.FRAME_INV)
    assert p2plib.parse_ids(inv) == [t.id()]
    # A second RECON_INIT within a second is refused (RECON_DONE 2).
    conn.send_frame(p2plib.FRAME_RECON_INIT,
                    struct.pack(">I", 9) + salt_i + struct.pack(">IH", 0, 1))
    assert conn.recv_until(p2plib.FRAME_RECON_DONE) == struct.pack(">IB", 9, 2)
    time.sleep(1.1)
    # More short ids wanted than symbols sent: a protocol error.
    conn.send_frame(p2plib.FRAME_RECON_INIT,
                    struct.pack(">I", 8) + salt_i + struct.pack(">IH", 0, 1))
    conn.recv_until(p2plib.FRAME_RECON_SYMBOLS)
    conn.send_frame(p2plib.FRAME_RECON_WANT,
                    struct.pack(">IH", 8, 2) + os.urandom(16))
    wait_until(conn.peer_closed, 10, "the node to close the link")
    assert n.log_grep(r"RECON_WANT of more short ids than symbols sent")
    # RECON_* from a version 1 peer, and a malformed one: closed, named.
    old = p2plib.SecureConn(n.p2p_port)
    hello_v(old, 1)
    old.send_frame(p2plib.FRAME_RECON_INIT,
                   struct.pack(">I", 1) + salt_i + struct.pack(">IH", 0, 1))
    wait_until(old.peer_closed, 10, "the node to close the v1 link")
    assert n.log_grep(r"protocol error: RECON_INIT from a version 1 peer")
    bad = p2plib.SecureConn(n.p2p_port)
    hello_v(bad, 2)
    bad.send_frame(p2plib.FRAME_RECON_INIT,
                   struct.pack(">I", 1) + salt_i + struct.pack(">IH", 0, 0))
    wait_until(bad.peer_closed, 10, "the node to close the bad link")
    assert n.log_grep(r"bad RECON_INIT: reconciliation want out of range")
    assert n.alive()


def test_recon_periodic_round_brings_back_a_tx_missed_on_a_live_link(cluster):
    """p2 and p3 refuse a tx with a timestamp 3 s ahead (their
    --max-future-ms is 500) that p1 accepts and announces once; the refusal
    is remembered for 30 s (PROTOCOL.md 5.3), and p1 never announces it to
    them again.  Once it is valid to them, p2's periodic rounds bring it
    back over the same link; p3, with --recon-interval 0, never gets it."""
    quiet = ["--peer-exchange", "off"]
    n1 = cluster.start("q1", args=quiet)
    n2 = cluster.start("q2", peers=[n1], args=quiet + [
        "--max-future-ms", "500", "--recon-interval", "1s"])
    n3 = cluster.start("q3", peers=[n1], args=quiet + [
        "--max-future-ms", "500", "--recon-interval", "0"])
    wait_connected(n1, n2)
    wait_connected(n1, n3)
    t = Wallet().tx(amount=6, timestamp_ms=int(time.time() * 1000) + 3000)
    link = [p for p in n2.peers() if p["node_id"] == n1.node_id][0]
    assert n1.submit(t.hex())[0] == 200
    wait_until(lambda: n2.log_grep(r"tx %.16s rejected" % t.id_hex()) and
               n3.log_grep(r"tx %.16s rejected" % t.id_hex()), 10,
               "the refusals")
    wait_until(lambda: n2.has_tx(t.id_hex()), 60, "the tx back at q2")
    # Over the link it was refused on, not a new one.
    again = [p for p in n2.peers() if p["node_id"] == n1.node_id][0]
    assert again["connected_since_ms"] == link["connected_since_ms"]
    assert not n3.has_tx(t.id_hex())
    assert metric(n2, "noded_recon_diff_total") >= 1
