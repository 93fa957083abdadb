"""
Attacks on the relay itself (issue 3, gossip), found in review and kept as
regressions: a hostile peer must not be able to keep a valid transaction from
a node, make it forget announcements, make it verify the same rejected
transaction again and again, or grow its memory by sending work and leaving.
"""

import os
import socket
import time

import p2plib
import txlib
from conftest import wait_connected, wait_until


def active(victim, *conns):
    wait_until(lambda: {c.node_id for c in conns} <= victim.peer_ids(), 5, "active")


def getdata_ids(conn, timeout):
    """All ids GETDATA'd of conn within timeout (answers PINGs)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn.timeout = max(0.05, deadline - time.monotonic())
            t, p = conn.recv_frame()
        except (socket.timeout, TimeoutError):
            break
        if t == p2plib.FRAME_GETDATA:
            got += p2plib.parse_ids(p)
        elif t == p2plib.FRAME_PING:
            conn.send_frame(p2plib.FRAME_PONG, p)
    return got


def asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def test_bad_copy_does_not_erase_the_honest_announcer(cluster, wallet):
    victim = cluster.start("victim", args=["--getdata-timeout-ms", "1000"])
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    good = p2plib.SecureConn(victim.p2p_port); good.hello("good")
    active(victim, evil, good)
    t = wallet.tx(amount=5)
    evil.inv([t.id()])
    assert t.id() in p2plib.parse_ids(evil.recv_until(p2plib.FRAME_GETDATA))
    good.inv([t.id()])            # recorded as the next announcer
    time.sleep(0.2)
    evil.send_frame(p2plib.FRAME_TX, t.with_bad_signature().encode())
    asked = getdata_ids(good, 4.0)
    print("good asked:", len(asked), "victim has tx:", victim.has_tx(t.id_hex()))
    assert t.id() in asked, "valid tx lost: the honest announcer was never asked"

def test_ids_announced_beyond_the_request_cap_are_asked_later(cluster, wallet):
    victim = cluster.start("victim", args=["--getdata-timeout-ms", "1000"])
    c = p2plib.SecureConn(victim.p2p_port); c.hello("busy")
    active(victim, c)
    fake = [os.urandom(32) for _ in range(5000)]
    for i in range(0, 5000, 1000):
        c.inv(fake[i:i + 1000])
    t = wallet.tx(amount=6)
    c.inv([t.id()])
    asked = getdata_ids(c, 1.5)
    print("asked", len(asked), "real asked:", t.id() in asked)
    # answer the fakes NOTFOUND so the cap frees; the real id is not asked again
    for i in range(0, 5000, 1000):
        c.send_frame(p2plib.FRAME_NOTFOUND, p2plib.ids_payload(fake[i:i + 1000]))
    asked2 = getdata_ids(c, 3.0)
    print("after NOTFOUND asked", len(asked2), t.id() in asked2, "has", victim.has_tx(t.id_hex()))
    assert t.id() in asked + asked2, "announced tx never requested"

def test_a_replayed_policy_rejection_is_not_verified_again(cluster, wallet):
    victim = cluster.start("victim")
    c = p2plib.SecureConn(victim.p2p_port); c.hello("replayer")
    active(victim, c)
    a = wallet.tx(amount=5, nonce=777)
    b = wallet.loser(a, amount=6)
    assert victim.submit(a.hex())[0] == 200
    v0 = victim.status().get("verified")
    for _ in range(200):
        c.send_frame(p2plib.FRAME_TX, b.encode())
    time.sleep(1.5)
    st = victim.status()
    print("verified before", v0, "after", st.get("verified"), "still connected", c.node_id in victim.peer_ids())
    assert st.get("verified") - v0 <= 1


def test_work_left_by_closed_peers_is_bounded(cluster, wallet):
    # Reconnecting as fast as it can from 127.0.0.1: the handshake rate
    # limits (test_admission.py) would refuse most of it, and are not tested here.
    victim = cluster.start("victim", args=["--validators", "1", "--validator-queue", "64",
                                           "--handshake-rate", "0",
                                           "--handshake-rate-per-ip", "0"])
    honest = cluster.start("honest", peers=[victim])
    wait_connected(victim, honest)
    pid = victim.proc.pid
    nid = txlib.netid("devnet")
    r0 = rss_kb(pid)
    t_end = time.monotonic() + 3
    cycles = 0
    base = txlib.now_ms()
    while time.monotonic() < t_end:
        c = p2plib.SecureConn(victim.p2p_port); c.hello("junk")
        rec = b""
        k = 0
        while True:
            t = txlib.Tx(netid_=nid, sender=wallet.pk, recipient=os.urandom(32), amount=1,
                         nonce=cycles * 1000 + k, timestamp_ms=base, sig=os.urandom(63) + bytes([os.urandom(1)[0] & 0x0f]))
            f = p2plib.frame(p2plib.FRAME_TX, t.encode())
            if len(rec) + len(f) > 65000:
                break
            rec += f; k += 1
        rec += p2plib.frame(p2plib.FRAME_TX, b"\x07" * 10)     # undecodable: closes us
        c.send_record(rec)
        p2plib.wait_closed(c.sock, 2); c.close()
        cycles += 1
    r1 = rss_kb(pid)
    # Each closed peer's unvalidated work is dropped with it: memory stays
    # bounded however often the attacker reconnects (it was ~300 MB in 3 s
    # when such work piled up), and an honest transaction still gets in.
    # (Not under AddressSanitizer, whose quarantine keeps freed memory.)
    if not asan(pid):
        assert r1 - r0 < 64 * 1024, "victim grew from %d to %d KiB in %d cycles" % (
            r0, r1, cycles)
    good = wallet.tx(amount=9)
    assert honest.submit(good.hex())[0] == 200
    wait_until(lambda: victim.has_tx(good.id_hex()), 60, "honest tx at victim")


def test_one_peer_announcing_junk_cannot_crowd_out_the_others(cluster, wallet):
    # More junk ids than the node keeps wanted overall: without a quota per
    # announcer, one peer would fill the table and honest ids be skipped.
    victim = cluster.start("victim")
    junk = p2plib.SecureConn(victim.p2p_port); junk.hello("junk")
    good = p2plib.SecureConn(victim.p2p_port); good.hello("good")
    active(victim, junk, good)
    for _ in range(210):
        junk.inv([os.urandom(32) for _ in range(1000)])
    # a PING round trip after the INVs: the victim has read them all
    junk.send_frame(p2plib.FRAME_PING, b"\0" * 8)
    t = wallet.tx(amount=7)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        junk.timeout = 5
        f, _ = junk.recv_frame()
        if f == p2plib.FRAME_PONG:
            break
    good.inv([t.id()])
    assert t.id() in getdata_ids(good, 5.0), \
        "an honest announcement was skipped after one peer's junk"


def test_many_peers_announcing_junk_leave_room_for_an_honest_one(cluster, wallet):
    # Twelve peers each announcing as many junk ids as one peer may first
    # announce when few are connected (20000): with a fixed quota they would
    # fill the table of 200000 wanted ids and honest announcements be
    # skipped.  Each peer's share shrinks with the number of peers instead.
    victim = cluster.start("victim")
    good = p2plib.SecureConn(victim.p2p_port); good.hello("good")
    junks = []
    for k in range(12):
        j = p2plib.SecureConn(victim.p2p_port); j.hello("junk%d" % k)
        junks.append(j)
    active(victim, good, *junks)
    for j in junks:
        for _ in range(20):
            j.inv([os.urandom(32) for _ in range(1000)])
        # a PING round trip after the INVs: the victim has read them all
        j.send_frame(p2plib.FRAME_PING, b"\0" * 8)
    for j in junks:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            j.timeout = 5
            f, _ = j.recv_frame()
            if f == p2plib.FRAME_PONG:
                break
    t = wallet.tx(amount=7)
    good.inv([t.id()])
    assert t.id() in getdata_ids(good, 5.0), \
        "an honest announcement was skipped after twelve peers' junk"
    assert victim.alive()


def flood_then(wallet_from, count, last):
    """Records carrying count valid TXs of wallet_from, then the TX last:
    the validator is FIFO, so last waits behind the flood."""
    recs, cur = [], b""
    for i in range(count):
        f = p2plib.frame(p2plib.FRAME_TX,
                         wallet_from.tx(amount=1, nonce=1000 + i).encode())
        if len(cur) + len(f) > 65000:
            recs.append(cur)
            cur = b""
        cur += f
    recs.append(cur + p2plib.frame(p2plib.FRAME_TX, last))
    return recs


def test_valid_copy_during_a_bad_copys_validation_is_not_lost(cluster, wallet):
    # The honest announcer is asked; a bad-signature copy from another peer
    # goes to the validator first (behind a flood), and the honest answer
    # arrives while it waits.  When the bad copy fails, the node must ask
    # the honest peer again rather than forget the transaction.
    victim = cluster.start("victim", args=["--validators", "1",
                                           "--getdata-timeout-ms", "1000"])
    good = p2plib.SecureConn(victim.p2p_port); good.hello("good")
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    active(victim, good, evil)
    t = wallet.tx(amount=5)
    recs = flood_then(txlib.Wallet(), 3000, t.with_bad_signature().encode())
    good.inv([t.id()])
    assert t.id() in p2plib.parse_ids(good.recv_until(p2plib.FRAME_GETDATA))
    for r in recs:
        evil.send_record(r)
    time.sleep(0.05)
    good.send_frame(p2plib.FRAME_TX, t.encode())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not victim.has_tx(t.id_hex()):
        good.timeout = 0.2
        try:
            f, p = good.recv_frame()
        except (socket.timeout, TimeoutError):
            continue
        if f == p2plib.FRAME_GETDATA and t.id() in p2plib.parse_ids(p):
            good.send_frame(p2plib.FRAME_TX, t.encode())
        elif f == p2plib.FRAME_PING:
            good.send_frame(p2plib.FRAME_PONG, p)
    assert victim.has_tx(t.id_hex()), "the valid copy was lost to the bad one"


def test_api_copy_during_a_bad_copys_validation_gets_its_own_verdict(cluster, wallet):
    # A wallet's valid transaction posted while a peer's bad-signature copy
    # of the same id is being validated must be judged on its own bytes.
    victim = cluster.start("victim", args=["--validators", "1"])
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    active(victim, evil)
    t = wallet.tx(amount=5)
    for r in flood_then(txlib.Wallet(), 3000, t.with_bad_signature().encode()):
        evil.send_record(r)
    time.sleep(0.05)
    code, body = victim.submit(t.hex())
    assert code == 200 and body["status"] == "accepted", (code, body)
    assert victim.has_tx(t.id_hex())


def test_crowd_of_inbound_announcers_cannot_shut_out_an_outbound_one(cluster, wallet):
    # Nine inbound peers announce an id first and never deliver it: more
    # than the announcers kept per id (8).  The peer the victim dialled
    # announces it after them and must still be asked.
    honest = cluster.start("honest")
    victim = cluster.start("victim", peers=[honest],
                           args=["--getdata-timeout-ms", "1000"])
    wait_connected(victim, honest)
    t = wallet.tx(amount=6)
    crowd = []
    for k in range(9):
        c = p2plib.SecureConn(victim.p2p_port); c.hello("crowd%d" % k)
        crowd.append(c)
    active(victim, *crowd)
    for c in crowd:
        c.inv([t.id()])
    # a PING round trip after the INVs: the victim has read them
    for c in crowd:
        c.send_frame(p2plib.FRAME_PING, b"\0" * 8)
        c.recv_until(p2plib.FRAME_PONG)
    assert honest.submit(t.hex())[0] == 200
    wait_until(lambda: victim.has_tx(t.id_hex()), 15,
               "the tx from the outbound announcer")



def records(frames):
    """Plaintext records (at most 65000 bytes each) carrying frames."""
    recs, cur = [], b""
    for f in frames:
        if len(cur) + len(f) > 65000:
            recs.append(cur)
            cur = b""
        cur += f
    return recs + [cur]


def test_flood_queued_by_a_dropped_peer_is_not_verified(cluster, wallet):
    # While the single validator is busy with 2000 valid transactions from
    # an honest peer, another peer queues 2000 with bad signatures behind
    # them, then sends an undecodable one and is dropped for it.  What it
    # left in the queue is skipped, not verified: a misbehaving peer must
    # not keep the workers busy after it is gone.
    victim = cluster.start("victim", args=["--validators", "1"])
    filler = p2plib.SecureConn(victim.p2p_port); filler.hello("filler")
    evil = p2plib.SecureConn(victim.p2p_port); evil.hello("evil")
    active(victim, filler, evil)
    nid = txlib.netid("devnet")
    base = txlib.now_ms()
    good = [p2plib.frame(p2plib.FRAME_TX, wallet.tx(amount=1).encode())
            for _ in range(2000)]
    bad = [p2plib.frame(p2plib.FRAME_TX, txlib.Tx(
        netid_=nid, sender=wallet.pk, recipient=os.urandom(32), amount=1,
        nonce=10 ** 6 + k, timestamp_ms=base, sig=os.urandom(64)).encode())
        for k in range(2000)]
    bad.append(p2plib.frame(p2plib.FRAME_TX, b"\x07" * 10))  # undecodable
    wire_good = b"".join(filler.seal(r) for r in records(good))
    wire_bad = b"".join(evil.seal(r) for r in records(bad))
    v0 = victim.status()["verified"]
    filler.send_raw(wire_good)
    evil.send_raw(wire_bad)
    p2plib.wait_closed(evil.sock, 10)
    evil.close()
    # connections coming and going meanwhile change nothing
    for _ in range(80):
        p2plib.connect(victim.p2p_port).close()
    wait_until(lambda: victim.status()["mempool_txs"] == 2000, 60,
               "the honest peer's 2000 transactions")
    wait_until(lambda: victim.status()["validator_queue_depth"] == 0, 30,
               "an empty validator queue")
    time.sleep(0.5)
    verified = victim.status()["verified"] - v0 - 2000
    assert verified < 1000, "%d of 2000 bad signatures verified after the drop" % verified


def test_api_copy_of_a_tx_queued_by_a_peer_that_leaves_gets_its_verdict(cluster, wallet):
    # A peer queues T behind 6000 others; the API posts the same bytes
    # (joining that validation); the peer leaves, so its queued jobs are
    # skipped.  The API caller must still get T judged: accepted.
    import threading
    victim = cluster.start("victim", args=["--validators", "1",
                                           "--validator-queue", "100000"])
    p = p2plib.SecureConn(victim.p2p_port); p.hello("relay")
    active(victim, p)
    t = wallet.tx(amount=77)
    frames = [p2plib.frame(p2plib.FRAME_TX, txlib.Wallet().tx(amount=1).encode())
              for _ in range(6000)]
    frames.append(p2plib.frame(p2plib.FRAME_TX, t.encode()))
    p.send_raw(b"".join(p.seal(r) for r in records(frames)))
    wait_until(lambda: victim.status()["validator_queue_depth"] > 3000, 10,
               "the peer's transactions queued")
    res = {}
    th = threading.Thread(target=lambda: res.update(r=victim.submit(t.hex())))
    th.start()
    time.sleep(0.05)
    p.close()
    th.join(60)
    assert res["r"][0] == 200 and res["r"][1]["status"] == "accepted", res
    assert victim.has_tx(t.id_hex())


# --- the wanted-id table under a crowd of junk announcers (issue 9) ----------

def fill_wanted_table(victim, peers=10, ids=20000):
    """
    peers inbound junk peers that connect one after another, each announcing
    ids fresh random ids and never answering GETDATA.  With a fair share of
    200000 / peers (at most 20000) worked out as each one announces, ten of
    them filled the 200000-entry table.  Returns the open connections.
    """
    junks = []
    for k in range(peers):
        j = p2plib.SecureConn(victim.p2p_port); j.hello("junk%d" % k)
        active(victim, j)
        for _ in range(ids // 1000):
            j.inv([os.urandom(32) for _ in range(1000)])
        # a PING round trip after the INVs: the victim has read them all
        j.send_frame(p2plib.FRAME_PING, b"\0" * 8)
        j.recv_until(p2plib.FRAME_PONG, 30)
        junks.append(j)
    return junks


def serve_until_fetched(victim, conn, t, timeout):
    """Answers conn's GETDATA for t (and PINGs) until the victim has t."""
    deadline = time.monotonic() + timeout
    asked = False
    while time.monotonic() < deadline and not victim.has_tx(t.id_hex()):
        conn.timeout = 0.2
        try:
            f, p = conn.recv_frame()
        except (socket.timeout, TimeoutError):
            continue
        if f == p2plib.FRAME_GETDATA and t.id() in p2plib.parse_ids(p):
            asked = True
            conn.send_frame(p2plib.FRAME_TX, t.encode())
        elif f == p2plib.FRAME_PING:
            conn.send_frame(p2plib.FRAME_PONG, p)
    return asked


def test_an_honest_announcement_beyond_a_full_wanted_table_is_fetched_later(cluster, wallet):
    # Ten junk peers fill the room of peers like them; an honest inbound
    # peer that has delivered nothing yet announces a valid transaction
    # after them.  It could not be tracked at once, so it is set aside,
    # logged, and asked for once junk entries time out: never dropped
    # silently (it was, and never asked again).  Junk requests time out
    # after 5 s: the table is still full when the honest peer announces.
    victim = cluster.start("victim", args=["--getdata-timeout-ms", "5000",
                                           "--log-level", "debug"])
    junks = fill_wanted_table(victim)
    good = p2plib.SecureConn(victim.p2p_port); good.hello("good")
    active(victim, good)
    t = wallet.tx(amount=8)
    good.inv([t.id()])
    asked = serve_until_fetched(victim, good, t, 20)
    print("asked:", asked, "victim has tx:", victim.has_tx(t.id_hex()))
    assert asked and victim.has_tx(t.id_hex()), \
        "an honest announcement was dropped when the wanted-id table was full"
    # Said in the log, summed up rather than line by line.
    wait_until(lambda: victim.log_grep(r"DEBUG gossip: wanted ids: deferred \d+ "
                                       r"announcements? from \d+ peers?"), 5,
               "the deferred announcements logged")
    dropped = victim.log_grep(r"INFO gossip: wanted ids: dropped \d+ deferred "
                              r"announcements? from \d+ peers?")
    assert dropped, "junk beyond the deferral queues dropped without a word"
    lines = victim.log_grep(r"gossip: wanted ids: ")
    print("\n".join(lines))
    assert len(lines) <= 4
    for j in junks:
        assert j.node_id in victim.peer_ids()


def test_outbound_and_productive_peers_keep_room_in_a_full_wanted_table(cluster, wallet):
    # The same flood; a peer the victim dialled and an inbound peer that has
    # delivered a valid transaction have room of their own, which a crowd of
    # new inbound peers cannot take: their announcements are asked at once.
    # Junk requests time out only after 60 s: no room frees meanwhile.
    honest = cluster.start("honest")
    victim = cluster.start("victim", peers=[honest],
                           args=["--getdata-timeout-ms", "60000"])
    wait_connected(victim, honest)
    prod = p2plib.SecureConn(victim.p2p_port); prod.hello("productive")
    active(victim, prod)
    first = wallet.tx(amount=3)
    prod.send_frame(p2plib.FRAME_TX, first.encode())
    wait_until(lambda: victim.has_tx(first.id_hex()), 10, "the first tx")
    # Two more junk peers than above: these two peers' shares counted too,
    # the old rule's table was full.
    fill_wanted_table(victim, peers=12)
    t1, t2 = wallet.tx(amount=4), wallet.tx(amount=5)
    prod.inv([t2.id()])
    assert honest.submit(t1.hex())[0] == 200
    asked = serve_until_fetched(victim, prod, t2, 5)
    assert asked and victim.has_tx(t2.id_hex()), \
        "a productive peer's announcement was not asked at once"
    wait_until(lambda: victim.has_tx(t1.id_hex()), 5,
               "the outbound peer's tx at once")
