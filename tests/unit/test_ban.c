/*
 * test_ban.c: the ban table (p2p/ban.c) and the inbound admission decisions
 * (p2p/inbound.c): bans in force and over, extension, lifting, the bound,
 * the file's lines and its round trip; the handshake token buckets and the
 * choice of a peer to evict.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2p/ban.h"
#include "p2p/inbound.h"
#include "tmpdir.h"

static void
ip4(const char *s, uint8_t ip[BAN_IP_LEN])
{
	assert_int_equal(ban_ip_parse(s, ip), 0);
}

static void
test_ban_add_find_expire(void **state)
{
	struct ban	*b = ban_new();
	uint8_t		 key[TX_PK_LEN], keyish[TX_PK_LEN], ip[BAN_IP_LEN];
	uint8_t		 other[BAN_IP_LEN];

	(void)state;
	memset(key, 0x42, sizeof(key));
	ip4("127.0.0.2", ip);
	ip4("127.0.0.3", other);
	assert_int_equal(ban_add(b, BAN_KEY, key, BAN_BAD_SIGNATURE, 1000, 600), 1);
	assert_int_equal(ban_add(b, BAN_IP, ip, BAN_BAD_SIGNATURE, 1000, 600), 1);
	assert_non_null(ban_find(b, BAN_KEY, key, 1599));
	assert_null(ban_find(b, BAN_KEY, key, 1600));
	assert_non_null(ban_find(b, BAN_IP, ip, 1000));
	assert_null(ban_find(b, BAN_IP, other, 1000));
	/* An address's 16 bytes are not mistaken for the start of a key. */
	memset(keyish, 0, sizeof(keyish));
	memcpy(keyish, ip, BAN_IP_LEN);
	assert_null(ban_find(b, BAN_KEY, keyish, 1000));
	assert_int_equal(ban_count(b, 1000), 2);
	/* Again: extended, not doubled, and counted once (peers, by key). */
	assert_int_equal(ban_add(b, BAN_KEY, key, BAN_PROTOCOL, 1500, 600), 0);
	assert_non_null(ban_find(b, BAN_KEY, key, 2099));
	assert_int_equal(ban_count(b, 1500), 2);
	assert_int_equal(ban_total(b, BAN_BAD_SIGNATURE), 1);
	assert_int_equal(ban_expire(b, 1600), 1);	/* the address */
	assert_int_equal(ban_count(b, 1600), 1);
	ban_free(b);
}

static void
test_ban_del(void **state)
{
	struct ban	*b = ban_new();
	uint8_t		 key[TX_PK_LEN], ip[BAN_IP_LEN];
	char		 hex[2 * TX_PK_LEN + 1];

	(void)state;
	memset(key, 0xab, sizeof(key));
	memset(hex, 'a', sizeof(hex) - 1);
	hex[sizeof(hex) - 1] = '\0';
	for (size_t i = 1; i < sizeof(hex) - 1; i += 2)
		hex[i] = 'b';
	ip4("::ffff:10.0.0.1", ip);
	ban_add(b, BAN_KEY, key, BAN_PROTOCOL, 10, 10);
	ban_add(b, BAN_IP, ip, BAN_PROTOCOL, 10, 10);
	assert_int_equal(ban_del(b, "nonsense"), -1);
	assert_int_equal(ban_del(b, "10.0.0.2"), 0);
	assert_int_equal(ban_del(b, "10.0.0.1"), 1);	/* v4 and v4-mapped are one */
	assert_int_equal(ban_del(b, hex), 1);
	assert_int_equal(ban_count(b, 10), 0);
	ban_free(b);
}

static void
test_ban_bound(void **state)
{
	struct ban	*b = ban_new();
	uint8_t		 key[TX_PK_LEN];
	unsigned	 i;

	(void)state;
	memset(key, 0, sizeof(key));
	for (i = 0; i < BAN_MAX + 10; i++) {
		memcpy(key, &i, sizeof(i));
		/* The first ones end soonest: they make room. */
		ban_add(b, BAN_KEY, key, BAN_PROTOCOL, 100, 100 + i);
	}
	assert_int_equal(ban_count(b, 100), BAN_MAX);
	i = 0;
	memcpy(key, &i, sizeof(i));
	assert_null(ban_find(b, BAN_KEY, key, 100));
	i = BAN_MAX + 9;
	memcpy(key, &i, sizeof(i));
	assert_non_null(ban_find(b, BAN_KEY, key, 100));
	ban_free(b);
}

static void
test_ban_lines(void **state)
{
	static const char *const good[] = {
		"key 4242424242424242424242424242424242424242424242424242424242424242 "
		    "bad_signature 1 2\n",
		"ip 127.0.0.2 wrong_network 5 5",
		"ip ::1\tprotocol_violation 0 18446744073709551615",
	};
	static const char *const bad[] = {
		"", "key", "key 42 bad_signature 1 2",
		"key 4242424242424242424242424242424242424242424242424242424242424g42 "
		    "bad_signature 1 2",
		"ip 127.0.0.256 bad_signature 1 2", "ip 127.0.0.2 none 1 2",
		"ip 127.0.0.2 unknown 1 2", "ip 127.0.0.2 bad_signature 2 1",
		"ip 127.0.0.2 bad_signature -1 2", "ip 127.0.0.2 bad_signature 1 2 3",
		"ip 127.0.0.2 bad_signature 1 18446744073709551616",
		"ip 127.0.0.2 bad_signature 1 0x10", "host x bad_signature 1 2",
	};
	struct ban_entry e;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ban_parse_line(good[i], &e) != 0)
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ban_parse_line(bad[i], &e) != -1)
			fail_msg("taken: %s", bad[i]);
}

/* The file older noded wrote is read (once, into the store) with bounds. */
static void
test_ban_file_import(void **state)
{
	struct ban	*c = ban_new();
	uint8_t		 key[TX_PK_LEN], ip[BAN_IP_LEN];
	char		 path[128], hex[2 * TX_PK_LEN + 1];
	size_t		 skipped;
	FILE		*f;

	(void)state;
	snprintf(path, sizeof(path), "%s/bans", tmpdir);
	assert_int_equal(ban_load(c, path, 100, &skipped), 0);	/* none yet */
	memset(key, 7, sizeof(key));
	memset(hex, '0', sizeof(hex) - 1);
	hex[sizeof(hex) - 1] = '\0';
	for (size_t i = 0; i < TX_PK_LEN; i++)
		hex[2 * i + 1] = '7';
	ip4("2001:db8::1", ip);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# noded bans\nkey %s bad_encoding 100 150\n"
	    "ip 2001:db8::1 bad_encoding 100 600\ngarbage line\n", hex);
	fclose(f);
	/* Read back at 200: the key's ban is over by then. */
	assert_int_equal(ban_load(c, path, 200, &skipped), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(ban_count(c, 200), 1);
	assert_non_null(ban_find(c, BAN_IP, ip, 200));
	assert_null(ban_find(c, BAN_KEY, key, 120));
	ban_free(c);
}

/* Store records: both kinds round-trip; a record that is not a ban is refused. */
static void
test_ban_pack_round_trip(void **state)
{
	struct ban_entry e, back;
	uint8_t		 k[BAN_REC_KEY_MAX], v[BAN_REC_VAL_LEN];
	size_t		 klen;
	struct ban	*b = ban_new();

	(void)state;
	memset(&e, 0, sizeof(e));
	e.kind = BAN_KEY;
	memset(e.id, 0xa5, TX_PK_LEN);
	e.reason = BAN_PROTOCOL;
	e.since = 0x0102030405060708ULL;
	e.until = e.since + 600;
	klen = ban_pack(&e, k, v);
	assert_int_equal(klen, 1 + TX_PK_LEN);
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), 0);
	assert_memory_equal(&e, &back, sizeof(e));
	e.kind = BAN_IP;
	memset(e.id, 0, sizeof(e.id));
	ip4("10.1.2.3", e.id);
	klen = ban_pack(&e, k, v);
	assert_int_equal(klen, 1 + BAN_IP_LEN);
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), 0);
	assert_memory_equal(&e, &back, sizeof(e));
	/* Not bans: a wrong length, kind, reason, or an end before the start. */
	assert_int_equal(ban_unpack(k, klen + 1, v, sizeof(v), &back), -1);
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v) - 1, &back), -1);
	assert_int_equal(ban_unpack(k, 0, v, sizeof(v), &back), -1);
	k[0] = 'x';
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), -1);
	k[0] = 'i';
	v[0] = BAN_NONE;
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), -1);
	v[0] = BAN_REASON_COUNT;
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), -1);
	v[0] = BAN_PROTOCOL;
	v[16] = 0;	/* until's top byte: now before since */
	assert_int_equal(ban_unpack(k, klen, v, sizeof(v), &back), -1);
	/* Restored only while in force, and once. */
	assert_int_equal(ban_restore(b, &e, e.until), 0);
	assert_int_equal(ban_restore(b, &e, e.since), 1);
	assert_int_equal(ban_restore(b, &e, e.since), 0);
	assert_int_equal(ban_count(b, e.since), 1);
	ban_free(b);
}

static void
test_ban_exempt(void **state)
{
	uint8_t	ip[BAN_IP_LEN];

	(void)state;
	ip4("127.0.0.1", ip);
	assert_true(ban_ip_exempt(ip));
	ip4("::1", ip);
	assert_true(ban_ip_exempt(ip));
	ip4("127.0.0.2", ip);
	assert_false(ban_ip_exempt(ip));
	ip4("10.1.2.3", ip);
	assert_false(ban_ip_exempt(ip));
}

static void
test_inbound_buckets(void **state)
{
	struct inbound	*in = inbound_new(10, 3);
	uint8_t		 a[BAN_IP_LEN], b[BAN_IP_LEN];
	unsigned	 i, ok;

	(void)state;
	ip4("127.0.0.2", a);
	ip4("127.0.0.3", b);
	for (i = 0, ok = 0; i < 10; i++)
		ok += inbound_take(in, a, 1000) == INBOUND_OK;
	assert_int_equal(ok, 3);
	assert_int_equal(inbound_take(in, a, 1000), INBOUND_RATE_IP);
	/* A third of a second later, one more token for a. */
	assert_int_equal(inbound_take(in, a, 1334), INBOUND_OK);
	assert_int_equal(inbound_take(in, a, 1334), INBOUND_RATE_IP);
	/* b has its own bucket. */
	assert_int_equal(inbound_take(in, b, 1334), INBOUND_OK);
	inbound_free(in);

	/* Global: half of it is kept for addresses whose own bucket is full. */
	in = inbound_new(4, 100);
	assert_int_equal(inbound_take(in, a, 1000), INBOUND_OK);	/* 4 -> 3 */
	assert_int_equal(inbound_take(in, a, 1000), INBOUND_OK);	/* a not full: 3 -> 2 */
	assert_int_equal(inbound_take(in, a, 1000), INBOUND_RATE);	/* 2: the reserve */
	assert_int_equal(inbound_take(in, b, 1000), INBOUND_OK);	/* b full: 2 -> 1 */
	assert_int_equal(inbound_take(in, b, 1000), INBOUND_RATE);	/* b not full now */
	inbound_free(in);

	/* 0: no limit. */
	in = inbound_new(0, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(inbound_take(in, a, 1000), INBOUND_OK);
	inbound_free(in);
}

/* Two that came in the same millisecond: the later in arrival order goes (CI saw the older go). */
static void
test_inbound_evict_tie(void **state)
{
	struct inbound_cand c[3];
	uint64_t	now = 1000000;

	(void)state;
	memset(c, 0, sizeof(c));
	ip4("127.0.0.2", c[0].ip);
	ip4("127.0.0.3", c[1].ip);
	ip4("127.0.0.4", c[2].ip);
	for (int i = 0; i < 3; i++) {
		c[i].since_ms = now - 5;
		c[i].last_frame_ms = now - 1;
	}
	c[0].productive_ms = now - 2;
	assert_int_equal(inbound_evict_pick(c, 3, now), 2);
	/* Idle ones alike. */
	c[1].last_frame_ms = c[2].last_frame_ms = 0;
	c[1].since_ms = c[2].since_ms = now - INBOUND_IDLE_MS - 10;
	assert_int_equal(inbound_evict_pick(c, 3, now), 2);
}

static void
test_inbound_evict(void **state)
{
	struct inbound_cand c[4];
	uint64_t	now = 1000000;

	(void)state;
	memset(c, 0, sizeof(c));
	ip4("127.0.0.2", c[0].ip);
	ip4("127.0.0.3", c[1].ip);
	ip4("127.0.0.4", c[2].ip);
	ip4("127.0.0.4", c[3].ip);
	/* All busy and recent; 0 productive: the newest of the crowded address. */
	for (int i = 0; i < 4; i++) {
		c[i].since_ms = now - 50000 + 1000 * i;
		c[i].last_frame_ms = now - 10;
	}
	c[0].productive_ms = now - 5;
	c[2].since_ms = now - 100;	/* .4's newest */
	assert_int_equal(inbound_evict_pick(c, 4, now), 2);
	/* An idle one goes first, even an old one. */
	c[1].last_frame_ms = now - INBOUND_IDLE_MS - 1;
	assert_int_equal(inbound_evict_pick(c, 4, now), 1);
	/* Only productive ones: none may go. */
	for (int i = 0; i < 4; i++)
		c[i].productive_ms = now;
	assert_int_equal(inbound_evict_pick(c, 4, now), -1);
	assert_int_equal(inbound_evict_pick(c, 0, now), -1);
}

static void
test_inbound_evict_keeps_long_lived(void **state)
{
	struct inbound_cand c[8];
	uint64_t	now = 10000000;
	int		i;

	(void)state;
	memset(c, 0, sizeof(c));
	/* 8 unproductive peers: the 2 oldest are kept, even idle ones. */
	for (i = 0; i < 8; i++) {
		ip4("127.0.0.2", c[i].ip);
		c[i].since_ms = now - 1000000 + 1000 * i;
		c[i].last_frame_ms = now - 10;
	}
	c[0].last_frame_ms = now - INBOUND_IDLE_MS - 1;	/* old and idle: kept */
	c[1].last_frame_ms = 0;				/* old, never spoke: kept */
	assert_int_equal(inbound_evict_pick(c, 8, now), 7);
	c[5].last_frame_ms = now - INBOUND_IDLE_MS - 1;	/* a newer idle one goes */
	assert_int_equal(inbound_evict_pick(c, 8, now), 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_add_find_expire),
		cmocka_unit_test(test_ban_del),
		cmocka_unit_test(test_ban_bound),
		cmocka_unit_test(test_ban_lines),
		cmocka_unit_test(test_ban_pack_round_trip),
		cmocka_unit_test_setup_teardown(test_ban_file_import,
		    tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_ban_exempt),
		cmocka_unit_test(test_inbound_buckets),
		cmocka_unit_test(test_inbound_evict),
		cmocka_unit_test(test_inbound_evict_tie),
		cmocka_unit_test(test_inbound_evict_keeps_long_lived),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
