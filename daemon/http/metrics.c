/*
 * metrics.c: the node's counters in the Prometheus text exposition format
 * 0.0.4 (HELP and TYPE before each family, cumulative histogram buckets,
 * label values escaped).  Loop thread only.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto/frame.h"
#include "proto/tx.h"
#include "http/api.h"
#include "p2p/gossip.h"
#include "core/mempool.h"
#include "http/metrics.h"
#include "base/node.h"
#include "lib/util.h"
#include "core/validator.h"
#include "version.h"

#ifndef NODED_VERSION
#define NODED_VERSION	"0.1.0"
#endif

#define METRICS_NREASONS	GOSSIP_REASON_COUNT
#define METRICS_NTYPES		(sizeof(((struct node_stats *)0)->bytes_sent) / \
				    sizeof(uint64_t))

_Static_assert(GOSSIP_REASON_COUNT <=
    sizeof(((struct node_stats *)0)->txs_rejected) / sizeof(uint64_t),
    "node_stats.txs_rejected has a slot for every rejection reason");
_Static_assert(FRAME_TYPE_MAX < sizeof(((struct node_stats *)0)->bytes_sent) /
    sizeof(uint64_t), "node_stats.bytes_sent has a slot for every frame type");

/*
 * Ed25519 verification takes some 50 to 150 us on current CPUs: the buckets
 * are finest there, and reach 10 ms for a loaded machine.
 */
const uint64_t metrics_verify_bounds_ns[NODE_HIST_BUCKETS] = {
	10000, 25000, 50000, 75000, 100000, 150000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};
static const char *metrics_verify_le[NODE_HIST_BUCKETS] = {
	"0.00001", "0.000025", "0.00005", "0.000075", "0.0001", "0.00015",
	"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01"
};

const char *
metrics_reason_str(size_t i)
{
	if (i >= METRICS_NREASONS)
		return NULL;
	if (i < TX_REASON_COUNT)
		return tx_reason_str((enum tx_reason)i);
	return gossip_reason_str((unsigned)i);
}

void
metrics_observe_verify(struct node *n, uint64_t ns)
{
	size_t	i;

	for (i = 0; i < NODE_HIST_BUCKETS; i++) {
		if (ns <= metrics_verify_bounds_ns[i]) {
			n->stats.verify_hist[i]++;
			break;
		}
	}
	/* Slower than the last bound: only in +Inf, which is the count. */
	n->stats.verify_count++;
	n->stats.verify_sum_s += (double)ns / 1e9;
}

static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
metrics_u64(struct evbuffer *out, const char *name, const char *type,
    const char *help, uint64_t v)
{
	metrics_family(out, name, type, help);
	evbuffer_add_printf(out, "%s %" PRIu64 "\n", name, v);
}

/* A label value: backslash, double quote and newline escaped. */
static void
metrics_label(struct evbuffer *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(out, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, v, 1);
	}
}

static void
metrics_sample(struct evbuffer *out, const char *name, const char *label,
    const char *value, uint64_t v)
{
	evbuffer_add_printf(out, "%s{%s=\"", name, label);
	metrics_label(out, value);
	evbuffer_add_printf(out, "\"} %" PRIu64 "\n", v);
}

static const char *
metrics_type_name(size_t i, char *buf, size_t buflen)
{
	if (i == 0)
		return "handshake";
	if (i <= FRAME_TYPE_MAX)
		return frame_type_str((uint8_t)i);
	snprintf(buf, buflen, "type%zu", i);
	return buf;
}

static void
metrics_bytes(struct evbuffer *out, const char *name, const char *help,
    const uint64_t *v)
{
	char	buf[32];
	size_t	i;

	metrics_family(out, name, "counter", help);
	for (i = 0; i < METRICS_NTYPES; i++) {
		/* Types no peer may send show only if someone counted them. */
		if (i > FRAME_TYPE_MAX && v[i] == 0)
			continue;
		metrics_sample(out, name, "type", metrics_type_name(i, buf,
		    sizeof(buf)), v[i]);
	}
}

static void
metrics_info(struct node *n, struct evbuffer *out)
{
	metrics_family(out, "noded_info", "gauge",
	    "Constant 1, labelled with the node's identity and version.");
	evbuffer_add_printf(out, "noded_info{version=\"");
	metrics_label(out, NODED_VERSION);
	evbuffer_add_printf(out, "\",name=\"");
	metrics_label(out, n->cfg->name);
	evbuffer_add_printf(out, "\",network=\"");
	metrics_label(out, n->cfg->network);
	evbuffer_add_printf(out, "\",node_id=\"");
	metrics_label(out, n->node_id_hex);
	evbuffer_add_printf(out, "\"} 1\n");
}

void
metrics_render(struct node *n, struct evbuffer *out)
{
	const struct node_stats	*s = &n->stats;
	struct api_stats	 as;
	unsigned		 in = 0, outb = 0;
	uint64_t		 cum, now;
	const char		*r;
	size_t			 i;

	metrics_info(n, out);

	metrics_u64(out, "noded_txs_accepted_total", "counter",
	    "Transactions accepted into the mempool.", s->txs_accepted);
	metrics_family(out, "noded_txs_rejected_total", "counter",
	    "Transactions rejected, by reason.");
	for (i = 1; (r = metrics_reason_str(i)) != NULL; i++)
		metrics_sample(out, "noded_txs_rejected_total", "reason", r,
		    s->txs_rejected[i]);
	metrics_u64(out, "noded_txs_duplicate_total", "counter",
	    "Transactions received again while known (mempool, in flight or "
	    "recently rejected): not verified twice.", s->txs_duplicate);

	metrics_u64(out, "noded_mempool_txs", "gauge",
	    "Transactions in the mempool.",
	    n->mempool != NULL ? mempool_count(n->mempool) : 0);
	metrics_u64(out, "noded_mempool_bytes", "gauge",
	    "Encoded bytes of the transactions in the mempool.",
	    n->mempool != NULL ? mempool_bytes(n->mempool) : 0);
	metrics_u64(out, "noded_mempool_max_txs", "gauge",
	    "Bound on the transactions in the mempool.", n->cfg->mempool_max_txs);
	metrics_u64(out, "noded_mempool_max_bytes", "gauge",
	    "Bound on the bytes in the mempool.", n->cfg->mempool_max_bytes);

	if (n->net != NULL)
		net_peer_counts(n, &in, &outb);
	metrics_family(out, "noded_peers", "gauge",
	    "Active peers, by who dialled.");
	metrics_sample(out, "noded_peers", "direction", "inbound", in);
	metrics_sample(out, "noded_peers", "direction", "outbound", outb);
	metrics_u64(out, "noded_peers_dropped_total", "counter",
	    "Peers disconnected for misbehaviour.", s->peers_dropped);

	metrics_u64(out, "noded_validator_threads", "gauge",
	    "Validator threads.", n->cfg->validators);
	metrics_u64(out, "noded_validator_queue_depth", "gauge",
	    "Jobs waiting in the validator channel.",
	    n->validator != NULL ? validator_depth(n->validator) : 0);
	metrics_u64(out, "noded_validator_queue_capacity", "gauge",
	    "Capacity of the validator channel.",
	    n->validator != NULL ? validator_capacity(n->validator) :
	    n->cfg->validator_queue);
	metrics_u64(out, "noded_validator_backpressure_total", "counter",
	    "Times the validator channel was full and reading paused.",
	    s->backpressure);
	metrics_u64(out, "noded_validator_verified_total", "counter",
	    "Signatures verified by the validator threads.",
	    n->validator != NULL ? validator_verified(n->validator) : 0);

	metrics_family(out, "noded_verify_seconds", "histogram",
	    "Time one validator job took (decode, policy, signature).");
	for (i = 0, cum = 0; i < NODE_HIST_BUCKETS; i++) {
		cum += s->verify_hist[i];
		evbuffer_add_printf(out, "noded_verify_seconds_bucket{le=\"%s\"} %"
		    PRIu64 "\n", metrics_verify_le[i], cum);
	}
	evbuffer_add_printf(out, "noded_verify_seconds_bucket{le=\"+Inf\"} %"
	    PRIu64 "\n", s->verify_count);
	evbuffer_add_printf(out, "noded_verify_seconds_sum %.9f\n",
	    s->verify_sum_s);
	evbuffer_add_printf(out, "noded_verify_seconds_count %" PRIu64 "\n",
	    s->verify_count);

	metrics_bytes(out, "noded_bytes_sent_total",
	    "Bytes sent to peers, by frame type (handshake: before the channel).",
	    s->bytes_sent);
	metrics_bytes(out, "noded_bytes_received_total",
	    "Bytes received from peers, by frame type (handshake: before the "
	    "channel).", s->bytes_received);

	if (n->api != NULL) {
		api_stats(n->api, &as);
		metrics_u64(out, "noded_api_requests_total", "counter",
		    "HTTP API requests answered.", as.requests);
		metrics_u64(out, "noded_api_event_clients", "gauge",
		    "Open GET /v1/events streams.", as.event_clients);
		metrics_u64(out, "noded_api_event_clients_dropped_total", "counter",
		    "Event-stream readers dropped for reading too slowly.",
		    as.event_clients_dropped);
	}

	now = now_ms();
	metrics_family(out, "noded_uptime_seconds", "gauge",
	    "Seconds since the node started.");
	evbuffer_add_printf(out, "noded_uptime_seconds %.3f\n",
	    now > n->start_ms ? (double)(now - n->start_ms) / 1000.0 : 0.0);
}
