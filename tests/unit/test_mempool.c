/* test_mempool.c: the mempool: index, nonce rule, eviction, expiry, paging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/mempool.h"

#define NKEYS		3
#define T0		1700000000000ULL	/* a fixed "now" in ms */

static uint8_t	sks[NKEYS][TX_SK_LEN], pks[NKEYS][TX_PK_LEN];

/* A signed transaction and its bytes, as the loop would hand them over. */
struct ttx {
	struct tx	t;
	uint8_t		raw[TX_MAX_LEN];
	size_t		len;
	uint8_t		id[TX_ID_LEN];
};

static int
setup(void **state)
{
	int	i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < NKEYS; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	return 0;
}

static void
ttx_make(struct ttx *x, int key, uint64_t nonce, uint64_t amount,
    uint16_t memo_len, uint64_t ts)
{
	memset(x, 0, sizeof(*x));
	x->t.version = TX_VERSION;
	tx_netid(x->t.netid, "unit-test-net");
	memset(x->t.recipient, 0x11, TX_PK_LEN);
	x->t.amount = amount;
	x->t.nonce = nonce;
	x->t.timestamp_ms = ts;
	x->t.memo_len = memo_len;
	memset(x->t.memo, 'q', memo_len);
	assert_int_equal(tx_sign(&x->t, sks[key]), 0);
	x->len = tx_encode(&x->t, x->raw, sizeof(x->raw));
	assert_int_equal(x->len, TX_MIN_LEN + memo_len);
	tx_id(&x->t, x->id);
}

/* A transaction of sender number who (any of 2^32, unsigned: the pool does not verify). */
static void
ttx_fake(struct ttx *x, uint32_t who, uint64_t nonce, uint16_t memo_len)
{
	memset(x, 0, sizeof(*x));
	x->t.version = TX_VERSION;
	tx_netid(x->t.netid, "unit-test-net");
	memset(x->t.sender, 0x5a, TX_PK_LEN);
	memcpy(x->t.sender, &who, sizeof(who));
	memset(x->t.recipient, 0x11, TX_PK_LEN);
	x->t.amount = 1;
	x->t.nonce = nonce;
	x->t.timestamp_ms = T0;
	x->t.memo_len = memo_len;
	memset(x->t.memo, 'm', memo_len);
	x->len = tx_encode(&x->t, x->raw, sizeof(x->raw));
	tx_id(&x->t, x->id);
}

static enum mempool_result
ttx_add_from(struct mempool *mp, const struct ttx *x, uint64_t source,
    size_t *evicted)
{
	return mempool_add(mp, x->id, &x->t, x->raw, x->len, T0, source, NULL,
	    evicted);
}

static enum mempool_result
ttx_add(struct mempool *mp, const struct ttx *x, uint64_t now, size_t *evicted)
{
	return mempool_add(mp, x->id, &x->t, x->raw, x->len, now, 0, NULL,
	    evicted);
}

static void
test_mempool_add_get(void **state)
{
	struct mempool			*mp;
	const struct mempool_entry	*e;
	struct ttx			 a, b;
	size_t				 ev = 99;

	(void)state;
	ttx_make(&a, 0, 1, 42, 5, T0 - 10);
	ttx_make(&b, 1, 1, 7, 0, T0 - 5);
	mp = mempool_new(10, 100000);
	assert_int_equal(mempool_count(mp), 0);
	assert_int_equal(mempool_bytes(mp), 0);
	assert_null(mempool_get(mp, a.id));

	assert_int_equal(ttx_add(mp, &a, T0, &ev), MEMPOOL_ADDED);
	assert_int_equal(ev, 0);
	assert_int_equal(ttx_add(mp, &b, T0 + 1, NULL), MEMPOOL_ADDED);
	assert_int_equal(mempool_count(mp), 2);
	assert_int_equal(mempool_bytes(mp), a.len + b.len);

	e = mempool_get(mp, a.id);
	assert_non_null(e);
	assert_memory_equal(e->id, a.id, TX_ID_LEN);
	assert_memory_equal(e->sender, pks[0], TX_PK_LEN);
	assert_int_equal(e->nonce, 1);
	assert_int_equal(e->amount, 42);
	assert_int_equal(e->timestamp_ms, T0 - 10);
	assert_int_equal(e->added_ms, T0);
	assert_int_equal(e->len, a.len);
	assert_memory_equal(e->raw, a.raw, a.len);
	e = mempool_get(mp, b.id);
	assert_non_null(e);
	assert_int_equal(e->amount, 7);
	assert_int_equal(e->added_ms, T0 + 1);
	assert_memory_equal(e->raw, b.raw, b.len);
	mempool_free(mp);
}

static void
test_mempool_duplicate_and_nonce(void **state)
{
	struct mempool	*mp;
	struct ttx	 a, a2, other_sender, other_nonce;

	(void)state;
	ttx_make(&a, 0, 9, 1, 0, T0);
	ttx_make(&a2, 0, 9, 2, 0, T0);		/* same (sender, nonce), other tx */
	ttx_make(&other_sender, 1, 9, 1, 0, T0);
	ttx_make(&other_nonce, 0, 10, 1, 0, T0);
	mp = mempool_new(10, 100000);
	assert_int_equal(ttx_add(mp, &a, T0, NULL), MEMPOOL_ADDED);
	assert_int_equal(ttx_add(mp, &a, T0, NULL), MEMPOOL_DUPLICATE);
	assert_int_equal(ttx_add(mp, &other_sender, T0, NULL), MEMPOOL_ADDED);
	assert_int_equal(ttx_add(mp, &other_nonce, T0, NULL), MEMPOOL_ADDED);
	assert_int_equal(mempool_count(mp), 3);
	assert_int_equal(mempool_bytes(mp), 3 * a.len);
	mempool_free(mp);

	/*
	 * The same (sender, nonce): the smaller id holds it, in whichever order
	 * the two come (docs/PROTOCOL.md 5.4), and the other is named.
	 */
	{
		const struct ttx	*small = memcmp(a.id, a2.id, TX_ID_LEN) < 0 ?
					    &a : &a2;
		const struct ttx	*large = small == &a ? &a2 : &a;
		uint8_t			 other[TX_ID_LEN];
		int			 order;

		for (order = 0; order < 2; order++) {
			const struct ttx *first = order ? large : small;
			const struct ttx *second = order ? small : large;

			mp = mempool_new(10, 100000);
			assert_int_equal(ttx_add(mp, first, T0, NULL), MEMPOOL_ADDED);
			assert_int_equal(mempool_add(mp, second->id, &second->t,
			    second->raw, second->len, T0, 0, other, NULL),
			    order ? MEMPOOL_REPLACED : MEMPOOL_NONCE_USED);
			assert_memory_equal(other, first->id, TX_ID_LEN);
			assert_non_null(mempool_get(mp, small->id));
			assert_null(mempool_get(mp, large->id));
			assert_int_equal(mempool_count(mp), 1);
			assert_int_equal(mempool_bytes(mp), small->len);
			mempool_free(mp);
		}
	}
}

static void
test_mempool_evict_by_count(void **state)
{
	struct mempool	*mp;
	struct ttx	 x[6], other, again;
	size_t		 i, ev;

	(void)state;
	for (i = 0; i < 6; i++)
		ttx_make(&x[i], 0, i, 1, 0, T0 + i);
	mp = mempool_new(3, 100000);
	/* One sender fills the pool: its next one is refused, nothing evicted. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(ttx_add(mp, &x[i], T0, &ev), i < 3 ?
		    MEMPOOL_ADDED : MEMPOOL_FULL);
		assert_int_equal(ev, 0);
		assert_int_equal(mempool_count(mp), i < 3 ? i + 1 : 3);
	}
	/* Another sender of the same source: the one holding the most gives its oldest. */
	ttx_make(&other, 1, 0, 1, 0, T0);
	assert_int_equal(ttx_add(mp, &other, T0, &ev), MEMPOOL_ADDED);
	assert_int_equal(ev, 1);
	assert_null(mempool_get(mp, x[0].id));
	assert_non_null(mempool_get(mp, x[1].id));
	assert_non_null(mempool_get(mp, other.id));
	assert_int_equal(mempool_bytes(mp), 3 * x[0].len);
	/* An evicted (sender, nonce) is free again, but its sender still holds the most. */
	ttx_make(&again, 0, 0, 55, 0, T0);
	assert_int_equal(ttx_add(mp, &again, T0, &ev), MEMPOOL_FULL);
	/* From another source it takes the room of the source holding the most. */
	assert_int_equal(ttx_add_from(mp, &again, 9, &ev), MEMPOOL_ADDED);
	assert_int_equal(ev, 1);
	assert_null(mempool_get(mp, x[1].id));
	assert_non_null(mempool_get(mp, other.id));
	mempool_free(mp);
}

/*
 * Valid spam from 1,000 keys through attacking peers fills a 20,000-tx pool
 * while an honest sender sends through the API: none of the honest ones is
 * evicted (issue 9: 29 of 38 were, oldest first), the spam evicts only spam,
 * and within the spam no key is starved by another.
 */
static void
test_mempool_fair_under_many_key_spam(void **state)
{
	struct mempool	*mp;
	struct ttx	*honest, x;
	size_t		 i, ev, held, kept = 0;
	uint64_t	 nonce[1000];
	uint32_t	 key;
	const size_t	 nhonest = 40;

	(void)state;
	honest = calloc(nhonest, sizeof(*honest));
	assert_non_null(honest);
	memset(nonce, 0, sizeof(nonce));
	mp = mempool_new(20000, 1ULL << 30);
	for (i = 0; i < 60000; i++) {
		/* Spam from 1,000 keys over 10 peers (sources 100..109). */
		key = (uint32_t)(i % 1000);
		ttx_fake(&x, 1000000 + key, nonce[key]++, 256);
		ttx_add_from(mp, &x, 100 + key % 10, &ev);
		/* An honest transaction now and then, through the API (source 0). */
		if (i % 1500 == 0 && i / 1500 < nhonest) {
			ttx_fake(&honest[i / 1500], 7, i / 1500, 20);
			assert_int_equal(ttx_add_from(mp, &honest[i / 1500], 0, &ev),
			    MEMPOOL_ADDED);
		}
	}
	assert_int_equal(mempool_count(mp), 20000);
	for (i = 0; i < nhonest; i++)
		kept += mempool_get(mp, honest[i].id) != NULL;
	assert_int_equal(kept, nhonest);
	/* Each spam key holds about its share (20): none took another's room. */
	for (key = 0; key < 1000; key++) {
		for (i = 0, held = 0; i < nonce[key]; i++) {
			ttx_fake(&x, 1000000 + key, i, 256);
			held += mempool_get(mp, x.id) != NULL;
		}
		if (held < 15 || held > 25)
			fail_msg("spam key %u holds %zu", key, held);
	}
	mempool_free(mp);
	free(honest);
}

/* Sources take their turns: a flood from one peer evicts only its own. */
static void
test_mempool_fair_sources(void **state)
{
	struct mempool	*mp;
	struct ttx	 x;
	size_t		 i, ev, a = 0, b = 0;

	(void)state;
	mp = mempool_new(100, 1ULL << 30);
	/* Source 1: 60 from 60 senders; source 2: 40 from one sender. */
	for (i = 0; i < 60; i++) {
		ttx_fake(&x, (uint32_t)i, 0, 0);
		assert_int_equal(ttx_add_from(mp, &x, 1, &ev), MEMPOOL_ADDED);
	}
	for (i = 0; i < 40; i++) {
		ttx_fake(&x, 500, i, 0);
		assert_int_equal(ttx_add_from(mp, &x, 2, &ev), MEMPOOL_ADDED);
	}
	/* Source 2 sends 100 more: source 1 gives room until they are even, then 2 is refused. */
	for (i = 40; i < 140; i++) {
		ttx_fake(&x, 500, i, 0);
		ttx_add_from(mp, &x, 2, &ev);
	}
	for (i = 0; i < 60; i++) {
		ttx_fake(&x, (uint32_t)i, 0, 0);
		a += mempool_get(mp, x.id) != NULL;
	}
	for (i = 0; i < 140; i++) {
		ttx_fake(&x, 500, i, 0);
		b += mempool_get(mp, x.id) != NULL;
	}
	assert_int_equal(a + b, 100);
	assert_int_equal(a, 50);
	assert_int_equal(b, 50);
	mempool_free(mp);
}

static void
test_mempool_evict_by_bytes(void **state)
{
	struct mempool	*mp;
	struct ttx	 s[4], big, huge;
	size_t		 i, ev, unit = TX_MIN_LEN;

	(void)state;
	for (i = 0; i < 4; i++)
		ttx_make(&s[i], 1, i, 1, 0, T0);	/* unit bytes each */
	ttx_make(&big, 0, 100, 1, 150, T0);	/* unit + 150, another sender */
	ttx_make(&huge, 2, 1, 1, TX_MEMO_MAX, T0);
	mp = mempool_new(100, 4 * unit + 10);
	for (i = 0; i < 4; i++)
		assert_int_equal(ttx_add(mp, &s[i], T0, &ev), MEMPOOL_ADDED);
	assert_int_equal(ev, 0);
	assert_int_equal(mempool_bytes(mp), 4 * unit);
	/* unit + 150 needs 140 more bytes than are free: the two oldest go. */
	assert_int_equal(ttx_add(mp, &big, T0, &ev), MEMPOOL_ADDED);
	assert_int_equal(ev, 2);
	assert_null(mempool_get(mp, s[0].id));
	assert_null(mempool_get(mp, s[1].id));
	assert_non_null(mempool_get(mp, s[2].id));
	assert_non_null(mempool_get(mp, s[3].id));
	assert_non_null(mempool_get(mp, big.id));
	assert_int_equal(mempool_bytes(mp), 3 * unit + 150);
	assert_true(mempool_bytes(mp) <= 4 * unit + 10);
	mempool_free(mp);

	/* Larger than the whole bound: refused, nothing evicted. */
	mp = mempool_new(100, 2 * unit);
	assert_int_equal(ttx_add(mp, &s[0], T0, NULL), MEMPOOL_ADDED);
	assert_int_equal(ttx_add(mp, &s[1], T0, NULL), MEMPOOL_ADDED);
	assert_true(huge.len > 2 * unit);
	assert_int_equal(ttx_add(mp, &huge, T0, &ev), MEMPOOL_TOO_BIG);
	assert_int_equal(ev, 0);
	assert_int_equal(mempool_count(mp), 2);
	assert_null(mempool_get(mp, huge.id));
	mempool_free(mp);
}

static void
test_mempool_expire(void **state)
{
	/* Timestamps deliberately out of insertion order. */
	static const int64_t	 age_s[] = { 5, 500, 1, 700, 0, 601, 599, -30 };
	struct mempool		*mp;
	struct ttx		 x[8], reuse;
	size_t			 i, n = 8, kept_bytes = 0;
	uint64_t		 now = T0 + 1000000;

	(void)state;
	mp = mempool_new(100, 100000);
	for (i = 0; i < n; i++) {
		ttx_make(&x[i], (int)(i % NKEYS), 1000 + i, i, (uint16_t)i,
		    (uint64_t)((int64_t)now - age_s[i] * 1000));
		assert_int_equal(ttx_add(mp, &x[i], now, NULL), MEMPOOL_ADDED);
		if (age_s[i] <= 600)
			kept_bytes += x[i].len;
	}
	assert_int_equal(mempool_expire(mp, now, 600 * 1000), 2);
	assert_int_equal(mempool_count(mp), n - 2);
	assert_int_equal(mempool_bytes(mp), kept_bytes);
	for (i = 0; i < n; i++)
		assert_int_equal(mempool_get(mp, x[i].id) != NULL,
		    age_s[i] <= 600);
	/* Nothing else is old enough; a second pass removes nothing. */
	assert_int_equal(mempool_expire(mp, now, 600 * 1000), 0);
	/* Ages are relative to now: later, more go. */
	assert_int_equal(mempool_expire(mp, now + 2000, 600 * 1000), 1);
	assert_null(mempool_get(mp, x[6].id));
	/* A window longer than now itself expires nothing. */
	assert_int_equal(mempool_expire(mp, 1000, 5000), 0);
	/* The expired (sender, nonce) may be used again. */
	ttx_make(&reuse, (int)(3 % NKEYS), 1003, 77, 0, now);
	assert_int_equal(ttx_add(mp, &reuse, now, NULL), MEMPOOL_ADDED);
	mempool_free(mp);
}

struct collect {
	uint8_t	ids[32][TX_ID_LEN];
	size_t	n;
	size_t	stop_at;	/* return non-zero on this call (1-based); 0: never */
};

static int
collect_fn(const struct mempool_entry *e, void *arg)
{
	struct collect	*c = arg;

	memcpy(c->ids[c->n++], e->id, TX_ID_LEN);
	return c->stop_at != 0 && c->n == c->stop_at;
}

static void
test_mempool_walk(void **state)
{
	struct mempool	*mp;
	struct ttx	 x[10], gone;
	struct collect	 c;
	size_t		 i;

	(void)state;
	mp = mempool_new(100, 100000);
	for (i = 0; i < 10; i++) {
		ttx_make(&x[i], 2, i, i, 0, T0);
		assert_int_equal(ttx_add(mp, &x[i], T0, NULL), MEMPOOL_ADDED);
	}
	ttx_make(&gone, 2, 99, 1, 0, T0);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mempool_walk(mp, NULL, 100, collect_fn, &c), 10);
	for (i = 0; i < 10; i++)
		assert_memory_equal(c.ids[i], x[i].id, TX_ID_LEN);

	/* Pages of 4: the last id of each page starts the next. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mempool_walk(mp, NULL, 4, collect_fn, &c), 4);
	assert_int_equal(mempool_walk(mp, x[3].id, 4, collect_fn, &c), 4);
	assert_int_equal(mempool_walk(mp, x[7].id, 4, collect_fn, &c), 2);
	assert_int_equal(mempool_walk(mp, x[9].id, 4, collect_fn, &c), 0);
	assert_int_equal(c.n, 10);
	for (i = 0; i < 10; i++)
		assert_memory_equal(c.ids[i], x[i].id, TX_ID_LEN);

	/* An id not in the pool: from the start. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(mempool_walk(mp, gone.id, 2, collect_fn, &c), 2);
	assert_memory_equal(c.ids[0], x[0].id, TX_ID_LEN);

	/* fn stops the walk; the stopping call counts. */
	memset(&c, 0, sizeof(c));
	c.stop_at = 3;
	assert_int_equal(mempool_walk(mp, x[1].id, 100, collect_fn, &c), 3);
	assert_memory_equal(c.ids[2], x[4].id, TX_ID_LEN);

	memset(&c, 0, sizeof(c));
	assert_int_equal(mempool_walk(mp, NULL, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 0);

	/* Eviction keeps the order: after evicting 0..2 the walk starts at 3. */
	mempool_free(mp);
	mp = mempool_new(7, 100000);
	for (i = 0; i < 10; i++)
		mempool_add(mp, x[i].id, &x[i].t, x[i].raw, x[i].len, T0, i, NULL,
		    NULL);
	memset(&c, 0, sizeof(c));
	assert_int_equal(mempool_walk(mp, NULL, 100, collect_fn, &c), 7);
	for (i = 0; i < 7; i++)
		assert_memory_equal(c.ids[i], x[i + 3].id, TX_ID_LEN);
	mempool_free(mp);
}

static void
test_mempool_many(void **state)
{
	struct mempool			*mp;
	struct ttx			*x;
	const struct mempool_entry	*e;
	size_t				 i, n = 6000, max = 2500, ev, total_ev = 0;

	(void)state;
	x = calloc(n, sizeof(*x));
	assert_non_null(x);
	for (i = 0; i < n; i++)
		ttx_make(&x[i], (int)(i % NKEYS), i / NKEYS, i % 101,
		    (uint16_t)(i % 21), T0);
	mp = mempool_new(max, SIZE_MAX);
	for (i = 0; i < n; i++) {
		assert_int_equal(ttx_add(mp, &x[i], T0, &ev), MEMPOOL_ADDED);
		total_ev += ev;
	}
	assert_int_equal(total_ev, n - max);
	assert_int_equal(mempool_count(mp), max);
	for (i = 0; i < n; i++) {
		e = mempool_get(mp, x[i].id);
		if (i < n - max) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(e->len, x[i].len);
		assert_memory_equal(e->raw, x[i].raw, x[i].len);
		/* Everything present still holds its nonce. */
		assert_int_equal(ttx_add(mp, &x[i], T0, NULL),
		    MEMPOOL_DUPLICATE);
	}
	/* Expire everything: the tables must come out empty and usable. */
	assert_int_equal(mempool_expire(mp, T0 + 10, 5), max);
	assert_int_equal(mempool_count(mp), 0);
	assert_int_equal(mempool_bytes(mp), 0);
	for (i = 0; i < n; i++)
		assert_null(mempool_get(mp, x[i].id));
	for (i = 0; i < 100; i++)
		assert_int_equal(ttx_add(mp, &x[i], T0, NULL), MEMPOOL_ADDED);
	assert_int_equal(mempool_count(mp), 100);
	mempool_free(mp);
	free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mempool_add_get),
		cmocka_unit_test(test_mempool_duplicate_and_nonce),
		cmocka_unit_test(test_mempool_evict_by_count),
		cmocka_unit_test(test_mempool_fair_under_many_key_spam),
		cmocka_unit_test(test_mempool_fair_sources),
		cmocka_unit_test(test_mempool_evict_by_bytes),
		cmocka_unit_test(test_mempool_expire),
		cmocka_unit_test(test_mempool_walk),
		cmocka_unit_test(test_mempool_many),
	};

	return cmocka_run_group_tests_name("mempool", tests, setup, NULL);
}
