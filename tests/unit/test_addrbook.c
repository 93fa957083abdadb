/* test_addrbook.c: the address book: direct and hearsay entries, its bound, self addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2p/addrbook.h"

#define SELF	0xee	/* this node's key: every byte */
#define FAILS	3	/* what a FAIL step records */
#define LATER	5000

enum op {
	END = 0,
	ADD,	/* addrbook_add(id k, host, port, arg: direct) */
	FAIL,	/* k's entry: FAILS failures, no dial before LATER */
	DEL,	/* addrbook_del(k's entry) */
	SELFA,	/* addrbook_self_add(host, port) returns arg */
	ISSELF	/* addrbook_is_self(host, port) is arg */
};

struct step {
	enum op		 op;
	int		 k;		/* node id: every byte k */
	const char	*host;
	uint16_t	 port;
	int		 arg;
	/*
	 * The book after the step (NULL: not checked), oldest first:
	 * "k@host:port" then 'd' (direct) or 'h' (hearsay), and '*' while it
	 * has failures or a next_try_ms.
	 */
	const char	*want;
};

struct scenario {
	const char	*name;
	size_t		 max;
	struct step	 steps[24];
};

static const struct scenario scenarios[] = {
	{ "add and find", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.1:7001h" },
		{ ADD, 2, "node2.example", 7002, 1,
		    "1@10.0.0.1:7001h 2@node2.example:7002d" },
		{ ADD, 3, "::1", 7003, 1,
		    "1@10.0.0.1:7001h 2@node2.example:7002d 3@::1:7003d" },
	} },
	{ "own key never booked", 8, {
		{ ADD, SELF, "10.0.0.1", 7000, 1, "" },
		{ ADD, SELF, "10.0.0.1", 7000, 0, "" },
		{ ADD, 1, "10.0.0.1", 7000, 0, "1@10.0.0.1:7000h" },
		{ ADD, SELF, "10.0.0.2", 7000, 1, "1@10.0.0.1:7000h" },
	} },
	{ "port 0 never booked", 8, {
		{ ADD, 1, "10.0.0.1", 0, 1, "" },
		{ ADD, 1, "10.0.0.1", 0, 0, "" },
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.1:7001h" },
		/* Nor does port 0 replace an address. */
		{ ADD, 1, "10.0.0.1", 0, 1, "1@10.0.0.1:7001h" },
	} },
	{ "hearsay never overrides a direct address", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 1, "1@10.0.0.1:7001d" },
		{ FAIL, 1, NULL, 0, 0, "1@10.0.0.1:7001d*" },
		{ ADD, 1, "10.6.6.6", 7001, 0, "1@10.0.0.1:7001d*" },
		{ ADD, 1, "10.0.0.1", 6666, 0, "1@10.0.0.1:7001d*" },
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.1:7001d*" },
	} },
	{ "a direct address replaces hearsay", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.1:7001h" },
		{ FAIL, 1, NULL, 0, 0, "1@10.0.0.1:7001h*" },
		{ ADD, 1, "10.0.0.9", 7009, 1, "1@10.0.0.9:7009d" },
		/* ... and stays direct when hearsay repeats the old one. */
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.9:7009d" },
	} },
	{ "a direct sighting of the same address keeps its failures", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 0, NULL },
		{ FAIL, 1, NULL, 0, 0, NULL },
		{ ADD, 1, "10.0.0.1", 7001, 1, "1@10.0.0.1:7001d*" },
	} },
	{ "hearsay updates hearsay; a changed address resets failures", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 0, NULL },
		{ FAIL, 1, NULL, 0, 0, "1@10.0.0.1:7001h*" },
		{ ADD, 1, "10.0.0.1", 7001, 0, "1@10.0.0.1:7001h*" },
		{ ADD, 1, "10.0.0.1", 7101, 0, "1@10.0.0.1:7101h" },
		{ FAIL, 1, NULL, 0, 0, "1@10.0.0.1:7101h*" },
		{ ADD, 1, "10.0.0.2", 7101, 0, "1@10.0.0.2:7101h" },
	} },
	{ "a direct entry's address changes with a direct sighting", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ FAIL, 1, NULL, 0, 0, NULL },
		{ ADD, 1, "10.0.0.1", 7002, 1, "1@10.0.0.1:7002d" },
	} },
	{ "an update keeps the entry's age", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 0, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 0, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 0, NULL },
		{ ADD, 1, "10.0.0.1", 7011, 1,
		    "1@10.0.0.1:7011d 2@10.0.0.2:7002h 3@10.0.0.3:7003h" },
		{ DEL, 2, NULL, 0, 0, "1@10.0.0.1:7011d 3@10.0.0.3:7003h" },
		{ ADD, 2, "10.0.0.2", 7002, 0,
		    "1@10.0.0.1:7011d 3@10.0.0.3:7003h 2@10.0.0.2:7002h" },
	} },
	{ "full of hearsay: the oldest hearsay goes", 3, {
		{ ADD, 1, "10.0.0.1", 7001, 0, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 0, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 0, NULL },
		{ ADD, 4, "10.0.0.4", 7004, 0,
		    "2@10.0.0.2:7002h 3@10.0.0.3:7003h 4@10.0.0.4:7004h" },
		{ ADD, 5, "10.0.0.5", 7005, 1,
		    "3@10.0.0.3:7003h 4@10.0.0.4:7004h 5@10.0.0.5:7005d" },
	} },
	{ "full: hearsay evicts the oldest hearsay, never a direct one", 4, {
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 0, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 1, NULL },
		{ ADD, 4, "10.0.0.4", 7004, 0, NULL },
		{ ADD, 5, "10.0.0.5", 7005, 0,
		    "1@10.0.0.1:7001d 3@10.0.0.3:7003d 4@10.0.0.4:7004h "
		    "5@10.0.0.5:7005h" },
		{ ADD, 6, "10.0.0.6", 7006, 0,
		    "1@10.0.0.1:7001d 3@10.0.0.3:7003d 5@10.0.0.5:7005h "
		    "6@10.0.0.6:7006h" },
	} },
	{ "full: a direct add evicts the oldest hearsay first", 3, {
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 0, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 1, NULL },
		{ ADD, 4, "10.0.0.4", 7004, 1,
		    "1@10.0.0.1:7001d 3@10.0.0.3:7003d 4@10.0.0.4:7004d" },
	} },
	{ "full of direct entries: hearsay is refused, a direct add evicts the oldest", 3, {
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 1, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 1, NULL },
		{ ADD, 4, "10.0.0.4", 7004, 0,
		    "1@10.0.0.1:7001d 2@10.0.0.2:7002d 3@10.0.0.3:7003d" },
		{ ADD, 4, "10.0.0.4", 7004, 1,
		    "2@10.0.0.2:7002d 3@10.0.0.3:7003d 4@10.0.0.4:7004d" },
		/* Updating an entry of a full book evicts nothing. */
		{ ADD, 2, "10.0.0.22", 7002, 1,
		    "2@10.0.0.22:7002d 3@10.0.0.3:7003d 4@10.0.0.4:7004d" },
	} },
	{ "a hearsay entry promoted to direct is no longer evicted for hearsay", 2, {
		{ ADD, 1, "10.0.0.1", 7001, 0, NULL },
		{ ADD, 2, "10.0.0.2", 7002, 0, NULL },
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ ADD, 3, "10.0.0.3", 7003, 0,
		    "1@10.0.0.1:7001d 3@10.0.0.3:7003h" },
	} },
	{ "a self address drops the entries there and is never booked", 8, {
		{ ISSELF, 0, "10.0.0.5", 7005, 0, NULL },
		{ ADD, 1, "10.0.0.5", 7005, 1, NULL },
		{ ADD, 2, "10.0.0.5", 7005, 0, NULL },
		{ ADD, 3, "10.0.0.5", 7006, 0, NULL },
		{ ADD, 4, "10.0.0.6", 7005, 1, NULL },
		{ ADD, 5, "10.0.0.5", 7005, 0,
		    "1@10.0.0.5:7005d 2@10.0.0.5:7005h 3@10.0.0.5:7006h "
		    "4@10.0.0.6:7005d 5@10.0.0.5:7005h" },
		{ SELFA, 0, "10.0.0.5", 7005, 1,
		    "3@10.0.0.5:7006h 4@10.0.0.6:7005d" },
		{ ISSELF, 0, "10.0.0.5", 7005, 1, NULL },
		{ ISSELF, 0, "10.0.0.5", 7006, 0, NULL },
		{ ISSELF, 0, "10.0.0.6", 7005, 0, NULL },
		{ SELFA, 0, "10.0.0.5", 7005, 0, NULL },
		/* Neither a new entry nor an update goes there. */
		{ ADD, 1, "10.0.0.5", 7005, 1,
		    "3@10.0.0.5:7006h 4@10.0.0.6:7005d" },
		{ ADD, 3, "10.0.0.5", 7005, 1,
		    "3@10.0.0.5:7006h 4@10.0.0.6:7005d" },
		{ ADD, 4, "10.0.0.5", 7005, 1,
		    "3@10.0.0.5:7006h 4@10.0.0.6:7005d" },
	} },
	{ "self addresses only drop their own entries", 8, {
		{ ADD, 1, "10.0.0.1", 7001, 1, NULL },
		{ SELFA, 0, "10.0.0.9", 7009, 1, "1@10.0.0.1:7001d" },
		{ SELFA, 0, "10.0.0.9", 7009, 0, "1@10.0.0.1:7001d" },
	} },
};

static void
node_id(uint8_t id[TX_PK_LEN], int k)
{
	memset(id, k, TX_PK_LEN);
}

/* The book as a scenario's want string; checks count and the links too. */
static void
book_str(struct addrbook *b, char *out, size_t outlen)
{
	struct addrbook_entry	*e;
	size_t			 n = 0, used = 0;
	uint8_t			 id[TX_PK_LEN];
	int			 w;

	out[0] = '\0';
	for (e = addrbook_first(b); e != NULL; e = addrbook_next(e)) {
		memset(id, e->node_id[0], sizeof(id));
		assert_memory_equal(e->node_id, id, TX_PK_LEN);
		/* find gives this very entry. */
		assert_ptr_equal(addrbook_find(b, e->node_id), e);
		w = snprintf(out + used, outlen - used, "%s%d@%s:%u%c%s",
		    n > 0 ? " " : "", e->node_id[0], e->host, e->port,
		    e->direct ? 'd' : 'h',
		    e->failures != 0 || e->next_try_ms != 0 ? "*" : "");
		assert_true(w > 0 && (size_t)w < outlen - used);
		used += (size_t)w;
		n++;
	}
	assert_int_equal(addrbook_count(b), n);
}

static void
test_addrbook_scenarios(void **state)
{
	const struct scenario	*sc;
	const struct step	*st;
	struct addrbook		*b;
	struct addrbook_entry	*e;
	uint8_t			 self[TX_PK_LEN], id[TX_PK_LEN];
	char			 got[1024];
	size_t			 i, k, n;

	(void)state;
	node_id(self, SELF);
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		sc = &scenarios[i];
		b = addrbook_new(self, sc->max);
		assert_int_equal(addrbook_count(b), 0);
		assert_null(addrbook_first(b));
		for (k = 0; sc->steps[k].op != END; k++) {
			st = &sc->steps[k];
			node_id(id, st->k);
			switch (st->op) {
			case ADD:
				addrbook_add(b, id, st->host, st->port, st->arg);
				break;
			case FAIL:
				e = addrbook_find(b, id);
				if (e == NULL)
					fail_msg("%s, step %zu: no entry %d", sc->name,
					    k + 1, st->k);
				e->failures = FAILS;
				e->next_try_ms = LATER;
				break;
			case DEL:
				e = addrbook_find(b, id);
				assert_non_null(e);
				addrbook_del(b, e);
				assert_null(addrbook_find(b, id));
				break;
			case SELFA:
				if (addrbook_self_add(b, st->host, st->port) != st->arg)
					fail_msg("%s, step %zu: addrbook_self_add(%s, %u) "
					    "is not %d", sc->name, k + 1, st->host,
					    st->port, st->arg);
				assert_true(addrbook_is_self(b, st->host, st->port));
				break;
			case ISSELF:
				if (addrbook_is_self(b, st->host, st->port) != st->arg)
					fail_msg("%s, step %zu: addrbook_is_self(%s, %u) "
					    "is not %d", sc->name, k + 1, st->host,
					    st->port, st->arg);
				break;
			case END:
				break;
			}
			book_str(b, got, sizeof(got));
			if (st->want != NULL && strcmp(got, st->want) != 0)
				fail_msg("%s, step %zu: book \"%s\", want \"%s\"",
				    sc->name, k + 1, got, st->want);
			n = addrbook_count(b);
			if (n > sc->max)
				fail_msg("%s, step %zu: %zu entries in a book of %zu",
				    sc->name, k + 1, n, sc->max);
		}
		/* The own key is never there, whatever happened. */
		assert_null(addrbook_find(b, self));
		addrbook_free(b);
	}
}

/* An update with a new address: both failures and next_try_ms start over. */
static void
test_addrbook_reset_fields(void **state)
{
	static const struct {
		uint16_t	port;
		const char	*host;
		int		direct;
		unsigned	want_failures;
		uint64_t	want_next;
	} cases[] = {
		{ 7001, "10.0.0.1", 0, 7, 9000 },	/* same address: kept */
		{ 7001, "10.0.0.1", 1, 7, 9000 },	/* same, now direct: kept */
		{ 7002, "10.0.0.1", 1, 0, 0 },		/* port changed */
		{ 7002, "10.0.0.2", 1, 0, 0 },		/* host changed */
		{ 7009, "10.0.0.9", 0, 7, 9000 },	/* hearsay: ignored */
	};
	struct addrbook		*b;
	struct addrbook_entry	*e;
	uint8_t			 self[TX_PK_LEN], id[TX_PK_LEN];
	size_t			 i;

	(void)state;
	node_id(self, SELF);
	node_id(id, 1);
	b = addrbook_new(self, 4);
	addrbook_add(b, id, "10.0.0.1", 7001, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = addrbook_find(b, id);
		assert_non_null(e);
		e->failures = 7;
		e->next_try_ms = 9000;
		addrbook_add(b, id, cases[i].host, cases[i].port, cases[i].direct);
		assert_ptr_equal(addrbook_find(b, id), e);
		if (e->failures != cases[i].want_failures ||
		    e->next_try_ms != cases[i].want_next)
			fail_msg("case %zu: failures %u next_try_ms %llu, want %u "
			    "%llu", i, e->failures,
			    (unsigned long long)e->next_try_ms,
			    cases[i].want_failures,
			    (unsigned long long)cases[i].want_next);
	}
	assert_int_equal(addrbook_count(b), 1);
	addrbook_free(b);
}

/* ADDRBOOK_SELF_MAX self addresses are kept; one more forgets the oldest. */
static void
test_addrbook_self_bound(void **state)
{
	struct addrbook	*b;
	uint8_t		 self[TX_PK_LEN], id[TX_PK_LEN];
	char		 host[32];
	int		 i;

	(void)state;
	node_id(self, SELF);
	b = addrbook_new(self, 64);
	for (i = 0; i < ADDRBOOK_SELF_MAX; i++) {
		snprintf(host, sizeof(host), "10.1.0.%d", i);
		assert_int_equal(addrbook_self_add(b, host, 7000), 1);
	}
	for (i = 0; i < ADDRBOOK_SELF_MAX; i++) {
		snprintf(host, sizeof(host), "10.1.0.%d", i);
		assert_true(addrbook_is_self(b, host, 7000));
		assert_int_equal(addrbook_self_add(b, host, 7000), 0);
	}
	/* The 17th: the oldest (10.1.0.0) is forgotten, the rest kept. */
	assert_int_equal(addrbook_self_add(b, "10.1.0.99", 7000), 1);
	assert_false(addrbook_is_self(b, "10.1.0.0", 7000));
	assert_true(addrbook_is_self(b, "10.1.0.99", 7000));
	for (i = 1; i < ADDRBOOK_SELF_MAX; i++) {
		snprintf(host, sizeof(host), "10.1.0.%d", i);
		if (!addrbook_is_self(b, host, 7000))
			fail_msg("self address %s forgotten, not the oldest", host);
	}
	/* The forgotten one may be booked again. */
	node_id(id, 1);
	addrbook_add(b, id, "10.1.0.0", 7000, 1);
	assert_non_null(addrbook_find(b, id));
	/* Learnt again, it counts as the newest: now 10.1.0.1 goes. */
	assert_int_equal(addrbook_self_add(b, "10.1.0.0", 7000), 1);
	assert_null(addrbook_find(b, id));
	assert_false(addrbook_is_self(b, "10.1.0.1", 7000));
	assert_true(addrbook_is_self(b, "10.1.0.0", 7000));
	assert_true(addrbook_is_self(b, "10.1.0.2", 7000));
	assert_true(addrbook_is_self(b, "10.1.0.99", 7000));
	addrbook_free(b);
}

/* A large book: order, count, find and del stay consistent. */
static void
test_addrbook_many(void **state)
{
	struct addrbook		*b;
	struct addrbook_entry	*e, *next;
	uint8_t			 self[TX_PK_LEN], id[TX_PK_LEN];
	char			 host[32];
	int			 i, want;
	size_t			 n;

	(void)state;
	node_id(self, SELF);
	b = addrbook_new(self, 100);
	/* 150 hearsay entries: the last 100 are kept, oldest first. */
	for (i = 1; i <= 150; i++) {
		node_id(id, i);
		snprintf(host, sizeof(host), "10.2.0.%d", i);
		addrbook_add(b, id, host, 7000, 0);
	}
	assert_int_equal(addrbook_count(b), 100);
	want = 51;
	for (e = addrbook_first(b); e != NULL; e = addrbook_next(e))
		assert_int_equal(e->node_id[0], want++);
	assert_int_equal(want, 151);
	/* Every odd one removed while walking. */
	for (e = addrbook_first(b); e != NULL; e = next) {
		next = addrbook_next(e);
		if (e->node_id[0] % 2 == 1)
			addrbook_del(b, e);
	}
	assert_int_equal(addrbook_count(b), 50);
	for (n = 0, e = addrbook_first(b); e != NULL; e = addrbook_next(e), n++)
		assert_int_equal(e->node_id[0] % 2, 0);
	assert_int_equal(n, 50);
	node_id(id, 51);
	assert_null(addrbook_find(b, id));
	node_id(id, 52);
	assert_non_null(addrbook_find(b, id));
	addrbook_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrbook_scenarios),
		cmocka_unit_test(test_addrbook_reset_fields),
		cmocka_unit_test(test_addrbook_self_bound),
		cmocka_unit_test(test_addrbook_many),
	};

	return cmocka_run_group_tests_name("addrbook", tests, NULL, NULL);
}
