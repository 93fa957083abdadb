/*
 * test_admit.c: admission with a real event loop, mempool and validator
 * pool: outcomes, verdicts, hooks, counters and hub events, for the API and
 * for peer sources (backpressure, a source that goes away, misbehaviour),
 * and shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "base/config.h"
#include "base/hub.h"
#include "base/log.h"
#include "base/node.h"
#include "base/stats.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "core/store.h"
#include "core/validator.h"
#include "lib/reason.h"
#include "lib/util.h"
#include "proto/hex.h"
#include "proto/tx.h"

#define NETWORK		"unit-test-net"
#define POLICY_MEMO	16	/* this test's policy memo bound */
#define NKEYS		4
#define WAIT_MS		20000	/* longest wait for a verdict */
#define CALLS_MAX	2048
#define WAITERS_MAX	256
#define ANY		UINT64_MAX	/* any origin, in calls_of() */

static uint8_t	sks[NKEYS][TX_SK_LEN], pks[NKEYS][TX_PK_LEN];
static uint64_t	nonce_next = 1;		/* every tx its own (sender, nonce) */

/* A transaction and the bytes a submitter hands over. */
struct ttx {
	struct tx	t;
	uint8_t		raw[TX_MAX_LEN + 64];
	size_t		len;
	uint8_t		id[TX_ID_LEN];
	char		idhex[TX_ID_HEX_LEN + 1];
};

enum kind {
	K_NONE = 0,
	K_ACCEPTED,	/* hooks.accepted(id, origin) */
	K_SETTLED,	/* hooks.settled(id) */
	K_RETRY,	/* hooks.retry(id, origin) */
	K_MISBEHAVED,	/* hooks.misbehaved(origin, why) */
	K_PAUSE,	/* a source's pause(), origin its tag */
	K_RESUME	/* its resume() */
};

struct call {
	enum kind	kind;
	uint8_t		id[TX_ID_LEN];
	uint64_t	origin;
	char		why[160];
};

/* An API caller: what its verdict callback saw. */
struct waiter {
	unsigned		calls;
	struct admit_verdict	v;
};

struct fx;

/* A peer source and what it was told. */
struct src_rec {
	struct fx		*f;
	struct admit_source	*src;
	uint64_t		 tag;
	unsigned		 pauses, resumes;
	int			 blocked_at_resume;
};

struct fxconf {
	unsigned	threads;
	size_t		queue;
	size_t		mp_bytes;
	int		stopping_first;	/* test_admit_shutdown: as main.c does */
};

struct fx {
	struct event_base *base;
	struct config	 cfg;
	struct node	 n;
	struct mempool	*mp;
	struct admit	*a;
	struct call	 calls[CALLS_MAX];
	size_t		 ncalls;
	struct waiter	 w[WAITERS_MAX];	/* outlive every test: admit_free may answer */
	struct src_rec	*free_on_misbehaved;	/* freed by the hook, as relay does */
	unsigned	 hub_accepted, hub_rejected;
	char		 hub_from[64];
	unsigned	 hub_reason;
	uint64_t	 hub_amount;
	uint8_t		 hub_id[TX_ID_LEN];
	int		 stopping_first;
};

static const struct fxconf conf_small = { 2, 64, 1 << 24, 0 };	/* 2 threads */
static const struct fxconf conf_tiny = { 1, 1, 1 << 24, 0 };	/* a queue of 1 */
static const struct fxconf conf_wide = { 1, 256, 1 << 24, 0 };	/* 1 thread, room */
static const struct fxconf conf_nomem = { 2, 64, 100, 0 };	/* no tx fits */
static const struct fxconf conf_tiny_stopping = { 1, 1, 1 << 24, 1 };

/* Runs the loop until cond holds; fails after WAIT_MS. */
#define WAIT_UNTIL(f, cond) do {					\
	uint64_t dl_ = now_ms() + WAIT_MS;				\
	while (!(cond)) {						\
		if (now_ms() > dl_)					\
			fail_msg("line %d: timed out waiting for %s",	\
			    __LINE__, #cond);				\
		assert_int_equal(event_base_loop((f)->base, EVLOOP_ONCE), 0); \
	}								\
} while (0)

/* --- transactions ---------------------------------------------------- */

enum mangle {
	M_NONE = 0,
	M_SIG,		/* flip a signature bit: same id, bad copy */
	M_SIG2,		/* flip another one: a second bad copy */
	M_TRUNCATE,	/* drop the last byte */
	M_TRAILING,	/* one byte too many */
	M_EMPTY,	/* zero bytes */
	M_VERSION,	/* version byte 2 */
	M_MEMO_HUGE	/* memo_len field 300 (beyond TX_MEMO_MAX), length to match */
};

static void
ttx_make(struct ttx *x, int key, const char *net, uint64_t amount,
    uint64_t nonce, uint16_t memo_len, int64_t ts_offset_ms)
{
	memset(x, 0, sizeof(*x));
	x->t.version = TX_VERSION;
	tx_netid(x->t.netid, net);
	memset(x->t.recipient, 0x5a, TX_PK_LEN);
	x->t.amount = amount;
	x->t.nonce = nonce;
	x->t.timestamp_ms = (uint64_t)((int64_t)now_ms() + ts_offset_ms);
	x->t.memo_len = memo_len;
	memset(x->t.memo, 'm', memo_len);
	assert_int_equal(tx_sign(&x->t, sks[key]), 0);
	x->len = tx_encode(&x->t, x->raw, sizeof(x->raw));
	assert_int_equal(x->len, TX_MIN_LEN + memo_len);
	tx_id(&x->t, x->id);
	hex_encode(x->idhex, x->id, TX_ID_LEN);
}

/* A valid transaction of key's, with a nonce of its own. */
static void
ttx_new(struct ttx *x, int key, uint64_t amount)
{
	ttx_make(x, key, NETWORK, amount, nonce_next++, 0, 0);
}

/* Changes x's bytes as m says (the id stays the tx's). */
static void
ttx_mangle(struct ttx *x, enum mangle m)
{
	switch (m) {
	case M_NONE:
		break;
	case M_SIG:
		x->raw[x->len - 10] ^= 0x01;
		break;
	case M_SIG2:
		x->raw[x->len - 20] ^= 0x04;
		break;
	case M_TRUNCATE:
		x->len--;
		break;
	case M_TRAILING:
		x->raw[x->len++] = 0;
		break;
	case M_EMPTY:
		x->len = 0;
		break;
	case M_VERSION:
		x->raw[0] = 2;
		break;
	case M_MEMO_HUGE:
		memset(x->raw + x->len, 0, TX_MIN_LEN + 300 - x->len);
		x->len = TX_MIN_LEN + 300;
		x->raw[TX_BODY_FIXED_LEN - 2] = 300 >> 8;
		x->raw[TX_BODY_FIXED_LEN - 1] = 300 & 0xff;
		break;
	}
}

/* A copy of src with bytes mangled by m. */
static void
ttx_copy(struct ttx *dst, const struct ttx *src, enum mangle m)
{
	*dst = *src;
	ttx_mangle(dst, m);
}

/* --- recorders -------------------------------------------------------- */

static void
call_add(struct fx *f, enum kind kind, const uint8_t *id, uint64_t origin,
    const char *why)
{
	struct call	*c;

	if (f->ncalls == CALLS_MAX)
		fail_msg("more than %d hook calls", CALLS_MAX);
	c = &f->calls[f->ncalls++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (id != NULL)
		memcpy(c->id, id, TX_ID_LEN);
	c->origin = origin;
	if (why != NULL)
		snprintf(c->why, sizeof(c->why), "%s", why);
}

/* Hook calls of kind (on id unless NULL, from origin unless ANY). */
static size_t
calls_of(const struct fx *f, enum kind kind, const uint8_t *id, uint64_t origin)
{
	size_t	i, n = 0;

	for (i = 0; i < f->ncalls; i++) {
		if (f->calls[i].kind != kind)
			continue;
		if (id != NULL && memcmp(f->calls[i].id, id, TX_ID_LEN) != 0)
			continue;
		if (origin != ANY && f->calls[i].origin != origin)
			continue;
		n++;
	}
	return n;
}

/* Hook calls about id, any kind. */
static size_t
calls_on(const struct fx *f, const uint8_t *id)
{
	return calls_of(f, K_ACCEPTED, id, ANY) + calls_of(f, K_SETTLED, id, ANY) +
	    calls_of(f, K_RETRY, id, ANY);
}

static void
hk_accepted(void *arg, const uint8_t id[TX_ID_LEN], uint64_t origin)
{
	call_add(arg, K_ACCEPTED, id, origin, NULL);
}

static void
hk_settled(void *arg, const uint8_t id[TX_ID_LEN])
{
	call_add(arg, K_SETTLED, id, 0, NULL);
}

static void
hk_retry(void *arg, const uint8_t id[TX_ID_LEN], uint64_t bad_origin)
{
	call_add(arg, K_RETRY, id, bad_origin, NULL);
}

static void
hk_misbehaved(void *arg, uint64_t origin, unsigned reason, const char *why)
{
	struct fx	*f = arg;
	struct src_rec	*s = f->free_on_misbehaved;

	assert_true(reason_is_misbehaviour(reason));
	call_add(f, K_MISBEHAVED, NULL, origin, why);
	/* The relay closes the peer at once, which frees its source. */
	if (s != NULL && s->tag == origin && s->src != NULL) {
		admit_source_free(s->src);
		s->src = NULL;
	}
}

static void
src_pause(void *arg)
{
	struct src_rec	*s = arg;

	s->pauses++;
	call_add(s->f, K_PAUSE, NULL, s->tag, NULL);
}

static void
src_resume(void *arg)
{
	struct src_rec	*s = arg;

	s->resumes++;
	s->blocked_at_resume = admit_source_blocked(s->src);
	call_add(s->f, K_RESUME, NULL, s->tag, NULL);
}

static void
src_open(struct fx *f, struct src_rec *s, uint64_t tag, const char *label)
{
	memset(s, 0, sizeof(*s));
	s->f = f;
	s->tag = tag;
	s->src = admit_source_new(f->a, tag, label, src_pause, src_resume, s);
	assert_non_null(s->src);
	assert_false(admit_source_blocked(s->src));
}

static void
src_close(struct src_rec *s)
{
	admit_source_free(s->src);
	s->src = NULL;
}

static void
on_verdict(const struct admit_verdict *v, void *arg)
{
	struct waiter	*w = arg;

	w->calls++;
	w->v = *v;
}

static void
on_hub(const struct hub_event *ev, void *arg)
{
	struct fx	*f = arg;

	if (ev->topic == HUB_TX_ACCEPTED) {
		f->hub_accepted++;
		f->hub_amount = ev->amount;
	} else {
		f->hub_rejected++;
		f->hub_reason = ev->reason;
	}
	snprintf(f->hub_from, sizeof(f->hub_from), "%s", ev->from);
	if (ev->id != NULL)
		memcpy(f->hub_id, ev->id, TX_ID_LEN);
	else
		memset(f->hub_id, 0, TX_ID_LEN);
}

/* Forgets what the hooks, the hub and the counters saw so far. */
static void
fx_reset(struct fx *f)
{
	f->ncalls = 0;
	memset(f->w, 0, sizeof(f->w));
	f->hub_accepted = f->hub_rejected = 0;
	f->hub_from[0] = '\0';
	f->hub_reason = 0;
	f->hub_amount = 0;
	memset(&stats, 0, sizeof(stats));
}

/* Submits x from the API (src NULL) or a source, for caller w (may be NULL). */
static enum admit_outcome
submit(struct fx *f, struct admit_source *src, const struct ttx *x,
    struct waiter *w)
{
	struct admit_result	r;

	memset(&r, 0xa5, sizeof(r));
	admit_tx(f->a, src, x->raw, x->len, w != NULL ? on_verdict : NULL, w, &r);
	if (r.what != ADMIT_UNDECODABLE && r.what != ADMIT_STOPPING)
		assert_memory_equal(r.id, x->id, TX_ID_LEN);
	return r.what;
}

static void
verdict_check(const char *name, const struct waiter *w, enum admit_status st,
    unsigned reason, const uint8_t *id, const char *msg)
{
	if (w->calls != 1)
		fail_msg("%s: %u verdicts, want 1", name, w->calls);
	if (w->v.status != st)
		fail_msg("%s: verdict %d, want %d (%s)", name, (int)w->v.status,
		    (int)st, w->v.msg);
	if (st == ADMIT_REJECTED && w->v.reason != reason)
		fail_msg("%s: reason %s, want %s", name, reason_str(w->v.reason),
		    reason_str(reason));
	if (id == NULL)
		assert_false(w->v.have_id);
	else {
		if (!w->v.have_id)
			fail_msg("%s: verdict without an id", name);
		assert_memory_equal(w->v.id, id, TX_ID_LEN);
	}
	if (msg != NULL && strncmp(w->v.msg, msg, strlen(msg)) != 0)
		fail_msg("%s: message \"%s\", want it to start \"%s\"", name,
		    w->v.msg, msg);
}

/* --- the store: group commit ------------------------------------------ */

static struct store *probe_store;	/* on_verdict_probe looks at it */
static unsigned	 probe_dirty;		/* "accepted" given before the commit */

static int
probe_find(const uint8_t id[TX_ID_LEN], const uint8_t *raw, size_t len,
    uint64_t added_ms, void *arg)
{
	(void)raw;
	(void)len;
	(void)added_ms;
	if (memcmp(id, arg, TX_ID_LEN) != 0)
		return 0;
	memset(arg, 0, TX_ID_LEN);	/* found */
	return 1;
}

/* An "accepted" verdict must find its transaction committed (readers see only that). */
static void
on_verdict_probe(const struct admit_verdict *v, void *arg)
{
	uint8_t	id[TX_ID_LEN], zero[TX_ID_LEN] = { 0 };

	if (v->status == ADMIT_ACCEPTED) {
		memcpy(id, v->id, TX_ID_LEN);
		if (store_tx_each(probe_store, probe_find, id) != 0 ||
		    memcmp(id, zero, TX_ID_LEN) != 0)
			probe_dirty++;
	}
	on_verdict(v, arg);
}

static struct store *
store_tmp(char *dir, size_t len, uint64_t map)
{
	char		 err[512];
	struct store	*st;

	snprintf(dir, len, "/tmp/store-admit-XXXXXX");
	assert_non_null(mkdtemp(dir));
	st = store_open(dir, map, STORE_SYNC_BATCH, err, sizeof(err));
	if (st == NULL)
		fail_msg("%s", err);
	return st;
}

static void
store_tmp_close(struct fx *f, struct store *st, const char *dir)
{
	char	cmd[128];

	admit_set_store(f->a, NULL);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * "accepted" goes out only once the batch that holds the transaction is
 * committed; a restarted admission reads them all back; removals from the
 * mempool are deleted from the store.
 */
static void
test_admit_store_group_commit(void **state)
{
	struct fx		*f = *state;
	struct ttx		 x[40];
	struct store		*st;
	struct mempool		*mp2;
	struct admit		*a2;
	struct admit_result	 r;
	char			 dir[64], err[512];
	size_t			 i;

	st = store_tmp(dir, sizeof(dir), 16 << 20);
	admit_set_store(f->a, st);
	probe_store = st;
	probe_dirty = 0;
	for (i = 0; i < 40; i++) {
		ttx_new(&x[i], (int)(i % NKEYS), 1 + i);
		admit_tx(f->a, NULL, x[i].raw, x[i].len, on_verdict_probe, &f->w[i], &r);
		assert_int_equal(r.what, ADMIT_QUEUED);
	}
	WAIT_UNTIL(f, f->w[39].calls == 1 && f->w[0].calls == 1 &&
	    mempool_count(f->mp) == 40);
	for (i = 0; i < 40; i++) {
		WAIT_UNTIL(f, f->w[i].calls == 1);
		verdict_check("stored", &f->w[i], ADMIT_ACCEPTED, 0, x[i].id, NULL);
	}
	assert_int_equal(probe_dirty, 0);
	assert_false(store_dirty(st));
	assert_int_equal(store_tx_count(st), 40);
	/* A duplicate is answered at once when nothing waits for a commit. */
	admit_tx(f->a, NULL, x[0].raw, x[0].len, on_verdict_probe, &f->w[40], &r);
	assert_int_equal(r.what, ADMIT_KNOWN);
	verdict_check("dup", &f->w[40], ADMIT_DUPLICATE, 0, x[0].id, NULL);

	/* Read back into a second admission, as at a restart. */
	mp2 = mempool_new(100000, 1 << 24);
	a2 = admit_new(&f->n, mp2);
	admit_set_store(a2, st);
	assert_int_equal(admit_restore(a2, err, sizeof(err)), 0);
	assert_int_equal(mempool_count(mp2), 40);
	for (i = 0; i < 40; i++)
		assert_non_null(mempool_get(mp2, x[i].id));
	/* Expiry removes from the store too (committed with the next batch). */
	assert_int_equal(mempool_expire(mp2, now_ms() + 2 * f->n.policy.max_age_ms,
	    f->n.policy.max_age_ms), 40);
	assert_true(store_dirty(st));
	admit_free(a2);		/* commits what is left */
	mempool_free(mp2);
	admit_set_store(f->a, st);	/* admit_free(a2) took the hook off mp2 only */
	assert_false(store_dirty(st));
	assert_int_equal(store_tx_count(st), 0);
	store_tmp_close(f, st, dir);
}

/*
 * A store too small: what cannot be committed is answered "store error",
 * not "accepted", and leaves the mempool; what was answered "accepted" is
 * in the store.
 */
static void
test_admit_store_full(void **state)
{
	struct fx		*f = *state;
	static struct ttx	 x[200];
	struct store		*st;
	struct admit_result	 r;
	char			 dir[64];
	size_t			 i, acc = 0, full = 0;

	st = store_tmp(dir, sizeof(dir), 64 << 10);
	admit_set_store(f->a, st);
	probe_store = st;
	probe_dirty = 0;
	for (i = 0; i < 200; i++) {
		ttx_new(&x[i], (int)(i % NKEYS), 1 + i % 90);
		admit_tx(f->a, NULL, x[i].raw, x[i].len, on_verdict_probe,
		    &f->w[i], &r);
		assert_int_equal(r.what, ADMIT_QUEUED);
		/* A few at a time: several batches, some of which fit. */
		if (i % 20 == 19)
			WAIT_UNTIL(f, f->w[i].calls == 1);
	}
	for (i = 0; i < 200; i++) {
		WAIT_UNTIL(f, f->w[i].calls == 1);
		if (f->w[i].v.status == ADMIT_ACCEPTED) {
			acc++;
			assert_non_null(mempool_get(f->mp, x[i].id));
		} else {
			verdict_check("full", &f->w[i], ADMIT_REJECTED, REASON_STORE,
			    x[i].id, "store error: ");
			assert_non_null(strstr(f->w[i].v.msg, "the store is full"));
			assert_null(mempool_get(f->mp, x[i].id));
			full++;
		}
	}
	assert_int_equal(probe_dirty, 0);
	assert_true(acc > 0);
	assert_true(full > 0);
	assert_int_equal(store_tx_count(st), acc);
	assert_int_equal(mempool_count(f->mp), acc);
	store_tmp_close(f, st, dir);
}

/* --- fixture ---------------------------------------------------------- */

static int
group_setup(void **state)
{
	int	i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < NKEYS; i++)
		crypto_sign_keypair(pks[i], sks[i]);
	/* Rejections are logged: keep the test's output to its own. */
	if (getenv("NODED_UNIT_LOG") == NULL)
		log_open("unit", NULL, LOG_ERROR, LOG_TEXT);
	return 0;
}

static int
fx_setup(void **state)
{
	const struct fxconf	*c = *state;
	struct fx		*f = calloc(1, sizeof(*f));
	struct admit_hooks	 h = { .accepted = hk_accepted,
				    .settled = hk_settled, .retry = hk_retry,
				    .misbehaved = hk_misbehaved, .arg = NULL };

	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->cfg.validators = c->threads;
	f->cfg.validator_queue = c->queue;
	f->n.cfg = &f->cfg;
	f->n.base = f->base;
	tx_policy_default(&f->n.policy, NETWORK);
	f->n.policy.max_memo = POLICY_MEMO;
	f->mp = mempool_new(100000, c->mp_bytes);
	f->stopping_first = c->stopping_first;
	f->a = admit_new(&f->n, f->mp);
	assert_non_null(f->a);
	{
		struct admit_gauges	g;

		admit_gauges(f->a, &g);
		assert_int_equal(g.queue_capacity, c->queue);
	}
	h.arg = f;
	admit_set_hooks(f->a, &h);
	assert_int_equal(hub_subscribe(HUB_TX_ACCEPTED, on_hub, f), 0);
	assert_int_equal(hub_subscribe(HUB_TX_REJECTED, on_hub, f), 0);
	fx_reset(f);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*f = *state;

	admit_free(f->a);
	mempool_free(f->mp);
	event_base_free(f->base);
	hub_unsubscribe(f);
	free(f);
	return 0;
}

/* --- one copy from the API, then the same bytes again ------------------ */

static const struct acase {
	const char	*name;
	const char	*net;
	uint64_t	 amount;
	uint16_t	 memo_len;
	int64_t		 ts_offset_ms;
	enum mangle	 mangle;
	enum admit_outcome first;	/* what admit_tx did */
	enum admit_status status;	/* the verdict */
	unsigned	 reason;
	const char	*msg;		/* how the verdict's message starts */
	enum kind	 hook;		/* the one hook call, with the API's origin 0 */
	enum admit_outcome again;	/* the same bytes once more */
	int		 settled;	/* admit_settled after the verdict */
} acases[] = {
	{ "valid", NETWORK, 42, 0, 0, M_NONE, ADMIT_QUEUED,
	    ADMIT_ACCEPTED, 0, "", K_ACCEPTED, ADMIT_KNOWN, 1 },
	{ "valid, memo at the bound", NETWORK, 0, POLICY_MEMO, -1000, M_NONE,
	    ADMIT_QUEUED, ADMIT_ACCEPTED, 0, "", K_ACCEPTED, ADMIT_KNOWN, 1 },
	{ "amount over policy", NETWORK, 150, 0, 0, M_NONE, ADMIT_QUEUED,
	    ADMIT_REJECTED, TX_ERR_AMOUNT, "amount too high: 150 > 100",
	    K_SETTLED, ADMIT_REJECTED_ID, 1 },
	{ "wrong network", "other-net", 1, 0, 0, M_NONE, ADMIT_QUEUED,
	    ADMIT_REJECTED, TX_ERR_NETWORK, "wrong network", K_SETTLED,
	    ADMIT_REJECTED_ID, 1 },
	{ "memo over policy", NETWORK, 1, POLICY_MEMO + 1, 0, M_NONE,
	    ADMIT_QUEUED, ADMIT_REJECTED, TX_ERR_MEMO, "memo too long: 17 > 16",
	    K_SETTLED, ADMIT_REJECTED_ID, 1 },
	{ "future", NETWORK, 1, 0, 3600 * 1000, M_NONE, ADMIT_QUEUED,
	    ADMIT_REJECTED, TX_ERR_FUTURE, "timestamp too far in the future",
	    K_SETTLED, ADMIT_REJECTED_ID, 1 },
	{ "expired", NETWORK, 1, 0, -48LL * 3600 * 1000, M_NONE, ADMIT_QUEUED,
	    ADMIT_REJECTED, TX_ERR_EXPIRED, "timestamp too old", K_SETTLED,
	    ADMIT_REJECTED_ID, 1 },
	/* Only this copy is condemned: the id stays open. */
	{ "bad signature", NETWORK, 1, 0, 0, M_SIG, ADMIT_QUEUED,
	    ADMIT_REJECTED, TX_ERR_SIGNATURE, "bad signature", K_RETRY,
	    ADMIT_REJECTED_COPY, 0 },
	/* Undecodable: answered at once, no id, no hook. */
	{ "truncated", NETWORK, 1, 4, 0, M_TRUNCATE, ADMIT_UNDECODABLE,
	    ADMIT_REJECTED, TX_ERR_ENCODING, "bad encoding", K_NONE,
	    ADMIT_UNDECODABLE, 0 },
	{ "trailing byte", NETWORK, 1, 4, 0, M_TRAILING, ADMIT_UNDECODABLE,
	    ADMIT_REJECTED, TX_ERR_ENCODING, "bad encoding", K_NONE,
	    ADMIT_UNDECODABLE, 0 },
	{ "empty", NETWORK, 1, 0, 0, M_EMPTY, ADMIT_UNDECODABLE,
	    ADMIT_REJECTED, TX_ERR_ENCODING, "bad encoding", K_NONE,
	    ADMIT_UNDECODABLE, 0 },
	{ "version 2", NETWORK, 1, 0, 0, M_VERSION, ADMIT_UNDECODABLE,
	    ADMIT_REJECTED, TX_ERR_VERSION, "unknown version", K_NONE,
	    ADMIT_UNDECODABLE, 0 },
	{ "memo_len 300", NETWORK, 1, TX_MEMO_MAX, 0, M_MEMO_HUGE,
	    ADMIT_UNDECODABLE, ADMIT_REJECTED, TX_ERR_MEMO, "memo too long",
	    K_NONE, ADMIT_UNDECODABLE, 0 },
};

static void
test_admit_api_cases(void **state)
{
	struct fx		*f = *state;
	const struct acase	*c;
	struct ttx		 x, good, other;
	struct waiter		*w, *w2, *w3;
	const uint8_t		*id;
	size_t			 i, r, nrej;
	uint64_t		 before;
	enum admit_outcome	 got;

	for (i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		c = &acases[i];
		fx_reset(f);
		w = &f->w[0];
		w2 = &f->w[1];
		w3 = &f->w[2];
		ttx_make(&good, 0, c->net, c->amount, nonce_next++, c->memo_len,
		    c->ts_offset_ms);
		ttx_copy(&x, &good, c->mangle);
		id = c->first == ADMIT_UNDECODABLE ? NULL : x.id;

		if ((got = submit(f, NULL, &x, w)) != c->first)
			fail_msg("%s: outcome %d, want %d", c->name, (int)got,
			    (int)c->first);
		if (c->first == ADMIT_QUEUED) {
			/* No verdict before the loop runs; pending meanwhile. */
			assert_int_equal(w->calls, 0);
			assert_true(admit_pending(f->a, x.id));
			assert_false(admit_settled(f->a, x.id));
			WAIT_UNTIL(f, w->calls > 0);
			assert_false(admit_pending(f->a, x.id));
			assert_int_equal(stats.verify_count, 1);
		} else {
			assert_int_equal(stats.verify_count, 0);
		}
		verdict_check(c->name, w, c->status, c->reason, id, c->msg);

		/* Hooks: one call, or none for undecodable bytes. */
		if (c->hook == K_NONE) {
			if (f->ncalls != 0)
				fail_msg("%s: %zu hook calls, want none", c->name,
				    f->ncalls);
		} else if (f->ncalls != 1 || calls_of(f, c->hook, x.id, 0) != 1)
			fail_msg("%s: hook calls %zu, want one of kind %d on its "
			    "id from origin 0", c->name, f->ncalls, (int)c->hook);
		if (id != NULL && admit_settled(f->a, x.id) != c->settled)
			fail_msg("%s: admit_settled is %d", c->name, !c->settled);

		/* Counters and hub events. */
		for (r = 0, nrej = 0; r < REASON_COUNT; r++)
			nrej += stats.txs_rejected[r];
		if (c->status == ADMIT_ACCEPTED) {
			assert_int_equal(stats.txs_accepted, 1);
			assert_int_equal(nrej, 0);
			assert_int_equal(f->hub_accepted, 1);
			assert_int_equal(f->hub_rejected, 0);
			assert_string_equal(f->hub_from, "api");
			assert_int_equal(f->hub_amount, c->amount);
			assert_memory_equal(f->hub_id, x.id, TX_ID_LEN);
			assert_non_null(mempool_get(f->mp, x.id));
		} else {
			assert_int_equal(stats.txs_accepted, 0);
			assert_int_equal(nrej, 1);
			assert_int_equal(stats.txs_rejected[c->reason], 1);
			assert_null(mempool_get(f->mp, x.id));
			if (c->first == ADMIT_QUEUED) {
				assert_int_equal(f->hub_rejected, 1);
				assert_int_equal(f->hub_reason, c->reason);
				assert_string_equal(f->hub_from, "api");
				assert_memory_equal(f->hub_id, x.id, TX_ID_LEN);
			}
			assert_int_equal(f->hub_accepted, 0);
		}
		assert_int_equal(stats.txs_duplicate, 0);

		/* The same bytes again: answered at once, not verified again. */
		before = f->ncalls;
		if ((got = submit(f, NULL, &x, w2)) != c->again)
			fail_msg("%s: again: outcome %d, want %d", c->name,
			    (int)got, (int)c->again);
		if (w2->calls != 1)
			fail_msg("%s: again: %u verdicts at once, want 1",
			    c->name, w2->calls);
		verdict_check(c->name, w2, c->status == ADMIT_ACCEPTED ?
		    ADMIT_DUPLICATE : ADMIT_REJECTED, c->reason, id, NULL);
		assert_int_equal(stats.txs_duplicate,
		    c->again == ADMIT_UNDECODABLE ? 0 : 1);
		assert_int_equal(stats.verify_count,
		    c->first == ADMIT_QUEUED ? 1 : 0);
		assert_int_equal(f->ncalls, before);
		assert_false(admit_pending(f->a, x.id));

		if (c->status == ADMIT_REJECTED && c->settled) {
			/* Refused for every copy: another copy is not verified. */
			ttx_copy(&other, &good, M_SIG);
			assert_int_equal(submit(f, NULL, &other, w3),
			    ADMIT_REJECTED_ID);
			verdict_check(c->name, w3, ADMIT_REJECTED, c->reason, x.id,
			    NULL);
			assert_int_equal(stats.verify_count, 1);
			assert_int_equal(f->ncalls, before);
		}
		if (c->mangle != M_SIG)
			continue;
		/* Only those bytes are condemned: another bad copy is verified. */
		ttx_copy(&other, &good, M_SIG2);
		assert_int_equal(submit(f, NULL, &other, &f->w[3]), ADMIT_QUEUED);
		WAIT_UNTIL(f, f->w[3].calls > 0);
		verdict_check(c->name, &f->w[3], ADMIT_REJECTED, TX_ERR_SIGNATURE,
		    x.id, "bad signature");
		assert_int_equal(calls_of(f, K_RETRY, x.id, 0), 2);
		assert_int_equal(stats.verify_count, 2);
		/* The bad copies did not lock out the valid one. */
		assert_int_equal(submit(f, NULL, &good, w3), ADMIT_QUEUED);
		WAIT_UNTIL(f, w3->calls > 0);
		verdict_check(c->name, w3, ADMIT_ACCEPTED, 0, x.id, NULL);
		assert_int_equal(calls_of(f, K_ACCEPTED, x.id, 0), 1);
		assert_true(admit_settled(f->a, x.id));
		assert_memory_equal(mempool_get(f->mp, x.id)->raw, good.raw,
		    good.len);
		/* Once accepted, even the bad bytes are a duplicate. */
		assert_int_equal(submit(f, NULL, &x, NULL), ADMIT_KNOWN);
	}
}

/* --- copies of one id while it is being validated -------------------- */

static const struct pcase {
	const char	*copies;	/* in order: g good, b and c two bad copies */
	const char	*what;		/* Q queued, S pending same, O pending other */
	const char	*verdicts;	/* A accepted, R rejected: bad signature */
	unsigned	 verified;	/* validations of the id */
	const char	*hooks;		/* calls about the id, in order: A accepted, R retry */
} pcases[] = {
	{ "gg", "QS", "AA", 1, "A" },
	{ "gb", "QO", "AA", 1, "A" },
	{ "bb", "QS", "RR", 1, "R" },
	{ "bg", "QO", "RA", 2, "RA" },
	{ "ggb", "QSO", "AAA", 1, "A" },
	{ "bgb", "QOS", "RAR", 2, "RA" },
	{ "bgg", "QOO", "RAA", 2, "RA" },
	{ "bc", "QO", "RR", 2, "RR" },
	{ "bcg", "QOO", "RRA", 3, "RRA" },
};

static void
test_admit_api_pending(void **state)
{
	struct fx		*f = *state;
	const struct pcase	*c;
	struct ttx		 good, copy[3];
	char			 got[16];
	size_t			 i, k, n;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		c = &pcases[i];
		fx_reset(f);
		ttx_new(&good, 1, 5);
		n = strlen(c->copies);
		for (k = 0; k < n; k++) {
			ttx_copy(&copy[k], &good, c->copies[k] == 'g' ? M_NONE :
			    c->copies[k] == 'b' ? M_SIG : M_SIG2);
			got[k] = '?';
			switch (submit(f, NULL, &copy[k], &f->w[k])) {
			case ADMIT_QUEUED:
				got[k] = 'Q';
				break;
			case ADMIT_PENDING_SAME:
				got[k] = 'S';
				break;
			case ADMIT_PENDING_OTHER:
				got[k] = 'O';
				break;
			default:
				break;
			}
			assert_int_equal(f->w[k].calls, 0);
			assert_true(admit_pending(f->a, good.id));
		}
		got[n] = '\0';
		if (strcmp(got, c->what) != 0)
			fail_msg("%s: outcomes %s, want %s", c->copies, got,
			    c->what);
		/* Every caller gets its verdict. */
		for (k = 0; k < n; k++)
			WAIT_UNTIL(f, f->w[k].calls > 0);
		for (k = 0; k < n; k++) {
			got[k] = f->w[k].v.status == ADMIT_ACCEPTED ? 'A' :
			    f->w[k].v.status == ADMIT_REJECTED &&
			    f->w[k].v.reason == TX_ERR_SIGNATURE ? 'R' : '?';
			assert_int_equal(f->w[k].calls, 1);
			assert_true(f->w[k].v.have_id);
			assert_memory_equal(f->w[k].v.id, good.id, TX_ID_LEN);
		}
		got[n] = '\0';
		if (strcmp(got, c->verdicts) != 0)
			fail_msg("%s: verdicts %s, want %s", c->copies, got,
			    c->verdicts);
		for (k = 0; k < f->ncalls && k < sizeof(got) - 1; k++)
			got[k] = f->calls[k].kind == K_ACCEPTED ? 'A' :
			    f->calls[k].kind == K_RETRY ? 'R' : '?';
		got[k] = '\0';
		if (strcmp(got, c->hooks) != 0)
			fail_msg("%s: hooks %s, want %s", c->copies, got, c->hooks);
		for (k = 0; k < f->ncalls; k++) {
			assert_memory_equal(f->calls[k].id, good.id, TX_ID_LEN);
			assert_int_equal(f->calls[k].origin, 0);
		}
		if (stats.verify_count != c->verified)
			fail_msg("%s: %llu validations, want %u", c->copies,
			    (unsigned long long)stats.verify_count, c->verified);
		assert_false(admit_pending(f->a, good.id));
		if (strchr(c->verdicts, 'A') != NULL) {
			assert_non_null(mempool_get(f->mp, good.id));
			assert_memory_equal(mempool_get(f->mp, good.id)->raw,
			    good.raw, good.len);
		} else
			assert_null(mempool_get(f->mp, good.id));
	}
}

/* --- admit_cancel ---------------------------------------------------- */

static void
test_admit_api_cancel(void **state)
{
	struct fx	*f = *state;
	struct waiter	*w0 = &f->w[0], *w1 = &f->w[1], *w2 = &f->w[2];
	struct ttx	 x, y, bad, other;
	uint8_t		 unknown[TX_ID_LEN];

	/* Two callers on one id; the first goes away. */
	ttx_new(&x, 2, 1);
	assert_int_equal(submit(f, NULL, &x, w0), ADMIT_QUEUED);
	assert_int_equal(submit(f, NULL, &x, w1), ADMIT_PENDING_SAME);
	admit_cancel(f->a, x.id, w0);
	WAIT_UNTIL(f, calls_of(f, K_ACCEPTED, x.id, 0) == 1);
	assert_int_equal(w0->calls, 0);
	verdict_check("second caller", w1, ADMIT_ACCEPTED, 0, x.id, NULL);

	/* The only caller goes away: no verdict, the tx is still admitted. */
	fx_reset(f);
	ttx_new(&y, 2, 1);
	memset(unknown, 0x77, sizeof(unknown));
	assert_int_equal(submit(f, NULL, &y, w0), ADMIT_QUEUED);
	admit_cancel(f->a, unknown, w0);	/* not pending: nothing */
	admit_cancel(f->a, y.id, w2);		/* not waiting: nothing */
	admit_cancel(f->a, y.id, w0);
	admit_cancel(f->a, y.id, w0);		/* twice: harmless */
	WAIT_UNTIL(f, calls_of(f, K_ACCEPTED, y.id, 0) == 1);
	assert_int_equal(w0->calls, 0);
	assert_int_equal(w2->calls, 0);
	assert_non_null(mempool_get(f->mp, y.id));
	/* After the verdict: nothing to cancel. */
	admit_cancel(f->a, y.id, w0);

	/* A bad copy, and a valid one whose caller goes away: not validated. */
	fx_reset(f);
	ttx_new(&other, 2, 1);
	ttx_copy(&bad, &other, M_SIG);
	assert_int_equal(submit(f, NULL, &bad, w0), ADMIT_QUEUED);
	assert_int_equal(submit(f, NULL, &other, w1), ADMIT_PENDING_OTHER);
	admit_cancel(f->a, other.id, w1);
	WAIT_UNTIL(f, w0->calls > 0);
	verdict_check("bad copy", w0, ADMIT_REJECTED, TX_ERR_SIGNATURE, other.id,
	    "bad signature");
	assert_false(admit_pending(f->a, other.id));
	assert_int_equal(w1->calls, 0);
	assert_int_equal(stats.verify_count, 1);
	assert_null(mempool_get(f->mp, other.id));
}

/*
 * An admit_cancel(id, arg) made from one waiter's callback stops the other
 * waiter's verdict, though the id is out of "validating" by then (after a
 * cancel the other's arg may be freed memory).  Once a bug: two API callers
 * on one id, the first one's callback cancelled the second, and the second
 * still got its verdict.
 */
struct cancel_ctx {
	struct fx	*f;
	const uint8_t	*id;
	struct waiter	*victim;
	unsigned	 calls;
};

static void
on_verdict_cancel(const struct admit_verdict *v, void *arg)
{
	struct cancel_ctx	*c = arg;

	(void)v;
	c->calls++;
	admit_cancel(c->f->a, c->id, c->victim);
}

static void
test_admit_api_cancel_in_verdict(void **state)
{
	struct fx		*f = *state;
	struct cancel_ctx	 ctx;
	struct src_rec		 s;
	struct admit_result	 r;
	struct ttx		 x, px[4];
	int			 via_source, bad = 0;
	size_t			 i;

	for (via_source = 0; via_source <= 1; via_source++) {
		fx_reset(f);
		if (via_source) {
			/* The id waits in a peer's queue, dropped when it goes. */
			src_open(f, &s, 61, "peer61");
			for (i = 0; i < 4; i++) {
				ttx_new(&px[i], 3, 1);
				assert_int_equal(submit(f, s.src, &px[i], NULL),
				    ADMIT_QUEUED);
			}
			assert_true(admit_source_blocked(s.src));
			x = px[3];
		} else
			ttx_new(&x, 3, 1);
		memset(&ctx, 0, sizeof(ctx));
		ctx.f = f;
		ctx.id = x.id;
		ctx.victim = &f->w[1];
		admit_tx(f->a, NULL, x.raw, x.len, on_verdict_cancel, &ctx, &r);
		assert_int_equal(r.what, via_source ? ADMIT_PENDING_SAME :
		    ADMIT_QUEUED);
		assert_int_equal(submit(f, NULL, &x, &f->w[1]), ADMIT_PENDING_SAME);
		if (via_source)
			src_close(&s);
		else
			WAIT_UNTIL(f, ctx.calls > 0);
		assert_int_equal(ctx.calls, 1);
		if (f->w[1].calls != 0)
			bad |= 1 << via_source;
	}
	if (bad != 0)
		fail_msg("a caller cancelled before its verdict still got it:%s%s",
		    bad & 1 ? " on a verdict" : "",
		    bad & 2 ? " on a source freed" : "");
}

/*
 * The same when the other waiter sent other bytes and the first copy proves
 * bad: the other waiter was moved aside to be admitted again on its own
 * bytes (admit_waiters_take), so a cancel from the first waiter's callback
 * must still stop it.
 */
static void
test_admit_api_cancel_in_verdict_retry(void **state)
{
	struct fx		*f = *state;
	struct cancel_ctx	 ctx;
	struct admit_result	 r;
	struct ttx		 good, bad;

	ttx_new(&good, 3, 1);
	ttx_copy(&bad, &good, M_SIG);
	memset(&ctx, 0, sizeof(ctx));
	ctx.f = f;
	ctx.id = good.id;
	ctx.victim = &f->w[1];
	admit_tx(f->a, NULL, bad.raw, bad.len, on_verdict_cancel, &ctx, &r);
	assert_int_equal(r.what, ADMIT_QUEUED);
	assert_int_equal(submit(f, NULL, &good, &f->w[1]), ADMIT_PENDING_OTHER);
	WAIT_UNTIL(f, ctx.calls > 0);
	/* Let a resubmitted copy, if any, come back. */
	WAIT_UNTIL(f, !admit_pending(f->a, good.id));
	if (f->w[1].calls != 0)
		fail_msg("a caller cancelled from the bad copy's verdict still got "
		    "%u verdict(s) (its copy was validated after the cancel)",
		    f->w[1].calls);
	assert_int_equal(stats.verify_count, 1);
	assert_null(mempool_get(f->mp, good.id));
}

/* --- (sender, nonce) reuse and a full mempool ------------------------- */

/*
 * Of two transactions with the same (sender, nonce) the one with the
 * smaller id wins (docs/PROTOCOL.md 5.4), whichever came first: a larger
 * one is refused, a smaller one replaces the holder.  (Before, the first
 * kept the nonce, so two nodes that saw them in another order never agreed.)
 */
static void
test_admit_api_nonce(void **state)
{
	struct fx	*f = *state;
	struct ttx	 a, b, c, d, e, *small, *large;
	uint64_t	 nonce = nonce_next++;
	struct waiter	*w = f->w;
	uint8_t		 winner[TX_ID_LEN];

	ttx_make(&a, 3, NETWORK, 1, nonce, 0, 0);
	ttx_make(&b, 3, NETWORK, 2, nonce, 0, 0);	/* same sender and nonce */
	ttx_make(&c, 2, NETWORK, 1, nonce, 0, 0);	/* another sender */
	assert_memory_not_equal(a.id, b.id, TX_ID_LEN);
	small = memcmp(a.id, b.id, TX_ID_LEN) < 0 ? &a : &b;
	large = small == &a ? &b : &a;

	/* The smaller first: the larger is refused, and remembered so. */
	assert_int_equal(submit(f, NULL, small, &w[0]), ADMIT_QUEUED);
	WAIT_UNTIL(f, w[0].calls > 0);
	verdict_check("smaller first", &w[0], ADMIT_ACCEPTED, 0, small->id, NULL);
	assert_int_equal(submit(f, NULL, large, &w[1]), ADMIT_QUEUED);
	WAIT_UNTIL(f, w[1].calls > 0);
	verdict_check("larger second", &w[1], ADMIT_REJECTED, REASON_NONCE,
	    large->id, "nonce already used");
	assert_non_null(strstr(w[1].v.msg, "whose id is smaller"));
	assert_string_equal(reason_str(REASON_NONCE), "nonce already used");
	assert_int_equal(calls_of(f, K_SETTLED, large->id, 0), 1);
	assert_int_equal(calls_of(f, K_RETRY, NULL, ANY), 0);
	assert_int_equal(stats.txs_rejected[REASON_NONCE], 1);
	assert_int_equal(f->hub_reason, REASON_NONCE);
	assert_true(admit_settled(f->a, large->id));
	assert_null(mempool_get(f->mp, large->id));
	assert_true(admit_replaced_by(f->a, large->id, winner));
	assert_memory_equal(winner, small->id, TX_ID_LEN);
	/* Remembered: not verified again, and the answer names the winner. */
	assert_int_equal(submit(f, NULL, large, &w[2]), ADMIT_REJECTED_ID);
	verdict_check("larger again", &w[2], ADMIT_REJECTED, REASON_NONCE,
	    large->id, "nonce already used: replaced by ");
	assert_int_equal(stats.verify_count, 2);

	assert_int_equal(submit(f, NULL, &c, &w[3]), ADMIT_QUEUED);
	WAIT_UNTIL(f, w[3].calls > 0);
	verdict_check("another sender", &w[3], ADMIT_ACCEPTED, 0, c.id, NULL);

	/* The larger first: the smaller replaces it, and says so. */
	nonce = nonce_next++;
	ttx_make(&d, 1, NETWORK, 1, nonce, 0, 0);
	ttx_make(&e, 1, NETWORK, 2, nonce, 0, 0);
	small = memcmp(d.id, e.id, TX_ID_LEN) < 0 ? &d : &e;
	large = small == &d ? &e : &d;
	assert_int_equal(submit(f, NULL, large, &w[4]), ADMIT_QUEUED);
	WAIT_UNTIL(f, w[4].calls > 0);
	verdict_check("larger first", &w[4], ADMIT_ACCEPTED, 0, large->id, NULL);
	assert_int_equal(submit(f, NULL, small, &w[5]), ADMIT_QUEUED);
	WAIT_UNTIL(f, w[5].calls > 0);
	verdict_check("smaller replaces", &w[5], ADMIT_ACCEPTED, 0, small->id, NULL);
	assert_non_null(mempool_get(f->mp, small->id));
	assert_null(mempool_get(f->mp, large->id));
	assert_int_equal(stats.txs_replaced, 1);
	assert_true(admit_replaced_by(f->a, large->id, winner));
	assert_memory_equal(winner, small->id, TX_ID_LEN);
	assert_true(admit_settled(f->a, large->id));
	assert_int_equal(calls_of(f, K_ACCEPTED, small->id, 0), 1);
	assert_int_equal(stats.txs_rejected[REASON_NONCE], 1);
}

static void
test_admit_mempool_full(void **state)
{
	struct fx	*f = *state;
	struct ttx	 x;

	ttx_new(&x, 0, 1);
	assert_int_equal(submit(f, NULL, &x, &f->w[0]), ADMIT_QUEUED);
	WAIT_UNTIL(f, f->w[0].calls > 0);
	verdict_check("too big for the mempool", &f->w[0], ADMIT_REJECTED,
	    REASON_FULL, x.id, "mempool full");
	assert_int_equal(calls_of(f, K_SETTLED, x.id, 0), 1);
	assert_int_equal(f->ncalls, 1);
	assert_int_equal(stats.txs_rejected[REASON_FULL], 1);
	assert_int_equal(mempool_count(f->mp), 0);
	assert_int_equal(submit(f, NULL, &x, &f->w[1]), ADMIT_REJECTED_ID);
	verdict_check("again", &f->w[1], ADMIT_REJECTED, REASON_FULL, x.id, NULL);
}

/* --- peer sources ----------------------------------------------------- */

/* Verdicts on a peer's copies reach the hooks; the invalid ones name the peer. */
static const struct scase {
	const char	*name;
	const char	*net;
	uint64_t	 amount;
	uint16_t	 memo_len;
	int64_t		 ts_offset_ms;
	enum mangle	 mangle;
	enum kind	 hook;		/* with the source's tag */
	unsigned	 reason;	/* of the hub event, when rejected */
	const char	*why;		/* misbehaved(tag, "sent invalid tx ID: why"), NULL: not called */
} scases[] = {
	{ "valid", NETWORK, 7, 0, 0, M_NONE, K_ACCEPTED, 0, NULL },
	{ "bad signature", NETWORK, 1, 0, 0, M_SIG, K_RETRY, TX_ERR_SIGNATURE,
	    "bad signature" },
	{ "wrong network", "other-net", 1, 0, 0, M_NONE, K_SETTLED,
	    TX_ERR_NETWORK, "wrong network" },
	/* An honest node may relay these: no misbehaviour. */
	{ "amount over policy", NETWORK, 150, 0, 0, M_NONE, K_SETTLED,
	    TX_ERR_AMOUNT, NULL },
	{ "memo over policy", NETWORK, 1, POLICY_MEMO + 1, 0, M_NONE, K_SETTLED,
	    TX_ERR_MEMO, NULL },
	{ "future", NETWORK, 1, 0, 3600 * 1000, M_NONE, K_SETTLED,
	    TX_ERR_FUTURE, NULL },
	{ "expired", NETWORK, 1, 0, -48LL * 3600 * 1000, M_NONE, K_SETTLED,
	    TX_ERR_EXPIRED, NULL },
	/* Undecodable: said at once, the caller drops the peer; no hook. */
	{ "undecodable", NETWORK, 1, 0, 0, M_TRUNCATE, K_NONE, 0, NULL },
};

static void
test_admit_peer_cases(void **state)
{
	struct fx		*f = *state;
	const struct scase	*c;
	struct src_rec		 s;
	struct ttx		 x;
	char			 label[32], want[160];
	size_t			 i;
	uint64_t		 tag;

	for (i = 0; i < sizeof(scases) / sizeof(scases[0]); i++) {
		c = &scases[i];
		fx_reset(f);
		tag = 100 + i;
		snprintf(label, sizeof(label), "peer%llu", (unsigned long long)tag);
		src_open(f, &s, tag, label);
		ttx_make(&x, 1, c->net, c->amount, nonce_next++, c->memo_len,
		    c->ts_offset_ms);
		ttx_mangle(&x, c->mangle);
		if (c->hook == K_NONE) {
			assert_int_equal(submit(f, s.src, &x, NULL),
			    ADMIT_UNDECODABLE);
			assert_int_equal(stats.txs_rejected[TX_ERR_ENCODING], 1);
			src_close(&s);
			if (f->ncalls != 0)
				fail_msg("%s: %zu hook calls", c->name, f->ncalls);
			continue;
		}
		assert_int_equal(submit(f, s.src, &x, NULL), ADMIT_QUEUED);
		assert_true(admit_pending(f->a, x.id));
		WAIT_UNTIL(f, calls_on(f, x.id) > 0);
		if (calls_of(f, c->hook, x.id, c->hook == K_SETTLED ? 0 : tag) != 1)
			fail_msg("%s: no hook call of kind %d for the peer's copy",
			    c->name, (int)c->hook);
		if (c->why != NULL) {
			snprintf(want, sizeof(want), "sent invalid tx %.16s: %s",
			    x.idhex, c->why);
			if (calls_of(f, K_MISBEHAVED, NULL, tag) != 1)
				fail_msg("%s: misbehaved not called for %s", c->name,
				    label);
			assert_string_equal(f->calls[f->ncalls - 1].why, want);
			assert_int_equal(f->ncalls, 2);
		} else if (f->ncalls != 1)
			fail_msg("%s: %zu hook calls, want 1", c->name, f->ncalls);
		/* The hub names the peer. */
		assert_string_equal(f->hub_from, label);
		if (c->hook == K_ACCEPTED) {
			assert_int_equal(f->hub_accepted, 1);
			assert_int_equal(f->hub_amount, c->amount);
		} else {
			assert_int_equal(f->hub_rejected, 1);
			assert_int_equal(f->hub_reason, c->reason);
		}
		/* A copy seen again from a peer: no more hook calls. */
		assert_int_equal(submit(f, s.src, &x, NULL),
		    c->hook == K_ACCEPTED ? ADMIT_KNOWN :
		    c->hook == K_RETRY ? ADMIT_REJECTED_COPY : ADMIT_REJECTED_ID);
		src_close(&s);
		assert_int_equal(f->ncalls, c->why != NULL ? 2 : 1);
		assert_int_equal(s.pauses, 0);
	}
}

/*
 * A tiny validator (1 thread, room for 1): a peer's flood waits in its
 * queue and pauses it; a second source and the API queue behind it; every
 * job gets its verdict, each source is resumed once.
 */
static void
test_admit_peer_backpressure(void **state)
{
	enum { N1 = 40, N2 = 5, NAPI = 5 };
	struct fx	*f = *state;
	struct src_rec	 s1, s2;
	struct ttx	 x1[N1], x2[N2], xa[NAPI];
	size_t		 i, paused_at = N1;

	src_open(f, &s1, 11, "peer11");
	src_open(f, &s2, 12, "peer12");
	for (i = 0; i < N1; i++) {
		ttx_new(&x1[i], 0, 1);
		assert_int_equal(submit(f, s1.src, &x1[i], NULL), ADMIT_QUEUED);
		if (s1.pauses > 0 && paused_at == N1)
			paused_at = i;
	}
	/* The validator holds at most capacity + threads = 2 jobs. */
	assert_int_equal(s1.pauses, 1);
	assert_true(paused_at >= 1 && paused_at <= 2);
	assert_true(admit_source_blocked(s1.src));
	assert_int_equal(s1.resumes, 0);
	assert_true(stats.backpressure >= 1);
	/* Behind a paused source, the others wait their turn. */
	for (i = 0; i < N2; i++) {
		ttx_new(&x2[i], 1, 1);
		assert_int_equal(submit(f, s2.src, &x2[i], NULL), ADMIT_QUEUED);
	}
	assert_int_equal(s2.pauses, 1);
	assert_true(admit_source_blocked(s2.src));
	for (i = 0; i < NAPI; i++) {
		ttx_new(&xa[i], 2, 1);
		assert_int_equal(submit(f, NULL, &xa[i], &f->w[i]), ADMIT_QUEUED);
		assert_int_equal(f->w[i].calls, 0);
	}
	for (i = 0; i < N1; i++)
		assert_true(admit_pending(f->a, x1[i].id));
	assert_int_equal(f->ncalls, 2);		/* the two pauses */

	WAIT_UNTIL(f, calls_of(f, K_ACCEPTED, NULL, ANY) == N1 + N2 + NAPI);
	/* Resumed once each, once nothing of theirs waited. */
	assert_int_equal(s1.pauses, 1);
	assert_int_equal(s1.resumes, 1);
	assert_int_equal(s2.pauses, 1);
	assert_int_equal(s2.resumes, 1);
	assert_false(s1.blocked_at_resume);
	assert_false(s2.blocked_at_resume);
	assert_false(admit_source_blocked(s1.src));
	assert_false(admit_source_blocked(s2.src));
	for (i = 0; i < N1; i++)
		assert_int_equal(calls_of(f, K_ACCEPTED, x1[i].id, 11), 1);
	for (i = 0; i < N2; i++)
		assert_int_equal(calls_of(f, K_ACCEPTED, x2[i].id, 12), 1);
	for (i = 0; i < NAPI; i++) {
		assert_int_equal(calls_of(f, K_ACCEPTED, xa[i].id, 0), 1);
		verdict_check("api behind peers", &f->w[i], ADMIT_ACCEPTED, 0,
		    xa[i].id, NULL);
	}
	assert_int_equal(f->ncalls, N1 + N2 + NAPI + 4);
	assert_int_equal(calls_of(f, K_RETRY, NULL, ANY) +
	    calls_of(f, K_SETTLED, NULL, ANY) +
	    calls_of(f, K_MISBEHAVED, NULL, ANY), 0);
	assert_int_equal(stats.txs_accepted, N1 + N2 + NAPI);
	assert_int_equal(mempool_count(f->mp), N1 + N2 + NAPI);
	src_close(&s1);
	src_close(&s2);
	assert_int_equal(f->ncalls, N1 + N2 + NAPI + 4);
}

/*
 * Fair validation (issue 9): a peer flooding the validator gets its share
 * of the room, not all of it, so another peer's transaction is verified
 * after at most about a share of the flood, not after the whole of it
 * (before: after every one of the flood's 1,500 jobs).
 */
static void
test_admit_fair_turns(void **state)
{
	enum { NFLOOD = 1500 };
	struct fx	*f = *state;
	struct src_rec	 flood, honest;
	struct ttx	*x, h;
	size_t		 i, k, at = 0, accepted = 0;

	x = calloc(NFLOOD, sizeof(*x));
	assert_non_null(x);
	src_open(f, &flood, 21, "flood21");
	src_open(f, &honest, 22, "honest22");
	for (i = 0; i < NFLOOD; i++) {
		ttx_new(&x[i], 0, 1);
		assert_int_equal(submit(f, flood.src, &x[i], NULL), ADMIT_QUEUED);
	}
	ttx_new(&h, 1, 1);
	assert_int_equal(submit(f, honest.src, &h, NULL), ADMIT_QUEUED);
	WAIT_UNTIL(f, calls_of(f, K_ACCEPTED, NULL, ANY) == NFLOOD + 1);
	for (k = 0; k < f->ncalls; k++) {
		if (f->calls[k].kind != K_ACCEPTED)
			continue;
		accepted++;
		if (f->calls[k].origin == 22)
			at = accepted;
	}
	printf("fair turns: the honest peer's transaction was verdict %zu of %d\n",
	    at, NFLOOD + 1);
	/* The validator's room is 257 (queue 256, 1 thread): half of it is a share. */
	assert_true(at > 0 && at <= 257 + 16);
	src_close(&flood);
	src_close(&honest);
	free(x);
}

/*
 * A source goes away with jobs waiting: their ids go to retry (no bad
 * origin), API callers waiting on them are answered, and the ids may come
 * again; its jobs in the validator still come back.
 */
static void
test_admit_peer_free_waiting(void **state)
{
	enum { N = 12 };
	struct fx	*f = *state;
	struct src_rec	 s;
	struct ttx	 x[N], other;
	size_t		 i, p = N, before;

	src_open(f, &s, 21, "peer21");
	for (i = 0; i < N; i++) {
		ttx_new(&x[i], 0, 1);
		assert_int_equal(submit(f, s.src, &x[i], NULL), ADMIT_QUEUED);
		if (s.pauses > 0 && p == N)
			p = i;		/* this one and the rest wait */
	}
	assert_true(p >= 1 && p <= 2);
	assert_true(admit_source_blocked(s.src));
	/* API callers on two waiting ids: the same bytes, another copy. */
	assert_int_equal(submit(f, NULL, &x[N - 1], &f->w[0]), ADMIT_PENDING_SAME);
	ttx_copy(&other, &x[N - 2], M_SIG);
	assert_int_equal(submit(f, NULL, &other, &f->w[1]), ADMIT_PENDING_OTHER);

	before = f->ncalls;
	src_close(&s);
	/* At once: a retry with no bad origin for each waiting id. */
	assert_int_equal(f->ncalls - before, N - p);
	for (i = 0; i < N; i++) {
		if (calls_of(f, K_RETRY, x[i].id, 0) != (i >= p ? 1u : 0u))
			fail_msg("job %zu (waiting from %zu): %zu retry calls", i,
			    p, calls_of(f, K_RETRY, x[i].id, 0));
		if (i >= p)
			assert_false(admit_pending(f->a, x[i].id));
	}
	/* Both API callers are answered (node busy: they may retry). */
	verdict_check("api on a dropped job", &f->w[0], ADMIT_REJECTED,
	    REASON_BUSY, x[N - 1].id, "node busy");
	verdict_check("api copy on a dropped job", &f->w[1], ADMIT_REJECTED,
	    REASON_BUSY, x[N - 2].id, "node busy");
	assert_int_equal(s.resumes, 0);

	/* Those the validator took come back: accepted or skipped (retry). */
	for (i = 0; i < p; i++)
		WAIT_UNTIL(f, calls_on(f, x[i].id) > 0);
	for (i = 0; i < p; i++)
		assert_int_equal(calls_of(f, K_ACCEPTED, x[i].id, 21) +
		    calls_of(f, K_RETRY, x[i].id, 21), 1);
	assert_int_equal(calls_of(f, K_MISBEHAVED, NULL, ANY), 0);
	assert_int_equal(s.resumes, 0);

	/* The dropped ids are not condemned: they are admitted when they come again. */
	assert_false(admit_settled(f->a, x[N - 1].id));
	for (i = p; i < N; i++)
		assert_int_equal(submit(f, NULL, &x[i], &f->w[10 + i]),
		    ADMIT_QUEUED);
	for (i = p; i < N; i++) {
		WAIT_UNTIL(f, f->w[10 + i].calls > 0);
		verdict_check("dropped, again", &f->w[10 + i], ADMIT_ACCEPTED, 0,
		    x[i].id, NULL);
	}
}

/*
 * A source's jobs in the validator when it goes away are skipped: their
 * ids go to retry with the source's tag, and nothing is misbehaviour any
 * more (the source is closed).  An API caller on a skipped job gets its
 * own copy validated.
 */
static void
test_admit_peer_free_skips(void **state)
{
	enum { N = 200 };
	struct fx	*f = *state;
	struct src_rec	 s;
	static struct ttx x[N];
	size_t		 i, nskipped = 0, ndone;

	src_open(f, &s, 31, "peer31");
	for (i = 0; i < N; i++) {
		ttx_new(&x[i], 1, 1);
		if (i % 3 == 1)
			ttx_mangle(&x[i], M_SIG);
	}
	for (i = 0; i < N; i++)
		assert_int_equal(submit(f, s.src, &x[i], NULL), ADMIT_QUEUED);
	assert_int_equal(s.pauses, 0);		/* the validator had room */
	/* An API caller on the last valid one. */
	assert_int_equal((N - 2) % 3, 0);
	assert_int_equal(submit(f, NULL, &x[N - 2], &f->w[0]), ADMIT_PENDING_SAME);
	src_close(&s);
	for (i = 0; i < N; i++)
		WAIT_UNTIL(f, calls_of(f, K_ACCEPTED, x[i].id, 31) +
		    calls_of(f, K_RETRY, x[i].id, 31) > 0);
	WAIT_UNTIL(f, f->w[0].calls > 0);

	assert_int_equal(calls_of(f, K_MISBEHAVED, NULL, ANY), 0);
	assert_int_equal(calls_of(f, K_SETTLED, NULL, ANY), 0);
	for (i = 0; i < N; i++) {
		ndone = calls_of(f, K_ACCEPTED, x[i].id, 31) +
		    calls_of(f, K_RETRY, x[i].id, 31);
		if (ndone != 1)
			fail_msg("job %zu: %zu calls with the source's tag", i,
			    ndone);
		if (i % 3 == 1)
			assert_int_equal(calls_of(f, K_RETRY, x[i].id, 31), 1);
		else if (calls_of(f, K_RETRY, x[i].id, 31) == 1)
			nskipped++;
	}
	/* The workers did not verify the whole flood. */
	assert_true(nskipped > 0);
	{
		struct admit_gauges	g;

		admit_gauges(f->a, &g);
		assert_true(g.verified < N);
	}
	/* The API caller's copy was validated all the same. */
	verdict_check("api on a skipped job", &f->w[0], ADMIT_ACCEPTED, 0,
	    x[N - 2].id, NULL);
	assert_non_null(mempool_get(f->mp, x[N - 2].id));
}

/*
 * The misbehaved hook closes the peer at once (as the relay does): the rest
 * of its flood is dropped or skipped, and never called misbehaviour again.
 */
static void
test_admit_peer_misbehaved_frees(void **state)
{
	enum { N = 10 };
	struct fx	*f = *state;
	struct src_rec	 s;
	struct ttx	 x[N];
	size_t		 i, p = N;

	src_open(f, &s, 41, "peer41");
	f->free_on_misbehaved = &s;
	for (i = 0; i < N; i++) {
		ttx_new(&x[i], 2, 1);
		ttx_mangle(&x[i], M_SIG);
		assert_int_equal(submit(f, s.src, &x[i], NULL), ADMIT_QUEUED);
		if (s.pauses > 0 && p == N)
			p = i;
	}
	assert_true(p >= 1 && p <= 2);
	for (i = 0; i < N; i++)
		WAIT_UNTIL(f, calls_of(f, K_RETRY, x[i].id, ANY) > 0);
	assert_null(s.src);
	assert_int_equal(calls_of(f, K_MISBEHAVED, NULL, ANY), 1);
	assert_int_equal(calls_of(f, K_MISBEHAVED, NULL, 41), 1);
	assert_int_equal(calls_of(f, K_RETRY, x[0].id, 41), 1);
	for (i = 0; i < N; i++) {
		assert_int_equal(calls_of(f, K_RETRY, x[i].id, ANY), 1);
		/* Dropped from its queue: no bad origin. */
		if (i >= p)
			assert_int_equal(calls_of(f, K_RETRY, x[i].id, 0), 1);
	}
	assert_int_equal(s.resumes, 0);
	f->free_on_misbehaved = NULL;
}

/* --- shutdown --------------------------------------------------------- */

/*
 * admit_shutdown answers every waiting API caller: verdicts for what the
 * validator held, "shutting down" for the rest; a source's waiting jobs go
 * when it is freed.  With stopping set first (as main.c does) or not.
 */
static void
test_admit_shutdown(void **state)
{
	enum { N = 8 };
	struct fx	*f = *state;
	struct src_rec	 s;
	struct ttx	 x[N], good, bad, late, px[3];
	struct waiter	*w;
	size_t		 i, k, naccepted = 0, before;
	int		 stopping_first = f->stopping_first;

	assert_int_equal(f->n.stopping, 0);

	/* A bad copy first (the validator takes it), a valid copy waits on it. */
	ttx_new(&good, 0, 1);
	ttx_copy(&bad, &good, M_SIG);
	assert_int_equal(submit(f, NULL, &bad, &f->w[0]), ADMIT_QUEUED);
	assert_int_equal(submit(f, NULL, &good, &f->w[1]), ADMIT_PENDING_OTHER);
	/* At most one of these gets into the validator, the rest wait. */
	for (i = 0; i < N; i++) {
		ttx_new(&x[i], 0, 1);
		assert_int_equal(submit(f, NULL, &x[i], &f->w[2 + i]),
		    ADMIT_QUEUED);
	}
	/* A second caller on the last one. */
	assert_int_equal(submit(f, NULL, &x[N - 1], &f->w[2 + N]),
	    ADMIT_PENDING_SAME);
	/* A peer's jobs wait for room too. */
	src_open(f, &s, 51, "peer51");
	for (i = 0; i < 3; i++) {
		ttx_new(&px[i], 1, 1);
		assert_int_equal(submit(f, s.src, &px[i], NULL), ADMIT_QUEUED);
	}
	assert_int_equal(s.pauses, 1);
	for (i = 0; i < 3 + N; i++)
		assert_int_equal(f->w[i].calls, 0);

	if (stopping_first) {
		f->n.stopping = 1;
		ttx_new(&late, 0, 1);
		assert_int_equal(submit(f, NULL, &late, &f->w[20]),
		    ADMIT_STOPPING);
		assert_int_equal(f->w[20].calls, 0);
	}
	admit_shutdown(f->a);
	{
		struct admit_gauges	g;

		/* The pool is gone: no depth, no count, the configured capacity. */
		admit_gauges(f->a, &g);
		assert_int_equal(g.queue_depth, 0);
		assert_int_equal(g.verified, 0);
		assert_int_equal(g.queue_capacity, f->cfg.validator_queue);
	}

	/* Every caller answered, once. */
	for (i = 0; i < 3 + N; i++)
		if (f->w[i].calls != 1)
			fail_msg("caller %zu: %u verdicts", i, f->w[i].calls);
	verdict_check("bad copy", &f->w[0], ADMIT_REJECTED, TX_ERR_SIGNATURE,
	    good.id, "bad signature");
	/* Its copy was to be validated on its own: too late now. */
	w = &f->w[1];
	assert_int_equal(w->v.status, ADMIT_REJECTED);
	assert_int_equal(w->v.reason, REASON_BUSY);
	assert_string_equal(w->v.msg, "node is shutting down");
	if (w->v.have_id)
		assert_memory_equal(w->v.id, good.id, TX_ID_LEN);
	assert_null(mempool_get(f->mp, good.id));
	for (i = 0; i < N; i++) {
		w = &f->w[2 + i];
		if (w->v.status == ADMIT_ACCEPTED) {
			if (i != naccepted)
				fail_msg("caller %zu accepted after one that was "
				    "not", i);
			naccepted++;
			continue;
		}
		verdict_check("queued at shutdown", w, ADMIT_REJECTED,
		    REASON_BUSY, x[i].id, "node is shutting down");
		assert_false(admit_pending(f->a, x[i].id));
	}
	assert_true(naccepted <= 1);
	verdict_check("second caller", &f->w[2 + N], ADMIT_REJECTED, REASON_BUSY,
	    x[N - 1].id, "node is shutting down");

	/* Nothing more is taken, and nobody is called for it. */
	ttx_new(&late, 0, 1);
	assert_int_equal(submit(f, NULL, &late, &f->w[21]), ADMIT_STOPPING);
	assert_int_equal(f->w[21].calls, 0);
	assert_int_equal(submit(f, s.src, &late, NULL), ADMIT_STOPPING);
	admit_shutdown(f->a);		/* twice: harmless */
	for (i = 0; i < 3 + N; i++)
		assert_int_equal(f->w[i].calls, 1);

	/* The peer's jobs that waited go to retry when it is freed. */
	assert_true(admit_source_blocked(s.src));
	before = f->ncalls;
	src_close(&s);
	/*
	 * Its first job may have got into the validator (a source under its
	 * share does not wait behind another's queue) and been judged at
	 * shutdown; the rest waited and go to retry now.
	 */
	for (i = 0, k = 0; i < 3; i++)
		k += calls_of(f, K_RETRY, px[i].id, 0);
	assert_int_equal(k + calls_of(f, K_ACCEPTED, px[0].id, 51), 3);
	assert_true(k >= 2);
	assert_int_equal(f->ncalls - before, k);
	assert_int_equal(s.resumes, 0);
}

/*
 * admit_shutdown answers every waiting API caller, those waiting on a job
 * in a paused peer source's queue too (admit.h: "Waiting API callers are
 * answered").  Once a bug: such a caller got no verdict until the source
 * was freed, and none at all if admit_free came first.
 */
static void
test_admit_shutdown_peer_queue(void **state)
{
	struct fx	*f = *state;
	struct src_rec	 s;
	struct ttx	 px[4];
	size_t		 i;
	unsigned	 n;

	src_open(f, &s, 71, "peer71");
	for (i = 0; i < 4; i++) {
		ttx_new(&px[i], 3, 1);
		assert_int_equal(submit(f, s.src, &px[i], NULL), ADMIT_QUEUED);
	}
	assert_true(admit_source_blocked(s.src));
	assert_int_equal(submit(f, NULL, &px[3], &f->w[0]), ADMIT_PENDING_SAME);
	admit_shutdown(f->a);
	n = f->w[0].calls;
	src_close(&s);
	if (n != 1)
		fail_msg("an API caller on a peer's waiting job: %u verdicts "
		    "after admit_shutdown, want 1", n);
	assert_int_equal(f->w[0].calls, 1);
}

/* The same, with the node's stopping flag set before (main.c's order). */
static void
test_admit_shutdown_stopping(void **state)
{
	struct fx	*f = *state;

	assert_true(f->stopping_first);
	test_admit_shutdown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_admit_api_cases,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(test_admit_api_pending,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(test_admit_api_cancel,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_api_cancel_in_verdict, fx_setup, fx_teardown,
		    (void *)&conf_tiny),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_api_cancel_in_verdict_retry, fx_setup, fx_teardown,
		    (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(test_admit_api_nonce,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(test_admit_mempool_full,
		    fx_setup, fx_teardown, (void *)&conf_nomem),
		cmocka_unit_test_prestate_setup_teardown(test_admit_peer_cases,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_peer_backpressure, fx_setup, fx_teardown,
		    (void *)&conf_tiny),
		cmocka_unit_test_prestate_setup_teardown(test_admit_fair_turns,
		    fx_setup, fx_teardown, (void *)&conf_wide),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_peer_free_waiting, fx_setup, fx_teardown,
		    (void *)&conf_tiny),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_peer_free_skips, fx_setup, fx_teardown,
		    (void *)&conf_wide),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_peer_misbehaved_frees, fx_setup, fx_teardown,
		    (void *)&conf_tiny),
		cmocka_unit_test_prestate_setup_teardown(test_admit_shutdown,
		    fx_setup, fx_teardown, (void *)&conf_tiny),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_store_group_commit, fx_setup, fx_teardown,
		    (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(test_admit_store_full,
		    fx_setup, fx_teardown, (void *)&conf_small),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_shutdown_stopping, fx_setup, fx_teardown,
		    (void *)&conf_tiny_stopping),
		cmocka_unit_test_prestate_setup_teardown(
		    test_admit_shutdown_peer_queue, fx_setup, fx_teardown,
		    (void *)&conf_tiny),
	};

	return cmocka_run_group_tests_name("admit", tests, group_setup, NULL);
}
