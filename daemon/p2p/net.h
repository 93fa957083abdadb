/*
 * net.h: the node's connections: the P2P listener, dial targets (--peer
 * addresses, reconnected with exponential backoff and jitter), the address
 * book fed by peer exchange, the list of peers, duplicate-connection
 * collapse.  Loop thread only.
 */
#ifndef DAEMON_NET_H
#define DAEMON_NET_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "base/node.h"
#include "p2p/peer.h"

TAILQ_HEAD(peer_list, peer);

/* Binds the listener and starts dialling cfg->peers.  NULL (logged) on failure. */
struct net *net_new(struct node *n);
/* Closes the listener and every peer (reason given), stops dialling. */
void	net_shutdown(struct net *net, const char *reason);
void	net_free(struct net *net);

/* All peers, in every state; walk with TAILQ_FOREACH, skipping PEER_CLOSED. */
struct peer_list *net_peers(struct node *n);
struct peer *net_peer_by_serial(struct node *n, uint64_t serial);
/* The DNS base for outbound dials. */
struct evdns_base *net_dns(struct node *n);
/* A fresh peer serial. */
uint64_t net_next_serial(struct node *n);

/* Peer life-cycle hooks, called by peer.c. */
void	net_peer_linked(struct peer *p);
/* After authentication: self and duplicate checks.  Returns -1 if p was closed. */
int	net_peer_authenticated(struct peer *p);
void	net_peer_active(struct peer *p);
void	net_peer_closed(struct peer *p, const char *reason);
/* Once a second per active peer: peer exchange requests. */
void	net_peer_tick(struct peer *p);

/* GETPEERS and PEERS from p.  Return -1 if p was closed. */
int	net_on_getpeers(struct peer *p);
int	net_on_peers(struct peer *p, const uint8_t *payload, size_t len);

#endif
