/*
 * inbound.c: handshake token buckets and the choice of an inbound peer to
 * push out (inbound.h).  Loop thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "p2p/inbound.h"

/* Tokens in thousandths, so that a rate of 1 a second refills smoothly. */
struct inbound_bucket {
	uint64_t	milli;		/* tokens x 1000 */
	uint64_t	at_ms;		/* when milli was last brought up to date */
};

struct inbound_ip {
	uint8_t		ip[BAN_IP_LEN];
	int		used;
	struct inbound_bucket b;
};

struct inbound {
	unsigned	rate, rate_ip;
	struct inbound_bucket global;
	struct inbound_ip ips[INBOUND_IP_BUCKETS];
};

struct inbound *
inbound_new(unsigned rate, unsigned rate_ip)
{
	struct inbound	*in = xcalloc(1, sizeof(*in));

	in->rate = rate;
	in->rate_ip = rate_ip;
	/* A bucket holds one second's worth, and starts full. */
	in->global.milli = (uint64_t)rate * 1000;
	return in;
}

void
inbound_free(struct inbound *in)
{
	free(in);
}

/* Refills b at rate a second (capacity: rate) up to now. */
static void
inbound_refill(struct inbound_bucket *b, unsigned rate, uint64_t now)
{
	uint64_t	cap = (uint64_t)rate * 1000;

	if (now > b->at_ms) {
		b->milli += (now - b->at_ms) * rate;
		if (b->milli > cap)
			b->milli = cap;
	}
	b->at_ms = now;
}

/*
 * The bucket of ip: its own, a free one, or the one that has refilled the
 * most (a full bucket says no more than a new one).
 */
static struct inbound_bucket *
inbound_ip_bucket(struct inbound *in, const uint8_t ip[BAN_IP_LEN], uint64_t now)
{
	struct inbound_ip	*e, *best = NULL;
	size_t			 i;

	for (i = 0; i < INBOUND_IP_BUCKETS; i++) {
		e = &in->ips[i];
		if (e->used && memcmp(e->ip, ip, BAN_IP_LEN) == 0)
			return &e->b;
		if (!e->used) {
			if (best == NULL || best->used)
				best = e;
			continue;
		}
		if (best == NULL || (best->used && e->b.at_ms < best->b.at_ms))
			best = e;
	}
	memcpy(best->ip, ip, BAN_IP_LEN);
	best->used = 1;
	best->b.milli = (uint64_t)in->rate_ip * 1000;
	best->b.at_ms = now;
	return &best->b;
}

enum inbound_verdict
inbound_take(struct inbound *in, const uint8_t ip[BAN_IP_LEN], uint64_t now)
{
	struct inbound_bucket	*b = NULL;
	uint64_t		 floor = 1000;

	if (in->rate_ip > 0 && !ban_ip_exempt(ip)) {
		b = inbound_ip_bucket(in, ip, now);
		inbound_refill(b, in->rate_ip, now);
		if (b->milli < 1000)
			return INBOUND_RATE_IP;
		/*
		 * Half of the global bucket is kept for addresses that seldom
		 * connect (theirs is full): many flooding addresses, each
		 * within its own rate, cannot use up the node's whole rate and
		 * keep a restarting peer out.
		 */
		if (b->milli + 1000 <= (uint64_t)in->rate_ip * 1000)
			floor = (uint64_t)in->rate * 1000 / 2 + 1000;
	}
	if (in->rate > 0) {
		inbound_refill(&in->global, in->rate, now);
		if (in->global.milli < floor)
			return INBOUND_RATE;
		in->global.milli -= 1000;
	}
	if (b != NULL)
		b->milli -= 1000;
	return INBOUND_OK;
}

/*
 * True if c[i] may go: unproductive, and not among the oldest quarter of
 * the unproductive ones (k of them), which stay as Bitcoin Core keeps its
 * longest-connected peers: a newcomer that looks busy cannot push out a
 * quiet peer that has been there for long.
 */
static int
inbound_evictable(const struct inbound_cand *c, size_t n, size_t k, size_t i)
{
	size_t	j, older = 0;

	if (c[i].productive_ms != 0)
		return 0;
	for (j = 0; j < n; j++)
		older += c[j].productive_ms == 0 && (c[j].since_ms < c[i].since_ms ||
		    (c[j].since_ms == c[i].since_ms && j < i));
	return older >= k / 4;
}

int
inbound_evict_pick(const struct inbound_cand *c, size_t n, uint64_t now)
{
	size_t		 i, j, k = 0, count, most = 0;
	uint64_t	 last;
	int		 idle = -1, crowd = -1;
	char		*may;

	if (n == 0)
		return -1;
	may = xcalloc(n, 1);
	for (i = 0; i < n; i++)
		k += c[i].productive_ms == 0;
	for (i = 0; i < n; i++)
		may[i] = (char)inbound_evictable(c, n, k, i);
	for (i = 0; i < n; i++) {
		if (!may[i])
			continue;
		/* Idle: nothing relayed for a while (since it came, or since its last frame). */
		last = c[i].last_frame_ms != 0 ? c[i].last_frame_ms : c[i].since_ms;
		if (now > last && now - last >= INBOUND_IDLE_MS &&
		    (idle == -1 || c[i].since_ms >= c[idle].since_ms))
			idle = (int)i;
	}
	if (idle != -1) {
		free(may);
		return idle;
	}
	/*
	 * The newest of the address with the most unproductive peers (n is
	 * at most --max-peers): one address cannot crowd out the others.
	 */
	for (i = 0; i < n; i++) {
		if (!may[i])
			continue;
		for (j = 0, count = 0; j < n; j++)
			count += may[j] && memcmp(c[j].ip, c[i].ip, BAN_IP_LEN) == 0;
		if (count > most || (count == most && crowd != -1 &&
		    c[i].since_ms >= c[crowd].since_ms)) {
			most = count;
			crowd = (int)i;
		}
	}
	free(may);
	return crowd;
}
