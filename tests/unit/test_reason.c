/*
 * test_reason.c: lib/reason, the names of the reasons a transaction is
 * refused: every reason's human text and machine code (the codes are a
 * published contract: docs/API.md), the edges of the table, and that
 * every code is snake_case and unique.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/reason.h"

static const struct {
	unsigned	 r;
	const char	*text;
	const char	*code;
} reason_cases[] = {
	{ TX_ERR_ENCODING, "bad encoding", "bad_encoding" },
	{ TX_ERR_VERSION, "unknown version", "unknown_version" },
	{ TX_ERR_SIGNATURE, "bad signature", "bad_signature" },
	{ TX_ERR_NETWORK, "wrong network", "wrong_network" },
	{ TX_ERR_AMOUNT, "amount too high", "amount_too_high" },
	{ TX_ERR_MEMO, "memo too long", "memo_too_long" },
	{ TX_ERR_FUTURE, "timestamp too far in the future", "timestamp_in_future" },
	{ TX_ERR_EXPIRED, "timestamp too old", "timestamp_too_old" },
	{ REASON_NONCE, "nonce already used", "nonce_used" },
	{ REASON_FULL, "mempool full", "mempool_full" },
	{ REASON_BUSY, "node busy", "node_busy" },
	{ REASON_STORE, "store error", "store_error" },
};
#define NCASES	(sizeof(reason_cases) / sizeof(reason_cases[0]))

static void
test_reason_every_text_and_code(void **state)
{
	size_t	i;

	(void)state;
	/* One row per reason: a new reason must be added here (and to API.md). */
	assert_int_equal(NCASES, REASON_COUNT - 1);
	for (i = 0; i < NCASES; i++) {
		assert_string_equal(reason_str(reason_cases[i].r), reason_cases[i].text);
		assert_string_equal(reason_code(reason_cases[i].r), reason_cases[i].code);
	}
}

static void
test_reason_edges(void **state)
{
	(void)state;
	assert_string_equal(reason_code(TX_OK), "ok");
	assert_string_equal(reason_code(REASON_COUNT), "unknown");
	assert_string_equal(reason_code((unsigned)-1), "unknown");
	assert_string_equal(reason_str(REASON_COUNT), "unknown");
}

static void
test_reason_codes_are_snake_case_and_unique(void **state)
{
	const char	*c, *d;
	unsigned	 r, q;

	(void)state;
	for (r = 0; r < REASON_COUNT; r++) {
		c = reason_code(r);
		assert_true(c[0] >= 'a' && c[0] <= 'z');
		for (; *c != '\0'; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
		assert_true(c[-1] != '_');
		for (q = 0; q < r; q++) {
			d = reason_code(q);
			assert_string_not_equal(reason_code(r), d);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_every_text_and_code),
		cmocka_unit_test(test_reason_edges),
		cmocka_unit_test(test_reason_codes_are_snake_case_and_unique),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
