/*
 * channel.c: the secure channel's handshake and records.  docs/PROTOCOL.md
 * section 4 is the spec.  A state machine over byte buffers:
 *
 *   WAIT_M1 -> WAIT_HDR -> WAIT_AUTH -> ESTABLISHED, and FAILED from any.
 *
 * Secrets that only the handshake needs (the node key copy, the ephemeral
 * secret key, raw and mixed session keys) live in one sodium_malloc block
 * that is wiped piece by piece as each becomes useless and freed once the
 * peer's stream header has been read.  The two secretstream states hold the
 * traffic keys until channel_free or the first failure wipes them.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "channel.h"

#define CHANNEL_MAGIC		"NDH1"
#define CHANNEL_MAGIC_LEN	4
#define CHANNEL_KX_CONTEXT	"noded/kx/v1"
#define CHANNEL_HS_CONTEXT	"noded/hs/v1"
#define CHANNEL_AUTH_CONTEXT	"noded/auth/v1"
#define CHANNEL_HASH_LEN	32

_Static_assert(CHANNEL_M1_LEN == CHANNEL_MAGIC_LEN + crypto_kx_PUBLICKEYBYTES,
    "M1 length");
_Static_assert(CHANNEL_ABYTES == crypto_secretstream_xchacha20poly1305_ABYTES,
    "secretstream ABYTES");
_Static_assert(CHANNEL_STREAM_HDR ==
    crypto_secretstream_xchacha20poly1305_HEADERBYTES, "secretstream header");
_Static_assert(CHANNEL_AUTH_LEN == TX_PK_LEN + crypto_sign_BYTES, "AUTH length");
_Static_assert(CHANNEL_EPH_SEED_LEN == crypto_kx_SEEDBYTES, "kx seed");
_Static_assert(TX_SK_LEN == crypto_sign_SECRETKEYBYTES, "node secret key");
_Static_assert(crypto_kx_SESSIONKEYBYTES ==
    crypto_secretstream_xchacha20poly1305_KEYBYTES, "session key length");

enum channel_state {
	CHANNEL_WAIT_M1,
	CHANNEL_WAIT_HDR,
	CHANNEL_WAIT_AUTH,
	CHANNEL_ESTABLISHED,
	CHANNEL_FAILED
};

/* Handshake-only secrets, in sodium_malloc memory. */
struct channel_secrets {
	uint8_t		node_sk[crypto_sign_SECRETKEYBYTES];
	uint8_t		eph_sk[crypto_kx_SECRETKEYBYTES];
	uint8_t		raw_rx[crypto_kx_SESSIONKEYBYTES];
	uint8_t		raw_tx[crypto_kx_SESSIONKEYBYTES];
	uint8_t		rx_key[crypto_kx_SESSIONKEYBYTES];
	uint8_t		tx_key[crypto_kx_SESSIONKEYBYTES];
};

struct channel {
	enum channel_state state;
	int		initiator;
	uint8_t		netid[TX_NETID_LEN];
	uint8_t		node_pk[TX_PK_LEN];
	uint8_t		eph_pk[crypto_kx_PUBLICKEYBYTES];
	uint8_t		remote_pk[TX_PK_LEN];
	uint8_t		h[CHANNEL_HASH_LEN];	/* transcript hash, set by the peer's M1 */
	struct channel_secrets *sec;	/* NULL once the handshake no longer needs it */
	crypto_secretstream_xchacha20poly1305_state tx;
	crypto_secretstream_xchacha20poly1305_state rx;
	uint8_t		out[CHANNEL_M1_LEN + CHANNEL_M2_LEN];
	size_t		outlen;
	size_t		outoff;
	const char	*error;
};

static void
channel_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
channel_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static void
channel_secrets_free(struct channel *ch)
{
	if (ch->sec != NULL) {
		sodium_memzero(ch->sec, sizeof *ch->sec);
		sodium_free(ch->sec);
		ch->sec = NULL;
	}
}

/* The one failure path: nothing usable survives it.  Always returns -1. */
static int
channel_fail(struct channel *ch, const char *why)
{
	ch->state = CHANNEL_FAILED;
	ch->error = why;
	channel_secrets_free(ch);
	sodium_memzero(&ch->tx, sizeof ch->tx);
	sodium_memzero(&ch->rx, sizeof ch->rx);
	ch->outlen = ch->outoff = 0;
	return -1;
}

static struct channel *
channel_create(int initiator, const uint8_t netid[TX_NETID_LEN],
    const uint8_t node_sk[TX_SK_LEN], const uint8_t *eph_seed)
{
	struct channel	*ch;
	int		 rc;

	if (sodium_init() < 0)
		return NULL;
	if ((ch = calloc(1, sizeof *ch)) == NULL)
		return NULL;
	if ((ch->sec = sodium_malloc(sizeof *ch->sec)) == NULL) {
		free(ch);
		return NULL;
	}
	ch->state = CHANNEL_WAIT_M1;
	ch->initiator = initiator != 0;
	memcpy(ch->netid, netid, TX_NETID_LEN);
	memcpy(ch->sec->node_sk, node_sk, TX_SK_LEN);
	crypto_sign_ed25519_sk_to_pk(ch->node_pk, ch->sec->node_sk);

	if (eph_seed != NULL)
		rc = crypto_kx_seed_keypair(ch->eph_pk, ch->sec->eph_sk, eph_seed);
	else
		rc = crypto_kx_keypair(ch->eph_pk, ch->sec->eph_sk);
	if (rc != 0) {
		channel_free(ch);
		return NULL;
	}

	memcpy(ch->out, CHANNEL_MAGIC, CHANNEL_MAGIC_LEN);
	memcpy(ch->out + CHANNEL_MAGIC_LEN, ch->eph_pk, sizeof ch->eph_pk);
	ch->outlen = CHANNEL_M1_LEN;
	return ch;
}

struct channel *
channel_new(int initiator, const uint8_t netid[TX_NETID_LEN],
    const uint8_t node_sk[TX_SK_LEN])
{
	return channel_create(initiator, netid, node_sk, NULL);
}

struct channel *
channel_new_seeded(int initiator, const uint8_t netid[TX_NETID_LEN],
    const uint8_t node_sk[TX_SK_LEN], const uint8_t eph_seed[CHANNEL_EPH_SEED_LEN])
{
	return channel_create(initiator, netid, node_sk, eph_seed);
}

void
channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	channel_secrets_free(ch);
	sodium_memzero(ch, sizeof *ch);
	free(ch);
}

size_t
channel_output(struct channel *ch, uint8_t *out, size_t cap)
{
	size_t	n;

	if (ch->state == CHANNEL_FAILED)
		return 0;
	n = ch->outlen - ch->outoff;
	if (n > cap)
		n = cap;
	memcpy(out, ch->out + ch->outoff, n);
	ch->outoff += n;
	if (ch->outoff == ch->outlen)
		ch->outoff = ch->outlen = 0;
	return n;
}

const uint8_t *
channel_session_id(const struct channel *ch)
{
	return ch->state == CHANNEL_ESTABLISHED ? ch->h : NULL;
}

int
channel_established(const struct channel *ch)
{
	return ch->state == CHANNEL_ESTABLISHED;
}

const uint8_t *
channel_remote_key(const struct channel *ch)
{
	return ch->state == CHANNEL_ESTABLISHED ? ch->remote_pk : NULL;
}

const char *
channel_error(const struct channel *ch)
{
	return ch->error;
}

/* k' = BLAKE2b-256(key = k, message = "noded/kx/v1" | netid). */
static void
channel_mix_key(uint8_t out[32], const uint8_t k[32],
    const uint8_t netid[TX_NETID_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, k, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)CHANNEL_KX_CONTEXT,
	    sizeof CHANNEL_KX_CONTEXT - 1);
	crypto_generichash_update(&st, netid, TX_NETID_LEN);
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof st);
}

/* h = BLAKE2b-256("noded/hs/v1" | netid | eph_I | eph_R). */
static void
channel_transcript(const struct channel *ch, const uint8_t *remote_eph,
    uint8_t h[CHANNEL_HASH_LEN])
{
	crypto_generichash_state st;
	const uint8_t	*eph_i, *eph_r;

	eph_i = ch->initiator ? ch->eph_pk : remote_eph;
	eph_r = ch->initiator ? remote_eph : ch->eph_pk;
	crypto_generichash_init(&st, NULL, 0, CHANNEL_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)CHANNEL_HS_CONTEXT,
	    sizeof CHANNEL_HS_CONTEXT - 1);
	crypto_generichash_update(&st, ch->netid, TX_NETID_LEN);
	crypto_generichash_update(&st, eph_i, crypto_kx_PUBLICKEYBYTES);
	crypto_generichash_update(&st, eph_r, crypto_kx_PUBLICKEYBYTES);
	crypto_generichash_final(&st, h, CHANNEL_HASH_LEN);
}

/* The signed message: "noded/auth/v1" | role of the signer | h. */
#define CHANNEL_AUTH_MSG_LEN	(sizeof CHANNEL_AUTH_CONTEXT - 1 + 1 + \
				    CHANNEL_HASH_LEN)

static void
channel_auth_message(uint8_t msg[CHANNEL_AUTH_MSG_LEN], uint8_t role,
    const uint8_t h[CHANNEL_HASH_LEN])
{
	size_t	n = sizeof CHANNEL_AUTH_CONTEXT - 1;

	memcpy(msg, CHANNEL_AUTH_CONTEXT, n);
	msg[n] = role;
	memcpy(msg + n + 1, h, CHANNEL_HASH_LEN);
}

/* Seals one record at out with the tx stream; out has room for it. */
static size_t
channel_put_record(struct channel *ch, const uint8_t *pt, size_t len,
    uint8_t *out)
{
	channel_put32(out, (uint32_t)(len + CHANNEL_ABYTES));
	crypto_secretstream_xchacha20poly1305_push(&ch->tx,
	    out + CHANNEL_RECORD_HDR, NULL, pt, len, out, CHANNEL_RECORD_HDR,
	    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	return len + CHANNEL_RECORD_OVERHEAD;
}

/*
 * The peer's M1: derive keys, wipe the ephemeral secret, queue M2 (our
 * stream header and AUTH record), keep the rx key for the peer's header.
 */
static int
channel_recv_m1(struct channel *ch, const uint8_t *in, size_t len,
    size_t *used)
{
	struct channel_secrets *sec = ch->sec;
	const uint8_t	*remote_eph;
	uint8_t		 msg[CHANNEL_AUTH_MSG_LEN];
	uint8_t		 auth[CHANNEL_AUTH_LEN];
	uint8_t		*m2;
	int		 rc;

	/* Refuse a wrong magic as soon as its first bytes are in. */
	if (memcmp(in, CHANNEL_MAGIC,
	    len < CHANNEL_MAGIC_LEN ? len : CHANNEL_MAGIC_LEN) != 0)
		return channel_fail(ch, "bad handshake magic");
	if (len < CHANNEL_M1_LEN)
		return 0;
	remote_eph = in + CHANNEL_MAGIC_LEN;

	if (ch->initiator)
		rc = crypto_kx_client_session_keys(sec->raw_rx, sec->raw_tx,
		    ch->eph_pk, sec->eph_sk, remote_eph);
	else
		rc = crypto_kx_server_session_keys(sec->raw_rx, sec->raw_tx,
		    ch->eph_pk, sec->eph_sk, remote_eph);
	sodium_memzero(sec->eph_sk, sizeof sec->eph_sk);
	if (rc != 0)
		return channel_fail(ch, "bad ephemeral key");
	channel_mix_key(sec->rx_key, sec->raw_rx, ch->netid);
	channel_mix_key(sec->tx_key, sec->raw_tx, ch->netid);
	sodium_memzero(sec->raw_rx, sizeof sec->raw_rx);
	sodium_memzero(sec->raw_tx, sizeof sec->raw_tx);

	channel_transcript(ch, remote_eph, ch->h);
	channel_auth_message(msg, ch->initiator ? 'I' : 'R', ch->h);
	memcpy(auth, ch->node_pk, TX_PK_LEN);
	crypto_sign_detached(auth + TX_PK_LEN, NULL, msg, sizeof msg,
	    sec->node_sk);
	sodium_memzero(sec->node_sk, sizeof sec->node_sk);

	/* M2 goes after whatever of M1 is still queued. */
	if (ch->outoff > 0) {
		memmove(ch->out, ch->out + ch->outoff, ch->outlen - ch->outoff);
		ch->outlen -= ch->outoff;
		ch->outoff = 0;
	}
	m2 = ch->out + ch->outlen;
	crypto_secretstream_xchacha20poly1305_init_push(&ch->tx, m2,
	    sec->tx_key);
	sodium_memzero(sec->tx_key, sizeof sec->tx_key);
	channel_put_record(ch, auth, sizeof auth, m2 + CHANNEL_STREAM_HDR);
	ch->outlen += CHANNEL_M2_LEN;

	*used = CHANNEL_M1_LEN;
	ch->state = CHANNEL_WAIT_HDR;
	return 0;
}

static int
channel_recv_hdr(struct channel *ch, const uint8_t *in, size_t len,
    size_t *used)
{
	if (len < CHANNEL_STREAM_HDR)
		return 0;
	crypto_secretstream_xchacha20poly1305_init_pull(&ch->rx, in,
	    ch->sec->rx_key);
	/* Nothing of the handshake's secrets is needed any more. */
	channel_secrets_free(ch);
	*used = CHANNEL_STREAM_HDR;
	ch->state = CHANNEL_WAIT_AUTH;
	return 0;
}

/*
 * Opens one record into m (room for mcap bytes).  Returns 1 with *used and
 * *mlen set, 0 if the record is not complete yet, or -1 (channel failed).
 * The declared length is checked before anything else.
 */
static int
channel_open_record(struct channel *ch, const uint8_t *in, size_t len,
    size_t *used, uint8_t *m, size_t mcap, size_t *mlen)
{
	unsigned long long n;
	unsigned char	 tag;
	uint32_t	 clen;

	if (len < CHANNEL_RECORD_HDR)
		return 0;
	clen = channel_get32(in);
	if (clen < CHANNEL_ABYTES || clen > CHANNEL_RECORD_MAX + CHANNEL_ABYTES)
		return channel_fail(ch, "record length out of bounds");
	if (ch->state == CHANNEL_WAIT_AUTH &&
	    clen != CHANNEL_AUTH_LEN + CHANNEL_ABYTES)
		return channel_fail(ch, "bad AUTH record length");
	if (m == NULL || mcap < clen - CHANNEL_ABYTES)
		return channel_fail(ch, "plaintext buffer too small");
	if (len - CHANNEL_RECORD_HDR < clen)
		return 0;

	if (crypto_secretstream_xchacha20poly1305_pull(&ch->rx, m, &n, &tag,
	    in + CHANNEL_RECORD_HDR, clen, in, CHANNEL_RECORD_HDR) != 0)
		return channel_fail(ch, "record decryption failed");
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
		sodium_memzero(m, (size_t)n);
		return channel_fail(ch, "unexpected record tag");
	}
	*used = CHANNEL_RECORD_HDR + clen;
	*mlen = (size_t)n;
	return 1;
}

static int
channel_recv_auth(struct channel *ch, const uint8_t *in, size_t len,
    size_t *used)
{
	uint8_t		 auth[CHANNEL_AUTH_LEN];
	uint8_t		 msg[CHANNEL_AUTH_MSG_LEN];
	size_t		 n;
	int		 rc;

	rc = channel_open_record(ch, in, len, used, auth, sizeof auth, &n);
	if (rc <= 0)
		return rc;
	/* The peer signed with its own role. */
	channel_auth_message(msg, ch->initiator ? 'R' : 'I', ch->h);
	if (crypto_sign_verify_detached(auth + TX_PK_LEN, msg, sizeof msg,
	    auth) != 0) {
		*used = 0;
		return channel_fail(ch, "bad AUTH signature");
	}
	memcpy(ch->remote_pk, auth, TX_PK_LEN);
	ch->state = CHANNEL_ESTABLISHED;
	return 0;
}

int
channel_recv(struct channel *ch, const uint8_t *in, size_t len,
    size_t *used, uint8_t *pt, size_t ptcap, size_t *ptlen)
{
	size_t	n;
	int	rc;

	*used = 0;
	if (ptlen != NULL)
		*ptlen = 0;
	if (len == 0 && ch->state != CHANNEL_FAILED)
		return 0;
	switch (ch->state) {
	case CHANNEL_WAIT_M1:
		return channel_recv_m1(ch, in, len, used);
	case CHANNEL_WAIT_HDR:
		return channel_recv_hdr(ch, in, len, used);
	case CHANNEL_WAIT_AUTH:
		return channel_recv_auth(ch, in, len, used);
	case CHANNEL_ESTABLISHED:
		rc = channel_open_record(ch, in, len, used, pt, ptcap, &n);
		if (rc < 0)
			return -1;
		if (rc > 0 && ptlen != NULL)
			*ptlen = n;
		return 0;
	case CHANNEL_FAILED:
		break;
	}
	return -1;
}

size_t
channel_seal(struct channel *ch, const uint8_t *pt, size_t len,
    uint8_t *out, size_t cap)
{
	if (ch->state != CHANNEL_ESTABLISHED || len > CHANNEL_RECORD_MAX ||
	    cap < len + CHANNEL_RECORD_OVERHEAD)
		return 0;
	return channel_put_record(ch, pt, len, out);
}
