/*
 * link.c: the held-back bytes of one link and the clock that releases them.
 * The model is netem's: a write first waits for the link to be free
 * (len * 8 / rate after the previous write started through), then travels
 * for delay +- jitter, and never overtakes the write before it (TCP does
 * not reorder).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "base/log.h"
#include "lib/util.h"
#include "p2p/link.h"

struct link_seg {
	uint64_t	release_us;
	size_t		len;
};

struct link {
	struct evbuffer	*buf;		/* the bytes, in order */
	struct link_seg	*segs;		/* a ring: where the writes end, and when */
	size_t		 head, count, cap;
	size_t		 pending;
	uint64_t	 free_us;	/* the rate: when the wire is free again */
	uint64_t	 last_us;	/* the last release: none goes before it */
};

/* evbuffer out of memory: fatal, as every allocation of the node is. */
static void __attribute__((noreturn))
link_oom(void)
{
	log_error("net", "link: out of memory for held-back bytes");
	abort();
}

int
link_shape_on(const struct link_shape *s)
{
	return s->delay_us != 0 || s->jitter_us != 0 || s->rate_bps != 0;
}

uint64_t
link_release_us(struct link *l, const struct link_shape *s, size_t len,
    uint64_t now_us, uint32_t rnd)
{
	uint64_t	start, t, j;

	start = l->free_us > now_us ? l->free_us : now_us;
	if (s->rate_bps != 0) {
		/* At least 8 kbit/s and len at most 16 MiB: no overflow. */
		l->free_us = start + ((uint64_t)len * 8 * 1000000 +
		    s->rate_bps - 1) / s->rate_bps;
		start = l->free_us;
	} else
		l->free_us = start;
	t = start + s->delay_us;
	if (s->jitter_us != 0) {
		/* Uniform in [-jitter, +jitter], and not before now. */
		j = (uint64_t)rnd % (2 * s->jitter_us + 1);
		t = t + j >= s->jitter_us ? t + j - s->jitter_us : start;
		if (t < start)
			t = start;
	}
	if (t < l->last_us)
		t = l->last_us;
	l->last_us = t;
	return t;
}

struct link *
link_new(void)
{
	struct link	*l = xcalloc(1, sizeof(*l));

	if ((l->buf = evbuffer_new()) == NULL) {
		free(l);
		return NULL;
	}
	return l;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	evbuffer_free(l->buf);
	free(l->segs);
	free(l);
}

void
link_push(struct link *l, const void *buf, size_t len, uint64_t release_us)
{
	struct link_seg	*s, *ns;
	size_t		 i, ncap;

	if (len == 0)
		return;
	if (evbuffer_add(l->buf, buf, len) == -1)
		link_oom();
	l->pending += len;
	/* A write due with the last one joins it. */
	if (l->count > 0) {
		s = &l->segs[(l->head + l->count - 1) % l->cap];
		if (s->release_us == release_us) {
			s->len += len;
			return;
		}
	}
	if (l->count == l->cap) {
		ncap = l->cap == 0 ? 64 : l->cap * 2;
		ns = xcalloc(ncap, sizeof(*ns));
		for (i = 0; i < l->count; i++)
			ns[i] = l->segs[(l->head + i) % l->cap];
		free(l->segs);
		l->segs = ns;
		l->cap = ncap;
		l->head = 0;
	}
	s = &l->segs[(l->head + l->count) % l->cap];
	s->release_us = release_us;
	s->len = len;
	l->count++;
}

size_t
link_pop(struct link *l, uint64_t now_us, struct evbuffer *dst)
{
	struct link_seg	*s;
	size_t		 moved = 0;

	while (l->count > 0) {
		s = &l->segs[l->head];
		if (s->release_us > now_us)
			break;
		if (evbuffer_remove_buffer(l->buf, dst, s->len) != (int)s->len)
			link_oom();
		moved += s->len;
		l->pending -= s->len;
		l->head = (l->head + 1) % l->cap;
		l->count--;
	}
	return moved;
}

size_t
link_pending(const struct link *l)
{
	return l->pending;
}

uint64_t
link_next_us(const struct link *l)
{
	return l->count > 0 ? l->segs[l->head].release_us : 0;
}
