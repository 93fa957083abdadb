/*
 * server.h: the HTTP server under the API, hardened: evhttp on a listener
 * of our own that rests when accept(2) runs out of descriptors, at most
 * SERVER_MAX_CONNS connections, SERVER_REQUEST_S to send a whole request,
 * limits on headers and bodies, and answers that wait (a POST /v1/tx for
 * its verdicts, an event stream) watched so that a client who leaves is
 * noticed.  Requests go to one handler (the API's routes).  Loop thread only.
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/config.h"

#ifndef SERVER_MAX_CONNS
#define SERVER_MAX_CONNS	256	/* open connections; more are closed at once */
#endif

struct event_base;
struct evbuffer;
struct evhttp_request;
struct server;
struct server_conn;

/*
 * What a request's head alone decides, before its body is read: code 0 to
 * read it and go on, else the status answered at once (the body is never
 * buffered: the connection closes after the answer).
 */
struct server_verdict {
	int		 code;
	const char	*ecode;		/* the answer's "code", or NULL */
	const char	*www_auth;	/* a WWW-Authenticate header, or NULL */
	char		 msg[8192];	/* the answer's "error" */
};

/*
 * Screens the head of a request that announces a body: method and target
 * as sent, its Authorization header (NULL: none) and the body's declared
 * length (UINT64_MAX: chunked).  Leaves v->code 0 to let it through.
 */
typedef void (*server_screen)(void *arg, const char *method, const char *target,
	    const char *authorization, uint64_t body_len, struct server_verdict *v);

/* Handles one request; the answer may be sent now or later (server_conn_hold). */
typedef void (*server_handler)(struct evhttp_request *req, struct server_conn *c,
	    void *arg);

/*
 * Binds addr (its option named by source in messages) and serves it on
 * base, bodies up to max_body bytes answered by the handler (larger ones
 * by evhttp itself).  NULL after logging why.
 */
struct server *server_new(struct event_base *base, const struct addr *addr,
	    const char *source, size_t max_body, server_handler h, void *arg);
/*
 * Requests that announce a body are screened on their head by screen(arg,
 * ...) (auth, size), and their declared bodies count against the api_body
 * budget (base/budget.h): beyond it they get 503.  Chunked request bodies
 * get 411.  Loop thread.
 */
void	server_set_screen(struct server *s, server_screen screen, void *arg);
/*
 * Later requests get 503 "node is shutting down" (connections are still
 * accepted, to say so).  Held answers are the holders' to end.
 */
void	server_shutdown(struct server *s);
/* Closes every connection and frees s (NULL is fine). */
void	server_free(struct server *s);
/* The port bound (the real one for port 0). */
uint16_t server_port(const struct server *s);
/* Requests answered. */
uint64_t server_requests(const struct server *s);
/* Calls cb for each (method, status) answered, by method name then status. */
void	server_requests_foreach(const struct server *s, void (*cb)(void *arg,
	    const char *method, int code, uint64_t n), void *arg);

/* Sends body (len bytes) with status code and content type. */
void	server_reply(struct server *s, struct evhttp_request *req, int code,
	    const char *ctype, const char *body, size_t len);
/* Sends j (reference taken) as the JSON body. */
void	server_reply_json(struct server *s, struct evhttp_request *req, int code,
	    json_t *j);
/* Sends {"error": "<message>"}. */
void	server_error(struct server *s, struct evhttp_request *req, int code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Sends {"error": "<message>", "code": ecode}: ecode is a stable snake_case code. */
void	server_error_code(struct server *s, struct evhttp_request *req, int code,
	    const char *ecode, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
/* Starts a streamed 200 answer; 1 if evhttp frames it in chunks (HTTP/1.1). */
int	server_reply_start(struct server *s, struct evhttp_request *req);
/* Ends a streamed answer (its connection's hold released first). */
void	server_reply_end(struct evhttp_request *req);

/*
 * The answer to c's request comes later: its request deadline is off, and
 * gone(arg, left) is called once if the connection ends first (left: the
 * client closed it; else evhttp freed it); the request is then freed by
 * the server, so gone must not touch it.
 */
void	server_conn_hold(struct server_conn *c, struct evhttp_request *req,
	    void (*gone)(void *, int), void *arg);
/* The held answer is sent (or being streamed to its end): no gone() any more. */
void	server_conn_release(struct server_conn *c);
/* Closes c now, request and all, without calling gone (a slow stream reader). */
void	server_conn_drop(struct server_conn *c);
/* c's output buffer, to stream into. */
struct evbuffer *server_conn_output(struct server_conn *c);
/* "ip:port" of c's client. */
void	server_conn_addr(struct server_conn *c, char *out, size_t outlen);

/* The method's name ("GET"). */
const char *server_method_str(int method);

#endif
