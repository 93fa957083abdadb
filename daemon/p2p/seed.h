/*
 * seed.h: DNS seeds.  A --peer given as a host name (a Docker Swarm
 * "tasks.<service>" name, a Kubernetes headless service, a round-robin
 * record) is resolved, without blocking the loop (the system's getaddrinfo
 * on a thread of its own, so /etc/hosts, nsswitch and DNS over TCP for
 * answers too large for UDP all work), to ALL its
 * addresses, and again every SEED_REFRESH_MS and, after a failure, from
 * SEED_RETRY_MIN_MS doubling to SEED_RETRY_MAX_MS, for as long as the node
 * runs.  Each resolution hands the whole, sorted address list to the
 * owner's callback (net.c makes each address a dial target of its own); a
 * failed one keeps the last list.  One log line per change of the list or
 * of the error.  Loop thread only.
 */
#ifndef P2P_SEED_H
#define P2P_SEED_H

#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define SEED_REFRESH_MS		60000	/* resolved again this often */
#define SEED_RETRY_MIN_MS	1000	/* after a failure: first retry */
#define SEED_RETRY_MAX_MS	60000	/* ... doubling up to this */
#define SEED_SOON_MIN_MS	5000	/* seed_refresh: not more often than this */
#define SEED_ADDRS_MAX		256	/* addresses kept of one name */

struct event_base;
struct seed;

/* Told each successful resolution: the addresses (sorted, no duplicates, port set). */
typedef void	(*seed_cb)(struct seed *s, const struct addr *addrs, size_t n,
		    void *arg);

/*
 * A seed for host:port, resolved through getaddrinfo on a thread; with
 * hosts_file (not NULL, for tests) through that file alone, read again for
 * every resolution.  Nothing is resolved before seed_start.  The caller
 * owns it: seed_free.
 */
struct seed *seed_new(struct event_base *base, const char *host, uint16_t port,
	    const char *hosts_file, seed_cb cb, void *arg);
/* Resolves now (the callback may run before this returns). */
void	seed_start(struct seed *s);
/*
 * Resolves again soon (none of its addresses is left to dial): at most
 * every SEED_SOON_MIN_MS, twice that after each answer that changed
 * nothing, up to SEED_REFRESH_MS.
 */
void	seed_refresh(struct seed *s);
/* Cancels a resolution under way; the callback is not called again. */
void	seed_free(struct seed *s);
/* "host:port" as given. */
const char *seed_name(const struct seed *s);
/* Addresses of the last successful resolution. */
size_t	seed_count(const struct seed *s);

/* The wait before retry number failures (1, 2, ...): 1 s doubling to 60 s.  Pure. */
uint64_t seed_retry_ms(unsigned failures);
/*
 * Pure: sorts a[0..n) and drops duplicates; returns the new count.  Then
 * seed_diff counts the addresses of b not in a (added) and of a not in b.
 */
size_t	seed_addrs_sort(struct addr *a, size_t n);
void	seed_diff(const struct addr *a, size_t na, const struct addr *b,
	    size_t nb, size_t *added, size_t *removed);

#endif
