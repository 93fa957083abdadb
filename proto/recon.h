/*
 * recon.h: set reconciliation of transaction ids by Rateless IBLT (Yang,
 * Gilad, Alizadeh, SIGCOMM 2024).  Pure: bytes in, bytes out.
 * docs/PROTOCOL.md section 7 is the spec: salted 8-byte short ids, the
 * index mapping, the coded symbols and how they peel.
 *
 * One side encodes its set of short ids into an endless stream of coded
 * symbols (recon_enc); the other subtracts its own set from them and peels
 * (recon_dec), learning the short ids only it has and those only the
 * encoder has.  Memory is bounded by the set size (RECON_SET_MAX) and the
 * symbols a decoder accepts (its max_symbols); beyond them calls fail.
 * An encoder or decoder belongs to one thread.
 */
#ifndef PROTO_RECON_H
#define PROTO_RECON_H

#include <stddef.h>
#include <stdint.h>

#define RECON_SALT_LEN		16
#define RECON_KEY_LEN		16	/* SipHash-2-4 key */
#define RECON_SHORT_LEN		8
#define RECON_SYMBOL_LEN	11	/* u64 sum, u24 checksum */
#define RECON_SET_MAX		(1u << 21)	/* short ids in one set */
#define RECON_SYMBOLS_MAX	(1u << 22)	/* coded symbols one decoder takes */

/*
 * One coded symbol: XOR of the short ids mapped to it, and of their
 * checksums (the low 24 bits of each one's recon_hash).
 */
struct recon_symbol {
	uint64_t	sum;
	uint32_t	check;		/* < 2^24 */
};

/* The session key: BLAKE2b-128("noded recon v1" | initiator salt | responder salt). */
void	recon_key(uint8_t key[RECON_KEY_LEN],
	    const uint8_t salt_i[RECON_SALT_LEN],
	    const uint8_t salt_r[RECON_SALT_LEN]);
/* A 32-byte transaction id's short id: SipHash-2-4(key, id), little-endian. */
uint64_t recon_short_id(const uint8_t key[RECON_KEY_LEN], const uint8_t id[32]);
/* A short id's 64-bit hash: SipHash-2-4(key, short id as 8 bytes little-endian). */
uint64_t recon_hash(const uint8_t key[RECON_KEY_LEN], uint64_t s);
/* The index after last in the mapping of a symbol whose PRNG state is *prng. */
uint64_t recon_map_next(uint64_t *prng, uint64_t last);

/*
 * Sorts s[0..n) and moves every short id that occurs more than once to the
 * end: returns how many unique ones stay in front (sorted); the colliding
 * values, one copy each, are written to coll (at most maxcoll, *ncoll set;
 * those beyond maxcoll are counted in *ncoll but not written).
 */
size_t	recon_split(uint64_t *s, size_t n, uint64_t *coll, size_t maxcoll,
	    size_t *ncoll);

/* Symbol wire form: sum (u64 big-endian) | checksum (u24 big-endian). */
void	recon_symbol_put(uint8_t out[RECON_SYMBOL_LEN], const struct recon_symbol *c);
void	recon_symbol_get(struct recon_symbol *c, const uint8_t in[RECON_SYMBOL_LEN]);

struct recon_enc;
struct recon_dec;

/*
 * An encoder of the n unique short ids in s (recon_split's front part; the
 * order does not matter).  Returns NULL if n > RECON_SET_MAX.  Caller frees.
 */
struct recon_enc *recon_enc_new(const uint8_t key[RECON_KEY_LEN],
	    const uint64_t *s, size_t n);
/* Writes the next n coded symbols of the stream to out. */
void	recon_enc_next(struct recon_enc *e, struct recon_symbol *out, size_t n);
/* Coded symbols produced so far (the index of the next one). */
uint64_t recon_enc_produced(const struct recon_enc *e);
void	recon_enc_free(struct recon_enc *e);

/*
 * A decoder for a remote stream against the n unique local short ids in s.
 * It takes at most max_symbols coded symbols (at most RECON_SYMBOLS_MAX).
 * Returns NULL if n > RECON_SET_MAX or max_symbols is out of range.
 */
struct recon_dec *recon_dec_new(const uint8_t key[RECON_KEY_LEN],
	    const uint64_t *s, size_t n, size_t max_symbols);
/*
 * Adds the next n coded symbols of the remote stream and peels.  Returns 0,
 * or -1 if they would exceed max_symbols (nothing added) or the stream
 * cannot be decoded: peeling found more ids than max_symbols, which a real
 * stream never makes (docs/PROTOCOL.md 7.5); the decoder is then dead.
 */
int	recon_dec_add(struct recon_dec *d, const struct recon_symbol *c, size_t n);
/* 1 once the difference is known (symbol 0 peeled to empty), else 0. */
int	recon_dec_done(const struct recon_dec *d);
/* Coded symbols taken so far. */
size_t	recon_dec_symbols(const struct recon_dec *d);
/* Short ids only the local side has / only the remote side has (valid until free). */
const uint64_t *recon_dec_local(const struct recon_dec *d, size_t *n);
const uint64_t *recon_dec_remote(const struct recon_dec *d, size_t *n);
void	recon_dec_free(struct recon_dec *d);

#endif
