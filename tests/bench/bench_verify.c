/*
 * bench_verify.c: what proto/ adds to a signature check.  Times tx_validate
 * (decode, policy, id, Ed25519 verify) against a bare
 * crypto_sign_verify_detached over the same signed message, in interleaved
 * rounds, and prints the best of each and their ratio (target <= 1.05).
 * Prints figures only; never fails on timing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "proto/tx.h"

#define ROUNDS	15
#define ITERS	2000

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
main(void)
{
	struct tx_policy	 p;
	struct tx		 t;
	uint8_t			 seed[32], pk[TX_PK_LEN], sk[TX_SK_LEN];
	uint8_t			 rsk[TX_SK_LEN];
	uint8_t			 raw[TX_MAX_LEN], msg[512], id[TX_ID_LEN];
	size_t			 n, mlen;
	uint64_t		 t0, bare, full, best_bare = UINT64_MAX;
	uint64_t		 best_full = UINT64_MAX;
	volatile unsigned	 sink = 0;
	int			 r, i;
	double			 ratio;

	if (sodium_init() < 0) {
		fprintf(stderr, "bench_verify: sodium_init failed\n");
		return 1;
	}

	/* The test vector of docs/PROTOCOL.md section 6. */
	memset(&t, 0, sizeof(t));
	t.version = TX_VERSION;
	tx_netid(t.netid, "devnet");
	memset(seed, 0x02, sizeof(seed));
	crypto_sign_seed_keypair(t.recipient, rsk, seed);
	memset(seed, 0x01, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	t.amount = 42;
	t.nonce = 7;
	t.timestamp_ms = 1767225600000ULL;
	t.memo_len = 5;
	memcpy(t.memo, "hello", 5);
	if (tx_sign(&t, sk) != 0 || (n = tx_encode(&t, raw, sizeof(raw))) == 0) {
		fprintf(stderr, "bench_verify: cannot build the transaction\n");
		return 1;
	}
	tx_policy_default(&p, "devnet");

	/* The same signed message, built by hand for the bare verify. */
	memcpy(msg, TX_SIGN_CONTEXT, strlen(TX_SIGN_CONTEXT));
	mlen = strlen(TX_SIGN_CONTEXT);
	memcpy(msg + mlen, t.netid, TX_NETID_LEN);
	mlen += TX_NETID_LEN;
	memcpy(msg + mlen, raw, n - TX_SIG_LEN);
	mlen += n - TX_SIG_LEN;
	if (crypto_sign_verify_detached(t.sig, msg, mlen, t.sender) != 0 ||
	    tx_validate(raw, n, &p, t.timestamp_ms, NULL, id, NULL) != TX_OK) {
		fprintf(stderr, "bench_verify: the transaction does not verify\n");
		return 1;
	}

	for (r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (i = 0; i < ITERS; i++)
			sink += (unsigned)crypto_sign_verify_detached(
			    raw + n - TX_SIG_LEN, msg, mlen, t.sender);
		bare = now_ns() - t0;
		t0 = now_ns();
		for (i = 0; i < ITERS; i++)
			sink += (unsigned)tx_validate(raw, n, &p,
			    t.timestamp_ms, NULL, id, NULL);
		full = now_ns() - t0;
		if (bare < best_bare)
			best_bare = bare;
		if (full < best_full)
			best_full = full;
	}
	if (sink != 0) {
		fprintf(stderr, "bench_verify: a verification failed\n");
		return 1;
	}

	ratio = (double)best_full / (double)best_bare;
	printf("bench_verify: %zu-byte transaction, best of %d interleaved "
	    "rounds of %d\n", n, ROUNDS, ITERS);
	printf("  %-40s %8.2f us/op %8.0f op/s\n",
	    "bare crypto_sign_verify_detached", best_bare / 1e3 / ITERS,
	    ITERS * 1e9 / best_bare);
	printf("  %-40s %8.2f us/op %8.0f op/s\n",
	    "tx_validate (decode+policy+id+verify)", best_full / 1e3 / ITERS,
	    ITERS * 1e9 / best_full);
	printf("  %-40s %8.3f (target <= 1.05: %s)\n",
	    "ratio tx_validate / bare verify", ratio,
	    ratio <= 1.05 ? "met" : "NOT met");
	return 0;
}
