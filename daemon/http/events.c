/*
 * events.c: the API's Server-Sent Events stream.  Replies are chunked
 * (HTTP/1.1) or end with the connection; each event is formatted once,
 * kept in the ring and appended straight to every client's output buffer.
 * docs/API.md ("Event ids and resuming") is the contract.  Loop thread only.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "base/budget.h"
#include "base/hub.h"
#include "base/log.h"
#include "http/events.h"
#include "http/jenc.h"
#include "http/server.h"
#include "lib/reason.h"
#include "lib/util.h"
#include "proto/hex.h"
#include "proto/tx.h"

#define EVENTS_RUN_BYTES	8	/* random bytes of a run's id, 16 hex digits */
#define EVENTS_ID_MAX		64	/* an event id as sent: "<run>-<seq>" */
/*
 * Over the events budget (--events-budget), a stream holding more than its
 * share of it (the budget divided among the streams, at least this much) is
 * cut; within the budget, a stream may hold up to EVENTS_MAX_PENDING.
 */
#define EVENTS_SHARE_MIN	(64 * 1024)

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

/* One event as sent ("id: ...\nevent: ...\ndata: ...\n\n"), kept in the ring. */
struct events_item {
	uint64_t	 seq;
	char		*text;
	size_t		 len;
};

struct events {
	struct node		*n;
	struct server		*srv;
	LIST_HEAD(, events_client) clients;
	unsigned		 nclients;
	uint64_t		 dropped;
	int			 stopping;
	struct event		*keepalive;
	char			 run[2 * EVENTS_RUN_BYTES + 1];	/* this run's part of the ids */
	uint64_t		 seq;		/* of the last event */
	struct events_item	 ring[EVENTS_RING_MAX];	/* the last events, oldest at head */
	size_t			 head;
	size_t			 count;
	size_t			 bytes;
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

void
events_account(struct events *e)
{
	struct events_client	*c;
	uint64_t		 sum = 0, used = budgets[BUDGET_EVENTS].used;

	LIST_FOREACH(c, &e->clients, entry)
		sum += evbuffer_get_length(server_conn_output(c->conn));
	if (sum > used)
		budget_add(BUDGET_EVENTS, sum - used);
	else if (sum < used)
		budget_sub(e->n->base, BUDGET_EVENTS, used - sum);
}

/* Cuts c off now: what is queued for it is thrown away. */
static void
events_client_drop(struct events_client *c, const char *why)
{
	struct server_conn	*conn = c->conn;

	log_warn("api", "events: dropping %s: %s", c->addr, why);
	budget_sub(c->e->n->base, BUDGET_EVENTS,
	    evbuffer_get_length(server_conn_output(conn)));
	budgets[BUDGET_EVENTS].cuts++;
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
 * Returns 0, or -1 when c was dropped (and freed).
 */
static int
events_client_send(struct events_client *c, const char *s, size_t len)
{
	struct evbuffer	*out = server_conn_output(c->conn);
	size_t		 queued = evbuffer_get_length(out), share, floor;
	uint64_t	 limit = budgets[BUDGET_EVENTS].limit;
	char		 why[200];

	if (queued + len > EVENTS_MAX_PENDING) {
		snprintf(why, sizeof(why), "slow reader: %zu bytes unsent, limit %d",
		    queued, EVENTS_MAX_PENDING);
		events_client_drop(c, why);
		return -1;
	}
	floor = limit < EVENTS_SHARE_MIN ? (size_t)limit : EVENTS_SHARE_MIN;
	share = (size_t)(limit / (c->e->nclients > 0 ? c->e->nclients : 1));
	if (share < floor)
		share = floor;
	if (budgets[BUDGET_EVENTS].used + len > limit && queued + len > share) {
		snprintf(why, sizeof(why), "slow reader: %zu bytes unsent, over its "
		    "share (%zu) of the events budget, which the streams have "
		    "spent (%" PRIu64 " bytes, --events-budget)", queued, share,
		    limit);
		events_client_drop(c, why);
		return -1;
	}
	if (c->chunked)
		evbuffer_add_printf(out, "%x\r\n", (unsigned)len);
	evbuffer_add(out, s, len);
	if (c->chunked)
		evbuffer_add(out, "\r\n", 2);
	budget_add(BUDGET_EVENTS, evbuffer_get_length(out) - queued);
	return 0;
}

/* Keeps an event (text taken) in the ring, forgetting the oldest beyond its bounds. */
static void
events_ring_push(struct events *e, uint64_t seq, char *text, size_t len)
{
	struct events_item	*it;

	while (e->count > 0 && (e->count == EVENTS_RING_MAX ||
	    e->bytes + len > EVENTS_RING_BYTES)) {
		it = &e->ring[e->head];
		e->bytes -= it->len;
		free(it->text);
		it->text = NULL;
		e->head = (e->head + 1) % EVENTS_RING_MAX;
		e->count--;
	}
	it = &e->ring[(e->head + e->count) % EVENTS_RING_MAX];
	it->seq = seq;
	it->text = text;
	it->len = len;
	e->count++;
	e->bytes += len;
}

/* The seq of the oldest event kept; the next one's when none is. */
static uint64_t
events_ring_oldest(const struct events *e)
{
	return e->count > 0 ? e->ring[e->head].seq : e->seq + 1;
}

/*
 * Parses an event id of this run, "<run>-<seq>", into *seq.  Returns NULL,
 * or the code of why it cannot be resumed from.
 */
static const char *
events_id_parse(const struct events *e, const char *id, uint64_t *seq)
{
	const char	*dash = strchr(id, '-'), *p;
	uint64_t	 n = 0;

	if (dash == NULL || (size_t)(dash - id) != 2 * EVENTS_RUN_BYTES ||
	    dash[1] == '\0')
		return "bad_id";
	for (p = id; p < dash; p++) {
		if (hex_nibble(*p) == -1)
			return "bad_id";
	}
	for (p = dash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
			return "bad_id";
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (strncasecmp(id, e->run, 2 * EVENTS_RUN_BYTES) != 0)
		return "other_run";
	if (n > e->seq)
		return "bad_id";
	if (n + 1 < events_ring_oldest(e))
		return "too_old";
	*seq = n;
	return NULL;
}

/*
 * The first event of a stream that asked to resume after an id it cannot
 * have: what was missed is lost.  Its id is the last event's, so that a
 * client that reconnects again resumes after it.
 */
static void
events_client_reset(struct events_client *c, const char *given,
    const char *code)
{
	struct events	*e = c->e;
	char		 why[256], *js, *text;
	json_t		*o;
	size_t		 len;

	if (strcmp(code, "other_run") == 0)
		snprintf(why, sizeof(why), "event ids of another run of the node "
		    "(it restarted): the events in between are lost");
	else if (strcmp(code, "too_old") == 0)
		snprintf(why, sizeof(why), "the events after it are no longer all "
		    "kept (the node keeps the last %d, at most %d bytes): some are "
		    "lost", EVENTS_RING_MAX, EVENTS_RING_BYTES);
	else
		snprintf(why, sizeof(why), "not an event id of this node: events "
		    "may have been lost");
	o = json_object();
	json_object_set_new(o, "code", json_string(code));
	json_object_set_new(o, "reason", json_string(why));
	json_object_set_new(o, "last_event_id", jenc_str(given));
	json_object_set_new(o, "node", jenc_str(e->n->cfg->name));
	json_object_set_new(o, "ts_us", jenc_u64(now_us()));
	js = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (js == NULL)
		return;
	len = strlen(js) + 128;
	text = xmalloc(len);
	len = (size_t)snprintf(text, len, "id: %s-%" PRIu64 "\nevent: reset\n"
	    "data: %s\n\n", e->run, e->seq, js);
	free(js);
	log_info("api", "events: %s resumes after '%.80s': %s", c->addr, given,
	    code);
	(void)events_client_send(c, text, len);
	free(text);
}

/* Sends c what it missed after last (a Last-Event-ID), or a reset event. */
static void
events_client_resume(struct events_client *c, const char *last)
{
	struct events		*e = c->e;
	struct events_item	*it;
	const char		*code;
	uint64_t		 seq = 0;
	size_t			 i;

	if ((code = events_id_parse(e, last, &seq)) != NULL) {
		events_client_reset(c, last, code);
		return;
	}
	log_debug("api", "events: %s resumes after %s: %" PRIu64 " events",
	    c->addr, last, e->seq - seq);
	/* The ring's bytes fit a stream's bound: c is not dropped here. */
	for (i = (size_t)(seq + 1 - events_ring_oldest(e)); i < e->count; i++) {
		it = &e->ring[(e->head + i) % EVENTS_RING_MAX];
		if (events_client_send(c, it->text, it->len) == -1)
			return;
	}
}

void
events_serve(struct events *e, struct evhttp_request *req, struct server_conn *conn)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct events_client	*c;
	const char		*last;
	char			 hello[256], given[EVENTS_ID_MAX + 1];

	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* The GET's head: its stream is chunked (HTTP/1.1 clients). */
		evhttp_add_header(h, "X-Accel-Buffering", "no");
		evhttp_add_header(h, "Transfer-Encoding", "chunked");
		server_reply(e->srv, req, 200, "text/event-stream", "", 0);
		return;
	}
	if (e->nclients >= EVENTS_MAX_STREAMS) {
		server_error_code(e->srv, req, 503, "too_many_streams",
		    "too many event streams: %u open, limit %d", e->nclients,
		    EVENTS_MAX_STREAMS);
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
	last = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Last-Event-ID");
	/*
	 * A comment: SSE parsers skip it; it tells the client the stream is
	 * live.  A fresh stream's first block also sets the client's last
	 * event id (the latest event's), so that it can resume from here.
	 */
	if (last == NULL)
		snprintf(hello, sizeof(hello), ": noded %s events\nid: %s-%" PRIu64
		    "\n\n", e->n->cfg->name, e->run, e->seq);
	else
		snprintf(hello, sizeof(hello), ": noded %s events\n\n",
		    e->n->cfg->name);
	events_account(e);
	if (events_client_send(c, hello, strlen(hello)) == -1)
		return;
	if (last != NULL) {
		snprintf(given, sizeof(given), "%s", last);
		events_client_resume(c, given);
	}
}

/*
 * Starts an event's text in b: its id, type and the data object's opening
 * brace; events_emit ends it.
 */
static void
events_begin(struct events *e, struct jenc_buf *b, const char *type)
{
	memset(b, 0, sizeof(*b));
	e->seq++;
	jenc_buf_printf(b, "id: %s-%" PRIu64 "\nevent: %s\ndata: {", e->run,
	    e->seq, type);
}

/*
 * Ends the event in b (its data gains node and ts_us), sends it to every
 * client and keeps it in the ring, which takes b's text.
 */
static void
events_emit(struct events *e, struct jenc_buf *b)
{
	struct events_client	*c, *next;

	jenc_buf_add(b, ",\"node\":", 8);
	jenc_buf_str(b, e->n->cfg->name);
	jenc_buf_add(b, ",\"ts_us\":", 9);
	jenc_buf_u64(b, now_us());
	jenc_buf_add(b, "}\n\n", 3);
	events_account(e);
	for (c = LIST_FIRST(&e->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		(void)events_client_send(c, b->p, b->len);
	}
	events_ring_push(e, e->seq, b->p, b->len);
}

/* A peer's fields, as jenc_peer's object. */
static void
events_peer(struct jenc_buf *b, const struct peer_info *p)
{
	jenc_buf_add(b, "\"node_id\":", 10);
	jenc_buf_str(b, p->node_id);
	jenc_buf_add(b, ",\"name\":", 8);
	jenc_buf_str(b, p->name);
	jenc_buf_add(b, ",\"addr\":", 8);
	jenc_buf_str(b, p->addr);
	jenc_buf_printf(b, ",\"direction\":\"%s\"", p->outbound ? "outbound" :
	    "inbound");
}

static void
events_keepalivecb(evutil_socket_t fd, short what, void *arg)
{
	static const char	 ka[] = ": keepalive\n\n";
	struct events		*e = arg;
	struct events_client	*c, *next;

	(void)fd;
	(void)what;
	events_account(e);
	for (c = LIST_FIRST(&e->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		events_client_send(c, ka, sizeof(ka) - 1);
	}
}

/*
 * A transaction or peer event from the hub.  Each is written straight as
 * text (jenc_buf): it is kept in the ring even when no client listens, so
 * this runs for every transaction and must cost little.
 */
static void
events_on_hub(const struct hub_event *ev, void *arg)
{
	struct events	*e = arg;
	struct jenc_buf	 b;

	if (e->stopping)
		return;
	switch (ev->topic) {
	case HUB_TX_ACCEPTED:
	case HUB_TX_REJECTED:
		events_begin(e, &b, ev->topic == HUB_TX_ACCEPTED ? "tx_accepted" :
		    "tx_rejected");
		jenc_buf_add(&b, "\"id\":", 5);
		if (ev->id != NULL)
			jenc_buf_hex(&b, ev->id, TX_ID_LEN);
		else
			jenc_buf_add(&b, "null", 4);
		jenc_buf_add(&b, ",\"from\":", 8);
		jenc_buf_str(&b, ev->from != NULL ? ev->from : "?");
		if (ev->topic == HUB_TX_ACCEPTED) {
			jenc_buf_add(&b, ",\"amount\":", 10);
			jenc_buf_u64(&b, ev->amount);
		} else {
			jenc_buf_add(&b, ",\"reason\":", 10);
			jenc_buf_str(&b, reason_str(ev->reason));
			jenc_buf_printf(&b, ",\"code\":\"%s\"", reason_code(
			    ev->reason));
		}
		events_emit(e, &b);
		break;
	case HUB_TX_REPLACED:
		events_begin(e, &b, "tx_replaced");
		jenc_buf_add(&b, "\"id\":", 5);
		jenc_buf_hex(&b, ev->id, TX_ID_LEN);
		jenc_buf_add(&b, ",\"replaced\":", 12);
		jenc_buf_hex(&b, ev->replaced, TX_ID_LEN);
		jenc_buf_add(&b, ",\"from\":", 8);
		jenc_buf_str(&b, ev->from != NULL ? ev->from : "?");
		events_emit(e, &b);
		break;
	case HUB_PEER_UP:
	case HUB_PEER_DOWN:
		events_begin(e, &b, ev->topic == HUB_PEER_UP ? "peer_connected" :
		    "peer_disconnected");
		events_peer(&b, ev->peer);
		if (ev->topic == HUB_PEER_DOWN) {
			jenc_buf_add(&b, ",\"reason\":", 10);
			jenc_buf_str(&b, ev->why != NULL ? ev->why : "closed");
		}
		events_emit(e, &b);
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
	uint8_t		 run[EVENTS_RUN_BYTES];
	enum hub_topic	 t;

	e->n = n;
	e->srv = srv;
	/* Random, not the start time: two runs never share ids. */
	randombytes_buf(run, sizeof(run));
	hex_encode(e->run, run, sizeof(run));
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
	while (e->count > 0) {
		free(e->ring[e->head].text);
		e->head = (e->head + 1) % EVENTS_RING_MAX;
		e->count--;
	}
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
