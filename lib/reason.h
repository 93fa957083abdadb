/*
 * reason.h: why a transaction was refused, one table for logs, API answers,
 * events and metrics labels: proto's enum tx_reason (0..TX_REASON_COUNT-1)
 * and, after it, the node's own reasons.  Each has a human text
 * (reason_str) and a stable machine code (reason_code).  Any thread.
 */
#ifndef LIB_REASON_H
#define LIB_REASON_H

#include "proto/tx.h"

enum reason {
	REASON_NONCE = TX_REASON_COUNT,	/* "nonce already used" */
	REASON_FULL,			/* "mempool full" */
	REASON_BUSY,			/* "node busy" */
	REASON_STORE,			/* "store error": accepted, not persisted */
	REASON_COUNT
};

/* Stable text of reason r ("amount too high", "node busy"); "unknown" past the last. */
const char *reason_str(unsigned r);

/*
 * Stable snake_case code of reason r for programs: API answers, events,
 * metrics labels, JSON logs ("amount_too_high", "node_busy"); "ok" for 0,
 * "unknown" past the last.  Never changes once published.
 */
const char *reason_code(unsigned r);

/* True for reasons no honest node could relay (see tx_reason_is_misbehaviour). */
int	reason_is_misbehaviour(unsigned r);

#endif
