/*
 * idset.c: a bounded set of 32-byte ids with FIFO eviction.
 *
 * The ids live in a ring in insertion order (oldest at head); a deleted id
 * leaves a hole, marked in a bitmap, that is skipped on eviction and
 * squeezed out when the ring is rebuilt.  An open-addressing table (linear
 * probing, backward-shift deletion, at most half full) maps an id to its
 * ring slot; each table slot keeps 32 bits of the id's hash beside the ring
 * index, so most misses never touch the ring.
 *
 * Peers choose the ids they announce, so the hash is keyed: SipHash-2-4
 * (crypto_shorthash) over the whole id with a random key per set.
 *
 * The ring starts small and doubles; it holds at most max live ids and, when
 * deletions left holes, up to max + max/2 slots before holes are compacted,
 * which keeps every operation amortised O(1).
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/idset.h"
#include "lib/util.h"

#define IDSET_ID_LEN		32
#define IDSET_MIN_RING		16
/* Ring indexes are stored in 32 bits (plus one). */
#define IDSET_MAX		((size_t)1 << 30)

struct idset {
	size_t		 max;
	size_t		 limit;		/* most ring slots, holes included */
	size_t		 count;		/* live ids */
	size_t		 ring_cap;
	size_t		 head;		/* ring slot of the oldest */
	size_t		 used;		/* ring slots in use, holes included */
	size_t		 holes;
	uint8_t		(*ring)[IDSET_ID_LEN];
	uint64_t	*dead;		/* bitmap of holes, ring_cap bits */
	uint64_t	*table;		/* hash32 << 32 | (ring slot + 1); 0: empty */
	size_t		 tmask;
	uint8_t		 key[crypto_shorthash_KEYBYTES];
};

static uint32_t
idset_hash(const struct idset *s, const uint8_t id[IDSET_ID_LEN])
{
	uint8_t		out[crypto_shorthash_BYTES];
	uint64_t	h;

	crypto_shorthash(out, id, IDSET_ID_LEN, s->key);
	memcpy(&h, out, sizeof(h));
	return (uint32_t)(h ^ (h >> 32));
}

static int
idset_isdead(const struct idset *s, size_t slot)
{
	return (s->dead[slot / 64] >> (slot % 64)) & 1;
}

static void
idset_setdead(struct idset *s, size_t slot, int on)
{
	if (on)
		s->dead[slot / 64] |= (uint64_t)1 << (slot % 64);
	else
		s->dead[slot / 64] &= ~((uint64_t)1 << (slot % 64));
}

/* Table slot holding id, or -1. */
static long
idset_find(const struct idset *s, const uint8_t id[IDSET_ID_LEN], uint32_t h)
{
	size_t		i = h & s->tmask;
	uint64_t	e;

	while ((e = s->table[i]) != 0) {
		if ((uint32_t)(e >> 32) == h &&
		    memcmp(s->ring[(uint32_t)e - 1], id, IDSET_ID_LEN) == 0)
			return (long)i;
		i = (i + 1) & s->tmask;
	}
	return -1;
}

static void
idset_table_put(struct idset *s, uint32_t h, size_t slot)
{
	size_t	i = h & s->tmask;

	while (s->table[i] != 0)
		i = (i + 1) & s->tmask;
	s->table[i] = (uint64_t)h << 32 | (uint64_t)(slot + 1);
}

/* Empties table slot i, moving later entries of its cluster back. */
static void
idset_table_remove(struct idset *s, size_t i)
{
	size_t		j = i, home;
	uint64_t	e;

	for (;;) {
		j = (j + 1) & s->tmask;
		if ((e = s->table[j]) == 0)
			break;
		home = (uint32_t)(e >> 32) & s->tmask;
		/* e may fill the gap at i only if i lies between home and j. */
		if (((j - home) & s->tmask) >= ((j - i) & s->tmask)) {
			s->table[i] = e;
			i = j;
		}
	}
	s->table[i] = 0;
}

/* Drops the table entry pointing at ring slot (a live id). */
static void
idset_unindex(struct idset *s, size_t slot)
{
	uint32_t	h = idset_hash(s, s->ring[slot]);
	size_t		i = h & s->tmask;

	while ((uint32_t)s->table[i] != slot + 1)
		i = (i + 1) & s->tmask;
	idset_table_remove(s, i);
}

/* Drops holes at the head of the ring. */
static void
idset_trim(struct idset *s)
{
	while (s->used > 0 && idset_isdead(s, s->head)) {
		idset_setdead(s, s->head, 0);
		s->holes--;
		s->used--;
		if (++s->head == s->ring_cap)
			s->head = 0;
	}
}

/* Removes the oldest live id. */
static void
idset_evict(struct idset *s)
{
	idset_trim(s);
	if (s->used == 0)
		return;
	idset_unindex(s, s->head);
	s->count--;
	s->used--;
	if (++s->head == s->ring_cap)
		s->head = 0;
}

/* Moves the live ids, oldest first, into a ring of newcap slots and re-indexes. */
static void
idset_rebuild(struct idset *s, size_t newcap)
{
	uint8_t		(*ring)[IDSET_ID_LEN];
	size_t		 i, n = 0, slot, tsize;

	ring = xcalloc(newcap, IDSET_ID_LEN);
	for (i = 0, slot = s->head; i < s->used; i++) {
		if (!idset_isdead(s, slot))
			memcpy(ring[n++], s->ring[slot], IDSET_ID_LEN);
		if (++slot == s->ring_cap)
			slot = 0;
	}
	free(s->ring);
	free(s->dead);
	s->ring = ring;
	s->dead = xcalloc((newcap + 63) / 64, sizeof(uint64_t));
	s->ring_cap = newcap;
	s->head = 0;
	s->used = n;
	s->holes = 0;

	for (tsize = 16; tsize < 2 * newcap; tsize *= 2)
		;
	if (s->table == NULL || tsize != s->tmask + 1) {
		free(s->table);
		s->table = xcalloc(tsize, sizeof(uint64_t));
		s->tmask = tsize - 1;
	} else
		memset(s->table, 0, tsize * sizeof(uint64_t));
	for (i = 0; i < n; i++)
		idset_table_put(s, idset_hash(s, s->ring[i]), i);
}

/* Makes room for one more ring slot: grow, or squeeze holes out. */
static void
idset_make_room(struct idset *s)
{
	size_t	bound, newcap;

	if (s->used < s->ring_cap)
		return;
	bound = s->holes > 0 ? s->limit : s->max;
	if (s->ring_cap < bound && s->holes < s->ring_cap / 4) {
		newcap = s->ring_cap > bound / 2 ? bound : 2 * s->ring_cap;
		idset_rebuild(s, newcap);
	} else
		idset_rebuild(s, s->ring_cap);	/* holes >= 1 here */
}

struct idset *
idset_new(size_t max)
{
	struct idset	*s;

	if (sodium_init() < 0)
		abort();
	if (max == 0)
		max = 1;
	if (max > IDSET_MAX)
		max = IDSET_MAX;
	s = xcalloc(1, sizeof(*s));
	s->max = max;
	s->limit = max + max / 2 + 1;
	randombytes_buf(s->key, sizeof(s->key));
	idset_rebuild(s, max < IDSET_MIN_RING ? max : IDSET_MIN_RING);
	return s;
}

void
idset_free(struct idset *s)
{
	if (s == NULL)
		return;
	free(s->ring);
	free(s->dead);
	free(s->table);
	free(s);
}

int
idset_add(struct idset *s, const uint8_t id[32])
{
	uint32_t	h = idset_hash(s, id);
	size_t		slot;

	if (idset_find(s, id, h) != -1)
		return 0;
	if (s->count >= s->max)
		idset_evict(s);
	idset_make_room(s);
	slot = s->head + s->used;
	if (slot >= s->ring_cap)
		slot -= s->ring_cap;
	memcpy(s->ring[slot], id, IDSET_ID_LEN);
	s->used++;
	s->count++;
	idset_table_put(s, h, slot);
	return 1;
}

int
idset_has(const struct idset *s, const uint8_t id[32])
{
	return idset_find(s, id, idset_hash(s, id)) != -1;
}

int
idset_del(struct idset *s, const uint8_t id[32])
{
	long	i;
	size_t	slot;

	if ((i = idset_find(s, id, idset_hash(s, id))) == -1)
		return 0;
	slot = (uint32_t)s->table[i] - 1;
	idset_table_remove(s, (size_t)i);
	idset_setdead(s, slot, 1);
	s->holes++;
	s->count--;
	idset_trim(s);
	return 1;
}

size_t
idset_count(const struct idset *s)
{
	return s->count;
}
