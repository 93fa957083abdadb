/* test_hub.c: the event hub: order, topics, the subscriber bound, unsubscribing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/hub.h"

#define NSUBS	(2 * HUB_SUBSCRIBERS_MAX + 4)	/* subscribers a test may use */

/* One subscriber: its name in the trace, and what it saw. */
struct sub {
	char		 name;
	unsigned	 calls;
	const struct hub_event *last;	/* valid during the post only */
	enum hub_topic	 last_topic;
	int		 unsub_self;	/* hub_unsubscribe(itself) when called */
	struct sub	*unsub_other;	/* hub_unsubscribe(that one) when called */
};

static struct sub	subs[NSUBS];
static char		trace[256];	/* names of the subscribers called, in order */

static void
on_event(const struct hub_event *ev, void *arg)
{
	struct sub	*s = arg;
	size_t		 n = strlen(trace);

	assert_true(n + 1 < sizeof(trace));
	trace[n] = s->name;
	trace[n + 1] = '\0';
	s->calls++;
	s->last = ev;
	s->last_topic = ev->topic;
	if (s->unsub_self)
		hub_unsubscribe(s);
	if (s->unsub_other != NULL)
		hub_unsubscribe(s->unsub_other);
}

/* The hub is process-wide: every test starts and ends with no subscriber. */
static void
hub_reset(void)
{
	size_t	i;

	for (i = 0; i < NSUBS; i++) {
		hub_unsubscribe(&subs[i]);
		memset(&subs[i], 0, sizeof(subs[i]));
		subs[i].name = (char)(i < 26 ? 'A' + i : 'a' + (i - 26));
	}
	trace[0] = '\0';
}

static int
setup(void **state)
{
	enum hub_topic	t;

	(void)state;
	hub_reset();
	for (t = 0; t < HUB_NTOPICS; t++)
		assert_false(hub_wanted(t));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hub_reset();
	return 0;
}

static void
post(enum hub_topic topic)
{
	struct hub_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.topic = topic;
	trace[0] = '\0';
	hub_post(&ev);
}

/* Every subscriber gets the very event posted, in the order they subscribed. */
static void
test_hub_order(void **state)
{
	static const uint8_t	 id[TX_ID_LEN] = { 0xab, 0xcd };
	struct hub_event	 ev;
	size_t			 i;

	(void)state;
	/* Subscribed C, A, B: called C, A, B (not by address or name). */
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[2]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[0]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[1]), 0);
	memset(&ev, 0, sizeof(ev));
	ev.topic = HUB_TX_ACCEPTED;
	ev.id = id;
	ev.from = "node2";
	ev.amount = 42;
	hub_post(&ev);
	assert_string_equal(trace, "CAB");
	for (i = 0; i < 3; i++) {
		assert_int_equal(subs[i].calls, 1);
		assert_ptr_equal(subs[i].last, &ev);
		assert_ptr_equal(subs[i].last->id, id);
		assert_string_equal(subs[i].last->from, "node2");
		assert_int_equal(subs[i].last->amount, 42);
	}
	/* Again: the same order, once more each. */
	post(HUB_TX_ACCEPTED);
	assert_string_equal(trace, "CAB");
	for (i = 0; i < 3; i++)
		assert_int_equal(subs[i].calls, 2);
}

/* A post reaches the subscribers of its topic only. */
static const struct topic_case {
	enum hub_topic	 topic;
	const char	*want;		/* trace of the post */
} topic_cases[] = {
	{ HUB_TX_ACCEPTED, "AE" },
	{ HUB_TX_REJECTED, "B" },
	{ HUB_PEER_UP, "CF" },
	{ HUB_PEER_DOWN, "D" },
	{ HUB_NTOPICS, "" },		/* no such topic: nobody */
	{ (enum hub_topic)1000, "" },
};

static void
test_hub_topics(void **state)
{
	size_t	i;

	(void)state;
	/* A..D one per topic, E and F a second one on two topics. */
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[0]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_REJECTED, on_event, &subs[1]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event, &subs[2]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_DOWN, on_event, &subs[3]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[4]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event, &subs[5]), 0);
	/* No such topic: refused. */
	assert_int_equal(hub_subscribe(HUB_NTOPICS, on_event, &subs[6]), -1);
	assert_int_equal(hub_subscribe((enum hub_topic)1000, on_event, &subs[6]), -1);

	for (i = 0; i < sizeof(topic_cases) / sizeof(topic_cases[0]); i++) {
		post(topic_cases[i].topic);
		if (strcmp(trace, topic_cases[i].want) != 0)
			fail_msg("topic %d: called \"%s\", want \"%s\"",
			    (int)topic_cases[i].topic, trace, topic_cases[i].want);
		if (topic_cases[i].want[0] != '\0')
			assert_int_equal(subs[topic_cases[i].want[0] - 'A'].last_topic,
			    topic_cases[i].topic);
	}
	assert_int_equal(subs[6].calls, 0);
}

/* At most HUB_SUBSCRIBERS_MAX per topic; the bound is per topic. */
static void
test_hub_bound(void **state)
{
	size_t	i;
	char	want[HUB_SUBSCRIBERS_MAX + 1];

	(void)state;
	for (i = 0; i < HUB_SUBSCRIBERS_MAX; i++) {
		if (hub_subscribe(HUB_PEER_UP, on_event, &subs[i]) != 0)
			fail_msg("subscriber %zu of %d refused", i + 1,
			    HUB_SUBSCRIBERS_MAX);
		want[i] = subs[i].name;
	}
	want[i] = '\0';
	/* The next one is refused, and leaves the table as it was. */
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event,
	    &subs[HUB_SUBSCRIBERS_MAX]), -1);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event,
	    &subs[HUB_SUBSCRIBERS_MAX + 1]), -1);
	post(HUB_PEER_UP);
	assert_string_equal(trace, want);
	assert_int_equal(subs[HUB_SUBSCRIBERS_MAX].calls, 0);
	assert_int_equal(subs[HUB_SUBSCRIBERS_MAX + 1].calls, 0);

	/* Another topic has its own room. */
	assert_int_equal(hub_subscribe(HUB_PEER_DOWN, on_event,
	    &subs[HUB_SUBSCRIBERS_MAX]), 0);
	post(HUB_PEER_DOWN);
	assert_int_equal(strlen(trace), 1);
	assert_int_equal(trace[0], subs[HUB_SUBSCRIBERS_MAX].name);

	/* One leaves: there is room for one more, called last. */
	hub_unsubscribe(&subs[0]);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event,
	    &subs[HUB_SUBSCRIBERS_MAX + 1]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event,
	    &subs[HUB_SUBSCRIBERS_MAX + 2]), -1);
	post(HUB_PEER_UP);
	memmove(want, want + 1, HUB_SUBSCRIBERS_MAX);
	want[HUB_SUBSCRIBERS_MAX - 1] = subs[HUB_SUBSCRIBERS_MAX + 1].name;
	want[HUB_SUBSCRIBERS_MAX] = '\0';
	assert_string_equal(trace, want);
}

/* hub_wanted follows the subscriptions of each topic. */
static void
test_hub_wanted(void **state)
{
	(void)state;
	assert_false(hub_wanted(HUB_TX_REJECTED));
	assert_false(hub_wanted(HUB_NTOPICS));
	assert_false(hub_wanted((enum hub_topic)-1));
	assert_int_equal(hub_subscribe(HUB_TX_REJECTED, on_event, &subs[0]), 0);
	assert_true(hub_wanted(HUB_TX_REJECTED));
	assert_false(hub_wanted(HUB_TX_ACCEPTED));
	assert_false(hub_wanted(HUB_PEER_UP));
	assert_false(hub_wanted(HUB_PEER_DOWN));
	assert_false(hub_wanted(HUB_NTOPICS));
	assert_int_equal(hub_subscribe(HUB_TX_REJECTED, on_event, &subs[1]), 0);
	hub_unsubscribe(&subs[0]);
	assert_true(hub_wanted(HUB_TX_REJECTED));
	/* Someone else's arg takes nothing away. */
	hub_unsubscribe(&subs[5]);
	assert_true(hub_wanted(HUB_TX_REJECTED));
	hub_unsubscribe(&subs[1]);
	assert_false(hub_wanted(HUB_TX_REJECTED));
}

/* hub_unsubscribe(arg) removes each of arg's subscriptions, the rest keep their order. */
static void
test_hub_unsubscribe(void **state)
{
	(void)state;
	/* A on every topic, twice on one; B, C around it. */
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[1]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[0]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[2]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[0]), 0);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[1]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_DOWN, on_event, &subs[0]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_DOWN, on_event, &subs[2]), 0);
	assert_int_equal(hub_subscribe(HUB_PEER_UP, on_event, &subs[0]), 0);
	post(HUB_TX_ACCEPTED);
	assert_string_equal(trace, "BACAB");
	assert_true(hub_wanted(HUB_PEER_UP));

	hub_unsubscribe(&subs[0]);
	post(HUB_TX_ACCEPTED);
	assert_string_equal(trace, "BCB");
	post(HUB_PEER_DOWN);
	assert_string_equal(trace, "C");
	post(HUB_PEER_UP);
	assert_string_equal(trace, "");
	assert_false(hub_wanted(HUB_PEER_UP));
	/* Twice is harmless. */
	hub_unsubscribe(&subs[0]);
	post(HUB_TX_ACCEPTED);
	assert_string_equal(trace, "BCB");
	/* The freed room is usable again. */
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_event, &subs[3]), 0);
	post(HUB_TX_ACCEPTED);
	assert_string_equal(trace, "BCBD");
}

/*
 * Unsubscribing while called.  Every subscriber subscribed when the post
 * began gets it, unless an earlier one unsubscribed it; the next post goes
 * to the rest only.
 */
struct during_case {
	const char	*name;
	int		 self;		/* index of the one that unsubscribes itself, -1 */
	int		 who, whom;	/* who unsubscribes whom, -1 */
	const char	*first, *second;	/* traces of two posts */
};

static const struct during_case during_cases[] = {
	{ "last leaves", 3, -1, -1, "ABCD", "ABC" },
	{ "first removes a later one", -1, 0, 2, "ABD", "ABD" },
	{ "last removes an earlier one", -1, 3, 1, "ABCD", "ACD" },
};

/*
 * A subscriber that is not the last and unsubscribes itself while called
 * must not make the one after it miss the event.  Once a bug: hub_post
 * compacted the table under its own index, so with A B C D on one topic
 * and B leaving, the post reached "ABD".
 */
static const struct during_case during_bug_cases[] = {
	{ "middle leaves", 1, -1, -1, "ABCD", "ACD" },
	{ "first leaves", 0, -1, -1, "ABCD", "BCD" },
};

static void
during_run(const struct during_case *cases, size_t ncases)
{
	const struct during_case *c;
	size_t			 i, k;

	for (i = 0; i < ncases; i++) {
		c = &cases[i];
		hub_reset();
		for (k = 0; k < 4; k++)
			assert_int_equal(hub_subscribe(HUB_PEER_DOWN, on_event,
			    &subs[k]), 0);
		if (c->self >= 0)
			subs[c->self].unsub_self = 1;
		if (c->who >= 0)
			subs[c->who].unsub_other = &subs[c->whom];
		post(HUB_PEER_DOWN);
		if (strcmp(trace, c->first) != 0)
			fail_msg("%s: the post reached \"%s\", want \"%s\"",
			    c->name, trace, c->first);
		post(HUB_PEER_DOWN);
		if (strcmp(trace, c->second) != 0)
			fail_msg("%s: the next post reached \"%s\", want \"%s\"",
			    c->name, trace, c->second);
	}
}

static void
test_hub_unsubscribe_during_post(void **state)
{
	(void)state;
	during_run(during_cases, sizeof(during_cases) / sizeof(during_cases[0]));
}

/* See during_bug_cases. */
static void
test_hub_unsubscribe_self_skips_next(void **state)
{
	(void)state;
	during_run(during_bug_cases,
	    sizeof(during_bug_cases) / sizeof(during_bug_cases[0]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hub_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_topics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_wanted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_unsubscribe, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hub_unsubscribe_during_post,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hub_unsubscribe_self_skips_next,
		    setup, teardown),
	};

	return cmocka_run_group_tests_name("hub", tests, NULL, NULL);
}
