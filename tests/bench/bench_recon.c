/*
 * bench_recon.c: bytes and time of one reconciliation session
 * (docs/PROTOCOL.md section 7) between two sets of 100,000 ids that differ
 * in 0, 100 and 10,000, one-sided and split, against today's
 * whole-mempool announcement.  The session is played frame by frame with
 * proto/recon.c and proto/frame.c and the initiator's policy of
 * daemon/p2p/reconcile.c (first 32 symbols, then an eighth more, a sixteenth
 * past 2,048, or what the set sizes say remains, at least 32, at most 4096
 * a frame); bytes are
 * frame bytes (5-byte header included), before the channel's records.
 * Prints figures only; never fails on timing or size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "proto/frame.h"
#include "proto/recon.h"

#define SHARED		100000
#define FIRST_WANT	32
#define MORE_MIN	32
#define SESSION_MAX	200000

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct result {
	size_t	symbols, frames, rounds, recon_bytes, want_bytes, found_r, found_l;
	size_t	inv_bytes;	/* INV + GETDATA of the ids announced after */
	double	secs;
	int	ok;
};

/* Frame bytes of an id list (INV or GETDATA) of n ids. */
static size_t
ids_bytes(size_t n)
{
	size_t	frames = (n + FRAME_MAX_IDS - 1) / FRAME_MAX_IDS;

	return frames * (FRAME_HDR_LEN + 2) + n * TX_ID_LEN;
}

static void
session(size_t only_r, size_t only_i, struct result *res)
{
	static struct recon_symbol c[FRAME_RECON_BATCH_MAX];
	uint8_t		 salt_i[16], salt_r[16], key[16];
	uint64_t	*r, *in, x;
	struct recon_enc *e;
	struct recon_dec *d;
	size_t		 nr = SHARED + only_r, ni = SHARED + only_i, i;
	size_t		 got, asked, want, est, nro, nlo, k;
	double		 t0;

	memset(res, 0, sizeof(*res));
	r = calloc(nr, 8);
	in = calloc(ni, 8);
	randombytes_buf(salt_i, sizeof(salt_i));
	randombytes_buf(salt_r, sizeof(salt_r));
	recon_key(key, salt_i, salt_r);
	for (i = 0; i < SHARED; i++) {
		randombytes_buf(&x, sizeof(x));
		r[i] = in[i] = x;
	}
	for (i = 0; i < only_r; i++)
		randombytes_buf(&r[SHARED + i], 8);
	for (i = 0; i < only_i; i++)
		randombytes_buf(&in[SHARED + i], 8);

	t0 = now_s();
	/* RECON_INIT; the responder builds its encoder and answers. */
	res->recon_bytes += FRAME_HDR_LEN + 26;
	res->frames++;
	e = recon_enc_new(key, r, nr);
	d = recon_dec_new(key, in, ni, SESSION_MAX);
	asked = FIRST_WANT;
	got = 0;
	for (;;) {
		while (got < asked) {
			k = asked - got;
			if (k > FRAME_RECON_BATCH_MAX)
				k = FRAME_RECON_BATCH_MAX;
			recon_enc_next(e, c, k);
			res->recon_bytes += FRAME_HDR_LEN + 30 + FRAME_RECON_SYMBOL_LEN * k;
			res->frames++;
			if (recon_dec_add(d, c, k) != 0)
				goto fail;
			got += k;
			if (recon_dec_done(d))
				break;
		}
		if (recon_dec_done(d))
			break;
		if (got >= SESSION_MAX)
			goto fail;
		want = got < 2048 ? got / 8 : got / 16;
		est = ni > nr ? ni - nr : nr - ni;
		est += est / 4;
		if (est > got && est - got > want)
			want = est - got;
		if (want < MORE_MIN)
			want = MORE_MIN;
		if (want > FRAME_RECON_BATCH_MAX)
			want = FRAME_RECON_BATCH_MAX;
		res->recon_bytes += FRAME_HDR_LEN + 6;	/* RECON_MORE */
		res->frames++;
		res->rounds++;
		asked = got + want;
	}
	recon_dec_remote(d, &nro);
	recon_dec_local(d, &nlo);
	res->found_r = nro;
	res->found_l = nlo;
	/* RECON_WANT frames, RECON_DONE. */
	res->want_bytes = ((nro + FRAME_RECON_BATCH_MAX - 1) /
	    FRAME_RECON_BATCH_MAX) * (FRAME_HDR_LEN + 6) + 8 * nro;
	res->recon_bytes += FRAME_HDR_LEN + 5;
	res->frames += 1 + (nro + FRAME_RECON_BATCH_MAX - 1) / FRAME_RECON_BATCH_MAX;
	/* Then both sides announce what the other lacks; it GETDATAs them. */
	res->inv_bytes = 2 * ids_bytes(nro) + 2 * ids_bytes(nlo);
	res->ok = nro == only_r && nlo == only_i;
fail:
	res->symbols = got;
	res->secs = now_s() - t0;
	recon_enc_free(e);
	recon_dec_free(d);
	free(r);
	free(in);
}

int
main(void)
{
	static const struct {
		size_t	only_r, only_i;
	} cases[] = {
		{ 0, 0 }, { 100, 0 }, { 50, 50 }, { 1000, 0 },
		{ 10000, 0 }, { 5000, 5000 },
	};
	struct result	res;
	size_t		i, d, full;

	if (sodium_init() < 0)
		return 1;
	full = ids_bytes(SHARED);
	printf("reconciliation of %d shared ids (+ differences), one session, "
	    "frame bytes:\n", SHARED);
	printf("today, the whole mempool announced to a new peer: %zu bytes "
	    "(one way)\n", full);
	printf("%-12s %8s %9s %7s %12s %10s %12s %9s %8s %s\n", "difference",
	    "symbols", "sym/diff", "rounds", "recon bytes", "+WANT", "target",
	    "INV+GD", "ms", "decoded");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = cases[i].only_r + cases[i].only_i;
		session(cases[i].only_r, cases[i].only_i, &res);
		printf("%5zu+%-6zu %8zu %9.2f %7zu %12zu %10zu %12s %9zu %8.1f %s\n",
		    cases[i].only_r, cases[i].only_i, res.symbols,
		    d ? (double)res.symbols / (double)d : 0.0, res.rounds + 1,
		    res.recon_bytes, res.want_bytes,
		    d == 100 ? "<= 10240" : d == 10000 ? "<= 160000" : "-",
		    res.inv_bytes, res.secs * 1000, res.ok ? "yes" : "NO");
	}
	printf("recon bytes: RECON_INIT, RECON_SYMBOLS, RECON_MORE, RECON_DONE; "
	    "+WANT: the short ids asked for (8 bytes each, in place of\n"
	    "GETDATA's 32); INV+GD: the full ids announced after and their "
	    "GETDATAs, the part of moving the transactions themselves;\n"
	    "rounds: round trips of symbols (RECON_INIT or RECON_MORE); ms: wall "
	    "time of both sides in one thread\n");
	return 0;
}
