/*
 * fuzz_frame.c: the streaming frame decoder and every payload decoder on
 * arbitrary bytes.  The first input byte picks a fragmentation; the stream
 * is decoded with it and again one byte at a time, and both must agree.
 * Every payload that decodes must re-encode to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/tx.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_payload(uint8_t type, const uint8_t *p, size_t len)
{
	static struct frame_peer	 peers[FRAME_MAX_PEERS];
	static uint8_t			 out[FRAME_MAX_PAYLOAD];
	struct frame_hello		 h;
	struct frame_recon		 rc;
	struct tx			 t;
	const uint8_t			(*ids)[TX_ID_LEN];
	const char			*err;
	uint64_t			 nonce;
	size_t				 count, n;

	switch (type) {
	case FRAME_HELLO:
		if (frame_hello_decode(&h, p, len, &err) != 0)
			return;
		n = frame_hello_encode(&h, out, sizeof(out));
		break;
	case FRAME_PING:
	case FRAME_PONG:
		if (frame_ping_decode(&nonce, p, len) != 0)
			abort();	/* the frame bounds guarantee 8 bytes */
		n = frame_ping_encode(nonce, out);
		break;
	case FRAME_INV:
	case FRAME_GETDATA:
	case FRAME_NOTFOUND:
		if (frame_ids_decode(p, len, &ids, &count, &err) != 0)
			return;
		if (count < 1 || count > FRAME_MAX_IDS)
			abort();
		n = frame_ids_encode(ids, count, out, sizeof(out));
		break;
	case FRAME_TX:
		if (tx_decode(&t, p, len) != TX_OK)
			return;
		n = tx_encode(&t, out, sizeof(out));
		break;
	case FRAME_PEERS:
		if (frame_peers_decode(p, len, peers, FRAME_MAX_PEERS, &count,
		    &err) != 0)
			return;
		n = frame_peers_encode(peers, count, out, sizeof(out));
		break;
	case FRAME_GETPEERS:
	case FRAME_PRUNE:
	case FRAME_GRAFT:
		if (len != 0)
			abort();
		return;
	case FRAME_RECON_INIT:
	case FRAME_RECON_SYMBOLS:
	case FRAME_RECON_MORE:
	case FRAME_RECON_WANT:
	case FRAME_RECON_DONE:
		if (frame_recon_decode(type, p, len, &rc, &err) != 0)
			return;
		n = frame_recon_encode(type, &rc, out, sizeof(out));
		break;
	default:
		abort();	/* the decoder let an unknown type through */
	}
	if (n != len || memcmp(out, p, len) != 0)
		abort();
}

/*
 * Decodes data in chunks of at most maxchunk bytes (the chunk sizes vary
 * with the data).  Returns the number of frames; *errored tells how it ended.
 */
static size_t
run(const uint8_t *data, size_t size, size_t maxchunk, int check,
    size_t *consumed, int *errored)
{
	struct frame_decoder	 d;
	struct frame		 f;
	enum frame_status	 st;
	const char		*err;
	size_t			 off = 0, chunk, used, frames = 0;

	*errored = 0;
	frame_decoder_init(&d);
	while (off < size && !*errored) {
		chunk = size - off;
		if (chunk > maxchunk)
			chunk = maxchunk;
		if (maxchunk > 1)
			chunk = 1 + data[off] % chunk;
		while (chunk > 0) {
			st = frame_decode(&d, data + off, chunk, &used, &f, &err);
			if (used > chunk)
				abort();
			off += used;
			chunk -= used;
			if (st == FRAME_ERROR) {
				if (err == NULL || d.cap > FRAME_MAX_PAYLOAD)
					abort();
				*errored = 1;
				break;
			}
			if (st == FRAME_NEED_MORE) {
				if (chunk != 0)
					abort();
				break;
			}
			/* The payload is the input just before off. */
			if (frame_check_len(f.type, f.len, NULL) != 0 ||
			    f.len > off - FRAME_HDR_LEN ||
			    (f.len > 0 &&
			    memcmp(f.payload, data + off - f.len, f.len) != 0))
				abort();
			if (check)
				check_payload(f.type, f.payload, f.len);
			frames++;
		}
	}
	frame_decoder_free(&d);
	*consumed = off;
	return frames;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	maxchunk, a, b, used_a, used_b;
	int	err_a, err_b;

	if (size < 1)
		return 0;
	maxchunk = 1 + data[0] * 4;
	data++;
	size--;
	a = run(data, size, maxchunk, 1, &used_a, &err_a);
	b = run(data, size, 1, 0, &used_b, &err_b);
	if (a != b || err_a != err_b || used_a != used_b)
		abort();
	return 0;
}
