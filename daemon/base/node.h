/*
 * node.h: the node's top-level state, shared by the loop-thread modules
 * (net, peer, gossip, api, metrics).  Everything here belongs to the event-
 * loop thread; validator threads never see it.
 */
#ifndef DAEMON_NODE_H
#define DAEMON_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"
#include "base/config.h"

struct event_base;
struct evhttp_request;

/* Counters for /metrics; loop thread only. */
#define NODE_HIST_BUCKETS	12
struct node_stats {
	uint64_t	txs_accepted;
	uint64_t	txs_rejected[TX_REASON_COUNT + 4];	/* by reason, see gossip_reason_str */
	uint64_t	txs_duplicate;
	uint64_t	backpressure;		/* times the validator channel was full */
	uint64_t	bytes_sent[16];		/* by frame type (index 0: handshake) */
	uint64_t	bytes_received[16];
	uint64_t	verify_hist[NODE_HIST_BUCKETS];	/* see metrics.c for bounds */
	uint64_t	verify_count;
	double		verify_sum_s;
	uint64_t	peers_dropped;		/* misbehaving */
};

struct node {
	struct config	*cfg;
	struct event_base *base;
	uint8_t		node_pk[TX_PK_LEN];
	uint8_t		*node_sk;		/* sodium_malloc'd, 64 bytes */
	char		node_id_hex[2 * TX_PK_LEN + 1];
	uint8_t		netid[TX_NETID_LEN];
	struct tx_policy policy;
	uint64_t	start_ms;
	int		stopping;
	struct mempool	*mempool;
	struct validator *validator;
	struct gossip	*gossip;
	struct net	*net;
	struct api	*api;
	struct node_stats stats;
};

/* Verdict of a transaction submitted through the API (gossip_submit). */
enum gossip_status {
	GOSSIP_ACCEPTED = 0,
	GOSSIP_DUPLICATE,	/* already in the mempool: accepted earlier */
	GOSSIP_REJECTED
};

struct gossip_verdict {
	enum gossip_status status;
	int		have_id;		/* the bytes decoded: id is meaningful */
	uint8_t		id[TX_ID_LEN];
	const char	*reason;		/* stable text, NULL when accepted */
	char		msg[128];		/* human detail */
};

typedef void (*gossip_verdict_cb)(const struct gossip_verdict *v, void *arg);

/*
 * Submits an encoded transaction from the API (raw is copied).  cb is
 * called on the loop thread exactly once, possibly before this returns
 * (duplicates, recently rejected), unless gossip_cancel(id, arg) is called
 * first.  id_out, if not NULL, gets the transaction's id (valid whenever cb
 * was not called at once).  Returns 0, or -1 if the node is stopping (cb
 * not called).
 */
int	gossip_submit(struct node *n, const uint8_t *raw, size_t len,
	    gossip_verdict_cb cb, void *arg, uint8_t *id_out);
/* Forgets the pending callback arg on transaction id (the API request went away). */
void	gossip_cancel(struct node *n, const uint8_t *id, void *arg);

/* Peer summary for the API. */
struct peer_info {
	char		node_id[2 * TX_PK_LEN + 1];
	char		name[65];
	char		addr[80];
	int		outbound;
	uint64_t	connected_since_ms;
	uint64_t	bytes_sent, bytes_received;
	uint64_t	msgs_sent, msgs_received;
	int64_t		last_ping_ms;		/* -1: none yet */
};

/* Calls fn for every active peer.  Loop thread. */
void	net_peers_foreach(struct node *n, void (*fn)(const struct peer_info *, void *), void *arg);
/* Counts of active peers. */
void	net_peer_counts(struct node *n, unsigned *inbound, unsigned *outbound);
/* The P2P port bound (the real one for --listen HOST:0). */
uint16_t net_listen_port(struct node *n);
/* Dials host:port (API POST /v1/peers).  Returns 0 or -1 with err filled. */
int	net_connect(struct node *n, const char *hostport, char *err, size_t errlen);
/* Disconnects the peer with this node id (hex).  Returns 0, or -1 if none. */
int	net_disconnect(struct node *n, const char *node_id_hex, const char *reason);

/* Events for the SSE stream (api.c); no-ops when no client listens. */
void	api_event_tx(struct node *n, int accepted, const uint8_t id[TX_ID_LEN],
	    const char *from, uint64_t amount, const char *reason);
void	api_event_peer(struct node *n, int connected, const struct peer_info *p,
	    const char *reason);

#endif
