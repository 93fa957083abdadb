/*
 * peers.c: attacks by authenticated peers (each completes the handshake and
 * HELLO, as any node may: identities are free).  A pool keeps --conns of
 * them and reconnects a closed one after --retry-ms.
 *
 *   junk     each peer announces --rate fresh random ids a second (INV)
 *   getdata  each peer learns ids the node has, then asks for them again and
 *            again (GETDATA) without reading, up to --hold-bytes of answers
 *   badsig   transactions whose signature is wrong, as fast as the node
 *            reads them; reconnects at once when dropped
 *   spam     valid transactions from --keys senders with --memo byte memos
 *   idle     peers that only answer PING (they fill inbound slots)
 *   probe    an honest peer restarting: --tries connections, one every
 *            --interval-ms, each must be active within --timeout-ms; one
 *            node key for all of them, as a restarting node keeps its own
 *
 * Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hostile.h"
#include "proto/hex.h"

#define POOL_OUT_MAX	(1u << 20)	/* our unsent bytes beyond which a peer waits */
#define BADSIG_OUT	(256u * 1024)	/* badsig keeps this much queued */
#define GETDATA_KNOWN	64		/* ids a getdata peer learns */
#define GETDATA_PROBE	16		/* ... and asks once, reading, for their size */
#define GETDATA_PER_TICK 4		/* GETDATA frames a peer sends per tick */
#define KEEPALIVE_NS	(10ull * 1000000000ull)

enum gd_phase { GD_LEARN, GD_PROBE, GD_HOLD };

struct slot {
	struct link	*l;
	unsigned	 idx;
	uint64_t	 next_try_ns;	/* when a closed slot may reconnect */
	uint64_t	 next_ns;	/* the mode's next action */
	uint64_t	 ping_ns;
	uint64_t	 check_ns;	/* getdata: when to look whether the node closed */
	/* getdata */
	enum gd_phase	 phase;
	uint8_t		 known[GETDATA_KNOWN][TX_ID_LEN];
	unsigned	 nknown, probe_asked, probe_got, cursor;
	uint64_t	 answer_bytes;	/* wire bytes of the probe's answers */
	uint64_t	 asked_bytes;	/* answer bytes asked for while not reading */
};

struct pool {
	struct slot	*slots;
	unsigned	 n;
	uint64_t	 interval_ns;	/* junk: between two INVs of one peer */
	/* badsig and spam */
	uint8_t		 wallet_sk[TX_SK_LEN];
	uint8_t		 bad_sig[TX_SIG_LEN];	/* a real signature, of another body */
	uint8_t		(*keys)[TX_SK_LEN];
	uint64_t	*nonces;
	uint64_t	 txn;		/* transactions made */
	double		 tokens;
	unsigned	 rr;		/* next spam peer */
	uint8_t		 memo[TX_MEMO_MAX];
	uint8_t		 recipient[TX_PK_LEN];
	/* getdata */
	uint64_t	 answer_bytes, answers;
};

static struct pool *
pool_get(struct hostile *h)
{
	return h->m;
}

static const struct link_ops pool_ops;

static void
pool_closed(struct hostile *h, void *arg, int by_node, const char *why)
{
	struct slot *s = arg;

	if (h->o.verbose > 1)
		fprintf(stderr, "hostile: peer %u closed%s: %s\n", s->idx,
		    by_node ? " by the node" : "", why);
	s->l = NULL;
	s->next_try_ns = hostile_now_ns() + (uint64_t)h->o.retry_ms * 1000000ull;
}

/* Opens the closed slots whose wait is over. */
static void
pool_fill(struct hostile *h, uint64_t now)
{
	struct pool *p = pool_get(h);
	unsigned i;

	if (!hostile_running(h))
		return;
	for (i = 0; i < p->n; i++) {
		struct slot *s = &p->slots[i];

		if (s->l != NULL || now < s->next_try_ns)
			continue;
		s->phase = GD_LEARN;
		s->nknown = s->probe_asked = s->probe_got = s->cursor = 0;
		s->answer_bytes = s->asked_bytes = 0;
		s->l = link_open(h, 1, h->o.fixed_key ? h->fixed_sk : NULL,
		    h->o.rcvbuf, &pool_ops, s);
		if (s->l == NULL)
			s->next_try_ns = now + (uint64_t)h->o.retry_ms * 1000000ull + 1000000;
	}
}

static void
pool_new(struct hostile *h)
{
	struct pool *p = calloc(1, sizeof(*p));
	unsigned i;

	if (p == NULL)
		abort();
	p->n = h->o.conns;
	p->slots = calloc(p->n ? p->n : 1, sizeof(*p->slots));
	if (p->slots == NULL)
		abort();
	for (i = 0; i < p->n; i++)
		p->slots[i].idx = i;
	h->m = p;
}

/* --- junk ------------------------------------------------------------ */

static void
junk_up(struct link *l)
{
	struct slot *s = l->arg;
	struct pool *p = pool_get(l->h);

	/* Spread the peers' INVs over the interval. */
	s->next_ns = hostile_now_ns() + randombytes_uniform(
	    (uint32_t)(p->interval_ns / 1000)) * 1000ull;
}

static void
ids_reply(struct link *l, uint8_t type, const struct frame *f)
{
	if (link_send_frame(l, type, f->payload, f->len) == 0 && type == FRAME_NOTFOUND)
		l->h->c[HC_NOTFOUND_IDS_SENT] += (f->len - 2) / TX_ID_LEN;
}

static void
junk_frame(struct link *l, const struct frame *f)
{
	struct hostile *h = l->h;

	switch (f->type) {
	case FRAME_GETDATA:
		h->c[HC_GETDATA_IDS_RECV] += (f->len - 2) / TX_ID_LEN;
		if (h->o.notfound)
			ids_reply(l, FRAME_NOTFOUND, f);
		break;
	case FRAME_INV:
		h->c[HC_INV_IDS_RECV] += (f->len - 2) / TX_ID_LEN;
		break;
	case FRAME_TX:
		h->c[HC_TX_RECV]++;
		break;
	}
}

static void
junk_start(struct hostile *h)
{
	struct pool *p;
	double per = h->o.ids_per_inv / h->o.rate;

	pool_new(h);
	p = pool_get(h);
	p->interval_ns = (uint64_t)(per * 1e9);
	if (p->interval_ns < 1000000)
		p->interval_ns = 1000000;
}

static void
junk_tick(struct hostile *h, uint64_t now)
{
	static uint8_t ids[FRAME_MAX_IDS][TX_ID_LEN];
	static uint8_t buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	struct pool *p = pool_get(h);
	unsigned i, n = h->o.ids_per_inv;
	size_t len;

	pool_fill(h, now);
	for (i = 0; i < p->n; i++) {
		struct slot *s = &p->slots[i];

		while (s->l != NULL && s->l->state == LINK_ACTIVE && now >= s->next_ns) {
			s->next_ns += p->interval_ns;
			if (link_pending(s->l) > POOL_OUT_MAX) {
				h->c[HC_THROTTLED]++;
				s->next_ns = now + p->interval_ns;
				break;
			}
			randombytes_buf(ids, n * TX_ID_LEN);
			len = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids, n,
			    buf, sizeof(buf));
			if (link_send_frame(s->l, FRAME_INV, buf, len) == 0) {
				h->c[HC_INV_FRAMES_SENT]++;
				h->c[HC_INV_IDS_SENT] += n;
			}
		}
	}
}

static void
junk_report(struct hostile *h, FILE *out)
{
	fprintf(out, ",\"ids_per_peer_per_s\":%.0f,\"peers\":%u", h->o.rate, h->o.conns);
}

/* --- getdata --------------------------------------------------------- */

static void
getdata_up(struct link *l)
{
	struct slot *s = l->arg;

	s->phase = GD_LEARN;
	s->ping_ns = hostile_now_ns() + KEEPALIVE_NS;
}

static void
getdata_frame(struct link *l, const struct frame *f)
{
	static uint8_t buf[2 + GETDATA_PROBE * TX_ID_LEN];
	struct hostile *h = l->h;
	struct pool *p = pool_get(h);
	struct slot *s = l->arg;
	const uint8_t (*ids)[TX_ID_LEN];
	const char *err;
	size_t count, i, len;

	switch (f->type) {
	case FRAME_INV:
		if (frame_ids_decode(f->payload, f->len, &ids, &count, &err) == -1)
			return;
		h->c[HC_INV_IDS_RECV] += count;
		if (s->phase != GD_LEARN)
			return;
		for (i = 0; i < count && s->nknown < GETDATA_KNOWN; i++)
			memcpy(s->known[s->nknown++], ids[i], TX_ID_LEN);
		/* Ask once, reading, to learn what an answer weighs. */
		s->probe_asked = s->nknown < GETDATA_PROBE ? s->nknown : GETDATA_PROBE;
		len = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])s->known,
		    s->probe_asked, buf, sizeof(buf));
		if (link_send_frame(l, FRAME_GETDATA, buf, len) == 0) {
			h->c[HC_GETDATA_FRAMES_SENT]++;
			h->c[HC_GETDATA_IDS_SENT] += s->probe_asked;
			s->phase = GD_PROBE;
		}
		return;
	case FRAME_TX:
		h->c[HC_TX_RECV]++;
		if (s->phase != GD_PROBE)
			return;
		s->probe_got++;
		s->answer_bytes += FRAME_HDR_LEN + f->len + CHANNEL_RECORD_OVERHEAD;
		break;
	case FRAME_NOTFOUND:
		if (s->phase != GD_PROBE ||
		    frame_ids_decode(f->payload, f->len, &ids, &count, &err) == -1)
			return;
		s->probe_asked -= count < s->probe_asked ? (unsigned)count : s->probe_asked;
		break;
	default:
		return;
	}
	if (s->probe_got < s->probe_asked)
		return;
	if (s->probe_got == 0) {
		s->phase = GD_LEARN;
		s->nknown = 0;
		return;
	}
	/* From now on the node's answers pile up on its side. */
	p->answer_bytes += s->answer_bytes;
	p->answers += s->probe_got;
	s->phase = GD_HOLD;
	s->next_ns = 0;
	link_stop_reading(l);
}

static void
getdata_start(struct hostile *h)
{
	pool_new(h);
}

static void
getdata_tick(struct hostile *h, uint64_t now)
{
	static uint8_t ids[FRAME_MAX_IDS][TX_ID_LEN];
	static uint8_t buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	struct pool *p = pool_get(h);
	uint8_t ping[8];
	unsigned i, k, j, nid;
	uint64_t per_answer;
	size_t len;

	pool_fill(h, now);
	for (i = 0; i < p->n; i++) {
		struct slot *s = &p->slots[i];

		if (s->l == NULL || s->l->state != LINK_ACTIVE)
			continue;
		if (now >= s->ping_ns) {
			/* The node drops a peer silent for 30 s: stay audible. */
			s->ping_ns = now + KEEPALIVE_NS;
			randombytes_buf(ping, sizeof(ping));
			(void)link_send_frame(s->l, FRAME_PING, ping, sizeof(ping));
		}
		/*
		 * Not reading, we would never see the node's close: ask the
		 * kernel once a second, and come back as a new peer if it did.
		 */
		if (s->phase == GD_HOLD && now >= s->check_ns) {
			s->check_ns = now + 1000000000ull;
			if (!link_alive(s->l)) {
				link_gone(s->l, "closed by the node (seen while not reading)");
				continue;
			}
		}
		if (s->phase != GD_HOLD || s->asked_bytes >= h->o.hold_bytes)
			continue;
		per_answer = s->answer_bytes / s->probe_got;
		for (k = 0; k < GETDATA_PER_TICK && s->asked_bytes < h->o.hold_bytes; k++) {
			nid = FRAME_MAX_IDS;
			if ((h->o.hold_bytes - s->asked_bytes) / per_answer + 1 < nid)
				nid = (unsigned)((h->o.hold_bytes - s->asked_bytes) /
				    per_answer + 1);
			/* The same few ids, over and over: each is answered each time. */
			for (j = 0; j < nid; j++) {
				memcpy(ids[j], s->known[s->cursor % s->probe_got], TX_ID_LEN);
				s->cursor++;
			}
			len = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids, nid,
			    buf, sizeof(buf));
			if (link_send_frame(s->l, FRAME_GETDATA, buf, len) == -1)
				break;
			h->c[HC_GETDATA_FRAMES_SENT]++;
			h->c[HC_GETDATA_IDS_SENT] += nid;
			s->asked_bytes += nid * per_answer;
		}
	}
}

static void
getdata_report(struct hostile *h, FILE *out)
{
	struct pool *p = pool_get(h);
	unsigned i, hold = 0;

	for (i = 0; i < p->n; i++)
		if (p->slots[i].l != NULL && p->slots[i].phase == GD_HOLD &&
		    p->slots[i].asked_bytes >= h->o.hold_bytes)
			hold++;
	fprintf(out, ",\"hold_bytes_per_peer\":%zu,\"answer_wire_bytes\":%.0f,"
	    "\"peers_holding_at_end\":%u", h->o.hold_bytes,
	    p->answers ? (double)p->answer_bytes / p->answers : 0.0, hold);
}

/* --- badsig and spam: transactions ----------------------------------- */

static void
tx_fill(struct tx *t, const uint8_t sk[TX_SK_LEN], const uint8_t netid[TX_NETID_LEN],
    const uint8_t recipient[TX_PK_LEN], uint64_t nonce, uint64_t amount)
{
	memset(t, 0, sizeof(*t));
	t->version = TX_VERSION;
	memcpy(t->netid, netid, TX_NETID_LEN);
	memcpy(t->sender, sk + 32, TX_PK_LEN);
	memcpy(t->recipient, recipient, TX_PK_LEN);
	t->amount = amount;
	t->nonce = nonce;
	t->timestamp_ms = hostile_wall_ms();
}

static void
badsig_start(struct hostile *h)
{
	struct pool *p;
	struct tx t;

	pool_new(h);
	p = pool_get(h);
	hostile_keygen(p->wallet_sk);
	randombytes_buf(p->recipient, sizeof(p->recipient));
	randombytes_buf(&p->txn, sizeof(p->txn));
	p->txn >>= 2;
	/*
	 * A real signature of one body, reused on every other body: well
	 * formed (canonical S, R not of small order), so the node does the
	 * whole verification before it finds it wrong, and costs us nothing.
	 */
	tx_fill(&t, p->wallet_sk, h->netid, p->recipient, p->txn++, 1);
	tx_sign(&t, p->wallet_sk);
	memcpy(p->bad_sig, t.sig, TX_SIG_LEN);
}

static void
badsig_tick(struct hostile *h, uint64_t now)
{
	struct pool *p = pool_get(h);
	uint8_t raw[TX_MAX_LEN];
	struct tx t;
	unsigned i, k;
	size_t len;

	pool_fill(h, now);
	for (i = 0; i < p->n; i++) {
		struct slot *s = &p->slots[i];

		for (k = 0; k < 4000 && s->l != NULL && !s->l->closed &&
		    s->l->state == LINK_ACTIVE && link_pending(s->l) < BADSIG_OUT; k++) {
			tx_fill(&t, p->wallet_sk, h->netid, p->recipient, p->txn++, 1);
			memcpy(t.sig, p->bad_sig, TX_SIG_LEN);
			len = tx_encode(&t, raw, sizeof(raw));
			if (link_send_frame(s->l, FRAME_TX, raw, len) == -1)
				break;
			h->c[HC_TX_SENT]++;
		}
	}
}

static void
spam_start(struct hostile *h)
{
	struct pool *p;
	unsigned i;

	pool_new(h);
	p = pool_get(h);
	p->keys = calloc(h->o.keys, TX_SK_LEN);
	p->nonces = calloc(h->o.keys, sizeof(*p->nonces));
	if (p->keys == NULL || p->nonces == NULL)
		abort();
	for (i = 0; i < h->o.keys; i++) {
		hostile_keygen(p->keys[i]);
		randombytes_buf(&p->nonces[i], sizeof(p->nonces[i]));
		p->nonces[i] >>= 2;
	}
	randombytes_buf(p->memo, sizeof(p->memo));
	randombytes_buf(p->recipient, sizeof(p->recipient));
}

static void
spam_tick(struct hostile *h, uint64_t now)
{
	struct pool *p = pool_get(h);
	uint8_t raw[TX_MAX_LEN];
	struct tx t;
	struct slot *s;
	unsigned key, tries;
	size_t len;
	double dt = (double)(now - h->last_tick_ns) / 1e9;

	pool_fill(h, now);
	p->tokens += h->o.rate * dt;
	if (p->tokens > h->o.rate * 0.05 + 1)
		p->tokens = h->o.rate * 0.05 + 1;
	while (p->tokens >= 1) {
		/* Round robin over the active peers whose output is short. */
		for (tries = 0, s = NULL; tries < p->n; tries++) {
			s = &p->slots[p->rr++ % p->n];
			if (s->l != NULL && !s->l->closed && s->l->state == LINK_ACTIVE &&
			    link_pending(s->l) < POOL_OUT_MAX)
				break;
			s = NULL;
		}
		if (s == NULL) {
			h->c[HC_THROTTLED]++;
			return;
		}
		key = (unsigned)(p->txn++ % h->o.keys);
		tx_fill(&t, p->keys[key], h->netid, p->recipient, p->nonces[key]++,
		    1 + p->txn % 100);
		t.memo_len = (uint16_t)h->o.memo;
		memcpy(t.memo, p->memo, h->o.memo);
		/* Every memo differs a little: no two bodies alike. */
		memcpy(t.memo, &p->txn, h->o.memo < 8 ? h->o.memo : 8);
		tx_sign(&t, p->keys[key]);
		len = tx_encode(&t, raw, sizeof(raw));
		p->tokens -= 1;
		if (link_send_frame(s->l, FRAME_TX, raw, len) == 0)
			h->c[HC_TX_SENT]++;
	}
}

static void
spam_report(struct hostile *h, FILE *out)
{
	fprintf(out, ",\"keys\":%u,\"memo_bytes\":%u,\"rate\":%.0f", h->o.keys,
	    h->o.memo, h->o.rate);
}

/* --- idle ------------------------------------------------------------ */

static void
idle_start(struct hostile *h)
{
	pool_new(h);
}

static void
idle_tick(struct hostile *h, uint64_t now)
{
	pool_fill(h, now);
}

/* --- the pool's link callbacks, by mode ------------------------------ */

static void
pool_up(struct link *l)
{
	if (l->h->mode == &mode_junk)
		junk_up(l);
	else if (l->h->mode == &mode_getdata)
		getdata_up(l);
}

static void
pool_frame(struct link *l, const struct frame *f)
{
	if (l->h->mode == &mode_junk)
		junk_frame(l, f);
	else if (l->h->mode == &mode_getdata)
		getdata_frame(l, f);
	else if (f->type == FRAME_GETDATA)
		l->h->c[HC_GETDATA_IDS_RECV] += (f->len - 2) / TX_ID_LEN;
	else if (f->type == FRAME_INV)
		l->h->c[HC_INV_IDS_RECV] += (f->len - 2) / TX_ID_LEN;
}

static const struct link_ops pool_ops = {
	pool_up, pool_frame, NULL, pool_closed
};

/* --- probe ----------------------------------------------------------- */

#define PROBE_REASONS	6

struct probe {
	unsigned	 started;
	uint64_t	 first_ns;
	struct ptry {
		struct link	*l;
		uint64_t	 t0;
		int		 done;
		double		 ms;	/* time to active, or -1 */
		char		 why[64];
	} *tries;
};

static const struct link_ops probe_ops;

static void
probe_up(struct link *l)
{
	struct ptry *t = l->arg;

	t->ms = (double)(hostile_now_ns() - t->t0) / 1e6;
	t->done = 1;
	l->h->c[HC_PROBE_OK]++;
	/* A restarting node: in, then gone. */
	link_close(l, "probe done");
}

static void
probe_closed(struct hostile *h, void *arg, int by_node, const char *why)
{
	struct ptry *t = arg;

	(void)by_node;
	t->l = NULL;
	if (t->done)
		return;
	t->done = 1;
	t->ms = -1;
	snprintf(t->why, sizeof(t->why), "%s", why);
	h->c[HC_PROBE_FAIL]++;
}

static const struct link_ops probe_ops = { probe_up, NULL, NULL, probe_closed };

static void
probe_start(struct hostile *h)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->tries = calloc(h->o.tries, sizeof(*p->tries))) == NULL)
		abort();
	h->m = p;
	p->first_ns = hostile_now_ns();
}

static void
probe_tick(struct hostile *h, uint64_t now)
{
	struct probe *p = h->m;
	unsigned i, done = 0;

	while (p->started < h->o.tries && now >= p->first_ns +
	    (uint64_t)p->started * h->o.interval_ms * 1000000ull) {
		struct ptry *t = &p->tries[p->started++];

		t->t0 = now;
		/* A restarting node keeps its node key (--fixed-key, the default). */
		t->l = link_open(h, 1, h->o.fixed_key ? h->fixed_sk : NULL, 0,
		    &probe_ops, t);
		if (t->l == NULL) {
			t->done = 1;
			t->ms = -1;
			snprintf(t->why, sizeof(t->why), "cannot connect");
			h->c[HC_PROBE_FAIL]++;
		}
	}
	for (i = 0; i < p->started; i++) {
		struct ptry *t = &p->tries[i];

		if (!t->done && now - t->t0 > (uint64_t)h->o.timeout_ms * 1000000ull) {
			t->done = 1;
			t->ms = -1;
			snprintf(t->why, sizeof(t->why), "not active within %u ms",
			    h->o.timeout_ms);
			h->c[HC_PROBE_FAIL]++;
			if (t->l != NULL)
				link_close(t->l, "probe timeout");
		}
		done += t->done;
	}
	if (done == h->o.tries)
		h->stopping = 1;
}

static void
probe_report(struct hostile *h, FILE *out)
{
	struct probe *p = h->m;
	unsigned i, n = 0;

	fprintf(out, ",\"tries\":%u,\"ok\":%u,\"timeout_ms\":%u,\"times_ms\":[",
	    p->started, (unsigned)h->c[HC_PROBE_OK], h->o.timeout_ms);
	for (i = 0; i < p->started; i++)
		fprintf(out, "%s%.1f", i ? "," : "", p->tries[i].ms);
	fprintf(out, "],\"failures\":[");
	for (i = 0; i < p->started; i++)
		if (p->tries[i].ms < 0)
			fprintf(out, "%s\"%s\"", n++ ? "," : "", p->tries[i].why);
	fprintf(out, "]");
}

const struct mode mode_junk = { "junk",
	"peers announcing --rate fresh random ids/s each (INV of --ids-per-inv)",
	1, 0, junk_start, junk_tick, junk_report };
const struct mode mode_getdata = { "getdata",
	"peers asking for known ids (GETDATA) up to --hold-bytes of answers, never reading",
	1, 0, getdata_start, getdata_tick, getdata_report };
const struct mode mode_badsig = { "badsig",
	"peers sending transactions with bad signatures, reconnecting at once",
	1, 0, badsig_start, badsig_tick, NULL };
const struct mode mode_spam = { "spam",
	"valid transactions from --keys senders, --memo byte memos, --rate tx/s",
	1, 0, spam_start, spam_tick, spam_report };
const struct mode mode_idle = { "idle",
	"peers that complete HELLO and only answer PING",
	1, 0, idle_start, idle_tick, NULL };
const struct mode mode_probe = { "probe",
	"an honest restarting peer: --tries fresh peers, active within --timeout-ms?",
	1, 0, probe_start, probe_tick, probe_report };
