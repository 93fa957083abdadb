/*
 * ctl_out.c: nodectl's output helpers: terminal-safe strings, sizes,
 * durations, times and aligned tables.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/util.h"
#include "ctl.h"

struct ctl_table {
	size_t	  ncols;
	char	  align[16];
	char	**cells;	/* nrows * ncols */
	size_t	  nrows;
	size_t	  size;		/* rows allocated */
};

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t
ctl_utf8_len(const unsigned char *p)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

void
ctl_safe(char *out, size_t outlen, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0, n;

	if (outlen == 0)
		return;
	while (*p != '\0') {
		if (*p >= 0x20 && *p < 0x7f)
			n = 1;
		else if (*p >= 0x80 && (n = ctl_utf8_len(p)) != 0 &&
		    !(p[0] == 0xc2 && p[1] < 0xa0))
			;	/* printable UTF-8; C1 controls (U+0080..9F) are not */
		else
			n = 0;
		if (n == 0) {
			if (o + 4 >= outlen)
				break;
			snprintf(out + o, outlen - o, "\\x%02x", *p);
			o += 4;
			p++;
			continue;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

void
ctl_value(char *out, size_t outlen, const json_t *v)
{
	char	*dump;

	switch (v == NULL ? JSON_NULL : json_typeof(v)) {
	case JSON_STRING:
		ctl_safe(out, outlen, json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(out, outlen, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(out, outlen, "true");
		break;
	case JSON_FALSE:
		snprintf(out, outlen, "false");
		break;
	case JSON_NULL:
		snprintf(out, outlen, "-");
		break;
	default:
		if ((dump = json_dumps(v, JSON_COMPACT)) == NULL) {
			snprintf(out, outlen, "?");
			break;
		}
		ctl_safe(out, outlen, dump);
		free(dump);
		break;
	}
}

void
ctl_bytes(char *out, size_t outlen, uint64_t n)
{
	static const char	*units[] = { "KiB", "MiB", "GiB", "TiB" };
	double			 v = (double)n;
	size_t			 u = 0;

	if (n < 1024) {
		snprintf(out, outlen, "%" PRIu64 " B", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(out, outlen, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

void
ctl_duration(char *out, size_t outlen, uint64_t s)
{
	if (s >= 86400)
		snprintf(out, outlen, "%" PRIu64 "d %02" PRIu64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, outlen, "%" PRIu64 "h %02" PRIu64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, outlen, "%" PRIu64 "m %02" PRIu64 "s", s / 60,
		    s % 60);
	else
		snprintf(out, outlen, "%" PRIu64 "s", s);
}

void
ctl_time_ms(char *out, size_t outlen, uint64_t ms)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(out, outlen, "%" PRIu64, ms);
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%03u",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

struct ctl_table *
ctl_table_new(size_t ncols, const char *align)
{
	struct ctl_table	*t;

	if (ncols == 0 || ncols >= sizeof(t->align) ||
	    strlen(align) != ncols)
		abort();
	t = xcalloc(1, sizeof(*t));
	t->ncols = ncols;
	memcpy(t->align, align, ncols);
	return t;
}

void
ctl_table_add(struct ctl_table *t, ...)
{
	va_list		 ap;
	const char	*s;
	size_t		 i;

	if (t->nrows == t->size) {
		t->size = t->size == 0 ? 16 : t->size * 2;
		t->cells = xrealloc(t->cells, t->size * t->ncols *
		    sizeof(*t->cells));
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = xstrdup(s != NULL ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

/* Display width of a safe (valid UTF-8) string: its code points. */
static size_t
ctl_width(const char *s)
{
	size_t	w = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	}
	return w;
}

void
ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t	 widths[16] = { 0 }, r, i, w;
	char	*cell;

	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			w = ctl_width(t->cells[r * t->ncols + i]);
			if (w > widths[i])
				widths[i] = w;
		}
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			w = ctl_width(cell);
			if (t->align[i] == 'r')
				fprintf(f, "%*s%s", (int)(widths[i] - w), "", cell);
			else if (i + 1 < t->ncols)
				fprintf(f, "%s%*s", cell, (int)(widths[i] - w), "");
			else
				fputs(cell, f);
			fputs(i + 1 < t->ncols ? "  " : "\n", f);
		}
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(t);
}
