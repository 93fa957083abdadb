/*
 * frame.h: the peer protocol's frames (type + length + payload) and their
 * payloads.  Pure.  docs/PROTOCOL.md section 3 is the spec.
 *
 * Wire form: type (u8) | payload length (u32, big-endian) | payload.
 */
#ifndef PROTO_FRAME_H
#define PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "tx.h"

#define FRAME_HDR_LEN		5
#define FRAME_MAX_PAYLOAD	65536		/* no frame type may exceed this */
#define FRAME_MAX_IDS		1000		/* ids in one INV, GETDATA or NOTFOUND */
#define FRAME_MAX_PEERS		100		/* entries in one PEERS */
#define FRAME_NAME_MAX		64		/* node name in HELLO */
#define FRAME_PROTO_VERSION	2		/* the version our HELLO sends */
#define FRAME_PROTO_VERSION_MIN	1		/* the oldest accepted */
#define FRAME_PROTO_RECON	2		/* from this version: RECON_* frames */
#define FRAME_PROTO_TREE	2		/* ... and PRUNE, GRAFT (the push tree) */

enum frame_type {
	FRAME_HELLO = 1,	/* u16 version, u16 listen port, u8 name len, name */
	FRAME_PING,		/* u64 nonce */
	FRAME_PONG,		/* u64 nonce (echo) */
	FRAME_INV,		/* u16 count (1..1000), count * 32-byte tx ids */
	FRAME_GETDATA,		/* same payload as INV */
	FRAME_TX,		/* one encoded transaction (tx.h) */
	FRAME_NOTFOUND,		/* same payload as INV */
	FRAME_GETPEERS,		/* empty */
	FRAME_PEERS,		/* u16 count (0..100), count * 51-byte entries */
	FRAME_PRUNE,		/* empty: push me announcements, not transactions */
	FRAME_GRAFT,		/* empty: push me transactions */
	/* Set reconciliation, docs/PROTOCOL.md section 7. */
	FRAME_RECON_INIT,	/* u32 session, salt[16], u32 set size, u16 want */
	FRAME_RECON_SYMBOLS,	/* u32 session, salt[16], u32 set size, u32 first,
				   u16 count, count * 11-byte coded symbols */
	FRAME_RECON_MORE,	/* u32 session, u16 want */
	FRAME_RECON_WANT,	/* u32 session, u16 count, count * 8-byte short ids */
	FRAME_RECON_DONE,	/* u32 session, u8 result */
	FRAME_TYPE_MAX = FRAME_RECON_DONE
};

/* Name of a frame type ("INV"), or "UNKNOWN"; never NULL. */
const char *frame_type_str(uint8_t type);

/*
 * Checks a declared payload length against the type's minimum and maximum.
 * Returns 0, or -1 with *err naming the problem (unknown type, too short,
 * too long).
 */
int	frame_check_len(uint8_t type, uint32_t len, const char **err);

/* Writes the 5-byte header.  Returns FRAME_HDR_LEN. */
size_t	frame_put_header(uint8_t out[FRAME_HDR_LEN], uint8_t type, uint32_t len);

/*
 * Writes a whole frame (header + payload) to out.  Returns its length, or 0
 * if cap is too small or the length is out of the type's bounds.
 */
size_t	frame_encode(uint8_t *out, size_t cap, uint8_t type,
	    const uint8_t *payload, size_t len);

/*
 * Streaming decoder: accepts bytes in any fragmentation.  The payload buffer
 * is allocated only after the declared length has passed frame_check_len().
 */
struct frame_decoder {
	uint8_t		hdr[FRAME_HDR_LEN];
	size_t		hdr_have;
	uint8_t		type;
	uint32_t	len;
	uint8_t		*buf;		/* owned; grows up to the largest length seen */
	size_t		cap;
	size_t		have;
	int		ready;		/* last call returned FRAME_READY */
	const char	*error;		/* set once the stream is dead */
};

enum frame_status {
	FRAME_NEED_MORE = 0,
	FRAME_READY,
	FRAME_ERROR
};

struct frame {
	uint8_t		type;
	uint32_t	len;
	const uint8_t	*payload;	/* valid until the next frame_decode() */
};

/* Prepares d (no allocation).  One decoder belongs to one thread. */
void	frame_decoder_init(struct frame_decoder *d);
/* Frees the decoder's buffer; the decoder may be initialised again. */
void	frame_decoder_free(struct frame_decoder *d);

/*
 * Consumes bytes from in (at most len) and sets *used.  Returns
 * FRAME_READY with *f filled when a whole frame has arrived (bytes after it
 * are left unconsumed), FRAME_NEED_MORE when all of in was consumed without
 * completing one, or FRAME_ERROR with *err set (the stream is then dead).
 */
enum frame_status frame_decode(struct frame_decoder *d, const uint8_t *in,
	    size_t len, size_t *used, struct frame *f, const char **err);

/* HELLO payload. */
struct frame_hello {
	uint16_t	version;
	uint16_t	listen_port;	/* 0: does not accept connections */
	char		name[FRAME_NAME_MAX + 1];	/* NUL-terminated */
};
/* Writes the HELLO payload; returns its length, or 0 (small cap, bad name). */
size_t	frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t cap);
/* Returns 0 or -1 (*err set): exact length, printable ASCII name (0x20-0x7e). */
int	frame_hello_decode(struct frame_hello *h, const uint8_t *p, size_t len,
	    const char **err);

/* PING and PONG payloads: encode returns 8; decode returns 0, or -1 if len != 8. */
size_t	frame_ping_encode(uint64_t nonce, uint8_t out[8]);
int	frame_ping_decode(uint64_t *nonce, const uint8_t *p, size_t len);

/*
 * INV, GETDATA and NOTFOUND payloads.  Encode returns the length, or 0 for a
 * count outside 1..FRAME_MAX_IDS or a small cap.  Decode returns 0 with ids
 * pointing into p, or -1 (*err set) when the count is 0, above the maximum or
 * does not match len exactly.
 */
size_t	frame_ids_encode(const uint8_t (*ids)[TX_ID_LEN], size_t count,
	    uint8_t *out, size_t cap);
int	frame_ids_decode(const uint8_t *p, size_t len,
	    const uint8_t (**ids)[TX_ID_LEN], size_t *count, const char **err);

/* PEERS payload entry: 32-byte node id, family (4 or 6), 16-byte address
 * (IPv4 in the first 4 bytes, the rest zero), u16 port (not 0) = 51 bytes.
 * Encoders and decoders refuse other families, IPv4 padding that is not
 * zero and port 0. */
#define FRAME_PEER_ENTRY_LEN	51
struct frame_peer {
	uint8_t		node_id[32];
	uint8_t		family;		/* 4 or 6 */
	uint8_t		addr[16];
	uint16_t	port;
};
/* Returns the payload length, or 0 (count > FRAME_MAX_PEERS, bad entry, small cap). */
size_t	frame_peers_encode(const struct frame_peer *peers, size_t count,
	    uint8_t *out, size_t cap);
/* Decodes at most max entries into out; more than max is an error. */
int	frame_peers_decode(const uint8_t *p, size_t len, struct frame_peer *out,
	    size_t max, size_t *count, const char **err);

/*
 * Reconciliation payloads (docs/PROTOCOL.md section 7).  One struct for
 * the five; each type uses the fields its comment above names: count is
 * "want" in INIT and MORE, the entries in SYMBOLS and WANT; data points to
 * count * FRAME_RECON_SYMBOL_LEN (SYMBOLS) or count * 8 (WANT) bytes.
 */
#define FRAME_RECON_SALT_LEN	16
#define FRAME_RECON_SYMBOL_LEN	11
#define FRAME_RECON_BATCH_MAX	4096	/* symbols or short ids in one frame, or wanted */
enum frame_recon_result {
	FRAME_RECON_OK = 0,		/* decoded; WANT frames came first */
	FRAME_RECON_FAILED,		/* gave up: both sides announce in full */
	FRAME_RECON_REFUSED,		/* the responder will not (busy, set too big) */
	FRAME_RECON_RESULT_MAX = FRAME_RECON_REFUSED
};
struct frame_recon {
	uint32_t	session;
	uint8_t		salt[FRAME_RECON_SALT_LEN];
	uint32_t	set_size;
	uint32_t	first;
	uint16_t	count;
	uint8_t		result;
	const uint8_t	*data;
};
/* Writes the payload of type (one of the five); returns its length, or 0 (bad field, small cap). */
size_t	frame_recon_encode(uint8_t type, const struct frame_recon *r,
	    uint8_t *out, size_t cap);
/* Returns 0 (data pointing into p), or -1 with *err naming the problem. */
int	frame_recon_decode(uint8_t type, const uint8_t *p, size_t len,
	    struct frame_recon *r, const char **err);

#endif
