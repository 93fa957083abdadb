/*
 * tx.c: the transaction: canonical encoding, signing, id and validation.
 * docs/PROTOCOL.md section 2 is the spec.  libsodium must have been
 * initialised (sodium_init) by the program before any function here runs.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "hex.h"
#include "tx.h"

#define TX_CONTEXT_LEN		(sizeof(TX_SIGN_CONTEXT) - 1)
#define TX_BODY_MAX_LEN		(TX_MAX_LEN - TX_SIG_LEN)
/* The longest signed message: context | netid | body. */
#define TX_SIGNED_MAX_LEN	(TX_CONTEXT_LEN + TX_NETID_LEN + TX_BODY_MAX_LEN)

static const char *tx_reasons[TX_REASON_COUNT] = {
	[TX_OK] = "ok",
	[TX_ERR_ENCODING] = "bad encoding",
	[TX_ERR_VERSION] = "unknown version",
	[TX_ERR_SIGNATURE] = "bad signature",
	[TX_ERR_NETWORK] = "wrong network",
	[TX_ERR_AMOUNT] = "amount too high",
	[TX_ERR_MEMO] = "memo too long",
	[TX_ERR_FUTURE] = "timestamp too far in the future",
	[TX_ERR_EXPIRED] = "timestamp too old",
};

static void
tx_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
tx_put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint16_t
tx_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint64_t
tx_get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
tx_netid(uint8_t netid[TX_NETID_LEN], const char *name)
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, NULL, 0, TX_NETID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)TX_NETWORK_CONTEXT,
	    sizeof(TX_NETWORK_CONTEXT) - 1);
	crypto_generichash_update(&st, (const uint8_t *)name, strlen(name));
	crypto_generichash_final(&st, netid, TX_NETID_LEN);
}

void
tx_policy_default(struct tx_policy *p, const char *network)
{
	memset(p, 0, sizeof(*p));
	tx_netid(p->netid, network);
	snprintf(p->network, sizeof(p->network), "%s", network);
	p->max_amount = TX_POLICY_MAX_AMOUNT;
	p->max_memo = TX_MEMO_MAX;
	p->max_future_ms = TX_POLICY_MAX_FUTURE_MS;
	p->max_age_ms = TX_POLICY_MAX_AGE_MS;
}

const char *
tx_reason_str(enum tx_reason r)
{
	if ((unsigned)r >= TX_REASON_COUNT)
		return "unknown reason";
	return tx_reasons[r];
}

int
tx_reason_is_misbehaviour(enum tx_reason r)
{
	switch (r) {
	case TX_ERR_ENCODING:
	case TX_ERR_VERSION:
	case TX_ERR_SIGNATURE:
	case TX_ERR_NETWORK:
		return 1;
	default:
		return 0;
	}
}

size_t
tx_encoded_len(const struct tx *t)
{
	return TX_MIN_LEN + t->memo_len;
}

/* Writes the body (the encoding without the signature); returns its length. */
static size_t
tx_put_body(const struct tx *t, uint8_t *p)
{
	uint8_t	*start = p;

	*p++ = t->version;
	memcpy(p, t->netid, TX_NETID_LEN);
	p += TX_NETID_LEN;
	memcpy(p, t->sender, TX_PK_LEN);
	p += TX_PK_LEN;
	memcpy(p, t->recipient, TX_PK_LEN);
	p += TX_PK_LEN;
	tx_put64(p, t->amount);
	p += 8;
	tx_put64(p, t->nonce);
	p += 8;
	tx_put64(p, t->timestamp_ms);
	p += 8;
	tx_put16(p, t->memo_len);
	p += 2;
	memcpy(p, t->memo, t->memo_len);
	p += t->memo_len;
	return (size_t)(p - start);
}

/*
 * Builds the signed message (context | netid | body) into out, which holds
 * TX_SIGNED_MAX_LEN bytes; returns its length.  memo_len must be in bounds.
 */
static size_t
tx_signed_message(const struct tx *t, uint8_t out[TX_SIGNED_MAX_LEN])
{
	memcpy(out, TX_SIGN_CONTEXT, TX_CONTEXT_LEN);
	memcpy(out + TX_CONTEXT_LEN, t->netid, TX_NETID_LEN);
	return TX_CONTEXT_LEN + TX_NETID_LEN +
	    tx_put_body(t, out + TX_CONTEXT_LEN + TX_NETID_LEN);
}

size_t
tx_encode(const struct tx *t, uint8_t *out, size_t outlen)
{
	size_t	n;

	if (t->memo_len > TX_MEMO_MAX || outlen < tx_encoded_len(t))
		return 0;
	n = tx_put_body(t, out);
	memcpy(out + n, t->sig, TX_SIG_LEN);
	return n + TX_SIG_LEN;
}

enum tx_reason
tx_decode(struct tx *t, const uint8_t *in, size_t len)
{
	const uint8_t	*p = in;
	uint16_t	 memo_len;

	/* The version comes first: it decides the layout of the rest. */
	if (len < 1)
		return TX_ERR_ENCODING;
	if (in[0] != TX_VERSION)
		return TX_ERR_VERSION;
	if (len < TX_MIN_LEN)
		return TX_ERR_ENCODING;
	memo_len = tx_get16(in + TX_BODY_FIXED_LEN - 2);
	if (memo_len > TX_MEMO_MAX)
		return TX_ERR_MEMO;
	if (len != (size_t)TX_MIN_LEN + memo_len)
		return TX_ERR_ENCODING;

	t->version = *p++;
	memcpy(t->netid, p, TX_NETID_LEN);
	p += TX_NETID_LEN;
	memcpy(t->sender, p, TX_PK_LEN);
	p += TX_PK_LEN;
	memcpy(t->recipient, p, TX_PK_LEN);
	p += TX_PK_LEN;
	t->amount = tx_get64(p);
	p += 8;
	t->nonce = tx_get64(p);
	p += 8;
	t->timestamp_ms = tx_get64(p);
	p += 8;
	t->memo_len = memo_len;
	p += 2;
	memcpy(t->memo, p, memo_len);
	/* Unused memo bytes are zeroed so equal transactions compare equal. */
	memset(t->memo + memo_len, 0, TX_MEMO_MAX - memo_len);
	p += memo_len;
	memcpy(t->sig, p, TX_SIG_LEN);
	return TX_OK;
}

int
tx_sign(struct tx *t, const uint8_t sk[TX_SK_LEN])
{
	uint8_t	msg[TX_SIGNED_MAX_LEN];
	size_t	n;
	int	rv;

	if (t->memo_len > TX_MEMO_MAX)
		return -1;
	if (crypto_sign_ed25519_sk_to_pk(t->sender, sk) != 0)
		return -1;
	n = tx_signed_message(t, msg);
	rv = crypto_sign_detached(t->sig, NULL, msg, n, sk);
	return rv == 0 ? 0 : -1;
}

static void
tx_hash(const uint8_t *msg, size_t n, uint8_t id[TX_ID_LEN])
{
	crypto_generichash(id, TX_ID_LEN, msg, n, NULL, 0);
}

void
tx_id(const struct tx *t, uint8_t id[TX_ID_LEN])
{
	uint8_t	msg[TX_SIGNED_MAX_LEN];

	/* No transaction has this memo length; never read past memo[]. */
	if (t->memo_len > TX_MEMO_MAX) {
		memset(id, 0, TX_ID_LEN);
		return;
	}
	tx_hash(msg, tx_signed_message(t, msg), id);
}

static enum tx_reason
tx_result_set(struct tx_result *res, enum tx_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum tx_reason
tx_result_set(struct tx_result *res, enum tx_reason r, const char *fmt, ...)
{
	va_list	ap;

	if (res == NULL)
		return r;
	res->reason = r;
	if (fmt == NULL) {
		snprintf(res->msg, sizeof(res->msg), "%s", tx_reason_str(r));
		return r;
	}
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return r;
}

/* The name of a well-known network with this id, or NULL. */
static const char *
tx_network_name(const uint8_t netid[TX_NETID_LEN])
{
	static const char *const known[] = TX_NETWORKS_KNOWN;
	uint8_t		id[TX_NETID_LEN];
	size_t		i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		tx_netid(id, known[i]);
		if (memcmp(id, netid, TX_NETID_LEN) == 0)
			return known[i];
	}
	return NULL;
}

enum tx_reason
tx_check_policy(const struct tx *t, const struct tx_policy *p,
    uint64_t now_ms, struct tx_result *res)
{
	char		 got[TX_NETID_LEN * 2 + 1], want[TX_NETID_LEN * 2 + 1];
	const char	*name;

	if (memcmp(t->netid, p->netid, TX_NETID_LEN) != 0) {
		if (res == NULL)
			return TX_ERR_NETWORK;
		hex_encode(got, t->netid, TX_NETID_LEN);
		hex_encode(want, p->netid, TX_NETID_LEN);
		name = tx_network_name(t->netid);
		return tx_result_set(res, TX_ERR_NETWORK,
		    "wrong network: signed for %s%s%.16s%s, this node is on %s%s%.16s%s",
		    name != NULL ? name : "netid ", name != NULL ? " (netid " : "",
		    got, name != NULL ? ")" : "",
		    p->network[0] != '\0' ? p->network : "netid ",
		    p->network[0] != '\0' ? " (netid " : "", want,
		    p->network[0] != '\0' ? ")" : "");
	}
	if (t->amount > p->max_amount)
		return tx_result_set(res, TX_ERR_AMOUNT,
		    "amount too high: %" PRIu64 " > %" PRIu64,
		    t->amount, p->max_amount);
	if (t->memo_len > p->max_memo || t->memo_len > TX_MEMO_MAX)
		return tx_result_set(res, TX_ERR_MEMO,
		    "memo too long: %u > %u", (unsigned)t->memo_len,
		    (unsigned)(p->max_memo < TX_MEMO_MAX ?
		    p->max_memo : TX_MEMO_MAX));
	/* Written so that no sum or difference can wrap. */
	if (t->timestamp_ms > now_ms &&
	    t->timestamp_ms - now_ms > p->max_future_ms)
		return tx_result_set(res, TX_ERR_FUTURE,
		    "timestamp too far in the future: %" PRIu64
		    " ms ahead > %" PRIu64, t->timestamp_ms - now_ms,
		    p->max_future_ms);
	if (t->timestamp_ms < now_ms &&
	    now_ms - t->timestamp_ms > p->max_age_ms)
		return tx_result_set(res, TX_ERR_EXPIRED,
		    "timestamp too old: %" PRIu64 " ms behind > %" PRIu64,
		    now_ms - t->timestamp_ms, p->max_age_ms);
	return tx_result_set(res, TX_OK, NULL);
}

static enum tx_reason
tx_verify_msg(const struct tx *t, const uint8_t *msg, size_t n)
{
	if (crypto_sign_verify_detached(t->sig, msg, n, t->sender) != 0)
		return TX_ERR_SIGNATURE;
	return TX_OK;
}

enum tx_reason
tx_verify_sig(const struct tx *t)
{
	uint8_t	msg[TX_SIGNED_MAX_LEN];

	if (t->memo_len > TX_MEMO_MAX)
		return TX_ERR_SIGNATURE;
	return tx_verify_msg(t, msg, tx_signed_message(t, msg));
}

enum tx_reason
tx_validate(const uint8_t *in, size_t len, const struct tx_policy *p,
    uint64_t now_ms, struct tx *t, uint8_t id[TX_ID_LEN],
    struct tx_result *res)
{
	struct tx	 local;
	uint8_t		 msg[TX_SIGNED_MAX_LEN];
	size_t		 n;
	enum tx_reason	 r;

	if (t == NULL)
		t = &local;
	r = tx_decode(t, in, len);
	if (r == TX_ERR_MEMO)
		return tx_result_set(res, r, "memo too long: %u > %u",
		    (unsigned)tx_get16(in + TX_BODY_FIXED_LEN - 2),
		    (unsigned)TX_MEMO_MAX);
	if (r == TX_ERR_VERSION)
		return tx_result_set(res, r, "unknown version: %u",
		    (unsigned)in[0]);
	if (r != TX_OK && len < TX_MIN_LEN)
		return tx_result_set(res, r, "bad encoding: %zu bytes < %u",
		    len, (unsigned)TX_MIN_LEN);
	if (r != TX_OK)
		return tx_result_set(res, r,
		    "bad encoding: %zu bytes != %zu for memo_len %u", len,
		    (size_t)TX_MIN_LEN + tx_get16(in + TX_BODY_FIXED_LEN - 2),
		    (unsigned)tx_get16(in + TX_BODY_FIXED_LEN - 2));

	/* One signed message serves both the id and the signature check. */
	n = tx_signed_message(t, msg);
	if (id != NULL)
		tx_hash(msg, n, id);
	if ((r = tx_check_policy(t, p, now_ms, res)) != TX_OK)
		return r;
	if ((r = tx_verify_msg(t, msg, n)) != TX_OK)
		return tx_result_set(res, r, "bad signature");
	return tx_result_set(res, TX_OK, NULL);
}
