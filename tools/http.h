/*
 * http.h: the small HTTP/1.1 client behind nodectl.  One request per
 * connection (Connection: close).  A stream is a non-blocking state machine
 * the caller drives from its own poll() loop, which lets `nodectl watch`
 * follow several nodes at once; http_fetch drives one to completion with a
 * deadline.  Bodies may be sized, chunked or delimited by the end of the
 * connection.  Single-threaded; no globals.
 */
#ifndef TOOLS_HTTP_H
#define TOOLS_HTTP_H

#include <stddef.h>

#include "lib/addr.h"

#define HTTP_HEAD_MAX		(64 * 1024)	/* status line and headers */
#define HTTP_BODY_MAX		(32 * 1024 * 1024)	/* http_fetch answers */

/* Where a node's API listens; text is "host:port" ("[v6]:port") for messages. */
struct http_addr {
	struct addr	addr;
	char		text[ADDR_STR_MAX];
};

struct http_request {
	const char	*method;	/* "GET", "POST", "DELETE" */
	const char	*path;		/* "/v1/status", already escaped */
	const char	*token;		/* bearer token, or NULL */
	const char	*accept;	/* Accept header, or NULL for JSON */
	const char	*last_event_id;	/* Last-Event-ID header (an event stream), or NULL */
	const char	*body;		/* JSON body, or NULL */
	size_t		 bodylen;
};

struct http_response {
	int	 status;		/* 200, 404, ... */
	char	 reason[64];		/* "Not Found" */
	char	*body;			/* NUL-terminated, owned; free with http_response_free */
	size_t	 len;
};

/* Receives body bytes of a stream; returns 0, or -1 to stop with an error. */
typedef int (*http_body_cb)(void *arg, const char *data, size_t len);

struct http_stream;

/*
 * Parses "host:port", "[v6]:port" or "http://host:port[/]", port 1..65535,
 * into a (addr_parse of lib/addr.h); returns 0, or -1 with a message naming
 * the problem in err ("'x:70x0': bad port").
 */
int	http_addr_parse(struct http_addr *a, const char *s, char *err, size_t errlen);

/*
 * Resolves a and starts a non-blocking connect; the request is sent once
 * connected.  Returns a stream the caller frees, or NULL with err set
 * ("cannot resolve ...").  Copies everything in req.
 */
struct http_stream *http_stream_open(const struct http_addr *a,
	    const struct http_request *req, char *err, size_t errlen);

/*
 * Like http_stream_open on fd, a socket the caller connected (a test, the
 * fuzzer): the stream owns fd from now on, even when it returns NULL.
 */
struct http_stream *http_stream_fdopen(int fd, const struct http_addr *a,
	    const struct http_request *req, char *err, size_t errlen);

/* The socket to poll, and the poll events it waits for (POLLIN or POLLOUT). */
int	http_stream_fd(const struct http_stream *s);
short	http_stream_events(const struct http_stream *s);

/*
 * Advances s after poll() reported revents; hands body bytes to cb.
 * Returns 1 while more is to come, 0 once the answer is complete, or -1 with
 * err set ("cannot connect to 127.0.0.1:8000: Connection refused").
 */
int	http_stream_step(struct http_stream *s, short revents, http_body_cb cb,
	    void *arg, char *err, size_t errlen);

/* The answer's status once its head is read, else 0; reason phrase or "". */
int	http_stream_status(const struct http_stream *s);
const char *http_stream_reason(const struct http_stream *s);

/* Closes the socket and frees s; NULL is fine. */
void	http_stream_free(struct http_stream *s);

/*
 * Performs one request and reads the whole answer within timeout_ms.
 * Returns 0 with res filled (any status), or -1 with err set.
 */
int	http_fetch(const struct http_addr *a, const struct http_request *req,
	    int timeout_ms, struct http_response *res, char *err, size_t errlen);

/* Frees what res owns. */
void	http_response_free(struct http_response *res);

#endif
