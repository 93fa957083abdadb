/*
 * sse.h: the parser of a Server-Sent Events stream (GET /v1/events,
 * docs/API.md) behind `nodectl watch`.  Bytes go in as they arrive, split
 * anywhere; each complete event comes out through a callback.  No I/O, so
 * that tests/fuzz/fuzz_http.c drives it as watch does.  Single-threaded.
 */
#ifndef TOOLS_SSE_H
#define TOOLS_SSE_H

#include <stddef.h>

#define SSE_LINE_MAX	(64 * 1024)	/* one line */
#define SSE_EVENT_MAX	(256 * 1024)	/* one event's data, newlines included */
#define SSE_TYPE_MAX	63		/* an event name; longer ones are cut */
#define SSE_ID_MAX	127		/* an event id; a longer one is ignored */

/*
 * Receives one event: its type ("message" if it named none, at most
 * SSE_TYPE_MAX bytes) and its data lines joined by '\n', len bytes plus a
 * NUL.  Both are the parser's, valid during the call.  Returns 0, or -1
 * to stop the stream.
 */
typedef int (*sse_event_cb)(void *arg, const char *type, const char *data,
	    size_t len);

struct sse;

/* A parser that hands events to cb.  The caller frees it with sse_free. */
struct sse *sse_new(sse_event_cb cb, void *arg);

/*
 * Parses len more bytes of the stream.  Returns 0, or -1 with err set
 * ("an event line over 65536 bytes", or the callback refused an event),
 * after which the stream is unusable.
 */
int	sse_feed(struct sse *p, const char *data, size_t len, char *err,
	    size_t errlen);

/*
 * The last event id: the value of the last "id:" field, as of the last
 * blank line (the SSE spec's "last event ID string"), "" if none.  Only
 * printable ASCII without blanks, at most SSE_ID_MAX bytes, is taken, so
 * that it can go back in a Last-Event-ID header.
 */
const char *sse_last_id(const struct sse *p);

/*
 * Forgets a partial line or event (the connection broke; a new one will
 * start from a line's beginning); the last event id is kept.
 */
void	sse_reset(struct sse *p);

/* Frees p; NULL is fine. */
void	sse_free(struct sse *p);

#endif
