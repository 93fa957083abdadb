/*
 * test_bloom.c: the rolling Bloom filter keeps every one of the last
 * `window` ids, forgets old ones, and says "probably there" for few others.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/bloom.h"

/* The id number i (distinct for distinct i). */
static void
id_of(uint8_t id[32], uint32_t i, uint8_t salt)
{
	memset(id, salt, 32);
	memcpy(id, &i, sizeof(i));
}

static void
test_bloom_window_always_in(void **state)
{
	static const size_t windows[] = { 2, 3, 100, 1001, 16384 };
	struct bloom	*b;
	uint8_t		 id[32];
	size_t		 k, w;
	uint32_t	 i, j;

	(void)state;
	for (k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
		w = windows[k];
		b = bloom_new(w);
		for (i = 0; i < 4 * w + 7; i++) {
			id_of(id, i, 1);
			bloom_add(b, id);
			/* Every one of the last w added is in, after each add. */
			if (i % (w / 2 + 1) == 0 || i + 1 == 4 * w + 7) {
				for (j = i + 1 > w ? i + 1 - (uint32_t)w : 0; j <= i; j++) {
					id_of(id, j, 1);
					if (!bloom_has(b, id))
						fail_msg("window %zu: id %u lost after %u "
						    "adds", w, j, i + 1);
				}
			}
		}
		bloom_free(b);
	}
}

static void
test_bloom_add_says_new(void **state)
{
	struct bloom	*b = bloom_new(1000);
	uint8_t		 id[32];

	(void)state;
	id_of(id, 7, 2);
	assert_false(bloom_has(b, id));
	assert_int_equal(bloom_add(b, id), 1);
	assert_true(bloom_has(b, id));
	assert_int_equal(bloom_add(b, id), 0);
	bloom_free(b);
}

static void
test_bloom_forgets_and_false_positives(void **state)
{
	const size_t	 w = 16384;
	struct bloom	*b = bloom_new(w);
	uint8_t		 id[32];
	uint32_t	 i, old_in = 0, fp = 0;
	const uint32_t	 probes = 200000;

	(void)state;
	for (i = 0; i < 10 * w; i++) {
		id_of(id, i, 3);
		bloom_add(b, id);
	}
	/* The first window's ids went three generations ago and more. */
	for (i = 0; i < w; i++) {
		id_of(id, i, 3);
		old_in += bloom_has(b, id);
	}
	/* Ids never added: about 7e-5 of them look present. */
	for (i = 0; i < probes; i++) {
		id_of(id, i, 4);
		fp += bloom_has(b, id);
	}
	printf("bloom: window %zu, %zu bytes (%.1f per id), old ids still in %u of "
	    "%zu, false positives %u of %u\n", w, bloom_bytes(b),
	    (double)bloom_bytes(b) / w, old_in, w, fp, probes);
	assert_true(old_in <= w / 500);
	assert_true(fp <= probes / 2000);	/* 5e-4, seven times the design */
	assert_true(bloom_bytes(b) <= 40 * w);
	bloom_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bloom_window_always_in),
		cmocka_unit_test(test_bloom_add_says_new),
		cmocka_unit_test(test_bloom_forgets_and_false_positives),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
