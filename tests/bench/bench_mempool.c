/*
 * bench_mempool.c: memory and speed of the mempool (daemon/mempool.c) with
 * 100,000 distinct signed transactions of ~190 bytes (memo 0-20 bytes).
 * Prints the process's resident memory (VmRSS) before and after filling
 * the pool, the difference against the node's budget (<= 64 MiB for a node
 * holding 100,000 transactions), and add/get rates.  The transactions are
 * built beforehand in one flat buffer so that "before" already holds them.
 * Prints figures only; never fails on timing or size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/mempool.h"
#include "proto/tx.h"
#include "lib/util.h"

#define NTX		100000
#define NKEYS		64
#define STRIDE		(TX_MIN_LEN + 20)	/* the longest tx built here */
#define GET_ROUNDS	10

struct built {
	uint8_t		id[TX_ID_LEN];
	uint32_t	len;
};

static void
die(const char *msg)
{
	fprintf(stderr, "bench_mempool: %s\n", msg);
	exit(1);
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

int
main(void)
{
	uint8_t			 pk[NKEYS][TX_PK_LEN], sk[NKEYS][TX_SK_LEN];
	struct built		*b;
	uint8_t			*raws;
	struct mempool		*mp;
	struct tx		 t;
	uint64_t		 now, t0, add_ns = 0, get_ns;
	size_t			 i, r, total_len = 0, found = 0;
	long			 before, after;
	double			 delta_mib;

	if (sodium_init() < 0)
		die("sodium_init failed");
	b = calloc(NTX, sizeof(*b));
	raws = malloc((size_t)NTX * STRIDE);
	if (b == NULL || raws == NULL)
		die("out of memory");
	for (i = 0; i < NKEYS; i++)
		crypto_sign_keypair(pk[i], sk[i]);

	now = now_ms();
	for (i = 0; i < NTX; i++) {
		memset(&t, 0, sizeof(t));
		t.version = TX_VERSION;
		tx_netid(t.netid, "bench-net");
		randombytes_buf(t.recipient, TX_PK_LEN);
		t.amount = i % 101;
		t.nonce = i / NKEYS;
		t.timestamp_ms = now - (i % 1000);
		t.memo_len = (uint16_t)(i % 21);
		memset(t.memo, 'm', t.memo_len);
		if (tx_sign(&t, sk[i % NKEYS]) != 0)
			die("tx_sign");
		b[i].len = (uint32_t)tx_encode(&t, raws + i * STRIDE, STRIDE);
		if (b[i].len == 0)
			die("tx_encode");
		tx_id(&t, b[i].id);
		total_len += b[i].len;
	}

	mp = mempool_new(NTX, (size_t)NTX * TX_MAX_LEN);
	before = rss_kib();
	for (i = 0; i < NTX; i++) {
		/* The loop hands the mempool a decoded tx; decoding is not timed. */
		if (tx_decode(&t, raws + i * STRIDE, b[i].len) != TX_OK)
			die("tx_decode");
		t0 = mono_ns();
		if (mempool_add(mp, b[i].id, &t, raws + i * STRIDE, b[i].len,
		    now, 0, NULL, NULL) != MEMPOOL_ADDED)
			die("mempool_add refused a distinct transaction");
		add_ns += mono_ns() - t0;
	}
	after = rss_kib();
	if (mempool_count(mp) != NTX || mempool_bytes(mp) != total_len)
		die("count or bytes wrong");

	t0 = mono_ns();
	for (r = 0; r < GET_ROUNDS; r++)
		for (i = 0; i < NTX; i++) {
			/* A stride through the ids defeats the cache's help. */
			size_t	k = (i * 7919) % NTX;

			found += mempool_get(mp, b[k].id) != NULL;
		}
	get_ns = mono_ns() - t0;
	if (found != (size_t)GET_ROUNDS * NTX)
		die("mempool_get lost a transaction");

	delta_mib = (double)(after - before) / 1024.0;
	printf("mempool: %d txs, %zu bytes encoded (avg %.0f B)\n", NTX,
	    total_len, (double)total_len / NTX);
	printf("  VmRSS before: %8.1f MiB\n", (double)before / 1024.0);
	printf("  VmRSS after:  %8.1f MiB\n", (double)after / 1024.0);
	printf("  delta:        %8.1f MiB for %d txs (%.0f B per tx; target <= 64 MiB for the node)\n",
	    delta_mib, NTX, (double)(after - before) * 1024.0 / NTX);
	printf("  add: %.0f ops/s   get: %.0f ops/s\n",
	    (double)NTX * 1e9 / (double)add_ns,
	    (double)GET_ROUNDS * NTX * 1e9 / (double)get_ns);
	mempool_free(mp);
	free(raws);
	free(b);
	return 0;
}
