/*
 * link.c: one connection of the attacker to a node.  A raw link hands the
 * node's bytes to its mode; a secure link runs the handshake of
 * docs/PROTOCOL.md section 4 through proto/channel.c, sends HELLO, answers
 * PING and hands every other frame to its mode.  Loop thread only.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "hostile.h"

/* Scratch for one record's plaintext and one sealed record (one thread). */
static uint8_t link_pt[CHANNEL_RECORD_MAX];
static uint8_t link_frame[CHANNEL_RECORD_MAX];
static uint8_t link_rec[CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD];

static void	link_readcb(struct bufferevent *, void *);
static void	link_eventcb(struct bufferevent *, short, void *);

/*
 * Tears l down: the socket and the channel go now, the struct at the next
 * link_reap.  notify: tell the mode (not when link_open fails).
 */
static void
link_teardown(struct link *l, int by_node, const char *why, int notify)
{
	struct hostile *h = l->h;

	if (l->closed)
		return;
	l->closed = 1;
	if (l->counted && h->active > 0)
		h->active--;
	if (by_node)
		h->c[l->recv > 0 ? HC_CLOSED_BY_NODE : HC_REFUSED]++;
	else if (notify)
		h->c[HC_CLOSED_BY_US]++;
	if (l->bev != NULL)
		bufferevent_free(l->bev);
	l->bev = NULL;
	channel_free(l->ch);
	l->ch = NULL;
	frame_decoder_free(&l->dec);
	sodium_memzero(l->sk, sizeof(l->sk));
	h->links--;
	l->next_dead = h->dead;
	h->dead = l;
	if (notify && l->ops->closed != NULL)
		l->ops->closed(h, l->arg, by_node, why);
}

void
link_close(struct link *l, const char *why)
{
	link_teardown(l, 0, why, 1);
}

void
link_gone(struct link *l, const char *why)
{
	link_teardown(l, 1, why, 1);
}

int
link_alive(const struct link *l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int fd;

	if (l->closed || l->bev == NULL || (fd = bufferevent_getfd(l->bev)) < 0)
		return 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	return ti.tcpi_state == TCP_ESTABLISHED;
}

void
link_reap(struct hostile *h)
{
	struct link *l;

	while ((l = h->dead) != NULL) {
		h->dead = l->next_dead;
		free(l);
	}
}

void
link_count_active(struct link *l)
{
	struct hostile *h = l->h;

	if (l->counted)
		return;
	l->counted = 1;
	if (++h->active > h->active_max)
		h->active_max = h->active;
}

struct link *
link_open(struct hostile *h, int secure, const uint8_t *sk, int rcvbuf,
    const struct link_ops *ops, void *arg)
{
	struct link *l;
	int fd, one = 1;

	h->c[HC_CONNECTS]++;
	fd = socket(h->target.ss_family, SOCK_STREAM, 0);
	if (fd < 0) {
		h->c[HC_CONNECT_FAILED]++;
		return NULL;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (h->source_len > 0 &&
	    bind(fd, (struct sockaddr *)&h->source, h->source_len) == -1) {
		close(fd);
		h->c[HC_CONNECT_FAILED]++;
		return NULL;
	}
	evutil_make_socket_nonblocking(fd);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return NULL;
	}
	l->h = h;
	l->ops = ops;
	l->arg = arg;
	l->secure = secure;
	l->t0_ns = hostile_now_ns();
	l->state = LINK_CONNECTING;
	frame_decoder_init(&l->dec);
	l->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL) {
		close(fd);
		free(l);
		h->c[HC_CONNECT_FAILED]++;
		return NULL;
	}
	if (secure) {
		if (sk != NULL)
			memcpy(l->sk, sk, TX_SK_LEN);
		else
			hostile_keygen(l->sk);
		l->ch = channel_new(1, h->netid, l->sk);
		if (l->ch == NULL) {
			bufferevent_free(l->bev);
			free(l);
			h->c[HC_CONNECT_FAILED]++;
			return NULL;
		}
	}
	h->links++;
	bufferevent_setcb(l->bev, link_readcb, NULL, link_eventcb, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(l->bev, (struct sockaddr *)&h->target,
	    (int)h->target_len) == -1) {
		h->c[HC_CONNECT_FAILED]++;
		link_teardown(l, 0, "connect failed", 0);
		return NULL;
	}
	return l;
}

int
link_send_raw(struct link *l, const void *p, size_t len)
{
	if (bufferevent_write(l->bev, p, len) == -1)
		return -1;
	l->h->c[HC_BYTES_SENT] += len;
	return 0;
}

size_t
link_pending(const struct link *l)
{
	return evbuffer_get_length(bufferevent_get_output(l->bev));
}

void
link_stop_reading(struct link *l)
{
	bufferevent_disable(l->bev, EV_READ);
}

/* Moves the channel's pending handshake bytes to the socket. */
static int
link_flush_handshake(struct link *l)
{
	uint8_t buf[512];
	size_t n;

	while ((n = channel_output(l->ch, buf, sizeof(buf))) > 0)
		if (link_send_raw(l, buf, n) == -1)
			return -1;
	return 0;
}

static int
link_seal_send(struct link *l, uint8_t type, const uint8_t *payload, size_t len)
{
	size_t flen, rlen;

	flen = frame_encode(link_frame, sizeof(link_frame), type, payload, len);
	if (flen == 0)
		return -1;
	rlen = channel_seal(l->ch, link_frame, flen, link_rec, sizeof(link_rec));
	if (rlen == 0)
		return -1;
	return link_send_raw(l, link_rec, rlen);
}

int
link_send_frame(struct link *l, uint8_t type, const uint8_t *payload, size_t len)
{
	if (l->state != LINK_ACTIVE && !(type == FRAME_HELLO &&
	    l->state == LINK_HELLO_WAIT))
		return -1;
	return link_seal_send(l, type, payload, len);
}

static int
link_send_hello(struct link *l)
{
	struct frame_hello hello;
	uint8_t buf[8 + FRAME_NAME_MAX];
	size_t len;

	memset(&hello, 0, sizeof(hello));
	hello.version = FRAME_PROTO_VERSION;
	hello.listen_port = 0;
	snprintf(hello.name, sizeof(hello.name), "hostile-%s", l->h->mode->name);
	len = frame_hello_encode(&hello, buf, sizeof(buf));
	return link_send_frame(l, FRAME_HELLO, buf, len);
}

/* One decoded frame.  Returns -1 if l was closed. */
static int
link_on_frame(struct link *l, const struct frame *f)
{
	struct hostile *h = l->h;
	struct frame_hello hello;
	const char *err;

	if (l->state == LINK_HELLO_WAIT) {
		if (f->type != FRAME_HELLO ||
		    frame_hello_decode(&hello, f->payload, f->len, &err) == -1) {
			link_close(l, "no HELLO from the node");
			return -1;
		}
		l->state = LINK_ACTIVE;
		h->c[HC_ACTIVE]++;
		link_count_active(l);
		if (l->ops->up != NULL)
			l->ops->up(l);
		return 0;
	}
	if (f->type == FRAME_PING) {
		h->c[HC_PINGS_ANSWERED]++;
		(void)link_seal_send(l, FRAME_PONG, f->payload, f->len);
		return 0;
	}
	if (l->ops->frame != NULL)
		l->ops->frame(l, f);
	return 0;
}

/*
 * Consumes what the node sent, one handshake message or record at a time.
 * The mode's callbacks may close l: every call that can reach them is
 * followed by a check of the link's identity through the caller's copy.
 */
static void
link_read_secure(struct link *l)
{
	struct evbuffer *in = bufferevent_get_input(l->bev);
	size_t avail, want, used, ptlen, off, fused;
	uint8_t *data;
	struct frame f;
	const char *err = NULL;
	enum frame_status st;
	char why[128];
	int was;

	for (;;) {
		if ((avail = evbuffer_get_length(in)) == 0)
			return;
		want = avail < CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD ? avail :
		    CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD;
		data = evbuffer_pullup(in, want);
		was = channel_established(l->ch);
		ptlen = 0;
		if (channel_recv(l->ch, data, want, &used, link_pt, sizeof(link_pt),
		    &ptlen) == -1) {
			snprintf(why, sizeof(why), "channel: %s",
			    channel_error(l->ch) != NULL ? channel_error(l->ch) : "?");
			link_close(l, why);
			return;
		}
		if (used == 0)
			return;
		evbuffer_drain(in, used);
		if (!was) {
			if (link_flush_handshake(l) == -1) {
				link_close(l, "write failed");
				return;
			}
			if (channel_established(l->ch)) {
				l->h->c[HC_HANDSHAKES]++;
				l->state = LINK_HELLO_WAIT;
				if (link_send_hello(l) == -1) {
					link_close(l, "cannot send HELLO");
					return;
				}
			}
		}
		for (off = 0; off < ptlen; off += fused) {
			st = frame_decode(&l->dec, link_pt + off, ptlen - off, &fused,
			    &f, &err);
			if (st == FRAME_ERROR) {
				link_close(l, err != NULL ? err : "bad frame");
				return;
			}
			if (st == FRAME_NEED_MORE)
				break;
			if (link_on_frame(l, &f) == -1 || l->closed)
				return;
		}
	}
}

static void
link_readcb(struct bufferevent *bev, void *arg)
{
	struct link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	if (n <= l->buffered)
		return;
	if (l->recv == 0)
		l->h->c[HC_ACCEPTED]++;
	/* Only what is new: a partial record stays buffered between calls. */
	l->recv += n - l->buffered;
	l->h->c[HC_BYTES_RECV] += n - l->buffered;
	if (l->secure)
		link_read_secure(l);
	else if (l->ops->data != NULL)
		l->ops->data(l, in);
	else
		evbuffer_drain(in, n);
	if (!l->closed)
		l->buffered = evbuffer_get_length(in);
}

static void
link_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct link *l = arg;
	char why[96];

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		l->state = LINK_OPEN;
		if (l->secure) {
			if (link_flush_handshake(l) == -1)
				link_close(l, "write failed");
			return;
		}
		if (l->ops->up != NULL)
			l->ops->up(l);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (l->state == LINK_CONNECTING) {
			l->h->c[HC_CONNECT_FAILED]++;
			snprintf(why, sizeof(why), "connect failed: %s",
			    strerror(EVUTIL_SOCKET_ERROR()));
			link_teardown(l, 0, why, 1);
			l->h->c[HC_CLOSED_BY_US]--;
			return;
		}
		/* Bytes that arrived with the close still count. */
		if (what & BEV_EVENT_EOF)
			link_teardown(l, 1, "closed by the node", 1);
		else
			link_teardown(l, 1, strerror(EVUTIL_SOCKET_ERROR()), 1);
	}
}
