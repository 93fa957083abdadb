/*
 * test_recon.c: Rateless IBLT reconciliation (proto/recon.c) and its
 * frames: the known-answer vector of docs/PROTOCOL.md 7.7, the mapping
 * against the reference implementation's, differences of 0, 1, 100 and
 * 10,000 on one side and both, colliding short ids, and the bounds.
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

#include "proto/frame.h"
#include "proto/hex.h"
#include "proto/recon.h"

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng64(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
unhex(uint8_t *out, const char *s, size_t n)
{
	size_t	i;
	unsigned v;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static int
cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* docs/PROTOCOL.md 7.7: the same numbers. */
static const char *const vec_symbols[8] = {
	"883bf3d32c0e336ef50ee9",
	"883bf3d32c0e336ef50ee9",
	"ac1132d3cf6185dd336b29",
	"03a5c3b25a82be9bc1d7f3",
	"77872bc87d6af20b540581",
	"5342cff60ec597ea7533c1",
	"f015346869448d8086e4b3",
	"c63176c2e3bc84f171d016",
};

static void
vec_key(uint8_t key[RECON_KEY_LEN])
{
	uint8_t	si[RECON_SALT_LEN], sr[RECON_SALT_LEN];
	int	i;

	for (i = 0; i < RECON_SALT_LEN; i++) {
		si[i] = (uint8_t)i;
		sr[i] = (uint8_t)(0x10 + i);
	}
	recon_key(key, si, sr);
}

static uint64_t
vec_short(const uint8_t key[RECON_KEY_LEN], int k)
{
	uint8_t	id[32];

	memset(id, k, sizeof(id));
	return recon_short_id(key, id);
}

static void
test_recon_vector(void **state)
{
	uint8_t		 key[RECON_KEY_LEN], want[RECON_KEY_LEN];
	uint8_t		 buf[RECON_SYMBOL_LEN], w[RECON_SYMBOL_LEN];
	uint64_t	 a[10], b[7], lo[2], ro[5];
	struct recon_symbol c[32];
	struct recon_enc *e;
	struct recon_dec *d;
	const uint64_t	*l, *r;
	size_t		 nl, nr, i;

	(void)state;
	vec_key(key);
	unhex(want, "5f1ca39c6d855aa7df4b843b37a47fc3", sizeof(want));
	assert_memory_equal(key, want, sizeof(key));
	assert_true(vec_short(key, 1) == 0x63ec22d48b7798cdULL);
	assert_true(recon_hash(key, 0x63ec22d48b7798cdULL) ==
	    0xa4a4a3e973a352f0ULL);
	assert_true(vec_short(key, 12) == 0x0a7cd1b8be8b85a5ULL);

	for (i = 0; i < 10; i++)
		a[i] = vec_short(key, (int)i + 1);	/* ids 1..10 */
	for (i = 0; i < 7; i++)
		b[i] = vec_short(key, (int)i + 6);	/* ids 6..12 */
	e = recon_enc_new(key, a, 10);
	assert_non_null(e);
	recon_enc_next(e, c, 32);
	assert_int_equal(recon_enc_produced(e), 32);
	for (i = 0; i < 8; i++) {
		recon_symbol_put(buf, &c[i]);
		unhex(w, vec_symbols[i], sizeof(w));
		assert_memory_equal(buf, w, sizeof(buf));
	}
	d = recon_dec_new(key, b, 7, 100);
	assert_non_null(d);
	for (i = 0; i < 32 && !recon_dec_done(d); i++)
		assert_int_equal(recon_dec_add(d, &c[i], 1), 0);
	assert_true(recon_dec_done(d));
	assert_int_equal(recon_dec_symbols(d), 13);
	l = recon_dec_local(d, &nl);
	r = recon_dec_remote(d, &nr);
	assert_int_equal(nl, 2);
	assert_int_equal(nr, 5);
	memcpy(lo, l, sizeof(lo));
	memcpy(ro, r, sizeof(ro));
	qsort(lo, 2, 8, cmp64);
	qsort(ro, 5, 8, cmp64);
	assert_true(lo[0] == 0x086a22aa9bc749c7ULL);	/* id 11 */
	assert_true(lo[1] == 0x0a7cd1b8be8b85a5ULL);	/* id 12 */
	assert_true(ro[0] == 0x03a5c3b25a82be9bULL);	/* id 5 */
	assert_true(ro[4] == 0xf015346869448d80ULL);	/* id 2 */
	recon_dec_free(d);
	recon_enc_free(e);
}

/* The sequences github.com/yangl1996/riblt's randomMapping gives for these seeds. */
static void
test_recon_mapping(void **state)
{
	static const uint64_t	s1[12] = { 1, 2, 3, 6, 11, 19, 44, 116, 122,
	    341, 972, 3263 };
	static const uint64_t	s2[12] = { 1, 2, 4, 6, 8, 20, 24, 34, 36, 126,
	    153, 155 };
	uint64_t		p, idx;
	int			i;

	(void)state;
	for (p = 1, idx = 0, i = 0; i < 12; i++) {
		idx = recon_map_next(&p, idx);
		assert_true(idx == s1[i]);
	}
	for (p = 0x0123456789abcdefULL, idx = 0, i = 0; i < 12; i++) {
		idx = recon_map_next(&p, idx);
		assert_true(idx == s2[i]);
	}
	/* A zero state jumps far and saturates, never wraps. */
	p = 0;
	idx = recon_map_next(&p, UINT64_MAX - 1);
	assert_true(idx == UINT64_MAX);
	assert_true(recon_map_next(&p, UINT64_MAX) == UINT64_MAX);
}

/* Encodes a = common + only_a, decodes against b = common + only_b in batches. */
static void
run_diff(size_t common, size_t na, size_t nb, size_t batch)
{
	uint8_t		 key[RECON_KEY_LEN];
	uint64_t	*a, *b, *got;
	struct recon_symbol *c;
	struct recon_enc *e;
	struct recon_dec *d;
	const uint64_t	*l, *r;
	size_t		 i, nl, nr, d_total = na + nb, max;

	randombytes_buf(key, sizeof(key));
	a = calloc(common + na + 1, 8);
	b = calloc(common + nb + 1, 8);
	c = calloc(batch, sizeof(*c));
	for (i = 0; i < common; i++)
		a[i] = b[i] = rng64();
	for (i = 0; i < na; i++)
		a[common + i] = rng64();
	for (i = 0; i < nb; i++)
		b[common + i] = rng64();
	max = 3 * d_total + 64;
	e = recon_enc_new(key, a, common + na);
	d = recon_dec_new(key, b, common + nb, max);
	assert_non_null(e);
	assert_non_null(d);
	while (!recon_dec_done(d)) {
		recon_enc_next(e, c, batch);
		assert_int_equal(recon_dec_add(d, c, batch), 0);
	}
	/* The paper's overhead: about 1.35 to 2 symbols per difference. */
	assert_true(recon_dec_symbols(d) <= 2 * d_total + batch + 8);
	l = recon_dec_local(d, &nl);
	r = recon_dec_remote(d, &nr);
	assert_int_equal(nl, nb);
	assert_int_equal(nr, na);
	got = calloc(nl + nr + 1, 8);
	if (nl > 0)
		memcpy(got, l, nl * 8);
	qsort(got, nl, 8, cmp64);
	qsort(b + common, nb, 8, cmp64);
	assert_memory_equal(got, b + common, nb * 8);
	if (nr > 0)
		memcpy(got, r, nr * 8);
	qsort(got, nr, 8, cmp64);
	qsort(a + common, na, 8, cmp64);
	assert_memory_equal(got, a + common, na * 8);
	free(got);
	recon_dec_free(d);
	recon_enc_free(e);
	free(a);
	free(b);
	free(c);
}

static void
test_recon_diffs(void **state)
{
	static const struct {
		size_t common, na, nb, batch;
	} cases[] = {
		{ 0, 0, 0, 1 },
		{ 1000, 0, 0, 1 },
		{ 1000, 1, 0, 1 },
		{ 1000, 0, 1, 1 },
		{ 5000, 100, 0, 16 },
		{ 5000, 0, 100, 16 },
		{ 5000, 50, 50, 7 },
		{ 0, 300, 0, 32 },
		{ 20000, 10000, 0, 512 },
		{ 20000, 5000, 5000, 512 },
		{ 100, 0, 10000, 1024 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_diff(cases[i].common, cases[i].na, cases[i].nb,
		    cases[i].batch);
}

static void
test_recon_split(void **state)
{
	uint64_t	s[] = { 9, 3, 7, 3, 1, 9, 9, 5 }, coll[4];
	size_t		u, nc;

	(void)state;
	u = recon_split(s, 8, coll, 4, &nc);
	assert_int_equal(u, 3);
	assert_true(s[0] == 1 && s[1] == 5 && s[2] == 7);
	assert_int_equal(nc, 2);
	assert_true(coll[0] == 3 && coll[1] == 9);
	/* More colliding values than room: counted, not written past. */
	{
		uint64_t t[] = { 2, 2, 4, 4, 6, 6 }, one[1];

		u = recon_split(t, 6, one, 1, &nc);
		assert_int_equal(u, 0);
		assert_int_equal(nc, 3);
		assert_true(one[0] == 2);
	}
}

/*
 * Two ids with one short id on the same side would cancel out of every
 * symbol they share: recon_split takes them out (they go by full id,
 * PROTOCOL.md 7.2), and the rest reconciles.
 */
static void
test_recon_collision(void **state)
{
	uint8_t		 key[RECON_KEY_LEN] = { 0 };
	uint64_t	 a[] = { 11, 22, 33, 33, 44 }, b[] = { 11, 22, 55 };
	uint64_t	 coll[2];
	struct recon_symbol c[64];
	struct recon_enc *e;
	struct recon_dec *d;
	const uint64_t	*l, *r;
	size_t		 na, nc, nl, nr, i;

	(void)state;
	na = recon_split(a, 5, coll, 2, &nc);
	assert_int_equal(na, 3);	/* 11 22 44 */
	assert_int_equal(nc, 1);
	e = recon_enc_new(key, a, na);
	d = recon_dec_new(key, b, 3, 64);
	recon_enc_next(e, c, 64);
	for (i = 0; i < 64 && !recon_dec_done(d); i++)
		assert_int_equal(recon_dec_add(d, &c[i], 1), 0);
	assert_true(recon_dec_done(d));
	l = recon_dec_local(d, &nl);
	r = recon_dec_remote(d, &nr);
	assert_int_equal(nl, 1);
	assert_true(l[0] == 55);
	assert_int_equal(nr, 1);
	assert_true(r[0] == 44);
	recon_dec_free(d);
	recon_enc_free(e);
}

/* Bounds: too many symbols is an error, never a crash; garbage decodes to nothing harmful. */
static void
test_recon_bounds(void **state)
{
	uint8_t		 key[RECON_KEY_LEN] = { 1 };
	uint64_t	 a[200], dummy = 0;
	struct recon_symbol c[300];
	struct recon_enc *e;
	struct recon_dec *d;
	size_t		 i, n;

	(void)state;
	assert_null(recon_enc_new(key, &dummy, (size_t)RECON_SET_MAX + 1));
	assert_null(recon_dec_new(key, &dummy, (size_t)RECON_SET_MAX + 1, 10));
	assert_null(recon_dec_new(key, &dummy, 1, 0));
	assert_null(recon_dec_new(key, &dummy, 1, (size_t)RECON_SYMBOLS_MAX + 1));

	for (i = 0; i < 200; i++)
		a[i] = rng64();
	e = recon_enc_new(key, a, 200);
	d = recon_dec_new(key, NULL, 0, 20);
	recon_enc_next(e, c, 30);
	assert_int_equal(recon_dec_add(d, c, 20), 0);
	assert_false(recon_dec_done(d));	/* 200 apart: 20 symbols are too few */
	assert_int_equal(recon_dec_add(d, c + 20, 1), -1);
	assert_int_equal(recon_dec_symbols(d), 20);
	recon_dec_free(d);
	recon_enc_free(e);

	/* Random symbols: whatever peels, no crash, within the bounds. */
	for (i = 0; i < 300; i++) {
		c[i].sum = rng64();
		c[i].check = (uint32_t)rng64() & 0xffffff;
	}
	d = recon_dec_new(key, a, 200, 300);
	assert_int_equal(recon_dec_add(d, c, 300), 0);
	recon_dec_local(d, &n);
	assert_true(n <= 300);
	recon_dec_remote(d, &n);
	assert_true(n <= 300);
	recon_dec_free(d);
}

static void
test_recon_frames(void **state)
{
	static const char vec[] =
	    "00000001101112131415161718191a1b1c1d1e1f0000000a000000000004"
	    "883bf3d32c0e336ef50ee9883bf3d32c0e336ef50ee9"
	    "ac1132d3cf6185dd336b2903a5c3b25a82be9bc1d7f3";
	uint8_t		 syms[4 * RECON_SYMBOL_LEN], out[256], want[74];
	uint8_t		 ids[16];
	struct frame_recon r, g;
	const char	*err;
	size_t		 n, i;

	(void)state;
	for (i = 0; i < 4; i++)
		unhex(syms + i * RECON_SYMBOL_LEN, vec_symbols[i],
		    RECON_SYMBOL_LEN);
	memset(&r, 0, sizeof(r));
	r.session = 1;
	for (i = 0; i < 16; i++)
		r.salt[i] = (uint8_t)(0x10 + i);
	r.set_size = 10;
	r.first = 0;
	r.count = 4;
	r.data = syms;
	n = frame_recon_encode(FRAME_RECON_SYMBOLS, &r, out, sizeof(out));
	assert_int_equal(n, 74);
	unhex(want, vec, sizeof(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(frame_recon_decode(FRAME_RECON_SYMBOLS, out, n, &g,
	    &err), 0);
	assert_int_equal(g.count, 4);
	assert_int_equal(g.set_size, 10);
	assert_memory_equal(g.data, syms, sizeof(syms));
	assert_int_equal(frame_recon_decode(FRAME_RECON_SYMBOLS, out, n - 1, &g,
	    &err), -1);
	assert_string_equal(err, "RECON_SYMBOLS count does not match length");

	/* INIT: 26 bytes; want 0 and over 4096 refused both ways. */
	r.count = 64;
	r.set_size = 0x01020304;
	n = frame_recon_encode(FRAME_RECON_INIT, &r, out, sizeof(out));
	assert_int_equal(n, 26);
	assert_int_equal(frame_recon_decode(FRAME_RECON_INIT, out, n, &g, &err), 0);
	assert_int_equal(g.set_size, 0x01020304);
	assert_int_equal(g.count, 64);
	assert_memory_equal(g.salt, r.salt, 16);
	out[24] = 0x10;
	out[25] = 0x01;	/* 4097 */
	assert_int_equal(frame_recon_decode(FRAME_RECON_INIT, out, n, &g, &err), -1);
	r.count = 0;
	assert_int_equal(frame_recon_encode(FRAME_RECON_INIT, &r, out,
	    sizeof(out)), 0);

	/* MORE, WANT, DONE. */
	r.count = 4096;
	n = frame_recon_encode(FRAME_RECON_MORE, &r, out, sizeof(out));
	assert_int_equal(n, 6);
	assert_int_equal(frame_recon_decode(FRAME_RECON_MORE, out, n, &g, &err), 0);
	assert_int_equal(g.count, 4096);
	for (i = 0; i < 16; i++)
		ids[i] = (uint8_t)i;
	r.count = 2;
	r.data = ids;
	n = frame_recon_encode(FRAME_RECON_WANT, &r, out, sizeof(out));
	assert_int_equal(n, 6 + 16);
	assert_int_equal(frame_recon_decode(FRAME_RECON_WANT, out, n, &g, &err), 0);
	assert_memory_equal(g.data, ids, 16);
	out[5] = 3;
	assert_int_equal(frame_recon_decode(FRAME_RECON_WANT, out, n, &g, &err), -1);
	r.result = FRAME_RECON_REFUSED;
	n = frame_recon_encode(FRAME_RECON_DONE, &r, out, sizeof(out));
	assert_int_equal(n, 5);
	assert_int_equal(frame_recon_decode(FRAME_RECON_DONE, out, n, &g, &err), 0);
	assert_int_equal(g.result, FRAME_RECON_REFUSED);
	out[4] = 3;
	assert_int_equal(frame_recon_decode(FRAME_RECON_DONE, out, n, &g, &err), -1);
	assert_string_equal(err, "RECON_DONE result unknown");
	assert_int_equal(frame_recon_decode(FRAME_INV, out, n, &g, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recon_vector),
		cmocka_unit_test(test_recon_mapping),
		cmocka_unit_test(test_recon_diffs),
		cmocka_unit_test(test_recon_split),
		cmocka_unit_test(test_recon_collision),
		cmocka_unit_test(test_recon_bounds),
		cmocka_unit_test(test_recon_frames),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
