/*
 * fuzz_tx.c: the transaction decoder and validator on arbitrary bytes.
 * Every accepted input must re-encode to exactly itself, and tx_validate
 * must agree with tx_decode, tx_check_policy and tx_verify_sig.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/tx.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	static struct tx_policy	 p;
	struct tx		 t, t2;
	struct tx_result	 res, res2;
	uint8_t			 out[TX_MAX_LEN], id[TX_ID_LEN], id2[TX_ID_LEN];
	enum tx_reason		 dr, vr;
	size_t			 n;
	/* The test vector's time, so that seeds made from it pass policy. */
	const uint64_t		 now = 1767225600000ULL;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		tx_policy_default(&p, "devnet");
		ready = 1;
	}

	dr = tx_decode(&t, data, size);
	memset(id, 0, sizeof(id));
	vr = tx_validate(data, size, &p, now, &t2, id, &res);
	if (res.reason != vr)
		abort();
	if (strncmp(res.msg, tx_reason_str(vr), strlen(tx_reason_str(vr))) != 0)
		abort();
	if (dr != TX_OK) {
		if (vr != dr)
			abort();
		return 0;
	}

	/* encode(decode(x)) == x */
	n = tx_encode(&t, out, sizeof(out));
	if (n != size || tx_encoded_len(&t) != size || memcmp(out, data, size) != 0)
		abort();
	if (memcmp(t.memo, t2.memo, sizeof(t.memo)) != 0 ||
	    memcmp(t.sig, t2.sig, sizeof(t.sig)) != 0 ||
	    t.amount != t2.amount || t.memo_len != t2.memo_len)
		abort();

	/* The id is computed whenever the bytes decode. */
	tx_id(&t, id2);
	if (memcmp(id, id2, TX_ID_LEN) != 0)
		abort();

	/* Validation is policy first, then the signature. */
	if (tx_check_policy(&t, &p, now, &res2) != TX_OK) {
		if (vr != res2.reason || strcmp(res.msg, res2.msg) != 0)
			abort();
	} else if (vr != tx_verify_sig(&t))
		abort();
	return 0;
}
