/*
 * idset.h: a bounded set of 32-byte ids with FIFO eviction (the oldest
 * inserted id leaves when the set is full).  Used for "recently rejected",
 * "recently seen" and each peer's known inventory.  Loop thread only.
 */
#ifndef DAEMON_IDSET_H
#define DAEMON_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct idset;

/*
 * New set holding at most max ids; memory grows with use, not with max
 * (about 64 bytes per id held, at most 1.5 * max ring slots when deletions
 * left holes).
 */
struct idset *idset_new(size_t max);
/* Frees the set. */
void	idset_free(struct idset *s);
/* Inserts id (evicting the oldest when full); returns 1 if added, 0 if already present. */
int	idset_add(struct idset *s, const uint8_t id[32]);
/* 1 if id is in the set, else 0. */
int	idset_has(const struct idset *s, const uint8_t id[32]);
/* Removes id; returns 1 if it was present, else 0. */
int	idset_del(struct idset *s, const uint8_t id[32]);
/* Number of ids held. */
size_t	idset_count(const struct idset *s);

#endif
