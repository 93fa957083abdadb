/* test_chan.c: the bounded MPMC queue: capacity, order, close, threads. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/chan.h"

/* Items are small integers disguised as pointers; 0 is never pushed. */
#define ITEM(i)		((void *)(uintptr_t)(i))
#define VAL(p)		((size_t)(uintptr_t)(p))

static void
test_chan_capacity_full(void **state)
{
	static const size_t	caps[] = { 1, 2, 3, 16, 1000 };
	struct chan		*c;
	size_t			 k, i;

	(void)state;
	for (k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		c = chan_new(caps[k]);
		assert_non_null(c);
		assert_int_equal(chan_capacity(c), caps[k]);
		for (i = 0; i < caps[k]; i++) {
			assert_int_equal(chan_trypush(c, ITEM(i + 1)), 0);
			assert_int_equal(chan_len(c), i + 1);
		}
		errno = 0;
		assert_int_equal(chan_trypush(c, ITEM(99999)), -1);
		assert_int_equal(errno, EAGAIN);
		assert_int_equal(chan_len(c), caps[k]);
		/* One out makes room for exactly one in. */
		assert_int_equal(VAL(chan_trypop(c)), 1);
		assert_int_equal(chan_trypush(c, ITEM(99999)), 0);
		errno = 0;
		assert_int_equal(chan_trypush(c, ITEM(99998)), -1);
		assert_int_equal(errno, EAGAIN);
		chan_free(c);
	}
}

static void
test_chan_fifo_wraps(void **state)
{
	struct chan	*c;
	size_t		 next_in = 1, next_out = 1, round, i, n;

	(void)state;
	c = chan_new(5);
	/* Uneven push/pop counts move head and tail around the ring many times. */
	for (round = 0; round < 200; round++) {
		n = 1 + round % 5;
		for (i = 0; i < n && chan_len(c) < 5; i++)
			assert_int_equal(chan_push(c, ITEM(next_in++)), 0);
		n = 1 + (round * 7) % 4;
		for (i = 0; i < n && chan_len(c) > 0; i++)
			assert_int_equal(VAL(chan_pop(c)), next_out++);
	}
	while (chan_len(c) > 0)
		assert_int_equal(VAL(chan_trypop(c)), next_out++);
	assert_int_equal(next_in, next_out);
	assert_null(chan_trypop(c));
	chan_free(c);
}

static void
test_chan_trypopn(void **state)
{
	struct chan	*c;
	void		*items[8];
	size_t		 i;

	(void)state;
	c = chan_new(6);
	assert_int_equal(chan_trypopn(c, items, 8), 0);
	for (i = 1; i <= 6; i++)
		assert_int_equal(chan_trypush(c, ITEM(i)), 0);
	assert_int_equal(chan_trypopn(c, items, 4), 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(VAL(items[i]), i + 1);
	assert_int_equal(chan_trypush(c, ITEM(7)), 0);
	assert_int_equal(chan_trypopn(c, items, 8), 3);
	assert_int_equal(VAL(items[0]), 5);
	assert_int_equal(VAL(items[1]), 6);
	assert_int_equal(VAL(items[2]), 7);
	assert_int_equal(chan_len(c), 0);
	chan_free(c);
}

static void
test_chan_null_item(void **state)
{
	struct chan	*c;

	(void)state;
	c = chan_new(2);
	errno = 0;
	assert_int_equal(chan_trypush(c, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(chan_push(c, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(chan_len(c), 0);
	chan_free(c);
}

static void
test_chan_close_drains(void **state)
{
	struct chan	*c;

	(void)state;
	c = chan_new(4);
	assert_int_equal(chan_push(c, ITEM(1)), 0);
	assert_int_equal(chan_push(c, ITEM(2)), 0);
	chan_close(c);
	errno = 0;
	assert_int_equal(chan_trypush(c, ITEM(3)), -1);
	assert_int_equal(errno, EPIPE);
	errno = 0;
	assert_int_equal(chan_push(c, ITEM(3)), -1);
	assert_int_equal(errno, EPIPE);
	/* What was queued before the close still comes out, in order. */
	assert_int_equal(VAL(chan_pop(c)), 1);
	assert_int_equal(VAL(chan_trypop(c)), 2);
	assert_null(chan_pop(c));
	assert_null(chan_pop(c));
	assert_null(chan_trypop(c));
	chan_free(c);
}

struct waiter {
	struct chan	*c;
	int		 push;		/* 1: blocked pusher, 0: blocked popper */
	int		 rv;
	int		 err;
	void		*got;
};

static void *
waiter_run(void *arg)
{
	struct waiter	*w = arg;

	if (w->push) {
		w->rv = chan_push(w->c, ITEM(42));
		w->err = errno;
	} else
		w->got = chan_pop(w->c);
	return NULL;
}

static void
sleep_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
test_chan_close_wakes_all(void **state)
{
	struct chan	*empty, *full;
	struct waiter	 w[6];
	pthread_t	 th[6];
	int		 i;

	(void)state;
	empty = chan_new(2);
	full = chan_new(1);
	assert_int_equal(chan_push(full, ITEM(7)), 0);
	for (i = 0; i < 6; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].push = i >= 3;
		w[i].c = w[i].push ? full : empty;
		w[i].got = ITEM(1);
		w[i].rv = 1;
		assert_int_equal(pthread_create(&th[i], NULL, waiter_run, &w[i]),
		    0);
	}
	sleep_ms(50);	/* let them block; the result does not depend on it */
	chan_close(empty);
	chan_close(full);
	for (i = 0; i < 6; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < 3; i++)
		assert_null(w[i].got);
	for (i = 3; i < 6; i++) {
		assert_int_equal(w[i].rv, -1);
		assert_int_equal(w[i].err, EPIPE);
	}
	/* The item queued before the close is still there. */
	assert_int_equal(VAL(chan_pop(full)), 7);
	assert_null(chan_pop(full));
	chan_free(empty);
	chan_free(full);
}

static void
test_chan_blocking_push_resumes(void **state)
{
	struct chan	*c;
	struct waiter	 w;
	pthread_t	 th;

	(void)state;
	c = chan_new(1);
	assert_int_equal(chan_push(c, ITEM(1)), 0);
	memset(&w, 0, sizeof(w));
	w.c = c;
	w.push = 1;
	w.rv = 1;
	assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
	sleep_ms(20);
	assert_int_equal(VAL(chan_pop(c)), 1);
	assert_int_equal(VAL(chan_pop(c)), 42);	/* blocks until the pusher got in */
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.rv, 0);
	chan_free(c);
}

#define MT_PRODUCERS	4
#define MT_CONSUMERS	4
#define MT_PER_PRODUCER	50000
#define MT_TOTAL	(MT_PRODUCERS * MT_PER_PRODUCER)

struct mt {
	struct chan	*c;
	size_t		 base;		/* producer: first item */
	unsigned char	*seen;		/* shared, one slot per item, atomically bumped */
	size_t		 popped;	/* consumer: how many it took */
	int		 order_ok;	/* consumer: each producer's items came in order */
};

static void *
mt_produce(void *arg)
{
	struct mt	*m = arg;
	size_t		 i;

	for (i = 0; i < MT_PER_PRODUCER; i++) {
		/* Mix both push flavours. */
		if (i % 2 == 0) {
			if (chan_push(m->c, ITEM(m->base + i)) != 0)
				abort();
		} else {
			while (chan_trypush(m->c, ITEM(m->base + i)) != 0) {
				if (errno != EAGAIN)
					abort();
				sched_yield();
			}
		}
	}
	return NULL;
}

static void *
mt_consume(void *arg)
{
	struct mt	*m = arg;
	size_t		 last[MT_PRODUCERS] = { 0 }, v, p;
	void		*item;

	m->order_ok = 1;
	while ((item = chan_pop(m->c)) != NULL) {
		v = VAL(item);
		if (v < 1 || v > MT_TOTAL)
			abort();
		__atomic_add_fetch(&m->seen[v], 1, __ATOMIC_RELAXED);
		p = (v - 1) / MT_PER_PRODUCER;
		if (v <= last[p])
			m->order_ok = 0;
		last[p] = v;
		m->popped++;
	}
	return NULL;
}

static void
test_chan_many_threads(void **state)
{
	struct mt	 prod[MT_PRODUCERS], cons[MT_CONSUMERS];
	pthread_t	 pt[MT_PRODUCERS], ct[MT_CONSUMERS];
	unsigned char	*seen;
	struct chan	*c;
	size_t		 i, total = 0;

	(void)state;
	c = chan_new(64);
	seen = calloc(MT_TOTAL + 1, 1);
	assert_non_null(seen);
	for (i = 0; i < MT_CONSUMERS; i++) {
		memset(&cons[i], 0, sizeof(cons[i]));
		cons[i].c = c;
		cons[i].seen = seen;
		assert_int_equal(pthread_create(&ct[i], NULL, mt_consume,
		    &cons[i]), 0);
	}
	for (i = 0; i < MT_PRODUCERS; i++) {
		memset(&prod[i], 0, sizeof(prod[i]));
		prod[i].c = c;
		prod[i].base = 1 + i * MT_PER_PRODUCER;
		assert_int_equal(pthread_create(&pt[i], NULL, mt_produce,
		    &prod[i]), 0);
	}
	for (i = 0; i < MT_PRODUCERS; i++)
		assert_int_equal(pthread_join(pt[i], NULL), 0);
	chan_close(c);
	for (i = 0; i < MT_CONSUMERS; i++) {
		assert_int_equal(pthread_join(ct[i], NULL), 0);
		/* A single consumer sees each producer's items in push order. */
		assert_true(cons[i].order_ok);
		total += cons[i].popped;
	}
	assert_int_equal(total, MT_TOTAL);
	for (i = 1; i <= MT_TOTAL; i++)
		if (seen[i] != 1)
			fail_msg("item %zu seen %u times", i, seen[i]);
	assert_int_equal(chan_len(c), 0);
	free(seen);
	chan_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chan_capacity_full),
		cmocka_unit_test(test_chan_fifo_wraps),
		cmocka_unit_test(test_chan_trypopn),
		cmocka_unit_test(test_chan_null_item),
		cmocka_unit_test(test_chan_close_drains),
		cmocka_unit_test(test_chan_close_wakes_all),
		cmocka_unit_test(test_chan_blocking_push_resumes),
		cmocka_unit_test(test_chan_many_threads),
	};

	return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
