/* hex.c: lower-case hex encoding of keys, ids and transactions. */
#include <stddef.h>
#include <stdint.h>

#include "hex.h"

static const char hex_digits[] = "0123456789abcdef";

void
hex_encode(char *out, const uint8_t *in, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_valid(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (hex_nibble(s[i]) == -1)
			return 0;
	}
	return s[len] == '\0';
}

int
hex_decode(uint8_t *out, size_t outlen, const char *hex, size_t hexlen)
{
	size_t	i;
	int	hi, lo;

	if (hexlen % 2 != 0 || hexlen / 2 != outlen)
		return -1;
	for (i = 0; i < outlen; i++) {
		hi = hex_nibble(hex[2 * i]);
		lo = hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
