/*
 * fuzz_channel.c: the secure-channel receiver on arbitrary bytes.  The
 * first input byte picks a mode:
 *
 *   0  raw: the rest of the input is the wire, fed to a fresh responder;
 *   1  a valid M1 from a real initiator first, then the rest as raw bytes
 *      (the stream header and AUTH record the fuzzer has to invent);
 *   2+ a full handshake between a real initiator and responder, then the
 *      rest is a script of operations building the initiator-to-responder
 *      byte stream: sealed records, flipped bytes, replays, drops,
 *      truncations and raw bytes.
 *
 * The wire is offered as a daemon would (unconsumed bytes kept and offered
 * again), in chunks whose sizes also come from the input.  Besides "never
 * crash or leak", in mode 2 every plaintext the responder yields must be
 * the next one the initiator sealed: nothing forged, replayed, reordered
 * or altered may ever come out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/channel.h"

#define WIRE_MAX	(8 * (CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD))
#define SEALED_MAX	256

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_state {
	uint8_t		 netid[TX_NETID_LEN];
	uint8_t		 sk_i[TX_SK_LEN];
	uint8_t		 sk_r[TX_SK_LEN];
	uint8_t		*wire;		/* bytes on their way to the responder */
	size_t		 wirelen;
	uint8_t		*rec;		/* the last sealed record */
	size_t		 reclen;
	uint8_t		*pt;
	uint8_t		 sealed[SEALED_MAX][16];	/* hashes, in seal order */
	size_t		 nsealed;	/* non-empty plaintexts sealed */
	size_t		 nseals;	/* records sealed */
	size_t		 ndelivered;
};

static struct fuzz_state *fs;

static void
fuzz_init(void)
{
	uint8_t	pk[TX_PK_LEN], seed[32];

	if (sodium_init() < 0)
		abort();
	if ((fs = calloc(1, sizeof *fs)) == NULL)
		abort();
	fs->wire = malloc(WIRE_MAX);
	fs->rec = malloc(CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD);
	fs->pt = malloc(CHANNEL_RECORD_MAX);
	if (fs->wire == NULL || fs->rec == NULL || fs->pt == NULL)
		abort();
	memset(fs->netid, 0x6e, sizeof fs->netid);
	memset(seed, 1, sizeof seed);
	crypto_sign_seed_keypair(pk, fs->sk_i, seed);
	memset(seed, 2, sizeof seed);
	crypto_sign_seed_keypair(pk, fs->sk_r, seed);
}

/* Reads up to n bytes of the input as a big-endian number. */
static size_t
take(const uint8_t **p, size_t *left, size_t n)
{
	size_t	v = 0;

	while (n-- > 0 && *left > 0) {
		v = v << 8 | **p;
		(*p)++;
		(*left)--;
	}
	return v;
}

static void
wire_add(const uint8_t *p, size_t n)
{
	if (n > WIRE_MAX - fs->wirelen)
		n = WIRE_MAX - fs->wirelen;
	memcpy(fs->wire + fs->wirelen, p, n);
	fs->wirelen += n;
}

/*
 * Offers the wire to ch as it arrives, chunk bytes at a time (0: all at
 * once), keeping what it does not consume, and checks every plaintext
 * against what was sealed.
 */
static void
feed(struct channel *ch, size_t chunk, int oracle)
{
	uint8_t	h[16];
	size_t	arrived = 0, off = 0, used, ptlen;
	int	rc;

	if (chunk == 0)
		chunk = fs->wirelen;
	while (arrived < fs->wirelen) {
		arrived += chunk;
		if (arrived > fs->wirelen)
			arrived = fs->wirelen;
		for (;;) {
			rc = channel_recv(ch, fs->wire + off, arrived - off,
			    &used, fs->pt, CHANNEL_RECORD_MAX, &ptlen);
			if (rc != 0) {
				if (rc != -1 || channel_error(ch) == NULL ||
				    channel_established(ch) ||
				    channel_remote_key(ch) != NULL)
					abort();
				return;
			}
			if (used > arrived - off || ptlen > CHANNEL_RECORD_MAX ||
			    (used == 0 && ptlen != 0))
				abort();
			if (used == 0)
				break;
			off += used;
			if (ptlen == 0)
				continue;
			if (!oracle)
				abort();	/* no one sealed anything */
			crypto_generichash(h, sizeof h, fs->pt, ptlen, NULL, 0);
			if (fs->ndelivered >= fs->nsealed ||
			    memcmp(h, fs->sealed[fs->ndelivered], sizeof h) != 0)
				abort();	/* forged, replayed or reordered */
			fs->ndelivered++;
		}
	}
}

/* Runs the handshake between i and r; returns 0 once both are established. */
static int
handshake(struct channel *i, struct channel *r)
{
	uint8_t	buf[512], pt[1];
	size_t	n, off, used, ptlen;
	int	round, k;
	struct channel *from, *to;

	for (round = 0; round < 4; round++) {
		for (k = 0; k < 2; k++) {
			from = k ? r : i;
			to = k ? i : r;
			n = channel_output(from, buf, sizeof buf);
			for (off = 0; off < n; off += used) {
				if (channel_recv(to, buf + off, n - off, &used,
				    pt, sizeof pt, &ptlen) != 0 || used == 0)
					return -1;
			}
		}
	}
	return channel_established(i) && channel_established(r) ? 0 : -1;
}

static void
seal(struct channel *i, const uint8_t **p, size_t *left)
{
	size_t	len, have;

	len = take(p, left, 2);
	if (len % 64 == 63)
		len = CHANNEL_RECORD_MAX;	/* now and then, the largest */
	else
		len %= 2048;
	/* The plaintext is input bytes, zero-padded when the input runs out. */
	have = len < *left ? len : *left;
	memset(fs->pt, 0, len);
	memcpy(fs->pt, *p, have);
	*p += have;
	*left -= have;
	fs->reclen = channel_seal(i, fs->pt, len, fs->rec,
	    CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD);
	if (fs->reclen != len + CHANNEL_RECORD_OVERHEAD)
		abort();
	/* An empty record yields no plaintext, so the oracle skips it. */
	if (len > 0 && fs->nsealed < SEALED_MAX)
		crypto_generichash(fs->sealed[fs->nsealed++], 16, fs->pt, len,
		    NULL, 0);
	fs->nseals++;
}

static void
script(struct channel *i, const uint8_t *p, size_t left)
{
	size_t	n, at;
	uint8_t	op, mask;

	while (left > 0 && fs->nseals < SEALED_MAX) {
		op = (uint8_t)take(&p, &left, 1);
		switch (op % 6) {
		case 0:		/* raw bytes */
			n = take(&p, &left, 1);
			if (n > left)
				n = left;
			wire_add(p, n);
			p += n;
			left -= n;
			break;
		case 1:		/* a good record */
			seal(i, &p, &left);
			wire_add(fs->rec, fs->reclen);
			break;
		case 2:		/* a record with one byte flipped */
			seal(i, &p, &left);
			at = take(&p, &left, 2) % fs->reclen;
			mask = (uint8_t)take(&p, &left, 1);
			fs->rec[at] ^= mask ? mask : 1;
			wire_add(fs->rec, fs->reclen);
			break;
		case 3:		/* the last record again */
			if (fs->reclen > 0)
				wire_add(fs->rec, fs->reclen);
			break;
		case 4:		/* a record sealed but never sent */
			seal(i, &p, &left);
			break;
		case 5:		/* a record cut short */
			seal(i, &p, &left);
			at = take(&p, &left, 2) % fs->reclen;
			wire_add(fs->rec, at);
			break;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct channel	*i, *r;
	uint8_t		 m1[CHANNEL_M1_LEN], eseed[CHANNEL_EPH_SEED_LEN];
	size_t		 chunk;
	int		 mode;

	if (fs == NULL)
		fuzz_init();
	if (size < 2)
		return 0;
	mode = data[0];
	chunk = data[1];
	data += 2;
	size -= 2;
	fs->wirelen = fs->reclen = 0;
	fs->nsealed = fs->nseals = fs->ndelivered = 0;

	switch (mode % 3) {
	case 0:
		/* Fixed ephemeral seeds keep these runs reproducible. */
		memset(eseed, 0x11, sizeof eseed);
		r = channel_new_seeded(0, fs->netid, fs->sk_r, eseed);
		if (r == NULL)
			abort();
		wire_add(data, size);
		feed(r, chunk, 0);
		break;
	case 1:
		memset(eseed, 0x11, sizeof eseed);
		r = channel_new_seeded(0, fs->netid, fs->sk_r, eseed);
		memset(eseed, 0x22, sizeof eseed);
		i = channel_new_seeded(1, fs->netid, fs->sk_i, eseed);
		if (r == NULL || i == NULL ||
		    channel_output(i, m1, sizeof m1) != CHANNEL_M1_LEN)
			abort();
		wire_add(m1, sizeof m1);
		wire_add(data, size);
		feed(r, chunk, 0);
		channel_free(i);
		break;
	default:
		i = channel_new(1, fs->netid, fs->sk_i);
		r = channel_new(0, fs->netid, fs->sk_r);
		if (i == NULL || r == NULL || handshake(i, r) != 0)
			abort();
		script(i, data, size);
		feed(r, chunk, 1);
		channel_free(i);
		break;
	}
	channel_free(r);
	return 0;
}
