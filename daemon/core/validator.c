/*
 * validator.c: the validator thread pool.
 *
 * The loop submits jobs into the "in" channel; each worker pops one, runs
 * tx_validate and pushes it into the "out" channel, then wakes the loop
 * through an eventfd.  Workers never touch libevent.
 *
 * Wake-ups are coalesced: a worker writes the eventfd only when it flips
 * wake_pending from 0 to 1; the loop clears the flag before it drains
 * "out", so every job pushed after the flag was cleared either is seen by
 * that drain or causes a fresh write.  A busy pool also waits for a batch
 * of results (or for "in" to run dry) before it wakes the loop, so under
 * load a wake-up, and its system calls, serves many jobs; the measured gain
 * is in tests/bench/bench_validator.c.
 *
 * The loop never has more than capacity + nthreads jobs outstanding
 * (submitted, done() not yet called): that is the capacity of "out", so a
 * worker's push into it never blocks, and validator_free can join the
 * workers before it drains "out".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <event2/event.h>
#include <sodium.h>

#include "core/chan.h"
#include "lib/util.h"
#include "core/validator.h"

/* Jobs handed to done() per batch taken from "out". */
#define VALIDATOR_BATCH		64

struct validator {
	struct event_base	*base;
	struct event		*ev;
	int			 efd;
	struct chan		*in;
	struct chan		*out;
	pthread_t		*threads;
	unsigned		 nthreads;
	size_t			 capacity;
	size_t			 outstanding;	/* loop thread only */
	size_t			 max_outstanding;
	size_t			 wake_batch;	/* results that make a busy pool wake the loop */
	int			 closing;
	struct tx_policy	 policy;
	validator_done_cb	 done;
	void			*arg;
	_Atomic uint64_t	 verified;
	atomic_int		 wake_pending;
};

static void __attribute__((noreturn))
validator_fatal(const char *what, int err)
{
	fprintf(stderr, "noded: fatal: validator: %s: %s\n", what,
	    strerror(err));
	exit(1);
}

/* Runs on a worker thread: everything it touches is the job's or read-only. */
static void
validator_run(struct validator *v, struct validator_job *job)
{
	enum tx_reason	r;
	uint64_t	t0;

	if (job->gate != NULL &&
	    atomic_load_explicit(&job->gate->closed, memory_order_relaxed)) {
		job->skipped = 1;
		return;
	}
	/*
	 * tx_validate fills job->tx only when the bytes decode; a memo_len no
	 * decoded tx can have tells "memo too long" at decode time (no id)
	 * from "memo too long" under the policy (decoded, id set).
	 */
	job->tx.memo_len = UINT16_MAX;
	t0 = mono_ns();
	r = tx_validate(job->raw, job->len, &v->policy, now_ms(), &job->tx,
	    job->id, &job->res);
	job->verify_ns = mono_ns() - t0;
	job->decoded = r != TX_ERR_ENCODING && r != TX_ERR_VERSION &&
	    job->tx.memo_len <= TX_MEMO_MAX;
	if (!job->decoded)
		memset(job->id, 0, sizeof(job->id));
	/* tx_validate checks the signature last: OK or SIGNATURE means it ran. */
	if (r == TX_OK || r == TX_ERR_SIGNATURE)
		atomic_fetch_add_explicit(&v->verified, 1, memory_order_relaxed);
}

static void *
validator_worker(void *arg)
{
	struct validator	*v = arg;
	struct validator_job	*job;
	uint64_t		 one = 1;

	while ((job = chan_pop(v->in)) != NULL) {
		validator_run(v, job);
		/* Never blocks: "out" holds every job the loop may have outstanding. */
		if (chan_push(v->out, job) == -1)
			validator_fatal("result channel", errno);
		/*
		 * Under load, wake the loop once per batch: each wake-up is a
		 * system call here and a sleeping CPU woken there, dearer than
		 * the rest of a job's trip.  Skipping is safe only while "in"
		 * holds a job: whoever finishes that job checks again, so the
		 * last job of a burst always wakes the loop.
		 */
		if (chan_len(v->in) > 0 && chan_len(v->out) < v->wake_batch)
			continue;
		if (atomic_exchange(&v->wake_pending, 1) == 0) {
			while (write(v->efd, &one, sizeof(one)) == -1 &&
			    errno == EINTR)
				;
		}
	}
	return NULL;
}

struct validator_gate *
validator_gate_new(void)
{
	struct validator_gate *gate = xcalloc(1, sizeof(*gate));

	atomic_init(&gate->closed, 0);
	gate->refs = 1;
	return gate;
}

void
validator_gate_close(struct validator_gate *gate)
{
	atomic_store_explicit(&gate->closed, 1, memory_order_relaxed);
}

void
validator_gate_unref(struct validator_gate *gate)
{
	if (gate != NULL && --gate->refs == 0)
		free(gate);
}

/* Hands up to max finished jobs to done(); returns how many.  Loop thread. */
static size_t
validator_deliver(struct validator *v, size_t max)
{
	void	*batch[VALIDATOR_BATCH];
	size_t	 i, n, total = 0;

	while (total < max) {
		n = max - total;
		if (n > VALIDATOR_BATCH)
			n = VALIDATOR_BATCH;
		if ((n = chan_trypopn(v->out, batch, n)) == 0)
			break;
		total += n;
		v->outstanding -= n;
		for (i = 0; i < n; i++)
			v->done(batch[i], v->arg);
	}
	return total;
}

static void
validator_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct validator	*v = arg;
	uint64_t		 n;
	size_t			 max = chan_capacity(v->out);

	(void)what;
	/* Non-blocking: nothing to read when event_active() re-ran us. */
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		validator_fatal("eventfd read", errno);
	atomic_exchange(&v->wake_pending, 0);
	/*
	 * done() may submit more work that finishes meanwhile: deliver at most
	 * one channel's worth, then let other events run before the rest.
	 */
	if (validator_deliver(v, max) == max && chan_len(v->out) > 0)
		event_active(v->ev, EV_READ, 0);
}

struct validator *
validator_new(struct event_base *base, unsigned nthreads, size_t capacity,
    const struct tx_policy *policy, validator_done_cb done, void *arg)
{
	struct validator	*v;
	sigset_t		 all, old;
	unsigned		 i;
	int			 error;

	if (sodium_init() < 0)
		validator_fatal("sodium_init", EINVAL);
	if (nthreads == 0)
		nthreads = 1;
	if (capacity == 0)
		capacity = 1;
	if (capacity > SIZE_MAX / 4 || nthreads > 4096)
		validator_fatal("too many threads or too large a queue", EINVAL);

	v = xcalloc(1, sizeof(*v));
	v->base = base;
	v->nthreads = nthreads;
	v->capacity = capacity;
	v->max_outstanding = capacity + nthreads;
	v->wake_batch = capacity / 4 < VALIDATOR_BATCH ? capacity / 4 :
	    VALIDATOR_BATCH;
	if (v->wake_batch == 0)
		v->wake_batch = 1;
	v->policy = *policy;
	v->done = done;
	v->arg = arg;
	atomic_init(&v->verified, 0);
	atomic_init(&v->wake_pending, 0);
	if ((v->in = chan_new(capacity)) == NULL ||
	    (v->out = chan_new(v->max_outstanding)) == NULL)
		validator_fatal("channel", errno);
	if ((v->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		validator_fatal("eventfd", errno);
	v->ev = event_new(base, v->efd, EV_READ | EV_PERSIST, validator_wakeup,
	    v);
	if (v->ev == NULL || event_add(v->ev, NULL) == -1)
		validator_fatal("event_add", ENOMEM);

	/* Workers block every signal: they belong to the loop thread. */
	v->threads = xcalloc(nthreads, sizeof(*v->threads));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		error = pthread_create(&v->threads[i], NULL, validator_worker, v);
		if (error != 0)
			validator_fatal("pthread_create", error);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return v;
}

int
validator_submit(struct validator *v, struct validator_job *job)
{
	if (v->closing) {
		errno = EPIPE;
		return -1;
	}
	if (v->outstanding >= v->max_outstanding) {
		errno = EAGAIN;
		return -1;
	}
	if (chan_trypush(v->in, job) == -1)
		return -1;
	v->outstanding++;
	return 0;
}

size_t
validator_depth(struct validator *v)
{
	return chan_len(v->in);
}

size_t
validator_capacity(struct validator *v)
{
	return v->capacity;
}

uint64_t
validator_verified(struct validator *v)
{
	return atomic_load_explicit(&v->verified, memory_order_relaxed);
}

size_t
validator_outstanding(struct validator *v)
{
	return v->outstanding;
}

void
validator_free(struct validator *v)
{
	unsigned	i;

	if (v == NULL)
		return;
	v->closing = 1;
	event_free(v->ev);
	chan_close(v->in);
	for (i = 0; i < v->nthreads; i++)
		pthread_join(v->threads[i], NULL);
	/* Workers are gone: whatever is in "out" now is everything left. */
	while (validator_deliver(v, SIZE_MAX) > 0)
		;
	close(v->efd);
	chan_free(v->in);
	chan_free(v->out);
	free(v->threads);
	free(v);
}

void
validator_job_free(struct validator_job *job)
{
	if (job == NULL)
		return;
	validator_gate_unref(job->gate);
	free(job->raw);
	free(job);
}
