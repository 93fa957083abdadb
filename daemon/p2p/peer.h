/*
 * peer.h: one connection to another node: the secure channel
 * (proto/channel.h) with its handshake timeout, framing, HELLO, PING/PONG
 * and the single teardown path.  A peer moves through CONNECTING (outbound
 * dial), HANDSHAKE, ACTIVE (channel established and HELLO received) and
 * CLOSED (peer_close alone, whose reason is logged by the owner).
 *
 * The owner (net.c) creates peers, hears of their life through the hooks it
 * installs, and frees them with peer_free once nothing refers to them.  The
 * modules above keep their per-peer state behind the opaque pointers below,
 * each allocating and freeing its own.  Loop thread only.
 */
#ifndef P2P_PEER_H
#define P2P_PEER_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "base/hub.h"
#include "base/node.h"
#include "p2p/ban.h"
#include "proto/frame.h"
#include "proto/tx.h"

struct bufferevent;
struct evbuffer_cb_entry;
struct channel;
struct event;
struct evdns_base;
struct link;
struct link_shape;
struct net_peer;
struct relay_peer;

enum peer_state {
	PEER_CONNECTING = 0,
	PEER_HANDSHAKE,
	PEER_ACTIVE,
	PEER_CLOSED
};

struct peer;

/* What the owner hears; each may close the peer (then returns -1 where it returns). */
struct peer_hooks {
	/* The channel is up and the remote key known: self and duplicate checks. */
	int	(*authenticated)(struct peer *p);
	/* HELLO received: the peer is ACTIVE. */
	void	(*active)(struct peer *p);
	/* A frame other than HELLO, PING and PONG. */
	int	(*frame)(struct peer *p, const struct frame *f);
	/* Once per tick while ACTIVE, after the ping. */
	void	(*tick)(struct peer *p);
	/* From peer_close, first: the reason, and the peer still whole. */
	void	(*closed)(struct peer *p, const char *reason);
};

struct peer {
	TAILQ_ENTRY(peer) entry;	/* the owner's lists */
	const struct peer_hooks *hooks;
	struct node	*node;
	uint64_t	serial;		/* unique per connection, never 0 */
	enum peer_state	state;
	int		outbound;
	int		paused;		/* reads stopped (validator backpressure) */
	int		out_paused;	/* reads stopped: its output is over its share */
	int		held;		/* reads stopped: its requests are being answered */
	size_t		acct;		/* its bytes counted in the peer_send budget */
	uint64_t	drained;	/* bytes its output gave the socket, in all */
	uint64_t	stall_ms;	/* over its share: when the current window began */
	uint64_t	stall_mark;	/* ... and drained then */
	struct evbuffer_cb_entry *out_cb;	/* counts its output buffer */
	struct event	*turn;		/* reading resumes after the others' turn */
	struct bufferevent *bev;
	struct channel	*ch;
	struct frame_decoder dec;
	struct event	*timer;		/* handshake timeout, then ping tick */
	const struct link_shape *shape;	/* the owner's, or NULL: what sends add */
	struct link	*link;		/* bytes held back by the shape, or NULL */
	struct event	*link_timer;	/* releases them */
	uint16_t	our_port;	/* the listen port our HELLO announces */
	char		addr[80];	/* remote "ip:port" as connected */
	char		name[FRAME_NAME_MAX + 1];	/* from HELLO, else "" */
	uint8_t		remote_pk[TX_PK_LEN];
	char		remote_hex[2 * TX_PK_LEN + 1];
	int		got_hello;
	uint16_t	version;	/* spoken on the link: the lower HELLO version */
	uint16_t	listen_port;	/* from HELLO */
	struct sockaddr_storage sa;	/* remote address */
	uint64_t	connected_ms;	/* TCP up */
	uint64_t	active_ms;	/* became ACTIVE */
	uint64_t	last_recv_ms;
	uint64_t	ping_nonce;
	uint64_t	ping_sent_ms;	/* outstanding PING, 0: none */
	uint64_t	last_ping_ms;	/* last PING sent */
	int64_t		rtt_ms;
	uint64_t	productive_ms;	/* last valid tx it delivered (relay sets it); 0: none */
	enum ban_reason	misbehaviour;	/* why peer_misbehaved closed it; BAN_NONE */
	uint64_t	bytes_sent, bytes_received;
	uint64_t	msgs_sent, msgs_received;
	/* The upper modules' per-peer state: each allocates and frees its own. */
	struct net_peer	*net;
	struct relay_peer *relay;
};

/*
 * A new peer, not started: the owner links it and sets its own state first.
 * our_port goes in our HELLO.
 */
struct peer *peer_new(struct node *n, const struct peer_hooks *hooks,
	    uint64_t serial, int outbound, uint16_t our_port);
/*
 * Starts p on a connected socket (inbound: fd, sa its address) or dials
 * host:port through dns (outbound).  p may be closed when this returns.
 */
void	peer_start(struct peer *p, int fd, const struct sockaddr *sa, int salen,
	    const char *host, uint16_t port, struct evdns_base *dns);

/* The one teardown: hooks->closed(reason), then the connection goes.  p stays allocated. */
void	peer_close(struct peer *p, const char *reason);
/*
 * The teardown for a peer that proved misbehaviour: remembers why (the
 * owner bans it in its closed hook), then peer_close(p, reason).
 */
void	peer_misbehaved(struct peer *p, enum ban_reason why, const char *reason);
/* Frees a closed peer (the owner, once nothing refers to it); p must be CLOSED. */
void	peer_free(struct peer *p);

/* Sends one frame (sealed).  Returns 0, or -1 (the peer was closed). */
int	peer_send(struct peer *p, uint8_t type, const uint8_t *payload, size_t len);
/* Bytes queued for p and not yet written to its socket. */
size_t	peer_send_pending(const struct peer *p);

/* Stops or resumes reading from the peer's socket (backpressure). */
void	peer_pause(struct peer *p);
/*
 * Stops (on) or resumes reading p while what it asked for is answered a
 * slice at a time (relay.c), as Bitcoin Core reads no more of a peer's
 * messages while its GETDATA is still being served.
 */
void	peer_hold(struct peer *p, int on);
void	peer_resume(struct peer *p);

/* Fills the summary upper layers see. */
void	peer_info(const struct peer *p, struct peer_info *pi);

/* Short label for logs: the name from HELLO, else the address. */
const char *peer_label(const struct peer *p);

#endif
