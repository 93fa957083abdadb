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
server_count(struct server *s, struct evhttp_request *req, int code)
{
	int	m = (int)evhttp_request_get_command(req);
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
		log_info("api", "below %d connections again; %" PRIu64 " refused "
		    "meanwhile", SERVER_MAX_CONNS, s->refused);
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
				log_warn("api", "%d connections open, the limit: closing "
				    "new ones until some close", SERVER_MAX_CONNS);
				s->capped = 1;
				s->refused = 0;
			}
			s->refused++;
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
