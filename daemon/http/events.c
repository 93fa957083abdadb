/*
 * events.c: the API's Server-Sent Events stream.  Replies are chunked
 * (HTTP/1.1) or end with the connection; each event is formatted once and
 * appended straight to every client's output buffer.  Loop thread only.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "base/hub.h"
#include "base/log.h"
#include "http/events.h"
#include "http/jenc.h"
#include "http/server.h"
#include "lib/reason.h"
#include "lib/util.h"
#include "proto/tx.h"

#ifndef EVENTS_KEEPALIVE_S
#define EVENTS_KEEPALIVE_S	15	/* SSE comment to idle streams */
#endif

/* One GET /v1/events stream. */
struct events_client {
	LIST_ENTRY(events_client) entry;
	struct events		*e;
	struct server_conn	*conn;
	struct evhttp_request	*req;
	int			 chunked;	/* HTTP/1.1: chunk framing is ours */
	char			 addr[80];
};

struct events {
	struct node		*n;
	struct server		*srv;
	LIST_HEAD(, events_client) clients;
	unsigned		 nclients;
	uint64_t		 dropped;
	int			 stopping;
	struct event		*keepalive;
};

static void
events_client_unlink(struct events_client *c)
{
	LIST_REMOVE(c, entry);
	c->e->nclients--;
}

/* The client left, or evhttp is freeing the connection. */
static void
events_client_gone(void *arg, int left)
{
	struct events_client	*c = arg;

	log_debug("api", "events: %s %s", c->addr, left ? "left" : "went away");
	events_client_unlink(c);
	free(c);
}

/* Cuts c off now: what is queued for it is thrown away. */
static void
events_client_drop(struct events_client *c, const char *why)
{
	struct server_conn	*conn = c->conn;

	log_warn("api", "events: dropping %s: %s", c->addr, why);
	c->e->dropped++;
	events_client_unlink(c);
	free(c);
	server_conn_drop(conn);
}

/*
 * Queues bytes on c's stream unless that would pass the bound; then drops c.
 * evhttp_send_reply_chunk would move each event's buffer into the output as
 * a chain of its own, 512 bytes or more for an event of 250; appended here
 * the events fill the output's chains, so the bytes pending are the memory
 * held.  The chunk framing is evhttp_send_reply_chunk's; the bufferevent
 * writes what is added, evhttp having enabled writing at the reply's start.
 */
static void
events_client_send(struct events_client *c, const char *s, size_t len)
{
	struct evbuffer	*out = server_conn_output(c->conn);
	size_t		 queued = evbuffer_get_length(out);
	char		 why[128];

	if (queued + len > EVENTS_MAX_PENDING) {
		snprintf(why, sizeof(why), "slow reader: %zu bytes unsent, limit %d",
		    queued, EVENTS_MAX_PENDING);
		events_client_drop(c, why);
		return;
	}
	if (c->chunked)
		evbuffer_add_printf(out, "%x\r\n", (unsigned)len);
	evbuffer_add(out, s, len);
	if (c->chunked)
		evbuffer_add(out, "\r\n", 2);
}

void
events_serve(struct events *e, struct evhttp_request *req, struct server_conn *conn)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct events_client	*c;
	char			 hello[128];

	if (e->nclients >= EVENTS_MAX_STREAMS) {
		server_error(e->srv, req, 503, "too many event streams: %u open, "
		    "limit %d", e->nclients, EVENTS_MAX_STREAMS);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->e = e;
	c->conn = conn;
	c->req = req;
	server_conn_addr(conn, c->addr, sizeof(c->addr));
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	c->chunked = server_reply_start(e->srv, req);
	LIST_INSERT_HEAD(&e->clients, c, entry);
	e->nclients++;
	server_conn_hold(conn, req, events_client_gone, c);
	log_debug("api", "events: %s listening", c->addr);
	/* A comment: SSE parsers skip it; it tells the client the stream is live. */
	snprintf(hello, sizeof(hello), ": noded %s events\n\n", e->n->cfg->name);
	events_client_send(c, hello, strlen(hello));
}

/* Sends one event to every client; data (reference taken) gains node and ts_us. */
static void
events_broadcast(struct events *e, const char *type, json_t *data)
{
	struct events_client	*c, *next;
	char			*js, *line;
	size_t			 len;

	json_object_set_new(data, "node", jenc_str(e->n->cfg->name));
	json_object_set_new(data, "ts_us", jenc_u64(now_us()));
	js = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (js == NULL)
		return;
	len = strlen("event: \ndata: \n\n") + strlen(type) + strlen(js);
	line = xmalloc(len + 1);
	snprintf(line, len + 1, "event: %s\ndata: %s\n\n", type, js);
	free(js);
	for (c = LIST_FIRST(&e->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		events_client_send(c, line, len);
	}
	free(line);
}

static void
events_keepalivecb(evutil_socket_t fd, short what, void *arg)
{
	static const char	 ka[] = ": keepalive\n\n";
	struct events		*e = arg;
	struct events_client	*c, *next;

	(void)fd;
	(void)what;
	for (c = LIST_FIRST(&e->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		events_client_send(c, ka, sizeof(ka) - 1);
	}
}

/* A transaction or peer event from the hub. */
static void
events_on_hub(const struct hub_event *ev, void *arg)
{
	struct events	*e = arg;
	json_t		*o;

	if (e->stopping || LIST_EMPTY(&e->clients))
		return;
	switch (ev->topic) {
	case HUB_TX_ACCEPTED:
	case HUB_TX_REJECTED:
		o = json_object();
		json_object_set_new(o, "id", ev->id != NULL ?
		    jenc_hex(ev->id, TX_ID_LEN) : json_null());
		json_object_set_new(o, "from", jenc_str(ev->from != NULL ?
		    ev->from : "?"));
		if (ev->topic == HUB_TX_ACCEPTED)
			json_object_set_new(o, "amount", jenc_u64(ev->amount));
		else
			json_object_set_new(o, "reason", jenc_str(reason_str(
			    ev->reason)));
		events_broadcast(e, ev->topic == HUB_TX_ACCEPTED ? "tx_accepted" :
		    "tx_rejected", o);
		break;
	case HUB_PEER_UP:
	case HUB_PEER_DOWN:
		o = jenc_peer(ev->peer);
		if (ev->topic == HUB_PEER_DOWN)
			json_object_set_new(o, "reason", jenc_str(ev->why != NULL ?
			    ev->why : "closed"));
		events_broadcast(e, ev->topic == HUB_PEER_UP ? "peer_connected" :
		    "peer_disconnected", o);
		break;
	default:
		break;
	}
}

struct events *
events_new(struct node *n, struct server *srv)
{
	struct events	*e = xcalloc(1, sizeof(*e));
	struct timeval	 tv = { EVENTS_KEEPALIVE_S, 0 };
	enum hub_topic	 t;

	e->n = n;
	e->srv = srv;
	LIST_INIT(&e->clients);
	for (t = 0; t < HUB_NTOPICS; t++)
		hub_subscribe(t, events_on_hub, e);
	e->keepalive = event_new(n->base, -1, EV_PERSIST, events_keepalivecb, e);
	event_add(e->keepalive, &tv);
	return e;
}

void
events_shutdown(struct events *e)
{
	struct events_client	*c;

	if (e == NULL || e->stopping)
		return;
	e->stopping = 1;
	while ((c = LIST_FIRST(&e->clients)) != NULL) {
		events_client_unlink(c);
		server_conn_release(c->conn);
		server_reply_end(c->req);
		free(c);
	}
	event_del(e->keepalive);
}

void
events_free(struct events *e)
{
	if (e == NULL)
		return;
	events_shutdown(e);
	hub_unsubscribe(e);
	event_free(e->keepalive);
	free(e);
}

unsigned
events_clients(const struct events *e)
{
	return e->nclients;
}

uint64_t
events_dropped(const struct events *e)
{
	return e->dropped;
}
