/*
 * test_budget.c: the memory budgets' gauges: bytes held, peak, over the
 * limit, never below zero; a large release schedules one trim, which runs
 * on the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/budget.h"

static void
test_budget_gauges(void **state)
{
	static const struct {
		int		 add;	/* 1: add, 0: sub */
		uint64_t	 n;
		uint64_t	 used, peak;
		int		 over;
	} steps[] = {
		{ 1, 600, 600, 600, 0 },
		{ 1, 400, 1000, 1000, 0 },	/* at the limit: not over */
		{ 1, 1, 1001, 1001, 1 },
		{ 0, 501, 500, 1001, 0 },
		{ 0, 800, 0, 1001, 0 },		/* never below zero */
		{ 1, 10, 10, 1001, 0 },
	};
	size_t	i;

	(void)state;
	memset(budgets, 0, sizeof(budgets));
	budget_limit(BUDGET_EVENTS, 1000);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].add)
			budget_add(BUDGET_EVENTS, steps[i].n);
		else
			budget_sub(NULL, BUDGET_EVENTS, steps[i].n);
		assert_int_equal(budgets[BUDGET_EVENTS].used, steps[i].used);
		assert_int_equal(budgets[BUDGET_EVENTS].peak, steps[i].peak);
		assert_int_equal(budget_over(BUDGET_EVENTS), steps[i].over);
	}
	/* The other kinds are untouched. */
	assert_int_equal(budgets[BUDGET_PEER_SEND].used, 0);
	assert_int_equal(budgets[BUDGET_API_BODY].used, 0);
	assert_string_equal(budget_names[BUDGET_PEER_SEND], "peer_send");
	assert_string_equal(budget_names[BUDGET_API_BODY], "api_body");
	assert_string_equal(budget_names[BUDGET_EVENTS], "events");
}

/* A large release on a loop: the trim is scheduled once and the loop runs it. */
static void
test_budget_trim_on_the_loop(void **state)
{
	struct event_base	*base = event_base_new();

	(void)state;
	assert_non_null(base);
	memset(budgets, 0, sizeof(budgets));
	budget_limit(BUDGET_PEER_SEND, 64u << 20);
	budget_add(BUDGET_PEER_SEND, 32u << 20);
	budget_sub(base, BUDGET_PEER_SEND, 16u << 20);
	budget_sub(base, BUDGET_PEER_SEND, 16u << 20);
	assert_int_equal(budgets[BUDGET_PEER_SEND].used, 0);
	/* One trim scheduled for both releases. */
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	/* The loop runs it (about 1 s later), then has nothing left. */
	assert_int_equal(event_base_dispatch(base), 1);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	/* It ran: the next large release schedules another; a small one does not. */
	budget_add(BUDGET_PEER_SEND, 8u << 20);
	budget_sub(base, BUDGET_PEER_SEND, 1024);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	budget_sub(base, BUDGET_PEER_SEND, 8u << 20);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 1);
	assert_int_equal(event_base_dispatch(base), 1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_gauges),
		cmocka_unit_test(test_budget_trim_on_the_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
