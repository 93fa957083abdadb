/*
 * test_jenc.c: http/jenc's JSON written straight into text (the event
 * stream's hot path) against jansson's json_dumps of the values the API
 * builds: every string (escapes, control bytes, UTF-8 valid and not,
 * surrogates, overlong forms), integers past int64, hex; a table of cases,
 * then random byte strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/jenc.h"

/* What json_dumps makes of v (reference taken), as a malloc'd string. */
static char *
dumped(json_t *v)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(v);
	assert_non_null(s);
	return s;
}

static void
check_str(const char *s)
{
	struct jenc_buf	 b = { NULL, 0, 0 };
	char		*want = dumped(jenc_str(s));

	jenc_buf_str(&b, s);
	if (strcmp(b.p, want) != 0)
		fail_msg("jenc_buf_str: '%s', json_dumps: '%s'", b.p, want);
	assert_int_equal(b.len, strlen(want));
	free(want);
	free(b.p);
}

static void
test_jenc_strings(void **state)
{
	static const char *const cases[] = {
		"", "node1", "api", "127.0.0.1:7000", "[::1]:7000",
		"a\"b", "back\\slash", "slash/ok", "tab\tnew\nline\rcr",
		"\b\f", "\x01\x02\x1f\x7f", "caf\xc3\xa9 \xe2\x98\x95",
		"\xf0\x9f\x98\x80", "\xff\xfe", "ok\xc3", "\xc0\xaf",
		"\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"mixed \xc3\xa9 and \xff", "\xc2\x80\xc2\x9f",
		"disconnected through the API", "amount too high: 150 > 100",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_str(cases[i]);
}

static void
test_jenc_random_strings(void **state)
{
	char		 s[64];
	uint32_t	 x = 0x2545f491;
	size_t		 i, j, n;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = i % (sizeof(s) - 1);
		for (j = 0; j < n; j++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			/* Mostly ASCII, some controls and high bytes. */
			s[j] = (char)(x % 5 == 0 ? 0x80 + x % 0x80 : 1 + x % 0x7f);
		}
		s[n] = '\0';
		check_str(s);
	}
}

static void
test_jenc_numbers_and_hex(void **state)
{
	static const uint64_t	 nums[] = { 0, 1, 42, INT64_MAX, (uint64_t)INT64_MAX + 1,
	    UINT64_MAX };
	static const uint8_t	 bytes[70] = { 0x00, 0x01, 0xab, 0xff };
	struct jenc_buf		 b;
	char			*want;
	size_t			 i, len;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		memset(&b, 0, sizeof(b));
		jenc_buf_u64(&b, nums[i]);
		want = dumped(jenc_u64(nums[i]));
		assert_string_equal(b.p, want);
		free(want);
		free(b.p);
	}
	for (len = 0; len <= sizeof(bytes); len += 7) {
		memset(&b, 0, sizeof(b));
		jenc_buf_hex(&b, bytes, len);
		want = dumped(jenc_hex(bytes, len));
		assert_string_equal(b.p, want);
		free(want);
		free(b.p);
	}
	/* Text past the printf buffer, and growth. */
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 100; i++)
		jenc_buf_printf(&b, "%0300d", (int)i);
	assert_int_equal(b.len, 30000);
	assert_int_equal(strlen(b.p), 30000);
	free(b.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jenc_strings),
		cmocka_unit_test(test_jenc_random_strings),
		cmocka_unit_test(test_jenc_numbers_and_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
