/*
 * link.h: a link's added delay, jitter and bandwidth cap, applied in the
 * node's own send path (so it works without root, on loopback and in
 * containers), for experiments and tests: the bytes a peer sends wait in
 * the link's queue until the model releases them, in order, as a slower
 * and longer wire would.  Loop thread only.
 */
#ifndef P2P_LINK_H
#define P2P_LINK_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* What every link of the node adds; all 0: nothing, bytes go straight out. */
struct link_shape {
	uint64_t	delay_us;	/* added to each write */
	uint64_t	jitter_us;	/* +-, uniform; order is kept */
	uint64_t	rate_bps;	/* bits per second; 0: no cap */
};

struct link;

/* 1 if the shape adds anything. */
int	link_shape_on(const struct link_shape *s);

/*
 * When bytes written at now_us leave the link under s: after those queued
 * before them have gone through the rate, plus the delay and a jitter drawn
 * from rnd (uniform 32 bits), never before the previous write.  Advances
 * the link's clock.
 */
uint64_t link_release_us(struct link *l, const struct link_shape *s,
	    size_t len, uint64_t now_us, uint32_t rnd);

struct link *link_new(void);
void	link_free(struct link *l);
/* Queues len bytes to leave at release_us (from link_release_us). */
void	link_push(struct link *l, const void *buf, size_t len, uint64_t release_us);
/* Moves every write due at now_us to dst, in order.  Returns bytes moved. */
size_t	link_pop(struct link *l, uint64_t now_us, struct evbuffer *dst);
/* Bytes held back. */
size_t	link_pending(const struct link *l);
/* When the next write is due; 0 if none is queued. */
uint64_t link_next_us(const struct link *l);

#endif
