/*
 * fuzz_txreq.c: the download scheduler (daemon/p2p/txreq.c) driven by a
 * random sequence of peer add/del, announce, received (every answer),
 * notfound, forget, retry and poll with advancing time, over a few ids and
 * peers and with small limits, so that collisions happen and every bound is
 * hit.  After every step txreq_check must pass, and the scheduler must
 * agree with a shadow model of the requests out kept here from the ask
 * callback: nobody is asked who is not added or did not announce the id,
 * no peer has more than its limit out, an id has at most one request out
 * and none while held, and the peer txreq_wanted names is the one asked.
 * At the end (after an odd number of operations), with every peer gone and
 * every verdict in, the table empties.
 *
 * Input: 8 bytes of limits, then operations of 3 bytes each.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/txreq.h"

#define NSLOTS		6
#define NIDS		8
#define UNKNOWN_PEER	(UINT64_C(1) << 40)	/* never added */

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct txreq	*s;
	struct txreq_limits lim;
	uint64_t	 now;
	uint64_t	 next_serial;
	uint64_t	 slot[NSLOTS];		/* serial added there; 0: none */
	uint64_t	 gone[NSLOTS];		/* the last serial deleted there */
	uint8_t		 ids[NIDS][TXREQ_ID_LEN];
	/* The shadow model, per id. */
	uint64_t	 out[NIDS];		/* the peer asked; 0: none */
	uint64_t	 outdl[NIDS];		/* its deadline */
	int		 held[NIDS];
	uint64_t	 creator[NIDS];
	unsigned	 ann[NIDS];		/* bit per slot: may be asked */
	int		 asks_ok;		/* inside a call that may ask */
	size_t		 asks;
	size_t		 step;
	int		 trace;		/* FUZZ_TXREQ_TRACE set: steps to stderr */
};

static void
fz_fail(const struct fz *f, const char *what)
{
	fprintf(stderr, "fuzz_txreq: step %zu (now %llu): %s\n", f->step,
	    (unsigned long long)f->now, what);
	abort();
}

static void __attribute__((format(printf, 2, 3)))
fz_trace(const struct fz *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->trace)
		return;
	fprintf(stderr, "%zu @%llu: ", f->step, (unsigned long long)f->now);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
fz_slot_of(const struct fz *f, uint64_t serial)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (serial != 0 && f->slot[i] == serial)
			return i;
	return -1;
}

static int
fz_id_of(const struct fz *f, const uint8_t id[TXREQ_ID_LEN])
{
	int k;

	for (k = 0; k < NIDS; k++)
		if (memcmp(f->ids[k], id, TXREQ_ID_LEN) == 0)
			return k;
	return -1;
}

static size_t
fz_out_of(const struct fz *f, uint64_t serial)
{
	size_t n = 0;
	int k;

	for (k = 0; k < NIDS; k++)
		n += f->out[k] == serial;
	return n;
}

static void
fz_ask(uint64_t peer, const uint8_t id[TXREQ_ID_LEN], void *arg)
{
	struct fz *f = arg;
	int k = fz_id_of(f, id), i = fz_slot_of(f, peer);

	if (!f->asks_ok)
		fz_fail(f, "asked from a call that may not ask");
	if (k < 0)
		fz_fail(f, "asked for an id never announced");
	if (i < 0)
		fz_fail(f, "asked a peer that is not added");
	if (f->held[k])
		fz_fail(f, "asked for a held id");
	if (f->out[k] != 0)
		fz_fail(f, "two requests out for one id");
	if (fz_out_of(f, peer) >= f->lim.inflight)
		fz_fail(f, "more requests out than the peer's limit");
	if (!(f->ann[k] & (1u << i)))
		fz_fail(f, "asked a peer that did not announce the id");
	fz_trace(f, "  ask peer %llu id %d", (unsigned long long)peer, k);
	f->out[k] = peer;
	f->outdl[k] = f->now + f->lim.timeout_ms;
	f->asks++;
}

/* A peer for an operation: one added, or (rarely) one gone or never added. */
static uint64_t
fz_peer(const struct fz *f, uint8_t b, int *slot)
{
	int i = b % NSLOTS;

	*slot = -1;
	if (b >= 0xf0)
		return f->gone[i] != 0 ? f->gone[i] : UNKNOWN_PEER + i;
	if (f->slot[i] != 0)
		*slot = i;
	return f->slot[i] != 0 ? f->slot[i] : UNKNOWN_PEER + i;
}

static int
fz_wanted(const struct fz *f, int k, uint64_t *asked)
{
	uint64_t a = 0;
	int w = txreq_wanted(f->s, f->ids[k], &a);

	if (asked != NULL)
		*asked = a;
	return w;
}

/* Everything the scheduler says agrees with the shadow model. */
static void
fz_verify(struct fz *f)
{
	char err[256], msg[320];
	uint64_t asked;
	size_t n = 0, share, npeers = 0, c;
	int k, i;

	if (txreq_check(f->s, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "txreq_check: %s", err);
		fz_fail(f, msg);
	}
	for (k = 0; k < NIDS; k++) {
		if (!fz_wanted(f, k, &asked)) {
			if (f->out[k] != 0)
				fz_fail(f, "an entry went with a request out");
			f->held[k] = 0;
			f->creator[k] = 0;
			f->ann[k] = 0;
			continue;
		}
		n++;
		if (asked != f->out[k])
			fz_fail(f, "txreq_wanted names another peer than the one asked");
		if (f->held[k] && asked != 0)
			fz_fail(f, "held with a request out");
	}
	if (txreq_count(f->s) != n)
		fz_fail(f, "txreq_count disagrees with txreq_wanted");
	for (i = 0; i < NSLOTS; i++) {
		if (f->slot[i] == 0)
			continue;
		npeers++;
		if (txreq_inflight(f->s, f->slot[i]) != fz_out_of(f, f->slot[i]))
			fz_fail(f, "txreq_inflight disagrees with the requests asked");
		for (c = 0, k = 0; k < NIDS; k++)
			c += f->creator[k] == f->slot[i];
		if (txreq_created(f->s, f->slot[i]) != c)
			fz_fail(f, "txreq_created disagrees with the entries made");
	}
	for (i = 0; i < NSLOTS; i++)
		if (f->gone[i] != 0 && (txreq_inflight(f->s, f->gone[i]) != 0 ||
		    txreq_created(f->s, f->gone[i]) != 0))
			fz_fail(f, "a gone peer still has counters");
	share = f->lim.table_max / (npeers > 0 ? npeers : 1);
	if (share > f->lim.announced_max)
		share = f->lim.announced_max;
	if (share < f->lim.announced_min)
		share = f->lim.announced_min;
	if (txreq_quota(f->s) != share)
		fz_fail(f, "txreq_quota is not the fair share");
}

static void
fz_announce(struct fz *f, uint64_t peer, int slot, int k, int held)
{
	enum txreq_ann r;
	unsigned oldann;
	int before, after;
	size_t created = txreq_created(f->s, peer), count = txreq_count(f->s);

	before = fz_wanted(f, k, NULL);
	oldann = f->ann[k];
	if (slot >= 0)
		f->ann[k] |= 1u << slot;	/* it may be asked at once */
	f->asks_ok = 1;
	r = txreq_announce(f->s, peer, f->ids[k], held, f->now);
	f->asks_ok = 0;
	after = fz_wanted(f, k, NULL);
	fz_trace(f, "announce peer %llu id %d held %d: %d", (unsigned long long)peer,
	    k, held, (int)r);
	if (r != TXREQ_ANN_NEW && r != TXREQ_ANN_ADDED && r != TXREQ_ANN_KEPT)
		f->ann[k] = oldann;
	switch (r) {
	case TXREQ_ANN_NEW:
		if (before || !after || slot < 0)
			fz_fail(f, "NEW but the id was wanted, or is not, or the "
			    "peer is not added");
		f->creator[k] = peer;
		f->held[k] = held;
		f->ann[k] |= 1u << slot;
		if (held && f->out[k] != 0)
			fz_fail(f, "NEW and held, but asked");
		if (!held && f->out[k] != peer &&
		    txreq_inflight(f->s, peer) < f->lim.inflight)
			fz_fail(f, "NEW, not held, a slot free, yet not asked");
		break;
	case TXREQ_ANN_ADDED:
	case TXREQ_ANN_KEPT:
		if (!before || !after || slot < 0)
			fz_fail(f, "ADDED/KEPT for an id not wanted or a peer not added");
		f->ann[k] |= 1u << slot;
		break;
	case TXREQ_ANN_DROPPED:
		if (before != after || (slot >= 0 && !before))
			fz_fail(f, "DROPPED changed the table, or a new id");
		break;
	case TXREQ_ANN_QUOTA:
		if (before || after || slot < 0 || created < txreq_quota(f->s))
			fz_fail(f, "QUOTA but the peer has room, or the id is wanted");
		break;
	case TXREQ_ANN_FULL:
		if (before || after || slot < 0 || count < f->lim.table_max ||
		    created >= txreq_quota(f->s))
			fz_fail(f, "FULL but the table has room, or it was QUOTA");
		break;
	default:
		fz_fail(f, "txreq_announce answered no txreq_ann");
	}
}

static void
fz_received(struct fz *f, uint64_t peer, int slot, int k, enum txreq_rx what)
{
	int before, after;
	size_t asks = f->asks;

	before = fz_wanted(f, k, NULL);
	if (f->out[k] == peer)
		f->out[k] = 0;	/* answered */
	f->asks_ok = 1;
	txreq_received(f->s, peer, f->ids[k], what, f->now);
	f->asks_ok = 0;
	fz_trace(f, "received peer %llu id %d what %d", (unsigned long long)peer,
	    k, (int)what);
	after = fz_wanted(f, k, NULL);
	if (what != TXREQ_RX_BAD_COPY && f->asks != asks)
		fz_fail(f, "only a bad copy may ask another announcer");
	switch (what) {
	case TXREQ_RX_SETTLED:
		if (after)
			fz_fail(f, "SETTLED left the entry");
		f->held[k] = 0;
		f->out[k] = 0;
		break;
	case TXREQ_RX_BAD_COPY:
		if (slot >= 0)
			f->ann[k] &= ~(1u << slot);
		break;
	case TXREQ_RX_PENDING_OTHER:
		if (before && !after)
			fz_fail(f, "PENDING_OTHER dropped the entry");
		if (!before && after) {
			if (slot < 0)
				fz_fail(f, "a peer not added created an entry");
			f->creator[k] = peer;
		}
		if (after && slot >= 0)
			f->ann[k] |= 1u << slot;
		if (after && f->out[k] == 0)
			f->held[k] = 1;
		break;
	case TXREQ_RX_PENDING_SAME:
		if (before != after)
			fz_fail(f, "PENDING_SAME changed the table");
		if (after && f->out[k] == 0)
			f->held[k] = 1;
		break;
	case TXREQ_RX_VALIDATING:
		if (before != after)
			fz_fail(f, "VALIDATING changed the table");
		if (after) {
			f->out[k] = 0;	/* moot until the verdict */
			f->held[k] = 1;
		}
		break;
	}
}

static void
fz_poll(struct fz *f)
{
	int k;

	for (k = 0; k < NIDS; k++)
		if (f->out[k] != 0 && f->outdl[k] <= f->now)
			f->out[k] = 0;	/* timed out, or made due */
	fz_trace(f, "poll");
	f->asks_ok = 1;
	txreq_poll(f->s, f->now);
	f->asks_ok = 0;
}

static void
fz_peer_del(struct fz *f, uint64_t peer, int slot)
{
	int k;

	fz_trace(f, "peer_del %llu", (unsigned long long)peer);
	txreq_peer_del(f->s, peer);
	if (slot < 0)
		return;
	for (k = 0; k < NIDS; k++) {
		if (f->out[k] == peer)
			f->out[k] = 0;
		f->ann[k] &= ~(1u << slot);
	}
	f->gone[slot] = peer;
	f->slot[slot] = 0;
}

static void
fz_step(struct fz *f, uint8_t op, uint8_t a, uint8_t b)
{
	uint64_t peer;
	int slot, k = b % NIDS, i;


	switch (op % 11) {
	case 0:		/* a peer comes (or is added again: no change) */
		i = a % NSLOTS;
		if (f->slot[i] == 0) {
			f->slot[i] = ++f->next_serial;
			fz_trace(f, "peer_add %llu out %d", (unsigned long long)
			    f->slot[i], b & 1);
			txreq_peer_add(f->s, f->slot[i], b & 1);
		} else
			txreq_peer_add(f->s, f->slot[i], !(b & 1));
		break;
	case 1:		/* a peer goes (or an unknown one: no change) */
		peer = fz_peer(f, a, &slot);
		fz_peer_del(f, peer, slot);
		break;
	case 2:
	case 3:
		peer = fz_peer(f, a, &slot);
		fz_announce(f, peer, slot, k, (b >> 4) & 1);
		break;
	case 4:		/* every peer announces it, in slot order */
		for (i = 0; i < NSLOTS; i++)
			if (f->slot[i] != 0)
				fz_announce(f, f->slot[i], i, k, (b >> 4) & 1);
		break;
	case 5:
		peer = fz_peer(f, a, &slot);
		fz_received(f, peer, slot, k, (enum txreq_rx)((b >> 4) % 5));
		break;
	case 6:
		peer = fz_peer(f, a, &slot);
		if (f->out[k] == peer)
			f->out[k] = 0;
		fz_trace(f, "notfound peer %llu id %d", (unsigned long long)peer, k);
		f->asks_ok = 1;
		txreq_notfound(f->s, peer, f->ids[k], f->now);
		f->asks_ok = 0;
		break;
	case 7:
		fz_trace(f, "forget id %d", k);
		txreq_forget(f->s, f->ids[k]);
		f->held[k] = 0;
		f->out[k] = 0;
		break;
	case 8:		/* a verdict: bad copy from a peer, or not judged */
		peer = (b & 0x10) ? fz_peer(f, a, &slot) : 0;
		fz_trace(f, "retry id %d bad %llu", k, (unsigned long long)peer);
		txreq_retry(f->s, f->ids[k], peer);
		f->held[k] = 0;
		if (f->out[k] != 0 && f->out[k] == peer)
			f->out[k] = 0;	/* not waited for */
		else if (f->out[k] != 0)
			f->outdl[k] = 0;	/* given up at the next poll */
		if (peer != 0 && (slot = fz_slot_of(f, peer)) >= 0)
			f->ann[k] &= ~(1u << slot);
		break;
	case 9:		/* time passes, then the tick */
		f->now += (uint64_t)a * (b & 0x80 ? 37 : 3);
		fz_poll(f);
		break;
	case 10:	/* time passes */
		f->now += a;
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	size_t pos;
	int k, i;

	if (size < 8)
		return 0;
	memset(&f, 0, sizeof(f));
	f.lim.table_max = 1 + data[0] % 12;
	f.lim.announced_max = data[1] % 8;
	f.lim.announced_min = data[1] / 8 % 4;
	f.lim.inflight = data[2] % 5;
	f.lim.alts = data[3] % 10;	/* 0 and 9 are clamped */
	f.lim.timeout_ms = (uint64_t)data[4] * 4;
	f.lim.retry_ms = data[5];
	f.now = (uint64_t)data[6] << 8 | data[7];
	for (k = 0; k < NIDS; k++) {
		memset(f.ids[k], 0xa5, TXREQ_ID_LEN);
		f.ids[k][0] = (uint8_t)k;
	}
	f.trace = getenv("FUZZ_TXREQ_TRACE") != NULL;
	f.s = txreq_new(&f.lim, fz_ask, &f);
	fz_verify(&f);
	for (pos = 8; pos + 3 <= size; pos += 3) {
		f.step++;
		fz_step(&f, data[pos], data[pos + 1], data[pos + 2]);
		fz_verify(&f);
	}

	/* An even number of operations: freed as it is (entries, peers and all). */
	if ((size - 8) / 3 % 2 == 0) {
		txreq_free(f.s);
		return 0;
	}
	/*
	 * Nothing is stuck: with every peer gone, the tick forgets all but the
	 * held entries, and once their verdicts are in, those too.
	 */
	f.step++;
	for (i = 0; i < NSLOTS; i++)
		if (f.slot[i] != 0)
			fz_peer_del(&f, f.slot[i], i);
	f.now += 1 + f.lim.timeout_ms + f.lim.retry_ms;
	fz_poll(&f);
	fz_verify(&f);
	for (k = 0; k < NIDS; k++)
		if (fz_wanted(&f, k, NULL) && !f.held[k])
			fz_fail(&f, "an entry not held outlived its announcers");
	for (k = 0; k < NIDS; k++)
		txreq_retry(f.s, f.ids[k], 0);
	for (k = 0; k < NIDS; k++)
		f.held[k] = 0;
	fz_poll(&f);
	fz_verify(&f);
	if (txreq_count(f.s) != 0)
		fz_fail(&f, "entries left with no peer and no verdict pending");
	txreq_free(f.s);
	return 0;
}
