/* test_idset.c: the bounded id set: membership, FIFO eviction, deletion holes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/idset.h"

/* Id number n: distinct for distinct n, spread over all 32 bytes. */
static void
id_make(uint8_t id[32], uint64_t n)
{
	crypto_generichash(id, 32, (const uint8_t *)&n, sizeof(n), NULL, 0);
}

/*
 * Id number n that shares its first 24 bytes with every other such id, as
 * a peer announcing chosen ids could make them.
 */
static void
id_make_alike(uint8_t id[32], uint64_t n)
{
	memset(id, 0xab, 24);
	memcpy(id + 24, &n, sizeof(n));
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_idset_add_has_del(void **state)
{
	struct idset	*s;
	uint8_t		 a[32], b[32], c[32];

	(void)state;
	id_make(a, 1);
	id_make(b, 2);
	id_make(c, 3);
	s = idset_new(10);
	assert_int_equal(idset_count(s), 0);
	assert_false(idset_has(s, a));
	assert_int_equal(idset_del(s, a), 0);

	assert_int_equal(idset_add(s, a), 1);
	assert_int_equal(idset_add(s, a), 0);	/* already there */
	assert_int_equal(idset_add(s, b), 1);
	assert_int_equal(idset_count(s), 2);
	assert_true(idset_has(s, a));
	assert_true(idset_has(s, b));
	assert_false(idset_has(s, c));

	assert_int_equal(idset_del(s, a), 1);
	assert_int_equal(idset_del(s, a), 0);
	assert_false(idset_has(s, a));
	assert_true(idset_has(s, b));
	assert_int_equal(idset_count(s), 1);
	assert_int_equal(idset_add(s, a), 1);	/* back after a delete */
	assert_true(idset_has(s, a));
	assert_int_equal(idset_count(s), 2);
	idset_free(s);
}

static void
test_idset_evicts_oldest(void **state)
{
	static const size_t	 maxes[] = { 1, 2, 5, 16, 17, 100, 1000 };
	struct idset		*s;
	uint8_t			 id[32];
	size_t			 k, max, i, j;

	(void)state;
	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		max = maxes[k];
		s = idset_new(max);
		for (i = 0; i < 3 * max + 7; i++) {
			id_make(id, i);
			assert_int_equal(idset_add(s, id), 1);
			assert_int_equal(idset_count(s),
			    i + 1 < max ? i + 1 : max);
		}
		/* Exactly the newest max remain. */
		for (j = 0; j < i; j++) {
			id_make(id, j);
			if (idset_has(s, id) != (j >= i - max))
				fail_msg("max %zu: id %zu present %d", max, j,
				    idset_has(s, id));
		}
		idset_free(s);
	}
}

static void
test_idset_readd_keeps_age(void **state)
{
	struct idset	*s;
	uint8_t		 id[32];
	size_t		 i;

	(void)state;
	s = idset_new(4);
	for (i = 0; i < 4; i++) {
		id_make(id, i);
		idset_add(s, id);
	}
	/* Adding id 0 again does not make it young: it is still next out. */
	id_make(id, 0);
	assert_int_equal(idset_add(s, id), 0);
	id_make(id, 4);
	assert_int_equal(idset_add(s, id), 1);
	id_make(id, 0);
	assert_false(idset_has(s, id));
	for (i = 1; i <= 4; i++) {
		id_make(id, i);
		assert_true(idset_has(s, id));
	}
	idset_free(s);
}

static void
test_idset_deleted_not_evicted(void **state)
{
	struct idset	*s;
	uint8_t		 id[32];
	size_t		 i;

	(void)state;
	s = idset_new(5);
	for (i = 0; i < 5; i++) {
		id_make(id, i);
		idset_add(s, id);
	}
	/* A hole in the middle: the next add fills the set without evicting. */
	id_make(id, 2);
	assert_int_equal(idset_del(s, id), 1);
	id_make(id, 5);
	assert_int_equal(idset_add(s, id), 1);
	assert_int_equal(idset_count(s), 5);
	for (i = 0; i <= 5; i++) {
		id_make(id, i);
		assert_int_equal(idset_has(s, id), i != 2);
	}
	/* Now full again: the oldest live (0) leaves, then 1, then 3. */
	id_make(id, 6);
	idset_add(s, id);
	id_make(id, 0);
	assert_false(idset_has(s, id));
	id_make(id, 7);
	idset_add(s, id);
	id_make(id, 1);
	assert_false(idset_has(s, id));
	id_make(id, 8);
	idset_add(s, id);
	id_make(id, 3);
	assert_false(idset_has(s, id));
	for (i = 4; i <= 8; i++) {
		id_make(id, i);
		assert_true(idset_has(s, id));
	}
	assert_int_equal(idset_count(s), 5);
	idset_free(s);
}

/* A model: ids 0..NID-1, present flags and insertion sequence numbers. */
#define NID	3000

/* Deterministic xorshift64*, so a failure replays the same way. */
static uint32_t
rnd_next(uint64_t *x, uint32_t bound)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (uint32_t)((*x * 0x2545f4914f6cdd1dULL) >> 32) % bound;
}

static void
test_idset_random_against_model(void **state)
{
	static uint8_t	 present[NID];
	static uint64_t	 seq[NID];
	struct idset	*s;
	uint8_t		 id[32];
	uint64_t	 clock = 0, oldest_seq, x = 0x9e3779b97f4a7c15ULL;
	size_t		 max = 500, count = 0, op, n, i, oldest;
	uint32_t	 rnd;

	(void)state;
	memset(present, 0, sizeof(present));
	s = idset_new(max);
	for (op = 0; op < 200000; op++) {
		rnd = rnd_next(&x, 100);
		n = rnd_next(&x, NID);
		id_make(id, n);
		if (rnd < 60) {
			if (present[n]) {
				assert_int_equal(idset_add(s, id), 0);
				continue;
			}
			if (count == max) {
				oldest = NID;
				oldest_seq = UINT64_MAX;
				for (i = 0; i < NID; i++)
					if (present[i] && seq[i] < oldest_seq) {
						oldest_seq = seq[i];
						oldest = i;
					}
				present[oldest] = 0;
				count--;
			}
			assert_int_equal(idset_add(s, id), 1);
			present[n] = 1;
			seq[n] = clock++;
			count++;
		} else if (rnd < 85) {
			assert_int_equal(idset_del(s, id), present[n]);
			if (present[n])
				count--;
			present[n] = 0;
		} else
			assert_int_equal(idset_has(s, id), present[n]);
		assert_int_equal(idset_count(s), count);
		if (op % 20000 == 0)
			for (i = 0; i < NID; i++) {
				id_make(id, i);
				assert_int_equal(idset_has(s, id), present[i]);
			}
	}
	for (i = 0; i < NID; i++) {
		id_make(id, i);
		assert_int_equal(idset_has(s, id), present[i]);
	}
	idset_free(s);
}

static void
test_idset_many(void **state)
{
	struct idset	*s;
	uint8_t		 id[32];
	size_t		 i, n = 200000, max = 100000;

	(void)state;
	s = idset_new(max);
	for (i = 0; i < n; i++) {
		id_make(id, i);
		assert_int_equal(idset_add(s, id), 1);
	}
	assert_int_equal(idset_count(s), max);
	for (i = 0; i < n; i++) {
		id_make(id, i);
		assert_int_equal(idset_has(s, id), i >= n - max);
	}
	/* Delete every other one, then refill: holes get squeezed out. */
	for (i = n - max; i < n; i += 2) {
		id_make(id, i);
		assert_int_equal(idset_del(s, id), 1);
	}
	assert_int_equal(idset_count(s), max / 2);
	for (i = n; i < n + max; i++) {
		id_make(id, i);
		assert_int_equal(idset_add(s, id), 1);
	}
	assert_int_equal(idset_count(s), max);
	/* The odd survivors of the first batch went first. */
	for (i = n - max; i < n + max; i++) {
		id_make(id, i);
		assert_int_equal(idset_has(s, id), i >= n);
	}
	idset_free(s);
}

static void
test_idset_alike_ids(void **state)
{
	struct idset	*s;
	uint8_t		 id[32];
	size_t		 i, n = 20000;

	(void)state;
	s = idset_new(n);
	for (i = 0; i < n; i++) {
		id_make_alike(id, i);
		assert_int_equal(idset_add(s, id), 1);
	}
	assert_int_equal(idset_count(s), n);
	for (i = 0; i < n; i++) {
		id_make_alike(id, i);
		assert_true(idset_has(s, id));
		id_make_alike(id, i + n);
		assert_false(idset_has(s, id));
	}
	for (i = 0; i < n; i += 3) {
		id_make_alike(id, i);
		assert_int_equal(idset_del(s, id), 1);
	}
	for (i = 0; i < n; i++) {
		id_make_alike(id, i);
		assert_int_equal(idset_has(s, id), i % 3 != 0);
	}
	idset_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset_add_has_del),
		cmocka_unit_test(test_idset_evicts_oldest),
		cmocka_unit_test(test_idset_readd_keeps_age),
		cmocka_unit_test(test_idset_deleted_not_evicted),
		cmocka_unit_test(test_idset_random_against_model),
		cmocka_unit_test(test_idset_many),
		cmocka_unit_test(test_idset_alike_ids),
	};

	return cmocka_run_group_tests_name("idset", tests, setup, NULL);
}
