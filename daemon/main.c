/*
 * main.c: noded's start-up, signals and shutdown.  One event loop thread
 * owns every socket, peer and the mempool; see docs/ARCHITECTURE.md.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "base/budget.h"
#include "base/config.h"
#include "base/log.h"
#include "base/node.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "core/store.h"
#include "http/api.h"
#include "lib/util.h"
#include "lib/version.h"
#include "p2p/net.h"
#include "p2p/relay.h"
#include "proto/hex.h"

#define NODE_KEY_FILE	"node_key"
#define NODE_LOCK_FILE	"noded.lock"

static const struct timeval main_linger = { 0, 200 * 1000 };
static const struct timeval main_second = { 1, 0 };

/* The node's modules, lowest layer first; main wires them and tears them down. */
struct main_node {
	struct node	 n;
	struct mempool	*mempool;
	struct store	*store;
	struct admit	*admit;
	struct net	*net;
	struct relay	*relay;
	struct api	*api;
};

/* Creates dir and its parents (mode 0700 for the last).  Returns 0 or -1. */
static int
main_mkdirs(const char *dir)
{
	char path[4096], *s;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (s = path + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Takes the data dir for this process: an exclusive flock(2) on
 * DATA_DIR/noded.lock, which holds our pid, kept until exit (the kernel
 * drops it however the process ends).  Two nodes on one data dir would
 * share an identity, a log and a store.  0, or -1 after printing who holds
 * it (exit 2) or what failed (exit 1) in *status.
 */
static int
main_lock(const char *dir, const char *source, int *status)
{
	char	path[4200], buf[32];
	ssize_t	r;
	int	fd, len;

	snprintf(path, sizeof(path), "%s/%s", dir, NODE_LOCK_FILE);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		fprintf(stderr, "noded: cannot open %s: %s\n", path, strerror(errno));
		*status = 1;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK) {
			fprintf(stderr, "noded: cannot lock %s: %s\n", path,
			    strerror(errno));
			*status = 1;
		} else {
			r = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[r > 0 ? r : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			fprintf(stderr, "noded: %s '%s' is in use by another noded "
			    "(pid %s): one node per data dir\n", source, dir,
			    buf[0] != '\0' ? buf : "unknown");
			*status = 2;
		}
		close(fd);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)len, 0) != len) {
		fprintf(stderr, "noded: cannot write %s: %s\n", path, strerror(errno));
		*status = 1;
		close(fd);
		return -1;
	}
	/* The descriptor stays open, holding the lock, until the process ends. */
	return 0;
}

/*
 * Loads the node's identity key from DATA_DIR/node_key (128 hex digits), or
 * creates it (mode 0600) on first start.  Returns 0, or -1 after printing.
 */
static int
main_node_key(struct node *n, const char *dir)
{
	char path[4200], buf[2 * TX_SK_LEN + 2];
	char hexbuf[2 * TX_SK_LEN + 1];
	ssize_t r;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, NODE_KEY_FILE);
	n->node_sk = sodium_malloc(TX_SK_LEN);
	if (n->node_sk == NULL) {
		fprintf(stderr, "noded: cannot allocate secure memory\n");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		r = read(fd, buf, sizeof(buf));
		close(fd);
		len = r > 0 ? (size_t)r : 0;
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			len--;
		if (len != 2 * TX_SK_LEN ||
		    hex_decode(n->node_sk, TX_SK_LEN, buf, len) == -1) {
			sodium_memzero(buf, sizeof(buf));
			fprintf(stderr, "noded: %s: not a node key (expected %d hex "
			    "digits); move it away to create a new identity\n", path,
			    2 * TX_SK_LEN);
			return -1;
		}
		sodium_memzero(buf, sizeof(buf));
		crypto_sign_ed25519_sk_to_pk(n->node_pk, n->node_sk);
		return 0;
	}
	if (errno != ENOENT) {
		fprintf(stderr, "noded: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	crypto_sign_keypair(n->node_pk, n->node_sk);
	hex_encode(hexbuf, n->node_sk, TX_SK_LEN);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, hexbuf, 2 * TX_SK_LEN) != 2 * TX_SK_LEN ||
	    write(fd, "\n", 1) != 1 || fsync(fd) == -1) {
		fprintf(stderr, "noded: cannot write %s: %s\n", path, strerror(errno));
		sodium_memzero(hexbuf, sizeof(hexbuf));
		if (fd != -1)
			close(fd);
		return -1;
	}
	sodium_memzero(hexbuf, sizeof(hexbuf));
	close(fd);
	return 0;
}

static void
main_shutdown(struct main_node *m, const char *why)
{
	if (m->n.stopping)
		return;
	m->n.stopping = 1;
	log_info("main", "%s: shutting down", why);
	api_shutdown(m->api);
	net_shutdown(m->net, "shutting down");
	/* Drain: every queued job is verified and answered before the threads go. */
	admit_shutdown(m->admit);
	/* A moment for the API's last answers (503s, verdicts) to leave. */
	event_base_loopexit(m->n.base, &main_linger);
}

/* Once a second: the log's summary of a libevent burst that ended; freed heap back. */
static void
main_tickcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_tick();
	budget_tick();
}

static void
main_signalcb(evutil_socket_t sig, short what, void *arg)
{
	struct main_node *m = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (strcmp(m->n.cfg->log_file, CONFIG_LOG_NONE) == 0)
			log_info("main", "SIGHUP: no log file to reopen (--log-file "
			    "none: the log goes to stderr)");
		else if (log_reopen() == -1)
			log_error("main", "SIGHUP: cannot reopen the log file: %s",
			    strerror(errno));
		else
			log_info("main", "SIGHUP: log file reopened");
		return;
	}
	main_shutdown(m, sig == SIGTERM ? "SIGTERM" : "SIGINT");
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct main_node m;
	struct node *n = &m.n;
	struct event *sigs[3] = { NULL, NULL, NULL }, *tick = NULL;
	const int signos[3] = { SIGTERM, SIGINT, SIGHUP };
	char laddr[ADDR_STR_MAX], aaddr[ADDR_STR_MAX];
	char storedir[4200], err[4800];
	struct addr bound;
	int rc, i, status = 1;

	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "noded: libsodium failed to initialise\n");
		return 1;
	}
	rc = config_load(&cfg, argc, argv);
	if (rc == 1)
		return 0;
	if (rc == -1)
		return 2;

	n->cfg = &cfg;
	/* Messages name the option's source: NODED_DATA_DIR, not --data-dir. */
	if (main_mkdirs(cfg.data_dir) == -1) {
		fprintf(stderr, "noded: %s '%s': %s\n",
		    config_source(&cfg, "data-dir"), cfg.data_dir, strerror(errno));
		return 1;
	}
	if (main_lock(cfg.data_dir, config_source(&cfg, "data-dir"), &rc) == -1)
		return rc;
	/* The key first: a node without a usable host name is named after its id. */
	if (main_node_key(n, cfg.data_dir) == -1)
		return 1;
	hex_encode(n->node_id_hex, n->node_pk, TX_PK_LEN);
	if (cfg.name[0] == '\0')
		snprintf(cfg.name, sizeof(cfg.name), "node-%.8s", n->node_id_hex);
	/* The log goes to one place: its file, or stderr with --log-file none. */
	if (log_open(cfg.name, strcmp(cfg.log_file, CONFIG_LOG_NONE) == 0 ?
	    NULL : cfg.log_file, cfg.log_level, cfg.log_format) == -1) {
		fprintf(stderr, "noded: %s '%s': %s\n",
		    config_source(&cfg, "log-file"), cfg.log_file, strerror(errno));
		return 1;
	}
	log_libevent_route();

	n->base = event_base_new();
	if (n->base == NULL) {
		log_error("main", "cannot create the event loop");
		return 1;
	}
	n->start_ms = now_ms();
	tx_policy_default(&n->policy, cfg.network);
	n->policy.max_amount = cfg.max_amount;
	n->policy.max_memo = cfg.max_memo;
	n->policy.max_future_ms = cfg.max_future_ms;
	n->policy.max_age_ms = cfg.max_age_ms;
	memcpy(n->netid, n->policy.netid, TX_NETID_LEN);

	/* The store before anything listens: a node that cannot keep what it accepts does not start. */
	snprintf(storedir, sizeof(storedir), "%s/%s", cfg.data_dir, STORE_DIR);
	if ((m.store = store_open(storedir, cfg.store_map_size, cfg.sync, err,
	    sizeof(err))) == NULL) {
		log_error("main", "%s", err);
		event_base_free(n->base);
		log_close();
		return STORE_EXIT;
	}

	/* Lowest layer first: each module is handed the ones it uses. */
	budget_limit(BUDGET_PEER_SEND, cfg.peer_send_budget);
	budget_limit(BUDGET_API_BODY, cfg.api_body_budget);
	budget_limit(BUDGET_EVENTS, cfg.events_budget);
	m.mempool = mempool_new(cfg.mempool_max_txs, cfg.mempool_max_bytes);
	m.admit = admit_new(n, m.mempool);
	admit_set_store(m.admit, m.store);
	if (admit_restore(m.admit, err, sizeof(err)) == -1) {
		log_error("main", "%s", err);
		status = STORE_EXIT;
		goto out;
	}
	m.net = net_new(n);
	net_set_store(m.net, m.store);
	m.relay = relay_new(n, m.net, m.admit, m.mempool);
	/* The API first: a refused --api bind must not leave the P2P port opened. */
	if ((m.api = api_new(n, m.admit, m.mempool, m.net)) == NULL ||
	    net_start(m.net) == -1)
		goto out;
	api_set_prov(m.api, relay_prov(m.relay));
	for (i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(n->base, signos[i], main_signalcb, &m);
		evsignal_add(sigs[i], NULL);
	}
	tick = event_new(n->base, -1, EV_PERSIST, main_tickcb, NULL);
	if (tick != NULL)
		event_add(tick, &main_second);
	bound = cfg.listen;
	bound.port = net_listen_port(m.net);
	addr_str(&bound, laddr, sizeof(laddr));
	bound = cfg.api;
	bound.port = api_port(m.api);
	addr_str(&bound, aaddr, sizeof(aaddr));
	log_info("main", "noded %s started: node %.16s network %s listen %s "
	    "api %s validators %u", version_get(), n->node_id_hex, cfg.network,
	    laddr, aaddr, cfg.validators);
	log_started();

	event_base_dispatch(n->base);
	status = 0;

out:
	/* One teardown for a clean stop and a failed start alike. */
	if (!n->stopping)
		main_shutdown(&m, status == 0 ? "event loop ended" : "start-up failed");
	api_free(m.api);
	net_free(m.net);
	relay_free(m.relay);
	admit_free(m.admit);
	store_close(m.store);
	mempool_free(m.mempool);
	for (i = 0; i < 3; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	if (tick != NULL)
		event_free(tick);
	event_base_free(n->base);
	sodium_free(n->node_sk);
	log_info("main", status == 0 ? "stopped" : "not started");
	log_close();
	return status;
}
