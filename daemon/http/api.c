/*
 * api.c: the HTTP control API (docs/API.md is the contract).
 *
 * evhttp parses requests; every body in and out goes through jansson.  A
 * POST /v1/tx stays pending until gossip has a verdict for each of its
 * transactions: the request is kept in a list, and the connection's close
 * callback cancels the outstanding verdicts if the client goes away first.
 * GET /v1/events streams Server-Sent Events with chunked replies; each
 * event is formatted once and appended straight to every client's output
 * buffer (packed, so bytes pending are the memory held), and a client whose
 * connection holds more than API_SSE_MAX_PENDING unsent bytes is dropped,
 * so a slow reader costs bounded memory.
 *
 * The API owns its listener (evhttp_bind_listener) to survive running out of
 * descriptors, and tracks every connection (struct api_conn, found through
 * evhttp_set_bevcb) to cap their number and to close one that does not send
 * a whole request in time.  Loop thread only.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <sodium.h>

#include "proto/hex.h"
#include "proto/tx.h"
#include "http/api.h"
#include "base/config.h"
#include "base/log.h"
#include "core/mempool.h"
#include "http/metrics.h"
#include "base/node.h"
#include "lib/util.h"
#include "core/validator.h"
#include "version.h"

#ifndef NODED_VERSION
#define NODED_VERSION	"0.1.0"
#endif

/*
 * evhttp answers bodies above its own limit itself, with an HTML page; up
 * to this size the API reads the body and answers 413 in JSON.
 */
#ifndef API_HTTP_MAX_BODY
#define API_HTTP_MAX_BODY	(4 * API_MAX_BODY)
#endif
#define API_MAX_HEADERS		(16 * 1024)
#ifndef API_TIMEOUT_S
#define API_TIMEOUT_S		60	/* no byte read or written */
#endif
#ifndef API_REQUEST_S
#define API_REQUEST_S		20	/* to send a whole request, once idle */
#endif
#ifndef API_KEEPALIVE_S
#define API_KEEPALIVE_S		15	/* SSE comment to idle streams */
#endif
#define API_ACCEPT_PAUSE_S	1	/* listener rest after accept(2) failed */
#define API_ACCEPT_QUIET_S	10	/* without a failure: the episode is over */
#define API_BACKLOG		128
#define API_TOKEN_MAX		4096
#define API_TOKEN_FILE_MAX	(API_TOKEN_MAX + 256)	/* blanks around it */
#define API_MEMPOOL_LIMIT	100
#define API_MEMPOOL_LIMIT_MAX	10000

struct api_txreq;
struct api_client;

/*
 * One connection, from the accept (evhttp_set_bevcb hands us its new
 * bufferevent) to its close (evhttp_connection_set_closecb).  evhttp has no
 * hook between the two that names the connection, so a fresh one waits on
 * a->fresh until api_conn_attach finds its evhttp_connection, which is
 * before anything is read from it.
 */
struct api_conn {
	TAILQ_ENTRY(api_conn) entry;
	struct api		*api;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;	/* NULL while fresh */
	struct event		*deadline;	/* for a whole request */
	struct api_txreq	*txreq;		/* a pending POST /v1/tx */
	struct api_client	*client;	/* an event stream */
};
TAILQ_HEAD(api_conn_list, api_conn);

/* One GET /v1/events stream. */
struct api_client {
	LIST_ENTRY(api_client) entry;
	struct api		*api;
	struct api_conn		*conn;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	struct event		*watch;		/* EOF from the client */
	int			 chunked;	/* HTTP/1.1: chunk framing is ours */
	char			 addr[80];
};
LIST_HEAD(api_client_list, api_client);

/* One transaction of a POST /v1/tx: the gossip callback's argument. */
struct api_txslot {
	struct api_txreq	*r;
	int			 done;
	uint8_t			 id[TX_ID_LEN];	/* to cancel while not done */
	struct gossip_verdict	 v;
};

/* A POST /v1/tx waiting for its verdicts. */
struct api_txreq {
	LIST_ENTRY(api_txreq) entry;
	struct api		*api;
	struct api_conn		*conn;
	struct evhttp_request	*req;
	struct evhttp_connection *evcon;
	struct event		*watch;		/* EOF from the client */
	int			 batch;
	int			 submitting;	/* verdicts may arrive inside gossip_submit */
	int			 listed;
	size_t			 pending;
	size_t			 n;
	struct api_txslot	 slots[];
};
LIST_HEAD(api_txreq_list, api_txreq);

struct api {
	struct node		*n;
	struct evhttp		*http;
	struct evconnlistener	*lis;		/* owned by http once bound */
	uint16_t		 port;
	int			 stopping;
	int			 have_token;
	uint8_t			 token_hash[crypto_generichash_BYTES];
	struct api_conn_list	 conns;
	struct api_conn_list	 fresh;		/* accepted, not attached yet */
	struct event		*attach;	/* runs api_conn_attach */
	unsigned		 nconns;
	int			 capped;	/* at API_MAX_CONNS: closing new ones */
	uint64_t		 refused;	/* in this capped episode */
	struct event		*resume;	/* re-enables lis after a pause */
	int			 accept_failing;	/* in an episode of failed accept(2) */
	uint64_t		 accept_failures;	/* in this episode */
	uint64_t		 accept_failed_ns;	/* the last one, mono_ns() */
	struct api_client_list	 clients;
	struct api_txreq_list	 txreqs;
	unsigned		 nclients;
	unsigned		 ntxreqs;
	struct event		*keepalive;
	struct evbuffer		*scratch;
	struct api_stats	 st;
};

/*
 * evhttp_bind_listener makes the evhttp the listener's callback argument,
 * the error callback's too, so that callback finds the API here.  There is
 * one API per process.
 */
static struct api	*api_listening;

/* Routes: a path (or a prefix followed by one segment) and its methods. */
enum api_route {
	ROUTE_TX = 0,
	ROUTE_TX_ID,
	ROUTE_MEMPOOL,
	ROUTE_STATUS,
	ROUTE_PEERS,
	ROUTE_PEER_ID,
	ROUTE_EVENTS,
	ROUTE_METRICS,
	ROUTE_NONE
};

static const struct {
	const char	*path;
	int		 prefix;	/* path + "<segment>" */
	int		 methods;
	const char	*allow;
} api_routes[] = {
	[ROUTE_TX] = { "/v1/tx", 0, EVHTTP_REQ_POST, "POST" },
	[ROUTE_TX_ID] = { "/v1/tx/", 1, EVHTTP_REQ_GET, "GET" },
	[ROUTE_MEMPOOL] = { "/v1/mempool", 0, EVHTTP_REQ_GET, "GET" },
	[ROUTE_STATUS] = { "/v1/status", 0, EVHTTP_REQ_GET, "GET" },
	[ROUTE_PEERS] = { "/v1/peers", 0, EVHTTP_REQ_GET | EVHTTP_REQ_POST,
	    "GET, POST" },
	[ROUTE_PEER_ID] = { "/v1/peers/", 1, EVHTTP_REQ_DELETE, "DELETE" },
	[ROUTE_EVENTS] = { "/v1/events", 0, EVHTTP_REQ_GET, "GET" },
	[ROUTE_METRICS] = { "/metrics", 0, EVHTTP_REQ_GET, "GET" },
};

static void	api_client_drop(struct api_client *, const char *);

static const char *
api_method_str(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

static const char *
api_status_str(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

/* A JSON string of s; bytes that are not UTF-8 become '?' (jansson refuses them). */
static json_t *
api_jstr(const char *s)
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

/* jansson integers are signed 64-bit: larger values go as decimal strings. */
static json_t *
api_ju64(uint64_t v)
{
	char	buf[24];

	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *
api_jhex(const uint8_t *p, size_t len)
{
	char	*buf;
	json_t	*j;

	buf = xmalloc(2 * len + 1);
	hex_encode(buf, p, len);
	j = json_string(buf);
	free(buf);
	return j;
}

static void
api_conn_addr(struct evhttp_connection *evcon, char *out, size_t outlen)
{
	char		*host = NULL;
	ev_uint16_t	 port = 0;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &host, &port);
	if (host == NULL)
		snprintf(out, outlen, "?");
	else if (strchr(host, ':') != NULL)
		snprintf(out, outlen, "[%s]:%u", host, (unsigned)port);
	else
		snprintf(out, outlen, "%s:%u", host, (unsigned)port);
}

/* Sends body (text, len bytes) with the given status and content type. */
static void
api_send(struct api *a, struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf = a->scratch;

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_drain(buf, evbuffer_get_length(buf));
	evbuffer_add(buf, body, len);
	log_debug("api", "%s %s: %d", api_method_str(
	    evhttp_request_get_command(req)), evhttp_request_get_uri(req), code);
	a->st.requests++;
	evhttp_send_reply(req, code, api_status_str(code), buf);
}

/* Sends j (reference taken) as the JSON body. */
static void
api_send_json(struct api *a, struct evhttp_request *req, int code, json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL) {
		static const char oom[] = "{\"error\":\"cannot encode the answer\"}\n";

		api_send(a, req, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	/* A newline makes curl output and line-based clients happy. */
	s = xrealloc(s, strlen(s) + 2);
	strcat(s, "\n");
	api_send(a, req, code, "application/json", s, strlen(s));
	free(s);
}

static void __attribute__((format(printf, 4, 5)))
api_error(struct api *a, struct evhttp_request *req, int code,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_send_json(a, req, code, json_pack("{s:o}", "error", api_jstr(msg)));
}

/* Parses the request body as a JSON object; answers 400/413 itself and returns NULL. */
static json_t *
api_body_object(struct api *a, struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 len = evbuffer_get_length(in);
	json_error_t	 jerr;
	json_t		*j;
	const char	*p;

	if (len > API_MAX_BODY) {
		api_error(a, req, 413, "request body of %zu bytes is over the "
		    "limit of %d bytes", len, API_MAX_BODY);
		return NULL;
	}
	if (len == 0) {
		api_error(a, req, 400, "empty body: expected a JSON object");
		return NULL;
	}
	p = (const char *)evbuffer_pullup(in, -1);
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		api_error(a, req, 400, "bad JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		api_error(a, req, 400, "bad JSON: expected an object");
		return NULL;
	}
	return j;
}

/* Refuses fields other than those listed (NULL-terminated); answers 400 itself. */
static int
api_only_fields(struct api *a, struct evhttp_request *req, json_t *o,
    const char *const *allowed)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, key, v) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL) {
			api_error(a, req, 400, "unknown field '%s'", key);
			return -1;
		}
	}
	return 0;
}

/* Reads a 64-hex-digit id from s; -1 if it is not one. */
static int
api_parse_id(const char *s, uint8_t id[TX_ID_LEN])
{
	return hex_decode(id, TX_ID_LEN, s, strlen(s));
}

/*
 * evhttp stops reading a connection once it has the whole request, so it
 * does not notice a client that leaves while its answer is pending (a POST
 * /v1/tx waiting for verdicts, an event stream between events).  A read
 * event of our own on the socket does: recv(MSG_PEEK) reading 0 bytes is
 * the client's FIN.  Bytes (a pipelined request) end the watch; evhttp
 * reads them after the answer.  A client that half-closes its side while
 * waiting counts as gone.
 */
static struct event *
api_watch_new(struct api *a, struct evhttp_connection *evcon,
    event_callback_fn cb, void *arg)
{
	struct bufferevent	*bev;
	struct event		*ev;
	evutil_socket_t		 fd;

	if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) ==
	    NULL || (fd = bufferevent_getfd(bev)) < 0)
		return NULL;
	if ((ev = event_new(a->n->base, fd, EV_READ, cb, arg)) == NULL)
		return NULL;
	event_add(ev, NULL);
	return ev;
}

/* Returns 1 if the peer of fd has closed; otherwise 0, watching on if nothing came. */
static int
api_watch_gone(evutil_socket_t fd, struct event *ev)
{
	ssize_t	n;
	char	c;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return 0;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		event_add(ev, NULL);
		return 0;
	}
	return 1;
}

/*
 * After the connection went down under a pending request, evhttp has
 * detached the request and left it to us (see evhttp_connection_fail_)
 * unless it frees it itself with the connection.
 */
static void
api_req_orphan_free(struct evhttp_request *req)
{
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

/* --- POST /v1/tx ------------------------------------------------------ */

static json_t *
api_verdict_json(const struct gossip_verdict *v)
{
	json_t	*o = json_object();

	if (v->have_id)
		json_object_set_new(o, "id", api_jhex(v->id, TX_ID_LEN));
	if (v->status == GOSSIP_REJECTED) {
		json_object_set_new(o, "status", json_string("rejected"));
		json_object_set_new(o, "reason", api_jstr(v->reason != NULL ?
		    v->reason : "rejected"));
		json_object_set_new(o, "message", api_jstr(v->msg[0] != '\0' ?
		    v->msg : (v->reason != NULL ? v->reason : "rejected")));
	} else {
		json_object_set_new(o, "status", json_string("accepted"));
		if (v->status == GOSSIP_DUPLICATE)
			json_object_set_new(o, "duplicate", json_true());
	}
	return o;
}

static void
api_txreq_unlink(struct api_txreq *r)
{
	if (r->listed) {
		LIST_REMOVE(r, entry);
		r->listed = 0;
		r->api->ntxreqs--;
	}
	if (r->watch != NULL) {
		event_free(r->watch);
		r->watch = NULL;
	}
	if (r->conn != NULL) {
		r->conn->txreq = NULL;
		r->conn = NULL;
	}
}

/* Forgets the verdicts still outstanding. */
static void
api_txreq_cancel(struct api_txreq *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++) {
		if (!r->slots[i].done) {
			gossip_cancel(r->api->n, r->slots[i].id, &r->slots[i]);
			r->slots[i].done = 1;
		}
	}
	r->pending = 0;
}

/* Every verdict is in: answers and frees r. */
static void
api_txreq_finish(struct api_txreq *r)
{
	struct api	*a = r->api;
	json_t		*res, *o;
	size_t		 i, acc = 0, rej = 0;
	int		 code;

	api_txreq_unlink(r);
	if (!r->batch) {
		code = r->slots[0].v.status == GOSSIP_REJECTED ? 422 : 200;
		api_send_json(a, r->req, code, api_verdict_json(&r->slots[0].v));
	} else {
		res = json_array();
		for (i = 0; i < r->n; i++) {
			if (r->slots[i].v.status == GOSSIP_REJECTED)
				rej++;
			else
				acc++;
			json_array_append_new(res, api_verdict_json(&r->slots[i].v));
		}
		o = json_object();
		json_object_set_new(o, "results", res);
		json_object_set_new(o, "accepted", json_integer((json_int_t)acc));
		json_object_set_new(o, "rejected", json_integer((json_int_t)rej));
		api_send_json(a, r->req, 200, o);
	}
	free(r);
}

static void
api_tx_verdict(const struct gossip_verdict *v, void *arg)
{
	struct api_txslot	*s = arg;
	struct api_txreq	*r = s->r;

	if (s->done)
		return;
	s->v = *v;
	s->done = 1;
	r->pending--;
	if (r->pending == 0 && !r->submitting)
		api_txreq_finish(r);
}

/* evhttp is freeing the connection under a pending POST /v1/tx. */
static void
api_txreq_gone(struct api_txreq *r)
{
	log_debug("api", "POST /v1/tx: connection closed before %zu of %zu "
	    "verdicts", r->pending, r->n);
	r->evcon = NULL;
	api_txreq_unlink(r);
	api_txreq_cancel(r);
	api_req_orphan_free(r->req);
	free(r);
}

/* The client left before its verdicts: forget them, close the connection. */
static void
api_tx_watchcb(evutil_socket_t fd, short what, void *arg)
{
	struct api_txreq		*r = arg;
	struct evhttp_connection	*evcon = r->evcon;

	(void)what;
	if (!api_watch_gone(fd, r->watch))
		return;
	log_debug("api", "POST /v1/tx: client left before %zu of %zu verdicts",
	    r->pending, r->n);
	api_txreq_unlink(r);
	api_txreq_cancel(r);
	free(r);
	/* Frees the request too: it is still attached. */
	evhttp_connection_free(evcon);
}

/*
 * Checks that v is a non-empty hex string; sets *len to its length.  Returns
 * NULL or what is wrong.
 */
static const char *
api_check_hex(json_t *v, size_t *len)
{
	const char	*s;
	size_t		 i, n;

	if (!json_is_string(v))
		return "expected a hex string";
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return "empty";
	if (n % 2 != 0)
		return "bad hex: odd number of digits";
	for (i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return "bad hex: not a hex digit";
	}
	*len = n;
	return NULL;
}

static void
api_tx_post(struct api *a, struct evhttp_request *req, struct api_conn *conn)
{
	static const char *const fields[] = { "tx", "txs", NULL };
	struct api_txreq	*r;
	json_t			*body, *tx, *txs, *item;
	const char		*why;
	uint8_t			*raw;
	size_t			 i, count, len, maxlen = 0;
	int			 failed = 0;

	if ((body = api_body_object(a, req)) == NULL)
		return;
	if (api_only_fields(a, req, body, fields) == -1)
		goto out;
	tx = json_object_get(body, "tx");
	txs = json_object_get(body, "txs");
	if ((tx == NULL) == (txs == NULL)) {
		api_error(a, req, 400, "expected {\"tx\": \"<hex>\"} or "
		    "{\"txs\": [\"<hex>\", ...]}");
		goto out;
	}
	if (tx != NULL) {
		if ((why = api_check_hex(tx, &len)) != NULL) {
			api_error(a, req, 400, "tx: %s", why);
			goto out;
		}
		count = 1;
		maxlen = len;
	} else {
		if (!json_is_array(txs)) {
			api_error(a, req, 400, "txs: expected an array of hex strings");
			goto out;
		}
		count = json_array_size(txs);
		if (count == 0 || count > API_MAX_BATCH) {
			api_error(a, req, 400, "txs: %zu transactions, expected 1 to %d",
			    count, API_MAX_BATCH);
			goto out;
		}
		json_array_foreach(txs, i, item) {
			if ((why = api_check_hex(item, &len)) != NULL) {
				api_error(a, req, 400, "txs[%zu]: %s", i, why);
				goto out;
			}
			if (len > maxlen)
				maxlen = len;
		}
	}

	r = xcalloc(1, sizeof(*r) + count * sizeof(r->slots[0]));
	r->api = a;
	r->req = req;
	r->evcon = evhttp_request_get_connection(req);
	r->batch = txs != NULL;
	r->n = count;
	raw = xmalloc(maxlen / 2);
	r->submitting = 1;
	for (i = 0; i < count; i++) {
		item = tx != NULL ? tx : json_array_get(txs, i);
		len = json_string_length(item);
		(void)hex_decode(raw, len / 2, json_string_value(item), len);
		r->slots[i].r = r;
		r->pending++;
		if (gossip_submit(a->n, raw, len / 2, api_tx_verdict,
		    &r->slots[i], r->slots[i].id) == -1) {
			r->pending--;
			r->slots[i].done = 1;
			failed = 1;
			break;
		}
	}
	r->submitting = 0;
	free(raw);
	if (failed) {
		api_txreq_cancel(r);
		free(r);
		api_error(a, req, 503, "node is shutting down");
		goto out;
	}
	if (r->pending == 0) {
		api_txreq_finish(r);
		goto out;
	}
	LIST_INSERT_HEAD(&a->txreqs, r, entry);
	r->listed = 1;
	a->ntxreqs++;
	r->conn = conn;
	conn->txreq = r;
	r->watch = api_watch_new(a, r->evcon, api_tx_watchcb, r);
out:
	json_decref(body);
}

/* --- GET /v1/tx/<id> -------------------------------------------------- */

static void
api_tx_get(struct api *a, struct evhttp_request *req, const char *idhex)
{
	const struct mempool_entry	*e;
	struct tx			 t;
	uint8_t				 id[TX_ID_LEN];
	json_t				*o, *memo;

	if (api_parse_id(idhex, id) == -1) {
		api_error(a, req, 400, "bad transaction id '%.80s': expected %d hex "
		    "digits", idhex, TX_ID_HEX_LEN);
		return;
	}
	if (a->n->mempool == NULL ||
	    (e = mempool_get(a->n->mempool, id)) == NULL) {
		api_error(a, req, 404, "transaction not found");
		return;
	}
	if (tx_decode(&t, e->raw, e->len) != TX_OK) {
		/* The mempool holds only transactions that decoded. */
		api_error(a, req, 500, "stored transaction does not decode");
		return;
	}
	memo = json_stringn((const char *)t.memo, t.memo_len);
	o = json_object();
	json_object_set_new(o, "id", api_jhex(id, TX_ID_LEN));
	json_object_set_new(o, "version", json_integer(t.version));
	json_object_set_new(o, "network", api_jhex(t.netid, TX_NETID_LEN));
	json_object_set_new(o, "sender", api_jhex(t.sender, TX_PK_LEN));
	json_object_set_new(o, "recipient", api_jhex(t.recipient, TX_PK_LEN));
	json_object_set_new(o, "amount", api_ju64(t.amount));
	json_object_set_new(o, "nonce", api_ju64(t.nonce));
	json_object_set_new(o, "timestamp_ms", api_ju64(t.timestamp_ms));
	json_object_set_new(o, "memo", memo != NULL ? memo : json_null());
	json_object_set_new(o, "memo_hex", api_jhex(t.memo, t.memo_len));
	json_object_set_new(o, "signature", api_jhex(t.sig, TX_SIG_LEN));
	json_object_set_new(o, "size", json_integer(e->len));
	json_object_set_new(o, "added_ms", api_ju64(e->added_ms));
	json_object_set_new(o, "raw", api_jhex(e->raw, e->len));
	api_send_json(a, req, 200, o);
}

/* --- GET /v1/mempool -------------------------------------------------- */

struct api_walk {
	json_t		*ids;
	size_t		 limit;
	size_t		 seen;
	int		 more;
	uint8_t		 last[TX_ID_LEN];
};

static int
api_mempool_one(const struct mempool_entry *e, void *arg)
{
	struct api_walk	*w = arg;

	if (w->seen == w->limit) {
		w->more = 1;
		return 1;
	}
	json_array_append_new(w->ids, api_jhex(e->id, TX_ID_LEN));
	memcpy(w->last, e->id, TX_ID_LEN);
	w->seen++;
	return 0;
}

static void
api_mempool_get(struct api *a, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq	 q;
	struct evkeyval		*kv;
	struct api_walk		 w;
	uint8_t			 after[TX_ID_LEN];
	int			 have_after = 0;
	uint64_t		 limit = API_MEMPOOL_LIMIT;
	char			*end;
	json_t			*o;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		api_error(a, req, 400, "malformed query string");
		return;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "limit") == 0) {
			errno = 0;
			limit = strtoull(kv->value, &end, 10);
			if (kv->value[0] < '0' || kv->value[0] > '9' || *end != '\0' ||
			    errno != 0 || limit < 1 || limit > API_MEMPOOL_LIMIT_MAX) {
				api_error(a, req, 400, "limit '%.40s': must be 1..%d",
				    kv->value, API_MEMPOOL_LIMIT_MAX);
				goto out;
			}
		} else if (strcmp(kv->key, "after") == 0) {
			if (api_parse_id(kv->value, after) == -1) {
				api_error(a, req, 400, "after '%.80s': expected a "
				    "transaction id (%d hex digits)", kv->value,
				    TX_ID_HEX_LEN);
				goto out;
			}
			have_after = 1;
		} else {
			api_error(a, req, 400, "unknown parameter '%.40s' (expected "
			    "limit, after)", kv->key);
			goto out;
		}
	}
	memset(&w, 0, sizeof(w));
	w.ids = json_array();
	w.limit = (size_t)limit;
	if (a->n->mempool != NULL)
		mempool_walk(a->n->mempool, have_after ? after : NULL, w.limit + 1,
		    api_mempool_one, &w);
	o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)(a->n->mempool !=
	    NULL ? mempool_count(a->n->mempool) : 0)));
	json_object_set_new(o, "txs", w.ids);
	json_object_set_new(o, "next", w.more ? api_jhex(w.last, TX_ID_LEN) :
	    json_null());
	api_send_json(a, req, 200, o);
out:
	evhttp_clear_headers(&q);
}

/* --- GET /v1/status --------------------------------------------------- */

static void
api_status_get(struct api *a, struct evhttp_request *req)
{
	struct node	*n = a->n;
	unsigned	 in = 0, out = 0;
	uint64_t	 now = now_ms();
	char		 listen[CONFIG_HOSTPORT_MAX + 16], api[CONFIG_HOSTPORT_MAX + 16];
	struct addr aa = n->cfg->api, la = n->cfg->listen;
	json_t		*o;

	if (n->net != NULL)
		net_peer_counts(n, &in, &out);
	la.port = net_listen_port(n);
	addr_str(&la, listen, sizeof(listen));
	aa.port = a->port;
	addr_str(&aa, api, sizeof(api));
	o = json_object();
	json_object_set_new(o, "name", api_jstr(n->cfg->name));
	json_object_set_new(o, "node_id", json_string(n->node_id_hex));
	json_object_set_new(o, "network", api_jstr(n->cfg->network));
	json_object_set_new(o, "network_id", api_jhex(n->netid, TX_NETID_LEN));
	json_object_set_new(o, "version", api_jstr(NODED_VERSION));
	json_object_set_new(o, "listen", api_jstr(listen));
	json_object_set_new(o, "api", api_jstr(api));
	json_object_set_new(o, "peers", json_integer(in + out));
	json_object_set_new(o, "peers_inbound", json_integer(in));
	json_object_set_new(o, "peers_outbound", json_integer(out));
	json_object_set_new(o, "mempool_txs", json_integer((json_int_t)
	    (n->mempool != NULL ? mempool_count(n->mempool) : 0)));
	json_object_set_new(o, "mempool_bytes", json_integer((json_int_t)
	    (n->mempool != NULL ? mempool_bytes(n->mempool) : 0)));
	json_object_set_new(o, "uptime_s", json_integer((json_int_t)
	    (now > n->start_ms ? (now - n->start_ms) / 1000 : 0)));
	json_object_set_new(o, "validators", json_integer(n->cfg->validators));
	json_object_set_new(o, "validator_queue_depth", json_integer((json_int_t)
	    (n->validator != NULL ? validator_depth(n->validator) : 0)));
	json_object_set_new(o, "validator_queue_capacity", json_integer(
	    (json_int_t)(n->validator != NULL ? validator_capacity(n->validator) :
	    n->cfg->validator_queue)));
	json_object_set_new(o, "verified", api_ju64(n->validator != NULL ?
	    validator_verified(n->validator) : 0));
	api_send_json(a, req, 200, o);
}

/* --- /v1/peers -------------------------------------------------------- */

static json_t *
api_peer_json(const struct peer_info *p)
{
	json_t	*o = json_object();

	json_object_set_new(o, "node_id", api_jstr(p->node_id));
	json_object_set_new(o, "name", api_jstr(p->name));
	json_object_set_new(o, "addr", api_jstr(p->addr));
	json_object_set_new(o, "direction", json_string(p->outbound ?
	    "outbound" : "inbound"));
	return o;
}

static void
api_peers_one(const struct peer_info *p, void *arg)
{
	json_t	*arr = arg, *o;

	o = api_peer_json(p);
	json_object_set_new(o, "connected_since_ms", api_ju64(p->connected_since_ms));
	json_object_set_new(o, "bytes_sent", api_ju64(p->bytes_sent));
	json_object_set_new(o, "bytes_received", api_ju64(p->bytes_received));
	json_object_set_new(o, "msgs_sent", api_ju64(p->msgs_sent));
	json_object_set_new(o, "msgs_received", api_ju64(p->msgs_received));
	json_object_set_new(o, "last_ping_ms", p->last_ping_ms < 0 ? json_null() :
	    json_integer(p->last_ping_ms));
	json_array_append_new(arr, o);
}

static void
api_peers_get(struct api *a, struct evhttp_request *req)
{
	json_t	*arr = json_array();

	if (a->n->net != NULL)
		net_peers_foreach(a->n, api_peers_one, arr);
	api_send_json(a, req, 200, json_pack("{s:o}", "peers", arr));
}

static void
api_peers_post(struct api *a, struct evhttp_request *req)
{
	static const char *const fields[] = { "addr", NULL };
	struct addr		 ca;
	json_t			*body, *addr;
	const char		*s;
	char			 err[512];

	if ((body = api_body_object(a, req)) == NULL)
		return;
	if (api_only_fields(a, req, body, fields) == -1)
		goto out;
	addr = json_object_get(body, "addr");
	if (!json_is_string(addr)) {
		api_error(a, req, 400, "addr: expected \"host:port\"");
		goto out;
	}
	s = json_string_value(addr);
	if (addr_parse(&ca, s, 0, err, sizeof(err)) == -1) {
		api_error(a, req, 400, "addr %s", err);
		goto out;
	}
	if (ca.port == 0) {
		api_error(a, req, 400, "addr '%s': port must be 1..65535", s);
		goto out;
	}
	if (a->n->net == NULL || net_connect(a->n, s, err, sizeof(err)) == -1) {
		api_error(a, req, 422, "cannot connect to %s: %s", s,
		    a->n->net == NULL ? "networking is not running" : err);
		goto out;
	}
	log_info("api", "connect to %s requested", s);
	api_send_json(a, req, 202, json_pack("{s:o,s:s}", "addr", api_jstr(s),
	    "status", "connecting"));
out:
	json_decref(body);
}

static void
api_peer_delete(struct api *a, struct evhttp_request *req, const char *idhex)
{
	uint8_t	id[TX_PK_LEN];
	char	norm[2 * TX_PK_LEN + 1];

	if (hex_decode(id, sizeof(id), idhex, strlen(idhex)) == -1) {
		api_error(a, req, 400, "bad node id '%.80s': expected %d hex digits",
		    idhex, 2 * TX_PK_LEN);
		return;
	}
	hex_encode(norm, id, sizeof(id));
	if (a->n->net == NULL ||
	    net_disconnect(a->n, norm, "disconnected through the API") == -1) {
		api_error(a, req, 404, "peer not found");
		return;
	}
	log_info("api", "peer %.16s disconnected on request", norm);
	api_send_json(a, req, 200, json_pack("{s:s,s:s}", "node_id", norm,
	    "status", "disconnected"));
}

/* --- GET /metrics ----------------------------------------------------- */

static void
api_metrics_get(struct api *a, struct evhttp_request *req)
{
	struct evbuffer	*buf = evbuffer_new();
	size_t		 len;

	if (buf == NULL) {
		api_error(a, req, 500, "out of memory");
		return;
	}
	metrics_render(a->n, buf);
	len = evbuffer_get_length(buf);
	api_send(a, req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (const char *)evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
}

/* --- GET /v1/events --------------------------------------------------- */

static void
api_client_unlink(struct api_client *c)
{
	if (c->watch != NULL)
		event_free(c->watch);
	c->conn->client = NULL;
	LIST_REMOVE(c, entry);
	c->api->nclients--;
}

/* evhttp is freeing the connection (a write failed, or the server stops). */
static void
api_client_gone(struct api_client *c)
{
	log_debug("api", "events: %s went away", c->addr);
	api_client_unlink(c);
	api_req_orphan_free(c->req);
	free(c);
}

static void
api_client_watchcb(evutil_socket_t fd, short what, void *arg)
{
	struct api_client		*c = arg;
	struct evhttp_connection	*evcon = c->evcon;

	(void)what;
	if (!api_watch_gone(fd, c->watch))
		return;
	log_debug("api", "events: %s left", c->addr);
	api_client_unlink(c);
	free(c);
	evhttp_connection_free(evcon);
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
api_client_send(struct api_client *c, const char *s, size_t len)
{
	struct evbuffer	*out;
	size_t		 queued;
	char		 why[128];

	out = bufferevent_get_output(evhttp_connection_get_bufferevent(c->evcon));
	queued = evbuffer_get_length(out);
	if (queued + len > API_SSE_MAX_PENDING) {
		snprintf(why, sizeof(why), "slow reader: %zu bytes unsent, limit %d",
		    queued, API_SSE_MAX_PENDING);
		api_client_drop(c, why);
		return;
	}
	if (c->chunked)
		evbuffer_add_printf(out, "%x\r\n", (unsigned)len);
	evbuffer_add(out, s, len);
	if (c->chunked)
		evbuffer_add(out, "\r\n", 2);
}

/* Cuts c off now: what is queued for it is thrown away. */
static void
api_client_drop(struct api_client *c, const char *why)
{
	struct evhttp_connection *evcon = c->evcon;

	log_warn("api", "events: dropping %s: %s", c->addr, why);
	c->api->st.event_clients_dropped++;
	api_client_unlink(c);
	free(c);
	/* Frees the request too: it is still attached. */
	evhttp_connection_free(evcon);
}

static void
api_events_get(struct api *a, struct evhttp_request *req, struct api_conn *conn)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct api_client	*c;
	const char		*te;
	char			 hello[128];

	if (a->nclients >= API_MAX_STREAMS) {
		api_error(a, req, 503, "too many event streams: %u open, limit %d",
		    a->nclients, API_MAX_STREAMS);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->api = a;
	c->conn = conn;
	c->req = req;
	c->evcon = conn->evcon;
	api_conn_addr(c->evcon, c->addr, sizeof(c->addr));
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(req, 200, "OK");
	/* evhttp chose chunks (HTTP/1.1) or a body that ends with the connection. */
	te = evhttp_find_header(h, "Transfer-Encoding");
	c->chunked = te != NULL && strcasecmp(te, "chunked") == 0;
	a->st.requests++;
	LIST_INSERT_HEAD(&a->clients, c, entry);
	a->nclients++;
	conn->client = c;
	c->watch = api_watch_new(a, c->evcon, api_client_watchcb, c);
	log_debug("api", "events: %s listening", c->addr);
	/* A comment: SSE parsers skip it; it tells the client the stream is live. */
	snprintf(hello, sizeof(hello), ": noded %s events\n\n", a->n->cfg->name);
	api_client_send(c, hello, strlen(hello));
}

/* Sends one event to every client; data (reference taken) gains node and ts_us. */
static void
api_broadcast(struct api *a, const char *type, json_t *data)
{
	struct api_client	*c, *next;
	char			*js, *line;
	size_t			 len;

	json_object_set_new(data, "node", api_jstr(a->n->cfg->name));
	json_object_set_new(data, "ts_us", api_ju64(now_us()));
	js = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (js == NULL)
		return;
	len = strlen("event: \ndata: \n\n") + strlen(type) + strlen(js);
	line = xmalloc(len + 1);
	snprintf(line, len + 1, "event: %s\ndata: %s\n\n", type, js);
	free(js);
	for (c = LIST_FIRST(&a->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		api_client_send(c, line, len);
	}
	free(line);
}

static void
api_keepalivecb(evutil_socket_t fd, short what, void *arg)
{
	static const char	 ka[] = ": keepalive\n\n";
	struct api		*a = arg;
	struct api_client	*c, *next;

	(void)fd;
	(void)what;
	for (c = LIST_FIRST(&a->clients); c != NULL; c = next) {
		next = LIST_NEXT(c, entry);
		api_client_send(c, ka, sizeof(ka) - 1);
	}
}

void
api_event_tx(struct node *n, int accepted, const uint8_t id[TX_ID_LEN],
    const char *from, uint64_t amount, const char *reason)
{
	struct api	*a = n->api;
	json_t		*o;

	if (a == NULL || a->stopping || LIST_EMPTY(&a->clients))
		return;
	o = json_object();
	json_object_set_new(o, "id", id != NULL ? api_jhex(id, TX_ID_LEN) :
	    json_null());
	json_object_set_new(o, "from", api_jstr(from != NULL ? from : "?"));
	if (accepted)
		json_object_set_new(o, "amount", api_ju64(amount));
	else
		json_object_set_new(o, "reason", api_jstr(reason != NULL ? reason :
		    "rejected"));
	api_broadcast(a, accepted ? "tx_accepted" : "tx_rejected", o);
}

void
api_event_peer(struct node *n, int connected, const struct peer_info *p,
    const char *reason)
{
	struct api	*a = n->api;
	json_t		*o;

	if (a == NULL || a->stopping || LIST_EMPTY(&a->clients))
		return;
	o = api_peer_json(p);
	if (!connected)
		json_object_set_new(o, "reason", api_jstr(reason != NULL ? reason :
		    "closed"));
	api_broadcast(a, connected ? "peer_connected" : "peer_disconnected", o);
}

/* --- connections ------------------------------------------------------ */

static struct api_conn *
api_conn_find(struct api *a, struct evhttp_connection *evcon)
{
	struct api_conn	*ac;

	TAILQ_FOREACH(ac, &a->conns, entry) {
		if (ac->evcon == evcon)
			return ac;
	}
	return NULL;
}

/* The connection did not send a whole request in time: close it. */
static void
api_conn_deadlinecb(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn	*ac = arg;
	char		 addr[80];

	(void)fd;
	(void)what;
	if (ac->txreq != NULL || ac->client != NULL)
		return;
	api_conn_addr(ac->evcon, addr, sizeof(addr));
	log_debug("api", "closing %s: no whole request within %d s", addr,
	    API_REQUEST_S);
	/* api_conn_closecb frees ac. */
	evhttp_connection_free(ac->evcon);
}

/* The answer went out: the connection has API_REQUEST_S for its next request. */
static void
api_req_donecb(struct evhttp_request *req, void *arg)
{
	struct api_conn	*ac = arg;
	struct timeval	 tv = { API_REQUEST_S, 0 };

	(void)req;
	evtimer_add(ac->deadline, &tv);
}

/* evhttp is freeing a connection. */
static void
api_conn_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn	*ac = arg;
	struct api	*a = ac->api;

	(void)evcon;
	if (ac->txreq != NULL)
		api_txreq_gone(ac->txreq);
	if (ac->client != NULL)
		api_client_gone(ac->client);
	TAILQ_REMOVE(&a->conns, ac, entry);
	a->nconns--;
	event_free(ac->deadline);
	free(ac);
	if (a->capped && a->nconns < API_MAX_CONNS) {
		log_info("api", "below %d connections again; %" PRIu64 " refused "
		    "meanwhile", API_MAX_CONNS, a->refused);
		a->capped = 0;
	}
}

/*
 * Finds the connections evhttp built around the bufferevents of
 * api_conn_bevcb (their callback argument is the evhttp_connection): each
 * gets its close callback and request deadline, or is closed at once when
 * API_MAX_CONNS are open.
 */
static void
api_conn_attach(struct api *a)
{
	struct api_conn	*ac;
	struct timeval	 tv = { API_REQUEST_S, 0 };
	void		*cbarg = NULL;

	while ((ac = TAILQ_FIRST(&a->fresh)) != NULL) {
		TAILQ_REMOVE(&a->fresh, ac, entry);
		bufferevent_getcb(ac->bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL) {
			/* evhttp could not set the connection up: nothing to track. */
			free(ac);
			continue;
		}
		ac->evcon = cbarg;
		if (a->nconns >= API_MAX_CONNS) {
			if (!a->capped) {
				log_warn("api", "%d connections open, the limit: closing "
				    "new ones until some close", API_MAX_CONNS);
				a->capped = 1;
				a->refused = 0;
			}
			a->refused++;
			evhttp_connection_free(ac->evcon);
			free(ac);
			continue;
		}
		ac->deadline = evtimer_new(a->n->base, api_conn_deadlinecb, ac);
		if (ac->deadline == NULL) {
			log_error("api", "cannot create a timer");
			abort();
		}
		TAILQ_INSERT_TAIL(&a->conns, ac, entry);
		a->nconns++;
		evhttp_connection_set_closecb(ac->evcon, api_conn_closecb, ac);
		evtimer_add(ac->deadline, &tv);
	}
}

static void
api_conn_attachcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	api_conn_attach(arg);
}

/*
 * evhttp accepted a connection and asks for its bufferevent (no descriptor
 * yet).  The connection is attached from an event made active here, which
 * runs before the loop next polls, so before its first byte is read.
 */
static struct bufferevent *
api_conn_bevcb(struct event_base *base, void *arg)
{
	struct api		*a = arg;
	struct api_conn		*ac;
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
		log_error("api", "cannot create a bufferevent");
		abort();
	}
	/*
	 * Near the descriptor limit accept(2) may fail and succeed by turns:
	 * the episode ends with a success API_ACCEPT_QUIET_S after the last
	 * failure, so it is logged twice at most however long it lasts.
	 */
	if (a->accept_failing && mono_ns() - a->accept_failed_ns >=
	    (uint64_t)API_ACCEPT_QUIET_S * 1000000000) {
		log_info("api", "accepting connections again after %" PRIu64
		    " failed accept(2) calls", a->accept_failures);
		a->accept_failing = 0;
	}
	ac = xcalloc(1, sizeof(*ac));
	ac->api = a;
	ac->bev = bev;
	TAILQ_INSERT_TAIL(&a->fresh, ac, entry);
	event_active(a->attach, EV_READ, 0);
	return bev;
}

/*
 * accept(2) failed, typically with EMFILE: the pending connection stays in
 * the queue and the listener would be called again at once, forever.  Rest
 * it for API_ACCEPT_PAUSE_S; log once per episode (see api_conn_bevcb).
 */
static void
api_listen_errorcb(struct evconnlistener *lis, void *arg)
{
	struct api	*a = api_listening;
	int		 err = EVUTIL_SOCKET_ERROR();
	struct timeval	 tv = { API_ACCEPT_PAUSE_S, 0 };

	(void)arg;
	evconnlistener_disable(lis);
	if (a == NULL || a->lis != lis)
		return;
	if (!a->accept_failing) {
		log_warn("api", "cannot accept connections: %s; retrying every %d s",
		    evutil_socket_error_to_string(err), API_ACCEPT_PAUSE_S);
		a->accept_failing = 1;
		a->accept_failures = 0;
	}
	a->accept_failures++;
	a->accept_failed_ns = mono_ns();
	evtimer_add(a->resume, &tv);
}

static void
api_listen_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct api	*a = arg;

	(void)fd;
	(void)what;
	if (!a->stopping)
		evconnlistener_enable(a->lis);
}

/* --- dispatch --------------------------------------------------------- */

/* Checks the bearer token; returns NULL, or why the request is refused. */
static const char *
api_auth(struct api *a, struct evhttp_request *req)
{
	uint8_t		 h[crypto_generichash_BYTES];
	const char	*v, *tok;
	size_t		 len;

	if (!a->have_token)
		return NULL;
	v = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (v == NULL)
		return "missing token: send \"Authorization: Bearer <token>\"";
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return "bad Authorization header: expected \"Bearer <token>\"";
	for (tok = v + 7; *tok == ' ' || *tok == '\t'; tok++)
		;
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	/* Hashing first makes the comparison independent of the length. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)tok, len, NULL, 0);
	if (sodium_memcmp(h, a->token_hash, sizeof(h)) != 0)
		return "bad token";
	return NULL;
}

static enum api_route
api_route_find(const char *path, const char **arg)
{
	size_t	i, plen;

	*arg = NULL;
	for (i = 0; i < ROUTE_NONE; i++) {
		plen = strlen(api_routes[i].path);
		if (!api_routes[i].prefix) {
			if (strcmp(path, api_routes[i].path) == 0)
				return (enum api_route)i;
			continue;
		}
		if (strncmp(path, api_routes[i].path, plen) == 0 &&
		    path[plen] != '\0' && strchr(path + plen, '/') == NULL) {
			*arg = path + plen;
			return (enum api_route)i;
		}
	}
	return ROUTE_NONE;
}

/*
 * Percent-decodes the path raw (len bytes) into out (len + 1 bytes).
 * Returns NULL, or what is wrong: a '%' without two hex digits, or an
 * escape for '/' or NUL, which would change the segments or end the string.
 */
static const char *
api_path_decode(const char *raw, size_t len, char *out)
{
	size_t	i, o = 0;
	int	hi, lo, c;

	for (i = 0; i < len; i++) {
		if (raw[i] != '%') {
			out[o++] = raw[i];
			continue;
		}
		if (len - i < 3 ||
		    (hi = hex_nibble(raw[i + 1])) == -1 ||
		    (lo = hex_nibble(raw[i + 2])) == -1)
			return "'%' must be followed by two hex digits";
		c = hi << 4 | lo;
		if (c == '/')
			return "%2F (an encoded '/') is not allowed";
		if (c == 0)
			return "%00 is not allowed";
		out[o++] = (char)c;
		i += 2;
	}
	out[o] = '\0';
	return NULL;
}

static void
api_handle(struct evhttp_request *req, void *arg)
{
	struct api		*a = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*raw, *why, *seg;
	char			*path = NULL;
	size_t			 rawlen;
	enum api_route		 rt;
	struct api_conn		*conn;
	char			 addr[80];

	if ((conn = api_conn_find(a, evhttp_request_get_connection(req))) ==
	    NULL) {
		/* Cannot happen: connections are attached before they are read. */
		api_error(a, req, 503, "connection not tracked");
		return;
	}
	evtimer_del(conn->deadline);
	evhttp_request_set_on_complete_cb(req, api_req_donecb, conn);
	if (a->stopping) {
		api_error(a, req, 503, "node is shutting down");
		return;
	}
	if ((why = api_auth(a, req)) != NULL) {
		api_conn_addr(evhttp_request_get_connection(req), addr, sizeof(addr));
		log_warn("api", "refused %s %.200s from %s: %s", api_method_str(m),
		    evhttp_request_get_uri(req), addr, why);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"noded\"");
		api_error(a, req, 401, "%s", why);
		return;
	}
	if (uri == NULL || evhttp_uri_get_path(uri) == NULL) {
		api_error(a, req, 400, "malformed request URI");
		return;
	}
	/*
	 * Route on the path as sent: evhttp takes "//v1/status" for a host
	 * ("v1") and a path ("/status").  Only an absolute URI
	 * ("http://host/v1/status") needs evhttp's parse.
	 */
	raw = evhttp_request_get_uri(req);
	if (raw[0] == '/')
		rawlen = strcspn(raw, "?#");
	else {
		raw = evhttp_uri_get_path(uri);
		rawlen = strlen(raw);
	}
	path = xmalloc(rawlen + 1);
	if ((why = api_path_decode(raw, rawlen, path)) != NULL) {
		api_error(a, req, 400, "bad path '%.*s': %s",
		    (int)(rawlen > 200 ? 200 : rawlen), raw, why);
		goto out;
	}
	if ((rt = api_route_find(path, &seg)) == ROUTE_NONE) {
		api_error(a, req, 404, "not found: %.*s",
		    (int)(rawlen > 200 ? 200 : rawlen), raw);
		goto out;
	}
	if (((int)m & api_routes[rt].methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    api_routes[rt].allow);
		api_error(a, req, 405, "method %s not allowed on %.*s (allowed: %s)",
		    api_method_str(m), (int)(rawlen > 200 ? 200 : rawlen), raw,
		    api_routes[rt].allow);
		goto out;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    API_MAX_BODY) {
		api_error(a, req, 413, "request body of %zu bytes is over the limit "
		    "of %d bytes", evbuffer_get_length(
		    evhttp_request_get_input_buffer(req)), API_MAX_BODY);
		goto out;
	}
	switch (rt) {
	case ROUTE_TX:
		api_tx_post(a, req, conn);
		break;
	case ROUTE_TX_ID:
		api_tx_get(a, req, seg);
		break;
	case ROUTE_MEMPOOL:
		api_mempool_get(a, req, evhttp_uri_get_query(uri));
		break;
	case ROUTE_STATUS:
		api_status_get(a, req);
		break;
	case ROUTE_PEERS:
		if (m == EVHTTP_REQ_POST)
			api_peers_post(a, req);
		else
			api_peers_get(a, req);
		break;
	case ROUTE_PEER_ID:
		api_peer_delete(a, req, seg);
		break;
	case ROUTE_EVENTS:
		api_events_get(a, req, conn);
		break;
	case ROUTE_METRICS:
		api_metrics_get(a, req);
		break;
	case ROUTE_NONE:
		break;
	}
out:
	free(path);
}

/* --- life cycle ------------------------------------------------------- */

/*
 * Reads and hashes the token: the file's content without the blanks and
 * newlines around it, 1 to API_TOKEN_MAX bytes.  The file may hold up to
 * API_TOKEN_FILE_MAX bytes, so that a longest token still fits with its
 * newline.  0, or -1 after logging what to fix.
 */
static int
api_load_token(struct api *a, const char *path)
{
	char		 buf[API_TOKEN_FILE_MAX + 1];
	struct stat	 st;
	ssize_t		 r;
	size_t		 len = 0, start, i;
	int		 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_error("api", "--api-token-file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_error("api", "--api-token-file '%s': not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		log_warn("api", "--api-token-file '%s' can be read by other users: "
		    "chmod 600 '%s'", path, path);
	while (len < sizeof(buf)) {
		r = read(fd, buf + len, sizeof(buf) - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_error("api", "--api-token-file '%s': %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > API_TOKEN_FILE_MAX) {
		log_error("api", "--api-token-file '%s': over %d bytes; the file "
		    "must hold only the token (at most %d bytes)", path,
		    API_TOKEN_FILE_MAX, API_TOKEN_MAX);
		goto out;
	}
	for (start = 0; start < len && (buf[start] == ' ' || buf[start] == '\t' ||
	    buf[start] == '\r' || buf[start] == '\n'); start++)
		;
	while (len > start && (buf[len - 1] == ' ' || buf[len - 1] == '\t' ||
	    buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	if (len == start) {
		log_error("api", "--api-token-file '%s' holds no token: put a secret "
		    "in it, e.g. head -c 32 /dev/urandom | xxd -p -c 64 > '%s'",
		    path, path);
		goto out;
	}
	if (len - start > API_TOKEN_MAX) {
		log_error("api", "--api-token-file '%s': the token is %zu bytes, "
		    "longer than %d", path, len - start, API_TOKEN_MAX);
		goto out;
	}
	for (i = start; i < len; i++) {
		if (buf[i] <= 0x20 || buf[i] >= 0x7f) {
			log_error("api", "--api-token-file '%s': the token must be "
			    "printable ASCII without blanks", path);
			goto out;
		}
	}
	crypto_generichash(a->token_hash, sizeof(a->token_hash),
	    (const unsigned char *)buf + start, len - start, NULL, 0);
	a->have_token = 1;
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

/*
 * Binds cfg->api as evhttp_bind_socket would, but with a listener of our
 * own, so that a failing accept(2) reaches api_listen_errorcb.  0, or -1
 * after logging why.
 */
static int
api_listen(struct api *a, const char *addr)
{
	const struct config	*cfg = a->n->cfg;
	struct evutil_addrinfo	 hints, *res = NULL;
	char			 port[8];
	int			 rc, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)cfg->api.port);
	rc = evutil_getaddrinfo(cfg->api.host[0] != '\0' ? cfg->api.host : NULL,
	    port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("api", "cannot listen on %s (%s): %s", addr,
		    config_source(cfg, "api"),
		    evutil_gai_strerror(rc));
		return -1;
	}
	errno = 0;
	/* No callback yet: evhttp_bind_listener sets its own and enables it. */
	a->lis = evconnlistener_new_bind(a->n->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    API_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
	evutil_freeaddrinfo(res);
	if (a->lis == NULL) {
		log_error("api", "cannot listen on %s (%s): %s", addr,
		    config_source(cfg, "api"),
		    errno != 0 ? strerror(errno) : "bind failed");
		return -1;
	}
	/* As evhttp_bind_socket does; accepted sockets inherit it. */
	(void)setsockopt(evconnlistener_get_fd(a->lis), SOL_SOCKET, SO_KEEPALIVE,
	    &on, sizeof(on));
	evconnlistener_set_error_cb(a->lis, api_listen_errorcb);
	if (evhttp_bind_listener(a->http, a->lis) == NULL) {
		log_error("api", "cannot listen on %s (%s): out of memory", addr,
		    config_source(cfg, "api"));
		evconnlistener_free(a->lis);
		a->lis = NULL;
		return -1;
	}
	return 0;
}

struct api *
api_new(struct node *n)
{
	const struct config	*cfg = n->cfg;
	struct api		*a;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct timeval		 tv = { API_KEEPALIVE_S, 0 };
	char			 addr[CONFIG_HOSTPORT_MAX + 16];
	int			 loopback;

	addr_str(&cfg->api, addr, sizeof(addr));
	a = xcalloc(1, sizeof(*a));
	a->n = n;
	TAILQ_INIT(&a->conns);
	TAILQ_INIT(&a->fresh);
	LIST_INIT(&a->clients);
	LIST_INIT(&a->txreqs);
	if (cfg->api_token_file[0] != '\0' &&
	    api_load_token(a, cfg->api_token_file) == -1)
		goto fail;
	loopback = addr_is_loopback(&cfg->api);
	if (!loopback && !a->have_token && !cfg->api_insecure) {
		log_error("api", "refusing to serve the API on %s, which is not a "
		    "loopback address, without a token: give --api-token-file FILE "
		    "(clients then send \"Authorization: Bearer <token>\"), or "
		    "--api-insecure to let anyone who can reach it control the node",
		    addr);
		goto fail;
	}
	if (!loopback && !a->have_token)
		log_warn("api", "serving the API on %s without a token "
		    "(--api-insecure): anyone who can reach it controls this node",
		    addr);

	if ((a->http = evhttp_new(n->base)) == NULL ||
	    (a->scratch = evbuffer_new()) == NULL ||
	    (a->attach = event_new(n->base, -1, 0, api_conn_attachcb, a)) ==
	    NULL ||
	    (a->resume = evtimer_new(n->base, api_listen_resumecb, a)) == NULL) {
		log_error("api", "cannot create the HTTP server");
		goto fail;
	}
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(a->http, API_HTTP_MAX_BODY);
	evhttp_set_max_headers_size(a->http, API_MAX_HEADERS);
	evhttp_set_timeout(a->http, API_TIMEOUT_S);
	evhttp_set_gencb(a->http, api_handle, a);
	evhttp_set_bevcb(a->http, api_conn_bevcb, a);
	if (api_listen(a, addr) == -1)
		goto fail;
	api_listening = a;
	a->port = cfg->api.port;
	if (getsockname(evconnlistener_get_fd(a->lis),
	    (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET)
			a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			a->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	a->keepalive = event_new(n->base, -1, EV_PERSIST, api_keepalivecb, a);
	event_add(a->keepalive, &tv);
	if (a->port != cfg->api.port) {
		struct addr		real = cfg->api;

		real.port = a->port;
		addr_str(&real, addr, sizeof(addr));
	}
	log_info("api", "listening on http://%s%s", addr, a->have_token ?
	    " (bearer token required)" : "");
	return a;
fail:
	if (a->http != NULL)
		evhttp_free(a->http);
	if (a->scratch != NULL)
		evbuffer_free(a->scratch);
	if (a->attach != NULL)
		event_free(a->attach);
	if (a->resume != NULL)
		event_free(a->resume);
	free(a);
	return NULL;
}

void
api_shutdown(struct api *a)
{
	struct api_txreq	*r;
	struct api_client	*c;

	if (a == NULL || a->stopping)
		return;
	a->stopping = 1;
	while ((r = LIST_FIRST(&a->txreqs)) != NULL) {
		api_txreq_unlink(r);
		api_txreq_cancel(r);
		api_error(a, r->req, 503, "node is shutting down");
		free(r);
	}
	while ((c = LIST_FIRST(&a->clients)) != NULL) {
		api_client_unlink(c);
		evhttp_send_reply_end(c->req);
		free(c);
	}
	if (a->keepalive != NULL)
		event_del(a->keepalive);
	evtimer_del(a->resume);
}

void
api_free(struct api *a)
{
	struct api_conn	*ac;

	if (a == NULL)
		return;
	api_shutdown(a);
	if (a->n->api == a)
		a->n->api = NULL;
	/* Frees the listener, and every connection through api_conn_closecb. */
	evhttp_free(a->http);
	while ((ac = TAILQ_FIRST(&a->fresh)) != NULL) {
		TAILQ_REMOVE(&a->fresh, ac, entry);
		free(ac);
	}
	if (api_listening == a)
		api_listening = NULL;
	if (a->keepalive != NULL)
		event_free(a->keepalive);
	event_free(a->attach);
	event_free(a->resume);
	evbuffer_free(a->scratch);
	free(a);
}

void
api_stats(const struct api *a, struct api_stats *st)
{
	*st = a->st;
	st->event_clients = a->nclients;
	st->pending_txs = a->ntxreqs;
}

uint16_t
api_port(const struct api *a)
{
	return a->port;
}
