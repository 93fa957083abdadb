/*
 * channel.h: the secure channel.  Every peer connection is mutually
 * authenticated with the nodes' long-lived Ed25519 keys and encrypted with
 * crypto_secretstream_xchacha20poly1305 keyed from an ephemeral X25519
 * exchange (crypto_kx).  A state machine over byte buffers: no sockets.
 * docs/PROTOCOL.md section 4 is the spec.
 *
 * Both sides send M1 at once (channel_new queues it):
 *   M1 = "NDH1" | ephemeral X25519 public key (32)               = 36 bytes
 * After the peer's M1 each side derives its keys (crypto_kx client keys for
 * the initiator, server keys for the responder; each key then mixed with the
 * network id through keyed BLAKE2b) and sends:
 *   M2 = secretstream header (24) | record(AUTH)
 *   AUTH = static Ed25519 public key (32) | signature (64) over
 *          "noded/auth/v1" | role ('I' or 'R') | transcript hash
 *   transcript hash = BLAKE2b-256("noded/hs/v1" | netid | eph_I | eph_R)
 * A record is: ciphertext length (u32, big-endian, authenticated as
 * additional data) | secretstream ciphertext (plaintext + 17 bytes).
 * Nodes on different networks derive different keys: the first record fails.
 *
 * channel_recv does not buffer: it consumes a message only once all of it
 * is in the bytes offered, so the caller keeps unconsumed bytes (an
 * evbuffer) and offers them again when more arrive.
 */
#ifndef PROTO_CHANNEL_H
#define PROTO_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "tx.h"

#define CHANNEL_M1_LEN		36
#define CHANNEL_ABYTES		17	/* crypto_secretstream_xchacha20poly1305_ABYTES */
#define CHANNEL_RECORD_HDR	4
#define CHANNEL_RECORD_OVERHEAD	(CHANNEL_RECORD_HDR + CHANNEL_ABYTES)
/* Largest plaintext in one record: one whole maximum-size frame. */
#define CHANNEL_RECORD_MAX	(FRAME_HDR_LEN + FRAME_MAX_PAYLOAD)
#define CHANNEL_STREAM_HDR	24	/* crypto_secretstream_xchacha20poly1305_HEADERBYTES */
#define CHANNEL_AUTH_LEN	96	/* AUTH plaintext: public key (32) | signature (64) */
#define CHANNEL_M2_LEN		(CHANNEL_STREAM_HDR + CHANNEL_RECORD_OVERHEAD + \
				    CHANNEL_AUTH_LEN)	/* 141 */
#define CHANNEL_EPH_SEED_LEN	32	/* crypto_kx_SEEDBYTES */

struct channel;

/*
 * New channel for one connection.  initiator: 1 for the side that dialled.
 * node_sk is this node's Ed25519 secret key (64 bytes, libsodium form); it
 * is copied.  The M1 to send is queued for channel_output().  NULL on
 * allocation failure.  Any thread, but one channel belongs to one thread.
 */
struct channel *channel_new(int initiator, const uint8_t netid[TX_NETID_LEN],
	    const uint8_t node_sk[TX_SK_LEN]);

/*
 * As channel_new, but the ephemeral key pair comes from a 32-byte seed
 * (crypto_kx_seed_keypair) instead of the system RNG.  For test vectors
 * and tests only: a reused seed destroys forward secrecy.
 */
struct channel *channel_new_seeded(int initiator,
	    const uint8_t netid[TX_NETID_LEN], const uint8_t node_sk[TX_SK_LEN],
	    const uint8_t eph_seed[CHANNEL_EPH_SEED_LEN]);

/* Wipes keys and frees. */
void	channel_free(struct channel *ch);

/*
 * Moves bytes that must be sent to the peer (handshake messages) into out,
 * at most cap; returns how many.  Call after channel_new and after every
 * channel_recv.
 */
size_t	channel_output(struct channel *ch, uint8_t *out, size_t cap);

/*
 * Feeds wire bytes.  Consumes at most one handshake message (M1, the
 * stream header, the AUTH record) or one record and sets *used (0: need
 * more bytes; nothing is buffered).  After the handshake, a record's
 * plaintext is written to pt (ptcap >= CHANNEL_RECORD_MAX; a record that
 * does not fit fails the channel) and *ptlen set (0 for none).  Returns 0,
 * or -1 once the channel has failed, and on every call after: bad magic,
 * record length out of bounds (checked on its 4 bytes alone), failed
 * decryption (tampering, replay, reordering, wrong network), bad
 * signature; channel_error() says which.
 */
int	channel_recv(struct channel *ch, const uint8_t *in, size_t len,
	    size_t *used, uint8_t *pt, size_t ptcap, size_t *ptlen);

/* 1 once this side's M2 is queued and the peer's AUTH verified, else 0. */
int	channel_established(const struct channel *ch);

/* The peer's authenticated Ed25519 public key once established, else NULL. */
const uint8_t *channel_remote_key(const struct channel *ch);

/*
 * The transcript hash (32 bytes), the same at both ends of one connection
 * and different for every connection: a name for the session.  Valid once
 * established.
 */
const uint8_t *channel_session_id(const struct channel *ch);

/* Why the channel failed, or NULL. */
const char *channel_error(const struct channel *ch);

/*
 * Seals len plaintext bytes (len <= CHANNEL_RECORD_MAX) into one record at
 * out (cap >= len + CHANNEL_RECORD_OVERHEAD).  Returns the record length, or
 * 0 if not established or out of bounds.  pt and out must not overlap.
 */
size_t	channel_seal(struct channel *ch, const uint8_t *pt, size_t len,
	    uint8_t *out, size_t cap);

#endif
