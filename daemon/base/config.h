/*
 * config.h: noded's settings from, in rising precedence, built-in defaults,
 * a config file (the one --config or NODED_CONFIG names, else DATA_DIR/
 * noded.conf if it is there), the environment (NODED_<OPTION>, e.g.
 * NODED_MAX_PEERS) and the command line.  Every value is bounds-checked;
 * a bad one is reported by name and noded exits 2 before any socket opens.
 */
#ifndef DAEMON_CONFIG_H
#define DAEMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/addr.h"

#define CONFIG_MAX_PEERS_LIST	64	/* --peer entries */
#define CONFIG_HOSTPORT_MAX	ADDR_HOST_MAX	/* a "host:port" value */
#define CONFIG_OPTIONS_MAX	64	/* room in config.source */
#define CONFIG_SOURCE_MAX	192	/* one source label, NUL included */
#define CONFIG_LOG_NONE		"none"	/* --log-file none: the log goes to stderr */

/* The bounds of --link-delay and --link-jitter, and of --link-rate unless 0. */
#define CONFIG_LINK_DELAY_MAX_US	(60ULL * 1000000)
#define CONFIG_LINK_RATE_MIN_BPS	8000ULL
#define CONFIG_LINK_RATE_MAX_BPS	100000000000ULL
#define CONFIG_RECON_INTERVAL_MAX_US	(3600ULL * 1000000)

/* --sync: the values of enum store_sync (core/store.h). */
#define CONFIG_SYNC_BATCH	0
#define CONFIG_SYNC_ALWAYS	1
#define CONFIG_SYNC_NONE	2

struct config {
	char		name[65];		/* --name; default the host name, or ""
						   if that is no name (main.c then
						   names the node after its id) */
	struct addr	listen;			/* --listen, default 0.0.0.0:7000 */
	struct addr	api;			/* --api, default 127.0.0.1:8000 */
	struct addr	peers[CONFIG_MAX_PEERS_LIST];	/* --peer, repeatable, comma lists */
	size_t		npeers;
	char		config_file[4096];	/* the config file read, "" if none */
	char		data_dir[4096];		/* --data-dir, default ~/.noded */
	char		log_file[4096];		/* --log-file, default DATA_DIR/noded.log;
						   CONFIG_LOG_NONE: to stderr */
	char		network[65];		/* --network, default devnet */
	unsigned	validators;		/* --validators, default online CPUs */
	size_t		validator_queue;	/* --validator-queue, default 4096 */
	uint64_t	max_amount;		/* --max-amount, default 100 */
	uint16_t	max_memo;		/* --max-memo, default 256 */
	uint64_t	max_future_ms;		/* --max-future-ms */
	uint64_t	max_age_ms;		/* --max-age-ms */
	unsigned	max_peers;		/* --max-peers (inbound), default 125 */
	unsigned	max_inbound_per_ip;	/* --max-inbound-per-ip, default 32 */
	unsigned	max_handshaking;	/* --max-handshaking, default 32 */
	unsigned	max_handshaking_per_ip;	/* --max-handshaking-per-ip, default 4 */
	unsigned	handshake_rate;		/* --handshake-rate (a second), 0: none */
	unsigned	handshake_rate_per_ip;	/* --handshake-rate-per-ip, 0: none */
	unsigned	ban_seconds;		/* --ban-seconds, default 600, 0: off */
	unsigned	outbound;		/* --outbound, default 8 */
	int		peer_exchange;		/* --peer-exchange on|off, default on */
	int		relay_push;		/* --relay-push on|off, default off */
	char		resolv_hosts[4096];	/* --resolv-hosts (tests), "" if none */
	size_t		mempool_max_txs;	/* --mempool-max-txs, default 200000 */
	size_t		mempool_max_bytes;	/* --mempool-max-bytes, default 128 MiB */
	size_t		peer_send_budget;	/* --peer-send-budget, default 64 MiB */
	size_t		api_body_budget;	/* --api-body-budget, default 32 MiB */
	size_t		events_budget;		/* --events-budget, default 16 MiB */
	int		log_level;		/* --log-level, enum log_level */
	int		log_format;		/* --log-format text|json, enum log_format */
	char		api_token_file[4096];	/* --api-token-file */
	int		api_insecure;		/* --api-insecure */
	unsigned	handshake_timeout_ms;	/* --handshake-timeout-ms, default 5000 */
	unsigned	ping_interval_ms;	/* --ping-interval-ms, default 10000 */
	unsigned	peer_timeout_ms;	/* --peer-timeout-ms (silence), default 30000 */
	unsigned	getdata_timeout_ms;	/* --getdata-timeout-ms, default 2000 */
	unsigned	inv_batch_ms;		/* --inv-batch-ms, default 0 */
	size_t		trace_ring;		/* --trace-ring, default 65536 */
	uint64_t	link_delay_us;		/* --link-delay, default 0 */
	uint64_t	link_jitter_us;		/* --link-jitter, default 0 */
	uint64_t	link_rate_bps;		/* --link-rate, default 0: no cap */
	uint64_t	recon_interval_us;	/* --recon-interval, default 30s; 0: off */
	int		sync;			/* --sync, CONFIG_SYNC_*, default batch */
	uint64_t	store_map_size;		/* --store-map-size, default 1 GiB */
	/* Where each value came from, by option; read with config_source(). */
	char		source[CONFIG_OPTIONS_MAX][CONFIG_SOURCE_MAX];
};

/*
 * Fills cfg from defaults, the config file, the environment and argv.
 * Returns 0; 1 after printing --help, --version or --print-config (exit 0);
 * -1 after printing to stderr what is wrong (exit 2).  Main thread.
 */
int	config_load(struct config *cfg, int argc, char **argv);

/*
 * config_load without touching the process: the environment comes from envp
 * (NULL: none; the default data dir is under its HOME, else the password
 * database's home), --help, --version and --print-config text goes to out,
 * and a problem is written to err (errlen bytes) instead of stderr.  Same
 * returns.  Main thread.
 */
int	config_parse(struct config *cfg, int argc, char **argv,
	    char *const *envp, FILE *out, char *err, size_t errlen);

/*
 * Where the value of option (named as on the command line, without dashes)
 * came from, as a label to start a message with: "--data-dir",
 * "NODED_DATA_DIR", "FILE:LINE: data-dir" or "default data-dir".  Points
 * into cfg; NULL for an unknown option.  Any thread, once cfg is filled.
 */
const char *config_source(const struct config *cfg, const char *option);

/*
 * Writes every setting of cfg and where it came from, one "option = value
 * # source" line each (unset ones as comments), as --print-config does; the
 * text is itself a config file that gives the same values.  Any thread.
 */
void	config_print(const struct config *cfg, FILE *out);

/*
 * Writes docs/CONFIG.md's list of options (Markdown) from the same table as
 * --help; tests/unit/test_config.c checks that the file is current.  Any
 * thread.
 */
void	config_markdown(FILE *out);

/*
 * Writes the man page's list of options (mdoc, ".Bl" to ".El") from the
 * same table as --help: man/noded.8 holds it between its "OPTIONS BEGIN"
 * and "OPTIONS END" comments, and tests/unit/test_config.c checks that it
 * is current.  Any thread.
 */
void	config_man(FILE *out);

#endif
