/*
 * events.h: the API's event stream (GET /v1/events, Server-Sent Events):
 * the event hub's transactions and peers, formatted once and appended to
 * every client's output; a client that lets EVENTS_MAX_PENDING bytes pile
 * up is dropped, so a slow reader costs bounded memory.  Every event has an
 * id, "<run>-<seq>" (run: 16 hex digits drawn at start, seq: 1, 2, ...),
 * and the last EVENTS_RING_MAX of them (EVENTS_RING_BYTES at most) are kept,
 * so that a client that reconnects with Last-Event-ID gets what it missed,
 * or a "reset" event saying that it cannot.  Loop thread only.
 */
#ifndef HTTP_EVENTS_H
#define HTTP_EVENTS_H

#include <stdint.h>

#include "base/node.h"

#ifndef EVENTS_MAX_PENDING
#define EVENTS_MAX_PENDING	(1024 * 1024)	/* unsent bytes before a slow reader is dropped */
#endif
#ifndef EVENTS_RING_MAX
#define EVENTS_RING_MAX		4096		/* events kept for resumption */
#endif
#ifndef EVENTS_RING_BYTES
#define EVENTS_RING_BYTES	(768 * 1024)	/* their bytes: a replay fits a stream's bound */
#endif
#ifndef EVENTS_MAX_STREAMS
#define EVENTS_MAX_STREAMS	64		/* streams; more get 503 */
#endif

struct evhttp_request;
struct events;
struct server;
struct server_conn;

/* Subscribes to the hub; streams go through srv. */
struct events *events_new(struct node *n, struct server *srv);
/*
 * Answers GET /v1/events on c: the stream starts, after the events the
 * Last-Event-ID header says the client missed (or a reset event); HEAD
 * gets the stream's head only.
 */
void	events_serve(struct events *e, struct evhttp_request *req,
	    struct server_conn *c);
/* Ends every stream; later events are not sent. */
void	events_shutdown(struct events *e);
void	events_free(struct events *e);
/* Streams open, and readers dropped for reading too slowly. */
/* Brings the events budget's gauge up to the bytes the streams hold now. */
void	events_account(struct events *e);
unsigned events_clients(const struct events *e);
uint64_t events_dropped(const struct events *e);

#endif
