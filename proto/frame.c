/*
 * frame.c: peer protocol frames and their payloads.  docs/PROTOCOL.md
 * section 3 is the spec.  Every length is checked against its type's bounds
 * before anything is allocated or read.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define FRAME_IDS_MIN		(2 + TX_ID_LEN)
#define FRAME_IDS_MAX		(2 + TX_ID_LEN * FRAME_MAX_IDS)
#define FRAME_PEERS_MAX		(2 + FRAME_PEER_ENTRY_LEN * FRAME_MAX_PEERS)
#define FRAME_HELLO_FIXED	5
#define FRAME_RECON_INIT_LEN	26
#define FRAME_RECON_SYM_HDR	30
#define FRAME_RECON_MORE_LEN	6
#define FRAME_RECON_WANT_HDR	6
#define FRAME_RECON_DONE_LEN	5
#define FRAME_RECON_SYM_MAX	(FRAME_RECON_SYM_HDR + \
	FRAME_RECON_SYMBOL_LEN * FRAME_RECON_BATCH_MAX)
#define FRAME_RECON_WANT_MAX	(FRAME_RECON_WANT_HDR + 8 * FRAME_RECON_BATCH_MAX)

static const struct frame_bounds {
	const char	*name;
	uint32_t	 min;
	uint32_t	 max;
} frame_bounds[FRAME_TYPE_MAX + 1] = {
	[FRAME_HELLO] = { "HELLO", FRAME_HELLO_FIXED,
	    FRAME_HELLO_FIXED + FRAME_NAME_MAX },
	[FRAME_PING] = { "PING", 8, 8 },
	[FRAME_PONG] = { "PONG", 8, 8 },
	[FRAME_INV] = { "INV", FRAME_IDS_MIN, FRAME_IDS_MAX },
	[FRAME_GETDATA] = { "GETDATA", FRAME_IDS_MIN, FRAME_IDS_MAX },
	[FRAME_TX] = { "TX", TX_MIN_LEN, TX_MAX_LEN },
	[FRAME_NOTFOUND] = { "NOTFOUND", FRAME_IDS_MIN, FRAME_IDS_MAX },
	[FRAME_GETPEERS] = { "GETPEERS", 0, 0 },
	[FRAME_PEERS] = { "PEERS", 2, FRAME_PEERS_MAX },
	[FRAME_PRUNE] = { "PRUNE", 0, 0 },
	[FRAME_GRAFT] = { "GRAFT", 0, 0 },
	[FRAME_RECON_INIT] = { "RECON_INIT", FRAME_RECON_INIT_LEN,
	    FRAME_RECON_INIT_LEN },
	[FRAME_RECON_SYMBOLS] = { "RECON_SYMBOLS",
	    FRAME_RECON_SYM_HDR + FRAME_RECON_SYMBOL_LEN, FRAME_RECON_SYM_MAX },
	[FRAME_RECON_MORE] = { "RECON_MORE", FRAME_RECON_MORE_LEN,
	    FRAME_RECON_MORE_LEN },
	[FRAME_RECON_WANT] = { "RECON_WANT", FRAME_RECON_WANT_HDR + 8,
	    FRAME_RECON_WANT_MAX },
	[FRAME_RECON_DONE] = { "RECON_DONE", FRAME_RECON_DONE_LEN,
	    FRAME_RECON_DONE_LEN },
};

/* Every bound must fit the frame-size ceiling. */
_Static_assert(FRAME_IDS_MAX <= FRAME_MAX_PAYLOAD, "INV exceeds frame max");
_Static_assert(FRAME_PEERS_MAX <= FRAME_MAX_PAYLOAD, "PEERS exceeds frame max");
_Static_assert(TX_MAX_LEN <= FRAME_MAX_PAYLOAD, "TX exceeds frame max");
_Static_assert(FRAME_RECON_SYM_MAX <= FRAME_MAX_PAYLOAD,
    "RECON_SYMBOLS exceeds frame max");

static void
frame_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
frame_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t
frame_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

const char *
frame_type_str(uint8_t type)
{
	if (type == 0 || type > FRAME_TYPE_MAX)
		return "UNKNOWN";
	return frame_bounds[type].name;
}

int
frame_check_len(uint8_t type, uint32_t len, const char **err)
{
	const char	*e;

	if (type == 0 || type > FRAME_TYPE_MAX)
		e = "unknown frame type";
	else if (len < frame_bounds[type].min)
		e = "payload too short for frame type";
	else if (len > frame_bounds[type].max)
		e = "payload too long for frame type";
	else
		return 0;
	if (err != NULL)
		*err = e;
	return -1;
}

size_t
frame_put_header(uint8_t out[FRAME_HDR_LEN], uint8_t type, uint32_t len)
{
	out[0] = type;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	return FRAME_HDR_LEN;
}

size_t
frame_encode(uint8_t *out, size_t cap, uint8_t type, const uint8_t *payload,
    size_t len)
{
	if (len > FRAME_MAX_PAYLOAD ||
	    frame_check_len(type, (uint32_t)len, NULL) != 0)
		return 0;
	if (cap < FRAME_HDR_LEN || cap - FRAME_HDR_LEN < len)
		return 0;
	frame_put_header(out, type, (uint32_t)len);
	if (len > 0)
		memcpy(out + FRAME_HDR_LEN, payload, len);
	return FRAME_HDR_LEN + len;
}

void
frame_decoder_init(struct frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

static enum frame_status
frame_fail(struct frame_decoder *d, const char *why, const char **err)
{
	d->error = why;
	if (err != NULL)
		*err = why;
	return FRAME_ERROR;
}

static enum frame_status
frame_ready(struct frame_decoder *d, struct frame *f)
{
	d->ready = 1;
	f->type = d->type;
	f->len = d->len;
	f->payload = d->len > 0 ? d->buf : NULL;
	return FRAME_READY;
}

enum frame_status
frame_decode(struct frame_decoder *d, const uint8_t *in, size_t len,
    size_t *used, struct frame *f, const char **err)
{
	size_t		 off = 0, n;
	const char	*why;
	uint8_t		*nb;

	*used = 0;
	if (d->error != NULL)
		return frame_fail(d, d->error, err);
	if (d->ready) {
		/* The previous frame has been handed out; start the next. */
		d->ready = 0;
		d->hdr_have = 0;
		d->have = 0;
	}

	if (d->hdr_have < FRAME_HDR_LEN) {
		n = FRAME_HDR_LEN - d->hdr_have;
		if (n > len)
			n = len;
		if (n > 0)
			memcpy(d->hdr + d->hdr_have, in, n);
		d->hdr_have += n;
		off += n;
		*used = off;
		if (d->hdr_have < FRAME_HDR_LEN)
			return FRAME_NEED_MORE;

		d->type = d->hdr[0];
		d->len = frame_get32(d->hdr + 1);
		/* Refuse a bad type or length before allocating for it. */
		if (frame_check_len(d->type, d->len, &why) != 0)
			return frame_fail(d, why, err);
		if (d->len > d->cap) {
			if ((nb = realloc(d->buf, d->len)) == NULL)
				return frame_fail(d, "out of memory", err);
			d->buf = nb;
			d->cap = d->len;
		}
		d->have = 0;
	}

	n = d->len - d->have;
	if (n > len - off)
		n = len - off;
	if (n > 0)
		memcpy(d->buf + d->have, in + off, n);
	d->have += n;
	off += n;
	*used = off;
	if (d->have < d->len)
		return FRAME_NEED_MORE;
	return frame_ready(d, f);
}

static int
frame_name_ok(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	}
	return 1;
}

size_t
frame_hello_encode(const struct frame_hello *h, uint8_t *out, size_t cap)
{
	size_t	n;

	n = strnlen(h->name, sizeof(h->name));
	if (n > FRAME_NAME_MAX || !frame_name_ok(h->name, n))
		return 0;
	if (cap < FRAME_HELLO_FIXED + n)
		return 0;
	frame_put16(out, h->version);
	frame_put16(out + 2, h->listen_port);
	out[4] = (uint8_t)n;
	memcpy(out + FRAME_HELLO_FIXED, h->name, n);
	return FRAME_HELLO_FIXED + n;
}

static int
frame_err(const char **err, const char *why)
{
	if (err != NULL)
		*err = why;
	return -1;
}

int
frame_hello_decode(struct frame_hello *h, const uint8_t *p, size_t len,
    const char **err)
{
	size_t	n;

	if (len < FRAME_HELLO_FIXED)
		return frame_err(err, "HELLO too short");
	n = p[4];
	if (n > FRAME_NAME_MAX)
		return frame_err(err, "HELLO name too long");
	if (len != FRAME_HELLO_FIXED + n)
		return frame_err(err, "HELLO name length does not match payload");
	if (!frame_name_ok((const char *)p + FRAME_HELLO_FIXED, n))
		return frame_err(err, "HELLO name is not printable ASCII");
	h->version = frame_get16(p);
	h->listen_port = frame_get16(p + 2);
	memcpy(h->name, p + FRAME_HELLO_FIXED, n);
	h->name[n] = '\0';
	return 0;
}

size_t
frame_ping_encode(uint64_t nonce, uint8_t out[8])
{
	int	i;

	for (i = 7; i >= 0; i--) {
		out[i] = (uint8_t)nonce;
		nonce >>= 8;
	}
	return 8;
}

int
frame_ping_decode(uint64_t *nonce, const uint8_t *p, size_t len)
{
	uint64_t	v = 0;
	size_t		i;

	if (len != 8)
		return -1;
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	*nonce = v;
	return 0;
}

size_t
frame_ids_encode(const uint8_t (*ids)[TX_ID_LEN], size_t count, uint8_t *out,
    size_t cap)
{
	size_t	n;

	if (count == 0 || count > FRAME_MAX_IDS)
		return 0;
	n = 2 + count * TX_ID_LEN;
	if (cap < n)
		return 0;
	frame_put16(out, (uint16_t)count);
	memcpy(out + 2, ids, count * TX_ID_LEN);
	return n;
}

int
frame_ids_decode(const uint8_t *p, size_t len,
    const uint8_t (**ids)[TX_ID_LEN], size_t *count, const char **err)
{
	size_t	n;

	if (len < 2)
		return frame_err(err, "id list too short");
	n = frame_get16(p);
	if (n == 0)
		return frame_err(err, "id list is empty");
	if (n > FRAME_MAX_IDS)
		return frame_err(err, "too many ids");
	if (len != 2 + n * TX_ID_LEN)
		return frame_err(err, "id count does not match length");
	*ids = (const uint8_t (*)[TX_ID_LEN])(p + 2);
	*count = n;
	return 0;
}

/* Returns NULL if the entry may go on the wire, or why not. */
static const char *
frame_peer_check(const struct frame_peer *e)
{
	static const uint8_t	zero[12];

	if (e->family != 4 && e->family != 6)
		return "bad peer address family";
	if (e->family == 4 && memcmp(e->addr + 4, zero, sizeof(zero)) != 0)
		return "IPv4 peer address padding not zero";
	if (e->port == 0)
		return "peer port 0";
	return NULL;
}

size_t
frame_peers_encode(const struct frame_peer *peers, size_t count, uint8_t *out,
    size_t cap)
{
	uint8_t	*q;
	size_t	 i, n;

	if (count > FRAME_MAX_PEERS)
		return 0;
	n = 2 + count * FRAME_PEER_ENTRY_LEN;
	if (cap < n)
		return 0;
	for (i = 0; i < count; i++) {
		if (frame_peer_check(&peers[i]) != NULL)
			return 0;
	}
	frame_put16(out, (uint16_t)count);
	q = out + 2;
	for (i = 0; i < count; i++) {
		memcpy(q, peers[i].node_id, 32);
		q[32] = peers[i].family;
		memcpy(q + 33, peers[i].addr, 16);
		frame_put16(q + 49, peers[i].port);
		q += FRAME_PEER_ENTRY_LEN;
	}
	return n;
}

int
frame_peers_decode(const uint8_t *p, size_t len, struct frame_peer *out,
    size_t max, size_t *count, const char **err)
{
	struct frame_peer	 e;
	const uint8_t		*q;
	const char		*why;
	size_t			 i, n;

	if (len < 2)
		return frame_err(err, "peer list too short");
	n = frame_get16(p);
	if (n > FRAME_MAX_PEERS)
		return frame_err(err, "too many peers");
	if (len != 2 + n * FRAME_PEER_ENTRY_LEN)
		return frame_err(err, "peer count does not match length");
	if (n > max)
		return frame_err(err, "more peers than the caller has room for");
	q = p + 2;
	for (i = 0; i < n; i++) {
		memcpy(e.node_id, q, 32);
		e.family = q[32];
		memcpy(e.addr, q + 33, 16);
		e.port = frame_get16(q + 49);
		if ((why = frame_peer_check(&e)) != NULL)
			return frame_err(err, why);
		out[i] = e;
		q += FRAME_PEER_ENTRY_LEN;
	}
	*count = n;
	return 0;
}

static void
frame_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

size_t
frame_recon_encode(uint8_t type, const struct frame_recon *r, uint8_t *out,
    size_t cap)
{
	size_t	n;

	switch (type) {
	case FRAME_RECON_INIT:
		if (cap < FRAME_RECON_INIT_LEN || r->count == 0 ||
		    r->count > FRAME_RECON_BATCH_MAX)
			return 0;
		frame_put32(out, r->session);
		memcpy(out + 4, r->salt, FRAME_RECON_SALT_LEN);
		frame_put32(out + 20, r->set_size);
		frame_put16(out + 24, r->count);
		return FRAME_RECON_INIT_LEN;
	case FRAME_RECON_SYMBOLS:
		if (r->count == 0 || r->count > FRAME_RECON_BATCH_MAX)
			return 0;
		n = FRAME_RECON_SYM_HDR + (size_t)r->count * FRAME_RECON_SYMBOL_LEN;
		if (cap < n)
			return 0;
		frame_put32(out, r->session);
		memcpy(out + 4, r->salt, FRAME_RECON_SALT_LEN);
		frame_put32(out + 20, r->set_size);
		frame_put32(out + 24, r->first);
		frame_put16(out + 28, r->count);
		memmove(out + FRAME_RECON_SYM_HDR, r->data,
		    (size_t)r->count * FRAME_RECON_SYMBOL_LEN);
		return n;
	case FRAME_RECON_MORE:
		if (cap < FRAME_RECON_MORE_LEN || r->count == 0 ||
		    r->count > FRAME_RECON_BATCH_MAX)
			return 0;
		frame_put32(out, r->session);
		frame_put16(out + 4, r->count);
		return FRAME_RECON_MORE_LEN;
	case FRAME_RECON_WANT:
		if (r->count == 0 || r->count > FRAME_RECON_BATCH_MAX)
			return 0;
		n = FRAME_RECON_WANT_HDR + (size_t)r->count * 8;
		if (cap < n)
			return 0;
		frame_put32(out, r->session);
		frame_put16(out + 4, r->count);
		memmove(out + FRAME_RECON_WANT_HDR, r->data, (size_t)r->count * 8);
		return n;
	case FRAME_RECON_DONE:
		if (cap < FRAME_RECON_DONE_LEN || r->result > FRAME_RECON_RESULT_MAX)
			return 0;
		frame_put32(out, r->session);
		out[4] = r->result;
		return FRAME_RECON_DONE_LEN;
	}
	return 0;
}

int
frame_recon_decode(uint8_t type, const uint8_t *p, size_t len,
    struct frame_recon *r, const char **err)
{
	memset(r, 0, sizeof(*r));
	switch (type) {
	case FRAME_RECON_INIT:
		if (len != FRAME_RECON_INIT_LEN)
			return frame_err(err, "RECON_INIT length is not 26");
		r->session = frame_get32(p);
		memcpy(r->salt, p + 4, FRAME_RECON_SALT_LEN);
		r->set_size = frame_get32(p + 20);
		r->count = frame_get16(p + 24);
		break;
	case FRAME_RECON_SYMBOLS:
		if (len < FRAME_RECON_SYM_HDR)
			return frame_err(err, "RECON_SYMBOLS too short");
		r->session = frame_get32(p);
		memcpy(r->salt, p + 4, FRAME_RECON_SALT_LEN);
		r->set_size = frame_get32(p + 20);
		r->first = frame_get32(p + 24);
		r->count = frame_get16(p + 28);
		if (r->count == 0 || r->count > FRAME_RECON_BATCH_MAX)
			return frame_err(err, "RECON_SYMBOLS count out of range");
		if (len != FRAME_RECON_SYM_HDR +
		    (size_t)r->count * FRAME_RECON_SYMBOL_LEN)
			return frame_err(err,
			    "RECON_SYMBOLS count does not match length");
		if ((uint64_t)r->first + r->count > UINT32_MAX)
			return frame_err(err, "RECON_SYMBOLS index overflows");
		r->data = p + FRAME_RECON_SYM_HDR;
		return 0;
	case FRAME_RECON_MORE:
		if (len != FRAME_RECON_MORE_LEN)
			return frame_err(err, "RECON_MORE length is not 6");
		r->session = frame_get32(p);
		r->count = frame_get16(p + 4);
		break;
	case FRAME_RECON_WANT:
		if (len < FRAME_RECON_WANT_HDR)
			return frame_err(err, "RECON_WANT too short");
		r->session = frame_get32(p);
		r->count = frame_get16(p + 4);
		if (r->count == 0 || r->count > FRAME_RECON_BATCH_MAX)
			return frame_err(err, "RECON_WANT count out of range");
		if (len != FRAME_RECON_WANT_HDR + (size_t)r->count * 8)
			return frame_err(err, "RECON_WANT count does not match length");
		r->data = p + FRAME_RECON_WANT_HDR;
		return 0;
	case FRAME_RECON_DONE:
		if (len != FRAME_RECON_DONE_LEN)
			return frame_err(err, "RECON_DONE length is not 5");
		r->session = frame_get32(p);
		r->result = p[4];
		if (r->result > FRAME_RECON_RESULT_MAX)
			return frame_err(err, "RECON_DONE result unknown");
		return 0;
	default:
		return frame_err(err, "not a reconciliation frame");
	}
	if (r->count == 0 || r->count > FRAME_RECON_BATCH_MAX)
		return frame_err(err, "reconciliation want out of range");
	return 0;
}
