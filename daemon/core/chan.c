/*
 * chan.c: a bounded multi-producer multi-consumer ring of pointers.
 *
 * One mutex guards the ring; producers wait on not_full, consumers on
 * not_empty.  A condition variable is signalled only when somebody waits
 * on it, and after the mutex is released, so a steady stream of items
 * between busy threads costs no futex wake-ups.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/chan.h"
#include "lib/util.h"

struct chan {
	pthread_mutex_t	 mu;
	pthread_cond_t	 not_empty;
	pthread_cond_t	 not_full;
	size_t		 cap;
	size_t		 head;		/* index of the oldest item */
	size_t		 len;
	unsigned	 wait_pop;	/* threads blocked in chan_pop */
	unsigned	 wait_push;	/* threads blocked in chan_push */
	int		 closed;
	void		*items[];
};

struct chan *
chan_new(size_t capacity)
{
	struct chan	*c;

	if (capacity == 0)
		capacity = 1;
	if (capacity > (SIZE_MAX - sizeof(*c)) / sizeof(void *)) {
		errno = EINVAL;
		return NULL;
	}
	c = xcalloc(1, sizeof(*c) + capacity * sizeof(void *));
	c->cap = capacity;
	/* Linux's default-attribute init cannot fail. */
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->not_empty, NULL);
	pthread_cond_init(&c->not_full, NULL);
	return c;
}

void
chan_free(struct chan *c)
{
	if (c == NULL)
		return;
	pthread_cond_destroy(&c->not_full);
	pthread_cond_destroy(&c->not_empty);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* Appends item; c->mu held and room checked.  Returns 1 if a consumer waits. */
static int
chan_put(struct chan *c, void *item)
{
	size_t	tail = c->head + c->len;

	if (tail >= c->cap)
		tail -= c->cap;
	c->items[tail] = item;
	c->len++;
	return c->wait_pop != 0;
}

/* Removes the oldest item; c->mu held and c->len > 0. */
static void *
chan_take(struct chan *c)
{
	void	*item = c->items[c->head];

	c->items[c->head] = NULL;
	if (++c->head == c->cap)
		c->head = 0;
	c->len--;
	return item;
}

/* Adds item, waiting for room when block is set; see chan_push and chan_trypush. */
static int
chan_push_wait(struct chan *c, void *item, int block)
{
	int	wake;

	if (item == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&c->mu);
	while (block && c->len == c->cap && !c->closed) {
		c->wait_push++;
		pthread_cond_wait(&c->not_full, &c->mu);
		c->wait_push--;
	}
	if (c->closed || c->len == c->cap) {
		errno = c->closed ? EPIPE : EAGAIN;
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	wake = chan_put(c, item);
	pthread_mutex_unlock(&c->mu);
	if (wake)
		pthread_cond_signal(&c->not_empty);
	return 0;
}

int
chan_trypush(struct chan *c, void *item)
{
	return chan_push_wait(c, item, 0);
}

int
chan_push(struct chan *c, void *item)
{
	return chan_push_wait(c, item, 1);
}

void *
chan_pop(struct chan *c)
{
	void	*item;
	int	 wake;

	pthread_mutex_lock(&c->mu);
	while (c->len == 0 && !c->closed) {
		c->wait_pop++;
		pthread_cond_wait(&c->not_empty, &c->mu);
		c->wait_pop--;
	}
	if (c->len == 0) {
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	item = chan_take(c);
	wake = c->wait_push != 0;
	pthread_mutex_unlock(&c->mu);
	if (wake)
		pthread_cond_signal(&c->not_full);
	return item;
}

void *
chan_trypop(struct chan *c)
{
	void	*item;

	return chan_trypopn(c, &item, 1) == 1 ? item : NULL;
}

size_t
chan_trypopn(struct chan *c, void **items, size_t max)
{
	size_t	n = 0;
	int	wake;

	pthread_mutex_lock(&c->mu);
	while (n < max && c->len > 0)
		items[n++] = chan_take(c);
	wake = n > 0 && c->wait_push != 0;
	pthread_mutex_unlock(&c->mu);
	if (wake) {
		if (n == 1)
			pthread_cond_signal(&c->not_full);
		else
			pthread_cond_broadcast(&c->not_full);
	}
	return n;
}

void
chan_close(struct chan *c)
{
	pthread_mutex_lock(&c->mu);
	c->closed = 1;
	pthread_mutex_unlock(&c->mu);
	pthread_cond_broadcast(&c->not_empty);
	pthread_cond_broadcast(&c->not_full);
}

size_t
chan_len(struct chan *c)
{
	size_t	n;

	pthread_mutex_lock(&c->mu);
	n = c->len;
	pthread_mutex_unlock(&c->mu);
	return n;
}

size_t
chan_capacity(const struct chan *c)
{
	return c->cap;
}
