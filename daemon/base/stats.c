/*
 * stats.c: the node's counters.  Loop thread only.
 */
#include "base/stats.h"

struct stats stats;

const char *const stats_refused_code[STATS_REFUSED_COUNT] = {
	[STATS_REFUSED_SHUTDOWN] = "shutting_down",
	[STATS_REFUSED_BANNED_IP] = "banned_ip",
	[STATS_REFUSED_BANNED_KEY] = "banned_key",
	[STATS_REFUSED_RATE] = "handshake_rate",
	[STATS_REFUSED_RATE_IP] = "handshake_rate_per_ip",
	[STATS_REFUSED_HANDSHAKING_IP] = "handshaking_per_ip",
	[STATS_REFUSED_INBOUND_FULL] = "inbound_full",
	[STATS_REFUSED_INBOUND_IP] = "inbound_per_ip",
};

const char *const stats_handshake_code[STATS_HS_COUNT] = {
	[STATS_HS_OK] = "ok",
	[STATS_HS_FAILED] = "failed",
	[STATS_HS_TIMEOUT] = "timeout",
	[STATS_HS_CLOSED] = "closed",
	[STATS_HS_EVICTED] = "evicted",
};

/*
 * Ed25519 verification takes some 50 to 150 us on current CPUs: the buckets
 * are finest there, and reach 10 ms for a loaded machine.
 */
const uint64_t stats_verify_bounds_ns[STATS_VERIFY_BUCKETS] = {
	10000, 25000, 50000, 75000, 100000, 150000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
const char *const stats_verify_le[STATS_VERIFY_BUCKETS] = {
	"0.00001", "0.000025", "0.00005", "0.000075", "0.0001", "0.00015",
	"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01"
};

void
stats_verify(uint64_t ns)
{
	unsigned	i;

	for (i = 0; i < STATS_VERIFY_BUCKETS; i++) {
		if (ns <= stats_verify_bounds_ns[i]) {
			stats.verify_hist[i]++;
			break;
		}
	}
	/* Slower than the last bound: only in +Inf, which is the count. */
	stats.verify_count++;
	stats.verify_sum_s += (double)ns / 1e9;
}

void
stats_reject(unsigned r)
{
	if (r < REASON_COUNT)
		stats.txs_rejected[r]++;
}

void
stats_bytes(int sent, unsigned t, uint64_t bytes)
{
	if (t >= STATS_FRAME_TYPES)
		return;
	if (sent) {
		stats.bytes_sent[t] += bytes;
		stats.frames_sent[t] += t != 0;
	} else {
		stats.bytes_received[t] += bytes;
		stats.frames_received[t] += t != 0;
	}
}
