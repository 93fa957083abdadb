/* test_idmap.c: the id → pointer map: put/get/del, growth, foreach with deletion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/idmap.h"

static void
id_make(uint8_t id[32], uint64_t n)
{
	crypto_generichash(id, 32, (const uint8_t *)&n, sizeof(n), NULL, 0);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_idmap_put_get_del(void **state)
{
	struct idmap *m = idmap_new();
	uint8_t a[32], b[32];
	int x = 1, y = 2;

	(void)state;
	id_make(a, 1);
	id_make(b, 2);
	assert_null(idmap_get(m, a));
	assert_null(idmap_put(m, a, &x));
	assert_ptr_equal(idmap_get(m, a), &x);
	assert_null(idmap_get(m, b));
	/* Replacing returns the earlier value and keeps one entry. */
	assert_ptr_equal(idmap_put(m, a, &y), &x);
	assert_int_equal(idmap_count(m), 1);
	assert_ptr_equal(idmap_del(m, a), &y);
	assert_null(idmap_del(m, a));
	assert_null(idmap_get(m, a));
	assert_int_equal(idmap_count(m), 0);
	idmap_free(m);
}

/* Ids that share all but their last bytes, as a peer could choose them. */
static void
test_idmap_many_alike_ids(void **state)
{
	struct idmap *m = idmap_new();
	uint8_t id[32];
	uint64_t i, n = 50000;

	(void)state;
	memset(id, 0x5a, sizeof(id));
	for (i = 0; i < n; i++) {
		memcpy(id + 24, &i, sizeof(i));
		assert_null(idmap_put(m, id, (void *)(uintptr_t)(i + 1)));
	}
	assert_int_equal(idmap_count(m), n);
	for (i = 0; i < n; i++) {
		memcpy(id + 24, &i, sizeof(i));
		assert_int_equal((uintptr_t)idmap_get(m, id), i + 1);
	}
	for (i = 0; i < n; i += 2) {
		memcpy(id + 24, &i, sizeof(i));
		assert_int_equal((uintptr_t)idmap_del(m, id), i + 1);
	}
	assert_int_equal(idmap_count(m), n / 2);
	for (i = 0; i < n; i++) {
		memcpy(id + 24, &i, sizeof(i));
		if (i % 2 == 0)
			assert_null(idmap_get(m, id));
		else
			assert_int_equal((uintptr_t)idmap_get(m, id), i + 1);
	}
	idmap_free(m);
}

struct walk {
	struct idmap	*m;
	size_t		visits;
	uint64_t	sum;
};

/* Deletes every entry with an even value while walking. */
static void
walk_fn(const uint8_t id[32], void *v, void *arg)
{
	struct walk *w = arg;
	uintptr_t val = (uintptr_t)v;

	w->visits++;
	w->sum += val;
	if (val % 2 == 0)
		assert_ptr_equal(idmap_del(w->m, id), v);
}

/* A map emptied after a flood shrinks (at a put) and still finds what is left. */
static void
test_idmap_shrinks_after_a_flood(void **state)
{
	enum { N = 50000, LEFT = 10 };
	struct idmap *m = idmap_new();
	uint8_t id[32];
	uint64_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		id_make(id, i);
		assert_null(idmap_put(m, id, (void *)(uintptr_t)(i + 1)));
	}
	for (i = LEFT; i < N; i++) {
		id_make(id, i);
		assert_ptr_equal(idmap_del(m, id), (void *)(uintptr_t)(i + 1));
	}
	/* Puts shrink it step by step; each step rehashes what is left. */
	for (i = N; i < N + 20; i++) {
		id_make(id, i);
		assert_null(idmap_put(m, id, (void *)(uintptr_t)(i + 1)));
	}
	assert_int_equal(idmap_count(m), LEFT + 20);
	for (i = 0; i < N + 20; i++) {
		id_make(id, i);
		if (i < LEFT || i >= N)
			assert_ptr_equal(idmap_get(m, id), (void *)(uintptr_t)(i + 1));
		else
			assert_null(idmap_get(m, id));
	}
	idmap_free(m);
}

static void
test_idmap_foreach_deleting(void **state)
{
	struct walk w = { idmap_new(), 0, 0 };
	uint8_t id[32];
	uint64_t i, n = 1000;

	(void)state;
	for (i = 1; i <= n; i++) {
		id_make(id, i);
		idmap_put(w.m, id, (void *)(uintptr_t)i);
	}
	idmap_foreach(w.m, walk_fn, &w);
	assert_int_equal(w.visits, n);
	assert_int_equal(w.sum, n * (n + 1) / 2);
	assert_int_equal(idmap_count(w.m), n / 2);
	for (i = 1; i <= n; i++) {
		id_make(id, i);
		if (i % 2 == 0)
			assert_null(idmap_get(w.m, id));
		else
			assert_int_equal((uintptr_t)idmap_get(w.m, id), i);
	}
	idmap_free(w.m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idmap_put_get_del),
		cmocka_unit_test(test_idmap_many_alike_ids),
		cmocka_unit_test(test_idmap_foreach_deleting),
		cmocka_unit_test(test_idmap_shrinks_after_a_flood),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
