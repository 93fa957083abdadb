/* test_validator.c: the validator pool with a real event loop. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "proto/tx.h"
#include "lib/util.h"
#include "core/validator.h"

#define NETWORK		"unit-test-net"
#define POLICY_MEMO	16	/* this test's policy memo bound */

static uint8_t		wallet_sk[TX_SK_LEN], wallet_pk[TX_PK_LEN];
static pthread_t	loop_thread;

/* What done() saw, per job origin. */
struct seen {
	unsigned	calls;
	int		off_loop;	/* done() ran on another thread */
	enum tx_reason	reason;
	int		decoded;
	uint8_t		id[TX_ID_LEN];
	uint64_t	verify_ns;
};

struct run {
	struct seen	*seen;
	size_t		 nseen;
	size_t		 delivered;
	int		 bad_origin;
	/* During validator_free: what a resubmit from done() answered. */
	struct validator *v;
	int		 resubmit_rv;
	int		 resubmit_err;
};

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(wallet_pk, wallet_sk);
	loop_thread = pthread_self();
	return 0;
}

static void
policy_make(struct tx_policy *p)
{
	tx_policy_default(p, NETWORK);
	p->max_memo = POLICY_MEMO;
}

/* A signed transaction on network net; returns its encoding (malloc'd). */
static uint8_t *
tx_make(struct tx *t, const char *net, uint64_t amount, uint64_t nonce,
    uint16_t memo_len, int64_t ts_offset_ms, size_t *len)
{
	uint8_t	*raw;

	memset(t, 0, sizeof(*t));
	t->version = TX_VERSION;
	tx_netid(t->netid, net);
	memset(t->recipient, 0x5a, sizeof(t->recipient));
	t->amount = amount;
	t->nonce = nonce;
	t->timestamp_ms = (uint64_t)((int64_t)now_ms() + ts_offset_ms);
	t->memo_len = memo_len;
	memset(t->memo, 'm', memo_len);
	if (tx_sign(t, wallet_sk) != 0)
		fail_msg("tx_sign");
	*len = tx_encoded_len(t);
	raw = malloc(*len);
	assert_non_null(raw);
	assert_int_equal(tx_encode(t, raw, *len), *len);
	return raw;
}

static struct validator_job *
job_new(uint8_t *raw, size_t len, uint64_t origin)
{
	struct validator_job	*job;

	job = calloc(1, sizeof(*job));
	assert_non_null(job);
	job->raw = raw;
	job->len = len;
	job->origin = origin;
	job->ctx = NULL;
	return job;
}

static void
on_done(struct validator_job *job, void *arg)
{
	struct run	*r = arg;
	struct seen	*s;

	if (job->origin >= r->nseen) {
		r->bad_origin = 1;
		validator_job_free(job);
		return;
	}
	s = &r->seen[job->origin];
	s->calls++;
	if (!pthread_equal(pthread_self(), loop_thread))
		s->off_loop = 1;
	s->reason = job->res.reason;
	s->decoded = job->decoded;
	memcpy(s->id, job->id, TX_ID_LEN);
	s->verify_ns = job->verify_ns;
	r->delivered++;
	if (r->v != NULL) {
		/* Called from validator_free: the pool takes nothing more. */
		job->origin = r->nseen + 1;
		r->resubmit_rv = validator_submit(r->v, job);
		r->resubmit_err = errno;
		if (r->resubmit_rv == 0)
			return;
	}
	validator_job_free(job);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fail_msg("timed out waiting for validator results");
}

/* Runs the loop until want jobs were delivered (10 s at most). */
static void
loop_until(struct event_base *base, struct run *r, size_t want)
{
	struct timeval	 tv = { 10, 0 };
	struct event	*ev;

	ev = evtimer_new(base, on_timeout, NULL);
	evtimer_add(ev, &tv);
	while (r->delivered < want)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	event_free(ev);
}

enum mangle {
	M_NONE = 0,
	M_SIG,		/* flip a signature bit */
	M_TRUNCATE,	/* drop the last byte */
	M_EMPTY,	/* zero bytes */
	M_VERSION,	/* version byte 2 */
	M_MEMO_HUGE,	/* memo_len field 300 (beyond TX_MEMO_MAX), length to match */
	M_TRAILING	/* one byte too many */
};

static const struct vcase {
	const char	*name;
	const char	*net;
	uint64_t	 amount;
	uint16_t	 memo_len;
	int64_t		 ts_offset_ms;
	enum mangle	 mangle;
	enum tx_reason	 want;
	int		 decoded;
	int		 verified;	/* reached signature verification */
} vcases[] = {
	{ "valid", NETWORK, 42, 0, 0, M_NONE, TX_OK, 1, 1 },
	{ "valid memo", NETWORK, 0, POLICY_MEMO, -1000, M_NONE, TX_OK, 1, 1 },
	{ "amount limit", NETWORK, 100, 3, 0, M_NONE, TX_OK, 1, 1 },
	{ "amount 150", NETWORK, 150, 0, 0, M_NONE, TX_ERR_AMOUNT, 1, 0 },
	{ "wrong network", "other-net", 1, 0, 0, M_NONE, TX_ERR_NETWORK, 1, 0 },
	{ "policy memo", NETWORK, 1, POLICY_MEMO + 1, 0, M_NONE, TX_ERR_MEMO, 1, 0 },
	{ "future", NETWORK, 1, 0, 3600 * 1000, M_NONE, TX_ERR_FUTURE, 1, 0 },
	{ "expired", NETWORK, 1, 0, -48LL * 3600 * 1000, M_NONE, TX_ERR_EXPIRED, 1, 0 },
	{ "bad signature", NETWORK, 1, 0, 0, M_SIG, TX_ERR_SIGNATURE, 1, 1 },
	{ "truncated", NETWORK, 1, 4, 0, M_TRUNCATE, TX_ERR_ENCODING, 0, 0 },
	{ "trailing", NETWORK, 1, 4, 0, M_TRAILING, TX_ERR_ENCODING, 0, 0 },
	{ "empty", NETWORK, 1, 0, 0, M_EMPTY, TX_ERR_ENCODING, 0, 0 },
	{ "version 2", NETWORK, 1, 0, 0, M_VERSION, TX_ERR_VERSION, 0, 0 },
	{ "memo_len 300", NETWORK, 1, TX_MEMO_MAX, 0, M_MEMO_HUGE, TX_ERR_MEMO, 0, 0 },
};
#define NVCASES	(sizeof(vcases) / sizeof(vcases[0]))

/* Builds case c's bytes; *id gets the id of the tx they came from. */
static uint8_t *
vcase_bytes(const struct vcase *c, uint64_t nonce, size_t *len,
    uint8_t id[TX_ID_LEN])
{
	struct tx	 t;
	uint8_t		*raw;

	raw = tx_make(&t, c->net, c->amount, nonce, c->memo_len,
	    c->ts_offset_ms, len);
	tx_id(&t, id);
	switch (c->mangle) {
	case M_NONE:
		break;
	case M_SIG:
		raw[*len - 10] ^= 0x01;
		break;
	case M_TRUNCATE:
		(*len)--;
		break;
	case M_TRAILING:
		raw = realloc(raw, *len + 1);
		assert_non_null(raw);
		raw[(*len)++] = 0;
		break;
	case M_EMPTY:
		*len = 0;
		break;
	case M_VERSION:
		raw[0] = 2;
		break;
	case M_MEMO_HUGE:
		raw = realloc(raw, TX_MIN_LEN + 300);
		assert_non_null(raw);
		memset(raw + *len, 0, TX_MIN_LEN + 300 - *len);
		*len = TX_MIN_LEN + 300;
		raw[TX_BODY_FIXED_LEN - 2] = 300 >> 8;
		raw[TX_BODY_FIXED_LEN - 1] = 300 & 0xff;
		break;
	}
	return raw;
}

static void
test_validator_reasons(void **state)
{
	struct event_base	*base;
	struct validator	*v;
	struct tx_policy	 pol;
	struct seen		 seen[NVCASES];
	uint8_t			 ids[NVCASES][TX_ID_LEN], zero[TX_ID_LEN];
	struct run		 r;
	uint8_t			*raw;
	size_t			 i, len, nverified = 0;

	(void)state;
	memset(seen, 0, sizeof(seen));
	memset(zero, 0, sizeof(zero));
	memset(&r, 0, sizeof(r));
	r.seen = seen;
	r.nseen = NVCASES;
	policy_make(&pol);
	base = event_base_new();
	assert_non_null(base);
	v = validator_new(base, 2, 64, &pol, on_done, &r);
	assert_int_equal(validator_capacity(v), 64);
	assert_int_equal(validator_verified(v), 0);

	for (i = 0; i < NVCASES; i++) {
		raw = vcase_bytes(&vcases[i], 1000 + i, &len, ids[i]);
		assert_int_equal(validator_submit(v, job_new(raw, len, i)), 0);
		nverified += vcases[i].verified;
	}
	loop_until(base, &r, NVCASES);

	assert_false(r.bad_origin);
	for (i = 0; i < NVCASES; i++) {
		if (seen[i].calls != 1)
			fail_msg("%s: done() called %u times", vcases[i].name,
			    seen[i].calls);
		assert_false(seen[i].off_loop);
		if (seen[i].reason != vcases[i].want)
			fail_msg("%s: reason %s, want %s", vcases[i].name,
			    tx_reason_str(seen[i].reason),
			    tx_reason_str(vcases[i].want));
		if (seen[i].decoded != vcases[i].decoded)
			fail_msg("%s: decoded %d, want %d", vcases[i].name,
			    seen[i].decoded, vcases[i].decoded);
		if (vcases[i].decoded)
			assert_memory_equal(seen[i].id, ids[i], TX_ID_LEN);
		else
			assert_memory_equal(seen[i].id, zero, TX_ID_LEN);
		if (vcases[i].want == TX_OK)
			assert_true(seen[i].verify_ns > 0);
	}
	assert_int_equal(validator_verified(v), nverified);
	assert_int_equal(validator_outstanding(v), 0);
	assert_int_equal(validator_depth(v), 0);
	validator_free(v);
	/* Nothing left behind to be delivered twice. */
	for (i = 0; i < NVCASES; i++)
		assert_int_equal(seen[i].calls, 1);
	event_base_free(base);
}

static void
test_validator_backpressure(void **state)
{
	struct event_base	*base;
	struct validator	*v;
	struct tx_policy	 pol;
	struct seen		*seen;
	struct run		 r;
	struct tx		 t;
	uint8_t			*raw;
	struct validator_job	*job;
	size_t			 i, len, accepted = 0, n = 40, held;
	int			 saw_eagain = 0;

	(void)state;
	seen = calloc(n, sizeof(*seen));
	assert_non_null(seen);
	memset(&r, 0, sizeof(r));
	r.seen = seen;
	r.nseen = n;
	policy_make(&pol);
	base = event_base_new();
	v = validator_new(base, 1, 4, &pol, on_done, &r);
	assert_int_equal(validator_capacity(v), 4);

	/* Without the loop running, at most capacity + 1 jobs get in. */
	for (i = 0; i < n; i++) {
		raw = tx_make(&t, NETWORK, 1, i, 0, 0, &len);
		job = job_new(raw, len, i);
		if (validator_submit(v, job) == -1) {
			assert_int_equal(errno, EAGAIN);
			saw_eagain = 1;
			validator_job_free(job);
			break;
		}
		accepted++;
		assert_true(validator_depth(v) <= 4);
	}
	assert_true(saw_eagain);
	assert_true(accepted >= 4);
	assert_true(accepted <= 5);
	assert_int_equal(validator_outstanding(v), accepted);

	/* Running the loop frees room; resubmit the refused one and the rest. */
	held = accepted;
	for (; i < n; i++) {
		raw = tx_make(&t, NETWORK, 1, i, 0, 0, &len);
		job = job_new(raw, len, i);
		while (validator_submit(v, job) == -1) {
			assert_int_equal(errno, EAGAIN);
			saw_eagain++;
			assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
		}
		held++;
	}
	assert_int_equal(held, n);
	loop_until(base, &r, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(seen[i].calls, 1);
		assert_int_equal(seen[i].reason, TX_OK);
	}
	assert_int_equal(validator_verified(v), n);
	validator_free(v);
	event_base_free(base);
	free(seen);
}

/*
 * Results not yet taken by the loop count against the bound too: with the
 * worker idle and "in" empty, capacity + nthreads outstanding jobs still
 * refuse a further submit, so "out" can never overflow.
 */
static void
test_validator_outstanding_bound(void **state)
{
	struct event_base	*base;
	struct validator	*v;
	struct tx_policy	 pol;
	struct seen		 seen[8];
	struct run		 r;
	struct tx		 t;
	struct timespec		 ms = { 0, 1000000 };
	struct validator_job	*job;
	uint8_t			*raw;
	size_t			 i, len;
	int			 waited;

	(void)state;
	memset(seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	r.seen = seen;
	r.nseen = 8;
	policy_make(&pol);
	base = event_base_new();
	v = validator_new(base, 1, 4, &pol, on_done, &r);
	for (i = 0; i < 4; i++) {
		raw = tx_make(&t, NETWORK, 1, i, 0, 0, &len);
		assert_int_equal(validator_submit(v, job_new(raw, len, i)), 0);
	}
	for (waited = 0; validator_depth(v) > 0 && waited < 10000; waited++)
		nanosleep(&ms, NULL);
	assert_int_equal(validator_depth(v), 0);
	raw = tx_make(&t, NETWORK, 1, 4, 0, 0, &len);
	assert_int_equal(validator_submit(v, job_new(raw, len, 4)), 0);
	assert_int_equal(validator_outstanding(v), 5);
	raw = tx_make(&t, NETWORK, 1, 5, 0, 0, &len);
	job = job_new(raw, len, 5);
	errno = 0;
	assert_int_equal(validator_submit(v, job), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(validator_depth(v) < validator_capacity(v));
	loop_until(base, &r, 1);
	assert_int_equal(validator_submit(v, job), 0);
	loop_until(base, &r, 6);
	for (i = 0; i < 6; i++)
		assert_int_equal(seen[i].calls, 1);
	validator_free(v);
	event_base_free(base);
}

static void
test_validator_free_delivers(void **state)
{
	struct event_base	*base;
	struct validator	*v;
	struct tx_policy	 pol;
	struct seen		 seen[64];
	struct run		 r;
	struct tx		 t;
	uint8_t			*raw;
	size_t			 i, len;

	(void)state;
	memset(seen, 0, sizeof(seen));
	memset(&r, 0, sizeof(r));
	r.seen = seen;
	r.nseen = 64;
	policy_make(&pol);
	base = event_base_new();
	v = validator_new(base, 2, 64, &pol, on_done, &r);
	for (i = 0; i < 64; i++) {
		/* Every fourth one invalid, so both verdicts cross the shutdown. */
		raw = tx_make(&t, NETWORK, i % 4 == 0 ? 1000 : 1, i, 0, 0,
		    &len);
		assert_int_equal(validator_submit(v, job_new(raw, len, i)), 0);
	}
	/* The loop never ran: everything is queued, in a worker or in "out". */
	assert_int_equal(r.delivered, 0);
	r.v = v;
	r.resubmit_rv = 0;
	validator_free(v);
	assert_int_equal(r.delivered, 64);
	for (i = 0; i < 64; i++) {
		assert_int_equal(seen[i].calls, 1);
		assert_int_equal(seen[i].reason,
		    i % 4 == 0 ? TX_ERR_AMOUNT : TX_OK);
		assert_false(seen[i].off_loop);
	}
	/* A submit from done() during shutdown is refused, not lost. */
	assert_int_equal(r.resubmit_rv, -1);
	assert_int_equal(r.resubmit_err, EPIPE);
	event_base_free(base);
}

static void
test_validator_many(void **state)
{
	struct event_base	*base;
	struct validator	*v;
	struct tx_policy	 pol;
	struct seen		*seen;
	struct run		 r;
	struct tx		 t;
	struct validator_job	*job;
	uint8_t			*raw, (*ids)[TX_ID_LEN];
	size_t			 i, len, n = 1500, bad = 0;

	(void)state;
	seen = calloc(n, sizeof(*seen));
	ids = calloc(n, TX_ID_LEN);
	assert_non_null(seen);
	assert_non_null(ids);
	memset(&r, 0, sizeof(r));
	r.seen = seen;
	r.nseen = n;
	policy_make(&pol);
	base = event_base_new();
	v = validator_new(base, 3, 8, &pol, on_done, &r);
	for (i = 0; i < n; i++) {
		raw = tx_make(&t, NETWORK, 1, i, (uint16_t)(i % 8), 0, &len);
		tx_id(&t, ids[i]);
		if (i % 10 == 3) {
			raw[len - 1] ^= 0x80;	/* bad signature */
			bad++;
		}
		job = job_new(raw, len, i);
		while (validator_submit(v, job) == -1) {
			assert_int_equal(errno, EAGAIN);
			assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
		}
	}
	loop_until(base, &r, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(seen[i].calls, 1);
		assert_int_equal(seen[i].reason,
		    i % 10 == 3 ? TX_ERR_SIGNATURE : TX_OK);
		assert_int_equal(seen[i].decoded, 1);
		/* The id never depends on the signature. */
		assert_memory_equal(seen[i].id, ids[i], TX_ID_LEN);
	}
	/* Bad signatures were verified too (and failed). */
	assert_int_equal(validator_verified(v), n);
	assert_int_equal(validator_outstanding(v), 0);
	validator_free(v);
	assert_int_equal(r.delivered, n);
	assert_true(bad > 0);
	event_base_free(base);
	free(seen);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_reasons),
		cmocka_unit_test(test_validator_backpressure),
		cmocka_unit_test(test_validator_outstanding_bound),
		cmocka_unit_test(test_validator_free_delivers),
		cmocka_unit_test(test_validator_many),
	};

	return cmocka_run_group_tests_name("validator", tests, setup, NULL);
}
