/*
 * reason.c: the names of the reasons a transaction is refused.  proto/tx.c
 * names its own (docs/PROTOCOL.md); the node's follow them here.
 */
#include "lib/reason.h"

static const char *const reason_node[REASON_COUNT - TX_REASON_COUNT] = {
	[REASON_NONCE - TX_REASON_COUNT] = "nonce already used",
	[REASON_FULL - TX_REASON_COUNT] = "mempool full",
	[REASON_BUSY - TX_REASON_COUNT] = "node busy",
};

const char *
reason_str(unsigned r)
{
	if (r < TX_REASON_COUNT)
		return tx_reason_str((enum tx_reason)r);
	if (r < REASON_COUNT)
		return reason_node[r - TX_REASON_COUNT];
	return "unknown";
}

int
reason_is_misbehaviour(unsigned r)
{
	return r < TX_REASON_COUNT && tx_reason_is_misbehaviour((enum tx_reason)r);
}
