/*
 * events.h: the API's event stream (GET /v1/events, Server-Sent Events):
 * the event hub's transactions and peers, formatted once and appended to
 * every client's output; a client that lets EVENTS_MAX_PENDING bytes pile
 * up is dropped, so a slow reader costs bounded memory.  Loop thread only.
 */
#ifndef HTTP_EVENTS_H
#define HTTP_EVENTS_H

#include <stdint.h>

#include "base/node.h"

#ifndef EVENTS_MAX_PENDING
#define EVENTS_MAX_PENDING	(1024 * 1024)	/* unsent bytes before a slow reader is dropped */
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
/* Answers GET /v1/events on c: the stream starts. */
void	events_serve(struct events *e, struct evhttp_request *req,
	    struct server_conn *c);
/* Ends every stream; later events are not sent. */
void	events_shutdown(struct events *e);
void	events_free(struct events *e);
/* Streams open, and readers dropped for reading too slowly. */
unsigned events_clients(const struct events *e);
uint64_t events_dropped(const struct events *e);

#endif
