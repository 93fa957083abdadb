"""
Inbound admission, handshake cost and bans (issue 9, docs/SECURITY.md):
connections still in the handshake have a pool of their own, a per-address
limit and a deadline, so half-open and slowloris floods cannot keep an
honest peer out; new inbound handshakes are rate limited before the node
spends a key pair on them; a full inbound set makes room for a newcomer by
pushing out an unproductive peer, never a productive one; a peer that
proves misbehaviour is banned by node key and address, survives a restart,
shows in GET /v1/bans and nodectl bans, and unban lets it back.

Attackers bind other loopback addresses (127.0.0.2, ...), as the hostile
benchmark's --attacker-ip does, so that per-address limits tell them from
the honest peer on 127.0.0.1.
"""

import os
import select
import socket
import subprocess
import threading
import time

import pytest

import p2plib
from conftest import NODECTL, wait_connected, wait_until
from test_hostile import offer_tx


def refused(node, reason):
    return node.metric('noded_inbound_refused_total{reason="%s"}' % reason) or 0


class Flood:
    """
    Sockets from `ips` (per_ip each) to port that never finish a handshake:
    idle (half-open), or sending a valid M1 one byte every `drip` seconds
    (slowloris).  A socket the node closes is reopened at once, as an
    attacker would.  Runs in a thread until stop().
    """

    def __init__(self, port, ips, per_ip, drip=None):
        self.port, self.ips, self.per_ip, self.drip = port, ips, per_ip, drip
        self.socks = {}         # socket -> (ip, bytes of M1 sent)
        self.opened = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, ip):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((ip, 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.socks[s] = [ip, 0, time.monotonic()]
            self.opened += 1
        except OSError:
            pass

    def _run(self):
        m1 = p2plib.m1()
        for ip in self.ips:
            for _ in range(self.per_ip):
                self._open(ip)
        last_drip = time.monotonic()
        later = []              # (when, ip): sockets refused at once reopen then
        while not self.stopping:
            r, _, _ = select.select(list(self.socks), [], [], 0.05)
            now = time.monotonic()
            for s in r:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    ip, _, t = self.socks.pop(s)
                    s.close()
                    if now - t < 0.2:
                        # Refused at accept: back in 0.5 s, not in a loop
                        # of hundreds of connections a second, which fills
                        # the kernel's connection-tracking table on a host
                        # running Docker (then it drops every SYN, honest
                        # ones too: a test of the host, not of the node).
                        later.append((now + 0.5, ip))
                    else:
                        self._open(ip)
            for when, ip in [x for x in later if x[0] <= now]:
                later.remove((when, ip))
                self._open(ip)
            if self.drip and time.monotonic() - last_drip >= self.drip:
                last_drip = time.monotonic()
                for s, st in list(self.socks.items()):
                    if st[1] < len(m1):
                        try:
                            s.send(m1[st[1]:st[1] + 1])
                            st[1] += 1
                        except OSError:
                            pass

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        for s in self.socks:
            s.close()


def try_join(port, timeout=2.0, source=None, seed=None):
    """One restarting honest peer: handshake and HELLO within timeout.  True if it got in."""
    try:
        c = p2plib.SecureConn(port, timeout=timeout, source=source, seed=seed)
        c.hello("probe")
        c.close()
        return True
    except (OSError, p2plib.HandshakeError, socket.timeout):
        return False


@pytest.mark.parametrize("mode", ["halfopen", "slowloris"])
def test_flood_of_unfinished_handshakes_leaves_room_for_an_honest_peer(cluster, mode):
    # --max-peers 20 against 60 flooding sockets from 10 addresses: before
    # the handshake pool, the flood held every inbound slot (issue 9: a
    # restarting peer got in 1 time in 21).  Now they share a pool of 32
    # handshakes, at most 4 an address, and never count against --max-peers.
    victim = cluster.start("victim", args=["--max-peers", "20"])
    ips = ["127.0.0.%d" % k for k in range(2, 12)]
    flood = Flood(victim.p2p_port, ips, 6, drip=1.0 if mode == "slowloris" else None)
    flood.start()
    try:
        wait_until(lambda: flood.opened >= 60, 10, "flood sockets open")
        time.sleep(1.0)
        # The target is 2 s a try; the bench measures that.  Here
        # the wait is generous (a loaded machine), since the old node did not
        # answer slowly, it refused.
        got = 0
        for _ in range(20):
            got += try_join(victim.p2p_port, timeout=10.0)
            time.sleep(0.1)
    finally:
        flood.stop()
    assert got >= 19, "an honest peer got in %d times of 20 during a %s flood" % (got, mode)
    assert victim.status() is not None


def test_slowloris_socket_is_closed_at_the_handshake_deadline(cluster):
    # One byte of M1 every 0.2 s: the node's data never completes the
    # handshake, and the deadline counts from the connection, not from the
    # last byte.
    victim = cluster.start("victim", args=["--handshake-timeout-ms", "1000"])
    s = p2plib.connect(victim.p2p_port, source="127.0.0.2")
    addr = p2plib.local_addr(s)
    m1 = p2plib.m1()
    t0 = time.monotonic()
    closed = False
    for i in range(len(m1) - 1):
        if p2plib.send_quietly(s, m1[i:i + 1]) == 0:
            closed = True
            break
        closed, _ = p2plib.wait_closed(s, 0.2)
        if closed:
            break
    s.close()
    assert closed, "a slowloris socket was still open after %.1f s" % (time.monotonic() - t0)
    wait_until(lambda: victim.log_grep(addr + r".*handshake timeout"), 10,
               "the victim to log the handshake timeout of %s" % addr)
    wait_until(lambda: (victim.metric('noded_handshakes_total{result="timeout"}') or 0) >= 1,
               10, "noded_handshakes_total{result=timeout}")


def got_m1(sock, timeout=3.0):
    """True if the node sent its M1 on sock; False if it closed without a byte."""
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < p2plib.M1_LEN and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], max(0, deadline - time.monotonic()))
        if not r:
            break
        try:
            chunk = sock.recv(64)
        except OSError:
            return False
        if not chunk:
            return False
        buf += chunk
    return buf[:4] == p2plib.M1_MAGIC


def test_handshakes_from_one_address_are_limited(cluster):
    victim = cluster.start("victim", args=["--max-handshaking-per-ip", "4"])
    socks = [p2plib.connect(victim.p2p_port, source="127.0.0.2") for _ in range(6)]
    try:
        answered = [got_m1(s) for s in socks]
        assert answered.count(True) == 4, answered
        # Another address is not held back by the first one's.
        other = p2plib.connect(victim.p2p_port, source="127.0.0.3")
        assert got_m1(other)
        other.close()
    finally:
        for s in socks:
            s.close()
    assert refused(victim, "handshaking_per_ip") >= 2
    assert victim.log_grep(r"refusing connection from 127\.0\.0\.2:\d+: per-address "
                           r"handshake limit")


def test_per_address_limits_spare_127_0_0_1(cluster):
    # Every local program shares 127.0.0.1 (a local cluster dials one node
    # from it many times): only the node-wide limits apply to it.
    victim = cluster.start("victim", args=["--max-handshaking-per-ip", "2",
                                           "--handshake-rate-per-ip", "2"])
    socks = [p2plib.connect(victim.p2p_port) for _ in range(6)]
    try:
        assert all(got_m1(s) for s in socks)
    finally:
        for s in socks:
            s.close()
    assert refused(victim, "handshaking_per_ip") == 0
    assert refused(victim, "handshake_rate_per_ip") == 0


@pytest.mark.parametrize("args,reason", [
    (["--handshake-rate-per-ip", "5", "--handshake-rate", "0"], "handshake_rate_per_ip"),
    (["--handshake-rate", "5", "--handshake-rate-per-ip", "0"], "handshake_rate"),
])
def test_handshake_rate_refuses_beyond_the_bucket(cluster, args, reason):
    # 12 connections at once from one address: the bucket holds 5 (a
    # second's worth); the rest are closed at accept, before the node makes
    # a key pair for them (they get no M1).
    victim = cluster.start("victim", args=args + ["--max-handshaking-per-ip", "100"])
    socks = [p2plib.connect(victim.p2p_port, source="127.0.0.4") for _ in range(12)]
    try:
        answered = [got_m1(s) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert 1 <= answered.count(True) < 12, answered
    assert refused(victim, reason) >= 12 - answered.count(True)
    # The bucket refills: a while later one gets in again.
    wait_until(lambda: try_join(victim.p2p_port, source="127.0.0.4"), 10,
               "a handshake once the bucket refilled")


def test_full_inbound_evicts_the_newest_unproductive_peer_not_a_productive_one(cluster, wallet):
    victim = cluster.start("victim", args=["--max-peers", "3"])
    productive = p2plib.SecureConn(victim.p2p_port, source="127.0.0.2")
    productive.hello("productive")
    t = wallet.tx(amount=5)
    offer_tx(productive, t)
    wait_until(lambda: victim.has_tx(t.id_hex()), 10, "the productive peer's tx accepted")
    old = p2plib.SecureConn(victim.p2p_port, source="127.0.0.3")
    old.hello("old")
    newest = p2plib.SecureConn(victim.p2p_port, source="127.0.0.4")
    newest.hello("newest")
    wait_until(lambda: len(victim.peers()) == 3, 5, "three inbound peers")
    comer = p2plib.SecureConn(victim.p2p_port, source="127.0.0.5")
    comer.hello("newcomer")      # gets in: inbound was full
    closed, _ = p2plib.wait_closed(newest.sock, 5)
    assert closed, "the newest unproductive peer was not evicted"
    ids = victim.peer_ids()
    assert productive.node_id in ids and old.node_id in ids and comer.node_id in ids, ids
    assert newest.node_id not in ids
    assert victim.metric("noded_inbound_evicted_total") >= 1
    for c in (productive, old, newest, comer):
        c.close()


def bans(node):
    code, body = node.request("GET", "/v1/bans")
    assert code == 200, body
    return body["bans"]


def ctl(node, *args):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith("NODECTL_") and not k.startswith("NODED_")}
    return subprocess.run([NODECTL, "--node", node.api_addr, "--data-dir", node.data_dir]
                          + list(args), capture_output=True, text=True, env=e, timeout=30)


def forge(victim, wallet, source, seed=None):
    """A peer from source that relays a tx with a bad signature; returns it, dropped."""
    c = p2plib.SecureConn(victim.p2p_port, source=source, seed=seed)
    c.hello("forger")
    offer_tx(c, wallet.tx(amount=10).with_bad_signature())
    closed, _ = p2plib.wait_closed(c.sock, 5)
    c.close()
    assert closed, "the forger was not dropped"
    return c


def test_bad_signature_bans_key_and_address_until_unbanned_and_across_restarts(cluster, wallet):
    victim = cluster.start("victim")
    seed = os.urandom(32)
    c = forge(victim, wallet, "127.0.0.2", seed)
    # Before bans (issue 9) the forger reconnected at once, again and again.
    assert not try_join(victim.p2p_port, source="127.0.0.3", seed=seed), \
        "the forger's key got back in at once"
    got = wait_until(lambda: bans(victim) if len(bans(victim)) == 2 else None, 5,
                     "two bans (key and address)")
    by = {("key", b["key"]) if "key" in b else ("ip", b["ip"]): b for b in got}
    assert ("key", c.node_id) in by and ("ip", "127.0.0.2") in by, got
    for b in got:
        assert b["reason"] == "bad_signature" and b["until"] - b["since"] == 600, b
    assert victim.metric('noded_bans_total{reason="bad_signature"}') == 1
    assert victim.metric("noded_bans_active") == 2

    # The address is refused at accept (no M1: no handshake spent) ...
    s = p2plib.connect(victim.p2p_port, source="127.0.0.2")
    assert not got_m1(s)
    s.close()
    assert refused(victim, "banned_ip") >= 1
    # ... and the key from another address after its handshake.
    assert not try_join(victim.p2p_port, source="127.0.0.3", seed=seed)
    assert refused(victim, "banned_key") >= 1
    # Others come in.
    assert try_join(victim.p2p_port, source="127.0.0.3")

    out = ctl(victim, "bans")
    assert out.returncode == 0, out.stderr
    assert "key " + c.node_id in out.stdout and "ip 127.0.0.2" in out.stdout, out.stdout
    assert "bad_signature" in out.stdout

    # Unbanning needs the admin token.
    code, body = victim.request("DELETE", "/v1/bans/127.0.0.2")
    assert code == 401, body
    out = ctl(victim, "unban", c.node_id)
    assert out.returncode == 0, out.stderr
    out = ctl(victim, "unban", "127.0.0.2")
    assert out.returncode == 0, out.stderr
    out = ctl(victim, "unban", "127.0.0.2")
    assert out.returncode == 1, (out.stdout, out.stderr)
    out = ctl(victim, "unban", "not-an-address")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert bans(victim) == []
    assert try_join(victim.p2p_port, source="127.0.0.2", seed=seed)

    # Banned again; the bans survive a restart (the store's bans table).
    forge(victim, wallet, "127.0.0.2", seed)
    wait_until(lambda: len(bans(victim)) == 2, 5, "banned again")
    victim.stop()
    victim.start()
    assert len(bans(victim)) == 2, bans(victim)
    assert not try_join(victim.p2p_port, source="127.0.0.3", seed=seed)
    s = p2plib.connect(victim.p2p_port, source="127.0.0.2")
    assert not got_m1(s)
    s.close()


def test_bans_on_loopback_127_0_0_1_are_by_key_only(cluster, wallet):
    # 127.0.0.1 is every local program's address: banning it would lock out
    # the operator's own nodes.  The key is banned.
    victim = cluster.start("victim")
    seed = os.urandom(32)
    c = forge(victim, wallet, "127.0.0.1", seed)
    got = wait_until(lambda: bans(victim) or None, 5, "a ban")
    assert [b.get("key") for b in got] == [c.node_id], got
    assert not try_join(victim.p2p_port, seed=seed)
    assert try_join(victim.p2p_port)


def test_bans_end_after_ban_seconds(cluster, wallet):
    victim = cluster.start("victim", args=["--ban-seconds", "2"])
    seed = os.urandom(32)
    forge(victim, wallet, "127.0.0.2", seed)
    assert len(wait_until(lambda: bans(victim) or None, 5, "bans")) == 2
    assert not try_join(victim.p2p_port, source="127.0.0.2", seed=seed)
    wait_until(lambda: bans(victim) == [], 10, "the bans to end")
    assert victim.metric("noded_bans_active") == 0
    assert try_join(victim.p2p_port, source="127.0.0.2", seed=seed)


def test_ban_seconds_0_bans_no_one(cluster, wallet):
    victim = cluster.start("victim", args=["--ban-seconds", "0"])
    seed = os.urandom(32)
    forge(victim, wallet, "127.0.0.2", seed)
    assert bans(victim) == []
    assert try_join(victim.p2p_port, source="127.0.0.2", seed=seed)


def test_a_damaged_bans_file_is_read_with_bounds(cluster):
    victim = cluster.start("victim")
    victim.stop()
    key = "ab" * 32
    now = int(time.time())
    with open(os.path.join(victim.data_dir, "bans"), "w") as f:
        f.write("# a comment\n")
        f.write("key %s bad_signature %d %d\n" % (key, now, now + 3600))
        f.write("ip 127.0.0.9 protocol_violation %d %d\n" % (now, now + 3600))
        f.write("ip 127.0.0.8 protocol_violation %d %d\n" % (now - 10, now - 1))  # over
        f.write("key zz bad_signature 1 2\n")
        f.write("ip 300.1.1.1 bad_signature 1 99999999999\n")
        f.write("key %s no_such_reason %d %d\n" % (key, now, now + 10))
        f.write("x" * 5000 + "\n")
        f.write("ip 127.0.0.7 bad_signature 99999999999999999999999 1\n")
    victim.start()
    got = bans(victim)
    assert sorted(b.get("key") or b.get("ip") for b in got) == ["127.0.0.9", key], got
    assert victim.log_grep(r"bans: 5 lines skipped")
    # Imported into the store once: the file is renamed, the bans stay.
    assert victim.log_grep(r"2 bans imported into the store from .*/bans, renamed")
    assert not os.path.exists(os.path.join(victim.data_dir, "bans"))
    assert os.path.exists(os.path.join(victim.data_dir, "bans.imported"))
    victim.stop()
    victim.start()
    got = bans(victim)
    assert sorted(b.get("key") or b.get("ip") for b in got) == ["127.0.0.9", key], got
