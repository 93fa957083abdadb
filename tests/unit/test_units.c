/* test_units.c: durations and rates as --link-* and /v1/link write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/units.h"

static void
test_units_durations(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 us;
	} good[] = {
		{ "0", 0 }, { "50", 50000 }, { "50ms", 50000 }, { "250us", 250 },
		{ "2s", 2000000 }, { "0us", 0 }, { "1500us", 1500 },
		{ "18446744073709551615us", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "ms", "-5ms", "5 ms", "5MS", "5m", "5msx", "1.5s", " 5", "5ns",
		"0x10",
	};
	uint64_t	v;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		assert_int_equal(units_parse_duration(good[i].s, &v), 0);
		assert_true(v == good[i].us);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(units_parse_duration(bad[i], &v), -1);
	/* Too big, in digits or once multiplied. */
	assert_int_equal(units_parse_duration("18446744073709551616us", &v), -2);
	assert_int_equal(units_parse_duration("18446744073709552s", &v), -2);
	assert_int_equal(units_parse_duration("18446744073709552", &v), -2);
}

static void
test_units_rates(void **state)
{
	uint64_t	v;

	(void)state;
	assert_int_equal(units_parse_rate("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(units_parse_rate("1mbit", &v), 0);
	assert_true(v == 1000000);
	assert_int_equal(units_parse_rate("500kbit", &v), 0);
	assert_true(v == 500000);
	assert_int_equal(units_parse_rate("2gbit", &v), 0);
	assert_true(v == 2000000000);
	assert_int_equal(units_parse_rate("8000bit", &v), 0);
	assert_true(v == 8000);
	assert_int_equal(units_parse_rate("8000", &v), 0);
	assert_true(v == 8000);
	assert_int_equal(units_parse_rate("1mb", &v), -1);
	assert_int_equal(units_parse_rate("1Mbit", &v), -1);
	assert_int_equal(units_parse_rate("mbit", &v), -1);
	assert_int_equal(units_parse_rate("99999999999gbit", &v), -2);
}

/* What the formatters write, the parsers read back to the same value. */
static void
test_units_round_trip(void **state)
{
	static const uint64_t us[] = { 0, 1, 999, 1000, 1001, 50000, 1000000,
	    1500000, 60000000, UINT64_MAX };
	static const uint64_t bps[] = { 0, 8000, 8001, 1000000, 1500000,
	    2000000000, 100000000000ULL };
	char		buf[32];
	uint64_t	v;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		units_duration_str(buf, sizeof(buf), us[i]);
		assert_int_equal(units_parse_duration(buf, &v), 0);
		assert_true(v == us[i]);
	}
	for (i = 0; i < sizeof(bps) / sizeof(bps[0]); i++) {
		units_rate_str(buf, sizeof(buf), bps[i]);
		assert_int_equal(units_parse_rate(buf, &v), 0);
		assert_true(v == bps[i]);
	}
	units_duration_str(buf, sizeof(buf), 50000);
	assert_string_equal(buf, "50ms");
	units_duration_str(buf, sizeof(buf), 1500);
	assert_string_equal(buf, "1500us");
	units_duration_str(buf, sizeof(buf), 0);
	assert_string_equal(buf, "0");
	units_rate_str(buf, sizeof(buf), 1000000);
	assert_string_equal(buf, "1mbit");
	units_rate_str(buf, sizeof(buf), 8001);
	assert_string_equal(buf, "8001bit");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_durations),
		cmocka_unit_test(test_units_rates),
		cmocka_unit_test(test_units_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
