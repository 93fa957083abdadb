/*
 * prov.c: the provenance ring (prov.h).  A record keeps the first 8 bytes of
 * the id as its key (ids are hashes: two of the last few million agree
 * there with odds about 2^-40), the first time heard of in full and the
 * rest as 32-bit µs offsets from it, and a short list of hops (who
 * announced it, whom we sent it) grown 2, 4, 8, 16 as needed.  A hash
 * index of 32-bit record numbers, chained through the records, finds a key.
 * The oldest record goes when the ring is full.  Loop thread only.
 *
 * An id only announced so far gets its record in a small ring of its own
 * (PROV_HEARD), and moves to the main ring when a copy of it arrives: a
 * flood of announcements of ids never delivered (junk) churns that ring
 * alone, and the traces of real transactions stay (before, 200,000 junk
 * ids a second pushed them out within a second, and kept the whole ring's
 * pages in use).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "p2p/prov.h"
#include "proto/frame.h"

#define PROV_END	UINT32_MAX	/* end of a hash chain */
#define PROV_HOPS_MAX	(PROV_ANN_MAX + PROV_OUT_MAX)
#define PROV_HEARD	4096	/* records of ids only announced, at most */

struct prov_hop {
	uint32_t	 d_us;		/* after first_us */
	uint16_t	 peer;
	uint8_t		 kind;		/* enum prov_kind */
	uint8_t		 pad;
};

struct prov_rec {
	uint64_t	 key;		/* the id's first 8 bytes; 0 with t0 0: free */
	uint64_t	 t0;		/* first heard of, µs since the epoch */
	uint32_t	 next;		/* hash chain */
	uint32_t	 d_rx, d_done, d_out;	/* offsets from t0, PROV_NEVER */
	uint32_t	 verify_us;
	uint16_t	 from;		/* peer slot, PROV_API, PROV_NONE */
	uint16_t	 nann, nout;	/* counted, saturating */
	uint8_t		 state;		/* enum prov_state */
	uint8_t		 nhop, hopcap;
	struct prov_hop	*hops;
};

struct prov_peer {
	uint64_t	 serial;
	char		 name[FRAME_NAME_MAX + 1];
	char		 idhex[2 * TX_PK_LEN + 1];
};

struct prov {
	struct prov_rec	*recs;		/* cap of the main ring, then hcap */
	size_t		 cap, used, head;	/* head: the next record to take */
	size_t		 hcap, hhead;	/* the ring of ids only heard of */
	uint32_t	*index;
	size_t		 mask;
	size_t		 hop_bytes;
	struct prov_peer *peers;
	size_t		 npeers, peer_next;
};

_Static_assert(sizeof(struct prov_rec) <= 56, "prov record over 56 bytes");

static uint64_t
prov_key(const uint8_t id[TX_ID_LEN])
{
	uint64_t	k;

	memcpy(&k, id, sizeof(k));
	return k;
}

static uint32_t
prov_delta(const struct prov_rec *e, uint64_t now)
{
	if (now <= e->t0)
		return 0;
	return now - e->t0 >= PROV_NEVER ? PROV_NEVER - 1 : (uint32_t)(now - e->t0);
}

struct prov *
prov_new(size_t ring)
{
	struct prov	*pr = xcalloc(1, sizeof(*pr));
	size_t		 nb = 1;

	if (ring == 0)
		ring = 1;
	while (nb < ring)
		nb <<= 1;
	pr->cap = ring;
	pr->hcap = ring < PROV_HEARD ? ring : PROV_HEARD;
	pr->recs = xcalloc(ring + pr->hcap, sizeof(*pr->recs));
	pr->index = xmalloc(nb * sizeof(*pr->index));
	memset(pr->index, 0xff, nb * sizeof(*pr->index));
	pr->mask = nb - 1;
	pr->peers = xcalloc(PROV_PEERS, sizeof(*pr->peers));
	return pr;
}

void
prov_free(struct prov *pr)
{
	size_t	i;

	if (pr == NULL)
		return;
	for (i = 0; i < pr->cap + pr->hcap; i++)
		free(pr->recs[i].hops);
	free(pr->recs);
	free(pr->index);
	free(pr->peers);
	free(pr);
}

uint16_t
prov_peer_add(struct prov *pr, uint64_t serial, const char *name,
    const char *idhex)
{
	struct prov_peer *pp;
	size_t		 slot = pr->peer_next;

	pr->peer_next = (pr->peer_next + 1) % PROV_PEERS;
	if (pr->npeers < PROV_PEERS)
		pr->npeers++;
	pp = &pr->peers[slot];
	pp->serial = serial;
	snprintf(pp->name, sizeof(pp->name), "%s", name != NULL ? name : "");
	snprintf(pp->idhex, sizeof(pp->idhex), "%s", idhex != NULL ? idhex : "");
	return (uint16_t)slot;
}

void
prov_peer_get(const struct prov *pr, uint16_t peer, const char **name,
    const char **idhex)
{
	if (peer >= PROV_PEERS || peer >= pr->npeers) {
		*name = *idhex = "";
		return;
	}
	*name = pr->peers[peer].name;
	*idhex = pr->peers[peer].idhex;
}

static struct prov_rec *
prov_find(const struct prov *pr, uint64_t key)
{
	uint32_t	i;

	for (i = pr->index[key & pr->mask]; i != PROV_END; i = pr->recs[i].next)
		if (pr->recs[i].key == key)
			return &pr->recs[i];
	return NULL;
}

/* Takes the oldest record out of its chain. */
static void
prov_unlink(struct prov *pr, uint32_t n)
{
	uint32_t	*pp = &pr->index[pr->recs[n].key & pr->mask];

	while (*pp != PROV_END && *pp != n)
		pp = &pr->recs[*pp].next;
	if (*pp == n)
		*pp = pr->recs[n].next;
}

/*
 * A free record, the oldest of the main ring or (heard) of the ring of ids
 * only heard of going if that ring is full; linked under key.
 */
static struct prov_rec *
prov_take(struct prov *pr, uint64_t key, uint64_t now, int heard)
{
	struct prov_rec	*e;
	uint32_t	 n;

	if (heard) {
		n = (uint32_t)(pr->cap + pr->hhead);
		pr->hhead = (pr->hhead + 1) % pr->hcap;
	} else {
		n = (uint32_t)pr->head;
		pr->head = (pr->head + 1) % pr->cap;
		if (pr->used < pr->cap)
			pr->used++;
	}
	e = &pr->recs[n];
	if (e->t0 != 0) {		/* in use (a moved one is zeroed) */
		prov_unlink(pr, n);
		free(e->hops);
		pr->hop_bytes -= e->hopcap * sizeof(struct prov_hop);
	}
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->t0 = now > 0 ? now : 1;
	e->d_rx = e->d_done = e->d_out = PROV_NEVER;
	e->from = PROV_NONE;
	e->next = pr->index[key & pr->mask];
	pr->index[key & pr->mask] = n;
	return e;
}

/* The record of id, made (the oldest going) if it is not there. */
static struct prov_rec *
prov_get_rec(struct prov *pr, const uint8_t id[TX_ID_LEN], uint64_t now,
    int heard)
{
	struct prov_rec	*e;

	if ((e = prov_find(pr, prov_key(id))) != NULL)
		return e;
	return prov_take(pr, prov_key(id), now, heard);
}

/* e, if only heard of so far, moves to the main ring: a copy came. */
static struct prov_rec *
prov_promote(struct prov *pr, struct prov_rec *e)
{
	struct prov_rec	 held, *m;
	uint32_t	 n = (uint32_t)(e - pr->recs), next;

	if (n < pr->cap)
		return e;
	held = *e;
	prov_unlink(pr, n);
	memset(e, 0, sizeof(*e));
	m = prov_take(pr, held.key, held.t0, 0);
	next = m->next;
	*m = held;
	m->next = next;
	return m;
}

static void
prov_hop_add(struct prov *pr, struct prov_rec *e, uint16_t peer,
    enum prov_kind kind, uint64_t now)
{
	size_t	i, ncap;

	/* One hop per peer and kind: the first. */
	for (i = 0; i < e->nhop; i++)
		if (e->hops[i].peer == peer && e->hops[i].kind == kind)
			return;
	if (kind == PROV_ANN) {
		if (e->nann < UINT16_MAX)
			e->nann++;
		if (e->nann > PROV_ANN_MAX)
			return;
	} else {
		if (e->nout < UINT16_MAX)
			e->nout++;
		if (e->nout > PROV_OUT_MAX)
			return;
	}
	if (e->nhop == e->hopcap) {
		ncap = e->hopcap == 0 ? 2 : 2 * (size_t)e->hopcap;
		if (ncap > PROV_HOPS_MAX)
			ncap = PROV_HOPS_MAX;
		e->hops = xrealloc(e->hops, ncap * sizeof(*e->hops));
		pr->hop_bytes += (ncap - e->hopcap) * sizeof(*e->hops);
		e->hopcap = (uint8_t)ncap;
	}
	e->hops[e->nhop].d_us = prov_delta(e, now);
	e->hops[e->nhop].peer = peer;
	e->hops[e->nhop].kind = (uint8_t)kind;
	e->hops[e->nhop].pad = 0;
	e->nhop++;
}

void
prov_announced(struct prov *pr, const uint8_t id[TX_ID_LEN], uint16_t peer,
    uint64_t now, int create)
{
	struct prov_rec	*e;

	if (create)
		e = prov_get_rec(pr, id, now, 1);
	else if ((e = prov_find(pr, prov_key(id))) == NULL)
		return;
	prov_hop_add(pr, e, peer, PROV_ANN, now);
}

void
prov_received(struct prov *pr, const uint8_t id[TX_ID_LEN], uint16_t peer,
    uint64_t now)
{
	struct prov_rec	*e = prov_promote(pr, prov_get_rec(pr, id, now, 0));

	/* The first copy validated is where it came from. */
	if (e->from != PROV_NONE)
		return;
	e->from = peer;
	e->d_rx = prov_delta(e, now);
}

void
prov_verdict(struct prov *pr, const uint8_t id[TX_ID_LEN], uint64_t verify_ns,
    int ok, uint64_t now)
{
	struct prov_rec	*e;

	if ((e = prov_find(pr, prov_key(id))) == NULL || e->state == PROV_ACCEPTED)
		return;
	e = prov_promote(pr, e);
	e->state = ok ? PROV_ACCEPTED : PROV_REJECTED;
	e->d_done = prov_delta(e, now);
	e->verify_us = verify_ns / 1000 > UINT32_MAX ? UINT32_MAX :
	    (uint32_t)(verify_ns / 1000);
}

void
prov_sent(struct prov *pr, const uint8_t id[TX_ID_LEN], uint16_t peer,
    enum prov_kind kind, uint64_t now)
{
	struct prov_rec	*e;

	if ((e = prov_find(pr, prov_key(id))) == NULL)
		return;
	if (e->d_out == PROV_NEVER)
		e->d_out = prov_delta(e, now);
	prov_hop_add(pr, e, peer, kind, now);
}

static uint64_t
prov_abs(const struct prov_rec *e, uint32_t d)
{
	return d == PROV_NEVER ? 0 : e->t0 + d;
}

int
prov_get(const struct prov *pr, const uint8_t id[TX_ID_LEN],
    struct prov_info *info)
{
	const struct prov_rec *e;
	size_t		 i;

	memset(info, 0, sizeof(*info));
	if ((e = prov_find(pr, prov_key(id))) == NULL)
		return -1;
	info->first_us = e->t0;
	info->received_us = prov_abs(e, e->d_rx);
	info->verdict_us = prov_abs(e, e->d_done);
	info->announced_us = prov_abs(e, e->d_out);
	info->verify_us = e->verify_us;
	info->from = e->from;
	info->state = (enum prov_state)e->state;
	info->nann = e->nann;
	info->nout = e->nout;
	info->nhops = e->nhop;
	for (i = 0; i < e->nhop; i++) {
		info->hops[i].peer = e->hops[i].peer;
		info->hops[i].kind = (enum prov_kind)e->hops[i].kind;
		info->hops[i].at_us = e->t0 + e->hops[i].d_us;
	}
	return 0;
}

size_t
prov_bytes(const struct prov *pr)
{
	return sizeof(*pr) + (pr->cap + pr->hcap) * sizeof(*pr->recs) +
	    (pr->mask + 1) * sizeof(*pr->index) + pr->hop_bytes +
	    PROV_PEERS * sizeof(*pr->peers);
}

size_t
prov_count(const struct prov *pr)
{
	return pr->used;
}

size_t
prov_record_size(void)
{
	return sizeof(struct prov_rec);
}
