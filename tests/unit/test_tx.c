/*
 * test_tx.c: transaction encoding, signing, id and validation, and the test
 * vector of docs/PROTOCOL.md section 6.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/hex.h"
#include "proto/tx.h"

/*
 * The test vector.  These strings appear verbatim in docs/PROTOCOL.md
 * section 6; test_tx_vector_in_doc checks that they do.
 */
#define VEC_NETWORK	"devnet"
#define VEC_AMOUNT	42
#define VEC_NONCE	7
#define VEC_TIMESTAMP	1767225600000ULL
#define VEC_MEMO	"hello"
#define VEC_SENDER_SEED_HEX \
	"0101010101010101010101010101010101010101010101010101010101010101"
#define VEC_RECIPIENT_SEED_HEX \
	"0202020202020202020202020202020202020202020202020202020202020202"
#define VEC_NETID_HEX \
	"15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2"
#define VEC_SENDER_PK_HEX \
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
#define VEC_RECIPIENT_PK_HEX \
	"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"
#define VEC_SIGNED_MSG_HEX \
	"6e6f6465642f74782f7631" \
	"15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2" \
	"01" \
	"15d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2" \
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" \
	"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394" \
	"000000000000002a" "0000000000000007" "0000019b76daa800" "0005" \
	"68656c6c6f"
#define VEC_TX_HEX \
	"0115d4acb16f9a0ae385389f3db1c049b12cdc701554497cf85a3e53a32dd15cf2" \
	"8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c" \
	"8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394" \
	"000000000000002a00000000000000070000019b76daa800000568656c6c6f" \
	"d669d2656ad4aa31579d67058f481793de3480991aa353b48d9605493627b8d8" \
	"c75d8de3ef8da3ad8c5c7eeb630fffff4a46abf2db48ec57802c88a01de1b700"
#define VEC_ID_HEX \
	"e88cf9f74e4471b206728244070de09a5cc3802264d913e466e84e24817363bf"
#define VEC_SIG_HEX \
	"d669d2656ad4aa31579d67058f481793de3480991aa353b48d9605493627b8d8" \
	"c75d8de3ef8da3ad8c5c7eeb630fffff4a46abf2db48ec57802c88a01de1b700"

#define NOW	VEC_TIMESTAMP

static uint8_t	sender_pk[TX_PK_LEN], sender_sk[TX_SK_LEN];
static uint8_t	recipient_pk[TX_PK_LEN], recipient_sk[TX_SK_LEN];

static int
setup_keys(void **state)
{
	uint8_t	seed[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(sender_pk, sender_sk, seed);
	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(recipient_pk, recipient_sk, seed);
	return 0;
}

/* Fills and signs t with the sender key. */
static void
make_tx(struct tx *t, const char *network, uint64_t amount, uint64_t nonce,
    uint64_t ts, const uint8_t *memo, uint16_t memo_len)
{
	memset(t, 0, sizeof(*t));
	t->version = TX_VERSION;
	tx_netid(t->netid, network);
	memcpy(t->recipient, recipient_pk, TX_PK_LEN);
	t->amount = amount;
	t->nonce = nonce;
	t->timestamp_ms = ts;
	t->memo_len = memo_len;
	if (memo_len > 0)
		memcpy(t->memo, memo, memo_len);
	assert_int_equal(tx_sign(t, sender_sk), 0);
}

static void
make_vector(struct tx *t)
{
	make_tx(t, VEC_NETWORK, VEC_AMOUNT, VEC_NONCE, VEC_TIMESTAMP,
	    (const uint8_t *)VEC_MEMO, 5);
}

static size_t
encode_ok(const struct tx *t, uint8_t *buf, size_t cap)
{
	size_t	n;

	n = tx_encode(t, buf, cap);
	assert_int_equal(n, tx_encoded_len(t));
	assert_int_equal(n, TX_MIN_LEN + t->memo_len);
	return n;
}

static void
assert_hex(const uint8_t *bytes, size_t len, const char *want)
{
	char	*hex;

	hex = malloc(2 * len + 1);
	assert_non_null(hex);
	hex_encode(hex, bytes, len);
	assert_string_equal(hex, want);
	free(hex);
}

static void
test_tx_vector(void **state)
{
	struct tx		t, back;
	struct tx_policy	p;
	struct tx_result	res;
	uint8_t			buf[TX_MAX_LEN], id[TX_ID_LEN], id2[TX_ID_LEN];
	uint8_t			seed[32], want[TX_MAX_LEN];
	size_t			n;

	(void)state;
	assert_int_equal(hex_decode(seed, 32, VEC_SENDER_SEED_HEX, 64), 0);
	assert_memory_equal(sender_sk, seed, 32);
	assert_hex(sender_pk, TX_PK_LEN, VEC_SENDER_PK_HEX);
	assert_hex(recipient_pk, TX_PK_LEN, VEC_RECIPIENT_PK_HEX);

	make_vector(&t);
	assert_hex(t.netid, TX_NETID_LEN, VEC_NETID_HEX);
	assert_memory_equal(t.sender, sender_pk, TX_PK_LEN);
	n = encode_ok(&t, buf, sizeof(buf));
	assert_int_equal(n, 192);
	assert_hex(buf, n, VEC_TX_HEX);
	assert_hex(t.sig, TX_SIG_LEN, VEC_SIG_HEX);
	assert_memory_equal(buf + n - TX_SIG_LEN, t.sig, TX_SIG_LEN);
	tx_id(&t, id);
	assert_hex(id, TX_ID_LEN, VEC_ID_HEX);

	/* And from the hex alone, as another implementation would. */
	assert_int_equal(hex_decode(want, n, VEC_TX_HEX, strlen(VEC_TX_HEX)), 0);
	tx_policy_default(&p, VEC_NETWORK);
	memset(id2, 0, sizeof(id2));
	assert_int_equal(tx_validate(want, n, &p, NOW, &back, id2, &res), TX_OK);
	assert_int_equal(res.reason, TX_OK);
	assert_string_equal(res.msg, "ok");
	assert_memory_equal(id2, id, TX_ID_LEN);
	assert_int_equal(back.amount, VEC_AMOUNT);
	assert_int_equal(back.nonce, VEC_NONCE);
	assert_int_equal(back.timestamp_ms, VEC_TIMESTAMP);
	assert_int_equal(back.memo_len, 5);
	assert_memory_equal(back.memo, VEC_MEMO, 5);
	assert_memory_equal(back.recipient, recipient_pk, TX_PK_LEN);
}

/* Reads a whole file and drops every space, tab, newline and backquote. */
static char *
read_squeezed(const char *path)
{
	FILE	*f;
	char	*s;
	size_t	 n = 0, cap = 1 << 16;
	int	 c;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	s = malloc(cap);
	assert_non_null(s);
	while ((c = getc(f)) != EOF) {
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '`')
			continue;
		if (n + 1 >= cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		s[n++] = (char)c;
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

static const char *doc_path = "docs/PROTOCOL.md";

static void
test_tx_vector_in_doc(void **state)
{
	static const struct {
		const char *what, *value;
	} want[] = {
		{ "sender seed", VEC_SENDER_SEED_HEX },
		{ "recipient seed", VEC_RECIPIENT_SEED_HEX },
		{ "network id", VEC_NETID_HEX },
		{ "sender public key", VEC_SENDER_PK_HEX },
		{ "recipient public key", VEC_RECIPIENT_PK_HEX },
		{ "signed message", VEC_SIGNED_MSG_HEX },
		{ "encoded transaction", VEC_TX_HEX },
		{ "transaction id", VEC_ID_HEX },
		{ "signature", VEC_SIG_HEX },
		{ "timestamp", "1767225600000" },
		{ "network name", "\"devnet\"" },
	};
	char	*doc;
	size_t	 i;

	(void)state;
	if ((doc = read_squeezed(doc_path)) == NULL)
		fail_msg("cannot read %s (run from the repository root or "
		    "pass the path as the first argument)", doc_path);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (strstr(doc, want[i].value) == NULL)
			fail_msg("%s: %s not found in %s", doc_path,
			    want[i].what, want[i].value);
	}
	free(doc);
}

static void
test_tx_signed_message_and_id(void **state)
{
	struct tx	t;
	uint8_t		msg[512], id[TX_ID_LEN], id2[TX_ID_LEN];
	uint8_t		want[TX_ID_LEN], buf[TX_MAX_LEN];
	size_t		n, mlen;

	(void)state;
	make_vector(&t);
	n = encode_ok(&t, buf, sizeof(buf));

	/* Rebuild the signed message by hand from the encoding. */
	mlen = strlen(VEC_SIGNED_MSG_HEX) / 2;
	memcpy(msg, "noded/tx/v1", 11);
	memcpy(msg + 11, t.netid, TX_NETID_LEN);
	memcpy(msg + 11 + TX_NETID_LEN, buf, n - TX_SIG_LEN);
	assert_int_equal(11 + TX_NETID_LEN + n - TX_SIG_LEN, mlen);
	assert_hex(msg, mlen, VEC_SIGNED_MSG_HEX);
	crypto_generichash(want, sizeof(want), msg, mlen, NULL, 0);
	tx_id(&t, id);
	assert_memory_equal(id, want, TX_ID_LEN);
	assert_int_equal(crypto_sign_verify_detached(t.sig, msg, mlen,
	    sender_pk), 0);

	/* The id ignores the signature bytes entirely. */
	memset(t.sig, 0x5a, TX_SIG_LEN);
	tx_id(&t, id2);
	assert_memory_equal(id2, want, TX_ID_LEN);
	assert_int_equal(tx_verify_sig(&t), TX_ERR_SIGNATURE);

	/* ... but not any field of the body. */
	t.nonce++;
	tx_id(&t, id2);
	assert_memory_not_equal(id2, want, TX_ID_LEN);
}

static void
test_tx_id_on_rejection(void **state)
{
	struct tx		t;
	struct tx_policy	p;
	struct tx_result	res;
	uint8_t			buf[TX_MAX_LEN], id[TX_ID_LEN], want[TX_ID_LEN];
	size_t			n;

	(void)state;
	tx_policy_default(&p, VEC_NETWORK);
	make_tx(&t, VEC_NETWORK, 150, 1, NOW, NULL, 0);
	n = encode_ok(&t, buf, sizeof(buf));
	tx_id(&t, want);
	memset(id, 0, sizeof(id));
	assert_int_equal(tx_validate(buf, n, &p, NOW, NULL, id, &res),
	    TX_ERR_AMOUNT);
	assert_memory_equal(id, want, TX_ID_LEN);

	/* A different signature over the same body: same id, rejected. */
	buf[n - 1] ^= 0x01;
	memset(id, 0, sizeof(id));
	p.max_amount = 1000;
	assert_int_equal(tx_validate(buf, n, &p, NOW, NULL, id, &res),
	    TX_ERR_SIGNATURE);
	assert_memory_equal(id, want, TX_ID_LEN);
}

static void
test_tx_netid(void **state)
{
	uint8_t	a[TX_NETID_LEN], b[TX_NETID_LEN], want[TX_NETID_LEN];
	const char *in = "noded/network/v1devnet";

	(void)state;
	crypto_generichash(want, sizeof(want), (const uint8_t *)in, strlen(in),
	    NULL, 0);
	tx_netid(a, "devnet");
	assert_memory_equal(a, want, TX_NETID_LEN);
	tx_netid(b, "testnet");
	assert_memory_not_equal(a, b, TX_NETID_LEN);
	tx_netid(b, "");
	assert_memory_not_equal(a, b, TX_NETID_LEN);
}

static void
test_tx_policy_default(void **state)
{
	struct tx_policy	p;
	uint8_t			netid[TX_NETID_LEN];

	(void)state;
	memset(&p, 0xff, sizeof(p));
	tx_policy_default(&p, "devnet");
	tx_netid(netid, "devnet");
	assert_memory_equal(p.netid, netid, TX_NETID_LEN);
	assert_int_equal(p.max_amount, 100);
	assert_int_equal(p.max_memo, TX_MEMO_MAX);
	assert_int_equal(p.max_future_ms, 120000);
	assert_int_equal(p.max_age_ms, 86400000);
}

/* Field by field: struct padding may differ. */
static void
assert_tx_equal(const struct tx *a, const struct tx *b)
{
	assert_int_equal(a->version, b->version);
	assert_memory_equal(a->netid, b->netid, TX_NETID_LEN);
	assert_memory_equal(a->sender, b->sender, TX_PK_LEN);
	assert_memory_equal(a->recipient, b->recipient, TX_PK_LEN);
	assert_int_equal(a->amount, b->amount);
	assert_int_equal(a->nonce, b->nonce);
	assert_int_equal(a->timestamp_ms, b->timestamp_ms);
	assert_int_equal(a->memo_len, b->memo_len);
	assert_memory_equal(a->memo, b->memo, TX_MEMO_MAX);
	assert_memory_equal(a->sig, b->sig, TX_SIG_LEN);
}

static void
test_tx_round_trip(void **state)
{
	static const struct {
		uint64_t	amount, nonce, ts;
		uint16_t	memo_len;
	} cases[] = {
		{ 0, 0, 0, 0 },
		{ 1, 1, 1, 1 },
		{ 42, 7, VEC_TIMESTAMP, 5 },
		{ 100, UINT64_MAX, UINT64_MAX, 255 },
		{ UINT64_MAX, 0x0102030405060708ULL, 0x8000000000000000ULL, 256 },
	};
	struct tx	t, back;
	uint8_t		memo[TX_MEMO_MAX], buf[TX_MAX_LEN], again[TX_MAX_LEN];
	size_t		i, n;

	(void)state;
	for (i = 0; i < sizeof(memo); i++)
		memo[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_tx(&t, "net", cases[i].amount, cases[i].nonce, cases[i].ts,
		    memo, cases[i].memo_len);
		n = encode_ok(&t, buf, sizeof(buf));
		memset(&back, 0xee, sizeof(back));
		assert_int_equal(tx_decode(&back, buf, n), TX_OK);
		assert_tx_equal(&back, &t);
		assert_int_equal(tx_encode(&back, again, sizeof(again)), n);
		assert_memory_equal(again, buf, n);
		assert_int_equal(tx_verify_sig(&back), TX_OK);

		/* Too small a buffer by one byte writes nothing. */
		assert_int_equal(tx_encode(&t, again, n - 1), 0);
	}

	/* memo_len beyond the maximum cannot be encoded or signed. */
	t.memo_len = TX_MEMO_MAX + 1;
	assert_int_equal(tx_encode(&t, buf, sizeof(buf)), 0);
	assert_int_equal(tx_sign(&t, sender_sk), -1);
	assert_int_equal(tx_verify_sig(&t), TX_ERR_SIGNATURE);
}

static void
test_tx_sign_sets_sender(void **state)
{
	struct tx	t;

	(void)state;
	make_vector(&t);
	memset(t.sender, 0, TX_PK_LEN);
	assert_int_equal(tx_sign(&t, recipient_sk), 0);
	assert_memory_equal(t.sender, recipient_pk, TX_PK_LEN);
	assert_int_equal(tx_verify_sig(&t), TX_OK);
	/* Someone else's key in the sender field. */
	memcpy(t.sender, sender_pk, TX_PK_LEN);
	assert_int_equal(tx_verify_sig(&t), TX_ERR_SIGNATURE);
}

enum mutation {
	MUT_NONE,
	MUT_EMPTY,
	MUT_ONE_BYTE,
	MUT_FIXED_ONLY,		/* everything but the signature */
	MUT_SHORT,		/* last byte missing */
	MUT_LONG,		/* one byte more */
	MUT_TRAILING,		/* 16 trailing bytes */
	MUT_MEMO_LEN_UP,	/* memo_len field one more than the memo */
	MUT_MEMO_LEN_DOWN,	/* memo_len field one less than the memo */
	MUT_MEMO_LEN_257,	/* memo_len 257 with 257 memo bytes */
	MUT_MEMO_LEN_MAX,	/* memo_len 0xffff */
	MUT_VERSION_0,
	MUT_VERSION_2,
	MUT_VERSION_255,
	MUT_SIG,		/* a signature bit flipped */
	MUT_SIG_ZERO,		/* all-zero signature */
	MUT_RECIPIENT,		/* recipient changed after signing */
	MUT_AMOUNT,		/* amount changed after signing (still valid) */
};

static const struct reject_case {
	const char	*name;
	const char	*network;	/* the network the tx was made for */
	uint64_t	 amount;
	uint16_t	 memo_len;
	int64_t		 ts_off;	/* timestamp = NOW + ts_off */
	int		 max_memo;	/* policy; -1: default */
	enum mutation	 mut;
	enum tx_reason	 want;
	const char	*msg;		/* exact res.msg; NULL: any */
} reject_cases[] = {
	{ "valid", "devnet", 42, 5, 0, -1, MUT_NONE, TX_OK, "ok" },
	{ "amount 0 is valid", "devnet", 0, 0, 0, -1, MUT_NONE, TX_OK, "ok" },
	{ "amount 100 is valid", "devnet", 100, 0, 0, -1, MUT_NONE, TX_OK, "ok" },
	{ "amount 150", "devnet", 150, 0, 0, -1, MUT_NONE, TX_ERR_AMOUNT,
	    "amount too high: 150 > 100" },
	{ "amount 101", "devnet", 101, 0, 0, -1, MUT_NONE, TX_ERR_AMOUNT,
	    "amount too high: 101 > 100" },
	{ "amount max", "devnet", UINT64_MAX, 0, 0, -1, MUT_NONE, TX_ERR_AMOUNT,
	    "amount too high: 18446744073709551615 > 100" },
	{ "empty", "devnet", 42, 5, 0, -1, MUT_EMPTY, TX_ERR_ENCODING, NULL },
	{ "one byte", "devnet", 42, 5, 0, -1, MUT_ONE_BYTE, TX_ERR_ENCODING,
	    "bad encoding: 1 bytes < 187" },
	{ "no signature", "devnet", 0, 0, 0, -1, MUT_FIXED_ONLY,
	    TX_ERR_ENCODING, "bad encoding: 123 bytes < 187" },
	{ "short", "devnet", 42, 5, 0, -1, MUT_SHORT, TX_ERR_ENCODING,
	    "bad encoding: 191 bytes != 192 for memo_len 5" },
	{ "short, no memo", "devnet", 42, 0, 0, -1, MUT_SHORT, TX_ERR_ENCODING,
	    "bad encoding: 186 bytes < 187" },
	{ "long", "devnet", 42, 5, 0, -1, MUT_LONG, TX_ERR_ENCODING,
	    "bad encoding: 193 bytes != 192 for memo_len 5" },
	{ "trailing bytes", "devnet", 42, 0, 0, -1, MUT_TRAILING,
	    TX_ERR_ENCODING, "bad encoding: 203 bytes != 187 for memo_len 0" },
	{ "memo_len too big for bytes", "devnet", 42, 5, 0, -1,
	    MUT_MEMO_LEN_UP, TX_ERR_ENCODING, NULL },
	{ "memo_len too small for bytes", "devnet", 42, 5, 0, -1,
	    MUT_MEMO_LEN_DOWN, TX_ERR_ENCODING, NULL },
	{ "memo_len 257", "devnet", 42, 256, 0, -1, MUT_MEMO_LEN_257,
	    TX_ERR_MEMO, "memo too long: 257 > 256" },
	{ "memo_len 65535", "devnet", 42, 5, 0, -1, MUT_MEMO_LEN_MAX,
	    TX_ERR_MEMO, "memo too long: 65535 > 256" },
	{ "memo 256 is valid", "devnet", 42, 256, 0, -1, MUT_NONE, TX_OK, "ok" },
	{ "memo above policy", "devnet", 42, 5, 0, 4, MUT_NONE, TX_ERR_MEMO,
	    "memo too long: 5 > 4" },
	{ "memo at policy", "devnet", 42, 4, 0, 4, MUT_NONE, TX_OK, "ok" },
	{ "memo with policy 0", "devnet", 42, 1, 0, 0, MUT_NONE, TX_ERR_MEMO,
	    "memo too long: 1 > 0" },
	{ "version 0", "devnet", 42, 5, 0, -1, MUT_VERSION_0, TX_ERR_VERSION,
	    "unknown version: 0" },
	{ "version 2", "devnet", 42, 5, 0, -1, MUT_VERSION_2, TX_ERR_VERSION,
	    "unknown version: 2" },
	{ "version 255", "devnet", 42, 5, 0, -1, MUT_VERSION_255, TX_ERR_VERSION,
	    "unknown version: 255" },
	{ "bad signature", "devnet", 42, 5, 0, -1, MUT_SIG, TX_ERR_SIGNATURE,
	    "bad signature" },
	{ "zero signature", "devnet", 42, 5, 0, -1, MUT_SIG_ZERO,
	    TX_ERR_SIGNATURE, "bad signature" },
	{ "recipient changed", "devnet", 42, 5, 0, -1, MUT_RECIPIENT,
	    TX_ERR_SIGNATURE, "bad signature" },
	{ "amount changed", "devnet", 42, 5, 0, -1, MUT_AMOUNT,
	    TX_ERR_SIGNATURE, "bad signature" },
	{ "wrong network", "testnet", 42, 5, 0, -1, MUT_NONE, TX_ERR_NETWORK,
	    NULL },
	{ "wrong network beats bad signature", "testnet", 42, 5, 0, -1,
	    MUT_SIG, TX_ERR_NETWORK, NULL },
	{ "amount beats bad signature", "devnet", 150, 5, 0, -1, MUT_SIG,
	    TX_ERR_AMOUNT, "amount too high: 150 > 100" },
	{ "future edge is valid", "devnet", 42, 5, TX_POLICY_MAX_FUTURE_MS, -1,
	    MUT_NONE, TX_OK, "ok" },
	{ "too far in the future", "devnet", 42, 5,
	    TX_POLICY_MAX_FUTURE_MS + 1, -1, MUT_NONE, TX_ERR_FUTURE,
	    "timestamp too far in the future: 120001 ms ahead > 120000" },
	{ "a year in the future", "devnet", 42, 5, 365LL * 86400000, -1,
	    MUT_NONE, TX_ERR_FUTURE,
	    "timestamp too far in the future: 31536000000 ms ahead > 120000" },
	{ "age edge is valid", "devnet", 42, 5, -(int64_t)TX_POLICY_MAX_AGE_MS,
	    -1, MUT_NONE, TX_OK, "ok" },
	{ "too old", "devnet", 42, 5, -(int64_t)TX_POLICY_MAX_AGE_MS - 1, -1,
	    MUT_NONE, TX_ERR_EXPIRED,
	    "timestamp too old: 86400001 ms behind > 86400000" },
	{ "timestamp 0", "devnet", 42, 5, -(int64_t)NOW, -1, MUT_NONE,
	    TX_ERR_EXPIRED, "timestamp too old: 1767225600000 ms behind > 86400000" },
};

/* Builds the case's bytes into buf; returns their length. */
static size_t
reject_build(const struct reject_case *c, uint8_t *buf, size_t cap)
{
	struct tx	t;
	uint8_t		memo[TX_MEMO_MAX + 1];
	size_t		n, mlo;

	memset(memo, 'm', sizeof(memo));
	make_tx(&t, c->network, c->amount, 3, NOW + (uint64_t)c->ts_off, memo,
	    c->memo_len);
	n = encode_ok(&t, buf, cap);
	mlo = TX_BODY_FIXED_LEN - 2;	/* offset of memo_len */
	switch (c->mut) {
	case MUT_NONE:
		break;
	case MUT_EMPTY:
		return 0;
	case MUT_ONE_BYTE:
		return 1;
	case MUT_FIXED_ONLY:
		return TX_BODY_FIXED_LEN;
	case MUT_SHORT:
		return n - 1;
	case MUT_LONG:
		buf[n] = 0;
		return n + 1;
	case MUT_TRAILING:
		memset(buf + n, 0xab, 16);
		return n + 16;
	case MUT_MEMO_LEN_UP:
		buf[mlo + 1]++;
		break;
	case MUT_MEMO_LEN_DOWN:
		buf[mlo + 1]--;
		break;
	case MUT_MEMO_LEN_257:
		buf[mlo] = 0x01;
		buf[mlo + 1] = 0x01;
		buf[n] = 'm';
		return n + 1;
	case MUT_MEMO_LEN_MAX:
		buf[mlo] = 0xff;
		buf[mlo + 1] = 0xff;
		break;
	case MUT_VERSION_0:
		buf[0] = 0;
		break;
	case MUT_VERSION_2:
		buf[0] = 2;
		break;
	case MUT_VERSION_255:
		buf[0] = 255;
		break;
	case MUT_SIG:
		buf[n - 10] ^= 0x20;
		break;
	case MUT_SIG_ZERO:
		memset(buf + n - TX_SIG_LEN, 0, TX_SIG_LEN);
		break;
	case MUT_RECIPIENT:
		buf[1 + TX_NETID_LEN + TX_PK_LEN] ^= 0x01;
		break;
	case MUT_AMOUNT:
		buf[1 + TX_NETID_LEN + 2 * TX_PK_LEN + 7] ^= 0x03;	/* 42 -> 41 */
		break;
	}
	return n;
}

static void
test_tx_reject_table(void **state)
{
	const struct reject_case *c;
	struct tx_policy	 p;
	struct tx_result	 res;
	struct tx		 t;
	uint8_t			 buf[TX_MAX_LEN + 64], id[TX_ID_LEN];
	size_t			 i, n, rlen;
	enum tx_reason		 r;

	(void)state;
	for (i = 0; i < sizeof(reject_cases) / sizeof(reject_cases[0]); i++) {
		c = &reject_cases[i];
		tx_policy_default(&p, "devnet");
		if (c->max_memo >= 0)
			p.max_memo = (uint16_t)c->max_memo;
		n = reject_build(c, buf, sizeof(buf));
		memset(&res, 0, sizeof(res));
		r = tx_validate(buf, n, &p, NOW, &t, id, &res);
		if (r != c->want || res.reason != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name,
			    tx_reason_str(r), res.msg, tx_reason_str(c->want));
		/* Every message begins with its reason's stable text. */
		rlen = strlen(tx_reason_str(r));
		if (strncmp(res.msg, tx_reason_str(r), rlen) != 0)
			fail_msg("%s: message '%s' does not start with '%s'",
			    c->name, res.msg, tx_reason_str(r));
		if (c->msg != NULL && strcmp(res.msg, c->msg) != 0)
			fail_msg("%s: message '%s', want '%s'", c->name,
			    res.msg, c->msg);
		/* Without optional outputs the verdict is the same. */
		assert_int_equal(tx_validate(buf, n, &p, NOW, NULL, NULL, NULL),
		    c->want);
	}
}

static void
test_tx_wrong_network_message(void **state)
{
	struct tx		t;
	struct tx_policy	p;
	struct tx_result	res;

	(void)state;
	make_tx(&t, "testnet", 1, 1, NOW, NULL, 0);
	tx_policy_default(&p, "devnet");
	assert_int_equal(tx_check_policy(&t, &p, NOW, &res), TX_ERR_NETWORK);
	/*
	 * Names both networks, and their ids by the first 16 hex digits
	 * (docs/PROTOCOL.md 2.6): the node's own, and the transaction's when
	 * it is a well-known one.
	 */
	assert_string_equal(res.msg, "wrong network: signed for testnet (netid "
	    "dd3834ef63b35473), this node is on devnet (netid 15d4acb16f9a0ae3)");
	assert_int_equal(tx_check_policy(&t, &p, NOW, NULL), TX_ERR_NETWORK);
	/* A network it cannot name: its id alone. */
	make_tx(&t, "my-lab-net", 1, 1, NOW, NULL, 0);
	tx_policy_default(&p, "testnet");
	assert_int_equal(tx_check_policy(&t, &p, NOW, &res), TX_ERR_NETWORK);
	assert_true(strncmp(res.msg, "wrong network: signed for netid ", 32) == 0);
	assert_non_null(strstr(res.msg, ", this node is on testnet (netid "
	    "dd3834ef63b35473)"));
}

static void
test_tx_policy_time_edges(void **state)
{
	struct tx		t;
	struct tx_policy	p;

	(void)state;
	tx_policy_default(&p, "devnet");
	/* now near 0 and near UINT64_MAX: no wrap-around. */
	make_tx(&t, "devnet", 1, 1, UINT64_MAX, NULL, 0);
	assert_int_equal(tx_check_policy(&t, &p, 0, NULL), TX_ERR_FUTURE);
	assert_int_equal(tx_check_policy(&t, &p, UINT64_MAX, NULL), TX_OK);
	make_tx(&t, "devnet", 1, 1, 0, NULL, 0);
	assert_int_equal(tx_check_policy(&t, &p, UINT64_MAX, NULL),
	    TX_ERR_EXPIRED);
	assert_int_equal(tx_check_policy(&t, &p, 0, NULL), TX_OK);
	assert_int_equal(tx_check_policy(&t, &p, TX_POLICY_MAX_AGE_MS, NULL),
	    TX_OK);
	p.max_future_ms = UINT64_MAX;
	p.max_age_ms = UINT64_MAX;
	assert_int_equal(tx_check_policy(&t, &p, UINT64_MAX, NULL), TX_OK);
}

static void
test_tx_every_byte_flipped(void **state)
{
	struct tx_policy	p;
	struct tx		t;
	uint8_t			buf[TX_MAX_LEN], orig[TX_MAX_LEN];
	size_t			n, i;
	int			bit;
	enum tx_reason		r;

	(void)state;
	tx_policy_default(&p, VEC_NETWORK);
	make_vector(&t);
	n = encode_ok(&t, orig, sizeof(orig));
	assert_int_equal(tx_validate(orig, n, &p, NOW, NULL, NULL, NULL), TX_OK);
	for (i = 0; i < n; i++) {
		memcpy(buf, orig, n);
		buf[i] ^= 0xff;
		if ((r = tx_validate(buf, n, &p, NOW, NULL, NULL, NULL)) == TX_OK)
			fail_msg("byte %zu flipped was accepted", i);
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, orig, n);
			buf[i] ^= (uint8_t)(1u << bit);
			r = tx_validate(buf, n, &p, NOW, NULL, NULL, NULL);
			if (r == TX_OK)
				fail_msg("byte %zu bit %d flipped was accepted",
				    i, bit);
		}
	}
}

static void
test_tx_decode_strict(void **state)
{
	struct tx	t, before;
	uint8_t		buf[TX_MAX_LEN + 1];
	size_t		n;

	(void)state;
	make_vector(&t);
	n = encode_ok(&t, buf, sizeof(buf));
	memset(&before, 0x77, sizeof(before));
	t = before;
	assert_int_equal(tx_decode(&t, buf, n - 1), TX_ERR_ENCODING);
	assert_int_equal(tx_decode(&t, buf, n + 1), TX_ERR_ENCODING);
	assert_int_equal(tx_decode(&t, buf, 0), TX_ERR_ENCODING);
	buf[0] = 9;
	assert_int_equal(tx_decode(&t, buf, n), TX_ERR_VERSION);
	/* A rejected decode leaves *t alone. */
	assert_tx_equal(&t, &before);
	buf[0] = TX_VERSION;
	assert_int_equal(tx_decode(&t, buf, n), TX_OK);
	/* Unused memo bytes are zeroed. */
	assert_int_equal(t.memo[5], 0);
	assert_int_equal(t.memo[TX_MEMO_MAX - 1], 0);
}

static void
test_tx_reason_text(void **state)
{
	static const struct {
		enum tx_reason	 r;
		const char	*text;
		int		 misbehaviour;
	} cases[] = {
		{ TX_OK, "ok", 0 },
		{ TX_ERR_ENCODING, "bad encoding", 1 },
		{ TX_ERR_VERSION, "unknown version", 1 },
		{ TX_ERR_SIGNATURE, "bad signature", 1 },
		{ TX_ERR_NETWORK, "wrong network", 1 },
		{ TX_ERR_AMOUNT, "amount too high", 0 },
		{ TX_ERR_MEMO, "memo too long", 0 },
		{ TX_ERR_FUTURE, "timestamp too far in the future", 0 },
		{ TX_ERR_EXPIRED, "timestamp too old", 0 },
	};
	size_t	i;

	(void)state;
	assert_int_equal(sizeof(cases) / sizeof(cases[0]), TX_REASON_COUNT);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(tx_reason_str(cases[i].r), cases[i].text);
		assert_int_equal(tx_reason_is_misbehaviour(cases[i].r),
		    cases[i].misbehaviour);
	}
	assert_non_null(tx_reason_str(TX_REASON_COUNT));
	assert_non_null(tx_reason_str((enum tx_reason)-1));
	assert_int_equal(tx_reason_is_misbehaviour(TX_REASON_COUNT), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_vector),
		cmocka_unit_test(test_tx_vector_in_doc),
		cmocka_unit_test(test_tx_signed_message_and_id),
		cmocka_unit_test(test_tx_id_on_rejection),
		cmocka_unit_test(test_tx_netid),
		cmocka_unit_test(test_tx_policy_default),
		cmocka_unit_test(test_tx_round_trip),
		cmocka_unit_test(test_tx_sign_sets_sender),
		cmocka_unit_test(test_tx_reject_table),
		cmocka_unit_test(test_tx_wrong_network_message),
		cmocka_unit_test(test_tx_policy_time_edges),
		cmocka_unit_test(test_tx_every_byte_flipped),
		cmocka_unit_test(test_tx_decode_strict),
		cmocka_unit_test(test_tx_reason_text),
	};

	if (argc > 1)
		doc_path = argv[1];
	return cmocka_run_group_tests_name("tx", tests, setup_keys, NULL);
}
