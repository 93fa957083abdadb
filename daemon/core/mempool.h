/*
 * mempool.h: accepted transactions keyed by id, bounded in count and bytes;
 * (sender, nonce) unique.  When full, room is made by fair shares: the
 * source (peer or API) holding the most gives up the oldest entry of its
 * sender holding the most (docs/PROTOCOL.md 5.4).  Loop thread only.
 */
#ifndef DAEMON_MEMPOOL_H
#define DAEMON_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

struct mempool_entry {
	uint8_t		id[TX_ID_LEN];
	uint8_t		sender[TX_PK_LEN];
	uint64_t	nonce;
	uint64_t	amount;
	uint64_t	timestamp_ms;	/* the transaction's own timestamp */
	uint64_t	added_ms;	/* when this node accepted it */
	uint32_t	len;
	uint8_t		raw[];		/* the encoded transaction */
};

enum mempool_result {
	MEMPOOL_ADDED = 0,
	MEMPOOL_DUPLICATE,	/* same id already present */
	MEMPOOL_NONCE_USED,	/* another tx with the same (sender, nonce) and a smaller id holds it */
	MEMPOOL_REPLACED,	/* added in place of the one with the same (sender, nonce) and a larger id */
	MEMPOOL_TOO_BIG,	/* larger than the byte bound alone */
	MEMPOOL_FULL		/* full, and the newcomer's own sender holds the most */
};

struct mempool;

/* New empty pool bounded by max_count entries and max_bytes (see mempool_bytes). */
struct mempool *mempool_new(size_t max_count, size_t max_bytes);
/* Frees the pool and every entry. */
void	mempool_free(struct mempool *mp);

/*
 * Adds a validated transaction (raw is copied) that came from source (a
 * peer's tag, 0 for the API).  Of two with the same (sender, nonce), the one
 * with the smaller id (bytewise) is kept (docs/PROTOCOL.md 5.4): a newcomer
 * with a smaller id replaces the other (MEMPOOL_REPLACED), one with a larger
 * id is refused (MEMPOOL_NONCE_USED); either way other (if not NULL) gets
 * the loser's or the winner's id.  When a bound would be exceeded, entries
 * are evicted by fair shares (see above), or MEMPOOL_FULL refuses it;
 * *evicted (if non-NULL) counts what went.
 */
enum mempool_result mempool_add(struct mempool *mp, const uint8_t id[TX_ID_LEN],
	    const struct tx *t, const uint8_t *raw, size_t len, uint64_t now_ms,
	    uint64_t source, uint8_t other[TX_ID_LEN], size_t *evicted);

/* The entry, or NULL.  Valid until the next mempool_add/expire/free. */
const struct mempool_entry *mempool_get(const struct mempool *mp,
	    const uint8_t id[TX_ID_LEN]);

/*
 * Removes entries whose timestamp is older than now_ms - max_age_ms; returns
 * how many.  Timestamps come in any order, so this scans every entry: call it
 * from a timer every few seconds, not per transaction.
 */
size_t	mempool_expire(struct mempool *mp, uint64_t now_ms, uint64_t max_age_ms);

/*
 * Called with the id of every entry that leaves the pool (expiry, eviction,
 * replacement, mempool_remove), before it goes; not by mempool_free.
 */
typedef void (*mempool_removed_cb)(const uint8_t id[TX_ID_LEN], void *arg);
/* Installs cb (NULL: none). */
void	mempool_set_removed(struct mempool *mp, mempool_removed_cb cb, void *arg);
/* Removes id; 0, or -1 if it is not there. */
int	mempool_remove(struct mempool *mp, const uint8_t id[TX_ID_LEN]);

/* Number of entries. */
size_t	mempool_count(const struct mempool *mp);
/*
 * An order-independent digest of the ids held: their XOR (ids are BLAKE2b
 * hashes), kept as entries come and go.  Two nodes with the same count and
 * digest almost surely hold the same set (GET /v1/mempool/digest).
 */
void	mempool_digest(const struct mempool *mp, uint8_t out[TX_ID_LEN]);
/*
 * Sum of the entries' encoded lengths (what max_bytes bounds); the heap used
 * is larger: about 150 bytes more per entry (header, links, two index slots).
 */
size_t	mempool_bytes(const struct mempool *mp);

/*
 * Walks entries oldest first, starting after the entry with id after (NULL:
 * from the start; an id no longer present: from the start), calling fn until
 * it returns non-zero or limit entries were visited.  Returns how many visited
 * (fn calls, the one that returned non-zero included; limit 0 visits none).
 */
size_t	mempool_walk(const struct mempool *mp, const uint8_t *after, size_t limit,
	    int (*fn)(const struct mempool_entry *e, void *arg), void *arg);

#endif
