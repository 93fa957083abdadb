/*
 * store.h: the node's durable state in LMDB (one environment, DATA_DIR/store/
 * data.mdb): accepted transactions (db "txs": id -> accept time and bytes),
 * the last good peers (db "peers": address -> last seen), the bans (db
 * "bans", records p2p/ban.c packs) and the format
 * version (db "meta").  Writes go into the batch, a list applied in one
 * write transaction at commit: the caller commits once per loop turn (group
 * commit, docs/ARCHITECTURE.md), on the store's own thread (LMDB's write
 * and fsync off the loop) or on the calling one.  No sockets; reads and
 * writes from the loop thread only, readers see committed data.
 */
#ifndef CORE_STORE_H
#define CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

#define STORE_FORMAT_VERSION	1	/* of the records below; checked at open */
#define STORE_EXIT		3	/* noded's exit status: the store cannot be used */
#define STORE_DIR		"store"	/* under the data dir */
#define STORE_PEER_MAX		64	/* longest address kept, NUL included */

/* When a commit reaches the disk (--sync). */
enum store_sync {
	STORE_SYNC_BATCH = 0,	/* one commit and fsync per loop turn (default) */
	STORE_SYNC_ALWAYS,	/* one commit and fsync per transaction */
	STORE_SYNC_NONE		/* commits not synced (MDB_NOSYNC): a crash of the
				   machine (not of the process) may lose the last ones
				   or corrupt the file */
};

/* Parses "batch", "always", "none"; -1 for anything else. */
int	store_sync_parse(const char *s);
/* "batch", "always", "none". */
const char *store_sync_str(int sync);

struct store;

/*
 * Opens (creating it if missing) the store in dir with a map of map_size
 * bytes.  NULL with err set (naming the file and the problem) if it cannot
 * be opened: not writable, not an LMDB file, another format version, ...
 */
struct store *store_open(const char *dir, uint64_t map_size, int sync,
	    char *err, size_t errlen);
/* Commits the open batch (if any) and closes.  NULL is ignored. */
void	store_close(struct store *s);

/* The mode it was opened with (enum store_sync). */
int	store_sync_mode(const struct store *s);
/* The data file's path, for messages. */
const char *store_path(const struct store *s);

/*
 * Adds (or replaces) transaction id in the batch.  0 (an error shows at
 * the commit).
 */
int	store_tx_put(struct store *s, const uint8_t id[TX_ID_LEN],
	    const uint8_t *raw, size_t len, uint64_t added_ms);
/* Deletes id in the batch (absent: no error).  0 or -1 as store_tx_put. */
int	store_tx_del(struct store *s, const uint8_t id[TX_ID_LEN]);
/* Records peer address addr as good, seen at seen_ms, in the batch. */
int	store_peer_put(struct store *s, const char *addr, uint64_t seen_ms);
/* Forgets peer address addr in the batch. */
int	store_peer_del(struct store *s, const char *addr);

/*
 * Bans (p2p/ban.c packs them): put one, or clear them all in the batch
 * (the table is rewritten whole when it changes; it holds at most a few
 * thousand).  Keys over STORE_BAN_KEY_MAX, values over STORE_BAN_VAL_MAX
 * bytes are not kept.  0, or -1 as store_tx_put.
 */
#define STORE_BAN_KEY_MAX	64
#define STORE_BAN_VAL_MAX	64
int	store_ban_put(struct store *s, const uint8_t *key, size_t klen,
	    const uint8_t *val, size_t vlen);
int	store_ban_clear(struct store *s);
/* Calls fn for every stored ban (in key order) until it returns non-zero. */
int	store_ban_each(struct store *s, int (*fn)(const uint8_t *key,
	    size_t klen, const uint8_t *val, size_t vlen, void *arg), void *arg);
/* True while the batch has writes or a commit is in flight. */
int	store_dirty(const struct store *s);
/*
 * Applies the batch in one write transaction and commits it (synced unless
 * STORE_SYNC_NONE), on the calling thread, after the commit in flight if
 * any (store_commit_wait).  0 (also with an empty batch), or -1: nothing of
 * the batch was kept; store_error says why.
 */
int	store_commit(struct store *s);
/*
 * The same on the store's commit thread, so that the loop goes on while
 * LMDB writes and syncs: the batch is handed over and a new one begins.
 * 0 if started; 1 if a commit is already in flight or there is nothing to
 * commit; -1 if no thread can run (use store_commit).  When it ends, the
 * fd of store_commit_fd becomes readable: store_commit_done then says 1
 * (not yet), 0 (committed) or -1 (nothing of it kept, store_error says
 * why), and *ns how long the thread took.  store_commit_wait blocks until
 * it ends (0 or -1 as store_commit_done).  Loop thread only.
 */
int	store_commit_start(struct store *s);
int	store_commit_fd(const struct store *s);
int	store_commit_done(struct store *s, uint64_t *ns);
int	store_commit_wait(struct store *s);
int	store_busy(const struct store *s);
/* The last error: "store: PATH: what" (valid until the next call). */
const char *store_error(const struct store *s);

/*
 * Calls fn for every stored transaction, in id order, until it returns
 * non-zero; raw is valid during the call only.  0, or -1 (store_error).
 */
int	store_tx_each(struct store *s, int (*fn)(const uint8_t id[TX_ID_LEN],
	    const uint8_t *raw, size_t len, uint64_t added_ms, void *arg),
	    void *arg);
/* Same for the peers kept. */
int	store_peer_each(struct store *s, int (*fn)(const char *addr,
	    uint64_t seen_ms, void *arg), void *arg);
/* Stored transactions (0 on error). */
size_t	store_tx_count(struct store *s);

#endif
