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
 * The loop has one priority.  Flushes (relay.c's INV and GETDATA batches,
 * the GETDATA answers) are activated for the end of the turn (event_active,
 * or a timer of no delay): they run after the input that was ready, in the
 * same turn, so what one turn produced leaves in one batch and nothing
 * waits on a timer (issue 11).  A lower priority would batch more but let
 * a flood starve them: libevent runs a lower priority only in a turn with
 * nothing else ready, and behind 250 API clients uploading bodies the INV
 * of an honest transaction waited 60 ms (issue 9).
 */

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
