"""
txlib (the tests' Python transaction builder) agrees with the spec and with
the C implementation: the test vector of docs/PROTOCOL.md, nodectl's
--dry-run output, and what a running node says about a txlib transaction.
"""

import os
import re

import pytest

import txlib
from conftest import REPO, run_nodectl
from txlib import Tx, Wallet

PROTOCOL_MD = os.path.join(REPO, "docs", "PROTOCOL.md")


# docs/PROTOCOL.md section 6, copied; test_vector_is_the_documented_one
# checks that every value below is still written in the document.
VECTOR = {
    "sender_seed": "01" * 32,
    "recipient_seed": "02" * 32,
    "amount": 42,
    "nonce": 7,
    "timestamp_ms": 1767225600000,
    "memo": b"hello",
    "sender_pk": "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
    "recipient_pk": "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
    "netid": "15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2",
    "signed": (
        "6e6f6465642f74782f7631"
        "15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2"
        "01"
        "15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2"
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
        "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
        "000000000000002a0000000000000007"
        "0000019b76daa800"
        "0005"
        "68656c6c6f"),
    "sig": ("d669d2656ad4aa31579d67058f481793de3480991aa353b48d9605493627b8d8"
            "c75d8de3ef8da3ad8c5c7eeb630fffff4a46abf2db48ec57802c88a01de1b700"),
    "encoded": (
        "0115d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf28a88e3dd7409f1"
        "95fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c8139770ea87d175f56a35466c34c7e"
        "cccb8d8a91b4ee37a25df60f5b8fc9b394000000000000002a00000000000000070000019b76daa8"
        "00000568656c6c6fd669d2656ad4aa31579d67058f481793de3480991aa353b48d9605493627b8d8"
        "c75d8de3ef8da3ad8c5c7eeb630fffff4a46abf2db48ec57802c88a01de1b700"),
    "id": "e88cf9f74e4471b206728244070de09a5cc3802264d913e466e84e24817363bf",
}


def test_vector_is_the_documented_one():
    with open(PROTOCOL_MD, encoding="utf-8") as f:
        doc = re.sub(r"\s+", "", f.read())
    for key in ("sender_pk", "recipient_pk", "netid", "signed", "sig", "encoded", "id"):
        assert VECTOR[key] in doc, "%s of the vector is not in docs/PROTOCOL.md" % key
    assert "1767225600000" in doc and "06000000c0" in doc


def test_txlib_reproduces_the_protocol_vector():
    v = VECTOR
    sender = Wallet(bytes.fromhex(v["sender_seed"]))
    recipient = Wallet(bytes.fromhex(v["recipient_seed"]))
    assert sender.pk.hex() == v["sender_pk"]
    assert recipient.pk.hex() == v["recipient_pk"]
    assert txlib.netid("devnet").hex() == v["netid"]
    t = sender.tx(amount=v["amount"], nonce=v["nonce"], timestamp_ms=v["timestamp_ms"],
                  memo=v["memo"], recipient=recipient.pk, network="devnet")
    assert t.signed_message().hex() == v["signed"]
    assert len(t.signed_message()) == 171
    assert t.sig.hex() == v["sig"]
    assert t.hex() == v["encoded"] and len(t.encode()) == 192
    assert t.id_hex() == v["id"]
    # Decoding the documented bytes gives the same fields back, and it verifies.
    u = Tx.decode(v["encoded"])
    assert (u.amount, u.nonce, u.timestamp_ms, u.memo) == (42, 7, 1767225600000, b"hello")
    assert u.verify() and u.id_hex() == v["id"]
    # Its TX frame header.
    assert ("06%08x" % len(t.encode())) == "06000000c0"


def test_wallet_roundtrip_and_signature():
    w = Wallet(bytes(range(32)))
    t = w.tx(amount=42, nonce=7, timestamp_ms=1700000000000, memo=b"hello",
             recipient=b"\xab" * 32)
    raw = t.encode()
    assert len(raw) == txlib.MIN_LEN + 5
    u = Tx.decode(raw)
    assert u.encode() == raw and u.id() == t.id()
    assert (u.amount, u.nonce, u.timestamp_ms, u.memo) == (42, 7, 1700000000000, b"hello")
    assert u.sender == w.pk and u.verify()
    # The id never covers the signature; the signature covers everything.
    bad = t.with_bad_signature()
    assert bad.id() == t.id() and not bad.verify()
    for field, value in (("amount", 43), ("nonce", 8), ("memo", b"hellp"),
                         ("netid", txlib.netid("other"))):
        v = Tx.decode(raw)
        setattr(v, field, value)
        assert not v.verify(), field
        assert v.id() != t.id(), field
    # Strict decoding.
    with pytest.raises(ValueError):
        Tx.decode(raw + b"\0")
    with pytest.raises(ValueError):
        Tx.decode(raw[:-1])
    with pytest.raises(ValueError):
        Tx.decode(b"\x02" + raw[1:])


def test_netid_is_blake2b_of_context_and_name():
    import hashlib
    assert txlib.netid("devnet") == hashlib.blake2b(b"noded/network/v1devnet",
                                                    digest_size=32).digest()
    assert txlib.netid("devnet") != txlib.netid("testnet")


def test_nodectl_dry_run_decodes_and_verifies_with_txlib(tmp_path):
    key = tmp_path / "wallet.key"
    r = run_nodectl("keygen", "--out", key)
    assert r.returncode == 0, r.stderr
    pub = re.search(r"\b[0-9a-f]{64}\b", r.stdout).group(0)
    assert os.stat(key).st_mode & 0o777 == 0o600
    to = Wallet().pk.hex()
    for network in ("devnet", "othernet"):
        r = run_nodectl("send", "--key", key, "--to", to, "--amount", "42",
                        "--nonce", "77", "--memo", "hi there", "--network", network,
                        "--dry-run")
        assert r.returncode == 0, r.stderr
        hexes = re.findall(r"\b[0-9a-f]{%d,}\b" % (2 * txlib.MIN_LEN), r.stdout)
        assert len(hexes) == 1, r.stdout
        t = Tx.decode(hexes[0])
        assert t.sender.hex() == pub and t.recipient.hex() == to
        assert (t.amount, t.nonce, t.memo) == (42, 77, b"hi there")
        assert t.netid == txlib.netid(network)
        assert abs(t.timestamp_ms - txlib.now_ms()) < 60000
        assert t.verify(), "txlib does not verify nodectl's signature"
        assert t.encode().hex() == hexes[0]


def test_node_agrees_with_txlib(cluster):
    n = cluster.start("agree")
    w = Wallet()
    t = w.tx(amount=33, memo="caf\u00e9")
    code, body = n.submit(t.hex())
    assert code == 200, body
    assert body["id"] == t.id_hex()
    code, got = n.tx(t.id_hex())
    assert code == 200, got
    assert got["raw"] == t.hex()
    assert got["network"] == txlib.netid("devnet").hex()
    assert got["sender"] == w.pk.hex() and got["recipient"] == t.recipient.hex()
    assert (got["amount"], got["nonce"], got["timestamp_ms"]) == (33, t.nonce, t.timestamp_ms)
    assert got["memo"] == "caf\u00e9" and got["memo_hex"] == t.memo.hex()
    assert got["size"] == len(t.encode())


def test_p2plib_frames_match_the_documented_examples():
    import p2plib
    assert p2plib.frame(p2plib.FRAME_HELLO, p2plib.hello_payload("node1", 7001)).hex() \
        == "010000000a00011b59056e6f646531"
    assert p2plib.frame(p2plib.FRAME_PING, bytes.fromhex("0102030405060708")).hex() \
        == "02000000080102030405060708"
    with open(PROTOCOL_MD, encoding="utf-8") as f:
        doc = f.read()
    assert "010000000a00011b59056e6f646531" in doc and "02000000080102030405060708" in doc


def test_p2plib_reproduces_the_channel_vector():
    """docs/PROTOCOL.md 4.9: keys, transcript, AUTH, and opening M2 and a record."""
    import p2plib
    from txlib import seed_keypair, sign_detached
    X = bytes.fromhex
    netid = X("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf")
    pk_i, sk_i = seed_keypair(X("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"))
    pk_r, sk_r = seed_keypair(X("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"))
    assert pk_i.hex() == "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
    assert pk_r.hex() == "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
    eph_i, e_i = p2plib.kx_keypair(X("404142434445464748494a4b4c4d4e4f"
                                     "505152535455565758595a5b5c5d5e5f"))
    eph_r, e_r = p2plib.kx_keypair(X("606162636465666768696a6b6c6d6e6f"
                                     "707172737475767778797a7b7c7d7e7f"))
    assert eph_i.hex() == "20243c2fa724ef40cdd0a518dd546e05b914cad065b4e8a3958079080aac6607"
    assert eph_r.hex() == "a7e09d2129568e8aa5cf96ea7fd9e0f881a5d78bf592269562963f7b6f689050"
    assert p2plib.m1(eph_i).hex() == "4e444831" + eph_i.hex()

    key_ir = "914697f2cc9b1800c16cb37c0e4d084b169ebd0c852a049d40348d0e416ae104"
    key_ri = "bdc2015b58da6f90b56535f24d89905d5bc42a4817dedc1ade0afa3965e0edb5"
    rx_i, tx_i = p2plib.session_keys(True, eph_i, e_i, eph_r, netid)
    rx_r, tx_r = p2plib.session_keys(False, eph_r, e_r, eph_i, netid)
    assert (tx_i.hex(), rx_i.hex()) == (key_ir, key_ri)
    assert (rx_r.hex(), tx_r.hex()) == (key_ir, key_ri)
    h = p2plib.transcript_hash(netid, eph_i, eph_r)
    assert h.hex() == "c21c14fd9e46dcc3507cbb202a02a446a37462c759f9b1a006cd10ea0269c5f6"
    auth_i = pk_i + sign_detached(p2plib.auth_message(b"I", h), sk_i)
    auth_r = pk_r + sign_detached(p2plib.auth_message(b"R", h), sk_r)
    assert auth_i.hex() == (
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
        "2ba8fff5264c095b9fb18503f0b8fd7daf51f28a370e342b5e3707e9bd0e34b3"
        "11d605836e2733dd499e2967fa913397ac02b9eac6702a960de84c1b7d0d8e09")
    assert auth_r.hex() == (
        "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
        "f18e3c0b02db18a69c157e6975ab817921050047a27181b23405c65e6bbe9aa8"
        "76245a0a267bf6fc90790d149e29fcfbf435133000e25459751d23049c90e70f")

    m2_i = X("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7" "00000071"
             "bec3a62372e900824b7b20cba22bd304bdf9f7c64191d1a5cca8385a0e51a50d"
             "129de2ed9a61ca52c6043d840a6bee5cbb48d03833edafdef2ff7072748cb0ac"
             "c00293947f482e471a8a1116c241c63224287564caa4dc002baebd79ae27d2c2"
             "f125861f8819dd0d95a50d71e0108e4f85")
    m2_r = X("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7" "00000071"
             "f9270a0ac1ab66e9a6b78261d1b012bddb6dbedd639d9644493da02e63c65ff5"
             "770cef89c8e53cd9da5f852bb60fec7a50e3f82117c077a9938f5b114e5e9883"
             "0e051bd862c1e9dfdd11916ef8bbc37c00a5df6eeb88e0818a64c0b1ffdad120"
             "6f40e82cba8c27e4148bc948dc4f01d765")
    assert len(m2_i) == len(m2_r) == 141
    # The initiator opens the responder's AUTH; the responder opens the
    # initiator's AUTH and then its first record, the PING frame.
    st = p2plib.pull_state(m2_r[:24], rx_i)
    assert p2plib.open_record(st, m2_r[24:]) == auth_r
    st = p2plib.pull_state(m2_i[:24], rx_r)
    assert p2plib.open_record(st, m2_i[24:]) == auth_i
    ping = X("0000001e" "11cd904b578490c73a8b41b67db6f03d0ffff4bb323a37b5efaf4029a727")
    assert p2plib.open_record(st, ping) == p2plib.frame(p2plib.FRAME_PING, X("0102030405060708"))
    # Nonce chaining: the same record cannot be opened twice.
    with pytest.raises(p2plib.HandshakeError):
        p2plib.open_record(st, ping)
