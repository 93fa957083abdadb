/*
 * store.c: the node's durable state in LMDB.  LMDB is a copy-on-write
 * B+tree in one memory-mapped file: a commit either happens whole or not
 * at all, whatever moment the process dies, so there is no journal to
 * replay and no torn tail to repair here.  What is left to us: one write
 * transaction per batch (group commit), clear errors for a store that
 * cannot be used, and the format version.
 *
 * Records (all integers little-endian):
 *   txs:   key id (32 bytes)          value accept time ms (8) | tx bytes
 *   peers: key address text (no NUL)  value last seen ms (8)
 *   meta:  key "version"              value format version (4)
 *   bans:  key (ban.c's, <= 33 bytes)  value (ban.c's, <= 32 bytes)
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "base/config.h"
#include "base/log.h"
#include "core/store.h"
#include "lib/util.h"

#define STORE_META_VERSION	"version"
#define STORE_META_PAGES	2		/* LMDB's pages 0 and 1 */
#define STORE_TRIAL_BYTES	(64u << 20)	/* see store_check_writes */

_Static_assert(STORE_SYNC_BATCH == CONFIG_SYNC_BATCH &&
    STORE_SYNC_ALWAYS == CONFIG_SYNC_ALWAYS && STORE_SYNC_NONE == CONFIG_SYNC_NONE,
    "--sync values are enum store_sync");

struct store {
	MDB_env		*env;
	MDB_dbi		 txs, peers, meta, bans;
	MDB_txn		*txn;		/* the open batch, or NULL */
	int		 failed;	/* the batch failed: aborted, awaiting commit */
	int		 sync;
	uint64_t	 map_size;
	char		 dir[4096];
	char		 path[4200];	/* dir/data.mdb */
	char		 err[4800];
};

int
store_sync_parse(const char *s)
{
	if (strcmp(s, "batch") == 0)
		return STORE_SYNC_BATCH;
	if (strcmp(s, "always") == 0)
		return STORE_SYNC_ALWAYS;
	if (strcmp(s, "none") == 0)
		return STORE_SYNC_NONE;
	return -1;
}

const char *
store_sync_str(int sync)
{
	switch (sync) {
	case STORE_SYNC_ALWAYS:
		return "always";
	case STORE_SYNC_NONE:
		return "none";
	default:
		return "batch";
	}
}

static void
store_le64(uint8_t out[8], uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
store_get64(const uint8_t in[8])
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | in[i];
	return v;
}

/* What an LMDB or system error means for the user. */
static const char *
store_strerror(const struct store *s, int rc, char *buf, size_t len)
{
	switch (rc) {
	case MDB_MAP_FULL:
		snprintf(buf, len, "the store is full: its map of %llu bytes "
		    "(--store-map-size) is used up", (unsigned long long)s->map_size);
		break;
	case ENOSPC:
		snprintf(buf, len, "the disk is full (%s)", strerror(rc));
		break;
	case EACCES:
	case EROFS:
	case EPERM:
		snprintf(buf, len, "not writable (%s)", strerror(rc));
		break;
	case MDB_INVALID:
		snprintf(buf, len, "not an LMDB file: corrupt, or not a noded store "
		    "(%s)", mdb_strerror(rc));
		break;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INCOMPATIBLE:
	case MDB_BAD_VALSIZE:
		snprintf(buf, len, "corrupt (%s)", mdb_strerror(rc));
		break;
	case MDB_VERSION_MISMATCH:
		snprintf(buf, len, "written by another LMDB version (%s)",
		    mdb_strerror(rc));
		break;
	default:
		snprintf(buf, len, "%s", mdb_strerror(rc));
		break;
	}
	return buf;
}

static void __attribute__((format(printf, 2, 3)))
store_seterr(struct store *s, const char *fmt, ...)
{
	char	what[400];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err), "store: %s: %s", s->path, what);
}

static void
store_seterr_rc(struct store *s, const char *doing, int rc)
{
	char	buf[256];

	store_seterr(s, "%s: %s", doing, store_strerror(s, rc, buf, sizeof(buf)));
}

/*
 * The file must hold every page its last commit names: a data.mdb cut
 * short (a copy that stopped, a full disk outside LMDB) would fault when
 * read through the map instead of failing cleanly.
 */
static int
store_check_size(struct store *s)
{
	MDB_envinfo	info;
	MDB_stat	st;
	struct stat	sb;
	uint64_t	need;

	if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return 0;
	if (stat(s->path, &sb) == -1) {
		store_seterr(s, "%s", strerror(errno));
		return -1;
	}
	need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t)sb.st_size < need) {
		store_seterr(s, "corrupt: truncated to %lld bytes, its last commit "
		    "needs %llu", (long long)sb.st_size, (unsigned long long)need);
		return -1;
	}
	return 0;
}

/* Reads every record of db dbi (0: LMDB's free list); 0 or an LMDB error. */
static int
store_walk_db(MDB_txn *txn, MDB_dbi dbi, unsigned long *sum)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		/* Touch both ends of every key and value: every page is read. */
		if (k.mv_size > 0)
			*sum += ((const uint8_t *)k.mv_data)[0] +
			    ((const uint8_t *)k.mv_data)[k.mv_size - 1];
		if (v.mv_size > 0)
			*sum += ((const uint8_t *)v.mv_data)[0] +
			    ((const uint8_t *)v.mv_data)[v.mv_size - 1];
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * The free list (db 0) as LMDB reads it when it allocates: each record a
 * txnid key and an ID list value (a count, then that many page numbers in
 * descending order), every page a data page of the file.  The write path
 * trusts these; a wrong count or page makes it copy out of the map.
 */
static int
store_check_freelist(MDB_txn *txn, size_t last_pgno)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 n, i, pg, prev, total = 0;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, 0, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != sizeof(size_t) || v.mv_size < sizeof(size_t) ||
		    v.mv_size % sizeof(size_t) != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		memcpy(&n, v.mv_data, sizeof(n));
		if (n != v.mv_size / sizeof(size_t) - 1) {
			rc = MDB_CORRUPTED;
			break;
		}
		for (i = 1, prev = SIZE_MAX; i <= n; i++, prev = pg) {
			memcpy(&pg, (const uint8_t *)v.mv_data + i * sizeof(pg),
			    sizeof(pg));
			if (pg < STORE_META_PAGES || pg > last_pgno || pg >= prev)
				break;
		}
		total += n;
		if (i <= n || total > last_pgno) {
			rc = MDB_CORRUPTED;
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * The main db names our tables and nothing else, all the first nrequired
 * of them once the store was written (bans came later: an older store
 * gets it at open): a name lost to a bad page must not read as a new,
 * empty table (the node would start and forget every transaction).
 */
static int
store_check_names(MDB_txn *txn, const char *const names[], size_t nnames,
    size_t nrequired)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	MDB_dbi		 main;
	size_t		 i, found = 0;
	int		 rc;

	if ((rc = mdb_dbi_open(txn, NULL, 0, &main)) != 0 ||
	    (rc = mdb_cursor_open(txn, main, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		for (i = 0; i < nnames; i++)
			if (k.mv_size == strlen(names[i]) &&
			    memcmp(k.mv_data, names[i], k.mv_size) == 0)
				break;
		if (i == nnames) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (i < nrequired)
			found++;
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return rc;
	return found == 0 || found == nrequired ? 0 : MDB_CORRUPTED;
}

/*
 * What the node's writes will do, done once and thrown away: every record
 * deleted (each leaf page copied, pages merged, the free list read to
 * allocate), then a small and a multi-page record put.  Nothing reaches the
 * file: the transaction is aborted, and the dirty pages stay in memory
 * while under STORE_TRIAL_BYTES of records are deleted per table.
 */
static int
store_check_writes(MDB_env *env, const char *const names[], size_t nnames)
{
	static uint8_t	 big[3 * 4096];
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	size_t		 i, bytes;
	int		 rc;

	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return rc;
	for (i = 0; i < nnames; i++) {
		if ((rc = mdb_dbi_open(txn, names[i], 0, &dbi)) == MDB_NOTFOUND) {
			rc = 0;		/* a new store */
			continue;
		}
		if (rc != 0 || (rc = mdb_cursor_open(txn, dbi, &c)) != 0)
			break;
		for (bytes = 0; bytes < STORE_TRIAL_BYTES &&
		    (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0;
		    bytes += k.mv_size + v.mv_size)
			if ((rc = mdb_cursor_del(c, 0)) != 0)
				break;
		mdb_cursor_close(c);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		k.mv_data = "noded-check";
		k.mv_size = strlen(k.mv_data);
		v.mv_data = big;
		v.mv_size = 64;
		if ((rc = mdb_put(txn, dbi, &k, &v, 0)) == 0) {
			v.mv_size = sizeof(big);
			rc = mdb_put(txn, dbi, &k, &v, 0);
		}
		if (rc != 0)
			break;
	}
	mdb_txn_abort(txn);
	/* A full map or too many dirty pages are limits, not damage. */
	if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
		rc = 0;
	return rc;
}

/* The child of store_check: reads and trial-writes; exit 0, or 2 with why on fd. */
static volatile unsigned long sink;

static void __attribute__((noreturn))
store_check_child(const struct store *s, int fd)
{
	static const char *const names[] = { "meta", "txs", "peers", "bans" };
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_envinfo	 info;
	unsigned long	 sum = 0;
	size_t		 i;
	int		 rc;

	/* Read-write without a lock file, never committed: see store_check_writes. */
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 8)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, (size_t)s->map_size)) != 0 ||
	    (rc = mdb_env_open(env, s->dir, MDB_NOLOCK | MDB_NOSYNC |
	    MDB_NORDAHEAD, 0600)) != 0 ||
	    (rc = mdb_env_info(env, &info)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
		goto bad;
	if ((rc = store_check_freelist(txn, info.me_last_pgno)) != 0 ||
	    (rc = store_check_names(txn, names, 4, 3)) != 0)
		goto bad;
	for (i = 0; i < 4; i++) {
		rc = mdb_dbi_open(txn, names[i], 0, &dbi);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0 || (rc = store_walk_db(txn, dbi, &sum)) != 0)
			goto bad;
	}
	sink = sum;	/* the reads happen */
	mdb_txn_abort(txn);
	if ((rc = store_check_writes(env, names, 4)) != 0)
		goto bad;
	_exit(0);
bad:
	if (write(fd, &rc, sizeof(rc)) != sizeof(rc))
		_exit(3);
	_exit(2);
}

/*
 * Reads the whole store, and tries the writes the node will make, once in
 * a child process before the node uses it.  LMDB trusts its file: a page
 * overwritten in the middle can make it fault or fail an assertion when
 * read or written, which must cost the node a clear error, not a crash.  0, or -1 with the error set.
 */
static int
store_check(struct store *s)
{
	struct stat	 sb;
	pid_t		 pid;
	int		 fds[2], status, rc = 0;
	ssize_t		 n;

	if (stat(s->path, &sb) == -1 || sb.st_size == 0)
		return 0;	/* a new store: nothing to read */
	if (pipe(fds) == -1) {
		store_seterr(s, "cannot check: pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		store_seterr(s, "cannot check: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		/* A fault here is the finding: no core dump, no handler. */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		store_check_child(s, fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], &rc, sizeof(rc));
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		store_seterr(s, "corrupt: reading it makes LMDB fail (%s in a "
		    "check process); move %s away to start with an empty store",
		    strsignal(WTERMSIG(status)), s->dir);
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (n == (ssize_t)sizeof(rc) && rc != 0) {
		store_seterr_rc(s, "cannot be read", rc);
		return -1;
	}
	/* (A sanitizer build reports a fault and exits instead of dying.) */
	store_seterr(s, "corrupt: reading it failed in a check process (exit "
	    "%d); move %s away to start with an empty store",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1, s->dir);
	return -1;
}

/* Opens the named dbs and checks (or, in a new store, writes) the version. */
static int
store_init(struct store *s)
{
	MDB_txn		*txn;
	MDB_val		 k, v;
	MDB_stat	 st;
	MDB_dbi		 main;
	uint8_t		 ver[4];
	uint32_t	 found;
	unsigned	 create;
	int		 rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		store_seterr_rc(s, "cannot begin a transaction", rc);
		return -1;
	}
	/* Tables are created in a new store only: see store_check_names. */
	if ((rc = mdb_dbi_open(txn, NULL, 0, &main)) != 0 ||
	    (rc = mdb_stat(txn, main, &st)) != 0) {
		store_seterr_rc(s, "cannot read its tables", rc);
		goto fail;
	}
	create = st.ms_entries == 0 ? MDB_CREATE : 0;
	if ((rc = mdb_dbi_open(txn, "txs", create, &s->txs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "peers", create, &s->peers)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", create, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "bans", MDB_CREATE, &s->bans)) != 0) {
		store_seterr_rc(s, "cannot open its tables", rc);
		goto fail;
	}
	k.mv_data = STORE_META_VERSION;
	k.mv_size = strlen(STORE_META_VERSION);
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 4) {
			store_seterr(s, "corrupt: its format version is %zu bytes "
			    "long, not 4", v.mv_size);
			goto fail;
		}
		memcpy(ver, v.mv_data, 4);
		found = (uint32_t)ver[0] | (uint32_t)ver[1] << 8 |
		    (uint32_t)ver[2] << 16 | (uint32_t)ver[3] << 24;
		if (found != STORE_FORMAT_VERSION) {
			store_seterr(s, "store format version %u, but this noded "
			    "reads version %d: use the noded that wrote it, or move "
			    "%s away to start empty", found, STORE_FORMAT_VERSION,
			    s->dir);
			goto fail;
		}
	} else if (rc == MDB_NOTFOUND) {
		if ((rc = mdb_stat(txn, s->txs, &st)) != 0) {
			store_seterr_rc(s, "cannot read", rc);
			goto fail;
		}
		if (st.ms_entries > 0) {
			store_seterr(s, "corrupt: %zu transactions but no format "
			    "version", st.ms_entries);
			goto fail;
		}
		ver[0] = STORE_FORMAT_VERSION & 0xff;
		ver[1] = (STORE_FORMAT_VERSION >> 8) & 0xff;
		ver[2] = (STORE_FORMAT_VERSION >> 16) & 0xff;
		ver[3] = (STORE_FORMAT_VERSION >> 24) & 0xff;
		v.mv_data = ver;
		v.mv_size = 4;
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0) {
			store_seterr_rc(s, "cannot write its format version", rc);
			goto fail;
		}
	} else {
		store_seterr_rc(s, "cannot read its format version", rc);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		store_seterr_rc(s, "cannot commit", rc);
		return -1;
	}
	return 0;
fail:
	mdb_txn_abort(txn);
	return -1;
}

struct store *
store_open(const char *dir, uint64_t map_size, int sync, char *err,
    size_t errlen)
{
	struct store	*s = xcalloc(1, sizeof(*s));
	struct stat	 sb;
	uint64_t	 t0;
	unsigned	 flags = MDB_NORDAHEAD;
	int		 rc;

	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->path, sizeof(s->path), "%s/data.mdb", dir);
	s->sync = sync;
	s->map_size = map_size;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(s->err, sizeof(s->err), "store: %s: cannot create the "
		    "directory: %s", dir, strerror(errno));
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)) != 0) {
		store_seterr_rc(s, "cannot create the environment", rc);
		goto fail;
	}
	(void)mdb_env_set_maxdbs(s->env, 8);
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)map_size)) != 0) {
		store_seterr_rc(s, "bad map size", rc);
		goto fail;
	}
	if (sync == STORE_SYNC_NONE)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_open(s->env, dir, flags, 0600)) != 0) {
		store_seterr_rc(s, "cannot open", rc);
		goto fail;
	}
	t0 = now_ms();
	if (store_check_size(s) == -1 || store_check(s) == -1 ||
	    store_init(s) == -1)
		goto fail;
	if (stat(s->path, &sb) == 0)
		log_info("store", "%s: %lld bytes checked (read, trial writes) in "
		    "%llu ms", s->path, (long long)sb.st_size,
		    (unsigned long long)(now_ms() - t0));
	return s;
fail:
	snprintf(err, errlen, "%s", s->err);
	if (s->env != NULL)
		mdb_env_close(s->env);
	free(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->txn != NULL && store_commit(s) == -1)
		log_error("store", "%s", s->err + strlen("store: "));
	mdb_env_close(s->env);
	free(s);
}

int
store_sync_mode(const struct store *s)
{
	return s->sync;
}

const char *
store_path(const struct store *s)
{
	return s->path;
}

const char *
store_error(const struct store *s)
{
	return s->err;
}

int
store_dirty(const struct store *s)
{
	return s->txn != NULL || s->failed;
}

/* The batch to write into, begun if needed; NULL once it failed. */
static MDB_txn *
store_batch(struct store *s)
{
	int	rc;

	if (s->failed)
		return NULL;
	if (s->txn == NULL && (rc = mdb_txn_begin(s->env, NULL, 0, &s->txn)) != 0) {
		s->txn = NULL;
		s->failed = 1;
		store_seterr_rc(s, "cannot begin a write transaction", rc);
		return NULL;
	}
	return s->txn;
}

/* A write of the batch failed: LMDB requires the whole batch to go. */
static int
store_batch_fail(struct store *s, const char *doing, int rc)
{
	store_seterr_rc(s, doing, rc);
	mdb_txn_abort(s->txn);
	s->txn = NULL;
	s->failed = 1;
	return -1;
}

int
store_tx_put(struct store *s, const uint8_t id[TX_ID_LEN], const uint8_t *raw,
    size_t len, uint64_t added_ms)
{
	MDB_txn	*txn;
	MDB_val	 k, v;
	int	 rc;

	if ((txn = store_batch(s)) == NULL)
		return -1;
	k.mv_data = (void *)id;
	k.mv_size = TX_ID_LEN;
	v.mv_data = NULL;
	v.mv_size = 8 + len;
	/* MDB_RESERVE: LMDB hands the room, we write into it (one copy). */
	if ((rc = mdb_put(txn, s->txs, &k, &v, MDB_RESERVE)) != 0)
		return store_batch_fail(s, "cannot write a transaction", rc);
	store_le64(v.mv_data, added_ms);
	memcpy((uint8_t *)v.mv_data + 8, raw, len);
	return 0;
}

int
store_tx_del(struct store *s, const uint8_t id[TX_ID_LEN])
{
	MDB_txn	*txn;
	MDB_val	 k;
	int	 rc;

	if ((txn = store_batch(s)) == NULL)
		return -1;
	k.mv_data = (void *)id;
	k.mv_size = TX_ID_LEN;
	if ((rc = mdb_del(txn, s->txs, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
		return store_batch_fail(s, "cannot delete a transaction", rc);
	return 0;
}

/* Puts (or replaces) key k in table dbi of the batch; what names it in an error. */
static int
store_db_put(struct store *s, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen, const char *what)
{
	MDB_txn	*txn;
	MDB_val	 kv, vv;
	int	 rc;
	char	 doing[64];

	if ((txn = store_batch(s)) == NULL)
		return -1;
	kv.mv_data = (void *)k;
	kv.mv_size = klen;
	vv.mv_data = (void *)v;
	vv.mv_size = vlen;
	if ((rc = mdb_put(txn, dbi, &kv, &vv, 0)) != 0) {
		snprintf(doing, sizeof(doing), "cannot write a %s", what);
		return store_batch_fail(s, doing, rc);
	}
	return 0;
}

/* Deletes key k of table dbi in the batch (absent: no error). */
static int
store_db_del(struct store *s, MDB_dbi dbi, const void *k, size_t klen,
    const char *what)
{
	MDB_txn	*txn;
	MDB_val	 kv;
	int	 rc;
	char	 doing[64];

	if ((txn = store_batch(s)) == NULL)
		return -1;
	kv.mv_data = (void *)k;
	kv.mv_size = klen;
	if ((rc = mdb_del(txn, dbi, &kv, NULL)) != 0 && rc != MDB_NOTFOUND) {
		snprintf(doing, sizeof(doing), "cannot delete a %s", what);
		return store_batch_fail(s, doing, rc);
	}
	return 0;
}

int
store_peer_put(struct store *s, const char *addr, uint64_t seen_ms)
{
	uint8_t	 buf[8];

	if (strlen(addr) == 0 || strlen(addr) >= STORE_PEER_MAX)
		return 0;
	store_le64(buf, seen_ms);
	return store_db_put(s, s->peers, addr, strlen(addr), buf, sizeof(buf),
	    "peer");
}

int
store_peer_del(struct store *s, const char *addr)
{
	if (strlen(addr) == 0 || strlen(addr) >= STORE_PEER_MAX)
		return 0;
	return store_db_del(s, s->peers, addr, strlen(addr), "peer");
}

int
store_ban_put(struct store *s, const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen)
{
	if (klen == 0 || klen > STORE_BAN_KEY_MAX || vlen > STORE_BAN_VAL_MAX)
		return 0;
	return store_db_put(s, s->bans, key, klen, val, vlen, "ban");
}

int
store_ban_clear(struct store *s)
{
	MDB_txn	*txn;
	int	 rc;

	if ((txn = store_batch(s)) == NULL)
		return -1;
	if ((rc = mdb_drop(txn, s->bans, 0)) != 0)
		return store_batch_fail(s, "cannot clear the bans", rc);
	return 0;
}

int
store_commit(struct store *s)
{
	int	rc;

	if (s->failed) {
		s->failed = 0;
		return -1;
	}
	if (s->txn == NULL)
		return 0;
	rc = mdb_txn_commit(s->txn);
	s->txn = NULL;
	if (rc != 0) {
		store_seterr_rc(s, "cannot commit", rc);
		return -1;
	}
	return 0;
}

/* A read transaction, or the open batch (which sees its own writes). */
static int
store_read_begin(struct store *s, MDB_txn **txn, int *own)
{
	int	rc;

	if (s->txn != NULL) {
		*txn = s->txn;
		*own = 0;
		return 0;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn)) != 0) {
		store_seterr_rc(s, "cannot begin a read transaction", rc);
		return -1;
	}
	*own = 1;
	return 0;
}

int
store_tx_each(struct store *s, int (*fn)(const uint8_t id[TX_ID_LEN],
    const uint8_t *raw, size_t len, uint64_t added_ms, void *arg), void *arg)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	size_t		 bad = 0;
	int		 rc, own, ret = 0;

	if (store_read_begin(s, &txn, &own) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, s->txs, &c)) != 0) {
		store_seterr_rc(s, "cannot read", rc);
		ret = -1;
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != TX_ID_LEN || v.mv_size < 8) {
			bad++;
			continue;
		}
		if (fn(k.mv_data, (const uint8_t *)v.mv_data + 8, v.mv_size - 8,
		    store_get64(v.mv_data), arg) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_seterr_rc(s, "cannot read a transaction", rc);
		ret = -1;
	}
	if (bad > 0)
		log_warn("store", "%s: %zu records of db txs are malformed (not "
		    "a 32-byte id and an 8-byte time): skipped", s->path, bad);
	mdb_cursor_close(c);
out:
	if (own)
		mdb_txn_abort(txn);
	return ret;
}

int
store_peer_each(struct store *s, int (*fn)(const char *addr, uint64_t seen_ms,
    void *arg), void *arg)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	char		 addr[STORE_PEER_MAX];
	int		 rc, own, ret = 0;

	if (store_read_begin(s, &txn, &own) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, s->peers, &c)) != 0) {
		store_seterr_rc(s, "cannot read", rc);
		ret = -1;
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= sizeof(addr) || v.mv_size != 8)
			continue;
		memcpy(addr, k.mv_data, k.mv_size);
		addr[k.mv_size] = '\0';
		if (fn(addr, store_get64(v.mv_data), arg) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_seterr_rc(s, "cannot read a peer", rc);
		ret = -1;
	}
	mdb_cursor_close(c);
out:
	if (own)
		mdb_txn_abort(txn);
	return ret;
}

int
store_ban_each(struct store *s, int (*fn)(const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen, void *arg), void *arg)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc, own, ret = 0;

	if (store_read_begin(s, &txn, &own) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, s->bans, &c)) != 0) {
		store_seterr_rc(s, "cannot read", rc);
		ret = -1;
		goto out;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg) != 0)
			break;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_seterr_rc(s, "cannot read a ban", rc);
		ret = -1;
	}
	mdb_cursor_close(c);
out:
	if (own)
		mdb_txn_abort(txn);
	return ret;
}

size_t
store_tx_count(struct store *s)
{
	MDB_txn		*txn;
	MDB_stat	 st;
	int		 own;
	size_t		 n = 0;

	if (store_read_begin(s, &txn, &own) == -1)
		return 0;
	if (mdb_stat(txn, s->txs, &st) == 0)
		n = st.ms_entries;
	if (own)
		mdb_txn_abort(txn);
	return n;
}
