/*
 * bench_txreq.c: speed and memory of the download scheduler
 * (daemon/p2p/txreq.c) with the node's limits and a full table of 200,000
 * wanted ids from 100 peers (10 outbound, 40 productive, 50 other inbound,
 * each the creator of its quota, so that every pool is full), three
 * announcers each.  Prints the rate of
 * announcements, of polls with nothing due (against a walk of an idmap of
 * the same size, which the relay's 200 ms tick did before), of steady churn
 * (ids settled and new ones announced, then a poll), of timeouts moving
 * every id to its next announcer, and the cost of a disconnect.  Prints
 * figures only; never fails on timing or size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/idmap.h"
#include "p2p/txreq.h"
#include "lib/util.h"

#define NPEERS		100
#define NIDS		200000
#define CHURN		10000	/* ids settled and announced per round */
#define ROUNDS		50
#define TICK_MS		200

static size_t asks;

static void
on_ask(uint64_t peer, const uint8_t id[TXREQ_ID_LEN], void *arg)
{
	(void)peer;
	(void)id;
	(void)arg;
	asks++;
}

static void
id_make(uint8_t id[TXREQ_ID_LEN], uint64_t n)
{
	crypto_generichash(id, TXREQ_ID_LEN, (const uint8_t *)&n, sizeof(n),
	    NULL, 0);
}

/* Resident set size in KiB from /proc/self/status, or 0. */
static long
rss_kib(void)
{
	FILE	*f;
	char	 line[256];
	long	 kib = 0;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static double
secs(uint64_t t0)
{
	return (double)(mono_ns() - t0) / 1e9;
}

static void
walk_nothing(const uint8_t id[32], void *v, void *arg)
{
	(void)id;
	if (v == arg)
		abort();
}

static void
die(const char *msg)
{
	fprintf(stderr, "bench_txreq: %s\n", msg);
	exit(1);
}

int
main(void)
{
	static const struct txreq_limits lim = {
		.table_max = NIDS, .announced_max = 20000,
		.inflight = 5000, .alts = 8, .timeout_ms = 2000,
		.retry_ms = TICK_MS,
	};
	uint8_t (*ids)[TXREQ_ID_LEN];
	uint8_t *creator;		/* of each id, a peer serial */
	struct txreq *s;
	struct idmap *m;
	uint64_t now = 1000000, t0, p, i, next;
	long rss0, rss1;
	double d;
	size_t r, n, a, q, nprod;
	char err[256];

	if (sodium_init() < 0)
		die("sodium_init failed");
	ids = xmalloc((size_t)(NIDS + ROUNDS * CHURN) * sizeof(*ids));
	creator = xmalloc((size_t)(NIDS + ROUNDS * CHURN));
	for (i = 0; i < NIDS + ROUNDS * CHURN; i++)
		id_make(ids[i], i);
	rss0 = rss_kib();
	s = txreq_new(&lim, on_ask, NULL);
	for (p = 1; p <= NPEERS; p++)
		txreq_peer_add(s, p, p % 10 == 0);
	for (p = 1, nprod = 0; p <= NPEERS && nprod < 40; p++)
		if (p % 10 != 0) {
			txreq_peer_productive(s, p);
			nprod++;
		}

	/* Fill: each peer creates its quota of ids, each announced by two more. */
	t0 = mono_ns();
	for (p = 1, i = 0; p <= NPEERS; p++)
		for (q = txreq_quota(s, p); q > 0 && i < NIDS; q--, i++) {
			creator[i] = (uint8_t)p;
			for (a = 0; a < 3; a++)
				if (txreq_announce(s, 1 + (p - 1 + a * 7) % NPEERS,
				    ids[i], 0, now) > TXREQ_ANN_DROPPED)
					die("no room while filling");
		}
	d = secs(t0);
	rss1 = rss_kib();
	if (txreq_count(s) != NIDS || asks != NIDS)
		die("not every id is wanted and asked");
	if (txreq_check(s, err, sizeof(err)) != 0)
		die(err);
	printf("announce: %d ids x 3 announcers in %.3f s: %.0f announcements/s\n",
	    NIDS, d, 3.0 * NIDS / d);
	printf("memory: %ld KiB for %d entries (%.0f bytes each, with the id map)\n",
	    rss1 - rss0, NIDS, (double)(rss1 - rss0) * 1024.0 / NIDS);

	/* A poll with nothing due, against a walk of the table. */
	t0 = mono_ns();
	for (r = 0; r < 1000; r++)
		txreq_poll(s, now + 1 + r);
	d = secs(t0);
	printf("poll, nothing due, %d entries: %.3f us per poll\n", NIDS,
	    d * 1e6 / 1000);
	m = idmap_new();
	for (i = 0; i < NIDS; i++)
		idmap_put(m, ids[i], ids[i]);
	t0 = mono_ns();
	for (r = 0; r < 20; r++)
		idmap_foreach(m, walk_nothing, NULL);
	d = secs(t0);
	printf("  (a walk of an idmap of %d entries, as the old tick did: %.0f us)\n",
	    NIDS, d * 1e6 / 20);
	idmap_free(m);

	/*
	 * Churn: per tick, CHURN ids settle and CHURN new ones come, the
	 * oldest going and their creators announcing the new ones (the clock
	 * moves 1 ms a tick, so that no request times out here).
	 */
	asks = 0;
	next = NIDS;
	t0 = mono_ns();
	for (r = 0; r < ROUNDS; r++) {
		now += 1;
		for (n = 0; n < CHURN; n++) {
			txreq_received(s, 1 + (next - NIDS + n) % NPEERS,
			    ids[next - NIDS + n], TXREQ_RX_SETTLED, now);
			p = creator[next - NIDS + n];
			creator[next + n] = (uint8_t)p;
			for (a = 0; a < 3; a++)
				if (txreq_announce(s, 1 + (p - 1 + a * 7) % NPEERS,
				    ids[next + n], 0, now) > TXREQ_ANN_DROPPED)
					die("no room in churn");
		}
		next += CHURN;
		txreq_poll(s, now);
	}
	d = secs(t0);
	printf("churn: %d rounds of %d settled + %d new ids x 3 announcers + "
	    "a poll: %.0f ops/s, %.2f ms per round\n", ROUNDS, CHURN, CHURN,
	    (double)ROUNDS * CHURN * 4 / d, d * 1e3 / ROUNDS);
	if (txreq_check(s, err, sizeof(err)) != 0)
		die(err);

	/* Timeouts: every request out times out in one poll. */
	asks = 0;
	now += lim.timeout_ms;
	n = txreq_count(s);
	t0 = mono_ns();
	txreq_poll(s, now);
	d = secs(t0);
	printf("timeouts: %zu due in one poll, %zu asked of the next announcer: "
	    "%.3f s, %.0f entries/s\n", n, asks, d, (double)n / d);
	if (txreq_check(s, err, sizeof(err)) != 0)
		die(err);

	/* A disconnect: the peer's requests become due. */
	n = txreq_inflight(s, 1);
	t0 = mono_ns();
	txreq_peer_del(s, 1);
	d = secs(t0);
	printf("disconnect: a peer with %zu requests out: %.0f us\n", n, d * 1e6);
	asks = 0;
	t0 = mono_ns();
	txreq_poll(s, now);
	d = secs(t0);
	printf("  next poll: %zu asked elsewhere: %.0f us\n", asks, d * 1e6);
	if (txreq_check(s, err, sizeof(err)) != 0)
		die(err);

	t0 = mono_ns();
	txreq_free(s);
	printf("free: %.3f s\n", secs(t0));
	free(ids);
	free(creator);
	return 0;
}
