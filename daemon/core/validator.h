/*
 * validator.h: the validator thread pool.  The event loop submits jobs over
 * a bounded channel; worker threads decode, apply the policy and verify the
 * signature (proto/tx.h tx_validate); finished jobs come back over a second
 * channel and a wake-up (eventfd) of the loop, which then calls done() for
 * each, on the loop thread.
 */
#ifndef DAEMON_VALIDATOR_H
#define DAEMON_VALIDATOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

struct event_base;

/*
 * A gate the submitter may close to have its jobs still queued skipped
 * (a peer that closed must not keep the workers busy with the rest of its
 * flood).  Reference counted on the loop thread: the submitter holds one,
 * each job holding it another.  Workers only read closed.
 */
struct validator_gate {
	atomic_int	closed;
	unsigned	refs;
};

struct validator_gate *validator_gate_new(void);
void	validator_gate_close(struct validator_gate *gate);
/* Drops one reference; the last frees it.  NULL is ignored.  Loop thread. */
void	validator_gate_unref(struct validator_gate *gate);

struct validator_job {
	/* Filled by the submitter. */
	uint8_t		*raw;		/* encoded tx, owned by the job (free()d with it) */
	size_t		len;
	uint64_t	origin;		/* submitter's tag: peer serial, 0 for the API */
	void		*ctx;		/* submitter's context (admission's state of the id) */
	struct validator_gate *gate;	/* optional; the job holds a reference */
	/* Filled by the worker. */
	struct tx	tx;
	uint8_t		id[TX_ID_LEN];	/* set whenever raw decodes */
	int		decoded;	/* 1 if raw decoded (id is meaningful) */
	struct tx_result res;
	uint64_t	verify_ns;	/* time spent in tx_validate */
	int		skipped;	/* not validated: its gate was closed */
};

struct validator;

/* Called on the loop thread for each finished job; the callee owns and frees the job. */
typedef void (*validator_done_cb)(struct validator_job *job, void *arg);

/*
 * Starts nthreads workers fed by a channel of the given capacity.  policy
 * is copied.  Fatal on failure.  Loop thread.
 */
struct validator *validator_new(struct event_base *base, unsigned nthreads,
	    size_t capacity, const struct tx_policy *policy,
	    validator_done_cb done, void *arg);

/*
 * Queues job without blocking.  Returns 0, or -1 with errno EAGAIN when the
 * channel is full (the caller keeps the job and applies backpressure) or
 * EPIPE when shutting down.  Loop thread.
 */
int	validator_submit(struct validator *v, struct validator_job *job);

/* Jobs queued and not yet picked up, and the channel's capacity. */
size_t	validator_depth(struct validator *v);
size_t	validator_capacity(struct validator *v);
/* Total signatures verified since start (all threads). */
uint64_t validator_verified(struct validator *v);

/*
 * Added by the validator module: jobs submitted whose done() has not run
 * yet.  validator_submit also answers EAGAIN while capacity + nthreads jobs
 * are outstanding (results not yet handed back), so no queue is unbounded;
 * the loop retries after done() calls, as for a full channel.  Loop thread.
 */
size_t	validator_outstanding(struct validator *v);

/*
 * Closes the channel, lets the workers drain it, joins them, and calls
 * done() for every finished job still undelivered.  Loop thread.
 */
void	validator_free(struct validator *v);

/* Frees a job and its raw bytes, and drops its gate reference.  Loop thread. */
void	validator_job_free(struct validator_job *job);

#endif
