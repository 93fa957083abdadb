/*
 * gossip.c: transaction relay, announce then pull (docs/PROTOCOL.md section
 * 5), and the loop side of the validator pool.  Loop thread only.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "proto/frame.h"
#include "p2p/gossip.h"
#include "proto/hex.h"
#include "base/idmap.h"
#include "base/idset.h"
#include "base/log.h"
#include "core/mempool.h"
#include "http/metrics.h"
#include "p2p/net.h"
#include "p2p/peer.h"
#include "lib/util.h"
#include "core/validator.h"

#define GOSSIP_REJECTED_MAX	100000	/* recent rejections remembered */
#define GOSSIP_REJECT_TTL_MS	30000	/* for verdicts that time or the mempool may change */
#define GOSSIP_ALTS		8	/* other announcers kept per wanted id */
#define GOSSIP_PEER_INFLIGHT	5000	/* GETDATA ids outstanding per peer */
#define GOSSIP_PEER_ANNOUNCED	20000	/* wanted ids first announced by one peer */
#define GOSSIP_PEER_ANNOUNCED_MIN 2000	/* ... however many peers share the table */
#define GOSSIP_INFLIGHT_MAX	200000	/* wanted ids overall */
#define GOSSIP_API_BACKLOG_MAX	100000	/* API transactions waiting for a validator */
#define GOSSIP_TICK_MS		200
#define GOSSIP_EXPIRE_EVERY_MS	5000
#define GOSSIP_NEVER		UINT64_MAX
#define GOSSIP_SYNC_SLICE	5000	/* mempool ids announced to a new peer per tick */
#define GOSSIP_SYNC_SNDBUF	(256 * 1024)	/* ... while less than this waits to be sent */

/* An API caller waiting for the verdict on an id. */
struct gossip_waiter {
	TAILQ_ENTRY(gossip_waiter) entry;
	gossip_verdict_cb cb;
	void		*arg;
	uint8_t		*raw;	/* its copy, if not the one being validated */
	size_t		 len;
};
TAILQ_HEAD(gossip_waiter_list, gossip_waiter);

/* An id being validated: at most one job per id, however many submitters. */
struct gossip_vstate {
	TAILQ_ENTRY(gossip_vstate) backlog_entry;	/* parked API work */
	uint8_t		id[TX_ID_LEN];
	uint8_t		copy[TX_ID_LEN];	/* hash of the bytes validated */
	uint64_t	origin;		/* peer serial, 0: API */
	char		from[FRAME_NAME_MAX + 1];
	struct validator_job *job;	/* while parked */
	struct gossip_waiter_list waiters;
};
TAILQ_HEAD(gossip_vstate_list, gossip_vstate);

/*
 * A wanted id (docs/PROTOCOL.md 5.3): asked of one announcer at a time.  The
 * entry lives until the transaction is accepted or finally rejected, so that
 * a bad copy, a NOTFOUND, a timeout or a disconnect moves on to the next
 * announcer instead of losing the transaction.
 */
struct gossip_inflight {
	uint8_t		id[TX_ID_LEN];
	uint64_t	peer;		/* serial of the peer asked; 0: nobody yet */
	uint64_t	creator;	/* serial of the first announcer (its quota) */
	uint64_t	deadline_ms;	/* ask the next one then; NEVER while validating */
	uint64_t	alts[GOSSIP_ALTS];	/* other announcers, oldest first */
	uint8_t		altout[GOSSIP_ALTS];	/* 1: that announcer is outbound */
	unsigned	nalts;
};

/* A remembered rejection, keyed by id (or, for a bad signature, by the bytes' hash). */
struct gossip_reject {
	unsigned	reason;
	uint64_t	until_ms;	/* 0: for as long as it is remembered */
	size_t		slot;		/* its place in the FIFO ring */
};

struct gossip {
	struct node	*node;
	struct idmap	*validating;	/* id → gossip_vstate */
	struct idmap	*inflight;	/* id → gossip_inflight */
	struct idmap	*rejected;	/* id or copy hash → gossip_reject */
	uint8_t		(*rejring)[TX_ID_LEN];	/* FIFO of rejected keys */
	size_t		rejhead, rejcount;
	struct gossip_vstate_list parked;	/* API work the validator could not take yet */
	size_t		nparked;
	TAILQ_HEAD(, peer) blocked;	/* peers with jobs the validator refused */
	struct event	*inv_timer;
	struct event	*tick;
	uint64_t	next_expire_ms;
};

static const char *gossip_reasons[] = {
	"nonce already used",
	"mempool full",
	"node busy",
};

const char *
gossip_reason_str(unsigned i)
{
	if (i < TX_REASON_COUNT)
		return tx_reason_str((enum tx_reason)i);
	if (i < GOSSIP_REASON_COUNT)
		return gossip_reasons[i - TX_REASON_COUNT];
	return "unknown";
}

static void	gossip_drain(struct gossip *);
static void	gossip_tickcb(evutil_socket_t, short, void *);
static void	gossip_invcb(evutil_socket_t, short, void *);
static void	gossip_verdict_fill(struct gossip_verdict *, enum gossip_status,
	    const uint8_t *, unsigned, const char *);
static void	gossip_want_next(struct gossip *, struct gossip_inflight *);
static void	gossip_flush_getdata(struct gossip *);
static void	gossip_inflight_free(struct gossip *, struct gossip_inflight *);
static size_t	gossip_announce_quota(struct gossip *);
static void	gossip_sync_all(struct gossip *);

/* The hash that names one copy of a transaction: its encoded bytes. */
static void
gossip_copy_hash(uint8_t out[TX_ID_LEN], const uint8_t *raw, size_t len)
{
	crypto_generichash(out, TX_ID_LEN, raw, len, NULL, 0);
}

/*
 * How a rejection is remembered, so the same transaction is not verified
 * again.  A verdict on the body holds for every copy, for good (version,
 * network, amount, memo, age) or for a while (a future timestamp, a used
 * nonce, a full mempool: time and the mempool change).  A bad signature
 * condemns only that copy: the id leaves the signature out, so a broken copy
 * must not lock out the valid transaction.
 */
static uint64_t
gossip_reject_ttl(unsigned reason)
{
	switch (reason) {
	case TX_ERR_VERSION:
	case TX_ERR_NETWORK:
	case TX_ERR_AMOUNT:
	case TX_ERR_MEMO:
	case TX_ERR_EXPIRED:
	case TX_ERR_SIGNATURE:
		return 0;
	default:
		return GOSSIP_REJECT_TTL_MS;
	}
}

static const struct gossip_reject *
gossip_rejected(struct gossip *g, const uint8_t key[TX_ID_LEN])
{
	struct gossip_reject *r = idmap_get(g->rejected, key);

	if (r != NULL && r->until_ms != 0 && now_ms() >= r->until_ms) {
		free(idmap_del(g->rejected, key));
		return NULL;
	}
	return r;
}

static void
gossip_reject_remember(struct gossip *g, const uint8_t key[TX_ID_LEN],
    unsigned reason)
{
	struct gossip_reject *r, *old;
	uint8_t *slot;
	uint64_t ttl = gossip_reject_ttl(reason);

	if ((r = idmap_get(g->rejected, key)) == NULL) {
		if (g->rejcount == GOSSIP_REJECTED_MAX) {
			/*
			 * The oldest slot goes, and its entry with it unless the
			 * key expired and was remembered again in a newer slot.
			 */
			slot = g->rejring[g->rejhead];
			if ((old = idmap_get(g->rejected, slot)) != NULL &&
			    old->slot == g->rejhead)
				free(idmap_del(g->rejected, slot));
			g->rejhead = (g->rejhead + 1) % GOSSIP_REJECTED_MAX;
			g->rejcount--;
		}
		r = xmalloc(sizeof(*r));
		r->slot = (g->rejhead + g->rejcount) % GOSSIP_REJECTED_MAX;
		memcpy(g->rejring[r->slot], key, TX_ID_LEN);
		g->rejcount++;
		idmap_put(g->rejected, key, r);
	}
	r->reason = reason;
	r->until_ms = ttl == 0 ? 0 : now_ms() + ttl;
}

struct gossip *
gossip_new(struct node *n)
{
	struct gossip *g = xcalloc(1, sizeof(*g));
	struct timeval tv = { 0, GOSSIP_TICK_MS * 1000 };

	g->node = n;
	n->gossip = g;
	g->validating = idmap_new();
	g->inflight = idmap_new();
	g->rejected = idmap_new();
	g->rejring = xcalloc(GOSSIP_REJECTED_MAX, TX_ID_LEN);
	TAILQ_INIT(&g->parked);
	TAILQ_INIT(&g->blocked);
	g->inv_timer = evtimer_new(n->base, gossip_invcb, g);
	g->tick = event_new(n->base, -1, EV_PERSIST, gossip_tickcb, g);
	event_add(g->tick, &tv);
	g->next_expire_ms = now_ms() + GOSSIP_EXPIRE_EVERY_MS;
	return g;
}

static void
gossip_free_value(const uint8_t id[32], void *v, void *arg)
{
	(void)id;
	(void)arg;
	free(v);
}

static void
gossip_vstate_answer(struct gossip_vstate *vs, const struct gossip_verdict *v)
{
	struct gossip_waiter *w;

	while ((w = TAILQ_FIRST(&vs->waiters)) != NULL) {
		TAILQ_REMOVE(&vs->waiters, w, entry);
		w->cb(v, w->arg);
		free(w->raw);
		free(w);
	}
}

static void
gossip_free_vstate(const uint8_t id[32], void *v, void *arg)
{
	struct gossip_vstate *vs = v;
	struct gossip_waiter *w;

	(void)id;
	(void)arg;
	while ((w = TAILQ_FIRST(&vs->waiters)) != NULL) {
		TAILQ_REMOVE(&vs->waiters, w, entry);
		free(w->raw);
		free(w);
	}
	if (vs->job != NULL)
		validator_job_free(vs->job);
	free(vs);
}

void
gossip_free(struct gossip *g)
{
	if (g == NULL)
		return;
	idmap_foreach(g->inflight, gossip_free_value, NULL);
	idmap_free(g->inflight);
	idmap_foreach(g->validating, gossip_free_vstate, NULL);
	idmap_free(g->validating);
	idmap_foreach(g->rejected, gossip_free_value, NULL);
	idmap_free(g->rejected);
	free(g->rejring);
	event_free(g->inv_timer);
	event_free(g->tick);
	g->node->gossip = NULL;
	free(g);
}

/* Sends a peer's queued ids as one INV or GETDATA (batch: p->inv or p->want). */
static int
gossip_send_ids(struct peer *p, uint8_t type, uint8_t (*ids)[TX_ID_LEN], size_t *n)
{
	static uint8_t buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	size_t len;

	if (*n == 0)
		return 0;
	len = frame_ids_encode((const uint8_t (*)[TX_ID_LEN])ids, *n, buf, sizeof(buf));
	*n = 0;
	return peer_send(p, type, buf, len);
}

/* Queues id in a peer's batch (allocated on first use); sends a full batch. */
static int
gossip_queue_id(struct peer *p, uint8_t type, const uint8_t id[TX_ID_LEN])
{
	uint8_t (**ids)[TX_ID_LEN] = type == FRAME_INV ? &p->inv : &p->want;
	size_t *n = type == FRAME_INV ? &p->ninv : &p->nwant;

	if (*ids == NULL)
		*ids = xcalloc(FRAME_MAX_IDS, TX_ID_LEN);
	memcpy((*ids)[(*n)++], id, TX_ID_LEN);
	if (*n < FRAME_MAX_IDS)
		return 0;
	return gossip_send_ids(p, type, *ids, n);
}

/* Sends every peer's queued announcements. */
static void
gossip_flush_inv(struct gossip *g)
{
	struct peer *p, *next;

	for (p = TAILQ_FIRST(net_peers(g->node)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state == PEER_ACTIVE)
			gossip_send_ids(p, FRAME_INV, p->inv, &p->ninv);
	}
}

/* Sends every peer's queued requests. */
static void
gossip_flush_getdata(struct gossip *g)
{
	struct peer *p, *next;

	for (p = TAILQ_FIRST(net_peers(g->node)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state == PEER_ACTIVE)
			gossip_send_ids(p, FRAME_GETDATA, p->want, &p->nwant);
	}
}

static void
gossip_invcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gossip_flush_inv(arg);
}

/* Announces id to every active peer not known to have it (batched). */
static void
gossip_relay(struct gossip *g, const uint8_t id[TX_ID_LEN], uint64_t origin)
{
	struct peer *p, *next;
	struct timeval tv;
	int queued = 0;

	for (p = TAILQ_FIRST(net_peers(g->node)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state != PEER_ACTIVE || p->serial == origin)
			continue;
		if (!idset_add(p->known, id))
			continue;
		gossip_queue_id(p, FRAME_INV, id);
		queued = 1;
	}
	if (queued && !evtimer_pending(g->inv_timer, NULL)) {
		tv.tv_sec = 0;
		tv.tv_usec = (suseconds_t)g->node->cfg->inv_batch_ms * 1000;
		evtimer_add(g->inv_timer, &tv);
	}
}

static void
gossip_count_reject(struct gossip *g, unsigned reason)
{
	if (reason < GOSSIP_REASON_COUNT)
		g->node->stats.txs_rejected[reason]++;
}

/* Queues a job or, when the validator is full, says so (the caller parks it). */
static int
gossip_submit_job(struct gossip *g, struct validator_job *job)
{
	if (!TAILQ_EMPTY(&g->parked) || !TAILQ_EMPTY(&g->blocked))
		return -1;	/* keep order: earlier parked work goes first */
	if (validator_submit(g->node->validator, job) == 0)
		return 0;
	g->node->stats.backpressure++;
	return -1;
}

static void
gossip_block_peer(struct gossip *g, struct peer *p, struct validator_job *job)
{
	struct peer_backlog *b = xmalloc(sizeof(*b));

	b->job = job;
	TAILQ_INSERT_TAIL(&p->backlog, b, entry);
	p->nbacklog++;
	if (!p->blocked) {
		p->blocked = 1;
		TAILQ_INSERT_TAIL(&g->blocked, p, blocked_entry);
		peer_pause(p);
		log_debug("gossip", "validator queue full: pausing reads from %s",
		    peer_label(p));
	}
}

static struct validator_job *
gossip_job_new(const uint8_t *raw, size_t len, uint64_t origin, void *ctx)
{
	struct validator_job *job = xcalloc(1, sizeof(*job));

	job->raw = xmalloc(len);
	memcpy(job->raw, raw, len);
	job->len = len;
	job->origin = origin;
	job->ctx = ctx;
	return job;
}

/* Drops serial from inf's announcers. */
static void
gossip_alt_del(struct gossip_inflight *inf, uint64_t serial)
{
	unsigned i, k = 0;

	for (i = 0; i < inf->nalts; i++)
		if (inf->alts[i] != serial) {
			inf->altout[k] = inf->altout[i];
			inf->alts[k++] = inf->alts[i];
		}
	inf->nalts = k;
}

/* Makes serial inf's next announcer (the last one falls off a full list). */
static void
gossip_alt_add_front(struct gossip_inflight *inf, uint64_t serial, int outbound)
{
	gossip_alt_del(inf, serial);
	if (inf->nalts == GOSSIP_ALTS)
		inf->nalts--;
	memmove(&inf->alts[1], &inf->alts[0], inf->nalts * sizeof(inf->alts[0]));
	memmove(&inf->altout[1], &inf->altout[0], inf->nalts);
	inf->alts[0] = serial;
	inf->altout[0] = outbound != 0;
	inf->nalts++;
}

/*
 * Records p as an announcer of inf.  When the list is full, a peer this
 * node dialled (which an attacker cannot make itself) takes the place of
 * the newest inbound one and is asked first, as Bitcoin Core prefers
 * outbound announcers: a crowd of inbound peers announcing an id first
 * cannot shut it out.  (Announcers that are gone are pruned when the next
 * one is asked.)
 */
static void
gossip_alt_add(struct gossip_inflight *inf, struct peer *p)
{
	unsigned i;

	if (p->serial == inf->peer)
		return;
	for (i = 0; i < inf->nalts; i++)
		if (inf->alts[i] == p->serial)
			return;
	if (inf->nalts < GOSSIP_ALTS) {
		inf->altout[inf->nalts] = p->outbound != 0;
		inf->alts[inf->nalts++] = p->serial;
		return;
	}
	if (!p->outbound)
		return;
	for (i = inf->nalts; i-- > 0; )
		if (!inf->altout[i]) {
			gossip_alt_del(inf, inf->alts[i]);
			gossip_alt_add_front(inf, p->serial, 1);
			return;
		}
}

/* The request of inf is over (answered, refused, timed out): free its slot. */
static void
gossip_request_done(struct gossip *g, struct gossip_inflight *inf)
{
	struct peer *q;

	if (inf->peer != 0 && (q = net_peer_by_serial(g->node, inf->peer)) != NULL &&
	    q->inflight > 0)
		q->inflight--;
	inf->peer = 0;
}

/* Removes and frees inf, giving back its request slot and its announcer's quota. */
static void
gossip_inflight_free(struct gossip *g, struct gossip_inflight *inf)
{
	struct peer *q;

	gossip_request_done(g, inf);
	if ((q = net_peer_by_serial(g->node, inf->creator)) != NULL &&
	    q->announced > 0)
		q->announced--;
	idmap_del(g->inflight, inf->id);
	free(inf);
}

static void
gossip_inflight_forget(struct gossip *g, const uint8_t id[TX_ID_LEN])
{
	struct gossip_inflight *inf = idmap_get(g->inflight, id);

	if (inf != NULL)
		gossip_inflight_free(g, inf);
}

/*
 * A new wanted id whose first announcer is p (counted in p's quota), or NULL
 * when the table of wanted ids is full.  The caller adds the announcers.
 */
static struct gossip_inflight *
gossip_inflight_new(struct gossip *g, struct peer *p, const uint8_t id[TX_ID_LEN],
    uint64_t deadline_ms)
{
	struct gossip_inflight *inf;

	if (idmap_count(g->inflight) >= GOSSIP_INFLIGHT_MAX)
		return NULL;
	inf = xcalloc(1, sizeof(*inf));
	memcpy(inf->id, id, TX_ID_LEN);
	inf->deadline_ms = deadline_ms;
	inf->creator = p->serial;
	p->announced++;
	idmap_put(g->inflight, id, inf);
	return inf;
}

/*
 * Asks p for inf's id when p has a free request slot (queued in p's GETDATA
 * batch; the caller flushes).  Returns 0, or -1 if p is at its limit.
 */
static int
gossip_ask(struct gossip *g, struct gossip_inflight *inf, struct peer *p)
{
	if (p->inflight >= GOSSIP_PEER_INFLIGHT)
		return -1;
	inf->peer = p->serial;
	inf->deadline_ms = now_ms() + g->node->cfg->getdata_timeout_ms;
	p->inflight++;
	gossip_alt_del(inf, p->serial);
	gossip_queue_id(p, FRAME_GETDATA, inf->id);
	return 0;
}

/*
 * Moves inf to its next announcer: the first still connected with a free
 * slot.  Announcers at their limit are kept for a later tick; with none left,
 * the id is forgotten (a later INV starts again).  inf may be freed.
 */
static void
gossip_want_next(struct gossip *g, struct gossip_inflight *inf)
{
	struct peer *q;
	unsigned i;

	gossip_request_done(g, inf);
	for (i = 0; i < inf->nalts; ) {
		q = net_peer_by_serial(g->node, inf->alts[i]);
		if (q == NULL || q->state != PEER_ACTIVE) {
			gossip_alt_del(inf, inf->alts[i]);
			continue;
		}
		if (gossip_ask(g, inf, q) == 0)
			return;
		i++;
	}
	if (inf->nalts > 0) {
		inf->deadline_ms = now_ms() + GOSSIP_TICK_MS;
		return;
	}
	gossip_inflight_free(g, inf);
}

static int
gossip_on_tx(struct gossip *g, struct peer *p, const uint8_t *raw, size_t len)
{
	struct tx tx;
	uint8_t id[TX_ID_LEN], copy[TX_ID_LEN];
	char reason[128], idhex[TX_ID_HEX_LEN + 1];
	enum tx_reason r;
	struct gossip_inflight *inf;
	struct gossip_vstate *vs;
	struct validator_job *job;
	struct peer *q;
	uint64_t asked;

	r = tx_decode(&tx, raw, len);
	if (r != TX_OK) {
		gossip_count_reject(g, r);
		snprintf(reason, sizeof(reason), "sent an undecodable transaction: %s",
		    tx_reason_str(r));
		log_warn("gossip", "tx from %s rejected: %s", peer_label(p),
		    tx_reason_str(r));
		g->node->stats.peers_dropped++;
		peer_close(p, reason);
		return -1;
	}
	tx_id(&tx, id);
	hex_encode(idhex, id, TX_ID_LEN);
	idset_add(p->known, id);
	inf = idmap_get(g->inflight, id);
	if (inf != NULL && inf->peer == p->serial)
		gossip_request_done(g, inf);	/* our request is answered */
	gossip_copy_hash(copy, raw, len);
	if (mempool_get(g->node->mempool, id) != NULL || gossip_rejected(g, id) != NULL) {
		gossip_inflight_forget(g, id);
		goto duplicate;
	}
	if (gossip_rejected(g, copy) != NULL) {
		/* A copy already found bad: ask another announcer, if any. */
		if (inf != NULL) {
			gossip_alt_del(inf, p->serial);
			if (inf->peer == 0 && inf->deadline_ms != GOSSIP_NEVER) {
				gossip_want_next(g, inf);
				gossip_flush_getdata(g);
			}
		}
		goto duplicate;
	}
	if ((vs = idmap_get(g->validating, id)) != NULL) {
		/*
		 * Another copy is being validated.  If this one differs, its
		 * sender is an announcer to ask should that copy prove bad.
		 */
		if (inf == NULL && memcmp(vs->copy, copy, TX_ID_LEN) != 0 &&
		    p->announced < gossip_announce_quota(g))
			inf = gossip_inflight_new(g, p, id, GOSSIP_NEVER);
		if (inf != NULL) {
			if (memcmp(vs->copy, copy, TX_ID_LEN) != 0)
				gossip_alt_add(inf, p);
			if (inf->peer == 0)
				inf->deadline_ms = GOSSIP_NEVER;	/* the verdict decides */
		}
		goto duplicate;
	}
	/*
	 * This copy gets validated: any request for the id is moot until the
	 * verdict, but the peer asked stays an announcer in case this copy is bad.
	 */
	if (inf != NULL) {
		asked = inf->peer;
		gossip_request_done(g, inf);
		gossip_alt_del(inf, p->serial);
		if (asked != 0 && asked != p->serial &&
		    (q = net_peer_by_serial(g->node, asked)) != NULL)
			gossip_alt_add_front(inf, asked, q->outbound);
		inf->deadline_ms = GOSSIP_NEVER;
	}
	vs = xcalloc(1, sizeof(*vs));
	memcpy(vs->id, id, TX_ID_LEN);
	memcpy(vs->copy, copy, TX_ID_LEN);
	vs->origin = p->serial;
	snprintf(vs->from, sizeof(vs->from), "%s", peer_label(p));
	TAILQ_INIT(&vs->waiters);
	idmap_put(g->validating, id, vs);
	job = gossip_job_new(raw, len, p->serial, vs);
	job->gate = p->gate;
	p->gate->refs++;
	if (gossip_submit_job(g, job) == -1)
		gossip_block_peer(g, p, job);
	return 0;

duplicate:
	g->node->stats.txs_duplicate++;
	log_debug("gossip", "tx %.16s from %s: already known", idhex, peer_label(p));
	return 0;
}

/*
 * How many wanted ids one peer may be the first announcer of: its fair share
 * of the table among the active peers, so that a few peers announcing junk
 * cannot fill the table and leave no room for the others.
 */
static size_t
gossip_announce_quota(struct gossip *g)
{
	unsigned in, out;
	size_t share;

	net_peer_counts(g->node, &in, &out);
	share = GOSSIP_INFLIGHT_MAX / (in + out > 0 ? in + out : 1);
	if (share > GOSSIP_PEER_ANNOUNCED)
		share = GOSSIP_PEER_ANNOUNCED;
	if (share < GOSSIP_PEER_ANNOUNCED_MIN)
		share = GOSSIP_PEER_ANNOUNCED_MIN;
	return share;
}

static int
gossip_on_inv(struct gossip *g, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	struct gossip_inflight *inf;
	size_t i, quota;
	int validating;

	quota = gossip_announce_quota(g);
	for (i = 0; i < count; i++) {
		idset_add(p->known, ids[i]);
		if (mempool_get(g->node->mempool, ids[i]) != NULL ||
		    gossip_rejected(g, ids[i]) != NULL)
			continue;
		if ((inf = idmap_get(g->inflight, ids[i])) != NULL) {
			gossip_alt_add(inf, p);
			continue;
		}
		/*
		 * Bounded per first announcer, as Bitcoin Core bounds announcements
		 * per peer: one peer announcing junk cannot crowd out the others.
		 */
		if (p->announced >= quota)
			continue;
		/*
		 * Remember the announcer even of an id being validated (from the
		 * API or another peer): if that copy proves bad, ask this one.
		 */
		validating = idmap_get(g->validating, ids[i]) != NULL;
		inf = gossip_inflight_new(g, p, ids[i], validating ? GOSSIP_NEVER : 0);
		if (inf == NULL)
			continue;
		gossip_alt_add(inf, p);
		if (!validating && gossip_ask(g, inf, p) == -1)
			inf->deadline_ms = now_ms() + GOSSIP_TICK_MS;
	}
	if (p->state == PEER_CLOSED)
		return -1;
	return gossip_send_ids(p, FRAME_GETDATA, p->want, &p->nwant);
}

static int
gossip_on_getdata(struct gossip *g, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	static uint8_t missing[FRAME_MAX_IDS][TX_ID_LEN];
	static uint8_t buf[2 + FRAME_MAX_IDS * TX_ID_LEN];
	const struct mempool_entry *e;
	size_t i, nmissing = 0;

	for (i = 0; i < count; i++) {
		e = mempool_get(g->node->mempool, ids[i]);
		if (e == NULL) {
			memcpy(missing[nmissing++], ids[i], TX_ID_LEN);
			continue;
		}
		idset_add(p->known, ids[i]);
		if (peer_send(p, FRAME_TX, e->raw, e->len) == -1)
			return -1;
	}
	if (nmissing == 0)
		return 0;
	return peer_send(p, FRAME_NOTFOUND, buf, frame_ids_encode(
	    (const uint8_t (*)[TX_ID_LEN])missing, nmissing, buf, sizeof(buf)));
}

static int
gossip_on_notfound(struct gossip *g, struct peer *p, const uint8_t (*ids)[TX_ID_LEN],
    size_t count)
{
	struct gossip_inflight *inf;
	size_t i;

	for (i = 0; i < count; i++) {
		inf = idmap_get(g->inflight, ids[i]);
		if (inf != NULL && inf->peer == p->serial)
			gossip_want_next(g, inf);
	}
	gossip_flush_getdata(g);
	return p->state == PEER_CLOSED ? -1 : 0;
}

int
gossip_on_frame(struct peer *p, const struct frame *f)
{
	struct gossip *g = p->node->gossip;
	const uint8_t (*ids)[TX_ID_LEN];
	size_t count;
	const char *err = NULL;
	char reason[128];

	if (f->type == FRAME_TX)
		return gossip_on_tx(g, p, f->payload, f->len);
	if (frame_ids_decode(f->payload, f->len, &ids, &count, &err) == -1) {
		snprintf(reason, sizeof(reason), "protocol error: bad %s: %s",
		    frame_type_str(f->type), err);
		peer_close(p, reason);
		return -1;
	}
	switch (f->type) {
	case FRAME_INV:
		return gossip_on_inv(g, p, ids, count);
	case FRAME_GETDATA:
		return gossip_on_getdata(g, p, ids, count);
	case FRAME_NOTFOUND:
		return gossip_on_notfound(g, p, ids, count);
	}
	return 0;
}

struct gossip_due {
	uint64_t	now;
	uint64_t	serial;		/* with now == 0: the entries asked of this peer */
	uint8_t		(*ids)[TX_ID_LEN];
	size_t		n, cap;
};

static void
gossip_collect_due(const uint8_t id[32], void *v, void *arg)
{
	struct gossip_inflight *inf = v;
	struct gossip_due *d = arg;

	if (d->now != 0 ? inf->deadline_ms > d->now :
	    (inf->peer != d->serial || inf->peer == 0))
		return;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->ids = xrealloc(d->ids, d->cap * TX_ID_LEN);
	}
	memcpy(d->ids[d->n++], id, TX_ID_LEN);
}

/* Moves every collected wanted id to its next announcer. */
static void
gossip_want_due(struct gossip *g, struct gossip_due *d)
{
	struct gossip_inflight *inf;
	size_t i;

	for (i = 0; i < d->n; i++)
		if ((inf = idmap_get(g->inflight, d->ids[i])) != NULL)
			gossip_want_next(g, inf);
	free(d->ids);
	gossip_flush_getdata(g);
}

static void
gossip_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct gossip *g = arg;
	struct gossip_due d = { now_ms(), 0, NULL, 0, 0 };
	size_t n;

	(void)fd;
	(void)what;
	idmap_foreach(g->inflight, gossip_collect_due, &d);
	gossip_want_due(g, &d);
	if (d.now >= g->next_expire_ms) {
		g->next_expire_ms = d.now + GOSSIP_EXPIRE_EVERY_MS;
		n = mempool_expire(g->node->mempool, d.now, g->node->policy.max_age_ms);
		if (n > 0)
			log_info("mempool", "expired %zu transactions older than %llu ms",
			    n, (unsigned long long)g->node->policy.max_age_ms);
	}
	gossip_sync_all(g);
	/* Parked work may wait on a queue that drained without a result for us. */
	gossip_drain(g);
}

struct gossip_sync_arg {
	struct peer	*p;
	int		 queued;
};

static int
gossip_sync_one(const struct mempool_entry *e, void *arg)
{
	struct gossip_sync_arg *sa = arg;
	struct peer *p = sa->p;

	memcpy(p->sync_after, e->id, TX_ID_LEN);
	p->sync_started = 1;
	if (idset_add(p->known, e->id)) {
		gossip_queue_id(p, FRAME_INV, e->id);
		sa->queued = 1;
	}
	return p->state != PEER_ACTIVE;
}

/* Announces the next slice of the mempool to p, if its send buffer is short. */
static void
gossip_sync_step(struct gossip *g, struct peer *p)
{
	struct gossip_sync_arg sa = { p, 0 };
	size_t limit, n;

	if (!p->sync || p->state != PEER_ACTIVE || peer_send_pending(p) >
	    GOSSIP_SYNC_SNDBUF)
		return;
	limit = p->sync_left < GOSSIP_SYNC_SLICE ? p->sync_left : GOSSIP_SYNC_SLICE;
	n = mempool_walk(g->node->mempool, p->sync_started ? p->sync_after : NULL,
	    limit, gossip_sync_one, &sa);
	p->sync_left -= n;
	if (n < limit || p->sync_left == 0) {
		p->sync = 0;
		log_debug("gossip", "mempool announced to %s", peer_label(p));
	}
	if (sa.queued && p->state == PEER_ACTIVE)
		gossip_send_ids(p, FRAME_INV, p->inv, &p->ninv);
}

void
gossip_peer_active(struct peer *p)
{
	struct gossip *g = p->node->gossip;

	if (g == NULL || mempool_count(g->node->mempool) == 0)
		return;
	p->sync = 1;
	p->sync_started = 0;
	/* An evicted cursor restarts the walk: at most two rounds in all. */
	p->sync_left = 2 * mempool_count(g->node->mempool);
	gossip_sync_step(g, p);
}

static void
gossip_sync_all(struct gossip *g)
{
	struct peer *p, *next;

	for (p = TAILQ_FIRST(net_peers(g->node)); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->sync)
			gossip_sync_step(g, p);
	}
}

void
gossip_peer_closed(struct peer *p)
{
	struct gossip *g = p->node->gossip;
	struct peer_backlog *b;
	struct gossip_vstate *vs;
	struct gossip_inflight *inf;
	struct gossip_verdict v;
	struct gossip_due d = { 0, p->serial, NULL, 0, 0 };
	size_t i;

	if (p->blocked) {
		TAILQ_REMOVE(&g->blocked, p, blocked_entry);
		p->blocked = 0;
	}
	/*
	 * Jobs p sent that the validator never took are dropped, and those it
	 * took are skipped: a closing peer must not leave work behind (an
	 * attacker dropped for one bad transaction must not keep the workers
	 * busy with the rest of its flood).  Ids that others announced are
	 * still wanted and go to their next announcer.
	 */
	validator_gate_close(p->gate);
	while ((b = TAILQ_FIRST(&p->backlog)) != NULL) {
		TAILQ_REMOVE(&p->backlog, b, entry);
		vs = b->job->ctx;
		idmap_del(g->validating, vs->id);
		gossip_verdict_fill(&v, GOSSIP_REJECTED, vs->id, GOSSIP_REASON_BUSY,
		    "node busy: the peer relaying it went away, retry");
		gossip_vstate_answer(vs, &v);
		if ((inf = idmap_get(g->inflight, vs->id)) != NULL)
			inf->deadline_ms = 0;
		free(vs);
		validator_job_free(b->job);
		free(b);
	}
	p->nbacklog = 0;
	/* Requests p will never answer go to the next announcer at the next tick. */
	idmap_foreach(g->inflight, gossip_collect_due, &d);
	for (i = 0; i < d.n; i++)
		if ((inf = idmap_get(g->inflight, d.ids[i])) != NULL) {
			inf->peer = 0;
			inf->deadline_ms = 0;
		}
	free(d.ids);
}

static void
gossip_verdict_fill(struct gossip_verdict *v, enum gossip_status st,
    const uint8_t *id, unsigned reason, const char *msg)
{
	memset(v, 0, sizeof(*v));
	v->status = st;
	if (id != NULL) {
		v->have_id = 1;
		memcpy(v->id, id, TX_ID_LEN);
	}
	if (st == GOSSIP_REJECTED) {
		v->reason = gossip_reason_str(reason);
		snprintf(v->msg, sizeof(v->msg), "%s", msg != NULL && msg[0] ? msg :
		    v->reason);
	}
}

/*
 * Moves waiters of vs to list, to be submitted again on their own bytes.
 * Without unjudged, only those that sent another copy than vs's (which
 * proved bad); with it (vs's job, which was not validated), every waiter,
 * those that sent its bytes getting a copy of them.
 */
static void
gossip_waiters_take(struct gossip_vstate *vs,
    const struct validator_job *unjudged, struct gossip_waiter_list *list)
{
	struct gossip_waiter *w, *next;

	for (w = TAILQ_FIRST(&vs->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->raw == NULL) {
			if (unjudged == NULL)
				continue;
			w->raw = xmalloc(unjudged->len);
			memcpy(w->raw, unjudged->raw, unjudged->len);
			w->len = unjudged->len;
		}
		TAILQ_REMOVE(&vs->waiters, w, entry);
		TAILQ_INSERT_TAIL(list, w, entry);
	}
}

/* Submits each waiter's own copy again, as if it had just come in. */
static void
gossip_retry_copies(struct node *n, struct gossip_waiter_list *list)
{
	struct gossip_waiter *w;
	struct gossip_verdict v;

	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		if (gossip_submit(n, w->raw, w->len, w->cb, w->arg, NULL) == -1) {
			gossip_verdict_fill(&v, GOSSIP_REJECTED, NULL,
			    GOSSIP_REASON_BUSY, "node is shutting down");
			w->cb(&v, w->arg);
		}
		free(w->raw);
		free(w);
	}
}

void
gossip_on_validated(struct validator_job *job, void *arg)
{
	struct node *n = arg;
	struct gossip *g = n->gossip;
	struct gossip_vstate *vs = job->ctx;
	struct gossip_verdict v;
	struct gossip_inflight *inf;
	struct peer *origin;
	enum mempool_result mr;
	char idhex[TX_ID_HEX_LEN + 1], why[160];
	uint8_t copy[TX_ID_LEN];
	unsigned reason;
	size_t evicted = 0;
	struct gossip_waiter_list retry = TAILQ_HEAD_INITIALIZER(retry);

	idmap_del(g->validating, vs->id);
	hex_encode(idhex, vs->id, TX_ID_LEN);
	if (job->skipped) {
		/* Its peer closed: no verdict, as for its backlog. */
		log_debug("gossip", "tx %.16s from %s: not validated, the peer "
		    "closed", idhex, vs->from);
		gossip_verdict_fill(&v, GOSSIP_REJECTED, vs->id, GOSSIP_REASON_BUSY,
		    "node busy: the peer relaying it went away, retry");
		if ((inf = idmap_get(g->inflight, vs->id)) != NULL) {
			gossip_alt_del(inf, vs->origin);
			inf->deadline_ms = 0;
		}
		/* API callers still get a verdict: on their own copy, or this one. */
		gossip_waiters_take(vs, job, &retry);
		goto answer;
	}
	metrics_observe_verify(n, job->verify_ns);
	origin = vs->origin != 0 ? net_peer_by_serial(n, vs->origin) : NULL;

	if (job->res.reason == TX_OK) {
		mr = mempool_add(n->mempool, vs->id, &job->tx, job->raw, job->len,
		    now_ms(), &evicted);
		if (mr == MEMPOOL_ADDED || mr == MEMPOOL_DUPLICATE) {
			gossip_inflight_forget(g, vs->id);
			n->stats.txs_accepted++;
			log_info("gossip", "tx %.16s accepted from %s amount=%llu",
			    idhex, vs->from, (unsigned long long)job->tx.amount);
			if (evicted > 0)
				log_info("mempool", "evicted %zu oldest transactions "
				    "(mempool bounds)", evicted);
			api_event_tx(n, 1, vs->id, vs->from, job->tx.amount, NULL);
			gossip_relay(g, vs->id, vs->origin);
			gossip_verdict_fill(&v, GOSSIP_ACCEPTED, vs->id, 0, NULL);
			goto answer;
		}
		reason = mr == MEMPOOL_NONCE_USED ? GOSSIP_REASON_NONCE :
		    GOSSIP_REASON_FULL;
		snprintf(why, sizeof(why), "%s", gossip_reason_str(reason));
		if (mr == MEMPOOL_NONCE_USED)
			snprintf(why, sizeof(why), "nonce already used: nonce %llu of "
			    "this sender is taken by another transaction",
			    (unsigned long long)job->tx.nonce);
	} else {
		reason = job->res.reason;
		snprintf(why, sizeof(why), "%s", job->res.msg[0] ? job->res.msg :
		    tx_reason_str(job->res.reason));
	}
	gossip_count_reject(g, reason);
	if (reason == TX_ERR_SIGNATURE) {
		/* Only this copy is bad: another announcer may hold a valid one. */
		gossip_copy_hash(copy, job->raw, job->len);
		gossip_reject_remember(g, copy, reason);
		if ((inf = idmap_get(g->inflight, vs->id)) != NULL) {
			gossip_alt_del(inf, vs->origin);
			inf->deadline_ms = 0;
		}
	} else {
		gossip_reject_remember(g, vs->id, reason);
		gossip_inflight_forget(g, vs->id);
	}
	/*
	 * The rest of a dropped peer's invalid flood goes to debug: the drop
	 * itself was logged with its reason, and an attacker that reconnects
	 * must not be able to fill the log.
	 */
	log_msg(vs->origin != 0 && origin == NULL && reason < TX_REASON_COUNT &&
	    tx_reason_is_misbehaviour((enum tx_reason)reason) ? LOG_DEBUG : LOG_INFO,
	    "gossip", "tx %.16s rejected from %s: %s", idhex, vs->from, why);
	api_event_tx(n, 0, vs->id, vs->from, job->tx.amount, gossip_reason_str(reason));
	if (origin != NULL && reason < TX_REASON_COUNT &&
	    tx_reason_is_misbehaviour((enum tx_reason)reason)) {
		n->stats.peers_dropped++;
		snprintf(why, sizeof(why), "sent invalid tx %.16s: %s", idhex,
		    gossip_reason_str(reason));
		peer_close(origin, why);
	}
	gossip_verdict_fill(&v, GOSSIP_REJECTED, vs->id, reason, why);
	if (reason == TX_ERR_SIGNATURE)
		gossip_waiters_take(vs, NULL, &retry);
answer:
	gossip_vstate_answer(vs, &v);
	free(vs);
	validator_job_free(job);
	gossip_retry_copies(n, &retry);
	gossip_drain(g);
}

/* Parked API work is over: the node is shutting down. */
static void
gossip_drop_parked(struct gossip *g)
{
	struct gossip_vstate *vs;
	struct gossip_verdict v;

	while ((vs = TAILQ_FIRST(&g->parked)) != NULL) {
		TAILQ_REMOVE(&g->parked, vs, backlog_entry);
		g->nparked--;
		idmap_del(g->validating, vs->id);
		gossip_verdict_fill(&v, GOSSIP_REJECTED, vs->id, GOSSIP_REASON_BUSY,
		    "node is shutting down");
		gossip_vstate_answer(vs, &v);
		validator_job_free(vs->job);
		free(vs);
	}
}

/*
 * Feeds parked work to the validator while it has room, taking turns: one
 * API transaction, then one paused peer's whole backlog (at most one
 * record's worth), so neither side can starve the other.
 */
static void
gossip_drain(struct gossip *g)
{
	struct gossip_vstate *vs;
	struct peer_backlog *b;
	struct peer *p;
	int progress = 1;

	if (g->node->stopping) {
		gossip_drop_parked(g);
		return;
	}
	while (progress) {
		progress = 0;
		if ((vs = TAILQ_FIRST(&g->parked)) != NULL) {
			if (validator_submit(g->node->validator, vs->job) == -1) {
				if (errno == EPIPE)
					gossip_drop_parked(g);
				return;
			}
			TAILQ_REMOVE(&g->parked, vs, backlog_entry);
			g->nparked--;
			vs->job = NULL;
			progress = 1;
		}
		if ((p = TAILQ_FIRST(&g->blocked)) != NULL) {
			while ((b = TAILQ_FIRST(&p->backlog)) != NULL) {
				if (validator_submit(g->node->validator, b->job) == -1)
					return;
				TAILQ_REMOVE(&p->backlog, b, entry);
				p->nbacklog--;
				free(b);
			}
			TAILQ_REMOVE(&g->blocked, p, blocked_entry);
			p->blocked = 0;
			log_debug("gossip", "validator queue has room: resuming reads "
			    "from %s", peer_label(p));
			peer_resume(p);
			progress = 1;
		}
	}
}

int
gossip_submit(struct node *n, const uint8_t *raw, size_t len,
    gossip_verdict_cb cb, void *arg, uint8_t *id_out)
{
	struct gossip *g = n->gossip;
	struct gossip_verdict v;
	struct gossip_vstate *vs;
	struct gossip_waiter *w;
	const struct gossip_reject *rej;
	struct tx tx;
	uint8_t id[TX_ID_LEN], copy[TX_ID_LEN];
	enum tx_reason r;
	char idhex[TX_ID_HEX_LEN + 1];

	if (n->stopping || g == NULL)
		return -1;
	r = tx_decode(&tx, raw, len);
	if (r != TX_OK) {
		gossip_count_reject(g, r);
		log_info("gossip", "tx from api rejected: %s", tx_reason_str(r));
		gossip_verdict_fill(&v, GOSSIP_REJECTED, NULL, r, NULL);
		cb(&v, arg);
		return 0;
	}
	tx_id(&tx, id);
	if (id_out != NULL)
		memcpy(id_out, id, TX_ID_LEN);
	if (mempool_get(n->mempool, id) != NULL) {
		n->stats.txs_duplicate++;
		gossip_verdict_fill(&v, GOSSIP_DUPLICATE, id, 0, NULL);
		cb(&v, arg);
		return 0;
	}
	gossip_copy_hash(copy, raw, len);
	if ((rej = gossip_rejected(g, id)) != NULL ||
	    (rej = gossip_rejected(g, copy)) != NULL) {
		n->stats.txs_duplicate++;
		gossip_verdict_fill(&v, GOSSIP_REJECTED, id, rej->reason, NULL);
		cb(&v, arg);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->arg = arg;
	if ((vs = idmap_get(g->validating, id)) != NULL) {
		n->stats.txs_duplicate++;
		/* Another copy: kept, to be validated if that one proves bad. */
		if (memcmp(vs->copy, copy, TX_ID_LEN) != 0) {
			w->raw = xmalloc(len);
			memcpy(w->raw, raw, len);
			w->len = len;
		}
		TAILQ_INSERT_TAIL(&vs->waiters, w, entry);
		return 0;
	}
	if (g->nparked >= GOSSIP_API_BACKLOG_MAX) {
		free(w);
		hex_encode(idhex, id, TX_ID_LEN);
		log_warn("gossip", "tx %.16s from api refused: %zu transactions "
		    "already wait for a validator", idhex, g->nparked);
		gossip_verdict_fill(&v, GOSSIP_REJECTED, id, GOSSIP_REASON_BUSY,
		    "node busy: validator backlog full, retry later");
		cb(&v, arg);
		return 0;
	}
	vs = xcalloc(1, sizeof(*vs));
	memcpy(vs->id, id, TX_ID_LEN);
	memcpy(vs->copy, copy, TX_ID_LEN);
	snprintf(vs->from, sizeof(vs->from), "api");
	TAILQ_INIT(&vs->waiters);
	TAILQ_INSERT_TAIL(&vs->waiters, w, entry);
	idmap_put(g->validating, id, vs);
	vs->job = gossip_job_new(raw, len, 0, vs);
	if (gossip_submit_job(g, vs->job) == 0) {
		vs->job = NULL;
		return 0;
	}
	TAILQ_INSERT_TAIL(&g->parked, vs, backlog_entry);
	g->nparked++;
	return 0;
}

void
gossip_cancel(struct node *n, const uint8_t *id, void *arg)
{
	struct gossip_vstate *vs;
	struct gossip_waiter *w, *next;

	if (n->gossip == NULL ||
	    (vs = idmap_get(n->gossip->validating, id)) == NULL)
		return;
	for (w = TAILQ_FIRST(&vs->waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->arg == arg) {
			TAILQ_REMOVE(&vs->waiters, w, entry);
			free(w->raw);
			free(w);
		}
	}
}
