/*
 * bench_validator.c: throughput of the validator pool (daemon/validator.c)
 * with 1 and 2 threads, through a real event loop, against a bare
 * crypto_sign_verify_detached loop on 1 and 2 pthreads over the same signed
 * messages.  Measurements are interleaved; the best of ROUNDS of each is
 * printed with the ratios the node is held to.  Prints figures only; never
 * fails on timing.  BENCH_N in the environment overrides the tx count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "proto/tx.h"
#include "lib/util.h"
#include "core/validator.h"

#define NETWORK		"bench-net"
#define ROUNDS		5
#define DEFAULT_N	20000
#define NKEYS		16
#define CAPACITY	4096	/* the node's default --validator-queue */
#define MSG_MAX		(sizeof(TX_SIGN_CONTEXT) - 1 + TX_NETID_LEN + TX_MAX_LEN)

struct signed_tx {
	uint8_t		raw[TX_MAX_LEN];
	size_t		len;
	/* The same signature over the same message, for the bare loop. */
	uint8_t		msg[MSG_MAX];
	size_t		mlen;
	uint8_t		sig[TX_SIG_LEN];
	uint8_t		pk[TX_PK_LEN];
};

static struct signed_tx	*txs;
static size_t		 ntx;
static struct tx_policy	 policy;

static void
die(const char *msg)
{
	fprintf(stderr, "bench_validator: %s\n", msg);
	exit(1);
}

static void
txs_make(void)
{
	uint8_t		 pk[NKEYS][TX_PK_LEN], sk[NKEYS][TX_SK_LEN];
	struct signed_tx *s;
	struct tx	 t;
	size_t		 i, clen = sizeof(TX_SIGN_CONTEXT) - 1;
	uint64_t	 now = now_ms();

	for (i = 0; i < NKEYS; i++)
		crypto_sign_keypair(pk[i], sk[i]);
	txs = calloc(ntx, sizeof(*txs));
	if (txs == NULL)
		die("out of memory");
	for (i = 0; i < ntx; i++) {
		s = &txs[i];
		memset(&t, 0, sizeof(t));
		t.version = TX_VERSION;
		memcpy(t.netid, policy.netid, TX_NETID_LEN);
		randombytes_buf(t.recipient, TX_PK_LEN);
		t.amount = i % 101;
		t.nonce = i;
		t.timestamp_ms = now;
		t.memo_len = (uint16_t)(i % 21);
		memset(t.memo, 'b', t.memo_len);
		if (tx_sign(&t, sk[i % NKEYS]) != 0 ||
		    (s->len = tx_encode(&t, s->raw, sizeof(s->raw))) == 0)
			die("cannot build a transaction");
		memcpy(s->msg, TX_SIGN_CONTEXT, clen);
		memcpy(s->msg + clen, t.netid, TX_NETID_LEN);
		memcpy(s->msg + clen + TX_NETID_LEN, s->raw,
		    s->len - TX_SIG_LEN);
		s->mlen = clen + TX_NETID_LEN + s->len - TX_SIG_LEN;
		memcpy(s->sig, t.sig, TX_SIG_LEN);
		memcpy(s->pk, t.sender, TX_PK_LEN);
	}
	/* Both paths must agree that these verify. */
	if (crypto_sign_verify_detached(txs[0].sig, txs[0].msg, txs[0].mlen,
	    txs[0].pk) != 0)
		die("the hand-built signed message does not verify");
}

/* The pool, as the node drives it. */

struct pool_run {
	size_t	delivered;
	size_t	bad;
};

static void
pool_done(struct validator_job *job, void *arg)
{
	struct pool_run	*r = arg;

	r->delivered++;
	if (job->res.reason != TX_OK || !job->decoded)
		r->bad++;
	validator_job_free(job);
}

/* Verifies per second through the pool with nthreads workers. */
static double
pool_rate(unsigned nthreads)
{
	struct event_base	*base;
	struct validator	*v;
	struct validator_job	*job;
	struct pool_run		 r = { 0, 0 };
	uint64_t		 t0, t1, verified;
	size_t			 i;

	if ((base = event_base_new()) == NULL)
		die("event_base_new");
	v = validator_new(base, nthreads, CAPACITY, &policy, pool_done, &r);
	t0 = mono_ns();
	for (i = 0; i < ntx; i++) {
		job = xcalloc(1, sizeof(*job));
		job->raw = xmalloc(txs[i].len);
		memcpy(job->raw, txs[i].raw, txs[i].len);
		job->len = txs[i].len;
		while (validator_submit(v, job) == -1) {
			if (errno != EAGAIN)
				die("validator_submit");
			event_base_loop(base, EVLOOP_ONCE);
		}
	}
	while (r.delivered < ntx)
		event_base_loop(base, EVLOOP_ONCE);
	t1 = mono_ns();
	verified = validator_verified(v);
	validator_free(v);
	event_base_free(base);
	if (r.bad != 0 || verified != ntx)
		die("the pool rejected a valid transaction");
	return (double)ntx * 1e9 / (double)(t1 - t0);
}

/* The bare libsodium loop over the same messages. */

struct bare_arg {
	size_t			 from, to;
	pthread_barrier_t	*start;
	size_t			 bad;
};

static void *
bare_worker(void *arg)
{
	struct bare_arg	*a = arg;
	size_t		 i;

	pthread_barrier_wait(a->start);
	for (i = a->from; i < a->to; i++)
		if (crypto_sign_verify_detached(txs[i].sig, txs[i].msg,
		    txs[i].mlen, txs[i].pk) != 0)
			a->bad++;
	return NULL;
}

static double
bare_rate(unsigned nthreads)
{
	pthread_barrier_t	start;
	pthread_t		th[2];
	struct bare_arg		a[2];
	uint64_t		t0, t1;
	unsigned		i;

	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		a[i].from = ntx * i / nthreads;
		a[i].to = ntx * (i + 1) / nthreads;
		a[i].start = &start;
		a[i].bad = 0;
		if (pthread_create(&th[i], NULL, bare_worker, &a[i]) != 0)
			die("pthread_create");
	}
	pthread_barrier_wait(&start);
	t0 = mono_ns();
	for (i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		if (a[i].bad != 0)
			die("a bare verify failed");
	}
	t1 = mono_ns();
	pthread_barrier_destroy(&start);
	return (double)ntx * 1e9 / (double)(t1 - t0);
}

static void
keep_best(double *best, double v)
{
	if (v > *best)
		*best = v;
}

int
main(int argc, char **argv)
{
	double		 pool1 = 0, pool2 = 0, bare1 = 0, bare2 = 0;
	const char	*env;
	int		 round;

	if (sodium_init() < 0)
		die("sodium_init failed");
	ntx = DEFAULT_N;
	if ((env = getenv("BENCH_N")) != NULL && atol(env) > 0)
		ntx = (size_t)atol(env);
	tx_policy_default(&policy, NETWORK);
	txs_make();

	/* --bare: only the bare verify rate on both cores, for bench_network.py. */
	if (argc > 1 && strcmp(argv[1], "--bare") == 0) {
		for (round = 0; round < ROUNDS; round++)
			keep_best(&bare2, bare_rate(2));
		printf("bare_verify_rate_2_threads %.0f\n", bare2);
		free(txs);
		return 0;
	}

	printf("validator pool vs bare crypto_sign_verify_detached: %zu txs, "
	    "queue %d, best of %d\n", ntx, CAPACITY, ROUNDS);
	for (round = 0; round < ROUNDS; round++) {
		keep_best(&bare1, bare_rate(1));
		keep_best(&pool1, pool_rate(1));
		keep_best(&bare2, bare_rate(2));
		keep_best(&pool2, pool_rate(2));
	}
	printf("  bare verify, 1 thread:   %9.0f verifies/s\n", bare1);
	printf("  bare verify, 2 threads:  %9.0f verifies/s\n", bare2);
	printf("  pool, 1 thread:          %9.0f verifies/s\n", pool1);
	printf("  pool, 2 threads:         %9.0f verifies/s\n", pool2);
	printf("  bare 2 threads / bare 1 thread: %.2f (what this machine allows)\n",
	    bare2 / bare1);
	printf("  pool 1 thread / bare 1 thread: %.2f\n", pool1 / bare1);
	printf("  2 threads / 1 thread (pool): %.2f (target >= 1.85)\n",
	    pool2 / pool1);
	printf("  pool 2 threads / bare 2 threads: %.2f (target >= 0.90)\n",
	    pool2 / bare2);
	free(txs);
	return 0;
}
