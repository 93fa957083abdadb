/*
 * prov.h: the provenance of recent transactions (GET /v1/tx/ID/trace):
 * when each was first heard of, from which peer its copy came (or the API),
 * which peers announced it and when, how long it waited and was verified,
 * and to which peers it went.  A ring of the last N ids (--trace-ring), a
 * fixed 56-byte record each plus 8 bytes per announcer or receiver
 * remembered (at most PROV_ANN_MAX and PROV_OUT_MAX of them).  Peers are
 * indices into a small table of names and ids.  Fed by the relay; read by
 * the API.  Loop thread only.
 */
#ifndef P2P_PROV_H
#define P2P_PROV_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

#define PROV_ANN_MAX	8	/* announcers remembered per transaction */
#define PROV_OUT_MAX	8	/* receivers remembered per transaction */
#define PROV_PEERS	1024	/* peer table: the oldest slot is reused */
#define PROV_NONE	0xffff	/* peer slot: none */
#define PROV_API	0xfffe	/* peer slot: the HTTP API */
#define PROV_NEVER	UINT32_MAX	/* a time that has not come */

/* What a hop is: an announcement heard, or what we sent a peer. */
enum prov_kind {
	PROV_ANN = 0,		/* the peer announced it to us (INV) */
	PROV_SENT_INV,		/* we announced it to the peer */
	PROV_SENT_TX		/* we sent the peer the transaction (GETDATA) */
};

enum prov_state {
	PROV_SEEN = 0,		/* heard of, no verdict */
	PROV_ACCEPTED,
	PROV_REJECTED
};

struct prov;

/* A ring of ring transactions (ring >= 1).  Fatal on allocation failure. */
struct prov *prov_new(size_t ring);
void	prov_free(struct prov *pr);

/* A slot in the peer table for a connection (name from HELLO, hex node id). */
uint16_t prov_peer_add(struct prov *pr, uint64_t serial, const char *name,
	    const char *idhex);

/*
 * peer announced id at now (µs since the epoch); a record is made only if
 * create (an id the node still wants), else an existing one is added to.
 */
void	prov_announced(struct prov *pr, const uint8_t id[TX_ID_LEN],
	    uint16_t peer, uint64_t now, int create);
/* A copy of id arrived from peer (or PROV_API) and goes to validation. */
void	prov_received(struct prov *pr, const uint8_t id[TX_ID_LEN],
	    uint16_t peer, uint64_t now);
/* The verdict on id: verify_ns spent in the validator, ok accepted. */
void	prov_verdict(struct prov *pr, const uint8_t id[TX_ID_LEN],
	    uint64_t verify_ns, int ok, uint64_t now);
/* We announced (PROV_SENT_INV) or sent (PROV_SENT_TX) id to peer. */
void	prov_sent(struct prov *pr, const uint8_t id[TX_ID_LEN], uint16_t peer,
	    enum prov_kind kind, uint64_t now);

/* What is known of one transaction; times are µs since the epoch, 0: never. */
struct prov_hop_info {
	uint16_t	peer;
	enum prov_kind	kind;
	uint64_t	at_us;
};
struct prov_info {
	uint64_t	first_us;	/* first heard of (announcement or copy) */
	uint64_t	received_us;	/* the copy validated arrived */
	uint64_t	verdict_us;
	uint64_t	verify_us;	/* in the validator */
	uint64_t	announced_us;	/* first announced or sent onward */
	uint16_t	from;		/* peer slot, PROV_API or PROV_NONE */
	enum prov_state	state;
	size_t		nann, nout;	/* announcers and receivers, all counted */
	size_t		nhops;
	struct prov_hop_info hops[PROV_ANN_MAX + PROV_OUT_MAX];
};
/* Fills info for id.  0, or -1 if id is not (or no longer) remembered. */
int	prov_get(const struct prov *pr, const uint8_t id[TX_ID_LEN],
	    struct prov_info *info);
/* A peer slot's name and hex node id ("" when unknown). */
void	prov_peer_get(const struct prov *pr, uint16_t peer, const char **name,
	    const char **idhex);

/* Bytes allocated (records, index, hop lists, peer table) and ids remembered. */
size_t	prov_bytes(const struct prov *pr);
size_t	prov_count(const struct prov *pr);
/* The size of one record (the unit test's budget check). */
size_t	prov_record_size(void);

#endif
