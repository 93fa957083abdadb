/*
 * units.c: durations and bit rates in tc-netem's notation.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/units.h"

struct units_suffix {
	const char	*name;
	uint64_t	 mult;
};

static const struct units_suffix units_time[] = {
	{ "us", 1 }, { "ms", 1000 }, { "s", 1000000 }, { "", 1000 }, { NULL, 0 }
};

static const struct units_suffix units_rate[] = {
	{ "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 },
	{ "gbit", 1000000000 }, { "", 1 }, { NULL, 0 }
};

/* Digits, then one of the suffixes (exactly, lower case). */
static int
units_parse(const char *s, const struct units_suffix *tab, uint64_t *out)
{
	uint64_t	v = 0;
	const char	*p = s;
	size_t		i;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	for (i = 0; tab[i].name != NULL; i++) {
		if (strcmp(p, tab[i].name) != 0)
			continue;
		if (v > UINT64_MAX / tab[i].mult)
			return -2;
		*out = v * tab[i].mult;
		return 0;
	}
	return -1;
}

int
units_parse_duration(const char *s, uint64_t *us)
{
	return units_parse(s, units_time, us);
}

int
units_parse_rate(const char *s, uint64_t *bps)
{
	return units_parse(s, units_rate, bps);
}

/* "0", or n in the largest unit that divides it (tab: small to large, named ones first). */
static void
units_str(char *out, size_t outlen, uint64_t n, const struct units_suffix *tab,
    size_t ntab)
{
	size_t	i;

	if (n == 0) {
		snprintf(out, outlen, "0");
		return;
	}
	for (i = ntab; i-- > 1;) {
		if (n != 0 && n % tab[i].mult == 0)
			break;
	}
	snprintf(out, outlen, "%" PRIu64 "%s", n / tab[i].mult, tab[i].name);
}

void
units_duration_str(char *out, size_t outlen, uint64_t us)
{
	units_str(out, outlen, us, units_time, 3);
}

void
units_rate_str(char *out, size_t outlen, uint64_t bps)
{
	units_str(out, outlen, bps, units_rate, 4);
}
