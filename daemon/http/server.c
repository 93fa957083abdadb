/*
 * server.c: the hardened HTTP server under the API.
 *
 * The server owns its listener (evhttp_bind_listener) to survive running
 * out of descriptors, and tracks every connection (struct server_conn,
 * found through evhttp_set_bevcb) to cap their number and to close one that
 * does not send a whole request in time.  An answer that waits is held:
 * evhttp stops reading a connection once it has the whole request, so a
 * read event of our own on the socket notices a client that leaves.
 * Loop thread only.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "base/budget.h"
#include "base/log.h"
#include "http/jenc.h"
#include "http/server.h"
#include "lib/addr.h"
#include "lib/util.h"

#define SERVER_MAX_HEADERS	(16 * 1024)
#ifndef SERVER_TIMEOUT_S
#define SERVER_TIMEOUT_S	60	/* no byte read or written */
#endif
#ifndef SERVER_REQUEST_S
#define SERVER_REQUEST_S	20	/* to send a whole request, once idle */
#endif
#define SERVER_ACCEPT_PAUSE_S	1	/* listener rest after accept(2) failed */
#define SERVER_ACCEPT_QUIET_S	10	/* without a failure: the episode is over */
#define SERVER_BACKLOG		128
#define SERVER_SERIES_MAX	128	/* (method, status) pairs counted; 9 x 12 in use */
#define SERVER_LINGER_S		5	/* a refused body is read and thrown away this long */
#define SERVER_RSV_MAX		16	/* requests of a connection screened ahead of their answer */

/* Where the screen of a connection's byte stream is (server_incb). */
enum server_screen_state {
	SCREEN_HEAD = 0,	/* in a request's head (or before one) */
	SCREEN_BODY,		/* in a body let through: body_left bytes to go */
	SCREEN_DISCARD,		/* refused: everything read is thrown away */
	SCREEN_OFF		/* a head evhttp will refuse itself: not followed */
};

/*
 * One connection, from the accept (evhttp_set_bevcb hands us its new
 * bufferevent) to its close (evhttp_connection_set_closecb).  evhttp has no
 * hook between the two that names the connection, so a fresh one waits on
 * s->fresh until server_conn_attach finds its evhttp_connection, which is
 * before anything is read from it.
 */
struct server_conn {
	TAILQ_ENTRY(server_conn) entry;
	struct server		*srv;
	struct bufferevent	*bev;
	struct evhttp_connection *evcon;	/* NULL while fresh */
	struct event		*deadline;	/* for a whole request */
	/* A held answer: */
	struct evhttp_request	*req;
	struct event		*watch;		/* EOF from the client */
	void			(*gone)(void *, int);
	void			*arg;
	/* The screen of its requests (server_incb): */
	struct evbuffer_cb_entry *incb;
	enum server_screen_state sstate;
	char			*head;		/* the head so far, SERVER_MAX_HEADERS */
	size_t			 hlen;
	uint64_t		 body_left;	/* of the body being read */
	uint64_t		 rsv[SERVER_RSV_MAX];	/* api_body held per request, in order */
	size_t			 nrsv;
	int			 rewriting;	/* server_refuse puts bytes back */
};
TAILQ_HEAD(server_conn_list, server_conn);

/* Answers counted by method and status, for noded_api_requests_total. */
struct server_series {
	int		method;		/* EVHTTP_REQ_* */
	int		code;
	uint64_t	n;
};

struct server {
	struct event_base	*base;
	struct evhttp		*http;
	struct evconnlistener	*lis;		/* owned by http once bound */
	uint16_t		 port;
	int			 stopping;
	server_handler		 handler;
	void			*arg;
	server_screen		 screen;
	void			*screen_arg;
	struct server_conn_list	 conns;
	struct server_conn_list	 fresh;		/* accepted, not attached yet */
	struct event		*attach;	/* runs server_conn_attach */
	unsigned		 nconns;
	int			 capped;	/* at SERVER_MAX_CONNS: closing new ones */
	uint64_t		 refused;	/* in this capped episode */
	struct event		*resume;	/* re-enables lis after a pause */
	int			 accept_failing;	/* in an episode of failed accept(2) */
	uint64_t		 accept_failures;	/* in this episode */
	uint64_t		 accept_failed_ns;	/* the last one, mono_ns() */
	struct evbuffer		*scratch;
	uint64_t		 requests;
	struct server_series	 series[SERVER_SERIES_MAX];	/* by method, then code */
	size_t			 nseries;
};

/*
 * evhttp_bind_listener makes the evhttp the listener's callback argument,
 * the error callback's too, so that callback finds the server here.  There
 * is one server per process.
 */
static struct server	*server_listening;

static struct log_limit server_log_refused = LOG_LIMIT("api",
    "requests refused on their head", 10, 10000);
/* A flood of short connections crosses the limit again and again. */
static struct log_limit server_log_capped = LOG_LIMIT("api",
    "connection limit reached", 2, 10000);
static struct log_limit server_log_uncapped = LOG_LIMIT("api",
    "below the connection limit again", 2, 10000);

const char *
server_method_str(int m)
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
server_status_str(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

void
server_conn_addr(struct server_conn *c, char *out, size_t outlen)
{
	char		*host = NULL;
	ev_uint16_t	 port = 0;
	struct addr	 a;

	if (c->evcon != NULL)
		evhttp_connection_get_peer(c->evcon, &host, &port);
	if (host == NULL) {
		snprintf(out, outlen, "?");
		return;
	}
	snprintf(a.host, sizeof(a.host), "%s", host);
	a.port = port;
	addr_str(&a, out, outlen);
}

/* Counts an answer, in the series of its method and status. */
static void
server_count_method(struct server *s, int m, int code)
{
	size_t	i;

	s->requests++;
	for (i = 0; i < s->nseries; i++) {
		if (s->series[i].method == m && s->series[i].code == code) {
			s->series[i].n++;
			return;
		}
		if (strcmp(server_method_str(s->series[i].method),
		    server_method_str(m)) > 0 || (s->series[i].method == m &&
		    s->series[i].code > code))
			break;
	}
	/* Methods and statuses are the few this server knows: never full. */
	if (s->nseries == SERVER_SERIES_MAX)
		return;
	memmove(&s->series[i + 1], &s->series[i], (s->nseries - i) *
	    sizeof(s->series[0]));
	s->series[i].method = m;
	s->series[i].code = code;
	s->series[i].n = 1;
	s->nseries++;
}

static void
server_count(struct server *s, struct evhttp_request *req, int code)
{
	server_count_method(s, (int)evhttp_request_get_command(req), code);
}

void
server_reply(struct server *s, struct evhttp_request *req, int code,
    const char *ctype, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf = s->scratch;
	char			 clen[32];

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_drain(buf, evbuffer_get_length(buf));
	/*
	 * HEAD: the GET's head without its body.  evhttp (2.1) would send the
	 * body and leave out the length: the length is the GET's (unless the
	 * GET's answer is streamed: Transfer-Encoding then).
	 */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		if (evhttp_find_header(h, "Transfer-Encoding") == NULL) {
			snprintf(clen, sizeof(clen), "%zu", len);
			evhttp_add_header(h, "Content-Length", clen);
		}
	} else
		evbuffer_add(buf, body, len);
	log_debug("api", "%s %s: %d", server_method_str(
	    evhttp_request_get_command(req)), evhttp_request_get_uri(req), code);
	server_count(s, req, code);
	evhttp_send_reply(req, code, server_status_str(code), buf);
}

void
server_reply_json(struct server *s, struct evhttp_request *req, int code,
    json_t *j)
{
	char	*str;

	str = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (str == NULL) {
		static const char oom[] = "{\"error\":\"cannot encode the answer\"}\n";

		server_reply(s, req, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	/* A newline makes curl output and line-based clients happy. */
	str = xrealloc(str, strlen(str) + 2);
	strcat(str, "\n");
	server_reply(s, req, code, "application/json", str, strlen(str));
	free(str);
}

/* {"error": msg} and, if ecode is not NULL, "code". */
static void
server_verror(struct server *s, struct evhttp_request *req, int code,
    const char *ecode, const char *fmt, va_list ap)
{
	char	 msg[1024];
	json_t	*o;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	o = json_pack("{s:o}", "error", jenc_str(msg));
	if (ecode != NULL)
		json_object_set_new(o, "code", json_string(ecode));
	server_reply_json(s, req, code, o);
}

void
server_error(struct server *s, struct evhttp_request *req, int code,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	server_verror(s, req, code, NULL, fmt, ap);
	va_end(ap);
}

void
server_error_code(struct server *s, struct evhttp_request *req, int code,
    const char *ecode, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	server_verror(s, req, code, ecode, fmt, ap);
	va_end(ap);
}

int
server_reply_start(struct server *s, struct evhttp_request *req)
{
	const char	*te;

	evhttp_send_reply_start(req, 200, "OK");
	server_count(s, req, 200);
	/* evhttp chose chunks (HTTP/1.1) or a body that ends with the connection. */
	te = evhttp_find_header(evhttp_request_get_output_headers(req),
	    "Transfer-Encoding");
	return te != NULL && strcasecmp(te, "chunked") == 0;
}

void
server_reply_end(struct evhttp_request *req)
{
	evhttp_send_reply_end(req);
}

/* --- held answers ----------------------------------------------------- */

/*
 * After the connection went down under a pending request, evhttp has
 * detached the request and left it to us (see evhttp_connection_fail_)
 * unless it frees it itself with the connection.
 */
static void
server_req_orphan_free(struct evhttp_request *req)
{
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

void
server_conn_release(struct server_conn *c)
{
	if (c->watch != NULL) {
		event_free(c->watch);
		c->watch = NULL;
	}
	c->req = NULL;
	c->gone = NULL;
	c->arg = NULL;
}

/*
 * recv(MSG_PEEK) reading 0 bytes is the client's FIN.  Bytes (a pipelined
 * request) end the watch; evhttp reads them after the answer.  A client
 * that half-closes its side while waiting counts as gone.
 */
static void
server_watchcb(evutil_socket_t fd, short what, void *arg)
{
	struct server_conn	*c = arg;
	void			(*gone)(void *, int) = c->gone;
	void			*garg = c->arg;
	ssize_t			 n;
	char			 ch;

	(void)what;
	n = recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		return;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR)) {
		event_add(c->watch, NULL);
		return;
	}
	server_conn_release(c);
	if (gone != NULL)
		gone(garg, 1);
	/* Frees the request too: it is still attached.  closecb frees c. */
	evhttp_connection_free(c->evcon);
}

void
server_conn_hold(struct server_conn *c, struct evhttp_request *req,
    void (*gone)(void *, int), void *arg)
{
	struct bufferevent	*bev;
	evutil_socket_t		 fd;

	c->req = req;
	c->gone = gone;
	c->arg = arg;
	if (c->evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(c->evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) < 0)
		return;
	if ((c->watch = event_new(c->srv->base, fd, EV_READ, server_watchcb,
	    c)) != NULL)
		event_add(c->watch, NULL);
}

void
server_conn_drop(struct server_conn *c)
{
	server_conn_release(c);
	/* Frees the request too: it is still attached.  closecb frees c. */
	evhttp_connection_free(c->evcon);
}

struct evbuffer *
server_conn_output(struct server_conn *c)
{
	return bufferevent_get_output(evhttp_connection_get_bufferevent(c->evcon));
}

/* --- the screen: heads decided before their bodies are read ------------ */

/*
 * evhttp (2.1) reads a whole request, body and all, before a handler sees
 * it, and has no hook between the head and the body.  So the server reads
 * each connection's byte stream beside evhttp, from a callback on its input
 * buffer that runs as bytes arrive and before evhttp's read callback: it
 * keeps a copy of each head, and once a head is whole and announces a
 * body, asks the screen (auth, size) and the api_body budget.  A request
 * refused there is answered at once and its bytes are thrown away as they
 * come, so evhttp never sees the rest of the head nor any of the body.  A
 * body let through is counted, so that the next head is found where evhttp
 * will find it: a body for every method but HEAD and TRACE (GET too),
 * chunked or sized by the first Content-Length, as evhttp decides.
 */

static int
server_method_parse(const char *m)
{
	static const int methods[] = { EVHTTP_REQ_GET, EVHTTP_REQ_POST,
	    EVHTTP_REQ_HEAD, EVHTTP_REQ_PUT, EVHTTP_REQ_DELETE,
	    EVHTTP_REQ_OPTIONS, EVHTTP_REQ_TRACE, EVHTTP_REQ_CONNECT,
	    EVHTTP_REQ_PATCH };
	size_t	i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(m, server_method_str(methods[i])) == 0)
			return methods[i];
	return 0;
}

/* Gives back what c's oldest screened request held of the api_body budget. */
static void
server_rsv_pop(struct server_conn *c)
{
	if (c->nrsv == 0)
		return;
	if (c->rsv[0] > 0)
		budget_sub(c->srv->base, BUDGET_API_BODY, c->rsv[0]);
	memmove(&c->rsv[0], &c->rsv[1], (c->nrsv - 1) * sizeof(c->rsv[0]));
	c->nrsv--;
}

/*
 * Answers c's request at once with v, straight to the socket, and closes
 * its sending side: what the client still sends is read and thrown away
 * for SERVER_LINGER_S (so that it reads the answer rather than a reset),
 * then the connection closes.  A request sent behind others not answered
 * yet (pipelined) cannot be answered first: the first keep bytes of in
 * (theirs) stay for evhttp, the refused one gets no answer, and the
 * connection closes once theirs went out.
 */
static void
server_refuse(struct server_conn *c, struct evbuffer *in, size_t keep,
    const char *method, const char *target, struct server_verdict *v)
{
	struct server	*s = c->srv;
	struct timeval	 tv = { SERVER_LINGER_S, 0 };
	json_t		*o;
	char		*body, head[512], addr[80];
	int		 fd, n;
	size_t		 blen;

	c->sstate = SCREEN_DISCARD;
	server_conn_addr(c, addr, sizeof(addr));
	if (c->nrsv > 0) {
		char	*earlier = keep > 0 ? xmalloc(keep) : NULL;

		if (keep > 0 && evbuffer_remove(in, earlier, keep) != (int)keep)
			keep = 0;
		evbuffer_drain(in, evbuffer_get_length(in));
		c->rewriting = 1;
		if (keep > 0)
			evbuffer_add(in, earlier, keep);
		c->rewriting = 0;
		free(earlier);
		log_limited(&server_log_refused, LOG_WARN, "refused %s %.200s from "
		    "%s: %s (%d, body not read; sent behind %zu unanswered: no "
		    "answer, the connection closes after theirs)", method, target,
		    addr, v->msg, v->code, c->nrsv);
		server_count_method(s, server_method_parse(method), v->code);
		return;
	}
	evbuffer_drain(in, evbuffer_get_length(in));
	o = json_pack("{s:o}", "error", jenc_str(v->msg));
	if (v->ecode != NULL)
		json_object_set_new(o, "code", json_string(v->ecode));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	blen = body != NULL ? strlen(body) : 0;
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nCache-Control: no-store\r\n%s%s%s"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n", v->code,
	    server_status_str(v->code), v->www_auth != NULL ?
	    "WWW-Authenticate: " : "", v->www_auth != NULL ? v->www_auth : "",
	    v->www_auth != NULL ? "\r\n" : "", blen + 1);
	if ((fd = bufferevent_getfd(c->bev)) >= 0 && n > 0 &&
	    (size_t)n < sizeof(head)) {
		struct iovec	 iov[3] = { { head, (size_t)n },
		    { body, blen }, { (char *)"\n", 1 } };
		struct msghdr	 msg;

		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = 3;
		/* A fresh answer on an idle socket: its buffer takes it whole. */
		(void)sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)shutdown(fd, SHUT_WR);
	}
	free(body);
	server_count_method(s, server_method_parse(method), v->code);
	log_limited(&server_log_refused, LOG_WARN, "refused %s %.200s from %s: "
	    "%s (%d, body not read)", method, target, addr, v->msg, v->code);
	if (c->deadline != NULL)
		evtimer_add(c->deadline, &tv);
}

/* Finds the end of a head in buf (len bytes): the index after its empty line, or 0. */
static size_t
server_head_end(const char *buf, size_t len, size_t from)
{
	size_t	i;

	for (i = from; i < len; i++) {
		if (buf[i] != '\n' || i == 0)
			continue;
		if (buf[i - 1] == '\n')
			return i + 1;
		if (buf[i - 1] == '\r' && i >= 2 && buf[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/*
 * A whole head (len bytes, NUL added): decides it.  Returns the body's
 * length to follow, or -1 when c was refused or is no longer screened.
 */
static int64_t
server_head(struct server_conn *c, struct evbuffer *in, size_t start, char *h,
    size_t len)
{
	struct server	*s = c->srv;
	struct server_verdict v;
	char		*line, *next, *method, *target, *colon, *val, *end;
	const char	*clen = NULL, *te = NULL, *auth = NULL;
	uint64_t	 body = 0;
	long long	 ll;
	int		 m, first = 1;

	h[len] = '\0';
	method = target = NULL;
	for (line = h; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((end = strchr(line, '\r')) != NULL && end[1] == '\0')
			*end = '\0';
		if (*line == '\0')
			break;
		if (first) {
			first = 0;
			method = line;
			if ((target = strchr(line, ' ')) == NULL)
				return -1;
			*target++ = '\0';
			if ((end = strchr(target, ' ')) != NULL)
				*end = '\0';
			continue;
		}
		/* Folded lines (obsolete) would hide a header from us: evhttp refuses the head. */
		if (*line == ' ' || *line == '\t')
			return -1;
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		for (end = val + strlen(val); end > val && (end[-1] == ' ' ||
		    end[-1] == '\t'); end--)
			end[-1] = '\0';
		/* evhttp reads the first of each. */
		if (strcasecmp(line, "Content-Length") == 0 && clen == NULL)
			clen = val;
		else if (strcasecmp(line, "Transfer-Encoding") == 0 && te == NULL)
			te = val;
		else if (strcasecmp(line, "Authorization") == 0 && auth == NULL)
			auth = val;
	}
	if (method == NULL)
		return -1;
	m = server_method_parse(method);
	/* evhttp (2.1.12) reads a body for every method but these. */
	if (m == 0 || m == EVHTTP_REQ_HEAD || m == EVHTTP_REQ_TRACE)
		clen = te = NULL;
	if (te != NULL && strcasecmp(te, "chunked") == 0)
		body = UINT64_MAX;
	else if (clen != NULL) {
		errno = 0;
		ll = strtoll(clen, &end, 10);
		if (*clen == '\0' || *end != '\0' || ll < 0 || errno != 0)
			return -1;	/* evhttp answers 400 */
		body = (uint64_t)ll;
	}
	memset(&v, 0, sizeof(v));
	if (body > 0 && s->screen != NULL)
		s->screen(s->screen_arg, method, target, auth, body, &v);
	if (v.code == 0 && body == UINT64_MAX) {
		v.code = 411;
		v.ecode = "length_required";
		snprintf(v.msg, sizeof(v.msg), "a request body needs a "
		    "Content-Length: chunked request bodies are not accepted");
	}
	/* Each request's entry, body or not, is taken out when it is answered. */
	if (v.code == 0 && c->nrsv == SERVER_RSV_MAX) {
		v.code = 503;
		v.ecode = "too_many_pipelined";
		snprintf(v.msg, sizeof(v.msg), "more than %d requests sent ahead "
		    "of their answers", SERVER_RSV_MAX);
	}
	if (v.code == 0 && budgets[BUDGET_API_BODY].used + body >
	    budgets[BUDGET_API_BODY].limit) {
		budgets[BUDGET_API_BODY].refused++;
		budgets[BUDGET_API_BODY].cuts++;
		v.code = 503;
		v.ecode = "body_budget";
		snprintf(v.msg, sizeof(v.msg), "node busy: request bodies of %"
		    PRIu64 " bytes held, this one of %" PRIu64 " would pass the "
		    "budget of %" PRIu64 " bytes (--api-body-budget); retry",
		    budgets[BUDGET_API_BODY].used, body,
		    budgets[BUDGET_API_BODY].limit);
	}
	if (v.code != 0) {
		server_refuse(c, in, start, method, target, &v);
		return -1;
	}
	if (body > 0)
		budget_add(BUDGET_API_BODY, body);
	c->rsv[c->nrsv++] = body;
	return (int64_t)body;
}

/* Follows n bytes of c's stream, from offset off of in. */
static void
server_screen_bytes(struct server_conn *c, struct evbuffer *in, size_t off,
    size_t n)
{
	struct evbuffer_ptr	 pos;
	size_t			 take, end, from;
	int64_t			 body;

	while (n > 0 && c->sstate != SCREEN_DISCARD && c->sstate != SCREEN_OFF) {
		if (c->sstate == SCREEN_BODY) {
			take = n < c->body_left ? n : (size_t)c->body_left;
			c->body_left -= take;
			off += take;
			n -= take;
			if (c->body_left == 0)
				c->sstate = SCREEN_HEAD;
			continue;
		}
		if (c->head == NULL)
			c->head = xmalloc(SERVER_MAX_HEADERS + 1);
		take = SERVER_MAX_HEADERS - c->hlen;
		if (take > n)
			take = n;
		if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) == -1 ||
		    evbuffer_copyout_from(in, &pos, c->head + c->hlen, take) !=
		    (ev_ssize_t)take) {
			c->sstate = SCREEN_OFF;
			break;
		}
		from = c->hlen;
		c->hlen += take;
		/* Empty lines before a request line are not its end. */
		while (c->hlen > 0 && (c->head[0] == '\r' || c->head[0] == '\n')) {
			memmove(c->head, c->head + 1, --c->hlen);
			from = 0;
		}
		if ((end = server_head_end(c->head, c->hlen, from > 2 ? from - 2 :
		    0)) == 0) {
			off += take;
			n -= take;
			if (c->hlen == SERVER_MAX_HEADERS)
				c->sstate = SCREEN_OFF;	/* evhttp refuses it */
			continue;
		}
		/* The head's bytes of this chunk: the rest is its body or the next head. */
		take -= c->hlen - end;
		off += take;
		n -= take;
		/* Where the head began, if it is all still in (evhttp not reading: nrsv > 0). */
		body = server_head(c, in, off >= end ? off - end : 0, c->head, end);
		c->hlen = 0;
		free(c->head);
		c->head = NULL;
		if (c->sstate == SCREEN_DISCARD)
			return;
		if (body < 0) {
			c->sstate = SCREEN_OFF;
			return;
		}
		if (body > 0) {
			c->sstate = SCREEN_BODY;
			c->body_left = (uint64_t)body;
		}
	}
}

/*
 * Every change of a connection's input buffer: bytes read run through the
 * screen before evhttp's read callback sees them.
 */
static void
server_incb(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct server_conn	*c = arg;
	size_t			 len = evbuffer_get_length(in), n = info->n_added;

	if (n == 0 || c->sstate == SCREEN_OFF || c->rewriting)
		return;
	if (c->sstate == SCREEN_DISCARD) {
		evbuffer_drain(in, len);
		return;
	}
	if (n > len)
		n = len;
	server_screen_bytes(c, in, len - n, n);
}

void
server_set_screen(struct server *s, server_screen screen, void *arg)
{
	s->screen = screen;
	s->screen_arg = arg;
}

/* Stops screening c (it is going away): what it held goes back. */
static void
server_screen_end(struct server_conn *c)
{
	if (c->incb != NULL && c->bev != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
	c->incb = NULL;
	while (c->nrsv > 0)
		server_rsv_pop(c);
	free(c->head);
	c->head = NULL;
}

/* --- connections ------------------------------------------------------ */

static struct server_conn *
server_conn_find(struct server *s, struct evhttp_connection *evcon)
{
	struct server_conn	*c;

	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->evcon == evcon)
			return c;
	}
	return NULL;
}

/* The connection did not send a whole request in time: close it. */
static void
server_deadlinecb(evutil_socket_t fd, short what, void *arg)
{
	struct server_conn	*c = arg;
	char			 addr[80];

	(void)fd;
	(void)what;
	if (c->req != NULL)
		return;
	server_conn_addr(c, addr, sizeof(addr));
	log_debug("api", "closing %s: no whole request within %d s", addr,
	    SERVER_REQUEST_S);
	/* server_closecb frees c. */
	evhttp_connection_free(c->evcon);
}

/* The answer went out: the connection has SERVER_REQUEST_S for its next request. */
static void
server_req_donecb(struct evhttp_request *req, void *arg)
{
	struct server_conn	*c = arg;
	struct timeval		 tv = { SERVER_REQUEST_S, 0 };

	(void)req;
	server_rsv_pop(c);
	/* A refused request waits behind this one: no more answers, close soon. */
	if (c->sstate == SCREEN_DISCARD && c->nrsv == 0)
		tv.tv_sec = SERVER_LINGER_S;
	evtimer_add(c->deadline, &tv);
}

/* evhttp is freeing a connection. */
static void
server_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct server_conn	*c = arg;
	struct server		*s = c->srv;
	struct evhttp_request	*req = c->req;
	void			(*gone)(void *, int) = c->gone;
	void			*garg = c->arg;

	(void)evcon;
	server_screen_end(c);
	if (req != NULL) {
		server_conn_release(c);
		if (gone != NULL)
			gone(garg, 0);
		server_req_orphan_free(req);
	}
	TAILQ_REMOVE(&s->conns, c, entry);
	s->nconns--;
	event_free(c->deadline);
	free(c);
	if (s->capped && s->nconns < SERVER_MAX_CONNS) {
		log_limited(&server_log_uncapped, LOG_INFO, "below %d connections "
		    "again; %" PRIu64 " refused meanwhile", SERVER_MAX_CONNS,
		    s->refused);
		s->capped = 0;
	}
}

/*
 * Finds the connections evhttp built around the bufferevents of
 * server_bevcb (their callback argument is the evhttp_connection): each
 * gets its close callback and request deadline, or is closed at once when
 * SERVER_MAX_CONNS are open.
 */
static void
server_conn_attach(struct server *s)
{
	struct server_conn	*c;
	struct timeval		 tv = { SERVER_REQUEST_S, 0 };
	void			*cbarg = NULL;

	while ((c = TAILQ_FIRST(&s->fresh)) != NULL) {
		TAILQ_REMOVE(&s->fresh, c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL) {
			/* evhttp could not set the connection up: nothing to track. */
			free(c);
			continue;
		}
		c->evcon = cbarg;
		if (s->nconns >= SERVER_MAX_CONNS) {
			if (!s->capped) {
				log_limited(&server_log_capped, LOG_WARN, "%d "
				    "connections open, the limit: closing new ones "
				    "until some close", SERVER_MAX_CONNS);
				s->capped = 1;
				s->refused = 0;
			}
			s->refused++;
			server_screen_end(c);
			evhttp_connection_free(c->evcon);
			free(c);
			continue;
		}
		c->deadline = evtimer_new(s->base, server_deadlinecb, c);
		if (c->deadline == NULL) {
			log_error("api", "cannot create a timer");
			abort();
		}
		TAILQ_INSERT_TAIL(&s->conns, c, entry);
		s->nconns++;
		evhttp_connection_set_closecb(c->evcon, server_closecb, c);
		evtimer_add(c->deadline, &tv);
	}
}

static void
server_attachcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	server_conn_attach(arg);
}

/*
 * evhttp accepted a connection and asks for its bufferevent (no descriptor
 * yet).  The connection is attached from an event made active here, which
 * runs before the loop next polls, so before its first byte is read.
 */
static struct bufferevent *
server_bevcb(struct event_base *base, void *arg)
{
	struct server		*s = arg;
	struct server_conn	*c;
	struct bufferevent	*bev;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
		log_error("api", "cannot create a bufferevent");
		abort();
	}
	/*
	 * Near the descriptor limit accept(2) may fail and succeed by turns:
	 * the episode ends with a success SERVER_ACCEPT_QUIET_S after the last
	 * failure, so it is logged twice at most however long it lasts.
	 */
	if (s->accept_failing && mono_ns() - s->accept_failed_ns >=
	    (uint64_t)SERVER_ACCEPT_QUIET_S * 1000000000) {
		log_info("api", "accepting connections again after %" PRIu64
		    " failed accept(2) calls", s->accept_failures);
		s->accept_failing = 0;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = s;
	c->bev = bev;
	c->incb = evbuffer_add_cb(bufferevent_get_input(bev), server_incb, c);
	TAILQ_INSERT_TAIL(&s->fresh, c, entry);
	event_active(s->attach, EV_READ, 0);
	return bev;
}

/*
 * accept(2) failed, typically with EMFILE: the pending connection stays in
 * the queue and the listener would be called again at once, forever.  Rest
 * it for SERVER_ACCEPT_PAUSE_S; log once per episode (see server_bevcb).
 */
static void
server_listen_errorcb(struct evconnlistener *lis, void *arg)
{
	struct server	*s = server_listening;
	int		 err = EVUTIL_SOCKET_ERROR();
	struct timeval	 tv = { SERVER_ACCEPT_PAUSE_S, 0 };

	(void)arg;
	evconnlistener_disable(lis);
	if (s == NULL || s->lis != lis)
		return;
	if (!s->accept_failing) {
		log_warn("api", "cannot accept connections: %s; retrying every %d s",
		    evutil_socket_error_to_string(err), SERVER_ACCEPT_PAUSE_S);
		s->accept_failing = 1;
		s->accept_failures = 0;
	}
	s->accept_failures++;
	s->accept_failed_ns = mono_ns();
	evtimer_add(s->resume, &tv);
}

static void
server_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*s = arg;

	(void)fd;
	(void)what;
	if (!s->stopping)
		evconnlistener_enable(s->lis);
}

/* Every request comes here first: tracked, timed, refused while stopping. */
static void
server_dispatch(struct evhttp_request *req, void *arg)
{
	struct server		*s = arg;
	struct server_conn	*c;

	if ((c = server_conn_find(s, evhttp_request_get_connection(req))) ==
	    NULL) {
		/* Cannot happen: connections are attached before they are read. */
		server_error(s, req, 503, "connection not tracked");
		return;
	}
	evtimer_del(c->deadline);
	evhttp_request_set_on_complete_cb(req, server_req_donecb, c);
	if (s->stopping) {
		server_error_code(s, req, 503, "shutting_down",
		    "node is shutting down");
		return;
	}
	s->handler(req, c, s->arg);
}

/*
 * Binds addr as evhttp_bind_socket would, but with a listener of our own,
 * so that a failing accept(2) reaches server_listen_errorcb.  0, or -1
 * after logging why.
 */
static int
server_listen(struct server *s, const struct addr *ca, const char *source,
    const char *addr)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	char			 port[8];
	int			 rc, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)ca->port);
	rc = evutil_getaddrinfo(ca->host[0] != '\0' ? ca->host : NULL,
	    port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("api", "cannot listen on %s (%s): %s", addr, source,
		    evutil_gai_strerror(rc));
		return -1;
	}
	errno = 0;
	/* No callback yet: evhttp_bind_listener sets its own and enables it. */
	s->lis = evconnlistener_new_bind(s->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SERVER_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
	evutil_freeaddrinfo(res);
	if (s->lis == NULL) {
		log_error("api", "cannot listen on %s (%s): %s", addr, source,
		    errno != 0 ? strerror(errno) : "bind failed");
		return -1;
	}
	/* As evhttp_bind_socket does; accepted sockets inherit it. */
	(void)setsockopt(evconnlistener_get_fd(s->lis), SOL_SOCKET, SO_KEEPALIVE,
	    &on, sizeof(on));
	evconnlistener_set_error_cb(s->lis, server_listen_errorcb);
	if (evhttp_bind_listener(s->http, s->lis) == NULL) {
		log_error("api", "cannot listen on %s (%s): out of memory", addr,
		    source);
		evconnlistener_free(s->lis);
		s->lis = NULL;
		return -1;
	}
	return 0;
}

struct server *
server_new(struct event_base *base, const struct addr *ca,
    const char *source, size_t max_body, server_handler h, void *arg)
{
	struct server		*s;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct addr		 bound;
	char			 addr[ADDR_STR_MAX];

	addr_str(ca, addr, sizeof(addr));
	s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->handler = h;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->fresh);
	if ((s->http = evhttp_new(base)) == NULL ||
	    (s->scratch = evbuffer_new()) == NULL ||
	    (s->attach = event_new(base, -1, 0, server_attachcb, s)) == NULL ||
	    (s->resume = evtimer_new(base, server_resumecb, s)) == NULL) {
		log_error("api", "cannot create the HTTP server");
		server_free(s);
		return NULL;
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(s->http, max_body);
	evhttp_set_max_headers_size(s->http, SERVER_MAX_HEADERS);
	evhttp_set_timeout(s->http, SERVER_TIMEOUT_S);
	evhttp_set_gencb(s->http, server_dispatch, s);
	evhttp_set_bevcb(s->http, server_bevcb, s);
	if (server_listen(s, ca, source, addr) == -1) {
		server_free(s);
		return NULL;
	}
	server_listening = s;
	s->port = ca->port;
	if (getsockname(evconnlistener_get_fd(s->lis),
	    (struct sockaddr *)&ss, &sslen) == 0 &&
	    addr_from_sockaddr(&bound, (struct sockaddr *)&ss) == 0)
		s->port = bound.port;
	return s;
}

void
server_shutdown(struct server *s)
{
	if (s == NULL || s->stopping)
		return;
	s->stopping = 1;
	evtimer_del(s->resume);
}

void
server_free(struct server *s)
{
	struct server_conn	*c;

	if (s == NULL)
		return;
	server_shutdown(s);
	/* Frees the listener, and every connection through server_closecb. */
	if (s->http != NULL)
		evhttp_free(s->http);
	while ((c = TAILQ_FIRST(&s->fresh)) != NULL) {
		TAILQ_REMOVE(&s->fresh, c, entry);
		free(c);
	}
	if (server_listening == s)
		server_listening = NULL;
	if (s->attach != NULL)
		event_free(s->attach);
	if (s->resume != NULL)
		event_free(s->resume);
	if (s->scratch != NULL)
		evbuffer_free(s->scratch);
	free(s);
}

uint16_t
server_port(const struct server *s)
{
	return s->port;
}

uint64_t
server_requests(const struct server *s)
{
	return s->requests;
}

void
server_requests_foreach(const struct server *s, void (*cb)(void *arg,
    const char *method, int code, uint64_t n), void *arg)
{
	size_t	i;

	for (i = 0; i < s->nseries; i++)
		cb(arg, server_method_str(s->series[i].method), s->series[i].code,
		    s->series[i].n);
}
