/*
 * jenc.c: JSON values of the API's answers and events.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/jenc.h"
#include "lib/util.h"
#include "proto/hex.h"

json_t *
jenc_str(const char *s)
{
	json_t	*j;
	char	*copy, *p;

	if ((j = json_string(s)) != NULL)
		return j;
	copy = xstrdup(s);
	for (p = copy; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	j = json_string(copy);
	free(copy);
	return j != NULL ? j : json_string("");
}

json_t *
jenc_u64(uint64_t v)
{
	char	buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

json_t *
jenc_hex(const uint8_t *p, size_t len)
{
	char	*buf;
	json_t	*j;

	buf = xmalloc(2 * len + 1);
	hex_encode(buf, p, len);
	j = json_string(buf);
	free(buf);
	return j;
}

json_t *
jenc_peer(const struct peer_info *p)
{
	json_t	*o = json_object();

	json_object_set_new(o, "node_id", jenc_str(p->node_id));
	json_object_set_new(o, "name", jenc_str(p->name));
	json_object_set_new(o, "addr", jenc_str(p->addr));
	json_object_set_new(o, "direction", json_string(p->outbound ?
	    "outbound" : "inbound"));
	return o;
}

/* --- text written straight ---------------------------------------------- */

void
jenc_buf_add(struct jenc_buf *b, const char *s, size_t n)
{
	size_t	want;

	if (b->len + n + 1 > b->size) {
		want = b->size == 0 ? 512 : b->size;
		while (want < b->len + n + 1)
			want *= 2;
		b->p = xrealloc(b->p, want);
		b->size = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
jenc_buf_printf(struct jenc_buf *b, const char *fmt, ...)
{
	char	line[256], *big;
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(line)) {
		jenc_buf_add(b, line, (size_t)n);
		return;
	}
	big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	jenc_buf_add(b, big, (size_t)n);
	free(big);
}

/*
 * True if s is UTF-8 as jansson accepts it (json_string): no stray or
 * overlong sequence, no surrogate, nothing past U+10FFFF.
 */
static int
jenc_utf8_valid(const unsigned char *s)
{
	unsigned	cp, n, i;

	while (*s != '\0') {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf) {
			n = 1;
			cp = *s & 0x1f;
		} else if (*s >= 0xe0 && *s <= 0xef) {
			n = 2;
			cp = *s & 0x0f;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			n = 3;
			cp = *s & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}

void
jenc_buf_str(struct jenc_buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 valid = jenc_utf8_valid(p);
	const char		*esc;
	char			 u[8];
	size_t			 run;

	jenc_buf_add(b, "\"", 1);
	while (*p != '\0') {
		/* A run of bytes that go as they are. */
		for (run = 0; p[run] != '\0' && p[run] >= 0x20 && p[run] != '"' &&
		    p[run] != '\\' && (valid || p[run] < 0x80); run++)
			;
		jenc_buf_add(b, (const char *)p, run);
		p += run;
		if (*p == '\0')
			break;
		switch (*p) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			if (*p >= 0x80)		/* not UTF-8: as jenc_str, '?' */
				esc = "?";
			else {
				snprintf(u, sizeof(u), "\\u%04X", *p);
				esc = u;
			}
			break;
		}
		jenc_buf_add(b, esc, strlen(esc));
		p++;
	}
	jenc_buf_add(b, "\"", 1);
}

void
jenc_buf_u64(struct jenc_buf *b, uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		jenc_buf_printf(b, "%" PRIu64, v);
	else
		jenc_buf_printf(b, "\"%" PRIu64 "\"", v);
}

void
jenc_buf_hex(struct jenc_buf *b, const uint8_t *p, size_t len)
{
	char	chunk[2 * 32 + 1];
	size_t	n;

	jenc_buf_add(b, "\"", 1);
	while (len > 0) {
		n = len > 32 ? 32 : len;
		hex_encode(chunk, p, n);
		jenc_buf_add(b, chunk, 2 * n);
		p += n;
		len -= n;
	}
	jenc_buf_add(b, "\"", 1);
}
