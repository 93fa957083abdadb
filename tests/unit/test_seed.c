/*
 * test_seed.c: DNS seeds (p2p/seed.c): the retry schedule after failures,
 * address lists sorted, deduplicated and compared, and a resolution from a
 * hosts file (--resolv-hosts) that finds every address of the name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "base/log.h"
#include "p2p/seed.h"

static void
test_seed_retry_schedule(void **state)
{
	static const struct { unsigned failures; uint64_t ms; } cases[] = {
		{ 0, 1000 }, { 1, 1000 }, { 2, 2000 }, { 3, 4000 }, { 4, 8000 },
		{ 5, 16000 }, { 6, 32000 }, { 7, 60000 }, { 8, 60000 },
		{ 1000, 60000 }, { 4000000000u, 60000 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (seed_retry_ms(cases[i].failures) != cases[i].ms)
			fail_msg("failures %u: %llu ms, want %llu", cases[i].failures,
			    (unsigned long long)seed_retry_ms(cases[i].failures),
			    (unsigned long long)cases[i].ms);
}

static void
set(struct addr *a, const char *host, uint16_t port)
{
	snprintf(a->host, sizeof(a->host), "%s", host);
	a->port = port;
}

static void
test_seed_sort_and_diff(void **state)
{
	struct addr a[5], b[3];
	size_t n, added, removed;

	(void)state;
	set(&a[0], "10.0.0.3", 7000);
	set(&a[1], "10.0.0.1", 7000);
	set(&a[2], "10.0.0.3", 7000);
	set(&a[3], "::1", 7000);
	set(&a[4], "10.0.0.1", 7001);
	n = seed_addrs_sort(a, 5);
	assert_int_equal(n, 4);
	assert_string_equal(a[0].host, "10.0.0.1");
	assert_int_equal(a[0].port, 7000);
	assert_string_equal(a[1].host, "10.0.0.1");
	assert_int_equal(a[1].port, 7001);
	assert_string_equal(a[2].host, "10.0.0.3");
	assert_string_equal(a[3].host, "::1");
	assert_int_equal(seed_addrs_sort(a, 0), 0);

	set(&b[0], "10.0.0.1", 7000);
	set(&b[1], "10.0.0.9", 7000);
	set(&b[2], "::1", 7000);
	seed_diff(a, n, b, 3, &added, &removed);
	assert_int_equal(added, 1);	/* 10.0.0.9 */
	assert_int_equal(removed, 2);	/* 10.0.0.1:7001, 10.0.0.3 */
	seed_diff(a, n, a, n, &added, &removed);
	assert_int_equal(added + removed, 0);
	seed_diff(NULL, 0, b, 3, &added, &removed);
	assert_int_equal(added, 3);
	assert_int_equal(removed, 0);
}

struct got {
	int		calls;
	size_t		n;
	struct addr	addrs[SEED_ADDRS_MAX];
};

static void
got_cb(struct seed *s, const struct addr *addrs, size_t n, void *arg)
{
	struct got *g = arg;

	(void)s;
	g->calls++;
	g->n = n;
	memcpy(g->addrs, addrs, n * sizeof(*addrs));
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_seed_hosts_file(void **state)
{
	struct event_base *base = event_base_new();
	struct got g;
	struct seed *s;
	char path[] = "/tmp/test_seed_XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "# a comment\n"
	    "127.0.0.3   other.test seed.test\n"
	    "127.0.0.1 seed.test   # trailing comment\n"
	    "::1\tSEED.test\n"
	    "127.0.0.1 seed.test\n"		/* a duplicate */
	    "not-an-ip seed.test\n"
	    "127.0.0.9 seed.test.example\n"
	    "   \n");
	memset(&g, 0, sizeof(g));
	s = seed_new(base, "seed.test", 7000, path, got_cb, &g);
	assert_string_equal(seed_name(s), "seed.test");
	seed_start(s);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.n, 3);
	assert_int_equal(seed_count(s), 3);
	assert_string_equal(g.addrs[0].host, "127.0.0.1");
	assert_string_equal(g.addrs[1].host, "127.0.0.3");
	assert_string_equal(g.addrs[2].host, "::1");
	assert_int_equal(g.addrs[2].port, 7000);
	seed_free(s);

	/* Not in the file, then no file: a failure, no call, nothing kept. */
	memset(&g, 0, sizeof(g));
	s = seed_new(base, "absent.test", 7000, path, got_cb, &g);
	seed_start(s);
	assert_int_equal(g.calls, 0);
	assert_int_equal(seed_count(s), 0);
	seed_free(s);
	unlink(path);
	s = seed_new(base, "seed.test", 7000, path, got_cb, &g);
	seed_start(s);
	assert_int_equal(g.calls, 0);

	/* The file appears: the retry (1 s later) finds the name. */
	write_file(path, "127.0.0.2 seed.test\n");
	event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.addrs[0].host, "127.0.0.2");
	seed_free(s);
	unlink(path);
	event_base_free(base);
}

/* The system's resolver, on its thread: localhost, from /etc/hosts. */
static void
test_seed_system_resolver(void **state)
{
	struct event_base *base = event_base_new();
	struct got g;
	struct seed *s;
	size_t i;
	int v4 = 0, spins;

	(void)state;
	memset(&g, 0, sizeof(g));
	s = seed_new(base, "localhost", 7001, NULL, got_cb, &g);
	seed_start(s);
	for (spins = 0; g.calls == 0 && spins < 100; spins++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(g.calls, 1);
	assert_true(g.n >= 1);
	for (i = 0; i < g.n; i++) {
		assert_int_equal(g.addrs[i].port, 7001);
		v4 |= strcmp(g.addrs[i].host, "127.0.0.1") == 0;
	}
	assert_true(v4);
	seed_free(s);

	/* Freed while its lookup runs: the thread finishes alone. */
	s = seed_new(base, "localhost", 7001, NULL, got_cb, &g);
	seed_start(s);
	seed_free(s);
	usleep(200000);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_retry_schedule),
		cmocka_unit_test(test_seed_sort_and_diff),
		cmocka_unit_test(test_seed_hosts_file),
		cmocka_unit_test(test_seed_system_resolver),
	};

	log_open("unit", NULL, LOG_ERROR, LOG_TEXT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
