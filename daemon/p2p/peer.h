/*
 * peer.h: one connection to another node.  A peer moves through
 * CONNECTING (outbound dial), HANDSHAKE (proto/channel.h, with a timeout),
 * ACTIVE (channel established and HELLO received) and is torn down by
 * peer_close() alone, whose reason is logged.  Loop thread only.
 */
#ifndef DAEMON_PEER_H
#define DAEMON_PEER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/tx.h"
#include "base/node.h"

struct bufferevent;
struct channel;
struct event;
struct idset;
struct net_target;
struct validator_job;

enum peer_state {
	PEER_CONNECTING = 0,
	PEER_HANDSHAKE,
	PEER_ACTIVE,
	PEER_CLOSED
};

/* A job the validator could not take yet: the peer stops reading until it goes. */
struct peer_backlog {
	TAILQ_ENTRY(peer_backlog) entry;
	struct validator_job *job;
};
TAILQ_HEAD(peer_backlog_list, peer_backlog);

struct peer {
	TAILQ_ENTRY(peer) entry;	/* net's list of all peers */
	TAILQ_ENTRY(peer) blocked_entry; /* gossip's list of peers waiting for the validator */
	struct node	*node;
	uint64_t	serial;		/* unique per connection; job origin tag */
	enum peer_state	state;
	int		outbound;
	int		blocked;	/* on gossip's blocked list */
	struct net_target *target;	/* the dial target, outbound only */
	struct bufferevent *bev;
	struct channel	*ch;
	struct frame_decoder dec;
	struct event	*timer;		/* handshake timeout, then ping tick */
	char		addr[80];	/* remote "ip:port" as connected */
	char		name[FRAME_NAME_MAX + 1];	/* from HELLO, else addr */
	uint8_t		remote_pk[TX_PK_LEN];
	char		remote_hex[2 * TX_PK_LEN + 1];
	int		got_hello;
	uint16_t	listen_port;	/* from HELLO */
	struct sockaddr_storage *sa;	/* remote address */
	uint64_t	connected_ms;	/* TCP up */
	uint64_t	active_ms;	/* became ACTIVE */
	uint64_t	last_recv_ms;
	uint64_t	ping_nonce;
	uint64_t	ping_sent_ms;	/* outstanding PING, 0: none */
	uint64_t	last_ping_ms;	/* last PING sent */
	int64_t		rtt_ms;
	uint64_t	bytes_sent, bytes_received;
	uint64_t	msgs_sent, msgs_received;
	/* gossip state */
	struct idset	*known;		/* ids this peer has or was sent */
	uint8_t		(*inv)[TX_ID_LEN];	/* ids waiting to be announced */
	size_t		ninv;
	uint8_t		(*want)[TX_ID_LEN];	/* ids waiting to be requested */
	size_t		nwant;
	size_t		inflight;	/* our GETDATA ids outstanding at this peer */
	size_t		announced;	/* wanted ids this peer announced first */
	struct peer_backlog_list backlog;
	size_t		nbacklog;
	uint64_t	next_getpeers_ms;
	int		getpeers_out;	/* our GETPEERS awaits its PEERS */
	int		sync;		/* our mempool is still being announced */
	int		sync_started;	/* sync_after holds the last id announced */
	uint8_t		sync_after[TX_ID_LEN];
	size_t		sync_left;	/* most entries still to walk (bounds restarts) */
	struct validator_gate *gate;	/* closed with the peer: its queued jobs are skipped */
	uint64_t	last_getpeers_in_ms;	/* their last GETPEERS */
};

/*
 * Creates a peer on a connected socket (inbound, fd >= 0) or starts dialling
 * host:port (outbound, fd < 0).  Returns NULL (and logs) on failure.
 */
struct peer *peer_new(struct node *n, int fd, const struct sockaddr *sa,
	    int salen, const char *host, uint16_t port, struct net_target *t);

/* The one teardown: logs reason, unlinks from net and gossip, frees. */
void	peer_close(struct peer *p, const char *reason);

/* Sends one frame (sealed).  Returns 0, or -1 (the peer was closed). */
int	peer_send(struct peer *p, uint8_t type, const uint8_t *payload, size_t len);
/* Bytes queued for p and not yet written to its socket. */
size_t	peer_send_pending(const struct peer *p);

/* Stops or resumes reading from the peer's socket (backpressure). */
void	peer_pause(struct peer *p);
void	peer_resume(struct peer *p);

/* Fills the API summary of p. */
void	peer_info(const struct peer *p, struct peer_info *pi);

/* Formats sa as "ip:port" or "[ip6]:port". */
void	peer_format_addr(char *out, size_t len, const struct sockaddr *sa);

/* Short label for logs: the name from HELLO, else the address. */
const char *peer_label(const struct peer *p);

#endif
