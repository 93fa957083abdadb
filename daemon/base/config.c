/*
 * config.c: noded's settings.  Sources in rising precedence: built-in
 * defaults, the --config file, the environment (NODED_<OPTION>) and the
 * command line.  One table names every option; each source hands option and
 * text to config_set(), which checks the value and names the source in any
 * complaint ("--peer 'node2:70x0': bad port", "NODED_MAX_PEERS '-1': ...",
 * "noded.conf:3: max-peers '-1': ...").  Each value's source is kept
 * (config_source()), so that a check across options, or a failure after
 * parsing, names what the user gave: "default peer-timeout-ms" when it
 * was nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/version.h"
#include "proto/tx.h"
#include "base/config.h"
#include "base/log.h"

extern char **environ;

#define CONFIG_LINE_MAX		8192
#define CONFIG_NAME_MAX		64
#define CONFIG_YEAR_MS		31536000000ULL

enum config_opt {
	OPT_CONFIG = 256,
	OPT_NAME,
	OPT_LISTEN,
	OPT_API,
	OPT_PEER,
	OPT_DATA_DIR,
	OPT_LOG_FILE,
	OPT_NETWORK,
	OPT_VALIDATORS,
	OPT_VALIDATOR_QUEUE,
	OPT_MAX_AMOUNT,
	OPT_MAX_MEMO,
	OPT_MAX_FUTURE_MS,
	OPT_MAX_AGE_MS,
	OPT_MAX_PEERS,
	OPT_OUTBOUND,
	OPT_PEER_EXCHANGE,
	OPT_MEMPOOL_MAX_TXS,
	OPT_MEMPOOL_MAX_BYTES,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_API_TOKEN_FILE,
	OPT_API_INSECURE,
	OPT_HANDSHAKE_TIMEOUT_MS,
	OPT_PING_INTERVAL_MS,
	OPT_PEER_TIMEOUT_MS,
	OPT_GETDATA_TIMEOUT_MS,
	OPT_INV_BATCH_MS,
	OPT_HELP,
	OPT_VERSION
};

/* Where a value came from, in rising precedence. */
enum config_src {
	SRC_DEFAULT = 0,
	SRC_FILE,
	SRC_ENV,
	SRC_CMDLINE
};

struct config_option {
	const char	*name;
	int		 opt;
	int		 flag;		/* takes no value on the command line */
	const char	*metavar;
	const char	*help;
	uint64_t	 min, max;	/* numeric options */
};

static const struct config_option config_options[] = {
	{ "config", OPT_CONFIG, 0, "FILE",
	  "read options from FILE (lines \"option = value\", # comments)", 0, 0 },
	{ "name", OPT_NAME, 0, "NAME",
	  "log and HELLO label (default: node-<listen port>; port 0: node-<id>)",
	  0, 0 },
	{ "listen", OPT_LISTEN, 0, "HOST:PORT",
	  "P2P address (default: 0.0.0.0:7000)", 0, 0 },
	{ "api", OPT_API, 0, "HOST:PORT",
	  "HTTP control API (default: 127.0.0.1:8000)", 0, 0 },
	{ "peer", OPT_PEER, 0, "HOST:PORT",
	  "a peer to connect to; repeatable, or comma-separated (default: none)", 0, 0 },
	{ "data-dir", OPT_DATA_DIR, 0, "DIR",
	  "node identity key and log (default: ./data)", 0, 0 },
	{ "log-file", OPT_LOG_FILE, 0, "PATH",
	  "log file, also written to stderr (default: DATA_DIR/noded.log)", 0, 0 },
	{ "network", OPT_NETWORK, 0, "NAME",
	  "network name; nodes of other networks are refused (default: devnet)", 0, 0 },
	{ "validators", OPT_VALIDATORS, 0, "N",
	  "signature-verifying threads, 1..256 (default: online CPUs)", 1, 256 },
	{ "validator-queue", OPT_VALIDATOR_QUEUE, 0, "N",
	  "capacity of the validator channel, 1..1048576 (default: 4096)", 1, 1048576 },
	{ "max-amount", OPT_MAX_AMOUNT, 0, "N",
	  "largest amount accepted (default: 100)", 0, UINT64_MAX },
	{ "max-memo", OPT_MAX_MEMO, 0, "N",
	  "longest memo accepted in bytes, 0..256 (default: 256)", 0, TX_MEMO_MAX },
	{ "max-future-ms", OPT_MAX_FUTURE_MS, 0, "MS",
	  "how far ahead of the clock a timestamp may be (default: 120000)",
	  0, CONFIG_YEAR_MS },
	{ "max-age-ms", OPT_MAX_AGE_MS, 0, "MS",
	  "how old a transaction may be before it expires (default: 86400000)",
	  1, CONFIG_YEAR_MS },
	{ "max-peers", OPT_MAX_PEERS, 0, "N",
	  "inbound connections accepted, 0..10000 (default: 125)", 0, 10000 },
	{ "outbound", OPT_OUTBOUND, 0, "N",
	  "outbound links kept through peer exchange, 0..1000 (default: 8)", 0, 1000 },
	{ "peer-exchange", OPT_PEER_EXCHANGE, 0, "on|off",
	  "learn and dial peers' peers (default: on)", 0, 0 },
	{ "mempool-max-txs", OPT_MEMPOOL_MAX_TXS, 0, "N",
	  "transactions kept, 1..100000000 (default: 200000)", 1, 100000000 },
	{ "mempool-max-bytes", OPT_MEMPOOL_MAX_BYTES, 0, "BYTES",
	  "bytes of transactions kept, suffix k, m or g allowed (default: 128m)",
	  1024, 1ULL << 40 },
	{ "log-level", OPT_LOG_LEVEL, 0, "LEVEL",
	  "debug, info, warn or error (default: info)", 0, 0 },
	{ "log-format", OPT_LOG_FORMAT, 0, "FORMAT",
	  "text or json (default: text)", 0, 0 },
	{ "api-token-file", OPT_API_TOKEN_FILE, 0, "FILE",
	  "require \"Authorization: Bearer <token in FILE>\" (default: none)", 0, 0 },
	{ "api-insecure", OPT_API_INSECURE, 1, NULL,
	  "allow the API on a non-loopback address without a token (default: off)",
	  0, 0 },
	{ "handshake-timeout-ms", OPT_HANDSHAKE_TIMEOUT_MS, 0, "MS",
	  "time allowed for a peer's handshake (default: 5000)", 100, 600000 },
	{ "ping-interval-ms", OPT_PING_INTERVAL_MS, 0, "MS",
	  "PING period on an idle link (default: 10000)", 100, 3600000 },
	{ "peer-timeout-ms", OPT_PEER_TIMEOUT_MS, 0, "MS",
	  "silence after which a peer is dropped (default: 30000)", 100, 3600000 },
	{ "getdata-timeout-ms", OPT_GETDATA_TIMEOUT_MS, 0, "MS",
	  "wait for a TX before asking another announcer (default: 2000)",
	  10, 600000 },
	{ "inv-batch-ms", OPT_INV_BATCH_MS, 0, "MS",
	  "delay gathering ids into one INV (default: 5)", 0, 10000 },
	{ "help", OPT_HELP, 1, NULL, "print this help and exit", 0, 0 },
	{ "version", OPT_VERSION, 1, NULL, "print the version and exit", 0, 0 },
};
#define CONFIG_NOPTIONS	(sizeof(config_options) / sizeof(config_options[0]))
_Static_assert(CONFIG_NOPTIONS <= CONFIG_OPTIONS_MAX,
    "struct config has no room for every option's source");

/* What config_set() needs besides the config itself. */
struct config_state {
	struct config	*cfg;
	enum config_src	 src;		/* the source being applied */
	enum config_src	 peers_src;	/* the source of the current --peer list */
	enum config_src	 srcs[CONFIG_NOPTIONS];	/* of each option's value */
	int		 name_set;
	int		 log_file_set;
	char		*err;
	size_t		 errlen;
};

static void __attribute__((format(printf, 2, 3)))
config_err(struct config_state *st, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(st->err, st->errlen, fmt, ap);
	va_end(ap);
}

static const struct config_option *
config_find(const char *name)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (strcmp(config_options[i].name, name) == 0)
			return &config_options[i];
	}
	return NULL;
}

static const struct config_option *
config_find_opt(int opt)
{
	size_t	i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		if (config_options[i].opt == opt)
			return &config_options[i];
	}
	return NULL;
}

static unsigned
config_validators_default(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	if (n > 256)
		return 256;
	return (unsigned)n;
}

static void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen.host, sizeof(cfg->listen.host), "0.0.0.0");
	cfg->listen.port = 7000;
	snprintf(cfg->api.host, sizeof(cfg->api.host), "127.0.0.1");
	cfg->api.port = 8000;
	snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./data");
	snprintf(cfg->network, sizeof(cfg->network), "devnet");
	cfg->validators = config_validators_default();
	cfg->validator_queue = 4096;
	cfg->max_amount = TX_POLICY_MAX_AMOUNT;
	cfg->max_memo = TX_MEMO_MAX;
	cfg->max_future_ms = TX_POLICY_MAX_FUTURE_MS;
	cfg->max_age_ms = TX_POLICY_MAX_AGE_MS;
	cfg->max_peers = 125;
	cfg->outbound = 8;
	cfg->peer_exchange = 1;
	cfg->mempool_max_txs = 200000;
	cfg->mempool_max_bytes = 128 * 1024 * 1024;
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_TEXT;
	cfg->handshake_timeout_ms = 5000;
	cfg->ping_interval_ms = 10000;
	cfg->peer_timeout_ms = 30000;
	cfg->getdata_timeout_ms = 2000;
	cfg->inv_batch_ms = 5;
}

/* Strict decimal: digits only, no sign, no blanks.  -1: not a number; -2: too big. */
static int
config_parse_u64(const char *s, uint64_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* A byte count with an optional k, m or g (binary) suffix. */
static int
config_parse_bytes(const char *s, uint64_t *out)
{
	char		 digits[32];
	size_t		 len = strlen(s);
	unsigned	 shift = 0;
	int		 rc;

	if (len > 0 && strchr("kKmMgG", s[len - 1]) != NULL) {
		switch (tolower((unsigned char)s[len - 1])) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		default:
			shift = 30;
			break;
		}
		len--;
	}
	if (len >= sizeof(digits))
		return -2;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if ((rc = config_parse_u64(digits, out)) != 0)
		return rc;
	if (shift != 0 && *out > (UINT64_MAX >> shift))
		return -2;
	*out <<= shift;
	return 0;
}

static int
config_parse_bool(const char *s, int *out)
{
	if (strcmp(s, "on") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "off") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

/* A node or network name: 1..64 printable ASCII characters, no blanks. */
static int
config_name_ok(const char *s)
{
	size_t	len = strlen(s), i;

	if (len == 0 || len > CONFIG_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/* Sets a numeric option, checking its bounds; label names the source. */
static int
config_set_number(struct config_state *st, const struct config_option *o,
    const char *label, const char *v, uint64_t *out)
{
	int	rc;

	if (o->opt == OPT_MEMPOOL_MAX_BYTES)
		rc = config_parse_bytes(v, out);
	else
		rc = config_parse_u64(v, out);
	if (rc == -1) {
		config_err(st, "%s '%s': not a number", label, v);
		return -1;
	}
	if (rc == -2 || *out < o->min || *out > o->max) {
		config_err(st, "%s '%s': must be %" PRIu64 "..%" PRIu64, label, v,
		    o->min, o->max);
		return -1;
	}
	return 0;
}

static int
config_set_peers(struct config_state *st, const char *label, const char *v)
{
	struct config	*cfg = st->cfg;
	char		 item[CONFIG_HOSTPORT_MAX], msg[CONFIG_HOSTPORT_MAX + 80];
	const char	*p = v, *end;
	size_t		 len;

	/* A source that names peers replaces the list of a weaker source. */
	if (st->src > st->peers_src) {
		cfg->npeers = 0;
		st->peers_src = st->src;
	}
	for (;;) {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1]))
			len--;
		if (len == 0) {
			config_err(st, "%s '%s': empty address in list", label, v);
			return -1;
		}
		if (len >= sizeof(item)) {
			config_err(st, "%s '%.40s...': address too long", label, p);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		if (cfg->npeers == CONFIG_MAX_PEERS_LIST) {
			config_err(st, "%s '%s': too many peers (at most %d)",
			    label, item, CONFIG_MAX_PEERS_LIST);
			return -1;
		}
		if (addr_parse(&cfg->peers[cfg->npeers], item, ADDR_NOPORT0, msg,
		    sizeof(msg)) == -1) {
			config_err(st, "%s %s", label, msg);
			return -1;
		}
		cfg->npeers++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

static int
config_set_string(struct config_state *st, const char *label, const char *v,
    char *dst, size_t dstlen)
{
	if (*v == '\0') {
		config_err(st, "%s '': must not be empty", label);
		return -1;
	}
	if (strlen(v) >= dstlen) {
		config_err(st, "%s '%.40s...': too long (at most %zu bytes)",
		    label, v, dstlen - 1);
		return -1;
	}
	snprintf(dst, dstlen, "%s", v);
	return 0;
}

/* Applies one option from the current source.  Returns 0, or -1 with st->err set. */
static int
config_apply(struct config_state *st, const struct config_option *o,
    const char *label, const char *v)
{
	struct config	*cfg = st->cfg;
	char		 msg[CONFIG_HOSTPORT_MAX + 80];
	uint64_t	 n = 0;
	int		 b, i;

	if (o->min != 0 || o->max != 0) {
		if (config_set_number(st, o, label, v, &n) == -1)
			return -1;
	}
	switch (o->opt) {
	case OPT_NAME:
		if (!config_name_ok(v)) {
			config_err(st, "%s '%s': must be 1..%d printable characters "
			    "without spaces", label, v, CONFIG_NAME_MAX);
			return -1;
		}
		snprintf(cfg->name, sizeof(cfg->name), "%s", v);
		st->name_set = 1;
		break;
	case OPT_NETWORK:
		if (!config_name_ok(v)) {
			config_err(st, "%s '%s': must be 1..%d printable characters "
			    "without spaces", label, v, CONFIG_NAME_MAX);
			return -1;
		}
		snprintf(cfg->network, sizeof(cfg->network), "%s", v);
		break;
	case OPT_LISTEN:
	case OPT_API:
		if (addr_parse(o->opt == OPT_LISTEN ? &cfg->listen : &cfg->api,
		    v, 0, msg, sizeof(msg)) == -1) {
			config_err(st, "%s %s", label, msg);
			return -1;
		}
		break;
	case OPT_PEER:
		return config_set_peers(st, label, v);
	case OPT_DATA_DIR:
		return config_set_string(st, label, v, cfg->data_dir,
		    sizeof(cfg->data_dir));
	case OPT_LOG_FILE:
		if (config_set_string(st, label, v, cfg->log_file,
		    sizeof(cfg->log_file)) == -1)
			return -1;
		st->log_file_set = 1;
		break;
	case OPT_API_TOKEN_FILE:
		return config_set_string(st, label, v, cfg->api_token_file,
		    sizeof(cfg->api_token_file));
	case OPT_VALIDATORS:
		cfg->validators = (unsigned)n;
		break;
	case OPT_VALIDATOR_QUEUE:
		cfg->validator_queue = (size_t)n;
		break;
	case OPT_MAX_AMOUNT:
		cfg->max_amount = n;
		break;
	case OPT_MAX_MEMO:
		cfg->max_memo = (uint16_t)n;
		break;
	case OPT_MAX_FUTURE_MS:
		cfg->max_future_ms = n;
		break;
	case OPT_MAX_AGE_MS:
		cfg->max_age_ms = n;
		break;
	case OPT_MAX_PEERS:
		cfg->max_peers = (unsigned)n;
		break;
	case OPT_OUTBOUND:
		cfg->outbound = (unsigned)n;
		break;
	case OPT_MEMPOOL_MAX_TXS:
		cfg->mempool_max_txs = (size_t)n;
		break;
	case OPT_MEMPOOL_MAX_BYTES:
		cfg->mempool_max_bytes = (size_t)n;
		break;
	case OPT_HANDSHAKE_TIMEOUT_MS:
		cfg->handshake_timeout_ms = (unsigned)n;
		break;
	case OPT_PING_INTERVAL_MS:
		cfg->ping_interval_ms = (unsigned)n;
		break;
	case OPT_PEER_TIMEOUT_MS:
		cfg->peer_timeout_ms = (unsigned)n;
		break;
	case OPT_GETDATA_TIMEOUT_MS:
		cfg->getdata_timeout_ms = (unsigned)n;
		break;
	case OPT_INV_BATCH_MS:
		cfg->inv_batch_ms = (unsigned)n;
		break;
	case OPT_PEER_EXCHANGE:
	case OPT_API_INSECURE:
		if (config_parse_bool(v, &b) == -1) {
			config_err(st, "%s '%s': must be on|off|true|false|1|0",
			    label, v);
			return -1;
		}
		if (o->opt == OPT_PEER_EXCHANGE)
			cfg->peer_exchange = b;
		else
			cfg->api_insecure = b;
		break;
	case OPT_LOG_LEVEL:
		if ((i = log_level_parse(v)) == -1) {
			config_err(st, "%s '%s': must be debug|info|warn|error",
			    label, v);
			return -1;
		}
		cfg->log_level = i;
		break;
	case OPT_LOG_FORMAT:
		if ((i = log_format_parse(v)) == -1) {
			config_err(st, "%s '%s': must be text|json", label, v);
			return -1;
		}
		cfg->log_format = i;
		break;
	default:
		config_err(st, "%s: cannot be set here", label);
		return -1;
	}
	return 0;
}

/*
 * Sets one option from the current source and remembers where its value
 * came from (label, "...<tail>" if too long, keeping the line and option).
 */
static int
config_set(struct config_state *st, const struct config_option *o,
    const char *label, const char *v)
{
	size_t	i = (size_t)(o - config_options), len;
	char	*dst = st->cfg->source[i];

	if (config_apply(st, o, label, v) == -1)
		return -1;
	st->srcs[i] = st->src;
	len = strlen(label);
	if (len < CONFIG_SOURCE_MAX)
		memcpy(dst, label, len + 1);
	else
		snprintf(dst, CONFIG_SOURCE_MAX, "...%s",
		    label + len - (CONFIG_SOURCE_MAX - 4));
	return 0;
}

/* Trims blanks at both ends in place. */
static char *
config_trim(char *s)
{
	size_t	len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * One line of a config file: "option = value", "# comment", blank, or a
 * flag alone ("api-insecure").  A value may be double-quoted to keep '#'
 * or blanks; otherwise " #" starts a trailing comment.
 */
static int
config_file_line(struct config_state *st, const char *path, unsigned lineno,
    char *line)
{
	const struct config_option	*o;
	char				*key, *val, *eq, *q, *p;
	char				 label[4096 + 128];

	key = config_trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	if ((eq = strchr(key, '=')) != NULL) {
		*eq = '\0';
		val = eq + 1;
		while (isspace((unsigned char)*val))
			val++;
		if (*val == '"') {
			if ((q = strchr(val + 1, '"')) == NULL) {
				config_err(st, "%s:%u: missing closing quote", path,
				    lineno);
				return -1;
			}
			*q = '\0';
			p = q + 1;
			while (isspace((unsigned char)*p))
				p++;
			if (*p != '\0' && *p != '#') {
				config_err(st, "%s:%u: text after closing quote",
				    path, lineno);
				return -1;
			}
			val++;
		} else {
			for (p = val; *p != '\0'; p++) {
				if (*p == '#' && (p == val ||
				    isspace((unsigned char)p[-1]))) {
					*p = '\0';
					break;
				}
			}
			val = config_trim(val);
		}
		key = config_trim(key);
	} else
		val = NULL;

	if (*key == '\0') {
		config_err(st, "%s:%u: expected 'option = value'", path, lineno);
		return -1;
	}
	if ((o = config_find(key)) == NULL) {
		config_err(st, "%s:%u: unknown option '%s'", path, lineno, key);
		return -1;
	}
	if (o->opt == OPT_CONFIG || o->opt == OPT_HELP || o->opt == OPT_VERSION) {
		config_err(st, "%s:%u: '%s' cannot be set in a config file", path,
		    lineno, key);
		return -1;
	}
	if (val == NULL) {
		if (!o->flag) {
			config_err(st, "%s:%u: expected '%s = value'", path, lineno,
			    key);
			return -1;
		}
		val = "on";
	}
	snprintf(label, sizeof(label), "%s:%u: %s", path, lineno, key);
	return config_set(st, o, label, val);
}

/* Reads the config file at path; what names it ("--config", "NODED_CONFIG") is from. */
static int
config_load_file(struct config_state *st, const char *from, const char *path)
{
	FILE		*f;
	char		*line;
	size_t		 len;
	unsigned	 lineno = 0;
	int		 rc = 0;

	if ((f = fopen(path, "r")) == NULL) {
		config_err(st, "%s '%s': %s", from, path, strerror(errno));
		return -1;
	}
	line = malloc(CONFIG_LINE_MAX + 2);
	if (line == NULL) {
		fclose(f);
		config_err(st, "%s '%s': out of memory", from, path);
		return -1;
	}
	while (fgets(line, CONFIG_LINE_MAX + 2, f) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (len > CONFIG_LINE_MAX) {
			config_err(st, "%s:%u: line too long (at most %d bytes)",
			    path, lineno, CONFIG_LINE_MAX);
			rc = -1;
			break;
		}
		if (strlen(line) != len) {
			config_err(st, "%s:%u: NUL byte in line", path, lineno);
			rc = -1;
			break;
		}
		if ((rc = config_file_line(st, path, lineno, line)) == -1)
			break;
	}
	if (rc == 0 && ferror(f)) {
		config_err(st, "%s '%s': %s", from, path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* The value of NODED_<NAME> in envp, or NULL; empty counts as unset. */
static const char *
config_getenv(char *const *envp, const char *name, char *var, size_t varlen)
{
	size_t	i, vlen;

	snprintf(var, varlen, "NODED_");
	for (i = 0; name[i] != '\0' && 6 + i + 1 < varlen; i++)
		var[6 + i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	var[6 + i] = '\0';
	if (envp == NULL)
		return NULL;
	vlen = strlen(var);
	for (; *envp != NULL; envp++) {
		if (strncmp(*envp, var, vlen) == 0 && (*envp)[vlen] == '=') {
			if ((*envp)[vlen + 1] == '\0')
				return NULL;
			return *envp + vlen + 1;
		}
	}
	return NULL;
}

static int
config_load_env(struct config_state *st, char *const *envp)
{
	const struct config_option	*o;
	const char			*v;
	char				 var[64];
	size_t				 i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		if (o->opt == OPT_CONFIG || o->opt == OPT_HELP ||
		    o->opt == OPT_VERSION)
			continue;
		if ((v = config_getenv(envp, o->name, var, sizeof(var))) == NULL)
			continue;
		if (config_set(st, o, var, v) == -1)
			return -1;
	}
	return 0;
}

static void
config_help(FILE *out)
{
	const struct config_option	*o;
	char				 left[64];
	size_t				 i;

	fprintf(out,
	    "Usage: noded [OPTION]...\n"
	    "Runs one node of a noded network.\n"
	    "\n"
	    "Every option can also be given in a config file (--config FILE, one\n"
	    "\"option = value\" per line, # comments) or in the environment as\n"
	    "NODED_<OPTION> (upper case, '-' as '_', e.g. NODED_MAX_PEERS=20,\n"
	    "NODED_PEER=a:7000,b:7000).  The command line wins over the\n"
	    "environment, which wins over the file.\n"
	    "\n");
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		if (o->metavar != NULL)
			snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		fprintf(out, "  %-28s %s\n", left, o->help);
	}
}

static struct option *
config_longopts(void)
{
	static struct option	longopts[CONFIG_NOPTIONS + 1];
	size_t			i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		longopts[i].name = config_options[i].name;
		longopts[i].has_arg = config_options[i].flag ? no_argument :
		    required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = config_options[i].opt;
	}
	memset(&longopts[i], 0, sizeof(longopts[i]));
	return longopts;
}

/* Explains getopt_long's complaint about argv[optind - 1]. */
static void
config_getopt_err(struct config_state *st, int c, int argc, char **argv)
{
	const char	*arg = optind - 1 < argc ? argv[optind - 1] : "";

	if (c == ':')
		config_err(st, "%s: missing value", arg);
	else if (optopt >= OPT_CONFIG && strchr(arg, '=') != NULL)
		config_err(st, "'%s': this option takes no value", arg);
	else
		config_err(st, "unknown option '%s' (see --help)", arg);
}

/*
 * Checks that option lo's value is below option hi's.  The complaint names
 * the source of both values and blames the one from the stronger source
 * (the one the user most likely just set); hi on a tie.
 */
static int
config_check_less(struct config_state *st, int lo, uint64_t vlo, int hi,
    uint64_t vhi)
{
	const struct config_option	*olo = config_find_opt(lo);
	const struct config_option	*ohi = config_find_opt(hi);
	const char			*llo, *lhi;

	if (vlo < vhi)
		return 0;
	llo = st->cfg->source[olo - config_options];
	lhi = st->cfg->source[ohi - config_options];
	if (st->srcs[olo - config_options] > st->srcs[ohi - config_options])
		config_err(st, "%s '%" PRIu64 "': must be less than %s (%" PRIu64
		    ")", llo, vlo, lhi, vhi);
	else
		config_err(st, "%s '%" PRIu64 "': must be greater than %s (%"
		    PRIu64 ")", lhi, vhi, llo, vlo);
	return -1;
}

const char *
config_source(const struct config *cfg, const char *option)
{
	const struct config_option	*o;

	if ((o = config_find(option)) == NULL)
		return NULL;
	return cfg->source[o - config_options];
}

int
config_parse(struct config *cfg, int argc, char **argv, char *const *envp,
    FILE *out, char *err, size_t errlen)
{
	const struct config_option	*o;
	struct option			*longopts = config_longopts();
	struct config_state		 st;
	const char			*file = NULL, *from = "--config";
	char				 label[64], var[64];
	size_t				 dlen, i;
	int				 c, help = 0, version = 0;

	config_defaults(cfg);
	for (i = 0; i < CONFIG_NOPTIONS; i++)
		snprintf(cfg->source[i], sizeof(cfg->source[i]), "default %s",
		    config_options[i].name);
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.err = err;
	st.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';

	/* First pass: --config, --help, --version and malformed options. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			file = optarg;
			break;
		case OPT_HELP:
		case 'h':
			help = 1;
			break;
		case OPT_VERSION:
		case 'V':
			version = 1;
			break;
		case 1:
			config_err(&st, "unexpected argument '%s' (see --help)",
			    optarg);
			return -1;
		case '?':
		case ':':
			if (help || version)
				break;
			config_getopt_err(&st, c, argc, argv);
			return -1;
		default:
			break;
		}
	}
	if (help) {
		config_help(out);
		return 1;
	}
	if (version) {
		fprintf(out, "noded %s\n", version_get());
		return 1;
	}

	if (file == NULL) {
		file = config_getenv(envp, "config", var, sizeof(var));
		from = var;
	}
	if (file != NULL) {
		snprintf(cfg->source[config_find_opt(OPT_CONFIG) - config_options],
		    CONFIG_SOURCE_MAX, "%s", from);
		st.src = SRC_FILE;
		if (config_load_file(&st, from, file) == -1)
			return -1;
	}

	st.src = SRC_ENV;
	if (config_load_env(&st, envp) == -1)
		return -1;

	st.src = SRC_CMDLINE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "-:hV", longopts, NULL)) != -1) {
		if (c < OPT_CONFIG || c == OPT_CONFIG)
			continue;
		if ((o = config_find_opt(c)) == NULL)
			continue;
		snprintf(label, sizeof(label), "--%s", o->name);
		if (config_set(&st, o, label, o->flag ? "on" : optarg) == -1)
			return -1;
	}
	optind = 0;

	if (config_check_less(&st, OPT_PING_INTERVAL_MS, cfg->ping_interval_ms,
	    OPT_PEER_TIMEOUT_MS, cfg->peer_timeout_ms) == -1)
		return -1;
	/* Port 0 says nothing about the node: main.c names it after its id. */
	if (!st.name_set && cfg->listen.port != 0)
		snprintf(cfg->name, sizeof(cfg->name), "node-%u",
		    (unsigned)cfg->listen.port);
	if (!st.log_file_set) {
		if (strlen(cfg->data_dir) + sizeof("/noded.log") >
		    sizeof(cfg->log_file)) {
			config_err(&st, "%s '%.40s...': too long",
			    config_source(cfg, "data-dir"), cfg->data_dir);
			return -1;
		}
		dlen = strlen(cfg->data_dir);
		snprintf(cfg->log_file, sizeof(cfg->log_file), "%s%snoded.log",
		    cfg->data_dir, cfg->data_dir[dlen - 1] == '/' ? "" : "/");
	}
	return 0;
}

int
config_load(struct config *cfg, int argc, char **argv)
{
	char	err[4096 + 256];
	int	rc;

	rc = config_parse(cfg, argc, argv, environ, stdout, err, sizeof(err));
	if (rc == -1)
		fprintf(stderr, "noded: %s\n", err);
	return rc;
}
