/*
 * test_txreq.c: the download scheduler (daemon/p2p/txreq.c): who is asked
 * for which id, and when, for every rule of txreq.h: the first announcer
 * at once, the inflight limit and retry_ms, timeouts, NOTFOUND,
 * disconnects, outbound announcers displacing inbound ones, the pools of
 * the classes of peers and the quotas in them (room kept for outbound and
 * productive peers, quotas adding up to at most the table), held entries,
 * and each answer admission gives on a copy.
 * txreq_check runs after every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "p2p/txreq.h"

#define T0		100000	/* the clock at the start of each case */
#define TIMEOUT		2000
#define RETRY		200
#define MAXASKS		4096

/* One request the scheduler made. */
struct ask {
	uint64_t	peer;
	unsigned	id;
};

struct h {
	struct txreq	*s;
	struct txreq_limits lim;
	struct ask	 asks[MAXASKS];
	size_t		 nasks, next;	/* recorded, and checked so far */
};

static const struct txreq_limits defaults = {
	.table_max = 200000,
	.announced_max = 20000,
	.inflight = 5000,
	.alts = 8,
	.timeout_ms = TIMEOUT,
	.retry_ms = RETRY,
};

static const uint8_t *
id_of(unsigned n)
{
	static uint8_t ids[8][TXREQ_ID_LEN];
	static unsigned k;
	uint8_t *id = ids[k++ % 8];

	memset(id, 0x5a, TXREQ_ID_LEN);
	id[0] = (uint8_t)n;
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)(n >> 16);
	id[3] = (uint8_t)(n >> 24);
	return id;
}

static void
on_ask(uint64_t peer, const uint8_t id[TXREQ_ID_LEN], void *arg)
{
	struct h *h = arg;

	assert_true(h->nasks < MAXASKS);
	h->asks[h->nasks].peer = peer;
	h->asks[h->nasks].id = (unsigned)id[0] | (unsigned)id[1] << 8 |
	    (unsigned)id[2] << 16 | (unsigned)id[3] << 24;
	h->nasks++;
}

static void
check(struct h *h)
{
	char err[256];

	if (txreq_check(h->s, err, sizeof(err)) != 0)
		fail_msg("txreq_check: %s", err);
}

static void
h_init(struct h *h, const struct txreq_limits *lim)
{
	memset(h, 0, sizeof(*h));
	h->lim = lim != NULL ? *lim : defaults;
	h->s = txreq_new(&h->lim, on_ask, h);
	assert_non_null(h->s);
	check(h);
}

static void
h_done(struct h *h)
{
	check(h);
	assert_int_equal(h->next, h->nasks);	/* every request was expected */
	txreq_free(h->s);
}

/* The next request made is peer for id. */
static void
asked(struct h *h, uint64_t peer, unsigned id)
{
	if (h->next >= h->nasks)
		fail_msg("expected peer %llu asked for %u, nobody was asked",
		    (unsigned long long)peer, id);
	if (h->asks[h->next].peer != peer || h->asks[h->next].id != id)
		fail_msg("expected peer %llu asked for %u, peer %llu was asked "
		    "for %u", (unsigned long long)peer, id,
		    (unsigned long long)h->asks[h->next].peer, h->asks[h->next].id);
	if (++h->next == h->nasks)
		h->next = h->nasks = 0;	/* all seen: room for more */
}

/* Nobody was asked since the last check. */
static void
none(struct h *h)
{
	if (h->next < h->nasks)
		fail_msg("expected nobody asked, peer %llu was asked for %u",
		    (unsigned long long)h->asks[h->next].peer, h->asks[h->next].id);
}

static void
add(struct h *h, uint64_t peer, int outbound)
{
	txreq_peer_add(h->s, peer, outbound);
	check(h);
}

static void
del(struct h *h, uint64_t peer)
{
	txreq_peer_del(h->s, peer);
	check(h);
	assert_int_equal(txreq_inflight(h->s, peer), 0);
	assert_int_equal(txreq_created(h->s, peer), 0);
}

static void
ann(struct h *h, uint64_t peer, unsigned id, int held, uint64_t now,
    enum txreq_ann want)
{
	enum txreq_ann r = txreq_announce(h->s, peer, id_of(id), held, now);

	check(h);
	if (r != want)
		fail_msg("announce of %u by peer %llu: %d, expected %d", id,
		    (unsigned long long)peer, (int)r, (int)want);
}

static void
rx(struct h *h, uint64_t peer, unsigned id, enum txreq_rx what, uint64_t now)
{
	txreq_received(h->s, peer, id_of(id), what, now);
	check(h);
}

static void
notfound(struct h *h, uint64_t peer, unsigned id, uint64_t now)
{
	txreq_notfound(h->s, peer, id_of(id), now);
	check(h);
}

static void
forget(struct h *h, unsigned id)
{
	txreq_forget(h->s, id_of(id));
	check(h);
}

static void
retry(struct h *h, unsigned id, uint64_t bad)
{
	txreq_retry(h->s, id_of(id), bad);
	check(h);
}

static void
poll_at(struct h *h, uint64_t now)
{
	txreq_poll(h->s, now);
	check(h);
}

/* id is wanted and asked of peer (0: of nobody now). */
static void
wanted(struct h *h, unsigned id, uint64_t peer)
{
	uint64_t a = 99999;

	if (!txreq_wanted(h->s, id_of(id), &a))
		fail_msg("id %u is not wanted", id);
	if (a != peer)
		fail_msg("id %u is asked of peer %llu, expected %llu", id,
		    (unsigned long long)a, (unsigned long long)peer);
}

static void
gone(struct h *h, unsigned id)
{
	if (txreq_wanted(h->s, id_of(id), NULL))
		fail_msg("id %u is still wanted", id);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* The first announcer is asked at once; later ones wait in line. */
static void
test_txreq_first_announcer_asked(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	ann(&h, 1, 7, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 1, 7);
	wanted(&h, 7, 1);
	assert_int_equal(txreq_count(h.s), 1);
	assert_int_equal(txreq_inflight(h.s, 1), 1);
	assert_int_equal(txreq_created(h.s, 1), 1);
	ann(&h, 2, 7, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 1, 7, 0, T0, TXREQ_ANN_KEPT);	/* the one asked */
	ann(&h, 2, 7, 0, T0, TXREQ_ANN_KEPT);	/* already in line */
	none(&h);
	assert_int_equal(txreq_inflight(h.s, 2), 0);
	assert_int_equal(txreq_created(h.s, 2), 0);
	/* Nothing moves before the deadline. */
	poll_at(&h, T0 + TIMEOUT - 1);
	none(&h);
	wanted(&h, 7, 1);
	/* The answer: the copy is in the mempool. */
	rx(&h, 1, 7, TXREQ_RX_SETTLED, T0 + 5);
	gone(&h, 7);
	assert_int_equal(txreq_count(h.s), 0);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	assert_int_equal(txreq_created(h.s, 1), 0);
	h_done(&h);
}

/* A peer at its inflight limit is not asked; the id waits retry_ms each time. */
static void
test_txreq_inflight_limit_retry(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	lim.inflight = 2;
	h_init(&h, &lim);
	add(&h, 1, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 2, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 3, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 1, 1);
	asked(&h, 1, 2);
	none(&h);
	wanted(&h, 3, 0);
	assert_int_equal(txreq_inflight(h.s, 1), 2);
	poll_at(&h, T0 + RETRY - 1);
	none(&h);
	poll_at(&h, T0 + RETRY);	/* still at its limit: waits again */
	none(&h);
	wanted(&h, 3, 0);
	rx(&h, 1, 1, TXREQ_RX_SETTLED, T0 + RETRY + 1);
	assert_int_equal(txreq_inflight(h.s, 1), 1);
	poll_at(&h, T0 + 2 * RETRY - 1);
	none(&h);
	poll_at(&h, T0 + 2 * RETRY);
	asked(&h, 1, 3);
	wanted(&h, 3, 1);
	assert_int_equal(txreq_inflight(h.s, 1), 2);
	/* Another announcer with room is asked instead of waiting. */
	add(&h, 2, 0);
	ann(&h, 1, 4, 0, T0 + 2 * RETRY, TXREQ_ANN_NEW);
	ann(&h, 2, 4, 0, T0 + 2 * RETRY, TXREQ_ANN_ADDED);
	none(&h);
	poll_at(&h, T0 + 3 * RETRY);
	asked(&h, 2, 4);
	/* 1 stays in line. */
	assert_int_equal(txreq_inflight(h.s, 1), 2);
	assert_int_equal(txreq_inflight(h.s, 2), 1);
	h_done(&h);
}

/* A timeout moves on to the next announcer, oldest first; the last one forgets. */
static void
test_txreq_timeout_next(void **state)
{
	struct h h;
	uint64_t t;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	ann(&h, 1, 5, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 3, 5, 0, T0 + 10, TXREQ_ANN_ADDED);
	ann(&h, 2, 5, 0, T0 + 20, TXREQ_ANN_ADDED);
	asked(&h, 1, 5);
	poll_at(&h, T0 + TIMEOUT - 1);
	none(&h);
	t = T0 + TIMEOUT;
	poll_at(&h, t);
	asked(&h, 3, 5);
	wanted(&h, 5, 3);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	assert_int_equal(txreq_inflight(h.s, 3), 1);
	/* The one that timed out is no announcer any more. */
	ann(&h, 1, 5, 0, t, TXREQ_ANN_ADDED);
	poll_at(&h, t + TIMEOUT);
	asked(&h, 2, 5);
	poll_at(&h, t + 2 * TIMEOUT);
	asked(&h, 1, 5);
	poll_at(&h, t + 3 * TIMEOUT);
	none(&h);
	gone(&h, 5);
	assert_int_equal(txreq_count(h.s), 0);
	assert_int_equal(txreq_created(h.s, 1), 0);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	/* A later announcement starts again. */
	ann(&h, 2, 5, 0, t + 3 * TIMEOUT, TXREQ_ANN_NEW);
	asked(&h, 2, 5);
	assert_int_equal(txreq_created(h.s, 2), 1);
	h_done(&h);
}

/* NOTFOUND from the peer asked moves on at once; from another, nothing. */
static void
test_txreq_notfound_next(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	ann(&h, 1, 9, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 9, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 9, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 9);
	notfound(&h, 2, 9, T0 + 1);	/* not asked of 2 */
	notfound(&h, 1, 8, T0 + 1);	/* not wanted */
	none(&h);
	wanted(&h, 9, 1);
	notfound(&h, 1, 9, T0 + 2);
	asked(&h, 2, 9);
	wanted(&h, 9, 2);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	/* The new request's deadline runs from the NOTFOUND. */
	poll_at(&h, T0 + 2 + TIMEOUT - 1);
	none(&h);
	notfound(&h, 2, 9, T0 + 3);
	asked(&h, 3, 9);
	notfound(&h, 3, 9, T0 + 4);
	none(&h);
	gone(&h, 9);
	assert_int_equal(txreq_created(h.s, 1), 0);
	h_done(&h);
}

/* A disconnect makes its requests due at the next poll; a gone peer is never asked. */
static void
test_txreq_disconnect(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	add(&h, 4, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 4, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 1, 2, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 1, 1);
	asked(&h, 1, 2);
	del(&h, 2);		/* in line for 1 */
	del(&h, 1);		/* asked for 1 and 2, creator of both */
	none(&h);
	wanted(&h, 1, 0);
	assert_int_equal(txreq_count(h.s), 2);
	poll_at(&h, T0 + 1);	/* due now, not at the timeout */
	asked(&h, 3, 1);	/* 2 is skipped */
	gone(&h, 2);		/* nobody else announced it */
	wanted(&h, 1, 3);
	del(&h, 3);
	poll_at(&h, T0 + 2);
	asked(&h, 4, 1);
	/* The line is empty and the peer asked goes: forgotten at the next poll. */
	del(&h, 4);
	poll_at(&h, T0 + 3);
	none(&h);
	gone(&h, 1);
	assert_int_equal(txreq_count(h.s), 0);
	/* A peer gone takes nothing with it from the others' counters. */
	add(&h, 5, 0);
	ann(&h, 5, 3, 0, T0 + 4, TXREQ_ANN_NEW);
	asked(&h, 5, 3);
	del(&h, 6);		/* never added: no change */
	assert_int_equal(txreq_inflight(h.s, 5), 1);
	assert_int_equal(txreq_created(h.s, 5), 1);
	h_done(&h);
}

/*
 * With the line full, an outbound announcer takes the place of the newest
 * inbound one and goes first; inbound ones, or outbound ones when the line
 * holds only outbound ones, are dropped.
 */
static void
test_txreq_outbound_displaces(void **state)
{
	static const struct {
		unsigned	alts;
		const char	*dirs;		/* announcers after the creator: i/o */
		const enum txreq_ann want[12];
		const uint64_t	order[12];	/* asked after the creator, 0 ends */
	} cases[] = {
		/* 8 inbound (2..9) fill the line, 10 is dropped, 11 and 12 displace 9 and 8. */
		{ 8, "iiiiiiiiioo",
		  { TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_ADDED,
		    TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_ADDED,
		    TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_DROPPED,
		    TXREQ_ANN_ADDED, TXREQ_ANN_ADDED },
		  { 12, 11, 2, 3, 4, 5, 6, 7, 0 } },
		/* alts 2: 4 displaces 3, then 5 displaces 2. */
		{ 2, "iioo",
		  { TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_ADDED,
		    TXREQ_ANN_ADDED },
		  { 5, 4, 0 } },
		/* A line of outbound ones keeps its place; an inbound one is dropped. */
		{ 2, "ooio",
		  { TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_DROPPED,
		    TXREQ_ANN_DROPPED },
		  { 2, 3, 0 } },
		/* Mixed: the newest inbound (4) goes, not the oldest (3). */
		{ 3, "oiio",
		  { TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_ADDED,
		    TXREQ_ANN_ADDED },
		  { 5, 2, 3, 0 } },
		/* alts 1. */
		{ 1, "iooi",
		  { TXREQ_ANN_ADDED, TXREQ_ANN_ADDED, TXREQ_ANN_DROPPED,
		    TXREQ_ANN_DROPPED },
		  { 3, 0 } },
	};
	struct txreq_limits lim = defaults;
	struct h h;
	uint64_t t, peer;
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		lim.alts = cases[c].alts;
		h_init(&h, &lim);
		add(&h, 1, 0);
		ann(&h, 1, 42, 0, T0, TXREQ_ANN_NEW);
		asked(&h, 1, 42);
		for (i = 0; cases[c].dirs[i] != '\0'; i++) {
			peer = 2 + i;
			add(&h, peer, cases[c].dirs[i] == 'o');
			ann(&h, peer, 42, 0, T0, cases[c].want[i]);
		}
		none(&h);
		t = T0;
		for (i = 0; cases[c].order[i] != 0; i++) {
			t += TIMEOUT;
			poll_at(&h, t);
			asked(&h, cases[c].order[i], 42);
		}
		poll_at(&h, t + TIMEOUT);
		none(&h);
		gone(&h, 42);
		h_done(&h);
	}
}

/*
 * The quota is the class's pool shared among the peers of the class, at
 * most announced_max; a new entry needs the creator under its quota and its
 * class under its pool.
 */
static void
test_txreq_quota_and_table(void **state)
{
	/* table_max 40: pools 10 (outbound), 10 (productive), 20 (inbound). */
	static const struct {
		size_t	peers, quota;
	} shares[] = {
		{ 1, 8 }, { 2, 8 }, { 3, 6 }, { 4, 5 }, { 5, 4 }, { 6, 3 },
		{ 7, 2 }, { 10, 2 }, { 11, 1 }, { 20, 1 }, { 21, 0 }, { 30, 0 },
	};
	struct txreq_limits lim = defaults;
	struct h h;
	size_t i;
	uint64_t p;

	(void)state;
	lim.table_max = 40;
	lim.announced_max = 8;
	h_init(&h, &lim);
	assert_int_equal(txreq_pool(h.s, TXREQ_OUTBOUND), 10);
	assert_int_equal(txreq_pool(h.s, TXREQ_PRODUCTIVE), 10);
	assert_int_equal(txreq_pool(h.s, TXREQ_INBOUND), 20);
	for (i = 0, p = 0; i < sizeof(shares) / sizeof(shares[0]); i++) {
		while (p < shares[i].peers)
			add(&h, ++p, 0);
		assert_int_equal(txreq_quota(h.s, 1), shares[i].quota);
		assert_int_equal(txreq_quota(h.s, p), shares[i].quota);
	}
	/* No lower bound: a crowd of 30 gets nothing, rather than more than the pool. */
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_QUOTA);
	assert_int_equal(txreq_room(h.s, 1), 0);
	txreq_free(h.s);

	/* The node's figures: 200000 in pools of 50000, 50000 and 100000. */
	h_init(&h, NULL);
	assert_int_equal(txreq_quota(h.s, 1), 0);	/* not added */
	for (p = 1; p <= 5; p++)
		add(&h, p, 0);
	assert_int_equal(txreq_quota(h.s, 1), 20000);
	add(&h, 6, 0);
	assert_int_equal(txreq_quota(h.s, 1), 16666);
	for (p = 7; p <= 125; p++)
		add(&h, p, 0);
	assert_int_equal(txreq_quota(h.s, 1), 800);	/* --max-peers 125 */
	for (p = 1000; p < 1008; p++)
		add(&h, p, 1);				/* --outbound 8 */
	assert_int_equal(txreq_quota(h.s, 1000), 6250);
	assert_int_equal(txreq_quota(h.s, 1), 800);
	for (p = 6; p <= 125; p++)
		del(&h, p);
	assert_int_equal(txreq_quota(h.s, 1), 20000);
	h_done(&h);

	/* table_max 12: pools 3, 3 and 6; announced_max 5. */
	lim.table_max = 12;
	lim.announced_max = 5;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	assert_int_equal(txreq_quota(h.s, 1), 2);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 2, 1, T0, TXREQ_ANN_NEW);	/* held ones count too */
	ann(&h, 1, 3, 0, T0, TXREQ_ANN_QUOTA);
	gone(&h, 3);
	assert_int_equal(txreq_created(h.s, 1), 2);
	ann(&h, 2, 3, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 3, 0, T0, TXREQ_ANN_ADDED);	/* not its entry */
	ann(&h, 2, 4, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 3, 5, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 3, 6, 0, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_count(h.s), 6);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_INBOUND), 6);
	/* A fourth inbound peer: share 1, but the pool is full. */
	add(&h, 4, 0);
	assert_int_equal(txreq_quota(h.s, 4), 1);
	ann(&h, 4, 7, 0, T0, TXREQ_ANN_FULL);
	ann(&h, 3, 8, 0, T0, TXREQ_ANN_QUOTA);	/* over its new share */
	/* An outbound peer has room of its own. */
	add(&h, 5, 1);
	assert_int_equal(txreq_quota(h.s, 5), 3);
	ann(&h, 5, 7, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 5, 8, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 5, 9, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 5, 10, 0, T0, TXREQ_ANN_QUOTA);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_OUTBOUND), 3);
	assert_int_equal(txreq_count(h.s), 9);
	del(&h, 4);		/* share 2 again */
	assert_int_equal(txreq_quota(h.s, 1), 2);
	forget(&h, 1);
	assert_int_equal(txreq_created(h.s, 1), 1);
	ann(&h, 1, 10, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 11, 0, T0, TXREQ_ANN_QUOTA);	/* the quota before the pool */
	/* 3 goes: its entries stay in the pool, counted for nobody. */
	del(&h, 3);
	assert_int_equal(txreq_quota(h.s, 2), 3);
	assert_int_equal(txreq_created(h.s, 2), 2);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_INBOUND), 6);
	assert_int_equal(txreq_room(h.s, 2), 0);
	ann(&h, 2, 11, 0, T0, TXREQ_ANN_FULL);
	gone(&h, 11);
	forget(&h, 5);
	assert_int_equal(txreq_room(h.s, 2), 1);
	ann(&h, 2, 11, 0, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_count(h.s), 9);
	assert_int_equal(txreq_created(h.s, 2), 3);
	asked(&h, 1, 1);
	asked(&h, 2, 3);
	asked(&h, 2, 4);
	asked(&h, 3, 5);
	asked(&h, 3, 6);
	asked(&h, 5, 7);
	asked(&h, 5, 8);
	asked(&h, 5, 9);
	asked(&h, 1, 10);
	asked(&h, 2, 11);
	h_done(&h);
}

/* Announces n fresh ids (from *next on) by peer until one is not tracked; returns how many were. */
static size_t
fill(struct h *h, uint64_t peer, size_t n, unsigned *next, enum txreq_ann *stop)
{
	enum txreq_ann r = TXREQ_ANN_NEW;
	size_t k;

	for (k = 0; k < n; k++) {
		r = txreq_announce(h->s, peer, id_of((*next)++), 1, T0);
		if (r != TXREQ_ANN_NEW)
			break;
	}
	if (stop != NULL)
		*stop = r;
	return k;
}

/*
 * Issue 9: inbound peers that connect one after another, each announcing
 * as many junk ids as it may, cannot fill the table: they fill the pool of
 * their class, and an outbound peer still gets its room; so does a peer
 * that delivered a valid transaction.
 */
static void
test_txreq_pools_keep_room_for_outbound_and_productive(void **state)
{
	struct h *h = calloc(1, sizeof(*h));
	enum txreq_ann stop;
	unsigned next = 0;
	size_t n;
	uint64_t p;

	(void)state;
	assert_non_null(h);
	h_init(h, NULL);
	/* Ten junk peers, one after another, 20000 ids each. */
	for (p = 1; p <= 10; p++) {
		add(h, p, 0);
		fill(h, p, 20000, &next, NULL);
	}
	check(h);
	assert_true(txreq_count(h->s) <= 100000);
	assert_int_equal(txreq_pool_used(h->s, TXREQ_INBOUND), 100000);
	/* An inbound newcomer: no room now (the caller keeps its announcement). */
	add(h, 11, 0);
	ann(h, 11, 1000000, 1, T0, TXREQ_ANN_FULL);
	assert_int_equal(txreq_room(h->s, 11), 0);
	/* One this node dialled: its own pool, at once. */
	add(h, 12, 1);
	ann(h, 12, 1000001, 1, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_quota(h->s, 12), 20000);
	n = fill(h, 12, 30000, &next, &stop);
	assert_int_equal(n, 19999);
	assert_int_equal(stop, TXREQ_ANN_QUOTA);
	/* One that delivered a valid transaction: its own pool too. */
	add(h, 13, 0);
	ann(h, 13, 1000002, 1, T0, TXREQ_ANN_FULL);
	txreq_peer_productive(h->s, 13);
	check(h);
	assert_int_equal(txreq_class(h->s, 13), TXREQ_PRODUCTIVE);
	ann(h, 13, 1000002, 1, T0, TXREQ_ANN_NEW);
	/* More junk peers cannot take either. */
	for (p = 100; p < 200; p++) {
		add(h, p, 0);
		assert_int_equal(fill(h, p, 10, &next, &stop), 0);
		assert_int_equal(stop, TXREQ_ANN_FULL);
	}
	assert_int_equal(txreq_room(h->s, 12), 0);	/* at its own quota */
	assert_int_equal(txreq_room(h->s, 13), 1);
	ann(h, 12, 1000003, 1, T0, TXREQ_ANN_QUOTA);
	add(h, 14, 1);
	ann(h, 14, 1000003, 1, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_quota(h->s, 12), 20000);	/* 50000 / 2 */
	ann(h, 13, 1000004, 1, T0, TXREQ_ANN_NEW);
	/* The junk's room frees as its ids go: the newcomer's share is there. */
	for (n = 0; n < 20000; n++)
		txreq_forget(h->s, id_of((unsigned)n));	/* peer 1's */
	check(h);
	assert_int_equal(txreq_room(h->s, 11), 1);
	ann(h, 11, 1000000, 1, T0, TXREQ_ANN_NEW);
	h_done(h);
	free(h);
}

/*
 * Whatever the order peers come, go and prove productive in, the quotas
 * add up to at most each pool and the pools to the table, and no class
 * holds more than its pool.
 */
static void
test_txreq_quotas_add_up_to_the_table(void **state)
{
	struct txreq_limits lim = defaults;
	struct h *h = calloc(1, sizeof(*h));
	uint64_t live[400], serial = 0, r = 0x9e3779b97f4a7c15ULL;
	size_t nlive = 0, step, i, sum, cls[TXREQ_CLASSES];
	unsigned next = 0;
	int c;

	(void)state;
	assert_non_null(h);
	lim.table_max = 1000;
	lim.announced_max = 300;
	h_init(h, &lim);
	for (step = 0; step < 3000; step++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		switch (r % 8) {
		case 0: case 1: case 2:		/* a peer comes */
			if (nlive < 400) {
				live[nlive] = ++serial;
				add(h, live[nlive++], (r >> 8) % 5 == 0);
			}
			break;
		case 3:				/* one goes */
			if (nlive > 0) {
				i = (size_t)(r >> 8) % nlive;
				del(h, live[i]);
				live[i] = live[--nlive];
			}
			break;
		case 4:				/* one proves productive */
			if (nlive > 0) {
				txreq_peer_productive(h->s, live[(r >> 8) % nlive]);
				check(h);
			}
			break;
		case 5:				/* ids settle */
			for (i = 0; i < 50; i++)
				txreq_forget(h->s, id_of((unsigned)((r >> 8) % (next + 1) + i)));
			check(h);
			break;
		default:			/* one announces all it may */
			if (nlive > 0)
				fill(h, live[(r >> 8) % nlive], 400, &next, NULL);
			check(h);
			break;
		}
		memset(cls, 0, sizeof(cls));
		for (i = 0, sum = 0; i < nlive; i++) {
			sum += txreq_quota(h->s, live[i]);
			c = txreq_class(h->s, live[i]);
			assert_true(c >= 0 && c < TXREQ_CLASSES);
			cls[c] += txreq_quota(h->s, live[i]);
			assert_true(txreq_created(h->s, live[i]) <= lim.announced_max);
		}
		if (sum > lim.table_max)
			fail_msg("step %zu: %zu peers' quotas add up to %zu, table %zu",
			    step, nlive, sum, lim.table_max);
		for (c = 0; c < TXREQ_CLASSES; c++) {
			assert_true(cls[c] <= txreq_pool(h->s, (enum txreq_class)c));
			assert_true(txreq_pool_used(h->s, (enum txreq_class)c) <=
			    txreq_pool(h->s, (enum txreq_class)c));
		}
		assert_true(txreq_count(h->s) <= lim.table_max);
	}
	h->nasks = h->next = 0;		/* held ids: nobody was asked */
	h_done(h);
	free(h);
}

/*
 * The classes: outbound at txreq_peer_add; inbound until a transaction it
 * delivered is accepted; entries made before stay counted where they were
 * made; an outbound peer, or one not added, does not change.
 */
static void
test_txreq_productive(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	lim.table_max = 40;	/* pools 10, 10, 20 */
	lim.announced_max = 8;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 1);
	assert_int_equal(txreq_class(h.s, 1), TXREQ_INBOUND);
	assert_int_equal(txreq_class(h.s, 3), TXREQ_OUTBOUND);
	assert_int_equal(txreq_class(h.s, 9), -1);
	ann(&h, 1, 1, 1, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 2, 1, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_quota(h.s, 1), 8);
	txreq_peer_productive(h.s, 1);
	check(&h);
	assert_int_equal(txreq_class(h.s, 1), TXREQ_PRODUCTIVE);
	assert_int_equal(txreq_quota(h.s, 1), 8);	/* 10 / 1, at most 8 */
	assert_int_equal(txreq_created(h.s, 1), 2);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_INBOUND), 2);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_PRODUCTIVE), 0);
	ann(&h, 1, 3, 1, T0, TXREQ_ANN_NEW);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_PRODUCTIVE), 1);
	/* Again, outbound, unknown, or the API (0): no change. */
	txreq_peer_productive(h.s, 1);
	txreq_peer_productive(h.s, 3);
	txreq_peer_productive(h.s, 9);
	txreq_peer_productive(h.s, 0);
	check(&h);
	assert_int_equal(txreq_class(h.s, 3), TXREQ_OUTBOUND);
	assert_int_equal(txreq_class(h.s, 9), -1);
	assert_int_equal(txreq_quota(h.s, 2), 8);	/* 20 / 1 */
	/* A second productive peer halves the share: 1 is over it. */
	add(&h, 4, 0);
	txreq_peer_productive(h.s, 4);
	check(&h);
	assert_int_equal(txreq_quota(h.s, 1), 5);
	assert_int_equal(txreq_quota(h.s, 4), 5);
	assert_int_equal(txreq_quota(h.s, 2), 8);
	ann(&h, 1, 4, 1, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 5, 1, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 6, 1, T0, TXREQ_ANN_QUOTA);	/* 5 made, 2 of them inbound */
	/* An old entry goes from the inbound pool. */
	forget(&h, 1);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_INBOUND), 1);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_PRODUCTIVE), 3);
	ann(&h, 1, 6, 1, T0, TXREQ_ANN_NEW);
	/* Gone: the class count goes down, its entries stay in their pool. */
	del(&h, 1);
	assert_int_equal(txreq_quota(h.s, 4), 8);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_PRODUCTIVE), 4);
	assert_int_equal(txreq_pool_used(h.s, TXREQ_INBOUND), 1);
	h_done(&h);
}

/* A held entry is asked of nobody until its verdict: txreq_retry or forget. */
static void
test_txreq_held(void **state)
{
	struct h h;
	uint64_t t;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 1);
	ann(&h, 1, 3, 1, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 3, 1, T0, TXREQ_ANN_ADDED);
	ann(&h, 2, 3, 0, T0, TXREQ_ANN_KEPT);
	none(&h);
	wanted(&h, 3, 0);
	assert_int_equal(txreq_created(h.s, 1), 1);
	poll_at(&h, T0 + 1000 * TIMEOUT);
	notfound(&h, 1, 3, T0 + 1000 * TIMEOUT);
	rx(&h, 2, 3, TXREQ_RX_PENDING_SAME, T0 + 1000 * TIMEOUT);
	poll_at(&h, T0 + 2000 * TIMEOUT);
	none(&h);
	wanted(&h, 3, 0);
	/* The verdict: the copy was not judged. */
	retry(&h, 3, 0);
	none(&h);		/* at the next poll, not now */
	poll_at(&h, T0 + 2000 * TIMEOUT);
	asked(&h, 1, 3);
	poll_at(&h, T0 + 2001 * TIMEOUT);
	asked(&h, 2, 3);

	/* Held and forgotten (accepted): never asked. */
	t = T0 + 2001 * TIMEOUT;
	ann(&h, 1, 4, 1, t, TXREQ_ANN_NEW);
	ann(&h, 2, 4, 0, t, TXREQ_ANN_ADDED);
	assert_int_equal(txreq_created(h.s, 1), 2);
	forget(&h, 4);
	gone(&h, 4);
	assert_int_equal(txreq_created(h.s, 1), 1);
	poll_at(&h, t + TIMEOUT);
	none(&h);
	gone(&h, 3);		/* 2 timed out, the last one */
	assert_int_equal(txreq_created(h.s, 1), 0);

	/* held for an id already wanted changes nothing (as before). */
	t += TIMEOUT;
	ann(&h, 1, 5, 0, t, TXREQ_ANN_NEW);
	asked(&h, 1, 5);
	ann(&h, 2, 5, 1, t, TXREQ_ANN_ADDED);
	poll_at(&h, t + TIMEOUT);
	asked(&h, 2, 5);

	/* A held entry with nobody left: forgotten at the poll after its verdict. */
	t += TIMEOUT;
	ann(&h, 1, 6, 1, t, TXREQ_ANN_NEW);
	del(&h, 1);
	poll_at(&h, t + 1000 * TIMEOUT);
	wanted(&h, 6, 0);
	retry(&h, 6, 0);
	poll_at(&h, t + 1000 * TIMEOUT);
	gone(&h, 6);
	none(&h);
	h_done(&h);
}

/* RX_VALIDATING: held, the peer asked first in line, the sender out of it. */
static void
test_txreq_rx_validating(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	add(&h, 4, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	/* 3 sends its copy unasked: it goes to validation. */
	rx(&h, 3, 1, TXREQ_RX_VALIDATING, T0 + 1);
	wanted(&h, 1, 0);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	/* 1's late copy is the same bytes. */
	rx(&h, 1, 1, TXREQ_RX_PENDING_SAME, T0 + 2);
	poll_at(&h, T0 + 100 * TIMEOUT);
	none(&h);
	/* A bad signature: 3 is no announcer; 1 (asked before) goes first. */
	retry(&h, 1, 3);
	poll_at(&h, T0 + 100 * TIMEOUT);
	asked(&h, 1, 1);
	poll_at(&h, T0 + 101 * TIMEOUT);
	asked(&h, 2, 1);
	poll_at(&h, T0 + 102 * TIMEOUT);
	none(&h);
	gone(&h, 1);

	/* The sender is the peer asked: it is not kept. */
	ann(&h, 1, 2, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 2, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 2);
	rx(&h, 1, 2, TXREQ_RX_VALIDATING, T0 + 1);
	wanted(&h, 2, 0);
	retry(&h, 2, 1);
	poll_at(&h, T0 + 2);
	asked(&h, 2, 2);
	poll_at(&h, T0 + 2 + TIMEOUT);
	gone(&h, 2);

	/* An id nobody announced: nothing to track. */
	rx(&h, 4, 3, TXREQ_RX_VALIDATING, T0);
	gone(&h, 3);
	h_done(&h);

	/* A full line: the peer asked goes first and the last one falls off. */
	lim.alts = 2;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	add(&h, 4, 0);
	ann(&h, 1, 5, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 5, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 5, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 5);
	rx(&h, 4, 5, TXREQ_RX_VALIDATING, T0 + 1);
	retry(&h, 5, 0);	/* not judged: 4's peer went away */
	poll_at(&h, T0 + 2);
	asked(&h, 1, 5);
	poll_at(&h, T0 + 2 + TIMEOUT);
	asked(&h, 2, 5);
	poll_at(&h, T0 + 2 + 2 * TIMEOUT);
	none(&h);		/* 3 fell off the line */
	gone(&h, 5);
	h_done(&h);
}

/* RX_BAD_COPY: the sender leaves the line; with nobody asked, the next is asked now. */
static void
test_txreq_rx_bad_copy(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	/* From one not asked while another is: it leaves the line, no more. */
	rx(&h, 2, 1, TXREQ_RX_BAD_COPY, T0 + 1);
	none(&h);
	wanted(&h, 1, 1);
	/* From the one asked: the next one at once. */
	rx(&h, 1, 1, TXREQ_RX_BAD_COPY, T0 + 2);
	asked(&h, 3, 1);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	rx(&h, 3, 1, TXREQ_RX_BAD_COPY, T0 + 3);
	none(&h);
	gone(&h, 1);

	/* While held, nobody is asked. */
	ann(&h, 1, 2, 1, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 2, 0, T0, TXREQ_ANN_ADDED);
	rx(&h, 1, 2, TXREQ_RX_BAD_COPY, T0 + 1);
	none(&h);
	wanted(&h, 2, 0);
	retry(&h, 2, 0);
	poll_at(&h, T0 + 2);
	asked(&h, 2, 2);
	forget(&h, 2);
	h_done(&h);

	/* Waiting on announcers at their limit: the bad copy tries them now. */
	lim.inflight = 1;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 2, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 1, 3, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 3, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	asked(&h, 2, 2);
	wanted(&h, 3, 0);
	rx(&h, 2, 2, TXREQ_RX_SETTLED, T0 + 1);
	rx(&h, 3, 3, TXREQ_RX_BAD_COPY, T0 + 1);
	asked(&h, 2, 3);	/* 1 is still at its limit */
	h_done(&h);
}

/* RX_PENDING_OTHER and RX_PENDING_SAME. */
static void
test_txreq_rx_pending(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	lim.table_max = 8;	/* pools 2, 2 and 4 */
	lim.announced_max = 2;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	/* Other bytes, no entry: one is made, held, with the sender as creator. */
	rx(&h, 1, 1, TXREQ_RX_PENDING_OTHER, T0);
	wanted(&h, 1, 0);
	assert_int_equal(txreq_created(h.s, 1), 1);
	rx(&h, 2, 1, TXREQ_RX_PENDING_OTHER, T0);
	assert_int_equal(txreq_created(h.s, 2), 0);
	poll_at(&h, T0 + 100 * TIMEOUT);
	none(&h);
	retry(&h, 1, 0);	/* the copy being validated was bad */
	poll_at(&h, T0 + 100 * TIMEOUT);
	asked(&h, 1, 1);
	/* Same bytes, no entry: nothing. */
	rx(&h, 1, 2, TXREQ_RX_PENDING_SAME, T0);
	gone(&h, 2);
	/* Over its quota: no entry. */
	rx(&h, 1, 3, TXREQ_RX_PENDING_OTHER, T0);
	rx(&h, 1, 4, TXREQ_RX_PENDING_OTHER, T0);
	gone(&h, 4);
	assert_int_equal(txreq_created(h.s, 1), 2);
	/* Its class's pool full: no entry. */
	ann(&h, 2, 5, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 2, 5);
	rx(&h, 2, 6, TXREQ_RX_PENDING_OTHER, T0);
	wanted(&h, 6, 0);
	assert_int_equal(txreq_count(h.s), 4);
	add(&h, 3, 0);		/* a share of 1, none of it free */
	ann(&h, 3, 7, 0, T0, TXREQ_ANN_FULL);
	rx(&h, 3, 7, TXREQ_RX_PENDING_OTHER, T0);
	gone(&h, 7);
	assert_int_equal(txreq_created(h.s, 3), 0);
	/* Someone else asked: the request stays out, not held. */
	rx(&h, 3, 5, TXREQ_RX_PENDING_OTHER, T0 + 1);
	wanted(&h, 5, 2);
	rx(&h, 1, 5, TXREQ_RX_PENDING_SAME, T0 + 1);
	wanted(&h, 5, 2);
	poll_at(&h, T0 + TIMEOUT);
	asked(&h, 3, 5);	/* 1 announced nothing; 3 did, by its copy */
	/* The one asked sends the same bytes: its request is done, held. */
	rx(&h, 3, 5, TXREQ_RX_PENDING_SAME, T0 + TIMEOUT + 1);
	wanted(&h, 5, 0);
	assert_int_equal(txreq_inflight(h.s, 3), 0);
	poll_at(&h, T0 + 10 * TIMEOUT);
	none(&h);
	retry(&h, 5, 0);
	poll_at(&h, T0 + 10 * TIMEOUT);
	none(&h);		/* 3's request was done: nobody left */
	gone(&h, 5);
	/* The one asked sends other bytes: held, and it waits in line. */
	del(&h, 3);		/* 2's share is 2 again */
	ann(&h, 2, 5, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 2, 5);
	rx(&h, 2, 5, TXREQ_RX_PENDING_OTHER, T0 + 1);
	wanted(&h, 5, 0);
	ann(&h, 2, 5, 0, T0 + 1, TXREQ_ANN_KEPT);
	retry(&h, 5, 0);
	poll_at(&h, T0 + 2);
	asked(&h, 2, 5);
	h_done(&h);
}

/* RX_SETTLED from anyone forgets the id; counters come back to 0. */
static void
test_txreq_rx_settled(void **state)
{
	struct h h;
	unsigned id;
	uint64_t p;

	(void)state;
	h_init(&h, NULL);
	for (p = 1; p <= 4; p++)
		add(&h, p, p % 2);
	for (id = 0; id < 40; id++)
		for (p = 1; p <= 4; p++)
			ann(&h, 1 + (p + id) % 4, id, id % 3 == 0, T0,
			    p == 1 ? TXREQ_ANN_NEW : TXREQ_ANN_ADDED);
	for (id = 0; id < 40; id++)
		if (id % 3 != 0)
			asked(&h, 1 + (1 + id) % 4, id);
	none(&h);
	assert_int_equal(txreq_count(h.s), 40);
	for (id = 0; id < 40; id++)
		rx(&h, 1 + id % 4, id, TXREQ_RX_SETTLED, T0 + 1);
	assert_int_equal(txreq_count(h.s), 0);
	for (p = 1; p <= 4; p++) {
		assert_int_equal(txreq_inflight(h.s, p), 0);
		assert_int_equal(txreq_created(h.s, p), 0);
	}
	poll_at(&h, T0 + 100 * TIMEOUT);
	none(&h);
	rx(&h, 1, 99, TXREQ_RX_SETTLED, T0);	/* not wanted: nothing */
	forget(&h, 99);
	h_done(&h);
}

/* txreq_retry on an entry with a request out gives it up at the next poll. */
static void
test_txreq_retry_request_out(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	/* A copy from the API was not judged: the next poll moves on. */
	retry(&h, 1, 0);
	wanted(&h, 1, 1);
	poll_at(&h, T0 + 1);
	asked(&h, 2, 1);
	assert_int_equal(txreq_inflight(h.s, 1), 0);
	/* The bad peer is the one asked: not waited for, not asked again. */
	retry(&h, 1, 2);
	wanted(&h, 1, 0);
	assert_int_equal(txreq_inflight(h.s, 2), 0);
	ann(&h, 1, 1, 0, T0 + 1, TXREQ_ANN_ADDED);
	poll_at(&h, T0 + 2);
	asked(&h, 3, 1);
	poll_at(&h, T0 + 2 + TIMEOUT);
	asked(&h, 1, 1);
	poll_at(&h, T0 + 2 + 2 * TIMEOUT);
	gone(&h, 1);
	retry(&h, 1, 0);	/* not wanted: nothing */
	h_done(&h);
}

/* Peers not added are never tracked; adding twice changes nothing. */
static void
test_txreq_unknown_peer(void **state)
{
	struct h h;

	(void)state;
	h_init(&h, NULL);
	ann(&h, 7, 1, 0, T0, TXREQ_ANN_DROPPED);
	gone(&h, 1);
	add(&h, 1, 0);
	add(&h, 1, 1);		/* again: no change */
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	asked(&h, 1, 1);
	add(&h, 1, 0);
	assert_int_equal(txreq_inflight(h.s, 1), 1);
	assert_int_equal(txreq_created(h.s, 1), 1);
	ann(&h, 7, 1, 0, T0, TXREQ_ANN_DROPPED);
	rx(&h, 7, 2, TXREQ_RX_PENDING_OTHER, T0);
	gone(&h, 2);
	rx(&h, 7, 1, TXREQ_RX_PENDING_OTHER, T0);	/* not an announcer */
	wanted(&h, 1, 1);
	notfound(&h, 7, 1, T0);
	wanted(&h, 1, 1);
	del(&h, 7);
	del(&h, 0);
	add(&h, 0, 0);		/* 0 names no peer */
	assert_int_equal(txreq_quota(h.s, 1), 20000);
	assert_int_equal(txreq_quota(h.s, 0), 0);
	assert_int_equal(txreq_inflight(h.s, 0), 0);
	poll_at(&h, T0 + TIMEOUT);
	gone(&h, 1);
	h_done(&h);
}

/* The limits of txreq_new: alts clamped to 1..8. */
static void
test_txreq_alts_clamped(void **state)
{
	static const struct {
		unsigned	alts, kept;
	} cases[] = { { 0, 1 }, { 1, 1 }, { 5, 5 }, { 8, 8 }, { 9, 8 }, { 100, 8 } };
	struct txreq_limits lim = defaults;
	struct h h;
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		lim.alts = cases[c].alts;
		h_init(&h, &lim);
		add(&h, 1, 0);
		ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
		asked(&h, 1, 1);
		for (i = 0; i < 10; i++) {
			add(&h, 2 + i, 0);
			ann(&h, 2 + i, 1, 0, T0, i < cases[c].kept ?
			    TXREQ_ANN_ADDED : TXREQ_ANN_DROPPED);
		}
		h_done(&h);
	}
}

/* A gone announcer leaves room in a full line, for an announcer or the peer asked. */
static void
test_txreq_gone_makes_room(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	lim.alts = 2;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	add(&h, 4, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 4, 1, 0, T0, TXREQ_ANN_DROPPED);
	del(&h, 2);
	ann(&h, 4, 1, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	poll_at(&h, T0 + TIMEOUT);
	asked(&h, 3, 1);
	poll_at(&h, T0 + 2 * TIMEOUT);
	asked(&h, 4, 1);
	h_done(&h);

	/* The peer asked goes first in a full line: a gone one falls off first. */
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	add(&h, 3, 0);
	add(&h, 4, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 3, 1, 0, T0, TXREQ_ANN_ADDED);
	asked(&h, 1, 1);
	del(&h, 2);
	rx(&h, 4, 1, TXREQ_RX_VALIDATING, T0 + 1);
	retry(&h, 1, 4);
	poll_at(&h, T0 + 2);
	asked(&h, 1, 1);
	poll_at(&h, T0 + 2 + TIMEOUT);
	asked(&h, 3, 1);	/* kept: 2 made room */
	poll_at(&h, T0 + 2 + 2 * TIMEOUT);
	none(&h);
	gone(&h, 1);
	h_done(&h);
}

/*
 * retry_ms and timeout_ms 0: what is due again at once waits for the next
 * poll instead of looping.
 */
static void
test_txreq_zero_delays(void **state)
{
	struct txreq_limits lim = defaults;
	struct h h;

	(void)state;
	lim.inflight = 1;
	lim.retry_ms = 0;
	lim.timeout_ms = 0;
	h_init(&h, &lim);
	add(&h, 1, 0);
	add(&h, 2, 0);
	ann(&h, 1, 1, 0, T0, TXREQ_ANN_NEW);
	ann(&h, 2, 1, 0, T0, TXREQ_ANN_ADDED);
	ann(&h, 1, 2, 0, T0 + 1, TXREQ_ANN_NEW);	/* 1 is at its limit */
	asked(&h, 1, 1);
	wanted(&h, 2, 0);
	/* 1 timed out at T0: 2 is asked; then 1 has room for id 2 (due T0 + 1). */
	poll_at(&h, T0 + 1);
	asked(&h, 2, 1);
	asked(&h, 1, 2);
	wanted(&h, 1, 2);	/* due again (T0 + 1), but at the next poll */
	wanted(&h, 2, 1);
	poll_at(&h, T0 + 1);
	none(&h);		/* both timed out; nobody left */
	gone(&h, 1);
	gone(&h, 2);
	h_done(&h);
}

/* Equal deadlines fall due in the order they were set: who gets a scarce slot. */
static void
test_txreq_equal_deadlines_in_order(void **state)
{
	static const unsigned orders[][4] = {
		{ 1, 2, 3, 4 }, { 4, 3, 2, 1 }, { 2, 4, 1, 3 },
	};
	struct txreq_limits lim = defaults;
	struct h h;
	size_t c, i;

	(void)state;
	for (c = 0; c < sizeof(orders) / sizeof(orders[0]); c++) {
		/* Waiting on a busy peer since the same time: the first one set goes. */
		lim.inflight = 1;
		h_init(&h, &lim);
		add(&h, 1, 0);
		add(&h, 2, 0);
		for (i = 0; i < 4; i++)
			ann(&h, 2, orders[c][i], 0, T0, TXREQ_ANN_NEW);
		asked(&h, 2, orders[c][0]);
		for (i = 1; i < 4; i++)
			ann(&h, 1, orders[c][i], 0, T0, TXREQ_ANN_ADDED);
		poll_at(&h, T0 + RETRY);
		asked(&h, 1, orders[c][1]);
		none(&h);
		h_done(&h);

		/* A disconnect: its requests fall due in the order asked. */
		lim.inflight = 2;
		h_init(&h, &lim);
		add(&h, 1, 0);
		add(&h, 2, 0);
		ann(&h, 2, 100, 0, T0, TXREQ_ANN_NEW);	/* 2 has one slot left */
		asked(&h, 2, 100);
		ann(&h, 1, orders[c][0], 0, T0, TXREQ_ANN_NEW);
		ann(&h, 1, orders[c][1], 0, T0, TXREQ_ANN_NEW);
		asked(&h, 1, orders[c][0]);
		asked(&h, 1, orders[c][1]);
		ann(&h, 2, orders[c][1], 0, T0, TXREQ_ANN_ADDED);
		ann(&h, 2, orders[c][0], 0, T0, TXREQ_ANN_ADDED);
		del(&h, 1);
		poll_at(&h, T0 + 1);
		asked(&h, 2, orders[c][0]);
		none(&h);
		wanted(&h, orders[c][1], 0);
		h_done(&h);
	}
}

/*
 * txreq_poll_some moves at most max due entries, the earliest first, and
 * says whether more are due: a caller bounding its loop turns (relay.c
 * under a junk flood had 60,000 time out in one tick) gets them all, in
 * order, over several calls.
 */
static void
test_txreq_poll_some_bounded(void **state)
{
	enum { N = 100, MAX = 30 };
	struct h h;
	unsigned id, done = 0, k;
	int more;

	(void)state;
	h_init(&h, NULL);
	add(&h, 1, 1);
	add(&h, 2, 1);
	for (id = 0; id < N; id++) {
		ann(&h, 1, id, 0, T0 + id, TXREQ_ANN_NEW);
		ann(&h, 2, id, 0, T0 + id, TXREQ_ANN_ADDED);
		asked(&h, 1, id);
	}
	none(&h);
	do {
		more = txreq_poll_some(h.s, T0 + TIMEOUT + N, MAX);
		check(&h);
		for (k = 0; k < MAX && done < N; k++)
			asked(&h, 2, done++);
		none(&h);
		assert_int_equal(more, done < N);
	} while (more);
	assert_int_equal(done, N);
	assert_int_equal(txreq_inflight(h.s, 2), N);
	/* Nothing due: 0, and nothing moves. */
	assert_int_equal(txreq_poll_some(h.s, T0 + TIMEOUT + N, MAX), 0);
	none(&h);
	h_done(&h);
}

/*
 * Many ids asked at different times time out in deadline order, each at
 * its own deadline; disconnects and forgets in between keep the counts.
 */
static void
test_txreq_many_in_order(void **state)
{
	enum { N = 3000, PEERS = 5, TMO = 10 * N };
	struct txreq_limits lim = defaults;
	struct h *h = calloc(1, sizeof(*h));
	uint64_t p, t;
	unsigned id, k;

	(void)state;
	assert_non_null(h);
	lim.timeout_ms = TMO;
	h_init(h, &lim);
	for (p = 1; p <= PEERS; p++)
		add(h, p, p == 1);
	/* id is announced by peer 1 + id % PEERS at T0 + id, then by the next one. */
	for (id = 0; id < N; id++) {
		ann(h, 1 + id % PEERS, id, 0, T0 + id, TXREQ_ANN_NEW);
		ann(h, 1 + (id + 1) % PEERS, id, 0, T0 + id, TXREQ_ANN_ADDED);
	}
	for (id = 0; id < N; id++)
		asked(h, 1 + id % PEERS, id);
	for (p = 1; p <= PEERS; p++)
		assert_int_equal(txreq_inflight(h->s, p), N / PEERS);
	/* Every 10 ms of timeouts, the ids asked in that 10 ms move on, in order. */
	for (t = T0 + TMO; t < T0 + TMO + N; t += 10) {
		poll_at(h, t + 9);
		for (k = 0; k < 10; k++) {
			id = (unsigned)(t - T0 - TMO) + k;
			asked(h, 1 + (id + 1) % PEERS, id);
		}
		none(h);
	}
	/* Peer 3 goes: its ids are due now, with nobody left. */
	del(h, 3);
	poll_at(h, T0 + TMO + N);
	none(h);
	assert_int_equal(txreq_count(h->s), N - N / PEERS);
	for (id = 0; id < N; id += 2)
		forget(h, id);
	poll_at(h, T0 + 2 * TMO + 2 * N);
	none(h);
	assert_int_equal(txreq_count(h->s), 0);
	for (p = 1; p <= PEERS; p++) {
		assert_int_equal(txreq_inflight(h->s, p), 0);
		assert_int_equal(txreq_created(h->s, p), 0);
	}
	h_done(h);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txreq_first_announcer_asked),
		cmocka_unit_test(test_txreq_inflight_limit_retry),
		cmocka_unit_test(test_txreq_timeout_next),
		cmocka_unit_test(test_txreq_notfound_next),
		cmocka_unit_test(test_txreq_disconnect),
		cmocka_unit_test(test_txreq_outbound_displaces),
		cmocka_unit_test(test_txreq_quota_and_table),
		cmocka_unit_test(test_txreq_pools_keep_room_for_outbound_and_productive),
		cmocka_unit_test(test_txreq_quotas_add_up_to_the_table),
		cmocka_unit_test(test_txreq_productive),
		cmocka_unit_test(test_txreq_held),
		cmocka_unit_test(test_txreq_rx_validating),
		cmocka_unit_test(test_txreq_rx_bad_copy),
		cmocka_unit_test(test_txreq_rx_pending),
		cmocka_unit_test(test_txreq_rx_settled),
		cmocka_unit_test(test_txreq_retry_request_out),
		cmocka_unit_test(test_txreq_unknown_peer),
		cmocka_unit_test(test_txreq_alts_clamped),
		cmocka_unit_test(test_txreq_gone_makes_room),
		cmocka_unit_test(test_txreq_zero_delays),
		cmocka_unit_test(test_txreq_equal_deadlines_in_order),
		cmocka_unit_test(test_txreq_many_in_order),
		cmocka_unit_test(test_txreq_poll_some_bounded),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
