/*
 * recon.c: Rateless IBLT set reconciliation (docs/PROTOCOL.md section 7),
 * after the paper's reference implementation (github.com/yangl1996/riblt),
 * rewritten: short ids are XORed (no counts on the wire), a symbol is pure
 * when its checksum matches the hash of its sum and its index lies on that
 * sum's mapping, and which side a peeled id belongs to is told by looking
 * it up in the local set.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "recon.h"

#define RECON_NEVER	UINT64_MAX	/* an index past every stream */
#define RECON_CHECK(h)	((uint32_t)(h) & 0xffffffu)	/* the checksum: 24 bits */

static const char recon_tag[] = "noded recon v1";

/*
 * Source symbols with their mapping generators, filed by the next index
 * each maps to: indices processed in order, so a calendar of buckets (one
 * list per index in [next, next + RECON_BUCKETS)) and a min-heap for those
 * further ahead.  The encoder's set, the decoder's local set and the ids
 * it peeled are windows.  Arrays grow, never past the owner's bound.
 */
#define RECON_BUCKETS	(1u << 14)
#define RECON_NONE	UINT32_MAX

struct recon_item {
	uint64_t	s, h, prng, idx;
	uint32_t	link;		/* next in its bucket */
};

struct recon_slot {
	uint64_t	idx;
	uint32_t	k;
};

struct recon_win {
	struct recon_item *it;
	size_t		 n, cap;
	uint32_t	*bucket;	/* RECON_BUCKETS list heads, or NULL: empty set */
	struct recon_slot *far;		/* min-heap by idx */
	size_t		 nfar, farcap;
	uint64_t	 next;		/* index of the next symbol to apply */
};

struct recon_enc {
	uint8_t		 key[RECON_KEY_LEN];
	struct recon_win w;
};

struct recon_dec {
	uint8_t		 key[RECON_KEY_LEN];
	struct recon_win local;		/* the local set */
	struct recon_win peeled;	/* ids peeled so far, both sides */
	uint64_t	*mine;		/* local set, sorted, for lookups */
	size_t		 nmine;
	struct recon_symbol *cs;	/* received, minus what is known */
	size_t		 ncs, cscap, max;
	size_t		*stack;		/* indices that may be pure */
	size_t		 nstack, stackcap;
	uint64_t	*lo, *ro;	/* local-only, remote-only */
	size_t		 nlo, nro, locap, rocap;
	int		 broken;	/* peeled more ids than symbols: garbage */
};

static void *
recon_grow(void *p, size_t *cap, size_t want, size_t size)
{
	size_t	n = *cap == 0 ? 64 : *cap;
	void	*q;

	while (n < want)
		n *= 2;
	if ((q = realloc(p, n * size)) == NULL)
		abort();	/* pure layer: allocation failure is fatal, as xmalloc */
	*cap = n;
	return q;
}

static uint64_t
recon_le64(const uint8_t b[8])
{
	uint64_t	v = 0;
	int		i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

void
recon_key(uint8_t key[RECON_KEY_LEN], const uint8_t salt_i[RECON_SALT_LEN],
    const uint8_t salt_r[RECON_SALT_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, RECON_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)recon_tag,
	    sizeof(recon_tag) - 1);
	crypto_generichash_update(&st, salt_i, RECON_SALT_LEN);
	crypto_generichash_update(&st, salt_r, RECON_SALT_LEN);
	crypto_generichash_final(&st, key, RECON_KEY_LEN);
}

uint64_t
recon_short_id(const uint8_t key[RECON_KEY_LEN], const uint8_t id[32])
{
	uint8_t	out[crypto_shorthash_siphash24_BYTES];

	crypto_shorthash_siphash24(out, id, 32, key);
	return recon_le64(out);
}

uint64_t
recon_hash(const uint8_t key[RECON_KEY_LEN], uint64_t s)
{
	uint8_t	in[8], out[crypto_shorthash_siphash24_BYTES];
	int	i;

	for (i = 0; i < 8; i++)
		in[i] = (uint8_t)(s >> (8 * i));
	crypto_shorthash_siphash24(out, in, sizeof(in), key);
	return recon_le64(out);
}

/*
 * The paper's mapping: index i is on a symbol's sequence with probability
 * 1/(1+i/2).  IEEE-754 double arithmetic, as PROTOCOL.md 7.3 spells out;
 * the step is at least 1 and saturates at RECON_NEVER.
 */
uint64_t
recon_map_next(uint64_t *prng, uint64_t last)
{
	/*
	 * Plain binary64 (no x87 excess precision on the targets we build
	 * for); no multiply-add here for a compiler to contract.
	 */
	double		f;
	uint64_t	r, nx;

	r = *prng * 0xda942042e4dd58b5ULL;
	*prng = r;
	if (last == RECON_NEVER)
		return RECON_NEVER;
	f = 4294967296.0 / sqrt((double)r + 1.0);
	f = f - 1.0;
	f = ((double)last + 1.5) * f;
	f = ceil(f);
	if (f < 1.0)
		f = 1.0;
	if (f >= 9223372036854775808.0)
		return RECON_NEVER;
	nx = last + (uint64_t)f;
	if (nx < last)
		return RECON_NEVER;
	return nx;
}

static int
recon_cmp64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t
recon_split(uint64_t *s, size_t n, uint64_t *coll, size_t maxcoll,
    size_t *ncoll)
{
	size_t	i, j, u = 0, c = 0;

	if (n > 0)
		qsort(s, n, sizeof(*s), recon_cmp64);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && s[j] == s[i]; j++)
			;
		if (j - i == 1) {
			s[u++] = s[i];
			continue;
		}
		if (c < maxcoll)
			coll[c] = s[i];
		c++;	/* every copy is left out */
	}
	*ncoll = c;
	return u;
}

void
recon_symbol_put(uint8_t out[RECON_SYMBOL_LEN], const struct recon_symbol *c)
{
	int	i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(c->sum >> (56 - 8 * i));
	for (i = 0; i < 3; i++)
		out[8 + i] = (uint8_t)(c->check >> (16 - 8 * i));
}

void
recon_symbol_get(struct recon_symbol *c, const uint8_t in[RECON_SYMBOL_LEN])
{
	uint64_t	v = 0;
	uint32_t	w = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | in[i];
	for (i = 0; i < 3; i++)
		w = w << 8 | in[8 + i];
	c->sum = v;
	c->check = w;
}

/* --- windows ---------------------------------------------------------- */

static void
recon_win_free(struct recon_win *w)
{
	free(w->it);
	free(w->bucket);
	free(w->far);
	memset(w, 0, sizeof(*w));
}

static void
recon_far_push(struct recon_win *w, uint64_t idx, uint32_t k)
{
	struct recon_slot t;
	size_t		i, p;

	if (w->nfar == w->farcap)
		w->far = recon_grow(w->far, &w->farcap, w->nfar + 1,
		    sizeof(*w->far));
	i = w->nfar++;
	w->far[i].idx = idx;
	w->far[i].k = k;
	while (i > 0) {
		p = (i - 1) / 2;
		if (w->far[p].idx <= w->far[i].idx)
			break;
		t = w->far[p];
		w->far[p] = w->far[i];
		w->far[i] = t;
		i = p;
	}
}

static uint32_t
recon_far_pop(struct recon_win *w)
{
	struct recon_slot t;
	uint32_t	k = w->far[0].k;
	size_t		i = 0, c;

	w->far[0] = w->far[--w->nfar];
	for (;;) {
		c = 2 * i + 1;
		if (c >= w->nfar)
			break;
		if (c + 1 < w->nfar && w->far[c + 1].idx < w->far[c].idx)
			c++;
		if (w->far[i].idx <= w->far[c].idx)
			break;
		t = w->far[c];
		w->far[c] = w->far[i];
		w->far[i] = t;
		i = c;
	}
	return k;
}

/* Files item k by its next index (>= w->next); one past every stream is dropped. */
static void
recon_win_place(struct recon_win *w, uint32_t k)
{
	struct recon_item *x = &w->it[k];
	uint32_t	*head;

	if (x->idx == RECON_NEVER)
		return;
	if (x->idx - w->next < RECON_BUCKETS) {
		head = &w->bucket[x->idx & (RECON_BUCKETS - 1)];
		x->link = *head;
		*head = k;
	} else
		recon_far_push(w, x->idx, k);
}

/* Adds a source symbol whose next index is idx (>= w->next), its generator in prng. */
static void
recon_win_add(struct recon_win *w, uint64_t s, uint64_t h, uint64_t prng,
    uint64_t idx)
{
	uint32_t	i;

	if (w->bucket == NULL) {
		w->bucket = malloc(RECON_BUCKETS * sizeof(*w->bucket));
		if (w->bucket == NULL)
			abort();
		for (i = 0; i < RECON_BUCKETS; i++)
			w->bucket[i] = RECON_NONE;
	}
	if (w->n == w->cap)
		w->it = recon_grow(w->it, &w->cap, w->n + 1, sizeof(*w->it));
	w->it[w->n].s = s;
	w->it[w->n].h = h;
	w->it[w->n].prng = prng;
	w->it[w->n].idx = idx;
	w->n++;
	recon_win_place(w, (uint32_t)(w->n - 1));
}

/* XORs into c every source symbol mapped to index w->next, and moves on. */
static void
recon_win_apply(struct recon_win *w, struct recon_symbol *c)
{
	struct recon_item *x;
	uint32_t	k, nk, *head;

	if (w->bucket != NULL) {
		head = &w->bucket[w->next & (RECON_BUCKETS - 1)];
		k = *head;
		*head = RECON_NONE;
		for (; k != RECON_NONE; k = nk) {
			x = &w->it[k];
			nk = x->link;
			c->sum ^= x->s;
			c->check ^= RECON_CHECK(x->h);
			x->idx = recon_map_next(&x->prng, x->idx);
			recon_win_place(w, k);
		}
	}
	w->next++;
	/* The calendar now reaches one index further. */
	while (w->nfar > 0 && w->far[0].idx - w->next < RECON_BUCKETS)
		recon_win_place(w, recon_far_pop(w));
}

/* Builds a window of the n short ids in s, all first mapped to index 0. */
static int
recon_win_init(struct recon_win *w, const uint8_t key[RECON_KEY_LEN],
    const uint64_t *s, size_t n)
{
	uint64_t	h;
	size_t		i;

	memset(w, 0, sizeof(*w));
	if (n > RECON_SET_MAX)
		return -1;
	if (n > 0)
		w->it = recon_grow(NULL, &w->cap, n, sizeof(*w->it));
	for (i = 0; i < n; i++) {
		h = recon_hash(key, s[i]);
		recon_win_add(w, s[i], h, h, 0);
	}
	return 0;
}

/* --- encoder ---------------------------------------------------------- */

struct recon_enc *
recon_enc_new(const uint8_t key[RECON_KEY_LEN], const uint64_t *s, size_t n)
{
	struct recon_enc *e;

	if (n > RECON_SET_MAX || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	memcpy(e->key, key, RECON_KEY_LEN);
	if (recon_win_init(&e->w, key, s, n) != 0) {
		free(e);
		return NULL;
	}
	return e;
}

void
recon_enc_next(struct recon_enc *e, struct recon_symbol *out, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		out[i].sum = 0;
		out[i].check = 0;
		recon_win_apply(&e->w, &out[i]);
	}
}

uint64_t
recon_enc_produced(const struct recon_enc *e)
{
	return e->w.next;
}

void
recon_enc_free(struct recon_enc *e)
{
	if (e == NULL)
		return;
	recon_win_free(&e->w);
	sodium_memzero(e->key, sizeof(e->key));
	free(e);
}

/* --- decoder ---------------------------------------------------------- */

struct recon_dec *
recon_dec_new(const uint8_t key[RECON_KEY_LEN], const uint64_t *s, size_t n,
    size_t max_symbols)
{
	struct recon_dec *d;

	if (n > RECON_SET_MAX || max_symbols == 0 ||
	    max_symbols > RECON_SYMBOLS_MAX)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	memcpy(d->key, key, RECON_KEY_LEN);
	d->max = max_symbols;
	if (recon_win_init(&d->local, key, s, n) != 0) {
		free(d);
		return NULL;
	}
	if (n > 0) {
		if ((d->mine = malloc(n * sizeof(*d->mine))) == NULL)
			abort();
		memcpy(d->mine, s, n * sizeof(*s));
		qsort(d->mine, n, sizeof(*d->mine), recon_cmp64);
	}
	d->nmine = n;
	return d;
}

static int
recon_dec_mine(const struct recon_dec *d, uint64_t s)
{
	return d->nmine > 0 &&
	    bsearch(&s, d->mine, d->nmine, sizeof(s), recon_cmp64) != NULL;
}

/* A first test: a non-zero sum whose hash matches the checksum. */
static int
recon_dec_maybe_pure(const struct recon_dec *d, const struct recon_symbol *c,
    uint64_t *h)
{
	if (c->sum == 0)
		return 0;
	*h = recon_hash(d->key, c->sum);
	return RECON_CHECK(*h) == c->check;
}

/* ... and the index on the sum's own mapping. */
static int
recon_dec_pure(const struct recon_dec *d, size_t j, uint64_t *h)
{
	uint64_t	prng, idx = 0;

	if (!recon_dec_maybe_pure(d, &d->cs[j], h))
		return 0;
	prng = *h;
	while (idx < j)
		idx = recon_map_next(&prng, idx);
	return idx == j;
}

static void
recon_dec_push(struct recon_dec *d, size_t j)
{
	if (d->nstack == d->stackcap)
		d->stack = recon_grow(d->stack, &d->stackcap, d->nstack + 1,
		    sizeof(*d->stack));
	d->stack[d->nstack++] = j;
}

/* Removes source symbol s (hash h) from every received symbol on its mapping. */
static void
recon_dec_peel(struct recon_dec *d, uint64_t s, uint64_t h)
{
	uint64_t	prng = h, idx = 0, hh;

	while (idx < d->ncs) {
		d->cs[idx].sum ^= s;
		d->cs[idx].check ^= RECON_CHECK(h);
		if (recon_dec_maybe_pure(d, &d->cs[idx], &hh))
			recon_dec_push(d, (size_t)idx);
		idx = recon_map_next(&prng, idx);
	}
	recon_win_add(&d->peeled, s, h, prng, idx);
}

static void
recon_dec_run(struct recon_dec *d)
{
	uint64_t	h, s;
	size_t		j;

	while (d->nstack > 0) {
		j = d->stack[--d->nstack];
		if (!recon_dec_pure(d, j, &h))
			continue;
		/*
		 * Each true peel empties a symbol for good, so a stream of a
		 * real set never yields more ids than symbols; a false one
		 * (a checksum that matched by chance, or symbols made up) can
		 * undo that and peel on and on.  Stop there.
		 */
		if (d->nlo + d->nro >= d->max) {
			d->broken = 1;
			d->nstack = 0;
			return;
		}
		s = d->cs[j].sum;
		if (recon_dec_mine(d, s)) {
			if (d->nlo == d->locap)
				d->lo = recon_grow(d->lo, &d->locap, d->nlo + 1,
				    sizeof(*d->lo));
			d->lo[d->nlo++] = s;
		} else {
			if (d->nro == d->rocap)
				d->ro = recon_grow(d->ro, &d->rocap, d->nro + 1,
				    sizeof(*d->ro));
			d->ro[d->nro++] = s;
		}
		recon_dec_peel(d, s, h);
	}
}

int
recon_dec_add(struct recon_dec *d, const struct recon_symbol *c, size_t n)
{
	struct recon_symbol x;
	uint64_t	h;
	size_t		i;

	if (d->broken || n > d->max - d->ncs)
		return -1;
	if (d->ncs + n > d->cscap)
		d->cs = recon_grow(d->cs, &d->cscap, d->ncs + n, sizeof(*d->cs));
	for (i = 0; i < n; i++) {
		x = c[i];
		recon_win_apply(&d->local, &x);
		recon_win_apply(&d->peeled, &x);
		d->cs[d->ncs] = x;
		if (recon_dec_maybe_pure(d, &x, &h))
			recon_dec_push(d, d->ncs);
		d->ncs++;
	}
	recon_dec_run(d);
	return d->broken ? -1 : 0;
}

int
recon_dec_done(const struct recon_dec *d)
{
	return !d->broken && d->ncs > 0 && d->cs[0].sum == 0 &&
	    d->cs[0].check == 0;
}

size_t
recon_dec_symbols(const struct recon_dec *d)
{
	return d->ncs;
}

const uint64_t *
recon_dec_local(const struct recon_dec *d, size_t *n)
{
	*n = d->nlo;
	return d->lo;
}

const uint64_t *
recon_dec_remote(const struct recon_dec *d, size_t *n)
{
	*n = d->nro;
	return d->ro;
}

void
recon_dec_free(struct recon_dec *d)
{
	if (d == NULL)
		return;
	recon_win_free(&d->local);
	recon_win_free(&d->peeled);
	free(d->mine);
	free(d->cs);
	free(d->stack);
	free(d->lo);
	free(d->ro);
	sodium_memzero(d->key, sizeof(d->key));
	free(d);
}
