/*
 * test_prov.c: the provenance ring remembers the last N transactions with
 * who announced them, where their copy came from, their verdict and where
 * they went; forgets the oldest; bounds the lists it keeps; and costs at
 * most 64 bytes per transaction plus its announcers (by sizeof, by its own
 * accounting, and by what the heap grew by: mallinfo2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <malloc.h>

#include <cmocka.h>

#include "p2p/prov.h"

#define T0	1795997652000000ULL	/* µs since the epoch */

static void
id_of(uint8_t id[TX_ID_LEN], uint32_t i)
{
	memset(id, 0xa5, TX_ID_LEN);
	/* Spread over the key (the first 8 bytes), as hashes are. */
	id[0] = (uint8_t)(i * 151);
	memcpy(id + 1, &i, sizeof(i));
}

static size_t
heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void
test_prov_records_a_hop_chain(void **state)
{
	struct prov	*pr = prov_new(16);
	struct prov_info info;
	uint8_t		 id[TX_ID_LEN];
	uint16_t	 a, b, c;
	const char	*name, *idhex;

	(void)state;
	a = prov_peer_add(pr, 11, "node2", "aa");
	b = prov_peer_add(pr, 12, "node3", "bb");
	c = prov_peer_add(pr, 13, "node4", "cc");
	prov_peer_get(pr, b, &name, &idhex);
	assert_string_equal(name, "node3");
	assert_string_equal(idhex, "bb");
	id_of(id, 1);
	assert_int_equal(prov_get(pr, id, &info), -1);
	prov_announced(pr, id, a, T0, 1);
	prov_announced(pr, id, b, T0 + 50, 1);
	prov_announced(pr, id, a, T0 + 60, 1);	/* the same peer again: once */
	prov_received(pr, id, a, T0 + 100);
	prov_received(pr, id, b, T0 + 150);	/* a second copy: not the source */
	prov_verdict(pr, id, 40000, 1, T0 + 300);
	prov_sent(pr, id, c, PROV_SENT_INV, T0 + 310);
	prov_sent(pr, id, b, PROV_SENT_TX, T0 + 400);
	assert_int_equal(prov_get(pr, id, &info), 0);
	assert_int_equal(info.first_us, T0);
	assert_int_equal(info.received_us, T0 + 100);
	assert_int_equal(info.verdict_us, T0 + 300);
	assert_int_equal(info.verify_us, 40);
	assert_int_equal(info.announced_us, T0 + 310);
	assert_int_equal(info.from, a);
	assert_int_equal(info.state, PROV_ACCEPTED);
	assert_int_equal(info.nann, 2);
	assert_int_equal(info.nout, 2);
	assert_int_equal(info.nhops, 4);
	assert_int_equal(info.hops[1].peer, b);
	assert_int_equal(info.hops[1].at_us, T0 + 50);
	assert_int_equal(info.hops[3].kind, PROV_SENT_TX);
	assert_int_equal(info.hops[3].at_us, T0 + 400);

	/* An API submission; a sent id never seen is not made up. */
	id_of(id, 2);
	prov_received(pr, id, PROV_API, T0 + 1000);
	assert_int_equal(prov_get(pr, id, &info), 0);
	assert_int_equal(info.from, PROV_API);
	assert_int_equal(info.state, PROV_SEEN);
	assert_int_equal(info.verdict_us, 0);
	id_of(id, 3);
	prov_sent(pr, id, a, PROV_SENT_TX, T0);
	prov_verdict(pr, id, 1, 0, T0);
	prov_announced(pr, id, a, T0, 0);	/* settled: no record made */
	assert_int_equal(prov_get(pr, id, &info), -1);
	prov_free(pr);
}

static void
test_prov_ring_forgets_the_oldest(void **state)
{
	static const size_t rings[] = { 1, 2, 16, 100, 1000 };
	struct prov_info info;
	uint8_t		 id[TX_ID_LEN];
	struct prov	*pr;
	size_t		 r, i, n;

	(void)state;
	for (r = 0; r < sizeof(rings) / sizeof(rings[0]); r++) {
		n = rings[r];
		pr = prov_new(n);
		for (i = 0; i < 3 * n + 7; i++) {
			id_of(id, (uint32_t)i);
			prov_received(pr, id, PROV_API, T0 + i);
			prov_announced(pr, id, 0, T0 + i, 1);
		}
		assert_int_equal(prov_count(pr), n);
		for (i = 0; i < 3 * n + 7; i++) {
			id_of(id, (uint32_t)i);
			assert_int_equal(prov_get(pr, id, &info),
			    i >= 2 * n + 7 ? 0 : -1);
			if (i >= 2 * n + 7)
				assert_int_equal(info.first_us, T0 + i);
		}
		prov_free(pr);
	}
}

static void
test_prov_lists_are_bounded(void **state)
{
	struct prov	*pr = prov_new(4);
	struct prov_info info;
	uint8_t		 id[TX_ID_LEN];
	uint16_t	 i;
	size_t		 k, nann = 0, nout = 0;

	(void)state;
	id_of(id, 9);
	for (i = 0; i < 300; i++) {
		prov_announced(pr, id, i, T0 + i, 1);
		prov_sent(pr, id, i, PROV_SENT_INV, T0 + i);
	}
	assert_int_equal(prov_get(pr, id, &info), 0);
	assert_int_equal(info.nann, 300);
	assert_int_equal(info.nout, 300);
	assert_int_equal(info.nhops, PROV_ANN_MAX + PROV_OUT_MAX);
	for (k = 0; k < info.nhops; k++) {
		if (info.hops[k].kind == PROV_ANN)
			nann++;
		else
			nout++;
	}
	/* The first ones are kept. */
	assert_int_equal(nann, PROV_ANN_MAX);
	assert_int_equal(nout, PROV_OUT_MAX);
	assert_int_equal(info.hops[0].peer, 0);
	/* A time past 71 minutes saturates rather than wraps. */
	prov_sent(pr, id, 999, PROV_SENT_TX, T0 + 5000ULL * 1000000);
	prov_free(pr);
}

/*
 * Ids only announced (a junk flood: never delivered) take records in a
 * ring of their own: the traces of transactions that came stay, and an id
 * heard of first keeps its first time and announcers once its copy comes.
 */
static void
test_prov_junk_keeps_real_traces(void **state)
{
	struct prov	*pr = prov_new(100);
	struct prov_info info;
	uint8_t		 real[TX_ID_LEN], late[TX_ID_LEN], id[TX_ID_LEN];
	uint32_t	 i;

	(void)state;
	id_of(real, 1);
	prov_received(pr, real, PROV_API, T0);
	prov_verdict(pr, real, 1000, 1, T0 + 10);
	id_of(late, 2);
	prov_announced(pr, late, 7, T0 + 20, 1);
	for (i = 0; i < 50; i++) {
		id_of(id, 1000 + i);
		prov_announced(pr, id, 3, T0 + 30 + i, 1);
	}
	/* A copy of late comes: it moves to the main ring, first time kept. */
	prov_received(pr, late, 7, T0 + 200);
	for (i = 50; i < 100000; i++) {
		id_of(id, 1000 + i);
		prov_announced(pr, id, 3, T0 + 300 + i, 1);
	}
	assert_int_equal(prov_get(pr, real, &info), 0);
	assert_int_equal(info.state, PROV_ACCEPTED);
	assert_int_equal(info.first_us, T0);
	assert_int_equal(prov_get(pr, late, &info), 0);
	assert_int_equal(info.first_us, T0 + 20);
	assert_int_equal(info.received_us, T0 + 200);
	assert_int_equal(info.nhops, 1);
	assert_int_equal(info.hops[0].peer, 7);
	/* The junk churned its own ring: an early one is gone, the last is there. */
	id_of(id, 1000);
	assert_int_equal(prov_get(pr, id, &info), -1);
	id_of(id, 1000 + 99999);
	assert_int_equal(prov_get(pr, id, &info), 0);
	assert_int_equal(prov_count(pr), 2);
	prov_free(pr);
}

static void
test_prov_bytes_per_entry(void **state)
{
	static const size_t nanns[] = { 0, 1, 2, 4, 8 };
	const size_t	 n = 65536;
	struct prov	*pr;
	uint8_t		 id[TX_ID_LEN];
	size_t		 before, heap, k, a, i, budget;

	(void)state;
	/* The record plus its index slot, by sizeof. */
	assert_true(prov_record_size() + sizeof(uint32_t) <= 64);
	for (k = 0; k < sizeof(nanns) / sizeof(nanns[0]); k++) {
		before = heap_used();
		pr = prov_new(n);
		for (i = 0; i < n; i++) {
			id_of(id, (uint32_t)i);
			prov_received(pr, id, PROV_API, T0 + i);
			for (a = 0; a < nanns[k]; a++)
				prov_announced(pr, id, (uint16_t)a, T0 + i + a, 1);
		}
		heap = heap_used() - before;
		/*
		 * 64 bytes a transaction; an announcer 8 in a list grown by
		 * doubling (at most 2x), plus malloc's 16-byte header a list.
		 */
		budget = n * 64 + (nanns[k] == 0 ? 0 : n * (16 + 2 * 8 * nanns[k]));
		/* ... and the fixed ring of ids only heard of (4,096 records). */
		budget += 4096 * 64;
		printf("prov: %zu announcers: %.1f bytes per transaction "
		    "(heap), %.1f (accounted)\n", nanns[k], (double)heap / n,
		    (double)prov_bytes(pr) / n);
		assert_true(prov_bytes(pr) <= budget);
		assert_true(heap <= budget);
		prov_free(pr);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prov_records_a_hop_chain),
		cmocka_unit_test(test_prov_junk_keeps_real_traces),
		cmocka_unit_test(test_prov_ring_forgets_the_oldest),
		cmocka_unit_test(test_prov_lists_are_bounded),
		cmocka_unit_test(test_prov_bytes_per_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
