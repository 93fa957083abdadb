/*
 * test_pool.c: the object pool hands out distinct zeroed objects, takes
 * them back in any order, and gives a block back to the system once it is
 * empty (one spare kept), so that what a flood made goes back after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pool.h"

#define BLOCK	(64u << 10)

static void
test_pool_objects_distinct_zeroed(void **state)
{
	enum { N = 20000 };
	struct pool	*p = pool_new(184);
	uint8_t		**o = calloc(N, sizeof(*o));
	size_t		 i, j;

	(void)state;
	assert_non_null(o);
	for (i = 0; i < N; i++) {
		o[i] = pool_get(p);
		for (j = 0; j < 184; j++)
			assert_int_equal(o[i][j], 0);
		memset(o[i], 0xa5, 184);
		assert_int_equal((uintptr_t)o[i] % 8, 0);
	}
	assert_int_equal(pool_count(p), N);
	/* 184 bytes round up to 192: about 340 a block. */
	assert_true(pool_bytes(p) <= (N / 340 + 1) * (size_t)BLOCK);
	/* No two overlap: each still holds its own pattern after the others' writes. */
	for (i = 0; i < N; i++)
		memcpy(o[i], &i, sizeof(i));
	for (i = 0; i < N; i++)
		assert_memory_equal(o[i], &i, sizeof(i));
	/* Back in an interleaved order, then out again: zeroed again. */
	for (i = 0; i < N; i += 2)
		pool_put(p, o[i]);
	for (i = 0; i < N; i += 2) {
		o[i] = pool_get(p);
		assert_memory_equal(o[i] + 8, (uint8_t[176]){ 0 }, 176);
	}
	for (i = 0; i < N; i++)
		pool_put(p, o[i]);
	assert_int_equal(pool_count(p), 0);
	pool_free(p);
	free(o);
}

/* Emptied blocks go back: after a flood, one spare block at most. */
static void
test_pool_blocks_go_back(void **state)
{
	enum { N = 100000 };
	struct pool	*p = pool_new(48);
	void		**o = calloc(N, sizeof(*o));
	void		*keep;
	size_t		 i, peak;

	(void)state;
	assert_non_null(o);
	keep = pool_get(p);		/* one that lives on, as an address would */
	for (i = 0; i < N; i++)
		o[i] = pool_get(p);
	peak = pool_bytes(p);
	assert_true(peak >= (size_t)N * 48);
	/* Freed from the middle out: blocks empty in no particular order. */
	for (i = N / 2; i < N; i++)
		pool_put(p, o[i]);
	for (i = 0; i < N / 2; i++)
		pool_put(p, o[i]);
	/* keep's block and one spare. */
	assert_true(pool_bytes(p) <= 2 * (size_t)BLOCK);
	assert_int_equal(pool_count(p), 1);
	pool_put(p, keep);
	assert_true(pool_bytes(p) <= (size_t)BLOCK);
	pool_put(p, NULL);
	pool_free(p);
	free(o);
}

/* pool_free with objects still out unmaps every block (no leak under ASan). */
static void
test_pool_free_with_objects_out(void **state)
{
	struct pool	*p = pool_new(1000);
	size_t		 i;

	(void)state;
	for (i = 0; i < 500; i++)
		(void)pool_get(p);
	assert_int_equal(pool_count(p), 500);
	pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_objects_distinct_zeroed),
		cmocka_unit_test(test_pool_blocks_go_back),
		cmocka_unit_test(test_pool_free_with_objects_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
