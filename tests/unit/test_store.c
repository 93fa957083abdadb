/*
 * test_store.c: the LMDB store: put, delete and read back across reopen,
 * peers, the format version, a map too small (map full), a read-only store
 * and corrupt or truncated files: a clear error naming the file, never a
 * crash.
 */
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "core/store.h"

#define MAP	(16ULL << 20)

static char	dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/store-unit-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh store directory for one test. */
static void
fresh(char *out, size_t len, const char *name)
{
	char	cmd[256];

	snprintf(out, len, "%s/%s", dir, name);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", out);
	assert_int_equal(system(cmd), 0);
}

static void
fake_tx(uint8_t id[TX_ID_LEN], uint8_t *raw, size_t len, unsigned seed)
{
	size_t	i;

	memset(id, 0, TX_ID_LEN);
	id[0] = (uint8_t)(seed >> 8);
	id[1] = (uint8_t)seed;
	for (i = 0; i < len; i++)
		raw[i] = (uint8_t)(seed + i);
}

struct seen {
	unsigned	n;
	uint64_t	sum_ms;
	int		bytes_ok;
};

static int
seen_tx(const uint8_t id[TX_ID_LEN], const uint8_t *raw, size_t len,
    uint64_t added_ms, void *arg)
{
	struct seen	*s = arg;
	uint8_t		 wid[TX_ID_LEN], want[200];
	unsigned	 seed = (unsigned)id[0] << 8 | id[1];

	fake_tx(wid, want, sizeof(want), seed);
	if (len != sizeof(want) || memcmp(raw, want, len) != 0 ||
	    memcmp(id, wid, TX_ID_LEN) != 0 || added_ms != 1000 + seed)
		s->bytes_ok = 0;
	s->n++;
	s->sum_ms += added_ms;
	return 0;
}

static int
seen_peer(const char *addr, uint64_t seen_ms, void *arg)
{
	char	*out = arg;

	snprintf(out + strlen(out), 256 - strlen(out), "%s=%llu;", addr,
	    (unsigned long long)seen_ms);
	return 0;
}

static void
test_store_put_delete_reload(void **state)
{
	struct store	*s;
	char		 path[128], err[512], peers[256] = "";
	uint8_t		 id[TX_ID_LEN], raw[200];
	struct seen	 seen = { 0, 0, 1 };
	unsigned	 i;

	(void)state;
	fresh(path, sizeof(path), "basic");
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	assert_false(store_dirty(s));
	for (i = 1; i <= 100; i++) {
		fake_tx(id, raw, sizeof(raw), i);
		assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), 1000 + i), 0);
	}
	assert_true(store_dirty(s));
	/* Readers see committed data only. */
	assert_int_equal(store_tx_count(s), 0);
	assert_int_equal(store_commit(s), 0);
	assert_false(store_dirty(s));
	assert_int_equal(store_tx_count(s), 100);
	fake_tx(id, raw, sizeof(raw), 7);
	assert_int_equal(store_tx_del(s, id), 0);
	fake_tx(id, raw, sizeof(raw), 999);	/* absent: no error */
	assert_int_equal(store_tx_del(s, id), 0);
	assert_int_equal(store_peer_put(s, "127.0.0.1:7001", 5), 0);
	assert_int_equal(store_peer_put(s, "127.0.0.1:7002", 6), 0);
	assert_int_equal(store_peer_del(s, "127.0.0.1:7002"), 0);
	/* On the commit thread: the fd says when; a new batch gathers meanwhile. */
	assert_int_equal(store_commit_start(s), 0);
	assert_true(store_busy(s));
	assert_true(store_dirty(s));
	assert_int_equal(store_commit_start(s), 1);	/* one in flight at a time */
	fake_tx(id, raw, sizeof(raw), 101);
	assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), 1101), 0);
	{
		struct pollfd	pfd = { .fd = store_commit_fd(s), .events = POLLIN };
		uint64_t	ns = 0;

		assert_int_equal(poll(&pfd, 1, 10000), 1);
		assert_int_equal(store_commit_done(s, &ns), 0);
		assert_true(ns > 0);
	}
	assert_false(store_busy(s));
	assert_true(store_dirty(s));		/* tx 101, not yet committed */
	assert_int_equal(store_tx_count(s), 99);
	store_close(s);				/* commits it */

	s = store_open(path, MAP, STORE_SYNC_NONE, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_tx_count(s), 100);
	assert_int_equal(store_tx_each(s, seen_tx, &seen), 0);
	assert_int_equal(seen.n, 100);
	assert_true(seen.bytes_ok);
	assert_int_equal(seen.sum_ms, 99 * 1000 + 5050 - 7 + 1101);
	assert_int_equal(store_peer_each(s, seen_peer, peers), 0);
	assert_string_equal(peers, "127.0.0.1:7001=5;");
	assert_int_equal(store_sync_mode(s), STORE_SYNC_NONE);
	store_close(s);
}

static int
count_ban(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    void *arg)
{
	char	*seen = arg;
	size_t	 n = strlen(seen);

	/* "k1=v1;" for each record, key and value one byte each here. */
	assert_int_equal(klen, 2);
	assert_int_equal(vlen, 1);
	snprintf(seen + n, 64 - n, "%c%c=%c;", key[0], key[1], val[0]);
	return 0;
}

/* The bans table: put, rewritten whole (clear then put), kept across a reopen. */
static void
test_store_bans(void **state)
{
	struct store	*s;
	char		 path[128], err[512], seen[64] = "";

	(void)state;
	fresh(path, sizeof(path), "bans");
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(store_ban_put(s, (const uint8_t *)"k1", 2,
	    (const uint8_t *)"a", 1), 0);
	assert_int_equal(store_ban_put(s, (const uint8_t *)"k2", 2,
	    (const uint8_t *)"b", 1), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_ban_each(s, count_ban, seen), 0);
	assert_string_equal(seen, "k1=a;k2=b;");
	assert_int_equal(store_ban_clear(s), 0);
	assert_int_equal(store_ban_put(s, (const uint8_t *)"k3", 2,
	    (const uint8_t *)"c", 1), 0);
	/* Too long a key is not kept (and is no error). */
	assert_int_equal(store_ban_put(s, (const uint8_t *)path,
	    STORE_BAN_KEY_MAX + 1, (const uint8_t *)"d", 1), 0);
	assert_int_equal(store_commit_start(s), 0);
	assert_int_equal(store_commit_wait(s), 0);
	store_close(s);
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	seen[0] = '\0';
	assert_int_equal(store_ban_each(s, count_ban, seen), 0);
	assert_string_equal(seen, "k3=c;");
	store_close(s);
}

/* Writes format version ver into the meta db, as another noded would. */
static void
set_version(const char *path, uint32_t ver)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 k = { 7, "version" }, v = { 4, &ver };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void
test_store_version(void **state)
{
	struct store	*s;
	char		 path[128], err[512];

	(void)state;
	fresh(path, sizeof(path), "version");
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	store_close(s);
	set_version(path, 2);	/* little-endian host */
	assert_null(store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err)));
	assert_non_null(strstr(err, "data.mdb"));
	assert_non_null(strstr(err, "store format version 2, but this noded reads "
	    "version 1"));
	set_version(path, STORE_FORMAT_VERSION);
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	store_close(s);
}

static void
test_store_map_full(void **state)
{
	struct store	*s;
	char		 path[128], err[512];
	uint8_t		 id[TX_ID_LEN], raw[200];
	unsigned	 i;
	int		 rc = 0;

	(void)state;
	fresh(path, sizeof(path), "full");
	s = store_open(path, 64 << 10, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	for (i = 1; i <= 2000 && rc == 0; i++) {
		fake_tx(id, raw, sizeof(raw), i);
		rc = store_tx_put(s, id, raw, sizeof(raw), 1000 + i);
	}
	assert_int_equal(rc, 0);	/* the batch is written at its commit */
	/* On the commit thread, the whole batch fails. */
	assert_int_equal(store_commit_start(s), 0);
	assert_int_equal(store_commit_wait(s), -1);
	assert_non_null(strstr(store_error(s), "cannot write a transaction"));
	assert_non_null(strstr(store_error(s), "the store is full"));
	assert_int_equal(store_tx_count(s), 0);
	/* On the calling thread, the same. */
	for (i = 1; i <= 2000; i++) {
		fake_tx(id, raw, sizeof(raw), i);
		assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), 1000 + i), 0);
	}
	assert_int_equal(store_commit(s), -1);
	assert_non_null(strstr(store_error(s), "data.mdb"));
	assert_non_null(strstr(store_error(s), "the store is full"));
	assert_non_null(strstr(store_error(s), "--store-map-size"));
	/* Nothing of that batch was kept; a smaller one fits. */
	assert_int_equal(store_tx_count(s), 0);
	for (i = 1; i <= 20; i++) {
		fake_tx(id, raw, sizeof(raw), i);
		assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), 1000 + i), 0);
	}
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_tx_count(s), 20);
	store_close(s);
}

/* store_open in a child that cannot write path; returns what it printed. */
static void
open_unwritable(const char *path, char *out, size_t len)
{
	int	fds[2], status;
	pid_t	pid;
	ssize_t	n;

	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		char	err[512];

		close(fds[0]);
		/* root writes anywhere: drop to nobody. */
		if (geteuid() == 0 && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(3);
		if (store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err)) != NULL)
			_exit(1);
		(void)write(fds[1], err, strlen(err));
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_store_read_only(void **state)
{
	struct store	*s;
	char		 path[128], file[160], err[512], out[512];

	(void)state;
	fresh(path, sizeof(path), "ro");
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	store_close(s);
	chmod(dir, 0755);
	snprintf(file, sizeof(file), "%s/data.mdb", path);
	assert_int_equal(chmod(file, 0444), 0);
	snprintf(file, sizeof(file), "%s/lock.mdb", path);
	assert_int_equal(chmod(file, 0444), 0);
	assert_int_equal(chmod(path, 0555), 0);
	open_unwritable(path, out, sizeof(out));
	assert_non_null(strstr(out, "data.mdb"));
	assert_non_null(strstr(out, "not writable"));
	chmod(path, 0700);
}

static void
test_store_corrupt(void **state)
{
	struct store	*s;
	char		 path[128], file[160], err[512], junk[8192];
	uint8_t		 id[TX_ID_LEN], raw[200];
	unsigned	 i;
	int		 fd;

	(void)state;
	fresh(path, sizeof(path), "corrupt");
	s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
	assert_non_null(s);
	for (i = 1; i <= 500; i++) {
		fake_tx(id, raw, sizeof(raw), i);
		assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), 1000 + i), 0);
	}
	assert_int_equal(store_commit(s), 0);
	store_close(s);
	snprintf(file, sizeof(file), "%s/data.mdb", path);

	/* Cut short: its last commit names pages that are gone. */
	assert_int_equal(truncate(file, 3 * 4096), 0);
	assert_null(store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err)));
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "corrupt: truncated"));

	/* Its two meta pages overwritten. */
	memset(junk, 0x5a, sizeof(junk));
	assert_true((fd = open(file, O_WRONLY)) >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_null(store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err)));
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "not an LMDB file"));
}

/* Pages overwritten inside the file: LMDB may fault reading them; store_open must not. */
static void
test_store_corrupt_inside(void **state)
{
	struct store	*s;
	char		 path[128], file[160], err[512], junk[1024];
	uint8_t		 id[TX_ID_LEN], raw[200];
	unsigned	 i;
	off_t		 size, page;
	int		 fd, seed;

	(void)state;
	for (seed = 1; seed <= 4; seed++) {
		fresh(path, sizeof(path), "inside");
		s = store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err));
		assert_non_null(s);
		for (i = 1; i <= 600; i++) {
			fake_tx(id, raw, sizeof(raw), i);
			assert_int_equal(store_tx_put(s, id, raw, sizeof(raw), i), 0);
		}
		assert_int_equal(store_commit(s), 0);
		store_close(s);
		snprintf(file, sizeof(file), "%s/data.mdb", path);
		assert_true((fd = open(file, O_RDWR)) >= 0);
		size = lseek(fd, 0, SEEK_END);
		srandom((unsigned)seed);
		for (page = 2; page < size / 4096; page += 2) {
			for (i = 0; i < sizeof(junk); i++)
				junk[i] = (char)random();
			assert_int_equal(pwrite(fd, junk, sizeof(junk), page * 4096 +
			    random() % 3000), sizeof(junk));
		}
		close(fd);
		assert_null(store_open(path, MAP, STORE_SYNC_BATCH, err, sizeof(err)));
		assert_non_null(strstr(err, file));
	}
}

static void
test_store_sync_names(void **state)
{
	(void)state;
	assert_int_equal(store_sync_parse("batch"), STORE_SYNC_BATCH);
	assert_int_equal(store_sync_parse("always"), STORE_SYNC_ALWAYS);
	assert_int_equal(store_sync_parse("none"), STORE_SYNC_NONE);
	assert_int_equal(store_sync_parse("sometimes"), -1);
	assert_string_equal(store_sync_str(STORE_SYNC_NONE), "none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_put_delete_reload),
		cmocka_unit_test(test_store_version),
		cmocka_unit_test(test_store_bans),
		cmocka_unit_test(test_store_map_full),
		cmocka_unit_test(test_store_read_only),
		cmocka_unit_test(test_store_corrupt),
		cmocka_unit_test(test_store_corrupt_inside),
		cmocka_unit_test(test_store_sync_names),
	};

	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
