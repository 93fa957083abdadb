/* idmap.c: chained hash map of 32-byte ids; see idmap.h. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/idmap.h"
#include "base/pool.h"
#include "lib/util.h"

struct idmap_node {
	struct idmap_node *next;
	uint8_t		id[32];
	void		*v;
};

struct idmap {
	struct idmap_node **b;
	size_t		nb;		/* power of two */
	size_t		count;
	uint8_t		key[crypto_shorthash_KEYBYTES];
	struct pool	*nodes;		/* its nodes: a flood's go back with it */
};

#define IDMAP_MIN_BUCKETS	64

static size_t
idmap_slot(const struct idmap *m, const uint8_t id[32])
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, id, 32, m->key);
	return (size_t)h & (m->nb - 1);
}

struct idmap *
idmap_new(void)
{
	struct idmap *m = xcalloc(1, sizeof(*m));

	m->nb = IDMAP_MIN_BUCKETS;
	m->b = xcalloc(m->nb, sizeof(*m->b));
	m->nodes = pool_new(sizeof(struct idmap_node));
	randombytes_buf(m->key, sizeof(m->key));
	return m;
}

void
idmap_free(struct idmap *m)
{
	if (m == NULL)
		return;
	pool_free(m->nodes);
	free(m->b);
	free(m);
}

/* Rehashes into nb buckets (a power of two). */
static void
idmap_resize(struct idmap *m, size_t nb)
{
	struct idmap_node **old = m->b, *n, *next;
	size_t oldnb = m->nb, i, s;

	m->nb = nb;
	m->b = xcalloc(m->nb, sizeof(*m->b));
	for (i = 0; i < oldnb; i++)
		for (n = old[i]; n != NULL; n = next) {
			next = n->next;
			s = idmap_slot(m, n->id);
			n->next = m->b[s];
			m->b[s] = n;
		}
	free(old);
}

void *
idmap_put(struct idmap *m, const uint8_t id[32], void *v)
{
	struct idmap_node *n;
	size_t s = idmap_slot(m, id);
	void *old;

	for (n = m->b[s]; n != NULL; n = n->next)
		if (memcmp(n->id, id, 32) == 0) {
			old = n->v;
			n->v = v;
			return old;
		}
	n = pool_get(m->nodes);
	memcpy(n->id, id, 32);
	n->v = v;
	n->next = m->b[s];
	m->b[s] = n;
	if (++m->count > m->nb)
		idmap_resize(m, m->nb * 2);
	else if (m->nb > IDMAP_MIN_BUCKETS && m->count < m->nb / 8)
		/* Emptied after a flood: the buckets go back too (not in
		 * idmap_del, which idmap_foreach's callback may call). */
		idmap_resize(m, m->nb / 4);
	return NULL;
}

void *
idmap_get(const struct idmap *m, const uint8_t id[32])
{
	struct idmap_node *n;

	for (n = m->b[idmap_slot(m, id)]; n != NULL; n = n->next)
		if (memcmp(n->id, id, 32) == 0)
			return n->v;
	return NULL;
}

void *
idmap_del(struct idmap *m, const uint8_t id[32])
{
	struct idmap_node **pp, *n;
	void *v;

	for (pp = &m->b[idmap_slot(m, id)]; (n = *pp) != NULL; pp = &n->next)
		if (memcmp(n->id, id, 32) == 0) {
			*pp = n->next;
			v = n->v;
			pool_put(m->nodes, n);
			m->count--;
			return v;
		}
	return NULL;
}

size_t
idmap_count(const struct idmap *m)
{
	return m->count;
}

void
idmap_foreach(struct idmap *m, void (*fn)(const uint8_t id[32], void *v, void *arg),
    void *arg)
{
	struct idmap_node *n, *next;
	size_t i;

	for (i = 0; i < m->nb; i++)
		for (n = m->b[i]; n != NULL; n = next) {
			next = n->next;
			fn(n->id, n->v, arg);
		}
}
