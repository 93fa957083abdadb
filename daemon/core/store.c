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
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

struct store_ops {
	uint8_t		*buf;
	size_t		 len, cap;
};

struct store {
	MDB_env		*env;
	MDB_dbi		 txs, peers, meta, bans;
	struct store_ops pending;	/* loop: the batch, not yet handed over */
	struct store_ops flight;	/* the commit thread's while busy */
	int		 busy;		/* loop: a commit is in flight */
	int		 efd;		/* eventfd the thread writes when done */
	int		 thread_on;
	pthread_t	 thread;
	pthread_mutex_t	 mu;		/* guards go, quit, done and the t_ fields */
	pthread_cond_t	 cv;
	int		 go, quit, done;
	int		 t_rc;		/* the thread's result */
	const char	*t_doing;
	char		 t_what[32];
	uint64_t	 t_ns;
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

	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	/* No eventfd: commits stay on the loop thread (store_commit_start says -1). */
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
	if (s->efd != -1)
		close(s->efd);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	return NULL;
}

/* Ends the commit thread (after the commit it may be running) and joins it. */
static void
store_thread_stop(struct store *s)
{
	if (!s->thread_on)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->thread_on = 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->busy && store_commit_wait(s) == -1)
		log_error("store", "%s", s->err + strlen("store: "));
	if (store_dirty(s) && store_commit(s) == -1)
		log_error("store", "%s", s->err + strlen("store: "));
	store_thread_stop(s);
	if (s->efd != -1)
		close(s->efd);
	free(s->pending.buf);
	free(s->flight.buf);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
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
	return s->pending.len > 0 || s->busy;
}

int
store_busy(const struct store *s)
{
	return s->busy;
}

/*
 * The batch is a list of operations, applied in one write transaction at
 * commit: [op 1][table 1][key length 2][value length 4] key value.  Keys
 * and values are bounded by their callers (ids, addresses, bans, one tx).
 */
enum { STORE_OP_PUT = 1, STORE_OP_DEL, STORE_OP_CLEAR };
enum { STORE_T_TXS, STORE_T_PEERS, STORE_T_BANS };
#define STORE_OP_HDR	8

static const char *const store_op_what[] = {
	[STORE_T_TXS] = "transaction", [STORE_T_PEERS] = "peer",
	[STORE_T_BANS] = "ban",
};

/* Appends an operation whose value is pre (plen bytes) then v (vlen). */
static void
store_op_add(struct store *s, int op, int table, const void *k, size_t klen,
    const void *pre, size_t plen, const void *v, size_t vlen)
{
	struct store_ops	*o = &s->pending;
	size_t			 need = STORE_OP_HDR + klen + plen + vlen;
	uint8_t			*p;
	uint32_t		 len = (uint32_t)(plen + vlen);

	if (o->cap - o->len < need) {
		o->cap = o->cap == 0 ? 4096 : o->cap;
		while (o->cap - o->len < need)
			o->cap *= 2;
		o->buf = xrealloc(o->buf, o->cap);
	}
	p = o->buf + o->len;
	p[0] = (uint8_t)op;
	p[1] = (uint8_t)table;
	p[2] = (uint8_t)klen;
	p[3] = (uint8_t)(klen >> 8);
	memcpy(p + 4, &len, 4);
	if (klen > 0)
		memcpy(p + STORE_OP_HDR, k, klen);
	if (plen > 0)
		memcpy(p + STORE_OP_HDR + klen, pre, plen);
	if (vlen > 0)
		memcpy(p + STORE_OP_HDR + klen + plen, v, vlen);
	o->len += need;
}

int
store_tx_put(struct store *s, const uint8_t id[TX_ID_LEN], const uint8_t *raw,
    size_t len, uint64_t added_ms)
{
	uint8_t	t[8];

	store_le64(t, added_ms);
	store_op_add(s, STORE_OP_PUT, STORE_T_TXS, id, TX_ID_LEN, t, 8, raw, len);
	return 0;
}

int
store_tx_del(struct store *s, const uint8_t id[TX_ID_LEN])
{
	store_op_add(s, STORE_OP_DEL, STORE_T_TXS, id, TX_ID_LEN, NULL, 0,
	    NULL, 0);
	return 0;
}

int
store_peer_put(struct store *s, const char *addr, uint64_t seen_ms)
{
	uint8_t	t[8];

	if (strlen(addr) == 0 || strlen(addr) >= STORE_PEER_MAX)
		return 0;
	store_le64(t, seen_ms);
	store_op_add(s, STORE_OP_PUT, STORE_T_PEERS, addr, strlen(addr), t, 8,
	    NULL, 0);
	return 0;
}

int
store_peer_del(struct store *s, const char *addr)
{
	if (strlen(addr) == 0 || strlen(addr) >= STORE_PEER_MAX)
		return 0;
	store_op_add(s, STORE_OP_DEL, STORE_T_PEERS, addr, strlen(addr), NULL,
	    0, NULL, 0);
	return 0;
}

int
store_ban_put(struct store *s, const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen)
{
	if (klen == 0 || klen > STORE_BAN_KEY_MAX || vlen > STORE_BAN_VAL_MAX)
		return 0;
	store_op_add(s, STORE_OP_PUT, STORE_T_BANS, key, klen, NULL, 0, val,
	    vlen);
	return 0;
}

int
store_ban_clear(struct store *s)
{
	store_op_add(s, STORE_OP_CLEAR, STORE_T_BANS, NULL, 0, NULL, 0, NULL, 0);
	return 0;
}

/*
 * Applies ops in one write transaction and commits it (synced unless
 * --sync none).  Runs on the commit thread, or on the loop thread when
 * nothing else writes.  0, or an LMDB error with *doing set (static).
 */
static int
store_apply(struct store *s, const struct store_ops *ops, const char **doing,
    char *what, size_t whatlen)
{
	MDB_dbi		 dbis[] = { s->txs, s->peers, s->bans };
	MDB_txn		*txn;
	MDB_val		 k, v;
	const uint8_t	*p = ops->buf, *end = ops->buf + ops->len;
	uint32_t	 vlen;
	size_t		 klen;
	int		 rc = 0;

	*doing = "cannot begin a write transaction";
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return rc;
	while (p < end) {
		klen = (size_t)p[2] | (size_t)p[3] << 8;
		memcpy(&vlen, p + 4, 4);
		k.mv_data = (void *)(p + STORE_OP_HDR);
		k.mv_size = klen;
		v.mv_data = (void *)(p + STORE_OP_HDR + klen);
		v.mv_size = vlen;
		snprintf(what, whatlen, "%s", store_op_what[p[1]]);
		if (p[0] == STORE_OP_PUT) {
			*doing = "cannot write a";
			rc = mdb_put(txn, dbis[p[1]], &k, &v, 0);
		} else if (p[0] == STORE_OP_DEL) {
			*doing = "cannot delete a";
			if ((rc = mdb_del(txn, dbis[p[1]], &k, NULL)) == MDB_NOTFOUND)
				rc = 0;
		} else {
			*doing = "cannot clear the";
			snprintf(what, whatlen, "%ss", store_op_what[p[1]]);
			rc = mdb_drop(txn, dbis[p[1]], 0);
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
		p += STORE_OP_HDR + klen + vlen;
	}
	*doing = "cannot commit";
	what[0] = '\0';
	return mdb_txn_commit(txn);
}

/* The result of store_apply as the error of s ("cannot write a ban: ..."). */
static int
store_result(struct store *s, int rc, const char *doing, const char *what)
{
	char	buf[96];

	if (rc == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s%s%s", doing, what[0] != '\0' ? " " : "",
	    what);
	store_seterr_rc(s, buf, rc);
	return -1;
}

int
store_commit(struct store *s)
{
	const char	*doing;
	char		 what[32];
	int		 rc;

	if (s->busy && store_commit_wait(s) == -1)
		return -1;
	if (s->pending.len == 0)
		return 0;
	rc = store_apply(s, &s->pending, &doing, what, sizeof(what));
	s->pending.len = 0;
	return store_result(s, rc, doing, what);
}

/* The commit thread: applies each batch handed to it, then signals the eventfd. */
static void *
store_thread_main(void *arg)
{
	struct store	*s = arg;
	struct timespec	 t0, t1;
	uint64_t	 one = 1;
	int		 rc;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->go && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->go)
			break;
		pthread_mutex_unlock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = store_apply(s, &s->flight, &s->t_doing, s->t_what,
		    sizeof(s->t_what));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		pthread_mutex_lock(&s->mu);
		s->t_rc = rc;
		s->t_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
		    (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
		s->go = 0;
		s->done = 1;
		pthread_cond_broadcast(&s->cv);
		/* Under the lock: store_close cannot close the fd meanwhile. */
		if (write(s->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
			log_error("store", "commit thread: eventfd: %s",
			    strerror(errno));
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
store_commit_start(struct store *s)
{
	struct store_ops	 t;
	sigset_t		 all, old;
	int			 rc;

	if (s->busy)
		return 1;
	if (s->pending.len == 0)
		return 1;
	if (!s->thread_on) {
		if (s->efd == -1)
			return -1;
		/* The thread blocks every signal: they belong to the loop thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&s->thread, NULL, store_thread_main, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0)
			return -1;
		s->thread_on = 1;
	}
	/* The buffers swap: the loop fills one while the thread writes the other. */
	t = s->flight;
	s->flight = s->pending;
	s->pending = t;
	s->pending.len = 0;
	s->busy = 1;
	pthread_mutex_lock(&s->mu);
	s->done = 0;
	s->go = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int
store_commit_fd(const struct store *s)
{
	return s->efd;
}

/* Collects a finished commit: 0, or -1 with the error set.  Lock held by no one. */
static int
store_commit_collect(struct store *s, uint64_t *ns)
{
	if (ns != NULL)
		*ns = s->t_ns;
	s->busy = 0;
	s->flight.len = 0;
	return store_result(s, s->t_rc, s->t_doing, s->t_what);
}

int
store_commit_done(struct store *s, uint64_t *ns)
{
	uint64_t	n;
	int		done;

	if (read(s->efd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_error("store", "eventfd: %s", strerror(errno));
	if (!s->busy)
		return 1;
	pthread_mutex_lock(&s->mu);
	done = s->done;
	pthread_mutex_unlock(&s->mu);
	if (!done)
		return 1;
	return store_commit_collect(s, ns);
}

int
store_commit_wait(struct store *s)
{
	if (!s->busy)
		return 0;
	pthread_mutex_lock(&s->mu);
	while (!s->done)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return store_commit_collect(s, NULL);
}

/* A read transaction: committed data only (the batch is applied at commit). */
static int
store_read_begin(struct store *s, MDB_txn **txn)
{
	int	rc;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn)) != 0) {
		store_seterr_rc(s, "cannot begin a read transaction", rc);
		return -1;
	}
	return 0;
}

/*
 * Calls fn for every record of table dbi, in key order, in a read
 * transaction, until it returns non-zero.  0, or -1 (store_error: "cannot
 * read a <what>").
 */
static int
store_each(struct store *s, MDB_dbi dbi, const char *what,
    int (*fn)(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg), void *arg)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	char		 doing[64];
	int		 rc, ret = 0;

	if (store_read_begin(s, &txn) == -1)
		return -1;
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0) {
		store_seterr_rc(s, "cannot read", rc);
		mdb_txn_abort(txn);
		return -1;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (fn(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg) != 0)
			break;
	if (rc != 0 && rc != MDB_NOTFOUND) {
		snprintf(doing, sizeof(doing), "cannot read a %s", what);
		store_seterr_rc(s, doing, rc);
		ret = -1;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return ret;
}

struct store_tx_walk {
	int	(*fn)(const uint8_t id[TX_ID_LEN], const uint8_t *raw, size_t len,
		    uint64_t added_ms, void *arg);
	void	*arg;
	size_t	 bad;
};

static int
store_tx_rec(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	struct store_tx_walk	*w = arg;

	if (klen != TX_ID_LEN || vlen < 8) {
		w->bad++;
		return 0;
	}
	return w->fn(key, val + 8, vlen - 8, store_get64(val), w->arg);
}

int
store_tx_each(struct store *s, int (*fn)(const uint8_t id[TX_ID_LEN],
    const uint8_t *raw, size_t len, uint64_t added_ms, void *arg), void *arg)
{
	struct store_tx_walk	w = { fn, arg, 0 };
	int			ret;

	ret = store_each(s, s->txs, "transaction", store_tx_rec, &w);
	if (w.bad > 0)
		log_warn("store", "%s: %zu records of db txs are malformed (not "
		    "a 32-byte id and an 8-byte time): skipped", s->path, w.bad);
	return ret;
}

struct store_peer_walk {
	int	(*fn)(const char *addr, uint64_t seen_ms, void *arg);
	void	*arg;
};

static int
store_peer_rec(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct store_peer_walk	*w = arg;
	char			 addr[STORE_PEER_MAX];

	if (klen == 0 || klen >= sizeof(addr) || vlen != 8)
		return 0;
	memcpy(addr, key, klen);
	addr[klen] = '\0';
	return w->fn(addr, store_get64(val), w->arg);
}

int
store_peer_each(struct store *s, int (*fn)(const char *addr, uint64_t seen_ms,
    void *arg), void *arg)
{
	struct store_peer_walk	w = { fn, arg };

	return store_each(s, s->peers, "peer", store_peer_rec, &w);
}

int
store_ban_each(struct store *s, int (*fn)(const uint8_t *key, size_t klen,
    const uint8_t *val, size_t vlen, void *arg), void *arg)
{
	return store_each(s, s->bans, "ban", fn, arg);
}

size_t
store_tx_count(struct store *s)
{
	MDB_txn		*txn;
	MDB_stat	 st;
	size_t		 n = 0;

	if (store_read_begin(s, &txn) == -1)
		return 0;
	if (mdb_stat(txn, s->txs, &st) == 0)
		n = st.ms_entries;
	mdb_txn_abort(txn);
	return n;
}
