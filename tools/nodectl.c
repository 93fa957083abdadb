/*
 * nodectl.c: the command-line client of noded's HTTP API (docs/API.md):
 * global options, the command table and its help, and the request helpers
 * the commands in ctl_*.c share.  man/nodectl.1 documents it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/datadir.h"
#include "lib/token.h"
#include "lib/util.h"
#include "lib/version.h"
#include "ctl.h"

#define CTL_OPTS_MAX	32

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*synopsis;	/* arguments after the command name */
	const char	*help;		/* what it does, then its options */
};

static const struct ctl_cmd ctl_cmds[] = {
	{ "keygen", ctl_keygen, "--out FILE [--force]",
	    "Creates a new Ed25519 wallet key in FILE (mode 0600: the 64-byte\n"
	    "secret key as 128 hex digits) and prints its public key in hex.\n"
	    "\n"
	    "  --out FILE     where to write the key (required)\n"
	    "  --force        replace FILE if it exists\n" },
	{ "pubkey", ctl_pubkey, "--key FILE",
	    "Prints the public key (64 hex digits) of the wallet key in FILE.\n"
	    "\n"
	    "  --key FILE     the wallet key (required)\n" },
	{ "send", ctl_send,
	    "--key FILE --to PUBKEY --amount N [--nonce N] [--memo TEXT]\n"
	    "       [--network NAME] [--dry-run [--count N]]",
	    "Builds a transaction, signs it with the key in FILE and submits it.\n"
	    "Prints \"<id> accepted\" or \"<id> rejected: <reason>\" (exit 1).\n"
	    "The network is the node's (GET /v1/status) unless --network names it.\n"
	    "\n"
	    "  --key FILE      the sender's wallet key (required)\n"
	    "  --to PUBKEY     the recipient's public key, 64 hex digits (required)\n"
	    "  --amount N      the amount (required)\n"
	    "  --nonce N       the nonce (default: a fresh random one)\n"
	    "  --memo TEXT     a memo of at most 256 bytes\n"
	    "  --network NAME  the network, as the node's --network (default: the\n"
	    "                  node's; devnet for --dry-run when no node answers)\n"
	    "  --dry-run       print the signed transaction in hex; submit nothing\n"
	    "  --count N       with --dry-run: N transactions, one per line, each\n"
	    "                  with its own nonce (from --nonce up, else random)\n" },
	{ "submit", ctl_submit, "HEX | -",
	    "Submits an already signed transaction given in hex (\"-\": read it\n"
	    "from standard input).  Prints \"<id> accepted\" or \"<id> rejected:\n"
	    "<reason>\" (exit 1).\n" },
	{ "tx", ctl_tx, "ID",
	    "Shows the transaction with this id (64 hex digits) if the node has\n"
	    "it in its mempool; exit 1 if not.\n" },
	{ "mempool", ctl_mempool, "[--limit N] [--after ID]",
	    "Lists the ids in the node's mempool, oldest first.\n"
	    "\n"
	    "  --limit N      at most N ids (the node's default is 100, its maximum 10000)\n"
	    "  --after ID     start after this id (the \"next\" of the previous page)\n" },
	{ "status", ctl_status, "",
	    "Shows the node's name, id, network, addresses, peers, mempool,\n"
	    "uptime and validators.\n" },
	{ "peers", ctl_peers, "",
	    "Lists the node's connected peers with traffic and ping times.\n" },
	{ "connect", ctl_connect, "HOST:PORT",
	    "Asks the node to connect to a peer's P2P address.\n" },
	{ "disconnect", ctl_disconnect, "NODE_ID | NAME | ID_PREFIX",
	    "Asks the node to drop a peer, named by its node id (64 hex digits),\n"
	    "its name or a unique prefix of its id as `nodectl peers` shows them;\n"
	    "exit 1 if there is no such peer.\n" },
	{ "bans", ctl_bans, "",
	    "Lists the node's bans: node keys and IP addresses of peers that\n"
	    "proved misbehaviour, why, since when and for how long still.\n" },
	{ "unban", ctl_unban, "NODE_KEY | IP",
	    "Lifts the ban of a node key (64 hex digits) or an IP address;\n"
	    "exit 1 if there is none.\n" },
	{ "watch", ctl_watch, "",
	    "Follows the node's event stream, one line per event:\n"
	    "  HH:MM:SS.mmm NODE EVENT DETAILS\n"
	    "Give --node several times (or a comma-separated list) to merge the\n"
	    "events of several nodes.  A node that goes away is reported and the\n"
	    "others go on; watch ends when no node is left to follow, or on Ctrl-C.\n"
	    "With --json, prints each event's data as one JSON line.\n"
	    "A stream that breaks (the node restarts, the connection is cut) is\n"
	    "reopened and resumed after the last event printed (Last-Event-ID);\n"
	    "when the node cannot give what was missed, watch says so.\n"
	    "\n"
	    "  --reconnect SECONDS  how long to keep trying to reopen a broken\n"
	    "                       stream (default 30; 0: do not reopen)\n" },
	{ "trace", ctl_trace, "ID",
	    "Collects the provenance of a transaction (GET /v1/tx/ID/trace) from\n"
	    "every --node at once and prints its propagation tree: each node under\n"
	    "the peer its copy came from, its hop count from the entry node (the one\n"
	    "that got it from the API), when it first heard of it (SEEN_MS) and got\n"
	    "the copy (GOT_MS) in ms after the entry node got it, its time queued\n"
	    "and verifying, its verdict and how many peers announced it.  The nodes\n"
	    "that never saw it are named.  Exit 1 if no node saw it.  With --json:\n"
	    "one object with \"nodes\" (each node's trace plus parent, hop, seen_ms,\n"
	    "received_ms), \"never_saw\", \"errors\" and \"elapsed_ms\".\n" },
	{ "health", ctl_health, "[--ready]",
	    "Asks the node whether it is alive (GET /healthz) or, with --ready,\n"
	    "ready (GET /readyz: its validators run and, if it was given --peer\n"
	    "addresses, at least one peer is active).  Prints \"alive\" or\n"
	    "\"ready\" and exits 0; otherwise prints why and exits 1, also when\n"
	    "the node cannot be reached (for container healthchecks).\n"
	    "\n"
	    "  --ready        ask for readiness rather than liveness\n" },
};
#define CTL_NCMDS	(sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

static const struct option ctl_global_opts[] = {
	{ "node",	required_argument,	NULL,	CTL_OPT_NODE },
	{ "token-file",	required_argument,	NULL,	CTL_OPT_TOKEN_FILE },
	{ "data-dir",	required_argument,	NULL,	CTL_OPT_DATA_DIR },
	{ "json",	no_argument,		NULL,	CTL_OPT_JSON },
	{ "timeout",	required_argument,	NULL,	CTL_OPT_TIMEOUT },
	{ "help",	no_argument,		NULL,	CTL_OPT_HELP },
};
#define CTL_NGLOBAL	(sizeof(ctl_global_opts) / sizeof(ctl_global_opts[0]))

static const char ctl_global_help[] =
    "Global options (before or after the command):\n"
    "  --node HOST:PORT    the node's API (default 127.0.0.1:8000, env NODECTL_NODE)\n"
    "  --token-file FILE   send the bearer token in FILE (env NODECTL_TOKEN_FILE)\n"
    "  --data-dir DIR      the node's data dir, whose .cookie holds the token\n"
    "                      that admin commands need (env NODECTL_DATA_DIR,\n"
    "                      then NODED_DATA_DIR; default ~/.noded)\n"
    "  --json              print the node's JSON answers / machine-readable output\n"
    "  --timeout SECONDS   give up on a request after this long (default 10)\n"
    "  --help              show help (`nodectl COMMAND --help`: a command's)\n";

static void
ctl_vwarnx(const char *fmt, va_list ap)
{
	char	buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fflush(stdout);
	fprintf(stderr, "nodectl: %s\n", buf);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	ctl_vwarnx(fmt, ap);
	va_end(ap);
}

/* After a 401: a token was sent and refused, or none was given. */
void
ctl_token_hint(const struct ctl *c)
{
	switch (c->token_src) {
	case CTL_TOKEN_FILE:
		ctl_warnx("the node refused the token (from %s): check that it "
		    "is the one in the node's --api-token-file", c->token_file !=
		    NULL ? c->token_file : "NODECTL_TOKEN_FILE");
		break;
	case CTL_TOKEN_COOKIE:
		ctl_warnx("the node refused the admin token of %s: is that the "
		    "cookie of the node at %s?  Name the node's data dir with "
		    "--data-dir DIR or NODECTL_DATA_DIR", c->cookie_path,
		    c->nodes[0].text);
		break;
	case CTL_TOKEN_NONE:
		ctl_warnx("the node wants a token: for admin commands (connect, "
		    "disconnect, unban) name the node's data dir, where it writes its "
		    "cookie, with --data-dir DIR or NODECTL_DATA_DIR (%s); for a "
		    "node run with --api-token-file give --token-file FILE or set "
		    "NODECTL_TOKEN_FILE", c->cookie_note[0] != '\0' ?
		    c->cookie_note : "no cookie found");
		break;
	}
}

int
ctl_usage(const struct ctl *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	ctl_vwarnx(fmt, ap);
	va_end(ap);
	if (c != NULL && c->cmd != NULL)
		fprintf(stderr, "Try 'nodectl %s --help'.\n", c->cmd);
	else
		fprintf(stderr, "Try 'nodectl --help'.\n");
	return CTL_ERR;
}

static void
ctl_main_help(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: nodectl [global options] COMMAND [options]\n\n"
	    "Controls a noded node through its HTTP API.\n\nCommands:\n");
	/* Whole synopses: a second line is indented under the first. */
	for (i = 0; i < CTL_NCMDS; i++) {
		const char *s = ctl_cmds[i].synopsis;
		size_t n = strcspn(s, "\n");

		fprintf(f, "  %-10s %.*s\n", ctl_cmds[i].name, (int)n, s);
		while (s[n] == '\n') {
			s += n + 1;
			s += strspn(s, " ");
			n = strcspn(s, "\n");
			fprintf(f, "  %-10s %.*s\n", "", (int)n, s);
		}
	}
	fprintf(f, "\n%s  --version           print the version\n\n"
	    "Exit status: 0 success, 1 rejected or not found, 2 usage or "
	    "connection error.\n", ctl_global_help);
}

int
ctl_help(const char *cmd)
{
	size_t	i;

	for (i = 0; i < CTL_NCMDS; i++) {
		if (strcmp(ctl_cmds[i].name, cmd) != 0)
			continue;
		printf("usage: nodectl [global options] %s %s\n\n%s\n%s",
		    ctl_cmds[i].name, ctl_cmds[i].synopsis, ctl_cmds[i].help,
		    ctl_global_help);
		return CTL_OK;
	}
	if (*cmd != '\0')
		return ctl_usage(NULL, "unknown command '%s'", cmd);
	ctl_main_help(stdout);
	return CTL_OK;
}

int
ctl_extra_args(struct ctl *c, int argc, char **argv, int nargs)
{
	if (argc - optind > nargs)
		return ctl_usage(c, "unexpected argument '%s'", argv[optind + nargs]);
	return 0;
}

int
ctl_no_options(struct ctl *c, int argc, char **argv, int nargs, int *rc)
{
	int	ch;

	while ((ch = ctl_getopt(c, argc, argv, NULL)) != -1) {
		*rc = ch == CTL_OPT_HELP ? ctl_help(c->cmd) : CTL_ERR;
		return -1;
	}
	if ((*rc = ctl_extra_args(c, argc, argv, nargs)) != 0)
		return -1;
	return 0;
}

int
ctl_getopt(struct ctl *c, int argc, char **argv, const struct option *cmdopts)
{
	static struct option	 opts[CTL_OPTS_MAX];
	size_t			 n = 0, i;
	const char		*bad;
	uint64_t		 secs;
	int			 ch;

	for (; cmdopts != NULL && cmdopts[n].name != NULL; n++) {
		if (n + CTL_NGLOBAL + 1 >= CTL_OPTS_MAX)
			abort();
		opts[n] = cmdopts[n];
	}
	for (i = 0; i < CTL_NGLOBAL; i++)
		opts[n++] = ctl_global_opts[i];
	memset(&opts[n], 0, sizeof(opts[n]));

	opterr = 0;
	for (;;) {
		/* Before the command, stop at it; after, allow options anywhere. */
		ch = getopt_long(argc, argv, c->cmd == NULL ? "+:h" : ":h", opts,
		    NULL);
		switch (ch) {
		case CTL_OPT_NODE:
			if (c->nnode_args == CTL_NODES_MAX) {
				ctl_usage(c, "--node: at most %d nodes",
				    CTL_NODES_MAX);
				return '?';
			}
			c->node_args[c->nnode_args++] = optarg;
			break;
		case CTL_OPT_TOKEN_FILE:
			c->token_file = optarg;
			break;
		case CTL_OPT_DATA_DIR:
			if (*optarg == '\0') {
				ctl_usage(c, "--data-dir: empty");
				return '?';
			}
			c->data_dir = optarg;
			break;
		case CTL_OPT_JSON:
			c->json = 1;
			break;
		case CTL_OPT_TIMEOUT:
			if (ctl_parse_u64(c, "--timeout", optarg, &secs) == -1)
				return '?';
			if (secs == 0 || secs > 3600) {
				ctl_usage(c, "--timeout '%s': from 1 to 3600 "
				    "seconds", optarg);
				return '?';
			}
			c->timeout_ms = (int)secs * 1000;
			break;
		case ':':
			ctl_usage(c, "option '%s' needs a value",
			    argv[optind - 1]);
			return '?';
		case '?':
			bad = argv[optind - 1];
			if (optopt != 0 && optopt < 256)
				ctl_usage(c, "unknown option '-%c'", optopt);
			else
				ctl_usage(c, "unknown option '%s'", bad);
			return '?';
		default:
			return ch;
		}
	}
}

int
ctl_parse_u64(const struct ctl *c, const char *opt, const char *s, uint64_t *v)
{
	unsigned long long	 n;
	char			*end;

	if (s[0] < '0' || s[0] > '9') {
		ctl_usage(c, "%s '%s': not a number", opt, s);
		return -1;
	}
	errno = 0;
	n = strtoull(s, &end, 10);
	if (*end != '\0') {
		ctl_usage(c, "%s '%s': not a number", opt, s);
		return -1;
	}
	if (errno == ERANGE) {
		ctl_usage(c, "%s '%s': too large (at most %llu)", opt, s,
		    (unsigned long long)UINT64_MAX);
		return -1;
	}
	*v = n;
	return 0;
}

/* Adds each address of the comma-separated list s (named what in messages). */
static int
ctl_add_nodes(struct ctl *c, const char *what, const char *s)
{
	char		 one[ADDR_HOST_MAX + 32], err[512];
	const char	*p, *comma;
	size_t		 len;

	for (p = s;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len >= sizeof(one)) {
			ctl_usage(c, "%s '%.*s...': too long", what, 40, p);
			return -1;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (c->nnodes == CTL_NODES_MAX) {
			ctl_usage(c, "%s: at most %d nodes", what,
			    CTL_NODES_MAX);
			return -1;
		}
		if (http_addr_parse(&c->nodes[c->nnodes], one, err,
		    sizeof(err)) == -1) {
			ctl_usage(c, "%s %s", what, err);
			return -1;
		}
		c->nnodes++;
		if (comma == NULL)
			return 0;
	}
}

/* Reads the bearer token in path (named what in messages) into c->token. */
static int
ctl_read_token(struct ctl *c, const char *what, const char *path)
{
	char	tok[TOKEN_MAX + 1], err[4096 + 256];
	size_t	len;
	int	exposed;

	if (token_read(path, tok, &len, &exposed, err, sizeof(err)) == -1) {
		ctl_warnx("%s %s", what, err);
		return -1;
	}
	c->token = xstrdup(tok);
	c->token_src = CTL_TOKEN_FILE;
	sodium_memzero(tok, sizeof(tok));
	return 0;
}

/*
 * Reads the node's cookie (its admin token) from its data dir: --data-dir,
 * NODECTL_DATA_DIR, NODED_DATA_DIR (set in the node's container), or the
 * default one.  The default one's cookie goes only to loopback addresses:
 * a node elsewhere is not the one that wrote it, and must not learn it.  A
 * missing or unreadable cookie is no error here (reads need no token):
 * cookie_note keeps why, for the hint after a 401.
 */
static void
ctl_read_cookie(struct ctl *c)
{
	char		 dir[4096], tok[TOKEN_MAX + 1], err[4096 + 256];
	const char	*env, *what;
	struct stat	 st;
	size_t		 len, i;
	int		 exposed;

	if (c->data_dir != NULL) {
		what = "--data-dir";
		snprintf(dir, sizeof(dir), "%s", c->data_dir);
	} else if ((env = getenv("NODECTL_DATA_DIR")) != NULL && *env != '\0') {
		what = "NODECTL_DATA_DIR";
		snprintf(dir, sizeof(dir), "%s", env);
	} else if ((env = getenv("NODED_DATA_DIR")) != NULL && *env != '\0') {
		what = "NODED_DATA_DIR";
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		what = "the default data dir";
		if (datadir_default(dir, sizeof(dir), err, sizeof(err)) == -1) {
			snprintf(c->cookie_note, sizeof(c->cookie_note), "%s", err);
			return;
		}
		for (i = 0; i < c->nnodes; i++) {
			if (addr_is_loopback(&c->nodes[i].addr))
				continue;
			snprintf(c->cookie_note, sizeof(c->cookie_note), "the cookie "
			    "of the default data dir '%s' goes only to loopback "
			    "addresses, not to %s", dir, c->nodes[i].text);
			return;
		}
	}
	if (datadir_path(c->cookie_path, sizeof(c->cookie_path), dir,
	    DATADIR_COOKIE) == -1) {
		snprintf(c->cookie_note, sizeof(c->cookie_note), "%s '%.200s...': "
		    "too long", what, dir);
		return;
	}
	if (stat(c->cookie_path, &st) == -1 && errno == ENOENT) {
		snprintf(c->cookie_note, sizeof(c->cookie_note), "no cookie in %s "
		    "'%s'", what, dir);
		return;
	}
	if (token_read(c->cookie_path, tok, &len, &exposed, err,
	    sizeof(err)) == -1) {
		snprintf(c->cookie_note, sizeof(c->cookie_note), "cookie of %s "
		    "%s", what, err);
		return;
	}
	c->token = xstrdup(tok);
	c->token_src = CTL_TOKEN_COOKIE;
	sodium_memzero(tok, sizeof(tok));
}

int
ctl_connect_setup(struct ctl *c, int multi)
{
	const char	*env;
	size_t		 i;

	c->nnodes = 0;
	if (c->nnode_args > 0) {
		for (i = 0; i < c->nnode_args; i++) {
			if (ctl_add_nodes(c, "--node", c->node_args[i]) == -1)
				return CTL_ERR;
		}
	} else if ((env = getenv("NODECTL_NODE")) != NULL && *env != '\0') {
		if (ctl_add_nodes(c, "NODECTL_NODE", env) == -1)
			return CTL_ERR;
	} else if (ctl_add_nodes(c, "--node", CTL_DEFAULT_NODE) == -1)
		return CTL_ERR;
	if (!multi && c->nnodes > 1)
		return ctl_usage(c, "%s talks to one node; %zu given (only "
		    "watch follows several)", c->cmd, c->nnodes);

	if (c->token != NULL)
		return 0;		/* settled by an earlier call */
	if (c->token_file != NULL) {
		if (ctl_read_token(c, "--token-file", c->token_file) == -1)
			return CTL_ERR;
	} else if ((env = getenv("NODECTL_TOKEN_FILE")) != NULL &&
	    *env != '\0') {
		if (ctl_read_token(c, "NODECTL_TOKEN_FILE", env) == -1)
			return CTL_ERR;
	} else
		ctl_read_cookie(c);
	return 0;
}

int
ctl_fetch(struct ctl *c, const char *method, const char *path, json_t *body,
    struct ctl_answer *a, char *err, size_t errlen)
{
	struct http_request	 req;
	struct http_response	 res;
	json_error_t		 jerr;
	char			*text = NULL;

	memset(a, 0, sizeof(*a));
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.token = c->token;
	if (body != NULL) {
		if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		req.body = text;
		req.bodylen = strlen(text);
	}
	if (http_fetch(&c->nodes[0], &req, c->timeout_ms, &res, err,
	    errlen) == -1) {
		free(text);
		return -1;
	}
	free(text);
	a->status = res.status;
	snprintf(a->reason, sizeof(a->reason), "%s", res.reason);
	a->raw = res.body;
	a->len = res.len;
	a->json = json_loadb(a->raw, a->len, 0, &jerr);
	return 0;
}

int
ctl_call(struct ctl *c, const char *method, const char *path, json_t *body,
    struct ctl_answer *a)
{
	char	err[512];

	if (ctl_fetch(c, method, path, body, a, err, sizeof(err)) == -1) {
		ctl_warnx("%s", err);
		return -1;
	}
	return 0;
}

void
ctl_answer_free(struct ctl_answer *a)
{
	json_decref(a->json);
	a->json = NULL;
	free(a->raw);
	a->raw = NULL;
}

void
ctl_print_raw(const struct ctl_answer *a)
{
	fwrite(a->raw, 1, a->len, stdout);
	if (a->len == 0 || a->raw[a->len - 1] != '\n')
		putchar('\n');
}

int
ctl_answer_error(struct ctl *c, struct ctl_answer *a)
{
	const char	*msg = NULL;
	char		 safe[512], reason[128];

	if (c->json && a->json != NULL)
		ctl_print_raw(a);
	if (a->json != NULL)
		msg = json_string_value(json_object_get(a->json, "error"));
	ctl_safe(reason, sizeof(reason), a->reason);
	if (msg != NULL) {
		ctl_safe(safe, sizeof(safe), msg);
		ctl_warnx("%s: %s (HTTP %d)", c->nodes[0].text, safe, a->status);
	} else
		ctl_warnx("%s: HTTP %d %s", c->nodes[0].text, a->status,
		    reason);
	if (a->status == 401)
		ctl_token_hint(c);
	if (a->status == 404 || a->status == 422)
		return CTL_FAIL;
	return CTL_ERR;
}

int
main(int argc, char **argv)
{
	static const struct option	 mainopts[] = {
		{ "version",	no_argument,	NULL,	CTL_OPT_VERSION },
		{ NULL,		0,		NULL,	0 }
	};
	struct ctl			 c;
	const char			*name;
	size_t				 i;
	int				 ch, rc;

	memset(&c, 0, sizeof(c));
	c.timeout_ms = CTL_TIMEOUT_MS;
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() == -1) {
		ctl_warnx("cannot initialise libsodium");
		return CTL_ERR;
	}

	while ((ch = ctl_getopt(&c, argc, argv, mainopts)) != -1) {
		switch (ch) {
		case CTL_OPT_HELP:
			ctl_main_help(stdout);
			return CTL_OK;
		case CTL_OPT_VERSION:
			printf("nodectl %s\n", version_get());
			return CTL_OK;
		default:
			return CTL_ERR;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		ctl_main_help(stderr);
		return CTL_ERR;
	}
	name = argv[0];
	if (strcmp(name, "help") == 0)
		return ctl_help(argc > 1 ? argv[1] : "");
	for (i = 0; i < CTL_NCMDS; i++) {
		if (strcmp(ctl_cmds[i].name, name) != 0)
			continue;
		c.cmd = ctl_cmds[i].name;
		optind = 0;	/* glibc: start over on the command's argv */
		rc = ctl_cmds[i].fn(&c, argc, argv);
		if (c.token != NULL) {
			sodium_memzero(c.token, strlen(c.token));
			free(c.token);
		}
		if (fflush(stdout) == EOF || ferror(stdout)) {
			if (errno != EPIPE)
				ctl_warnx("standard output: %s",
				    strerror(errno));
			return CTL_ERR;
		}
		return rc;
	}
	return ctl_usage(&c, "unknown command '%s'", name);
}
