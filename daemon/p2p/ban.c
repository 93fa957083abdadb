/*
 * ban.c: the ban table, its records in the store and the old file (ban.h).  At most BAN_MAX entries,
 * looked up by a linear scan: a few microseconds at accept, far less than
 * the handshake it saves.  Loop thread only.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "p2p/ban.h"
#include "proto/hex.h"

#define BAN_LINE_MAX	256

struct ban {
	struct ban_entry e[BAN_MAX];
	size_t		 n;
	uint64_t	 total[BAN_REASON_COUNT];
};

static const char *const ban_codes[BAN_REASON_COUNT] = {
	[BAN_NONE] = "none",
	[BAN_BAD_SIGNATURE] = "bad_signature",
	[BAN_WRONG_NETWORK] = "wrong_network",
	[BAN_BAD_ENCODING] = "bad_encoding",
	[BAN_PROTOCOL] = "protocol_violation",
};

struct ban *
ban_new(void)
{
	return xcalloc(1, sizeof(struct ban));
}

void
ban_free(struct ban *b)
{
	free(b);
}

const char *
ban_reason_code(enum ban_reason r)
{
	return (unsigned)r < BAN_REASON_COUNT ? ban_codes[r] : "unknown";
}

enum ban_reason
ban_reason_from_code(const char *code)
{
	unsigned	r;

	for (r = 1; r < BAN_REASON_COUNT; r++)
		if (strcmp(ban_codes[r], code) == 0)
			return (enum ban_reason)r;
	return BAN_NONE;
}

static size_t
ban_id_len(enum ban_kind kind)
{
	return kind == BAN_KEY ? TX_PK_LEN : BAN_IP_LEN;
}

int
ban_ip_from_sockaddr(const struct sockaddr *sa, uint8_t ip[BAN_IP_LEN])
{
	const struct sockaddr_in	*in;
	const struct sockaddr_in6	*in6;

	memset(ip, 0, BAN_IP_LEN);
	if (sa->sa_family == AF_INET) {
		in = (const struct sockaddr_in *)(const void *)sa;
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(ip, &in6->sin6_addr, BAN_IP_LEN);
		return 0;
	}
	return -1;
}

int
ban_ip_parse(const char *s, uint8_t ip[BAN_IP_LEN])
{
	struct in_addr	a4;

	memset(ip, 0, BAN_IP_LEN);
	if (strlen(s) >= INET6_ADDRSTRLEN)
		return -1;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, ip) == 1 ? 0 : -1;
}

static int
ban_ip_is_v4(const uint8_t ip[BAN_IP_LEN])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

void
ban_ip_str(const uint8_t ip[BAN_IP_LEN], char *out, size_t outlen)
{
	char	buf[INET6_ADDRSTRLEN];

	if (ban_ip_is_v4(ip))
		inet_ntop(AF_INET, ip + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, ip, buf, sizeof(buf));
	snprintf(out, outlen, "%s", buf);
}

int
ban_ip_exempt(const uint8_t ip[BAN_IP_LEN])
{
	static const uint8_t v6one[BAN_IP_LEN] = { [15] = 1 };

	if (ban_ip_is_v4(ip))
		return ip[12] == 127 && ip[13] == 0 && ip[14] == 0 && ip[15] == 1;
	return memcmp(ip, v6one, BAN_IP_LEN) == 0;
}

static struct ban_entry *
ban_lookup(const struct ban *b, enum ban_kind kind, const uint8_t *id)
{
	size_t	i, len = ban_id_len(kind);

	for (i = 0; i < b->n; i++)
		if (b->e[i].kind == kind && memcmp(b->e[i].id, id, len) == 0)
			return (struct ban_entry *)&b->e[i];
	return NULL;
}

/* Puts e in the table: a free place, else the place of the ban that ends first. */
static void
ban_put(struct ban *b, const struct ban_entry *e)
{
	size_t	i, soonest = 0;

	if (b->n < BAN_MAX) {
		b->e[b->n++] = *e;
		return;
	}
	for (i = 1; i < b->n; i++)
		if (b->e[i].until < b->e[soonest].until)
			soonest = i;
	memmove(&b->e[soonest], &b->e[soonest + 1],
	    (b->n - soonest - 1) * sizeof(b->e[0]));
	b->e[b->n - 1] = *e;
}

int
ban_add(struct ban *b, enum ban_kind kind, const uint8_t *id,
    enum ban_reason reason, uint64_t now, uint64_t secs)
{
	struct ban_entry	*old, e;

	if ((old = ban_lookup(b, kind, id)) != NULL && old->until > now) {
		if (now + secs > old->until)
			old->until = now + secs;
		return 0;
	}
	if (old != NULL) {
		/* Over, not yet forgotten: a new ban in its place. */
		old->reason = reason;
		old->since = now;
		old->until = now + secs;
		if (kind == BAN_KEY && (unsigned)reason < BAN_REASON_COUNT)
			b->total[reason]++;
		return 1;
	}
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	memcpy(e.id, id, ban_id_len(kind));
	e.reason = reason;
	e.since = now;
	e.until = now + secs;
	ban_put(b, &e);
	if (kind == BAN_KEY && (unsigned)reason < BAN_REASON_COUNT)
		b->total[reason]++;
	return 1;
}

const struct ban_entry *
ban_find(const struct ban *b, enum ban_kind kind, const uint8_t *id, uint64_t now)
{
	const struct ban_entry *e;

	if (b->n == 0)
		return NULL;
	e = ban_lookup(b, kind, id);
	return e != NULL && e->until > now ? e : NULL;
}

/* Removes entries for which keep() is false; returns how many went. */
static size_t
ban_filter(struct ban *b, int (*keep)(const struct ban_entry *, const void *),
    const void *arg)
{
	size_t	i, o = 0;

	for (i = 0; i < b->n; i++)
		if (keep(&b->e[i], arg))
			b->e[o++] = b->e[i];
	i = b->n - o;
	b->n = o;
	return i;
}

struct ban_match {
	enum ban_kind	kind;
	uint8_t		id[TX_PK_LEN];
};

static int
ban_keep_other(const struct ban_entry *e, const void *arg)
{
	const struct ban_match *m = arg;

	return e->kind != m->kind || memcmp(e->id, m->id, ban_id_len(m->kind)) != 0;
}

int
ban_del(struct ban *b, const char *text)
{
	struct ban_match	m;

	memset(&m, 0, sizeof(m));
	if (strlen(text) == 2 * TX_PK_LEN &&
	    hex_decode(m.id, TX_PK_LEN, text, 2 * TX_PK_LEN) == 0)
		m.kind = BAN_KEY;
	else if (ban_ip_parse(text, m.id) == 0)
		m.kind = BAN_IP;
	else
		return -1;
	return (int)ban_filter(b, ban_keep_other, &m);
}

static int
ban_keep_current(const struct ban_entry *e, const void *arg)
{
	return e->until > *(const uint64_t *)arg;
}

size_t
ban_expire(struct ban *b, uint64_t now)
{
	return ban_filter(b, ban_keep_current, &now);
}

size_t
ban_count(const struct ban *b, uint64_t now)
{
	size_t	i, n = 0;

	for (i = 0; i < b->n; i++)
		n += b->e[i].until > now;
	return n;
}

void
ban_foreach(const struct ban *b, uint64_t now,
    void (*fn)(const struct ban_entry *, void *), void *arg)
{
	size_t	i;

	for (i = 0; i < b->n; i++)
		if (b->e[i].until > now)
			fn(&b->e[i], arg);
}

void
ban_target_str(const struct ban_entry *e, char *out, size_t outlen)
{
	char	buf[2 * TX_PK_LEN + 1];

	if (e->kind == BAN_KEY) {
		hex_encode(buf, e->id, TX_PK_LEN);
		snprintf(out, outlen, "key %s", buf);
	} else {
		ban_ip_str(e->id, buf, sizeof(buf));
		snprintf(out, outlen, "ip %s", buf);
	}
}

uint64_t
ban_total(const struct ban *b, enum ban_reason r)
{
	return (unsigned)r < BAN_REASON_COUNT ? b->total[r] : 0;
}

/* --- the file --------------------------------------------------------- */

/* A decimal u64 of at most 20 digits, the whole of s.  0, or -1. */
static int
ban_parse_u64(const char *s, uint64_t *v)
{
	char		*end;
	unsigned long long x;

	if (*s < '0' || *s > '9' || strlen(s) > 20)
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

int
ban_parse_line(const char *line, struct ban_entry *e)
{
	char	buf[BAN_LINE_MAX], *f[6], *save = NULL, *t;
	size_t	n = 0, len = strlen(line);

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, line, len + 1);
	for (t = strtok_r(buf, " \t\r\n", &save); t != NULL;
	    t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 5)
			return -1;
		f[n++] = t;
	}
	if (n != 5)
		return -1;
	memset(e, 0, sizeof(*e));
	if (strcmp(f[0], "key") == 0) {
		e->kind = BAN_KEY;
		if (strlen(f[1]) != 2 * TX_PK_LEN ||
		    hex_decode(e->id, TX_PK_LEN, f[1], 2 * TX_PK_LEN) == -1)
			return -1;
	} else if (strcmp(f[0], "ip") == 0) {
		e->kind = BAN_IP;
		if (ban_ip_parse(f[1], e->id) == -1)
			return -1;
	} else
		return -1;
	if ((e->reason = ban_reason_from_code(f[2])) == BAN_NONE ||
	    ban_parse_u64(f[3], &e->since) == -1 ||
	    ban_parse_u64(f[4], &e->until) == -1 || e->until < e->since)
		return -1;
	return 0;
}

int
ban_load(struct ban *b, const char *path, uint64_t now, size_t *skipped)
{
	FILE		*f;
	char		 line[BAN_LINE_MAX + 2];
	struct ban_entry e;
	size_t		 read = 0, len;
	int		 toolong = 0;

	*skipped = 0;
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while (read < BAN_FILE_MAX && fgets(line, sizeof(line), f) != NULL) {
		len = strlen(line);
		read += len;
		if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
			/* Longer than any ban: skip the rest of it. */
			toolong = 1;
			continue;
		}
		if (toolong) {
			toolong = 0;
			(*skipped)++;
			continue;
		}
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (ban_parse_line(line, &e) == -1) {
			(*skipped)++;
			continue;
		}
		(void)ban_restore(b, &e, now);
	}
	fclose(f);
	return 0;
}

/*
 * A ban as a store record.  key: 'k' and the 32-byte node key, or 'i' and
 * the 16-byte address; value: reason (1 byte), since, until (8 bytes each,
 * little-endian).
 */
size_t
ban_pack(const struct ban_entry *e, uint8_t key[BAN_REC_KEY_MAX],
    uint8_t val[BAN_REC_VAL_LEN])
{
	int	i;

	key[0] = e->kind == BAN_KEY ? 'k' : 'i';
	memcpy(key + 1, e->id, ban_id_len(e->kind));
	val[0] = (uint8_t)e->reason;
	for (i = 0; i < 8; i++) {
		val[1 + i] = (uint8_t)(e->since >> (8 * i));
		val[9 + i] = (uint8_t)(e->until >> (8 * i));
	}
	return 1 + ban_id_len(e->kind);
}

int
ban_unpack(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
    struct ban_entry *e)
{
	int	i;

	memset(e, 0, sizeof(*e));
	if (klen < 1 || vlen != BAN_REC_VAL_LEN)
		return -1;
	if (key[0] == 'k')
		e->kind = BAN_KEY;
	else if (key[0] == 'i')
		e->kind = BAN_IP;
	else
		return -1;
	if (klen != 1 + ban_id_len(e->kind) || val[0] == BAN_NONE ||
	    val[0] >= BAN_REASON_COUNT)
		return -1;
	memcpy(e->id, key + 1, klen - 1);
	e->reason = (enum ban_reason)val[0];
	for (i = 7; i >= 0; i--) {
		e->since = e->since << 8 | val[1 + i];
		e->until = e->until << 8 | val[9 + i];
	}
	return e->until < e->since ? -1 : 0;
}

int
ban_restore(struct ban *b, const struct ban_entry *e, uint64_t now)
{
	if (e->until <= now || ban_lookup(b, e->kind, e->id) != NULL)
		return 0;
	ban_put(b, e);
	return 1;
}
