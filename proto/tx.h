/*
 * tx.h: the transaction: canonical encoding, signing, id and validation
 * policy.  Pure: bytes in, bytes out.  docs/PROTOCOL.md section 2 is the spec.
 * The program must call sodium_init() once before any function here runs;
 * after that every function is safe from any thread.
 */
#ifndef PROTO_TX_H
#define PROTO_TX_H

#include <stddef.h>
#include <stdint.h>

#define TX_VERSION		1
#define TX_NETID_LEN		32	/* BLAKE2b-256 of the network name */
#define TX_PK_LEN		32	/* Ed25519 public key */
#define TX_SK_LEN		64	/* Ed25519 secret key (libsodium form) */
#define TX_SIG_LEN		64
#define TX_ID_LEN		32
#define TX_MEMO_MAX		256
/* version, netid, sender, recipient, amount, nonce, timestamp, memo_len */
#define TX_BODY_FIXED_LEN	(1 + TX_NETID_LEN + 2 * TX_PK_LEN + 8 + 8 + 8 + 2)
#define TX_MIN_LEN		(TX_BODY_FIXED_LEN + TX_SIG_LEN)
#define TX_MAX_LEN		(TX_MIN_LEN + TX_MEMO_MAX)
#define TX_ID_HEX_LEN		(2 * TX_ID_LEN)
/* Fixed context prefix of every signed message (no NUL). */
#define TX_SIGN_CONTEXT		"noded/tx/v1"
/* Fixed prefix hashed before the network name into its id (no NUL). */
#define TX_NETWORK_CONTEXT	"noded/network/v1"
#define TX_NETWORK_NAME_MAX	64	/* bytes of a network name */
/* Networks a node can name from their id alone, in messages. */
#define TX_NETWORKS_KNOWN	{ "devnet", "testnet", "mainnet" }

struct tx {
	uint8_t		version;
	uint8_t		netid[TX_NETID_LEN];
	uint8_t		sender[TX_PK_LEN];
	uint8_t		recipient[TX_PK_LEN];
	uint64_t	amount;
	uint64_t	nonce;
	uint64_t	timestamp_ms;	/* ms since the Unix epoch */
	uint16_t	memo_len;
	uint8_t		memo[TX_MEMO_MAX];
	uint8_t		sig[TX_SIG_LEN];
};

/* Reason codes; tx_reason_str() gives the stable human text. */
enum tx_reason {
	TX_OK = 0,
	TX_ERR_ENCODING,	/* "bad encoding" */
	TX_ERR_VERSION,		/* "unknown version" */
	TX_ERR_SIGNATURE,	/* "bad signature" */
	TX_ERR_NETWORK,		/* "wrong network" */
	TX_ERR_AMOUNT,		/* "amount too high" */
	TX_ERR_MEMO,		/* "memo too long" */
	TX_ERR_FUTURE,		/* "timestamp too far in the future" */
	TX_ERR_EXPIRED,		/* "timestamp too old" */
	TX_REASON_COUNT
};

/* Validation policy; the daemon fills it from its configuration. */
struct tx_policy {
	uint8_t		netid[TX_NETID_LEN];
	char		network[TX_NETWORK_NAME_MAX + 1];	/* its name */
	uint64_t	max_amount;	/* default 100; amount 0 is valid */
	uint16_t	max_memo;	/* <= TX_MEMO_MAX */
	uint64_t	max_future_ms;	/* how far ahead of now a timestamp may be */
	uint64_t	max_age_ms;	/* how far behind now a timestamp may be */
};

#define TX_POLICY_MAX_AMOUNT	100
#define TX_POLICY_MAX_FUTURE_MS	(2ULL * 60 * 1000)		/* 2 minutes */
#define TX_POLICY_MAX_AGE_MS	(24ULL * 60 * 60 * 1000)	/* 24 hours */

struct tx_result {
	enum tx_reason	reason;
	char		msg[256];	/* e.g. "amount too high: 150 > 100" */
};

/* Derives the 32-byte network id of a network name (BLAKE2b-256, see spec). */
void	tx_netid(uint8_t netid[TX_NETID_LEN], const char *name);

/* Fills p with the defaults above for the given network name (cut at TX_NETWORK_NAME_MAX). */
void	tx_policy_default(struct tx_policy *p, const char *network);

/* Stable human text of a reason code ("amount too high"); never NULL. */
const char *tx_reason_str(enum tx_reason r);

/* True for reasons no honest node could relay (encoding, version, signature, network). */
int	tx_reason_is_misbehaviour(enum tx_reason r);

/* Encoded length of t (TX_MIN_LEN + memo_len). */
size_t	tx_encoded_len(const struct tx *t);

/*
 * Writes the canonical encoding of t (signature included) to out; returns the
 * length written, or 0 if outlen is too small or memo_len > TX_MEMO_MAX.
 */
size_t	tx_encode(const struct tx *t, uint8_t *out, size_t outlen);

/*
 * Strict decode: exact lengths, no trailing bytes, known version, memo bound.
 * Returns TX_OK, TX_ERR_ENCODING, TX_ERR_VERSION or TX_ERR_MEMO; *t is
 * written only on TX_OK (unused memo bytes zeroed).
 */
enum tx_reason tx_decode(struct tx *t, const uint8_t *in, size_t len);

/*
 * Signs t in place with the Ed25519 secret key sk (its sender field must be
 * the matching public key; tx_sign sets it from sk).  Returns 0 or -1.
 */
int	tx_sign(struct tx *t, const uint8_t sk[TX_SK_LEN]);

/* The transaction id: BLAKE2b-256 of the signed message (never of the signature). */
void	tx_id(const struct tx *t, uint8_t id[TX_ID_LEN]);

/*
 * Checks everything but the signature against the policy at time now_ms:
 * network, amount, memo, time windows.  Cheap.  Pure.
 */
enum tx_reason tx_check_policy(const struct tx *t, const struct tx_policy *p,
	    uint64_t now_ms, struct tx_result *res);

/* Verifies the Ed25519 signature of t.  Returns TX_OK or TX_ERR_SIGNATURE. */
enum tx_reason tx_verify_sig(const struct tx *t);

/*
 * Full validation of encoded bytes: decode, policy, then signature (cheapest
 * first).  Fills *t (if non-NULL) and id (if non-NULL; computed whenever the
 * bytes decode, even when the verdict is a rejection) and res.  Returns
 * res->reason.  Pure; any thread.
 */
enum tx_reason tx_validate(const uint8_t *in, size_t len,
	    const struct tx_policy *p, uint64_t now_ms, struct tx *t,
	    uint8_t id[TX_ID_LEN], struct tx_result *res);

#endif
