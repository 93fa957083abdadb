/*
 * admit.h: admission of transactions, from peers and from the API alike:
 * decode, dedup (in the mempool, being validated, recently rejected), the
 * validator pool's feed with backpressure per source, verdicts, the mempool
 * insert, and expiry of old transactions.  Upper layers hear of verdicts
 * through the hooks they install and through the event hub.  Loop thread
 * only.
 */
#ifndef CORE_ADMIT_H
#define CORE_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/node.h"
#include "proto/tx.h"

struct mempool;
struct validator;

/* The verdict an API caller waits for. */
enum admit_status {
	ADMIT_ACCEPTED = 0,
	ADMIT_DUPLICATE,	/* already in the mempool: accepted earlier */
	ADMIT_REJECTED
};

struct admit_verdict {
	enum admit_status status;
	int		have_id;		/* the bytes decoded: id is meaningful */
	uint8_t		id[TX_ID_LEN];
	unsigned	reason;			/* enum reason, when rejected */
	char		msg[256];		/* human detail, when rejected */
};

typedef void (*admit_verdict_cb)(const struct admit_verdict *v, void *arg);

/* What admit_tx did with a copy. */
enum admit_outcome {
	ADMIT_UNDECODABLE = 0,	/* the bytes are no transaction (reason set) */
	ADMIT_KNOWN,		/* in the mempool */
	ADMIT_REJECTED_ID,	/* rejected lately, for every copy (reason set) */
	ADMIT_REJECTED_COPY,	/* these bytes were found bad lately (reason set) */
	ADMIT_PENDING_SAME,	/* being validated, the same bytes */
	ADMIT_PENDING_OTHER,	/* being validated, other bytes */
	ADMIT_QUEUED,		/* goes to validation */
	ADMIT_BUSY,		/* refused: too much API work waits (API only) */
	ADMIT_STOPPING		/* refused: the node is shutting down */
};

struct admit_result {
	enum admit_outcome what;
	uint8_t		id[TX_ID_LEN];		/* unless UNDECODABLE */
	unsigned	reason;
};

/* What the relay hears of verdicts; origin is the source's tag (0: the API). */
struct admit_hooks {
	/* id entered the mempool (or was there already). */
	void	(*accepted)(void *arg, const uint8_t id[TX_ID_LEN], uint64_t origin);
	/* id is refused for every copy. */
	void	(*settled)(void *arg, const uint8_t id[TX_ID_LEN]);
	/* The copy from bad_origin (0: none) was bad or not judged: another may be good. */
	void	(*retry)(void *arg, const uint8_t id[TX_ID_LEN], uint64_t bad_origin);
	/*
	 * The source tagged origin, still open, sent an invalid transaction:
	 * drop it.  reason: the rejection's (enum reason, misbehaviour only).
	 */
	void	(*misbehaved)(void *arg, uint64_t origin, unsigned reason,
		    const char *why);
	/* id was verified (verify_ns in the validator); ok: it entered the mempool. */
	void	(*verified)(void *arg, const uint8_t id[TX_ID_LEN], uint64_t verify_ns,
		    int ok);
	void	*arg;
};

struct admit;
struct admit_source;

/*
 * Starts admission and its validator pool (cfg->validators threads, a
 * channel of cfg->validator_queue) over mp.  Fatal on failure.
 */
struct admit *admit_new(struct node *n, struct mempool *mp);
struct store;
/*
 * Makes acceptance durable (core/store.h): every transaction accepted is
 * put in s's batch, and removals from the mempool deleted there; one
 * commit per loop turn (per transaction with --sync always) covers them,
 * and API callers hear "accepted" only after it (a failed commit: "store
 * error", and the batch's transactions leave the mempool).  s stays the
 * caller's; admit_free commits what is left.  Before any transaction.
 */
void	admit_set_store(struct admit *a, struct store *s);
/*
 * Reads the store back into the mempool, before the loop runs: expired
 * transactions dropped, every other one validated again (on
 * cfg->validators threads) and of two with the same (sender, nonce) the
 * smaller id kept; what does not come back is deleted from the store.
 * Logs one line with the counts.  0, or -1 with err set.
 */
int	admit_restore(struct admit *a, char *err, size_t errlen);
/* Installs the hooks (copied); before any transaction arrives. */
void	admit_set_hooks(struct admit *a, const struct admit_hooks *h);
/*
 * Stops taking work, lets the validators finish what they hold (every
 * verdict is delivered) and joins them.  Waiting API callers are answered.
 */
void	admit_shutdown(struct admit *a);
/* Frees a, after every source was freed (admit_source_free). */
void	admit_free(struct admit *a);

/* The validator pool's gauges (after admit_shutdown: 0, the configured capacity, 0). */
struct admit_gauges {
	size_t		queue_depth;	/* jobs waiting in the channel */
	size_t		queue_capacity;
	uint64_t	verified;	/* signatures verified since start */
	uint64_t	store_commits;	/* write transactions committed (group commits) */
	uint64_t	store_failures;	/* ... that failed (their txs not accepted) */
	uint64_t	store_commit_ns;	/* time spent committing (fsync included) */
};
void	admit_gauges(const struct admit *a, struct admit_gauges *g);

/*
 * A source of transactions that can be paused: a peer.  tag (non-zero)
 * names it in hooks; label in logs.  When the validator cannot take its
 * work, its jobs wait here and pause(arg) is called; resume(arg) once they
 * all went in.
 */
struct admit_source *admit_source_new(struct admit *a, uint64_t tag,
	    const char *label, void (*pause)(void *), void (*resume)(void *),
	    void *arg);
/*
 * The source is gone: its waiting jobs are dropped (their ids go to
 * hooks.retry), those in the validator are skipped unverified.  Frees src.
 */
void	admit_source_free(struct admit_source *src);
/* True while src's jobs wait for the validator (its reads are paused). */
int	admit_source_blocked(const struct admit_source *src);

/*
 * Admits a copy of a transaction (raw is copied when kept).  From a peer:
 * src is its source and cb NULL; the verdict reaches the hooks.  From the
 * API: src NULL, and cb(v, arg) gets the verdict exactly once, possibly
 * before this returns, unless admit_cancel(id, arg) comes first or the node
 * is stopping (r->what ADMIT_STOPPING: cb is not called).  r (not NULL)
 * says what was done.
 */
void	admit_tx(struct admit *a, struct admit_source *src, const uint8_t *raw,
	    size_t len, admit_verdict_cb cb, void *arg, struct admit_result *r);
/* Forgets the API caller arg waiting on id (its request went away). */
void	admit_cancel(struct admit *a, const uint8_t id[TX_ID_LEN], void *arg);

/* True if id needs nothing more: in the mempool, or rejected for every copy. */
int	admit_settled(struct admit *a, const uint8_t id[TX_ID_LEN]);
/* True while a copy of id is being validated. */
int	admit_pending(struct admit *a, const uint8_t id[TX_ID_LEN]);
/*
 * True if id lost its (sender, nonce) to a transaction with a smaller id
 * (docs/PROTOCOL.md 5.4), which winner then gets (as long as that is
 * remembered).
 */
int	admit_replaced_by(struct admit *a, const uint8_t id[TX_ID_LEN],
	    uint8_t winner[TX_ID_LEN]);

#endif
