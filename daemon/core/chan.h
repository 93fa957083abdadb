/*
 * chan.h: a bounded multi-producer multi-consumer queue of pointers
 * (mutex + condition variables).  Ownership of an item passes with it.
 */
#ifndef DAEMON_CHAN_H
#define DAEMON_CHAN_H

#include <stddef.h>

struct chan;

/* New queue holding at most capacity items (capacity >= 1); NULL (EINVAL) if absurdly large.  Any thread. */
struct chan *chan_new(size_t capacity);
/* Frees the queue; items still inside are not freed.  No thread may still use it. */
void	chan_free(struct chan *c);
/* Adds item without blocking.  Returns 0, or -1 with errno EAGAIN (full) or EPIPE (closed). */
int	chan_trypush(struct chan *c, void *item);
/* Adds item, blocking while full.  Returns 0, or -1 with errno EPIPE once closed. */
int	chan_push(struct chan *c, void *item);
/* Takes an item, blocking while empty; NULL once closed and empty.  Any thread. */
void	*chan_pop(struct chan *c);
/* Takes an item without blocking; NULL if empty. */
void	*chan_trypop(struct chan *c);
/* Closes: pushes fail, pops drain what is left then return NULL. */
void	chan_close(struct chan *c);
/* Items queued now (a snapshot).  Any thread. */
size_t	chan_len(struct chan *c);
/* The capacity given to chan_new.  Any thread. */
size_t	chan_capacity(const struct chan *c);

/*
 * Added by the chan module (not in the first agreed header):
 * items must not be NULL (pushes of NULL fail with EINVAL), since NULL is
 * what pops answer for "nothing".
 */
/* Takes up to max items without blocking into items[]; returns how many.  Any thread. */
size_t	chan_trypopn(struct chan *c, void **items, size_t max);

#endif
