/*
 * ban.h: peers that proved misbehaviour, banned by node key and by IP
 * address for --ban-seconds (docs/SECURITY.md, "Bans").  A bounded table
 * with times in Unix seconds passed in, so that it survives a restart
 * (ban_pack, ban_unpack: records of the store) and a unit test can drive
 * it.  No
 * sockets, no libevent.  Loop thread only.
 */
#ifndef P2P_BAN_H
#define P2P_BAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/tx.h"

#define BAN_MAX		1024	/* bans kept; a new one replaces the soonest to end */
#define BAN_IP_LEN	16	/* IPv4 as ::ffff:a.b.c.d */
#define BAN_FILE	"bans"	/* in the data dir */
#define BAN_FILE_MAX	(256 * 1024)	/* bytes of it read at most */

/* Why a peer was banned; the codes are metrics labels and API values. */
enum ban_reason {
	BAN_NONE = 0,
	BAN_BAD_SIGNATURE,	/* "bad_signature": a transaction's */
	BAN_WRONG_NETWORK,	/* "wrong_network": a transaction of another network */
	BAN_BAD_ENCODING,	/* "bad_encoding": undecodable, unknown version */
	BAN_PROTOCOL,		/* "protocol_violation": a bad frame */
	BAN_REASON_COUNT
};

enum ban_kind {
	BAN_KEY = 0,
	BAN_IP
};

struct ban_entry {
	enum ban_kind	kind;
	uint8_t		id[TX_PK_LEN];	/* the node key, or BAN_IP_LEN bytes of address */
	enum ban_reason	reason;
	uint64_t	since;		/* Unix seconds */
	uint64_t	until;		/* Unix seconds; the ban ends then */
};

struct ban;
struct sockaddr;

/* An empty table. */
struct ban *ban_new(void);
void	ban_free(struct ban *b);

/* The stable code of r ("bad_signature"); "none" for BAN_NONE, "unknown" past the last. */
const char *ban_reason_code(enum ban_reason r);
/* The reason of a code, or BAN_NONE. */
enum ban_reason ban_reason_from_code(const char *code);

/* The 16-byte form of sa's address.  0, or -1 if it is not IPv4 or IPv6. */
int	ban_ip_from_sockaddr(const struct sockaddr *sa, uint8_t ip[BAN_IP_LEN]);
/* Parses a literal IPv4 or IPv6 address.  0, or -1. */
int	ban_ip_parse(const char *s, uint8_t ip[BAN_IP_LEN]);
/* Writes the address as text ("127.0.0.2", "::1"). */
void	ban_ip_str(const uint8_t ip[BAN_IP_LEN], char *out, size_t outlen);
/*
 * True for 127.0.0.1 and ::1: the addresses every local program shares,
 * not one party's.  They are not banned (their keys still are), as Bitcoin
 * Core does not discourage local peers, and no per-address limit applies
 * to them (the node-wide ones do): one misbehaving local program must not
 * lock out the operator's own nodes and tools (a local cluster dials one
 * node from 127.0.0.1 many times).  Other 127.x.y.z addresses are one
 * party's, as any other address.
 */
int	ban_ip_exempt(const uint8_t ip[BAN_IP_LEN]);

/*
 * Bans id (a key, or an IP address) until now + secs, or extends a ban
 * already there.  Returns 1 if the ban is new, 0 if one was extended.
 */
int	ban_add(struct ban *b, enum ban_kind kind, const uint8_t *id,
	    enum ban_reason reason, uint64_t now, uint64_t secs);
/* The ban of id in force at now, or NULL. */
const struct ban_entry *ban_find(const struct ban *b, enum ban_kind kind,
	    const uint8_t *id, uint64_t now);
/*
 * Lifts the bans named by text: a node key (64 hex digits) or an IP
 * address.  Returns how many were lifted (0: none), or -1 if text is
 * neither.
 */
int	ban_del(struct ban *b, const char *text);
/* Forgets bans over at now; returns how many. */
size_t	ban_expire(struct ban *b, uint64_t now);
/* The bans in force at now, in the order they were made. */
size_t	ban_count(const struct ban *b, uint64_t now);
/* Calls fn for each ban in force at now. */
void	ban_foreach(const struct ban *b, uint64_t now,
	    void (*fn)(const struct ban_entry *e, void *arg), void *arg);
/* Writes "key <hex>" or "ip <address>" of e. */
void	ban_target_str(const struct ban_entry *e, char *out, size_t outlen);
/* Node keys banned since ban_new (a peer each, its address aside), by reason. */
uint64_t ban_total(const struct ban *b, enum ban_reason r);

/*
 * Kept in the store (net.c writes the table whole when it changes): a ban
 * as a record, and back.  ban_pack returns the key's length; ban_unpack 0,
 * or -1 if the record is not a ban.  ban_restore adds e if still in force
 * at now and not known: 1 if added, else 0.
 */
#define BAN_REC_KEY_MAX	(1 + TX_PK_LEN)
#define BAN_REC_VAL_LEN	17
size_t	ban_pack(const struct ban_entry *e, uint8_t key[BAN_REC_KEY_MAX],
	    uint8_t val[BAN_REC_VAL_LEN]);
int	ban_unpack(const uint8_t *key, size_t klen, const uint8_t *val,
	    size_t vlen, struct ban_entry *e);
int	ban_restore(struct ban *b, const struct ban_entry *e, uint64_t now);

/*
 * The file older noded wrote (DATA_DIR/bans): one line a ban, "key HEX|ip
 * ADDR REASON SINCE UNTIL".  Read once, into the store, and renamed.
 * ban_load adds the bans still in force at now from path (a missing file
 * is no error); lines that do not parse are skipped and counted in
 * *skipped.  0, or -1 with errno (the file cannot be read).
 */
int	ban_load(struct ban *b, const char *path, uint64_t now, size_t *skipped);
/* Parses one line of the file into e.  0, or -1 (it says nothing usable). */
int	ban_parse_line(const char *line, struct ban_entry *e);

#endif
