/*
 * ctl.h: what nodectl's files share: the run's settings, option parsing,
 * requests to a node and output helpers.  nodectl is single-threaded; every
 * function here runs on its one thread.
 */
#ifndef TOOLS_CTL_H
#define TOOLS_CTL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "http.h"

/* Exit codes. */
#define CTL_OK		0	/* success */
#define CTL_FAIL	1	/* rejected (422) or not found (404) */
#define CTL_ERR		2	/* usage, connection or other error */

#define CTL_NODES_MAX		64
#define CTL_TIMEOUT_MS		10000
#define CTL_DEFAULT_NODE	"127.0.0.1:8000"
#define CTL_DEFAULT_NETWORK	"devnet"

/* getopt_long codes of the global options, which every command also accepts. */
enum {
	CTL_OPT_HELP = 'h',
	CTL_OPT_NODE = 1000,
	CTL_OPT_TOKEN_FILE,
	CTL_OPT_JSON,
	CTL_OPT_TIMEOUT,
	CTL_OPT_VERSION,
	CTL_OPT_DATA_DIR,
	CTL_OPT_COMMAND = 1100	/* commands number their own options from here */
};

/* Where c->token came from. */
enum ctl_token_src {
	CTL_TOKEN_NONE = 0,
	CTL_TOKEN_FILE,		/* --token-file or NODECTL_TOKEN_FILE */
	CTL_TOKEN_COOKIE	/* the node's DATA_DIR/.cookie */
};

struct ctl {
	const char		*cmd;		/* the command's name */
	const char		*node_args[CTL_NODES_MAX]; /* --node as given */
	size_t			 nnode_args;
	const char		*token_file;
	const char		*data_dir;	/* --data-dir */
	struct http_addr	 nodes[CTL_NODES_MAX];	/* resolved by ctl_connect_setup */
	size_t			 nnodes;
	char			*token;
	enum ctl_token_src	 token_src;
	char			 cookie_path[4200];	/* the cookie read or looked for */
	char			 cookie_note[4600];	/* why no cookie was read, or "" */
	int			 json;		/* --json */
	int			 timeout_ms;	/* --timeout */
};

/* An answer from a node: status, raw body and, when the body is JSON, its value. */
struct ctl_answer {
	int		 status;
	char		 reason[64];
	char		*raw;
	size_t		 len;
	json_t		*json;		/* NULL unless the body parsed as JSON */
};

/*
 * Like getopt_long over a command's own options (codes from CTL_OPT_COMMAND)
 * plus the global ones, which it applies to c itself.  Returns a command
 * option code, CTL_OPT_HELP, -1 at the end, or '?' after printing what is
 * wrong.
 */
int	ctl_getopt(struct ctl *c, int argc, char **argv,
	    const struct option *cmdopts);

/* Rejects arguments beyond the nargs the command takes: 0, or CTL_ERR after saying so. */
int	ctl_extra_args(struct ctl *c, int argc, char **argv, int nargs);

/*
 * Parses the options of a command that has none of its own (only --help and
 * the global ones) and at most nargs arguments.  Returns 0, or -1 with *rc
 * the exit code (after printing the help or the problem).
 */
int	ctl_no_options(struct ctl *c, int argc, char **argv, int nargs, int *rc);

/* Prints the command's help to stdout; returns CTL_OK. */
int	ctl_help(const char *cmd);

/* Prints "nodectl CMD: <msg>" and a hint to stderr; returns CTL_ERR. */
int	ctl_usage(const struct ctl *c, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Prints "nodectl: <msg>" to stderr. */
void	ctl_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	ctl_token_hint(const struct ctl *c);

/*
 * Settles the node address(es) (--node, NODECTL_NODE, the default) and the
 * token: --token-file, NODECTL_TOKEN_FILE, else the cookie the node writes
 * in its data dir (--data-dir, NODECTL_DATA_DIR, NODED_DATA_DIR, ~/.noded),
 * sent along when it is there (reads do not need it; nothing is said when
 * it is missing unless a 401 comes).  multi allows several nodes.  Returns
 * 0, or CTL_ERR after printing what is wrong.
 */
int	ctl_connect_setup(struct ctl *c, int multi);

/*
 * Sends one request to c->nodes[0] (body may be NULL) and reads the answer
 * into a, which the caller releases with ctl_answer_free.  Returns 0, or -1
 * after printing why no answer came (the message names the address).
 */
int	ctl_call(struct ctl *c, const char *method, const char *path,
	    json_t *body, struct ctl_answer *a);

/* ctl_call without a word on standard error: err says why no answer came. */
int	ctl_fetch(struct ctl *c, const char *method, const char *path,
	    json_t *body, struct ctl_answer *a, char *err, size_t errlen);

/* Releases what a owns. */
void	ctl_answer_free(struct ctl_answer *a);

/*
 * Handles an answer that is not a success: prints the node's error (and the
 * raw body under --json); returns CTL_FAIL for 404/422, CTL_ERR otherwise.
 */
int	ctl_answer_error(struct ctl *c, struct ctl_answer *a);

/* Prints the raw body of a to stdout, with a final newline. */
void	ctl_print_raw(const struct ctl_answer *a);

/* Parses a decimal unsigned 64-bit value for option opt; 0 or -1 after a message. */
int	ctl_parse_u64(const struct ctl *c, const char *opt, const char *s,
	    uint64_t *v);

/* ctl_out.c: output helpers. */

/*
 * Copies s into out (outlen bytes) with control characters, C1 controls and
 * invalid UTF-8 escaped as \xNN, so a node cannot drive the terminal.
 */
void	ctl_safe(char *out, size_t outlen, const char *s);

/* Formats a JSON value for a table: strings made safe, null as "-". */
void	ctl_value(char *out, size_t outlen, const json_t *v);

/* "1.5 KiB", "12 B". */
void	ctl_bytes(char *out, size_t outlen, uint64_t n);

/* "3d 04h", "1h 02m", "4m 05s", "12s". */
void	ctl_duration(char *out, size_t outlen, uint64_t seconds);

/* Local time of ms since the epoch as "2026-11-26 16:44:45.123". */
void	ctl_time_ms(char *out, size_t outlen, uint64_t ms);

struct ctl_table;

/* A table of ncols columns; align holds 'l' or 'r' per column.  Owned by the caller. */
struct ctl_table *ctl_table_new(size_t ncols, const char *align);

/* Appends a row of ncols strings (copied). */
void	ctl_table_add(struct ctl_table *t, ...);

/* Prints the rows with columns padded to their widest cell, and frees t. */
void	ctl_table_print(struct ctl_table *t, FILE *f);

/* Commands: each takes the command's argv (argv[0] is its name) and returns an exit code. */
int	ctl_keygen(struct ctl *c, int argc, char **argv);
int	ctl_pubkey(struct ctl *c, int argc, char **argv);
int	ctl_send(struct ctl *c, int argc, char **argv);
int	ctl_submit(struct ctl *c, int argc, char **argv);
int	ctl_tx(struct ctl *c, int argc, char **argv);
int	ctl_mempool(struct ctl *c, int argc, char **argv);
int	ctl_status(struct ctl *c, int argc, char **argv);
int	ctl_peers(struct ctl *c, int argc, char **argv);
int	ctl_connect(struct ctl *c, int argc, char **argv);
int	ctl_disconnect(struct ctl *c, int argc, char **argv);
int	ctl_bans(struct ctl *c, int argc, char **argv);
int	ctl_unban(struct ctl *c, int argc, char **argv);
int	ctl_watch(struct ctl *c, int argc, char **argv);
int	ctl_health(struct ctl *c, int argc, char **argv);
int	ctl_trace(struct ctl *c, int argc, char **argv);

#endif
