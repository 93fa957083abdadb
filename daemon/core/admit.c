/*
 * admit.c: admission of transactions from peers and from the API: one path
 * for both (admit_tx), the loop side of the validator pool, verdicts, the
 * mempool insert, and expiry.  Loop thread only.
 *
 * An id has at most one job in the validator, however many copies arrive:
 * later copies wait on it (API callers as waiters, peers through the relay's
 * announcer lists).
 *
 * Fair validation: each source (the API, each peer) may have at most its
 * share of the validator's room (capacity and threads, divided among the
 * sources that have work) in it at once; the rest waits in the source's
 * queue, a peer's reads paused meanwhile.  As results free room, the
 * waiting sources take turns, ADMIT_QUANTUM jobs each (round robin), so a
 * flooding peer gets its share and no more, and the API keeps its own.
 */
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "base/hub.h"
#include "base/idmap.h"
#include "base/log.h"
#include "base/stats.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "core/store.h"
#include "core/validator.h"
#include "lib/reason.h"
#include "lib/util.h"
#include "proto/hex.h"

#define ADMIT_REJECTED_MAX	100000	/* recent rejections remembered */
#define ADMIT_REJECT_TTL_MS	30000	/* for verdicts that time or the mempool may change */
#define ADMIT_API_BACKLOG_MAX	100000	/* API transactions waiting for a validator */
#define ADMIT_TICK_MS		200
#define ADMIT_EXPIRE_EVERY_MS	5000
#define ADMIT_LABEL_MAX		65	/* a source's name in logs, NUL included */
#define ADMIT_QUANTUM		16	/* jobs a waiting source feeds per turn */
#define ADMIT_SHARE_MIN		8	/* however many sources share the room */

/*
 * The verdicts on what peers sent are rate limited (a flood, even of valid
 * spam, must not fill the log: past the burst, a line per 10 s counts the
 * rest, which still go out at debug); the API's, a local user's, are not.
 */
static struct log_limit admit_log_peer_rejects = LOG_LIMIT("gossip",
    "transactions from peers rejected", 20, 10000);
static struct log_limit admit_log_peer_accepts = LOG_LIMIT("gossip",
    "transactions from peers accepted", 50, 10000);
static struct log_limit admit_log_evicted = LOG_LIMIT("mempool",
    "evictions for room", 1, 10000);
static struct log_limit admit_log_api_busy = LOG_LIMIT("gossip",
    "API transactions refused for a full backlog", 1, 10000);
static struct log_limit admit_log_store = LOG_LIMIT("store",
    "store commits failed", 5, 10000);

/* An API caller waiting for the verdict on an id. */
struct admit_waiter {
	TAILQ_ENTRY(admit_waiter) entry;
	admit_verdict_cb cb;
	void		*arg;
	uint8_t		*raw;	/* its copy, if not the one being validated */
	size_t		 len;
};
TAILQ_HEAD(admit_waiter_list, admit_waiter);

/*
 * An API caller whose verdict ("accepted") waits for the store's commit of
 * the batch (group commit): it goes out once the batch is on disk.
 */
struct admit_held {
	TAILQ_ENTRY(admit_held) entry;
	admit_verdict_cb cb;
	void		*arg;
	struct admit_verdict v;
};
TAILQ_HEAD(admit_held_list, admit_held);

/* An id being validated: at most one job per id, however many submitters. */
struct admit_vstate {
	TAILQ_ENTRY(admit_vstate) entry;	/* in its source's queue */
	struct admit_source *src;	/* it counts in src's outstanding jobs */
	uint8_t		id[TX_ID_LEN];
	uint8_t		copy[TX_ID_LEN];	/* hash of the bytes validated */
	uint64_t	origin;		/* its source's tag, 0: API */
	char		from[ADMIT_LABEL_MAX];
	struct validator_job *job;	/* while it waits for the validator */
	struct admit_waiter_list waiters;
};
TAILQ_HEAD(admit_vstate_list, admit_vstate);

/* A remembered rejection, keyed by id (or, for a bad signature, by the bytes' hash). */
struct admit_reject {
	unsigned	reason;
	uint64_t	until_ms;	/* 0: for as long as it is remembered */
	size_t		slot;		/* its place in the FIFO ring */
	int		has_winner;	/* it lost its nonce to ... */
	uint8_t		winner[TX_ID_LEN];	/* ... this one (PROTOCOL.md 5.4) */
};

/*
 * A source of transactions.  A peer's outlives the peer while its jobs are
 * in the validator (closed, then freed by the last verdict).
 */
struct admit_source {
	TAILQ_ENTRY(admit_source) entry;	/* on a->waiting */
	struct admit	*a;
	uint64_t	 tag;
	char		 label[ADMIT_LABEL_MAX];
	void		(*pause)(void *);
	void		(*resume)(void *);
	void		*arg;
	struct validator_gate *gate;	/* closed with the source: its jobs are skipped */
	struct admit_vstate_list queue;	/* jobs waiting for the validator */
	size_t		 nqueue;
	size_t		 outstanding;	/* jobs in the validator */
	int		 waiting;	/* on a->waiting */
	int		 paused;	/* pause() called, resume() not yet */
	int		 closed;	/* admit_source_free called */
};

struct admit {
	struct node	*n;
	struct mempool	*mp;
	struct validator *v;
	struct admit_hooks hooks;
	struct idmap	*validating;	/* id → admit_vstate */
	struct idmap	*rejected;	/* id or copy hash → admit_reject */
	uint8_t		(*rejring)[TX_ID_LEN];	/* FIFO of rejected keys */
	size_t		 rejhead, rejcount;
	struct admit_source api;	/* the API's queue; never paused */
	struct admit_vstate *answering;	/* out of validating, its waiters being answered */
	struct admit_waiter_list *retrying;	/* waiters set aside to be admitted again */
	uint8_t		 retrying_id[TX_ID_LEN];	/* ... on this id */
	TAILQ_HEAD(admit_source_list, admit_source) waiting;	/* sources with queued jobs, in turn */
	size_t		 nbusy;		/* sources with jobs queued or outstanding */
	struct event	*tick;
	uint64_t	 next_expire_ms;
	/* Durable acceptance (core/store.h): NULL without a store. */
	struct store	*store;
	struct event	*commit;	/* activated when the batch has writes */
	struct event	*committed;	/* the store's commit thread is done */
	int		 commit_due;
	int		 store_quiet;	/* removals not written (a failed batch's) */
	struct admit_held_list held;	/* verdicts waiting for the batch's commit */
	struct admit_held_list fheld;	/* ... for the commit in flight */
	struct admit_held_list *answering_held;	/* ... being answered */
	uint8_t		(*batch)[TX_ID_LEN];	/* ids put in the open batch */
	size_t		 nbatch, batchcap;
	uint8_t		(*fbatch)[TX_ID_LEN];	/* ids of the commit in flight */
	size_t		 nfbatch, fbatchcap;
	uint64_t	 commits, commit_failures;
	uint64_t	 commit_ns;	/* time spent in commits (and their fsync) */
};

static void	admit_validated(struct validator_job *, void *);
static void	admit_drain(struct admit *);

/* The hash that names one copy of a transaction: its encoded bytes. */
static void
admit_copy_hash(uint8_t out[TX_ID_LEN], const uint8_t *raw, size_t len)
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
admit_reject_ttl(unsigned reason)
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
		return ADMIT_REJECT_TTL_MS;
	}
}

static const struct admit_reject *
admit_rejected(struct admit *a, const uint8_t key[TX_ID_LEN])
{
	struct admit_reject	*r = idmap_get(a->rejected, key);

	if (r != NULL && r->until_ms != 0 && now_ms() >= r->until_ms) {
		free(idmap_del(a->rejected, key));
		return NULL;
	}
	return r;
}

static struct admit_reject *
admit_reject_remember(struct admit *a, const uint8_t key[TX_ID_LEN],
    unsigned reason)
{
	struct admit_reject	*r, *old;
	uint8_t			*slot;
	uint64_t		 ttl = admit_reject_ttl(reason);

	if ((r = idmap_get(a->rejected, key)) == NULL) {
		if (a->rejcount == ADMIT_REJECTED_MAX) {
			/*
			 * The oldest slot goes, and its entry with it unless the
			 * key expired and was remembered again in a newer slot.
			 */
			slot = a->rejring[a->rejhead];
			if ((old = idmap_get(a->rejected, slot)) != NULL &&
			    old->slot == a->rejhead)
				free(idmap_del(a->rejected, slot));
			a->rejhead = (a->rejhead + 1) % ADMIT_REJECTED_MAX;
			a->rejcount--;
		}
		r = xmalloc(sizeof(*r));
		r->slot = (a->rejhead + a->rejcount) % ADMIT_REJECTED_MAX;
		memcpy(a->rejring[r->slot], key, TX_ID_LEN);
		a->rejcount++;
		idmap_put(a->rejected, key, r);
	}
	r->reason = reason;
	r->until_ms = ttl == 0 ? 0 : now_ms() + ttl;
	r->has_winner = 0;
	return r;
}

/*
 * Remembers that loser lost its (sender, nonce) to winner, whose id is
 * smaller: for as long as the ring keeps it, on every node alike.
 */
static void
admit_remember_loser(struct admit *a, const uint8_t loser[TX_ID_LEN],
    const uint8_t winner[TX_ID_LEN])
{
	struct admit_reject	*r = admit_reject_remember(a, loser, REASON_NONCE);

	r->until_ms = 0;
	r->has_winner = 1;
	memcpy(r->winner, winner, TX_ID_LEN);
}

int
admit_replaced_by(struct admit *a, const uint8_t id[TX_ID_LEN],
    uint8_t winner[TX_ID_LEN])
{
	const struct admit_reject *r = admit_rejected(a, id);

	if (r == NULL || !r->has_winner)
		return 0;
	memcpy(winner, r->winner, TX_ID_LEN);
	return 1;
}

static void
admit_verdict_fill(struct admit_verdict *v, enum admit_status st,
    const uint8_t *id, unsigned reason, const char *msg)
{
	memset(v, 0, sizeof(*v));
	v->status = st;
	if (id != NULL) {
		v->have_id = 1;
		memcpy(v->id, id, TX_ID_LEN);
	}
	if (st == ADMIT_REJECTED) {
		v->reason = reason;
		snprintf(v->msg, sizeof(v->msg), "%s", msg != NULL && msg[0] ? msg :
		    reason_str(reason));
	}
}

/*
 * Answers and frees every waiter of vs.  A callback may cancel another
 * waiter of vs (admit_cancel finds it through a->answering).
 */
static void
admit_vstate_answer(struct admit *a, struct admit_vstate *vs,
    const struct admit_verdict *v)
{
	struct admit_waiter	*w;
	struct admit_vstate	*outer = a != NULL ? a->answering : NULL;

	if (a != NULL)
		a->answering = vs;
	while ((w = TAILQ_FIRST(&vs->waiters)) != NULL) {
		TAILQ_REMOVE(&vs->waiters, w, entry);
		if (v != NULL)
			w->cb(v, w->arg);
		free(w->raw);
		free(w);
	}
	if (a != NULL)
		a->answering = outer;
}

/* Frees vs, its waiters (unanswered) and its waiting job. */
static void
admit_vstate_free(struct admit_vstate *vs)
{
	admit_vstate_answer(NULL, vs, NULL);
	if (vs->job != NULL)
		validator_job_free(vs->job);
	free(vs);
}

static void
admit_vstate_free_cb(const uint8_t id[TX_ID_LEN], void *v, void *arg)
{
	(void)id;
	(void)arg;
	admit_vstate_free(v);
}

static void
admit_free_cb(const uint8_t id[TX_ID_LEN], void *v, void *arg)
{
	(void)id;
	(void)arg;
	free(v);
}

/* --- Durable acceptance: the store's batch and its commit ----------------- */

static void	admit_commit(struct admit *);
static void	admit_commit_begin(struct admit *);
static void	admit_flight_end(struct admit *, int, uint64_t);

static void
admit_commitcb(evutil_socket_t fd, short what, void *arg)
{
	struct admit	*a = arg;

	(void)fd;
	(void)what;
	admit_commit_begin(a);
}

/* The batch has writes: commit it once this loop turn's work is done. */
static void
admit_commit_schedule(struct admit *a)
{
	if (a->commit_due || a->commit == NULL)
		return;
	a->commit_due = 1;
	event_active(a->commit, EV_TIMEOUT, 0);
}

/* An entry left the mempool (expiry, eviction, replacement): off the store too. */
static void
admit_mp_removed(const uint8_t id[TX_ID_LEN], void *arg)
{
	struct admit	*a = arg;

	if (a->store == NULL || a->store_quiet)
		return;
	(void)store_tx_del(a->store, id);
	admit_commit_schedule(a);
}

/* Puts an accepted transaction in the batch. */
static void
admit_store_put(struct admit *a, const uint8_t id[TX_ID_LEN],
    const uint8_t *raw, size_t len)
{
	const struct mempool_entry *e = mempool_get(a->mp, id);

	if (a->nbatch == a->batchcap) {
		a->batchcap = a->batchcap == 0 ? 256 : 2 * a->batchcap;
		a->batch = xrealloc(a->batch, a->batchcap * TX_ID_LEN);
	}
	memcpy(a->batch[a->nbatch++], id, TX_ID_LEN);
	(void)store_tx_put(a->store, id, raw, len, e != NULL ? e->added_ms :
	    now_ms());
	admit_commit_schedule(a);
}

/* Holds the verdict v for cb(arg) until the batch is committed. */
static void
admit_hold(struct admit *a, admit_verdict_cb cb, void *arg,
    const struct admit_verdict *v)
{
	struct admit_held	*h = xcalloc(1, sizeof(*h));

	h->cb = cb;
	h->arg = arg;
	h->v = *v;
	TAILQ_INSERT_TAIL(&a->held, h, entry);
	admit_commit_schedule(a);
}

/* Moves the waiters of vs to the held list with verdict v. */
static void
admit_hold_waiters(struct admit *a, struct admit_vstate *vs,
    const struct admit_verdict *v)
{
	struct admit_waiter	*w;

	while ((w = TAILQ_FIRST(&vs->waiters)) != NULL) {
		TAILQ_REMOVE(&vs->waiters, w, entry);
		admit_hold(a, w->cb, w->arg, v);
		free(w->raw);
		free(w);
	}
}

/*
 * The verdicts of held wait for the commit of a batch (ids[0..n)): they are
 * answered now that it ended.  If it failed, nothing of the batch is on
 * disk: its transactions leave the mempool again and their callers get
 * "store error" instead of "accepted" (a duplicate's caller too, unless its
 * transaction is still held from an earlier batch).
 */
static void
admit_commit_answer(struct admit *a, uint8_t (*ids)[TX_ID_LEN], size_t n,
    struct admit_held_list *held, int failed, uint64_t ns)
{
	struct admit_held_list	 list = TAILQ_HEAD_INITIALIZER(list);
	struct admit_held_list	*outer = a->answering_held;
	struct admit_held	*h;
	struct admit_verdict	 v;
	char			 idhex[TX_ID_HEX_LEN + 1], why[256];
	size_t			 i, lost = 0;

	TAILQ_CONCAT(&list, held, entry);
	a->commit_ns += ns;
	if (failed) {
		a->commit_failures++;
		a->store_quiet = 1;
		for (i = 0; i < n; i++) {
			if (mempool_remove(a->mp, ids[i]) != 0)
				continue;
			lost++;
			/* Its tx_accepted event went out: this one takes it back. */
			if (hub_wanted(HUB_TX_REJECTED)) {
				struct hub_event	ev;

				memset(&ev, 0, sizeof(ev));
				ev.topic = HUB_TX_REJECTED;
				ev.id = ids[i];
				ev.from = "store";
				ev.reason = REASON_STORE;
				hub_post(&ev);
			}
		}
		a->store_quiet = 0;
		/* store_error starts "store: ", as the log's subsystem does. */
		log_limited(&admit_log_store, LOG_ERROR, "%s: the %zu "
		    "transactions of the batch are not accepted (%zu left the "
		    "mempool)", store_error(a->store) + strlen("store: "),
		    n, lost);
	} else
		a->commits++;
	a->answering_held = &list;
	while ((h = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, h, entry);
		if (failed && (h->v.status == ADMIT_ACCEPTED ||
		    mempool_get(a->mp, h->v.id) == NULL)) {
			hex_encode(idhex, h->v.id, TX_ID_LEN);
			/* "store error: PATH: what", the reason then the detail. */
			snprintf(why, sizeof(why), "store error: %s",
			    store_error(a->store) + strlen("store: "));
			admit_verdict_fill(&v, ADMIT_REJECTED, h->v.id, REASON_STORE,
			    why);
			log_event(LOG_WARN, "store", &(struct log_fields){
			    .tx = idhex, .reason = "store error",
			    .code = reason_code(REASON_STORE) },
			    "tx %.16s not accepted: %s", idhex,
			    store_error(a->store));
			h->cb(&v, h->arg);
		} else
			h->cb(&h->v, h->arg);
		free(h);
	}
	a->answering_held = outer;
}


/* Commits the batch on this thread (after the commit in flight), then answers. */
static void
admit_commit(struct admit *a)
{
	struct admit_held_list	 list = TAILQ_HEAD_INITIALIZER(list);
	struct timespec		 t0, t1;
	size_t			 n;
	int			 failed;

	a->commit_due = 0;
	if (a->store == NULL)
		return;
	if (store_busy(a->store))
		admit_flight_end(a, store_commit_wait(a->store) == -1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	failed = store_commit(a->store) == -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	n = a->nbatch;
	a->nbatch = 0;
	TAILQ_CONCAT(&list, &a->held, entry);
	admit_commit_answer(a, a->batch, n, &list, failed,
	    (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
	    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
}

/*
 * Hands the batch to the store's commit thread (--sync batch and none): the
 * loop goes on validating and relaying while LMDB writes and syncs, and the
 * next batch gathers meanwhile.  One commit in flight at a time;
 * admit_committedcb answers its verdicts and starts the next.
 */
static void
admit_commit_begin(struct admit *a)
{
	uint8_t	(*t)[TX_ID_LEN];
	size_t	 cap;
	int	 rc;

	a->commit_due = 0;
	if (a->store == NULL || store_busy(a->store))
		return;
	if (store_sync_mode(a->store) == STORE_SYNC_ALWAYS ||
	    (rc = store_commit_start(a->store)) != 0) {
		/* --sync always, nothing to write, or no thread: right here. */
		admit_commit(a);
		return;
	}
	t = a->fbatch;
	cap = a->fbatchcap;
	a->fbatch = a->batch;
	a->fbatchcap = a->batchcap;
	a->nfbatch = a->nbatch;
	a->batch = t;
	a->batchcap = cap;
	a->nbatch = 0;
	TAILQ_CONCAT(&a->fheld, &a->held, entry);
}

/* The commit in flight ended: its verdicts go out. */
static void
admit_flight_end(struct admit *a, int failed, uint64_t ns)
{
	struct admit_held_list	 list = TAILQ_HEAD_INITIALIZER(list);
	size_t			 n = a->nfbatch;

	a->nfbatch = 0;
	TAILQ_CONCAT(&list, &a->fheld, entry);
	admit_commit_answer(a, a->fbatch, n, &list, failed, ns);
}

static void
admit_committedcb(evutil_socket_t fd, short what, void *arg)
{
	struct admit	*a = arg;
	uint64_t	 ns = 0;
	int		 rc;

	(void)fd;
	(void)what;
	if ((rc = store_commit_done(a->store, &ns)) == 1)
		return;
	admit_flight_end(a, rc == -1, ns);
	if (store_dirty(a->store) || !TAILQ_EMPTY(&a->held))
		admit_commit_schedule(a);
}

void
admit_set_store(struct admit *a, struct store *s)
{
	a->store = s;
	if (s != NULL && a->commit == NULL)
		a->commit = event_new(a->n->base, -1, 0, admit_commitcb, a);
	if (s != NULL && a->committed == NULL && store_commit_fd(s) != -1) {
		a->committed = event_new(a->n->base, store_commit_fd(s),
		    EV_READ | EV_PERSIST, admit_committedcb, a);
		event_add(a->committed, NULL);
	}
	mempool_set_removed(a->mp, s != NULL ? admit_mp_removed : NULL, a);
}

/* Frees the held verdicts of list whose caller is arg. */
static void
admit_held_cancel(struct admit_held_list *list, void *arg)
{
	struct admit_held	*h, *next;

	for (h = TAILQ_FIRST(list); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		if (h->arg == arg) {
			TAILQ_REMOVE(list, h, entry);
			free(h);
		}
	}
}

static void	admit_unwait(struct admit *, struct admit_source *, int);

/* Drops the jobs waiting in src's queue; each of their ids may come again. */
static void
admit_queue_drop(struct admit *a, struct admit_source *src, const char *why)
{
	struct admit_vstate	*vs;
	struct admit_verdict	 v;

	if (src->nqueue == 0)
		return;
	if (src->outstanding == 0)
		a->nbusy--;
	admit_unwait(a, src, 0);
	while ((vs = TAILQ_FIRST(&src->queue)) != NULL) {
		TAILQ_REMOVE(&src->queue, vs, entry);
		src->nqueue--;
		idmap_del(a->validating, vs->id);
		admit_verdict_fill(&v, ADMIT_REJECTED, vs->id, REASON_BUSY, why);
		admit_vstate_answer(a, vs, &v);
		if (src != &a->api && a->hooks.retry != NULL)
			a->hooks.retry(a->hooks.arg, vs->id, 0);
		admit_vstate_free(vs);
	}
}

/* True while src has work queued or in the validator (counted in nbusy). */
static int
admit_busy(const struct admit_source *src)
{
	return src->nqueue > 0 || src->outstanding > 0;
}

/*
 * The jobs one source may have in the validator: the validator's room
 * divided among the sources with work (src among them).
 */
static size_t
admit_share(const struct admit *a, const struct admit_source *src)
{
	size_t	busy = a->nbusy + (admit_busy(src) ? 0 : 1), share;

	share = (validator_capacity(a->v) + a->n->cfg->validators) / busy;
	return share > ADMIT_SHARE_MIN ? share : ADMIT_SHARE_MIN;
}

/*
 * Hands vs's job to the validator for src (the caller keeps a->nbusy).
 * 0, or -1 with errno (EAGAIN, EPIPE).
 */
static int
admit_hand(struct admit *a, struct admit_source *src, struct admit_vstate *vs,
    struct validator_job *job)
{
	if (validator_submit(a->v, job) == -1)
		return -1;
	vs->job = NULL;
	vs->src = src;
	src->outstanding++;
	return 0;
}

/* A verdict came for one of src's jobs; a closed source goes with its last. */
static void
admit_done(struct admit *a, struct admit_source *src)
{
	src->outstanding--;
	if (!admit_busy(src))
		a->nbusy--;
	if (src->closed && src->outstanding == 0) {
		validator_gate_unref(src->gate);
		free(src);
	}
}

/* src's queue emptied: off the turn list, and a paused peer reads again. */
static void
admit_unwait(struct admit *a, struct admit_source *src, int resume)
{
	if (src->waiting) {
		TAILQ_REMOVE(&a->waiting, src, entry);
		src->waiting = 0;
	}
	if (src->paused) {
		src->paused = 0;
		if (resume && src->resume != NULL) {
			log_debug("gossip", "validator has room: resuming reads "
			    "from %s", src->label);
			src->resume(src->arg);
		}
	}
}

/*
 * Hands vs's job to the validator when src is under its share and has
 * nothing queued before it; otherwise it waits in src's queue, pausing a
 * peer's reads.
 */
static void
admit_submit(struct admit *a, struct admit_source *src, struct admit_vstate *vs,
    struct validator_job *job)
{
	int	was = admit_busy(src);

	if (src->nqueue == 0 && src->outstanding < admit_share(a, src)) {
		if (admit_hand(a, src, vs, job) == 0) {
			if (!was)
				a->nbusy++;
			return;
		}
		stats.backpressure++;
	}
	vs->job = job;
	vs->src = src;
	TAILQ_INSERT_TAIL(&src->queue, vs, entry);
	src->nqueue++;
	if (!was)
		a->nbusy++;
	if (!src->waiting) {
		src->waiting = 1;
		TAILQ_INSERT_TAIL(&a->waiting, src, entry);
	}
	if (src == &a->api || src->paused)
		return;
	src->paused = 1;
	if (src->pause != NULL)
		src->pause(src->arg);
	log_debug("gossip", "validator share taken: pausing reads from %s",
	    src->label);
}

/*
 * Feeds waiting work to the validator while it has room: the waiting
 * sources take turns, up to ADMIT_QUANTUM jobs each and never past their
 * share, so none can starve the others.
 */
static void
admit_drain(struct admit *a)
{
	struct admit_vstate	*vs;
	struct admit_source	*src, *last;
	size_t			 fed;
	int			 progress = 1;

	if (a->n->stopping || a->v == NULL) {
		admit_queue_drop(a, &a->api, "node is shutting down");
		return;
	}
	while (progress && !TAILQ_EMPTY(&a->waiting)) {
		progress = 0;
		/* One round: each source waiting now, in turn. */
		last = TAILQ_LAST(&a->waiting, admit_source_list);
		do {
			src = TAILQ_FIRST(&a->waiting);
			for (fed = 0; fed < ADMIT_QUANTUM &&
			    (vs = TAILQ_FIRST(&src->queue)) != NULL &&
			    src->outstanding < admit_share(a, src); fed++) {
				/* From queued to outstanding: still busy. */
				if (admit_hand(a, src, vs, vs->job) == -1) {
					if (errno == EPIPE)
						admit_queue_drop(a, &a->api,
						    "node is shutting down");
					return;
				}
				TAILQ_REMOVE(&src->queue, vs, entry);
				src->nqueue--;
				progress = 1;
			}
			if (src->nqueue == 0)
				admit_unwait(a, src, 1);
			else {
				TAILQ_REMOVE(&a->waiting, src, entry);
				TAILQ_INSERT_TAIL(&a->waiting, src, entry);
			}
		} while (src != last && !TAILQ_EMPTY(&a->waiting));
	}
}

static void
admit_tickcb(evutil_socket_t fd, short what, void *arg)
{
	struct admit	*a = arg;
	uint64_t	 now = now_ms();
	size_t		 n;

	(void)fd;
	(void)what;
	if (now >= a->next_expire_ms) {
		a->next_expire_ms = now + ADMIT_EXPIRE_EVERY_MS;
		n = mempool_expire(a->mp, now, a->n->policy.max_age_ms);
		if (n > 0)
			log_info("mempool", "expired %zu transactions older than %llu ms",
			    n, (unsigned long long)a->n->policy.max_age_ms);
	}
	/* Writes of other modules (peers) ride with the next commit at the latest. */
	if (a->store != NULL && store_dirty(a->store))
		admit_commit_schedule(a);
	/* Waiting work may wait on a queue that drained without a result for us. */
	admit_drain(a);
}

struct admit *
admit_new(struct node *n, struct mempool *mp)
{
	struct admit	*a = xcalloc(1, sizeof(*a));
	struct timeval	 tv = { 0, ADMIT_TICK_MS * 1000 };

	a->n = n;
	a->mp = mp;
	a->validating = idmap_new();
	a->rejected = idmap_new();
	a->rejring = xcalloc(ADMIT_REJECTED_MAX, TX_ID_LEN);
	a->api.a = a;
	snprintf(a->api.label, sizeof(a->api.label), "api");
	TAILQ_INIT(&a->api.queue);
	TAILQ_INIT(&a->waiting);
	TAILQ_INIT(&a->held);
	TAILQ_INIT(&a->fheld);
	a->v = validator_new(n->base, n->cfg->validators, n->cfg->validator_queue,
	    &n->policy, admit_validated, a);
	a->tick = event_new(n->base, -1, EV_PERSIST, admit_tickcb, a);
	event_add(a->tick, &tv);
	a->next_expire_ms = now_ms() + ADMIT_EXPIRE_EVERY_MS;
	return a;
}

void
admit_set_hooks(struct admit *a, const struct admit_hooks *h)
{
	a->hooks = *h;
}

void
admit_shutdown(struct admit *a)
{
	struct validator	*v;
	struct admit_source	*src;
	struct admit_vstate	*vs;
	struct admit_verdict	 verdict;

	if (a == NULL || a->v == NULL)
		return;
	/* Drain: every queued job is verified and answered before the threads go. */
	v = a->v;
	validator_free(v);
	a->v = NULL;
	/* Their verdicts are in the batch: on disk before the callers hear. */
	admit_commit(a);
	admit_queue_drop(a, &a->api, "node is shutting down");
	/* API callers waiting on a paused peer's jobs are answered too. */
	TAILQ_FOREACH(src, &a->waiting, entry) {
		TAILQ_FOREACH(vs, &src->queue, entry) {
			admit_verdict_fill(&verdict, ADMIT_REJECTED, vs->id,
			    REASON_BUSY, "node is shutting down");
			admit_vstate_answer(a, vs, &verdict);
		}
	}
}

void
admit_free(struct admit *a)
{
	struct admit_source	*src;

	if (a == NULL)
		return;
	admit_shutdown(a);
	while ((src = TAILQ_FIRST(&a->waiting)) != NULL)
		admit_unwait(a, src, 0);
	idmap_foreach(a->validating, admit_vstate_free_cb, NULL);
	idmap_free(a->validating);
	idmap_foreach(a->rejected, admit_free_cb, NULL);
	idmap_free(a->rejected);
	free(a->rejring);
	event_free(a->tick);
	admit_commit(a);
	if (a->commit != NULL)
		event_free(a->commit);
	if (a->committed != NULL)
		event_free(a->committed);
	mempool_set_removed(a->mp, NULL, NULL);
	free(a->batch);
	free(a->fbatch);
	free(a);
}

void
admit_gauges(const struct admit *a, struct admit_gauges *g)
{
	g->queue_depth = a->v != NULL ? validator_depth(a->v) : 0;
	g->queue_capacity = a->v != NULL ? validator_capacity(a->v) :
	    a->n->cfg->validator_queue;
	g->verified = a->v != NULL ? validator_verified(a->v) : 0;
	g->store_commits = a->commits;
	g->store_failures = a->commit_failures;
	g->store_commit_ns = a->commit_ns;
}

struct admit_source *
admit_source_new(struct admit *a, uint64_t tag, const char *label,
    void (*pause)(void *), void (*resume)(void *), void *arg)
{
	struct admit_source	*src = xcalloc(1, sizeof(*src));

	src->a = a;
	src->tag = tag;
	snprintf(src->label, sizeof(src->label), "%s", label);
	src->pause = pause;
	src->resume = resume;
	src->arg = arg;
	src->gate = validator_gate_new();
	TAILQ_INIT(&src->queue);
	return src;
}

void
admit_source_free(struct admit_source *src)
{
	struct admit	*a;

	if (src == NULL)
		return;
	a = src->a;
	/*
	 * Jobs src sent that the validator never took are dropped, and those it
	 * took are skipped: a closing peer must not leave work behind (an
	 * attacker dropped for one bad transaction must not keep the workers
	 * busy with the rest of its flood).  Ids that others announced are
	 * still wanted and go to their next announcer.  The source itself goes
	 * with the verdict of its last job in the validator.
	 */
	validator_gate_close(src->gate);
	admit_queue_drop(a, src, "node busy: the peer relaying it went away, retry");
	src->paused = 0;
	src->closed = 1;
	if (src->outstanding == 0) {
		validator_gate_unref(src->gate);
		free(src);
	}
}

int
admit_source_blocked(const struct admit_source *src)
{
	return src->paused;
}

int
admit_settled(struct admit *a, const uint8_t id[TX_ID_LEN])
{
	return mempool_get(a->mp, id) != NULL || admit_rejected(a, id) != NULL;
}

int
admit_pending(struct admit *a, const uint8_t id[TX_ID_LEN])
{
	return idmap_get(a->validating, id) != NULL;
}

static struct validator_job *
admit_job_new(const uint8_t *raw, size_t len, uint64_t origin, void *ctx)
{
	struct validator_job	*job = xcalloc(1, sizeof(*job));

	job->raw = xmalloc(len);
	memcpy(job->raw, raw, len);
	job->len = len;
	job->origin = origin;
	job->ctx = ctx;
	return job;
}

/* Answers an API caller at once. */
static void
admit_answer(admit_verdict_cb cb, void *arg, enum admit_status st,
    const uint8_t *id, unsigned reason, const char *msg)
{
	struct admit_verdict	v;

	if (cb == NULL)
		return;
	admit_verdict_fill(&v, st, id, reason, msg);
	cb(&v, arg);
}

void
admit_tx(struct admit *a, struct admit_source *src, const uint8_t *raw,
    size_t len, admit_verdict_cb cb, void *arg, struct admit_result *r)
{
	const struct admit_reject *rej;
	struct admit_vstate	*vs;
	struct admit_waiter	*w;
	struct validator_job	*job;
	struct tx		 tx;
	uint8_t			 copy[TX_ID_LEN];
	char			 idhex[TX_ID_HEX_LEN + 1];
	const char		*from = src != NULL ? src->label : "api";
	enum tx_reason		 tr;

	memset(r, 0, sizeof(*r));
	if (a->n->stopping || a->v == NULL) {
		r->what = ADMIT_STOPPING;
		return;
	}
	if ((tr = tx_decode(&tx, raw, len)) != TX_OK) {
		stats_reject(tr);
		if (src != NULL)
			log_limited_event(&admit_log_peer_rejects, LOG_WARN,
			    &(struct log_fields){ .peer = from,
			    .reason = tx_reason_str(tr), .code = reason_code(tr) },
			    "tx from %s rejected: %s", from, tx_reason_str(tr));
		else
			log_event(LOG_INFO, "gossip", &(struct log_fields){
			    .reason = tx_reason_str(tr), .code = reason_code(tr) },
			    "tx from %s rejected: %s", from, tx_reason_str(tr));
		r->what = ADMIT_UNDECODABLE;
		r->reason = tr;
		admit_answer(cb, arg, ADMIT_REJECTED, NULL, tr, NULL);
		return;
	}
	tx_id(&tx, r->id);
	hex_encode(idhex, r->id, TX_ID_LEN);
	if (mempool_get(a->mp, r->id) != NULL) {
		r->what = ADMIT_KNOWN;
		/* It may be in the batch not yet committed: answer after it. */
		if (cb != NULL && a->store != NULL && store_dirty(a->store)) {
			struct admit_verdict	dv;

			admit_verdict_fill(&dv, ADMIT_DUPLICATE, r->id, 0, NULL);
			admit_hold(a, cb, arg, &dv);
		} else
			admit_answer(cb, arg, ADMIT_DUPLICATE, r->id, 0, NULL);
		goto duplicate;
	}
	admit_copy_hash(copy, raw, len);
	if ((rej = admit_rejected(a, r->id)) != NULL ||
	    (rej = admit_rejected(a, copy)) != NULL) {
		r->what = idmap_get(a->rejected, r->id) == rej ? ADMIT_REJECTED_ID :
		    ADMIT_REJECTED_COPY;
		r->reason = rej->reason;
		if (rej->has_winner) {
			char	msg[160], winhex[TX_ID_HEX_LEN + 1];

			hex_encode(winhex, rej->winner, TX_ID_LEN);
			snprintf(msg, sizeof(msg), "nonce already used: replaced by %s",
			    winhex);
			admit_answer(cb, arg, ADMIT_REJECTED, r->id, rej->reason, msg);
		} else
			admit_answer(cb, arg, ADMIT_REJECTED, r->id, rej->reason,
			    NULL);
		goto duplicate;
	}
	if ((vs = idmap_get(a->validating, r->id)) != NULL) {
		r->what = memcmp(vs->copy, copy, TX_ID_LEN) == 0 ?
		    ADMIT_PENDING_SAME : ADMIT_PENDING_OTHER;
		if (cb != NULL) {
			w = xcalloc(1, sizeof(*w));
			w->cb = cb;
			w->arg = arg;
			/* Another copy: kept, to be validated if that one proves bad. */
			if (r->what == ADMIT_PENDING_OTHER) {
				w->raw = xmalloc(len);
				memcpy(w->raw, raw, len);
				w->len = len;
			}
			TAILQ_INSERT_TAIL(&vs->waiters, w, entry);
		}
		goto duplicate;
	}
	if (src == NULL && a->api.nqueue >= ADMIT_API_BACKLOG_MAX) {
		log_limited(&admit_log_api_busy, LOG_WARN, "tx %.16s from api "
		    "refused: %zu transactions already wait for a validator",
		    idhex, a->api.nqueue);
		r->what = ADMIT_BUSY;
		r->reason = REASON_BUSY;
		admit_answer(cb, arg, ADMIT_REJECTED, r->id, REASON_BUSY,
		    "node busy: validator backlog full, retry later");
		return;
	}
	vs = xcalloc(1, sizeof(*vs));
	memcpy(vs->id, r->id, TX_ID_LEN);
	memcpy(vs->copy, copy, TX_ID_LEN);
	vs->origin = src != NULL ? src->tag : 0;
	snprintf(vs->from, sizeof(vs->from), "%s", from);
	TAILQ_INIT(&vs->waiters);
	if (cb != NULL) {
		w = xcalloc(1, sizeof(*w));
		w->cb = cb;
		w->arg = arg;
		TAILQ_INSERT_TAIL(&vs->waiters, w, entry);
	}
	idmap_put(a->validating, r->id, vs);
	job = admit_job_new(raw, len, vs->origin, vs);
	if (src != NULL) {
		job->gate = src->gate;
		src->gate->refs++;
	}
	admit_submit(a, src != NULL ? src : &a->api, vs, job);
	r->what = ADMIT_QUEUED;
	return;

duplicate:
	stats.txs_duplicate++;
	if (src != NULL)
		log_debug("gossip", "tx %.16s from %s: already known", idhex, from);
}

/* Frees the waiters of list whose caller is arg. */
static void
admit_waiters_cancel(struct admit_waiter_list *list, void *arg)
{
	struct admit_waiter	*w, *next;

	for (w = TAILQ_FIRST(list); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->arg == arg) {
			TAILQ_REMOVE(list, w, entry);
			free(w->raw);
			free(w);
		}
	}
}

void
admit_cancel(struct admit *a, const uint8_t id[TX_ID_LEN], void *arg)
{
	struct admit_vstate	*vs;

	if ((vs = idmap_get(a->validating, id)) == NULL &&
	    ((vs = a->answering) == NULL || memcmp(vs->id, id, TX_ID_LEN) != 0))
		vs = NULL;
	if (vs != NULL)
		admit_waiters_cancel(&vs->waiters, arg);
	/* A verdict held for the store's commit. */
	if (!TAILQ_EMPTY(&a->held))
		admit_held_cancel(&a->held, arg);
	if (!TAILQ_EMPTY(&a->fheld))
		admit_held_cancel(&a->fheld, arg);
	if (a->answering_held != NULL)
		admit_held_cancel(a->answering_held, arg);
	/* A waiter set aside to be admitted again on its own copy (admit_validated). */
	if (a->retrying != NULL && memcmp(a->retrying_id, id, TX_ID_LEN) == 0)
		admit_waiters_cancel(a->retrying, arg);
}

/*
 * Moves waiters of vs to list, to be admitted again on their own bytes.
 * Without unjudged, only those that sent another copy than vs's (which
 * proved bad); with it (vs's job, which was not validated), every waiter,
 * those that sent its bytes getting a copy of them.
 */
static void
admit_waiters_take(struct admit_vstate *vs,
    const struct validator_job *unjudged, struct admit_waiter_list *list)
{
	struct admit_waiter	*w, *next;

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

/*
 * Admits each waiter's own copy again, as if it had just come in.  Until
 * its turn, a waiter can still be cancelled (a->retrying).
 */
static void
admit_retry_copies(struct admit *a, const uint8_t id[TX_ID_LEN],
    struct admit_waiter_list *list)
{
	struct admit_waiter	*w;
	struct admit_result	 r;

	a->retrying = list;
	memcpy(a->retrying_id, id, TX_ID_LEN);
	while ((w = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, w, entry);
		admit_tx(a, NULL, w->raw, w->len, w->cb, w->arg, &r);
		if (r.what == ADMIT_STOPPING)
			admit_answer(w->cb, w->arg, ADMIT_REJECTED, NULL, REASON_BUSY,
			    "node is shutting down");
		free(w->raw);
		free(w);
	}
	a->retrying = NULL;
}

/* Posts that vs's transaction replaced loser (same sender and nonce). */
static void
admit_post_replaced(const struct admit_vstate *vs, const uint8_t loser[TX_ID_LEN])
{
	struct hub_event	ev;

	if (!hub_wanted(HUB_TX_REPLACED))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.topic = HUB_TX_REPLACED;
	ev.id = vs->id;
	ev.replaced = loser;
	ev.from = vs->from;
	hub_post(&ev);
}

/* Posts a transaction event for the upper layers. */
static void
admit_post(enum hub_topic topic, const struct admit_vstate *vs, uint64_t amount,
    unsigned reason)
{
	struct hub_event	ev;

	if (!hub_wanted(topic))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.topic = topic;
	ev.id = vs->id;
	ev.from = vs->from;
	ev.amount = amount;
	ev.reason = reason;
	hub_post(&ev);
}

/*
 * A verdict from the validator pool.  job->gate tells whether the source
 * is still open: a peer that closed is neither dropped again nor logged
 * loudly (an attacker that reconnects must not be able to fill the log).
 */
static void
admit_validated(struct validator_job *job, void *arg)
{
	struct admit		*a = arg;
	struct admit_vstate	*vs = job->ctx;
	struct admit_verdict	 v;
	struct admit_waiter_list retry = TAILQ_HEAD_INITIALIZER(retry);
	enum mempool_result	 mr;
	char			 idhex[TX_ID_HEX_LEN + 1], why[256], drop[160];
	struct admit_source	*src;
	uint8_t			 copy[TX_ID_LEN], id[TX_ID_LEN], other[TX_ID_LEN];
	char			 otherhex[TX_ID_HEX_LEN + 1];
	unsigned		 reason;
	size_t			 evicted = 0;
	int			 open, bad, mr_lost = 0, hold = 0;

	idmap_del(a->validating, vs->id);
	hex_encode(idhex, vs->id, TX_ID_LEN);
	open = vs->origin != 0 && job->gate != NULL &&
	    !atomic_load_explicit(&job->gate->closed, memory_order_relaxed);
	if (job->skipped) {
		/* Its peer closed: no verdict, as for its queue. */
		log_debug("gossip", "tx %.16s from %s: not validated, the peer "
		    "closed", idhex, vs->from);
		admit_verdict_fill(&v, ADMIT_REJECTED, vs->id, REASON_BUSY,
		    "node busy: the peer relaying it went away, retry");
		if (a->hooks.retry != NULL)
			a->hooks.retry(a->hooks.arg, vs->id, vs->origin);
		/* API callers still get a verdict: on their own copy, or this one. */
		admit_waiters_take(vs, job, &retry);
		goto answer;
	}
	stats_verify(job->verify_ns);

	if (job->res.reason == TX_OK) {
		mr = mempool_add(a->mp, vs->id, &job->tx, job->raw, job->len,
		    now_ms(), vs->origin, other, &evicted);
		if (mr == MEMPOOL_ADDED || mr == MEMPOOL_DUPLICATE ||
		    mr == MEMPOOL_REPLACED) {
			stats.txs_accepted++;
			if (vs->origin == 0)
				log_event(LOG_INFO, "gossip", &(struct log_fields){
				    .tx = idhex, .amount = job->tx.amount,
				    .has_amount = 1 },
				    "tx %.16s accepted from %s amount=%llu", idhex,
				    vs->from, (unsigned long long)job->tx.amount);
			else
				log_limited_event(&admit_log_peer_accepts, LOG_INFO,
				    &(struct log_fields){ .tx = idhex,
				    .peer = vs->from, .amount = job->tx.amount,
				    .has_amount = 1 },
				    "tx %.16s accepted from %s amount=%llu", idhex,
				    vs->from, (unsigned long long)job->tx.amount);
			if (evicted > 0)
				log_limited(&admit_log_evicted, LOG_INFO, "evicted "
				    "%zu transactions of the heaviest source and "
				    "sender (mempool bounds)", evicted);
			admit_post(HUB_TX_ACCEPTED, vs, job->tx.amount, 0);
			if (mr == MEMPOOL_REPLACED) {
				/* The loser goes on every node that held it. */
				hex_encode(otherhex, other, TX_ID_LEN);
				stats.txs_replaced++;
				admit_remember_loser(a, other, vs->id);
				log_event(LOG_INFO, "mempool", &(struct log_fields){
				    .tx = idhex }, "tx %.16s replaces tx %.16s: the "
				    "same sender and nonce %llu, and a smaller id",
				    idhex, otherhex, (unsigned long long)job->tx.nonce);
				admit_post_replaced(vs, other);
			}
			if (a->store != NULL) {
				if (mr != MEMPOOL_DUPLICATE)
					admit_store_put(a, vs->id, job->raw, job->len);
				hold = 1;
			}
			if (a->hooks.accepted != NULL)
				a->hooks.accepted(a->hooks.arg, vs->id, vs->origin);
			admit_verdict_fill(&v, ADMIT_ACCEPTED, vs->id, 0, NULL);
			goto answer;
		}
		reason = mr == MEMPOOL_NONCE_USED ? REASON_NONCE : REASON_FULL;
		snprintf(why, sizeof(why), "%s", reason_str(reason));
		if (mr == MEMPOOL_NONCE_USED) {
			mr_lost = 1;
			hex_encode(otherhex, other, TX_ID_LEN);
			snprintf(why, sizeof(why), "nonce already used: nonce %llu of "
			    "this sender is held by tx %.16s, whose id is smaller "
			    "(replaced by %s)", (unsigned long long)job->tx.nonce,
			    otherhex, otherhex);
		}
	} else {
		reason = job->res.reason;
		snprintf(why, sizeof(why), "%s", job->res.msg[0] ? job->res.msg :
		    reason_str(reason));
	}
	stats_reject(reason);
	if (reason == TX_ERR_SIGNATURE) {
		/* Only this copy is bad: another announcer may hold a valid one. */
		admit_copy_hash(copy, job->raw, job->len);
		admit_reject_remember(a, copy, reason);
		if (a->hooks.retry != NULL)
			a->hooks.retry(a->hooks.arg, vs->id, vs->origin);
	} else {
		if (mr_lost)
			admit_remember_loser(a, vs->id, other);
		else
			admit_reject_remember(a, vs->id, reason);
		if (a->hooks.settled != NULL)
			a->hooks.settled(a->hooks.arg, vs->id);
	}
	bad = reason_is_misbehaviour(reason);
	if (vs->origin == 0)
		log_event(LOG_INFO, "gossip", &(struct log_fields){ .tx = idhex,
		    .reason = why, .code = reason_code(reason) },
		    "tx %.16s rejected from %s: %s", idhex, vs->from, why);
	else
		log_limited_event(&admit_log_peer_rejects, !open && bad ?
		    LOG_DEBUG : LOG_INFO, &(struct log_fields){ .tx = idhex,
		    .peer = vs->from, .reason = why, .code = reason_code(reason) },
		    "tx %.16s rejected from %s: %s", idhex, vs->from, why);
	admit_post(HUB_TX_REJECTED, vs, 0, reason);
	if (open && bad && a->hooks.misbehaved != NULL) {
		snprintf(drop, sizeof(drop), "sent invalid tx %.16s: %s", idhex,
		    reason_str(reason));
		a->hooks.misbehaved(a->hooks.arg, vs->origin, reason, drop);
	}
	admit_verdict_fill(&v, ADMIT_REJECTED, vs->id, reason, why);
	if (reason == TX_ERR_SIGNATURE)
		admit_waiters_take(vs, NULL, &retry);
answer:
	if (!job->skipped && a->hooks.verified != NULL)
		a->hooks.verified(a->hooks.arg, vs->id, job->verify_ns,
		    v.status == ADMIT_ACCEPTED);
	a->retrying = &retry;
	memcpy(a->retrying_id, vs->id, TX_ID_LEN);
	if (hold)
		admit_hold_waiters(a, vs, &v);
	else
		admit_vstate_answer(a, vs, &v);
	a->retrying = NULL;
	memcpy(id, vs->id, TX_ID_LEN);
	src = vs->src;
	free(vs);
	validator_job_free(job);
	admit_done(a, src);
	/* --sync always: one commit per transaction, before its answer. */
	if (hold && store_sync_mode(a->store) == STORE_SYNC_ALWAYS)
		admit_commit(a);
	admit_retry_copies(a, id, &retry);
	admit_drain(a);
}

/* --- Start-up: the store read back ------------------------------------ */

struct admit_rec {
	uint8_t		 id[TX_ID_LEN];
	uint8_t		*raw;
	size_t		 len;
	uint64_t	 added_ms;
	struct tx	 tx;
	enum tx_reason	 reason;	/* of tx_validate, or TX_ERR_ENCODING for a wrong id */
};

struct admit_restore {
	struct admit_rec *v;
	size_t		 n, cap;
	const struct tx_policy *policy;
	uint64_t	 now;
	size_t		 next;		/* the next record a thread takes (atomic) */
};

static int
admit_restore_collect(const uint8_t id[TX_ID_LEN], const uint8_t *raw,
    size_t len, uint64_t added_ms, void *arg)
{
	struct admit_restore	*rs = arg;
	struct admit_rec	*r;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap == 0 ? 1024 : 2 * rs->cap;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	memcpy(r->id, id, TX_ID_LEN);
	r->raw = xmalloc(len > 0 ? len : 1);
	memcpy(r->raw, raw, len);
	r->len = len;
	r->added_ms = added_ms;
	return 0;
}

/* A thread of the check: validates records in chunks until none is left. */
static void *
admit_restore_work(void *arg)
{
	struct admit_restore	*rs = arg;
	struct admit_rec	*r;
	struct tx_result	 res;
	uint8_t			 id[TX_ID_LEN];
	size_t			 i, end;

	for (;;) {
		i = __atomic_fetch_add(&rs->next, 256, __ATOMIC_RELAXED);
		if (i >= rs->n)
			break;
		end = i + 256 < rs->n ? i + 256 : rs->n;
		for (; i < end; i++) {
			r = &rs->v[i];
			r->reason = tx_validate(r->raw, r->len, rs->policy, rs->now,
			    &r->tx, id, &res);
			/* Stored under another id: not what was accepted. */
			if (r->reason == TX_OK && memcmp(id, r->id, TX_ID_LEN) != 0)
				r->reason = TX_ERR_ENCODING;
		}
	}
	return NULL;
}

static int
admit_rec_cmp(const void *x, const void *y)
{
	const struct admit_rec	*a = x, *b = y;

	if (a->added_ms != b->added_ms)
		return a->added_ms < b->added_ms ? -1 : 1;
	return memcmp(a->id, b->id, TX_ID_LEN);
}

int
admit_restore(struct admit *a, char *err, size_t errlen)
{
	struct admit_restore	 rs;
	struct admit_rec	*r;
	pthread_t		 th[64];
	unsigned		 nth, i;
	size_t			 k, loaded = 0, expired = 0, invalid = 0, lost = 0;
	uint64_t		 t0 = now_ms(), t1, t2;
	uint8_t			 other[TX_ID_LEN];
	char			 idhex[TX_ID_HEX_LEN + 1];
	enum mempool_result	 mr;

	if (a->store == NULL)
		return 0;
	memset(&rs, 0, sizeof(rs));
	rs.policy = &a->n->policy;
	rs.now = now_ms();
	if (store_tx_each(a->store, admit_restore_collect, &rs) == -1) {
		snprintf(err, errlen, "%s", store_error(a->store));
		goto fail;
	}
	t1 = now_ms();
	/* Every signature checked again, on as many threads as validators. */
	nth = a->n->cfg->validators;
	if (nth > sizeof(th) / sizeof(th[0]))
		nth = sizeof(th) / sizeof(th[0]);
	if (rs.n < 1024)
		nth = 1;
	for (i = 1; i < nth; i++)
		if (pthread_create(&th[i], NULL, admit_restore_work, &rs) != 0)
			break;
	nth = i;
	admit_restore_work(&rs);
	for (i = 1; i < nth; i++)
		pthread_join(th[i], NULL);
	t2 = now_ms();
	/* Oldest accepted first: the mempool keeps its order for evictions. */
	if (rs.n > 0)
		qsort(rs.v, rs.n, sizeof(*rs.v), admit_rec_cmp);
	for (k = 0; k < rs.n; k++) {
		r = &rs.v[k];
		if (r->reason != TX_OK) {
			if (r->reason == TX_ERR_EXPIRED)
				expired++;
			else {
				invalid++;
				hex_encode(idhex, r->id, TX_ID_LEN);
				log_warn("store", "stored tx %.16s is invalid: %s; "
				    "dropped", idhex, tx_reason_str(r->reason));
			}
			(void)store_tx_del(a->store, r->id);
			continue;
		}
		mr = mempool_add(a->mp, r->id, &r->tx, r->raw, r->len,
		    r->added_ms, 0, other, NULL);
		if (mr == MEMPOOL_ADDED || mr == MEMPOOL_DUPLICATE)
			continue;
		if (mr == MEMPOOL_REPLACED) {
			/* The store held both of a pair: the smaller id wins here too. */
			lost++;
			admit_remember_loser(a, other, r->id);
		} else {
			if (mr == MEMPOOL_NONCE_USED) {
				lost++;
				admit_remember_loser(a, r->id, other);
			} else
				invalid++;
			(void)store_tx_del(a->store, r->id);
		}
	}
	if (store_commit(a->store) == -1) {
		snprintf(err, errlen, "%s", store_error(a->store));
		goto fail;
	}
	loaded = mempool_count(a->mp);
	log_info("store", "%zu txs loaded, %zu expired, %zu invalid in %llu ms "
	    "(read %llu ms, verify on %u threads %llu ms, insert and commit %llu "
	    "ms; %zu lost their nonce to a smaller id; %s)", loaded, expired,
	    invalid, (unsigned long long)(now_ms() - t0),
	    (unsigned long long)(t1 - t0), nth, (unsigned long long)(t2 - t1),
	    (unsigned long long)(now_ms() - t2), lost, store_path(a->store));
	for (k = 0; k < rs.n; k++)
		free(rs.v[k].raw);
	free(rs.v);
	return 0;
fail:
	for (k = 0; k < rs.n; k++)
		free(rs.v[k].raw);
	free(rs.v);
	return -1;
}
