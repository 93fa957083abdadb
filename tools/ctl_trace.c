/*
 * ctl_trace.c: `nodectl trace ID --node A --node B ...`: asks every node
 * for GET /v1/tx/ID/trace at once (one poll loop over non-blocking
 * requests, as watch follows streams), then prints the propagation tree:
 * each node under the peer its copy came from, its hop count from the
 * entry node (the one that got it from the API), when it first heard of it
 * and got the copy (ms since the entry node got it), and its queue and
 * verify times.  The nodes that never saw it are named (GET /v1/status,
 * asked of those alone).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "lib/util.h"
#include "proto/hex.h"
#include "proto/tx.h"
#include "ctl.h"

#define TRACE_BODY_MAX	(1024 * 1024)

struct trace_node {
	const struct http_addr *addr;
	struct http_stream *s;
	char		*body;
	size_t		 len;
	int		 status;	/* 0: no answer */
	char		 err[512];
	json_t		*j;		/* the trace, or the status */
	int		 parent;	/* index, -1: entry or outside */
	int		 hop;		/* -1: unknown */
	int		 printed;
};

static int64_t
trace_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
trace_body_cb(void *arg, const char *data, size_t len)
{
	struct trace_node *tn = arg;

	if (tn->len + len > TRACE_BODY_MAX)
		return -1;
	tn->body = xrealloc(tn->body, tn->len + len + 1);
	memcpy(tn->body + tn->len, data, len);
	tn->len += len;
	tn->body[tn->len] = '\0';
	return 0;
}

/* GET path of every node in want[] at once; fills status, body, err. */
static void
trace_fetch_all(struct ctl *c, struct trace_node *tn, size_t n, const int *want,
    const char *path)
{
	struct http_request req;
	struct pollfd	 pfd[CTL_NODES_MAX];
	int		 map[CTL_NODES_MAX];
	int64_t		 deadline = trace_mono_ms() + c->timeout_ms;
	size_t		 i, np, open = 0;
	int		 rc, left;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = path;
	req.token = c->token;
	for (i = 0; i < n; i++) {
		if (!want[i])
			continue;
		free(tn[i].body);
		tn[i].body = NULL;
		tn[i].len = 0;
		tn[i].status = 0;
		tn[i].err[0] = '\0';
		tn[i].s = http_stream_open(tn[i].addr, &req, tn[i].err,
		    sizeof(tn[i].err));
		if (tn[i].s != NULL)
			open++;
	}
	while (open > 0) {
		if ((left = (int)(deadline - trace_mono_ms())) <= 0)
			break;
		for (i = 0, np = 0; i < n; i++) {
			if (tn[i].s == NULL)
				continue;
			pfd[np].fd = http_stream_fd(tn[i].s);
			pfd[np].events = http_stream_events(tn[i].s);
			pfd[np].revents = 0;
			map[np++] = (int)i;
		}
		if (poll(pfd, np, left) == -1 && errno != EINTR)
			break;
		for (i = 0; i < np; i++) {
			struct trace_node *t = &tn[map[i]];

			rc = http_stream_step(t->s, pfd[i].revents, trace_body_cb,
			    t, t->err, sizeof(t->err));
			if (rc == 1)
				continue;
			if (rc == 0)
				t->status = http_stream_status(t->s);
			http_stream_free(t->s);
			t->s = NULL;
			open--;
		}
	}
	for (i = 0; i < n; i++) {
		if (tn[i].s == NULL)
			continue;
		snprintf(tn[i].err, sizeof(tn[i].err), "%s: no answer within %d ms",
		    tn[i].addr->text, c->timeout_ms);
		http_stream_free(tn[i].s);
		tn[i].s = NULL;
	}
}

static const char *
trace_str(const json_t *o, const char *path1, const char *path2)
{
	const json_t	*v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static uint64_t
trace_u64(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ?
	    (uint64_t)json_integer_value(v) : 0;
}

/* The node's hop count (entry 0), following parents; -1 if unknown or a loop. */
static int
trace_hop(struct trace_node *tn, size_t n, size_t i, size_t depth)
{
	const json_t	*from = json_object_get(tn[i].j, "from");
	int		 h;

	if (tn[i].hop != -2)
		return tn[i].hop;
	if (json_is_string(from) && strcmp(json_string_value(from), "api") == 0)
		return tn[i].hop = 0;
	if (tn[i].parent < 0 || depth > n)
		return tn[i].hop = -1;
	h = trace_hop(tn, n, (size_t)tn[i].parent, depth + 1);
	return tn[i].hop = h < 0 ? -1 : h + 1;
}

/* "12.345" ms from us after t0, or "-". */
static void
trace_ms(char *out, size_t outlen, uint64_t us, uint64_t t0)
{
	if (us == 0)
		snprintf(out, outlen, "-");
	else if (us < t0)
		snprintf(out, outlen, "-%.3f", (double)(t0 - us) / 1000);
	else
		snprintf(out, outlen, "%.3f", (double)(us - t0) / 1000);
}

static void
trace_row(struct ctl_table *t, struct trace_node *tn, size_t n, size_t i,
    uint64_t t0, int depth)
{
	char		 name[200], safe[160], parent[160], hop[16], seen[32];
	char		 got[32], queued[32], verify[32], ann[16], state[64];
	const json_t	*j = tn[i].j, *from = json_object_get(j, "from");
	size_t		 k;

	tn[i].printed = 1;
	ctl_safe(safe, sizeof(safe), trace_str(j, "node", "name") ?
	    trace_str(j, "node", "name") : tn[i].addr->text);
	snprintf(name, sizeof(name), "%*s%s", 2 * depth, "", safe);
	if (json_is_string(from))
		ctl_safe(parent, sizeof(parent), json_string_value(from));
	else if (json_is_object(from))
		ctl_safe(parent, sizeof(parent), trace_str(j, "from", "name") ?
		    trace_str(j, "from", "name") : "?");
	else
		snprintf(parent, sizeof(parent), "-");
	if (tn[i].hop < 0)
		snprintf(hop, sizeof(hop), "?");
	else
		snprintf(hop, sizeof(hop), "%d", tn[i].hop);
	trace_ms(seen, sizeof(seen), trace_u64(j, "first_seen_us"), t0);
	trace_ms(got, sizeof(got), trace_u64(j, "received_us"), t0);
	if (json_is_integer(json_object_get(j, "queued_us")))
		snprintf(queued, sizeof(queued), "%.3f",
		    (double)trace_u64(j, "queued_us") / 1000);
	else
		snprintf(queued, sizeof(queued), "-");
	if (json_is_integer(json_object_get(j, "verify_us")))
		snprintf(verify, sizeof(verify), "%.3f",
		    (double)trace_u64(j, "verify_us") / 1000);
	else
		snprintf(verify, sizeof(verify), "-");
	snprintf(ann, sizeof(ann), "%llu",
	    (unsigned long long)trace_u64(j, "announcers"));
	ctl_safe(state, sizeof(state), trace_str(j, "state", NULL) ?
	    trace_str(j, "state", NULL) : "?");
	ctl_table_add(t, name, parent, hop, seen, got, queued, verify, state, ann);
	/* Its children, earliest first. */
	for (;;) {
		size_t	best = n;

		for (k = 0; k < n; k++)
			if (tn[k].j != NULL && !tn[k].printed &&
			    tn[k].parent == (int)i && tn[k].status == 200 &&
			    (best == n || trace_u64(tn[k].j, "first_seen_us") <
			    trace_u64(tn[best].j, "first_seen_us")))
				best = k;
		if (best == n)
			break;
		trace_row(t, tn, n, best, t0, depth + 1);
	}
}

int
ctl_trace(struct ctl *c, int argc, char **argv)
{
	struct trace_node tn[CTL_NODES_MAX];
	int		 want[CTL_NODES_MAX];
	char		 id[TX_ID_HEX_LEN + 1], path[64 + TX_ID_HEX_LEN], ms[32];
	char		 safe[200];
	const char	*pid, *nid;
	json_t		*out, *arr, *miss, *errs, *o;
	struct ctl_table *t;
	uint64_t	 t0 = 0, u;
	int64_t		 started = trace_mono_ms();
	size_t		 i, k, n, nseen = 0, nmiss = 0;
	int		 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "the transaction ID is required");
	if (!hex_valid(argv[optind], TX_ID_HEX_LEN))
		return ctl_usage(c, "ID '%.80s': expected 64 hex characters",
		    argv[optind]);
	for (i = 0; i < TX_ID_HEX_LEN; i++)
		id[i] = (char)(argv[optind][i] | 0x20);
	id[TX_ID_HEX_LEN] = '\0';
	if ((rc = ctl_connect_setup(c, 1)) != 0)
		return rc;

	n = c->nnodes;
	memset(tn, 0, sizeof(tn));
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		tn[i].addr = &c->nodes[i];
		tn[i].parent = -1;
		tn[i].hop = -2;
		want[i] = 1;
	}
	snprintf(path, sizeof(path), "/v1/tx/%s/trace", id);
	trace_fetch_all(c, tn, n, want, path);
	for (i = 0; i < n; i++) {
		want[i] = 0;
		if (tn[i].status == 0)
			continue;
		tn[i].j = tn[i].body != NULL ? json_loads(tn[i].body, 0, NULL) : NULL;
		if (tn[i].status == 200 && json_is_object(tn[i].j)) {
			nseen++;
			u = trace_u64(tn[i].j, "received_us");
			pid = trace_str(tn[i].j, "from", NULL);
			if (pid != NULL && strcmp(pid, "api") == 0 && u != 0 &&
			    (t0 == 0 || u < t0))
				t0 = u;
			continue;
		}
		if (tn[i].status == 404) {
			want[i] = 1;
			nmiss++;
			continue;
		}
		snprintf(tn[i].err, sizeof(tn[i].err), "%s: %d %s",
		    tn[i].addr->text, tn[i].status, trace_str(tn[i].j, "error",
		    NULL) ? trace_str(tn[i].j, "error", NULL) : "");
		tn[i].status = 0;
	}
	/* No entry node among them: the earliest first sight is time 0. */
	for (i = 0; t0 == 0 && i < n; i++)
		if (tn[i].status == 200 && tn[i].j != NULL)
			for (k = 0; k < n; k++)
				if (tn[k].status == 200 && tn[k].j != NULL &&
				    (t0 == 0 || trace_u64(tn[k].j,
				    "first_seen_us") < t0))
					t0 = trace_u64(tn[k].j, "first_seen_us");
	/* Parents: the traced node whose id the copy came from. */
	for (i = 0; i < n; i++) {
		if (tn[i].status != 200 || tn[i].j == NULL ||
		    (pid = trace_str(tn[i].j, "from", "id")) == NULL)
			continue;
		for (k = 0; k < n; k++)
			if (k != i && tn[k].status == 200 && tn[k].j != NULL &&
			    (nid = trace_str(tn[k].j, "node", "id")) != NULL &&
			    strcmp(nid, pid) == 0)
				tn[i].parent = (int)k;
	}
	for (i = 0; i < n; i++)
		if (tn[i].status == 200 && tn[i].j != NULL)
			trace_hop(tn, n, i, 0);
	/* The names of the nodes that never saw it. */
	if (nmiss > 0) {
		for (i = 0; i < n; i++)
			if (want[i]) {
				json_decref(tn[i].j);
				tn[i].j = NULL;
			}
		trace_fetch_all(c, tn, n, want, "/v1/status");
		for (i = 0; i < n; i++)
			if (want[i] && tn[i].status == 200 && tn[i].body != NULL)
				tn[i].j = json_loads(tn[i].body, 0, NULL);
	}

	if (c->json) {
		out = json_object();
		arr = json_array();
		miss = json_array();
		errs = json_array();
		json_object_set_new(out, "id", json_string(id));
		json_object_set_new(out, "entry_us", json_integer((json_int_t)t0));
		for (i = 0; i < n; i++) {
			if (want[i]) {
				json_array_append_new(miss, json_pack("{s:s, s:s?}",
				    "api", tn[i].addr->text, "name",
				    trace_str(tn[i].j, "name", NULL)));
				continue;
			}
			if (tn[i].status != 200) {
				json_array_append_new(errs, json_pack("{s:s, s:s}",
				    "api", tn[i].addr->text, "error", tn[i].err));
				continue;
			}
			o = json_deep_copy(tn[i].j);
			json_object_set_new(o, "api", json_string(tn[i].addr->text));
			json_object_set_new(o, "parent", tn[i].parent < 0 ?
			    json_null() : json_string(trace_str(
			    tn[tn[i].parent].j, "node", "name")));
			json_object_set_new(o, "hop", tn[i].hop < 0 ? json_null() :
			    json_integer(tn[i].hop));
			u = trace_u64(tn[i].j, "first_seen_us");
			json_object_set_new(o, "seen_ms", json_real(u < t0 ?
			    -(double)(t0 - u) / 1000 : (double)(u - t0) / 1000));
			u = trace_u64(tn[i].j, "received_us");
			json_object_set_new(o, "received_ms", u == 0 ? json_null() :
			    json_real(u < t0 ? -(double)(t0 - u) / 1000 :
			    (double)(u - t0) / 1000));
			json_array_append_new(arr, o);
		}
		json_object_set_new(out, "nodes", arr);
		json_object_set_new(out, "never_saw", miss);
		json_object_set_new(out, "errors", errs);
		json_object_set_new(out, "elapsed_ms",
		    json_integer(trace_mono_ms() - started));
		json_dumpf(out, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(out);
	} else {
		printf("tx %.16s: seen by %zu of %zu nodes\n", id, nseen, n);
		if (nseen > 0) {
			t = ctl_table_new(9, "lllrrrrlr");
			ctl_table_add(t, "NODE", "FROM", "HOP", "SEEN_MS",
			    "GOT_MS", "QUEUED_MS", "VERIFY_MS", "STATE",
			    "ANNOUNCERS");
			/* Entry nodes first, then those whose parent is not traced. */
			for (k = 0; k < 2; k++)
				for (i = 0; i < n; i++)
					if (tn[i].status == 200 && tn[i].j != NULL &&
					    !tn[i].printed && tn[i].parent < 0 &&
					    (k == 1 || tn[i].hop == 0))
						trace_row(t, tn, n, i, t0, 0);
			for (i = 0; i < n; i++)	/* a loop of parents */
				if (tn[i].status == 200 && tn[i].j != NULL &&
				    !tn[i].printed)
					trace_row(t, tn, n, i, t0, 0);
			ctl_table_print(t, stdout);
		}
		for (i = 0; i < n; i++) {
			if (!want[i])
				continue;
			ctl_safe(safe, sizeof(safe), trace_str(tn[i].j, "name",
			    NULL) ? trace_str(tn[i].j, "name", NULL) : "?");
			printf("never saw it: %s (%s)\n", safe, tn[i].addr->text);
		}
		snprintf(ms, sizeof(ms), "%lld", (long long)(trace_mono_ms() -
		    started));
		printf("collected from %zu nodes in %s ms\n", n, ms);
	}
	for (i = 0; i < n; i++) {
		if (tn[i].err[0] != '\0' && tn[i].status == 0 && !want[i])
			ctl_warnx("%s", tn[i].err);
		json_decref(tn[i].j);
		free(tn[i].body);
	}
	for (i = 0; i < n; i++)
		if (tn[i].status == 0 && !want[i])
			return CTL_ERR;
	return nseen > 0 ? CTL_OK : CTL_FAIL;
}
