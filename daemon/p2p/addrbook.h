/*
 * addrbook.h: the addresses of nodes this node may dial: those seen on
 * connections (direct) and those heard of through peer exchange (hearsay),
 * bounded, oldest hearsay evicted first; and the addresses found to reach
 * this node itself, never to be dialled.  Pure: no sockets, no clock.
 * Loop thread only.
 */
#ifndef P2P_ADDRBOOK_H
#define P2P_ADDRBOOK_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

#define ADDRBOOK_HOST_MAX	256	/* a host name or an IP literal, NUL included */
#define ADDRBOOK_SELF_MAX	16	/* addresses found to reach this node */

struct addrbook_entry {
	TAILQ_ENTRY(addrbook_entry) entry;
	uint8_t		node_id[TX_PK_LEN];
	char		host[ADDRBOOK_HOST_MAX];
	uint16_t	port;
	unsigned	failures;	/* dials that failed since the last success */
	uint64_t	next_try_ms;	/* no dial before */
	int		direct;		/* seen on a connection, not only heard of */
};

struct addrbook;

/* A book of at most max entries; self_pk is this node's key (never booked). */
struct addrbook *addrbook_new(const uint8_t self_pk[TX_PK_LEN], size_t max);
void	addrbook_free(struct addrbook *b);

/*
 * Adds or updates the address of node id.  Hearsay never overrides an
 * address seen on a connection, so a peer cannot redirect us away from a
 * node we know; nor does it evict one when the book is full.  A changed
 * address starts with no failures.
 */
void	addrbook_add(struct addrbook *b, const uint8_t id[TX_PK_LEN],
	    const char *host, uint16_t port, int direct);
/* The entry of node id, or NULL. */
struct addrbook_entry *addrbook_find(struct addrbook *b, const uint8_t id[TX_PK_LEN]);
/* Removes and frees e. */
void	addrbook_del(struct addrbook *b, struct addrbook_entry *e);
/* Entries oldest first: addrbook_first, then addrbook_next until NULL. */
struct addrbook_entry *addrbook_first(struct addrbook *b);
struct addrbook_entry *addrbook_next(struct addrbook_entry *e);
size_t	addrbook_count(const struct addrbook *b);

/* True if host:port is known to reach this node itself. */
int	addrbook_is_self(const struct addrbook *b, const char *host, uint16_t port);
/*
 * Remembers that host:port reaches this node (the oldest of
 * ADDRBOOK_SELF_MAX is forgotten) and drops the entries there.  Returns 1
 * if it was not known, 0 if it was.
 */
int	addrbook_self_add(struct addrbook *b, const char *host, uint16_t port);

#endif
