/*
 * hostile.h: the attacker of the hostile benchmark (issue 9).  One process,
 * one libevent loop, one mode per attack; tests/bench/bench_hostile.py runs
 * it against a node and docs/SECURITY.md says what each mode does.
 *
 * The pieces: hostile.c (options, the run, the report), link.c (one
 * connection to a node: raw bytes, or the secure channel of proto/channel.h
 * with frames and HELLO), peers.c (attacks by authenticated peers), raw.c
 * (attacks below the channel and on the HTTP API).  Loop thread only.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proto/channel.h"
#include "proto/frame.h"
#include "proto/tx.h"

/* Counters every mode may bump; printed (when not 0) in the final JSON. */
enum hcount {
	HC_CONNECTS = 0,	/* connect(2) started */
	HC_CONNECT_FAILED,	/* connect(2) failed (refused, no port) */
	HC_ACCEPTED,		/* the node sent a first byte: it took the socket */
	HC_REFUSED,		/* closed by the node before sending anything */
	HC_HANDSHAKES,		/* secure channel established */
	HC_ACTIVE,		/* HELLO exchanged: an active peer of the node */
	HC_CLOSED_BY_NODE,	/* closed by the node after it took the socket */
	HC_CLOSED_BY_US,	/* closed by us (end of a try, of a request) */
	HC_BYTES_SENT,
	HC_BYTES_RECV,
	HC_INV_FRAMES_SENT,
	HC_INV_IDS_SENT,
	HC_GETDATA_FRAMES_SENT,
	HC_GETDATA_IDS_SENT,
	HC_GETDATA_IDS_RECV,	/* ids the node asked us for */
	HC_NOTFOUND_IDS_SENT,
	HC_INV_IDS_RECV,	/* ids the node announced to us */
	HC_TX_RECV,
	HC_TX_SENT,
	HC_PINGS_ANSWERED,
	HC_THROTTLED,		/* a send skipped: our output to the node was full */
	HC_HS_ANSWERED,		/* replay: the node answered M1 with its M1 and M2 */
	HC_SLOW_BYTES,		/* slowloris: bytes dribbled */
	HC_HTTP_REQUESTS,	/* api: request heads and bodies sent in full */
	HC_HTTP_401,
	HC_HTTP_413,
	HC_HTTP_OTHER,
	HC_HTTP_NO_ANSWER,	/* closed by the node without a status line */
	HC_BODY_BYTES_SENT,
	HC_PROBE_OK,
	HC_PROBE_FAIL,
	HC_COUNT
};

extern const char *const hcount_names[HC_COUNT];

struct link;
struct hostile;

/* A mode: its setup, its 5 ms tick and its final words (extra JSON fields). */
struct mode {
	const char	*name;
	const char	*help;
	int		 secure;	/* its links run the secure channel */
	int		 port_api;	/* it targets the API port, not P2P */
	void		(*start)(struct hostile *);
	void		(*tick)(struct hostile *, uint64_t now_ns);
	void		(*report)(struct hostile *, FILE *);
};

/* What a link tells its mode. */
struct link_ops {
	void	(*up)(struct link *);		/* raw: connected; secure: HELLO exchanged */
	void	(*frame)(struct link *, const struct frame *);	/* secure only */
	void	(*data)(struct link *, struct evbuffer *);	/* raw only: bytes in */
	/* The link is gone (its memory too): the mode gets its arg back. */
	void	(*closed)(struct hostile *, void *arg, int by_node, const char *why);
};

struct opts {
	const char	*mode;
	char		 host[64];	/* target, a 127.0.0.0/8 address */
	uint16_t	 port;
	char		 src[64];	/* source address to bind, or "" */
	char		 network[TX_NETWORK_NAME_MAX + 1];
	double		 seconds;
	unsigned	 conns;		/* connections or peers kept */
	double		 rate;		/* per-mode rate (ids, connections, txs per s) */
	unsigned	 retry_ms;	/* wait before reconnecting a closed link */
	unsigned	 ids_per_inv;
	size_t		 hold_bytes;	/* getdata: answer bytes asked per peer */
	int		 rcvbuf;	/* SO_RCVBUF before connect, 0: default */
	size_t		 body_bytes;	/* api: request body */
	unsigned	 byte_ms;	/* slowloris: one byte every byte_ms */
	unsigned	 keys;		/* spam: sender keys */
	unsigned	 memo;		/* spam: memo bytes */
	unsigned	 tries;		/* probe */
	unsigned	 timeout_ms;	/* probe: a try's deadline */
	unsigned	 interval_ms;	/* probe: between the starts of tries */
	int		 notfound;	/* junk: answer GETDATA with NOTFOUND */
	int		 fixed_key;	/* one node key for every reconnect */
	int		 verbose;
};

struct hostile {
	struct event_base *base;
	const struct mode *mode;
	struct opts	 o;
	struct sockaddr_storage target;
	socklen_t	 target_len;
	struct sockaddr_storage source;
	socklen_t	 source_len;	/* 0: let the kernel choose */
	uint8_t		 netid[TX_NETID_LEN];
	uint8_t		 fixed_sk[TX_SK_LEN];
	uint64_t	 c[HC_COUNT];
	unsigned	 links;		/* open links (connecting included) */
	unsigned	 active, active_max;	/* links the node took (raw) or HELLO'd (secure) */
	double		 active_sum_s;	/* integral of active over time, for the mean */
	uint64_t	 start_ns, end_ns, last_tick_ns;
	int		 stopping;
	struct link	*dead;		/* closed links, freed at the next tick */
	void		*m;		/* the mode's state */
};

/* Links. */
enum link_state { LINK_CONNECTING, LINK_OPEN, LINK_HELLO_WAIT, LINK_ACTIVE };

struct link {
	struct hostile	*h;
	const struct link_ops *ops;
	void		*arg;		/* the mode's per-link state */
	struct bufferevent *bev;
	struct channel	*ch;		/* secure links */
	struct frame_decoder dec;
	enum link_state	 state;
	int		 secure;
	int		 counted;	/* counted in h->active */
	int		 closed;	/* torn down; memory freed at the next tick */
	struct link	*next_dead;
	uint8_t		 sk[TX_SK_LEN];
	uint64_t	 t0_ns;		/* connect started */
	uint64_t	 recv;		/* bytes from the node */
	size_t		 buffered;	/* of them, still in the input buffer */
};

/*
 * Opens a link to the target (the API port for an api mode).  secure: runs
 * the handshake as the initiator with sk (NULL: a fresh key) and sends
 * HELLO; ops->up once the node's HELLO is in.  rcvbuf > 0 sets SO_RCVBUF
 * before connecting.  Returns NULL (counted) if the socket cannot be made.
 */
struct link *link_open(struct hostile *h, int secure, const uint8_t *sk,
	    int rcvbuf, const struct link_ops *ops, void *arg);
/*
 * Closes l; ops->closed is called with by_node 0.  l's memory stays valid
 * (l->closed set) until link_reap, so a caller up the stack may look.
 */
void	link_close(struct link *l, const char *why);
/* As link_close, for a close by the node found out some other way than reading. */
void	link_gone(struct link *l, const char *why);
/* 1 while the kernel holds the connection established (TCP_INFO), else 0. */
int	link_alive(const struct link *l);
/* Frees the links closed since the last call (the tick calls it). */
void	link_reap(struct hostile *h);
/* Sends one frame in one record.  0, or -1 if l is not active. */
int	link_send_frame(struct link *l, uint8_t type, const uint8_t *payload,
	    size_t len);
/* Sends raw bytes.  0 or -1. */
int	link_send_raw(struct link *l, const void *p, size_t len);
/* Bytes queued towards the node and not yet taken by the kernel. */
size_t	link_pending(const struct link *l);
/* Stops reading from the node (the kernel's buffers then fill and stay full). */
void	link_stop_reading(struct link *l);
/* Marks l as one the node took (raw links), for the active gauge. */
void	link_count_active(struct link *l);

/* Helpers. */
/* Monotonic clock (ns), for every wait and rate; wall clock (ms), for timestamps. */
uint64_t hostile_now_ns(void);
uint64_t hostile_wall_ms(void);
/* A fresh Ed25519 node key (libsodium form). */
void	hostile_keygen(uint8_t sk[TX_SK_LEN]);
/* Time left in the run, and whether new connections may still start. */
int	hostile_running(const struct hostile *h);

/* The modes. */
extern const struct mode mode_junk, mode_getdata, mode_badsig, mode_spam,
	    mode_idle, mode_probe;
extern const struct mode mode_halfopen, mode_slowloris, mode_refuse,
	    mode_replay, mode_api;

#endif
