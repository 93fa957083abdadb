/*
 * test_channel.c: the secure channel (docs/PROTOCOL.md section 4).  Real
 * channels are driven against each other through byte buffers; a "fake"
 * peer written here from the spec with bare libsodium calls plays the
 * misbehaving side (wrong role, bad signature, other tags), and the test
 * vector of the spec is checked byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/channel.h"
#include "proto/hex.h"

#define STREAM_MAX	(4 * (CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD))

/* One end of a connection: its channel and the bytes it has not consumed. */
struct end {
	struct channel	*ch;
	uint8_t		*in;		/* received, not yet consumed */
	size_t		 inlen;
	uint8_t		*pt;		/* CHANNEL_RECORD_MAX */
	uint8_t		*got;		/* every plaintext, concatenated */
	size_t		 gotlen;
	size_t		 nrec;		/* records delivered */
	int		 failed;
	size_t		 sent;		/* handshake bytes output so far */
	long		 flip_at;	/* offset in the output to corrupt, or -1 */
	uint8_t		 flip_mask;
};

static uint8_t	netid_a[TX_NETID_LEN];
static uint8_t	netid_b[TX_NETID_LEN];
static uint8_t	sk_i[TX_SK_LEN], pk_i[TX_PK_LEN];
static uint8_t	sk_r[TX_SK_LEN], pk_r[TX_PK_LEN];
static uint8_t	sk_x[TX_SK_LEN], pk_x[TX_PK_LEN];

static int
setup_keys(void **state)
{
	uint8_t	seed[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(netid_a, 0xa1, sizeof netid_a);
	memset(netid_b, 0xb2, sizeof netid_b);
	memset(seed, 1, sizeof seed);
	crypto_sign_seed_keypair(pk_i, sk_i, seed);
	memset(seed, 2, sizeof seed);
	crypto_sign_seed_keypair(pk_r, sk_r, seed);
	memset(seed, 3, sizeof seed);
	crypto_sign_seed_keypair(pk_x, sk_x, seed);
	return 0;
}

static void
end_init(struct end *e, struct channel *ch)
{
	memset(e, 0, sizeof *e);
	assert_non_null(ch);
	e->ch = ch;
	e->in = malloc(STREAM_MAX);
	e->pt = malloc(CHANNEL_RECORD_MAX);
	e->got = malloc(STREAM_MAX);
	assert_non_null(e->in);
	assert_non_null(e->pt);
	assert_non_null(e->got);
	e->flip_at = -1;
}

static void
end_free(struct end *e)
{
	channel_free(e->ch);
	free(e->in);
	free(e->pt);
	free(e->got);
}

/*
 * Appends bytes to what e has received and lets its channel consume all it
 * can, one message per call, as the daemon does with its input buffer.
 */
static void
end_deliver(struct end *e, const uint8_t *p, size_t n)
{
	size_t	used, ptlen;
	int	rc;

	assert_true(e->inlen + n <= STREAM_MAX);
	memcpy(e->in + e->inlen, p, n);
	e->inlen += n;
	while (!e->failed && e->inlen > 0) {
		rc = channel_recv(e->ch, e->in, e->inlen, &used, e->pt,
		    CHANNEL_RECORD_MAX, &ptlen);
		if (rc != 0) {
			assert_int_equal(rc, -1);
			assert_non_null(channel_error(e->ch));
			e->failed = 1;
			break;
		}
		assert_null(channel_error(e->ch));
		if (used == 0) {
			assert_int_equal(ptlen, 0);
			break;
		}
		assert_true(used <= e->inlen);
		memmove(e->in, e->in + used, e->inlen - used);
		e->inlen -= used;
		if (ptlen > 0 || channel_established(e->ch)) {
			memcpy(e->got + e->gotlen, e->pt, ptlen);
			e->gotlen += ptlen;
		}
		if (ptlen > 0)
			e->nrec++;
	}
}

/* Moves a's pending handshake output to b, chunk bytes at a time. */
static size_t
transfer(struct end *a, struct end *b, size_t chunk)
{
	uint8_t	buf[512];
	size_t	n, off, k;

	n = channel_output(a->ch, buf, sizeof buf);
	assert_true(n < sizeof buf);
	if (a->flip_at >= 0 && (size_t)a->flip_at >= a->sent &&
	    (size_t)a->flip_at < a->sent + n)
		buf[a->flip_at - (long)a->sent] ^= a->flip_mask;
	a->sent += n;
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		end_deliver(b, buf + off, k);
	}
	return n;
}

/* Runs the handshake until neither side has anything more to say. */
static void
handshake(struct end *a, struct end *b, size_t chunk)
{
	int	round;
	size_t	n;

	for (round = 0; round < 8; round++) {
		n = transfer(a, b, chunk);
		n += transfer(b, a, chunk);
		if (n == 0)
			return;
	}
	fail_msg("handshake did not settle");
}

/* The same, but both sides' messages cross on the wire each round. */
static void
handshake_crossed(struct end *a, struct end *b)
{
	uint8_t	ba[512], bb[512];
	size_t	na, nb;
	int	round;

	for (round = 0; round < 8; round++) {
		na = channel_output(a->ch, ba, sizeof ba);
		nb = channel_output(b->ch, bb, sizeof bb);
		if (na + nb == 0)
			return;
		end_deliver(b, ba, na);
		end_deliver(a, bb, nb);
	}
	fail_msg("handshake did not settle");
}

static void
pair_new(struct end *i, struct end *r)
{
	end_init(i, channel_new(1, netid_a, sk_i));
	end_init(r, channel_new(0, netid_a, sk_r));
}

static void
pair_established(struct end *i, struct end *r)
{
	pair_new(i, r);
	handshake(i, r, SIZE_MAX);
	assert_true(channel_established(i->ch));
	assert_true(channel_established(r->ch));
}

/* Seals len bytes of pattern from a and delivers the record to b. */
static size_t
send_record(struct end *a, struct end *b, const uint8_t *pt, size_t len)
{
	uint8_t	*rec;
	size_t	 n;

	rec = malloc(len + CHANNEL_RECORD_OVERHEAD);
	assert_non_null(rec);
	n = channel_seal(a->ch, pt, len, rec, len + CHANNEL_RECORD_OVERHEAD);
	assert_int_equal(n, len + CHANNEL_RECORD_OVERHEAD);
	end_deliver(b, rec, n);
	free(rec);
	return n;
}

static void
test_channel_handshake(void **state)
{
	struct end	 i, r;
	uint8_t		 msg[1000];
	size_t		 k;

	(void)state;
	pair_new(&i, &r);
	assert_false(channel_established(i.ch));
	assert_null(channel_remote_key(i.ch));
	assert_null(channel_error(i.ch));
	handshake(&i, &r, SIZE_MAX);
	assert_false(i.failed);
	assert_false(r.failed);
	assert_true(channel_established(i.ch));
	assert_true(channel_established(r.ch));
	assert_memory_equal(channel_remote_key(i.ch), pk_r, TX_PK_LEN);
	assert_memory_equal(channel_remote_key(r.ch), pk_i, TX_PK_LEN);
	assert_int_equal(i.sent, CHANNEL_M1_LEN + CHANNEL_M2_LEN);
	assert_int_equal(r.sent, CHANNEL_M1_LEN + CHANNEL_M2_LEN);
	assert_int_equal(i.inlen, 0);
	assert_int_equal(r.inlen, 0);

	/* Data both ways, several records each, sizes 0 to 999. */
	for (k = 0; k < sizeof msg; k++)
		msg[k] = (uint8_t)(k * 7 + 1);
	send_record(&i, &r, msg, 10);
	send_record(&i, &r, msg, sizeof msg);
	send_record(&r, &i, msg + 3, 1);
	send_record(&i, &r, msg, 0);
	send_record(&r, &i, msg, 500);
	assert_false(i.failed);
	assert_false(r.failed);
	assert_int_equal(r.nrec, 2);		/* the empty record yields none */
	assert_int_equal(r.gotlen, 10 + sizeof msg);
	assert_memory_equal(r.got, msg, 10);
	assert_memory_equal(r.got + 10, msg, sizeof msg);
	assert_int_equal(i.nrec, 2);
	assert_int_equal(i.gotlen, 501);
	assert_memory_equal(i.got, msg + 3, 1);
	assert_memory_equal(i.got + 1, msg, 500);
	end_free(&i);
	end_free(&r);
}

/* The same, with every byte arriving on its own. */
static void
test_channel_handshake_bytewise(void **state)
{
	struct end	 i, r;
	uint8_t		 rec[64 + CHANNEL_RECORD_OVERHEAD], msg[64];
	size_t		 n, k, used, ptlen;

	(void)state;
	pair_new(&i, &r);
	handshake(&i, &r, 1);
	assert_false(i.failed);
	assert_false(r.failed);
	assert_true(channel_established(i.ch));
	assert_true(channel_established(r.ch));
	assert_memory_equal(channel_remote_key(i.ch), pk_r, TX_PK_LEN);
	assert_memory_equal(channel_remote_key(r.ch), pk_i, TX_PK_LEN);

	/* A record offered one more byte at a time completes only at its end. */
	memset(msg, 0x5c, sizeof msg);
	n = channel_seal(i.ch, msg, sizeof msg, rec, sizeof rec);
	assert_int_equal(n, sizeof rec);
	for (k = 0; k < n; k++) {
		assert_int_equal(channel_recv(r.ch, rec, k, &used, r.pt,
		    CHANNEL_RECORD_MAX, &ptlen), 0);
		assert_int_equal(used, 0);
		assert_int_equal(ptlen, 0);
	}
	assert_int_equal(channel_recv(r.ch, rec, n, &used, r.pt,
	    CHANNEL_RECORD_MAX, &ptlen), 0);
	assert_int_equal(used, n);
	assert_int_equal(ptlen, sizeof msg);
	assert_memory_equal(r.pt, msg, sizeof msg);
	end_free(&i);
	end_free(&r);
}

/* The handshake output can be drained in small pieces; M2 queues behind M1. */
static void
test_channel_output_pieces(void **state)
{
	struct channel	*i, *r;
	uint8_t		 bi[256], br[256], pt[16];
	size_t		 ni = 0, nr = 0, n, used, ptlen;

	(void)state;
	i = channel_new(1, netid_a, sk_i);
	r = channel_new(0, netid_a, sk_r);
	assert_non_null(i);
	assert_non_null(r);
	/* Drain 5 bytes of the initiator's M1, then let it see the peer's M1. */
	ni += channel_output(i, bi, 5);
	assert_int_equal(ni, 5);
	nr += channel_output(r, br, sizeof br);
	assert_int_equal(nr, CHANNEL_M1_LEN);
	assert_int_equal(channel_recv(i, br, nr, &used, pt, sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_M1_LEN);
	while ((n = channel_output(i, bi + ni, 3)) > 0)
		ni += n;
	assert_int_equal(ni, CHANNEL_M1_LEN + CHANNEL_M2_LEN);
	assert_int_equal(channel_output(i, bi, sizeof bi), 0);
	assert_memory_equal(bi, "NDH1", 4);
	/* The bytes drained piecemeal are a whole M1 and M2: r establishes. */
	assert_int_equal(channel_recv(r, bi, ni, &used, pt, sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_M1_LEN);
	assert_int_equal(channel_recv(r, bi + CHANNEL_M1_LEN, ni - CHANNEL_M1_LEN,
	    &used, pt, sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_STREAM_HDR);
	assert_int_equal(channel_recv(r, bi + CHANNEL_M1_LEN + CHANNEL_STREAM_HDR,
	    ni - CHANNEL_M1_LEN - CHANNEL_STREAM_HDR, &used, pt, sizeof pt,
	    &ptlen), 0);
	assert_int_equal(used, CHANNEL_M2_LEN - CHANNEL_STREAM_HDR);
	assert_true(channel_established(r));
	assert_memory_equal(channel_remote_key(r), pk_i, TX_PK_LEN);
	channel_free(i);
	channel_free(r);
}

static void
test_channel_wrong_network(void **state)
{
	struct end	 i, r;

	(void)state;
	end_init(&i, channel_new(1, netid_a, sk_i));
	end_init(&r, channel_new(0, netid_b, sk_r));
	handshake_crossed(&i, &r);
	assert_true(i.failed);
	assert_true(r.failed);
	assert_false(channel_established(i.ch));
	assert_false(channel_established(r.ch));
	assert_string_equal(channel_error(i.ch), "record decryption failed");
	assert_string_equal(channel_error(r.ch), "record decryption failed");
	end_free(&i);
	end_free(&r);

	/* In turns: the first side to see an AUTH refuses it. */
	end_init(&i, channel_new(1, netid_a, sk_i));
	end_init(&r, channel_new(0, netid_b, sk_r));
	handshake(&i, &r, 1);
	assert_true(i.failed);
	assert_false(channel_established(i.ch));
	assert_false(channel_established(r.ch));
	assert_string_equal(channel_error(i.ch), "record decryption failed");
	end_free(&i);
	end_free(&r);
}

/*
 * The fake peer: the handshake written out from the spec with bare
 * libsodium, with knobs for every way to get it wrong.
 */
struct fake {
	int		 initiator;
	uint8_t		 eph_pk[32], eph_sk[32];
	crypto_secretstream_xchacha20poly1305_state tx;
};

struct fake_opts {
	const uint8_t	*netid_keys;	/* netid mixed into the keys */
	const uint8_t	*netid_hs;	/* netid in the transcript */
	const uint8_t	*sign_sk;	/* key that signs */
	const uint8_t	*auth_pk;	/* key put in AUTH */
	uint8_t		 role;		/* role byte signed */
	int		 swap_eph;	/* transcript with eph_R before eph_I */
	int		 flip_sig;	/* signature byte to flip, or -1 */
	unsigned char	 tag;		/* secretstream tag of the AUTH record */
	size_t		 auth_len;	/* AUTH plaintext length sent */
};

static void
fake_opts_default(struct fake_opts *o, int initiator)
{
	memset(o, 0, sizeof *o);
	o->netid_keys = o->netid_hs = netid_a;
	o->sign_sk = initiator ? sk_i : sk_r;
	o->auth_pk = initiator ? pk_i : pk_r;
	o->role = initiator ? 'I' : 'R';
	o->flip_sig = -1;
	o->tag = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	o->auth_len = CHANNEL_AUTH_LEN;
}

static void
fake_m1(struct fake *f, int initiator, uint8_t m1[CHANNEL_M1_LEN])
{
	f->initiator = initiator;
	crypto_kx_keypair(f->eph_pk, f->eph_sk);
	memcpy(m1, "NDH1", 4);
	memcpy(m1 + 4, f->eph_pk, 32);
}

static size_t
fake_record(struct fake *f, const uint8_t *pt, size_t len, unsigned char tag,
    uint8_t *out)
{
	uint32_t	L = (uint32_t)(len + CHANNEL_ABYTES);

	out[0] = (uint8_t)(L >> 24);
	out[1] = (uint8_t)(L >> 16);
	out[2] = (uint8_t)(L >> 8);
	out[3] = (uint8_t)L;
	crypto_secretstream_xchacha20poly1305_push(&f->tx, out + 4, NULL, pt,
	    len, out, 4, tag);
	return len + CHANNEL_RECORD_OVERHEAD;
}

/* Builds the fake's M2 for the peer's M1; returns its length. */
static size_t
fake_m2(struct fake *f, const uint8_t peer_m1[CHANNEL_M1_LEN],
    const struct fake_opts *o, uint8_t *out)
{
	const uint8_t	*peer = peer_m1 + 4;
	uint8_t		 rx[32], tx[32], key[32], h[32], auth[CHANNEL_AUTH_LEN + 8];
	uint8_t		 kxmsg[11 + 32], msg[13 + 1 + 32];
	crypto_generichash_state st;
	const uint8_t	*eph_i, *eph_r;

	if (f->initiator)
		assert_int_equal(crypto_kx_client_session_keys(rx, tx,
		    f->eph_pk, f->eph_sk, peer), 0);
	else
		assert_int_equal(crypto_kx_server_session_keys(rx, tx,
		    f->eph_pk, f->eph_sk, peer), 0);
	memcpy(kxmsg, "noded/kx/v1", 11);
	memcpy(kxmsg + 11, o->netid_keys, 32);
	crypto_generichash(key, 32, kxmsg, sizeof kxmsg, tx, 32);

	eph_i = f->initiator ? f->eph_pk : peer;
	eph_r = f->initiator ? peer : f->eph_pk;
	if (o->swap_eph) {
		const uint8_t *t = eph_i;
		eph_i = eph_r;
		eph_r = t;
	}
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"noded/hs/v1", 11);
	crypto_generichash_update(&st, o->netid_hs, 32);
	crypto_generichash_update(&st, eph_i, 32);
	crypto_generichash_update(&st, eph_r, 32);
	crypto_generichash_final(&st, h, 32);

	memcpy(msg, "noded/auth/v1", 13);
	msg[13] = o->role;
	memcpy(msg + 14, h, 32);
	memset(auth, 0, sizeof auth);
	memcpy(auth, o->auth_pk, 32);
	crypto_sign_detached(auth + 32, NULL, msg, sizeof msg, o->sign_sk);
	if (o->flip_sig >= 0)
		auth[32 + o->flip_sig] ^= 0x01;

	crypto_secretstream_xchacha20poly1305_init_push(&f->tx, out, key);
	return CHANNEL_STREAM_HDR + fake_record(f, auth, o->auth_len, o->tag,
	    out + CHANNEL_STREAM_HDR);
}

/*
 * Runs a real channel (role !fake_initiator) against the fake; returns the
 * real channel's end after it has seen the fake's M1 and M2.
 */
static void
fake_run(struct end *real, struct fake *f, int fake_initiator,
    const struct fake_opts *o)
{
	uint8_t	m1[CHANNEL_M1_LEN], real_out[256], m2[256];
	size_t	n;

	end_init(real, fake_initiator ? channel_new(0, netid_a, sk_r) :
	    channel_new(1, netid_a, sk_i));
	fake_m1(f, fake_initiator, m1);
	n = channel_output(real->ch, real_out, sizeof real_out);
	assert_int_equal(n, CHANNEL_M1_LEN);
	end_deliver(real, m1, sizeof m1);
	assert_false(real->failed);
	n = fake_m2(f, real_out, o, m2);
	end_deliver(real, m2, n);
}

static void
test_channel_fake_good(void **state)
{
	struct fake_opts o;
	struct fake	 f;
	struct end	 real;
	uint8_t		 rec[64];
	int		 fi;

	(void)state;
	/* The fake written from the spec is accepted in both roles... */
	for (fi = 0; fi <= 1; fi++) {
		fake_opts_default(&o, fi);
		fake_run(&real, &f, fi, &o);
		assert_false(real.failed);
		assert_true(channel_established(real.ch));
		assert_memory_equal(channel_remote_key(real.ch),
		    fi ? pk_i : pk_r, TX_PK_LEN);
		/* ...and so are its records. */
		end_deliver(&real, rec, fake_record(&f,
		    (const uint8_t *)"hello", 5,
		    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, rec));
		assert_false(real.failed);
		assert_int_equal(real.nrec, 1);
		assert_memory_equal(real.got, "hello", 5);
		end_free(&real);
	}
}

static void
test_channel_bad_auth(void **state)
{
	static const struct {
		const char	*name;
		const char	*error;
	} cases[] = {
		{ "role byte of the other side", "bad AUTH signature" },
		{ "signature byte flipped", "bad AUTH signature" },
		{ "last signature byte flipped", "bad AUTH signature" },
		{ "AUTH names another key", "bad AUTH signature" },
		{ "signed by another key", "bad AUTH signature" },
		{ "transcript of another network", "bad AUTH signature" },
		{ "transcript with swapped eph keys", "bad AUTH signature" },
		{ "keys of another network", "record decryption failed" },
		{ "AUTH record tagged FINAL", "unexpected record tag" },
		{ "AUTH record tagged PUSH", "unexpected record tag" },
		{ "AUTH too short", "bad AUTH record length" },
		{ "AUTH too long", "bad AUTH record length" },
	};
	struct fake_opts o;
	struct fake	 f;
	struct end	 real;
	size_t		 c;
	int		 fi;

	(void)state;
	for (fi = 0; fi <= 1; fi++) {
		for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
			fake_opts_default(&o, fi);
			switch (c) {
			case 0: o.role = fi ? 'R' : 'I'; break;
			case 1: o.flip_sig = 0; break;
			case 2: o.flip_sig = 63; break;
			case 3: o.auth_pk = pk_x; break;
			case 4: o.sign_sk = sk_x; break;
			case 5: o.netid_hs = netid_b; break;
			case 6: o.swap_eph = 1; break;
			case 7: o.netid_keys = netid_b; break;
			case 8: o.tag =
			    crypto_secretstream_xchacha20poly1305_TAG_FINAL;
				break;
			case 9: o.tag =
			    crypto_secretstream_xchacha20poly1305_TAG_PUSH;
				break;
			case 10: o.auth_len = CHANNEL_AUTH_LEN - 1; break;
			case 11: o.auth_len = CHANNEL_AUTH_LEN + 1; break;
			}
			fake_run(&real, &f, fi, &o);
			if (!real.failed)
				fail_msg("%s (fake %s): accepted", cases[c].name,
				    fi ? "initiator" : "responder");
			assert_false(channel_established(real.ch));
			assert_null(channel_remote_key(real.ch));
			assert_string_equal(channel_error(real.ch),
			    cases[c].error);
			end_free(&real);
		}
	}
}

/* Records the fake sends after a good handshake with a tag other than MESSAGE. */
static void
test_channel_record_tag(void **state)
{
	static const unsigned char tags[] = {
		crypto_secretstream_xchacha20poly1305_TAG_PUSH,
		crypto_secretstream_xchacha20poly1305_TAG_REKEY,
		crypto_secretstream_xchacha20poly1305_TAG_FINAL,
	};
	struct fake_opts o;
	struct fake	 f;
	struct end	 real;
	uint8_t		 rec[64];
	size_t		 t;

	(void)state;
	for (t = 0; t < sizeof tags; t++) {
		fake_opts_default(&o, 1);
		fake_run(&real, &f, 1, &o);
		assert_true(channel_established(real.ch));
		end_deliver(&real, rec, fake_record(&f,
		    (const uint8_t *)"x", 1, tags[t], rec));
		assert_true(real.failed);
		assert_int_equal(real.nrec, 0);
		assert_string_equal(channel_error(real.ch),
		    "unexpected record tag");
		end_free(&real);
	}
}

/*
 * Every byte of each handshake message, from either side, flipped with
 * several masks: the handshake never completes with both sides agreeing.
 */
static void
test_channel_flip_handshake(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct end	 i, r, *from, *to;
	size_t		 off, m;
	int		 side;

	(void)state;
	for (side = 0; side <= 1; side++) {
		for (off = 0; off < CHANNEL_M1_LEN + CHANNEL_M2_LEN; off++) {
			for (m = 0; m < sizeof masks; m++) {
				pair_new(&i, &r);
				from = side ? &r : &i;
				to = side ? &i : &r;
				from->flip_at = (long)off;
				from->flip_mask = masks[m];
				handshake(&i, &r, SIZE_MAX);
				if (channel_established(i.ch) &&
				    channel_established(r.ch))
					fail_msg("%s byte %zu ^ %02x: established",
					    side ? "responder" : "initiator",
					    off, masks[m]);
				assert_true(i.failed || r.failed);
				/* Magic and all of M2: the receiver itself refuses. */
				if (off < 4 || off >= CHANNEL_M1_LEN) {
					assert_true(to->failed);
					assert_false(channel_established(to->ch));
				}
				end_free(&i);
				end_free(&r);
			}
		}
	}
}

static void
test_channel_bad_m1(void **state)
{
	struct channel	*ch;
	uint8_t		 m1[CHANNEL_M1_LEN], pt[8];
	size_t		 used, ptlen;

	(void)state;
	/* A wrong magic fails on its first byte, before the rest arrives. */
	ch = channel_new(0, netid_a, sk_r);
	assert_int_equal(channel_recv(ch, (const uint8_t *)"X", 1, &used, pt,
	    sizeof pt, &ptlen), -1);
	assert_string_equal(channel_error(ch), "bad handshake magic");
	channel_free(ch);

	ch = channel_new(0, netid_a, sk_r);
	assert_int_equal(channel_recv(ch, (const uint8_t *)"NDH", 3, &used, pt,
	    sizeof pt, &ptlen), 0);
	assert_int_equal(used, 0);
	assert_int_equal(channel_recv(ch, (const uint8_t *)"NDH2", 4, &used,
	    pt, sizeof pt, &ptlen), -1);
	channel_free(ch);

	/* A low-order ephemeral key (all zero) gives no shared secret. */
	ch = channel_new(0, netid_a, sk_r);
	memset(m1, 0, sizeof m1);
	memcpy(m1, "NDH1", 4);
	assert_int_equal(channel_recv(ch, m1, sizeof m1, &used, pt, sizeof pt,
	    &ptlen), -1);
	assert_string_equal(channel_error(ch), "bad ephemeral key");
	channel_free(ch);
}

/* Each side's own handshake bytes echoed back to it never establish. */
static void
test_channel_reflection(void **state)
{
	struct end	 a;
	uint8_t		 buf[512];
	size_t		 n;
	int		 init;

	(void)state;
	for (init = 0; init <= 1; init++) {
		end_init(&a, channel_new(init, netid_a, init ? sk_i : sk_r));
		n = channel_output(a.ch, buf, sizeof buf);
		end_deliver(&a, buf, n);
		n = channel_output(a.ch, buf, sizeof buf);
		assert_int_equal(n, CHANNEL_M2_LEN);
		end_deliver(&a, buf, n);
		assert_true(a.failed);
		assert_false(channel_established(a.ch));
		end_free(&a);
	}
}

/* Self-connection is the daemon's to refuse: the channel reports the key. */
static void
test_channel_self(void **state)
{
	struct end	 i, r;

	(void)state;
	end_init(&i, channel_new(1, netid_a, sk_i));
	end_init(&r, channel_new(0, netid_a, sk_i));
	handshake(&i, &r, SIZE_MAX);
	assert_true(channel_established(i.ch));
	assert_memory_equal(channel_remote_key(i.ch), pk_i, TX_PK_LEN);
	assert_memory_equal(channel_remote_key(r.ch), pk_i, TX_PK_LEN);
	end_free(&i);
	end_free(&r);
}

/* Every byte of a sealed record flipped: never any plaintext, always fails. */
static void
test_channel_tamper(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80 };
	struct end	 i, r;
	uint8_t		 msg[40], rec[40 + CHANNEL_RECORD_OVERHEAD], *zero;
	size_t		 n, off, m, zlen;

	(void)state;
	memset(msg, 0x33, sizeof msg);
	zlen = CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD;
	zero = calloc(1, zlen);
	assert_non_null(zero);
	for (off = 0; off < sizeof rec; off++) {
		for (m = 0; m < sizeof masks; m++) {
			pair_established(&i, &r);
			n = channel_seal(i.ch, msg, sizeof msg, rec, sizeof rec);
			assert_int_equal(n, sizeof rec);
			rec[off] ^= masks[m];
			end_deliver(&r, rec, n);
			assert_int_equal(r.nrec, 0);
			/*
			 * A length made larger but still in bounds waits for
			 * its bytes; whatever comes next cannot authenticate.
			 */
			if (!r.failed)
				end_deliver(&r, zero, zlen);
			if (!r.failed)
				fail_msg("record byte %zu ^ %02x accepted",
				    off, masks[m]);
			assert_int_equal(r.nrec, 0);
			assert_int_equal(r.gotlen, 0);
			end_free(&i);
			end_free(&r);
		}
	}
	free(zero);
}

static void
test_channel_replay_reorder(void **state)
{
	struct end	 i, r;
	uint8_t		 r1[10 + CHANNEL_RECORD_OVERHEAD];
	uint8_t		 r2[10 + CHANNEL_RECORD_OVERHEAD];
	uint8_t		 r3[10 + CHANNEL_RECORD_OVERHEAD];
	uint8_t		 cat[2 * sizeof r1];
	uint8_t		 m1[10], m2[10], m3[10];
	size_t		 k, used, ptlen;

	(void)state;
	memset(m1, '1', sizeof m1);
	memset(m2, '2', sizeof m2);
	memset(m3, '3', sizeof m3);

	/* Replay: the same record twice. */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	end_deliver(&r, r1, sizeof r1);
	assert_int_equal(r.nrec, 1);
	end_deliver(&r, r1, sizeof r1);
	assert_true(r.failed);
	assert_int_equal(r.nrec, 1);
	assert_string_equal(channel_error(r.ch), "record decryption failed");
	end_free(&i);
	end_free(&r);

	/* Reordering: the second record first. */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	channel_seal(i.ch, m2, sizeof m2, r2, sizeof r2);
	end_deliver(&r, r2, sizeof r2);
	assert_true(r.failed);
	assert_int_equal(r.nrec, 0);
	end_free(&i);
	end_free(&r);

	/* A dropped record: 1 then 3. */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	channel_seal(i.ch, m2, sizeof m2, r2, sizeof r2);
	channel_seal(i.ch, m3, sizeof m3, r3, sizeof r3);
	end_deliver(&r, r1, sizeof r1);
	end_deliver(&r, r3, sizeof r3);
	assert_true(r.failed);
	assert_int_equal(r.nrec, 1);
	assert_memory_equal(r.got, m1, sizeof m1);
	end_free(&i);
	end_free(&r);

	/* Reflection: a record fed back to its sender. */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	end_deliver(&i, r1, sizeof r1);
	assert_true(i.failed);
	assert_int_equal(i.nrec, 0);
	end_free(&i);
	end_free(&r);

	/* Truncation: a record cut short never completes... */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	channel_seal(i.ch, m2, sizeof m2, r2, sizeof r2);
	for (k = 0; k < sizeof r1; k++) {
		assert_int_equal(channel_recv(r.ch, r1, k, &used, r.pt,
		    CHANNEL_RECORD_MAX, &ptlen), 0);
		assert_int_equal(used, 0);
		assert_int_equal(ptlen, 0);
	}
	end_deliver(&r, r1, sizeof r1 - 5);
	assert_false(r.failed);
	assert_int_equal(r.nrec, 0);
	assert_int_equal(r.inlen, sizeof r1 - 5);
	/*
	 * ...and the stream going on after the cut (5 bytes of tag missing,
	 * the next record's bytes in their place) does not authenticate.
	 */
	end_deliver(&r, r2, sizeof r2);
	assert_true(r.failed);
	assert_int_equal(r.nrec, 0);
	end_free(&i);
	end_free(&r);

	/* A record with a byte cut from its middle, followed by the next. */
	pair_established(&i, &r);
	channel_seal(i.ch, m1, sizeof m1, r1, sizeof r1);
	channel_seal(i.ch, m2, sizeof m2, r2, sizeof r2);
	memcpy(cat, r1, 8);
	memcpy(cat + 8, r1 + 9, sizeof r1 - 9);
	memcpy(cat + sizeof r1 - 1, r2, sizeof r2);
	end_deliver(&r, cat, sizeof r1 - 1 + sizeof r2);
	assert_true(r.failed);
	assert_int_equal(r.nrec, 0);
	end_free(&i);
	end_free(&r);
}

static void
test_channel_lengths(void **state)
{
	static const uint32_t bad[] = {
		0, 1, CHANNEL_ABYTES - 1,
		CHANNEL_RECORD_MAX + CHANNEL_ABYTES + 1, 0x7fffffff, 0xffffffff,
	};
	struct end	 i, r;
	uint8_t		 hdr[4], *big, *rec;
	size_t		 k, n, used, ptlen;

	(void)state;
	/* Out-of-bounds lengths fail on the 4 length bytes alone. */
	for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		pair_established(&i, &r);
		hdr[0] = (uint8_t)(bad[k] >> 24);
		hdr[1] = (uint8_t)(bad[k] >> 16);
		hdr[2] = (uint8_t)(bad[k] >> 8);
		hdr[3] = (uint8_t)bad[k];
		assert_int_equal(channel_recv(r.ch, hdr, 3, &used, r.pt,
		    CHANNEL_RECORD_MAX, &ptlen), 0);
		assert_int_equal(used, 0);
		assert_int_equal(channel_recv(r.ch, hdr, 4, &used, r.pt,
		    CHANNEL_RECORD_MAX, &ptlen), -1);
		assert_string_equal(channel_error(r.ch),
		    "record length out of bounds");
		end_free(&i);
		end_free(&r);
	}

	/* CHANNEL_RECORD_MAX bytes make one record; one more is refused. */
	big = malloc(CHANNEL_RECORD_MAX + 1);
	rec = malloc(CHANNEL_RECORD_MAX + 1 + CHANNEL_RECORD_OVERHEAD);
	assert_non_null(big);
	assert_non_null(rec);
	for (k = 0; k < CHANNEL_RECORD_MAX + 1; k++)
		big[k] = (uint8_t)(k ^ (k >> 8));
	pair_established(&i, &r);
	assert_int_equal(channel_seal(i.ch, big, CHANNEL_RECORD_MAX + 1, rec,
	    CHANNEL_RECORD_MAX + 1 + CHANNEL_RECORD_OVERHEAD), 0);
	/* Too small an output buffer is refused too. */
	assert_int_equal(channel_seal(i.ch, big, 100, rec,
	    100 + CHANNEL_RECORD_OVERHEAD - 1), 0);
	n = channel_seal(i.ch, big, CHANNEL_RECORD_MAX, rec,
	    CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD);
	assert_int_equal(n, CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD);
	end_deliver(&r, rec, n);
	assert_false(r.failed);
	assert_int_equal(r.nrec, 1);
	assert_int_equal(r.gotlen, CHANNEL_RECORD_MAX);
	assert_memory_equal(r.got, big, CHANNEL_RECORD_MAX);
	/* The refused seals consumed nothing: the stream goes on. */
	send_record(&i, &r, big, 7);
	assert_int_equal(r.nrec, 2);
	/* A receive buffer smaller than the record is refused. */
	n = channel_seal(i.ch, big, 100, rec, 100 + CHANNEL_RECORD_OVERHEAD);
	assert_int_equal(channel_recv(r.ch, rec, n, &used, r.pt, 99, &ptlen),
	    -1);
	end_free(&i);
	end_free(&r);
	free(big);
	free(rec);
}

/* Before the handshake nothing seals; after a failure nothing works. */
static void
test_channel_states(void **state)
{
	struct end	 i, r;
	uint8_t		 rec[64], buf[256];
	size_t		 used, ptlen, n;

	(void)state;
	pair_new(&i, &r);
	assert_int_equal(channel_seal(i.ch, (const uint8_t *)"x", 1, rec,
	    sizeof rec), 0);
	/* Half-way: M1s exchanged, own M2s queued, no AUTH seen yet. */
	transfer(&i, &r, SIZE_MAX);
	n = channel_output(r.ch, buf, CHANNEL_M1_LEN);
	assert_int_equal(n, CHANNEL_M1_LEN);
	end_deliver(&i, buf, n);
	assert_false(channel_established(i.ch));
	assert_false(channel_established(r.ch));
	assert_int_equal(channel_seal(i.ch, (const uint8_t *)"x", 1, rec,
	    sizeof rec), 0);
	assert_int_equal(channel_seal(r.ch, (const uint8_t *)"x", 1, rec,
	    sizeof rec), 0);
	assert_null(channel_remote_key(i.ch));
	assert_null(channel_remote_key(r.ch));
	/* The initiator gets the responder's M2: established on its side only. */
	n = channel_output(r.ch, buf, sizeof buf);
	assert_int_equal(n, CHANNEL_M2_LEN);
	end_deliver(&i, buf, CHANNEL_STREAM_HDR + 50);
	assert_false(channel_established(i.ch));	/* AUTH not in yet */
	assert_null(channel_remote_key(i.ch));
	end_deliver(&i, buf + CHANNEL_STREAM_HDR + 50,
	    n - CHANNEL_STREAM_HDR - 50);
	assert_true(channel_established(i.ch));
	assert_false(channel_established(r.ch));
	transfer(&i, &r, SIZE_MAX);
	assert_true(channel_established(r.ch));

	/* Break the responder, then try every call. */
	memset(buf, 0xff, 4);
	assert_int_equal(channel_recv(r.ch, buf, 4, &used, r.pt,
	    CHANNEL_RECORD_MAX, &ptlen), -1);
	assert_false(channel_established(r.ch));
	assert_null(channel_remote_key(r.ch));
	assert_int_equal(channel_seal(r.ch, (const uint8_t *)"x", 1, rec,
	    sizeof rec), 0);
	assert_int_equal(channel_output(r.ch, buf, sizeof buf), 0);
	n = channel_seal(i.ch, (const uint8_t *)"ok", 2, rec, sizeof rec);
	assert_int_equal(channel_recv(r.ch, rec, n, &used, r.pt,
	    CHANNEL_RECORD_MAX, &ptlen), -1);
	assert_int_equal(channel_recv(r.ch, rec, 0, &used, r.pt,
	    CHANNEL_RECORD_MAX, &ptlen), -1);
	assert_int_equal(ptlen, 0);
	assert_string_equal(channel_error(r.ch), "record length out of bounds");
	end_free(&i);
	end_free(&r);
}

/* docs/PROTOCOL.md section 4.9: the test vector. */
#define V_NETID "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
#define V_SEED_I "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define V_SEED_R "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define V_ESEED_I "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
#define V_ESEED_R "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
#define V_PK_I "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
#define V_PK_R "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"
#define V_M1_I "4e44483120243c2fa724ef40cdd0a518dd546e05b914cad065b4e8a3958079080aac6607"
#define V_M1_R "4e444831a7e09d2129568e8aa5cf96ea7fd9e0f881a5d78bf592269562963f7b6f689050"
#define V_KEY_IR "914697f2cc9b1800c16cb37c0e4d084b169ebd0c852a049d40348d0e416ae104"
#define V_KEY_RI "bdc2015b58da6f90b56535f24d89905d5bc42a4817dedc1ade0afa3965e0edb5"
#define V_AUTH_I "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8" \
	"2ba8fff5264c095b9fb18503f0b8fd7daf51f28a370e342b5e3707e9bd0e34b3" \
	"11d605836e2733dd499e2967fa913397ac02b9eac6702a960de84c1b7d0d8e09"
#define V_AUTH_R "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7" \
	"f18e3c0b02db18a69c157e6975ab817921050047a27181b23405c65e6bbe9aa8" \
	"76245a0a267bf6fc90790d149e29fcfbf435133000e25459751d23049c90e70f"
#define V_M2_I "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d700000071bec3a623" \
	"72e900824b7b20cba22bd304bdf9f7c64191d1a5cca8385a0e51a50d129de2ed" \
	"9a61ca52c6043d840a6bee5cbb48d03833edafdef2ff7072748cb0acc0029394" \
	"7f482e471a8a1116c241c63224287564caa4dc002baebd79ae27d2c2f125861f" \
	"8819dd0d95a50d71e0108e4f85"
#define V_M2_R "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f700000071f9270a0a" \
	"c1ab66e9a6b78261d1b012bddb6dbedd639d9644493da02e63c65ff5770cef89" \
	"c8e53cd9da5f852bb60fec7a50e3f82117c077a9938f5b114e5e98830e051bd8" \
	"62c1e9dfdd11916ef8bbc37c00a5df6eeb88e0818a64c0b1ffdad1206f40e82c" \
	"ba8c27e4148bc948dc4f01d765"
#define V_REC_I "0000001e11cd904b578490c73a8b41b67db6f03d0ffff4bb323a37b5efaf4029a727"

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(hex_decode(out, len, hex, strlen(hex)), 0);
}

/*
 * Runs one side of the vector: its M1 must match; the AUTH inside its M2
 * (random stream header) must decrypt under the vector's key to the
 * vector's AUTH; the peer's M2 from the vector must establish it.
 */
static void
vector_side(int initiator)
{
	uint8_t		 netid[32], seed[32], eseed[32], pk[32], sk[64];
	uint8_t		 m1[CHANNEL_M1_LEN], peer_m1[CHANNEL_M1_LEN], key[32];
	uint8_t		 auth[CHANNEL_AUTH_LEN], peer_pk[32];
	uint8_t		 out[512], peer_m2[CHANNEL_M2_LEN], rec[34];
	uint8_t		 pt[CHANNEL_AUTH_LEN];
	uint8_t		 ping[13] = { 2, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8 };
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned long long mlen;
	unsigned char	 tag;
	struct channel	*ch;
	size_t		 n, used, ptlen;

	unhex(netid, 32, V_NETID);
	unhex(seed, 32, initiator ? V_SEED_I : V_SEED_R);
	unhex(eseed, 32, initiator ? V_ESEED_I : V_ESEED_R);
	unhex(m1, sizeof m1, initiator ? V_M1_I : V_M1_R);
	unhex(peer_m1, sizeof peer_m1, initiator ? V_M1_R : V_M1_I);
	unhex(key, 32, initiator ? V_KEY_IR : V_KEY_RI);
	unhex(auth, sizeof auth, initiator ? V_AUTH_I : V_AUTH_R);
	unhex(peer_m2, sizeof peer_m2, initiator ? V_M2_R : V_M2_I);
	unhex(peer_pk, 32, initiator ? V_PK_R : V_PK_I);
	crypto_sign_seed_keypair(pk, sk, seed);
	unhex(out, 32, initiator ? V_PK_I : V_PK_R);
	assert_memory_equal(pk, out, 32);

	ch = channel_new_seeded(initiator, netid, sk, eseed);
	assert_non_null(ch);
	n = channel_output(ch, out, sizeof out);
	assert_int_equal(n, CHANNEL_M1_LEN);
	assert_memory_equal(out, m1, CHANNEL_M1_LEN);

	assert_int_equal(channel_recv(ch, peer_m1, sizeof peer_m1, &used, pt,
	    sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_M1_LEN);
	n = channel_output(ch, out, sizeof out);
	assert_int_equal(n, CHANNEL_M2_LEN);
	assert_int_equal(crypto_secretstream_xchacha20poly1305_init_pull(&st,
	    out, key), 0);
	assert_memory_equal(out + CHANNEL_STREAM_HDR, "\0\0\0\x71", 4);
	assert_int_equal(crypto_secretstream_xchacha20poly1305_pull(&st, pt,
	    &mlen, &tag, out + CHANNEL_STREAM_HDR + 4,
	    CHANNEL_AUTH_LEN + CHANNEL_ABYTES, out + CHANNEL_STREAM_HDR, 4), 0);
	assert_int_equal(tag, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	assert_int_equal(mlen, CHANNEL_AUTH_LEN);
	assert_memory_equal(pt, auth, CHANNEL_AUTH_LEN);

	assert_int_equal(channel_recv(ch, peer_m2, sizeof peer_m2, &used, pt,
	    sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_STREAM_HDR);
	assert_int_equal(channel_recv(ch, peer_m2 + used, sizeof peer_m2 - used,
	    &used, pt, sizeof pt, &ptlen), 0);
	assert_int_equal(used, CHANNEL_M2_LEN - CHANNEL_STREAM_HDR);
	assert_int_equal(ptlen, 0);
	assert_true(channel_established(ch));
	assert_memory_equal(channel_remote_key(ch), peer_pk, 32);

	if (!initiator) {
		/* The initiator's first record after its AUTH: a PING frame. */
		unhex(rec, sizeof rec, V_REC_I);
		assert_int_equal(channel_recv(ch, rec, sizeof rec, &used, pt,
		    sizeof pt, &ptlen), 0);
		assert_int_equal(used, sizeof rec);
		assert_int_equal(ptlen, sizeof ping);
		assert_memory_equal(pt, ping, sizeof ping);
	}
	channel_free(ch);
}

static void
test_channel_vector(void **state)
{
	(void)state;
	vector_side(1);
	vector_side(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channel_handshake),
		cmocka_unit_test(test_channel_handshake_bytewise),
		cmocka_unit_test(test_channel_output_pieces),
		cmocka_unit_test(test_channel_wrong_network),
		cmocka_unit_test(test_channel_fake_good),
		cmocka_unit_test(test_channel_bad_auth),
		cmocka_unit_test(test_channel_record_tag),
		cmocka_unit_test(test_channel_flip_handshake),
		cmocka_unit_test(test_channel_bad_m1),
		cmocka_unit_test(test_channel_reflection),
		cmocka_unit_test(test_channel_self),
		cmocka_unit_test(test_channel_tamper),
		cmocka_unit_test(test_channel_replay_reorder),
		cmocka_unit_test(test_channel_lengths),
		cmocka_unit_test(test_channel_states),
		cmocka_unit_test(test_channel_vector),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
