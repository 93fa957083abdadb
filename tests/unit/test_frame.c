/*
 * test_frame.c: frame bounds, the streaming decoder under every
 * fragmentation, and the payload codecs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"

/* Deterministic generator so that a failure can be replayed. */
static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static const struct {
	uint8_t		 type;
	const char	*name;
	uint32_t	 min, max;
} bounds[] = {
	{ FRAME_HELLO, "HELLO", 5, 5 + 64 },
	{ FRAME_PING, "PING", 8, 8 },
	{ FRAME_PONG, "PONG", 8, 8 },
	{ FRAME_INV, "INV", 2 + 32, 2 + 32 * 1000 },
	{ FRAME_GETDATA, "GETDATA", 2 + 32, 2 + 32 * 1000 },
	{ FRAME_TX, "TX", TX_MIN_LEN, TX_MAX_LEN },
	{ FRAME_NOTFOUND, "NOTFOUND", 2 + 32, 2 + 32 * 1000 },
	{ FRAME_GETPEERS, "GETPEERS", 0, 0 },
	{ FRAME_PEERS, "PEERS", 2, 2 + 100 * 51 },
	{ FRAME_PRUNE, "PRUNE", 0, 0 },
	{ FRAME_GRAFT, "GRAFT", 0, 0 },
	{ FRAME_RECON_INIT, "RECON_INIT", 26, 26 },
	{ FRAME_RECON_SYMBOLS, "RECON_SYMBOLS", 30 + 11, 30 + 11 * 4096 },
	{ FRAME_RECON_MORE, "RECON_MORE", 6, 6 },
	{ FRAME_RECON_WANT, "RECON_WANT", 6 + 8, 6 + 8 * 4096 },
	{ FRAME_RECON_DONE, "RECON_DONE", 5, 5 },
};
#define NBOUNDS	(sizeof(bounds) / sizeof(bounds[0]))

static void
test_frame_check_len(void **state)
{
	const char	*err;
	size_t		 i;
	unsigned	 t;

	(void)state;
	assert_int_equal(NBOUNDS, FRAME_TYPE_MAX);
	for (i = 0; i < NBOUNDS; i++) {
		assert_string_equal(frame_type_str(bounds[i].type),
		    bounds[i].name);
		assert_int_equal(frame_check_len(bounds[i].type, bounds[i].min,
		    &err), 0);
		assert_int_equal(frame_check_len(bounds[i].type, bounds[i].max,
		    &err), 0);
		err = NULL;
		assert_int_equal(frame_check_len(bounds[i].type,
		    bounds[i].max + 1, &err), -1);
		assert_string_equal(err, "payload too long for frame type");
		if (bounds[i].min > 0) {
			err = NULL;
			assert_int_equal(frame_check_len(bounds[i].type,
			    bounds[i].min - 1, &err), -1);
			assert_string_equal(err,
			    "payload too short for frame type");
		}
		assert_int_equal(frame_check_len(bounds[i].type, UINT32_MAX,
		    &err), -1);
		assert_int_equal(frame_check_len(bounds[i].type,
		    FRAME_MAX_PAYLOAD + 1, &err), -1);
		assert_true(bounds[i].max <= FRAME_MAX_PAYLOAD);
	}
	for (t = 0; t < 256; t++) {
		if (t >= 1 && t <= FRAME_TYPE_MAX)
			continue;
		err = NULL;
		assert_int_equal(frame_check_len((uint8_t)t, 8, &err), -1);
		assert_string_equal(err, "unknown frame type");
		assert_string_equal(frame_type_str((uint8_t)t), "UNKNOWN");
	}
	assert_int_equal(frame_check_len(FRAME_PING, 7, NULL), -1);
}

static void
test_frame_encode(void **state)
{
	uint8_t	out[FRAME_HDR_LEN + 16], nonce[8];

	(void)state;
	frame_ping_encode(0x0102030405060708ULL, nonce);
	assert_int_equal(frame_encode(out, sizeof(out), FRAME_PING, nonce, 8),
	    13);
	assert_memory_equal(out, "\x02\x00\x00\x00\x08\x01\x02\x03\x04\x05"
	    "\x06\x07\x08", 13);
	assert_int_equal(frame_encode(out, 12, FRAME_PING, nonce, 8), 0);
	assert_int_equal(frame_encode(out, sizeof(out), FRAME_PING, nonce, 7),
	    0);
	assert_int_equal(frame_encode(out, sizeof(out), 0, nonce, 8), 0);
	assert_int_equal(frame_encode(out, sizeof(out), 42, nonce, 8), 0);
	assert_int_equal(frame_encode(out, sizeof(out), FRAME_GETPEERS, NULL,
	    0), 5);
	assert_memory_equal(out, "\x08\x00\x00\x00\x00", 5);
	assert_int_equal(frame_encode(out, 4, FRAME_GETPEERS, NULL, 0), 0);
	assert_int_equal(frame_put_header(out, FRAME_TX, 0x01020304), 5);
	assert_memory_equal(out, "\x06\x01\x02\x03\x04", 5);
}

/* A frame of the stream test, with a random valid length and contents. */
struct sframe {
	uint8_t		 type;
	uint32_t	 len;
	uint8_t		*payload;
};

static size_t
stream_build(struct sframe *fr, size_t nframes, uint8_t **streamp)
{
	uint8_t	*s;
	size_t	 i, j, total = 0, off = 0;
	uint32_t span;

	for (i = 0; i < nframes; i++) {
		fr[i].type = bounds[rng() % NBOUNDS].type;
		for (j = 0; j < NBOUNDS; j++)
			if (bounds[j].type == fr[i].type)
				break;
		/* Mostly small frames, sometimes a maximal one. */
		span = bounds[j].max - bounds[j].min;
		if (span > 600 && rng() % 8 != 0)
			span = 600;
		fr[i].len = bounds[j].min + (span ? rng() % (span + 1) : 0);
		if (rng() % 16 == 0)
			fr[i].len = bounds[j].max;
		fr[i].payload = malloc(fr[i].len + 1);
		assert_non_null(fr[i].payload);
		for (j = 0; j < fr[i].len; j++)
			fr[i].payload[j] = (uint8_t)rng();
		total += FRAME_HDR_LEN + fr[i].len;
	}
	s = malloc(total);
	assert_non_null(s);
	for (i = 0; i < nframes; i++)
		off += frame_encode(s + off, total - off, fr[i].type,
		    fr[i].payload, fr[i].len);
	assert_int_equal(off, total);
	*streamp = s;
	return total;
}

/*
 * Feeds the stream in chunks (maxchunk 1: one byte at a time; 0: all at
 * once) and checks every frame comes out whole and in order.
 */
static void
stream_feed(const struct sframe *fr, size_t nframes, const uint8_t *s,
    size_t total, size_t maxchunk)
{
	struct frame_decoder	 d;
	struct frame		 f;
	enum frame_status	 st;
	const char		*err;
	size_t			 off = 0, chunk, used, got = 0;

	frame_decoder_init(&d);
	while (off < total) {
		chunk = total - off;
		if (maxchunk > 0 && chunk > maxchunk)
			chunk = maxchunk;
		if (maxchunk > 1)
			chunk = 1 + rng() % chunk;
		/* Drain the chunk: it may hold several frames. */
		while (chunk > 0) {
			st = frame_decode(&d, s + off, chunk, &used, &f, &err);
			assert_int_not_equal(st, FRAME_ERROR);
			assert_true(used <= chunk);
			off += used;
			chunk -= used;
			if (st == FRAME_NEED_MORE) {
				assert_int_equal(chunk, 0);
				break;
			}
			assert_true(got < nframes);
			assert_int_equal(f.type, fr[got].type);
			assert_int_equal(f.len, fr[got].len);
			if (f.len > 0)
				assert_memory_equal(f.payload, fr[got].payload,
				    f.len);
			got++;
		}
	}
	assert_int_equal(got, nframes);
	/* Nothing pending: an empty call needs more. */
	assert_int_equal(frame_decode(&d, s, 0, &used, &f, &err),
	    FRAME_NEED_MORE);
	assert_int_equal(used, 0);
	assert_true(d.cap <= FRAME_MAX_PAYLOAD);
	frame_decoder_free(&d);
}

static void
test_frame_stream(void **state)
{
	struct sframe	 fr[300];
	uint8_t		*s;
	size_t		 total, i;
	static const size_t chunks[] = { 1, 0, 2, 3, 7, 64, 1000, 70000 };

	(void)state;
	total = stream_build(fr, 300, &s);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		stream_feed(fr, 300, s, total, chunks[i]);
	/* Many random splittings. */
	for (i = 0; i < 20; i++)
		stream_feed(fr, 300, s, total, 1 + rng() % 5000);
	for (i = 0; i < 300; i++)
		free(fr[i].payload);
	free(s);
}

/* Feeds a header one byte at a time; returns the final status. */
static enum frame_status
feed_header(struct frame_decoder *d, uint8_t type, uint32_t len,
    const char **err)
{
	uint8_t			 hdr[FRAME_HDR_LEN];
	struct frame		 f;
	enum frame_status	 st = FRAME_NEED_MORE;
	size_t			 i, used;

	frame_put_header(hdr, type, len);
	for (i = 0; i < FRAME_HDR_LEN; i++) {
		st = frame_decode(d, hdr + i, 1, &used, &f, err);
		assert_int_equal(used, 1);
		if (st != FRAME_NEED_MORE)
			break;
	}
	return st;
}

static void
test_frame_bad_lengths(void **state)
{
	struct frame_decoder	 d;
	struct frame		 f;
	const char		*err;
	size_t			 i, used;
	uint8_t			 byte = 0;
	uint32_t		 bad[3];
	size_t			 k, nbad;

	(void)state;
	for (i = 0; i < NBOUNDS; i++) {
		nbad = 0;
		bad[nbad++] = bounds[i].max + 1;
		bad[nbad++] = UINT32_MAX;
		if (bounds[i].min > 0)
			bad[nbad++] = bounds[i].min - 1;
		for (k = 0; k < nbad; k++) {
			frame_decoder_init(&d);
			err = NULL;
			assert_int_equal(feed_header(&d, bounds[i].type,
			    bad[k], &err), FRAME_ERROR);
			assert_non_null(err);
			/* Refused before anything was allocated. */
			assert_null(d.buf);
			assert_int_equal(d.cap, 0);
			/* The stream stays dead. */
			assert_int_equal(frame_decode(&d, &byte, 1, &used, &f,
			    &err), FRAME_ERROR);
			assert_int_equal(used, 0);
			frame_decoder_free(&d);
		}
		/* Both bounds themselves pass the header. */
		frame_decoder_init(&d);
		assert_int_not_equal(feed_header(&d, bounds[i].type,
		    bounds[i].max, &err), FRAME_ERROR);
		frame_decoder_free(&d);
	}

	/* Unknown types, even with a plausible length. */
	frame_decoder_init(&d);
	assert_int_equal(feed_header(&d, 0, 8, &err), FRAME_ERROR);
	assert_string_equal(err, "unknown frame type");
	frame_decoder_free(&d);
	frame_decoder_init(&d);
	assert_int_equal(feed_header(&d, FRAME_TYPE_MAX + 1, 0, &err),
	    FRAME_ERROR);
	assert_null(d.buf);
	frame_decoder_free(&d);
}

/* A good frame followed by a bad one: the first comes out, then the error. */
static void
test_frame_error_after_good(void **state)
{
	struct frame_decoder	 d;
	struct frame		 f;
	const char		*err = NULL;
	uint8_t			 s[64], nonce[8];
	size_t			 n, used;

	(void)state;
	frame_ping_encode(99, nonce);
	n = frame_encode(s, sizeof(s), FRAME_PING, nonce, 8);
	frame_put_header(s + n, FRAME_PONG, 9);
	n += FRAME_HDR_LEN;
	frame_decoder_init(&d);
	assert_int_equal(frame_decode(&d, s, n, &used, &f, &err), FRAME_READY);
	assert_int_equal(used, 13);
	assert_int_equal(f.type, FRAME_PING);
	assert_int_equal(frame_decode(&d, s + used, n - used, &used, &f, &err),
	    FRAME_ERROR);
	assert_string_equal(err, "payload too long for frame type");
	frame_decoder_free(&d);
}

static void
test_frame_hello(void **state)
{
	struct frame_hello	 h, back;
	uint8_t			 buf[128];
	const char		*err;
	size_t			 n;
	int			 c;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.listen_port = 7001;
	strcpy(h.name, "node1");
	n = frame_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "\x00\x01\x1b\x59\x05node1", 10);
	assert_int_equal(frame_check_len(FRAME_HELLO, (uint32_t)n, NULL), 0);
	memset(&back, 0xff, sizeof(back));
	assert_int_equal(frame_hello_decode(&back, buf, n, &err), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.listen_port, 7001);
	assert_string_equal(back.name, "node1");
	assert_int_equal(frame_hello_encode(&h, buf, n - 1), 0);

	/* Longest name, and the empty name. */
	memset(h.name, 'x', FRAME_NAME_MAX);
	h.name[FRAME_NAME_MAX] = '\0';
	n = frame_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 5 + FRAME_NAME_MAX);
	assert_int_equal(frame_hello_decode(&back, buf, n, &err), 0);
	assert_int_equal(strlen(back.name), FRAME_NAME_MAX);
	h.name[0] = '\0';
	n = frame_hello_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_int_equal(frame_hello_decode(&back, buf, n, &err), 0);
	assert_string_equal(back.name, "");

	/* Name length byte that does not match the payload. */
	memcpy(buf, "\x00\x01\x1b\x59\x05node1", 10);
	assert_int_equal(frame_hello_decode(&back, buf, 9, &err), -1);
	assert_int_equal(frame_hello_decode(&back, buf, 11, &err), -1);
	buf[4] = 4;
	assert_int_equal(frame_hello_decode(&back, buf, 10, &err), -1);
	buf[4] = 65;
	assert_int_equal(frame_hello_decode(&back, buf, 70, &err), -1);
	assert_int_equal(frame_hello_decode(&back, buf, 4, &err), -1);

	/* Every byte outside printable ASCII is refused, inside accepted. */
	memcpy(buf, "\x00\x01\x1b\x59\x05node1", 10);
	for (c = 0; c < 256; c++) {
		buf[7] = (uint8_t)c;
		err = NULL;
		if (c >= 0x20 && c <= 0x7e) {
			assert_int_equal(frame_hello_decode(&back, buf, 10,
			    &err), 0);
		} else {
			assert_int_equal(frame_hello_decode(&back, buf, 10,
			    &err), -1);
			assert_string_equal(err,
			    "HELLO name is not printable ASCII");
		}
	}
	strcpy(h.name, "bad\nname");
	assert_int_equal(frame_hello_encode(&h, buf, sizeof(buf)), 0);
}

static void
test_frame_ping(void **state)
{
	static const uint64_t	nonces[] = { 0, 1, 0xdeadbeef, UINT64_MAX };
	uint8_t			buf[9];
	uint64_t		v;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(nonces) / sizeof(nonces[0]); i++) {
		assert_int_equal(frame_ping_encode(nonces[i], buf), 8);
		assert_int_equal(frame_ping_decode(&v, buf, 8), 0);
		assert_int_equal(v, nonces[i]);
	}
	frame_ping_encode(0x0102030405060708ULL, buf);
	assert_memory_equal(buf, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_int_equal(frame_ping_decode(&v, buf, 7), -1);
	assert_int_equal(frame_ping_decode(&v, buf, 9), -1);
	assert_int_equal(frame_ping_decode(&v, buf, 0), -1);
}

static void
test_frame_ids(void **state)
{
	static const size_t	 counts[] = { 1, 2, 999, 1000 };
	uint8_t			(*ids)[TX_ID_LEN];
	const uint8_t		(*got)[TX_ID_LEN];
	uint8_t			*buf;
	const char		*err;
	size_t			 cap, i, j, n, count;

	(void)state;
	ids = calloc(FRAME_MAX_IDS + 1, TX_ID_LEN);
	cap = 2 + (FRAME_MAX_IDS + 1) * TX_ID_LEN;
	buf = malloc(cap);
	assert_non_null(ids);
	assert_non_null(buf);
	for (i = 0; i <= FRAME_MAX_IDS; i++)
		for (j = 0; j < TX_ID_LEN; j++)
			ids[i][j] = (uint8_t)rng();

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		n = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids,
		    counts[i], buf, cap);
		assert_int_equal(n, 2 + counts[i] * TX_ID_LEN);
		assert_int_equal(buf[0], counts[i] >> 8);
		assert_int_equal(buf[1], counts[i] & 0xff);
		assert_int_equal(frame_check_len(FRAME_INV, (uint32_t)n, NULL),
		    0);
		assert_int_equal(frame_ids_decode(buf, n, &got, &count, &err),
		    0);
		assert_int_equal(count, counts[i]);
		assert_ptr_equal(got, buf + 2);
		assert_memory_equal(got, ids, counts[i] * TX_ID_LEN);
		/* A byte short or a byte long: count mismatch. */
		err = NULL;
		assert_int_equal(frame_ids_decode(buf, n - 1, &got, &count,
		    &err), -1);
		assert_string_equal(err, "id count does not match length");
		assert_int_equal(frame_ids_decode(buf, n + 1, &got, &count,
		    &err), -1);
		/* Too small an output buffer. */
		assert_int_equal(frame_ids_encode(
		    (const uint8_t (*)[TX_ID_LEN])ids, counts[i], buf, n - 1), 0);
	}

	/* Count says 2, one id present. */
	n = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids, 1, buf, cap);
	buf[1] = 2;
	assert_int_equal(frame_ids_decode(buf, n, &got, &count, &err), -1);
	/* Count 0. */
	buf[1] = 0;
	assert_int_equal(frame_ids_decode(buf, 2, &got, &count, &err), -1);
	assert_string_equal(err, "id list is empty");
	assert_int_equal(frame_ids_decode(buf, 1, &got, &count, &err), -1);
	/* 1001 ids, consistent length: too many. */
	assert_int_equal(frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids,
	    FRAME_MAX_IDS + 1, buf, cap), 0);
	assert_int_equal(frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids,
	    0, buf, cap), 0);
	buf[0] = (FRAME_MAX_IDS + 1) >> 8;
	buf[1] = (FRAME_MAX_IDS + 1) & 0xff;
	assert_int_equal(frame_ids_decode(buf, cap, &got, &count, &err), -1);
	assert_string_equal(err, "too many ids");
	assert_int_equal(frame_check_len(FRAME_INV, (uint32_t)cap, NULL), -1);
	free(ids);
	free(buf);
}

static void
test_frame_peers(void **state)
{
	struct frame_peer	 in[FRAME_MAX_PEERS + 1], out[FRAME_MAX_PEERS];
	uint8_t			 buf[2 + (FRAME_MAX_PEERS + 1) * 51];
	const char		*err;
	size_t			 i, j, n, count;
	static const size_t	 counts[] = { 0, 1, 2, 100 };

	(void)state;
	memset(in, 0, sizeof(in));
	for (i = 0; i <= FRAME_MAX_PEERS; i++) {
		for (j = 0; j < 32; j++)
			in[i].node_id[j] = (uint8_t)rng();
		in[i].family = i % 2 ? 6 : 4;
		for (j = 0; j < (in[i].family == 4 ? 4u : 16u); j++)
			in[i].addr[j] = (uint8_t)rng();
		in[i].port = (uint16_t)(1 + i);
	}
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		n = frame_peers_encode(in, counts[i], buf, sizeof(buf));
		assert_int_equal(n, 2 + counts[i] * FRAME_PEER_ENTRY_LEN);
		assert_int_equal(frame_check_len(FRAME_PEERS, (uint32_t)n,
		    NULL), 0);
		memset(out, 0xcc, sizeof(out));
		assert_int_equal(frame_peers_decode(buf, n, out,
		    FRAME_MAX_PEERS, &count, &err), 0);
		assert_int_equal(count, counts[i]);
		for (j = 0; j < count; j++) {
			assert_memory_equal(out[j].node_id, in[j].node_id, 32);
			assert_int_equal(out[j].family, in[j].family);
			assert_memory_equal(out[j].addr, in[j].addr, 16);
			assert_int_equal(out[j].port, in[j].port);
		}
		assert_int_equal(frame_peers_decode(buf, n + 1, out,
		    FRAME_MAX_PEERS, &count, &err), -1);
		if (n > 2)
			assert_int_equal(frame_peers_decode(buf, n - 1, out,
			    FRAME_MAX_PEERS, &count, &err), -1);
	}

	/* Byte layout of one IPv4 entry. */
	n = frame_peers_encode(in, 1, buf, sizeof(buf));
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[1], 1);
	assert_memory_equal(buf + 2, in[0].node_id, 32);
	assert_int_equal(buf[34], 4);
	assert_memory_equal(buf + 35, in[0].addr, 16);
	assert_int_equal(buf[51], 0);
	assert_int_equal(buf[52], 1);

	/* More entries than the caller's room. */
	n = frame_peers_encode(in, 3, buf, sizeof(buf));
	assert_int_equal(frame_peers_decode(buf, n, out, 2, &count, &err), -1);
	assert_int_equal(frame_peers_decode(buf, n, out, 3, &count, &err), 0);

	/* Bad family, IPv4 padding, port 0. */
	static const struct {
		size_t		 off;
		uint8_t		 val;
		const char	*err;
	} bad[] = {
		{ 34, 0, "bad peer address family" },
		{ 34, 5, "bad peer address family" },
		{ 34, 46, "bad peer address family" },
		{ 34, 255, "bad peer address family" },
		{ 40, 1, "IPv4 peer address padding not zero" },
		{ 50, 0x80, "IPv4 peer address padding not zero" },
		{ 51, 0, "peer port 0" },	/* with 52 set to 0 too */
	};
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = frame_peers_encode(in, 1, buf, sizeof(buf));
		buf[bad[i].off] = bad[i].val;
		if (bad[i].off == 51)
			buf[52] = 0;
		err = NULL;
		assert_int_equal(frame_peers_decode(buf, n, out,
		    FRAME_MAX_PEERS, &count, &err), -1);
		assert_string_equal(err, bad[i].err);
	}
	in[0].family = 5;
	assert_int_equal(frame_peers_encode(in, 1, buf, sizeof(buf)), 0);
	in[0].family = 4;
	in[0].port = 0;
	assert_int_equal(frame_peers_encode(in, 1, buf, sizeof(buf)), 0);
	in[0].port = 1;

	/* More than 100 entries. */
	assert_int_equal(frame_peers_encode(in, FRAME_MAX_PEERS + 1, buf,
	    sizeof(buf)), 0);
	buf[0] = 0;
	buf[1] = FRAME_MAX_PEERS + 1;
	assert_int_equal(frame_peers_decode(buf, 2 + 101 * 51, out,
	    FRAME_MAX_PEERS, &count, &err), -1);
	assert_string_equal(err, "too many peers");
	assert_int_equal(frame_peers_decode(buf, 1, out, FRAME_MAX_PEERS,
	    &count, &err), -1);
}

static int
hexval(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* Decodes lower-case hex, skipping spaces; returns the byte count. */
static size_t
unhex(uint8_t *out, const char *hex)
{
	size_t	n = 0;

	for (; *hex != '\0'; hex++) {
		if (*hex == ' ')
			continue;
		out[n] = (uint8_t)(hexval(hex[0]) << 4 | hexval(hex[1]));
		hex++;
		n++;
	}
	return n;
}

/* The example frames of docs/PROTOCOL.md section 3.3. */
static void
test_frame_doc_examples(void **state)
{
	struct frame_hello	h;
	struct frame_peer	pe;
	uint8_t			pl[128], fr[128], want[128];
	size_t			n, wn;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.version = 1;
	h.listen_port = 7001;
	strcpy(h.name, "node1");
	n = frame_hello_encode(&h, pl, sizeof(pl));
	n = frame_encode(fr, sizeof(fr), FRAME_HELLO, pl, n);
	wn = unhex(want, "010000000a00011b59056e6f646531");
	assert_int_equal(n, wn);
	assert_memory_equal(fr, want, n);

	n = frame_ping_encode(0x0102030405060708ULL, pl);
	n = frame_encode(fr, sizeof(fr), FRAME_PING, pl, n);
	wn = unhex(want, "02000000080102030405060708");
	assert_int_equal(n, wn);
	assert_memory_equal(fr, want, n);

	memset(&pe, 0, sizeof(pe));
	memset(pe.node_id, 0x11, sizeof(pe.node_id));
	pe.family = 4;
	pe.addr[0] = 127;
	pe.addr[3] = 1;
	pe.port = 7002;
	n = frame_peers_encode(&pe, 1, pl, sizeof(pl));
	wn = unhex(want, "0001 "
	    "1111111111111111111111111111111111111111111111111111111111111111 "
	    "04 7f000001000000000000000000000000 1b5a");
	assert_int_equal(n, wn);
	assert_memory_equal(pl, want, n);

	assert_int_equal(frame_put_header(fr, FRAME_TX, 192), 5);
	wn = unhex(want, "06000000c0");
	assert_memory_equal(fr, want, wn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_check_len),
		cmocka_unit_test(test_frame_encode),
		cmocka_unit_test(test_frame_stream),
		cmocka_unit_test(test_frame_bad_lengths),
		cmocka_unit_test(test_frame_error_after_good),
		cmocka_unit_test(test_frame_hello),
		cmocka_unit_test(test_frame_ping),
		cmocka_unit_test(test_frame_ids),
		cmocka_unit_test(test_frame_peers),
		cmocka_unit_test(test_frame_doc_examples),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
