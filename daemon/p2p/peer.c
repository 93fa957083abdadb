/*
 * peer.c: one connection: the secure-channel handshake, framing, HELLO,
 * PING/PONG, and the single teardown path.  Loop thread only.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <sodium.h>

#include "base/budget.h"
#include "base/log.h"
#include "base/stats.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "p2p/link.h"
#include "p2p/peer.h"
#include "proto/channel.h"
#include "proto/frame.h"
#include "proto/hex.h"

#define PEER_TICK_MS		250
#define PEER_OUTBUF_MAX		(16u << 20)	/* unread output before we give up */
#define PEER_READ_HIGH		(256u << 10)	/* input buffered per read burst */
/*
 * The send budget (--peer-send-budget) is split among the peers with a
 * socket, each share at least PEER_SHARE_MIN (or the budget, if smaller).
 * A peer over its share is not read until its output is down to half of
 * it; one that stays over it and takes less than PEER_STALL_BYTES in
 * PEER_STALL_MS is not reading, and is cut.  (A peer that does not read
 * still takes a few bytes now and then, as its kernel makes room.)
 */
#define PEER_SHARE_MIN		(256u << 10)
#define PEER_STALL_MS		5000
#define PEER_STALL_BYTES	(64u << 10)
/*
 * Output one read callback may queue for a peer before the others get
 * their turn: a peer asking for much (GETDATA of 1,000 ids a frame) is
 * answered a slice at a time, not ahead of every other peer's frames.
 */
#define PEER_TURN_BYTES		(64u << 10)

/* Loop thread only: scratch for one record's plaintext and one sealed record. */
static uint8_t peer_pt[CHANNEL_RECORD_MAX];
static uint8_t peer_frame[CHANNEL_RECORD_MAX];
static uint8_t peer_rec[CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD];

static void	peer_readcb(struct bufferevent *, void *);
static void	peer_eventcb(struct bufferevent *, short, void *);
static void	peer_tickcb(evutil_socket_t, short, void *);
static void	peer_process(struct peer *);
static void	peer_reads_resume(struct peer *);
static void	peer_linkcb(evutil_socket_t, short, void *);
static void	peer_turncb(evutil_socket_t, short, void *);

static const struct link_shape peer_no_shape;

static unsigned	peer_nlive;	/* peers with a socket: they share the budget */

static struct log_limit peer_log_paused = LOG_LIMIT("net",
    "peers paused for their send buffer", 5, 10000);

const char *
peer_label(const struct peer *p)
{
	return p->name[0] != '\0' ? p->name : p->addr;
}

/* p's share of the send budget. */
static size_t
peer_send_share(const struct peer *p)
{
	size_t	budget = p->node->cfg->peer_send_budget;
	size_t	share = budget / (peer_nlive > 0 ? peer_nlive : 1);
	size_t	floor = budget < PEER_SHARE_MIN ? budget : PEER_SHARE_MIN;

	return share > floor ? share : floor;
}

/* Brings p's part of the peer_send budget up to what it holds now. */
static void
peer_account(struct peer *p)
{
	size_t	cur = peer_send_pending(p);

	if (cur > p->acct)
		budget_add(BUDGET_PEER_SEND, cur - p->acct);
	else if (cur < p->acct)
		budget_sub(p->node->base, BUDGET_PEER_SEND, p->acct - cur);
	p->acct = cur;
}

/* Every change of p's output buffer: bytes queued, or written to the socket. */
static void
peer_outbufcb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct peer	*p = arg;

	(void)buf;
	p->drained += info->n_deleted;
	peer_account(p);
}

/* p's output passed its share: its requests wait until it drains. */
static void
peer_out_pause(struct peer *p, size_t pending, size_t share)
{
	p->out_paused = 1;
	p->stall_ms = now_ms();
	p->stall_mark = p->drained;
	budgets[BUDGET_PEER_SEND].refused++;
	bufferevent_disable(p->bev, EV_READ);
	/* peer_writecb runs once the socket has taken all but half the share. */
	bufferevent_setwatermark(p->bev, EV_WRITE, share / 2, 0);
	log_limited(&peer_log_paused, LOG_DEBUG, "peer %s: %zu bytes queued, "
	    "over its share of %zu: not reading it until it drains",
	    peer_label(p), pending, share);
}

/* Resumes reading p once its output is down to half its share. */
static void
peer_out_check(struct peer *p)
{
	if (!p->out_paused || p->state == PEER_CLOSED || p->bev == NULL ||
	    peer_send_pending(p) > peer_send_share(p) / 2)
		return;
	p->out_paused = 0;
	bufferevent_setwatermark(p->bev, EV_WRITE, 0, 0);
	peer_reads_resume(p);
}

static void
peer_writecb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	peer_out_check(arg);
}

/* Arms the link's timer for its next write, if none is armed. */
static void
peer_link_arm(struct peer *p)
{
	uint64_t	next = link_next_us(p->link), now = mono_ns() / 1000;
	struct timeval	tv;

	if (next == 0 || evtimer_pending(p->link_timer, NULL))
		return;
	next = next > now ? next - now : 0;
	tv.tv_sec = (time_t)(next / 1000000);
	tv.tv_usec = (suseconds_t)(next % 1000000);
	evtimer_add(p->link_timer, &tv);
}

/* The link's writes that are due go to the socket. */
static void
peer_linkcb(evutil_socket_t fd, short what, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)what;
	if (p->state == PEER_CLOSED || p->bev == NULL)
		return;
	link_pop(p->link, mono_ns() / 1000, bufferevent_get_output(p->bev));
	peer_account(p);
	peer_link_arm(p);
	peer_out_check(p);
}

/*
 * Every byte to the socket goes through here: straight out, or, while the
 * link is shaped (or still holds bytes from when it was), through the link's
 * queue.  0, or -1 (not written: the caller closes).
 */
static int
peer_write(struct peer *p, const void *buf, size_t len)
{
	const struct link_shape	*s = p->shape != NULL ? p->shape : &peer_no_shape;
	uint64_t		 at;

	if (!link_shape_on(s) && (p->link == NULL || link_pending(p->link) == 0))
		return bufferevent_write(p->bev, buf, len);
	if (p->link == NULL) {
		if ((p->link = link_new()) == NULL ||
		    (p->link_timer = evtimer_new(p->node->base, peer_linkcb,
		    p)) == NULL)
			return -1;
	}
	at = link_release_us(p->link, s, len, mono_ns() / 1000,
	    randombytes_random());
	link_push(p->link, buf, len, at);
	peer_account(p);
	peer_link_arm(p);
	return 0;
}

/* Moves pending handshake bytes from the channel to the socket. */
static int
peer_flush_handshake(struct peer *p)
{
	uint8_t buf[512];
	size_t n;

	while ((n = channel_output(p->ch, buf, sizeof(buf))) > 0) {
		if (peer_write(p, buf, n) == -1) {
			peer_close(p, "write failed");
			return -1;
		}
		p->bytes_sent += n;
		stats_bytes(1, 0, n);
	}
	return 0;
}

struct peer *
peer_new(struct node *n, const struct peer_hooks *hooks, uint64_t serial,
    int outbound, uint16_t our_port)
{
	struct peer	*p = xcalloc(1, sizeof(*p));

	p->node = n;
	p->hooks = hooks;
	p->serial = serial;
	p->outbound = outbound;
	p->our_port = our_port;
	p->rtt_ms = -1;
	p->connected_ms = p->last_recv_ms = now_ms();
	frame_decoder_init(&p->dec);
	return p;
}

void
peer_start(struct peer *p, int fd, const struct sockaddr *sa, int salen,
    const char *host, uint16_t port, struct evdns_base *dns)
{
	struct node	*n = p->node;
	struct timeval	 tv = { 0, PEER_TICK_MS * 1000 };

	if (sa != NULL && salen > 0 && (size_t)salen <= sizeof(p->sa)) {
		memcpy(&p->sa, sa, salen);
		addr_sockaddr_str(sa, p->addr, sizeof(p->addr));
	} else
		snprintf(p->addr, sizeof(p->addr), "%s:%u", host, port);

	/* Out of (locked) memory or descriptors: this link fails, the node goes on. */
	p->ch = channel_new(p->outbound, n->netid, n->node_sk);
	if (p->ch == NULL ||
	    (p->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_error("net", "peer %s: cannot allocate its %s", p->addr,
		    p->ch == NULL ? "secure channel" : "bufferevent");
		if (fd >= 0)
			evutil_closesocket(fd);
		peer_close(p, "out of resources");
		return;
	}
	peer_nlive++;
	p->out_cb = evbuffer_add_cb(bufferevent_get_output(p->bev), peer_outbufcb,
	    p);
	bufferevent_setcb(p->bev, peer_readcb, peer_writecb, peer_eventcb, p);
	bufferevent_setwatermark(p->bev, EV_READ, 0, PEER_READ_HIGH);
	p->timer = event_new(n->base, -1, EV_PERSIST, peer_tickcb, p);
	event_add(p->timer, &tv);

	if (!p->outbound) {
		p->state = PEER_HANDSHAKE;
		log_debug("net", "inbound connection from %s", p->addr);
		if (peer_flush_handshake(p) == -1)
			return;
		bufferevent_enable(p->bev, EV_READ | EV_WRITE);
		return;
	}
	p->state = PEER_CONNECTING;
	log_debug("net", "dialling %s", p->addr);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(p->bev, dns, AF_UNSPEC,
	    host, port) == -1 && p->state != PEER_CLOSED)
		peer_close(p, "cannot start connecting");
}

/*
 * The output buffer of a socket bufferevent is frozen at its front: send
 * what is queued (at most 16 KiB) straight from it, without blocking.
 */
static void
peer_flush_last(struct peer *p)
{
	struct evbuffer_iovec v[8];
	struct msghdr msg;
	int fd = bufferevent_getfd(p->bev), n;

	if (fd < 0 || p->state == PEER_CONNECTING)
		return;
	/* evbuffer_peek, unlike copyout and drain, works on a frozen buffer. */
	n = evbuffer_peek(bufferevent_get_output(p->bev), 16384, NULL, v, 8);
	if (n <= 0)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = (struct iovec *)v;
	msg.msg_iovlen = n < 8 ? (size_t)n : 8;
	(void)sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
peer_close(struct peer *p, const char *reason)
{
	if (p->state == PEER_CLOSED)
		return;
	p->state = PEER_CLOSED;
	p->hooks->closed(p, reason);
	if (p->bev != NULL) {
		/*
		 * Best effort, without blocking: what was queued (our M2 on a
		 * failed handshake, a last answer) still leaves, so the other side
		 * can log its own reason instead of a bare EOF.
		 */
		peer_flush_last(p);
		if (p->out_cb != NULL)
			evbuffer_remove_cb_entry(bufferevent_get_output(p->bev),
			    p->out_cb);
		p->out_cb = NULL;
		bufferevent_free(p->bev);
		p->bev = NULL;
		peer_nlive--;
	}
	if (p->timer != NULL) {
		event_free(p->timer);
		p->timer = NULL;
	}
	if (p->turn != NULL) {
		event_free(p->turn);
		p->turn = NULL;
	}
	/* Bytes the link still held are lost with the connection, as on a cut wire. */
	if (p->link_timer != NULL) {
		event_free(p->link_timer);
		p->link_timer = NULL;
	}
	link_free(p->link);
	p->link = NULL;
	/* What it held is freed with its buffers. */
	if (p->acct > 0)
		budget_sub(p->node->base, BUDGET_PEER_SEND, p->acct);
	p->acct = 0;
	p->out_paused = 0;
	channel_free(p->ch);
	p->ch = NULL;
	frame_decoder_free(&p->dec);
}

void
peer_misbehaved(struct peer *p, enum ban_reason why, const char *reason)
{
	if (p->state == PEER_CLOSED)
		return;
	p->misbehaviour = why;
	peer_close(p, reason);
}

void
peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	if (p->state != PEER_CLOSED) {
		/* The owner still lists it: freeing would leave a dangling entry. */
		log_error("net", "peer %s freed while open", p->addr);
		abort();
	}
	free(p);
}

int
peer_send(struct peer *p, uint8_t type, const uint8_t *payload, size_t len)
{
	size_t flen, rlen, pending, share;

	if (p->state == PEER_CLOSED || !channel_established(p->ch))
		return -1;
	flen = frame_encode(peer_frame, sizeof(peer_frame), type, payload, len);
	if (flen == 0) {
		log_error("net", "peer %s: cannot encode a %s frame of %zu bytes",
		    peer_label(p), frame_type_str(type), len);
		return -1;
	}
	rlen = channel_seal(p->ch, peer_frame, flen, peer_rec, sizeof(peer_rec));
	if (rlen == 0 || peer_write(p, peer_rec, rlen) == -1) {
		peer_close(p, "cannot seal or write a record");
		return -1;
	}
	p->bytes_sent += rlen;
	p->msgs_sent++;
	stats_bytes(1, type, flen);
	pending = peer_send_pending(p);
	if (pending > PEER_OUTBUF_MAX) {
		budgets[BUDGET_PEER_SEND].cuts++;
		peer_close(p, "send buffer over 16 MiB: peer is not reading");
		return -1;
	}
	if (!p->out_paused && pending > (share = peer_send_share(p)))
		peer_out_pause(p, pending, share);
	return 0;
}

size_t
peer_send_pending(const struct peer *p)
{
	return (p->bev != NULL ? evbuffer_get_length(bufferevent_get_output(p->bev)) :
	    0) + (p->link != NULL ? link_pending(p->link) : 0);
}

/* Reads p again unless something still holds it. */
static void
peer_reads_resume(struct peer *p)
{
	if (p->state == PEER_CLOSED || p->bev == NULL || p->paused ||
	    p->out_paused || p->held)
		return;
	bufferevent_enable(p->bev, EV_READ);
	/* Bytes read before the pause wait in the input buffer: no read event will announce them. */
	peer_process(p);
}

void
peer_hold(struct peer *p, int on)
{
	p->held = on;
	if (on) {
		if (p->bev != NULL)
			bufferevent_disable(p->bev, EV_READ);
	} else
		peer_reads_resume(p);
}

void
peer_pause(struct peer *p)
{
	p->paused = 1;
	if (p->bev != NULL)
		bufferevent_disable(p->bev, EV_READ);
}

void
peer_resume(struct peer *p)
{
	p->paused = 0;
	peer_reads_resume(p);
}

void
peer_info(const struct peer *p, struct peer_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	memcpy(pi->node_id, p->remote_hex, sizeof(pi->node_id));
	snprintf(pi->name, sizeof(pi->name), "%.64s", peer_label(p));
	snprintf(pi->addr, sizeof(pi->addr), "%s", p->addr);
	pi->outbound = p->outbound;
	pi->connected_since_ms = p->active_ms;
	pi->bytes_sent = p->bytes_sent;
	pi->bytes_received = p->bytes_received;
	pi->msgs_sent = p->msgs_sent;
	pi->msgs_received = p->msgs_received;
	pi->last_ping_ms = p->rtt_ms;
}

static int
peer_send_hello(struct peer *p)
{
	struct frame_hello h;
	uint8_t buf[8 + FRAME_NAME_MAX];
	size_t len;

	memset(&h, 0, sizeof(h));
	h.version = FRAME_PROTO_VERSION;
	h.listen_port = p->our_port;
	snprintf(h.name, sizeof(h.name), "%s", p->node->cfg->name);
	len = frame_hello_encode(&h, buf, sizeof(buf));
	return peer_send(p, FRAME_HELLO, buf, len);
}

static int
peer_on_hello(struct peer *p, const struct frame *f)
{
	struct frame_hello h;
	const char *err = NULL;
	char reason[128];

	if (p->got_hello) {
		peer_misbehaved(p, BAN_PROTOCOL, "protocol error: second HELLO");
		return -1;
	}
	if (frame_hello_decode(&h, f->payload, f->len, &err) == -1) {
		snprintf(reason, sizeof(reason), "protocol error: bad HELLO: %s", err);
		peer_misbehaved(p, BAN_PROTOCOL, reason);
		return -1;
	}
	if (h.version < FRAME_PROTO_VERSION_MIN) {
		snprintf(reason, sizeof(reason),
		    "protocol version %u, this node speaks %u to %u", h.version,
		    FRAME_PROTO_VERSION_MIN, FRAME_PROTO_VERSION);
		peer_close(p, reason);
		return -1;
	}
	p->got_hello = 1;
	/* A newer peer speaks ours too (docs/PROTOCOL.md 5.1). */
	p->version = h.version < FRAME_PROTO_VERSION ? h.version :
	    FRAME_PROTO_VERSION;
	p->listen_port = h.listen_port;
	if (h.name[0] != '\0')
		snprintf(p->name, sizeof(p->name), "%s", h.name);
	p->state = PEER_ACTIVE;
	p->active_ms = now_ms();
	p->hooks->active(p);
	return p->state == PEER_CLOSED ? -1 : 0;
}

static int
peer_dispatch(struct peer *p, const struct frame *f)
{
	uint64_t nonce;
	uint8_t buf[8];

	p->msgs_received++;
	stats_bytes(0, f->type, FRAME_HDR_LEN + f->len);
	if (!p->got_hello && f->type != FRAME_HELLO) {
		peer_misbehaved(p, BAN_PROTOCOL, "protocol error: frame before HELLO");
		return -1;
	}
	switch (f->type) {
	case FRAME_HELLO:
		return peer_on_hello(p, f);
	case FRAME_PING:
		if (frame_ping_decode(&nonce, f->payload, f->len) == -1)
			break;
		return peer_send(p, FRAME_PONG, buf, frame_ping_encode(nonce, buf));
	case FRAME_PONG:
		if (frame_ping_decode(&nonce, f->payload, f->len) == -1)
			break;
		if (p->ping_sent_ms != 0 && nonce == p->ping_nonce) {
			p->rtt_ms = (int64_t)(now_ms() - p->ping_sent_ms);
			p->ping_sent_ms = 0;
		}
		return 0;
	default:
		return p->hooks->frame(p, f);
	}
	peer_misbehaved(p, BAN_PROTOCOL, "protocol error: bad frame");
	return -1;
}

static int
peer_on_plaintext(struct peer *p, const uint8_t *pt, size_t len)
{
	size_t off = 0, used;
	struct frame f;
	const char *err = NULL;
	char reason[128];
	enum frame_status st;

	while (off < len && p->state != PEER_CLOSED) {
		st = frame_decode(&p->dec, pt + off, len - off, &used, &f, &err);
		off += used;
		if (st == FRAME_ERROR) {
			snprintf(reason, sizeof(reason), "protocol error: %s",
			    err != NULL ? err : "bad frame");
			peer_misbehaved(p, BAN_PROTOCOL, reason);
			return -1;
		}
		if (st == FRAME_NEED_MORE)
			break;
		if (peer_dispatch(p, &f) == -1)
			return -1;
	}
	return p->state == PEER_CLOSED ? -1 : 0;
}

static int
peer_on_authenticated(struct peer *p)
{
	stats.handshakes[STATS_HS_OK]++;
	memcpy(p->remote_pk, channel_remote_key(p->ch), TX_PK_LEN);
	hex_encode(p->remote_hex, p->remote_pk, TX_PK_LEN);
	if (p->hooks->authenticated(p) == -1)
		return -1;
	return peer_send_hello(p);
}

/*
 * Consumes buffered input one handshake message or record at a time.  Stops
 * when the input runs dry or while validator backpressure holds this peer.
 */
static void
peer_process(struct peer *p)
{
	struct evbuffer *in;
	size_t avail, want, used, ptlen;
	uint8_t *data;
	char reason[160];
	int was_established;
	uint64_t sent0 = p->bytes_sent;

	while (p->state != PEER_CLOSED && p->state != PEER_CONNECTING &&
	    !p->paused && !p->out_paused && !p->held) {
		if (p->bytes_sent - sent0 >= PEER_TURN_BYTES) {
			/* The rest after the other ready events: they run first. */
			if (p->turn == NULL)
				p->turn = event_new(p->node->base, -1, 0,
				    peer_turncb, p);
			if (p->turn != NULL)
				event_active(p->turn, EV_TIMEOUT, 0);
			break;
		}
		in = bufferevent_get_input(p->bev);
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		want = avail;
		if (want > CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD)
			want = CHANNEL_RECORD_MAX + CHANNEL_RECORD_OVERHEAD;
		data = evbuffer_pullup(in, want);
		was_established = channel_established(p->ch);
		ptlen = 0;
		if (channel_recv(p->ch, data, want, &used, peer_pt,
		    sizeof(peer_pt), &ptlen) == -1) {
			snprintf(reason, sizeof(reason), "%s: %s",
			    was_established ? "channel error" : "handshake failed",
			    channel_error(p->ch) != NULL ? channel_error(p->ch) : "?");
			if (!was_established)
				stats.handshakes[STATS_HS_FAILED]++;
			peer_close(p, reason);
			return;
		}
		if (used == 0)
			break;
		evbuffer_drain(in, used);
		p->bytes_received += used;
		p->last_recv_ms = now_ms();
		if (!was_established) {
			stats_bytes(0, 0, used);
			if (peer_flush_handshake(p) == -1)
				return;
			if (channel_established(p->ch) && peer_on_authenticated(p) == -1)
				return;
		}
		if (ptlen > 0 && peer_on_plaintext(p, peer_pt, ptlen) == -1)
			return;
	}
}

static void
peer_turncb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	peer_process(arg);
}

static void
peer_readcb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	peer_process(arg);
}

static void
peer_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct peer *p = arg;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char reason[160];
	int err, dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		p->state = PEER_HANDSHAKE;
		p->connected_ms = p->last_recv_ms = now_ms();
		if (getpeername(bufferevent_getfd(bev), (struct sockaddr *)&ss,
		    &sslen) == 0 && sslen <= sizeof(p->sa)) {
			memcpy(&p->sa, &ss, sslen);
			addr_sockaddr_str((struct sockaddr *)&ss, p->addr,
			    sizeof(p->addr));
		}
		log_debug("net", "connected to %s", p->addr);
		peer_flush_handshake(p);
		return;
	}
	if (p->state == PEER_HANDSHAKE && !channel_established(p->ch) &&
	    (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		stats.handshakes[STATS_HS_CLOSED]++;
	if (what & BEV_EVENT_EOF) {
		peer_close(p, p->state == PEER_ACTIVE ? "connection closed by peer" :
		    "connection closed by peer during handshake");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		dnserr = bufferevent_socket_get_dns_error(bev);
		err = EVUTIL_SOCKET_ERROR();
		if (dnserr != 0)
			snprintf(reason, sizeof(reason), "cannot resolve: %s",
			    evutil_gai_strerror(dnserr));
		else if (p->state == PEER_CONNECTING)
			snprintf(reason, sizeof(reason), "connect failed: %s",
			    evutil_socket_error_to_string(err));
		else
			snprintf(reason, sizeof(reason), "socket error: %s",
			    evutil_socket_error_to_string(err));
		peer_close(p, reason);
	}
}

static void
peer_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	const struct config *cfg = p->node->cfg;
	uint64_t now = now_ms();
	uint8_t buf[8];
	char reason[160];

	(void)fd;
	(void)what;
	if (p->state == PEER_CLOSED)
		return;
	if (p->state != PEER_ACTIVE) {
		if (now - p->connected_ms > cfg->handshake_timeout_ms) {
			snprintf(reason, sizeof(reason), "%s timeout after %u ms",
			    p->state == PEER_CONNECTING ? "connect" : "handshake",
			    cfg->handshake_timeout_ms);
			if (p->state == PEER_HANDSHAKE)
				stats.handshakes[STATS_HS_TIMEOUT]++;
			peer_close(p, reason);
		}
		return;
	}
	/* Not reading while the validator holds us back is not the peer's silence. */
	if (p->paused || p->out_paused || p->held)
		p->last_recv_ms = now;
	if (p->out_paused && now - p->stall_ms >= PEER_STALL_MS) {
		if (p->drained - p->stall_mark < PEER_STALL_BYTES) {
			budgets[BUDGET_PEER_SEND].cuts++;
			snprintf(reason, sizeof(reason), "not reading: %zu bytes "
			    "queued (its share of the send budget: %zu), %llu "
			    "taken in %u ms", peer_send_pending(p),
			    peer_send_share(p), (unsigned long long)(p->drained -
			    p->stall_mark), PEER_STALL_MS);
			peer_close(p, reason);
			return;
		}
		p->stall_ms = now;
		p->stall_mark = p->drained;
	}
	if (now - p->last_recv_ms > cfg->peer_timeout_ms) {
		snprintf(reason, sizeof(reason), "timeout: silent for %llu ms",
		    (unsigned long long)(now - p->last_recv_ms));
		peer_close(p, reason);
		return;
	}
	if (now - p->last_ping_ms >= cfg->ping_interval_ms) {
		randombytes_buf(&p->ping_nonce, sizeof(p->ping_nonce));
		p->ping_sent_ms = p->last_ping_ms = now;
		if (peer_send(p, FRAME_PING, buf, frame_ping_encode(p->ping_nonce,
		    buf)) == -1)
			return;
	}
	p->hooks->tick(p);
}
