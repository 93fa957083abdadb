/*
 * mempool.c: accepted transactions.
 *
 * Each transaction is one allocation: a small private header (insertion
 * order links and the two hashes), then the public struct mempool_entry
 * with the encoded bytes inline.  Two open-addressing tables of pointers
 * (linear probing, backward-shift deletion, at most half full, sizes a
 * power of two) index it by id and by (sender, nonce); both hashes are
 * SipHash-2-4 with a random key per pool, since senders and nonces are
 * chosen by whoever sends.  The links give oldest-first eviction and walks.
 *
 * At 100,000 transactions of ~190 bytes this is ~336 bytes of heap per
 * entry plus ~42 bytes of tables, about 38 MB in all.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/mempool.h"
#include "lib/util.h"

#define MEMPOOL_MIN_TABLE	64

struct mp_node {
	struct mp_node	*prev;		/* older */
	struct mp_node	*next;		/* newer */
	uint32_t	 hid;		/* hash of the id */
	uint32_t	 hnonce;	/* hash of (sender, nonce) */
	/* struct mempool_entry follows */
};

struct mempool {
	size_t		 max_count;
	size_t		 max_bytes;
	size_t		 count;
	size_t		 bytes;
	struct mp_node	*oldest;
	struct mp_node	*newest;
	struct mp_node	**by_id;
	struct mp_node	**by_nonce;
	size_t		 tmask;
	uint8_t		 key[crypto_shorthash_KEYBYTES];
};

static struct mempool_entry *
mp_entry(const struct mp_node *n)
{
	return (struct mempool_entry *)(void *)((char *)(uintptr_t)n +
	    sizeof(struct mp_node));
}

static uint32_t
mp_hash(const struct mempool *mp, const uint8_t *in, size_t len)
{
	uint8_t		out[crypto_shorthash_BYTES];
	uint64_t	h;

	crypto_shorthash(out, in, len, mp->key);
	memcpy(&h, out, sizeof(h));
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t
mp_hash_id(const struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	return mp_hash(mp, id, TX_ID_LEN);
}

static uint32_t
mp_hash_nonce(const struct mempool *mp, const uint8_t sender[TX_PK_LEN],
    uint64_t nonce)
{
	uint8_t	buf[TX_PK_LEN + 8];
	int	i;

	memcpy(buf, sender, TX_PK_LEN);
	for (i = 0; i < 8; i++)
		buf[TX_PK_LEN + i] = (uint8_t)(nonce >> (8 * i));
	return mp_hash(mp, buf, sizeof(buf));
}

static struct mp_node *
mp_find_id(const struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	size_t		 i = mp_hash_id(mp, id) & mp->tmask;
	struct mp_node	*n;

	while ((n = mp->by_id[i]) != NULL) {
		if (memcmp(mp_entry(n)->id, id, TX_ID_LEN) == 0)
			return n;
		i = (i + 1) & mp->tmask;
	}
	return NULL;
}

static struct mp_node *
mp_find_nonce(const struct mempool *mp, const uint8_t sender[TX_PK_LEN],
    uint64_t nonce)
{
	size_t			 i = mp_hash_nonce(mp, sender, nonce) & mp->tmask;
	struct mp_node		*n;
	struct mempool_entry	*e;

	while ((n = mp->by_nonce[i]) != NULL) {
		e = mp_entry(n);
		if (e->nonce == nonce &&
		    memcmp(e->sender, sender, TX_PK_LEN) == 0)
			return n;
		i = (i + 1) & mp->tmask;
	}
	return NULL;
}

static void
mp_table_put(struct mp_node **t, size_t mask, uint32_t h, struct mp_node *n)
{
	size_t	i = h & mask;

	while (t[i] != NULL)
		i = (i + 1) & mask;
	t[i] = n;
}

/*
 * Removes n from table t (hashes kept in the nodes: hid when by_id is set,
 * hnonce otherwise), moving later members of its cluster back.
 */
static void
mp_table_del(struct mp_node **t, size_t mask, uint32_t h, struct mp_node *n,
    int by_id)
{
	size_t		 i = h & mask, j, home;
	struct mp_node	*m;

	while (t[i] != n)
		i = (i + 1) & mask;
	for (j = i;;) {
		j = (j + 1) & mask;
		if ((m = t[j]) == NULL)
			break;
		home = (by_id ? m->hid : m->hnonce) & mask;
		/* m may fill the gap at i only if i lies between home and j. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t[i] = m;
			i = j;
		}
	}
	t[i] = NULL;
}

static void
mp_resize(struct mempool *mp, size_t size)
{
	struct mp_node	*n;

	free(mp->by_id);
	free(mp->by_nonce);
	mp->by_id = xcalloc(size, sizeof(*mp->by_id));
	mp->by_nonce = xcalloc(size, sizeof(*mp->by_nonce));
	mp->tmask = size - 1;
	for (n = mp->oldest; n != NULL; n = n->next) {
		mp_table_put(mp->by_id, mp->tmask, n->hid, n);
		mp_table_put(mp->by_nonce, mp->tmask, n->hnonce, n);
	}
}

static void
mp_remove(struct mempool *mp, struct mp_node *n)
{
	mp_table_del(mp->by_id, mp->tmask, n->hid, n, 1);
	mp_table_del(mp->by_nonce, mp->tmask, n->hnonce, n, 0);
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		mp->oldest = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		mp->newest = n->prev;
	mp->count--;
	mp->bytes -= mp_entry(n)->len;
	free(n);
}

struct mempool *
mempool_new(size_t max_count, size_t max_bytes)
{
	struct mempool	*mp;

	if (sodium_init() < 0)
		abort();
	if (max_count == 0)
		max_count = 1;
	/* Table slots are at most 2 * max_count: keep that product sane. */
	if (max_count > SIZE_MAX / 64)
		max_count = SIZE_MAX / 64;
	mp = xcalloc(1, sizeof(*mp));
	mp->max_count = max_count;
	mp->max_bytes = max_bytes;
	randombytes_buf(mp->key, sizeof(mp->key));
	mp_resize(mp, MEMPOOL_MIN_TABLE);
	return mp;
}

void
mempool_free(struct mempool *mp)
{
	struct mp_node	*n, *next;

	if (mp == NULL)
		return;
	for (n = mp->oldest; n != NULL; n = next) {
		next = n->next;
		free(n);
	}
	free(mp->by_id);
	free(mp->by_nonce);
	free(mp);
}

enum mempool_result
mempool_add(struct mempool *mp, const uint8_t id[TX_ID_LEN],
    const struct tx *t, const uint8_t *raw, size_t len, uint64_t now,
    size_t *evicted)
{
	struct mp_node		*n;
	struct mempool_entry	*e;
	size_t			 nevicted = 0;

	if (evicted != NULL)
		*evicted = 0;
	if (mp_find_id(mp, id) != NULL)
		return MEMPOOL_DUPLICATE;
	if (mp_find_nonce(mp, t->sender, t->nonce) != NULL)
		return MEMPOOL_NONCE_USED;
	if (len > mp->max_bytes || len > UINT32_MAX)
		return MEMPOOL_TOO_BIG;

	while (mp->oldest != NULL && (mp->count >= mp->max_count ||
	    mp->bytes + len > mp->max_bytes)) {
		mp_remove(mp, mp->oldest);
		nevicted++;
	}
	if (evicted != NULL)
		*evicted = nevicted;
	if (2 * (mp->count + 1) > mp->tmask + 1)
		mp_resize(mp, 2 * (mp->tmask + 1));

	n = xmalloc(sizeof(*n) + sizeof(*e) + len);
	e = mp_entry(n);
	memcpy(e->id, id, TX_ID_LEN);
	memcpy(e->sender, t->sender, TX_PK_LEN);
	e->nonce = t->nonce;
	e->amount = t->amount;
	e->timestamp_ms = t->timestamp_ms;
	e->added_ms = now;
	e->len = (uint32_t)len;
	memcpy(e->raw, raw, len);
	n->hid = mp_hash_id(mp, id);
	n->hnonce = mp_hash_nonce(mp, t->sender, t->nonce);
	mp_table_put(mp->by_id, mp->tmask, n->hid, n);
	mp_table_put(mp->by_nonce, mp->tmask, n->hnonce, n);

	n->next = NULL;
	n->prev = mp->newest;
	if (mp->newest != NULL)
		mp->newest->next = n;
	else
		mp->oldest = n;
	mp->newest = n;
	mp->count++;
	mp->bytes += len;
	return MEMPOOL_ADDED;
}

const struct mempool_entry *
mempool_get(const struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	struct mp_node	*n;

	if ((n = mp_find_id(mp, id)) == NULL)
		return NULL;
	return mp_entry(n);
}

size_t
mempool_expire(struct mempool *mp, uint64_t now, uint64_t max_age_ms)
{
	struct mp_node	*n, *next;
	uint64_t	 cutoff;
	size_t		 removed = 0;

	if (now <= max_age_ms)
		return 0;
	cutoff = now - max_age_ms;
	/* Timestamps are the senders': insertion order says nothing of them. */
	for (n = mp->oldest; n != NULL; n = next) {
		next = n->next;
		if (mp_entry(n)->timestamp_ms < cutoff) {
			mp_remove(mp, n);
			removed++;
		}
	}
	return removed;
}

size_t
mempool_count(const struct mempool *mp)
{
	return mp->count;
}

size_t
mempool_bytes(const struct mempool *mp)
{
	return mp->bytes;
}

size_t
mempool_walk(const struct mempool *mp, const uint8_t *after, size_t limit,
    int (*fn)(const struct mempool_entry *e, void *arg), void *arg)
{
	struct mp_node	*n = NULL;
	size_t		 visited = 0;

	if (after != NULL && (n = mp_find_id(mp, after)) != NULL)
		n = n->next;
	else
		n = mp->oldest;
	for (; n != NULL && visited < limit; n = n->next) {
		visited++;
		if (fn(mp_entry(n), arg) != 0)
			break;
	}
	return visited;
}
