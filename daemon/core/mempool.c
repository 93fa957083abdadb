/*
 * mempool.c: accepted transactions.
 *
 * Each transaction is one allocation: a small private header (insertion
 * order links and the two hashes), then the public struct mempool_entry
 * with the encoded bytes inline.  Two open-addressing tables of pointers
 * (linear probing, backward-shift deletion, at most half full, sizes a
 * power of two) index it by id and by (sender, nonce); both hashes are
 * SipHash-2-4 with a random key per pool, since senders and nonces are
 * chosen by whoever sends.  The links give oldest-first walks.
 *
 * Fair shares, with no fees to rank by (docs/PROTOCOL.md 5.4): each entry
 * belongs to its source (the peer or the API it came from) and, within it,
 * to its sender.  A full pool makes room by evicting the oldest entry of
 * the sender holding the most in the source holding the most (a tie goes
 * against the incoming transaction's own source and sender), and refuses
 * the newcomer when that is its own sender (equal holdings go by age, the
 * older first): a flood from one source, or from many keys through one
 * source, evicts only itself, and a low-volume sender elsewhere keeps what
 * it has.  Two max-heaps by count (sources;
 * senders within each source) find the victim in O(log n).
 *
 * At 100,000 transactions of ~190 bytes this is ~336 bytes of heap per
 * entry plus ~42 bytes of tables, about 38 MB in all.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/idmap.h"
#include "core/mempool.h"
#include "lib/util.h"

#define MEMPOOL_MIN_TABLE	64

/*
 * A count kept in a max-heap, the first member of sources and holders;
 * equal counts go by age (the one made first is above).
 */
struct mp_counted {
	size_t		 count;
	size_t		 heapidx;
	uint64_t	 born;
};

struct mp_heap {
	struct mp_counted **v;
	size_t		 n, cap;
};

struct mp_node;

/* The entries of one sender from one source, oldest first (its sender is theirs). */
struct mp_holder {
	struct mp_counted c;		/* first */
	struct mp_source *src;
	struct mp_node	*oldest, *newest;
	uint32_t	 hash;		/* of (source tag, sender): by_holder */
};

/* The entries from one source, by sender. */
struct mp_source {
	struct mp_counted c;		/* first */
	uint64_t	 tag;
	struct mp_heap	 holders;
};

struct mp_node {
	struct mp_node	*prev;		/* older */
	struct mp_node	*next;		/* newer */
	struct mp_node	*hprev, *hnext;	/* older, newer of its holder */
	struct mp_holder *holder;
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
	struct mp_holder **by_holder;	/* (source, sender), same size as the others */
	struct idmap	*sources;	/* tag, zero-padded → mp_source */
	struct mp_heap	 srcheap;
	uint64_t	 births;	/* sources and holders made */
	uint8_t		 digest[TX_ID_LEN];	/* XOR of the ids held */
	mempool_removed_cb removed;	/* told of every entry that leaves */
	void		*removed_arg;
};

static void
mp_digest_flip(struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	size_t	i;

	for (i = 0; i < TX_ID_LEN; i++)
		mp->digest[i] ^= id[i];
}

static int
mp_heap_above(const struct mp_heap *h, size_t i, size_t j)
{
	return h->v[i]->count > h->v[j]->count ||
	    (h->v[i]->count == h->v[j]->count && h->v[i]->born < h->v[j]->born);
}

static void
mp_heap_swap(struct mp_heap *h, size_t i, size_t j)
{
	struct mp_counted *t = h->v[i];

	h->v[i] = h->v[j];
	h->v[j] = t;
	h->v[i]->heapidx = i;
	h->v[j]->heapidx = j;
}

/* Restores the heap after v[i]'s count changed. */
static void
mp_heap_fix(struct mp_heap *h, size_t i)
{
	size_t	c, best;

	while (i > 0 && mp_heap_above(h, i, (i - 1) / 2)) {
		mp_heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		best = i;
		c = 2 * i + 1;
		if (c < h->n && mp_heap_above(h, c, best))
			best = c;
		if (c + 1 < h->n && mp_heap_above(h, c + 1, best))
			best = c + 1;
		if (best == i)
			return;
		mp_heap_swap(h, i, best);
		i = best;
	}
}

static void
mp_heap_push(struct mp_heap *h, struct mp_counted *x)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 8;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	x->heapidx = h->n;
	h->v[h->n++] = x;
	mp_heap_fix(h, x->heapidx);
}

static void
mp_heap_remove(struct mp_heap *h, struct mp_counted *x)
{
	size_t	i = x->heapidx;

	if (i != h->n - 1) {
		mp_heap_swap(h, i, h->n - 1);
		h->n--;
		mp_heap_fix(h, i);
	} else
		h->n--;
}

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

static uint32_t
mp_hash_holder(const struct mempool *mp, uint64_t tag,
    const uint8_t sender[TX_PK_LEN])
{
	uint8_t	buf[8 + TX_PK_LEN];
	int	i;

	for (i = 0; i < 8; i++)
		buf[i] = (uint8_t)(tag >> (8 * i));
	memcpy(buf + 8, sender, TX_PK_LEN);
	return mp_hash(mp, buf, sizeof(buf));
}

static struct mp_source *
mp_source_get(const struct mempool *mp, uint64_t tag)
{
	uint8_t	key[32];

	memset(key, 0, sizeof(key));
	memcpy(key, &tag, sizeof(tag));
	return idmap_get(mp->sources, key);
}

/* The holder of sender's entries from source tag, or NULL. */
static struct mp_holder *
mp_holder_get(const struct mempool *mp, uint64_t tag,
    const uint8_t sender[TX_PK_LEN], uint32_t h)
{
	size_t			 i = h & mp->tmask;
	struct mp_holder	*ho;

	while ((ho = mp->by_holder[i]) != NULL) {
		if (ho->hash == h && ho->src->tag == tag &&
		    memcmp(mp_entry(ho->oldest)->sender, sender, TX_PK_LEN) == 0)
			return ho;
		i = (i + 1) & mp->tmask;
	}
	return NULL;
}

static void
mp_holder_put(struct mempool *mp, struct mp_holder *ho)
{
	size_t	i = ho->hash & mp->tmask;

	while (mp->by_holder[i] != NULL)
		i = (i + 1) & mp->tmask;
	mp->by_holder[i] = ho;
}

/* Removes ho from by_holder, moving later members of its cluster back. */
static void
mp_holder_del(struct mempool *mp, struct mp_holder *ho)
{
	size_t			 i = ho->hash & mp->tmask, j, home, mask = mp->tmask;
	struct mp_holder	*m;

	while (mp->by_holder[i] != ho)
		i = (i + 1) & mask;
	for (j = i;;) {
		j = (j + 1) & mask;
		if ((m = mp->by_holder[j]) == NULL)
			break;
		home = m->hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			mp->by_holder[i] = m;
			i = j;
		}
	}
	mp->by_holder[i] = NULL;
}

/* Files n under its source and sender (creating them), newest. */
static void
mp_hold(struct mempool *mp, struct mp_node *n, uint64_t tag)
{
	const struct mempool_entry *e = mp_entry(n);
	struct mp_source	*src;
	struct mp_holder	*ho;
	uint32_t		 h = mp_hash_holder(mp, tag, e->sender);
	uint8_t			 key[32];

	if ((ho = mp_holder_get(mp, tag, e->sender, h)) == NULL) {
		if ((src = mp_source_get(mp, tag)) == NULL) {
			src = xcalloc(1, sizeof(*src));
			src->tag = tag;
			src->c.born = mp->births++;
			memset(key, 0, sizeof(key));
			memcpy(key, &tag, sizeof(tag));
			idmap_put(mp->sources, key, src);
			mp_heap_push(&mp->srcheap, &src->c);
		}
		ho = xcalloc(1, sizeof(*ho));
		ho->c.born = mp->births++;
		ho->src = src;
		ho->hash = h;
		ho->oldest = n;
		mp_holder_put(mp, ho);
		mp_heap_push(&src->holders, &ho->c);
	}
	n->holder = ho;
	n->hnext = NULL;
	n->hprev = ho->newest;
	if (ho->newest != NULL)
		ho->newest->hnext = n;
	ho->newest = n;
	ho->c.count++;
	mp_heap_fix(&ho->src->holders, ho->c.heapidx);
	ho->src->c.count++;
	mp_heap_fix(&mp->srcheap, ho->src->c.heapidx);
}

/* Takes n out of its holder, freeing the holder and source it leaves empty. */
static void
mp_unhold(struct mempool *mp, struct mp_node *n)
{
	struct mp_holder	*ho = n->holder;
	struct mp_source	*src = ho->src;
	uint8_t			 key[32];

	if (n->hprev != NULL)
		n->hprev->hnext = n->hnext;
	if (n->hnext != NULL)
		n->hnext->hprev = n->hprev;
	/* by_holder finds ho through its oldest entry's sender: the same one. */
	if (ho->oldest == n)
		ho->oldest = n->hnext;
	if (ho->newest == n)
		ho->newest = n->hprev;
	ho->c.count--;
	src->c.count--;
	if (ho->c.count == 0) {
		mp_holder_del(mp, ho);
		mp_heap_remove(&src->holders, &ho->c);
		free(ho);
	} else
		mp_heap_fix(&src->holders, ho->c.heapidx);
	if (src->c.count == 0) {
		mp_heap_remove(&mp->srcheap, &src->c);
		memset(key, 0, sizeof(key));
		memcpy(key, &src->tag, sizeof(src->tag));
		idmap_del(mp->sources, key);
		free(src->holders.v);
		free(src);
	} else
		mp_heap_fix(&mp->srcheap, src->c.heapidx);
}

/*
 * The entry to evict to make room for a transaction of sender from source
 * tag: the oldest of the sender holding the most in the source holding the
 * most, ties going against the newcomer's own.  NULL: the newcomer's own
 * sender holds the most; it is the one refused.
 */
static struct mp_node *
mp_victim(const struct mempool *mp, uint64_t tag, const uint8_t sender[TX_PK_LEN])
{
	struct mp_source	*src, *own;
	struct mp_holder	*top, *mine;

	if (mp->srcheap.n == 0)
		return NULL;
	src = (struct mp_source *)(void *)mp->srcheap.v[0];
	own = mp_source_get(mp, tag);
	if (own != NULL && own->c.count >= src->c.count)
		src = own;
	top = (struct mp_holder *)(void *)src->holders.v[0];
	if (src == own) {
		mine = mp_holder_get(mp, tag, sender, mp_hash_holder(mp, tag,
		    sender));
		if (mine != NULL && mine->c.count >= top->c.count)
			return NULL;
	}
	return top->oldest;
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
	free(mp->by_holder);
	mp->by_id = xcalloc(size, sizeof(*mp->by_id));
	mp->by_nonce = xcalloc(size, sizeof(*mp->by_nonce));
	mp->by_holder = xcalloc(size, sizeof(*mp->by_holder));
	mp->tmask = size - 1;
	for (n = mp->oldest; n != NULL; n = n->next) {
		mp_table_put(mp->by_id, mp->tmask, n->hid, n);
		mp_table_put(mp->by_nonce, mp->tmask, n->hnonce, n);
		if (n->holder->oldest == n)
			mp_holder_put(mp, n->holder);
	}
}

static void
mp_remove(struct mempool *mp, struct mp_node *n)
{
	if (mp->removed != NULL)
		mp->removed(mp_entry(n)->id, mp->removed_arg);
	mp_unhold(mp, n);
	mp_digest_flip(mp, mp_entry(n)->id);
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
	mp->sources = idmap_new();
	mp_resize(mp, MEMPOOL_MIN_TABLE);
	return mp;
}

void
mempool_free(struct mempool *mp)
{
	struct mp_node	*n;

	if (mp == NULL)
		return;
	mp->removed = NULL;	/* freed, not removed: the store keeps them */
	while ((n = mp->oldest) != NULL)
		mp_remove(mp, n);
	idmap_free(mp->sources);
	free(mp->srcheap.v);
	free(mp->by_id);
	free(mp->by_nonce);
	free(mp->by_holder);
	free(mp);
}

enum mempool_result
mempool_add(struct mempool *mp, const uint8_t id[TX_ID_LEN],
    const struct tx *t, const uint8_t *raw, size_t len, uint64_t now,
    uint64_t source, uint8_t other[TX_ID_LEN], size_t *evicted)
{
	struct mp_node		*n, *victim, *rival;
	struct mempool_entry	*e;
	size_t			 nevicted = 0;
	enum mempool_result	 added = MEMPOOL_ADDED;

	if (evicted != NULL)
		*evicted = 0;
	if (mp_find_id(mp, id) != NULL)
		return MEMPOOL_DUPLICATE;
	if (len > mp->max_bytes || len > UINT32_MAX)
		return MEMPOOL_TOO_BIG;
	if ((rival = mp_find_nonce(mp, t->sender, t->nonce)) != NULL) {
		/* The smaller id holds the nonce, on every node alike. */
		if (other != NULL)
			memcpy(other, mp_entry(rival)->id, TX_ID_LEN);
		if (memcmp(mp_entry(rival)->id, id, TX_ID_LEN) < 0)
			return MEMPOOL_NONCE_USED;
		mp_remove(mp, rival);
		added = MEMPOOL_REPLACED;
	}

	while (mp->oldest != NULL && (mp->count >= mp->max_count ||
	    mp->bytes + len > mp->max_bytes)) {
		victim = mp_victim(mp, source, t->sender);
		/* A winner of its nonce is not refused (the loser went already). */
		if (victim == NULL && added == MEMPOOL_REPLACED)
			victim = mp->oldest;
		if (victim == NULL) {
			if (evicted != NULL)
				*evicted = nevicted;
			return MEMPOOL_FULL;
		}
		mp_remove(mp, victim);
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
	mp_hold(mp, n, source);
	mp_digest_flip(mp, id);

	n->next = NULL;
	n->prev = mp->newest;
	if (mp->newest != NULL)
		mp->newest->next = n;
	else
		mp->oldest = n;
	mp->newest = n;
	mp->count++;
	mp->bytes += len;
	return added;
}

const struct mempool_entry *
mempool_get(const struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	struct mp_node	*n;

	if ((n = mp_find_id(mp, id)) == NULL)
		return NULL;
	return mp_entry(n);
}

void
mempool_set_removed(struct mempool *mp, mempool_removed_cb cb, void *arg)
{
	mp->removed = cb;
	mp->removed_arg = arg;
}

int
mempool_remove(struct mempool *mp, const uint8_t id[TX_ID_LEN])
{
	struct mp_node	*n;

	if ((n = mp_find_id(mp, id)) == NULL)
		return -1;
	mp_remove(mp, n);
	return 0;
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

void
mempool_digest(const struct mempool *mp, uint8_t out[TX_ID_LEN])
{
	memcpy(out, mp->digest, TX_ID_LEN);
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
