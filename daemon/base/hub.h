/*
 * hub.h: the node's events, posted by the lower layers (admission: a
 * transaction accepted or rejected; p2p: a peer up or down) and delivered at
 * once to the subscribers the upper layers installed (the HTTP event
 * stream).  A lower layer tells an upper one through here, never by
 * calling it.  Loop thread only.
 */
#ifndef BASE_HUB_H
#define BASE_HUB_H

#include <stdint.h>

#include "proto/tx.h"

enum hub_topic {
	HUB_TX_ACCEPTED = 0,
	HUB_TX_REJECTED,
	HUB_TX_REPLACED,
	HUB_PEER_UP,
	HUB_PEER_DOWN,
	HUB_NTOPICS
};

/* What the upper layers know of a peer. */
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

struct hub_event {
	enum hub_topic	topic;
	/* HUB_TX_*: the id (NULL if the bytes did not decode), its source ("api" or a peer's label) */
	const uint8_t	*id;
	const char	*from;
	uint64_t	amount;			/* HUB_TX_ACCEPTED */
	unsigned	reason;			/* HUB_TX_REJECTED: enum reason */
	const uint8_t	*replaced;		/* HUB_TX_REPLACED: the loser (id the winner) */
	/* HUB_PEER_*: the peer, and why it went (HUB_PEER_DOWN) */
	const struct peer_info *peer;
	const char	*why;
};

typedef void (*hub_cb)(const struct hub_event *ev, void *arg);

#define HUB_SUBSCRIBERS_MAX	8	/* per topic */

/*
 * Calls cb(ev, arg) for every later event of topic.  Returns 0, or -1 when
 * the topic has HUB_SUBSCRIBERS_MAX subscribers already.
 */
int	hub_subscribe(enum hub_topic topic, hub_cb cb, void *arg);
/* Forgets every subscription with this arg. */
void	hub_unsubscribe(void *arg);
/* True if someone listens to topic (to skip building an event nobody reads). */
int	hub_wanted(enum hub_topic topic);
/* Delivers ev to the subscribers of ev->topic, in the order they subscribed. */
void	hub_post(const struct hub_event *ev);

#endif
