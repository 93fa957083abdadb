/*
 * pool.h: fixed-size objects in blocks of their own, given back to the
 * system as each block empties.  For what a flood makes by the hundred
 * thousand and then frees (wanted ids, their map nodes): from malloc's heap,
 * the few objects that live on among them (an address, a ban) would keep
 * its pages after the flood, where malloc_trim cannot return them; here a
 * block holds only objects of one kind, and an empty one goes at once.
 * Loop thread only (no locks).
 */
#ifndef BASE_POOL_H
#define BASE_POOL_H

#include <stddef.h>

struct pool;

/* A pool of objects of size bytes (at most a few KiB). */
struct pool *pool_new(size_t size);
/* Frees the pool and every block; objects still out are gone with them. */
void	pool_free(struct pool *p);
/* A zeroed object; aborts out of memory, like xcalloc. */
void	*pool_get(struct pool *p);
/* Gives obj back (NULL: nothing); its block goes back once empty. */
void	pool_put(struct pool *p, void *obj);
/* Objects out, and bytes of blocks held (the gauge of what it costs). */
size_t	pool_count(const struct pool *p);
size_t	pool_bytes(const struct pool *p);

#endif
