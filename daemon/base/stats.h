/*
 * stats.h: the node's counters, a leaf that every layer may bump and that
 * only metrics reads.  Gauges (mempool size, peers, queue depth) are not
 * here: metrics asks their owners.  Loop thread only.
 */
#ifndef BASE_STATS_H
#define BASE_STATS_H

#include <stdint.h>

#include "lib/reason.h"
#include "proto/frame.h"

#define STATS_FRAME_TYPES	(FRAME_TYPE_MAX + 1)	/* index 0: the handshake */
#define STATS_VERIFY_BUCKETS	12

/* Why an inbound connection was refused (noded_inbound_refused_total{reason}). */
enum stats_refused {
	STATS_REFUSED_SHUTDOWN = 0,	/* "shutting_down" */
	STATS_REFUSED_BANNED_IP,	/* "banned_ip": at accept */
	STATS_REFUSED_BANNED_KEY,	/* "banned_key": after the handshake */
	STATS_REFUSED_RATE,		/* "handshake_rate": --handshake-rate */
	STATS_REFUSED_RATE_IP,		/* "handshake_rate_per_ip" */
	STATS_REFUSED_HANDSHAKING_IP,	/* "handshaking_per_ip": --max-handshaking-per-ip */
	STATS_REFUSED_INBOUND_FULL,	/* "inbound_full": --max-peers, none evictable */
	STATS_REFUSED_INBOUND_IP,	/* "inbound_per_ip": --max-inbound-per-ip */
	STATS_REFUSED_COUNT
};

/* How an inbound or outbound handshake ended (noded_handshakes_total{result}). */
enum stats_handshake {
	STATS_HS_OK = 0,	/* "ok": the channel is up */
	STATS_HS_FAILED,	/* "failed": bad message, signature, network */
	STATS_HS_TIMEOUT,	/* "timeout": --handshake-timeout-ms */
	STATS_HS_CLOSED,	/* "closed": by the other side, or a socket error */
	STATS_HS_EVICTED,	/* "evicted": pushed out of a full --max-handshaking pool */
	STATS_HS_COUNT
};

/* How a reconciliation session ended (docs/PROTOCOL.md section 7). */
enum stats_recon {
	STATS_RECON_OK = 0,	/* decoded */
	STATS_RECON_FAILED,	/* not decoded within the symbol cap */
	STATS_RECON_REFUSED,	/* one side would not (busy, set too big) */
	STATS_RECON_TIMEOUT,	/* the other side went quiet */
	STATS_RECON_RESULTS
};

struct stats {
	uint64_t	txs_accepted;
	uint64_t	txs_rejected[REASON_COUNT];	/* by enum reason */
	uint64_t	txs_duplicate;
	uint64_t	txs_replaced;		/* losers of a (sender, nonce) taken out */
	uint64_t	backpressure;		/* times the validator channel was full */
	uint64_t	bytes_sent[STATS_FRAME_TYPES];	/* by frame type */
	uint64_t	bytes_received[STATS_FRAME_TYPES];
	uint64_t	frames_sent[STATS_FRAME_TYPES];	/* by type; 0: unused */
	uint64_t	frames_received[STATS_FRAME_TYPES];
	uint64_t	verify_hist[STATS_VERIFY_BUCKETS];	/* not cumulative */
	uint64_t	verify_count;
	double		verify_sum_s;
	uint64_t	peers_dropped;		/* for misbehaviour */
	uint64_t	inbound_refused[STATS_REFUSED_COUNT];
	uint64_t	handshakes[STATS_HS_COUNT];
	uint64_t	inbound_evicted;	/* established peers pushed out */
	/*
	 * Announced ids the download scheduler could not track at once (the
	 * peer's quota, or its class's pool, was full), kept per peer to be
	 * announced to it again (docs/PROTOCOL.md 5.3): set aside, handed to
	 * it later, dropped as the oldest of a full queue, and gone with their
	 * peer when it closed.
	 */
	uint64_t	announcements_deferred;
	uint64_t	announcements_resumed;
	uint64_t	announcements_dropped;
	uint64_t	announcements_abandoned;
	/*
	 * Long INV and GETDATA frames queued to be worked a slice a loop turn
	 * (docs/PROTOCOL.md 5.3), and the peers not read meanwhile (a gauge).
	 */
	uint64_t	relay_queued_inv, relay_queued_getdata;
	uint64_t	relay_held;
	uint64_t	heap_trims;		/* malloc_trim after releases or at a tick */
	/* The push tree (docs/PROTOCOL.md 5.2): transactions pushed, links pruned and grafted. */
	uint64_t	relay_pushed;
	uint64_t	relay_pruned;		/* by us: a peer pushed a copy we had */
	uint64_t	relay_grafted;		/* by us: a lazy peer delivered first */
	/*
	 * Set reconciliation: sessions by how they ended (each side counts
	 * its own), bytes of RECON_* frames (header included) sent and
	 * received, ids found on one side only, and links that fell back to
	 * announcing the whole mempool because reconciliation failed.
	 */
	uint64_t	recon_sessions[STATS_RECON_RESULTS];
	uint64_t	recon_bytes_sent, recon_bytes_received;
	uint64_t	recon_diff;
	uint64_t	recon_fallbacks;
};

extern struct stats stats;

/* Upper bounds of the verification-time buckets, in ns, and as seconds for le="...". */
extern const uint64_t stats_verify_bounds_ns[STATS_VERIFY_BUCKETS];
extern const char *const stats_verify_le[STATS_VERIFY_BUCKETS];

extern const char *const stats_refused_code[STATS_REFUSED_COUNT];
extern const char *const stats_handshake_code[STATS_HS_COUNT];

/* Counts one verification that took ns nanoseconds. */
void	stats_verify(uint64_t ns);
/* Counts one rejection for reason r (enum reason). */
void	stats_reject(unsigned r);
/* Counts one frame of type t and its bytes, sent or received (0: handshake bytes, no frame). */
void	stats_bytes(int sent, unsigned t, uint64_t bytes);

#endif
