/*
 * txreq.c: download scheduling (see txreq.h): which announcer the relay
 * asks for which wanted id, and when, with peers and time passed in.
 *
 * Entries are found by id in an idmap.  Every entry that is not held sits
 * in a binary min-heap ordered by deadline, so txreq_poll touches only what
 * is due instead of walking the table.  Each peer keeps the list of the
 * entries it is asked for, so txreq_peer_del visits only those.  The
 * announcers waiting in line are serials; one that is gone is dropped when
 * met (when the line is walked to ask the next one, or when a full line
 * needs room), which is safe since serials are never reused.
 */
#include <sys/queue.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/idmap.h"
#include "base/pool.h"
#include "p2p/txreq.h"
#include "lib/util.h"

#define TXREQ_ALTS_MAX	8
#define TXREQ_NOHEAP	SIZE_MAX

struct txreq_peer;

/* A wanted id. */
struct txreq_entry {
	uint8_t		 id[TXREQ_ID_LEN];
	struct txreq_peer *asked;	/* the peer asked; NULL: nobody now */
	uint64_t	 creator;	/* serial of the first announcer (its quota) */
	uint8_t		 cls;		/* the creator's class then (its pool) */
	uint64_t	 deadline;	/* move on then; TXREQ_NEVER while held */
	uint64_t	 seq;		/* when it was set: equal deadlines go in order */
	size_t		 heapidx;	/* TXREQ_NOHEAP iff held (or being polled) */
	struct txreq_entry *due_next;	/* txreq_poll's list of due entries */
	TAILQ_ENTRY(txreq_entry) asked_entry;	/* in asked->asked */
	uint64_t	 alts[TXREQ_ALTS_MAX];	/* announcers in line, oldest first */
	uint8_t		 altout[TXREQ_ALTS_MAX];	/* 1: that one is outbound */
	unsigned	 nalts;
};
TAILQ_HEAD(txreq_entry_list, txreq_entry);

struct txreq_peer {
	struct txreq_peer *next;	/* hash chain */
	uint64_t	 serial;
	int		 outbound;
	enum txreq_class cls;
	size_t		 inflight;	/* == length of asked */
	size_t		 created;	/* entries whose creator it is */
	struct txreq_entry_list asked;
};

struct txreq {
	struct txreq_limits lim;
	txreq_ask_cb	 ask;
	void		*arg;
	struct idmap	*map;		/* id → txreq_entry */
	struct pool	*entries;	/* the txreq_entry structs */
	struct txreq_entry **heap;	/* by deadline, entries not held */
	size_t		 nheap, heapcap;
	struct txreq_peer **peerb;	/* serial → peer, chained */
	size_t		 npeerb;	/* power of two */
	size_t		 npeers;
	size_t		 ncls[TXREQ_CLASSES];	/* peers of each class */
	size_t		 pool[TXREQ_CLASSES];	/* entries each class may hold */
	size_t		 used[TXREQ_CLASSES];	/* entries made by each class */
	uint64_t	 seq;		/* deadlines set so far */
};

/* now + ms, never reaching TXREQ_NEVER. */
static uint64_t
txreq_after(uint64_t now, uint64_t ms)
{
	if (ms >= TXREQ_NEVER - 1 || now >= TXREQ_NEVER - 1 - ms)
		return TXREQ_NEVER - 1;
	return now + ms;
}

static size_t
txreq_peer_slot(size_t nb, uint64_t serial)
{
	return (size_t)((serial * 0x9e3779b97f4a7c15ULL) >> 32) & (nb - 1);
}

static struct txreq_peer *
txreq_peer_get(const struct txreq *s, uint64_t serial)
{
	struct txreq_peer *p;

	if (serial == 0)
		return NULL;
	for (p = s->peerb[txreq_peer_slot(s->npeerb, serial)]; p != NULL;
	    p = p->next)
		if (p->serial == serial)
			return p;
	return NULL;
}

static void
txreq_peer_grow(struct txreq *s)
{
	struct txreq_peer **old = s->peerb, *p, *next;
	size_t oldnb = s->npeerb, i, k;

	s->npeerb *= 2;
	s->peerb = xcalloc(s->npeerb, sizeof(*s->peerb));
	for (i = 0; i < oldnb; i++)
		for (p = old[i]; p != NULL; p = next) {
			next = p->next;
			k = txreq_peer_slot(s->npeerb, p->serial);
			p->next = s->peerb[k];
			s->peerb[k] = p;
		}
	free(old);
}

/* a is due before b. */
static int
txreq_heap_before(const struct txreq_entry *a, const struct txreq_entry *b)
{
	return a->deadline < b->deadline ||
	    (a->deadline == b->deadline && a->seq < b->seq);
}

static void
txreq_heap_place(struct txreq *s, struct txreq_entry *e, size_t i)
{
	s->heap[i] = e;
	e->heapidx = i;
}

static void
txreq_heap_up(struct txreq *s, size_t i)
{
	struct txreq_entry *e = s->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!txreq_heap_before(e, s->heap[parent]))
			break;
		txreq_heap_place(s, s->heap[parent], i);
		i = parent;
	}
	txreq_heap_place(s, e, i);
}

static void
txreq_heap_down(struct txreq *s, size_t i)
{
	struct txreq_entry *e = s->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && txreq_heap_before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!txreq_heap_before(s->heap[c], e))
			break;
		txreq_heap_place(s, s->heap[c], i);
		i = c;
	}
	txreq_heap_place(s, e, i);
}

static void
txreq_heap_remove(struct txreq *s, struct txreq_entry *e)
{
	struct txreq_entry *last;
	size_t i = e->heapidx;

	if (i == TXREQ_NOHEAP)
		return;
	e->heapidx = TXREQ_NOHEAP;
	last = s->heap[--s->nheap];
	if (last == e)
		return;
	txreq_heap_place(s, last, i);
	txreq_heap_up(s, i);
	txreq_heap_down(s, last->heapidx);
}

/*
 * Sets e's deadline, and its place in the heap (none while held).  Equal
 * deadlines fall due in the order they were set, so a poll is deterministic.
 */
static void
txreq_deadline_set(struct txreq *s, struct txreq_entry *e, uint64_t deadline)
{
	e->deadline = deadline;
	e->seq = ++s->seq;
	if (deadline == TXREQ_NEVER) {
		txreq_heap_remove(s, e);
		return;
	}
	if (e->heapidx == TXREQ_NOHEAP) {
		if (s->nheap == s->heapcap) {
			s->heapcap = s->heapcap ? s->heapcap * 2 : 64;
			s->heap = xrealloc(s->heap, s->heapcap * sizeof(*s->heap));
		}
		txreq_heap_place(s, e, s->nheap++);
		txreq_heap_up(s, e->heapidx);
		return;
	}
	txreq_heap_up(s, e->heapidx);
	txreq_heap_down(s, e->heapidx);
}

/* Drops serial from e's line. */
static void
txreq_alt_del(struct txreq_entry *e, uint64_t serial)
{
	unsigned i, k = 0;

	for (i = 0; i < e->nalts; i++)
		if (e->alts[i] != serial) {
			e->altout[k] = e->altout[i];
			e->alts[k++] = e->alts[i];
		}
	e->nalts = k;
}

/* Drops the announcers that are gone from e's line. */
static void
txreq_alt_prune(const struct txreq *s, struct txreq_entry *e)
{
	unsigned i, k = 0;

	for (i = 0; i < e->nalts; i++)
		if (txreq_peer_get(s, e->alts[i]) != NULL) {
			e->altout[k] = e->altout[i];
			e->alts[k++] = e->alts[i];
		}
	e->nalts = k;
}

/*
 * Makes serial e's next announcer; when the line is full, the ones gone
 * leave it, else the last one falls off.
 */
static void
txreq_alt_add_front(struct txreq *s, struct txreq_entry *e, uint64_t serial,
    int outbound)
{
	txreq_alt_del(e, serial);
	if (e->nalts == s->lim.alts)
		txreq_alt_prune(s, e);
	if (e->nalts == s->lim.alts)
		e->nalts--;
	memmove(&e->alts[1], &e->alts[0], e->nalts * sizeof(e->alts[0]));
	memmove(&e->altout[1], &e->altout[0], e->nalts);
	e->alts[0] = serial;
	e->altout[0] = outbound != 0;
	e->nalts++;
}

/*
 * Records p as an announcer of e.  When the line is full, a peer this node
 * dialled (which an attacker cannot make itself) takes the place of the
 * newest inbound one and is asked first, as Bitcoin Core prefers outbound
 * announcers: a crowd of inbound peers announcing an id first cannot shut
 * it out.
 */
static enum txreq_ann
txreq_alt_add(struct txreq *s, struct txreq_entry *e, const struct txreq_peer *p)
{
	unsigned i;

	if (e->asked == p)
		return TXREQ_ANN_KEPT;
	for (i = 0; i < e->nalts; i++)
		if (e->alts[i] == p->serial)
			return TXREQ_ANN_KEPT;
	if (e->nalts == s->lim.alts)
		txreq_alt_prune(s, e);
	if (e->nalts < s->lim.alts) {
		e->altout[e->nalts] = p->outbound != 0;
		e->alts[e->nalts++] = p->serial;
		return TXREQ_ANN_ADDED;
	}
	if (!p->outbound)
		return TXREQ_ANN_DROPPED;
	for (i = e->nalts; i-- > 0; )
		if (!e->altout[i]) {
			txreq_alt_del(e, e->alts[i]);
			txreq_alt_add_front(s, e, p->serial, 1);
			return TXREQ_ANN_ADDED;
		}
	return TXREQ_ANN_DROPPED;
}

/* The request of e is over (answered, refused, timed out): free its slot. */
static void
txreq_request_done(struct txreq_entry *e)
{
	struct txreq_peer *p = e->asked;

	if (p == NULL)
		return;
	TAILQ_REMOVE(&p->asked, e, asked_entry);
	p->inflight--;
	e->asked = NULL;
}

/* A new wanted id, held, whose creator is p; the caller adds announcers. */
static struct txreq_entry *
txreq_entry_new(struct txreq *s, struct txreq_peer *p,
    const uint8_t id[TXREQ_ID_LEN])
{
	struct txreq_entry *e = pool_get(s->entries);

	memcpy(e->id, id, TXREQ_ID_LEN);
	e->creator = p->serial;
	e->cls = (uint8_t)p->cls;
	s->used[p->cls]++;
	e->deadline = TXREQ_NEVER;
	e->heapidx = TXREQ_NOHEAP;
	p->created++;
	idmap_put(s->map, id, e);
	return e;
}

/* Removes and frees e, giving back its request slot and its creator's quota. */
static void
txreq_entry_free(struct txreq *s, struct txreq_entry *e)
{
	struct txreq_peer *c;

	txreq_request_done(e);
	if ((c = txreq_peer_get(s, e->creator)) != NULL && c->created > 0)
		c->created--;
	s->used[e->cls]--;
	txreq_heap_remove(s, e);
	idmap_del(s->map, e->id);
	pool_put(s->entries, e);
}

/*
 * Asks p for e's id when p has a free request slot.  Returns 0, or -1 if p
 * is at its limit.
 */
static int
txreq_ask(struct txreq *s, struct txreq_entry *e, struct txreq_peer *p,
    uint64_t now)
{
	if (p->inflight >= s->lim.inflight)
		return -1;
	e->asked = p;
	TAILQ_INSERT_TAIL(&p->asked, e, asked_entry);
	p->inflight++;
	txreq_deadline_set(s, e, txreq_after(now, s->lim.timeout_ms));
	txreq_alt_del(e, p->serial);
	s->ask(p->serial, e->id, s->arg);
	return 0;
}

/*
 * Moves e to its next announcer: the first still there with a free slot.
 * Announcers at their limit are kept for retry_ms; with none left, the id
 * is forgotten (a later announcement starts again).  e may be freed.
 */
static void
txreq_want_next(struct txreq *s, struct txreq_entry *e, uint64_t now)
{
	struct txreq_peer *q;
	unsigned i;

	txreq_request_done(e);
	for (i = 0; i < e->nalts; ) {
		if ((q = txreq_peer_get(s, e->alts[i])) == NULL) {
			txreq_alt_del(e, e->alts[i]);
			continue;
		}
		if (txreq_ask(s, e, q, now) == 0)
			return;
		i++;
	}
	if (e->nalts > 0) {
		txreq_deadline_set(s, e, txreq_after(now, s->lim.retry_ms));
		return;
	}
	txreq_entry_free(s, e);
}

/* p's quota: its class's pool shared among the peers of the class. */
static size_t
txreq_peer_quota(const struct txreq *s, const struct txreq_peer *p)
{
	size_t share = s->pool[p->cls] / s->ncls[p->cls];

	return share < s->lim.announced_max ? share : s->lim.announced_max;
}

/*
 * Whether p may create an entry now: TXREQ_ANN_NEW if so, else why not.
 * Under its quota, its class under its pool, and the table under its
 * bound: quotas add up to at most the pools, the pools to the table.
 */
static enum txreq_ann
txreq_may_create(const struct txreq *s, const struct txreq_peer *p)
{
	if (p->created >= txreq_peer_quota(s, p))
		return TXREQ_ANN_QUOTA;
	if (s->used[p->cls] >= s->pool[p->cls] ||
	    idmap_count(s->map) >= s->lim.table_max)
		return TXREQ_ANN_FULL;
	return TXREQ_ANN_NEW;
}

struct txreq *
txreq_new(const struct txreq_limits *limits, txreq_ask_cb ask, void *arg)
{
	struct txreq *s = xcalloc(1, sizeof(*s));

	s->lim = *limits;
	if (s->lim.alts < 1)
		s->lim.alts = 1;
	if (s->lim.alts > TXREQ_ALTS_MAX)
		s->lim.alts = TXREQ_ALTS_MAX;
	/*
	 * The pools.  Outbound peers get a quarter: the node chose them (an
	 * attacker cannot make one), they are few (--outbound 8 and the
	 * --peer ones), so each still has thousands of entries, and they are
	 * the node's way out of an inbound crowd.  Productive inbound peers
	 * get a quarter: they have delivered a valid transaction, which the
	 * honest nodes that dial us do within their first seconds, so a flood
	 * of fresh inbound identities (free to make) cannot shut them out.
	 * Other inbound peers get the other half, the largest share since they
	 * are the most (up to --max-peers 125) and include honest newcomers;
	 * they compete only among themselves.  A pool with no peer is not lent
	 * out: its room is there the moment a peer of its class comes.
	 */
	s->pool[TXREQ_OUTBOUND] = s->lim.table_max / 4;
	s->pool[TXREQ_PRODUCTIVE] = s->lim.table_max / 4;
	s->pool[TXREQ_INBOUND] = s->lim.table_max - s->pool[TXREQ_OUTBOUND] -
	    s->pool[TXREQ_PRODUCTIVE];
	s->ask = ask;
	s->arg = arg;
	s->map = idmap_new();
	s->entries = pool_new(sizeof(struct txreq_entry));
	s->npeerb = 16;
	s->peerb = xcalloc(s->npeerb, sizeof(*s->peerb));
	return s;
}

void
txreq_free(struct txreq *s)
{
	struct txreq_peer *p, *next;
	size_t i;

	if (s == NULL)
		return;
	idmap_free(s->map);
	pool_free(s->entries);
	for (i = 0; i < s->npeerb; i++)
		for (p = s->peerb[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	free(s->peerb);
	free(s->heap);
	free(s);
}

void
txreq_peer_add(struct txreq *s, uint64_t peer, int outbound)
{
	struct txreq_peer *p;
	size_t k;

	if (peer == 0 || txreq_peer_get(s, peer) != NULL)
		return;
	p = xcalloc(1, sizeof(*p));
	p->serial = peer;
	p->outbound = outbound != 0;
	p->cls = outbound ? TXREQ_OUTBOUND : TXREQ_INBOUND;
	s->ncls[p->cls]++;
	TAILQ_INIT(&p->asked);
	k = txreq_peer_slot(s->npeerb, peer);
	p->next = s->peerb[k];
	s->peerb[k] = p;
	if (++s->npeers > s->npeerb)
		txreq_peer_grow(s);
}

void
txreq_peer_del(struct txreq *s, uint64_t peer)
{
	struct txreq_peer **pp, *p;
	struct txreq_entry *e;

	if (peer == 0)
		return;
	for (pp = &s->peerb[txreq_peer_slot(s->npeerb, peer)]; (p = *pp) != NULL;
	    pp = &p->next)
		if (p->serial == peer)
			break;
	if (p == NULL)
		return;
	*pp = p->next;
	s->npeers--;
	s->ncls[p->cls]--;
	/* Requests p will never answer go to the next announcer at the next poll. */
	while ((e = TAILQ_FIRST(&p->asked)) != NULL) {
		TAILQ_REMOVE(&p->asked, e, asked_entry);
		e->asked = NULL;
		txreq_deadline_set(s, e, 0);
	}
	free(p);
}

void
txreq_peer_productive(struct txreq *s, uint64_t peer)
{
	struct txreq_peer *p = txreq_peer_get(s, peer);

	if (p == NULL || p->cls != TXREQ_INBOUND)
		return;
	s->ncls[TXREQ_INBOUND]--;
	s->ncls[TXREQ_PRODUCTIVE]++;
	p->cls = TXREQ_PRODUCTIVE;
}

enum txreq_ann
txreq_announce(struct txreq *s, uint64_t peer, const uint8_t id[TXREQ_ID_LEN],
    int held, uint64_t now)
{
	struct txreq_peer *p;
	struct txreq_entry *e;
	enum txreq_ann why;

	if ((p = txreq_peer_get(s, peer)) == NULL)
		return TXREQ_ANN_DROPPED;
	if ((e = idmap_get(s->map, id)) != NULL)
		return txreq_alt_add(s, e, p);
	/*
	 * Bounded per first announcer, as Bitcoin Core bounds announcements
	 * per peer, and per class: one peer announcing junk cannot crowd out
	 * the others, nor a crowd of new inbound peers the outbound and
	 * productive ones.
	 */
	if ((why = txreq_may_create(s, p)) != TXREQ_ANN_NEW)
		return why;
	/*
	 * The announcer of an id being validated is remembered too: if that
	 * copy proves bad, it is asked.
	 */
	e = txreq_entry_new(s, p, id);
	txreq_alt_add(s, e, p);
	if (!held && txreq_ask(s, e, p, now) == -1)
		txreq_deadline_set(s, e, txreq_after(now, s->lim.retry_ms));
	return TXREQ_ANN_NEW;
}

void
txreq_received(struct txreq *s, uint64_t peer, const uint8_t id[TXREQ_ID_LEN],
    enum txreq_rx what, uint64_t now)
{
	struct txreq_peer *p = txreq_peer_get(s, peer), *q;
	struct txreq_entry *e = idmap_get(s->map, id);

	if (e != NULL && e->asked != NULL && e->asked->serial == peer)
		txreq_request_done(e);	/* our request is answered */
	switch (what) {
	case TXREQ_RX_SETTLED:
		if (e != NULL)
			txreq_entry_free(s, e);
		break;
	case TXREQ_RX_BAD_COPY:
		/* A copy already found bad: ask another announcer, if any. */
		if (e == NULL)
			break;
		txreq_alt_del(e, peer);
		if (e->asked == NULL && e->deadline != TXREQ_NEVER)
			txreq_want_next(s, e, now);
		break;
	case TXREQ_RX_PENDING_OTHER:
		/* Its sender is an announcer to ask should the other copy prove bad. */
		if (e == NULL && p != NULL &&
		    txreq_may_create(s, p) == TXREQ_ANN_NEW)
			e = txreq_entry_new(s, p, id);
		if (e == NULL)
			break;
		if (p != NULL)
			txreq_alt_add(s, e, p);
		if (e->asked == NULL)
			txreq_deadline_set(s, e, TXREQ_NEVER);	/* the verdict decides */
		break;
	case TXREQ_RX_PENDING_SAME:
		if (e != NULL && e->asked == NULL)
			txreq_deadline_set(s, e, TXREQ_NEVER);
		break;
	case TXREQ_RX_VALIDATING:
		/*
		 * Any request for the id is moot until the verdict, but the peer
		 * asked stays an announcer, first in line, in case this copy is bad.
		 */
		if (e == NULL)
			break;
		q = e->asked;
		txreq_request_done(e);
		txreq_alt_del(e, peer);
		if (q != NULL)
			txreq_alt_add_front(s, e, q->serial, q->outbound);
		txreq_deadline_set(s, e, TXREQ_NEVER);
		break;
	}
}

void
txreq_notfound(struct txreq *s, uint64_t peer, const uint8_t id[TXREQ_ID_LEN],
    uint64_t now)
{
	struct txreq_entry *e = idmap_get(s->map, id);

	if (e != NULL && e->asked != NULL && e->asked->serial == peer)
		txreq_want_next(s, e, now);
}

void
txreq_forget(struct txreq *s, const uint8_t id[TXREQ_ID_LEN])
{
	struct txreq_entry *e = idmap_get(s->map, id);

	if (e != NULL)
		txreq_entry_free(s, e);
}

void
txreq_retry(struct txreq *s, const uint8_t id[TXREQ_ID_LEN], uint64_t bad_peer)
{
	struct txreq_entry *e = idmap_get(s->map, id);

	if (e == NULL)
		return;
	/* A peer that sent a bad copy is not waited for, nor asked again. */
	if (e->asked != NULL && e->asked->serial == bad_peer)
		txreq_request_done(e);
	if (bad_peer != 0)
		txreq_alt_del(e, bad_peer);
	txreq_deadline_set(s, e, 0);
}

int
txreq_poll_some(struct txreq *s, uint64_t now, size_t max)
{
	struct txreq_entry *due = NULL, **tail = &due, *e;
	size_t		n = 0;

	/*
	 * Everything due (up to max) is taken out first, so that an entry
	 * whose new deadline is already past (retry_ms or timeout_ms 0) waits
	 * for the next poll, as when the table was walked.
	 */
	while (n < max && s->nheap > 0 && s->heap[0]->deadline <= now) {
		e = s->heap[0];
		txreq_heap_remove(s, e);
		e->due_next = NULL;
		*tail = e;
		tail = &e->due_next;
		n++;
	}
	while ((e = due) != NULL) {
		due = e->due_next;
		txreq_want_next(s, e, now);
	}
	return n == max && s->nheap > 0 && s->heap[0]->deadline <= now;
}

void
txreq_poll(struct txreq *s, uint64_t now)
{
	(void)txreq_poll_some(s, now, SIZE_MAX);
}

size_t
txreq_count(const struct txreq *s)
{
	return idmap_count(s->map);
}

size_t
txreq_inflight(const struct txreq *s, uint64_t peer)
{
	const struct txreq_peer *p = txreq_peer_get(s, peer);

	return p != NULL ? p->inflight : 0;
}

size_t
txreq_created(const struct txreq *s, uint64_t peer)
{
	const struct txreq_peer *p = txreq_peer_get(s, peer);

	return p != NULL ? p->created : 0;
}

/*
 * How many wanted ids one peer may be the first announcer of: its share of
 * its class's pool, so that a few peers announcing junk cannot fill the
 * table and leave no room for the others.  No lower bound: one would let
 * the quotas add up to more than the table.
 */
size_t
txreq_quota(const struct txreq *s, uint64_t peer)
{
	const struct txreq_peer *p = txreq_peer_get(s, peer);

	return p != NULL ? txreq_peer_quota(s, p) : 0;
}

int
txreq_room(const struct txreq *s, uint64_t peer)
{
	const struct txreq_peer *p = txreq_peer_get(s, peer);

	return p != NULL && txreq_may_create(s, p) == TXREQ_ANN_NEW;
}

int
txreq_class(const struct txreq *s, uint64_t peer)
{
	const struct txreq_peer *p = txreq_peer_get(s, peer);

	return p != NULL ? (int)p->cls : -1;
}

size_t
txreq_pool(const struct txreq *s, enum txreq_class c)
{
	return (unsigned)c < TXREQ_CLASSES ? s->pool[c] : 0;
}

size_t
txreq_pool_used(const struct txreq *s, enum txreq_class c)
{
	return (unsigned)c < TXREQ_CLASSES ? s->used[c] : 0;
}

int
txreq_wanted(const struct txreq *s, const uint8_t id[TXREQ_ID_LEN],
    uint64_t *asked)
{
	const struct txreq_entry *e = idmap_get(s->map, id);

	if (e == NULL)
		return 0;
	if (asked != NULL)
		*asked = e->asked != NULL ? e->asked->serial : 0;
	return 1;
}

/* txreq_check's walk of the entries. */
struct txreq_chk {
	const struct txreq *s;
	uint64_t	*serials;	/* the peers, sorted */
	size_t		*created;	/* counted per peer */
	size_t		 npeers;
	size_t		 nentries, nheaped, nasked;
	size_t		 used[TXREQ_CLASSES];	/* entries counted per class */
	char		*err;
	size_t		 errlen;
	int		 failed;
};

static void __attribute__((format(printf, 3, 4)))
txreq_chk_fail(struct txreq_chk *c, const uint8_t id[TXREQ_ID_LEN],
    const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (c->failed++)
		return;
	if (c->err == NULL || c->errlen == 0)
		return;
	n = (size_t)snprintf(c->err, c->errlen, "id %02x%02x%02x%02x: ",
	    id[0], id[1], id[2], id[3]);
	if (n >= c->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
}

static int
txreq_chk_serial_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
txreq_chk_entry(const uint8_t id[32], void *v, void *arg)
{
	struct txreq_chk *c = arg;
	const struct txreq *s = c->s;
	const struct txreq_entry *e = v;
	const struct txreq_peer *p;
	const uint64_t *k;
	unsigned i, j;

	c->nentries++;
	if (memcmp(id, e->id, TXREQ_ID_LEN) != 0)
		txreq_chk_fail(c, id, "filed under another id");
	if (e->creator == 0)
		txreq_chk_fail(c, id, "no creator");
	k = bsearch(&e->creator, c->serials, c->npeers, sizeof(*c->serials),
	    txreq_chk_serial_cmp);
	if (k != NULL)
		c->created[k - c->serials]++;
	if (e->cls >= TXREQ_CLASSES)
		txreq_chk_fail(c, id, "class %u", e->cls);
	else
		c->used[e->cls]++;
	/* Made in its creator's class, or before the creator proved productive. */
	if ((p = txreq_peer_get(s, e->creator)) != NULL && e->cls != p->cls &&
	    !(e->cls == TXREQ_INBOUND && p->cls == TXREQ_PRODUCTIVE))
		txreq_chk_fail(c, id, "made in class %u by a peer of class %u",
		    e->cls, p->cls);
	if (e->nalts > s->lim.alts)
		txreq_chk_fail(c, id, "%u announcers in line, limit %u", e->nalts,
		    s->lim.alts);
	for (i = 0; i < e->nalts && i < TXREQ_ALTS_MAX; i++) {
		if (e->alts[i] == 0)
			txreq_chk_fail(c, id, "announcer 0 in line");
		for (j = 0; j < i; j++)
			if (e->alts[j] == e->alts[i])
				txreq_chk_fail(c, id, "peer %llu twice in line",
				    (unsigned long long)e->alts[i]);
		if (e->asked != NULL && e->alts[i] == e->asked->serial)
			txreq_chk_fail(c, id, "peer %llu both asked and in line",
			    (unsigned long long)e->alts[i]);
		if ((p = txreq_peer_get(s, e->alts[i])) != NULL &&
		    e->altout[i] != p->outbound)
			txreq_chk_fail(c, id, "peer %llu in line with the wrong "
			    "direction", (unsigned long long)e->alts[i]);
	}
	if (e->asked != NULL) {
		c->nasked++;
		if (txreq_peer_get(s, e->asked->serial) != e->asked)
			txreq_chk_fail(c, id, "asked a peer that is gone");
		if (e->deadline == TXREQ_NEVER)
			txreq_chk_fail(c, id, "held with a request out");
	}
	if (e->deadline == TXREQ_NEVER) {
		if (e->heapidx != TXREQ_NOHEAP)
			txreq_chk_fail(c, id, "held but scheduled");
	} else {
		c->nheaped++;
		if (e->heapidx >= s->nheap || s->heap[e->heapidx] != e)
			txreq_chk_fail(c, id, "deadline %llu but not scheduled",
			    (unsigned long long)e->deadline);
	}
}

int
txreq_check(const struct txreq *s, char *err, size_t errlen)
{
	static const uint8_t none[TXREQ_ID_LEN];
	struct txreq_chk c;
	const struct txreq_peer *p;
	const struct txreq_entry *e;
	size_t i, n, ncls[TXREQ_CLASSES], quotas[TXREQ_CLASSES], pools;
	unsigned k;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.err = err;
	c.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s->lim.alts < 1 || s->lim.alts > TXREQ_ALTS_MAX)
		txreq_chk_fail(&c, none, "alts limit %u", s->lim.alts);

	/* The peers: in their bucket, each asked list matching its entries. */
	c.serials = xcalloc(s->npeers + 1, sizeof(*c.serials));
	c.created = xcalloc(s->npeers + 1, sizeof(*c.created));
	memset(ncls, 0, sizeof(ncls));
	memset(quotas, 0, sizeof(quotas));
	for (i = 0; i < s->npeerb; i++)
		for (p = s->peerb[i]; p != NULL; p = p->next) {
			if (p->serial == 0 ||
			    txreq_peer_slot(s->npeerb, p->serial) != i)
				txreq_chk_fail(&c, none, "peer %llu misfiled",
				    (unsigned long long)p->serial);
			if ((unsigned)p->cls >= TXREQ_CLASSES ||
			    (p->outbound != 0) != (p->cls == TXREQ_OUTBOUND)) {
				txreq_chk_fail(&c, none, "peer %llu: class %d, "
				    "outbound %d", (unsigned long long)p->serial,
				    (int)p->cls, p->outbound);
				continue;
			}
			ncls[p->cls]++;
			if (s->ncls[p->cls] > 0)
				quotas[p->cls] += txreq_peer_quota(s, p);
			if (p->created > s->lim.announced_max)
				txreq_chk_fail(&c, none, "peer %llu: created %zu "
				    "over %zu", (unsigned long long)p->serial,
				    p->created, s->lim.announced_max);
			if (c.npeers == s->npeers) {
				txreq_chk_fail(&c, none, "more peers than %zu",
				    s->npeers);
				continue;
			}
			c.serials[c.npeers++] = p->serial;
			n = 0;
			TAILQ_FOREACH(e, &p->asked, asked_entry) {
				if (e->asked != p)
					txreq_chk_fail(&c, e->id, "on the asked "
					    "list of peer %llu, which it was not "
					    "asked of", (unsigned long long)p->serial);
				if (idmap_get(s->map, e->id) != e)
					txreq_chk_fail(&c, e->id, "asked but not "
					    "in the table");
				n++;
			}
			if (n != p->inflight)
				txreq_chk_fail(&c, none, "peer %llu: inflight %zu, "
				    "%zu requests out", (unsigned long long)p->serial,
				    p->inflight, n);
			if (p->inflight > s->lim.inflight)
				txreq_chk_fail(&c, none, "peer %llu: inflight %zu "
				    "over its limit %zu", (unsigned long long)p->serial,
				    p->inflight, s->lim.inflight);
		}
	if (c.npeers != s->npeers)
		txreq_chk_fail(&c, none, "%zu peers counted, %zu found", s->npeers,
		    c.npeers);
	qsort(c.serials, c.npeers, sizeof(*c.serials), txreq_chk_serial_cmp);
	for (i = 1; i < c.npeers; i++)
		if (c.serials[i] == c.serials[i - 1])
			txreq_chk_fail(&c, none, "peer %llu added twice",
			    (unsigned long long)c.serials[i]);

	/* The entries. */
	idmap_foreach(s->map, txreq_chk_entry, &c);
	if (c.nentries != idmap_count(s->map))
		txreq_chk_fail(&c, none, "%zu entries counted, %zu walked",
		    idmap_count(s->map), c.nentries);
	if (c.nentries > s->lim.table_max)
		txreq_chk_fail(&c, none, "%zu entries, table_max %zu", c.nentries,
		    s->lim.table_max);
	n = 0;
	for (i = 0; i < c.npeers; i++)
		n += txreq_inflight(s, c.serials[i]);
	if (n != c.nasked)
		txreq_chk_fail(&c, none, "%zu requests out, peers count %zu",
		    c.nasked, n);
	for (i = 0; i < c.npeers; i++) {
		n = txreq_created(s, c.serials[i]);
		if (n != c.created[i])
			txreq_chk_fail(&c, none, "peer %llu: created %zu, creator "
			    "of %zu", (unsigned long long)c.serials[i], n,
			    c.created[i]);
	}

	/*
	 * The classes: peers and entries counted right, each class within its
	 * pool, the quotas of a class within its pool, the pools within the
	 * table.
	 */
	for (k = 0, pools = 0; k < TXREQ_CLASSES; k++) {
		pools += s->pool[k];
		if (ncls[k] != s->ncls[k])
			txreq_chk_fail(&c, none, "class %u: %zu peers counted, %zu "
			    "found", k, s->ncls[k], ncls[k]);
		if (c.used[k] != s->used[k])
			txreq_chk_fail(&c, none, "class %u: %zu entries counted, "
			    "%zu made", k, s->used[k], c.used[k]);
		if (s->used[k] > s->pool[k])
			txreq_chk_fail(&c, none, "class %u: %zu entries over its "
			    "pool %zu", k, s->used[k], s->pool[k]);
		if (quotas[k] > s->pool[k])
			txreq_chk_fail(&c, none, "class %u: quotas add up to %zu, "
			    "over its pool %zu", k, quotas[k], s->pool[k]);
	}
	if (pools > s->lim.table_max)
		txreq_chk_fail(&c, none, "pools add up to %zu, table_max %zu",
		    pools, s->lim.table_max);

	/* The heap: exactly the entries not held, ordered by deadline. */
	if (c.nheaped != s->nheap)
		txreq_chk_fail(&c, none, "%zu entries scheduled, heap holds %zu",
		    c.nheaped, s->nheap);
	for (i = 0; i < s->nheap; i++) {
		e = s->heap[i];
		if (e->heapidx != i)
			txreq_chk_fail(&c, e->id, "heap slot %zu, thinks %zu", i,
			    e->heapidx);
		if (i > 0 && txreq_heap_before(e, s->heap[(i - 1) / 2]))
			txreq_chk_fail(&c, e->id, "heap out of order at %zu", i);
		if (idmap_get(s->map, e->id) != e)
			txreq_chk_fail(&c, e->id, "scheduled but not in the table");
	}
	free(c.serials);
	free(c.created);
	return c.failed ? -1 : 0;
}
