/* test_hex.c: hex encoding round trips and bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/hex.h"

static const struct {
	const char	*hex;
	const uint8_t	*bytes;
	size_t		 len;
} hex_good[] = {
	{ "", (const uint8_t *)"", 0 },
	{ "00", (const uint8_t *)"\x00", 1 },
	{ "ff", (const uint8_t *)"\xff", 1 },
	{ "0123456789abcdef", (const uint8_t *)"\x01\x23\x45\x67\x89\xab\xcd\xef", 8 },
	{ "7f80", (const uint8_t *)"\x7f\x80", 2 },
	{ "68656c6c6f", (const uint8_t *)"hello", 5 },
};

static void
test_hex_known(void **state)
{
	char	out[64];
	uint8_t	bin[32];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(hex_good) / sizeof(hex_good[0]); i++) {
		memset(out, 'x', sizeof(out));
		hex_encode(out, hex_good[i].bytes, hex_good[i].len);
		assert_string_equal(out, hex_good[i].hex);
		memset(bin, 0xaa, sizeof(bin));
		assert_int_equal(hex_decode(bin, hex_good[i].len, hex_good[i].hex,
		    strlen(hex_good[i].hex)), 0);
		if (hex_good[i].len > 0)
			assert_memory_equal(bin, hex_good[i].bytes,
			    hex_good[i].len);
	}
}

static void
test_hex_upper_case(void **state)
{
	uint8_t	bin[8];

	(void)state;
	assert_int_equal(hex_decode(bin, 8, "0123456789ABCDEF", 16), 0);
	assert_memory_equal(bin, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	assert_int_equal(hex_decode(bin, 2, "aBcD", 4), 0);
	assert_memory_equal(bin, "\xab\xcd", 2);
}

static void
test_hex_round_trip_all_bytes(void **state)
{
	uint8_t	in[256], back[256];
	char	hex[513];
	size_t	i;

	(void)state;
	for (i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	hex_encode(hex, in, sizeof(in));
	assert_int_equal(strlen(hex), 512);
	for (i = 0; i < 512; i++)
		assert_true((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f'));
	assert_int_equal(hex_decode(back, sizeof(back), hex, 512), 0);
	assert_memory_equal(in, back, sizeof(in));
}

static const struct {
	const char	*hex;
	size_t		 hexlen;
	size_t		 outlen;
	const char	*why;
} hex_bad[] = {
	{ "0", 1, 0, "odd length" },
	{ "abc", 3, 1, "odd length" },
	{ "abcd", 4, 1, "outlen too small" },
	{ "abcd", 4, 3, "outlen too large" },
	{ "0g", 2, 1, "non-hex letter" },
	{ "g0", 2, 1, "non-hex letter first" },
	{ " 0", 2, 1, "space" },
	{ "0x", 2, 1, "0x prefix" },
	{ "ab\0d", 4, 2, "NUL inside" },
	{ "abcd-f", 6, 3, "dash" },
	{ "zz", 2, 1, "z" },
	{ "@0", 2, 1, "char before A" },
	{ "G0", 2, 1, "G" },
	{ "/0", 2, 1, "char before 0" },
	{ ":0", 2, 1, "char after 9" },
	{ "`0", 2, 1, "char before a" },
};

static void
test_hex_bad(void **state)
{
	uint8_t	bin[8];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(hex_bad) / sizeof(hex_bad[0]); i++) {
		if (hex_decode(bin, hex_bad[i].outlen, hex_bad[i].hex,
		    hex_bad[i].hexlen) != -1)
			fail_msg("bad hex accepted: %s", hex_bad[i].why);
	}
}

/* hex_valid: exactly len hex digits, then the string's end. */
static const struct {
	const char	*s;
	size_t		 len;
	int		 want;
} hex_valid_cases[] = {
	{ "", 0, 1 },
	{ "0", 1, 1 },
	{ "0123456789abcdefABCDEF", 22, 1 },
	{ "aBcD", 4, 1 },
	{ "abc", 3, 1 },		/* odd is fine: a check of digits, not of bytes */
	{ "abcd", 3, 0 },		/* longer than len */
	{ "ab", 3, 0 },			/* shorter: the NUL is not a digit */
	{ "", 1, 0 },
	{ "abcg", 4, 0 },
	{ "0x12", 4, 0 },
	{ " abc", 4, 0 },
	{ "abc ", 4, 0 },
	{ "ab\xc3\xa9", 4, 0 },		/* UTF-8 */
	{ "/", 1, 0 },		/* each neighbour of a digit range... */
	{ ":", 1, 0 },
	{ "@", 1, 0 },
	{ "G", 1, 0 },
	{ "`", 1, 0 },
	{ "g", 1, 0 },
	{ "9", 1, 1 },			/* ...and each range's ends */
	{ "A", 1, 1 },
	{ "F", 1, 1 },
	{ "a", 1, 1 },
	{ "f", 1, 1 },
};

static void
test_hex_valid(void **state)
{
	char	id[65];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(hex_valid_cases) / sizeof(hex_valid_cases[0]);
	    i++) {
		if (hex_valid(hex_valid_cases[i].s, hex_valid_cases[i].len) !=
		    hex_valid_cases[i].want)
			fail_msg("hex_valid(\"%s\", %zu): want %d",
			    hex_valid_cases[i].s, hex_valid_cases[i].len,
			    hex_valid_cases[i].want);
	}
	/* A 64-digit id, as nodectl checks them. */
	memset(id, 'e', 64);
	id[64] = '\0';
	assert_true(hex_valid(id, 64));
	assert_false(hex_valid(id, 63));
	id[17] = 'x';
	assert_false(hex_valid(id, 64));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_known),
		cmocka_unit_test(test_hex_upper_case),
		cmocka_unit_test(test_hex_round_trip_all_bytes),
		cmocka_unit_test(test_hex_bad),
		cmocka_unit_test(test_hex_valid),
	};

	return cmocka_run_group_tests_name("hex", tests, NULL, NULL);
}
