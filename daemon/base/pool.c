/*
 * pool.c: fixed-size objects in 64 KiB blocks of their own; see pool.h.
 *
 * A block is mapped on its own, aligned to its size, so that an object's
 * block is its address with the low bits cleared.  It starts with its
 * header; its objects follow, handed out first in order (untouched pages
 * cost nothing until then), then from its free list.  Blocks with room are
 * on the pool's list; a block that empties is unmapped, but for one kept
 * so that an object made and freed again and again does not map and unmap
 * a block each time.
 */
#include <sys/mman.h>
#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "lib/util.h"

#define POOL_BLOCK	(64u << 10)
#define POOL_ALIGN	16

/*
 * Under AddressSanitizer each object is its own allocation, so that the
 * sanitizer still sees overflows and uses after free of pooled objects
 * (it knows nothing of our blocks); the pool then keeps its objects on a
 * list, to free those still out in pool_free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_OWN_ALLOC	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OWN_ALLOC	1
#endif
#endif

struct pool_block {
	LIST_ENTRY(pool_block) entry;	/* on the pool's list while it has room */
	LIST_ENTRY(pool_block) all;	/* on the pool's list of blocks mapped */
	struct pool	*pool;
	void		*free;		/* freed objects, chained through their first word */
	size_t		 fresh;		/* objects never handed out start here */
	size_t		 out;		/* objects handed out now */
	int		 listed;
};

struct pool {
	LIST_HEAD(, pool_block) room;	/* blocks with an object to give */
	LIST_HEAD(, pool_block) blist;	/* every block mapped, the spare too */
	size_t		 size;		/* of an object, rounded up to POOL_ALIGN */
	size_t		 per;		/* objects a block holds */
	size_t		 first;		/* offset of a block's first object */
	size_t		 count;		/* objects out */
	size_t		 blocks;	/* blocks mapped */
	struct pool_block *spare;	/* an empty block kept */
	LIST_HEAD(, pool_obj) objs;	/* POOL_OWN_ALLOC: the objects out */
};

struct pool_obj {
	LIST_ENTRY(pool_obj) entry;
	uint8_t		 pad[POOL_ALIGN - sizeof(LIST_ENTRY(pool_obj)) % POOL_ALIGN];
};

static void __attribute__((noreturn))
pool_oom(void)
{
	fprintf(stderr, "noded: fatal: cannot map a %u-byte pool block\n",
	    POOL_BLOCK);
	abort();
}

/* A block of POOL_BLOCK bytes aligned to POOL_BLOCK: map twice that, cut the rest. */
static struct pool_block *
pool_block_map(struct pool *p)
{
	uint8_t		*m, *a;
	uintptr_t	 u;
	size_t		 lead;

	m = mmap(NULL, 2 * POOL_BLOCK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		pool_oom();
	u = (uintptr_t)m;
	a = (uint8_t *)((u + POOL_BLOCK - 1) & ~(uintptr_t)(POOL_BLOCK - 1));
	lead = (size_t)(a - m);
	if (lead > 0)
		munmap(m, lead);
	munmap(a + POOL_BLOCK, POOL_BLOCK - lead);
	p->blocks++;
	LIST_INSERT_HEAD(&p->blist, (struct pool_block *)(void *)a, all);
	return (struct pool_block *)(void *)a;
}

struct pool *
pool_new(size_t size)
{
	struct pool	*p = xcalloc(1, sizeof(*p));

	LIST_INIT(&p->room);
	LIST_INIT(&p->blist);
	LIST_INIT(&p->objs);
	if (size < sizeof(void *))
		size = sizeof(void *);
	p->size = (size + POOL_ALIGN - 1) & ~(size_t)(POOL_ALIGN - 1);
	p->first = (sizeof(struct pool_block) + POOL_ALIGN - 1) &
	    ~(size_t)(POOL_ALIGN - 1);
	p->per = (POOL_BLOCK - p->first) / p->size;
	if (p->per == 0)
		abort();	/* objects of a few KiB at most (pool.h) */
	return p;
}

static void
pool_block_unmap(struct pool *p, struct pool_block *b)
{
	LIST_REMOVE(b, all);
	munmap(b, POOL_BLOCK);
	p->blocks--;
}

void
pool_free(struct pool *p)
{
	struct pool_block *b;
	struct pool_obj	*o;

	if (p == NULL)
		return;
	while ((o = LIST_FIRST(&p->objs)) != NULL) {
		LIST_REMOVE(o, entry);
		free(o);
	}
	while ((b = LIST_FIRST(&p->blist)) != NULL)
		pool_block_unmap(p, b);
	free(p);
}

void *
pool_get(struct pool *p)
{
	struct pool_block *b = LIST_FIRST(&p->room);
	uint8_t		*o;

#ifdef POOL_OWN_ALLOC
	struct pool_obj	*po = xcalloc(1, sizeof(*po) + p->size);

	(void)b;
	(void)o;
	LIST_INSERT_HEAD(&p->objs, po, entry);
	p->count++;
	return po + 1;
#endif

	if (b == NULL) {
		if (p->spare != NULL) {
			b = p->spare;
			p->spare = NULL;
		} else {
			b = pool_block_map(p);
			b->pool = p;
		}
		b->free = NULL;
		b->fresh = 0;
		b->out = 0;
		LIST_INSERT_HEAD(&p->room, b, entry);
		b->listed = 1;
	}
	if (b->free != NULL) {
		o = b->free;
		memcpy(&b->free, o, sizeof(void *));
	} else
		o = (uint8_t *)b + p->first + b->fresh++ * p->size;
	if (++b->out == p->per) {
		LIST_REMOVE(b, entry);
		b->listed = 0;
	}
	p->count++;
	memset(o, 0, p->size);
	return o;
}

void
pool_put(struct pool *p, void *obj)
{
	struct pool_block *b;

	if (obj == NULL)
		return;
#ifdef POOL_OWN_ALLOC
	{
		struct pool_obj	*po = (struct pool_obj *)obj - 1;

		(void)b;
		LIST_REMOVE(po, entry);
		free(po);
		p->count--;
		return;
	}
#endif
	b = (struct pool_block *)((uintptr_t)obj & ~(uintptr_t)(POOL_BLOCK - 1));
	memcpy(obj, &b->free, sizeof(void *));
	b->free = obj;
	p->count--;
	if (!b->listed) {
		LIST_INSERT_HEAD(&p->room, b, entry);
		b->listed = 1;
	}
	if (--b->out > 0)
		return;
	LIST_REMOVE(b, entry);
	b->listed = 0;
	if (p->spare == NULL)
		p->spare = b;
	else
		pool_block_unmap(p, b);
}

size_t
pool_count(const struct pool *p)
{
	return p->count;
}

size_t
pool_bytes(const struct pool *p)
{
#ifdef POOL_OWN_ALLOC
	return p->count * p->size;
#endif
	return p->blocks * (size_t)POOL_BLOCK;
}
