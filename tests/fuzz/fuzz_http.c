/*
 * fuzz_http.c: nodectl's HTTP answer parser (tools/http.c) and event-stream
 * parser (tools/sse.c), through the calls nodectl makes: the answer is
 * written into a socketpair that stands in for the node and read by
 * http_stream_step, as `nodectl status` and `watch` read theirs; event
 * streams go through sse_feed.
 *
 * The first input byte picks a mode (its value modulo 16; 7 to 13 repeat
 * 0 to 6), the second seeds how the bytes are split into reads; the rest
 * is the payload:
 *	0  the payload is the whole answer
 *	1  a Content-Length answer around it (the length from its first bytes)
 *	2  a chunked answer carrying it, chunk sizes from the seed
 *	3  an answer delimited by the end of the connection
 *	4  the payload is an event stream
 *	5  an event stream that carries the payload as events
 *	6  the payload is an answer whose body is an event stream (watch)
 *	14 mode 0, the payload repeated past the 64 KiB bound on a head
 *	15 mode 4, the payload repeated past the bounds on a line or an event
 * Each input is parsed in one piece and in random splits, and both must
 * agree (status, body, events, result).  Modes 1, 2, 3 and 5 also know what
 * the parser must produce.  Every body callback gets at least one byte,
 * never more than was written; a status is 0 or 100..599; every event
 * holds its bounds.  AddressSanitizer catches any read past a buffer.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/http.h"
#include "tools/sse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BODY_LIMIT		6000	/* the reader refuses more (as http_fetch) */
#define FUZZ_EVENTS_LIMIT	200	/* the reader refuses more events */
#define FUZZ_OUT_MAX		(1 << 20)

#define check(cond)	do { if (!(cond)) { \
	fprintf(stderr, "fuzz_http: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)

/* A small PRNG, so that a split depends only on the input. */
static uint32_t
fuzz_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* A growing byte buffer. */
struct buf {
	uint8_t	*p;
	size_t	 len;
	size_t	 size;
};

static void
buf_add(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->size) {
		b->size = (b->len + n) * 2 + 64;
		if ((b->p = realloc(b->p, b->size)) == NULL)
			abort();
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* What one parse produced. */
struct run {
	int		 rc;		/* of the last step: 0 done, -1 error */
	int		 status;
	char		 err[512];
	struct buf	 body;
	size_t		 written;	/* answer bytes written so far */
	int		 refused;	/* the reader refused the body */
	struct sse	*sse;		/* mode 6: the body goes here */
	struct buf	 events;	/* every event: type, NUL, length, data */
	size_t		 nevents;
	int		 sse_failed;
	char		 last_id[SSE_ID_MAX + 1];	/* the stream's last event id */
};

static int
fuzz_event(void *arg, const char *type, const char *data, size_t len)
{
	struct run	*r = arg;
	uint32_t	 n = (uint32_t)len;

	check(type[0] != '\0' && strlen(type) <= SSE_TYPE_MAX);
	check(data[len] == '\0');
	check(len < SSE_EVENT_MAX);
	if (r->nevents == FUZZ_EVENTS_LIMIT)
		return -1;
	r->nevents++;
	buf_str(&r->events, type);
	buf_add(&r->events, "", 1);
	buf_add(&r->events, &n, sizeof(n));
	buf_add(&r->events, data, len);
	return 0;
}

static int
fuzz_body(void *arg, const char *data, size_t len)
{
	struct run	*r = arg;
	char		 err[128];

	check(len > 0);
	check(r->body.len + len <= r->written);
	if (r->body.len + len > FUZZ_BODY_LIMIT) {
		r->refused = 1;
		return -1;
	}
	buf_add(&r->body, data, len);	/* reads every byte: ASan checks */
	if (r->sse != NULL && !r->sse_failed &&
	    sse_feed(r->sse, data, len, err, sizeof(err)) == -1)
		r->sse_failed = 1;
	return 0;
}

/* Bytes waiting on fd. */
static int
fuzz_pending(int fd)
{
	int	n = 0;

	if (ioctl(fd, FIONREAD, &n) == -1)
		abort();
	return n;
}

/* Status and reason as the stream shows them: always within bounds. */
static void
fuzz_check_stream(const struct http_stream *s)
{
	int	status = http_stream_status(s);

	check(status == 0 || (status >= 100 && status <= 599));
	check(strlen(http_stream_reason(s)) < 64);
}

/*
 * Writes the answer into a socketpair in pieces (one piece unless split)
 * and steps the stream after each, as nodectl's poll loop does; then the
 * "node" closes.  Fills r.
 */
static void
fuzz_http_run(const uint8_t *ans, size_t len, uint32_t seed, int split,
    int sse, struct run *r)
{
	static const struct http_addr	 addr = { { "fuzz", 1 }, "fuzz:1" };
	struct http_request		 req;
	struct http_stream		*s;
	char				 scratch[4096];
	size_t				 off = 0, n;
	ssize_t				 w;
	int				 sv[2], k;

	memset(r, 0, sizeof(*r));
	if (sse)
		r->sse = sse_new(fuzz_event, r);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/v1/events";
	req.accept = "text/event-stream";
	if ((s = http_stream_fdopen(sv[0], &addr, &req, r->err,
	    sizeof(r->err))) == NULL)
		abort();
	check(http_stream_events(s) == POLLOUT);
	r->rc = http_stream_step(s, POLLOUT, fuzz_body, r, r->err,
	    sizeof(r->err));
	check(r->rc == 1 && http_stream_events(s) == POLLIN);
	/* The request went out whole. */
	check(read(sv[1], scratch, sizeof(scratch)) > 0);
	check(memcmp(scratch, "GET /v1/events HTTP/1.1\r\n", 25) == 0);

	while (off < len && r->rc == 1) {
		n = len - off;
		if (split)
			n = 1 + fuzz_rand(&seed) % (n < 700 ? n : 700);
		if ((w = send(sv[1], ans + off, n, MSG_NOSIGNAL)) <= 0)
			abort();	/* far below the socket's buffer */
		off += (size_t)w;
		r->written = off;
		while (r->rc == 1 && fuzz_pending(sv[0]) > 0) {
			r->rc = http_stream_step(s, POLLIN, fuzz_body, r, r->err,
			    sizeof(r->err));
			fuzz_check_stream(s);
		}
	}
	shutdown(sv[1], SHUT_WR);
	for (k = 0; r->rc == 1 && k < 64; k++) {
		r->rc = http_stream_step(s, POLLIN, fuzz_body, r, r->err,
		    sizeof(r->err));
		fuzz_check_stream(s);
	}
	/* At the end of the connection the answer is complete or it failed. */
	check(r->rc == 0 || r->rc == -1);
	check(r->rc == 0 || r->err[0] != '\0');
	r->status = http_stream_status(s);
	if (r->rc == 0) {
		check(r->status >= 100);
		/* A complete answer stays complete. */
		check(http_stream_step(s, POLLIN, fuzz_body, r, r->err,
		    sizeof(r->err)) == 0);
	}
	check(r->body.len <= len);
	http_stream_free(s);
	close(sv[1]);
}

static void
fuzz_run_free(struct run *r)
{
	sse_free(r->sse);
	free(r->body.p);
	free(r->events.p);
}

/* One piece and random splits agree on everything the caller can see. */
static void
fuzz_http_both(const uint8_t *ans, size_t len, uint32_t seed, int sse,
    struct run *whole)
{
	struct run	split;

	fuzz_http_run(ans, len, seed, 0, sse, whole);
	fuzz_http_run(ans, len, seed, 1, sse, &split);
	check(whole->rc == split.rc);
	check(whole->status == split.status);
	check(whole->refused == split.refused);
	check(strcmp(whole->err, split.err) == 0);
	if (!whole->refused) {
		check(whole->body.len == split.body.len);
		check(whole->body.len == 0 ||
		    memcmp(whole->body.p, split.body.p, whole->body.len) == 0);
		check(whole->sse_failed == split.sse_failed);
		check(whole->events.len == split.events.len);
		check(whole->events.len == 0 || memcmp(whole->events.p,
		    split.events.p, whole->events.len) == 0);
	}
	fuzz_run_free(&split);
}

/* Feeds a stream to a fresh parser in pieces; fills r's events. */
static int
fuzz_sse_run(const uint8_t *p, size_t len, uint32_t seed, int split,
    struct run *r)
{
	struct sse	*sse;
	char		 err[128];
	size_t		 off = 0, n;
	int		 rc = 0;

	memset(r, 0, sizeof(*r));
	sse = sse_new(fuzz_event, r);
	while (off < len && rc == 0) {
		n = len - off;
		if (split)
			n = 1 + fuzz_rand(&seed) % (n < 300 ? n : 300);
		rc = sse_feed(sse, (const char *)p + off, n, err, sizeof(err));
		check(rc == 0 || err[0] != '\0');
		off += n;
	}
	/* An id that can go back in a Last-Event-ID header, whatever came. */
	snprintf(r->last_id, sizeof(r->last_id), "%s", sse_last_id(sse));
	check(strlen(sse_last_id(sse)) <= SSE_ID_MAX);
	for (n = 0; r->last_id[n] != '\0'; n++)
		check(r->last_id[n] > ' ' && r->last_id[n] <= '~');
	sse_free(sse);
	return rc;
}

static void
fuzz_sse_both(const uint8_t *p, size_t len, uint32_t seed, struct run *whole)
{
	struct run	split;
	int		rc1, rc2;

	rc1 = fuzz_sse_run(p, len, seed, 0, whole);
	rc2 = fuzz_sse_run(p, len, seed, 1, &split);
	check(rc1 == rc2);
	check(rc1 != 0 || strcmp(whole->last_id, split.last_id) == 0);
	check(whole->events.len == split.events.len);
	check(whole->events.len == 0 ||
	    memcmp(whole->events.p, split.events.p, whole->events.len) == 0);
	fuzz_run_free(&split);
}

/*
 * Parses ans, an answer built around a known body, and frees it: the
 * result must be rc and status, with exactly that body (or, over the
 * reader's limit, its refusal).
 */
static void
fuzz_http_expect(struct buf *ans, uint32_t seed, int rc, int status,
    const uint8_t *body, size_t blen)
{
	struct run	r;

	fuzz_http_both(ans->p, ans->len, seed, 0, &r);
	check(r.status == status);
	check(r.refused == (blen > FUZZ_BODY_LIMIT));
	if (!r.refused) {
		check(r.rc == rc);
		check(r.body.len == blen);
		check(blen == 0 || memcmp(r.body.p, body, blen) == 0);
	}
	fuzz_run_free(&r);
	free(ans->p);
}

/*
 * Mode 1: Content-Length from the first two bytes, the rest the body; a
 * body shorter than said ends in an error, with what came delivered.
 */
static void
fuzz_sized(const uint8_t *p, size_t len, uint32_t seed)
{
	struct buf	 ans = { NULL, 0, 0 };
	size_t		 blen, clen;
	char		 head[128];

	if (len < 2)
		return;
	blen = len - 2;
	clen = (size_t)(p[0] | p[1] << 8) % (blen + 16);
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\ncontent-length: %zu\r\n\r\n", clen);
	buf_str(&ans, head);
	buf_add(&ans, p + 2, blen);
	fuzz_http_expect(&ans, seed, blen >= clen ? 0 : -1, 200, p + 2,
	    blen >= clen ? clen : blen);
}

/* Mode 2: the payload in chunks of random sizes, hex of either case. */
static void
fuzz_chunked(const uint8_t *p, size_t len, uint32_t seed)
{
	struct buf	 ans = { NULL, 0, 0 };
	uint32_t	 x = seed;
	size_t		 off = 0, n;
	char		 line[64];

	buf_str(&ans, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n"
	    "\r\n");
	while (off < len) {
		n = 1 + fuzz_rand(&x) % (len - off < 400 ? len - off : 400);
		switch (fuzz_rand(&x) % 4) {
		case 0:
			snprintf(line, sizeof(line), "%zx\r\n", n);
			break;
		case 1:
			snprintf(line, sizeof(line), "%zX;name=value\r\n", n);
			break;
		case 2:
			snprintf(line, sizeof(line), "000%zx \n", n);
			break;
		default:
			snprintf(line, sizeof(line), "%zx\t\r\n", n);
			break;
		}
		buf_str(&ans, line);
		buf_add(&ans, p + off, n);
		buf_str(&ans, fuzz_rand(&x) % 2 ? "\r\n" : "\n");
		off += n;
	}
	buf_str(&ans, "0\r\nTrailer: x\r\n\r\n");
	fuzz_http_expect(&ans, seed, 0, 200, p, len);
}

/* Mode 3: after an interim answer, no length: the body runs to the end. */
static void
fuzz_until_eof(const uint8_t *p, size_t len, uint32_t seed)
{
	struct buf	 ans = { NULL, 0, 0 };

	buf_str(&ans, "HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 404 \r\n\r\n");
	buf_add(&ans, p, len);
	fuzz_http_expect(&ans, seed, 0, 404, p, len);
}

/*
 * Mode 5: the payload as events: NUL bytes separate them, an event's first
 * byte picks its type, '\n' separates its data lines (CRs dropped).  Line
 * ends, comments and spacing vary with the seed; the parser must give back
 * exactly these events.
 */
static void
fuzz_sse_encoded(const uint8_t *p, size_t len, uint32_t seed)
{
	static const char *const types[] = { "", "tx_accepted", "peer_connected",
	    "x" };
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	struct buf	 stream = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	struct run	 r;
	const uint8_t	*ev, *end, *q;
	uint32_t	 x = seed, n;
	size_t		 i, at, nev = 0;
	const char	*type, *eol;

	if (len > SSE_LINE_MAX - 16)
		return;		/* a line that long is refused: not this mode's test */

	for (ev = p; ev < p + len && nev < FUZZ_EVENTS_LIMIT; ev = end + 1) {
		end = memchr(ev, 0, (size_t)(p + len - ev));
		if (end == NULL)
			end = p + len;
		type = types[ev < end ? *ev % 4 : 0];
		if (ev < end)
			ev++;
		if (fuzz_rand(&x) % 3 == 0)
			buf_str(&stream, ": keep-alive\n");
		if (*type != '\0') {
			buf_str(&stream, fuzz_rand(&x) % 2 ? "event: " : "event:");
			buf_str(&stream, type);
			buf_str(&stream, eols[fuzz_rand(&x) % 3]);
		}
		buf_str(&want, *type != '\0' ? type : "message");
		buf_add(&want, "", 1);
		at = want.len;		/* the data's length goes here */
		buf_add(&want, &n, sizeof(n));
		/* Data lines: "data: " and the line, CRs left out. */
		q = ev;
		for (;;) {
			buf_str(&stream, "data: ");
			for (; q < end && *q != '\n'; q++) {
				if (*q == '\r')
					continue;
				buf_add(&stream, q, 1);
				buf_add(&want, q, 1);
			}
			eol = eols[fuzz_rand(&x) % 3];
			buf_str(&stream, eol);
			if (q == end)
				break;
			buf_add(&want, "\n", 1);
			q++;
		}
		n = (uint32_t)(want.len - at - sizeof(n));
		memcpy(want.p + at, &n, sizeof(n));
		/* A blank line ends it; after a lone CR, not an LF (that would
		 * just end the CR's line). */
		buf_str(&stream, strcmp(eol, "\r") == 0 ? "\r" :
		    eols[fuzz_rand(&x) % 3]);
		nev++;
		if (end == p + len)
			break;
	}
	fuzz_sse_both(stream.p, stream.len, seed, &r);
	check(r.nevents == nev);
	check(r.events.len == want.len);
	for (i = 0; i < want.len; i++)
		check(r.events.p[i] == want.p[i]);
	fuzz_run_free(&r);
	free(stream.p);
	free(want.p);
}

/* The payload repeated to at least want bytes; the caller frees it. */
static uint8_t *
fuzz_repeat(const uint8_t *p, size_t len, size_t want, size_t *outlen)
{
	uint8_t	*out;
	size_t	 n;

	if ((out = malloc(want + len)) == NULL)
		abort();
	for (n = 0; n < want; n += len)
		memcpy(out + n, p, len);
	*outlen = n;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	 r;
	uint32_t	 seed;
	uint8_t		*big;
	size_t		 biglen;

	if (size < 2 || size > FUZZ_OUT_MAX)
		return 0;
	seed = 0x9e3779b9u ^ (uint32_t)data[1] * 0x01000193u;
	switch (data[0] % 16 < 14 ? data[0] % 16 % 7 : data[0] % 16) {
	case 0:
		fuzz_http_both(data + 2, size - 2, seed, 0, &r);
		fuzz_run_free(&r);
		break;
	case 1:
		fuzz_sized(data + 2, size - 2, seed);
		break;
	case 2:
		fuzz_chunked(data + 2, size - 2, seed);
		break;
	case 3:
		fuzz_until_eof(data + 2, size - 2, seed);
		break;
	case 4:
		fuzz_sse_both(data + 2, size - 2, seed, &r);
		fuzz_run_free(&r);
		break;
	case 5:
		fuzz_sse_encoded(data + 2, size - 2, seed);
		break;
	case 6:
		fuzz_http_both(data + 2, size - 2, seed, 1, &r);
		fuzz_run_free(&r);
		break;
	case 14:
		if (size == 2)
			break;
		big = fuzz_repeat(data + 2, size - 2, HTTP_HEAD_MAX + 1000,
		    &biglen);
		fuzz_http_both(big, biglen, seed, 0, &r);
		fuzz_run_free(&r);
		free(big);
		break;
	case 15:
		if (size == 2)
			break;
		/* An event's bound is four lines' worth: tried less often. */
		big = fuzz_repeat(data + 2, size - 2, data[1] % 8 != 0 ?
		    SSE_LINE_MAX + 1000 : SSE_EVENT_MAX + 1000, &biglen);
		fuzz_sse_both(big, biglen, seed, &r);
		fuzz_run_free(&r);
		free(big);
		break;
	}
	return 0;
}
