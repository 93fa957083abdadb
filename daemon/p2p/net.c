/*
 * net.c: listener, dial targets with backoff, address book and peer
 * exchange, the peer list and duplicate-connection collapse.  Loop thread.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "base/config.h"
#include "base/hub.h"
#include "base/log.h"
#include "base/stats.h"
#include "core/store.h"
#include "lib/units.h"
#include "lib/util.h"
#include "p2p/addrbook.h"
#include "p2p/ban.h"
#include "p2p/inbound.h"
#include "p2p/link.h"
#include "p2p/net.h"
#include "p2p/peer.h"
#include "p2p/seed.h"
#include "proto/channel.h"
#include "proto/frame.h"
#include "proto/hex.h"

#define NET_BOOK_MAX		1000
#define NET_BACKOFF_MIN_MS	500
#define NET_BACKOFF_MAX_MS	30000
#define NET_GETPEERS_EVERY_MS	5000
#define NET_GETPEERS_MIN_GAP_MS	1000	/* one PEERS a second per peer */
#define NET_DISCONNECT_HOLD_MS	(10 * 60 * 1000)	/* no redial after DELETE */
#define NET_API_TARGETS_MAX	64	/* peers added with POST /v1/peers */
#define NET_ACCEPT_PAUSE_MS	1000	/* after accept() runs out of descriptors */
#define NET_LOG_WINDOW_MS	10000	/* repeated lines summed up per kind */
#define NET_SEED_PICK_MAX	256	/* seed addresses drawn from per dial */

/*
 * Lines a flood repeats, each kind rate limited (a line, then a summary
 * per window): connections refused, connections that closed before HELLO,
 * and, more generously, peers coming and going.
 */
static struct log_limit net_log_refused = LOG_LIMIT("net", "refused connections",
    1, NET_LOG_WINDOW_MS);
static struct log_limit net_log_unready = LOG_LIMIT("net",
    "connections closed before HELLO", 5, NET_LOG_WINDOW_MS);
static struct log_limit net_log_up = LOG_LIMIT("net", "peers connected", 50,
    NET_LOG_WINDOW_MS);
static struct log_limit net_log_down = LOG_LIMIT("net", "peers disconnected",
    50, NET_LOG_WINDOW_MS);
/*
 * Inbound peers that come and go without delivering a valid transaction
 * (free identities: a flood reconnects hundreds a minute) get about a line
 * a second per kind; the peers this node dialled, and those that delivered,
 * keep the generous limit above.
 */
static struct log_limit net_log_up_in = LOG_LIMIT("net",
    "inbound peers connected", 10, NET_LOG_WINDOW_MS);
static struct log_limit net_log_down_in = LOG_LIMIT("net",
    "unproductive inbound peers disconnected", 10, NET_LOG_WINDOW_MS);
static struct log_limit net_log_banned = LOG_LIMIT("net", "peers banned", 5,
    NET_LOG_WINDOW_MS);
static struct log_limit net_log_evicted = LOG_LIMIT("net",
    "inbound peers evicted", 5, NET_LOG_WINDOW_MS);

struct net_target {
	TAILQ_ENTRY(net_target) entry;
	struct net	*net;
	char		host[CONFIG_HOSTPORT_MAX];
	uint16_t	port;
	int		persistent;	/* --peer or API: reconnect forever */
	int		api;		/* added with POST /v1/peers */
	struct peer	*peer;		/* current connection, or NULL */
	unsigned	failures;
	struct event	*timer;
	uint8_t		node_id[TX_PK_LEN];
	int		have_id;
	struct seed	*seed;		/* an address of this DNS seed, or NULL */
	uint64_t	next_try_ms;	/* a seed address: no dial before */
};
TAILQ_HEAD(net_target_list, net_target);

/* net's part of a peer (p->net). */
struct net_peer {
	struct net	*net;
	struct net_target *target;	/* the dial target, outbound only */
	uint64_t	next_getpeers_ms;
	int		getpeers_out;	/* our GETPEERS awaits its PEERS */
	uint64_t	last_peers_ms;	/* our last PEERS to them */
	int		peers_due;	/* their GETPEERS waits for the rate (5.6) */
	uint8_t		ip[BAN_IP_LEN];	/* inbound: the address it came from */
	uint64_t	last_frame_ms;	/* last relay or exchange frame from it */
};

struct net {
	struct node	*node;
	struct net_handler handler;
	struct evconnlistener *lis;
	uint16_t	port;		/* bound, even for --listen HOST:0 */
	struct evdns_base *dns;
	struct peer_list peers;
	struct peer_list dead;		/* closed, freed by the reaper */
	struct event	*reaper;
	struct event	*maint;
	struct event	*accept_resume;
	struct net_target_list targets;
	struct addrbook	*book;
	uint64_t	serial;
	int		shutdown;
	struct link_shape shape;	/* what every link's sends add (--link-*) */
	uint8_t		(*cut)[TX_PK_LEN];	/* node ids cut off (partition) */
	size_t		ncut;
	struct ban	*bans;		/* --ban-seconds; the store's bans table */
	char		ban_path[4096 + 8];
	int		bans_dirty;	/* changed since written to the store */
	size_t		bans_bad;	/* records of the table that were not bans */
	struct inbound	*inb;		/* handshake token buckets */
	struct seed	*seeds[CONFIG_MAX_PEERS_LIST];	/* --peer names */
	size_t		nseeds;
	struct store	*store;		/* keeps the last good peers, or NULL */
};

static void	net_target_schedule(struct net_target *, uint64_t);
static void	net_target_free(struct net_target *);
static int	net_on_authenticated(struct peer *);
static void	net_on_active(struct peer *);
static int	net_on_frame(struct peer *, const struct frame *);
static void	net_on_tick(struct peer *);
static void	net_on_closed(struct peer *, const char *);
static void	net_store_peer(struct net *, struct addr *, uint16_t);
static void	net_dial_stored(struct net *);

static const struct peer_hooks net_peer_hooks = {
	net_on_authenticated, net_on_active, net_on_frame, net_on_tick,
	net_on_closed
};

struct peer_list *
net_peers(struct net *net)
{
	return &net->peers;
}

struct peer *
net_peer_by_serial(struct net *net, uint64_t serial)
{
	struct peer *p;

	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->serial == serial && p->state != PEER_CLOSED)
			return p;
	return NULL;
}

static struct peer *
net_peer_by_key(struct net *net, const uint8_t pk[TX_PK_LEN], const struct peer *not)
{
	struct peer *p;

	TAILQ_FOREACH(p, &net->peers, entry)
		if (p != not && p->state != PEER_CLOSED && p->remote_hex[0] != '\0' &&
		    memcmp(p->remote_pk, pk, TX_PK_LEN) == 0)
			return p;
	return NULL;
}

static uint64_t
net_backoff_ms(unsigned failures)
{
	uint64_t d = NET_BACKOFF_MIN_MS;
	uint32_t r;

	while (failures-- > 0 && d < NET_BACKOFF_MAX_MS)
		d *= 2;
	if (d > NET_BACKOFF_MAX_MS)
		d = NET_BACKOFF_MAX_MS;
	/* Jitter: 75% to 125%, so restarted nodes do not redial in lockstep. */
	r = randombytes_uniform(501);
	d = d * (750 + r) / 1000;
	return d > NET_BACKOFF_MAX_MS ? NET_BACKOFF_MAX_MS : d;
}

/*
 * A new peer of net's, linked and started: inbound on fd, or a dial of
 * target t.  May come back closed.
 */
static struct peer *
net_peer_new(struct net *net, int fd, const struct sockaddr *sa, int salen,
    struct net_target *t)
{
	struct peer	*p;
	struct net_peer	*np = xcalloc(1, sizeof(*np));

	p = peer_new(net->node, &net_peer_hooks, ++net->serial, t != NULL,
	    net->port);
	np->net = net;
	np->target = t;
	if (sa != NULL)
		(void)ban_ip_from_sockaddr(sa, np->ip);
	p->net = np;
	p->shape = &net->shape;
	TAILQ_INSERT_TAIL(&net->peers, p, entry);
	if (t != NULL)
		peer_start(p, -1, NULL, 0, t->host, t->port, net->dns);
	else
		peer_start(p, fd, sa, salen, NULL, 0, NULL);
	return p;
}

static void
net_reapcb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;
	struct peer *p;
	struct net_target *t, *next;

	(void)fd;
	(void)what;
	while ((p = TAILQ_FIRST(&net->dead)) != NULL) {
		TAILQ_REMOVE(&net->dead, p, entry);
		if (net->handler.release != NULL)
			net->handler.release(p, net->handler.arg);
		free(p->net);
		p->net = NULL;
		peer_free(p);
	}
	for (t = TAILQ_FIRST(&net->targets); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (!t->persistent && t->seed == NULL && t->peer == NULL &&
		    !evtimer_pending(t->timer, NULL))
			net_target_free(t);
	}
}

/* p's address as a PEERS entry (family and 16 bytes); -1 if it is not IP. */
static int
net_peer_entry(const struct peer *p, struct frame_peer *fp)
{
	const struct sockaddr_in	*in;
	const struct sockaddr_in6	*in6;

	memset(fp->addr, 0, sizeof(fp->addr));
	if (p->sa.ss_family == AF_INET) {
		in = (const struct sockaddr_in *)(const void *)&p->sa;
		memcpy(fp->addr, &in->sin_addr, 4);
		fp->family = 4;
		return 0;
	}
	if (p->sa.ss_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)&p->sa;
		memcpy(fp->addr, &in6->sin6_addr, 16);
		fp->family = 6;
		return 0;
	}
	return -1;
}

/* Remembers that host:port reaches this node and forgets book entries for it. */
static void
net_self_add(struct net *net, const char *host, uint16_t port)
{
	if (addrbook_self_add(net->book, host, port))
		log_info("net", "%s:%u reaches this node itself: not dialling it "
		    "again", host, port);
}

/*
 * True if an active peer listens at host:port, or a dial to it is under way:
 * a book entry naming another node id there must not cause a second link.
 */
static int
net_addr_busy(struct net *net, const char *host, uint16_t port)
{
	struct net_target *t;
	struct peer *p;
	struct addr pa;

	TAILQ_FOREACH(t, &net->targets, entry)
		if (t->peer != NULL && t->port == port && strcmp(t->host, host) == 0)
			return 1;
	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->state == PEER_ACTIVE && p->listen_port == port &&
		    addr_from_sockaddr(&pa, (const struct sockaddr *)&p->sa) == 0 &&
		    strcmp(pa.host, host) == 0)
			return 1;
	return 0;
}

static void
net_set_nodelay(int fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* True if the node with this id is cut off by a partition. */
static int
net_is_cut(const struct net *net, const uint8_t pk[TX_PK_LEN])
{
	size_t	i;

	for (i = 0; i < net->ncut; i++)
		if (memcmp(net->cut[i], pk, TX_PK_LEN) == 0)
			return 1;
	return 0;
}

static void
net_target_dial(struct net_target *t)
{
	struct net *net = t->net;

	if (net->shutdown || t->peer != NULL)
		return;
	if (t->have_id && net_is_cut(net, t->node_id)) {
		/* Cut off: net_heal dials it again at once. */
		net_target_schedule(t, NET_BACKOFF_MAX_MS);
		return;
	}
	if (t->have_id && net_peer_by_key(net, t->node_id, NULL) != NULL) {
		/* Already linked through the other direction: check again later. */
		net_target_schedule(t, NET_BACKOFF_MAX_MS);
		return;
	}
	t->peer = net_peer_new(net, -1, NULL, 0, t);
	if (t->peer->state == PEER_CLOSED)
		t->peer = NULL;
}

static void
net_target_timercb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	net_target_dial(arg);
}

static void
net_target_schedule(struct net_target *t, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	event_add(t->timer, &tv);
}

static struct net_target *
net_target_new(struct net *net, const char *host, uint16_t port, int persistent)
{
	struct net_target *t = xcalloc(1, sizeof(*t));

	t->net = net;
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->port = port;
	t->persistent = persistent;
	t->timer = evtimer_new(net->node->base, net_target_timercb, t);
	TAILQ_INSERT_TAIL(&net->targets, t, entry);
	return t;
}

static void
net_target_free(struct net_target *t)
{
	if (t->peer != NULL)
		t->peer->net->target = NULL;
	TAILQ_REMOVE(&t->net->targets, t, entry);
	event_free(t->timer);
	free(t);
}

/* --- inbound admission and bans (docs/SECURITY.md) ------------------------ */

static uint64_t
net_now_s(void)
{
	return now_ms() / 1000;
}

/* Closes an inbound socket before anything was spent on it: counted, logged (limited). */
static void
net_refuse(int fd, const struct sockaddr *sa, enum stats_refused why,
    const char *text)
{
	char	addr[80];

	stats.inbound_refused[why]++;
	addr_sockaddr_str(sa, addr, sizeof(addr));
	log_limited(&net_log_refused, LOG_WARN, "refusing connection from %s: %s",
	    addr, text);
	evutil_closesocket(fd);
}

/* True once p's channel is up (its key known) and until it closes. */
static int
net_established(const struct peer *p)
{
	return p->state != PEER_CLOSED && p->remote_hex[0] != '\0';
}

/* True while inbound p is still in its handshake. */
static int
net_handshaking(const struct peer *p)
{
	return !p->outbound && p->state == PEER_HANDSHAKE &&
	    p->remote_hex[0] == '\0';
}

/* What the accept path counts, in one walk of the peer list. */
struct net_census {
	unsigned	hs, hs_ip;		/* inbound in the handshake: all, from ip */
	unsigned	est, est_ip;		/* established inbound: all, from ip */
	unsigned	unproductive;		/* established inbound that may be evicted */
	struct peer	*oldest_hs;		/* the inbound handshake that began first */
};

static void
net_census(struct net *net, const uint8_t ip[BAN_IP_LEN], const struct peer *not,
    struct net_census *c)
{
	struct peer	*q;
	int		 same;

	memset(c, 0, sizeof(*c));
	TAILQ_FOREACH(q, &net->peers, entry) {
		if (q == not || q->outbound || q->state == PEER_CLOSED)
			continue;
		same = memcmp(q->net->ip, ip, BAN_IP_LEN) == 0;
		if (net_handshaking(q)) {
			c->hs++;
			c->hs_ip += same;
			if (c->oldest_hs == NULL ||
			    q->connected_ms < c->oldest_hs->connected_ms)
				c->oldest_hs = q;
		} else if (net_established(q)) {
			c->est++;
			c->est_ip += same;
			c->unproductive += q->productive_ms == 0;
		}
	}
}

/*
 * The handshake to push out of a full pool: one from the address with the
 * most handshakes under way, the oldest of them.  A flood from a few
 * addresses replaces its own sockets, not an honest newcomer's, however
 * slowly that one completes its handshake on a loaded machine.
 */
static struct peer *
net_hs_victim(struct net *net)
{
	struct peer	*q, *o, *best = NULL;
	unsigned	 n, bestn = 0;

	TAILQ_FOREACH(q, &net->peers, entry) {
		if (!net_handshaking(q))
			continue;
		n = 0;
		TAILQ_FOREACH(o, &net->peers, entry)
			n += net_handshaking(o) &&
			    memcmp(o->net->ip, q->net->ip, BAN_IP_LEN) == 0;
		if (best == NULL || n > bestn || (n == bestn &&
		    q->connected_ms < best->connected_ms)) {
			best = q;
			bestn = n;
		}
	}
	return best;
}

/*
 * A new inbound socket: refused at once (banned address, its address's
 * handshakes or inbound share used up, inbound full of productive peers,
 * over the handshake rate), or taken into the handshake pool, pushing out
 * a handshake of the busiest address when the pool is full.  All before the channel makes
 * its key pair.
 */
static void
net_admit(struct net *net, int fd, struct sockaddr *sa, int salen)
{
	const struct config	*cfg = net->node->cfg;
	uint8_t			 ip[BAN_IP_LEN];
	struct net_census	 c;
	char			 text[160];
	int			 shared;

	if (ban_ip_from_sockaddr(sa, ip) == -1)
		memset(ip, 0, sizeof(ip));
	if (cfg->ban_seconds > 0 && ban_find(net->bans, BAN_IP, ip,
	    net_now_s()) != NULL) {
		net_refuse(fd, sa, STATS_REFUSED_BANNED_IP, "address banned "
		    "(GET /v1/bans)");
		return;
	}
	net_census(net, ip, NULL, &c);
	shared = ban_ip_exempt(ip);
	if (!shared && c.hs_ip >= cfg->max_handshaking_per_ip) {
		snprintf(text, sizeof(text), "per-address handshake limit "
		    "reached (--max-handshaking-per-ip: %u under way)", c.hs_ip);
		net_refuse(fd, sa, STATS_REFUSED_HANDSHAKING_IP, text);
		return;
	}
	if (!shared && c.est_ip >= cfg->max_inbound_per_ip) {
		snprintf(text, sizeof(text), "per-address inbound limit reached "
		    "(--max-inbound-per-ip: %u peers)", c.est_ip);
		net_refuse(fd, sa, STATS_REFUSED_INBOUND_IP, text);
		return;
	}
	if (cfg->max_peers == 0 || (c.est >= cfg->max_peers &&
	    c.unproductive == 0)) {
		net_refuse(fd, sa, STATS_REFUSED_INBOUND_FULL, "inbound limit "
		    "reached (--max-peers), every inbound peer productive");
		return;
	}
	switch (inbound_take(net->inb, ip, now_ms())) {
	case INBOUND_RATE:
		net_refuse(fd, sa, STATS_REFUSED_RATE, "handshake rate limit "
		    "(--handshake-rate)");
		return;
	case INBOUND_RATE_IP:
		net_refuse(fd, sa, STATS_REFUSED_RATE_IP, "handshake rate limit "
		    "of that address (--handshake-rate-per-ip)");
		return;
	case INBOUND_OK:
		break;
	}
	if (c.hs >= cfg->max_handshaking && c.oldest_hs != NULL) {
		stats.handshakes[STATS_HS_EVICTED]++;
		peer_close(net_hs_victim(net), "handshake pool full "
		    "(--max-handshaking): a newer connection took its place");
	}
	evutil_make_socket_nonblocking(fd);
	net_set_nodelay(fd);
	net_peer_new(net, fd, sa, salen, NULL);
}

/*
 * Inbound p has completed its handshake: within its address's share, and
 * within --max-peers, pushing out an idle or the newest unproductive inbound
 * peer if need be (inbound.c), never a productive or an outbound one.
 * Returns -1 if p was closed.
 */
static int
net_admit_established(struct net *net, struct peer *p)
{
	const struct config	*cfg = net->node->cfg;
	struct net_census	 c;
	struct inbound_cand	*cand;
	struct peer		**who, *q;
	char			 reason[160];
	size_t			 n = 0;
	int			 victim;

	net_census(net, p->net->ip, p, &c);
	if (!ban_ip_exempt(p->net->ip) && c.est_ip >= cfg->max_inbound_per_ip) {
		stats.inbound_refused[STATS_REFUSED_INBOUND_IP]++;
		peer_close(p, "refused: too many inbound peers from that address "
		    "(--max-inbound-per-ip)");
		return -1;
	}
	if (c.est < cfg->max_peers)
		return 0;
	cand = xcalloc(c.est, sizeof(*cand));
	who = xcalloc(c.est, sizeof(*who));
	TAILQ_FOREACH(q, &net->peers, entry) {
		if (q == p || q->outbound || !net_established(q) || n == c.est)
			continue;
		cand[n].since_ms = q->active_ms != 0 ? q->active_ms :
		    q->connected_ms;
		cand[n].last_frame_ms = q->net->last_frame_ms;
		cand[n].productive_ms = q->productive_ms;
		memcpy(cand[n].ip, q->net->ip, BAN_IP_LEN);
		who[n++] = q;
	}
	victim = inbound_evict_pick(cand, n, now_ms());
	q = victim >= 0 ? who[victim] : NULL;
	free(cand);
	free(who);
	if (q == NULL) {
		stats.inbound_refused[STATS_REFUSED_INBOUND_FULL]++;
		peer_close(p, "refused: inbound limit reached (--max-peers), "
		    "every inbound peer productive");
		return -1;
	}
	stats.inbound_evicted++;
	log_limited(&net_log_evicted, LOG_INFO, "inbound full: peer %s (%s) "
	    "evicted for node %.16s from %s", peer_label(q), q->addr,
	    p->remote_hex, p->addr);
	snprintf(reason, sizeof(reason), "evicted: inbound full (--max-peers), "
	    "room made for node %.16s", p->remote_hex);
	peer_close(q, reason);
	return 0;
}

/* p proved misbehaviour and is closing: its key and address are banned. */
static void
net_ban(struct net *net, struct peer *p, const char *reason)
{
	const struct config	*cfg = net->node->cfg;
	uint64_t		 now = net_now_s();
	uint8_t			 ip[BAN_IP_LEN];
	char			 ipstr[64] = "";
	int			 byip;

	if (cfg->ban_seconds == 0 || p->remote_hex[0] == '\0')
		return;
	byip = ban_ip_from_sockaddr((const struct sockaddr *)&p->sa, ip) == 0 &&
	    !ban_ip_exempt(ip);
	ban_add(net->bans, BAN_KEY, p->remote_pk, p->misbehaviour, now,
	    cfg->ban_seconds);
	if (byip) {
		ban_add(net->bans, BAN_IP, ip, p->misbehaviour, now,
		    cfg->ban_seconds);
		ban_ip_str(ip, ipstr, sizeof(ipstr));
	}
	net->bans_dirty = 1;
	log_limited_event(&net_log_banned, LOG_WARN, &(struct log_fields){
	    .peer = peer_label(p), .addr = p->addr, .peer_id = p->remote_hex,
	    .reason = reason, .code = ban_reason_code(p->misbehaviour) },
	    "banned node %.16s%s%s for %u s (%s): %s", p->remote_hex,
	    byip ? " and address " : "", ipstr, cfg->ban_seconds,
	    ban_reason_code(p->misbehaviour), reason);
}

static void
net_bans_put(const struct ban_entry *e, void *arg)
{
	struct net	*net = arg;
	uint8_t		 k[BAN_REC_KEY_MAX], v[BAN_REC_VAL_LEN];
	size_t		 klen = ban_pack(e, k, v);

	(void)store_ban_put(net->store, k, klen, v, sizeof(v));
}

/* The bans table of the store rewritten if it changed: committed with the next batch. */
static void
net_bans_save(struct net *net)
{
	if (!net->bans_dirty || net->store == NULL)
		return;
	net->bans_dirty = 0;
	if (store_ban_clear(net->store) == -1)
		return;		/* the batch failed: admit logs it at its commit */
	ban_foreach(net->bans, net_now_s(), net_bans_put, net);
}

struct ban *
net_bans(struct net *net)
{
	return net->bans;
}

int
net_unban(struct net *net, const char *text)
{
	int	n = ban_del(net->bans, text);

	if (n > 0) {
		net->bans_dirty = 1;
		net_bans_save(net);
	}
	return n;
}

/* After authentication: self and duplicate checks.  Returns -1 if p was closed. */
static int
net_on_authenticated(struct peer *p)
{
	struct net *net = p->net->net;
	struct net_target *t = p->net->target;
	struct peer *q;
	struct addrbook_entry *a;
	const uint8_t *ip, *iq;
	const struct ban_entry *be;
	char reason[128];

	if (net->node->cfg->ban_seconds > 0 &&
	    (be = ban_find(net->bans, BAN_KEY, p->remote_pk, net_now_s())) != NULL) {
		if (!p->outbound)
			stats.inbound_refused[STATS_REFUSED_BANNED_KEY]++;
		snprintf(reason, sizeof(reason), "node key banned (%s) for %llu "
		    "more s", ban_reason_code(be->reason), (unsigned long long)
		    (be->until - net_now_s()));
		peer_close(p, reason);
		return -1;
	}
	if (memcmp(p->remote_pk, p->node->node_pk, TX_PK_LEN) == 0) {
		if (t != NULL) {
			if (t->persistent)
				log_warn("net", "peer %s:%u is this node itself: not "
				    "dialling it again", t->host, t->port);
			t->persistent = 0;
			t->seed = NULL;
			net_self_add(net, t->host, t->port);
		}
		peer_close(p, "connected to itself");
		return -1;
	}
	if (net_is_cut(net, p->remote_pk)) {
		if (t != NULL) {
			memcpy(t->node_id, p->remote_pk, TX_PK_LEN);
			t->have_id = 1;
		}
		peer_close(p, "partitioned: this node is cut off from it");
		return -1;
	}
	if (t != NULL) {
		/*
		 * The address was heard of as another node's: that entry is
		 * wrong (a lie, or the node there changed its key).  Forget it,
		 * so it is not dialled again.
		 */
		if (t->have_id && memcmp(t->node_id, p->remote_pk, TX_PK_LEN) != 0 &&
		    (a = addrbook_find(net->book, t->node_id)) != NULL &&
		    !a->direct) {
			log_debug("net", "%s:%u is node %.16s, not the node heard "
			    "of there: forgetting that address", t->host, t->port,
			    p->remote_hex);
			addrbook_del(net->book, a);
		}
		memcpy(t->node_id, p->remote_pk, TX_PK_LEN);
		t->have_id = 1;
	}
	q = net_peer_by_key(net, p->remote_pk, p);
	if (q != NULL) {
		/*
		 * Two links between the same pair: both ends keep the one dialled
		 * by the smaller node key; if one side dialled twice, the one with
		 * the smaller session id.  Both ends see the same keys and ids.
		 */
		ip = p->outbound ? p->node->node_pk : p->remote_pk;
		iq = q->outbound ? q->node->node_pk : q->remote_pk;
		if (memcmp(ip, iq, TX_PK_LEN) == 0 && channel_established(q->ch)) {
			ip = channel_session_id(p->ch);
			iq = channel_session_id(q->ch);
		}
		snprintf(reason, sizeof(reason), "duplicate connection to node %.16s",
		    p->remote_hex);
		if (memcmp(ip, iq, TX_PK_LEN) < 0)
			peer_close(q, reason);
		else {
			peer_close(p, reason);
			return -1;
		}
	}
	if (!p->outbound)
		return net_admit_established(net, p);
	return 0;
}

/* Posts a peer event for the upper layers. */
static void
net_post(enum hub_topic topic, const struct peer *p, const char *why)
{
	struct hub_event	ev;
	struct peer_info	pi;

	if (!hub_wanted(topic))
		return;
	peer_info(p, &pi);
	memset(&ev, 0, sizeof(ev));
	ev.topic = topic;
	ev.peer = &pi;
	ev.why = why;
	hub_post(&ev);
}

static void
net_getpeers(struct peer *p)
{
	p->net->next_getpeers_ms = now_ms() + NET_GETPEERS_EVERY_MS;
	p->net->getpeers_out = 1;
	peer_send(p, FRAME_GETPEERS, NULL, 0);
}

static void
net_on_active(struct peer *p)
{
	struct net *net = p->net->net;
	struct addr pa;
	struct addrbook_entry *a;

	log_limited_event(p->outbound ? &net_log_up : &net_log_up_in, LOG_INFO,
	    &(struct log_fields){ .peer = peer_label(p), .addr = p->addr,
	    .peer_id = p->remote_hex },
	    "peer %s connected: %s %s node %.16s", peer_label(p),
	    p->outbound ? "outbound to" : "inbound from", p->addr, p->remote_hex);
	if (p->net->target != NULL)
		p->net->target->failures = 0;
	if (addr_from_sockaddr(&pa, (const struct sockaddr *)&p->sa) == 0 &&
	    p->listen_port != 0) {
		addrbook_add(net->book, p->remote_pk, pa.host, p->listen_port, 1);
		if ((a = addrbook_find(net->book, p->remote_pk)) != NULL)
			a->failures = 0;
		/* Only addresses we dialled: an inbound peer's port is its own claim. */
		if (p->outbound)
			net_store_peer(net, &pa, p->listen_port);
	}
	net_post(HUB_PEER_UP, p, NULL);
	if (net->handler.up != NULL)
		net->handler.up(p, net->handler.arg);
	if (p->state == PEER_ACTIVE && p->node->cfg->peer_exchange)
		net_getpeers(p);
}

static void
net_on_closed(struct peer *p, const char *reason)
{
	struct net *net = p->net->net;
	struct net_target *t = p->net->target;
	struct addrbook_entry *a;

	if (p->misbehaviour != BAN_NONE)
		net_ban(net, p, reason);
	if (p->active_ms != 0) {
		log_limited_event(p->outbound || p->productive_ms != 0 ?
		    &net_log_down : &net_log_down_in, LOG_INFO, &(struct log_fields){
		    .peer = peer_label(p), .addr = p->addr,
		    .peer_id = p->remote_hex, .reason = reason },
		    "peer %s disconnected (%s node %.16s): %s",
		    peer_label(p), p->addr, p->remote_hex, reason);
		if (net->handler.down != NULL)
			net->handler.down(p, net->handler.arg);
		net_post(HUB_PEER_DOWN, p, reason);
	} else if (t != NULL && (t->failures > 0 || !t->persistent))
		/* Repeated failures, and dials of addresses only heard of. */
		log_debug("net", "connection to %s closed: %s", p->addr, reason);
	else
		log_limited(&net_log_unready, LOG_INFO, "connection %s %s closed: %s",
		    p->outbound ? "to" : "from", p->addr, reason);
	TAILQ_REMOVE(&net->peers, p, entry);
	TAILQ_INSERT_TAIL(&net->dead, p, entry);
	event_active(net->reaper, 0, 0);

	if (t == NULL)
		return;
	t->peer = NULL;
	p->net->target = NULL;
	if (p->active_ms == 0)
		t->failures++;
	if (t->have_id && (a = addrbook_find(net->book, t->node_id)) != NULL &&
	    p->active_ms == 0) {
		a->failures++;
		a->next_try_ms = now_ms() + net_backoff_ms(a->failures);
	}
	if (net->shutdown)
		return;
	if (t->seed != NULL && p->active_ms == 0)
		t->next_try_ms = now_ms() + net_backoff_ms(t->failures);
	/* A one-shot target is freed by the reaper: its dial may still be on the stack. */
	if (t->persistent)
		net_target_schedule(t, net_backoff_ms(t->failures));
}

static int	net_send_peers(struct peer *);

/* Each tick of an active peer: peer exchange requests, and an answer due. */
static void
net_on_tick(struct peer *p)
{
	uint64_t now = now_ms();

	if (p->net->peers_due &&
	    now - p->net->last_peers_ms >= NET_GETPEERS_MIN_GAP_MS &&
	    net_send_peers(p) == -1)
		return;
	if (p->node->cfg->peer_exchange && now >= p->net->next_getpeers_ms)
		net_getpeers(p);
}

/*
 * Every GETPEERS is answered, at most once a second (docs/PROTOCOL.md 5.6):
 * one that comes sooner waits for the tick after the second is over.
 */
static int
net_on_getpeers(struct peer *p)
{
	if (now_ms() - p->net->last_peers_ms < NET_GETPEERS_MIN_GAP_MS) {
		p->net->peers_due = 1;
		return 0;
	}
	return net_send_peers(p);
}

static int
net_send_peers(struct peer *p)
{
	struct net *net = p->net->net;
	struct frame_peer fp[FRAME_MAX_PEERS];
	uint8_t buf[2 + FRAME_MAX_PEERS * FRAME_PEER_ENTRY_LEN];
	struct peer *q;
	size_t n = 0, len;

	p->net->last_peers_ms = now_ms();
	p->net->peers_due = 0;
	/* Peer exchange off: answer, but share nobody, so the chosen topology holds. */
	if (p->node->cfg->peer_exchange) {
		TAILQ_FOREACH(q, &net->peers, entry) {
			if (n == FRAME_MAX_PEERS)
				break;
			if (q == p || q->state != PEER_ACTIVE || q->listen_port == 0)
				continue;
			if (net_peer_entry(q, &fp[n]) == -1)
				continue;
			memcpy(fp[n].node_id, q->remote_pk, TX_PK_LEN);
			fp[n].port = q->listen_port;
			n++;
		}
	}
	len = frame_peers_encode(fp, n, buf, sizeof(buf));
	return peer_send(p, FRAME_PEERS, buf, len);
}

static int
net_on_peers(struct peer *p, const uint8_t *payload, size_t len)
{
	struct net *net = p->net->net;
	struct frame_peer fp[FRAME_MAX_PEERS];
	char host[INET6_ADDRSTRLEN], reason[128];
	const char *err = NULL;
	size_t n, i;

	if (frame_peers_decode(payload, len, fp, FRAME_MAX_PEERS, &n, &err) == -1) {
		snprintf(reason, sizeof(reason), "protocol error: bad PEERS: %s", err);
		peer_misbehaved(p, BAN_PROTOCOL, reason);
		return -1;
	}
	/* Only an answer is heard: one PEERS per GETPEERS we sent. */
	if (!p->node->cfg->peer_exchange || !p->net->getpeers_out) {
		log_debug("net", "peer %s: unrequested PEERS ignored", peer_label(p));
		return 0;
	}
	p->net->getpeers_out = 0;
	for (i = 0; i < n; i++) {
		if (fp[i].port == 0)
			continue;
		if (fp[i].family == 4)
			inet_ntop(AF_INET, fp[i].addr, host, sizeof(host));
		else if (fp[i].family == 6)
			inet_ntop(AF_INET6, fp[i].addr, host, sizeof(host));
		else
			continue;
		addrbook_add(net->book, fp[i].node_id, host, fp[i].port, 0);
	}
	if (n > 0)
		event_active(net->maint, 0, 0);
	return 0;
}

static int
net_on_frame(struct peer *p, const struct frame *f)
{
	struct net *net = p->net->net;

	p->net->last_frame_ms = now_ms();
	switch (f->type) {
	case FRAME_GETPEERS:
		return net_on_getpeers(p);
	case FRAME_PEERS:
		return net_on_peers(p, f->payload, f->len);
	case FRAME_INV:
	case FRAME_GETDATA:
	case FRAME_TX:
	case FRAME_NOTFOUND:
	case FRAME_PRUNE:
	case FRAME_GRAFT:
	case FRAME_RECON_INIT:
	case FRAME_RECON_SYMBOLS:
	case FRAME_RECON_MORE:
	case FRAME_RECON_WANT:
	case FRAME_RECON_DONE:
		if (net->handler.frame != NULL)
			return net->handler.frame(p, f, net->handler.arg);
		return 0;
	}
	peer_misbehaved(p, BAN_PROTOCOL, "protocol error: bad frame");
	return -1;
}

/*
 * Dials addresses of DNS seeds while fewer than --outbound links go out,
 * picked at random so that replicas behind one name do not all dial the
 * same few.  When none is left to try, the seeds are resolved again soon:
 * their nodes may have moved (a rolling update, a rescheduled pod).
 */
static void
net_dial_seeds(struct net *net, unsigned *outbound, uint64_t now)
{
	struct net_target *t, *pick[NET_SEED_PICK_MAX];
	size_t n, i, k;

	if (net->nseeds == 0)
		return;
	while (*outbound < net->node->cfg->outbound) {
		n = 0;
		TAILQ_FOREACH(t, &net->targets, entry) {
			if (t->seed == NULL || t->peer != NULL || t->next_try_ms > now ||
			    n == NET_SEED_PICK_MAX)
				continue;
			if (t->have_id && (net_is_cut(net, t->node_id) ||
			    net_peer_by_key(net, t->node_id, NULL) != NULL))
				continue;
			if (net_addr_busy(net, t->host, t->port))
				continue;
			pick[n++] = t;
		}
		if (n == 0) {
			for (k = 0; k < net->nseeds; k++)
				seed_refresh(net->seeds[k]);
			return;
		}
		i = randombytes_uniform((uint32_t)n);
		t = pick[i];
		/* Not again before its backoff, whatever this dial comes to. */
		t->next_try_ms = now + net_backoff_ms(t->failures);
		(*outbound)++;
		net_target_dial(t);
	}
}

/* Keeps --outbound links from seeds and, when peer exchange is on, from the address book. */
static void
net_maintcb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;
	struct node *n = net->node;
	struct net_target *t;
	struct addrbook_entry *a;
	struct peer *p;
	unsigned outbound = 0;
	uint64_t now = now_ms();
	int busy;

	(void)fd;
	(void)what;
	net_bans_save(net);
	if (net->shutdown)
		return;
	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->state != PEER_CLOSED && p->outbound)
			outbound++;
	net_dial_seeds(net, &outbound, now);
	if (!n->cfg->peer_exchange)
		return;
	for (a = addrbook_first(net->book); a != NULL; a = addrbook_next(a)) {
		if (outbound >= n->cfg->outbound)
			break;
		if (a->next_try_ms > now || net_is_cut(net, a->node_id) ||
		    net_peer_by_key(net, a->node_id, NULL) != NULL)
			continue;
		busy = 0;
		TAILQ_FOREACH(t, &net->targets, entry)
			if (t->peer != NULL && t->have_id &&
			    memcmp(t->node_id, a->node_id, TX_PK_LEN) == 0)
				busy = 1;
		if (busy || net_addr_busy(net, a->host, a->port))
			continue;
		a->next_try_ms = now + net_backoff_ms(a->failures);
		t = net_target_new(net, a->host, a->port, 0);
		memcpy(t->node_id, a->node_id, TX_PK_LEN);
		t->have_id = 1;
		outbound++;
		net_target_dial(t);
	}
	event_active(net->reaper, 0, 0);
}

static void
net_acceptcb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct net *net = arg;

	(void)lis;
	if (net->shutdown) {
		net_refuse(fd, sa, STATS_REFUSED_SHUTDOWN, "shutting down");
		return;
	}
	net_admit(net, fd, sa, salen);
}

/*
 * accept() failed.  Out of descriptors or memory, the pending connection
 * stays queued and the listener would fire again at once: pause accepting
 * for a second instead of spinning, and say so once per pause.
 */
static void
net_listen_errorcb(struct evconnlistener *lis, void *arg)
{
	struct net *net = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { NET_ACCEPT_PAUSE_MS / 1000,
	    (NET_ACCEPT_PAUSE_MS % 1000) * 1000 };

	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
		log_warn("net", "accept failed: %s", evutil_socket_error_to_string(err));
		return;
	}
	evconnlistener_disable(lis);
	event_add(net->accept_resume, &tv);
	log_warn("net", "accept failed: %s: not accepting peers for %d ms",
	    evutil_socket_error_to_string(err), NET_ACCEPT_PAUSE_MS);
}

static void
net_accept_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct net *net = arg;

	(void)fd;
	(void)what;
	if (!net->shutdown && net->lis != NULL)
		evconnlistener_enable(net->lis);
}

static int
net_bans_restore(const uint8_t *key, size_t klen, const uint8_t *val,
    size_t vlen, void *arg)
{
	struct net		*net = arg;
	struct ban_entry	 e;

	if (ban_unpack(key, klen, val, vlen, &e) == -1)
		net->bans_bad++;
	else
		(void)ban_restore(net->bans, &e, net_now_s());
	return 0;
}

/*
 * The bans still in force, from the store; then, once, those of the file
 * older noded kept (DATA_DIR/bans), which is renamed bans.imported.
 */
static void
net_bans_load(struct net *net)
{
	const struct config	*cfg = net->node->cfg;
	char			 done[sizeof(net->ban_path) + 16];
	size_t			 skipped = 0, before;

	if (store_ban_each(net->store, net_bans_restore, net) == -1)
		log_warn("net", "cannot read the bans: %s: starting without them",
		    store_error(net->store) + strlen("store: "));
	if (net->bans_bad > 0)
		log_warn("net", "%zu records of the bans table are not bans: "
		    "skipped", net->bans_bad);
	if (cfg->data_dir[0] != '\0') {
		snprintf(net->ban_path, sizeof(net->ban_path), "%s/%s",
		    cfg->data_dir, BAN_FILE);
		snprintf(done, sizeof(done), "%s.imported", net->ban_path);
	}
	before = ban_count(net->bans, net_now_s());
	if (net->ban_path[0] != '\0' && access(net->ban_path, F_OK) == 0) {
		if (ban_load(net->bans, net->ban_path, net_now_s(),
		    &skipped) == -1)
			log_warn("net", "cannot read the bans in %s: %s: not "
			    "imported", net->ban_path, strerror(errno));
		else {
			if (skipped > 0)
				log_warn("net", "%s: %zu line%s skipped (not a "
				    "ban)", net->ban_path, skipped,
				    skipped == 1 ? "" : "s");
			net->bans_dirty = 1;
			net_bans_save(net);
			log_info("net", "%zu bans imported into the store from "
			    "%s, renamed %s%s", ban_count(net->bans,
			    net_now_s()) - before, net->ban_path, done,
			    rename(net->ban_path, done) == -1 ? " (rename "
			    "failed: it will be read again)" : "");
		}
	}
	if (ban_count(net->bans, net_now_s()) > 0)
		log_info("net", "%zu ban%s in force", ban_count(net->bans,
		    net_now_s()), ban_count(net->bans, net_now_s()) == 1 ? "" :
		    "s");
}

struct net *
net_new(struct node *n)
{
	struct net *net = xcalloc(1, sizeof(*net));

	net->node = n;
	net->port = n->cfg->listen.port;
	net->shape.delay_us = n->cfg->link_delay_us;
	net->shape.jitter_us = n->cfg->link_jitter_us;
	net->shape.rate_bps = n->cfg->link_rate_bps;
	TAILQ_INIT(&net->peers);
	TAILQ_INIT(&net->dead);
	TAILQ_INIT(&net->targets);
	net->book = addrbook_new(n->node_pk, NET_BOOK_MAX);
	net->reaper = event_new(n->base, -1, 0, net_reapcb, net);
	net->maint = event_new(n->base, -1, EV_PERSIST, net_maintcb, net);
	net->accept_resume = evtimer_new(n->base, net_accept_resumecb, net);
	net->inb = inbound_new(n->cfg->handshake_rate, n->cfg->handshake_rate_per_ip);
	net->bans = ban_new();
	return net;
}

void
net_set_handler(struct net *net, const struct net_handler *h)
{
	net->handler = *h;
}

/* True if host is an IPv4 or IPv6 literal (an IPv6 zone allowed), not a name. */
static int
net_host_is_literal(const char *host)
{
	char buf[ADDR_HOST_MAX], *pct;
	uint8_t a[16];

	snprintf(buf, sizeof(buf), "%s", host);
	if ((pct = strchr(buf, '%')) != NULL)
		*pct = '\0';
	return evutil_inet_pton(AF_INET, buf, a) == 1 ||
	    evutil_inet_pton(AF_INET6, buf, a) == 1;
}

/*
 * A seed resolved: each address (but this node's own) becomes a dial
 * target of that seed's, the targets of addresses gone are let go (a link
 * up stays until it ends), and the maintenance dials up to --outbound.
 */
static void
net_on_seed(struct seed *s, const struct addr *addrs, size_t n, void *arg)
{
	struct net *net = arg;
	struct net_target *t;
	size_t i;
	int found;

	if (net->shutdown)
		return;
	TAILQ_FOREACH(t, &net->targets, entry)
		if (t->seed == s)
			t->seed = NULL;
	for (i = 0; i < n; i++) {
		if (addrbook_is_self(net->book, addrs[i].host, addrs[i].port))
			continue;
		found = 0;
		TAILQ_FOREACH(t, &net->targets, entry)
			if (t->port == addrs[i].port &&
			    strcmp(t->host, addrs[i].host) == 0) {
				/* Another seed's, or --peer's, or the book's: adopt it. */
				if (t->seed == NULL && !t->persistent)
					t->seed = s;
				found = 1;
			}
		if (!found) {
			t = net_target_new(net, addrs[i].host, addrs[i].port, 0);
			t->seed = s;
		}
	}
	event_active(net->maint, 0, 0);
}

int
net_start(struct net *net)
{
	struct node *n = net->node;
	struct evutil_addrinfo hints, *res = NULL;
	char port[8];
	size_t i;
	int rc;
	struct net_target *t;
	struct timeval sec = { 1, 0 };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct addr bound;
	char addr[ADDR_STR_MAX];

	event_add(net->maint, &sec);
	net->dns = evdns_base_new(n->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (net->dns == NULL) {
		log_warn("net", "no DNS configuration (/etc/resolv.conf): only "
		    "/etc/hosts names and addresses will resolve");
		net->dns = evdns_base_new(n->base, 0);
		if (net->dns != NULL)
			evdns_base_load_hosts(net->dns, NULL);
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", n->cfg->listen.port);
	rc = evutil_getaddrinfo(n->cfg->listen.host[0] ? n->cfg->listen.host : NULL,
	    port, &hints, &res);
	if (rc != 0 || res == NULL) {
		log_error("net", "cannot listen on %s:%u (%s): %s", n->cfg->listen.host,
		    n->cfg->listen.port, config_source(n->cfg, "listen"),
		    evutil_gai_strerror(rc));
		return -1;
	}
	net->lis = evconnlistener_new_bind(n->base, net_acceptcb, net,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    res->ai_addr, (int)res->ai_addrlen);
	evutil_freeaddrinfo(res);
	if (net->lis == NULL) {
		log_error("net", "cannot listen on %s:%u (%s): %s", n->cfg->listen.host,
		    n->cfg->listen.port, config_source(n->cfg, "listen"),
		    strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(net->lis, net_listen_errorcb);
	memset(&ss, 0, sizeof(ss));
	sslen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(net->lis), (struct sockaddr *)&ss,
	    &sslen) == 0 && addr_from_sockaddr(&bound, (struct sockaddr *)&ss) == 0)
		net->port = bound.port;
	bound = n->cfg->listen;
	bound.port = net->port;
	addr_str(&bound, addr, sizeof(addr));
	log_info("net", "listening on %s", addr);

	/* The last good peers first: a restarted node finds its network again. */
	net_dial_stored(net);
	for (i = 0; i < n->cfg->npeers; i++) {
		/* A name is a DNS seed: each of its addresses is a target (seed.h). */
		if (!net_host_is_literal(n->cfg->peers[i].host)) {
			net->seeds[net->nseeds] = seed_new(n->base,
			    n->cfg->peers[i].host, n->cfg->peers[i].port,
			    n->cfg->resolv_hosts[0] != '\0' ? n->cfg->resolv_hosts :
			    NULL, net_on_seed, net);
			seed_start(net->seeds[net->nseeds++]);
			continue;
		}
		t = net_target_new(net, n->cfg->peers[i].host, n->cfg->peers[i].port, 1);
		net_target_dial(t);
	}
	return 0;
}

/* Keeps t for good (redialled with backoff) and dials it now if idle. */
static void
net_target_keep(struct net_target *t)
{
	t->persistent = 1;
	if (t->peer == NULL) {
		event_del(t->timer);
		net_target_dial(t);
	}
}

int
net_connect(struct net *net, const char *hostport, char *err, size_t errlen)
{
	struct addr a;
	struct net_target *t, *found;
	unsigned napi;

	if (addr_parse(&a, hostport, ADDR_NOPORT0, err, errlen) == -1)
		return -1;
	napi = 0;
	found = NULL;
	TAILQ_FOREACH(t, &net->targets, entry) {
		if (strcasecmp(t->host, a.host) == 0 && t->port == a.port)
			found = t;
		else if (t->api && t->persistent)
			napi++;
	}
	/* Already kept for good (--peer, or added before): nothing new. */
	if (found != NULL && found->persistent) {
		net_target_keep(found);
		return 0;
	}
	if (napi >= NET_API_TARGETS_MAX) {
		snprintf(err, errlen, "already %u peers added through the API, the "
		    "most a node keeps (disconnect some or restart the node)",
		    NET_API_TARGETS_MAX);
		return -1;
	}
	/* A dial from peer exchange becomes one the operator asked for. */
	if (found != NULL) {
		found->api = 1;
		net_target_keep(found);
		return 0;
	}
	t = net_target_new(net, a.host, a.port, 1);
	t->api = 1;
	log_info("net", "connecting to %s:%u (API request)", a.host, a.port);
	net_target_dial(t);
	return 0;
}

int
net_disconnect(struct net *net, const char *node_id_hex, const char *reason)
{
	struct peer *p;
	struct addrbook_entry *a;

	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->state == PEER_ACTIVE &&
		    strcasecmp(p->remote_hex, node_id_hex) == 0) {
			if (p->net->target != NULL)
				p->net->target->persistent = 0;
			/* Peer exchange must not undo the operator's disconnect at once. */
			if ((a = addrbook_find(net->book, p->remote_pk)) != NULL)
				a->next_try_ms = now_ms() + NET_DISCONNECT_HOLD_MS;
			peer_close(p, reason);
			return 0;
		}
	return -1;
}

void
net_peers_foreach(struct net *net, void (*fn)(const struct peer_info *, void *),
    void *arg)
{
	struct peer *p;
	struct peer_info pi;

	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->state == PEER_ACTIVE) {
			peer_info(p, &pi);
			fn(&pi, arg);
		}
}

uint16_t
net_listen_port(const struct net *net)
{
	return net->port;
}

void
net_peer_counts(struct net *net, unsigned *inbound, unsigned *outbound)
{
	struct peer *p;

	*inbound = *outbound = 0;
	TAILQ_FOREACH(p, &net->peers, entry)
		if (p->state == PEER_ACTIVE) {
			if (p->outbound)
				(*outbound)++;
			else
				(*inbound)++;
		}
}

void
net_shutdown(struct net *net, const char *reason)
{
	struct peer *p;
	struct net_target *t;

	if (net == NULL || net->shutdown)
		return;
	net->shutdown = 1;
	if (net->lis != NULL) {
		evconnlistener_free(net->lis);
		net->lis = NULL;
	}
	event_del(net->maint);
	event_del(net->accept_resume);
	while (net->nseeds > 0)
		seed_free(net->seeds[--net->nseeds]);
	TAILQ_FOREACH(t, &net->targets, entry) {
		t->persistent = 0;
		t->seed = NULL;
		event_del(t->timer);
	}
	while ((p = TAILQ_FIRST(&net->peers)) != NULL)
		peer_close(p, reason);
}

void
net_free(struct net *net)
{
	struct net_target *t;

	if (net == NULL)
		return;
	net_shutdown(net, "shutting down");
	while ((t = TAILQ_FIRST(&net->targets)) != NULL)
		net_target_free(t);
	addrbook_free(net->book);
	net_reapcb(-1, 0, net);
	net_bans_save(net);
	ban_free(net->bans);
	inbound_free(net->inb);
	event_free(net->reaper);
	event_free(net->maint);
	event_free(net->accept_resume);
	/*
	 * A dial still resolving its host name holds its bufferevent: failing
	 * the lookups and letting their (deferred) callbacks run releases them.
	 */
	if (net->dns != NULL) {
		evdns_base_free(net->dns, 1);
		event_base_loop(net->node->base, EVLOOP_NONBLOCK);
	}
	free(net->cut);
	free(net);
}

/* --- partitions and link shaping, on purpose ------------------------------ */

size_t
net_partition(struct net *net, const uint8_t (*ids)[TX_PK_LEN], size_t n)
{
	struct peer	*p, *next;
	size_t		 i, closed = 0;

	free(net->cut);
	net->cut = NULL;
	net->ncut = 0;
	if (n > 0) {
		net->cut = xcalloc(n, TX_PK_LEN);
		for (i = 0; i < n; i++)
			if (!net_is_cut(net, ids[i]))
				memcpy(net->cut[net->ncut++], ids[i], TX_PK_LEN);
	}
	for (p = TAILQ_FIRST(&net->peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state == PEER_CLOSED || !channel_established(p->ch) ||
		    !net_is_cut(net, p->remote_pk))
			continue;
		peer_close(p, "partitioned: this node is cut off from it");
		closed++;
	}
	log_info("net", "partition: %zu node%s cut off, %zu link%s closed",
	    net->ncut, net->ncut == 1 ? "" : "s", closed, closed == 1 ? "" : "s");
	return closed;
}

void
net_heal(struct net *net)
{
	struct net_target	*t;
	struct addrbook_entry	*a;
	size_t			 n = net->ncut;

	for (a = addrbook_first(net->book); a != NULL; a = addrbook_next(a))
		if (net_is_cut(net, a->node_id)) {
			a->failures = 0;
			a->next_try_ms = 0;
		}
	free(net->cut);
	net->cut = NULL;
	net->ncut = 0;
	/* What the partition held back (or a dial failed meanwhile) is dialled now. */
	TAILQ_FOREACH(t, &net->targets, entry)
		if (t->persistent && t->peer == NULL) {
			t->failures = 0;
			net_target_schedule(t, 0);
		} else if (t->seed != NULL && t->peer == NULL) {
			t->failures = 0;
			t->next_try_ms = 0;
		}
	if (!net->shutdown)
		event_active(net->maint, 0, 0);
	log_info("net", "partition healed: %zu node%s no longer cut off", n,
	    n == 1 ? "" : "s");
}

size_t
net_cut_list(const struct net *net, const uint8_t (**ids)[TX_PK_LEN])
{
	*ids = (const uint8_t (*)[TX_PK_LEN])net->cut;
	return net->ncut;
}

void
net_link_get(const struct net *net, struct link_shape *s)
{
	*s = net->shape;
}

int
net_link_set(struct net *net, const struct link_shape *s, char *err,
    size_t errlen)
{
	char	a[32], b[32];

	if (s->delay_us > CONFIG_LINK_DELAY_MAX_US || s->jitter_us > CONFIG_LINK_DELAY_MAX_US) {
		units_duration_str(a, sizeof(a), CONFIG_LINK_DELAY_MAX_US);
		snprintf(err, errlen, "delay and jitter must be at most %s", a);
		return -1;
	}
	if (s->rate_bps != 0 && (s->rate_bps < CONFIG_LINK_RATE_MIN_BPS ||
	    s->rate_bps > CONFIG_LINK_RATE_MAX_BPS)) {
		units_rate_str(a, sizeof(a), CONFIG_LINK_RATE_MIN_BPS);
		units_rate_str(b, sizeof(b), CONFIG_LINK_RATE_MAX_BPS);
		snprintf(err, errlen, "rate must be 0 (no cap) or %s..%s", a, b);
		return -1;
	}
	net->shape = *s;
	return 0;
}

/* --- The last good peers, kept in the store ----------------------------- */

#define NET_STORED_MAX		256	/* peers read back at start */
#define NET_STORED_TTL_MS	(30ULL * 24 * 3600 * 1000)	/* forgotten after */

void
net_set_store(struct net *net, struct store *s)
{
	net->store = s;
	net_bans_load(net);
}

/*
 * A peer we dialled proved good: its address is kept (committed with the
 * next batch).  At most NET_STORED_MAX are read back; the rest are
 * forgotten then, so the db stays bounded by the addresses dialled.
 */
static void
net_store_peer(struct net *net, struct addr *pa, uint16_t port)
{
	char	addr[ADDR_STR_MAX];

	if (net->store == NULL)
		return;
	pa->port = port;
	addr_str(pa, addr, sizeof(addr));
	if (store_peer_put(net->store, addr, now_ms()) == -1)
		log_warn("net", "peer %s not kept: %s", addr,
		    store_error(net->store));
}

struct net_stored {
	char		addr[STORE_PEER_MAX];
	uint64_t	seen_ms;
};

struct net_stored_list {
	struct net_stored v[NET_STORED_MAX];
	size_t		n;
	uint64_t	cutoff;
	char		(*del)[STORE_PEER_MAX];	/* forgotten after the walk */
	size_t		ndel, delcap;
};

/* Notes addr to be deleted once the walk is over (no write inside it). */
static void
net_stored_forget(struct net_stored_list *l, const char *addr)
{
	if (l->ndel == l->delcap) {
		l->delcap = l->delcap == 0 ? 64 : 2 * l->delcap;
		l->del = xrealloc(l->del, l->delcap * sizeof(*l->del));
	}
	snprintf(l->del[l->ndel++], STORE_PEER_MAX, "%s", addr);
}

static int
net_stored_collect(const char *addr, uint64_t seen_ms, void *arg)
{
	struct net_stored_list	*l = arg;
	size_t			 i, min = 0;

	if (seen_ms < l->cutoff) {
		net_stored_forget(l, addr);
		return 0;
	}
	if (l->n == NET_STORED_MAX) {
		/* Full: the newest are kept, the others forgotten (a bounded db). */
		for (i = 1; i < l->n; i++)
			if (l->v[i].seen_ms < l->v[min].seen_ms)
				min = i;
		if (l->v[min].seen_ms >= seen_ms) {
			net_stored_forget(l, addr);
			return 0;
		}
		net_stored_forget(l, l->v[min].addr);
		i = min;
	} else
		i = l->n++;
	snprintf(l->v[i].addr, sizeof(l->v[i].addr), "%s", addr);
	l->v[i].seen_ms = seen_ms;
	return 0;
}

static int
net_stored_cmp(const void *x, const void *y)
{
	const struct net_stored	*a = x, *b = y;

	return a->seen_ms > b->seen_ms ? -1 : a->seen_ms < b->seen_ms;
}

/*
 * Dials the last good peers the store kept, the most recently seen first,
 * up to --outbound (with peer exchange; without it the node keeps to its
 * --peer list).  They are also booked, so that the maintenance keeps
 * trying them.
 */
static void
net_dial_stored(struct net *net)
{
	struct node		*n = net->node;
	struct net_stored_list	*l;
	struct net_target	*t;
	struct addr		 a;
	char			 err[128];
	size_t			 i, j, dialled = 0;
	int			 skip;

	if (net->store == NULL || !n->cfg->peer_exchange || n->cfg->outbound == 0)
		return;
	l = xcalloc(1, sizeof(*l));
	l->cutoff = now_ms() > NET_STORED_TTL_MS ? now_ms() - NET_STORED_TTL_MS : 0;
	if (store_peer_each(net->store, net_stored_collect, l) == -1)
		log_warn("net", "last good peers not read: %s",
		    store_error(net->store));
	for (i = 0; i < l->ndel; i++)
		(void)store_peer_del(net->store, l->del[i]);
	free(l->del);
	qsort(l->v, l->n, sizeof(l->v[0]), net_stored_cmp);
	for (i = 0; i < l->n && dialled < n->cfg->outbound; i++) {
		if (addr_parse(&a, l->v[i].addr, ADDR_NOPORT0, err,
		    sizeof(err)) == -1 || addrbook_is_self(net->book, a.host, a.port))
			continue;
		for (j = 0, skip = 0; j < n->cfg->npeers; j++)
			if (strcasecmp(n->cfg->peers[j].host, a.host) == 0 &&
			    n->cfg->peers[j].port == a.port)
				skip = 1;
		if (skip)
			continue;
		log_info("net", "dialling %s, a good peer %llu s ago (store)",
		    l->v[i].addr, (unsigned long long)((now_ms() -
		    l->v[i].seen_ms) / 1000));
		t = net_target_new(net, a.host, a.port, 0);
		net_target_dial(t);
		dialled++;
	}
	if (l->n > 0)
		log_info("net", "%zu last good peers in the store, %zu dialled "
		    "first", l->n, dialled);
	free(l);
}
