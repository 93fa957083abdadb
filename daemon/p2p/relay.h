/*
 * relay.h: transaction relay, announce then pull (docs/PROTOCOL.md section
 * 5): INV batches to the peers not known to have an id, GETDATA to one
 * announcer at a time as the download scheduler (txreq.h) decides, TX and
 * NOTFOUND answers, and a new peer's catch-up on the mempool.  Transactions
 * that arrive go to admission (core/admit.h); its verdicts come back through
 * the hooks relay installs.  Loop thread only.
 */
#ifndef P2P_RELAY_H
#define P2P_RELAY_H

#include "base/node.h"

struct admit;
struct mempool;
struct net;
struct prov;
struct relay;

/* Relays over net's peers, feeding admit; installs its handler and hooks on both. */
struct relay *relay_new(struct node *n, struct net *net, struct admit *admit,
	    struct mempool *mp);
/* Frees r, after net_free (every peer closed and released); admit lives on. */
void	relay_free(struct relay *r);
/* The provenance of recent ids (prov.h), owned by r. */
struct prov *relay_prov(struct relay *r);

#endif
