/*
 * api.c: the routes of the HTTP control API (docs/API.md is the contract),
 * the bearer token, and the handlers.  Every body in and out goes through
 * jansson.  A POST /v1/tx stays pending until admission has a verdict for
 * each of its transactions; the server tells when the client goes away
 * first, and the outstanding verdicts are then cancelled.  Loop thread only.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "base/budget.h"
#include "base/config.h"
#include "base/log.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "http/api.h"
#include "http/events.h"
#include "http/jenc.h"
#include "http/metrics.h"
#include "http/server.h"
#include "lib/addr.h"
#include "lib/datadir.h"
#include "lib/reason.h"
#include "lib/token.h"
#include "lib/units.h"
#include "lib/util.h"
#include "lib/version.h"
#include "p2p/ban.h"
#include "p2p/net.h"
#include "p2p/prov.h"
#include "http/web.h"
#include "proto/hex.h"
#include "proto/tx.h"


/*
 * evhttp answers bodies above its own limit itself, with an HTML page; up
 * to this size the API reads the body and answers 413 in JSON.
 */
#ifndef API_HTTP_MAX_BODY
#define API_HTTP_MAX_BODY	(4 * API_MAX_BODY)
#endif
#define API_MEMPOOL_LIMIT	100
#define API_MEMPOOL_LIMIT_MAX	10000
#define API_COOKIE_BYTES	32	/* random bytes of the admin cookie, written in hex */

struct api_txreq;

/* One transaction of a POST /v1/tx: the verdict callback's argument. */
struct api_txslot {
	struct api_txreq	*r;
	int			 done;
	uint8_t			 id[TX_ID_LEN];	/* to cancel while not done */
	struct admit_verdict	 v;
};

/* A POST /v1/tx waiting for its verdicts. */
struct api_txreq {
	LIST_ENTRY(api_txreq) entry;
	struct api		*api;
	struct server_conn	*conn;
	struct evhttp_request	*req;
	int			 batch;
	int			 submitting;	/* verdicts may arrive inside admit_tx */
	int			 listed;
	size_t			 pending;
	size_t			 n;
	struct api_txslot	 slots[];
};
LIST_HEAD(api_txreq_list, api_txreq);

struct api {
	struct node		*n;
	struct admit		*admit;
	struct mempool		*mp;
	struct net		*net;
	struct prov		*prov;		/* provenance (GET /v1/tx/ID/trace) */
	struct server		*srv;
	struct events		*events;
	struct metrics_src	 metrics;
	int			 stopping;
	int			 have_token;	/* --api-token-file: every request */
	uint8_t			 token_hash[crypto_generichash_BYTES];
	int			 have_cookie;	/* DATA_DIR/.cookie: admin requests */
	uint8_t			 cookie_hash[crypto_generichash_BYTES];
	char			 cookie_path[4200];
	dev_t			 cookie_dev;	/* the file written, to remove only it */
	ino_t			 cookie_ino;
	struct api_txreq_list	 txreqs;
};

/* Routes: a path (or a prefix followed by one segment) and its methods. */
enum api_route {
	ROUTE_TX = 0,
	ROUTE_TX_ID,
	ROUTE_TX_TRACE,
	ROUTE_MEMPOOL,
	ROUTE_DIGEST,
	ROUTE_STATUS,
	ROUTE_PEERS,
	ROUTE_PEER_ID,
	ROUTE_EVENTS,
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_PARTITION,
	ROUTE_LINK,
	ROUTE_BANS,
	ROUTE_BAN_ID,
	ROUTE_NONE
};

/* HEAD is answered wherever GET is: the same status and headers, no body. */
#define API_GET		(EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)

static const struct {
	const char	*path;
	int		 prefix;	/* 1: path + "<segment>"; 2: ... + "/trace" */
	int		 methods;
	const char	*allow;
} api_routes[] = {
	[ROUTE_TX] = { "/v1/tx", 0, EVHTTP_REQ_POST, "POST" },
	[ROUTE_TX_ID] = { "/v1/tx/", 1, API_GET, "GET, HEAD" },
	[ROUTE_TX_TRACE] = { "/v1/tx/", 2, API_GET, "GET, HEAD" },	/* ID/trace */
	[ROUTE_MEMPOOL] = { "/v1/mempool", 0, API_GET, "GET, HEAD" },
	[ROUTE_DIGEST] = { "/v1/mempool/digest", 0, API_GET, "GET, HEAD" },
	[ROUTE_STATUS] = { "/v1/status", 0, API_GET, "GET, HEAD" },
	[ROUTE_PEERS] = { "/v1/peers", 0, API_GET | EVHTTP_REQ_POST,
	    "GET, HEAD, POST" },
	[ROUTE_PEER_ID] = { "/v1/peers/", 1, EVHTTP_REQ_DELETE, "DELETE" },
	[ROUTE_EVENTS] = { "/v1/events", 0, API_GET, "GET, HEAD" },
	[ROUTE_METRICS] = { "/metrics", 0, API_GET, "GET, HEAD" },
	[ROUTE_HEALTHZ] = { "/healthz", 0, API_GET, "GET, HEAD" },
	[ROUTE_READYZ] = { "/readyz", 0, API_GET, "GET, HEAD" },
	[ROUTE_PARTITION] = { "/v1/partition", 0, API_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE, "GET, HEAD, POST, DELETE" },
	[ROUTE_LINK] = { "/v1/link", 0, API_GET | EVHTTP_REQ_POST,
	    "GET, HEAD, POST" },
	[ROUTE_BANS] = { "/v1/bans", 0, API_GET, "GET, HEAD" },
	[ROUTE_BAN_ID] = { "/v1/bans/", 1, EVHTTP_REQ_DELETE, "DELETE" },
};

/*
 * Admin requests change the node other than by submitting transactions:
 * with no --api-token-file they need the cookie's token even on loopback.
 */
static int
api_route_is_admin(enum api_route rt, enum evhttp_cmd_type m)
{
	return (rt == ROUTE_PEERS && m == EVHTTP_REQ_POST) ||
	    rt == ROUTE_PEER_ID || rt == ROUTE_BAN_ID ||
	    ((rt == ROUTE_PARTITION || rt == ROUTE_LINK) &&
	    (m & API_GET) == 0);
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
		server_error(a->srv, req, 413, "request body of %zu bytes is over the "
		    "limit of %d bytes", len, API_MAX_BODY);
		return NULL;
	}
	if (len == 0) {
		server_error(a->srv, req, 400, "empty body: expected a JSON object");
		return NULL;
	}
	p = (const char *)evbuffer_pullup(in, -1);
	j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		server_error(a->srv, req, 400, "bad JSON: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		server_error(a->srv, req, 400, "bad JSON: expected an object");
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
			server_error(a->srv, req, 400, "unknown field '%s'", key);
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

/* --- POST /v1/tx ------------------------------------------------------ */

static json_t *
api_verdict_json(const struct admit_verdict *v)
{
	json_t	*o = json_object();

	if (v->have_id)
		json_object_set_new(o, "id", jenc_hex(v->id, TX_ID_LEN));
	if (v->status == ADMIT_REJECTED) {
		json_object_set_new(o, "status", json_string("rejected"));
		json_object_set_new(o, "reason", jenc_str(reason_str(v->reason)));
		json_object_set_new(o, "code", json_string(reason_code(v->reason)));
		json_object_set_new(o, "message", jenc_str(v->msg[0] != '\0' ?
		    v->msg : reason_str(v->reason)));
	} else {
		json_object_set_new(o, "status", json_string("accepted"));
		if (v->status == ADMIT_DUPLICATE)
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
	}
	if (r->conn != NULL) {
		server_conn_release(r->conn);
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
			admit_cancel(r->api->admit, r->slots[i].id, &r->slots[i]);
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
		/* Not kept by the store: the node's fault, not the transaction's. */
		code = r->slots[0].v.status != ADMIT_REJECTED ? 200 :
		    r->slots[0].v.reason == REASON_STORE ? 503 : 422;
		server_reply_json(a->srv, r->req, code, api_verdict_json(&r->slots[0].v));
	} else {
		res = json_array();
		for (i = 0; i < r->n; i++) {
			if (r->slots[i].v.status == ADMIT_REJECTED)
				rej++;
			else
				acc++;
			json_array_append_new(res, api_verdict_json(&r->slots[i].v));
		}
		o = json_object();
		json_object_set_new(o, "results", res);
		json_object_set_new(o, "accepted", json_integer((json_int_t)acc));
		json_object_set_new(o, "rejected", json_integer((json_int_t)rej));
		server_reply_json(a->srv, r->req, 200, o);
	}
	free(r);
}

static void
api_tx_verdict(const struct admit_verdict *v, void *arg)
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

/* The client left before its verdicts (the server frees the request): forget them. */
static void
api_txreq_gone(void *arg, int left)
{
	struct api_txreq	*r = arg;

	log_debug("api", "POST /v1/tx: %s before %zu of %zu verdicts", left ?
	    "client left" : "connection closed", r->pending, r->n);
	r->conn = NULL;
	api_txreq_unlink(r);
	api_txreq_cancel(r);
	free(r);
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
api_tx_post(struct api *a, struct evhttp_request *req, struct server_conn *conn)
{
	static const char *const fields[] = { "tx", "txs", NULL };
	struct api_txreq	*r;
	struct admit_result	 res;
	json_t			*body, *tx, *txs, *item;
	const char		*why;
	uint8_t			*raw;
	size_t			 i, count, len, maxlen = 0;
	uint64_t		 t;
	int			 failed = 0;

	if ((body = api_body_object(a, req)) == NULL)
		return;
	if (api_only_fields(a, req, body, fields) == -1)
		goto out;
	tx = json_object_get(body, "tx");
	txs = json_object_get(body, "txs");
	if ((tx == NULL) == (txs == NULL)) {
		server_error(a->srv, req, 400, "expected {\"tx\": \"<hex>\"} or "
		    "{\"txs\": [\"<hex>\", ...]}");
		goto out;
	}
	if (tx != NULL) {
		if ((why = api_check_hex(tx, &len)) != NULL) {
			server_error(a->srv, req, 400, "tx: %s", why);
			goto out;
		}
		count = 1;
		maxlen = len;
	} else {
		if (!json_is_array(txs)) {
			server_error(a->srv, req, 400, "txs: expected an array of hex strings");
			goto out;
		}
		count = json_array_size(txs);
		if (count == 0 || count > API_MAX_BATCH) {
			server_error(a->srv, req, 400, "txs: %zu transactions, expected 1 to %d",
			    count, API_MAX_BATCH);
			goto out;
		}
		json_array_foreach(txs, i, item) {
			if ((why = api_check_hex(item, &len)) != NULL) {
				server_error(a->srv, req, 400, "txs[%zu]: %s", i, why);
				goto out;
			}
			if (len > maxlen)
				maxlen = len;
		}
	}

	r = xcalloc(1, sizeof(*r) + count * sizeof(r->slots[0]));
	r->api = a;
	r->req = req;
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
		t = now_us();
		admit_tx(a->admit, NULL, raw, len / 2, api_tx_verdict,
		    &r->slots[i], &res);
		memcpy(r->slots[i].id, res.id, TX_ID_LEN);
		if (res.what == ADMIT_QUEUED && a->prov != NULL)
			prov_received(a->prov, res.id, PROV_API, t);
		if (res.what == ADMIT_STOPPING) {
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
		server_error_code(a->srv, req, 503, "shutting_down",
		    "node is shutting down");
		goto out;
	}
	if (r->pending == 0) {
		api_txreq_finish(r);
		goto out;
	}
	LIST_INSERT_HEAD(&a->txreqs, r, entry);
	r->listed = 1;
	r->conn = conn;
	server_conn_hold(conn, req, api_txreq_gone, r);
out:
	json_decref(body);
}

/* --- GET /v1/tx/<id>/trace -------------------------------------------- */

/* {"name", "id"} of a provenance peer slot, "api", or null. */
static json_t *
api_prov_peer(struct api *a, uint16_t slot)
{
	const char	*name, *idhex;

	if (slot == PROV_API)
		return json_string("api");
	if (slot == PROV_NONE)
		return json_null();
	prov_peer_get(a->prov, slot, &name, &idhex);
	return json_pack("{s:s, s:s}", "name", name, "id", idhex);
}

static json_t *
api_prov_time(uint64_t us)
{
	return us == 0 ? json_null() : jenc_u64(us);
}

static void
api_tx_trace(struct api *a, struct evhttp_request *req, const char *seg)
{
	static const char *const states[] = { "seen", "accepted", "rejected" };
	static const char *const kinds[] = { "inv", "inv", "tx" };
	struct prov_info info;
	char		 idhex[TX_ID_HEX_LEN + 1];
	uint8_t		 id[TX_ID_LEN];
	size_t		 len = strcspn(seg, "/"), i;
	json_t		*o, *ann, *out, *h;

	if (len <= TX_ID_HEX_LEN) {
		memcpy(idhex, seg, len);
		idhex[len] = '\0';
	}
	if (len > TX_ID_HEX_LEN || api_parse_id(idhex, id) == -1) {
		server_error(a->srv, req, 400, "bad transaction id '%.*s': expected "
		    "%d hex digits", (int)(len > 80 ? 80 : len), seg, TX_ID_HEX_LEN);
		return;
	}
	if (a->prov == NULL || prov_get(a->prov, id, &info) == -1) {
		server_error_code(a->srv, req, 404, "not_found", "tx %.16s: no trace "
		    "(never seen here, or older than the last %zu ids of "
		    "--trace-ring)", idhex, (size_t)a->n->cfg->trace_ring);
		return;
	}
	ann = json_array();
	out = json_array();
	for (i = 0; i < info.nhops; i++) {
		h = api_prov_peer(a, info.hops[i].peer);
		json_object_set_new(h, "at_us", jenc_u64(info.hops[i].at_us));
		if (info.hops[i].kind == PROV_ANN)
			json_array_append_new(ann, h);
		else {
			json_object_set_new(h, "what",
			    json_string(kinds[info.hops[i].kind]));
			json_array_append_new(out, h);
		}
	}
	o = json_object();
	json_object_set_new(o, "id", jenc_hex(id, TX_ID_LEN));
	json_object_set_new(o, "node", json_pack("{s:s, s:s}", "name",
	    a->n->cfg->name, "id", a->n->node_id_hex));
	json_object_set_new(o, "state", json_string(states[info.state]));
	json_object_set_new(o, "first_seen_us", jenc_u64(info.first_us));
	json_object_set_new(o, "from", api_prov_peer(a, info.from));
	json_object_set_new(o, "received_us", api_prov_time(info.received_us));
	json_object_set_new(o, "verdict_us", api_prov_time(info.verdict_us));
	json_object_set_new(o, "queued_us", info.verdict_us == 0 ||
	    info.received_us == 0 ? json_null() : jenc_u64(
	    info.verdict_us - info.received_us > info.verify_us ?
	    info.verdict_us - info.received_us - info.verify_us : 0));
	json_object_set_new(o, "verify_us", info.verdict_us == 0 ? json_null() :
	    jenc_u64(info.verify_us));
	json_object_set_new(o, "relayed_us", api_prov_time(info.announced_us));
	json_object_set_new(o, "announcers", jenc_u64(info.nann));
	json_object_set_new(o, "announced_by", ann);
	json_object_set_new(o, "receivers", jenc_u64(info.nout));
	json_object_set_new(o, "sent_to", out);
	server_reply_json(a->srv, req, 200, o);
}

/* --- GET /v1/tx/<id> -------------------------------------------------- */

static void
api_tx_get(struct api *a, struct evhttp_request *req, const char *idhex)
{
	const struct mempool_entry	*e;
	struct tx			 t;
	uint8_t				 id[TX_ID_LEN], winner[TX_ID_LEN];
	char				 winhex[TX_ID_HEX_LEN + 1];
	json_t				*o, *memo;

	if (api_parse_id(idhex, id) == -1) {
		server_error(a->srv, req, 400, "bad transaction id '%.80s': expected %d hex "
		    "digits", idhex, TX_ID_HEX_LEN);
		return;
	}
	if ((e = mempool_get(a->mp, id)) == NULL) {
		if (admit_replaced_by(a->admit, id, winner)) {
			/* It lost its nonce to winner (PROTOCOL.md 5.4). */
			hex_encode(winhex, winner, TX_ID_LEN);
			server_reply_json(a->srv, req, 404, json_pack("{s:s+,s:s,s:s}",
			    "error", "replaced by ", winhex, "code", "replaced",
			    "replaced_by", winhex));
			return;
		}
		server_error(a->srv, req, 404, "transaction not found");
		return;
	}
	if (tx_decode(&t, e->raw, e->len) != TX_OK) {
		/* The mempool holds only transactions that decoded. */
		server_error(a->srv, req, 500, "stored transaction does not decode");
		return;
	}
	memo = json_stringn((const char *)t.memo, t.memo_len);
	o = json_object();
	json_object_set_new(o, "id", jenc_hex(id, TX_ID_LEN));
	json_object_set_new(o, "version", json_integer(t.version));
	json_object_set_new(o, "network", jenc_hex(t.netid, TX_NETID_LEN));
	json_object_set_new(o, "sender", jenc_hex(t.sender, TX_PK_LEN));
	json_object_set_new(o, "recipient", jenc_hex(t.recipient, TX_PK_LEN));
	json_object_set_new(o, "amount", jenc_u64(t.amount));
	json_object_set_new(o, "nonce", jenc_u64(t.nonce));
	json_object_set_new(o, "timestamp_ms", jenc_u64(t.timestamp_ms));
	json_object_set_new(o, "memo", memo != NULL ? memo : json_null());
	json_object_set_new(o, "memo_hex", jenc_hex(t.memo, t.memo_len));
	json_object_set_new(o, "signature", jenc_hex(t.sig, TX_SIG_LEN));
	json_object_set_new(o, "size", json_integer(e->len));
	json_object_set_new(o, "added_ms", jenc_u64(e->added_ms));
	json_object_set_new(o, "raw", jenc_hex(e->raw, e->len));
	server_reply_json(a->srv, req, 200, o);
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
	json_array_append_new(w->ids, jenc_hex(e->id, TX_ID_LEN));
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
		server_error(a->srv, req, 400, "malformed query string");
		return;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "limit") == 0) {
			errno = 0;
			limit = strtoull(kv->value, &end, 10);
			if (kv->value[0] < '0' || kv->value[0] > '9' || *end != '\0' ||
			    errno != 0 || limit < 1 || limit > API_MEMPOOL_LIMIT_MAX) {
				server_error(a->srv, req, 400, "limit '%.40s': must be 1..%d",
				    kv->value, API_MEMPOOL_LIMIT_MAX);
				goto out;
			}
		} else if (strcmp(kv->key, "after") == 0) {
			if (api_parse_id(kv->value, after) == -1) {
				server_error(a->srv, req, 400, "after '%.80s': expected a "
				    "transaction id (%d hex digits)", kv->value,
				    TX_ID_HEX_LEN);
				goto out;
			}
			have_after = 1;
		} else {
			server_error(a->srv, req, 400, "unknown parameter '%.40s' (expected "
			    "limit, after)", kv->key);
			goto out;
		}
	}
	memset(&w, 0, sizeof(w));
	w.ids = json_array();
	w.limit = (size_t)limit;
	mempool_walk(a->mp, have_after ? after : NULL, w.limit + 1,
	    api_mempool_one, &w);
	o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)
	    mempool_count(a->mp)));
	json_object_set_new(o, "txs", w.ids);
	json_object_set_new(o, "next", w.more ? jenc_hex(w.last, TX_ID_LEN) :
	    json_null());
	server_reply_json(a->srv, req, 200, o);
out:
	evhttp_clear_headers(&q);
}

/* --- GET /v1/mempool/digest ------------------------------------------ */

/* {"count": N, "digest": "<64 hex>"}: two nodes agree when both are equal. */
static json_t *
api_digest_json(struct api *a)
{
	uint8_t	d[TX_ID_LEN];

	mempool_digest(a->mp, d);
	return json_pack("{s:I,s:o}", "count", (json_int_t)mempool_count(a->mp),
	    "digest", jenc_hex(d, TX_ID_LEN));
}

/* --- GET /v1/status --------------------------------------------------- */

static void
api_status_get(struct api *a, struct evhttp_request *req)
{
	uint8_t		 digest[TX_ID_LEN];
	struct node	*n = a->n;
	unsigned	 in = 0, out = 0;
	uint64_t	 now = now_ms();
	char		 listen[ADDR_STR_MAX], api[ADDR_STR_MAX];
	struct addr aa = n->cfg->api, la = n->cfg->listen;
	json_t		*o, *budget;
	size_t		 i;
	struct admit_gauges g;

	admit_gauges(a->admit, &g);
	net_peer_counts(a->net, &in, &out);
	la.port = net_listen_port(a->net);
	addr_str(&la, listen, sizeof(listen));
	aa.port = server_port(a->srv);
	addr_str(&aa, api, sizeof(api));
	o = json_object();
	json_object_set_new(o, "name", jenc_str(n->cfg->name));
	json_object_set_new(o, "node_id", json_string(n->node_id_hex));
	json_object_set_new(o, "network", jenc_str(n->cfg->network));
	json_object_set_new(o, "network_id", jenc_hex(n->netid, TX_NETID_LEN));
	json_object_set_new(o, "version", jenc_str(version_get()));
	json_object_set_new(o, "listen", jenc_str(listen));
	json_object_set_new(o, "api", jenc_str(api));
	json_object_set_new(o, "peers", json_integer(in + out));
	json_object_set_new(o, "peers_inbound", json_integer(in));
	json_object_set_new(o, "peers_outbound", json_integer(out));
	json_object_set_new(o, "mempool_txs", json_integer((json_int_t)
	    mempool_count(a->mp)));
	json_object_set_new(o, "mempool_bytes", json_integer((json_int_t)
	    mempool_bytes(a->mp)));
	mempool_digest(a->mp, digest);
	json_object_set_new(o, "mempool_digest", jenc_hex(digest, TX_ID_LEN));
	json_object_set_new(o, "uptime_s", json_integer((json_int_t)
	    (now > n->start_ms ? (now - n->start_ms) / 1000 : 0)));
	json_object_set_new(o, "validators", json_integer(n->cfg->validators));
	json_object_set_new(o, "validator_queue_depth", json_integer((json_int_t)
	    g.queue_depth));
	json_object_set_new(o, "validator_queue_capacity", json_integer(
	    (json_int_t)g.queue_capacity));
	json_object_set_new(o, "verified", jenc_u64(g.verified));
	events_account(a->events);
	budget = json_object();
	for (i = 0; i < BUDGET_KINDS; i++)
		json_object_set_new(budget, budget_names[i], json_pack("{s:o,s:o,"
		    "s:o,s:o,s:o}", "bytes", jenc_u64(budgets[i].used), "limit",
		    jenc_u64(budgets[i].limit), "peak", jenc_u64(budgets[i].peak),
		    "disconnects", jenc_u64(budgets[i].cuts), "refused",
		    jenc_u64(budgets[i].refused)));
	json_object_set_new(o, "budgets", budget);
	server_reply_json(a->srv, req, 200, o);
}

/* --- /v1/peers -------------------------------------------------------- */

static void
api_peers_one(const struct peer_info *p, void *arg)
{
	json_t	*arr = arg, *o;

	o = jenc_peer(p);
	json_object_set_new(o, "connected_since_ms", jenc_u64(p->connected_since_ms));
	json_object_set_new(o, "bytes_sent", jenc_u64(p->bytes_sent));
	json_object_set_new(o, "bytes_received", jenc_u64(p->bytes_received));
	json_object_set_new(o, "msgs_sent", jenc_u64(p->msgs_sent));
	json_object_set_new(o, "msgs_received", jenc_u64(p->msgs_received));
	json_object_set_new(o, "last_ping_ms", p->last_ping_ms < 0 ? json_null() :
	    json_integer(p->last_ping_ms));
	json_array_append_new(arr, o);
}

static void
api_peers_get(struct api *a, struct evhttp_request *req)
{
	json_t	*arr = json_array();

	net_peers_foreach(a->net, api_peers_one, arr);
	server_reply_json(a->srv, req, 200, json_pack("{s:o}", "peers", arr));
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
		server_error(a->srv, req, 400, "addr: expected \"host:port\"");
		goto out;
	}
	s = json_string_value(addr);
	if (addr_parse(&ca, s, ADDR_NOPORT0, err, sizeof(err)) == -1) {
		server_error(a->srv, req, 400, "addr %s", err);
		goto out;
	}
	if (net_connect(a->net, s, err, sizeof(err)) == -1) {
		server_error(a->srv, req, 422, "cannot connect to %s: %s", s, err);
		goto out;
	}
	log_info("api", "connect to %s requested", s);
	server_reply_json(a->srv, req, 202, json_pack("{s:o,s:s}", "addr", jenc_str(s),
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
		server_error(a->srv, req, 400, "bad node id '%.80s': expected %d hex digits",
		    idhex, 2 * TX_PK_LEN);
		return;
	}
	hex_encode(norm, id, sizeof(id));
	if (net_disconnect(a->net, norm, "disconnected through the API") == -1) {
		server_error(a->srv, req, 404, "peer not found");
		return;
	}
	log_info("api", "peer %.16s disconnected on request", norm);
	server_reply_json(a->srv, req, 200, json_pack("{s:s,s:s}", "node_id", norm,
	    "status", "disconnected"));
}

/* --- /v1/bans -------------------------------------------------------- */

static void
api_bans_one(const struct ban_entry *e, void *arg)
{
	json_t	*arr = arg, *o = json_object();
	char	 buf[2 * TX_PK_LEN + 1];

	if (e->kind == BAN_KEY) {
		hex_encode(buf, e->id, TX_PK_LEN);
		json_object_set_new(o, "key", json_string(buf));
	} else {
		ban_ip_str(e->id, buf, sizeof(buf));
		json_object_set_new(o, "ip", json_string(buf));
	}
	json_object_set_new(o, "reason", json_string(ban_reason_code(e->reason)));
	json_object_set_new(o, "since", jenc_u64(e->since));
	json_object_set_new(o, "until", jenc_u64(e->until));
	json_array_append_new(arr, o);
}

static void
api_bans_get(struct api *a, struct evhttp_request *req)
{
	json_t		*arr = json_array();
	uint64_t	 now = now_ms() / 1000;

	ban_foreach(net_bans(a->net), now, api_bans_one, arr);
	server_reply_json(a->srv, req, 200, json_pack("{s:o,s:I,s:I}", "bans",
	    arr, "now", (json_int_t)now, "ban_seconds",
	    (json_int_t)a->n->cfg->ban_seconds));
}

static void
api_ban_delete(struct api *a, struct evhttp_request *req, const char *what)
{
	int	n;

	if ((n = net_unban(a->net, what)) == -1) {
		server_error(a->srv, req, 400, "bad ban '%.80s': expected a node key "
		    "(%d hex digits) or an IP address", what, 2 * TX_PK_LEN);
		return;
	}
	if (n == 0) {
		server_error(a->srv, req, 404, "no ban of %.80s", what);
		return;
	}
	log_info("api", "ban of %.80s lifted on request", what);
	server_reply_json(a->srv, req, 200, json_pack("{s:s,s:i,s:s}", "unbanned",
	    what, "lifted", n, "status", "unbanned"));
}

/* --- /v1/partition ---------------------------------------------------- */

#define API_CUT_MAX	1024	/* node ids in one partition */

static json_t *
api_partition_json(struct api *a)
{
	const uint8_t	(*ids)[TX_PK_LEN];
	size_t		 i, n = net_cut_list(a->net, &ids);
	json_t		*arr = json_array();

	for (i = 0; i < n; i++)
		json_array_append_new(arr, jenc_hex(ids[i], TX_PK_LEN));
	return json_pack("{s:o}", "cut", arr);
}

/* POST {"cut": [node id, ...]}: this node is cut off from those, and only those. */
static void
api_partition_post(struct api *a, struct evhttp_request *req)
{
	static const char *const fields[] = { "cut", NULL };
	uint8_t		(*ids)[TX_PK_LEN] = NULL;
	json_t		*body, *cut, *v;
	size_t		 i, n, closed;
	const char	*s;

	if ((body = api_body_object(a, req)) == NULL)
		return;
	if (api_only_fields(a, req, body, fields) == -1)
		goto out;
	cut = json_object_get(body, "cut");
	if (!json_is_array(cut)) {
		server_error(a->srv, req, 400, "cut: expected an array of node ids");
		goto out;
	}
	if ((n = json_array_size(cut)) > API_CUT_MAX) {
		server_error(a->srv, req, 400, "cut: %zu node ids, at most %d", n,
		    API_CUT_MAX);
		goto out;
	}
	ids = xcalloc(n > 0 ? n : 1, TX_PK_LEN);
	json_array_foreach(cut, i, v) {
		s = json_is_string(v) ? json_string_value(v) : "";
		if (hex_decode(ids[i], TX_PK_LEN, s, strlen(s)) == -1) {
			server_error(a->srv, req, 400, "cut[%zu]: expected a node id "
			    "of %d hex digits", i, 2 * TX_PK_LEN);
			goto out;
		}
	}
	closed = net_partition(a->net, (const uint8_t (*)[TX_PK_LEN])ids, n);
	v = api_partition_json(a);
	json_object_set_new(v, "closed", jenc_u64(closed));
	server_reply_json(a->srv, req, 200, v);
out:
	free(ids);
	json_decref(body);
}

static void
api_partition(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type m)
{
	if (m == EVHTTP_REQ_POST)
		api_partition_post(a, req);
	else {
		if (m == EVHTTP_REQ_DELETE)
			net_heal(a->net);
		server_reply_json(a->srv, req, 200, api_partition_json(a));
	}
}

/* --- /v1/link --------------------------------------------------------- */

static json_t *
api_link_json(struct api *a)
{
	struct link_shape	sh;
	char			d[32], j[32], r[32];

	net_link_get(a->net, &sh);
	units_duration_str(d, sizeof(d), sh.delay_us);
	units_duration_str(j, sizeof(j), sh.jitter_us);
	units_rate_str(r, sizeof(r), sh.rate_bps);
	return json_pack("{s:s,s:s,s:s,s:o,s:o,s:o}", "delay", d, "jitter", j,
	    "rate", r, "delay_us", jenc_u64(sh.delay_us), "jitter_us",
	    jenc_u64(sh.jitter_us), "rate_bps", jenc_u64(sh.rate_bps));
}

/* One field of POST /v1/link: text as on the command line; absent: unchanged. */
static int
api_link_field(struct api *a, struct evhttp_request *req, json_t *body,
    const char *name, int rate, uint64_t *out)
{
	json_t	*v = json_object_get(body, name);
	int	 rc;

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		server_error(a->srv, req, 400, "%s: expected a string such as "
		    "\"%s\"", name, rate ? "1mbit" : "50ms");
		return -1;
	}
	rc = rate ? units_parse_rate(json_string_value(v), out) :
	    units_parse_duration(json_string_value(v), out);
	if (rc != 0) {
		server_error(a->srv, req, 400, "%s '%.40s': not a %s", name,
		    json_string_value(v), rate ? "rate (bit, kbit, mbit, gbit)" :
		    "duration (us, ms, s)");
		return -1;
	}
	return 0;
}

static void
api_link_post(struct api *a, struct evhttp_request *req)
{
	static const char *const fields[] = { "delay", "jitter", "rate", NULL };
	struct link_shape	 sh;
	json_t			*body, *reply;
	char			 err[128];

	if ((body = api_body_object(a, req)) == NULL)
		return;
	net_link_get(a->net, &sh);
	if (api_only_fields(a, req, body, fields) == -1 ||
	    api_link_field(a, req, body, "delay", 0, &sh.delay_us) == -1 ||
	    api_link_field(a, req, body, "jitter", 0, &sh.jitter_us) == -1 ||
	    api_link_field(a, req, body, "rate", 1, &sh.rate_bps) == -1)
		goto out;
	if (net_link_set(a->net, &sh, err, sizeof(err)) == -1) {
		server_error(a->srv, req, 400, "%s", err);
		goto out;
	}
	reply = api_link_json(a);
	log_info("api", "links now add delay %s, jitter %s, rate %s",
	    json_string_value(json_object_get(reply, "delay")),
	    json_string_value(json_object_get(reply, "jitter")),
	    json_string_value(json_object_get(reply, "rate")));
	server_reply_json(a->srv, req, 200, reply);
out:
	json_decref(body);
}

/* --- GET /healthz, GET /readyz ---------------------------------------- */

/* Alive: the loop answers.  (While stopping, the server answers 503.) */
static void
api_healthz_get(struct api *a, struct evhttp_request *req)
{
	server_reply_json(a->srv, req, 200, json_pack("{s:s}", "status", "alive"));
}

/*
 * Ready: the validator pool runs (from start-up until admit_shutdown, which
 * comes after api_shutdown: a node that still answers has it), and if
 * --peer addresses were given, at least one peer is active.
 */
static void
api_readyz_get(struct api *a, struct evhttp_request *req)
{
	const struct config	*cfg = a->n->cfg;
	unsigned		 in = 0, out = 0;

	if (a->n->stopping || a->stopping) {
		server_error_code(a->srv, req, 503, "shutting_down",
		    "not ready: the node is shutting down");
		return;
	}
	net_peer_counts(a->net, &in, &out);
	if (cfg->npeers > 0 && in + out == 0) {
		server_error_code(a->srv, req, 503, "no_peers", "not ready: no "
		    "active peer yet (%zu --peer address%s given)", cfg->npeers,
		    cfg->npeers == 1 ? "" : "es");
		return;
	}
	server_reply_json(a->srv, req, 200, json_pack("{s:s,s:i,s:i}", "status",
	    "ready", "validators", (int)cfg->validators, "peers", (int)(in + out)));
}

/* --- GET /metrics ----------------------------------------------------- */

static void
api_metrics_get(struct api *a, struct evhttp_request *req)
{
	struct evbuffer	*buf = evbuffer_new();
	size_t		 len;

	if (buf == NULL) {
		server_error(a->srv, req, 500, "out of memory");
		return;
	}
	metrics_render(&a->metrics, buf);
	len = evbuffer_get_length(buf);
	server_reply(a->srv, req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    (const char *)evbuffer_pullup(buf, -1), len);
	evbuffer_free(buf);
}

/* --- dispatch --------------------------------------------------------- */

/*
 * Checks the request's bearer token against hash.  Returns NULL, or why the
 * request is refused with *code its machine code.
 */
static const char *
api_bearer_check_value(const char *v, const uint8_t *hash, const char **code)
{
	uint8_t		 h[crypto_generichash_BYTES];
	const char	*tok;
	size_t		 len;

	if (v == NULL) {
		*code = "missing_token";
		return "missing token: send \"Authorization: Bearer <token>\"";
	}
	if (strncasecmp(v, "Bearer ", 7) != 0) {
		*code = "bad_authorization";
		return "bad Authorization header: expected \"Bearer <token>\"";
	}
	for (tok = v + 7; *tok == ' ' || *tok == '\t'; tok++)
		;
	len = strlen(tok);
	while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
		len--;
	/* Hashing first makes the comparison independent of the length. */
	crypto_generichash(h, sizeof(h), (const unsigned char *)tok, len, NULL, 0);
	if (sodium_memcmp(h, hash, sizeof(h)) != 0) {
		*code = "bad_token";
		return "bad token";
	}
	return NULL;
}

/* The same, for the request's Authorization header. */
static const char *
api_bearer_check(struct evhttp_request *req, const uint8_t *hash,
    const char **code)
{
	return api_bearer_check_value(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization"), hash, code);
}

/* Answers 401 for why (code), and logs it. */
static void
api_refuse(struct api *a, struct evhttp_request *req, struct server_conn *conn,
    const char *code, const char *why)
{
	char	addr[80];

	server_conn_addr(conn, addr, sizeof(addr));
	log_warn("api", "refused %s %.200s from %s: %s", server_method_str(
	    evhttp_request_get_command(req)), evhttp_request_get_uri(req), addr,
	    why);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", "Bearer realm=\"noded\"");
	server_error_code(a->srv, req, 401, code, "%s", why);
}

/*
 * Checks an admin request's Authorization header (auth, NULL: none) against
 * the cookie's token.  0, or -1 with why in msg and *code set.
 */
static int
api_admin_why(struct api *a, const char *auth, const char *method,
    const char *path, const char **code, char *msg, size_t msglen)
{
	const char	*why;

	if (!a->have_cookie)
		return 0;
	if ((why = api_bearer_check_value(auth, a->cookie_hash, code)) == NULL)
		return 0;
	if (strcmp(*code, "missing_token") == 0)
		why = "missing admin token";
	else if (strcmp(*code, "bad_token") == 0)
		why = "bad admin token (the cookie changes at every start)";
	snprintf(msg, msglen, "%s: %s %.200s changes the node and needs the "
	    "admin token in %s, sent as \"Authorization: Bearer <token>\" "
	    "(nodectl reads it itself given the node's data dir: --data-dir DIR "
	    "or NODECTL_DATA_DIR)", why, method, path, a->cookie_path);
	return -1;
}

/*
 * An admin request without --api-token-file: it needs the cookie's token.
 * Returns 0, or -1 after answering 401 with what to do.
 */
static int
api_admin_check(struct api *a, struct evhttp_request *req,
    struct server_conn *conn, const char *path)
{
	const char	*code;
	char		 msg[8192];

	if (api_admin_why(a, evhttp_find_header(evhttp_request_get_input_headers(
	    req), "Authorization"), server_method_str(evhttp_request_get_command(
	    req)), path, &code, msg, sizeof(msg)) == 0)
		return 0;
	api_refuse(a, req, conn, code, msg);
	return -1;
}

static enum api_route
api_route_find(const char *path, const char **arg)
{
	const char *slash;
	size_t	i, plen;

	*arg = NULL;
	for (i = 0; i < ROUTE_NONE; i++) {
		plen = strlen(api_routes[i].path);
		if (!api_routes[i].prefix) {
			if (strcmp(path, api_routes[i].path) == 0)
				return (enum api_route)i;
			continue;
		}
		if (api_routes[i].prefix == 2) {
			if (strncmp(path, api_routes[i].path, plen) == 0 &&
			    (slash = strchr(path + plen, '/')) != NULL &&
			    slash > path + plen && strcmp(slash, "/trace") == 0) {
				*arg = path + plen;
				return (enum api_route)i;
			}
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

/*
 * CORS (docs/API.md "Web view"): the network page of one node reads the
 * APIs of others.  An Origin is let in when the node has a bearer token
 * (which the page must then send: nothing is readable without it) or when
 * it is a loopback one (a page served by a local node); never otherwise,
 * so that a web site a user visits cannot read a token-less node.
 */
static int
api_origin_ok(const struct api *a, const char *origin)
{
	char		 host[64];
	const char	*h, *end;
	struct in_addr	 in;

	if (a->have_token)
		return 1;
	if (strncmp(origin, "http://", 7) == 0)
		h = origin + 7;
	else if (strncmp(origin, "https://", 8) == 0)
		h = origin + 8;
	else
		return 0;
	if (strncmp(h, "[::1]", 5) == 0)
		return h[5] == '\0' || h[5] == ':';
	end = h + strcspn(h, ":/");
	if (*end == '/' || (size_t)(end - h) >= sizeof(host))
		return 0;
	memcpy(host, h, (size_t)(end - h));
	host[end - h] = '\0';
	if (strcmp(host, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, host, &in) == 1 &&
	    (ntohl(in.s_addr) >> 24) == 127;
}

/* Adds the CORS headers; answers a preflight (OPTIONS) itself: returns 1. */
static int
api_cors(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type m)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	const char	*origin = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Origin");
	int		 ok;

	if (origin == NULL)
		return 0;
	ok = strlen(origin) < 256 && api_origin_ok(a, origin);
	if (ok) {
		evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
		evhttp_add_header(h, "Vary", "Origin");
	}
	if (m != EVHTTP_REQ_OPTIONS)
		return 0;
	if (!ok) {
		server_error_code(a->srv, req, 403, "origin_refused", "origin "
		    "'%.100s' may not read this API: only loopback origins may, "
		    "unless the node has --api-token-file", origin);
		return 1;
	}
	evhttp_add_header(h, "Access-Control-Allow-Methods",
	    "GET, HEAD, POST, DELETE");
	evhttp_add_header(h, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type, Last-Event-ID");
	evhttp_add_header(h, "Access-Control-Max-Age", "600");
	server_reply(a->srv, req, 204, "text/plain", "", 0);
	return 1;
}

/* Serves the web view's files (web.c) to GET and HEAD: returns 1. */
static int
api_web(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type m)
{
	const char	*raw = evhttp_request_get_uri(req);
	char		 path[64];
	size_t		 len;

	if ((m & API_GET) == 0 || raw[0] != '/' ||
	    (len = strcspn(raw, "?#")) >= sizeof(path))
		return 0;
	memcpy(path, raw, len);
	path[len] = '\0';
	return web_serve(a->srv, req, path);
}

/*
 * The head of a request with a body, before the body is read
 * (server_screen): the token, the size and the admin token are checked
 * as api_handle checks them, so that the body of a request that would be
 * refused is never read.  Other checks wait for the whole request.
 */
static void
api_screen(void *arg, const char *method, const char *target,
    const char *auth, uint64_t body_len, struct server_verdict *v)
{
	struct api	*a = arg;
	const char	*why, *code, *seg, *p;
	char		 path[1024];
	size_t		 len;
	enum api_route	 rt;
	int		 m;

	if (a->have_token &&
	    (why = api_bearer_check_value(auth, a->token_hash, &code)) != NULL) {
		v->code = 401;
		v->ecode = code;
		v->www_auth = "Bearer realm=\"noded\"";
		snprintf(v->msg, sizeof(v->msg), "%s", why);
		return;
	}
	if (body_len != UINT64_MAX && body_len > API_MAX_BODY) {
		v->code = 413;
		v->ecode = "body_too_large";
		snprintf(v->msg, sizeof(v->msg), "request body of %" PRIu64
		    " bytes is over the limit of %d bytes", body_len,
		    API_MAX_BODY);
		return;
	}
	/* The route, from the path as sent (an absolute URI: after its host). */
	p = target;
	if (p[0] != '/' && (p = strstr(target, "://")) != NULL)
		p = strchr(p + 3, '/');
	if (p == NULL || (len = strcspn(p, "?#")) >= sizeof(path) ||
	    api_path_decode(p, len, path) != NULL)
		return;
	for (m = EVHTTP_REQ_GET; m <= EVHTTP_REQ_PATCH; m <<= 1)
		if (strcmp(method, server_method_str(m)) == 0)
			break;
	if (m > EVHTTP_REQ_PATCH)
		return;
	if ((rt = api_route_find(path, &seg)) == ROUTE_NONE ||
	    (m & api_routes[rt].methods) == 0 || !api_route_is_admin(rt,
	    (enum evhttp_cmd_type)m) || api_admin_why(a, auth, method, path,
	    &code, v->msg, sizeof(v->msg)) == 0)
		return;
	v->code = 401;
	v->ecode = code;
	v->www_auth = "Bearer realm=\"noded\"";
}

static void
api_handle(struct evhttp_request *req, struct server_conn *conn, void *arg)
{
	struct api		*a = arg;
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*raw, *why, *seg, *code;
	char			*path = NULL;
	size_t			 rawlen;
	enum api_route		 rt;

	if (api_cors(a, req, m) || api_web(a, req, m))
		return;
	if (a->have_token &&
	    (why = api_bearer_check(req, a->token_hash, &code)) != NULL) {
		api_refuse(a, req, conn, code, why);
		return;
	}
	if (uri == NULL || evhttp_uri_get_path(uri) == NULL) {
		server_error(a->srv, req, 400, "malformed request URI");
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
		server_error(a->srv, req, 400, "bad path '%.*s': %s",
		    (int)(rawlen > 200 ? 200 : rawlen), raw, why);
		goto out;
	}
	if ((rt = api_route_find(path, &seg)) == ROUTE_NONE) {
		server_error(a->srv, req, 404, "not found: %.*s",
		    (int)(rawlen > 200 ? 200 : rawlen), raw);
		goto out;
	}
	if (((int)m & api_routes[rt].methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
		    api_routes[rt].allow);
		server_error(a->srv, req, 405, "method %s not allowed on %.*s "
		    "(allowed: %s)", server_method_str(m), (int)(rawlen > 200 ? 200 : rawlen), raw,
		    api_routes[rt].allow);
		goto out;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    API_MAX_BODY) {
		server_error(a->srv, req, 413, "request body of %zu bytes is over the limit "
		    "of %d bytes", evbuffer_get_length(
		    evhttp_request_get_input_buffer(req)), API_MAX_BODY);
		goto out;
	}
	if (api_route_is_admin(rt, m) && api_admin_check(a, req, conn, path) == -1)
		goto out;
	switch (rt) {
	case ROUTE_TX:
		api_tx_post(a, req, conn);
		break;
	case ROUTE_TX_ID:
		api_tx_get(a, req, seg);
		break;
	case ROUTE_TX_TRACE:
		api_tx_trace(a, req, seg);
		break;
	case ROUTE_MEMPOOL:
		api_mempool_get(a, req, evhttp_uri_get_query(uri));
		break;
	case ROUTE_DIGEST:
		server_reply_json(a->srv, req, 200, api_digest_json(a));
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
		events_serve(a->events, req, conn);
		break;
	case ROUTE_METRICS:
		api_metrics_get(a, req);
		break;
	case ROUTE_HEALTHZ:
		api_healthz_get(a, req);
		break;
	case ROUTE_READYZ:
		api_readyz_get(a, req);
		break;
	case ROUTE_PARTITION:
		api_partition(a, req, m);
		break;
	case ROUTE_LINK:
		if (m == EVHTTP_REQ_POST)
			api_link_post(a, req);
		else
			server_reply_json(a->srv, req, 200, api_link_json(a));
		break;
	case ROUTE_BANS:
		api_bans_get(a, req);
		break;
	case ROUTE_BAN_ID:
		api_ban_delete(a, req, seg);
		break;
	case ROUTE_NONE:
		break;
	}
out:
	free(path);
}

/* --- life cycle ------------------------------------------------------- */

/* Reads and hashes the token of --api-token-file.  0, or -1 after logging what to fix. */
static int
api_load_token(struct api *a, const char *path)
{
	char	tok[TOKEN_MAX + 1], err[TOKEN_FILE_MAX + 256];
	size_t	len;
	int	exposed = 0, rc;

	rc = token_read(path, tok, &len, &exposed, err, sizeof(err));
	if (exposed)
		log_warn("api", "--api-token-file '%s' can be read by other users: "
		    "chmod 600 '%s'", path, path);
	if (rc == -1) {
		log_error("api", "--api-token-file %s", err);
		return -1;
	}
	crypto_generichash(a->token_hash, sizeof(a->token_hash),
	    (const unsigned char *)tok, len, NULL, 0);
	sodium_memzero(tok, sizeof(tok));
	a->have_token = 1;
	return 0;
}

/*
 * Without --api-token-file: a random admin token, written in hex to
 * DATA_DIR/.cookie (mode 0600) for nodectl to read, as bitcoind's cookie.
 * Written beside and renamed, so a reader never sees half of it.  0, or -1
 * after logging what to fix.
 */
static int
api_cookie_write(struct api *a, const char *dir)
{
	uint8_t		 raw[API_COOKIE_BYTES];
	char		 hex[2 * API_COOKIE_BYTES + 2], tmp[sizeof(a->cookie_path) + 8];
	struct stat	 st;
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, err;

	if (datadir_path(a->cookie_path, sizeof(a->cookie_path), dir,
	    DATADIR_COOKIE) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", a->cookie_path) >= (int)sizeof(tmp)) {
		log_error("api", "data dir '%.200s...': too long a path for the API "
		    "cookie", dir);
		return -1;
	}
	randombytes_buf(raw, sizeof(raw));
	hex_encode(hex, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	crypto_generichash(a->cookie_hash, sizeof(a->cookie_hash),
	    (const unsigned char *)hex, 2 * API_COOKIE_BYTES, NULL, 0);
	hex[2 * API_COOKIE_BYTES] = '\n';
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		goto fail;
	while (off < 2 * API_COOKIE_BYTES + 1) {
		w = write(fd, hex + off, 2 * API_COOKIE_BYTES + 1 - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			break;
		off += (size_t)w;
	}
	err = errno;
	sodium_memzero(hex, sizeof(hex));
	if (off != 2 * API_COOKIE_BYTES + 1 || fstat(fd, &st) == -1) {
		err = off != 2 * API_COOKIE_BYTES + 1 ? err : errno;
		close(fd);
		(void)unlink(tmp);
		errno = err;
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, a->cookie_path) == -1) {
		err = errno;
		(void)unlink(tmp);
		errno = err;
		goto fail;
	}
	a->cookie_dev = st.st_dev;
	a->cookie_ino = st.st_ino;
	a->have_cookie = 1;
	return 0;
fail:
	log_error("api", "cannot write the API cookie %s: %s (the data dir must be "
	    "writable, or give --api-token-file FILE)", a->cookie_path,
	    strerror(errno));
	return -1;
}

/* Removes the cookie this node wrote (not one another process put there since). */
static void
api_cookie_remove(struct api *a)
{
	struct stat	st;

	if (!a->have_cookie)
		return;
	a->have_cookie = 0;
	if (stat(a->cookie_path, &st) == 0 && st.st_dev == a->cookie_dev &&
	    st.st_ino == a->cookie_ino && unlink(a->cookie_path) == -1)
		log_warn("api", "cannot remove the API cookie %s: %s",
		    a->cookie_path, strerror(errno));
}

struct api *
api_new(struct node *n, struct admit *admit, struct mempool *mp, struct net *net)
{
	const struct config	*cfg = n->cfg;
	struct api		*a;
	struct addr	 real = cfg->api;
	char			 addr[ADDR_STR_MAX];
	int			 loopback;

	addr_str(&cfg->api, addr, sizeof(addr));
	a = xcalloc(1, sizeof(*a));
	a->n = n;
	a->admit = admit;
	a->mp = mp;
	a->net = net;
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
	a->srv = server_new(n->base, &cfg->api, config_source(cfg, "api"),
	    API_HTTP_MAX_BODY, api_handle, a);
	if (a->srv == NULL)
		goto fail;
	server_set_screen(a->srv, api_screen, a);
	/* After the bind: a node that cannot serve leaves no cookie behind. */
	if (!a->have_token && api_cookie_write(a, cfg->data_dir) == -1) {
		server_free(a->srv);
		goto fail;
	}
	a->events = events_new(n, a->srv);
	a->metrics.n = n;
	a->metrics.mp = mp;
	a->metrics.admit = admit;
	a->metrics.net = net;
	a->metrics.srv = a->srv;
	a->metrics.events = a->events;
	real.port = server_port(a->srv);
	addr_str(&real, addr, sizeof(addr));
	if (a->have_token)
		log_info("api", "listening on http://%s (bearer token required)",
		    addr);
	else
		log_info("api", "listening on http://%s (admin token in %s)", addr,
		    a->cookie_path);
	return a;
fail:
	free(a);
	return NULL;
}

void
api_shutdown(struct api *a)
{
	struct api_txreq	*r;

	if (a == NULL || a->stopping)
		return;
	a->stopping = 1;
	server_shutdown(a->srv);
	while ((r = LIST_FIRST(&a->txreqs)) != NULL) {
		api_txreq_unlink(r);
		api_txreq_cancel(r);
		server_error_code(a->srv, r->req, 503, "shutting_down",
		    "node is shutting down");
		free(r);
	}
	events_shutdown(a->events);
}

void
api_free(struct api *a)
{
	if (a == NULL)
		return;
	api_shutdown(a);
	events_free(a->events);
	server_free(a->srv);
	api_cookie_remove(a);
	free(a);
}

uint16_t
api_port(const struct api *a)
{
	return server_port(a->srv);
}

void
api_set_prov(struct api *a, struct prov *pr)
{
	a->prov = pr;
}
