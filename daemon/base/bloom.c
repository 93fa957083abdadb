/*
 * bloom.c: a rolling Bloom filter.  Each position holds a 2-bit generation
 * (1..3, 0 = empty), kept as two bit planes.  Ids go in the current
 * generation; when it has taken window/2 ids the next one starts and the
 * positions of the oldest of the three are cleared, so an id stays for at
 * least two generations: the last `window` ids are always in.
 *
 * Sizing: at most 1.5 * window ids are in at once; 20 positions per id and
 * 13 hashes give a false-positive rate of (1 - e^(-13/20))^13, about 7e-5.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/bloom.h"
#include "lib/util.h"

#define BLOOM_HASHES		13
#define BLOOM_POSITIONS_PER_ID	20

struct bloom {
	uint64_t	*plane;		/* words: plane[2*w] bit 0, plane[2*w+1] bit 1 */
	size_t		 nwords;	/* 64 positions per word pair */
	uint64_t	 npos;
	size_t		 per_gen;	/* ids per generation */
	size_t		 in_gen;	/* ids in the current one */
	unsigned	 gen;		/* 1..3 */
	uint8_t		 key1[crypto_shorthash_KEYBYTES];
	uint8_t		 key2[crypto_shorthash_KEYBYTES];
};

struct bloom *
bloom_new(size_t window)
{
	struct bloom	*b = xcalloc(1, sizeof(*b));

	if (window < 2)
		window = 2;
	b->per_gen = (window + 1) / 2;
	b->npos = (uint64_t)b->per_gen * 3 * BLOOM_POSITIONS_PER_ID;
	b->nwords = (size_t)((b->npos + 63) / 64);
	b->plane = xcalloc(2 * b->nwords, sizeof(uint64_t));
	b->gen = 1;
	randombytes_buf(b->key1, sizeof(b->key1));
	randombytes_buf(b->key2, sizeof(b->key2));
	return b;
}

void
bloom_free(struct bloom *b)
{
	if (b == NULL)
		return;
	free(b->plane);
	free(b);
}

size_t
bloom_bytes(const struct bloom *b)
{
	return sizeof(*b) + 2 * b->nwords * sizeof(uint64_t);
}

/* The two hashes positions are derived from (h1 + i * h2). */
static void
bloom_hash(const struct bloom *b, const uint8_t id[32], uint64_t *h1,
    uint64_t *h2)
{
	uint8_t	out[crypto_shorthash_BYTES];

	crypto_shorthash(out, id, 32, b->key1);
	memcpy(h1, out, sizeof(*h1));
	crypto_shorthash(out, id, 32, b->key2);
	memcpy(h2, out, sizeof(*h2));
	*h2 |= 1;	/* odd: every step moves */
}

int
bloom_has(const struct bloom *b, const uint8_t id[32])
{
	uint64_t	h1, h2, pos, bit;
	size_t		w;
	unsigned	i;

	bloom_hash(b, id, &h1, &h2);
	for (i = 0; i < BLOOM_HASHES; i++) {
		pos = (h1 + i * h2) % b->npos;
		w = (size_t)(pos / 64);
		bit = UINT64_C(1) << (pos % 64);
		if (((b->plane[2 * w] | b->plane[2 * w + 1]) & bit) == 0)
			return 0;
	}
	return 1;
}

/* Starts the next generation, clearing the positions of the oldest. */
static void
bloom_next_gen(struct bloom *b)
{
	uint64_t	g0, g1, p0, p1, clear;
	size_t		w;

	b->in_gen = 0;
	b->gen = b->gen == 3 ? 1 : b->gen + 1;
	/* The generation now starting is the oldest one's number: clear it. */
	g0 = (b->gen & 1) ? ~UINT64_C(0) : 0;
	g1 = (b->gen & 2) ? ~UINT64_C(0) : 0;
	for (w = 0; w < b->nwords; w++) {
		p0 = b->plane[2 * w];
		p1 = b->plane[2 * w + 1];
		clear = ~((p0 ^ g0) | (p1 ^ g1));
		b->plane[2 * w] = p0 & ~clear;
		b->plane[2 * w + 1] = p1 & ~clear;
	}
}

int
bloom_add(struct bloom *b, const uint8_t id[32])
{
	uint64_t	h1, h2, pos, bit;
	size_t		w;
	unsigned	i;
	int		fresh = 0;

	if (b->in_gen == b->per_gen)
		bloom_next_gen(b);
	bloom_hash(b, id, &h1, &h2);
	for (i = 0; i < BLOOM_HASHES; i++) {
		pos = (h1 + i * h2) % b->npos;
		w = (size_t)(pos / 64);
		bit = UINT64_C(1) << (pos % 64);
		if (((b->plane[2 * w] | b->plane[2 * w + 1]) & bit) == 0)
			fresh = 1;
		b->plane[2 * w] = (b->plane[2 * w] & ~bit) |
		    ((b->gen & 1) ? bit : 0);
		b->plane[2 * w + 1] = (b->plane[2 * w + 1] & ~bit) |
		    ((b->gen & 2) ? bit : 0);
	}
	if (fresh)
		b->in_gen++;
	return fresh;
}
