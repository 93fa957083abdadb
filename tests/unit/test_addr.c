/*
 * test_addr.c: lib/addr, the "host:port" parser and writer of noded and
 * nodectl: accepted forms and how they are written back, each refusal with
 * its exact message, the nodectl forms (ADDR_URL, ADDR_NOPORT0), bounds,
 * and which hosts count as loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/addr.h"

#define BOTH	(ADDR_URL | ADDR_NOPORT0)	/* as nodectl's --node */

static const struct {
	const char	*in;
	int		 flags;
	const char	*host;
	unsigned	 port;
	const char	*str;		/* addr_str of the result */
} addr_good[] = {
	{ "127.0.0.1:8000", 0, "127.0.0.1", 8000, "127.0.0.1:8000" },
	{ "node2:7000", 0, "node2", 7000, "node2:7000" },
	{ "my_host.example-1.org:1", 0, "my_host.example-1.org", 1,
	  "my_host.example-1.org:1" },
	{ "[::1]:65535", 0, "::1", 65535, "[::1]:65535" },
	{ "[::ffff:10.0.0.1]:0", 0, "::ffff:10.0.0.1", 0, "[::ffff:10.0.0.1]:0" },
	{ "[fe80::1%eth0]:7003", 0, "fe80::1%eth0", 7003, "[fe80::1%eth0]:7003" },
	{ "x:007", 0, "x", 7, "x:7" },
	{ "0.0.0.0:0", 0, "0.0.0.0", 0, "0.0.0.0:0" },
	/* nodectl: a URL, a final '/', either or both. */
	{ "http://127.0.0.1:8000", BOTH, "127.0.0.1", 8000, "127.0.0.1:8000" },
	{ "http://127.0.0.1:8000/", BOTH, "127.0.0.1", 8000, "127.0.0.1:8000" },
	{ "HTTP://Node1:8001", BOTH, "Node1", 8001, "Node1:8001" },
	{ "node1:8001/", BOTH, "node1", 8001, "node1:8001" },
	{ "http://[::1]:8000/", BOTH, "::1", 8000, "[::1]:8000" },
	{ "localhost:1", BOTH, "localhost", 1, "localhost:1" },
};

static void
test_addr_good(void **state)
{
	struct addr	a, b;
	char		err[512], s[ADDR_STR_MAX];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(addr_good) / sizeof(addr_good[0]); i++) {
		err[0] = '\0';
		if (addr_parse(&a, addr_good[i].in, addr_good[i].flags, err,
		    sizeof(err)) != 0)
			fail_msg("'%s' refused: %s", addr_good[i].in, err);
		assert_string_equal(a.host, addr_good[i].host);
		assert_int_equal(a.port, addr_good[i].port);
		addr_str(&a, s, sizeof(s));
		assert_string_equal(s, addr_good[i].str);
		/* What addr_str writes reads back as the same address. */
		assert_int_equal(addr_parse(&b, s, 0, err, sizeof(err)), 0);
		assert_string_equal(b.host, a.host);
		assert_int_equal(b.port, a.port);
	}
}

/* Each refusal names the input and the problem; messages users read. */
static const struct {
	const char	*in;
	int		 flags;
	const char	*err;
} addr_bad[] = {
	{ "", 0, "'': empty address (expected HOST:PORT)" },
	{ "node2", 0, "'node2': missing port (expected HOST:PORT)" },
	{ "node2:", 0, "'node2:': empty port" },
	{ "node2:70x0", 0, "'node2:70x0': bad port" },
	{ "node2:+7", 0, "'node2:+7': bad port" },
	{ "node2:-1", 0, "'node2:-1': bad port" },
	{ "node2: 7", 0, "'node2: 7': bad port" },
	{ "node2:65536", 0, "'node2:65536': port out of range (0..65535)" },
	{ "node2:99999999999999999999",
	  0, "'node2:99999999999999999999': port out of range (0..65535)" },
	{ ":7000", 0, "':7000': empty host" },
	{ "a b:1", 0, "'a b:1': bad host" },
	{ "a/b:1", 0, "'a/b:1': bad host" },
	{ "user@h:1", 0, "'user@h:1': bad host" },
	{ "h\x7f:1", 0, "'h\x7f:1': bad host" },
	{ "::1:7000", 0,
	  "'::1:7000': an IPv6 address needs brackets, e.g. [::1]:8000" },
	{ "h:1:2", 0, "'h:1:2': an IPv6 address needs brackets, e.g. [::1]:8000" },
	{ "[::1:7000", 0, "'[::1:7000': missing ']'" },
	{ "[::1]7000", 0, "'[::1]7000': missing port (expected [HOST]:PORT)" },
	{ "[::1]", 0, "'[::1]': missing port (expected [HOST]:PORT)" },
	{ "[::1]:", 0, "'[::1]:': empty port" },
	{ "[]:7000", 0, "'[]:7000': empty host" },
	{ "[zz]:7000", 0, "'[zz]:7000': bad IPv6 address" },
	{ "[10.0.0.1]:7000", 0, "'[10.0.0.1]:7000': bad IPv6 address" },
	{ "[fe80::1%]:7000", 0, "'[fe80::1%]:7000': bad IPv6 zone" },
	{ "[fe80::1%e/0]:7000", 0, "'[fe80::1%e/0]:7000': bad IPv6 zone" },
	/* Without ADDR_URL, a URL is not an address. */
	{ "h:1/", 0, "'h:1/': bad port" },
	{ "http://h:1", 0,
	  "'http://h:1': an IPv6 address needs brackets, e.g. [::1]:8000" },
	/* nodectl: messages quote what was typed, URL and all. */
	{ "h:0", ADDR_NOPORT0, "'h:0': port must be 1..65535" },
	{ "http://h:0/", BOTH, "'http://h:0/': port must be 1..65535" },
	{ "http://", BOTH, "'http://': empty address (expected HOST:PORT)" },
	{ "/", BOTH, "'/': empty address (expected HOST:PORT)" },
	{ "http://h:70x0/", BOTH, "'http://h:70x0/': bad port" },
	{ "http://h/", BOTH, "'http://h/': missing port (expected HOST:PORT)" },
	{ "ftp://h:1", BOTH,
	  "'ftp://h:1': an IPv6 address needs brackets, e.g. [::1]:8000" },
	{ "localhost", BOTH, "'localhost': missing port (expected HOST:PORT)" },
	{ "127.0.0.1:99999", BOTH,
	  "'127.0.0.1:99999': port out of range (0..65535)" },
};

static void
test_addr_bad(void **state)
{
	struct addr	a;
	char		err[512];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(addr_bad) / sizeof(addr_bad[0]); i++) {
		memset(&a, 0x5a, sizeof(a));
		err[0] = '\0';
		if (addr_parse(&a, addr_bad[i].in, addr_bad[i].flags, err,
		    sizeof(err)) != -1)
			fail_msg("'%s' accepted", addr_bad[i].in);
		if (strcmp(err, addr_bad[i].err) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", addr_bad[i].in,
			    err, addr_bad[i].err);
		/* A refused address leaves a alone. */
		assert_int_equal(a.port, 0x5a5a);
		/* NULL err is fine. */
		assert_int_equal(addr_parse(&a, addr_bad[i].in,
		    addr_bad[i].flags, NULL, 0), -1);
	}
}

/* Lengths: bounded before anything is copied. */
static void
test_addr_bounds(void **state)
{
	struct addr	a;
	char		big[400], url[416], err[512], s[ADDR_STR_MAX];

	(void)state;
	/* The whole text must be shorter than ADDR_HOST_MAX. */
	memset(big, 'h', sizeof(big));
	memcpy(big + sizeof(big) - 6, ":7000", 6);
	assert_int_equal(addr_parse(&a, big, 0, err, sizeof(err)), -1);
	assert_string_equal(err, "'hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh...': "
	    "address too long");
	memset(big, 'h', 250);
	memcpy(big + 250, ":7000", 6);
	assert_int_equal(addr_parse(&a, big, 0, err, sizeof(err)), 0);
	assert_int_equal(strlen(a.host), 250);
	addr_str(&a, s, sizeof(s));
	assert_string_equal(s, big);

	/* The longest: a 253-character DNS name and a one-digit port. */
	memset(big, 'h', 253);
	memcpy(big + 253, ":1", 3);
	assert_int_equal(addr_parse(&a, big, 0, err, sizeof(err)), 0);
	memset(big, 'h', 254);
	memcpy(big + 254, ":1", 3);
	assert_int_equal(addr_parse(&a, big, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "...': address too long"));

	/* The scheme and the final '/' do not count against the length. */
	memset(big, 'h', 250);
	memcpy(big + 250, ":7000", 6);
	snprintf(url, sizeof(url), "http://%s/", big);
	assert_int_equal(addr_parse(&a, url, ADDR_URL, err, sizeof(err)), 0);
	assert_int_equal(a.port, 7000);

	/* A short err or out buffer is cut, never overrun. */
	memset(err, 'x', sizeof(err));
	assert_int_equal(addr_parse(&a, "node2:70x0", 0, err, 8), -1);
	assert_string_equal(err, "'node2:");
	assert_int_equal(err[8], 'x');
	assert_int_equal(addr_parse(&a, "[::1]:8000", 0, err, sizeof(err)), 0);
	memset(s, 'x', sizeof(s));
	addr_str(&a, s, 5);
	assert_string_equal(s, "[::1");
	assert_int_equal(s[5], 'x');
}

static void
test_addr_loopback(void **state)
{
	static const struct {
		const char	*host;
		int		 loop;
	} cases[] = {
		{ "127.0.0.1", 1 }, { "127.1.2.3", 1 }, { "::1", 1 },
		{ "localhost", 1 }, { "::ffff:127.0.0.1", 1 },
		{ "0.0.0.0", 0 }, { "::", 0 }, { "192.0.2.1", 0 }, { "10.0.0.1", 0 },
		{ "2001:db8::1", 0 }, { "::ffff:10.0.0.1", 0 },
	};
	struct addr	a;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(a.host, sizeof(a.host), "%s", cases[i].host);
		a.port = 8000;
		if (addr_is_loopback(&a) != cases[i].loop)
			fail_msg("%s: want loopback=%d", cases[i].host,
			    cases[i].loop);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_good),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_addr_bounds),
		cmocka_unit_test(test_addr_loopback),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
