"""
p2plib: raw connections to a node's P2P port for hostile tests.

Every connection starts with the secure-channel handshake (proto/channel.h,
docs/PROTOCOL.md section 4).  Both sides send at once

    M1 = "NDH1" | ephemeral X25519 public key (32)       (36 bytes)

then M2 = secretstream header (24) | record(AUTH), and after that only
records: ciphertext length (u32 BE) | ciphertext (plaintext + 17 bytes).

This module gives plain-socket helpers (connect, send, wait for the node to
close), the pieces of the wire format a hostile client needs, and
SecureConn: a complete client that runs the handshake in Python (libsodium
crypto_kx and crypto_secretstream through ctypes, as proto/channel.c does)
so that a test can send any frame inside valid records.
"""

import ctypes
import errno
import os
import select
import socket
import struct
import time

from txlib import blake2b256, netid as _netid, seed_keypair, sign_detached, \
    sodium, verify_detached

M1_MAGIC = b"NDH1"
M1_LEN = 36
SECRETSTREAM_HEADER = 24
ABYTES = 17
RECORD_HDR = 4
FRAME_HDR_LEN = 5
FRAME_MAX_PAYLOAD = 65536
RECORD_MAX = FRAME_HDR_LEN + FRAME_MAX_PAYLOAD          # largest plaintext in a record


def connect(port, host="127.0.0.1", timeout=5.0, source=None):
    """A connected TCP socket to host:port, from address source if given
    (any 127.0.0.0/8 address works on Linux: per-address limits tell them apart)."""
    s = socket.create_connection((host, port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def local_addr(sock):
    """"127.0.0.1:PORT" of our end, as the node sees (and logs) it."""
    h, p = sock.getsockname()[:2]
    return "%s:%d" % (h, p)


def m1(eph_pk=None):
    """A well-formed M1 (random ephemeral key unless given)."""
    return M1_MAGIC + (eph_pk if eph_pk is not None else os.urandom(32))


def random_garbage(n=4096):
    """n random bytes that cannot start with the M1 magic."""
    b = bytearray(os.urandom(n))
    if bytes(b[:4]) == M1_MAGIC:
        b[0] ^= 0xFF
    return bytes(b)


def record_header(length):
    return struct.pack(">I", length)


def send_quietly(sock, data):
    """sendall that tolerates the node closing first; returns bytes believed sent."""
    try:
        sock.sendall(data)
        return len(data)
    except (BrokenPipeError, ConnectionResetError):
        return 0


def wait_closed(sock, timeout):
    """
    Reads (and discards) until the peer closes the connection.  Returns
    (closed, received bytes): closed is True on EOF or reset within timeout.
    """
    deadline = time.monotonic() + timeout
    got = bytearray()
    sock.setblocking(False)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, bytes(got)
            r, _, _ = select.select([sock], [], [], min(left, 0.5))
            if not r:
                continue
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, ConnectionAbortedError):
                return True, bytes(got)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    continue
                return True, bytes(got)
            if not chunk:
                return True, bytes(got)
            got += chunk
    finally:
        try:
            sock.setblocking(True)
        except OSError:
            pass


def wait_all_closed(socks, timeout):
    """
    Waits until the node has closed every socket in socks (EOF or reset).
    Returns the list of sockets still open after timeout.
    """
    deadline = time.monotonic() + timeout
    open_ = {s.fileno(): s for s in socks}
    for s in socks:
        s.setblocking(False)
    while open_ and time.monotonic() < deadline:
        r, _, _ = select.select(list(open_.values()), [], [],
                                max(0.0, min(0.5, deadline - time.monotonic())))
        for s in r:
            try:
                chunk = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            if not chunk:
                del open_[s.fileno()]
    return list(open_.values())


def is_open(sock):
    """True if the node has not closed the connection (non-blocking peek)."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return True
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        return len(data) > 0
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False


# --- a complete client: the secure-channel handshake in Python ------------------

KX_CONTEXT = b"noded/kx/v1"
HS_CONTEXT = b"noded/hs/v1"
AUTH_CONTEXT = b"noded/auth/v1"
AUTH_LEN = 32 + 64
CHANNEL_M2_LEN = SECRETSTREAM_HEADER + RECORD_HDR + AUTH_LEN + ABYTES      # 141
TAG_MESSAGE = 0

FRAME_HELLO, FRAME_PING, FRAME_PONG, FRAME_INV, FRAME_GETDATA, FRAME_TX, \
    FRAME_NOTFOUND, FRAME_GETPEERS, FRAME_PEERS, FRAME_PRUNE, FRAME_GRAFT, \
    FRAME_RECON_INIT, FRAME_RECON_SYMBOLS, FRAME_RECON_MORE, FRAME_RECON_WANT, \
    FRAME_RECON_DONE = range(1, 17)
PROTO_VERSION = 1

_u8p = ctypes.c_char_p
_ull = ctypes.c_ulonglong
sodium.crypto_kx_keypair.argtypes = [_u8p, _u8p]
sodium.crypto_kx_seed_keypair.argtypes = [_u8p, _u8p, _u8p]
sodium.crypto_kx_client_session_keys.argtypes = [_u8p, _u8p, _u8p, _u8p, _u8p]
sodium.crypto_kx_server_session_keys.argtypes = [_u8p, _u8p, _u8p, _u8p, _u8p]
sodium.crypto_secretstream_xchacha20poly1305_statebytes.restype = ctypes.c_size_t
sodium.crypto_secretstream_xchacha20poly1305_init_push.argtypes = [_u8p, _u8p, _u8p]
sodium.crypto_secretstream_xchacha20poly1305_init_pull.argtypes = [_u8p, _u8p, _u8p]
sodium.crypto_secretstream_xchacha20poly1305_push.argtypes = [
    _u8p, _u8p, ctypes.POINTER(_ull), _u8p, _ull, _u8p, _ull, ctypes.c_ubyte]
sodium.crypto_secretstream_xchacha20poly1305_pull.argtypes = [
    _u8p, _u8p, ctypes.POINTER(_ull), ctypes.POINTER(ctypes.c_ubyte), _u8p, _ull,
    _u8p, _ull]
_STATEBYTES = sodium.crypto_secretstream_xchacha20poly1305_statebytes()


class HandshakeError(Exception):
    pass


def kx_keypair(seed=None):
    """(eph_pk, eph_sk): an X25519 key pair (crypto_kx), from a 32-byte seed if given."""
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(32)
    if seed is None:
        sodium.crypto_kx_keypair(pk, sk)
    else:
        sodium.crypto_kx_seed_keypair(pk, sk, seed)
    return pk.raw, sk.raw


def session_keys(initiator, eph_pk, eph_sk, remote_eph, netid_):
    """(rx_key, tx_key) of one side: crypto_kx session keys mixed with the netid."""
    rx = ctypes.create_string_buffer(32)
    tx = ctypes.create_string_buffer(32)
    fn = (sodium.crypto_kx_client_session_keys if initiator
          else sodium.crypto_kx_server_session_keys)
    if fn(rx, tx, eph_pk, eph_sk, remote_eph) != 0:
        raise HandshakeError("bad ephemeral key")
    return (blake2b256(KX_CONTEXT + netid_, key=rx.raw),
            blake2b256(KX_CONTEXT + netid_, key=tx.raw))


def transcript_hash(netid_, eph_i, eph_r):
    return blake2b256(HS_CONTEXT + netid_ + eph_i + eph_r)


def auth_message(role, h):
    """What a side signs in its AUTH: role is b"I" or b"R" (the signer's)."""
    return AUTH_CONTEXT + role + h


def pull_state(header, key):
    """A secretstream receiving state started from a 24-byte header."""
    st = ctypes.create_string_buffer(_STATEBYTES)
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(st, header, key)
    return st


def open_record(state, record):
    """Plaintext of one whole record (length header included); advances state."""
    hdr, c = record[:RECORD_HDR], record[RECORD_HDR:]
    (clen,) = struct.unpack(">I", hdr)
    if clen != len(c) or clen < ABYTES:
        raise HandshakeError("record length %d for %d bytes" % (clen, len(c)))
    m = ctypes.create_string_buffer(clen)
    mlen = _ull(0)
    tag = ctypes.c_ubyte(0)
    if sodium.crypto_secretstream_xchacha20poly1305_pull(
            state, m, ctypes.byref(mlen), ctypes.byref(tag), c, clen, hdr, len(hdr)) != 0:
        raise HandshakeError("record does not decrypt")
    if tag.value != TAG_MESSAGE:
        raise HandshakeError("unexpected record tag %d" % tag.value)
    return m.raw[:mlen.value]


class SecureConn:
    """
    A P2P client that dials a node as the initiator and completes the secure
    channel (proto/channel.c) with its own Ed25519 identity, so that a test
    can then send any frame, well-formed or not, inside valid records.

        c = SecureConn(node.p2p_port)      # connected, handshake done
        c.hello("probe")                   # HELLO: the node makes us ACTIVE
        c.send_frame(FRAME_PING, struct.pack(">Q", 1))
        c.recv_frame()                     # -> (type, payload)
    """

    def __init__(self, port, network="devnet", seed=None, timeout=5.0, handshake=True,
                 source=None):
        self.netid = _netid(network) if isinstance(network, str) else network
        self.pk, self.sk = seed_keypair(seed if seed is not None else os.urandom(32))
        self.node_id = self.pk.hex()
        self.sock = connect(port, timeout=timeout, source=source)
        self.addr = local_addr(self.sock)
        self.timeout = timeout
        self.remote_pk = None
        self._rx = ctypes.create_string_buffer(_STATEBYTES)
        self._tx = ctypes.create_string_buffer(_STATEBYTES)
        self._inbuf = bytearray()
        self._frames = bytearray()
        if handshake:
            self.handshake()

    # raw I/O
    def _recv_exact(self, n):
        deadline = time.monotonic() + self.timeout
        while len(self._inbuf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("waiting for %d bytes" % n)
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("closed by the node")
            self._inbuf += chunk
        out = bytes(self._inbuf[:n])
        del self._inbuf[:n]
        return out

    def peer_closed(self):
        """True once the node has closed the connection; buffers (keeps) what it sent."""
        try:
            while True:
                r, _, _ = select.select([self.sock], [], [], 0)
                if not r:
                    return False
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self._inbuf += chunk
        except OSError:
            return True

    def send_raw(self, data):
        self.sock.sendall(data)

    # handshake
    def handshake(self):
        eph_pk, eph_sk = kx_keypair()
        self.send_raw(M1_MAGIC + eph_pk)
        m1 = self._recv_exact(M1_LEN)
        if m1[:4] != M1_MAGIC:
            raise HandshakeError("bad magic from node: %r" % m1[:4])
        remote_eph = m1[4:]
        rx_key, tx_key = session_keys(True, eph_pk, eph_sk, remote_eph, self.netid)
        h = transcript_hash(self.netid, eph_pk, remote_eph)
        auth = self.pk + sign_detached(auth_message(b"I", h), self.sk)
        header = ctypes.create_string_buffer(SECRETSTREAM_HEADER)
        sodium.crypto_secretstream_xchacha20poly1305_init_push(self._tx, header, tx_key)
        self.send_raw(header.raw + self.seal(auth))
        rhdr = self._recv_exact(SECRETSTREAM_HEADER)
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(self._rx, rhdr, rx_key)
        rauth = self.recv_record()
        if len(rauth) != AUTH_LEN:
            raise HandshakeError("AUTH of %d bytes" % len(rauth))
        if not verify_detached(rauth[32:], auth_message(b"R", h), rauth[:32]):
            raise HandshakeError("bad AUTH signature from node")
        self.remote_pk = rauth[:32]

    # records
    def seal(self, pt):
        """One record (length header + ciphertext) of plaintext pt."""
        hdr = record_header(len(pt) + ABYTES)
        c = ctypes.create_string_buffer(len(pt) + ABYTES)
        clen = _ull(0)
        sodium.crypto_secretstream_xchacha20poly1305_push(
            self._tx, c, ctypes.byref(clen), pt, len(pt), hdr, len(hdr), TAG_MESSAGE)
        return hdr + c.raw[:clen.value]

    def send_record(self, pt):
        self.send_raw(self.seal(pt))

    def recv_record(self):
        hdr = self._recv_exact(RECORD_HDR)
        (clen,) = struct.unpack(">I", hdr)
        if clen < ABYTES or clen > RECORD_MAX + ABYTES:
            raise HandshakeError("node sent a record of %d bytes" % clen)
        return open_record(self._rx, hdr + self._recv_exact(clen))

    # frames
    def send_frame(self, ftype, payload=b"", declared_len=None):
        """One frame in one record; declared_len overrides the header's length."""
        self.send_record(frame(ftype, payload, declared_len))

    def recv_frame(self):
        """The next (type, payload) from the node."""
        while True:
            if len(self._frames) >= FRAME_HDR_LEN:
                ftype, n = struct.unpack(">BI", bytes(self._frames[:FRAME_HDR_LEN]))
                if len(self._frames) >= FRAME_HDR_LEN + n:
                    payload = bytes(self._frames[FRAME_HDR_LEN:FRAME_HDR_LEN + n])
                    del self._frames[:FRAME_HDR_LEN + n]
                    return ftype, payload
            self._frames += self.recv_record()

    def recv_until(self, ftype, timeout=None):
        """Reads frames until one of type ftype; answers PINGs meanwhile."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            t, p = self.recv_frame()
            if t == ftype:
                return p
            if t == FRAME_PING:
                self.send_frame(FRAME_PONG, p)
        raise socket.timeout("no frame of type %d" % ftype)

    def hello(self, name="probe", listen_port=0):
        """Sends HELLO and waits for the node's."""
        self.send_frame(FRAME_HELLO, hello_payload(name, listen_port))
        return self.recv_until(FRAME_HELLO)

    def inv(self, ids):
        self.send_frame(FRAME_INV, ids_payload(ids))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def frame(ftype, payload=b"", declared_len=None):
    """type (u8) | length (u32 BE) | payload; declared_len overrides the length."""
    n = len(payload) if declared_len is None else declared_len
    return struct.pack(">BI", ftype, n) + payload


def hello_payload(name, listen_port=0, version=PROTO_VERSION):
    nb = name.encode()
    return struct.pack(">HHB", version, listen_port, len(nb)) + nb


def ids_payload(ids):
    return struct.pack(">H", len(ids)) + b"".join(ids)


def parse_ids(payload):
    (n,) = struct.unpack(">H", payload[:2])
    return [payload[2 + 32 * i:2 + 32 * (i + 1)] for i in range(n)]
