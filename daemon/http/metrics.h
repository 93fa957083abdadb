/*
 * metrics.h: the node's counters and gauges in the Prometheus text format
 * 0.0.4, for GET /metrics.  It only reads: the counters of base/stats.h and
 * the gauges of the modules named in struct metrics_src.  Loop thread only.
 */
#ifndef HTTP_METRICS_H
#define HTTP_METRICS_H

struct admit;
struct events;
struct evbuffer;
struct mempool;
struct net;
struct node;
struct server;

/*
 * What the metrics are read from: n is required; a NULL module's gauges
 * read 0 (the validator's capacity: the configured one).
 */
struct metrics_src {
	const struct node *n;
	struct mempool	*mp;
	struct admit	*admit;
	struct net	*net;
	struct server	*srv;
	struct events	*events;
};

/* Appends every metric to out. */
void	metrics_render(const struct metrics_src *m, struct evbuffer *out);

#endif
