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

#include "base/budget.h"
#include "base/node.h"
#include "base/stats.h"
#include "core/admit.h"
#include "core/mempool.h"
#include "http/events.h"
#include "http/metrics.h"
#include "http/procstat.h"
#include "http/server.h"
#include "lib/reason.h"
#include "lib/util.h"
#include "lib/version.h"
#include "p2p/ban.h"
#include "p2p/net.h"
#include "proto/frame.h"


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

/* A counter by frame type; from: 0 with the handshake as type 0, 1 without. */
static void
metrics_by_frame(struct evbuffer *out, const char *name, const char *help,
    const uint64_t *v, size_t from)
{
	size_t	i;

	metrics_family(out, name, "counter", help);
	for (i = from; i < STATS_FRAME_TYPES; i++)
		metrics_sample(out, name, "type", i == 0 ? "handshake" :
		    frame_type_str((uint8_t)i), v[i]);
}

static void
metrics_info(const struct node *n, struct evbuffer *out)
{
	metrics_family(out, "noded_info", "gauge",
	    "Constant 1, labelled with the node's identity and version.");
	evbuffer_add_printf(out, "noded_info{version=\"");
	metrics_label(out, version_get());
	evbuffer_add_printf(out, "\",name=\"");
	metrics_label(out, n->cfg->name);
	evbuffer_add_printf(out, "\",network=\"");
	metrics_label(out, n->cfg->network);
	evbuffer_add_printf(out, "\",node_id=\"");
	metrics_label(out, n->node_id_hex);
	evbuffer_add_printf(out, "\"} 1\n");
}

/* One (method, status) series of noded_api_requests_total. */
static void
metrics_request(void *arg, const char *method, int code, uint64_t n)
{
	evbuffer_add_printf(arg, "noded_api_requests_total{method=\"%s\","
	    "code=\"%d\"} %" PRIu64 "\n", method, code, n);
}

/*
 * The process_* families as the Prometheus client libraries define them
 * (names, types, units); those /proc does not give are left out, as they do.
 */
static void
metrics_process(struct evbuffer *out)
{
	struct procstat	ps;

	procstat_read(&ps);
	if (ps.have_stat) {
		metrics_family(out, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.");
		evbuffer_add_printf(out, "process_cpu_seconds_total %.2f\n",
		    ps.cpu_seconds);
		metrics_family(out, "process_start_time_seconds", "gauge",
		    "Start time of the process since unix epoch in seconds.");
		evbuffer_add_printf(out, "process_start_time_seconds %.2f\n",
		    ps.start_time);
		metrics_u64(out, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.", ps.rss_bytes);
		metrics_u64(out, "process_virtual_memory_bytes", "gauge",
		    "Virtual memory size in bytes.", ps.vsize_bytes);
	}
	if (ps.have_fds) {
		metrics_u64(out, "process_open_fds", "gauge",
		    "Number of open file descriptors.", ps.open_fds);
		metrics_u64(out, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.", ps.max_fds);
	}
}

void
metrics_render(const struct metrics_src *m, struct evbuffer *out)
{
	const struct node	*n = m->n;
	const struct stats	*s = &stats;
	struct admit_gauges	 g = { 0, n->cfg->validator_queue, 0, 0, 0, 0 };
	unsigned		 in = 0, outb = 0;
	uint64_t		 cum, now;
	unsigned		 i;

	if (m->admit != NULL)
		admit_gauges(m->admit, &g);
	metrics_info(n, out);

	metrics_u64(out, "noded_txs_accepted_total", "counter",
	    "Transactions accepted into the mempool.", s->txs_accepted);
	metrics_family(out, "noded_txs_rejected_total", "counter",
	    "Transactions rejected, by reason (its code, as in API answers).");
	for (i = 1; i < REASON_COUNT; i++)
		metrics_sample(out, "noded_txs_rejected_total", "reason",
		    reason_code(i), s->txs_rejected[i]);
	metrics_u64(out, "noded_txs_replaced_total", "counter",
	    "Transactions taken out for one with the same sender and nonce and a "
	    "smaller id.", s->txs_replaced);
	metrics_u64(out, "noded_txs_duplicate_total", "counter",
	    "Transactions received again while known (mempool, in flight or "
	    "recently rejected): not verified twice.", s->txs_duplicate);

	metrics_u64(out, "noded_mempool_txs", "gauge",
	    "Transactions in the mempool.",
	    m->mp != NULL ? mempool_count(m->mp) : 0);
	metrics_u64(out, "noded_mempool_bytes", "gauge",
	    "Encoded bytes of the transactions in the mempool.",
	    m->mp != NULL ? mempool_bytes(m->mp) : 0);
	metrics_u64(out, "noded_mempool_max_txs", "gauge",
	    "Bound on the transactions in the mempool.", n->cfg->mempool_max_txs);
	metrics_u64(out, "noded_mempool_max_bytes", "gauge",
	    "Bound on the bytes in the mempool.", n->cfg->mempool_max_bytes);

	if (m->net != NULL)
		net_peer_counts(m->net, &in, &outb);
	metrics_family(out, "noded_peers", "gauge",
	    "Active peers, by who dialled.");
	metrics_sample(out, "noded_peers", "direction", "inbound", in);
	metrics_sample(out, "noded_peers", "direction", "outbound", outb);
	metrics_u64(out, "noded_peers_dropped_total", "counter",
	    "Peers disconnected for misbehaviour.", s->peers_dropped);
	metrics_family(out, "noded_inbound_refused_total", "counter",
	    "Inbound connections refused, by reason (before the handshake but "
	    "banned_key, inbound_full and inbound_per_ip, which may come after it).");
	for (i = 0; i < STATS_REFUSED_COUNT; i++)
		metrics_sample(out, "noded_inbound_refused_total", "reason",
		    stats_refused_code[i], s->inbound_refused[i]);
	metrics_u64(out, "noded_inbound_evicted_total", "counter",
	    "Established inbound peers pushed out to make room for a newcomer.",
	    s->inbound_evicted);
	metrics_family(out, "noded_handshakes_total", "counter",
	    "Secure-channel handshakes, by how they ended.");
	for (i = 0; i < STATS_HS_COUNT; i++)
		metrics_sample(out, "noded_handshakes_total", "result",
		    stats_handshake_code[i], s->handshakes[i]);
	if (m->net != NULL) {
		metrics_family(out, "noded_bans_total", "counter",
		    "Peers banned (node key, and address unless loopback), by "
		    "reason.");
		for (i = 1; i < BAN_REASON_COUNT; i++)
			metrics_sample(out, "noded_bans_total", "reason",
			    ban_reason_code((enum ban_reason)i),
			    ban_total(net_bans(m->net), (enum ban_reason)i));
		metrics_u64(out, "noded_bans_active", "gauge",
		    "Bans in force (node keys and IP addresses).",
		    ban_count(net_bans(m->net), now_ms() / 1000));
	}
	metrics_family(out, "noded_announcements_total", "counter",
	    "Announced ids the download scheduler could not track at once, by "
	    "what became of them: deferred (set aside), resumed (tracked later), "
	    "dropped (oldest out of a full queue), abandoned (their peer left).");
	metrics_sample(out, "noded_announcements_total", "event", "deferred",
	    s->announcements_deferred);
	metrics_sample(out, "noded_announcements_total", "event", "resumed",
	    s->announcements_resumed);
	metrics_sample(out, "noded_announcements_total", "event", "dropped",
	    s->announcements_dropped);
	metrics_sample(out, "noded_announcements_total", "event", "abandoned",
	    s->announcements_abandoned);
	metrics_family(out, "noded_relay_frames_queued_total", "counter",
	    "INV and GETDATA frames of more than 16 ids worked a slice a loop "
	    "turn, the peer not read meanwhile.");
	metrics_sample(out, "noded_relay_frames_queued_total", "type", "inv",
	    s->relay_queued_inv);
	metrics_sample(out, "noded_relay_frames_queued_total", "type", "getdata",
	    s->relay_queued_getdata);
	metrics_u64(out, "noded_relay_peers_held", "gauge",
	    "Peers not read while a long frame of theirs is worked.",
	    s->relay_held);
	metrics_u64(out, "noded_heap_trims_total", "counter",
	    "Times freed heap was given back to the system (malloc_trim).",
	    s->heap_trims);
	metrics_u64(out, "noded_relay_pushed_total", "counter",
	    "Transactions pushed whole to eager peers (the push tree).",
	    s->relay_pushed);
	metrics_family(out, "noded_relay_tree_changes_total", "counter",
	    "Links of the push tree changed by this node: pruned (a peer pushed "
	    "a copy already held), grafted (a lazy peer delivered first).");
	metrics_sample(out, "noded_relay_tree_changes_total", "change", "pruned",
	    s->relay_pruned);
	metrics_sample(out, "noded_relay_tree_changes_total", "change", "grafted",
	    s->relay_grafted);
	metrics_family(out, "noded_recon_sessions_total", "counter",
	    "Set reconciliation sessions (docs/PROTOCOL.md 7), by how they "
	    "ended: ok (decoded), failed (not within the symbol cap), refused, "
	    "timeout.");
	metrics_sample(out, "noded_recon_sessions_total", "result", "ok",
	    s->recon_sessions[STATS_RECON_OK]);
	metrics_sample(out, "noded_recon_sessions_total", "result", "failed",
	    s->recon_sessions[STATS_RECON_FAILED]);
	metrics_sample(out, "noded_recon_sessions_total", "result", "refused",
	    s->recon_sessions[STATS_RECON_REFUSED]);
	metrics_sample(out, "noded_recon_sessions_total", "result", "timeout",
	    s->recon_sessions[STATS_RECON_TIMEOUT]);
	metrics_family(out, "noded_recon_bytes_total", "counter",
	    "Bytes of RECON_* frames (headers included), by direction.");
	metrics_sample(out, "noded_recon_bytes_total", "dir", "sent",
	    s->recon_bytes_sent);
	metrics_sample(out, "noded_recon_bytes_total", "dir", "received",
	    s->recon_bytes_received);
	metrics_u64(out, "noded_recon_diff_total", "counter",
	    "Ids reconciliation found on one side of a link only.", s->recon_diff);
	metrics_u64(out, "noded_recon_fallbacks_total", "counter",
	    "Links announced the whole mempool because reconciliation failed.",
	    s->recon_fallbacks);

	metrics_u64(out, "noded_validator_threads", "gauge",
	    "Validator threads.", n->cfg->validators);
	metrics_u64(out, "noded_validator_queue_depth", "gauge",
	    "Jobs waiting in the validator channel.",
	    g.queue_depth);
	metrics_u64(out, "noded_validator_queue_capacity", "gauge",
	    "Capacity of the validator channel.",
	    g.queue_capacity);
	metrics_u64(out, "noded_validator_backpressure_total", "counter",
	    "Times the validator channel was full and reading paused.",
	    s->backpressure);
	metrics_u64(out, "noded_validator_verified_total", "counter",
	    "Signatures verified by the validator threads.",
	    g.verified);
	metrics_u64(out, "noded_store_commits_total", "counter",
	    "Write transactions of the store committed (one per group of "
	    "transactions accepted together).", g.store_commits);
	metrics_family(out, "noded_store_commit_seconds_total", "counter",
	    "Time the event loop spent committing the store (fsync included).");
	evbuffer_add_printf(out, "noded_store_commit_seconds_total %.6f\n",
	    (double)g.store_commit_ns / 1e9);
	metrics_u64(out, "noded_store_commit_failures_total", "counter",
	    "Store commits that failed: their transactions were answered "
	    "store_error, not accepted.", g.store_failures);

	metrics_family(out, "noded_verify_seconds", "histogram",
	    "Time one validator job took (decode, policy, signature).");
	for (i = 0, cum = 0; i < STATS_VERIFY_BUCKETS; i++) {
		cum += s->verify_hist[i];
		evbuffer_add_printf(out, "noded_verify_seconds_bucket{le=\"%s\"} %"
		    PRIu64 "\n", stats_verify_le[i], cum);
	}
	evbuffer_add_printf(out, "noded_verify_seconds_bucket{le=\"+Inf\"} %"
	    PRIu64 "\n", s->verify_count);
	evbuffer_add_printf(out, "noded_verify_seconds_sum %.9f\n",
	    s->verify_sum_s);
	evbuffer_add_printf(out, "noded_verify_seconds_count %" PRIu64 "\n",
	    s->verify_count);

	metrics_by_frame(out, "noded_bytes_sent_total",
	    "Bytes sent to peers, by frame type (handshake: before the channel).",
	    s->bytes_sent, 0);
	metrics_by_frame(out, "noded_bytes_received_total",
	    "Bytes received from peers, by frame type (handshake: before the "
	    "channel).", s->bytes_received, 0);
	metrics_by_frame(out, "noded_frames_sent_total",
	    "Frames sent to peers, by type.", s->frames_sent, 1);
	metrics_by_frame(out, "noded_frames_received_total",
	    "Frames received from peers, by type (TX: full transaction copies).",
	    s->frames_received, 1);

	if (m->srv != NULL) {
		metrics_family(out, "noded_api_requests_total", "counter",
		    "HTTP API requests answered, by method and status code.");
		server_requests_foreach(m->srv, metrics_request, out);
	}
	if (m->events != NULL) {
		metrics_u64(out, "noded_api_event_clients", "gauge",
		    "Open GET /v1/events streams.", events_clients(m->events));
		metrics_u64(out, "noded_api_event_clients_dropped_total", "counter",
		    "Event-stream readers dropped for reading too slowly.",
		    events_dropped(m->events));
	}

	if (m->events != NULL)
		events_account(m->events);
	metrics_family(out, "noded_budget_bytes", "gauge",
	    "Bytes held now against each memory budget: peer_send (queued to "
	    "peers), api_body (API request bodies), events (unsent event-stream "
	    "bytes).");
	for (i = 0; i < BUDGET_KINDS; i++)
		metrics_sample(out, "noded_budget_bytes", "kind", budget_names[i],
		    budgets[i].used);
	metrics_family(out, "noded_budget_limit_bytes", "gauge",
	    "Each memory budget (--peer-send-budget, --api-body-budget, "
	    "--events-budget).");
	for (i = 0; i < BUDGET_KINDS; i++)
		metrics_sample(out, "noded_budget_limit_bytes", "kind",
		    budget_names[i], budgets[i].limit);
	metrics_family(out, "noded_budget_disconnects_total", "counter",
	    "Connections closed for holding more than their share of a budget.");
	for (i = 0; i < BUDGET_KINDS; i++)
		metrics_sample(out, "noded_budget_disconnects_total", "kind",
		    budget_names[i], budgets[i].cuts);
	metrics_family(out, "noded_budget_refused_total", "counter",
	    "Held back by a budget: peers not read while over their share "
	    "(peer_send), requests answered 503 (api_body).");
	for (i = 0; i < BUDGET_KINDS; i++)
		metrics_sample(out, "noded_budget_refused_total", "kind",
		    budget_names[i], budgets[i].refused);

	now = now_ms();
	metrics_family(out, "noded_uptime_seconds", "gauge",
	    "Seconds since the node started.");
	evbuffer_add_printf(out, "noded_uptime_seconds %.3f\n",
	    now > n->start_ms ? (double)(now - n->start_ms) / 1000.0 : 0.0);

	metrics_process(out);
}
