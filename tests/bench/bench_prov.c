/*
 * bench_prov.c: what provenance costs the relay per transaction (issue 13):
 * the calls one transaction makes on a node with 8 peers (8 announcements,
 * the copy, the verdict, 8 announcements onward, 1 copy sent) into a ring of
 * 65536, against one signature verify of the same machine.  Prints ns per
 * transaction and the ratio; best of 5.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "p2p/prov.h"

#define N	200000

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(void)
{
	static uint8_t	ids[N][TX_ID_LEN];
	unsigned char	pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	unsigned char	sig[crypto_sign_BYTES], msg[160];
	struct prov	*pr;
	double		 t0, best = 1e9, vbest = 1e9, dt;
	uint64_t	 us = 1795997652000000ULL;
	uint16_t	 peers[8];
	int		 round, i, k;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(ids, sizeof(ids));
	for (round = 0; round < 5; round++) {
		pr = prov_new(65536);
		for (k = 0; k < 8; k++)
			peers[k] = prov_peer_add(pr, (uint64_t)k + 1, "peer", "00");
		t0 = now_s();
		for (i = 0; i < N; i++) {
			for (k = 0; k < 8; k++)
				prov_announced(pr, ids[i], peers[k], us + k, 1);
			prov_received(pr, ids[i], peers[0], us + 10);
			prov_verdict(pr, ids[i], 35000, 1, us + 50);
			for (k = 0; k < 8; k++)
				prov_sent(pr, ids[i], peers[k], PROV_SENT_INV, us + 60);
			prov_sent(pr, ids[i], peers[3], PROV_SENT_TX, us + 90);
			us += 100;
		}
		dt = (now_s() - t0) / N;
		if (dt < best)
			best = dt;
		prov_free(pr);
	}
	crypto_sign_keypair(pk, sk);
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	for (round = 0; round < 5; round++) {
		t0 = now_s();
		for (i = 0; i < 5000; i++)
			if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
				return 1;
		dt = (now_s() - t0) / 5000;
		if (dt < vbest)
			vbest = dt;
	}
	printf("provenance, one tx on a node with 8 peers (18 calls): %.0f ns; "
	    "one signature verify: %.0f ns; ratio %.4f\n", best * 1e9, vbest * 1e9,
	    best / vbest);
	return 0;
}
