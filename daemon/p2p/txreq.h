/*
 * txreq.h: download scheduling, which announcer to ask for which wanted
 * transaction, and when (docs/PROTOCOL.md 5.3).  Pure: no sockets, no
 * libevent, no clock; time is passed in (ms), so a unit test or a fuzzer
 * can drive it.  Bitcoin Core's txrequest.cpp is the model.
 *
 * A wanted id has at most one request out at a time, to one announcer, with
 * a deadline; the other announcers (at most limits.alts) wait in line, oldest
 * first.  The entry lives until the transaction is settled (accepted, or
 * rejected for every copy: txreq_forget), so that a bad copy, a NOTFOUND, a
 * timeout or a disconnect moves on to the next announcer instead of losing
 * the transaction.  While a copy is being validated the entry is held: no
 * request goes out until the verdict (txreq_forget or txreq_retry).
 *
 * Bounds (docs/PROTOCOL.md 5.3, limit 6): at most limits.table_max
 * entries, split into one pool per class of peer: outbound (this node
 * dialled it), productive (inbound, and a transaction it delivered was
 * accepted: txreq_peer_productive) and other inbound.  An entry counts
 * against the pool of its creator's class when it was made (its first
 * announcer); a peer's quota is its class's pool divided among the peers of
 * that class, at most announced_max, so that the quotas of all peers add up
 * to at most the table however peers come and go, and a crowd of new
 * inbound peers never takes the room of outbound or productive ones.  A new
 * entry needs its creator under its quota, its class under its pool and the
 * table under table_max; an announcement that cannot be tracked now
 * (TXREQ_ANN_QUOTA, TXREQ_ANN_FULL) is the caller's to keep and announce
 * again later (txreq_room says when).  Each peer has at most limits.inflight
 * requests out.  When the list of announcers is full, a peer this node
 * dialled (outbound, which an attacker cannot make itself) takes the place
 * of the newest inbound one and is asked first.
 *
 * Requests leave through the ask() callback given to txreq_new, called from
 * inside txreq_announce, txreq_received, txreq_notfound and txreq_poll; the
 * caller queues them and sends them when that call returns (ask must not
 * call back into the scheduler).  Peers are named by a 64-bit serial that
 * is never 0 and never reused.  One thread.
 */
#ifndef P2P_TXREQ_H
#define P2P_TXREQ_H

#include <stddef.h>
#include <stdint.h>

#define TXREQ_ID_LEN	32
#define TXREQ_NEVER	UINT64_MAX

struct txreq_limits {
	size_t		table_max;	/* wanted ids in all (200000) */
	size_t		announced_max;	/* per creator, at most (20000) */
	size_t		inflight;	/* requests out per peer (5000) */
	unsigned	alts;		/* announcers kept per id besides the one asked, 1..8 */
	uint64_t	timeout_ms;	/* a request's deadline (--getdata-timeout-ms) */
	uint64_t	retry_ms;	/* wait when every announcer is at its limit (200) */
};

/*
 * The classes of peers, each with its pool of the table: outbound 1/4,
 * productive inbound 1/4, other inbound the rest (txreq.c says why).
 */
enum txreq_class {
	TXREQ_OUTBOUND = 0,	/* this node dialled it */
	TXREQ_PRODUCTIVE,	/* inbound; it delivered a transaction that was accepted */
	TXREQ_INBOUND,		/* inbound, nothing accepted from it yet */
	TXREQ_CLASSES
};

/* Asks peer for id now (the caller queues a GETDATA). */
typedef void (*txreq_ask_cb)(uint64_t peer, const uint8_t id[TXREQ_ID_LEN],
	    void *arg);

struct txreq;

/* What txreq_announce did with an announcement. */
enum txreq_ann {
	TXREQ_ANN_NEW = 0,	/* a new wanted id, this peer its creator */
	TXREQ_ANN_ADDED,	/* an announcer of an id already wanted */
	TXREQ_ANN_KEPT,		/* already an announcer (or the one asked) of it */
	TXREQ_ANN_DROPPED,	/* the announcer list is full and this peer may not displace one */
	TXREQ_ANN_QUOTA,	/* not tracked: the peer created its quota of entries */
	TXREQ_ANN_FULL		/* not tracked: its class's pool, or the table, is full */
};

/* What became of a transaction a peer sent (admission's answer on it). */
enum txreq_rx {
	TXREQ_RX_SETTLED = 0,	/* in the mempool, or rejected for every copy: forgotten */
	TXREQ_RX_BAD_COPY,	/* this copy is known to be bad: ask another announcer */
	TXREQ_RX_VALIDATING,	/* this copy goes to validation now: held */
	TXREQ_RX_PENDING_SAME,	/* the same bytes are being validated: held */
	TXREQ_RX_PENDING_OTHER	/* other bytes are being validated: this peer is an announcer in case they prove bad */
};

/*
 * New scheduler; limits is copied (alts clamped to 1..8).  Owned by the
 * caller (txreq_free).
 */
struct txreq *txreq_new(const struct txreq_limits *limits, txreq_ask_cb ask,
	    void *arg);
void	txreq_free(struct txreq *s);

/*
 * A peer became active; outbound: this node dialled it (TXREQ_OUTBOUND, else
 * TXREQ_INBOUND).  Again: no change.
 */
void	txreq_peer_add(struct txreq *s, uint64_t peer, int outbound);
/*
 * A transaction peer delivered was accepted: an inbound peer becomes
 * TXREQ_PRODUCTIVE for as long as it stays (the entries it created count
 * where they were made).  Outbound, or a peer not added: no change.
 */
void	txreq_peer_productive(struct txreq *s, uint64_t peer);
/*
 * A peer is gone: its requests become due (asked of the next announcer at
 * the next txreq_poll), it is no announcer any more, and the entries it
 * created no longer count against anyone's quota (they still fill their
 * class's pool until they go).
 */
void	txreq_peer_del(struct txreq *s, uint64_t peer);

/*
 * peer announced id, which is neither in the mempool nor rejected (the
 * caller checks).  held: a copy of it is being validated, so nobody is asked
 * until the verdict (for a new id; one already wanted keeps its state).  A
 * new id not held is asked of peer at once if it has a free request slot,
 * else retried after retry_ms.  A peer not added: TXREQ_ANN_DROPPED.  A new
 * id that peer may not create now: TXREQ_ANN_QUOTA or TXREQ_ANN_FULL, and
 * nothing is kept of it.
 */
enum txreq_ann txreq_announce(struct txreq *s, uint64_t peer,
	    const uint8_t id[TXREQ_ID_LEN], int held, uint64_t now);

/*
 * peer sent a copy of id, and admission says what became of it (see enum
 * txreq_rx).  A peer not added is made neither announcer nor creator.
 */
void	txreq_received(struct txreq *s, uint64_t peer,
	    const uint8_t id[TXREQ_ID_LEN], enum txreq_rx what, uint64_t now);

/* peer answered NOTFOUND for id: if it was the one asked, the next one is. */
void	txreq_notfound(struct txreq *s, uint64_t peer,
	    const uint8_t id[TXREQ_ID_LEN], uint64_t now);

/* id is settled (accepted, or rejected for every copy): the entry goes. */
void	txreq_forget(struct txreq *s, const uint8_t id[TXREQ_ID_LEN]);

/*
 * The copy of id under validation was not good enough: bad (a bad
 * signature) or not judged (its peer went away).  bad_peer (0: none) sent
 * it and is no announcer any more (nor asked); the entry is due: at the next
 * txreq_poll a request still out for it is given up and the next announcer
 * asked.
 */
void	txreq_retry(struct txreq *s, const uint8_t id[TXREQ_ID_LEN],
	    uint64_t bad_peer);

/*
 * Every entry whose deadline passed goes to its next announcer with a free
 * slot; one with announcers all at their limit waits retry_ms more; one with
 * none left is forgotten (a later announcement starts again).
 */
void	txreq_poll(struct txreq *s, uint64_t now);
/*
 * The same for at most max due entries, the earliest first; returns 1 if
 * more are due (a caller that bounds its loop turns comes back for them).
 */
int	txreq_poll_some(struct txreq *s, uint64_t now, size_t max);

/* Wanted ids tracked. */
size_t	txreq_count(const struct txreq *s);
/* peer's requests out and entries created (0 for an unknown peer). */
size_t	txreq_inflight(const struct txreq *s, uint64_t peer);
size_t	txreq_created(const struct txreq *s, uint64_t peer);
/*
 * The number of entries peer may have created now (0 for an unknown peer):
 * its class's pool divided among the peers of that class, at most
 * announced_max.
 */
size_t	txreq_quota(const struct txreq *s, uint64_t peer);
/* 1 if an announcement of a new id by peer would be tracked now, else 0. */
int	txreq_room(const struct txreq *s, uint64_t peer);
/* peer's class, or -1 for a peer not added. */
int	txreq_class(const struct txreq *s, uint64_t peer);
/* Class c's pool, and the entries counted against it (made by its peers). */
size_t	txreq_pool(const struct txreq *s, enum txreq_class c);
size_t	txreq_pool_used(const struct txreq *s, enum txreq_class c);
/* 1 if id is wanted, and then *asked gets the peer asked (0: nobody now). */
int	txreq_wanted(const struct txreq *s, const uint8_t id[TXREQ_ID_LEN],
	    uint64_t *asked);

/*
 * Checks every invariant (counts match the entries, bounds hold: classes
 * within their pools, quotas adding up to at most the table; no peer both
 * asked and in line, no gone peer asked); 0, or -1 with what is broken in
 * err.  For tests and the fuzzer: it walks everything.
 */
int	txreq_check(const struct txreq *s, char *err, size_t errlen);

#endif
