/*
 * inbound.h: the decisions of inbound admission that need no socket
 * (docs/SECURITY.md, "Inbound admission"): token buckets for new
 * handshakes, globally and per IP address, and which established inbound
 * peer a newcomer may push out.  Pure functions of their inputs with the
 * time passed in (ms, any monotonic or wall clock).  Loop thread only.
 */
#ifndef P2P_INBOUND_H
#define P2P_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "p2p/ban.h"

#define INBOUND_IP_BUCKETS	1024	/* addresses with a bucket of their own */
#define INBOUND_IDLE_MS		60000	/* no relay frame for this long: idle */

/* What inbound_take answers. */
enum inbound_verdict {
	INBOUND_OK = 0,
	INBOUND_RATE,		/* over --handshake-rate */
	INBOUND_RATE_IP		/* over --handshake-rate-per-ip */
};

struct inbound;

/* Buckets of rate (global) and rate_ip (per address) a second; 0: no limit. */
struct inbound *inbound_new(unsigned rate, unsigned rate_ip);
void	inbound_free(struct inbound *in);

/*
 * A new inbound handshake from ip at now_ms: takes a token from the
 * address's bucket and from the global one, or neither.  The second half
 * of the global bucket is only for addresses whose own bucket is full
 * (they seldom connect), so a flood from many addresses leaves room for a
 * restarting peer.  127.0.0.1 and ::1 (ban_ip_exempt) have no bucket of
 * their own: only the global one applies to them.
 */
enum inbound_verdict inbound_take(struct inbound *in, const uint8_t ip[BAN_IP_LEN],
	    uint64_t now_ms);

/* An established inbound peer, as the eviction sees it. */
struct inbound_cand {
	uint64_t	since_ms;	/* authenticated */
	uint64_t	last_frame_ms;	/* last relay frame from it; 0: none */
	uint64_t	productive_ms;	/* last valid transaction it delivered; 0: never */
	uint8_t		ip[BAN_IP_LEN];
};

/*
 * Which of the n established inbound peers a newcomer that completed its
 * handshake may push out when inbound is full: never one that delivered a
 * valid transaction (productive), nor one of the oldest quarter of the
 * others (long-lived); of the rest an idle one (no relay frame for
 * INBOUND_IDLE_MS), else one from the address with the most of them; the
 * newest in either case (c in arrival order: of two that came in the same
 * millisecond, the later in c).  The index, or -1: none may go (the
 * newcomer is refused).
 */
int	inbound_evict_pick(const struct inbound_cand *c, size_t n, uint64_t now_ms);

#endif
