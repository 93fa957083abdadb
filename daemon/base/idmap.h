/*
 * idmap.h: a hash map from 32-byte ids to pointers.  The hash is keyed with
 * a random per-map key, since peers choose the ids they announce.  Loop
 * thread only.
 */
#ifndef DAEMON_IDMAP_H
#define DAEMON_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap;

struct idmap *idmap_new(void);
/* Frees the map; the values are the caller's. */
void	idmap_free(struct idmap *m);
/* Sets id → v, replacing any earlier value (returned, else NULL). */
void	*idmap_put(struct idmap *m, const uint8_t id[32], void *v);
void	*idmap_get(const struct idmap *m, const uint8_t id[32]);
/* Removes id; returns its value or NULL. */
void	*idmap_del(struct idmap *m, const uint8_t id[32]);
size_t	idmap_count(const struct idmap *m);
/* Calls fn for each entry; fn may delete the entry it is given (only that one). */
void	idmap_foreach(struct idmap *m, void (*fn)(const uint8_t id[32], void *v,
	    void *arg), void *arg);

#endif
