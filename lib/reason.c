/*
 * reason.c: the names of the reasons a transaction is refused.  proto/tx.c
 * names its own (docs/PROTOCOL.md); the node's follow them here, and the
 * machine codes of both (docs/API.md lists them).
 */
#include "lib/reason.h"

static const char *const reason_node[REASON_COUNT - TX_REASON_COUNT] = {
	[REASON_NONCE - TX_REASON_COUNT] = "nonce already used",
	[REASON_FULL - TX_REASON_COUNT] = "mempool full",
	[REASON_BUSY - TX_REASON_COUNT] = "node busy",
	[REASON_STORE - TX_REASON_COUNT] = "store error",
};

/* Published in docs/API.md: programs match on them, so they never change. */
static const char *const reason_codes[REASON_COUNT] = {
	[TX_OK] = "ok",
	[TX_ERR_ENCODING] = "bad_encoding",
	[TX_ERR_VERSION] = "unknown_version",
	[TX_ERR_SIGNATURE] = "bad_signature",
	[TX_ERR_NETWORK] = "wrong_network",
	[TX_ERR_AMOUNT] = "amount_too_high",
	[TX_ERR_MEMO] = "memo_too_long",
	[TX_ERR_FUTURE] = "timestamp_in_future",
	[TX_ERR_EXPIRED] = "timestamp_too_old",
	[REASON_NONCE] = "nonce_used",
	[REASON_FULL] = "mempool_full",
	[REASON_BUSY] = "node_busy",
	[REASON_STORE] = "store_error",
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

const char *
reason_code(unsigned r)
{
	if (r < REASON_COUNT && reason_codes[r] != NULL)
		return reason_codes[r];
	return "unknown";
}

int
reason_is_misbehaviour(unsigned r)
{
	return r < TX_REASON_COUNT && tx_reason_is_misbehaviour((enum tx_reason)r);
}
