/*
 * reconcile.h: set reconciliation of mempools with each peer (Rateless
 * IBLT, proto/recon.h; docs/PROTOCOL.md section 7).  A new link reconciles
 * instead of announcing the whole mempool, and an outbound link again every
 * --recon-interval, so that whatever either side missed comes back.  What
 * the other side lacks is announced (INV) and what we lack is asked for by
 * short id, through the hooks relay installs; a session that fails falls
 * back to the whole-mempool announcement.  Loop thread only.
 */
#ifndef P2P_RECONCILE_H
#define P2P_RECONCILE_H

#include <stdint.h>

#include "base/node.h"
#include "proto/frame.h"
#include "proto/tx.h"

struct mempool;
struct peer;
struct reconcile;
struct reconcile_peer;

/* What reconcile asks of relay; each may close p. */
struct reconcile_hooks {
	/* Queue an INV of id to p, whatever p is thought to know. */
	void	(*announce)(struct peer *p, const uint8_t id[TX_ID_LEN], void *arg);
	/* Send what announce queued. */
	void	(*flush)(struct peer *p, void *arg);
	/* Announce the whole mempool to p (today's catch-up, the fallback). */
	void	(*full)(struct peer *p, void *arg);
	void	*arg;
};

/* A reconciler over mp; n's config gives the interval.  Caller frees. */
struct reconcile *reconcile_new(struct node *n, struct mempool *mp,
	    const struct reconcile_hooks *h);
void	reconcile_free(struct reconcile *rc);

/*
 * p became active: its state, owned by the caller until reconcile_peer_free.
 * Nothing is sent from here: at the next tick an outbound peer that speaks
 * reconciliation (HELLO version >= FRAME_PROTO_RECON) is sent RECON_INIT,
 * and an inbound one that has not started a session within a few seconds
 * is announced the whole mempool (hooks.full).  To a peer that does not
 * speak it the caller announces the whole mempool itself, as before.
 */
struct reconcile_peer *reconcile_peer_new(struct reconcile *rc, struct peer *p);
/* Frees rp and the sessions it holds (at the peer's close). */
void	reconcile_peer_free(struct reconcile *rc, struct reconcile_peer *rp);

/* 1 if type is one of the RECON_* frames. */
int	reconcile_is_frame(uint8_t type);
/* Handles a RECON_* frame from p.  Returns 0, or -1 if p was closed. */
int	reconcile_on_frame(struct reconcile *rc, struct peer *p,
	    struct reconcile_peer *rp, const struct frame *f);
/* Timers of p's sessions: the periodic round, time-outs, the inbound wait. */
void	reconcile_tick(struct reconcile *rc, struct peer *p,
	    struct reconcile_peer *rp, uint64_t now);

#endif
