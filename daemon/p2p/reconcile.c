/*
 * reconcile.c: set reconciliation with each peer (docs/PROTOCOL.md section
 * 7; the coding is proto/recon.c).  The outbound side of a link initiates:
 * RECON_INIT, then RECON_SYMBOLS batches it asks for with RECON_MORE until
 * its decoder has the difference, then RECON_WANT (the short ids it lacks)
 * and RECON_DONE; the ids only it has it announces itself.  The inbound
 * side answers.  Each side's set is a snapshot of its mempool's ids, taken
 * when the session key is known.  Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/log.h"
#include "base/stats.h"
#include "core/mempool.h"
#include "lib/util.h"
#include "p2p/peer.h"
#include "p2p/reconcile.h"
#include "proto/recon.h"

#define RECON_FIRST_WANT	32	/* symbols asked for first: 0 to ~20 apart */
#define RECON_MORE_MIN		32
/*
 * Symbols one session may use: enough for twice a difference of 100,000
 * (the decoder needs about 1.35 per id), 2.4 MB of symbols at most.
 */
#define RECON_SESSION_SYMBOLS	200000
/* Encoders and decoders alive at once: under 20 MB each at the caps. */
#define RECON_SESSIONS_MAX	8
#define RECON_TIMEOUT_MS	30000	/* a session the other side left */
#define RECON_INIT_WAIT_MS	5000	/* inbound: wait this long for RECON_INIT */
#define RECON_COLL_MAX		1024	/* colliding short ids remembered */
/*
 * A RECON_INIT costs the responder a pass over its mempool (a SipHash an id
 * and the encoder's window): one a second per peer at most, the others are
 * refused.
 */
#define RECON_INIT_GAP_MS	1000

enum recon_state { RS_IDLE = 0, RS_WAIT };

struct reconcile_peer {
	int		 speaks;	/* the peer's HELLO version has it */
	int		 outbound;
	int		 started;	/* a first session ran or the mempool went in full */
	uint64_t	 wait_ms;	/* inbound: full announcement after this */
	uint64_t	 next_ms;	/* outbound: the next periodic round */
	/* Our session as initiator. */
	enum recon_state ist;
	int		 ifirst;	/* the link's first: failure means full */
	uint32_t	 isession;
	uint8_t		 isalt[RECON_SALT_LEN];
	uint8_t		 ikey[RECON_KEY_LEN];
	struct recon_dec *dec;
	uint64_t	*icoll;
	size_t		 incoll;
	size_t		 asked;		/* symbols asked for so far */
	uint32_t	 iset, rset;	/* set sizes: ours at INIT, theirs */
	uint64_t	 ims;		/* last progress */
	uint64_t	 ibytes;	/* bytes of this session, both ways */
	/* The peer's session, which we answer. */
	enum recon_state rst;
	uint32_t	 rsession;
	uint8_t		 rkey[RECON_KEY_LEN];
	uint8_t		 rsalt[RECON_SALT_LEN];
	struct recon_enc *enc;
	uint32_t	 rmine;
	uint64_t	*rcoll;
	size_t		 rncoll;
	uint64_t	*wanted;
	size_t		 nwanted, wantcap;
	uint64_t	 rms;
	uint64_t	 rinit_ms;	/* the last RECON_INIT served */
};

struct reconcile {
	struct node	*n;
	struct mempool	*mp;
	struct reconcile_hooks h;
	size_t		 live;		/* encoders and decoders */
	uint32_t	 session;
};

static struct log_limit recon_fail_limit = LOG_LIMIT("gossip",
    "reconciliation fallbacks", 3, 10000);

static const char *const recon_result_str[STATS_RECON_RESULTS] = {
	"ok", "failed", "refused", "timeout"
};

int
reconcile_is_frame(uint8_t type)
{
	return type >= FRAME_RECON_INIT && type <= FRAME_RECON_DONE;
}

/* Sends a RECON_* frame to p and counts it.  Returns 0, or -1 (p closed). */
static int
reconcile_send(struct reconcile_peer *rp, struct peer *p, uint8_t type,
    const struct frame_recon *fr)
{
	static uint8_t	buf[FRAME_MAX_PAYLOAD];
	size_t		len;

	len = frame_recon_encode(type, fr, buf, sizeof(buf));
	if (len == 0) {
		peer_close(p, "internal error: reconciliation frame not encodable");
		return -1;
	}
	stats.recon_bytes_sent += FRAME_HDR_LEN + len;
	rp->ibytes += FRAME_HDR_LEN + len;
	return peer_send(p, type, buf, len);
}

/* --- sets --------------------------------------------------------------- */

struct recon_collect {
	const uint8_t	*key;
	uint64_t	*s;
	size_t		 n, cap;
};

static int
reconcile_collect_one(const struct mempool_entry *e, void *arg)
{
	struct recon_collect *c = arg;

	if (c->n == c->cap)
		return 1;
	c->s[c->n++] = recon_short_id(c->key, e->id);
	return 0;
}

/*
 * The short ids of the mempool under key, unique ones first (*n of them,
 * sorted); those that collide go to *coll (caller frees both).  Returns
 * -1 if the mempool is too big to reconcile.
 */
static int
reconcile_set(struct reconcile *rc, const uint8_t key[RECON_KEY_LEN],
    uint64_t **s, size_t *n, uint64_t **coll, size_t *ncoll)
{
	struct recon_collect c;
	size_t		count = mempool_count(rc->mp), nc;

	if (count > RECON_SET_MAX)
		return -1;
	c.key = key;
	c.cap = count;
	c.n = 0;
	c.s = xcalloc(count + 1, sizeof(*c.s));
	mempool_walk(rc->mp, NULL, count, reconcile_collect_one, &c);
	*coll = xcalloc(RECON_COLL_MAX, sizeof(**coll));
	*n = recon_split(c.s, c.n, *coll, RECON_COLL_MAX, &nc);
	*ncoll = nc < RECON_COLL_MAX ? nc : RECON_COLL_MAX;
	*s = c.s;
	return 0;
}

static int
reconcile_cmp64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct recon_pick {
	struct reconcile *rc;
	struct peer	*p;
	const uint8_t	*key;
	const uint64_t	*a, *b;		/* sorted */
	size_t		 na, nb, found;
};

static int
reconcile_pick_one(const struct mempool_entry *e, void *arg)
{
	struct recon_pick *k = arg;
	uint64_t	s;

	s = recon_short_id(k->key, e->id);
	if ((k->na > 0 && bsearch(&s, k->a, k->na, sizeof(s),
	    reconcile_cmp64) != NULL) || (k->nb > 0 && bsearch(&s, k->b, k->nb,
	    sizeof(s), reconcile_cmp64) != NULL)) {
		k->rc->h.announce(k->p, e->id, k->rc->h.arg);
		k->found++;
	}
	return k->p->state != PEER_ACTIVE;
}

/*
 * Announces to p the mempool's ids whose short id under key is in a or in
 * b (each sorted here).  Returns how many.
 */
static size_t
reconcile_announce(struct reconcile *rc, struct peer *p,
    const uint8_t key[RECON_KEY_LEN], uint64_t *a, size_t na, uint64_t *b,
    size_t nb)
{
	struct recon_pick k = { rc, p, key, a, b, na, nb, 0 };

	if (na + nb == 0)
		return 0;
	if (na > 0)
		qsort(a, na, sizeof(*a), reconcile_cmp64);
	if (nb > 0)
		qsort(b, nb, sizeof(*b), reconcile_cmp64);
	mempool_walk(rc->mp, NULL, mempool_count(rc->mp), reconcile_pick_one, &k);
	if (p->state == PEER_ACTIVE)
		rc->h.flush(p, rc->h.arg);
	return k.found;
}

/* --- our session (initiator) --------------------------------------------- */

static void
reconcile_ini_clear(struct reconcile *rc, struct reconcile_peer *rp)
{
	if (rp->dec != NULL) {
		recon_dec_free(rp->dec);
		rp->dec = NULL;
		rc->live--;
	}
	free(rp->icoll);
	rp->icoll = NULL;
	rp->incoll = 0;
	rp->ist = RS_IDLE;
}

/* Our session with p ended with result; a failed first one falls back to full. */
static void
reconcile_ini_end(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, enum stats_recon result, const char *why)
{
	int	first = rp->ifirst;

	stats.recon_sessions[result]++;
	reconcile_ini_clear(rc, rp);
	rp->next_ms = now_ms() + rc->n->cfg->recon_interval_us / 1000;
	if (result == STATS_RECON_OK)
		return;
	if (result == STATS_RECON_FAILED || first) {
		stats.recon_fallbacks++;
		log_limited(&recon_fail_limit, LOG_INFO, "reconciliation with %s "
		    "%s (%s): announcing the whole mempool", peer_label(p),
		    recon_result_str[result], why);
		if (p->state == PEER_ACTIVE)
			rc->h.full(p, rc->h.arg);
	} else
		log_debug("gossip", "reconciliation with %s %s (%s)",
		    peer_label(p), recon_result_str[result], why);
}

/* Starts our session with p: RECON_INIT.  first: the link is new. */
static void
reconcile_start(struct reconcile *rc, struct peer *p, struct reconcile_peer *rp,
    int first)
{
	struct frame_recon fr;
	size_t		count = mempool_count(rc->mp);

	if (rp->ist != RS_IDLE)
		return;
	rp->ifirst = first;
	rp->started = 1;
	if (rc->live >= RECON_SESSIONS_MAX || count > RECON_SET_MAX) {
		rp->ist = RS_WAIT;	/* for reconcile_ini_end's bookkeeping */
		reconcile_ini_end(rc, p, rp, STATS_RECON_REFUSED,
		    count > RECON_SET_MAX ? "mempool too big" :
		    "too many sessions");
		return;
	}
	memset(&fr, 0, sizeof(fr));
	rp->isession = ++rc->session;
	randombytes_buf(rp->isalt, sizeof(rp->isalt));
	rp->iset = (uint32_t)count;
	rp->asked = RECON_FIRST_WANT;
	rp->ist = RS_WAIT;
	rp->ims = now_ms();
	rp->ibytes = 0;
	fr.session = rp->isession;
	memcpy(fr.salt, rp->isalt, sizeof(fr.salt));
	fr.set_size = rp->iset;
	fr.count = RECON_FIRST_WANT;
	reconcile_send(rp, p, FRAME_RECON_INIT, &fr);
}

/* Decoded: RECON_WANT what we lack, announce what p lacks, RECON_DONE. */
static int
reconcile_ini_finish(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp)
{
	struct frame_recon fr;
	const uint64_t	*ro, *lo;
	uint64_t	*mine;
	uint8_t		 buf[8 * FRAME_RECON_BATCH_MAX];
	size_t		 nro, nlo, off, k, i, j, sent;

	ro = recon_dec_remote(rp->dec, &nro);
	lo = recon_dec_local(rp->dec, &nlo);
	memset(&fr, 0, sizeof(fr));
	fr.session = rp->isession;
	for (off = 0; off < nro; off += k) {
		k = nro - off < FRAME_RECON_BATCH_MAX ? nro - off :
		    FRAME_RECON_BATCH_MAX;
		for (i = 0; i < k; i++)
			for (j = 0; j < 8; j++)
				buf[8 * i + j] = (uint8_t)(ro[off + i] >> (56 - 8 * j));
		fr.count = (uint16_t)k;
		fr.data = buf;
		if (reconcile_send(rp, p, FRAME_RECON_WANT, &fr) == -1)
			return -1;
	}
	fr.count = 0;
	fr.data = NULL;
	fr.result = FRAME_RECON_OK;
	if (reconcile_send(rp, p, FRAME_RECON_DONE, &fr) == -1)
		return -1;
	mine = xcalloc(nlo + 1, sizeof(*mine));
	if (nlo > 0)
		memcpy(mine, lo, nlo * sizeof(*mine));
	sent = reconcile_announce(rc, p, rp->ikey, mine, nlo, rp->icoll,
	    rp->incoll);
	free(mine);
	stats.recon_diff += nro + nlo;
	log_debug("gossip", "reconciled with %s: %zu symbols, %llu bytes; it "
	    "lacks %zu (%zu announced with %zu colliding), we lack %zu",
	    peer_label(p), recon_dec_symbols(rp->dec),
	    (unsigned long long)rp->ibytes, nlo, sent, rp->incoll, nro);
	reconcile_ini_end(rc, p, rp, STATS_RECON_OK, "decoded");
	return p->state == PEER_ACTIVE ? 0 : -1;
}

static int
reconcile_on_symbols(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame_recon *fr)
{
	static struct recon_symbol c[FRAME_RECON_BATCH_MAX];
	struct frame_recon more;
	uint64_t	*s;
	size_t		 n, got, want, est, i;

	if (rp->ist != RS_WAIT || fr->session != rp->isession)
		return 0;	/* a session we gave up on */
	got = rp->dec != NULL ? recon_dec_symbols(rp->dec) : 0;
	if (fr->first != got || fr->count > rp->asked - got) {
		peer_close(p, "protocol error: RECON_SYMBOLS out of order or "
		    "not asked for");
		return -1;
	}
	if (rp->dec == NULL) {
		if (rc->live >= RECON_SESSIONS_MAX) {
			memset(&more, 0, sizeof(more));
			more.session = rp->isession;
			more.result = FRAME_RECON_REFUSED;
			if (reconcile_send(rp, p, FRAME_RECON_DONE, &more) == -1)
				return -1;
			reconcile_ini_end(rc, p, rp, STATS_RECON_REFUSED,
			    "too many sessions");
			return p->state == PEER_ACTIVE ? 0 : -1;
		}
		recon_key(rp->ikey, rp->isalt, fr->salt);
		if (reconcile_set(rc, rp->ikey, &s, &n, &rp->icoll,
		    &rp->incoll) == -1) {
			reconcile_ini_end(rc, p, rp, STATS_RECON_REFUSED,
			    "mempool too big");
			return p->state == PEER_ACTIVE ? 0 : -1;
		}
		rp->dec = recon_dec_new(rp->ikey, s, n, RECON_SESSION_SYMBOLS);
		free(s);
		rc->live++;
		rp->rset = fr->set_size;
	}
	for (i = 0; i < fr->count; i++)
		recon_symbol_get(&c[i], fr->data + i * FRAME_RECON_SYMBOL_LEN);
	if (recon_dec_add(rp->dec, c, fr->count) == -1) {
		memset(&more, 0, sizeof(more));
		more.session = rp->isession;
		more.result = FRAME_RECON_FAILED;
		if (reconcile_send(rp, p, FRAME_RECON_DONE, &more) == -1)
			return -1;
		reconcile_ini_end(rc, p, rp, STATS_RECON_FAILED,
		    "the symbols do not decode");
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	rp->ims = now_ms();
	if (recon_dec_done(rp->dec))
		return reconcile_ini_finish(rc, p, rp);
	got = recon_dec_symbols(rp->dec);
	if (got < rp->asked)
		return 0;	/* more of what we asked for is coming */
	if (got >= RECON_SESSION_SYMBOLS) {
		memset(&more, 0, sizeof(more));
		more.session = rp->isession;
		more.result = FRAME_RECON_FAILED;
		if (reconcile_send(rp, p, FRAME_RECON_DONE, &more) == -1)
			return -1;
		reconcile_ini_end(rc, p, rp, STATS_RECON_FAILED,
		    "not decoded within the symbol cap");
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	/*
	 * Ask for an eighth more, a sixteenth past 2,048 (so at most that
	 * much is wasted, for about 35 + 30 round trips to a difference of
	 * 10,000), or what the set sizes say at least remains: the
	 * difference is at least their gap, and takes about 1.35 symbols an
	 * id (1.25 asked at once, the rest in steps).
	 */
	want = got < 2048 ? got / 8 : got / 16;
	est = rp->iset > rp->rset ? rp->iset - rp->rset : rp->rset - rp->iset;
	est = est + est / 4;
	if (est > got && est - got > want)
		want = est - got;
	if (want < RECON_MORE_MIN)
		want = RECON_MORE_MIN;
	if (want > FRAME_RECON_BATCH_MAX)
		want = FRAME_RECON_BATCH_MAX;
	if (want > RECON_SESSION_SYMBOLS - got)
		want = RECON_SESSION_SYMBOLS - got;
	memset(&more, 0, sizeof(more));
	more.session = rp->isession;
	more.count = (uint16_t)want;
	rp->asked = got + want;
	return reconcile_send(rp, p, FRAME_RECON_MORE, &more);
}

/* --- the peer's session (responder) --------------------------------------- */

static void
reconcile_resp_clear(struct reconcile *rc, struct reconcile_peer *rp)
{
	if (rp->enc != NULL) {
		recon_enc_free(rp->enc);
		rp->enc = NULL;
		rc->live--;
	}
	free(rp->rcoll);
	rp->rcoll = NULL;
	rp->rncoll = 0;
	free(rp->wanted);
	rp->wanted = NULL;
	rp->nwanted = rp->wantcap = 0;
	rp->rst = RS_IDLE;
}

/* Sends the next count symbols of the peer's session. */
static int
reconcile_send_symbols(struct reconcile_peer *rp, struct peer *p, size_t count)
{
	static struct recon_symbol c[FRAME_RECON_BATCH_MAX];
	static uint8_t	buf[FRAME_RECON_BATCH_MAX * FRAME_RECON_SYMBOL_LEN];
	struct frame_recon fr;
	size_t		i;

	memset(&fr, 0, sizeof(fr));
	fr.session = rp->rsession;
	memcpy(fr.salt, rp->rsalt, sizeof(fr.salt));
	fr.set_size = rp->rmine;
	fr.first = (uint32_t)recon_enc_produced(rp->enc);
	fr.count = (uint16_t)count;
	recon_enc_next(rp->enc, c, count);
	for (i = 0; i < count; i++)
		recon_symbol_put(buf + i * FRAME_RECON_SYMBOL_LEN, &c[i]);
	fr.data = buf;
	rp->rms = now_ms();
	return reconcile_send(rp, p, FRAME_RECON_SYMBOLS, &fr);
}

static int
reconcile_on_init(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame_recon *fr)
{
	struct frame_recon done;
	uint64_t	*s;
	size_t		 n;
	int		 first = !rp->started;

	rp->started = 1;
	reconcile_resp_clear(rc, rp);	/* a new session replaces the last */
	memset(&done, 0, sizeof(done));
	done.session = fr->session;
	done.result = FRAME_RECON_REFUSED;
	if (rc->live >= RECON_SESSIONS_MAX ||
	    (rp->rinit_ms != 0 && now_ms() - rp->rinit_ms < RECON_INIT_GAP_MS)) {
		stats.recon_sessions[STATS_RECON_REFUSED]++;
		if (reconcile_send(rp, p, FRAME_RECON_DONE, &done) == -1)
			return -1;
		if (first) {
			stats.recon_fallbacks++;
			rc->h.full(p, rc->h.arg);
		}
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	rp->rinit_ms = now_ms();
	randombytes_buf(rp->rsalt, sizeof(rp->rsalt));
	recon_key(rp->rkey, fr->salt, rp->rsalt);
	if (reconcile_set(rc, rp->rkey, &s, &n, &rp->rcoll, &rp->rncoll) == -1) {
		stats.recon_sessions[STATS_RECON_REFUSED]++;
		reconcile_resp_clear(rc, rp);
		if (reconcile_send(rp, p, FRAME_RECON_DONE, &done) == -1)
			return -1;
		if (first) {
			stats.recon_fallbacks++;
			rc->h.full(p, rc->h.arg);
		}
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	rp->enc = recon_enc_new(rp->rkey, s, n);
	free(s);
	rc->live++;
	rp->rmine = (uint32_t)n;
	rp->rsession = fr->session;
	rp->rst = RS_WAIT;
	return reconcile_send_symbols(rp, p, fr->count);
}

static int
reconcile_on_more(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame_recon *fr)
{
	(void)rc;
	if (rp->rst != RS_WAIT || fr->session != rp->rsession)
		return 0;
	if (recon_enc_produced(rp->enc) + fr->count > RECON_SESSION_SYMBOLS) {
		peer_close(p, "protocol error: RECON_MORE past the session's "
		    "symbol cap");
		return -1;
	}
	return reconcile_send_symbols(rp, p, fr->count);
}

static int
reconcile_on_want(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame_recon *fr)
{
	size_t		i, j;
	uint64_t	v;

	(void)rc;
	if (rp->rst != RS_WAIT || fr->session != rp->rsession)
		return 0;
	/* A decoder finds at most one id per symbol it was sent. */
	if (rp->nwanted + fr->count > recon_enc_produced(rp->enc)) {
		peer_close(p, "protocol error: RECON_WANT of more short ids "
		    "than symbols sent");
		return -1;
	}
	if (rp->nwanted + fr->count > rp->wantcap) {
		rp->wantcap = rp->nwanted + fr->count + 64;
		rp->wanted = xrealloc(rp->wanted, rp->wantcap * sizeof(*rp->wanted));
	}
	for (i = 0; i < fr->count; i++) {
		for (v = 0, j = 0; j < 8; j++)
			v = v << 8 | fr->data[8 * i + j];
		rp->wanted[rp->nwanted++] = v;
	}
	rp->rms = now_ms();
	return 0;
}

static int
reconcile_on_done(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame_recon *fr)
{
	size_t	sent;

	/*
	 * Refused: the responder's answer to our RECON_INIT, or the initiator
	 * giving up on its session before it began (no room for a decoder).
	 */
	if (fr->result == FRAME_RECON_REFUSED) {
		if (rp->ist == RS_WAIT && fr->session == rp->isession)
			reconcile_ini_end(rc, p, rp, STATS_RECON_REFUSED,
			    "refused by the peer");
		else if (rp->rst == RS_WAIT && fr->session == rp->rsession)
			reconcile_resp_clear(rc, rp);
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	if (rp->rst != RS_WAIT || fr->session != rp->rsession)
		return 0;
	if (fr->result == FRAME_RECON_OK) {
		stats.recon_sessions[STATS_RECON_OK]++;
		stats.recon_diff += rp->nwanted;
		sent = reconcile_announce(rc, p, rp->rkey, rp->wanted,
		    rp->nwanted, rp->rcoll, rp->rncoll);
		log_debug("gossip", "reconciled for %s: %llu symbols sent, it "
		    "wanted %zu (%zu announced with %zu colliding)", peer_label(p),
		    (unsigned long long)recon_enc_produced(rp->enc), rp->nwanted,
		    sent, rp->rncoll);
		reconcile_resp_clear(rc, rp);
		return p->state == PEER_ACTIVE ? 0 : -1;
	}
	/* FAILED: the peer announces its mempool; so do we. */
	stats.recon_sessions[STATS_RECON_FAILED]++;
	stats.recon_fallbacks++;
	log_limited(&recon_fail_limit, LOG_INFO, "reconciliation for %s failed "
	    "after %llu symbols: announcing the whole mempool", peer_label(p),
	    (unsigned long long)recon_enc_produced(rp->enc));
	reconcile_resp_clear(rc, rp);
	rc->h.full(p, rc->h.arg);
	return p->state == PEER_ACTIVE ? 0 : -1;
}

int
reconcile_on_frame(struct reconcile *rc, struct peer *p,
    struct reconcile_peer *rp, const struct frame *f)
{
	struct frame_recon fr;
	const char	*err = NULL;
	char		 reason[160];

	stats.recon_bytes_received += FRAME_HDR_LEN + f->len;
	rp->ibytes += FRAME_HDR_LEN + f->len;
	if (!rp->speaks) {
		snprintf(reason, sizeof(reason), "protocol error: %s from a "
		    "version 1 peer", frame_type_str(f->type));
		peer_close(p, reason);
		return -1;
	}
	if (frame_recon_decode(f->type, f->payload, f->len, &fr, &err) == -1) {
		snprintf(reason, sizeof(reason), "protocol error: bad %s: %s",
		    frame_type_str(f->type), err);
		peer_close(p, reason);
		return -1;
	}
	switch (f->type) {
	case FRAME_RECON_INIT:
		return reconcile_on_init(rc, p, rp, &fr);
	case FRAME_RECON_SYMBOLS:
		return reconcile_on_symbols(rc, p, rp, &fr);
	case FRAME_RECON_MORE:
		return reconcile_on_more(rc, p, rp, &fr);
	case FRAME_RECON_WANT:
		return reconcile_on_want(rc, p, rp, &fr);
	case FRAME_RECON_DONE:
		return reconcile_on_done(rc, p, rp, &fr);
	}
	return 0;
}

/* --- peers ------------------------------------------------------------ */

struct reconcile_peer *
reconcile_peer_new(struct reconcile *rc, struct peer *p)
{
	struct reconcile_peer *rp = xcalloc(1, sizeof(*rp));

	(void)rc;
	rp->speaks = p->version >= FRAME_PROTO_RECON;
	rp->started = !rp->speaks;	/* the caller announces in full */
	rp->outbound = p->outbound;
	rp->wait_ms = now_ms() + RECON_INIT_WAIT_MS;
	return rp;
}

void
reconcile_tick(struct reconcile *rc, struct peer *p, struct reconcile_peer *rp,
    uint64_t now)
{
	uint64_t	interval = rc->n->cfg->recon_interval_us / 1000;

	if (p->state != PEER_ACTIVE)
		return;
	if (!rp->speaks)
		return;
	if (rp->ist == RS_WAIT && now - rp->ims > RECON_TIMEOUT_MS) {
		reconcile_ini_end(rc, p, rp, STATS_RECON_TIMEOUT,
		    "no answer for 30 s");
		if (p->state != PEER_ACTIVE)
			return;
	}
	if (rp->rst == RS_WAIT && now - rp->rms > RECON_TIMEOUT_MS) {
		stats.recon_sessions[STATS_RECON_TIMEOUT]++;
		reconcile_resp_clear(rc, rp);
	}
	if (rp->outbound) {
		if (!rp->started)
			reconcile_start(rc, p, rp, 1);
		else if (interval > 0 && rp->ist == RS_IDLE && now >= rp->next_ms)
			reconcile_start(rc, p, rp, 0);
	} else if (!rp->started && now >= rp->wait_ms) {
		/* It speaks reconciliation but did not start: as before. */
		rp->started = 1;
		rc->h.full(p, rc->h.arg);
	}
}

void
reconcile_peer_free(struct reconcile *rc, struct reconcile_peer *rp)
{
	if (rp == NULL)
		return;
	reconcile_ini_clear(rc, rp);
	reconcile_resp_clear(rc, rp);
	free(rp);
}

struct reconcile *
reconcile_new(struct node *n, struct mempool *mp, const struct reconcile_hooks *h)
{
	struct reconcile *rc = xcalloc(1, sizeof(*rc));

	rc->n = n;
	rc->mp = mp;
	rc->h = *h;
	return rc;
}

void
reconcile_free(struct reconcile *rc)
{
	free(rc);
}
