/*
 * node.h: what every layer of the node reads about the node itself: its
 * settings, event loop, identity, network and policy.  No module state and
 * no functions: each module is handed the modules it uses (main.c wires
 * them).  Filled by main.c before anything starts; loop thread.
 */
#ifndef BASE_NODE_H
#define BASE_NODE_H

#include <stdint.h>

#include "base/config.h"
#include "proto/tx.h"

struct event_base;

/*
 * The loop's priorities: every event runs at the default (libevent gives
 * priorities / 2) but flushes, which run at NODE_PRIO_FLUSH, after every
 * ready input of the turn was read: what one turn produced leaves in one
 * batch, and nothing waits on a timer (issue 11).
 */
#define NODE_PRIORITIES		3
#define NODE_PRIO_FLUSH		2

struct node {
	struct config	*cfg;
	struct event_base *base;
	uint8_t		node_pk[TX_PK_LEN];
	uint8_t		*node_sk;		/* sodium_malloc'd, 64 bytes */
	char		node_id_hex[2 * TX_PK_LEN + 1];
	uint8_t		netid[TX_NETID_LEN];
	struct tx_policy policy;
	uint64_t	start_ms;
	int		stopping;		/* shutting down: no new work */
};

#endif
