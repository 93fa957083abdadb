/*
 * fuzz_recon.c: the reconciliation decoder (proto/recon.c) and the RECON_*
 * frame parsers (proto/frame.c) on arbitrary bytes.
 *
 * Input: byte 0 picks the local set size (0..63 short ids, drawn from the
 * input's hash so that some of them meet the symbols), byte 1 the decoder's
 * symbol cap (1..64); the rest is parsed as RECON_* payloads (a type byte,
 * a u16 length, the payload), and every RECON_SYMBOLS that decodes feeds
 * its symbols to the decoder.  A decoded payload must re-encode to the same
 * bytes; the decoder must never take more symbols than its cap nor report
 * more ids than it took symbols.  Then an encoder's stream of a set derived
 * from the same bytes, against the local set, must decode exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/frame.h"
#include "proto/recon.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_exact(const uint8_t key[RECON_KEY_LEN], const uint64_t *local, size_t nl,
    const uint8_t *data, size_t size)
{
	uint64_t		 remote[64], s;
	struct recon_symbol	 c;
	struct recon_enc	*e;
	struct recon_dec	*d;
	size_t			 i, nr = 0, n, lo, ro, k;

	/* The remote set: the local one with some taken out and some added. */
	for (i = 0; i < nl && i < size; i++)
		if (data[i] & 1)
			remote[nr++] = local[i];
	for (i = 0; i < size && nr < 64 && i < 8; i++) {
		s = 0x9e3779b97f4a7c15ULL * (data[i] + 1) + i;
		for (k = 0; k < nr && remote[k] != s; k++)
			;
		for (n = 0; n < nl && local[n] != s; n++)
			;
		if (k == nr && n == nl && s != 0)
			remote[nr++] = s;
	}
	e = recon_enc_new(key, remote, nr);
	d = recon_dec_new(key, local, nl, 4096);
	if (e == NULL || d == NULL)
		abort();
	for (i = 0; i < 4096 && !recon_dec_done(d); i++) {
		recon_enc_next(e, &c, 1);
		if (recon_dec_add(d, &c, 1) != 0)
			abort();
	}
	if (!recon_dec_done(d))
		abort();	/* 128 apart at most: 4096 symbols always do */
	recon_dec_local(d, &lo);
	recon_dec_remote(d, &ro);
	if (lo + ro > 128)
		abort();
	recon_dec_free(d);
	recon_enc_free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 out[FRAME_MAX_PAYLOAD];
	uint8_t			 key[RECON_KEY_LEN], h[32];
	uint64_t		 local[64], coll[64];
	struct recon_symbol	 c[FRAME_RECON_BATCH_MAX];
	struct frame_recon	 r;
	struct recon_dec	*d;
	const char		*err;
	size_t			 nl, cap, off, len, i, n, nc, lo, ro;
	uint8_t			 type;

	if (size < 2)
		return 0;
	if (sodium_init() < 0)
		abort();
	memset(key, 0, sizeof(key));
	key[0] = data[0];
	crypto_generichash(h, sizeof(h), data, size, NULL, 0);
	nl = data[0] % 64;
	for (i = 0; i < nl; i++) {
		memcpy(&local[i], h + (i % 4) * 8, 8);
		local[i] ^= (uint64_t)i * 0x100000001b3ULL;
	}
	nl = recon_split(local, nl, coll, 64, &nc);
	cap = 1 + data[1] % 64;
	if ((d = recon_dec_new(key, local, nl, cap)) == NULL)
		abort();
	off = 2;
	while (size - off >= 3) {
		type = (uint8_t)(FRAME_RECON_INIT + data[off] % 5);
		len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		if (frame_recon_decode(type, data + off, len, &r, &err) == 0) {
			n = frame_recon_encode(type, &r, out, sizeof(out));
			if (n != len || memcmp(out, data + off, len) != 0)
				abort();
			if (type == FRAME_RECON_SYMBOLS) {
				for (i = 0; i < r.count; i++)
					recon_symbol_get(&c[i],
					    r.data + i * FRAME_RECON_SYMBOL_LEN);
				if (recon_dec_add(d, c, r.count) != 0 &&
				    recon_dec_symbols(d) + r.count <= cap)
					abort();
			}
		} else if (err == NULL)
			abort();
		off += len;
	}
	if (recon_dec_symbols(d) > cap)
		abort();
	recon_dec_local(d, &lo);
	recon_dec_remote(d, &ro);
	if (lo + ro > recon_dec_symbols(d) + nl)
		abort();
	recon_dec_free(d);
	check_exact(key, local, nl, data + 2, size - 2);
	return 0;
}
