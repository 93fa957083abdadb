/*
 * test_link.c: the link model behind --link-delay, --link-jitter and
 * --link-rate: when writes leave, in what order, and that the bytes come
 * out whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "p2p/link.h"

static void
test_link_off(void **state)
{
	struct link_shape	s = { 0, 0, 0 };

	(void)state;
	assert_false(link_shape_on(&s));
	s.rate_bps = 8000;
	assert_true(link_shape_on(&s));
}

static void
test_link_delay_only(void **state)
{
	struct link_shape	s = { 50000, 0, 0 };
	struct link		*l = link_new();

	(void)state;
	assert_true(link_release_us(l, &s, 100, 1000, 0) == 51000);
	assert_true(link_release_us(l, &s, 100, 1000, 0) == 51000);
	assert_true(link_release_us(l, &s, 100, 2000, 0) == 52000);
	link_free(l);
}

/* 8 kbit/s is 1 ms a byte: writes queue behind each other, then travel. */
static void
test_link_rate(void **state)
{
	struct link_shape	s = { 10000, 0, 8000 };
	struct link		*l = link_new();

	(void)state;
	assert_true(link_release_us(l, &s, 100, 0, 0) == 100000 + 10000);
	assert_true(link_release_us(l, &s, 50, 0, 0) == 150000 + 10000);
	/* Later than the wire is busy: from now. */
	assert_true(link_release_us(l, &s, 1, 1000000, 0) == 1001000 + 10000);
	/* Rounded up: never faster than the rate. */
	s.rate_bps = 3000;
	s.delay_us = 0;
	assert_true(link_release_us(l, &s, 1, 2000000, 0) == 2000000 + 2667);
	link_free(l);
}

/* Jitter stays within +-jitter of the delay, and never reorders. */
static void
test_link_jitter_bounds_and_order(void **state)
{
	struct link_shape	s = { 20000, 5000, 0 };
	struct link		*l = link_new();
	uint64_t		t, prev = 0, now, lo = UINT64_MAX, hi = 0;
	int			i;

	(void)state;
	srandom(7);
	for (i = 0; i < 10000; i++) {
		now = (uint64_t)i * 100;
		t = link_release_us(l, &s, 10, now, (uint32_t)random());
		assert_true(t >= prev);
		assert_true(t <= now + 25000);
		if (t - now < lo)
			lo = t - now;
		if (t - now > hi)
			hi = t - now;
		prev = t;
	}
	/* Reaches both ends (the floor is the order, not the draw). */
	assert_true(hi >= 24900);
	assert_true(lo <= 20000);
	link_free(l);
	/* Jitter larger than the delay: never before the write. */
	l = link_new();
	s.delay_us = 1000;
	s.jitter_us = 10000;
	for (i = 0; i < 1000; i++) {
		now = 1000000 + (uint64_t)i * 100000;
		t = link_release_us(l, &s, 10, now, (uint32_t)random());
		assert_true(t >= now);
	}
	link_free(l);
}

static void
test_link_queue(void **state)
{
	struct link	*l = link_new();
	struct evbuffer	*out = evbuffer_new();
	uint8_t		 buf[64];

	(void)state;
	assert_true(link_next_us(l) == 0);
	link_push(l, "abc", 3, 100);
	link_push(l, "de", 2, 100);	/* joins the write due with it */
	link_push(l, "fgh", 3, 200);
	assert_int_equal(link_pending(l), 8);
	assert_true(link_next_us(l) == 100);
	assert_int_equal(link_pop(l, 99, out), 0);
	assert_int_equal(link_pop(l, 100, out), 5);
	assert_int_equal(evbuffer_get_length(out), 5);
	assert_true(link_next_us(l) == 200);
	assert_int_equal(link_pop(l, 1000, out), 3);
	assert_int_equal(link_pending(l), 0);
	assert_true(link_next_us(l) == 0);
	assert_int_equal(evbuffer_remove(out, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "abcdefgh", 8);
	evbuffer_free(out);
	link_free(l);
}

/* The ring grows past its first size and wraps, keeping the bytes in order. */
static void
test_link_queue_grows(void **state)
{
	struct link	*l = link_new();
	struct evbuffer	*out = evbuffer_new();
	uint32_t	 v, i, n = 0;

	(void)state;
	for (i = 0; i < 50; i++)
		link_push(l, &i, sizeof(i), i + 1);
	assert_int_equal(link_pop(l, 30, out), 30 * sizeof(i));
	for (; i < 1000; i++)
		link_push(l, &i, sizeof(i), i + 1);
	assert_int_equal(link_pending(l), (1000 - 30) * sizeof(i));
	link_pop(l, UINT64_MAX, out);
	while (evbuffer_remove(out, &v, sizeof(v)) == sizeof(v))
		assert_int_equal(v, n++);
	assert_int_equal(n, 1000);
	evbuffer_free(out);
	link_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_off),
		cmocka_unit_test(test_link_delay_only),
		cmocka_unit_test(test_link_rate),
		cmocka_unit_test(test_link_jitter_bounds_and_order),
		cmocka_unit_test(test_link_queue),
		cmocka_unit_test(test_link_queue_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
