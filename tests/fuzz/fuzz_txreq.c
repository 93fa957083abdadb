/*
 * fuzz_txreq.c: the download scheduler (daemon/p2p/txreq.c) driven by a
 * random sequence of peer add/del, a peer proving productive, announce,
 * received (every answer), notfound, forget, retry and poll with advancing
 * time, over a few ids and peers and with small limits, so that collisions
 * happen and every bound is hit.  After every step txreq_check must pass, and the scheduler must
 * agree with a shadow model of the requests out kept here from the ask
 * callback: nobody is asked who is not added or did not announce the id,
 * no peer has more than its limit out, an id has at most one request out
 * and none while held, the peer txreq_wanted names is the one asked, each
 * peer's class and quota are what its history makes them, the quotas add up
 * to at most the table and each class holds at most its pool.  It must also
 * do exactly what an oracle does: the relay's old table of wanted ids
 * (gossip.c's gossip_inflight and its functions) restated here over an
 * array walked in full, with the limits of docs/PROTOCOL.md 5.3 as they are
 * now (pools per class of peer): the same requests in the same order, the
 * same answers and counters.  At the end (after an odd number of
 * operations), with every peer gone and every verdict in, the table
 * empties.
 *
 * Input: 8 bytes of limits, then operations of 3 bytes each.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/txreq.h"

#define NSLOTS		6
#define NIDS		8
#define UNKNOWN_PEER	(UINT64_C(1) << 40)	/* never added */

#define MAXASKS		64	/* per call: at most one per id */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_ask {
	uint64_t	 peer;
	int		 k;
};

/* The oracle's wanted id: gossip.c's struct gossip_inflight, and its pool. */
struct o_ent {
	int		 used;
	uint64_t	 asked;		/* serial; 0: nobody */
	uint64_t	 creator;
	int		 pool;		/* whose pool it fills: the creator's class then */
	uint64_t	 deadline;
	uint64_t	 seq;		/* when the deadline was set */
	uint64_t	 askseq;	/* when it was asked */
	uint64_t	 alts[8];
	uint8_t		 altout[8];
	unsigned	 nalts;
};

/* The classes of PROTOCOL.md 5.3, by their pools. */
enum { O_OUT, O_PROD, O_IN, O_NPOOLS };

struct o_peer {
	uint64_t	 serial;	/* 0: none */
	int		 outbound;
	int		 productive;	/* inbound, and a transaction of its was accepted */
	size_t		 inflight, created;
};

struct oracle {
	struct txreq_limits lim;	/* alts clamped as txreq_new does */
	struct o_ent	 e[NIDS];
	struct o_peer	 p[NSLOTS];	/* by the fuzzer's slot */
	uint64_t	 seq, askseq;
	struct fz_ask	 asks[MAXASKS];	/* expected of the call */
	size_t		 nasks;
};

struct fz {
	struct txreq	*s;
	struct txreq_limits lim;
	uint64_t	 now;
	uint64_t	 next_serial;
	uint64_t	 slot[NSLOTS];		/* serial added there; 0: none */
	uint64_t	 gone[NSLOTS];		/* the last serial deleted there */
	uint8_t		 ids[NIDS][TXREQ_ID_LEN];
	/* The shadow model, per id. */
	uint64_t	 out[NIDS];		/* the peer asked; 0: none */
	uint64_t	 outdl[NIDS];		/* its deadline */
	int		 held[NIDS];
	uint64_t	 creator[NIDS];
	int		 pool[NIDS];		/* the creator's class then */
	unsigned	 ann[NIDS];		/* bit per slot: may be asked */
	int		 cls[NSLOTS];		/* class of the peer in the slot */
	int		 asks_ok;		/* inside a call that may ask */
	size_t		 asks;
	struct fz_ask	 got[MAXASKS];		/* made in the call */
	size_t		 ngot;
	struct oracle	 o;
	size_t		 step;
	int		 trace;		/* FUZZ_TXREQ_TRACE set: steps to stderr */
};

static void
fz_fail(const struct fz *f, const char *what)
{
	fprintf(stderr, "fuzz_txreq: step %zu (now %llu): %s\n", f->step,
	    (unsigned long long)f->now, what);
	abort();
}

static void __attribute__((format(printf, 2, 3)))
fz_trace(const struct fz *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->trace)
		return;
	fprintf(stderr, "%zu @%llu: ", f->step, (unsigned long long)f->now);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The oracle.  Peers gone leave every line at once (the scheduler drops
 * them when it meets them, to the same effect), and equal deadlines fall
 * due in the order they were set (the scheduler's heap does the same;
 * gossip.c walked its hash table in no particular order).
 */
static struct o_peer *
o_peer(struct oracle *o, uint64_t serial)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (serial != 0 && o->p[i].serial == serial)
			return &o->p[i];
	return NULL;
}

static size_t
o_count(const struct oracle *o)
{
	size_t n = 0;
	int k;

	for (k = 0; k < NIDS; k++)
		n += o->e[k].used;
	return n;
}

static int
o_class(const struct o_peer *p)
{
	return p->outbound ? O_OUT : p->productive ? O_PROD : O_IN;
}

/* Outbound a quarter of the table, productive a quarter, other inbound the rest. */
static size_t
o_pool(const struct oracle *o, int c)
{
	size_t quarter = o->lim.table_max / 4;

	return c == O_IN ? o->lim.table_max - 2 * quarter : quarter;
}

/* Entries filling class c's pool. */
static size_t
o_pool_used(const struct oracle *o, int c)
{
	size_t n = 0;
	int k;

	for (k = 0; k < NIDS; k++)
		n += o->e[k].used && o->e[k].pool == c;
	return n;
}

/* p's share of its class's pool among the peers of the class, at most announced_max. */
static size_t
o_quota(const struct oracle *o, const struct o_peer *p)
{
	size_t n = 0, share;
	int i;

	for (i = 0; i < NSLOTS; i++)
		n += o->p[i].serial != 0 && o_class(&o->p[i]) == o_class(p);
	share = o_pool(o, o_class(p)) / n;
	return share < o->lim.announced_max ? share : o->lim.announced_max;
}

/* What stops p from creating an entry now: TXREQ_ANN_NEW if nothing. */
static enum txreq_ann
o_may_create(const struct oracle *o, const struct o_peer *p)
{
	if (p->created >= o_quota(o, p))
		return TXREQ_ANN_QUOTA;
	if (o_pool_used(o, o_class(p)) >= o_pool(o, o_class(p)) ||
	    o_count(o) >= o->lim.table_max)
		return TXREQ_ANN_FULL;
	return TXREQ_ANN_NEW;
}

static void
o_deadline(struct oracle *o, struct o_ent *e, uint64_t d)
{
	e->deadline = d;
	e->seq = ++o->seq;
}

/* gossip_alt_del */
static void
o_alt_del(struct o_ent *e, uint64_t serial)
{
	unsigned i, k = 0;

	for (i = 0; i < e->nalts; i++)
		if (e->alts[i] != serial) {
			e->altout[k] = e->altout[i];
			e->alts[k++] = e->alts[i];
		}
	e->nalts = k;
}

/* gossip_alt_add_front */
static void
o_alt_add_front(struct oracle *o, struct o_ent *e, uint64_t serial, int outbound)
{
	o_alt_del(e, serial);
	if (e->nalts == o->lim.alts)
		e->nalts--;
	memmove(&e->alts[1], &e->alts[0], e->nalts * sizeof(e->alts[0]));
	memmove(&e->altout[1], &e->altout[0], e->nalts);
	e->alts[0] = serial;
	e->altout[0] = outbound != 0;
	e->nalts++;
}

/* gossip_alt_add, answering as txreq_announce does */
static enum txreq_ann
o_alt_add(struct oracle *o, struct o_ent *e, const struct o_peer *p)
{
	unsigned i;

	if (p->serial == e->asked)
		return TXREQ_ANN_KEPT;
	for (i = 0; i < e->nalts; i++)
		if (e->alts[i] == p->serial)
			return TXREQ_ANN_KEPT;
	if (e->nalts < o->lim.alts) {
		e->altout[e->nalts] = p->outbound != 0;
		e->alts[e->nalts++] = p->serial;
		return TXREQ_ANN_ADDED;
	}
	if (!p->outbound)
		return TXREQ_ANN_DROPPED;
	for (i = e->nalts; i-- > 0; )
		if (!e->altout[i]) {
			o_alt_del(e, e->alts[i]);
			o_alt_add_front(o, e, p->serial, 1);
			return TXREQ_ANN_ADDED;
		}
	return TXREQ_ANN_DROPPED;
}

/* gossip_request_done */
static void
o_request_done(struct oracle *o, struct o_ent *e)
{
	struct o_peer *q;

	if (e->asked != 0 && (q = o_peer(o, e->asked)) != NULL && q->inflight > 0)
		q->inflight--;
	e->asked = 0;
}

/* gossip_inflight_free */
static void
o_free(struct oracle *o, struct o_ent *e)
{
	struct o_peer *q;

	o_request_done(o, e);
	if ((q = o_peer(o, e->creator)) != NULL && q->created > 0)
		q->created--;
	memset(e, 0, sizeof(*e));
}

/* gossip_inflight_new, held */
static void
o_new(struct o_ent *e, struct o_peer *p)
{
	memset(e, 0, sizeof(*e));
	e->used = 1;
	e->creator = p->serial;
	e->pool = o_class(p);
	e->deadline = TXREQ_NEVER;
	p->created++;
}

/* gossip_ask */
static int
o_ask(struct oracle *o, struct o_ent *e, struct o_peer *p, uint64_t now)
{
	if (p->inflight >= o->lim.inflight)
		return -1;
	e->asked = p->serial;
	e->askseq = ++o->askseq;
	o_deadline(o, e, now + o->lim.timeout_ms);
	p->inflight++;
	o_alt_del(e, p->serial);
	o->asks[o->nasks].peer = p->serial;
	o->asks[o->nasks++].k = (int)(e - o->e);
	return 0;
}

/* gossip_want_next */
static void
o_want_next(struct oracle *o, struct o_ent *e, uint64_t now)
{
	struct o_peer *q;
	unsigned i;

	o_request_done(o, e);
	for (i = 0; i < e->nalts; ) {
		if ((q = o_peer(o, e->alts[i])) == NULL) {
			o_alt_del(e, e->alts[i]);
			continue;
		}
		if (o_ask(o, e, q, now) == 0)
			return;
		i++;
	}
	if (e->nalts > 0) {
		o_deadline(o, e, now + o->lim.retry_ms);
		return;
	}
	o_free(o, e);
}

/* gossip_on_inv for one id */
static enum txreq_ann
o_announce(struct oracle *o, uint64_t serial, int k, int held, uint64_t now)
{
	struct o_peer *p = o_peer(o, serial);
	struct o_ent *e = &o->e[k];
	enum txreq_ann why;

	if (p == NULL)
		return TXREQ_ANN_DROPPED;
	if (e->used)
		return o_alt_add(o, e, p);
	if ((why = o_may_create(o, p)) != TXREQ_ANN_NEW)
		return why;
	o_new(e, p);
	o_alt_add(o, e, p);
	if (!held && o_ask(o, e, p, now) == -1)
		o_deadline(o, e, now + o->lim.retry_ms);
	return TXREQ_ANN_NEW;
}

/* the inflight handling of gossip_on_tx */
static void
o_received(struct oracle *o, uint64_t serial, int k, enum txreq_rx what,
    uint64_t now)
{
	struct o_peer *p = o_peer(o, serial), *q;
	struct o_ent *e = o->e[k].used ? &o->e[k] : NULL;
	uint64_t asked;

	if (e != NULL && e->asked == serial)
		o_request_done(o, e);
	switch (what) {
	case TXREQ_RX_SETTLED:
		if (e != NULL)
			o_free(o, e);
		break;
	case TXREQ_RX_BAD_COPY:
		if (e != NULL) {
			o_alt_del(e, serial);
			if (e->asked == 0 && e->deadline != TXREQ_NEVER)
				o_want_next(o, e, now);
		}
		break;
	case TXREQ_RX_PENDING_OTHER:
		if (e == NULL && p != NULL &&
		    o_may_create(o, p) == TXREQ_ANN_NEW) {
			e = &o->e[k];
			o_new(e, p);
		}
		if (e != NULL) {
			if (p != NULL)
				o_alt_add(o, e, p);
			if (e->asked == 0)
				o_deadline(o, e, TXREQ_NEVER);
		}
		break;
	case TXREQ_RX_PENDING_SAME:
		if (e != NULL && e->asked == 0)
			o_deadline(o, e, TXREQ_NEVER);
		break;
	case TXREQ_RX_VALIDATING:
		if (e != NULL) {
			asked = e->asked;
			o_request_done(o, e);
			o_alt_del(e, serial);
			if (asked != 0 && asked != serial &&
			    (q = o_peer(o, asked)) != NULL)
				o_alt_add_front(o, e, asked, q->outbound);
			o_deadline(o, e, TXREQ_NEVER);
		}
		break;
	}
}

/* gossip_on_notfound for one id */
static void
o_notfound(struct oracle *o, uint64_t serial, int k, uint64_t now)
{
	struct o_ent *e = &o->e[k];

	if (e->used && serial != 0 && e->asked == serial)
		o_want_next(o, e, now);
}

/* gossip_on_validated: bad signature from bad, or not judged (bad 0) */
static void
o_retry(struct oracle *o, int k, uint64_t bad)
{
	struct o_ent *e = &o->e[k];

	if (!e->used)
		return;
	if (bad != 0 && e->asked == bad)
		o_request_done(o, e);
	o_alt_del(e, bad);
	o_deadline(o, e, 0);
}

/* gossip_tickcb's walk, in deadline order */
static void
o_poll(struct oracle *o, uint64_t now)
{
	struct o_ent *due[NIDS], *t;
	size_t n = 0, i, j;
	int k;

	for (k = 0; k < NIDS; k++)
		if (o->e[k].used && o->e[k].deadline != TXREQ_NEVER &&
		    o->e[k].deadline <= now)
			due[n++] = &o->e[k];
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && (due[j]->deadline < due[j - 1]->deadline ||
		    (due[j]->deadline == due[j - 1]->deadline &&
		    due[j]->seq < due[j - 1]->seq)); j--) {
			t = due[j];
			due[j] = due[j - 1];
			due[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		o_want_next(o, due[i], now);
}

/* gossip_peer_closed: its requests are due now, in the order asked */
static void
o_peer_del(struct oracle *o, uint64_t serial)
{
	struct o_peer *p = o_peer(o, serial);
	struct o_ent *first;
	int k;

	if (p == NULL)
		return;
	for (;;) {
		first = NULL;
		for (k = 0; k < NIDS; k++)
			if (o->e[k].used && o->e[k].asked == serial &&
			    (first == NULL || o->e[k].askseq < first->askseq))
				first = &o->e[k];
		if (first == NULL)
			break;
		first->asked = 0;
		o_deadline(o, first, 0);
	}
	for (k = 0; k < NIDS; k++)
		o_alt_del(&o->e[k], serial);
	memset(p, 0, sizeof(*p));
}

/* A transaction from serial was accepted: an inbound peer is productive. */
static void
o_productive(struct oracle *o, uint64_t serial)
{
	struct o_peer *p = o_peer(o, serial);

	if (p != NULL && !p->outbound)
		p->productive = 1;
}

/* The call made the requests the oracle made, in the same order. */
static void
fz_match(struct fz *f)
{
	size_t i;

	if (f->ngot != f->o.nasks)
		fz_fail(f, "not the oracle's number of requests");
	for (i = 0; i < f->ngot; i++)
		if (f->got[i].peer != f->o.asks[i].peer ||
		    f->got[i].k != f->o.asks[i].k)
			fz_fail(f, "not the oracle's requests");
	f->ngot = f->o.nasks = 0;
}

static int
fz_slot_of(const struct fz *f, uint64_t serial)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (serial != 0 && f->slot[i] == serial)
			return i;
	return -1;
}

static int
fz_id_of(const struct fz *f, const uint8_t id[TXREQ_ID_LEN])
{
	int k;

	for (k = 0; k < NIDS; k++)
		if (memcmp(f->ids[k], id, TXREQ_ID_LEN) == 0)
			return k;
	return -1;
}

static size_t
fz_out_of(const struct fz *f, uint64_t serial)
{
	size_t n = 0;
	int k;

	for (k = 0; k < NIDS; k++)
		n += f->out[k] == serial;
	return n;
}

static void
fz_ask(uint64_t peer, const uint8_t id[TXREQ_ID_LEN], void *arg)
{
	struct fz *f = arg;
	int k = fz_id_of(f, id), i = fz_slot_of(f, peer);

	if (!f->asks_ok)
		fz_fail(f, "asked from a call that may not ask");
	if (k < 0)
		fz_fail(f, "asked for an id never announced");
	if (i < 0)
		fz_fail(f, "asked a peer that is not added");
	if (f->held[k])
		fz_fail(f, "asked for a held id");
	if (f->out[k] != 0)
		fz_fail(f, "two requests out for one id");
	if (fz_out_of(f, peer) >= f->lim.inflight)
		fz_fail(f, "more requests out than the peer's limit");
	if (!(f->ann[k] & (1u << i)))
		fz_fail(f, "asked a peer that did not announce the id");
	fz_trace(f, "  ask peer %llu id %d", (unsigned long long)peer, k);
	f->out[k] = peer;
	f->outdl[k] = f->now + f->lim.timeout_ms;
	f->asks++;
	if (f->ngot == MAXASKS)
		fz_fail(f, "more requests in one call than ids");
	f->got[f->ngot].peer = peer;
	f->got[f->ngot++].k = k;
}

/* A peer for an operation: one added, or (rarely) one gone or never added. */
static uint64_t
fz_peer(const struct fz *f, uint8_t b, int *slot)
{
	int i = b % NSLOTS;

	*slot = -1;
	if (b >= 0xf0)
		return f->gone[i] != 0 ? f->gone[i] : UNKNOWN_PEER + i;
	if (f->slot[i] != 0)
		*slot = i;
	return f->slot[i] != 0 ? f->slot[i] : UNKNOWN_PEER + i;
}

static int
fz_wanted(const struct fz *f, int k, uint64_t *asked)
{
	uint64_t a = 0;
	int w = txreq_wanted(f->s, f->ids[k], &a);

	if (asked != NULL)
		*asked = a;
	return w;
}

/* Everything the scheduler says agrees with the shadow model. */
static void
fz_verify(struct fz *f)
{
	char err[256], msg[320];
	uint64_t asked;
	size_t n = 0, share, c, quotas = 0, pools = 0;
	size_t ncls[TXREQ_CLASSES] = { 0 }, used[TXREQ_CLASSES] = { 0 };
	int k, i;

	if (txreq_check(f->s, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "txreq_check: %s", err);
		fz_fail(f, msg);
	}
	for (k = 0; k < NIDS; k++) {
		if (!fz_wanted(f, k, &asked)) {
			if (f->o.e[k].used)
				fz_fail(f, "the oracle still wants the id");
			if (f->out[k] != 0)
				fz_fail(f, "an entry went with a request out");
			f->held[k] = 0;
			f->creator[k] = 0;
			f->ann[k] = 0;
			continue;
		}
		n++;
		used[f->pool[k]]++;
		if (!f->o.e[k].used || f->o.e[k].asked != asked ||
		    f->o.e[k].pool != f->pool[k])
			fz_fail(f, "not the oracle's entry, or its peer asked");
		if (asked != f->out[k])
			fz_fail(f, "txreq_wanted names another peer than the one asked");
		if (f->held[k] && asked != 0)
			fz_fail(f, "held with a request out");
	}
	if (txreq_count(f->s) != n)
		fz_fail(f, "txreq_count disagrees with txreq_wanted");
	for (i = 0; i < NSLOTS; i++)
		if (f->slot[i] != 0)
			ncls[f->cls[i]]++;
	for (i = 0; i < NSLOTS; i++) {
		if (f->slot[i] == 0)
			continue;
		if (txreq_class(f->s, f->slot[i]) != f->cls[i])
			fz_fail(f, "txreq_class is not the peer's class");
		share = txreq_pool(f->s, (enum txreq_class)f->cls[i]) /
		    ncls[f->cls[i]];
		if (share > f->lim.announced_max)
			share = f->lim.announced_max;
		if (txreq_quota(f->s, f->slot[i]) != share)
			fz_fail(f, "txreq_quota is not the share of the class's pool");
		quotas += share;
		if (txreq_room(f->s, f->slot[i]) != (txreq_created(f->s,
		    f->slot[i]) < share && txreq_pool_used(f->s, (enum
		    txreq_class)f->cls[i]) < txreq_pool(f->s, (enum
		    txreq_class)f->cls[i]) && txreq_count(f->s) < f->lim.table_max))
			fz_fail(f, "txreq_room says otherwise");
		if (txreq_inflight(f->s, f->slot[i]) != fz_out_of(f, f->slot[i]))
			fz_fail(f, "txreq_inflight disagrees with the requests asked");
		for (c = 0, k = 0; k < NIDS; k++)
			c += f->creator[k] == f->slot[i];
		if (txreq_created(f->s, f->slot[i]) != c)
			fz_fail(f, "txreq_created disagrees with the entries made");
		if (f->o.p[i].serial != f->slot[i] ||
		    f->o.p[i].inflight != txreq_inflight(f->s, f->slot[i]) ||
		    f->o.p[i].created != c)
			fz_fail(f, "the oracle counts otherwise");
	}
	for (i = 0; i < NSLOTS; i++)
		if (f->gone[i] != 0 && (txreq_inflight(f->s, f->gone[i]) != 0 ||
		    txreq_created(f->s, f->gone[i]) != 0 ||
		    txreq_quota(f->s, f->gone[i]) != 0 ||
		    txreq_room(f->s, f->gone[i]) ||
		    txreq_class(f->s, f->gone[i]) != -1))
			fz_fail(f, "a gone peer still has counters");
	/* The limits add up to at most the table, whoever came and went. */
	if (quotas > f->lim.table_max)
		fz_fail(f, "the quotas add up to more than the table");
	for (c = 0; c < TXREQ_CLASSES; c++) {
		pools += txreq_pool(f->s, (enum txreq_class)c);
		if (txreq_pool(f->s, (enum txreq_class)c) != o_pool(&f->o, (int)c))
			fz_fail(f, "not the oracle's pool");
		if (txreq_pool_used(f->s, (enum txreq_class)c) != used[c])
			fz_fail(f, "txreq_pool_used disagrees with the entries made");
		if (used[c] > txreq_pool(f->s, (enum txreq_class)c))
			fz_fail(f, "a class holds more than its pool");
	}
	if (pools > f->lim.table_max)
		fz_fail(f, "the pools add up to more than the table");
}

static void
fz_announce(struct fz *f, uint64_t peer, int slot, int k, int held)
{
	enum txreq_ann r, ro;
	unsigned oldann;
	int before, after;
	size_t created = txreq_created(f->s, peer), count = txreq_count(f->s);
	size_t quota = txreq_quota(f->s, peer), used = 0, pool = 0;
	int cls = slot >= 0 ? f->cls[slot] : -1;

	if (cls >= 0) {
		used = txreq_pool_used(f->s, (enum txreq_class)cls);
		pool = txreq_pool(f->s, (enum txreq_class)cls);
	}
	before = fz_wanted(f, k, NULL);
	ro = o_announce(&f->o, peer, k, held, f->now);
	oldann = f->ann[k];
	if (slot >= 0)
		f->ann[k] |= 1u << slot;	/* it may be asked at once */
	f->asks_ok = 1;
	r = txreq_announce(f->s, peer, f->ids[k], held, f->now);
	f->asks_ok = 0;
	after = fz_wanted(f, k, NULL);
	fz_trace(f, "announce peer %llu id %d held %d: %d", (unsigned long long)peer,
	    k, held, (int)r);
	fz_match(f);
	if (r != ro)
		fz_fail(f, "txreq_announce answered other than the oracle");
	if (r != TXREQ_ANN_NEW && r != TXREQ_ANN_ADDED && r != TXREQ_ANN_KEPT)
		f->ann[k] = oldann;
	switch (r) {
	case TXREQ_ANN_NEW:
		if (before || !after || slot < 0)
			fz_fail(f, "NEW but the id was wanted, or is not, or the "
			    "peer is not added");
		if (created >= quota || used >= pool || count >= f->lim.table_max)
			fz_fail(f, "NEW for a peer with no room");
		f->creator[k] = peer;
		f->pool[k] = cls;
		f->held[k] = held;
		f->ann[k] |= 1u << slot;
		if (held && f->out[k] != 0)
			fz_fail(f, "NEW and held, but asked");
		if (!held && f->out[k] != peer &&
		    txreq_inflight(f->s, peer) < f->lim.inflight)
			fz_fail(f, "NEW, not held, a slot free, yet not asked");
		break;
	case TXREQ_ANN_ADDED:
	case TXREQ_ANN_KEPT:
		if (!before || !after || slot < 0)
			fz_fail(f, "ADDED/KEPT for an id not wanted or a peer not added");
		f->ann[k] |= 1u << slot;
		break;
	case TXREQ_ANN_DROPPED:
		if (before != after || (slot >= 0 && !before))
			fz_fail(f, "DROPPED changed the table, or a new id");
		break;
	case TXREQ_ANN_QUOTA:
		if (before || after || slot < 0 || created < quota)
			fz_fail(f, "QUOTA but the peer has room, or the id is wanted");
		break;
	case TXREQ_ANN_FULL:
		if (before || after || slot < 0 || (used < pool &&
		    count < f->lim.table_max) || created >= quota)
			fz_fail(f, "FULL but the pool has room, or it was QUOTA");
		break;
	default:
		fz_fail(f, "txreq_announce answered no txreq_ann");
	}
}

static void
fz_received(struct fz *f, uint64_t peer, int slot, int k, enum txreq_rx what)
{
	int before, after;
	size_t asks = f->asks;

	before = fz_wanted(f, k, NULL);
	if (f->out[k] == peer)
		f->out[k] = 0;	/* answered */
	o_received(&f->o, peer, k, what, f->now);
	f->asks_ok = 1;
	txreq_received(f->s, peer, f->ids[k], what, f->now);
	f->asks_ok = 0;
	fz_trace(f, "received peer %llu id %d what %d", (unsigned long long)peer,
	    k, (int)what);
	fz_match(f);
	after = fz_wanted(f, k, NULL);
	if (what != TXREQ_RX_BAD_COPY && f->asks != asks)
		fz_fail(f, "only a bad copy may ask another announcer");
	switch (what) {
	case TXREQ_RX_SETTLED:
		if (after)
			fz_fail(f, "SETTLED left the entry");
		f->held[k] = 0;
		f->out[k] = 0;
		break;
	case TXREQ_RX_BAD_COPY:
		if (slot >= 0)
			f->ann[k] &= ~(1u << slot);
		break;
	case TXREQ_RX_PENDING_OTHER:
		if (before && !after)
			fz_fail(f, "PENDING_OTHER dropped the entry");
		if (!before && after) {
			if (slot < 0)
				fz_fail(f, "a peer not added created an entry");
			f->creator[k] = peer;
			f->pool[k] = f->cls[slot];
		}
		if (after && slot >= 0)
			f->ann[k] |= 1u << slot;
		if (after && f->out[k] == 0)
			f->held[k] = 1;
		break;
	case TXREQ_RX_PENDING_SAME:
		if (before != after)
			fz_fail(f, "PENDING_SAME changed the table");
		if (after && f->out[k] == 0)
			f->held[k] = 1;
		break;
	case TXREQ_RX_VALIDATING:
		if (before != after)
			fz_fail(f, "VALIDATING changed the table");
		if (after) {
			f->out[k] = 0;	/* moot until the verdict */
			f->held[k] = 1;
		}
		break;
	}
}

static void
fz_poll(struct fz *f)
{
	int k;

	for (k = 0; k < NIDS; k++)
		if (f->out[k] != 0 && f->outdl[k] <= f->now)
			f->out[k] = 0;	/* timed out, or made due */
	fz_trace(f, "poll");
	o_poll(&f->o, f->now);
	f->asks_ok = 1;
	txreq_poll(f->s, f->now);
	f->asks_ok = 0;
	fz_match(f);
}

static void
fz_peer_del(struct fz *f, uint64_t peer, int slot)
{
	int k;

	fz_trace(f, "peer_del %llu", (unsigned long long)peer);
	o_peer_del(&f->o, peer);
	txreq_peer_del(f->s, peer);
	if (slot < 0)
		return;
	for (k = 0; k < NIDS; k++) {
		if (f->out[k] == peer)
			f->out[k] = 0;
		f->ann[k] &= ~(1u << slot);
	}
	f->gone[slot] = peer;
	f->slot[slot] = 0;
}

static void
fz_step(struct fz *f, uint8_t op, uint8_t a, uint8_t b)
{
	uint64_t peer;
	int slot, k = b % NIDS, i;


	switch (op % 12) {
	case 0:		/* a peer comes (or is added again: no change) */
		i = a % NSLOTS;
		if (f->slot[i] == 0) {
			f->slot[i] = ++f->next_serial;
			fz_trace(f, "peer_add %llu out %d", (unsigned long long)
			    f->slot[i], b & 1);
			txreq_peer_add(f->s, f->slot[i], b & 1);
			memset(&f->o.p[i], 0, sizeof(f->o.p[i]));
			f->o.p[i].serial = f->slot[i];
			f->o.p[i].outbound = b & 1;
			f->cls[i] = (b & 1) ? TXREQ_OUTBOUND : TXREQ_INBOUND;
		} else
			txreq_peer_add(f->s, f->slot[i], !(b & 1));
		break;
	case 1:		/* a peer goes (or an unknown one: no change) */
		peer = fz_peer(f, a, &slot);
		fz_peer_del(f, peer, slot);
		break;
	case 2:
	case 3:
		peer = fz_peer(f, a, &slot);
		fz_announce(f, peer, slot, k, (b >> 4) & 1);
		break;
	case 4:		/* every peer announces it, in slot order */
		for (i = 0; i < NSLOTS; i++)
			if (f->slot[i] != 0)
				fz_announce(f, f->slot[i], i, k, (b >> 4) & 1);
		break;
	case 5:
		peer = fz_peer(f, a, &slot);
		fz_received(f, peer, slot, k, (enum txreq_rx)((b >> 4) % 5));
		break;
	case 6:
		peer = fz_peer(f, a, &slot);
		if (f->out[k] == peer)
			f->out[k] = 0;
		fz_trace(f, "notfound peer %llu id %d", (unsigned long long)peer, k);
		o_notfound(&f->o, peer, k, f->now);
		f->asks_ok = 1;
		txreq_notfound(f->s, peer, f->ids[k], f->now);
		f->asks_ok = 0;
		fz_match(f);
		break;
	case 7:
		fz_trace(f, "forget id %d", k);
		if (f->o.e[k].used)
			o_free(&f->o, &f->o.e[k]);
		txreq_forget(f->s, f->ids[k]);
		f->held[k] = 0;
		f->out[k] = 0;
		break;
	case 8:		/* a verdict: bad copy from a peer, or not judged */
		peer = (b & 0x10) ? fz_peer(f, a, &slot) : 0;
		fz_trace(f, "retry id %d bad %llu", k, (unsigned long long)peer);
		o_retry(&f->o, k, peer);
		txreq_retry(f->s, f->ids[k], peer);
		f->held[k] = 0;
		if (f->out[k] != 0 && f->out[k] == peer)
			f->out[k] = 0;	/* not waited for */
		else if (f->out[k] != 0)
			f->outdl[k] = 0;	/* given up at the next poll */
		if (peer != 0 && (slot = fz_slot_of(f, peer)) >= 0)
			f->ann[k] &= ~(1u << slot);
		break;
	case 9:		/* time passes, then the tick */
		f->now += (uint64_t)a * (b & 0x80 ? 37 : 3);
		fz_poll(f);
		break;
	case 10:	/* time passes */
		f->now += a;
		break;
	case 11:	/* a transaction it sent is accepted (or one from the API: 0) */
		peer = (b & 0x10) ? fz_peer(f, a, &slot) : 0;
		fz_trace(f, "productive %llu", (unsigned long long)peer);
		o_productive(&f->o, peer);
		txreq_peer_productive(f->s, peer);
		if (peer != 0 && (slot = fz_slot_of(f, peer)) >= 0 &&
		    f->cls[slot] == TXREQ_INBOUND)
			f->cls[slot] = TXREQ_PRODUCTIVE;
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	size_t pos;
	int k, i;

	if (size < 8)
		return 0;
	memset(&f, 0, sizeof(f));
	f.lim.table_max = 1 + data[0] % 12;
	f.lim.announced_max = data[1] % 8;
	f.lim.inflight = data[2] % 5;
	f.lim.alts = data[3] % 10;	/* 0 and 9 are clamped */
	f.lim.timeout_ms = (uint64_t)data[4] * 4;
	f.lim.retry_ms = data[5];
	f.now = (uint64_t)data[6] << 8 | data[7];
	for (k = 0; k < NIDS; k++) {
		memset(f.ids[k], 0xa5, TXREQ_ID_LEN);
		f.ids[k][0] = (uint8_t)k;
	}
	f.trace = getenv("FUZZ_TXREQ_TRACE") != NULL;
	f.o.lim = f.lim;
	if (f.o.lim.alts < 1)
		f.o.lim.alts = 1;
	if (f.o.lim.alts > 8)
		f.o.lim.alts = 8;
	f.s = txreq_new(&f.lim, fz_ask, &f);
	fz_verify(&f);
	for (pos = 8; pos + 3 <= size; pos += 3) {
		f.step++;
		fz_step(&f, data[pos], data[pos + 1], data[pos + 2]);
		fz_verify(&f);
	}

	/* An even number of operations: freed as it is (entries, peers and all). */
	if ((size - 8) / 3 % 2 == 0) {
		txreq_free(f.s);
		return 0;
	}
	/*
	 * Nothing is stuck: with every peer gone, the tick forgets all but the
	 * held entries, and once their verdicts are in, those too.
	 */
	f.step++;
	for (i = 0; i < NSLOTS; i++)
		if (f.slot[i] != 0)
			fz_peer_del(&f, f.slot[i], i);
	f.now += 1 + f.lim.timeout_ms + f.lim.retry_ms;
	fz_poll(&f);
	fz_verify(&f);
	for (k = 0; k < NIDS; k++)
		if (fz_wanted(&f, k, NULL) && !f.held[k])
			fz_fail(&f, "an entry not held outlived its announcers");
	for (k = 0; k < NIDS; k++) {
		o_retry(&f.o, k, 0);
		txreq_retry(f.s, f.ids[k], 0);
	}
	for (k = 0; k < NIDS; k++)
		f.held[k] = 0;
	fz_poll(&f);
	fz_verify(&f);
	if (txreq_count(f.s) != 0)
		fz_fail(&f, "entries left with no peer and no verdict pending");
	txreq_free(f.s);
	return 0;
}
