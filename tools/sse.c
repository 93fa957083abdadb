/*
 * sse.c: Server-Sent Events parser (see sse.h).  A line ends at CR, LF or
 * CRLF, even when the CR and the LF come in different reads; a blank line
 * ends an event; "event:" names it, "data:" lines make its data, ':'
 * starts a comment (the node's keep-alive), "id:" sets the id that a
 * reconnecting reader sends back as Last-Event-ID (watch resumes with it);
 * "retry" does not matter here.  Every buffer is bounded before it grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "sse.h"

struct sse {
	sse_event_cb	 cb;
	void		*arg;
	int		 cr;		/* the last byte was a CR */
	char		*line;		/* SSE_LINE_MAX + 1 bytes */
	size_t		 linelen;
	char		 type[SSE_TYPE_MAX + 1];
	char		*data;
	size_t		 datalen;
	size_t		 datasize;
	char		 idbuf[SSE_ID_MAX + 1];		/* the last "id:" field */
	char		 last_id[SSE_ID_MAX + 1];	/* idbuf at the last blank line */
};

struct sse *
sse_new(sse_event_cb cb, void *arg)
{
	struct sse	*p;

	p = xcalloc(1, sizeof(*p));
	p->cb = cb;
	p->arg = arg;
	p->line = xmalloc(SSE_LINE_MAX + 1);
	return p;
}

const char *
sse_last_id(const struct sse *p)
{
	return p->last_id;
}

void
sse_reset(struct sse *p)
{
	p->cr = 0;
	p->linelen = 0;
	p->type[0] = '\0';
	p->datalen = 0;
	memcpy(p->idbuf, p->last_id, sizeof(p->idbuf));
}

void
sse_free(struct sse *p)
{
	if (p == NULL)
		return;
	free(p->line);
	free(p->data);
	free(p);
}

/* A blank line: hands over the event if it has data, and starts the next. */
static int
sse_dispatch(struct sse *p, char *err, size_t errlen)
{
	int	rc = 0;

	/* As the spec: the id counts from its event on, even an event without data. */
	memcpy(p->last_id, p->idbuf, sizeof(p->last_id));
	if (p->datalen > 0) {
		p->datalen--;		/* the newline after the last data line */
		p->data[p->datalen] = '\0';
		if (p->cb(p->arg, p->type[0] != '\0' ? p->type : "message",
		    p->data, p->datalen) == -1) {
			snprintf(err, errlen, "event refused by the reader");
			rc = -1;
		}
	}
	p->type[0] = '\0';
	p->datalen = 0;
	return rc;
}

/* Appends a data line's value and its newline. */
static int
sse_data(struct sse *p, const char *value, size_t vlen, char *err,
    size_t errlen)
{
	size_t	want;

	/* vlen < SSE_LINE_MAX: no overflow. */
	if (p->datalen + vlen + 2 > SSE_EVENT_MAX) {
		snprintf(err, errlen, "an event over %d bytes", SSE_EVENT_MAX);
		return -1;
	}
	if (p->datalen + vlen + 2 > p->datasize) {
		want = p->datasize == 0 ? 4096 : p->datasize;
		while (want < p->datalen + vlen + 2)
			want *= 2;
		p->data = xrealloc(p->data, want);
		p->datasize = want;
	}
	memcpy(p->data + p->datalen, value, vlen);
	p->datalen += vlen;
	p->data[p->datalen++] = '\n';
	p->data[p->datalen] = '\0';
	return 0;
}

/*
 * An "id:" field.  One that could not go back in a header (a control
 * character, a blank, a byte past ASCII) or is too long is ignored; the
 * spec ignores only NUL, but noded's ids are plain.
 */
static void
sse_id(struct sse *p, const char *value, size_t vlen)
{
	size_t	i;

	if (vlen > SSE_ID_MAX)
		return;
	for (i = 0; i < vlen; i++) {
		if (value[i] <= ' ' || value[i] > '~')
			return;
	}
	memcpy(p->idbuf, value, vlen);
	p->idbuf[vlen] = '\0';
}

/* One line, without its end, in p->line. */
static int
sse_line(struct sse *p, char *err, size_t errlen)
{
	const char	*line = p->line, *value, *colon;
	size_t		 len = p->linelen, flen, vlen;

	if (len == 0)
		return sse_dispatch(p, err, errlen);
	if (line[0] == ':')
		return 0;
	if ((colon = memchr(line, ':', len)) != NULL) {
		flen = (size_t)(colon - line);
		value = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && *value == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = len;
		value = "";
		vlen = 0;
	}
	if (flen == 5 && memcmp(line, "event", 5) == 0) {
		if (vlen > SSE_TYPE_MAX)
			vlen = SSE_TYPE_MAX;
		memcpy(p->type, value, vlen);
		p->type[vlen] = '\0';
	} else if (flen == 4 && memcmp(line, "data", 4) == 0)
		return sse_data(p, value, vlen, err, errlen);
	else if (flen == 2 && memcmp(line, "id", 2) == 0)
		sse_id(p, value, vlen);
	return 0;
}

/* The offset of the first CR or LF in data[0..len), or len. */
static size_t
sse_line_end(const char *data, size_t len)
{
	size_t	n;

	for (n = 0; n < len && data[n] != '\r' && data[n] != '\n'; n++)
		;
	return n;
}

int
sse_feed(struct sse *p, const char *data, size_t len, char *err,
    size_t errlen)
{
	size_t	i = 0, n;

	while (i < len) {
		/* The LF of a CRLF split across two reads. */
		if (p->cr) {
			p->cr = 0;
			if (data[i] == '\n' && ++i == len)
				break;
		}
		n = sse_line_end(data + i, len - i);
		if (n > SSE_LINE_MAX - p->linelen) {
			snprintf(err, errlen, "an event line over %d bytes",
			    SSE_LINE_MAX);
			return -1;
		}
		memcpy(p->line + p->linelen, data + i, n);
		p->linelen += n;
		i += n;
		if (i == len)
			break;
		/* A line ends at CR, LF or CRLF. */
		p->cr = data[i] == '\r';
		if (p->cr && i + 1 < len && data[i + 1] == '\n') {
			p->cr = 0;
			i++;
		}
		i++;
		p->line[p->linelen] = '\0';
		if (sse_line(p, err, errlen) == -1)
			return -1;
		p->linelen = 0;
	}
	return 0;
}
