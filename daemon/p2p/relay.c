/*
 * relay.c: transaction relay (docs/PROTOCOL.md section 5): a push tree with
 * announce then pull on the other links, as Plumtree.  Accepted transactions
 * go whole to eager peers and as batched INV to lazy ones; a peer that
 * pushes a copy we hold is pruned (made lazy, both ways), a lazy one whose
 * transaction arrived first is grafted (made eager).  The wire side of it:
 * which peer knows which id, batched INV and GETDATA, answers to GETDATA,
 * and the mempool announced to a new peer.
 * Which announcer to ask is the download scheduler's decision (txreq.c);
 * what a transaction is worth, admission's (core/admit.c).  Loop thread only.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "base/bloom.h"
#include "base/log.h"
#include "base/stats.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "lib/util.h"
#include "p2p/net.h"
#include "p2p/peer.h"
#include "p2p/prov.h"
#include "p2p/reconcile.h"
#include "p2p/relay.h"
#include "p2p/txreq.h"
#include "proto/frame.h"
#include "proto/tx.h"

/*
 * Ids remembered per peer as known to it (a rolling Bloom filter, 120 KiB):
 * one that fell out is at worst announced again, which it ignores.
 */
#define RELAY_KNOWN_WINDOW	16384
#define RELAY_TICK_MS		200
/*
 * Announcements to lazy peers wait this long at least when the push tree
 * is on: the tree delivers first, so the pull is the repair path, and a
 * longer batch costs fewer bytes per id.
 */
#define RELAY_LAZY_MS		200
/*
 * Inbound peers on the push tree, at most: identities are free, and a peer
 * that never sends a duplicate is never pruned, so only the links this node
 * dialled start eager, and GRAFT from inbound ones is heeded up to this many
 * (the others keep getting announcements, which is still correct).
 */
#define RELAY_EAGER_INBOUND_MAX	8
#define RELAY_LAZY_MAX		16384	/* ids waiting for their lazy announcement */
/*
 * Lazy announcements go in rounds at a random phase: each takes the ids due
 * within this long, so that an INV carries several, and of two neighbours
 * that got an id at the same moment the one whose round comes first tells
 * the other, which then need not announce it back.
 */
#define RELAY_LAZY_JITTER_MS	100
#define RELAY_GRAFT_MS		1000	/* at most one GRAFT, one PRUNE a peer this often */
#define RELAY_SYNC_SLICE	5000	/* mempool ids announced to a new peer per tick */
#define RELAY_SYNC_SNDBUF	(256 * 1024)	/* ... while less than this waits to be sent */

/* Limits of the download scheduler (docs/PROTOCOL.md 5.3). */
#define RELAY_WANTED_MAX	200000	/* wanted ids overall */
#define RELAY_ANNOUNCED_MAX	20000	/* wanted ids first announced by one peer */
#define RELAY_PEER_INFLIGHT	5000	/* GETDATA ids outstanding per peer */
#define RELAY_ALTS		8	/* other announcers kept per wanted id */

/*
 * Long INV and GETDATA frames (docs/PROTOCOL.md 5.3): one of at most
 * RELAY_WORK_INLINE ids, from a peer with nothing queued, is handled at
 * once; a longer one is queued, and the queues are worked round robin at
 * the end of each loop turn, while the peer is not read (peer_hold):
 * RELAY_SERVE_TURN bytes of answers or RELAY_INV_TURN announced ids a peer
 * at a time, RELAY_WORK_ROUND (an announced id counted RELAY_INV_COST
 * bytes) a turn in all.  So 125 peers asking for 1,000 ids each cost a turn
 * 128 KiB of sealing, not 25 MiB, 125 announcing 1,000 each cost it 2,048
 * ids, not 125,000, and the few ids of an honest frame are handled at once,
 * ahead of them.
 */
#define RELAY_WORK_INLINE	16
#define RELAY_SERVE_TURN	(16u << 10)
#define RELAY_INV_TURN		256
#define RELAY_INV_COST		64
#define RELAY_WORK_ROUND	(128u << 10)
#define RELAY_WORK_WAIT_MS	50	/* every queued peer over its send share */

/*
 * Announcements the scheduler could not track yet, set aside per peer and
 * announced to it again as room frees (docs/PROTOCOL.md 5.3): at most
 * RELAY_DEFER_MAX a peer (128 KiB), the oldest going first when full.
 */
#define RELAY_DEFER_MAX		4096
#define RELAY_DEFER_SLICE	256	/* taken back from one peer per round of a tick */
#define RELAY_DEFER_TICK	20000	/* ... from all peers per tick */
/*
 * A tick's work in loop turns of at most this much, the rest at the end of
 * the next turns: under a junk flood a tick had 60,000 requests time out
 * and 20,000 set-aside ids to take back, 22 to 26 ms of loop at once.
 */
#define RELAY_POLL_TURN		2048	/* due requests */
#define RELAY_DEFER_TURN	2048	/* set-aside ids taken back */
#define RELAY_DEFER_LOG_MS	10000	/* at most one summary line this often */

/*
 * relay's part of a peer (p->relay), from HELLO to the peer's release: what
 * it holds goes at close (relay_down), the struct itself at release, so a
 * function that sent to p (and so may have closed it) can still look at it.
 */
struct relay_peer {
	struct admit_source *src;	/* its transactions' queue and gate */
	struct bloom	*known;		/* ids this peer has or was sent */
	uint8_t		(*inv)[TX_ID_LEN];	/* ids waiting to be announced */
	size_t		 ninv;
	uint8_t		(*want)[TX_ID_LEN];	/* ids waiting to be requested */
	size_t		 nwant, wantcap;	/* at most RELAY_PEER_INFLIGHT */
	int		 eager;		/* on the push tree: gets transactions whole */
	uint64_t	 up_ms;		/* became active (its catch-up covers older ids) */
	uint64_t	 graft_ms;	/* when we last asked it to push to us */
	uint64_t	 prune_ms;	/* ... to stop pushing to us */
	int		 sync;		/* our mempool is still being announced */
	int		 sync_started;	/* sync_after holds the last id announced */
	uint8_t		 sync_after[TX_ID_LEN];
	size_t		 sync_left;	/* most entries still to walk (bounds restarts) */
	uint8_t		(*defer)[TX_ID_LEN];	/* ring of ids announced, not tracked yet */
	size_t		 dhead, dlen, dcap;	/* first, how many, room (RELAY_DEFER_MAX) */
	uint64_t	 dgen, dropgen;	/* the log window it was counted in */
	uint16_t	 pslot;		/* its slot in the provenance table */
	struct reconcile_peer *rec;	/* its reconciliation (reconcile.c) */
	struct peer	*peer;		/* whose part this is */
	uint8_t		(*work)[TX_ID_LEN];	/* ids of a long frame, not done yet */
	size_t		 whead, nwork;	/* first, how many (FRAME_MAX_IDS room) */
	uint8_t		 wtype;		/* FRAME_GETDATA or FRAME_INV */
	TAILQ_ENTRY(relay_peer) wentry;	/* on relay's work queue while nwork */
};

/*
 * One kind of summary line, written at most every RELAY_DEFER_LOG_MS (a
 * local limiter, until log.c has a shared one): the events since the last
 * line are counted, and the line goes out at the first tick it may.
 */
struct relay_window {
	uint64_t	 gen;		/* the window: a peer counts once in it */
	uint64_t	 since;		/* its first event (ms); 0: none yet */
	uint64_t	 last;		/* the last line (ms); 0: never */
	size_t		 n, peers;
};

/* What became of set-aside announcements: two kinds of lines. */
struct relay_deflog {
	struct relay_window deferred;	/* set aside, DEBUG, with what follows */
	size_t		 quota, full;	/* ... why: over the quota, pool full */
	size_t		 resumed, abandoned;	/* announced again, gone with the peer */
	struct relay_window dropped;	/* the oldest out of a full queue, INFO */
};

/*
 * An accepted id waiting for its announcement to lazy peers: RELAY_LAZY_MS
 * after acceptance, to the lazy peers still not known to have it then.
 */
struct relay_lazy {
	uint8_t		 id[TX_ID_LEN];
	uint64_t	 at_ms;
	uint64_t	 origin;
};

struct relay {
	struct node	*n;
	struct net	*net;
	struct admit	*admit;
	struct mempool	*mp;
	struct txreq	*sched;
	struct peer	*last;		/* the peer the scheduler asked last */
	int		 wanting;	/* some peer has GETDATA ids queued */
	struct event	*inv_timer;
	struct relay_lazy *lazy;	/* ring of RELAY_LAZY_MAX (push tree on) */
	size_t		 lhead, llen;
	struct event	*lazy_timer;
	struct event	*tick;
	struct event	*tick_more;	/* the rest of a tick's work, next turn */
	size_t		 defer_left;	/* of this tick's RELAY_DEFER_TICK */
	uint64_t	 defer_cursor;	/* the peer whose ids were taken back last */
	size_t		 eager_inbound;	/* inbound peers on the push tree */
	size_t		 deferring;	/* peers with announcements set aside */
	size_t		 deferred;	/* announcements set aside in all */
	struct relay_deflog dlog;
	struct prov	*prov;		/* provenance of recent ids (prov.h) */
	struct reconcile *rc;
	TAILQ_HEAD(, relay_peer) workq;	/* peers with a long frame queued */
	size_t		 nworking;	/* ... how many */
	struct event	*work_ev;
};

/* The active peer with this serial: most requests in a row go to one peer. */
static struct peer *
relay_peer_find(struct relay *r, uint64_t serial)
{
	struct peer	*p;

	if (r->last != NULL && r->last->serial == serial)
		return r->last;
	p = net_peer_by_serial(r->net, serial);
	if (p == NULL || p->state != PEER_ACTIVE || p->relay == NULL)
		return NULL;
	r->last = p;
	return p;
}

/*
 * Sends a peer's queued ids as INV or GETDATA frames of at most
 * FRAME_MAX_IDS each.  Returns 0, or -1 if p was closed.
 */
static int
relay_send_ids(struct peer *p, uint8_t type, uint8_t (*ids)[TX_ID_LEN], size_t *n)
{
	static uint8_t	buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	size_t		len, off, k, total = *n;

	*n = 0;
	for (off = 0; off < total; off += k) {
		k = total - off < FRAME_MAX_IDS ? total - off : FRAME_MAX_IDS;
		len = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids + off, k,
		    buf, sizeof(buf));
		if (peer_send(p, type, buf, len) == -1)
			return -1;
	}
	return 0;
}

/* Queues id in a peer's INV batch (allocated on first use); sends a full batch. */
static int
relay_queue_inv(struct peer *p, const uint8_t id[TX_ID_LEN])
{
	struct relay_peer *rp = p->relay;

	if (rp->inv == NULL)
		rp->inv = xcalloc(FRAME_MAX_IDS, TX_ID_LEN);
	memcpy(rp->inv[rp->ninv++], id, TX_ID_LEN);
	if (rp->ninv < FRAME_MAX_IDS)
		return 0;
	return relay_send_ids(p, FRAME_INV, rp->inv, &rp->ninv);
}

/* Sends every peer's queued announcements (INV) or requests (GETDATA). */
static void
relay_flush(struct relay *r, uint8_t type)
{
	struct peer	*p, *next;

	if (type == FRAME_GETDATA) {
		if (!r->wanting)
			return;
		r->wanting = 0;
	}
	for (p = TAILQ_FIRST(net_peers(r->net)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state != PEER_ACTIVE || p->relay == NULL)
			continue;
		if (type == FRAME_INV)
			relay_send_ids(p, FRAME_INV, p->relay->inv, &p->relay->ninv);
		else
			relay_send_ids(p, FRAME_GETDATA, p->relay->want,
			    &p->relay->nwant);
	}
}

static void
relay_invcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	relay_flush(arg, FRAME_INV);
}

/*
 * The scheduler asks peer for id: queued for its next GETDATA, sent by
 * relay_flush once the scheduler returned (nothing is sent from here, so
 * no peer closes inside the scheduler).  The scheduler keeps at most
 * RELAY_PEER_INFLIGHT requests out per peer, which bounds the list.
 */
static void
relay_ask(uint64_t serial, const uint8_t id[TXREQ_ID_LEN], void *arg)
{
	struct relay	*r = arg;
	struct peer	*p;
	struct relay_peer *rp;

	if ((p = relay_peer_find(r, serial)) == NULL)
		return;
	rp = p->relay;
	if (rp->nwant == rp->wantcap) {
		rp->wantcap = rp->wantcap == 0 ? 64 : 2 * rp->wantcap;
		rp->want = xrealloc(rp->want, rp->wantcap * TX_ID_LEN);
	}
	memcpy(rp->want[rp->nwant++], id, TX_ID_LEN);
	r->wanting = 1;
}

/* --- lazy announcements (the push tree on) ------------------------------ */

/*
 * Queues l's id for the peers not known to have it by now: those that were
 * lazy at acceptance (the eager ones were pushed it and are known to have
 * it), including one grafted since, which no push will bring it.
 */
static void
relay_lazy_announce(struct relay *r, const struct relay_lazy *l, uint64_t now)
{
	struct peer	*p, *next;

	if (mempool_get(r->mp, l->id) == NULL)
		return;			/* gone (replaced, expired): nothing to offer */
	for (p = TAILQ_FIRST(net_peers(r->net)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state != PEER_ACTIVE || p->relay == NULL ||
		    p->serial == l->origin ||
		    p->relay->up_ms > l->at_ms - RELAY_LAZY_MS)
			continue;	/* newer than the id: reconciliation's */
		if (!bloom_add(p->relay->known, l->id))
			continue;
		prov_sent(r->prov, l->id, p->relay->pslot, PROV_SENT_INV,
		    now * 1000);
		relay_queue_inv(p, l->id);
	}
}

static void
relay_lazy_arm(struct relay *r, uint64_t now)
{
	struct timeval	tv;
	uint64_t	at, ms;

	if (r->llen == 0 || evtimer_pending(r->lazy_timer, NULL))
		return;
	at = r->lazy[r->lhead].at_ms;
	ms = (at > now ? at - now : 0) + randombytes_uniform(RELAY_LAZY_JITTER_MS);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(r->lazy_timer, &tv);
}

/* Announces every id whose time has come, in one INV per lazy peer. */
static void
relay_lazycb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	uint64_t	 now = now_ms();

	(void)fd;
	(void)what;
	while (r->llen > 0 &&
	    r->lazy[r->lhead].at_ms <= now + RELAY_LAZY_JITTER_MS) {
		relay_lazy_announce(r, &r->lazy[r->lhead], now);
		r->lhead = (r->lhead + 1) % RELAY_LAZY_MAX;
		r->llen--;
	}
	relay_flush(r, FRAME_INV);
	relay_lazy_arm(r, now);
}

/* id waits RELAY_LAZY_MS for its lazy announcement; a full ring sends the oldest now. */
static void
relay_lazy_push(struct relay *r, const uint8_t id[TX_ID_LEN], uint64_t origin)
{
	struct relay_lazy *l;
	uint64_t	 now = now_ms();

	if (r->llen == RELAY_LAZY_MAX) {
		relay_lazy_announce(r, &r->lazy[r->lhead], now);
		r->lhead = (r->lhead + 1) % RELAY_LAZY_MAX;
		r->llen--;
		event_active(r->inv_timer, EV_TIMEOUT, 1);
	}
	l = &r->lazy[(r->lhead + r->llen) % RELAY_LAZY_MAX];
	r->llen++;
	memcpy(l->id, id, TX_ID_LEN);
	l->at_ms = now + RELAY_LAZY_MS;
	l->origin = origin;
	relay_lazy_arm(r, now);
}

/*
 * Hands id to every active peer not known to have it: whole to eager peers
 * (sent now; the socket write happens once per loop turn), announced to the
 * others (batched; with the push tree on, RELAY_LAZY_MS later, to those
 * still not known to have it then).
 */
static void
relay_announce(struct relay *r, const uint8_t id[TX_ID_LEN], uint64_t origin)
{
	const struct mempool_entry *e = mempool_get(r->mp, id);
	struct peer	*p, *next;
	struct timeval	 tv;
	unsigned	 ms = r->n->cfg->inv_batch_ms;
	uint64_t	 now = now_us();
	int		 queued = 0;

	for (p = TAILQ_FIRST(net_peers(r->net)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state != PEER_ACTIVE || p->relay == NULL ||
		    p->serial == origin)
			continue;
		if (r->lazy != NULL && !p->relay->eager)
			continue;	/* its turn comes in relay_lazycb */
		if (!bloom_add(p->relay->known, id))
			continue;
		if (p->relay->eager && e != NULL) {
			prov_sent(r->prov, id, p->relay->pslot, PROV_SENT_TX,
			    now);
			if (peer_send(p, FRAME_TX, e->raw, e->len) == 0)
				stats.relay_pushed++;
			continue;
		}
		prov_sent(r->prov, id, p->relay->pslot, PROV_SENT_INV, now);
		relay_queue_inv(p, id);
		queued = 1;
	}
	if (r->lazy != NULL)
		relay_lazy_push(r, id, origin);
	if (!queued || event_pending(r->inv_timer, EV_TIMEOUT, NULL))
		return;
	if (ms == 0) {
		/* At the end of this turn: after the input that is ready. */
		event_active(r->inv_timer, EV_TIMEOUT, 1);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(r->inv_timer, &tv);
}

/* --- announcements set aside ----------------------------------------- */

/* Counts n events of w, and the peer whose mark this is (NULL: none) once. */
static void
relay_window_count(struct relay_window *w, uint64_t *mark, size_t n)
{
	if (w->since == 0)
		w->since = now_ms();
	w->n += n;
	if (mark != NULL && *mark != w->gen + 1) {
		*mark = w->gen + 1;
		w->peers++;
	}
}

/* If w has events and may write a line now: the seconds its events span, else -1. */
static double
relay_window_due(const struct relay_window *w, uint64_t now)
{
	if (w->since == 0 || (w->last != 0 && now - w->last < RELAY_DEFER_LOG_MS))
		return -1;
	return (double)(now - w->since) / 1000.0;
}

/* A line was written for w: a new window starts. */
static void
relay_window_next(struct relay_window *w, uint64_t now)
{
	w->gen++;
	w->since = 0;
	w->last = now;
	w->n = w->peers = 0;
}

static const char *
relay_plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * Writes the summary lines that are due: INFO for announcements dropped (a
 * loss), DEBUG for those set aside (fetched later: the rule working).
 */
static void
relay_deflog_flush(struct relay *r, uint64_t now)
{
	struct relay_deflog *l = &r->dlog;
	double		 secs;

	if ((secs = relay_window_due(&l->dropped, now)) >= 0) {
		log_info("gossip", "wanted ids: dropped %zu deferred announcement%s "
		    "from %zu peer%s in the last %.1f s: their queues of %d were "
		    "full", l->dropped.n, relay_plural(l->dropped.n),
		    l->dropped.peers, relay_plural(l->dropped.peers), secs,
		    RELAY_DEFER_MAX);
		relay_window_next(&l->dropped, now);
	}
	if ((secs = relay_window_due(&l->deferred, now)) < 0)
		return;
	if (l->deferred.n > 0)
		log_debug("gossip", "wanted ids: deferred %zu announcement%s from "
		    "%zu peer%s in the last %.1f s: %zu over the peer's quota, %zu "
		    "with its class's pool full; %zu announced again, %zu gone with "
		    "their peer, %zu waiting", l->deferred.n,
		    relay_plural(l->deferred.n), l->deferred.peers,
		    relay_plural(l->deferred.peers), secs, l->quota, l->full,
		    l->resumed, l->abandoned, r->deferred);
	else
		log_debug("gossip", "wanted ids: %zu deferred announcement%s "
		    "announced again, %zu gone with their peer in the last %.1f s; "
		    "%zu waiting", l->resumed, relay_plural(l->resumed),
		    l->abandoned, secs, r->deferred);
	relay_window_next(&l->deferred, now);
	l->quota = l->full = l->resumed = l->abandoned = 0;
}

/*
 * Sets aside id, announced by p, which the scheduler could not track (why:
 * TXREQ_ANN_QUOTA or TXREQ_ANN_FULL), to announce it again when p has
 * room: never dropped silently.  A full queue drops its oldest, counted.
 */
static void
relay_defer(struct relay *r, struct peer *p, const uint8_t id[TX_ID_LEN],
    enum txreq_ann why)
{
	struct relay_peer *rp = p->relay;
	struct relay_deflog *l = &r->dlog;
	uint8_t		(*ring)[TX_ID_LEN];
	size_t		 i, cap;

	if (rp->dlen == rp->dcap && rp->dcap < RELAY_DEFER_MAX) {
		cap = rp->dcap == 0 ? 64 : 2 * rp->dcap;
		ring = xcalloc(cap, TX_ID_LEN);
		for (i = 0; i < rp->dlen; i++)
			memcpy(ring[i], rp->defer[(rp->dhead + i) % rp->dcap],
			    TX_ID_LEN);
		free(rp->defer);
		rp->defer = ring;
		rp->dcap = cap;
		rp->dhead = 0;
	}
	if (rp->dlen == rp->dcap) {
		rp->dhead = (rp->dhead + 1) % rp->dcap;
		rp->dlen--;
		r->deferred--;
		stats.announcements_dropped++;
		relay_window_count(&l->dropped, &rp->dropgen, 1);
	}
	if (rp->dlen == 0)
		r->deferring++;
	memcpy(rp->defer[(rp->dhead + rp->dlen) % rp->dcap], id, TX_ID_LEN);
	rp->dlen++;
	r->deferred++;
	stats.announcements_deferred++;
	relay_window_count(&l->deferred, &rp->dgen, 1);
	if (why == TXREQ_ANN_QUOTA)
		l->quota++;
	else
		l->full++;
}

/* Empties p's queue of set-aside ids; abandoned: its peer is going. */
static void
relay_defer_clear(struct relay *r, struct relay_peer *rp, int abandoned)
{
	if (rp->dlen > 0) {
		r->deferring--;
		r->deferred -= rp->dlen;
		if (abandoned) {
			stats.announcements_abandoned += rp->dlen;
			relay_window_count(&r->dlog.deferred, NULL, 0);
			r->dlog.abandoned += rp->dlen;
		}
	}
	free(rp->defer);
	rp->defer = NULL;
	rp->dhead = rp->dlen = rp->dcap = 0;
}

/*
 * Announces up to limit of p's set-aside ids to the scheduler again, oldest
 * first, while it has room for them: those settled meanwhile are skipped,
 * those wanted meanwhile make p one more announcer.  Returns how many left
 * the queue.
 */
static size_t
relay_defer_resume(struct relay *r, struct peer *p, size_t limit, uint64_t now)
{
	struct relay_peer *rp = p->relay;
	const uint8_t	*id;
	size_t		 n = 0;

	while (rp->dlen > 0 && n < limit) {
		id = rp->defer[rp->dhead];
		if (!admit_settled(r->admit, id)) {
			if (!txreq_wanted(r->sched, id, NULL) &&
			    !txreq_room(r->sched, p->serial))
				break;
			txreq_announce(r->sched, p->serial, id,
			    admit_pending(r->admit, id), now);
			stats.announcements_resumed++;
			relay_window_count(&r->dlog.deferred, NULL, 0);
			r->dlog.resumed++;
		}
		rp->dhead = (rp->dhead + 1) % rp->dcap;
		rp->dlen--;
		r->deferred--;
		n++;
	}
	if (rp->dlen == 0 && n > 0) {
		r->deferring--;
		relay_defer_clear(r, rp, 0);	/* its memory goes back */
	}
	return n;
}

/*
 * Each tick, set-aside ids go back to the scheduler as their peers have
 * room again: in rounds of RELAY_DEFER_SLICE per peer, so that room freed
 * is shared among the peers waiting rather than taken by the first.  A
 * tick's work spans loop turns (relay_tick_morecb): each call starts after
 * the peer it served last, so every peer gets its turn.
 */
static size_t
relay_defer_tick(struct relay *r, uint64_t now, size_t limit)
{
	struct peer	*p, *start, *next;
	size_t		 budget = limit, n, k;
	int		 progress;

	TAILQ_FOREACH(start, net_peers(r->net), entry)
		if (start->serial > r->defer_cursor)
			break;
	if (start == NULL)
		start = TAILQ_FIRST(net_peers(r->net));
	do {
		progress = 0;
		for (p = start; p != NULL && budget > 0 && r->deferring > 0;
		    p = next) {
			next = TAILQ_NEXT(p, entry);
			if (next == NULL)
				next = TAILQ_FIRST(net_peers(r->net));
			if (next == start)
				next = NULL;	/* the round is done */
			if (p->state != PEER_ACTIVE || p->relay == NULL ||
			    p->relay->dlen == 0)
				continue;
			k = budget < RELAY_DEFER_SLICE ? budget : RELAY_DEFER_SLICE;
			n = relay_defer_resume(r, p, k, now);
			budget -= n;
			progress |= n > 0;
			r->defer_cursor = p->serial;
		}
	} while (progress && budget > 0 && r->deferring > 0);
	return limit - budget;
}

/* --- admission's verdicts --------------------------------------------- */

static void
relay_accepted(void *arg, const uint8_t id[TX_ID_LEN], uint64_t origin)
{
	struct relay	*r = arg;

	struct peer	*p;

	/* Its sender delivers valid transactions: it gets room of its own. */
	txreq_peer_productive(r->sched, origin);
	/* ... and is not pushed out for a newcomer (net.c, inbound.c). */
	if (origin != 0 && (p = relay_peer_find(r, origin)) != NULL)
		p->productive_ms = now_ms();
	txreq_forget(r->sched, id);
	relay_announce(r, id, origin);
}

static void
relay_verified(void *arg, const uint8_t id[TX_ID_LEN], uint64_t verify_ns,
    int ok)
{
	struct relay	*r = arg;

	prov_verdict(r->prov, id, verify_ns, ok, now_us());
}

static void
relay_settled(void *arg, const uint8_t id[TX_ID_LEN])
{
	struct relay	*r = arg;

	txreq_forget(r->sched, id);
}

static void
relay_retry(void *arg, const uint8_t id[TX_ID_LEN], uint64_t bad_origin)
{
	struct relay	*r = arg;

	txreq_retry(r->sched, id, bad_origin);
}

/* Drops p for misbehaviour; net bans it (--ban-seconds). */
static void
relay_drop(struct peer *p, enum ban_reason ban, const char *why)
{
	stats.peers_dropped++;
	peer_misbehaved(p, ban, why);
}

/* What a transaction's rejection proves about the peer that sent it. */
static enum ban_reason
relay_ban_reason(unsigned reason)
{
	switch (reason) {
	case TX_ERR_SIGNATURE:
		return BAN_BAD_SIGNATURE;
	case TX_ERR_NETWORK:
		return BAN_WRONG_NETWORK;
	default:
		return BAN_BAD_ENCODING;	/* encoding, version */
	}
}

static void
relay_misbehaved(void *arg, uint64_t origin, unsigned reason, const char *why)
{
	struct relay	*r = arg;
	struct peer	*p;

	if ((p = net_peer_by_serial(r->net, origin)) != NULL)
		relay_drop(p, relay_ban_reason(reason), why);
}

/* --- the push tree ---------------------------------------------------- */

/*
 * The inbound places on the tree are taken: a productive inbound peer (one
 * that delivered valid transactions) may take that of an unproductive one,
 * which goes lazy at both ends (PRUNE).  Returns whether a place was freed.
 */
static int
relay_eager_room(struct relay *r, struct peer *p)
{
	struct peer	*q;

	if (txreq_class(r->sched, p->serial) != TXREQ_PRODUCTIVE)
		return 0;
	TAILQ_FOREACH(q, net_peers(r->net), entry) {
		if (q == p || q->outbound || q->relay == NULL ||
		    !q->relay->eager || q->state != PEER_ACTIVE ||
		    txreq_class(r->sched, q->serial) == TXREQ_PRODUCTIVE)
			continue;
		q->relay->eager = 0;
		r->eager_inbound--;
		peer_send(q, FRAME_PRUNE, NULL, 0);
		return 1;
	}
	return 0;
}

/*
 * Puts p on the push tree or takes it off; an inbound peer only while fewer
 * than RELAY_EAGER_INBOUND_MAX are (or by taking an unproductive one's place).  Returns whether p is eager now.
 */
static int
relay_set_eager(struct relay *r, struct peer *p, int on)
{
	struct relay_peer *rp = p->relay;

	/* A version 1 peer knows no PRUNE: it is only ever announced to. */
	on = on && r->n->cfg->relay_push && p->version >= FRAME_PROTO_TREE;
	if (on == rp->eager)
		return on;
	if (!p->outbound) {
		if (on && r->eager_inbound >= RELAY_EAGER_INBOUND_MAX &&
		    !relay_eager_room(r, p))
			return 0;
		r->eager_inbound += on ? 1 : -1;
	}
	rp->eager = on;
	return on;
}

/*
 * p pushed a copy of what we hold or validate: the link is redundant for
 * the tree.  It goes lazy here, and PRUNE makes it lazy at p.
 */
static int
relay_prune(struct relay *r, struct peer *p, uint64_t now)
{
	int	was = p->relay->eager;

	if (p->version < FRAME_PROTO_TREE)
		return 0;
	relay_set_eager(r, p, 0);
	/*
	 * The link leaves the tree at both ends at once, or the ends disagree
	 * and the tree has holes.  Copies that were in flight when p got our
	 * PRUNE: one PRUNE a second answers them all.
	 */
	if (!was && now - p->relay->prune_ms < RELAY_GRAFT_MS)
		return 0;
	p->relay->prune_ms = now;
	stats.relay_pruned++;
	log_debug("gossip", "peer %s pruned from the push tree", peer_label(p));
	return peer_send(p, FRAME_PRUNE, NULL, 0);
}

/*
 * p delivered first a transaction we pulled from it: the link joins the
 * tree, both ways: GRAFT asks p to push to us, and we push to p while
 * there is room for an inbound one.
 */
static int
relay_graft(struct relay *r, struct peer *p, uint64_t now)
{
	if (p->version < FRAME_PROTO_TREE)
		return 0;
	if (now - p->relay->graft_ms < RELAY_GRAFT_MS)
		return 0;
	p->relay->graft_ms = now;
	relay_set_eager(r, p, 1);
	stats.relay_grafted++;
	log_debug("gossip", "peer %s grafted to the push tree", peer_label(p));
	return peer_send(p, FRAME_GRAFT, NULL, 0);
}

/* --- frames ----------------------------------------------------------- */

static int
relay_on_tx(struct relay *r, struct peer *p, const uint8_t *raw, size_t len)
{
	struct admit_result	res;
	char			reason[128];
	enum txreq_rx		rx;
	uint64_t		asked = 0;
	int			pulled;
	uint64_t		t = now_us();

	admit_tx(r->admit, p->relay->src, raw, len, NULL, NULL, &res);
	if (res.what == ADMIT_QUEUED)
		prov_received(r->prov, res.id, p->relay->pslot, t);
	switch (res.what) {
	case ADMIT_UNDECODABLE:
		snprintf(reason, sizeof(reason), "sent an undecodable transaction: %s",
		    tx_reason_str((enum tx_reason)res.reason));
		relay_drop(p, res.reason == TX_ERR_NETWORK ? BAN_WRONG_NETWORK :
		    BAN_BAD_ENCODING, reason);
		return -1;
	case ADMIT_STOPPING:
	case ADMIT_BUSY:
		return 0;
	case ADMIT_KNOWN:
	case ADMIT_REJECTED_ID:
		rx = TXREQ_RX_SETTLED;
		break;
	case ADMIT_REJECTED_COPY:
		rx = TXREQ_RX_BAD_COPY;
		break;
	case ADMIT_PENDING_SAME:
		rx = TXREQ_RX_PENDING_SAME;
		break;
	case ADMIT_PENDING_OTHER:
		rx = TXREQ_RX_PENDING_OTHER;
		break;
	case ADMIT_QUEUED:
	default:
		rx = TXREQ_RX_VALIDATING;
		break;
	}
	if (p->state == PEER_CLOSED)
		return -1;
	bloom_add(p->relay->known, res.id);
	if (r->n->cfg->relay_push) {
		/* Pushed to us, or the answer to our GETDATA (5.2.1)? */
		pulled = txreq_wanted(r->sched, res.id, &asked) &&
		    asked == p->serial;
		if ((res.what == ADMIT_KNOWN || res.what == ADMIT_PENDING_SAME) &&
		    !pulled && relay_prune(r, p, now_ms()) == -1)
			return -1;
		if (res.what == ADMIT_QUEUED && pulled &&
		    relay_graft(r, p, now_ms()) == -1)
			return -1;
	}
	txreq_received(r->sched, p->serial, res.id, rx, now_ms());
	/*
	 * Other bytes than those being validated, and no room to remember p
	 * as an announcer should they prove bad: set aside, as an INV.
	 */
	if (rx == TXREQ_RX_PENDING_OTHER && !txreq_wanted(r->sched, res.id, NULL))
		relay_defer(r, p, res.id, txreq_created(r->sched, p->serial) >=
		    txreq_quota(r->sched, p->serial) ? TXREQ_ANN_QUOTA :
		    TXREQ_ANN_FULL);
	relay_flush(r, FRAME_GETDATA);
	return p->state == PEER_CLOSED ? -1 : 0;
}

/* Takes up the ids p announced. */
static void
relay_inv_ids(struct relay *r, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	uint64_t	now = now_ms(), us = now_us();
	enum txreq_ann	what;
	size_t		i;
	int		settled;

	for (i = 0; i < count; i++) {
		bloom_add(p->relay->known, ids[i]);
		settled = admit_settled(r->admit, ids[i]);
		prov_announced(r->prov, ids[i], p->relay->pslot, us, !settled);
		if (settled)
			continue;
		/*
		 * The announcer of an id being validated (from the API or
		 * another peer) is remembered: if that copy proves bad, it is
		 * asked.  One the scheduler cannot track now is set aside.
		 */
		what = txreq_announce(r->sched, p->serial, ids[i],
		    admit_pending(r->admit, ids[i]), now);
		if (what == TXREQ_ANN_QUOTA || what == TXREQ_ANN_FULL)
			relay_defer(r, p, ids[i], what);
	}
}

/*
 * Answers ids[0..count) to p until RELAY_SERVE_TURN bytes went out or its
 * output is over its share (all of them if whole); ids not in the mempool
 * get one NOTFOUND.  Returns how many ids were answered, -1 if p closed.
 */
static ssize_t
relay_serve_ids(struct relay *r, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count, int whole)
{
	static uint8_t	missing[FRAME_MAX_IDS][TX_ID_LEN];
	static uint8_t	buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	const struct mempool_entry *e;
	uint64_t	sent0 = p->bytes_sent;
	size_t		i, nmissing = 0;

	for (i = 0; i < count && (whole || (p->bytes_sent - sent0 <
	    RELAY_SERVE_TURN && !p->out_paused)); i++) {
		e = mempool_get(r->mp, ids[i]);
		if (e == NULL) {
			memcpy(missing[nmissing++], ids[i], TX_ID_LEN);
			continue;
		}
		bloom_add(p->relay->known, ids[i]);
		prov_sent(r->prov, ids[i], p->relay->pslot, PROV_SENT_TX, now_us());
		if (peer_send(p, FRAME_TX, e->raw, e->len) == -1)
			return -1;
	}
	if (nmissing > 0 && peer_send(p, FRAME_NOTFOUND, buf, frame_ids_encode(
	    (const uint8_t (*)[TX_ID_LEN])missing, nmissing, buf, sizeof(buf))) == -1)
		return -1;
	return (ssize_t)i;
}

static void
relay_work_arm(struct relay *r, unsigned ms)
{
	struct timeval	tv = { 0, ms * 1000 };

	if (!event_pending(r->work_ev, EV_TIMEOUT, NULL) || ms == 0)
		event_add(r->work_ev, &tv);
}

/* p's long frame is done: it leaves the work queue and is read again. */
static void
relay_work_done(struct relay *r, struct peer *p)
{
	struct relay_peer *rp = p->relay;

	if (rp->work == NULL)
		return;
	TAILQ_REMOVE(&r->workq, rp, wentry);
	stats.relay_held = --r->nworking;
	free(rp->work);
	rp->work = NULL;
	rp->whead = rp->nwork = 0;
	if (p->state == PEER_ACTIVE)
		peer_hold(p, 0);
}

/*
 * Queues the rest of a long frame of p's (nothing queued yet: see
 * relay_on_inv), and holds p until it is done: its next records are not
 * read meanwhile, so one frame's ids at most.
 */
static void
relay_work_queue(struct relay *r, struct peer *p, uint8_t type,
    const uint8_t (*ids)[TX_ID_LEN], size_t count)
{
	struct relay_peer *rp = p->relay;

	if (rp->work == NULL) {
		rp->work = xcalloc(FRAME_MAX_IDS, TX_ID_LEN);
		TAILQ_INSERT_TAIL(&r->workq, rp, wentry);
		stats.relay_held = ++r->nworking;
		if (type == FRAME_INV)
			stats.relay_queued_inv++;
		else
			stats.relay_queued_getdata++;
	}
	memcpy(rp->work, ids, count * TX_ID_LEN);
	rp->whead = 0;
	rp->nwork = count;
	rp->wtype = type;
	peer_hold(p, 1);
	relay_work_arm(r, 0);
}

/*
 * One loop turn's share of the queued frames: each queued peer in turn
 * gets a slice, RELAY_WORK_ROUND in all; the rest waits for the next turn.
 * Peers over their send share wait where they are (their output drains
 * first).
 */
static void
relay_workcb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct relay_peer *rp;
	struct peer	*p;
	uint64_t	 spent = 0, sent0;
	size_t		 skipped = 0;
	ssize_t		 n;
	int		 announced = 0;

	(void)fd;
	(void)what;
	while ((rp = TAILQ_FIRST(&r->workq)) != NULL &&
	    spent < RELAY_WORK_ROUND && skipped < r->nworking) {
		p = rp->peer;
		TAILQ_REMOVE(&r->workq, rp, wentry);
		TAILQ_INSERT_TAIL(&r->workq, rp, wentry);
		if (rp->wtype == FRAME_GETDATA && p->out_paused) {
			skipped++;
			continue;
		}
		skipped = 0;
		if (rp->wtype == FRAME_INV) {
			n = rp->nwork < RELAY_INV_TURN ? (ssize_t)rp->nwork :
			    RELAY_INV_TURN;
			relay_inv_ids(r, p, (const uint8_t (*)[TX_ID_LEN])
			    rp->work + rp->whead, (size_t)n);
			spent += (uint64_t)n * RELAY_INV_COST;
			announced = 1;
		} else {
			sent0 = p->bytes_sent;
			n = relay_serve_ids(r, p, (const uint8_t (*)[TX_ID_LEN])
			    rp->work + rp->whead, rp->nwork, 0);
			if (n == -1)
				continue;	/* closed: relay_down took it off */
			spent += p->bytes_sent - sent0;
		}
		rp->whead += (size_t)n;
		rp->nwork -= (size_t)n;
		if (rp->nwork == 0)
			relay_work_done(r, p);
	}
	if (announced)
		relay_flush(r, FRAME_GETDATA);
	if (!TAILQ_EMPTY(&r->workq))
		relay_work_arm(r, skipped > 0 && spent == 0 ?
		    RELAY_WORK_WAIT_MS : 0);
}

static int
relay_on_inv(struct relay *r, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	/*
	 * A frame after a queued one in the same record (a record may carry
	 * several) is taken up at once: the hold stops reading records, not
	 * the frames of the one being read.
	 */
	if (p->relay->nwork == 0 && count > RELAY_WORK_INLINE) {
		relay_work_queue(r, p, FRAME_INV, ids, count);
		return 0;
	}
	relay_inv_ids(r, p, ids, count);
	if (p->state == PEER_CLOSED)
		return -1;
	relay_flush(r, FRAME_GETDATA);
	return p->state == PEER_CLOSED ? -1 : 0;
}

static int
relay_on_getdata(struct relay *r, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	ssize_t		n = 0;

	/* After a queued frame in the same record: answered whole now. */
	if (p->relay->nwork > 0)
		return relay_serve_ids(r, p, ids, count, 1) == -1 ? -1 : 0;
	if (count <= RELAY_WORK_INLINE &&
	    (n = relay_serve_ids(r, p, ids, count, 0)) == -1)
		return -1;
	if ((size_t)n < count)
		relay_work_queue(r, p, FRAME_GETDATA, ids + n, count - (size_t)n);
	return 0;
}

static int
relay_on_notfound(struct relay *r, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	uint64_t	now = now_ms();
	size_t		i;

	for (i = 0; i < count; i++)
		txreq_notfound(r->sched, p->serial, ids[i], now);
	relay_flush(r, FRAME_GETDATA);
	return p->state == PEER_CLOSED ? -1 : 0;
}

static int
relay_on_frame(struct peer *p, const struct frame *f, void *arg)
{
	struct relay	*r = arg;
	const uint8_t	(*ids)[TX_ID_LEN];
	size_t		 count;
	const char	*err = NULL;
	char		 reason[128];

	if (p->relay == NULL)
		return 0;
	switch (f->type) {
	case FRAME_TX:
		return relay_on_tx(r, p, f->payload, f->len);
	case FRAME_PRUNE:
		relay_set_eager(r, p, 0);
		return 0;
	case FRAME_GRAFT:
		/* Not heeded (no push, no room): announcing is still correct. */
		relay_set_eager(r, p, 1);
		return 0;
	}
	if (reconcile_is_frame(f->type))
		return reconcile_on_frame(r->rc, p, p->relay->rec, f);
	if (frame_ids_decode(f->payload, f->len, &ids, &count, &err) == -1) {
		snprintf(reason, sizeof(reason), "protocol error: bad %s: %s",
		    frame_type_str(f->type), err);
		peer_misbehaved(p, BAN_PROTOCOL, reason);
		return -1;
	}
	switch (f->type) {
	case FRAME_INV:
		return relay_on_inv(r, p, ids, count);
	case FRAME_GETDATA:
		return relay_on_getdata(r, p, ids, count);
	case FRAME_NOTFOUND:
		return relay_on_notfound(r, p, ids, count);
	}
	return 0;
}

/* --- a new peer's catch-up -------------------------------------------- */

struct relay_sync_arg {
	struct peer	*p;
	int		 queued;
};

static int
relay_sync_one(const struct mempool_entry *e, void *arg)
{
	struct relay_sync_arg *sa = arg;
	struct relay_peer *rp = sa->p->relay;

	memcpy(rp->sync_after, e->id, TX_ID_LEN);
	rp->sync_started = 1;
	if (bloom_add(rp->known, e->id)) {
		relay_queue_inv(sa->p, e->id);
		sa->queued = 1;
	}
	return sa->p->state != PEER_ACTIVE;
}

/* Announces the next slice of the mempool to p, if its send buffer is short. */
static void
relay_sync_step(struct relay *r, struct peer *p)
{
	struct relay_peer *rp = p->relay;
	struct relay_sync_arg sa = { p, 0 };
	size_t		limit, n;

	if (!rp->sync || p->state != PEER_ACTIVE ||
	    peer_send_pending(p) > RELAY_SYNC_SNDBUF)
		return;
	limit = rp->sync_left < RELAY_SYNC_SLICE ? rp->sync_left : RELAY_SYNC_SLICE;
	n = mempool_walk(r->mp, rp->sync_started ? rp->sync_after : NULL, limit,
	    relay_sync_one, &sa);
	rp->sync_left -= n;
	if (n < limit || rp->sync_left == 0) {
		rp->sync = 0;
		log_debug("gossip", "mempool announced to %s", peer_label(p));
	}
	if (sa.queued && p->state == PEER_ACTIVE)
		relay_send_ids(p, FRAME_INV, rp->inv, &rp->ninv);
}

/*
 * A turn's share of the tick's work: requests that timed out go to their
 * next announcers, set-aside ids back to the scheduler, RELAY_POLL_TURN
 * and RELAY_DEFER_TURN at most; what is left is for the next turn.
 */
static void
relay_tick_morecb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct timeval	 tv = { 0, 0 };
	uint64_t	 now = now_ms();
	size_t		 n;
	int		 more;

	(void)fd;
	(void)what;
	more = txreq_poll_some(r->sched, now, RELAY_POLL_TURN);
	if (r->deferring > 0 && r->defer_left > 0) {
		n = relay_defer_tick(r, now, r->defer_left < RELAY_DEFER_TURN ?
		    r->defer_left : RELAY_DEFER_TURN);
		r->defer_left = n > 0 ? r->defer_left - n : 0;
	}
	relay_flush(r, FRAME_GETDATA);
	if (more || (r->deferring > 0 && r->defer_left > 0))
		event_add(r->tick_more, &tv);
}

static void
relay_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct relay	*r = arg;
	struct peer	*p, *next;
	uint64_t	 now = now_ms();

	(void)fd;
	(void)what;
	r->defer_left = RELAY_DEFER_TICK;
	relay_tick_morecb(-1, 0, r);
	relay_deflog_flush(r, now);
	for (p = TAILQ_FIRST(net_peers(r->net)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->relay != NULL && p->relay->sync)
			relay_sync_step(r, p);
		if (p->relay != NULL && p->relay->rec != NULL &&
		    p->state == PEER_ACTIVE)
			reconcile_tick(r->rc, p, p->relay->rec, now);
	}
}

/* --- peers ------------------------------------------------------------ */

static void
relay_pause(void *arg)
{
	peer_pause(arg);
}

static void
relay_resume(void *arg)
{
	peer_resume(arg);
}

/*
 * The whole mempool is announced to p, a slice per tick while its send
 * buffer is short, as CometBFT's mempool reactor sends its mempool to each
 * new peer: to a peer that does not reconcile, and where reconciliation
 * failed (reconcile.c's fallback).
 */
static void
relay_full(struct relay *r, struct peer *p)
{
	struct relay_peer *rp = p->relay;

	if (rp == NULL || p->state != PEER_ACTIVE || rp->sync ||
	    mempool_count(r->mp) == 0)
		return;
	rp->sync = 1;
	rp->sync_started = 0;
	/* An evicted cursor restarts the walk: at most two rounds in all. */
	rp->sync_left = 2 * mempool_count(r->mp);
	relay_sync_step(r, p);
}

/* --- reconcile.c's hooks ---------------------------------------------- */

static void
relay_rec_announce(struct peer *p, const uint8_t id[TX_ID_LEN], void *arg)
{
	(void)arg;
	if (p->relay == NULL || p->state != PEER_ACTIVE)
		return;
	bloom_add(p->relay->known, id);
	relay_queue_inv(p, id);
}

static void
relay_rec_flush(struct peer *p, void *arg)
{
	(void)arg;
	if (p->relay != NULL && p->state == PEER_ACTIVE && p->relay->ninv > 0)
		relay_send_ids(p, FRAME_INV, p->relay->inv, &p->relay->ninv);
}

static void
relay_rec_full(struct peer *p, void *arg)
{
	relay_full(arg, p);
}

/*
 * p became active.  A peer that reconciles (docs/PROTOCOL.md section 7)
 * learns what it lacks that way; to one that does not, the whole mempool
 * is announced (a node that restarts or joins late catches up).
 */
static void
relay_up(struct peer *p, void *arg)
{
	struct relay	*r = arg;
	struct relay_peer *rp = xcalloc(1, sizeof(*rp));

	rp->src = admit_source_new(r->admit, p->serial, peer_label(p), relay_pause,
	    relay_resume, p);
	rp->known = bloom_new(RELAY_KNOWN_WINDOW);
	rp->pslot = prov_peer_add(r->prov, p->serial, p->name, p->remote_hex);
	rp->up_ms = now_ms();
	rp->peer = p;
	p->relay = rp;
	/*
	 * The links this node dialled start on the tree, at both ends (GRAFT):
	 * duplicates prune them and grafts add the faster ones, towards one
	 * spanning tree whatever the source.
	 */
	txreq_peer_add(r->sched, p->serial, p->outbound);
	if (p->outbound && relay_set_eager(r, p, 1) &&
	    peer_send(p, FRAME_GRAFT, NULL, 0) == -1)
		return;
	rp->rec = reconcile_peer_new(r->rc, p);
	if (p->version < FRAME_PROTO_RECON)
		relay_full(r, p);
}

/*
 * p is closing.  Its requests go to other announcers, its queued jobs are
 * dropped and those in the validator skipped (admit_source_free); what it
 * held goes, the struct stays until relay_release.
 */
static void
relay_down(struct peer *p, void *arg)
{
	struct relay	*r = arg;
	struct relay_peer *rp = p->relay;

	if (rp == NULL || rp->src == NULL)
		return;
	if (r->last == p)
		r->last = NULL;
	relay_set_eager(r, p, 0);
	txreq_peer_del(r->sched, p->serial);
	admit_source_free(rp->src);
	rp->src = NULL;
	bloom_free(rp->known);
	rp->known = NULL;
	free(rp->inv);
	rp->inv = NULL;
	rp->ninv = 0;
	free(rp->want);
	rp->want = NULL;
	rp->nwant = rp->wantcap = 0;
	rp->sync = 0;
	relay_work_done(r, p);
	relay_defer_clear(r, rp, 1);
	reconcile_peer_free(r->rc, rp->rec);
	rp->rec = NULL;
}

static void
relay_release(struct peer *p, void *arg)
{
	(void)arg;
	free(p->relay);
	p->relay = NULL;
}

struct relay *
relay_new(struct node *n, struct net *net, struct admit *admit,
    struct mempool *mp)
{
	struct relay	*r = xcalloc(1, sizeof(*r));
	struct timeval	 tv = { 0, RELAY_TICK_MS * 1000 };
	struct txreq_limits lim = {
		.table_max = RELAY_WANTED_MAX,
		.announced_max = RELAY_ANNOUNCED_MAX,
		.inflight = RELAY_PEER_INFLIGHT,
		.alts = RELAY_ALTS,
		.timeout_ms = n->cfg->getdata_timeout_ms,
		.retry_ms = RELAY_TICK_MS,
	};
	struct net_handler h = { relay_up, relay_down, relay_on_frame,
	    relay_release, r };
	struct admit_hooks ah = { .accepted = relay_accepted,
	    .settled = relay_settled, .retry = relay_retry,
	    .misbehaved = relay_misbehaved, .verified = relay_verified, .arg = r };
	struct reconcile_hooks rh = { relay_rec_announce, relay_rec_flush,
	    relay_rec_full, r };

	r->n = n;
	r->net = net;
	r->admit = admit;
	r->mp = mp;
	r->sched = txreq_new(&lim, relay_ask, r);
	r->prov = prov_new(n->cfg->trace_ring);
	r->rc = reconcile_new(n, mp, &rh);
	TAILQ_INIT(&r->workq);
	r->work_ev = evtimer_new(n->base, relay_workcb, r);
	r->inv_timer = evtimer_new(n->base, relay_invcb, r);
	if (n->cfg->relay_push) {
		r->lazy = xcalloc(RELAY_LAZY_MAX, sizeof(*r->lazy));
		r->lazy_timer = evtimer_new(n->base, relay_lazycb, r);
	}
	r->tick = event_new(n->base, -1, EV_PERSIST, relay_tickcb, r);
	r->tick_more = evtimer_new(n->base, relay_tick_morecb, r);
	event_add(r->tick, &tv);
	net_set_handler(net, &h);
	admit_set_hooks(admit, &ah);
	return r;
}

void
relay_free(struct relay *r)
{
	struct admit_hooks	ah;

	if (r == NULL)
		return;
	/* Admission outlives the relay: its verdicts must not call into r. */
	memset(&ah, 0, sizeof(ah));
	admit_set_hooks(r->admit, &ah);
	txreq_free(r->sched);
	prov_free(r->prov);
	reconcile_free(r->rc);
	event_free(r->inv_timer);
	event_free(r->work_ev);
	if (r->lazy_timer != NULL)
		event_free(r->lazy_timer);
	free(r->lazy);
	event_free(r->tick);
	event_free(r->tick_more);
	free(r);
}

struct prov *
relay_prov(struct relay *r)
{
	return r->prov;
}
