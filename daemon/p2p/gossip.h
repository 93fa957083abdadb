/*
 * gossip.h: transaction relay, announce then pull (docs/PROTOCOL.md section
 * 5).  Dedup of ids (in the mempool, being validated, recently rejected),
 * GETDATA to one announcer at a time with timeout and fallback, batched INV,
 * the validator pool's results, backpressure.  Loop thread only.
 */
#ifndef DAEMON_GOSSIP_H
#define DAEMON_GOSSIP_H

#include "proto/frame.h"
#include "base/node.h"

struct peer;
struct validator_job;

struct gossip *gossip_new(struct node *n);
void	gossip_free(struct gossip *g);

/* INV, GETDATA, TX and NOTFOUND from an active peer.  Returns -1 if p was closed. */
int	gossip_on_frame(struct peer *p, const struct frame *f);
/*
 * p just became active: its mempool is announced to it, a slice per tick
 * while its send buffer is short, as CometBFT's mempool reactor sends its
 * mempool to each new peer (a node that restarts or joins late catches up).
 */
void	gossip_peer_active(struct peer *p);
/* Peer teardown hook, called by peer_close: drops p's parked work and requests. */
void	gossip_peer_closed(struct peer *p);

/* The validator pool's done() callback; arg is the node. */
void	gossip_on_validated(struct validator_job *job, void *arg);

/* Texts of the node's own rejection reasons, by stats index (see node.h). */
#define GOSSIP_REASON_NONCE	(TX_REASON_COUNT + 0)	/* "nonce already used" */
#define GOSSIP_REASON_FULL	(TX_REASON_COUNT + 1)	/* "mempool full" */
#define GOSSIP_REASON_BUSY	(TX_REASON_COUNT + 2)	/* "node busy" */
#define GOSSIP_REASON_COUNT	(TX_REASON_COUNT + 3)
const char *gossip_reason_str(unsigned i);

#endif
