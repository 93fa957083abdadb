/*
 * http.c: the small HTTP/1.1 client behind nodectl (see http.h).  Every
 * byte of an answer is bounded before it is buffered: the head by
 * HTTP_HEAD_MAX, chunk-size lines by HTTP_LINE_MAX, bodies by the caller.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/util.h"
#include "proto/hex.h"
#include "http.h"

#define HTTP_LINE_MAX	4096		/* chunk-size and trailer lines */
#define HTTP_CHUNK_MAX	(1ULL << 40)	/* a larger chunk size is garbage */
#define HTTP_READ_SIZE	16384

enum http_state {
	HS_CONNECT,		/* non-blocking connect in progress */
	HS_SEND,		/* writing the request */
	HS_HEAD,		/* reading the status line and headers */
	HS_BODY_LEN,		/* Content-Length body */
	HS_BODY_EOF,		/* body ends with the connection */
	HS_CHUNK_SIZE,		/* chunked: size line */
	HS_CHUNK_DATA,		/* chunked: data */
	HS_CHUNK_END,		/* chunked: CRLF after data */
	HS_TRAILER,		/* chunked: trailer lines up to the empty one */
	HS_DONE
};

struct http_stream {
	struct http_addr	 addr;
	struct addrinfo		*ai0;		/* every resolved address */
	struct addrinfo		*ai;		/* the one being tried */
	int			 fd;
	int			 last_errno;	/* of the last failed connect */
	enum http_state		 state;
	int			 nobody;	/* HEAD: an answer without a body */

	char			*out;		/* the request */
	size_t			 outlen;
	size_t			 outoff;

	char			*in;		/* received, not yet parsed */
	size_t			 inlen;
	size_t			 insize;

	int			 status;
	char			 reason[64];
	uint64_t		 remaining;	/* of a sized body or chunk */
	size_t			 headscan;	/* in[0..headscan) ends no head */
};

static void
http_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
http_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
http_addr_parse(struct http_addr *a, const char *s, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (addr_parse(&a->addr, s, ADDR_URL | ADDR_NOPORT0, err, errlen) == -1)
		return -1;
	addr_str(&a->addr, a->text, sizeof(a->text));
	return 0;
}

/* Starts connecting to s->ai, then to the next address on immediate failure. */
static int
http_connect_next(struct http_stream *s)
{
	int	fd;

	for (; s->ai != NULL; s->ai = s->ai->ai_next) {
		fd = socket(s->ai->ai_family, s->ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, s->ai->ai_protocol);
		if (fd == -1) {
			s->last_errno = errno;
			continue;
		}
		if (connect(fd, s->ai->ai_addr, s->ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			s->fd = fd;
			s->state = HS_CONNECT;
			return 0;
		}
		s->last_errno = errno;
		close(fd);
	}
	return -1;
}

/* Appends n bytes and a NUL; -1 if the size would overflow as it doubles. */
static int
http_buf_append(char **buf, size_t *len, size_t *size, const char *data,
    size_t n)
{
	size_t	want;

	if (*len >= SIZE_MAX / 4 || n >= SIZE_MAX / 4 - *len)
		return -1;
	if (*len + n + 1 > *size) {
		want = *size == 0 ? 1024 : *size;
		while (want < *len + n + 1)
			want *= 2;
		*buf = xrealloc(*buf, want);
		*size = want;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int
http_out_printf(struct http_stream *s, size_t *size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
http_out_printf(struct http_stream *s, size_t *size, const char *fmt, ...)
{
	char	 line[8192];	/* a 4096-byte token fits */
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return http_buf_append(&s->out, &s->outlen, size, line, (size_t)n);
}

static int
http_build_request(struct http_stream *s, const struct http_request *req)
{
	size_t	size = 0;

	if (http_out_printf(s, &size, "%s %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: nodectl\r\n"
	    "Accept: %s\r\n"
	    "Connection: close\r\n",
	    req->method, req->path, s->addr.text,
	    req->accept != NULL ? req->accept : "application/json") == -1)
		return -1;
	if (req->token != NULL && http_out_printf(s, &size,
	    "Authorization: Bearer %s\r\n", req->token) == -1)
		return -1;
	if (req->last_event_id != NULL && http_out_printf(s, &size,
	    "Last-Event-ID: %s\r\n", req->last_event_id) == -1)
		return -1;
	if (req->body != NULL && http_out_printf(s, &size,
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n",
	    req->bodylen) == -1)
		return -1;
	if (http_buf_append(&s->out, &s->outlen, &size, "\r\n", 2) == -1)
		return -1;
	if (req->body != NULL && http_buf_append(&s->out, &s->outlen, &size,
	    req->body, req->bodylen) == -1)
		return -1;
	return 0;
}

/* A stream with its request built, not yet connected. */
static struct http_stream *
http_stream_new(const struct http_addr *a, const struct http_request *req,
    char *err, size_t errlen)
{
	struct http_stream	*s;

	s = xcalloc(1, sizeof(*s));
	s->fd = -1;
	s->addr = *a;
	s->nobody = strcmp(req->method, "HEAD") == 0;
	if (http_build_request(s, req) == -1) {
		http_err(err, errlen, "%s: request too large", a->text);
		http_stream_free(s);
		return NULL;
	}
	return s;
}

struct http_stream *
http_stream_fdopen(int fd, const struct http_addr *a,
    const struct http_request *req, char *err, size_t errlen)
{
	struct http_stream	*s;
	int			 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		http_err(err, errlen, "%s: %s", a->text, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((s = http_stream_new(a, req, err, errlen)) == NULL) {
		close(fd);
		return NULL;
	}
	s->fd = fd;
	s->state = HS_SEND;
	return s;
}

struct http_stream *
http_stream_open(const struct http_addr *a, const struct http_request *req,
    char *err, size_t errlen)
{
	struct http_stream	*s;
	struct addrinfo		 hints;
	char			 port[8];
	int			 rc;

	if ((s = http_stream_new(a, req, err, errlen)) == NULL)
		return NULL;

	snprintf(port, sizeof(port), "%u", (unsigned)a->addr.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
	rc = getaddrinfo(a->addr.host, port, &hints, &s->ai0);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 and 127.0.0.1 on hosts without one. */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(a->addr.host, port, &hints, &s->ai0);
	}
	if (rc != 0) {
		http_err(err, errlen, "cannot resolve %s: %s", a->addr.host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		s->ai0 = NULL;
		http_stream_free(s);
		return NULL;
	}
	s->ai = s->ai0;
	s->last_errno = ECONNREFUSED;
	if (http_connect_next(s) == -1) {
		http_err(err, errlen, "cannot connect to %s: %s", a->text,
		    strerror(s->last_errno));
		http_stream_free(s);
		return NULL;
	}
	return s;
}

int
http_stream_fd(const struct http_stream *s)
{
	return s->fd;
}

short
http_stream_events(const struct http_stream *s)
{
	if (s->state == HS_CONNECT || s->state == HS_SEND)
		return POLLOUT;
	return POLLIN;
}

int
http_stream_status(const struct http_stream *s)
{
	return s->status;
}

const char *
http_stream_reason(const struct http_stream *s)
{
	return s->reason;
}

void
http_stream_free(struct http_stream *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	if (s->ai0 != NULL)
		freeaddrinfo(s->ai0);
	free(s->out);
	free(s->in);
	free(s);
}

/* Finds the end of the line starting at p (n bytes); returns its length without CRLF. */
static int
http_line(const char *p, size_t n, size_t *linelen, size_t *skip)
{
	const char	*nl;

	if ((nl = memchr(p, '\n', n)) == NULL)
		return -1;
	*skip = (size_t)(nl - p) + 1;
	*linelen = (size_t)(nl - p);
	if (*linelen > 0 && p[*linelen - 1] == '\r')
		(*linelen)--;
	return 0;
}

static int
http_parse_status(struct http_stream *s, const char *line, size_t len)
{
	size_t	n;

	/* "HTTP/1.1 200 OK"; the reason phrase may be empty. */
	if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' ||
	    line[10] > '9' || line[11] < '0' || line[11] > '9' ||
	    (len > 12 && line[12] != ' '))
		return -1;
	s->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	if (len > 13) {
		n = len - 13;
		if (n >= sizeof(s->reason))
			n = sizeof(s->reason) - 1;
		memcpy(s->reason, line + 13, n);
		s->reason[n] = '\0';
	}
	return 0;
}

/* Does the comma-separated header value v (n bytes) list token tok? */
static int
http_has_token(const char *v, size_t n, const char *tok)
{
	size_t	toklen = strlen(tok), i, j, e;

	for (i = 0; i < n; i = j + 1) {
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		for (j = i; j < n && v[j] != ','; j++)
			;
		e = j;
		while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - i == toklen && strncasecmp(v + i, tok, toklen) == 0)
			return 1;
	}
	return 0;
}

/* Parses the head in s->in (hlen bytes); chooses how the body is delimited. */
static int
http_parse_head(struct http_stream *s, size_t hlen, char *err, size_t errlen)
{
	const char	*p = s->in, *end = s->in + hlen, *colon, *v;
	size_t		 linelen, skip, vlen, namelen;
	int		 chunked = 0, have_len = 0, i;
	uint64_t	 clen = 0;

	if (http_line(p, (size_t)(end - p), &linelen, &skip) == -1 ||
	    http_parse_status(s, p, linelen) == -1) {
		http_err(err, errlen, "%s: not an HTTP answer", s->addr.text);
		return -1;
	}
	for (p += skip; p < end; p += skip) {
		if (http_line(p, (size_t)(end - p), &linelen, &skip) == -1)
			break;
		if (linelen == 0)
			break;
		colon = memchr(p, ':', linelen);
		if (colon == NULL || colon == p) {
			http_err(err, errlen, "%s: malformed header line in "
			    "the answer", s->addr.text);
			return -1;
		}
		namelen = (size_t)(colon - p);
		v = colon + 1;
		vlen = linelen - namelen - 1;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (namelen == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			if (http_has_token(v, vlen, "chunked"))
				chunked = 1;
		} else if (namelen == 14 &&
		    strncasecmp(p, "Content-Length", 14) == 0) {
			if (vlen == 0 || vlen > 15)
				goto badlen;
			clen = 0;
			for (i = 0; i < (int)vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					goto badlen;
				clen = clen * 10 + (uint64_t)(v[i] - '0');
			}
			have_len = 1;
		}
	}

	if (s->nobody || s->status < 200 || s->status == 204 ||
	    s->status == 304)
		s->state = HS_DONE;
	else if (chunked)
		s->state = HS_CHUNK_SIZE;
	else if (have_len) {
		s->remaining = clen;
		s->state = clen == 0 ? HS_DONE : HS_BODY_LEN;
	} else
		s->state = HS_BODY_EOF;
	return 0;

badlen:
	http_err(err, errlen, "%s: bad Content-Length in the answer",
	    s->addr.text);
	return -1;
}

/* Consumes n bytes from the front of the input buffer. */
static void
http_consume(struct http_stream *s, size_t n)
{
	memmove(s->in, s->in + n, s->inlen - n);
	s->inlen -= n;
	if (s->in != NULL)
		s->in[s->inlen] = '\0';
}

static int
http_deliver(struct http_stream *s, size_t n, http_body_cb cb, void *arg,
    char *err, size_t errlen)
{
	if (n > 0 && cb != NULL && cb(arg, s->in, n) == -1) {
		http_err(err, errlen, "%s: answer refused by the reader",
		    s->addr.text);
		return -1;
	}
	http_consume(s, n);
	return 0;
}

/* Parses as much of s->in as possible; returns 1 for more, 0 done, -1 error. */
static int
http_parse(struct http_stream *s, http_body_cb cb, void *arg, char *err,
    size_t errlen)
{
	size_t		 linelen, skip, n, i;
	const char	*hend;
	uint64_t	 size;
	int		 digit;

	for (;;) {
		switch (s->state) {
		case HS_HEAD:
			/* Resume where the last read's search stopped. */
			hend = NULL;
			for (i = s->headscan; i + 1 < s->inlen; i++) {
				if (s->in[i] == '\n' && (s->in[i + 1] == '\n' ||
				    (i + 2 < s->inlen && s->in[i + 1] == '\r' &&
				    s->in[i + 2] == '\n'))) {
					hend = s->in + i + (s->in[i + 1] == '\n' ?
					    2 : 3);
					break;
				}
			}
			if (hend == NULL || hend - s->in > HTTP_HEAD_MAX) {
				if (hend != NULL || s->inlen > HTTP_HEAD_MAX) {
					http_err(err, errlen, "%s: answer head "
					    "over %d bytes", s->addr.text,
					    HTTP_HEAD_MAX);
					return -1;
				}
				s->headscan = s->inlen > 2 ? s->inlen - 2 : 0;
				return 1;
			}
			n = (size_t)(hend - s->in);
			if (http_parse_head(s, n, err, errlen) == -1)
				return -1;
			http_consume(s, n);
			s->headscan = 0;
			if (s->status >= 100 && s->status < 200 &&
			    s->status != 101) {
				/* An interim answer: the real one follows. */
				s->status = 0;
				s->reason[0] = '\0';
				s->state = HS_HEAD;
			}
			break;
		case HS_BODY_LEN:
			n = s->inlen;
			if (n > s->remaining)
				n = (size_t)s->remaining;
			if (http_deliver(s, n, cb, arg, err, errlen) == -1)
				return -1;
			s->remaining -= n;
			if (s->remaining == 0) {
				s->state = HS_DONE;
				break;
			}
			return 1;
		case HS_BODY_EOF:
			if (http_deliver(s, s->inlen, cb, arg, err, errlen) == -1)
				return -1;
			return 1;
		case HS_CHUNK_SIZE:
			if (http_line(s->in, s->inlen, &linelen, &skip) == -1) {
				if (s->inlen > HTTP_LINE_MAX)
					goto badchunk;
				return 1;
			}
			size = 0;
			for (i = 0; i < linelen; i++) {
				if ((digit = hex_nibble(s->in[i])) == -1)
					break;
				size = size * 16 + (uint64_t)digit;
				if (size > HTTP_CHUNK_MAX)
					goto badchunk;
			}
			if (i == 0 || (i < linelen && s->in[i] != ';' &&
			    s->in[i] != ' ' && s->in[i] != '\t'))
				goto badchunk;
			http_consume(s, skip);
			s->remaining = size;
			s->state = size == 0 ? HS_TRAILER : HS_CHUNK_DATA;
			break;
		case HS_CHUNK_DATA:
			n = s->inlen;
			if (n > s->remaining)
				n = (size_t)s->remaining;
			if (http_deliver(s, n, cb, arg, err, errlen) == -1)
				return -1;
			s->remaining -= n;
			if (s->remaining > 0)
				return 1;
			s->state = HS_CHUNK_END;
			break;
		case HS_CHUNK_END:
		case HS_TRAILER:
			if (http_line(s->in, s->inlen, &linelen, &skip) == -1) {
				if (s->inlen > HTTP_LINE_MAX)
					goto badchunk;
				return 1;
			}
			http_consume(s, skip);
			if (s->state == HS_CHUNK_END) {
				if (linelen != 0)
					goto badchunk;
				s->state = HS_CHUNK_SIZE;
			} else if (linelen == 0)
				s->state = HS_DONE;
			break;
		case HS_DONE:
			return 0;
		default:
			return 1;
		}
	}

badchunk:
	http_err(err, errlen, "%s: malformed chunked answer", s->addr.text);
	return -1;
}

static int
http_step_connect(struct http_stream *s, char *err, size_t errlen)
{
	int		e = 0;
	socklen_t	elen = sizeof(e);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return 1;
	if (e == 0) {
		s->state = HS_SEND;
		return 1;
	}
	s->last_errno = e;
	close(s->fd);
	s->fd = -1;
	s->ai = s->ai->ai_next;
	if (http_connect_next(s) == 0)
		return 1;
	http_err(err, errlen, "cannot connect to %s: %s", s->addr.text,
	    strerror(s->last_errno));
	return -1;
}

int
http_stream_step(struct http_stream *s, short revents, http_body_cb cb,
    void *arg, char *err, size_t errlen)
{
	char	buf[HTTP_READ_SIZE];
	ssize_t	n;

	if (s->state == HS_DONE)
		return 0;
	if (s->state == HS_CONNECT) {
		if (revents == 0)
			return 1;
		if (http_step_connect(s, err, errlen) != 1)
			return -1;
		if (s->state == HS_CONNECT)
			return 1;
	}
	if (s->state == HS_SEND) {
		while (s->outoff < s->outlen) {
			n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff,
			    MSG_NOSIGNAL);
			if (n == -1) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR)
					return 1;
				http_err(err, errlen, "%s: cannot send the "
				    "request: %s", s->addr.text, strerror(errno));
				return -1;
			}
			s->outoff += (size_t)n;
		}
		s->state = HS_HEAD;
		return 1;
	}
	if (revents == 0)
		return 1;

	n = recv(s->fd, buf, sizeof(buf), 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 1;
		http_err(err, errlen, "%s: %s", s->addr.text, strerror(errno));
		return -1;
	}
	if (n == 0) {
		if (s->state == HS_BODY_EOF) {
			s->state = HS_DONE;
			return 0;
		}
		if (s->state == HS_HEAD && s->inlen == 0)
			http_err(err, errlen, "%s: connection closed without "
			    "an answer", s->addr.text);
		else
			http_err(err, errlen, "%s: connection closed before "
			    "the answer was complete", s->addr.text);
		return -1;
	}
	if (http_buf_append(&s->in, &s->inlen, &s->insize, buf,
	    (size_t)n) == -1) {
		http_err(err, errlen, "%s: answer too large", s->addr.text);
		return -1;
	}
	return http_parse(s, cb, arg, err, errlen);
}

static int64_t
http_mono_ms(void)
{
	return (int64_t)(mono_ns() / 1000000);
}

struct http_collect {
	struct http_response	*res;
	size_t			 size;
	int			 toolarge;
};

static int
http_collect_cb(void *arg, const char *data, size_t len)
{
	struct http_collect	*c = arg;

	if (c->res->len + len > HTTP_BODY_MAX) {
		c->toolarge = 1;
		return -1;
	}
	return http_buf_append(&c->res->body, &c->res->len, &c->size, data, len);
}

int
http_fetch(const struct http_addr *a, const struct http_request *req,
    int timeout_ms, struct http_response *res, char *err, size_t errlen)
{
	struct http_stream	*s;
	struct http_collect	 c;
	struct pollfd		 pfd;
	int64_t			 deadline, left;
	int			 rc, n;

	memset(res, 0, sizeof(*res));
	c.res = res;
	c.size = 0;
	c.toolarge = 0;
	deadline = http_mono_ms() + timeout_ms;
	if ((s = http_stream_open(a, req, err, errlen)) == NULL)
		return -1;
	for (;;) {
		left = deadline - http_mono_ms();
		if (left <= 0) {
			if (timeout_ms % 1000 == 0)
				http_err(err, errlen, "%s: no answer within "
				    "%d s", a->text, timeout_ms / 1000);
			else
				http_err(err, errlen, "%s: no answer within "
				    "%d ms", a->text, timeout_ms);
			rc = -1;
			break;
		}
		pfd.fd = http_stream_fd(s);
		pfd.events = http_stream_events(s);
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno != EINTR) {
			http_err(err, errlen, "poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (n <= 0)
			continue;
		rc = http_stream_step(s, pfd.revents, http_collect_cb, &c, err,
		    errlen);
		if (rc == -1 && c.toolarge)
			http_err(err, errlen, "%s: answer over %d bytes",
			    a->text, HTTP_BODY_MAX);
		if (rc != 1)
			break;
	}
	if (rc == 0) {
		res->status = http_stream_status(s);
		snprintf(res->reason, sizeof(res->reason), "%s",
		    http_stream_reason(s));
		if (res->body == NULL)
			res->body = xstrdup("");
	}
	http_stream_free(s);
	if (rc != 0)
		http_response_free(res);
	return rc;
}

void
http_response_free(struct http_response *res)
{
	free(res->body);
	res->body = NULL;
	res->len = 0;
}
