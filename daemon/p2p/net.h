/*
 * net.h: the node's connections: the P2P listener, dial targets (--peer
 * addresses, reconnected with exponential backoff and jitter), the address
 * book fed by peer exchange, the list of peers, duplicate-connection
 * collapse.  The relay above hears of active peers and their frames through
 * the handler it installs; the HTTP layer of peers up and down through the
 * event hub.  Loop thread only.
 */
#ifndef P2P_NET_H
#define P2P_NET_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "base/hub.h"
#include "base/node.h"
#include "p2p/ban.h"
#include "p2p/link.h"
#include "p2p/peer.h"

TAILQ_HEAD(peer_list, peer);

/*
 * The module above: told of each peer that becomes active, its frames, its
 * end.  Its per-peer state (p->relay) may be read until release, so a
 * function of it that sent (and so may have closed p) can still look.
 */
struct net_handler {
	void	(*up)(struct peer *p, void *arg);
	/* Called from peer_close for a peer that was up, before its connection goes. */
	void	(*down)(struct peer *p, void *arg);
	/* INV, GETDATA, TX, NOTFOUND.  Returns -1 if p was closed. */
	int	(*frame)(struct peer *p, const struct frame *f, void *arg);
	/* The closed peer's memory goes (after down, from the loop, not inside a call). */
	void	(*release)(struct peer *p, void *arg);
	void	*arg;
};

struct net;

/* The connections of n; nothing is bound or dialled before net_start. */
struct net *net_new(struct node *n);
/* Installs the handler (copied); before net_start. */
void	net_set_handler(struct net *net, const struct net_handler *h);
/* Binds the listener and starts dialling cfg->peers.  0, or -1 (logged). */
int	net_start(struct net *net);
struct store;
/*
 * Keeps the last good peers and the bans in s (core/store.h): each peer that
 * connects is written with its time, and net_start dials the most recent
 * first; the bans in force are read back here.  Before net_start.
 */
void	net_set_store(struct net *net, struct store *s);
/* Closes the listener and every peer (reason given), stops dialling. */
void	net_shutdown(struct net *net, const char *reason);
void	net_free(struct net *net);

/* Active peers and those still connecting: walk with TAILQ_FOREACH, skipping all but PEER_ACTIVE. */
struct peer_list *net_peers(struct net *net);
/* The open peer with this serial, or NULL. */
struct peer *net_peer_by_serial(struct net *net, uint64_t serial);
/* Counts of active peers. */
void	net_peer_counts(struct net *net, unsigned *inbound, unsigned *outbound);
/* Calls fn for every active peer. */
void	net_peers_foreach(struct net *net,
	    void (*fn)(const struct peer_info *, void *), void *arg);
/* The P2P port bound (the real one for --listen HOST:0; cfg's before net_start). */
uint16_t net_listen_port(const struct net *net);

/* Dials host:port for good (API POST /v1/peers).  0, or -1 with err filled. */
int	net_connect(struct net *net, const char *hostport, char *err, size_t errlen);
/* Disconnects the peer with this node id (hex).  0, or -1 if none. */
int	net_disconnect(struct net *net, const char *node_id_hex, const char *reason);

/*
 * Partitions on purpose (tests, experiments): cuts this node off from the
 * nodes with these ids, replacing any earlier list: their links close, and
 * none is dialled or accepted until net_heal.  Returns the links closed.
 */
size_t	net_partition(struct net *net, const uint8_t (*ids)[TX_PK_LEN], size_t n);
/* Ends the partition; the targets it held back are dialled at once. */
void	net_heal(struct net *net);
/* The ids cut off now (points into net, valid until the next change). */
size_t	net_cut_list(const struct net *net, const uint8_t (**ids)[TX_PK_LEN]);

/* The ban table (ban.h): read it with ban_foreach, ban_count, ban_total. */
struct ban *net_bans(struct net *net);
/*
 * Lifts the bans of a node key (64 hex digits) or an IP address (the
 * store's table rewritten in the batch).  Returns how many were lifted, or -1 if text is neither.
 */
int	net_unban(struct net *net, const char *text);

/* What every link's sends add (--link-delay, --link-jitter, --link-rate). */
void	net_link_get(const struct net *net, struct link_shape *s);
/* Changes it for every link, at once.  0, or -1 with err naming the bad value. */
int	net_link_set(struct net *net, const struct link_shape *s, char *err,
	    size_t errlen);

#endif
