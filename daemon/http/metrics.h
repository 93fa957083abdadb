/*
 * metrics.h: the node's counters in the Prometheus text format 0.0.4, for
 * GET /metrics.  The rejection reasons are indexed as in node.h's
 * stats.txs_rejected: 0..TX_REASON_COUNT-1 are enum tx_reason, the node's
 * own reasons follow (GOSSIP_REASON_* in gossip.h).  Loop thread only.
 */
#ifndef DAEMON_METRICS_H
#define DAEMON_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct node;

/* Upper bounds of the verification-time histogram buckets, in ns (NODE_HIST_BUCKETS of them). */
extern const uint64_t metrics_verify_bounds_ns[];

/* Appends every metric of n to out. */
void	metrics_render(struct node *n, struct evbuffer *out);

/* Records one transaction verification that took ns nanoseconds. */
void	metrics_observe_verify(struct node *n, uint64_t ns);

/* Stable text of rejection index i (the reason="..." label), or NULL past the last. */
const char *metrics_reason_str(size_t i);

#endif
