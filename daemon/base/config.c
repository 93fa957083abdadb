/*
 * config.c: noded's settings.  Sources in rising precedence: built-in
 * defaults, a config file (--config or NODED_CONFIG, else DATA_DIR/noded.conf
 * when it is there), the environment (NODED_<OPTION>) and the command line.  One table, config_options[], holds each option's name,
 * value type, field of struct config, default, range and help; parsing,
 * the defaults, the NODED_* names, --help and the man page's list of
 * options (config_man()) all read it, so they cannot disagree.  Each source
 * hands option and text to config_set(), which checks the value and names
 * the source in any complaint ("--peer 'node2:70x0': bad port",
 * "NODED_MAX_PEERS '-1': ...", "noded.conf:3: max-peers '-1': ...").  The
 * defaults are one more source, applied the same way ("default max-peers").
 * Each value's source is kept (config_source()), so that a check across
 * options, or a failure after parsing, names what the user gave: "default
 * peer-timeout-ms" when it was nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/datadir.h"
#include "lib/token.h"
#include "lib/units.h"
#include "lib/util.h"
#include "lib/version.h"
#include "proto/tx.h"
#include "base/config.h"
#include "base/log.h"

extern char **environ;

#define CONFIG_LINE_MAX		8192
#define CONFIG_NAME_MAX		64
#define CONFIG_YEAR_MS		31536000000ULL
#define CONFIG_OPT_BASE		256	/* getopt_long code of the first option */

#define CONFIG_STR(x)		#x
#define CONFIG_XSTR(x)		CONFIG_STR(x)

/* What an option's value is, and so how it is parsed, stored and described. */
enum config_type {
	CT_CONFIG,	/* --config FILE: read before the other sources */
	CT_HELP,
	CT_VERSION,
	CT_PRINT,	/* --print-config */
	CT_NAME,	/* 1..CONFIG_NAME_MAX printable characters, no blanks */
	CT_PATH,	/* a non-empty string that fits its field */
	CT_ADDR,	/* host:port */
	CT_PEERS,	/* host:port list; each source replaces a weaker one's */
	CT_NUMBER,	/* decimal, min..max */
	CT_BYTES,	/* decimal with an optional k, m or g, min..max */
	CT_DURATION,	/* microseconds, written 50ms, 250us, 2s (lib/units.h) */
	CT_RATE,	/* bit/s, written 1mbit, 500kbit, 0 (lib/units.h) */
	CT_BOOL,	/* on|off|true|false|1|0; a flag if metavar is NULL */
	CT_LOG_LEVEL,
	CT_LOG_FORMAT,
	CT_SYNC		/* batch|always|none: CONFIG_SYNC_* */
};

/* Where a value came from, in rising precedence. */
enum config_src {
	SRC_DEFAULT = 0,
	SRC_FILE,
	SRC_ENV,
	SRC_CMDLINE
};

struct config_option {
	const char	*name;		/* as on the command line, without "--" */
	const char	*metavar;	/* NULL: a flag, without a value */
	enum config_type type;
	size_t		 off;		/* the field of struct config */
	size_t		 size;
	const char	*def;		/* default as text, applied as a value */
	uint64_t	 defnum;	/* numeric types: the default */
	uint64_t	(*defrun)(void); /* ... or one known only at run time */
	const char	*defdoc;	/* how the default reads if no value says it */
	uint64_t	 min, max;	/* numeric types */
	int		 none_ok;	/* CT_PATH: CONFIG_LOG_NONE is a value too */
	const char	*help;		/* --help: a short phrase */
	const char	*man;		/* the man page: mdoc sentences */
};

#define FIELD(f)	.off = offsetof(struct config, f), \
			.size = sizeof(((struct config *)0)->f)

static uint64_t	config_validators_default(void);

/*
 * Every option, in --help order.  Ranges and defaults live only here: the
 * help and man texts do not repeat them; --help and config_man() add them.
 */
static const struct config_option config_options[] = {
	{ .name = "config", .metavar = "FILE", .type = CT_CONFIG,
	  FIELD(config_file), .defdoc = "DATA_DIR/noded.conf if present",
	  .help = "read options from FILE, not DATA_DIR/noded.conf",
	  .man = "Read options from\n.Ar file :\none\n"
	  ".Dq Ar option No = Ar value\nper line, the option named as on the "
	  "command line without its dashes;\n.Sq #\nstarts a comment; a value "
	  "may be quoted with double quotes.\nAn option that takes no value may "
	  "stand alone on its line.\nWithout this option\n.Nm\nreads\n"
	  ".Pa noded.conf\nin the data directory if there is one (which may not "
	  "set\n.Cm data\\-dir ) ;\na file named here must exist." },
	{ .name = "name", .metavar = "NAME", .type = CT_NAME, FIELD(name),
	  .defdoc = "the host name, else node-<id>",
	  .help = "log and HELLO label",
	  .man = "The node's name: the label on every log line, in the API and "
	  "in the\nhandshake.\nThe default is the host name (a container's "
	  "is its own), or, when that is\nnot a valid name, node- and the first "
	  "8 hex digits of the node id." },
	{ .name = "listen", .metavar = "HOST:PORT", .type = CT_ADDR,
	  FIELD(listen), .def = "0.0.0.0:7000",
	  .help = "P2P address",
	  .man = "The address that peers connect to.\nAn IPv6 address is "
	  "written\n.Li [::]:7000 .\nWith port 0 the system picks one, which "
	  "the node logs and announces." },
	{ .name = "api", .metavar = "HOST:PORT", .type = CT_ADDR, FIELD(api),
	  .def = "127.0.0.1:8000",
	  .help = "HTTP control API",
	  .man = "The HTTP control API; see\n.Sx HTTP API ." },
	{ .name = "peer", .metavar = "HOST:PORT", .type = CT_PEERS, FIELD(peers),
	  .help = "a peer, or a DNS seed name; repeatable, or comma-separated",
	  .man = "A peer to connect to.\nRepeatable, or a comma-separated list.\n"
	  "An IP address is dialled for good, with backoff.\nA host name is a "
	  "DNS seed: it is resolved, without blocking, to all its\naddresses, "
	  "each a peer of its own, of which the node dials up to\n.Fl \\-outbound "
	  "(this node's own address skipped); the name is resolved\nagain every "
	  "minute, and after a failure from 1 s doubling to 60 s, so that\n"
	  "a Docker Swarm\n.Li tasks.<service>\nname or a Kubernetes headless "
	  "service works while replicas come and go." },
	{ .name = "data-dir", .metavar = "DIR", .type = CT_PATH, FIELD(data_dir),
	  .defdoc = "~/.noded",
	  .help = "identity key, log and noded.conf",
	  .man = "Where the node keeps its identity key, its log and its "
	  "configuration file\n.Pa noded.conf ;\ncreated if missing.\nThe "
	  "default is\n.Pa .noded\nin the home directory\n.Po Ev HOME , "
	  "else the password database's\n.Pc ." },
	{ .name = "log-file", .metavar = "PATH", .type = CT_PATH,
	  FIELD(log_file), .defdoc = "DATA_DIR/noded.log", .none_ok = 1,
	  .help = "log file; none: to stderr instead",
	  .man = "The log file, which\n.Dv SIGHUP\nreopens.\nWith\n.Cm none\n"
	  "the log goes to standard error instead, for a service manager or "
	  "a\ncontainer engine to collect.\nWith a file, standard error gets "
	  "only what comes before the log is open\n(a bad option, a data "
	  "directory that cannot be made) and, until the node\nhas started, "
	  "its error lines." },
	{ .name = "network", .metavar = "NAME", .type = CT_NAME, FIELD(network),
	  .def = "devnet",
	  .help = "network name; nodes of other networks are refused",
	  .man = "The network's name.\nTransactions are signed for a network and "
	  "nodes of different networks\nnever complete a handshake." },
	{ .name = "validators", .metavar = "N", .type = CT_NUMBER,
	  FIELD(validators), .defrun = config_validators_default,
	  .defdoc = "online CPUs", .min = 1, .max = 256,
	  .help = "signature-verifying threads",
	  .man = "Signature-verifying threads." },
	{ .name = "validator-queue", .metavar = "N", .type = CT_NUMBER,
	  FIELD(validator_queue), .defnum = 4096, .min = 1, .max = 1048576,
	  .help = "capacity of the validator channel",
	  .man = "Capacity of the queue to the validators." },
	{ .name = "max-amount", .metavar = "N", .type = CT_NUMBER,
	  FIELD(max_amount), .defnum = TX_POLICY_MAX_AMOUNT, .min = 0,
	  .max = UINT64_MAX,
	  .help = "largest amount accepted",
	  .man = "The largest amount accepted; amount 0 is valid." },
	{ .name = "max-memo", .metavar = "N", .type = CT_NUMBER, FIELD(max_memo),
	  .defnum = TX_MEMO_MAX, .min = 0, .max = TX_MEMO_MAX,
	  .help = "longest memo accepted in bytes",
	  .man = "The longest memo accepted, in bytes." },
	{ .name = "max-future-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(max_future_ms), .defnum = TX_POLICY_MAX_FUTURE_MS, .min = 0,
	  .max = CONFIG_YEAR_MS,
	  .help = "how far ahead of the clock a timestamp may be",
	  .man = "How far ahead of the node's clock a transaction's timestamp may "
	  "be." },
	{ .name = "max-age-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(max_age_ms), .defnum = TX_POLICY_MAX_AGE_MS, .min = 1,
	  .max = CONFIG_YEAR_MS,
	  .help = "how old a transaction may be before it expires",
	  .man = "How old a transaction may be; older ones are rejected and "
	  "expire from the\nmempool." },
	{ .name = "max-peers", .metavar = "N", .type = CT_NUMBER,
	  FIELD(max_peers), .defnum = 125, .min = 0, .max = 10000,
	  .help = "inbound connections accepted",
	  .man = "Inbound connections accepted." },
	{ .name = "max-inbound-per-ip", .metavar = "N", .type = CT_NUMBER,
	  FIELD(max_inbound_per_ip), .defnum = 32, .min = 1, .max = 10000,
	  .help = "established inbound connections from one IP address",
	  .man = "Established inbound connections from one IP address; a "
	  "newcomer over it is\nrefused.\nNot applied to 127.0.0.1 and ::1, "
	  "which every local program shares." },
	{ .name = "max-handshaking", .metavar = "N", .type = CT_NUMBER,
	  FIELD(max_handshaking), .defnum = 32, .min = 1, .max = 10000,
	  .help = "inbound connections still in their handshake",
	  .man = "Inbound connections still in their handshake, a pool apart "
	  "from\n.Fl \\-max\\-peers :\nwhen it is full a newcomer takes the "
	  "place of the oldest handshake\nof the address with the most under way." },
	{ .name = "max-handshaking-per-ip", .metavar = "N", .type = CT_NUMBER,
	  FIELD(max_handshaking_per_ip), .defnum = 4, .min = 1, .max = 10000,
	  .help = "inbound handshakes at once from one IP address",
	  .man = "Inbound connections in their handshake at once from one IP "
	  "address;\nmore are closed at accept.\nNot applied to 127.0.0.1 "
	  "and ::1." },
	{ .name = "handshake-rate", .metavar = "N", .type = CT_NUMBER,
	  FIELD(handshake_rate), .defnum = 200, .min = 0, .max = 1000000,
	  .help = "new inbound handshakes a second; 0: no limit",
	  .man = "New inbound handshakes a second (a token bucket of one "
	  "second's worth),\nchecked at accept before any key is made; "
	  "connections beyond it are\nclosed at once.\n0 is no limit.\n"
	  "Outbound dials are not counted." },
	{ .name = "handshake-rate-per-ip", .metavar = "N", .type = CT_NUMBER,
	  FIELD(handshake_rate_per_ip), .defnum = 20, .min = 0, .max = 1000000,
	  .help = "new inbound handshakes a second from one IP; 0: no limit",
	  .man = "As\n.Fl \\-handshake\\-rate ,\nfor each IP address "
	  "(1024 tracked).\nNot applied to 127.0.0.1 and ::1." },
	{ .name = "ban-seconds", .metavar = "S", .type = CT_NUMBER,
	  FIELD(ban_seconds), .defnum = 600, .min = 0, .max = 31536000,
	  .help = "how long a misbehaving peer's key and IP are banned; 0: off",
	  .man = "How long a peer that proved misbehaviour (a transaction with a "
	  "bad\nsignature, of another network or badly encoded, a protocol "
	  "violation)\nis banned, by its node key and its IP address "
	  "(127.0.0.1 and ::1 by key\nonly).\nBans are kept in the store\n"
	  ".Pq Pa DATA_DIR/store/data.mdb\nacross restarts; see\n.Pa /v1/bans .\n0 bans "
	  "no one." },
	{ .name = "outbound", .metavar = "N", .type = CT_NUMBER, FIELD(outbound),
	  .defnum = 8, .min = 0, .max = 1000,
	  .help = "outbound links kept from DNS seeds and peer exchange",
	  .man = "Outbound links kept from the addresses of DNS seeds and, with "
	  "peer exchange,\nfrom the addresses peers tell of." },
	{ .name = "peer-exchange", .metavar = "on|off", .type = CT_BOOL,
	  FIELD(peer_exchange), .def = "on",
	  .help = "learn and dial peers' peers",
	  .man = "Learn and dial the peers of peers.\nWith\n.Cm off\na node keeps "
	  "to exactly its\n.Fl \\-peer\nlist and the nodes that dial it, so "
	  "that a chosen topology (a line, a\nring) holds." },
	{ .name = "resolv-hosts", .metavar = "FILE", .type = CT_PATH,
	  FIELD(resolv_hosts), .defdoc = "none: DNS and /etc/hosts",
	  .help = "resolve --peer names from FILE alone (tests)",
	  .man = "Resolve the host names of\n.Fl \\-peer\nfrom\n.Ar file\nalone, a "
	  "file in the format of\n.Pa /etc/hosts ,\nread again at every "
	  "resolution, instead of DNS and\n.Pa /etc/hosts .\nMeant for "
	  "tests, which rewrite the file to make a seed name appear,\nchange or "
	  "vanish while the node runs." },
	{ .name = "mempool-max-txs", .metavar = "N", .type = CT_NUMBER,
	  FIELD(mempool_max_txs), .defnum = 200000, .min = 1, .max = 100000000,
	  .help = "transactions kept",
	  .man = "Transactions kept in the mempool; the oldest are evicted "
	  "first." },
	{ .name = "mempool-max-bytes", .metavar = "BYTES", .type = CT_BYTES,
	  FIELD(mempool_max_bytes), .defnum = 128ULL << 20, .min = 1024,
	  .max = 1ULL << 40,
	  .help = "bytes of transactions kept; suffix k, m or g allowed",
	  .man = "Bytes of transactions kept, with an optional suffix\n"
	  ".Cm k , m\nor\n.Cm g\n(binary: 1k is 1024)." },
	{ .name = "peer-send-budget", .metavar = "BYTES", .type = CT_BYTES,
	  FIELD(peer_send_budget), .defnum = 64ULL << 20, .min = 64 << 10,
	  .max = 1ULL << 40,
	  .help = "bytes queued to all peers together; suffix k, m or g allowed",
	  .man = "Bytes queued for sending to all peers together.\nEach peer's "
	  "share is this divided among the connected peers (at least\n256 KiB); "
	  "a peer above its share is not read (its requests wait) until it\n"
	  "drains, and one that also reads nothing for 5 s is disconnected.\n"
	  "A peer above 16 MiB is disconnected at once." },
	{ .name = "api-body-budget", .metavar = "BYTES", .type = CT_BYTES,
	  FIELD(api_body_budget), .defnum = 32ULL << 20, .min = 1ULL << 20,
	  .max = 1ULL << 40,
	  .help = "bytes of API request bodies held at once; suffix k, m or g allowed",
	  .man = "Bytes of API request bodies held at once, counted from their\n"
	  ".Dq Content-Length\nbefore the body is read; a request whose body "
	  "would pass it gets 503 and\nits connection is closed." },
	{ .name = "events-budget", .metavar = "BYTES", .type = CT_BYTES,
	  FIELD(events_budget), .defnum = 16ULL << 20, .min = 1ULL << 20,
	  .max = 1ULL << 40,
	  .help = "unsent event-stream bytes of all subscribers; suffix k, m or g allowed",
	  .man = "Unsent bytes of all event streams together.\nWhen they pass it, a "
	  "subscriber holding more than its share is\ndisconnected (it may resume "
	  "with\n.Dq Last-Event-ID ) ;\none holding more than 1 MiB always is." },
	{ .name = "sync", .metavar = "MODE", .type = CT_SYNC, FIELD(sync),
	  .def = "batch",
	  .help = "when accepted txs reach the disk: batch, always or none",
	  .man = "When the store's commits reach the disk.\n"
	  "Every accepted transaction is written to the store\n"
	  ".Pq Pa DATA_DIR/store/data.mdb\n"
	  "before the API answers\n.Dq accepted .\n"
	  ".Cm batch\ncommits and syncs on a thread of its own, once for every "
	  "transaction\naccepted while the previous commit ran (group commit);\n"
	  ".Cm always\ncommits and syncs once per transaction;\n"
	  ".Cm none\ncommits without syncing (LMDB's MDB_NOSYNC): a killed "
	  "process loses nothing,\nbut a crash of the machine or a power cut "
	  "may lose the last transactions\nacknowledged or, LMDB warns, leave "
	  "the store corrupt (the node then refuses\nto start, exit 3, until "
	  "the store directory is moved away).\nIt trades durability for "
	  "speed." },
	{ .name = "store-map-size", .metavar = "BYTES", .type = CT_BYTES,
	  FIELD(store_map_size), .defnum = 1ULL << 30, .min = 64ULL << 10,
	  .max = 1ULL << 40,
	  .help = "largest size of the store; suffix k, m or g allowed",
	  .man = "The largest size of the store\n"
	  ".Pq Pa DATA_DIR/store/data.mdb ,\n"
	  "the size of its memory map; the file grows up to it.\n"
	  "When it is used up, transactions are refused with\n"
	  ".Dq store error\n"
	  "(503) instead of being accepted." },
	{ .name = "log-level", .metavar = "LEVEL", .type = CT_LOG_LEVEL,
	  FIELD(log_level), .def = "info",
	  .help = "least severe messages logged",
	  .man = "The least severe messages logged." },
	{ .name = "log-format", .metavar = "FORMAT", .type = CT_LOG_FORMAT,
	  FIELD(log_format), .def = "text",
	  .help = "log line format",
	  .man = "The format of log lines:\n.Cm json\nwrites one JSON object per "
	  "line." },
	{ .name = "api-token-file", .metavar = "FILE", .type = CT_PATH,
	  FIELD(api_token_file),
	  .help = "require \"Authorization: Bearer <token in FILE>\"",
	  .man = "Require\n.Dq Authorization: Bearer Ar token\non every API "
	  "request, with the token read from\n.Ar file :\nits content without "
	  "the blanks and newlines around it, printable ASCII,\n1 to "
	  CONFIG_XSTR(TOKEN_MAX) " bytes, in a file of at most "
	  CONFIG_XSTR(TOKEN_FILE_MAX) " bytes.\nThe comparison takes constant "
	  "time.\nRequests without it get 401." },
	{ .name = "api-insecure", .type = CT_BOOL, FIELD(api_insecure),
	  .def = "off",
	  .help = "allow the API on a non-loopback address without a token",
	  .man = "Allow the API on an address that is not loopback without a "
	  "token.\nWithout this option (or a token)\n.Nm\nrefuses to start with "
	  "its API on such an address." },
	{ .name = "handshake-timeout-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(handshake_timeout_ms), .defnum = 5000, .min = 100, .max = 600000,
	  .help = "time allowed for a peer's handshake",
	  .man = "Time a new connection has to complete its handshake." },
	{ .name = "ping-interval-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(ping_interval_ms), .defnum = 10000, .min = 100, .max = 3600000,
	  .help = "PING period on an idle link",
	  .man = "Period of\n.Dv PING\non an idle link; less than\n"
	  ".Fl \\-peer\\-timeout\\-ms ." },
	{ .name = "peer-timeout-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(peer_timeout_ms), .defnum = 30000, .min = 100, .max = 3600000,
	  .help = "silence after which a peer is dropped",
	  .man = "Silence after which a peer is dropped; more than\n"
	  ".Fl \\-ping\\-interval\\-ms ." },
	{ .name = "getdata-timeout-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(getdata_timeout_ms), .defnum = 2000, .min = 10, .max = 600000,
	  .help = "wait for a TX before asking another announcer",
	  .man = "How long to wait for a requested transaction before asking "
	  "another peer\nthat announced it." },
	{ .name = "relay-push", .metavar = "on|off", .type = CT_BOOL,
	  FIELD(relay_push), .def = "off",
	  .help = "push transactions along a spanning tree of links (experimental)",
	  .man = "Push accepted transactions whole to the peers on a self-repairing "
	  "spanning\ntree of the links and announce them to the others, as "
	  "Plumtree does\n(docs/PROTOCOL.md 5.2.1).  Off by default: at 200 "
	  "transactions a second\non 32 nodes its tree does not settle yet "
	  "(docs/PERFORMANCE.md).  With\n.Cm off\nevery peer gets announcements "
	  "only, and pulls." },
	{ .name = "inv-batch-ms", .metavar = "MS", .type = CT_NUMBER,
	  FIELD(inv_batch_ms), .defnum = 0, .min = 0, .max = 10000,
	  .help = "delay gathering ids into one INV (0: end of the loop turn)",
	  .man = "How long to gather accepted ids into one announcement.  0, the "
	  "default,\nsends them at the end of the event loop's turn, once the "
	  "input that was\nready has been read: no timer on the relay path." },
	{ .name = "trace-ring", .metavar = "N", .type = CT_NUMBER,
	  FIELD(trace_ring), .defnum = 65536, .min = 16, .max = 4194304,
	  .help = "recent transactions whose provenance is kept",
	  .man = "How many recent transactions keep their provenance (first seen,\n"
	  "sender, announcers, verify time, where they went) for\n.Pa /v1/tx/ID/trace ;\n"
	  "about 62 bytes each, plus 8 to 32 per announcer or receiver\n"
	  "remembered (at most 8 of each)." },
	{ .name = "link-delay", .metavar = "TIME", .type = CT_DURATION,
	  FIELD(link_delay_us), .defnum = 0, .min = 0,
	  .max = CONFIG_LINK_DELAY_MAX_US,
	  .help = "delay added to everything sent to peers (experiments)",
	  .man = "Delay added to every write to every peer, in the node's own "
	  "send path,\nas by\n.Xr tc-netem 8\nbut without root and on "
	  "loopback: for experiments and tests.\nWritten\n.Li 50ms ,\n"
	  ".Li 250us\nor\n.Li 2s ;\nbare digits are milliseconds.\n"
	  "The API's\n.Pa /v1/link\nchanges it at run time." },
	{ .name = "link-jitter", .metavar = "TIME", .type = CT_DURATION,
	  FIELD(link_jitter_us), .defnum = 0, .min = 0,
	  .max = CONFIG_LINK_DELAY_MAX_US,
	  .help = "+- random part of the link delay",
	  .man = "A random part, uniform within plus or minus this, of\n"
	  ".Fl \\-link\\-delay ;\nwrites still arrive in order." },
	{ .name = "link-rate", .metavar = "RATE", .type = CT_RATE,
	  FIELD(link_rate_bps), .defnum = 0, .min = 0,
	  .max = CONFIG_LINK_RATE_MAX_BPS,
	  .help = "bandwidth cap of each link to a peer; 0: none",
	  .man = "The bandwidth of each link to a peer, in bits per second, "
	  "written as\n.Xr tc 8\ndoes:\n.Li 1mbit\nor\n.Li 500kbit ;\n0 is "
	  "no cap." },
	{ .name = "recon-interval", .metavar = "TIME", .type = CT_DURATION,
	  FIELD(recon_interval_us), .defnum = 30000000, .min = 0,
	  .max = CONFIG_RECON_INTERVAL_MAX_US,
	  .help = "period of set reconciliation with each peer; 0: off",
	  .man = "How often an outbound link reconciles its mempool with the "
	  "peer's\n(Rateless IBLT,\n.Pa docs/PROTOCOL.md\nsection 7), so that "
	  "whatever either missed comes back;\n0 turns the periodic rounds "
	  "off (a new link still reconciles once).\nWritten\n.Li 30s\nor\n"
	  ".Li 500ms ;\nbare digits are milliseconds." },
	{ .name = "help", .type = CT_HELP,
	  .help = "print this help and exit",
	  .man = "Print the options and exit 0." },
	{ .name = "version", .type = CT_VERSION,
	  .help = "print the version and exit",
	  .man = "Print the version and exit 0." },
	{ .name = "print-config", .type = CT_PRINT,
	  .help = "print every setting and where it came from, and exit",
	  .man = "Print every setting in effect, each with where its value came "
	  "from, and\nexit 0 (or 2 for a bad value, as at start).\nThe output "
	  "is itself a configuration file that gives the same values." },
};
#define CONFIG_NOPTIONS	(sizeof(config_options) / sizeof(config_options[0]))
_Static_assert(CONFIG_NOPTIONS <= CONFIG_OPTIONS_MAX,
    "struct config has no room for every option's source");

/* The values of the enumerated types, as messages, --help and the man page say them. */
#define CONFIG_BOOL_VALUES	"on|off|true|false|1|0"
#define CONFIG_LEVEL_VALUES	"debug|info|warn|error"
#define CONFIG_FORMAT_VALUES	"text|json"
#define CONFIG_SYNC_VALUES	"batch|always|none"

/* What config_set() needs besides the config itself. */
struct config_state {
	struct config	*cfg;
	enum config_src	 src;		/* the source being applied */
	enum config_src	 peers_src;	/* the source of the current --peer list */
	enum config_src	 srcs[CONFIG_NOPTIONS];	/* of each option's value */
	int		 own_conf;	/* reading DATA_DIR/noded.conf */
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

/* Options that are not values: they steer config_parse itself. */
static int
config_is_value(const struct config_option *o)
{
	return o->type != CT_CONFIG && o->type != CT_HELP &&
	    o->type != CT_VERSION && o->type != CT_PRINT;
}

/*
 * The table's own invariants: each value option has a field its type can
 * store, a range that fits the field, and a default its --help can name.
 * A mistake in the table is a bug of the build, fatal at once.
 */
static void
config_table_check(void)
{
	const struct config_option	*o;
	size_t				 i;
	int				 ok;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		switch (o->type) {
		case CT_NUMBER:
		case CT_BYTES:
		case CT_DURATION:
		case CT_RATE:
			ok = o->min <= o->max && (o->size == 8 || (o->size == 4 &&
			    o->max <= UINT32_MAX) || (o->size == 2 &&
			    o->max <= UINT16_MAX)) && o->metavar != NULL &&
			    (o->defrun == NULL || o->defdoc != NULL);
			break;
		case CT_BOOL:
		case CT_LOG_LEVEL:
		case CT_LOG_FORMAT:
		case CT_SYNC:
			ok = o->size == sizeof(int) && o->def != NULL;
			break;
		case CT_NAME:
			ok = o->size > CONFIG_NAME_MAX && o->metavar != NULL;
			break;
		case CT_PATH:
		case CT_CONFIG:
			ok = o->size > 1 && o->metavar != NULL;
			break;
		case CT_ADDR:
			ok = o->size == sizeof(struct addr);
			break;
		case CT_PEERS:
			ok = o->size == sizeof(struct addr) * CONFIG_MAX_PEERS_LIST;
			break;
		default:
			ok = o->size == 0;
			break;
		}
		if (!ok) {
			fprintf(stderr, "noded: config table: option '%s' is "
			    "inconsistent\n", o->name);
			abort();
		}
	}
}

static uint64_t
config_validators_default(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	if (n > 256)
		return 256;
	return (uint64_t)n;
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

/* "1024", or "128m" for a multiple of 1 MiB. */
static void
config_bytes_str(char *out, size_t outlen, uint64_t n)
{
	static const char	 units[] = "gmk";
	unsigned		 shift;
	size_t			 i;

	for (i = 0, shift = 30; i < 3; i++, shift -= 10) {
		if (n != 0 && n % (1ULL << shift) == 0) {
			snprintf(out, outlen, "%" PRIu64 "%c", n >> shift,
			    units[i]);
			return;
		}
	}
	snprintf(out, outlen, "%" PRIu64, n);
}

/*
 * The values option o accepts, as its error messages ("must be ..."),
 * --help and the man page say them; "" for options that are not values.
 * (A flag's are those of the config file and the environment.)
 */
static void
config_range(const struct config_option *o, char *out, size_t outlen)
{
	char	lo[24], hi[24];

	switch (o->type) {
	case CT_NAME:
		snprintf(out, outlen, "1..%d printable characters without "
		    "spaces", CONFIG_NAME_MAX);
		break;
	case CT_PATH:
		snprintf(out, outlen, "a path of 1..%zu bytes%s", o->size - 1,
		    o->none_ok ? ", or " CONFIG_LOG_NONE : "");
		break;
	case CT_ADDR:
		snprintf(out, outlen, "port 0..65535");
		break;
	case CT_PEERS:
		snprintf(out, outlen, "port 1..65535, at most %d peers",
		    CONFIG_MAX_PEERS_LIST);
		break;
	case CT_NUMBER:
	case CT_BYTES:
		snprintf(out, outlen, "%" PRIu64 "..%" PRIu64, o->min, o->max);
		break;
	case CT_DURATION:
		units_duration_str(lo, sizeof(lo), o->min);
		units_duration_str(hi, sizeof(hi), o->max);
		snprintf(out, outlen, "%s..%s (us, ms or s; bare: ms)", lo, hi);
		break;
	case CT_RATE:
		units_rate_str(hi, sizeof(hi), o->max);
		snprintf(out, outlen, "0 (no cap) or %s..%s (bit, kbit, mbit, "
		    "gbit)", "8kbit", hi);
		break;
	case CT_BOOL:
		snprintf(out, outlen, "%s", CONFIG_BOOL_VALUES);
		break;
	case CT_LOG_LEVEL:
		snprintf(out, outlen, "%s", CONFIG_LEVEL_VALUES);
		break;
	case CT_LOG_FORMAT:
		snprintf(out, outlen, "%s", CONFIG_FORMAT_VALUES);
		break;
	case CT_SYNC:
		snprintf(out, outlen, "%s", CONFIG_SYNC_VALUES);
		break;
	default:
		snprintf(out, outlen, "%s", "");
		break;
	}
}

/*
 * The default of o as text: the value that config_defaults() applies, or
 * NULL if it has none.  doc: for a reader (--help, man page), which also
 * names defaults that are derived ("online CPUs") and says "none".
 */
static const char *
config_default(const struct config_option *o, int doc, char *buf,
    size_t buflen)
{
	if (doc && o->defdoc != NULL)
		return o->defdoc;
	if (o->def != NULL)
		return o->def;
	if (o->defrun != NULL) {
		snprintf(buf, buflen, "%" PRIu64, o->defrun());
		return buf;
	}
	if (o->type == CT_DURATION) {
		units_duration_str(buf, buflen, o->defnum);
		return buf;
	}
	if (o->type == CT_RATE) {
		units_rate_str(buf, buflen, o->defnum);
		return buf;
	}
	if (o->type == CT_NUMBER || o->type == CT_BYTES) {
		if (doc && o->type == CT_BYTES)
			config_bytes_str(buf, buflen, o->defnum);
		else
			snprintf(buf, buflen, "%" PRIu64, o->defnum);
		return buf;
	}
	return doc ? "none" : NULL;
}

/* Stores n in the unsigned field (or int 0/1) of 2, 4 or 8 bytes at p. */
static void
config_store(void *p, size_t size, uint64_t n)
{
	uint16_t	v16 = (uint16_t)n;
	uint32_t	v32 = (uint32_t)n;

	if (size == 2)
		memcpy(p, &v16, sizeof(v16));
	else if (size == 4)
		memcpy(p, &v32, sizeof(v32));
	else
		memcpy(p, &n, sizeof(n));
}

/* Parses a numeric option, checking its bounds; label names the source. */
static int
config_set_number(struct config_state *st, const struct config_option *o,
    const char *label, const char *v, uint64_t *out)
{
	char	range[96];
	int	rc;

	if (o->type == CT_BYTES)
		rc = config_parse_bytes(v, out);
	else if (o->type == CT_DURATION)
		rc = units_parse_duration(v, out);
	else if (o->type == CT_RATE)
		rc = units_parse_rate(v, out);
	else
		rc = config_parse_u64(v, out);
	if (rc == -1) {
		config_err(st, "%s '%s': not a %s", label, v,
		    o->type == CT_DURATION ? "duration" : o->type == CT_RATE ?
		    "rate" : "number");
		return -1;
	}
	if (rc == -2 || *out < o->min || *out > o->max || (o->type == CT_RATE &&
	    *out != 0 && *out < CONFIG_LINK_RATE_MIN_BPS)) {
		config_range(o, range, sizeof(range));
		config_err(st, "%s '%s': must be %s", label, v, range);
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
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* Applies one option from the current source.  Returns 0, or -1 with st->err set. */
static int
config_apply(struct config_state *st, const struct config_option *o,
    const char *label, const char *v)
{
	char		*field = (char *)st->cfg + o->off;
	char		 msg[CONFIG_HOSTPORT_MAX + 80], range[96];
	uint64_t	 n = 0;
	int		 i;

	switch (o->type) {
	case CT_NAME:
		if (!config_name_ok(v))
			goto range;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case CT_PATH:
		return config_set_string(st, label, v, field, o->size);
	case CT_ADDR:
		if (addr_parse((struct addr *)(void *)field, v, 0, msg,
		    sizeof(msg)) == -1) {
			config_err(st, "%s %s", label, msg);
			return -1;
		}
		return 0;
	case CT_PEERS:
		return config_set_peers(st, label, v);
	case CT_NUMBER:
	case CT_BYTES:
	case CT_DURATION:
	case CT_RATE:
		if (config_set_number(st, o, label, v, &n) == -1)
			return -1;
		config_store(field, o->size, n);
		return 0;
	case CT_BOOL:
		if (config_parse_bool(v, &i) == -1)
			goto range;
		break;
	case CT_LOG_LEVEL:
		if ((i = log_level_parse(v)) == -1)
			goto range;
		break;
	case CT_LOG_FORMAT:
		if ((i = log_format_parse(v)) == -1)
			goto range;
		break;
	case CT_SYNC:
		if (strcmp(v, "batch") == 0)
			i = CONFIG_SYNC_BATCH;
		else if (strcmp(v, "always") == 0)
			i = CONFIG_SYNC_ALWAYS;
		else if (strcmp(v, "none") == 0)
			i = CONFIG_SYNC_NONE;
		else
			goto range;
		break;
	default:
		config_err(st, "%s: cannot be set here", label);
		return -1;
	}
	memcpy(field, &i, sizeof(i));
	return 0;

range:
	config_range(o, range, sizeof(range));
	config_err(st, "%s '%s': must be %s", label, v, range);
	return -1;
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

/* Was option name given by a source, rather than left at its default? */
static int
config_given(const struct config_state *st, const char *name)
{
	return st->srcs[config_find(name) - config_options] != SRC_DEFAULT;
}

/* Every option's default, applied as a value of the source "default". */
static int
config_defaults(struct config_state *st)
{
	const struct config_option	*o;
	const char			*v;
	char				 label[64], num[32];
	size_t				 i;

	memset(st->cfg, 0, sizeof(*st->cfg));
	st->src = SRC_DEFAULT;
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		snprintf(label, sizeof(label), "default %s", o->name);
		snprintf(st->cfg->source[i], sizeof(st->cfg->source[i]), "%s",
		    label);
		if ((v = config_default(o, 0, num, sizeof(num))) == NULL)
			continue;
		if (config_set(st, o, label, v) == -1)
			return -1;
	}
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
	if (!config_is_value(o)) {
		config_err(st, "%s:%u: '%s' cannot be set in a config file", path,
		    lineno, key);
		return -1;
	}
	/* The file was found through the data dir: it cannot move it. */
	if (st->own_conf && o->off == offsetof(struct config, data_dir)) {
		config_err(st, "%s:%u: 'data-dir' cannot be set in the data "
		    "directory's own %s (give --data-dir or NODED_DATA_DIR, or "
		    "name a file with --config)", path, lineno, DATADIR_CONF);
		return -1;
	}
	if (val == NULL) {
		if (o->metavar != NULL) {
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
	line = xmalloc(CONFIG_LINE_MAX + 2);
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

/* Writes NODED_<NAME> (upper case, '-' as '_') for option name to var. */
static void
config_env_name(const char *name, char *var, size_t varlen)
{
	size_t	i;

	snprintf(var, varlen, "NODED_");
	for (i = 0; name[i] != '\0' && 6 + i + 1 < varlen; i++)
		var[6 + i] = name[i] == '-' ? '_' :
		    (char)toupper((unsigned char)name[i]);
	var[6 + i] = '\0';
}

/* The value of NODED_<NAME> in envp, or NULL; empty counts as unset. */
static const char *
config_getenv(char *const *envp, const char *name, char *var, size_t varlen)
{
	size_t	vlen;

	config_env_name(name, var, varlen);
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
		if (!config_is_value(o))
			continue;
		if ((v = config_getenv(envp, o->name, var, sizeof(var))) == NULL)
			continue;
		if (config_set(st, o, var, v) == -1)
			return -1;
	}
	return 0;
}

/*
 * One option per line: what it is and its default; below, for options with
 * a value, the values it takes.  (The default stays on the first line.)
 */
static void
config_help(FILE *out)
{
	const struct config_option	*o;
	char				 left[64], range[96], num[32];
	size_t				 i;

	fprintf(out,
	    "Usage: noded [OPTION]...\n"
	    "Runs one node of a noded network.\n"
	    "\n"
	    "Every option can also be given in a config file, one \"option = value\"\n"
	    "per line (# comments): DATA_DIR/noded.conf, read if it is there, or\n"
	    "the file --config names; or in the environment as NODED_<OPTION>\n"
	    "(upper case, '-' as '_', e.g. NODED_MAX_PEERS=20,\n"
	    "NODED_PEER=a:7000,b:7000).  The command line wins over the\n"
	    "environment, which wins over the file.  --print-config shows the\n"
	    "outcome.\n"
	    "\n");
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		if (o->metavar != NULL)
			snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		if (!config_is_value(o)) {
			fprintf(out, "  %-28s %s\n", left, o->help);
			continue;
		}
		fprintf(out, "  %-28s %s (default: %s)\n", left, o->help,
		    config_default(o, 1, num, sizeof(num)));
		config_range(o, range, sizeof(range));
		if (o->metavar != NULL)
			fprintf(out, "  %-28s range: %s\n", "", range);
	}
}

/* Writes s for an mdoc text line: a backslash is "\e". */
static void
config_man_text(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else
			fputc(*s, out);
	}
}

/*
 * The ".It" line of o: "Fl \-max\-peers Ar n", with "Ar host : Ns Ar port"
 * for HOST:PORT and "Cm on | off" for a choice.
 */
static void
config_man_tag(FILE *out, const struct config_option *o)
{
	const char	*p;
	int		 choice;

	fputs(".It Fl \\-", out);
	for (p = o->name; *p != '\0'; p++) {
		if (*p == '-')
			fputc('\\', out);
		fputc(*p, out);
	}
	if (o->metavar != NULL) {
		choice = strchr(o->metavar, '|') != NULL;
		fputs(choice ? " Cm " : " Ar ", out);
		for (p = o->metavar; *p != '\0'; p++) {
			if (*p == '|')
				fputs(" | ", out);
			else if (*p == ':')
				fputs(" : Ns Ar ", out);
			else
				fputc(choice ? *p : tolower((unsigned char)*p),
				    out);
		}
	}
	fputc('\n', out);
}

void
config_man(FILE *out)
{
	const struct config_option	*o;
	char				 range[96], num[32], var[64];
	size_t				 i;

	fputs(".Bl -tag -width Ds\n", out);
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		config_man_tag(out, o);
		fprintf(out, "%s\n", o->man);
		if (config_is_value(o)) {
			config_range(o, range, sizeof(range));
			if (o->metavar != NULL) {
				fputs("Range: ", out);
				config_man_text(out, range);
				fputs(".\n", out);
			}
			fputs("Default: ", out);
			config_man_text(out, config_default(o, 1, num,
			    sizeof(num)));
			fputs(".\n", out);
		}
		if (o->type != CT_HELP && o->type != CT_VERSION &&
		    o->type != CT_PRINT) {
			config_env_name(o->name, var, sizeof(var));
			fprintf(out, "Environment:\n.Ev %s .\n", var);
		}
	}
	fputs(".El\n", out);
}

/*
 * Writes s for a Markdown table cell: '|' escaped (in a code span too),
 * outside one '<' and '>' as entities, newlines as blanks.
 */
static void
config_md_cell(FILE *out, const char *s, int code)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '<' && !code)
			fputs("&lt;", out);
		else if (*s == '>' && !code)
			fputs("&gt;", out);
		else if (*s == '\n')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

void
config_markdown(FILE *out)
{
	const struct config_option	*o;
	char				 range[96], num[32], var[64];
	size_t				 i;

	fputs("| Option | Environment | Default | Range | What |\n"
	    "|---|---|---|---|---|\n", out);
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		fprintf(out, "| `--%s%s", o->name, o->metavar != NULL ? " " : "");
		config_md_cell(out, o->metavar != NULL ? o->metavar : "", 1);
		fputs("` | ", out);
		if (o->type != CT_HELP && o->type != CT_VERSION &&
		    o->type != CT_PRINT) {
			config_env_name(o->name, var, sizeof(var));
			fprintf(out, "`%s`", var);
		}
		fputs(" | ", out);
		if (config_is_value(o) || o->defdoc != NULL)
			config_md_cell(out, config_default(o, 1, num,
			    sizeof(num)), 0);
		fputs(" | ", out);
		config_range(o, range, sizeof(range));
		if (o->metavar != NULL)
			config_md_cell(out, range, 0);
		fputs(" | ", out);
		config_md_cell(out, o->help, 0);
		fputs(" |\n", out);
	}
}

static struct option *
config_longopts(void)
{
	static struct option	longopts[CONFIG_NOPTIONS + 1];
	size_t			i;

	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		longopts[i].name = config_options[i].name;
		longopts[i].has_arg = config_options[i].metavar == NULL ?
		    no_argument : required_argument;
		longopts[i].flag = NULL;
		longopts[i].val = CONFIG_OPT_BASE + (int)i;
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
	else if (optopt >= CONFIG_OPT_BASE && strchr(arg, '=') != NULL)
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
config_check_less(struct config_state *st, const char *lo, uint64_t vlo,
    const char *hi, uint64_t vhi)
{
	size_t		 ilo = (size_t)(config_find(lo) - config_options);
	size_t		 ihi = (size_t)(config_find(hi) - config_options);
	const char	*llo, *lhi;

	if (vlo < vhi)
		return 0;
	llo = st->cfg->source[ilo];
	lhi = st->cfg->source[ihi];
	if (st->srcs[ilo] > st->srcs[ihi])
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

/* The value of variable name (not a NODED_ one) in envp, or NULL; empty counts as unset. */
static const char *
config_envp(char *const *envp, const char *name)
{
	size_t	len = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return (*envp)[len + 1] != '\0' ? *envp + len + 1 : NULL;
	}
	return NULL;
}

/* The host name, if it is a valid --name; else "" (main.c names the node after its id). */
static void
config_default_name(char *out, size_t outlen)
{
	char host[256];

	out[0] = '\0';
	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) == -1 || strlen(host) >= outlen ||
	    !config_name_ok(host))
		return;
	memcpy(out, host, strlen(host) + 1);
}

/*
 * The default data dir, ~/.noded, into out: under envp's HOME, else the
 * home directory lib/datadir finds.  Returns 0 or -1 with st->err set.
 */
static int
config_default_data_dir(struct config_state *st, char *const *envp, char *out,
    size_t outlen)
{
	const char	*home = config_envp(envp, "HOME");
	char		 msg[512];

	if (home != NULL) {
		if (datadir_path(out, outlen, home, DATADIR_NAME) == 0)
			return 0;
		config_err(st, "default data-dir: HOME '%.40s...' is too long",
		    home);
		return -1;
	}
	if (datadir_default(out, outlen, msg, sizeof(msg)) == -1) {
		config_err(st, "default data-dir: %s with --data-dir or "
		    "NODED_DATA_DIR", msg);
		return -1;
	}
	return 0;
}

/*
 * Without a file named by --config or NODED_CONFIG: reads noded.conf in
 * the data dir that the command line (dir, its last --data-dir), else
 * NODED_DATA_DIR, else the default names, if it is there.  A bad data dir
 * is left for its own source to report.
 */
static int
config_load_own(struct config_state *st, const char *dir, char *const *envp)
{
	struct config	*cfg = st->cfg;
	char		 home[sizeof(cfg->data_dir)], var[64];
	FILE		*f;
	int		 rc;

	if (dir == NULL)
		dir = config_getenv(envp, "data-dir", var, sizeof(var));
	if (dir == NULL) {
		if (config_default_data_dir(st, envp, home, sizeof(home)) == -1)
			return -1;
		dir = home;
	}
	if (*dir == '\0' || strlen(dir) >= sizeof(cfg->data_dir))
		return 0;
	if (datadir_path(cfg->config_file, sizeof(cfg->config_file), dir,
	    DATADIR_CONF) == -1) {
		cfg->config_file[0] = '\0';
		return 0;
	}
	if ((f = fopen(cfg->config_file, "r")) == NULL) {
		/* No file, or no such directory: main.c reports the latter. */
		if (errno == ENOENT || errno == ENOTDIR) {
			cfg->config_file[0] = '\0';
			return 0;
		}
	} else
		fclose(f);
	st->src = SRC_FILE;
	st->own_conf = 1;
	rc = config_load_file(st, "default config", cfg->config_file);
	st->own_conf = 0;
	return rc;
}

int
config_parse(struct config *cfg, int argc, char **argv, char *const *envp,
    FILE *out, char *err, size_t errlen)
{
	const struct config_option	*o;
	struct option			*longopts = config_longopts();
	struct config_state		 st;
	const char			*file = NULL, *from = "--config";
	const char			*dir = NULL;
	char				 label[64], var[64];
	size_t				 dlen;
	int				 c, help = 0, version = 0, print = 0;

	config_table_check();
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.err = err;
	st.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (config_defaults(&st) == -1)
		return -1;

	/*
	 * First pass: --config, --help, --version, --print-config, the data
	 * dir (where noded.conf is) and malformed options.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:hV", longopts, NULL)) != -1) {
		o = c >= CONFIG_OPT_BASE ? &config_options[c - CONFIG_OPT_BASE] :
		    NULL;
		if (c == 'h' || (o != NULL && o->type == CT_HELP))
			help = 1;
		else if (c == 'V' || (o != NULL && o->type == CT_VERSION))
			version = 1;
		else if (o != NULL && o->type == CT_PRINT)
			print = 1;
		else if (o != NULL && o->type == CT_CONFIG)
			file = optarg;
		else if (o != NULL && o->off == offsetof(struct config,
		    data_dir) && o->type == CT_PATH)
			dir = optarg;
		else if (c == 1) {
			config_err(&st, "unexpected argument '%s' (see --help)",
			    optarg);
			return -1;
		} else if ((c == '?' || c == ':') && !help && !version) {
			config_getopt_err(&st, c, argc, argv);
			return -1;
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
		snprintf(cfg->source[config_find("config") - config_options],
		    CONFIG_SOURCE_MAX, "%s", from);
		if (config_set_string(&st, from, file, cfg->config_file,
		    sizeof(cfg->config_file)) == -1)
			return -1;
		st.src = SRC_FILE;
		if (config_load_file(&st, from, file) == -1)
			return -1;
	} else if (config_load_own(&st, dir, envp) == -1)
		return -1;

	st.src = SRC_ENV;
	if (config_load_env(&st, envp) == -1)
		return -1;

	st.src = SRC_CMDLINE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "-:hV", longopts, NULL)) != -1) {
		if (c < CONFIG_OPT_BASE)
			continue;
		o = &config_options[c - CONFIG_OPT_BASE];
		if (!config_is_value(o))
			continue;
		snprintf(label, sizeof(label), "--%s", o->name);
		if (config_set(&st, o, label, o->metavar == NULL ? "on" :
		    optarg) == -1)
			return -1;
	}
	optind = 0;

	if (!config_given(&st, "data-dir")) {
		st.src = SRC_DEFAULT;
		if (config_default_data_dir(&st, envp, cfg->data_dir,
		    sizeof(cfg->data_dir)) == -1)
			return -1;
	}
	if (config_check_less(&st, "ping-interval-ms", cfg->ping_interval_ms,
	    "peer-timeout-ms", cfg->peer_timeout_ms) == -1)
		return -1;
	/*
	 * The host name tells replicas (containers, pods) apart in merged
	 * logs; without a usable one main.c names the node after its id.
	 */
	if (!config_given(&st, "name"))
		config_default_name(cfg->name, sizeof(cfg->name));
	if (!config_given(&st, "log-file")) {
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
	if (print) {
		config_print(cfg, out);
		return 1;
	}
	return 0;
}

/* Would value read back as itself in a config file without quotes? */
static int
config_plain(const char *v)
{
	return *v != '\0' && strpbrk(v, "#\"") == NULL &&
	    !isspace((unsigned char)v[0]) &&
	    !isspace((unsigned char)v[strlen(v) - 1]);
}

/* Loads the unsigned field of 2, 4 or 8 bytes at p. */
static uint64_t
config_load_num(const void *p, size_t size)
{
	uint16_t	v16;
	uint32_t	v32;
	uint64_t	v64;

	if (size == 2) {
		memcpy(&v16, p, sizeof(v16));
		return v16;
	}
	if (size == 4) {
		memcpy(&v32, p, sizeof(v32));
		return v32;
	}
	memcpy(&v64, p, sizeof(v64));
	return v64;
}

/* The value of option o in cfg as a config file writes it; "" if it has none. */
static void
config_value_str(const struct config *cfg, const struct config_option *o,
    char *out, size_t outlen)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	static const char *const formats[] = { "text", "json" };
	static const char *const syncs[] = { "batch", "always", "none" };
	const char	*field = (const char *)cfg + o->off;
	char		 one[ADDR_STR_MAX];
	size_t		 i, len;
	int		 v;

	out[0] = '\0';
	switch (o->type) {
	case CT_NAME:
	case CT_PATH:
	case CT_CONFIG:
		snprintf(out, outlen, "%s", field);
		break;
	case CT_ADDR:
		addr_str((const struct addr *)(const void *)field, out, outlen);
		break;
	case CT_PEERS:
		for (i = 0; i < cfg->npeers; i++) {
			addr_str(&cfg->peers[i], one, sizeof(one));
			len = strlen(out);
			snprintf(out + len, outlen - len, "%s%s", i > 0 ? "," : "",
			    one);
		}
		break;
	case CT_NUMBER:
		snprintf(out, outlen, "%" PRIu64, config_load_num(field, o->size));
		break;
	case CT_BYTES:
		config_bytes_str(out, outlen, config_load_num(field, o->size));
		break;
	case CT_DURATION:
		units_duration_str(out, outlen, config_load_num(field, o->size));
		break;
	case CT_RATE:
		units_rate_str(out, outlen, config_load_num(field, o->size));
		break;
	case CT_BOOL:
	case CT_LOG_LEVEL:
	case CT_LOG_FORMAT:
	case CT_SYNC:
		memcpy(&v, field, sizeof(v));
		if (o->type == CT_BOOL)
			snprintf(out, outlen, "%s", v ? "on" : "off");
		else if (o->type == CT_LOG_LEVEL && v >= 0 && v < 4)
			snprintf(out, outlen, "%s", levels[v]);
		else if (o->type == CT_LOG_FORMAT && v >= 0 && v < 2)
			snprintf(out, outlen, "%s", formats[v]);
		else if (o->type == CT_SYNC && v >= 0 && v < 3)
			snprintf(out, outlen, "%s", syncs[v]);
		break;
	default:
		break;
	}
}

void
config_print(const struct config *cfg, FILE *out)
{
	const struct config_option	*o;
	char				 val[CONFIG_MAX_PEERS_LIST * ADDR_STR_MAX];
	char				 line[sizeof(val) + 64];
	size_t				 i;

	fprintf(out, "# noded %s: every setting in effect, and where it came "
	    "from\n", version_get());
	for (i = 0; i < CONFIG_NOPTIONS; i++) {
		o = &config_options[i];
		if (o->type != CT_CONFIG && !config_is_value(o))
			continue;
		config_value_str(cfg, o, val, sizeof(val));
		if (o->type == CT_CONFIG) {
			/* Not an option a config file may set: a comment. */
			if (val[0] != '\0')
				fprintf(out, "# config: %s (%s)\n", val,
				    cfg->source[i]);
			else if (datadir_path(val, sizeof(val), cfg->data_dir,
			    DATADIR_CONF) == 0)
				fprintf(out, "# config: none (%s: there is no "
				    "%s)\n", cfg->source[i], val);
			continue;
		}
		if (val[0] == '\0') {
			if (o->off == offsetof(struct config, name))
				snprintf(val, sizeof(val), "node-<the node id's first "
				    "8 hex digits>, as the host name is not a name");
			else
				snprintf(val, sizeof(val), "none");
			fprintf(out, "# %s: %s (%s)\n", o->name, val,
			    cfg->source[i]);
			continue;
		}
		snprintf(line, sizeof(line), config_plain(val) ? "%s = %s" :
		    "%s = \"%s\"", o->name, val);
		fprintf(out, "%-40s # %s\n", line, cfg->source[i]);
	}
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
