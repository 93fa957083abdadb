/*
 * bloom.h: a rolling Bloom filter of 32-byte ids, as Bitcoin Core's
 * CRollingBloomFilter: it holds at least the last `window` distinct ids
 * added (and at most 1.5 times that many), in fixed memory (7.5 bytes per
 * id of the window), with a false-positive rate under 1e-4.  Used for what each peer
 * is known to have, where an exact set cost megabytes per peer.  Positions
 * come from SipHash under a random key per filter, since peers choose the
 * ids.  Loop thread only.
 */
#ifndef BASE_BLOOM_H
#define BASE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

struct bloom;

/* A filter holding at least the last window ids (window >= 2).  Never NULL. */
struct bloom *bloom_new(size_t window);
void	bloom_free(struct bloom *b);
/* Adds id; returns 1 if it was not (as far as the filter can tell) in it before, 0 if it was. */
int	bloom_add(struct bloom *b, const uint8_t id[32]);
/* 1 if id is (probably) in the filter: never 0 for an id among the last window added. */
int	bloom_has(const struct bloom *b, const uint8_t id[32]);
/* The memory the filter holds, in bytes. */
size_t	bloom_bytes(const struct bloom *b);

#endif
