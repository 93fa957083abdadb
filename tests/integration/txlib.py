"""
txlib: build, sign, encode and decode noded transactions in Python.

Follows docs/PROTOCOL.md section 2 (and proto/tx.h):

    body    = version (u8) | netid (32) | sender (32) | recipient (32)
              | amount (u64 BE) | nonce (u64 BE) | timestamp_ms (u64 BE)
              | memo_len (u16 BE) | memo
    tx      = body | signature (64)
    netid   = BLAKE2b-256("noded/network/v1" | network name)
    signed  = "noded/tx/v1" | netid | body
    id      = BLAKE2b-256(signed)          (never covers the signature)
    sig     = Ed25519(signed)

BLAKE2b comes from hashlib (identical to libsodium's crypto_generichash when
unkeyed); Ed25519 comes from libsodium through ctypes, because Debian's
python3 has none.  Signing through ctypes is fast enough to make thousands of
transactions per second, and lets the tests craft invalid ones (bad
signature, wrong network, amount over the limit) that nodectl would refuse
to make.

Typical use:

    w = Wallet()                       # fresh random Ed25519 key
    t = w.tx(amount=5)                 # signed, devnet, unique nonce, now
    t.hex(), t.id_hex()
    bad = w.tx(amount=5).with_bad_signature()
"""

import ctypes
import ctypes.util
import hashlib
import itertools
import os
import struct
import threading
import time

TX_VERSION = 1
NETID_LEN = 32
PK_LEN = 32
SK_LEN = 64
SIG_LEN = 64
ID_LEN = 32
MEMO_MAX = 256
BODY_FIXED_LEN = 1 + NETID_LEN + 2 * PK_LEN + 8 + 8 + 8 + 2
MIN_LEN = BODY_FIXED_LEN + SIG_LEN
MAX_LEN = MIN_LEN + MEMO_MAX
SIGN_CONTEXT = b"noded/tx/v1"
NETWORK_CONTEXT = b"noded/network/v1"
DEFAULT_NETWORK = "devnet"


# --- libsodium through ctypes ------------------------------------------------

def _load_sodium():
    names = ["libsodium.so.23", "libsodium.so"]
    found = ctypes.util.find_library("sodium")
    if found:
        names.append(found)
    err = None
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            err = e
            continue
        if lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")
        return lib
    raise RuntimeError("libsodium not found (%s); apt-get install libsodium23" % err)


sodium = _load_sodium()
_u8p = ctypes.c_char_p
sodium.crypto_sign_seed_keypair.argtypes = [_u8p, _u8p, _u8p]
sodium.crypto_sign_keypair.argtypes = [_u8p, _u8p]
sodium.crypto_sign_detached.argtypes = [_u8p, ctypes.POINTER(ctypes.c_ulonglong),
                                        _u8p, ctypes.c_ulonglong, _u8p]
sodium.crypto_sign_verify_detached.argtypes = [_u8p, _u8p, ctypes.c_ulonglong, _u8p]


def sign_detached(msg, sk):
    """Ed25519 signature (64 bytes) of msg with the 64-byte libsodium secret key."""
    if len(sk) != SK_LEN:
        raise ValueError("secret key must be 64 bytes")
    sig = ctypes.create_string_buffer(SIG_LEN)
    if sodium.crypto_sign_detached(sig, None, msg, len(msg), sk) != 0:
        raise RuntimeError("crypto_sign_detached failed")
    return sig.raw


def verify_detached(sig, msg, pk):
    """True if sig is a valid Ed25519 signature of msg by pk."""
    if len(sig) != SIG_LEN or len(pk) != PK_LEN:
        return False
    return sodium.crypto_sign_verify_detached(sig, msg, len(msg), pk) == 0


def seed_keypair(seed):
    """(pk, sk) of the Ed25519 key with this 32-byte seed."""
    if len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    pk = ctypes.create_string_buffer(PK_LEN)
    sk = ctypes.create_string_buffer(SK_LEN)
    if sodium.crypto_sign_seed_keypair(pk, sk, seed) != 0:
        raise RuntimeError("crypto_sign_seed_keypair failed")
    return pk.raw, sk.raw


def blake2b256(data, key=None):
    """BLAKE2b with a 32-byte digest (libsodium crypto_generichash)."""
    if key:
        return hashlib.blake2b(data, digest_size=32, key=key).digest()
    return hashlib.blake2b(data, digest_size=32).digest()


def netid(name):
    """32-byte network id of a network name."""
    if isinstance(name, str):
        name = name.encode()
    return blake2b256(NETWORK_CONTEXT + name)


def now_ms():
    return int(time.time() * 1000)


# Nonces unique across every wallet of this process (a wallet key is usually
# fresh anyway; this keeps (sender, nonce) unique when one key is reused).
_nonce_counter = itertools.count(int.from_bytes(os.urandom(4), "big") << 16)
_nonce_lock = threading.Lock()


def fresh_nonce():
    with _nonce_lock:
        return next(_nonce_counter)


# --- the transaction ------------------------------------------------------------

class Tx:
    """One transaction.  Fields mirror struct tx; memo is bytes."""

    __slots__ = ("version", "netid", "sender", "recipient", "amount", "nonce",
                 "timestamp_ms", "memo", "sig")

    def __init__(self, netid_=None, sender=b"\0" * PK_LEN, recipient=b"\0" * PK_LEN,
                 amount=0, nonce=0, timestamp_ms=0, memo=b"", sig=b"\0" * SIG_LEN,
                 version=TX_VERSION):
        self.version = version
        self.netid = netid_ if netid_ is not None else netid(DEFAULT_NETWORK)
        self.sender = sender
        self.recipient = recipient
        self.amount = amount
        self.nonce = nonce
        self.timestamp_ms = timestamp_ms
        self.memo = memo.encode() if isinstance(memo, str) else memo
        self.sig = sig

    def copy(self):
        t = Tx.__new__(Tx)
        for f in Tx.__slots__:
            setattr(t, f, getattr(self, f))
        return t

    def body(self):
        """The encoding without the signature."""
        return (struct.pack(">B", self.version) + self.netid + self.sender
                + self.recipient
                + struct.pack(">QQQH", self.amount, self.nonce, self.timestamp_ms,
                              len(self.memo))
                + self.memo)

    def signed_message(self):
        return SIGN_CONTEXT + self.netid + self.body()

    def encode(self):
        return self.body() + self.sig

    def hex(self):
        return self.encode().hex()

    def id(self):
        return blake2b256(self.signed_message())

    def id_hex(self):
        return self.id().hex()

    def sign(self, sk):
        """Signs in place with the 64-byte secret key; sets sender from it."""
        self.sender = sk[32:64]        # libsodium's sk is seed | pk
        self.sig = sign_detached(self.signed_message(), sk)
        return self

    def verify(self):
        return verify_detached(self.sig, self.signed_message(), self.sender)

    def with_bad_signature(self):
        """A copy whose signature has one bit flipped (same id: the id never covers it)."""
        t = self.copy()
        s = bytearray(t.sig)
        s[10] ^= 0x01
        t.sig = bytes(s)
        return t

    @classmethod
    def decode(cls, raw):
        """Strict decode of encoded bytes; raises ValueError on bad encoding."""
        if isinstance(raw, str):
            raw = bytes.fromhex(raw)
        if len(raw) < MIN_LEN:
            raise ValueError("too short: %d < %d" % (len(raw), MIN_LEN))
        if raw[0] != TX_VERSION:
            raise ValueError("unknown version %d" % raw[0])
        (memo_len,) = struct.unpack(">H", raw[BODY_FIXED_LEN - 2:BODY_FIXED_LEN])
        if memo_len > MEMO_MAX:
            raise ValueError("memo too long: %d" % memo_len)
        if len(raw) != MIN_LEN + memo_len:
            raise ValueError("length %d != %d" % (len(raw), MIN_LEN + memo_len))
        p = 1
        t = cls(version=raw[0])
        t.netid = raw[p:p + 32]; p += 32
        t.sender = raw[p:p + 32]; p += 32
        t.recipient = raw[p:p + 32]; p += 32
        t.amount, t.nonce, t.timestamp_ms, _ = struct.unpack(">QQQH", raw[p:p + 26])
        p += 26
        t.memo = raw[p:p + memo_len]; p += memo_len
        t.sig = raw[p:p + SIG_LEN]
        return t

    def __repr__(self):
        return "Tx(id=%s amount=%d nonce=%d)" % (self.id_hex()[:16], self.amount, self.nonce)


class Wallet:
    """An Ed25519 key that makes signed transactions."""

    def __init__(self, seed=None):
        self.seed = seed if seed is not None else os.urandom(32)
        self.pk, self.sk = seed_keypair(self.seed)

    def tx(self, amount=1, network=DEFAULT_NETWORK, recipient=None, nonce=None,
           timestamp_ms=None, memo=b""):
        """A signed transaction; nonce fresh and timestamp now unless given."""
        t = Tx(netid_=netid(network) if isinstance(network, str) else network,
               recipient=recipient if recipient is not None else blake2b256(b"to" + self.pk),
               amount=amount,
               nonce=fresh_nonce() if nonce is None else nonce,
               timestamp_ms=now_ms() if timestamp_ms is None else timestamp_ms,
               memo=memo)
        return t.sign(self.sk)

    def txs(self, n, **kw):
        """n signed transactions with distinct nonces."""
        return [self.tx(**kw) for _ in range(n)]

    def loser(self, t, amount=7):
        """A transaction of this wallet with t's nonce that loses it to t:
        its id is larger (docs/PROTOCOL.md 5.4), so a node holding t refuses
        it with "nonce already used"."""
        for memo in range(256):
            c = self.tx(amount=amount, nonce=t.nonce, memo=bytes([memo]) if memo else b"")
            if c.id() > t.id():
                return c
        raise AssertionError("no loser found")
