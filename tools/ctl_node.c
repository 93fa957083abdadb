/*
 * ctl_node.c: nodectl's commands about a node itself: status, health,
 * mempool, peers, connect and disconnect.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/util.h"
#include "proto/hex.h"
#include "proto/tx.h"
#include "ctl.h"

#define MEMPOOL_LIMIT_MAX	10000	/* as the API's */
#define MEMPOOL_LIMIT_DEFAULT	100	/* the API's */
#define NODE_ID_HEX_LEN		64
#define PEER_PREFIX_MIN		4	/* hex digits of a node id prefix */

enum {
	OPT_LIMIT = CTL_OPT_COMMAND,
	OPT_AFTER,
	OPT_READY
};

/* GETs path; on success leaves the JSON object in a, else returns an exit code. */
static int
ctl_get_object(struct ctl *c, const char *path, struct ctl_answer *a)
{
	int	rc;

	if (ctl_call(c, "GET", path, NULL, a) == -1)
		return CTL_ERR;
	if (a->status / 100 != 2) {
		rc = ctl_answer_error(c, a);
		ctl_answer_free(a);
		return rc;
	}
	if (!json_is_object(a->json)) {
		ctl_warnx("%s: %s: the answer is not a JSON object",
		    c->nodes[0].text, path);
		ctl_answer_free(a);
		return CTL_ERR;
	}
	return 0;
}

/*
 * GETs path for a command that shows the list `field` of the answer.
 * Returns 0 with *list set (the caller frees a), or -1 when the command is
 * done, with *rc its exit code: --json printed the answer, or an error was told.
 */
static int
ctl_get_list(struct ctl *c, const char *path, const char *field,
    struct ctl_answer *a, const json_t **list, int *rc)
{
	if ((*rc = ctl_get_object(c, path, a)) != 0)
		return -1;
	if (c->json) {
		ctl_print_raw(a);
		ctl_answer_free(a);
		*rc = CTL_OK;
		return -1;
	}
	*list = json_object_get(a->json, field);
	if (!json_is_array(*list)) {
		ctl_warnx("%s: %s: the answer has no \"%s\" list",
		    c->nodes[0].text, path, field);
		ctl_answer_free(a);
		*rc = CTL_ERR;
		return -1;
	}
	return 0;
}

/* Integer member, or -1 when it is missing or not a non-negative integer. */
static json_int_t
ctl_int(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	return json_integer_value(v);
}

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	static const char	*known[] = { "name", "node_id", "network",
	    "version", "listen", "api", "peers", "peers_inbound",
	    "peers_outbound", "mempool_txs", "mempool_bytes", "uptime_s",
	    "validators", "validator_queue_depth", "verified", "network_id",
	    "validator_queue_capacity", "mempool_digest" };
	struct ctl_answer	 a;
	struct ctl_table	*t;
	const char		*key;
	json_t			*v;
	char			 val[512], b[64], d[64];
	json_int_t		 n, m;
	size_t			 i;
	int			 rc, skip;

	if (ctl_no_options(c, argc, argv, 0, &rc) == -1)
		return rc;
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if ((rc = ctl_get_object(c, "/v1/status", &a)) != 0)
		return rc;
	if (c->json) {
		ctl_print_raw(&a);
		ctl_answer_free(&a);
		return CTL_OK;
	}

	t = ctl_table_new(2, "ll");
	for (i = 0; i < 6; i++) {
		ctl_value(val, sizeof(val), json_object_get(a.json, known[i]));
		ctl_table_add(t, i == 1 ? "node id" : known[i], val);
		if (i == 2 && (v = json_object_get(a.json, "network_id")) != NULL) {
			ctl_value(val, sizeof(val), v);
			ctl_table_add(t, "network id", val);
		}
	}
	ctl_value(val, sizeof(val), json_object_get(a.json, "peers"));
	n = ctl_int(a.json, "peers_inbound");
	m = ctl_int(a.json, "peers_outbound");
	if (n >= 0 && m >= 0) {
		snprintf(b, sizeof(b), " (%" JSON_INTEGER_FORMAT " inbound, %"
		    JSON_INTEGER_FORMAT " outbound)", n, m);
		strncat(val, b, sizeof(val) - strlen(val) - 1);
	}
	ctl_table_add(t, "peers", val);
	ctl_value(val, sizeof(val), json_object_get(a.json, "mempool_txs"));
	if ((n = ctl_int(a.json, "mempool_bytes")) >= 0) {
		ctl_bytes(b, sizeof(b), (uint64_t)n);
		strncat(val, " txs, ", sizeof(val) - strlen(val) - 1);
		strncat(val, b, sizeof(val) - strlen(val) - 1);
	}
	ctl_table_add(t, "mempool", val);
	/* Nodes whose mempools agree show the same digest (and count). */
	if ((v = json_object_get(a.json, "mempool_digest")) != NULL) {
		ctl_value(val, sizeof(val), v);
		ctl_table_add(t, "mempool digest", val);
	}
	if ((n = ctl_int(a.json, "uptime_s")) >= 0) {
		ctl_duration(d, sizeof(d), (uint64_t)n);
		ctl_table_add(t, "uptime", d);
	} else
		ctl_table_add(t, "uptime", "-");
	ctl_value(val, sizeof(val), json_object_get(a.json, "validators"));
	n = ctl_int(a.json, "validator_queue_depth");
	m = ctl_int(a.json, "validator_queue_capacity");
	if (n >= 0 && m >= 0)
		snprintf(b, sizeof(b), " (queue %" JSON_INTEGER_FORMAT " of %"
		    JSON_INTEGER_FORMAT ")", n, m);
	else if (n >= 0)
		snprintf(b, sizeof(b), " (queue %" JSON_INTEGER_FORMAT ")", n);
	else
		b[0] = '\0';
	strncat(val, b, sizeof(val) - strlen(val) - 1);
	ctl_table_add(t, "validators", val);
	ctl_value(val, sizeof(val), json_object_get(a.json, "verified"));
	ctl_table_add(t, "verified", val);

	/* Whatever a newer node adds is shown too. */
	json_object_foreach(a.json, key, v) {
		skip = 0;
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			skip |= strcmp(key, known[i]) == 0;
		if (skip)
			continue;
		ctl_safe(b, sizeof(b), key);
		for (i = 0; b[i] != '\0'; i++) {
			if (b[i] == '_')
				b[i] = ' ';
		}
		ctl_value(val, sizeof(val), v);
		ctl_table_add(t, b, val);
	}
	ctl_table_print(t, stdout);
	ctl_answer_free(&a);
	return CTL_OK;
}

/*
 * Exit 0 when the node answers 200, else 1, even when it cannot be reached
 * or the options are wrong: a container healthcheck reads 1 as unhealthy,
 * and docker reserves 2.
 */
int
ctl_health(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "ready",	no_argument,	NULL,	OPT_READY },
		{ NULL,		0,		NULL,	0 }
	};
	struct ctl_answer	 a;
	const char		*path = "/healthz", *st;
	char			 val[128];
	int			 ch, ready = 0;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_READY:
			ready = 1;
			path = "/readyz";
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_FAIL;
		}
	}
	if (ctl_extra_args(c, argc, argv, 0) != 0 ||
	    ctl_connect_setup(c, 0) != 0)
		return CTL_FAIL;
	if (ctl_call(c, "GET", path, NULL, &a) == -1)
		return CTL_FAIL;
	if (a.status != 200) {
		(void)ctl_answer_error(c, &a);
		ctl_answer_free(&a);
		return CTL_FAIL;
	}
	if (c->json)
		ctl_print_raw(&a);
	else {
		st = json_string_value(json_object_get(a.json, "status"));
		ctl_safe(val, sizeof(val), st != NULL ? st : (ready ? "ready" :
		    "alive"));
		printf("%s\n", val);
	}
	ctl_answer_free(&a);
	return CTL_OK;
}

int
ctl_mempool(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "limit",	required_argument,	NULL,	OPT_LIMIT },
		{ "after",	required_argument,	NULL,	OPT_AFTER },
		{ NULL,		0,			NULL,	0 }
	};
	struct ctl_answer	 a;
	struct ctl_table	*t;
	const char		*after = NULL, *next;
	const json_t		*txs, *v;
	char			 path[128], val[128], num[32];
	uint64_t		 limit = 0;
	size_t			 i, len;
	int			 ch, rc;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_LIMIT:
			if (ctl_parse_u64(c, "--limit", optarg, &limit) == -1)
				return CTL_ERR;
			if (limit == 0 || limit > MEMPOOL_LIMIT_MAX)
				return ctl_usage(c, "--limit '%s': from 1 to %d",
				    optarg, MEMPOOL_LIMIT_MAX);
			break;
		case OPT_AFTER:
			if (!hex_valid(optarg, TX_ID_HEX_LEN))
				return ctl_usage(c, "--after: expected 64 hex "
				    "characters");
			after = optarg;
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_ERR;
		}
	}
	if (optind < argc)
		return ctl_usage(c, "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;

	len = (size_t)snprintf(path, sizeof(path), "/v1/mempool");
	if (limit != 0)
		len += (size_t)snprintf(path + len, sizeof(path) - len,
		    "?limit=%" PRIu64, limit);
	if (after != NULL)
		snprintf(path + len, sizeof(path) - len, "%cafter=%s",
		    limit != 0 ? '&' : '?', after);
	if (ctl_get_list(c, path, "txs", &a, &txs, &rc) == -1)
		return rc;
	ctl_value(num, sizeof(num), json_object_get(a.json, "count"));
	printf("%s transaction%s in the mempool, %zu shown\n", num,
	    strcmp(num, "1") == 0 ? "" : "s", json_array_size(txs));
	if (json_array_size(txs) > 0) {
		t = ctl_table_new(2, "rl");
		ctl_table_add(t, "#", "ID");
		json_array_foreach(txs, i, v) {
			snprintf(num, sizeof(num), "%zu", i + 1);
			ctl_value(val, sizeof(val), v);
			ctl_table_add(t, num, val);
		}
		ctl_table_print(t, stdout);
	}
	next = json_string_value(json_object_get(a.json, "next"));
	if (limit == 0)
		limit = MEMPOOL_LIMIT_DEFAULT;
	if (next != NULL && json_array_size(txs) == limit &&
	    hex_valid(next, TX_ID_HEX_LEN))
		printf("next page: nodectl%s%s mempool --limit %" PRIu64
		    " --after %s\n", c->nnode_args > 0 ? " --node " : "",
		    c->nnode_args > 0 ? c->node_args[0] : "", limit, next);
	ctl_answer_free(&a);
	return CTL_OK;
}

int
ctl_peers(struct ctl *c, int argc, char **argv)
{
	struct ctl_answer	 a;
	struct ctl_table	*t;
	const json_t		*peers, *p, *v;
	char			 name[128], id[32], addr[300], dir[16];
	char			 up[32], sent[32], recv[32], msgs[64], ping[32];
	json_int_t		 n, m;
	uint64_t		 now = now_ms();
	size_t			 i;
	int			 rc;

	if (ctl_no_options(c, argc, argv, 0, &rc) == -1)
		return rc;
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if (ctl_get_list(c, "/v1/peers", "peers", &a, &peers, &rc) == -1)
		return rc;
	if (json_array_size(peers) == 0) {
		printf("no peers\n");
		ctl_answer_free(&a);
		return CTL_OK;
	}
	t = ctl_table_new(9, "lllllrrrr");
	ctl_table_add(t, "NAME", "NODE ID", "ADDRESS", "DIR", "UP", "SENT",
	    "RECEIVED", "MSGS OUT/IN", "PING");
	json_array_foreach(peers, i, p) {
		ctl_value(name, sizeof(name), json_object_get(p, "name"));
		ctl_value(id, 17, json_object_get(p, "node_id"));
		ctl_value(addr, sizeof(addr), json_object_get(p, "addr"));
		ctl_value(dir, sizeof(dir), json_object_get(p, "direction"));
		if (strcmp(dir, "inbound") == 0)
			snprintf(dir, sizeof(dir), "in");
		else if (strcmp(dir, "outbound") == 0)
			snprintf(dir, sizeof(dir), "out");
		n = ctl_int(p, "connected_since_ms");
		if (n >= 0)
			ctl_duration(up, sizeof(up), (uint64_t)n < now ?
			    (now - (uint64_t)n) / 1000 : 0);
		else
			snprintf(up, sizeof(up), "-");
		if ((n = ctl_int(p, "bytes_sent")) >= 0)
			ctl_bytes(sent, sizeof(sent), (uint64_t)n);
		else
			snprintf(sent, sizeof(sent), "-");
		if ((n = ctl_int(p, "bytes_received")) >= 0)
			ctl_bytes(recv, sizeof(recv), (uint64_t)n);
		else
			snprintf(recv, sizeof(recv), "-");
		n = ctl_int(p, "msgs_sent");
		m = ctl_int(p, "msgs_received");
		if (n >= 0 && m >= 0)
			snprintf(msgs, sizeof(msgs), "%" JSON_INTEGER_FORMAT "/%"
			    JSON_INTEGER_FORMAT, n, m);
		else
			snprintf(msgs, sizeof(msgs), "-");
		v = json_object_get(p, "last_ping_ms");
		if (json_is_integer(v))
			snprintf(ping, sizeof(ping), "%" JSON_INTEGER_FORMAT " ms",
			    json_integer_value(v));
		else if (json_is_real(v))
			snprintf(ping, sizeof(ping), "%.1f ms", json_real_value(v));
		else
			snprintf(ping, sizeof(ping), "-");
		ctl_table_add(t, name, id, addr, dir, up, sent, recv, msgs, ping);
	}
	ctl_table_print(t, stdout);
	ctl_answer_free(&a);
	return CTL_OK;
}

int
ctl_connect(struct ctl *c, int argc, char **argv)
{
	struct http_addr	 peer;
	struct ctl_answer	 a;
	json_t			*body;
	char			 err[512];
	int			 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "the peer's HOST:PORT is required");
	if (strncasecmp(argv[optind], "http://", 7) == 0)
		return ctl_usage(c, "HOST:PORT '%s': a peer's P2P address, "
		    "not a URL", argv[optind]);
	if (http_addr_parse(&peer, argv[optind], err, sizeof(err)) == -1)
		return ctl_usage(c, "HOST:PORT %s", err);
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if ((body = json_pack("{s:s}", "addr", peer.text)) == NULL) {
		ctl_warnx("out of memory");
		return CTL_ERR;
	}
	rc = ctl_call(c, "POST", "/v1/peers", body, &a);
	json_decref(body);
	if (rc == -1)
		return CTL_ERR;
	if (a.status / 100 != 2) {
		rc = ctl_answer_error(c, &a);
		ctl_answer_free(&a);
		return rc;
	}
	if (c->json)
		ctl_print_raw(&a);
	else
		printf("connecting to %s\n", peer.text);
	ctl_answer_free(&a);
	return CTL_OK;
}

/*
 * Finds the one peer whose name is arg or whose node id starts with arg;
 * writes its id to id.  Returns 0, or an exit code after saying why not.
 */
static int
ctl_peer_lookup(struct ctl *c, const char *arg, char id[NODE_ID_HEX_LEN + 1])
{
	struct ctl_answer	 a;
	const json_t		*peers, *p;
	const char		*pid, *name, *found = NULL;
	char			 safe[256];
	size_t			 i, matches = 0, arglen = strlen(arg);
	int			 rc;

	if ((rc = ctl_get_object(c, "/v1/peers", &a)) != 0)
		return rc;
	peers = json_object_get(a.json, "peers");
	json_array_foreach(peers, i, p) {
		pid = json_string_value(json_object_get(p, "node_id"));
		name = json_string_value(json_object_get(p, "name"));
		if (pid == NULL || !hex_valid(pid, NODE_ID_HEX_LEN))
			continue;
		if ((name != NULL && strcmp(name, arg) == 0) ||
		    (arglen >= PEER_PREFIX_MIN && hex_valid(arg, arglen) &&
		    strncasecmp(pid, arg, arglen) == 0)) {
			if (found == NULL || strcmp(found, pid) != 0)
				matches++;
			found = pid;
		}
	}
	ctl_safe(safe, sizeof(safe), arg);
	if (matches == 1) {
		snprintf(id, NODE_ID_HEX_LEN + 1, "%s", found);
		rc = 0;
	} else if (matches == 0 && arglen < PEER_PREFIX_MIN &&
	    hex_valid(arg, arglen)) {
		rc = ctl_usage(c, "'%s': no peer of that name, and an id prefix "
		    "needs at least %d hex digits", safe, PEER_PREFIX_MIN);
	} else if (matches == 0) {
		ctl_warnx("%s: no peer named '%s' or with an id starting "
		    "with it", c->nodes[0].text, safe);
		rc = CTL_FAIL;
	} else
		rc = ctl_usage(c, "'%s' matches %zu peers; give more of the "
		    "node id", safe, matches);
	ctl_answer_free(&a);
	return rc;
}

/* DELETE path; prints "<done> <what>" (or the answer with --json). */
static int
ctl_delete(struct ctl *c, const char *path, const char *done, const char *what)
{
	struct ctl_answer	 a;
	int			 rc;

	if (ctl_call(c, "DELETE", path, NULL, &a) == -1)
		return CTL_ERR;
	if (a.status / 100 != 2) {
		rc = ctl_answer_error(c, &a);
		ctl_answer_free(&a);
		return rc;
	}
	if (c->json)
		ctl_print_raw(&a);
	else
		printf("%s %s\n", done, what);
	ctl_answer_free(&a);
	return CTL_OK;
}

int
ctl_disconnect(struct ctl *c, int argc, char **argv)
{
	const char		*arg;
	char			 id[NODE_ID_HEX_LEN + 1], path[128];
	size_t			 i;
	int			 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "the peer's NODE_ID is required");
	arg = argv[optind];
	if (*arg == '\0' || strlen(arg) > 64)
		return ctl_usage(c, "NODE_ID: expected 64 hex characters, a "
		    "peer's name or an id prefix");
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if (hex_valid(arg, NODE_ID_HEX_LEN)) {
		for (i = 0; i < NODE_ID_HEX_LEN; i++)
			id[i] = (char)(arg[i] | 0x20);
		id[NODE_ID_HEX_LEN] = '\0';
	} else if ((rc = ctl_peer_lookup(c, arg, id)) != 0)
		return rc;

	snprintf(path, sizeof(path), "/v1/peers/%s", id);
	return ctl_delete(c, path, "disconnected", id);
}

int
ctl_bans(struct ctl *c, int argc, char **argv)
{
	struct ctl_answer	 a;
	struct ctl_table	*t;
	const json_t		*bans, *b;
	char			 what[160], reason[64], since[64], left[32];
	json_int_t		 s, u, now;
	size_t			 i;
	int			 rc;

	if (ctl_no_options(c, argc, argv, 0, &rc) == -1)
		return rc;
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	if (ctl_get_list(c, "/v1/bans", "bans", &a, &bans, &rc) == -1)
		return rc;
	if (json_array_size(bans) == 0) {
		printf("no bans\n");
		ctl_answer_free(&a);
		return CTL_OK;
	}
	now = ctl_int(a.json, "now");
	t = ctl_table_new(4, "llll");
	ctl_table_add(t, "BANNED", "REASON", "SINCE", "LEFT");
	json_array_foreach(bans, i, b) {
		if (json_is_string(json_object_get(b, "key"))) {
			ctl_value(what, sizeof(what), json_object_get(b, "key"));
			memmove(what + 4, what, strlen(what) + 1 < sizeof(what) - 4 ?
			    strlen(what) + 1 : sizeof(what) - 5);
			memcpy(what, "key ", 4);
		} else {
			ctl_value(what, sizeof(what), json_object_get(b, "ip"));
			memmove(what + 3, what, strlen(what) + 1 < sizeof(what) - 3 ?
			    strlen(what) + 1 : sizeof(what) - 4);
			memcpy(what, "ip ", 3);
		}
		what[sizeof(what) - 1] = '\0';
		ctl_value(reason, sizeof(reason), json_object_get(b, "reason"));
		s = ctl_int(b, "since");
		u = ctl_int(b, "until");
		if (s >= 0)
			ctl_time_ms(since, sizeof(since), (uint64_t)s * 1000);
		else
			snprintf(since, sizeof(since), "-");
		if (u >= 0 && now >= 0)
			ctl_duration(left, sizeof(left), u > now ?
			    (uint64_t)(u - now) : 0);
		else
			snprintf(left, sizeof(left), "-");
		ctl_table_add(t, what, reason, since, left);
	}
	ctl_table_print(t, stdout);
	ctl_answer_free(&a);
	return CTL_OK;
}

int
ctl_unban(struct ctl *c, int argc, char **argv)
{
	const char		*arg;
	char			 path[160], safe[256];
	int			 rc;

	if (ctl_no_options(c, argc, argv, 1, &rc) == -1)
		return rc;
	if (optind >= argc)
		return ctl_usage(c, "a node key or an IP address is required");
	arg = argv[optind];
	ctl_safe(safe, sizeof(safe), arg);
	/* A key is 64 hex digits; an IPv6 address at most 45 characters. */
	if (*arg == '\0' || strlen(arg) > 64 || strspn(arg,
	    "0123456789abcdefABCDEF.:") != strlen(arg))
		return ctl_usage(c, "'%s': expected a node key (64 hex digits) "
		    "or an IP address", safe);
	if ((rc = ctl_connect_setup(c, 0)) != 0)
		return rc;
	snprintf(path, sizeof(path), "/v1/bans/%s", arg);
	return ctl_delete(c, path, "unbanned", safe);
}
