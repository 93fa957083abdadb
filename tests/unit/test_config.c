/*
 * test_config.c: noded's settings: defaults, every option from each source
 * (command line, NODED_* environment, config file), precedence, bad values
 * with their exact messages, peer lists, config file syntax, the ranges
 * in --help, and the man page's list of options.  (Addresses themselves:
 * test_addr.c.)
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/log.h"
#include "lib/version.h"
#include "proto/tx.h"

#include "tmpdir.h"

#define MAXARGS	80
/*
 * The home directory parse() gives noded unless a test names one: the
 * default data dir (~/.noded) and its noded.conf never come from the
 * machine running the tests.
 */
#define TEST_HOME	"/nonexistent/noded-test-home"

/* Writes text to tmpdir/name; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text)
{
	static char	p[256];
	FILE		*f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/*
 * Runs config_parse on "noded" + args (NULL-terminated) with the
 * environment env (NULL-terminated, may be NULL) and, unless env sets it,
 * HOME=TEST_HOME; output text in out.
 */
static int
parse(struct config *cfg, const char *const *args, const char *const *env,
    char *err, size_t errlen, char **out)
{
	char	*argv[MAXARGS], *envp[MAXARGS], *buf = NULL;
	size_t	 argc = 0, n = 0, len = 0;
	FILE	*f;
	int	 rc, home = 0;

	argv[argc++] = (char *)"noded";
	while (args != NULL && args[argc - 1] != NULL && argc < MAXARGS - 1) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	while (env != NULL && env[n] != NULL && n < MAXARGS - 2) {
		if (strncmp(env[n], "HOME=", 5) == 0)
			home = 1;
		envp[n] = (char *)env[n];
		n++;
	}
	if (!home)
		envp[n++] = (char *)"HOME=" TEST_HOME;
	envp[n] = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	rc = config_parse(cfg, (int)argc, argv, envp, f, err, errlen);
	fclose(f);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return rc;
}

/* Parses and expects success. */
static void
parse_ok(struct config *cfg, const char *const *args, const char *const *env)
{
	char	err[1024];

	err[0] = '\0';
	if (parse(cfg, args, env, err, sizeof(err), NULL) != 0)
		fail_msg("unexpected failure: %s", err);
}

/* Renders the value of option opt from cfg as text. */
static void
field(const struct config *c, const char *opt, char *out, size_t len)
{
	size_t	i;
	char	one[300];

	if (strcmp(opt, "name") == 0)
		snprintf(out, len, "%s", c->name);
	else if (strcmp(opt, "listen") == 0)
		addr_str(&c->listen, out, len);
	else if (strcmp(opt, "api") == 0)
		addr_str(&c->api, out, len);
	else if (strcmp(opt, "peer") == 0) {
		out[0] = '\0';
		for (i = 0; i < c->npeers; i++) {
			addr_str(&c->peers[i], one, sizeof(one));
			if (i > 0)
				strncat(out, ",", len - strlen(out) - 1);
			strncat(out, one, len - strlen(out) - 1);
		}
	} else if (strcmp(opt, "config") == 0)
		snprintf(out, len, "%s", c->config_file);
	else if (strcmp(opt, "data-dir") == 0)
		snprintf(out, len, "%s", c->data_dir);
	else if (strcmp(opt, "log-file") == 0)
		snprintf(out, len, "%s", c->log_file);
	else if (strcmp(opt, "network") == 0)
		snprintf(out, len, "%s", c->network);
	else if (strcmp(opt, "validators") == 0)
		snprintf(out, len, "%u", c->validators);
	else if (strcmp(opt, "validator-queue") == 0)
		snprintf(out, len, "%zu", c->validator_queue);
	else if (strcmp(opt, "max-amount") == 0)
		snprintf(out, len, "%llu", (unsigned long long)c->max_amount);
	else if (strcmp(opt, "max-memo") == 0)
		snprintf(out, len, "%u", (unsigned)c->max_memo);
	else if (strcmp(opt, "max-future-ms") == 0)
		snprintf(out, len, "%llu", (unsigned long long)c->max_future_ms);
	else if (strcmp(opt, "max-age-ms") == 0)
		snprintf(out, len, "%llu", (unsigned long long)c->max_age_ms);
	else if (strcmp(opt, "max-peers") == 0)
		snprintf(out, len, "%u", c->max_peers);
	else if (strcmp(opt, "max-inbound-per-ip") == 0)
		snprintf(out, len, "%u", c->max_inbound_per_ip);
	else if (strcmp(opt, "max-handshaking") == 0)
		snprintf(out, len, "%u", c->max_handshaking);
	else if (strcmp(opt, "max-handshaking-per-ip") == 0)
		snprintf(out, len, "%u", c->max_handshaking_per_ip);
	else if (strcmp(opt, "handshake-rate") == 0)
		snprintf(out, len, "%u", c->handshake_rate);
	else if (strcmp(opt, "handshake-rate-per-ip") == 0)
		snprintf(out, len, "%u", c->handshake_rate_per_ip);
	else if (strcmp(opt, "ban-seconds") == 0)
		snprintf(out, len, "%u", c->ban_seconds);
	else if (strcmp(opt, "outbound") == 0)
		snprintf(out, len, "%u", c->outbound);
	else if (strcmp(opt, "peer-exchange") == 0)
		snprintf(out, len, "%d", c->peer_exchange);
	else if (strcmp(opt, "relay-push") == 0)
		snprintf(out, len, "%d", c->relay_push);
	else if (strcmp(opt, "mempool-max-txs") == 0)
		snprintf(out, len, "%zu", c->mempool_max_txs);
	else if (strcmp(opt, "mempool-max-bytes") == 0)
		snprintf(out, len, "%zu", c->mempool_max_bytes);
	else if (strcmp(opt, "peer-send-budget") == 0)
		snprintf(out, len, "%zu", c->peer_send_budget);
	else if (strcmp(opt, "api-body-budget") == 0)
		snprintf(out, len, "%zu", c->api_body_budget);
	else if (strcmp(opt, "events-budget") == 0)
		snprintf(out, len, "%zu", c->events_budget);
	else if (strcmp(opt, "log-level") == 0)
		snprintf(out, len, "%d", c->log_level);
	else if (strcmp(opt, "log-format") == 0)
		snprintf(out, len, "%d", c->log_format);
	else if (strcmp(opt, "resolv-hosts") == 0)
		snprintf(out, len, "%s", c->resolv_hosts);
	else if (strcmp(opt, "sync") == 0)
		snprintf(out, len, "%d", c->sync);
	else if (strcmp(opt, "store-map-size") == 0)
		snprintf(out, len, "%" PRIu64, c->store_map_size);
	else if (strcmp(opt, "api-token-file") == 0)
		snprintf(out, len, "%s", c->api_token_file);
	else if (strcmp(opt, "api-insecure") == 0)
		snprintf(out, len, "%d", c->api_insecure);
	else if (strcmp(opt, "handshake-timeout-ms") == 0)
		snprintf(out, len, "%u", c->handshake_timeout_ms);
	else if (strcmp(opt, "ping-interval-ms") == 0)
		snprintf(out, len, "%u", c->ping_interval_ms);
	else if (strcmp(opt, "peer-timeout-ms") == 0)
		snprintf(out, len, "%u", c->peer_timeout_ms);
	else if (strcmp(opt, "getdata-timeout-ms") == 0)
		snprintf(out, len, "%u", c->getdata_timeout_ms);
	else if (strcmp(opt, "inv-batch-ms") == 0)
		snprintf(out, len, "%u", c->inv_batch_ms);
	else if (strcmp(opt, "trace-ring") == 0)
		snprintf(out, len, "%zu", c->trace_ring);
	else if (strcmp(opt, "link-delay") == 0)
		snprintf(out, len, "%" PRIu64, c->link_delay_us);
	else if (strcmp(opt, "link-jitter") == 0)
		snprintf(out, len, "%" PRIu64, c->link_jitter_us);
	else if (strcmp(opt, "link-rate") == 0)
		snprintf(out, len, "%" PRIu64, c->link_rate_bps);
	else if (strcmp(opt, "recon-interval") == 0)
		snprintf(out, len, "%" PRIu64, c->recon_interval_us);
	else
		fail_msg("no such option in the test: %s", opt);
}

/* The default name: this machine's host name (the tests' hosts have usable ones). */
static const char *
host_name(void)
{
	static char	host[256];

	if (gethostname(host, sizeof(host) - 1) == -1)
		fail_msg("gethostname: %s", strerror(errno));
	return host;
}

static void
expect_field(const struct config *c, const char *opt, const char *want)
{
	char	got[4096];

	field(c, opt, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", opt, got, want);
}

/* Every option with a value other than its default, and what it reads as. */
static const struct {
	const char	*opt;
	const char	*value;		/* NULL: a flag */
	const char	*want;
} options[] = {
	{ "name", "alpha-1", "alpha-1" },
	{ "listen", "127.0.0.1:9000", "127.0.0.1:9000" },
	{ "listen", "[::1]:9001", "[::1]:9001" },
	{ "listen", "node.example:0", "node.example:0" },
	{ "api", "localhost:8080", "localhost:8080" },
	{ "peer", "node2:7000", "node2:7000" },
	{ "peer", "a:1,b:2, [::1]:3 ", "a:1,b:2,[::1]:3" },
	{ "data-dir", "/nonexistent/lib/noded", "/nonexistent/lib/noded" },
	{ "log-file", "/tmp/x.log", "/tmp/x.log" },
	{ "log-file", "none", "none" },
	{ "network", "testnet", "testnet" },
	{ "validators", "3", "3" },
	{ "validators", "256", "256" },
	{ "validator-queue", "10", "10" },
	{ "max-amount", "0", "0" },
	{ "max-amount", "18446744073709551615", "18446744073709551615" },
	{ "max-memo", "0", "0" },
	{ "max-future-ms", "1000", "1000" },
	{ "max-age-ms", "5000", "5000" },
	{ "max-peers", "20", "20" },
	{ "max-inbound-per-ip", "3", "3" },
	{ "max-handshaking", "1", "1" },
	{ "max-handshaking-per-ip", "2", "2" },
	{ "handshake-rate", "0", "0" },
	{ "handshake-rate-per-ip", "5", "5" },
	{ "ban-seconds", "0", "0" },
	{ "outbound", "0", "0" },
	{ "peer-exchange", "off", "0" },
	{ "peer-exchange", "false", "0" },
	{ "peer-exchange", "0", "0" },
	{ "relay-push", "on", "1" },
	{ "mempool-max-txs", "5", "5" },
	{ "mempool-max-bytes", "2048", "2048" },
	{ "mempool-max-bytes", "64m", "67108864" },
	{ "mempool-max-bytes", "1G", "1073741824" },
	{ "mempool-max-bytes", "4k", "4096" },
	{ "log-level", "debug", "0" },
	{ "log-level", "warn", "2" },
	{ "peer-send-budget", "1m", "1048576" },
	{ "peer-send-budget", "65536", "65536" },
	{ "api-body-budget", "2m", "2097152" },
	{ "events-budget", "1g", "1073741824" },
	{ "log-level", "error", "3" },
	{ "log-format", "json", "1" },
	{ "sync", "batch", "0" },
	{ "sync", "always", "1" },
	{ "sync", "none", "2" },
	{ "store-map-size", "64k", "65536" },
	{ "store-map-size", "2g", "2147483648" },
	{ "api-token-file", "/etc/noded/token", "/etc/noded/token" },
	{ "resolv-hosts", "/tmp/hosts", "/tmp/hosts" },
	{ "api-insecure", NULL, "1" },
	{ "handshake-timeout-ms", "100", "100" },
	{ "ping-interval-ms", "2000", "2000" },
	{ "peer-timeout-ms", "60000", "60000" },
	{ "getdata-timeout-ms", "10", "10" },
	{ "inv-batch-ms", "0", "0" },
	{ "trace-ring", "16", "16" },
	{ "link-delay", "50ms", "50000" },
	{ "link-delay", "50", "50000" },
	{ "link-delay", "250us", "250" },
	{ "link-delay", "60s", "60000000" },
	{ "link-jitter", "10ms", "10000" },
	{ "link-rate", "1mbit", "1000000" },
	{ "link-rate", "0", "0" },
	{ "link-rate", "8kbit", "8000" },
	{ "recon-interval", "0", "0" },
	{ "recon-interval", "2s", "2000000" },
};
#define NOPTIONS	(sizeof(options) / sizeof(options[0]))

static void
test_config_defaults(void **state)
{
	struct config	c;
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char		want[32];

	(void)state;
	parse_ok(&c, NULL, NULL);
	expect_field(&c, "name", host_name());
	expect_field(&c, "resolv-hosts", "");
	expect_field(&c, "listen", "0.0.0.0:7000");
	expect_field(&c, "api", "127.0.0.1:8000");
	expect_field(&c, "peer", "");
	expect_field(&c, "config", "");
	expect_field(&c, "data-dir", TEST_HOME "/.noded");
	expect_field(&c, "log-file", TEST_HOME "/.noded/noded.log");
	expect_field(&c, "network", "devnet");
	snprintf(want, sizeof(want), "%ld", ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);
	expect_field(&c, "validators", want);
	expect_field(&c, "validator-queue", "4096");
	expect_field(&c, "max-amount", "100");
	expect_field(&c, "max-memo", "256");
	expect_field(&c, "max-future-ms", "120000");
	expect_field(&c, "max-age-ms", "86400000");
	expect_field(&c, "max-peers", "125");
	expect_field(&c, "outbound", "8");
	expect_field(&c, "peer-exchange", "1");
	expect_field(&c, "relay-push", "0");
	expect_field(&c, "mempool-max-txs", "200000");
	expect_field(&c, "mempool-max-bytes", "134217728");
	expect_field(&c, "peer-send-budget", "67108864");
	expect_field(&c, "api-body-budget", "33554432");
	expect_field(&c, "events-budget", "16777216");
	expect_field(&c, "log-level", "1");
	expect_field(&c, "log-format", "0");
	expect_field(&c, "sync", "0");
	expect_field(&c, "store-map-size", "1073741824");
	expect_field(&c, "api-token-file", "");
	expect_field(&c, "api-insecure", "0");
	expect_field(&c, "handshake-timeout-ms", "5000");
	expect_field(&c, "ping-interval-ms", "10000");
	expect_field(&c, "peer-timeout-ms", "30000");
	expect_field(&c, "getdata-timeout-ms", "2000");
	expect_field(&c, "inv-batch-ms", "0");
	expect_field(&c, "trace-ring", "65536");
	expect_field(&c, "link-delay", "0");
	expect_field(&c, "link-jitter", "0");
	expect_field(&c, "link-rate", "0");
	expect_field(&c, "recon-interval", "30000000");
	assert_int_equal(c.max_future_ms, TX_POLICY_MAX_FUTURE_MS);
	assert_int_equal(c.max_age_ms, TX_POLICY_MAX_AGE_MS);
	assert_int_equal(c.max_amount, TX_POLICY_MAX_AMOUNT);
}

static void
env_name(const char *opt, char *out, size_t len)
{
	size_t	i;

	snprintf(out, len, "NODED_");
	for (i = 0; opt[i] != '\0' && 6 + i + 1 < len; i++)
		out[6 + i] = opt[i] == '-' ? '_' : (char)(opt[i] - (opt[i] >=
		    'a' && opt[i] <= 'z' ? 32 : 0));
	out[6 + i] = '\0';
}

/* Each option, from the command line, the environment and a config file. */
static void
test_config_each_option_each_source(void **state)
{
	struct config	 c;
	const char	*args[4], *env[2];
	char		 opt[64], var[256], text[512];
	const char	*file;
	size_t		 i;

	(void)state;
	for (i = 0; i < NOPTIONS; i++) {
		/* Command line. */
		snprintf(opt, sizeof(opt), "--%s", options[i].opt);
		args[0] = opt;
		args[1] = options[i].value;
		args[2] = NULL;
		parse_ok(&c, args, NULL);
		expect_field(&c, options[i].opt, options[i].want);

		/* Environment. */
		env_name(options[i].opt, opt, sizeof(opt));
		snprintf(var, sizeof(var), "%s=%s", opt, options[i].value != NULL ?
		    options[i].value : "1");
		env[0] = var;
		env[1] = NULL;
		parse_ok(&c, NULL, env);
		expect_field(&c, options[i].opt, options[i].want);

		/* Config file. */
		if (options[i].value != NULL)
			snprintf(text, sizeof(text), "# generated\n\n  %s = %s\n",
			    options[i].opt, options[i].value);
		else
			snprintf(text, sizeof(text), "%s\n", options[i].opt);
		file = write_file("each.conf", text);
		args[0] = "--config";
		args[1] = file;
		args[2] = NULL;
		parse_ok(&c, args, NULL);
		expect_field(&c, options[i].opt, options[i].want);
	}
}

/* The table above names every option --help lists. */
static void
test_config_help_lists_all(void **state)
{
	struct config	 c;
	const char	*args[] = { "--help", NULL };
	char		 err[256], *out, *p, name[64];
	const char	*q;
	size_t		 i, n = 0, len;
	int		 found;

	(void)state;
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &out), 1);
	assert_non_null(strstr(out, "Usage: noded"));
	for (p = out; (p = strstr(p, "\n  --")) != NULL; p += 5) {
		len = strcspn(p + 5, " \n");
		assert_true(len < sizeof(name));
		memcpy(name, p + 5, len);
		name[len] = '\0';
		n++;
		if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0 ||
		    strcmp(name, "version") == 0 ||
		    strcmp(name, "print-config") == 0)
			continue;
		for (i = 0, found = 0; i < NOPTIONS; i++)
			found |= strcmp(options[i].opt, name) == 0;
		if (!found)
			fail_msg("--%s is not tested", name);
		/* Each option line shows its default. */
		if (strstr(p + 5, "default") == NULL ||
		    strstr(p + 5, "default") > strchr(p + 5, '\n'))
			fail_msg("--%s: no default in --help", name);
	}
	assert_int_equal(n, 49);
	free(out);

	/* "noded <version>", one line, one word: the number, then the commit. */
	args[0] = "--version";
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &out), 1);
	assert_memory_equal(out, "noded ", 6);
	assert_true(strlen(out) > 7);
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n')[1], '\0');
	assert_null(strchr(out + 6, ' '));
	assert_memory_equal(out, "noded " VERSION_NUMBER, strlen("noded "
	    VERSION_NUMBER));
	q = out + strlen("noded " VERSION_NUMBER);
	assert_true(*q == '\n' || strncmp(q, "+git.", 5) == 0);
	free(out);

	/* --help wins even next to a bad option. */
	args[0] = "-h";
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &out), 1);
	assert_non_null(strstr(out, "--max-peers N"));
	free(out);
}

static void
test_config_precedence(void **state)
{
	struct config	 c;
	const char	*file, *args[8], *env[4];

	(void)state;
	file = write_file("p.conf", "max-peers = 20\nname = from-file\n"
	    "peer = f1:1\npeer = f2:2\nnetwork = filenet\n");
	/* File over defaults. */
	args[0] = "--config";
	args[1] = file;
	args[2] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "max-peers", "20");
	expect_field(&c, "name", "from-file");
	expect_field(&c, "peer", "f1:1,f2:2");
	expect_field(&c, "network", "filenet");

	/* Environment over file; a peer list from the environment replaces the file's. */
	env[0] = "NODED_MAX_PEERS=30";
	env[1] = "NODED_PEER=e1:1,e2:2";
	env[2] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "max-peers", "30");
	expect_field(&c, "name", "from-file");
	expect_field(&c, "peer", "e1:1,e2:2");

	/* Command line over environment; repeated --peer accumulate. */
	args[2] = "--max-peers";
	args[3] = "40";
	args[4] = "--peer";
	args[5] = "c1:1";
	args[6] = "--peer=c2:2,c3:3";
	args[7] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "max-peers", "40");
	expect_field(&c, "peer", "c1:1,c2:2,c3:3");
	expect_field(&c, "network", "filenet");

	/* The config file may come from NODED_CONFIG; --config wins over it. */
	env[0] = "NODED_CONFIG=/nonexistent/ignored.conf";
	env[1] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "name", "from-file");
	env[0] = NULL;
	{
		char		 var[300];
		const char	*env2[2];

		snprintf(var, sizeof(var), "NODED_CONFIG=%s", file);
		env2[0] = var;
		env2[1] = NULL;
		parse_ok(&c, NULL, env2);
		expect_field(&c, "max-peers", "20");
	}

	/* Later values of one source win; an empty variable counts as unset. */
	args[0] = "--max-peers";
	args[1] = "1";
	args[2] = "--max-peers";
	args[3] = "2";
	args[4] = NULL;
	env[0] = "NODED_MAX_PEERS=";
	env[1] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "max-peers", "2");
	parse_ok(&c, NULL, env);
	expect_field(&c, "max-peers", "125");
}

static void
test_config_booleans(void **state)
{
	static const char *yes[] = { "on", "true", "1" }, *no[] = { "off",
	    "false", "0" };
	struct config	 c;
	const char	*env[2] = { NULL, NULL }, *args[3], *file;
	char		 var[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(var, sizeof(var), "NODED_API_INSECURE=%s", yes[i]);
		env[0] = var;
		parse_ok(&c, NULL, env);
		assert_int_equal(c.api_insecure, 1);
		/* A file turns peer exchange off; the environment turns it back on. */
		snprintf(var, sizeof(var), "peer-exchange = %s\n", no[i]);
		file = write_file("b.conf", var);
		args[0] = "--config";
		args[1] = file;
		args[2] = NULL;
		parse_ok(&c, args, NULL);
		assert_int_equal(c.peer_exchange, 0);
		snprintf(var, sizeof(var), "NODED_PEER_EXCHANGE=%s", yes[i]);
		env[0] = var;
		parse_ok(&c, args, env);
		assert_int_equal(c.peer_exchange, 1);
	}
}

static void
test_config_derived(void **state)
{
	struct config	 c;
	const char	*args[8];

	(void)state;
	args[0] = "--listen";
	args[1] = "10.0.0.1:9100";
	args[2] = "--data-dir";
	args[3] = "/srv/n1/";
	args[4] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "name", host_name());
	expect_field(&c, "log-file", "/srv/n1/noded.log");
	args[4] = "--name";
	args[5] = "explicit";
	args[6] = "--log-file=/var/log/n.log";
	args[7] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "name", "explicit");
	expect_field(&c, "log-file", "/var/log/n.log");
	/* The port plays no part: replicas behind one port differ by host name. */
	args[0] = "--listen";
	args[1] = "127.0.0.1:0";
	args[2] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "name", host_name());
	args[2] = "--name";
	args[3] = "given";
	args[4] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "name", "given");
}

/*
 * Cross-checks between options name where each value came from (option,
 * variable, file line or default), not options the user never gave.
 */
static void
test_config_cross_check_sources(void **state)
{
	struct config	 c;
	const char	*file, *args[8], *env[4];
	char		 err[1024], want[1024], dir[4200];

	(void)state;
	env[0] = "NODED_PING_INTERVAL_MS=60000";
	env[1] = NULL;
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NODED_PING_INTERVAL_MS '60000': must be less "
	    "than default peer-timeout-ms (30000)");

	args[0] = "--peer-timeout-ms";
	args[1] = "5000";
	args[2] = NULL;
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "--peer-timeout-ms '5000': must be greater "
	    "than default ping-interval-ms (10000)");

	env[0] = "NODED_PEER_TIMEOUT_MS=10000";
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NODED_PEER_TIMEOUT_MS '10000': must be greater "
	    "than default ping-interval-ms (10000)");

	/* The file's line, against the environment; the stronger source is blamed. */
	file = write_file("t.conf", "# timers\nping-interval-ms = 60000\n");
	args[0] = "--config";
	args[1] = file;
	args[2] = NULL;
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:2: ping-interval-ms '60000': must be "
	    "less than default peer-timeout-ms (30000)", file);
	assert_string_equal(err, want);
	env[0] = "NODED_PEER_TIMEOUT_MS=50000";
	assert_int_equal(parse(&c, args, env, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "NODED_PEER_TIMEOUT_MS '50000': must be "
	    "greater than %s:2: ping-interval-ms (60000)", file);
	assert_string_equal(err, want);
	args[2] = "--ping-interval-ms";
	args[3] = "50000";
	args[4] = NULL;
	assert_int_equal(parse(&c, args, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "--ping-interval-ms '50000': must be less "
	    "than NODED_PEER_TIMEOUT_MS (50000)");

	/* The derived log file's length check names the data directory's source. */
	memset(dir, 'a', sizeof(dir));
	memcpy(dir, "NODED_DATA_DIR=/", 16);
	dir[15 + 4090] = '\0';
	env[0] = dir;
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NODED_DATA_DIR '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaa...': too long");
}

/* config_source names each value's origin, for messages outside config.c. */
static void
test_config_source(void **state)
{
	struct config	 c;
	const char	*file, *args[6], *env[3];
	char		 want[512], path[400];
	size_t		 len;

	(void)state;
	parse_ok(&c, NULL, NULL);
	assert_string_equal(config_source(&c, "data-dir"), "default data-dir");
	assert_string_equal(config_source(&c, "name"), "default name");
	assert_null(config_source(&c, "no-such-option"));

	file = write_file("s.conf", "max-peers = 3\n\nname = filename\n");
	args[0] = "--config";
	args[1] = file;
	args[2] = "--outbound";
	args[3] = "2";
	args[4] = NULL;
	env[0] = "NODED_DATA_DIR=/srv/x";
	env[1] = "NODED_MAX_PEERS=4";
	env[2] = NULL;
	parse_ok(&c, args, env);
	assert_string_equal(config_source(&c, "data-dir"), "NODED_DATA_DIR");
	assert_string_equal(config_source(&c, "max-peers"), "NODED_MAX_PEERS");
	assert_string_equal(config_source(&c, "outbound"), "--outbound");
	snprintf(want, sizeof(want), "%s:3: name", file);
	assert_string_equal(config_source(&c, "name"), want);
	assert_string_equal(config_source(&c, "log-file"), "default log-file");

	/* A long file path keeps its tail: the line and the option. */
	len = (size_t)snprintf(path, sizeof(path), "%s/", tmpdir);
	while (len < 300) {
		memcpy(path + len, "./", 3);
		len += 2;
	}
	strcat(path, "l.conf");
	{
		FILE	*f = fopen(path, "w");

		assert_non_null(f);
		fputs("max-peers = 5\n", f);
		fclose(f);
	}
	args[1] = path;
	args[2] = NULL;
	parse_ok(&c, args, NULL);
	len = strlen(config_source(&c, "max-peers"));
	assert_int_equal(len, CONFIG_SOURCE_MAX - 1);
	assert_memory_equal(config_source(&c, "max-peers"), "...", 3);
	assert_string_equal(config_source(&c, "max-peers") + len -
	    strlen("/./l.conf:1: max-peers"), "/./l.conf:1: max-peers");
	unlink(path);
}

static const struct {
	const char	*args[6];
	const char	*err;
} bad_args[] = {
	{ { "--peer", "node2:70x0" }, "--peer 'node2:70x0': bad port" },
	{ { "--validators", "0" }, "--validators '0': must be 1..256" },
	{ { "--sync", "sometimes" }, "--sync 'sometimes': must be batch|always|none" },
	{ { "--link-delay", "5x" }, "--link-delay '5x': not a duration" },
	{ { "--link-delay", "61s" },
	  "--link-delay '61s': must be 0..60s (us, ms or s; bare: ms)" },
	{ { "--link-jitter", "-1ms" }, "--link-jitter '-1ms': not a duration" },
	{ { "--link-rate", "7999bit" }, "--link-rate '7999bit': must be 0 (no "
	  "cap) or 8kbit..100gbit (bit, kbit, mbit, gbit)" },
	{ { "--link-rate", "1Mbit" }, "--link-rate '1Mbit': not a rate" },
	{ { "--validators", "257" }, "--validators '257': must be 1..256" },
	{ { "--validators", "x" }, "--validators 'x': not a number" },
	{ { "--validators", "-1" }, "--validators '-1': not a number" },
	{ { "--validators", " 2" }, "--validators ' 2': not a number" },
	{ { "--validators", "2x" }, "--validators '2x': not a number" },
	{ { "--validators", "" }, "--validators '': not a number" },
	{ { "--validators", "99999999999999999999999" },
	  "--validators '99999999999999999999999': must be 1..256" },
	{ { "--max-amount", "18446744073709551616" },
	  "--max-amount '18446744073709551616': must be 0..18446744073709551615" },
	{ { "--max-memo", "257" }, "--max-memo '257': must be 0..256" },
	{ { "--max-age-ms", "0" }, "--max-age-ms '0': must be 1..31536000000" },
	{ { "--max-peers", "10001" }, "--max-peers '10001': must be 0..10000" },
	{ { "--validator-queue", "0" }, "--validator-queue '0': must be 1..1048576" },
	{ { "--mempool-max-txs", "0" },
	  "--mempool-max-txs '0': must be 1..100000000" },
	{ { "--mempool-max-bytes", "100" },
	  "--mempool-max-bytes '100': must be 1024..1099511627776" },
	{ { "--mempool-max-bytes", "12q" }, "--mempool-max-bytes '12q': not a number" },
	{ { "--mempool-max-bytes", "2000g" },
	  "--mempool-max-bytes '2000g': must be 1024..1099511627776" },
	{ { "--handshake-timeout-ms", "99" },
	  "--handshake-timeout-ms '99': must be 100..600000" },
	{ { "--inv-batch-ms", "10001" }, "--inv-batch-ms '10001': must be 0..10000" },
	{ { "--ping-interval-ms", "20000", "--peer-timeout-ms", "15000" },
	  "--peer-timeout-ms '15000': must be greater than --ping-interval-ms (20000)" },
	{ { "--peer", "node2:0" }, "--peer 'node2:0': port must be 1..65535" },
	{ { "--peer", "node2:65536" }, "--peer 'node2:65536': port out of range (0..65535)" },
	{ { "--peer", "node2:99999999999999999999" },
	  "--peer 'node2:99999999999999999999': port out of range (0..65535)" },
	{ { "--peer", "node2" }, "--peer 'node2': missing port (expected HOST:PORT)" },
	{ { "--peer", ":7000" }, "--peer ':7000': empty host" },
	{ { "--peer", "node2:" }, "--peer 'node2:': empty port" },
	{ { "--peer", "node2:+7" }, "--peer 'node2:+7': bad port" },
	{ { "--peer", "::1:7000" },
	  "--peer '::1:7000': an IPv6 address needs brackets, e.g. [::1]:8000" },
	{ { "--peer", "[::1:7000" }, "--peer '[::1:7000': missing ']'" },
	{ { "--peer", "[::1]7000" },
	  "--peer '[::1]7000': missing port (expected [HOST]:PORT)" },
	{ { "--peer", "[]:7000" }, "--peer '[]:7000': empty host" },
	{ { "--peer", "[zz]:7000" }, "--peer '[zz]:7000': bad IPv6 address" },
	{ { "--peer", "a b:1" }, "--peer 'a b:1': bad host" },
	{ { "--peer", "a:1,,b:2" }, "--peer 'a:1,,b:2': empty address in list" },
	{ { "--peer", "a:1," }, "--peer 'a:1,': empty address in list" },
	{ { "--peer", "a:1,node2:70x0" }, "--peer 'node2:70x0': bad port" },
	{ { "--peer", "" }, "--peer '': empty address in list" },
	{ { "--listen", "0.0.0.0:x" }, "--listen '0.0.0.0:x': bad port" },
	{ { "--listen", "" }, "--listen '': empty address (expected HOST:PORT)" },
	{ { "--api", "[::1]" }, "--api '[::1]': missing port (expected [HOST]:PORT)" },
	{ { "--name", "a b" },
	  "--name 'a b': must be 1..64 printable characters without spaces" },
	{ { "--name", "" },
	  "--name '': must be 1..64 printable characters without spaces" },
	{ { "--network", "net\x01" },
	  "--network 'net\x01': must be 1..64 printable characters without spaces" },
	{ { "--name", "n12345678901234567890123456789012345678901234567890123456789012345" },
	  "--name 'n12345678901234567890123456789012345678901234567890123456789012345': "
	  "must be 1..64 printable characters without spaces" },
	{ { "--log-level", "verbose" },
	  "--log-level 'verbose': must be debug|info|warn|error" },
	{ { "--log-format", "xml" }, "--log-format 'xml': must be text|json" },
	{ { "--peer-exchange", "maybe" },
	  "--peer-exchange 'maybe': must be on|off|true|false|1|0" },
	{ { "--data-dir", "" }, "--data-dir '': must not be empty" },
	{ { "--log-file", "" }, "--log-file '': must not be empty" },
	{ { "--api-token-file", "" }, "--api-token-file '': must not be empty" },
	{ { "--frob" }, "unknown option '--frob' (see --help)" },
	{ { "-x" }, "unknown option '-x' (see --help)" },
	{ { "--peer" }, "--peer: missing value" },
	{ { "stray" }, "unexpected argument 'stray' (see --help)" },
	{ { "--api-insecure=yes" }, "'--api-insecure=yes': this option takes no value" },
	{ { "--config", "/nonexistent/x.conf" },
	  "--config '/nonexistent/x.conf': No such file or directory" },
};

static void
test_config_bad_values(void **state)
{
	struct config	c;
	char		err[1024];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		err[0] = '\0';
		if (parse(&c, bad_args[i].args, NULL, err, sizeof(err), NULL) != -1)
			fail_msg("case %zu (%s %s) was accepted", i, bad_args[i].args[0],
			    bad_args[i].args[1] != NULL ? bad_args[i].args[1] : "");
		if (strcmp(err, bad_args[i].err) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    bad_args[i].err);
	}
}

static void
test_config_bad_env(void **state)
{
	struct config	 c;
	const char	*env[3] = { NULL, NULL, NULL };
	char		 err[512];

	(void)state;
	env[0] = "NODED_MAX_PEERS=-1";
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NODED_MAX_PEERS '-1': not a number");
	env[0] = "NODED_PEER=a:1,b:x";
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err, "NODED_PEER 'b:x': bad port");
	/* A bad NODED_CONFIG is reported as NODED_CONFIG, not --config. */
	env[0] = "NODED_CONFIG=/nonexistent/x.conf";
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err,
	    "NODED_CONFIG '/nonexistent/x.conf': No such file or directory");
	env[0] = "NODED_API_INSECURE=yes";
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	assert_string_equal(err,
	    "NODED_API_INSECURE 'yes': must be on|off|true|false|1|0");
	/* The command line does not rescue a bad environment value. */
	{
		const char *args[] = { "--max-peers", "3", NULL };

		env[0] = "NODED_MAX_PEERS=lots";
		assert_int_equal(parse(&c, args, env, err, sizeof(err), NULL), -1);
		assert_string_equal(err, "NODED_MAX_PEERS 'lots': not a number");
	}
	/* Unrelated variables and other prefixes are ignored. */
	env[0] = "NODED_UNKNOWN_THING=1";
	env[1] = "XNODED_MAX_PEERS=nonsense";
	parse_ok(&c, NULL, env);
	expect_field(&c, "max-peers", "125");
}

static void
test_config_file_syntax(void **state)
{
	static const struct {
		const char	*text;
		const char	*err;		/* after "PATH:"; NULL: accepted */
	} cases[] = {
		{ "max-peers = 20\nbogus = 1\n", "2: unknown option 'bogus'" },
		{ "max-peers = x\n", "1: max-peers 'x': not a number" },
		{ "\n\n# c\npeer = node2:70x0\n", "4: peer 'node2:70x0': bad port" },
		{ "= 5\n", "1: expected 'option = value'" },
		{ "max-peers\n", "1: expected 'max-peers = value'" },
		{ "config = other.conf\n", "1: 'config' cannot be set in a config file" },
		{ "help = 1\n", "1: 'help' cannot be set in a config file" },
		{ "name = \"abc\n", "1: missing closing quote" },
		{ "name = \"abc\" def\n", "1: text after closing quote" },
		{ "--max-peers = 3\n", "1: unknown option '--max-peers'" },
		{ "MAX-PEERS = 3\n", "1: unknown option 'MAX-PEERS'" },
		{ "validators = 0 # too few\n", "1: validators '0': must be 1..256" },
		{ "max-peers = 20\n", NULL },
		{ "  max-peers=20  \n", NULL },
		{ "max-peers = 20 # inbound\n", NULL },
		{ "max-peers = 20", NULL },
		{ "\t# only comments\n\nmax-peers = 20\n", NULL },
		{ "max-peers = 20\r\n", NULL },
	};
	struct config	 c;
	const char	*file, *args[3];
	char		 err[1024], want[1024];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		file = write_file("syntax.conf", cases[i].text);
		args[0] = "--config";
		args[1] = file;
		args[2] = NULL;
		err[0] = '\0';
		if (cases[i].err == NULL) {
			if (parse(&c, args, NULL, err, sizeof(err), NULL) != 0)
				fail_msg("case %zu refused: %s", i, err);
			expect_field(&c, "max-peers", "20");
			continue;
		}
		assert_int_equal(parse(&c, args, NULL, err, sizeof(err), NULL), -1);
		snprintf(want, sizeof(want), "%s:%s", file, cases[i].err);
		if (strcmp(err, want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, want);
	}

	/* Quotes keep '#' and blanks. */
	file = write_file("q.conf", "log-file = \"/tmp/a #b.log\"  # comment\n"
	    "data-dir = /srv/x#y\n");
	args[1] = file;
	parse_ok(&c, args, NULL);
	expect_field(&c, "log-file", "/tmp/a #b.log");
	expect_field(&c, "data-dir", "/srv/x#y");

	/* A line over 8 KiB is refused, not split. */
	{
		char	*big = malloc(10000);

		assert_non_null(big);
		memset(big, 'a', 9998);
		memcpy(big, "name = ", 7);
		big[9998] = '\n';
		big[9999] = '\0';
		file = write_file("long.conf", big);
		free(big);
		args[1] = file;
		assert_int_equal(parse(&c, args, NULL, err, sizeof(err), NULL), -1);
		snprintf(want, sizeof(want), "%s:1: line too long (at most 8192 bytes)",
		    file);
		assert_string_equal(err, want);
	}
}

static void
test_config_peer_lists(void **state)
{
	struct config	 c;
	char		 list[64 * 16 + 16], one[32], err[512];
	const char	*args[8], *file;
	size_t		 i;

	(void)state;
	args[0] = "--peer";
	args[1] = "node2:7000, node3:7001 ,[2001:db8::1]:7002";
	args[2] = "--peer";
	args[3] = "[fe80::1%eth0]:7003";
	args[4] = NULL;
	parse_ok(&c, args, NULL);
	assert_int_equal(c.npeers, 4);
	assert_string_equal(c.peers[0].host, "node2");
	assert_int_equal(c.peers[0].port, 7000);
	assert_string_equal(c.peers[1].host, "node3");
	assert_int_equal(c.peers[1].port, 7001);
	assert_string_equal(c.peers[2].host, "2001:db8::1");
	assert_int_equal(c.peers[2].port, 7002);
	assert_string_equal(c.peers[3].host, "fe80::1%eth0");

	/* The file's lines accumulate. */
	file = write_file("peers.conf", "peer = a:1\npeer = b:2,c:3\n");
	args[0] = "--config";
	args[1] = file;
	args[2] = NULL;
	parse_ok(&c, args, NULL);
	expect_field(&c, "peer", "a:1,b:2,c:3");

	/* At most CONFIG_MAX_PEERS_LIST. */
	list[0] = '\0';
	for (i = 0; i < CONFIG_MAX_PEERS_LIST; i++) {
		snprintf(one, sizeof(one), "%sp%zu:1", i > 0 ? "," : "", i);
		strcat(list, one);
	}
	args[0] = "--peer";
	args[1] = list;
	args[2] = NULL;
	parse_ok(&c, args, NULL);
	assert_int_equal(c.npeers, CONFIG_MAX_PEERS_LIST);
	args[2] = "--peer";
	args[3] = "one-too-many:1";
	args[4] = NULL;
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), NULL), -1);
	assert_string_equal(err,
	    "--peer 'one-too-many:1': too many peers (at most 64)");
}

/* The --help block of option name: its line and the one below; NULL if none. */
static const char *
help_block(const char *help, const char *name, char *out, size_t outlen)
{
	char		 key[80];
	const char	*p, *nl;

	snprintf(key, sizeof(key), "\n  --%s ", name);
	if ((p = strstr(help, key)) == NULL)
		return NULL;
	p++;
	if ((nl = strchr(p, '\n')) == NULL || (nl = strchr(nl + 1, '\n')) == NULL)
		return NULL;
	snprintf(out, outlen, "%.*s", (int)(nl - p + 1), p);
	return out;
}

/*
 * --help shows the range of each option that takes a value on the line
 * below it, in the words of the option's "must be ..." messages: one table
 * makes both.
 */
static void
test_config_help_ranges(void **state)
{
	struct config	 c;
	const char	*args[] = { "--help", NULL }, *must, *opt;
	char		 err[256], *out, block[512], want[512];
	size_t		 i, checked = 0;

	(void)state;
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &out), 1);
	for (i = 0; i < NOPTIONS; i++) {
		if (options[i].value == NULL)
			continue;	/* a flag: no range */
		if (help_block(out, options[i].opt, block, sizeof(block)) == NULL)
			fail_msg("--%s: not in --help", options[i].opt);
		if (strstr(block, "\n                               range: ") ==
		    NULL)
			fail_msg("--%s: no range in --help:\n%s", options[i].opt,
			    block);
	}
	for (i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		opt = bad_args[i].args[0];
		must = strstr(bad_args[i].err, ": must be ");
		if (must == NULL || strstr(must, " than ") != NULL ||
		    strncmp(opt, "--", 2) != 0)
			continue;
		assert_non_null(help_block(out, opt + 2, block, sizeof(block)));
		snprintf(want, sizeof(want), "range: %s\n", must + 10);
		if (strstr(block, want) == NULL)
			fail_msg("%s: --help does not say \"%s\":\n%s", opt,
			    must + 10, block);
		checked++;
	}
	assert_true(checked >= 15);
	free(out);
}

#define MAN_PAGE	"man/noded.8"
#define MAN_NEW		"build/noded.8.new"
#define MAN_BEGIN	".\\\" OPTIONS BEGIN"
#define MAN_END		".\\\" OPTIONS END"

/* Reads a whole file; NULL if it cannot. */
static char *
slurp(const char *path)
{
	FILE	*f;
	char	*buf;
	long	 len;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * man/noded.8's list of options is the one config_man() makes from the
 * table, between its OPTIONS BEGIN and OPTIONS END comment lines.  When it
 * is not, the test writes the page as it should be and says how to take it.
 */
static void
test_config_man_page(void **state)
{
	struct config	 c;
	const char	*args[] = { "--help", NULL }, *q;
	char		*page, *begin, *end, *gen = NULL, *help, *p, var[64];
	char		 err[256], want[256], range[200];
	size_t		 genlen = 0, i;
	FILE		*f;

	(void)state;
	if ((page = slurp(MAN_PAGE)) == NULL)
		fail_msg("%s: cannot read it (run from the top of the source "
		    "tree, as make unit does)", MAN_PAGE);
	begin = strstr(page, MAN_BEGIN);
	end = strstr(page, MAN_END);
	if (begin == NULL || end == NULL || end < begin)
		fail_msg("%s: no '%s' ... '%s' lines around the list of options",
		    MAN_PAGE, MAN_BEGIN, MAN_END);
	begin = strchr(begin, '\n') + 1;
	f = open_memstream(&gen, &genlen);
	assert_non_null(f);
	config_man(f);
	fclose(f);
	if ((size_t)(end - begin) != genlen || memcmp(begin, gen, genlen) != 0) {
		f = fopen(MAN_NEW, "w");
		assert_non_null(f);
		fwrite(page, 1, (size_t)(begin - page), f);
		fwrite(gen, 1, genlen, f);
		fputs(end, f);
		fclose(f);
		fail_msg("%s: its list of options is not the one the table in "
		    "daemon/base/config.c makes.  Edit the table, not the page; "
		    "this test just wrote the page as it should be: review "
		    "'diff %s %s', then 'cp %s %s'", MAN_PAGE, MAN_PAGE, MAN_NEW,
		    MAN_NEW, MAN_PAGE);
	}

	/* Each option has its item, its range as --help says it, its variable. */
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &help), 1);
	for (i = 0; i < NOPTIONS; i++) {
		snprintf(want, sizeof(want), ".It Fl \\-");
		for (q = options[i].opt; *q != '\0'; q++) {
			if (*q == '-')
				strcat(want, "\\");
			strncat(want, q, 1);
		}
		if (strstr(gen, want) == NULL)
			fail_msg("no '%s' in the man page", want);
		env_name(options[i].opt, var, sizeof(var));
		snprintf(want, sizeof(want), "Environment:\n.Ev %s .\n", var);
		if (strstr(gen, want) == NULL)
			fail_msg("--%s: no '%s' in the man page", options[i].opt,
			    want);
	}
	for (p = help; (p = strstr(p, "range: ")) != NULL; p += 7) {
		snprintf(range, sizeof(range), "%.*s", (int)strcspn(p + 7, "\n"),
		    p + 7);
		snprintf(want, sizeof(want), "Range: %s.\n", range);
		if (strstr(gen, want) == NULL)
			fail_msg("--help says 'range: %s'; the man page does not",
			    range);
	}
	free(help);
	free(gen);
	free(page);
}

/* config_load prints the problem, prefixed, to stderr, and reads the real environment. */
static void
test_config_load_wrapper(void **state)
{
	struct config	 c;
	char		*argv[] = { (char *)"noded", (char *)"--validators",
			    (char *)"0", NULL };
	char		 errpath[128], buf[512], *home;
	int		 saved, fd, rc;
	ssize_t		 n;

	(void)state;
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	rc = config_load(&c, 3, argv);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(rc, -1);
	fd = open(errpath, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "noded: --validators '0': must be 1..256\n");

	/* (HOME: not the noded.conf of whoever runs the test.) */
	setenv("NODED_OUTBOUND", "3", 1);
	home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
	setenv("HOME", tmpdir, 1);
	rc = config_load(&c, 1, argv);
	unsetenv("NODED_OUTBOUND");
	if (home != NULL)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	free(home);
	assert_int_equal(rc, 0);
	assert_int_equal(c.outbound, 3);
}

/* Makes tmpdir/rel (and its parents); returns its path (static buffer). */
static const char *
make_dir(const char *rel)
{
	static char	p[256];
	char		cmd[400];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", p);
	assert_int_equal(system(cmd), 0);
	return p;
}

/* The default data dir is ~/.noded: HOME, unless a source names another. */
static void
test_config_default_data_dir(void **state)
{
	struct config	 c;
	const char	*env[3], *args[3];
	char		 home[128], want[256];

	(void)state;
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	env[0] = home;
	env[1] = NULL;
	parse_ok(&c, NULL, env);
	snprintf(want, sizeof(want), "%s/.noded", tmpdir);
	expect_field(&c, "data-dir", want);
	assert_string_equal(config_source(&c, "data-dir"), "default data-dir");
	snprintf(want, sizeof(want), "%s/.noded/noded.log", tmpdir);
	expect_field(&c, "log-file", want);

	/* A trailing slash in HOME adds no second one. */
	snprintf(home, sizeof(home), "HOME=%s/", tmpdir);
	parse_ok(&c, NULL, env);
	snprintf(want, sizeof(want), "%s/.noded", tmpdir);
	expect_field(&c, "data-dir", want);

	/* NODED_DATA_DIR and --data-dir win over it. */
	env[1] = "NODED_DATA_DIR=/srv/env-dir";
	env[2] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "data-dir", "/srv/env-dir");
	expect_field(&c, "log-file", "/srv/env-dir/noded.log");
	args[0] = "--data-dir";
	args[1] = "/srv/opt-dir";
	args[2] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "data-dir", "/srv/opt-dir");
	assert_string_equal(config_source(&c, "data-dir"), "--data-dir");
}

/*
 * noded.conf in the data dir is read when it is there; which data dir is
 * the command line's, else NODED_DATA_DIR's, else ~/.noded.  A file that
 * --config or NODED_CONFIG names replaces it.
 */
static void
test_config_own_conf(void **state)
{
	struct config	 c;
	const char	*env[4], *args[5], *file;
	char		 home[128], dd[300], var[300], want[512], err[1024];
	char		 path[256], d2[256], d3[256];

	(void)state;
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	make_dir(".noded");
	file = write_file(".noded/noded.conf", "max-peers = 7\n# c\n"
	    "log-level = debug\n");
	snprintf(path, sizeof(path), "%s", file);
	env[0] = home;
	env[1] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "max-peers", "7");
	expect_field(&c, "log-level", "0");
	expect_field(&c, "config", path);
	assert_string_equal(config_source(&c, "config"), "default config");
	snprintf(want, sizeof(want), "%s:1: max-peers", path);
	assert_string_equal(config_source(&c, "max-peers"), want);
	snprintf(want, sizeof(want), "%s:3: log-level", path);
	assert_string_equal(config_source(&c, "log-level"), want);

	/* The environment and the command line still win over it. */
	env[1] = "NODED_MAX_PEERS=8";
	env[2] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "max-peers", "8");
	args[0] = "--max-peers";
	args[1] = "9";
	args[2] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "max-peers", "9");

	/* Another data dir: its own noded.conf, not ~/.noded's. */
	snprintf(d2, sizeof(d2), "%s", make_dir("d2"));
	write_file("d2/noded.conf", "outbound = 3\n");
	args[0] = "--data-dir";
	args[1] = d2;
	args[2] = NULL;
	env[1] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "outbound", "3");
	expect_field(&c, "max-peers", "125");
	snprintf(dd, sizeof(dd), "NODED_DATA_DIR=%s", d2);
	env[1] = dd;
	env[2] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "outbound", "3");
	expect_field(&c, "max-peers", "125");
	/* --data-dir over NODED_DATA_DIR picks the file too (the last one given). */
	snprintf(want, sizeof(want), "%s/.noded", tmpdir);
	args[0] = "--data-dir";
	args[1] = "/nonexistent/first";
	args[2] = "--data-dir";
	args[3] = want;
	args[4] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "max-peers", "7");
	expect_field(&c, "outbound", "8");

	/* A named file replaces it: --config, or NODED_CONFIG. */
	file = write_file("other.conf", "name = other\n");
	args[0] = "--config";
	args[1] = file;
	args[2] = NULL;
	env[1] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "name", "other");
	expect_field(&c, "max-peers", "125");
	expect_field(&c, "config", file);
	assert_string_equal(config_source(&c, "config"), "--config");
	snprintf(var, sizeof(var), "NODED_CONFIG=%s", file);
	env[1] = var;
	env[2] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "name", "other");
	expect_field(&c, "max-peers", "125");
	assert_string_equal(config_source(&c, "config"), "NODED_CONFIG");

	/* None there: fine, and nothing is read. */
	snprintf(home, sizeof(home), "HOME=%s/nohome", tmpdir);
	env[1] = NULL;
	parse_ok(&c, NULL, env);
	expect_field(&c, "config", "");
	expect_field(&c, "max-peers", "125");

	/* It cannot move the data dir it was found in. */
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	write_file(".noded/noded.conf", "max-peers = 7\ndata-dir = /elsewhere\n");
	assert_int_equal(parse(&c, NULL, env, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "%s:2: 'data-dir' cannot be set in the data "
	    "directory's own noded.conf (give --data-dir or NODED_DATA_DIR, or "
	    "name a file with --config)", path);
	assert_string_equal(err, want);
	/* ... which a named file may. */
	args[0] = "--config";
	args[1] = path;
	args[2] = NULL;
	parse_ok(&c, args, env);
	expect_field(&c, "data-dir", "/elsewhere");

	/* One that is there but cannot be read is an error, named. */
	snprintf(d3, sizeof(d3), "%s", make_dir("d3/noded.conf"));
	args[0] = "--data-dir";
	args[1] = make_dir("d3");
	args[2] = NULL;
	assert_int_equal(parse(&c, args, env, err, sizeof(err), NULL), -1);
	snprintf(want, sizeof(want), "default config '%s': Is a directory", d3);
	assert_string_equal(err, want);
}

/*
 * --print-config: every option, its value and its source; unset ones as
 * comments.  The text read back as a config file gives the same values.
 */
static void
test_config_print(void **state)
{
	struct config	 a, b;
	const char	*file, *args[10], *env[4];
	char		*out, err[512], want[600], va[4200], vb[4200], rt[256];
	char		 home[128];
	size_t		 i;

	(void)state;
	file = write_file("pc.conf", "name = fname\npeer = a:1, b:2\n"
	    "log-file = \"/tmp/a #b.log\"\nmempool-max-bytes = 64m\n");
	args[0] = "--config";
	args[1] = file;
	args[2] = "--outbound";
	args[3] = "2";
	args[4] = "--api-insecure";
	args[5] = "--print-config";
	args[6] = NULL;
	env[0] = "NODED_MAX_PEERS=9";
	env[1] = "NODED_DATA_DIR=/nonexistent/pc";
	env[2] = NULL;
	assert_int_equal(parse(&a, args, env, err, sizeof(err), &out), 1);

	snprintf(want, sizeof(want), "# noded %s: ", version_get());
	assert_memory_equal(out, want, strlen(want));
	snprintf(want, sizeof(want), "\n# config: %s (--config)\n", file);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\n%-40s # %s:1: name\n", "name = fname", file);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\n%-40s # %s:2: peer\n", "peer = a:1,b:2",
	    file);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\n%-40s # %s:3: log-file\n",
	    "log-file = \"/tmp/a #b.log\"", file);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\n%-40s # %s:4: mempool-max-bytes\n",
	    "mempool-max-bytes = 64m", file);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\nmax-peers = 9                            "
	    "# NODED_MAX_PEERS\n"));
	assert_non_null(strstr(out, "\ndata-dir = /nonexistent/pc               "
	    "# NODED_DATA_DIR\n"));
	assert_non_null(strstr(out, "\noutbound = 2                             "
	    "# --outbound\n"));
	assert_non_null(strstr(out, "\napi-insecure = on                        "
	    "# --api-insecure\n"));
	assert_non_null(strstr(out, "\nlisten = 0.0.0.0:7000                    "
	    "# default listen\n"));
	assert_non_null(strstr(out, "\nlog-level = info                         "
	    "# default log-level\n"));
	assert_non_null(strstr(out, "\n# api-token-file: none (default "
	    "api-token-file)\n"));
	/* Every option with a value has its line. */
	for (i = 0; i < NOPTIONS; i++) {
		snprintf(want, sizeof(want), "\n%s = ", options[i].opt);
		if (strstr(out, want) == NULL) {
			snprintf(want, sizeof(want), "\n# %s: ", options[i].opt);
			if (strstr(out, want) == NULL)
				fail_msg("--print-config has no line for %s:\n%s",
				    options[i].opt, out);
		}
	}

	/* Read back, it gives every value again. */
	snprintf(rt, sizeof(rt), "%s", write_file("rt.conf", out));
	free(out);
	args[5] = NULL;
	parse_ok(&a, args, env);
	args[0] = "--config";
	args[1] = rt;
	args[2] = NULL;
	parse_ok(&b, args, NULL);
	for (i = 0; i < NOPTIONS; i++) {
		field(&a, options[i].opt, va, sizeof(va));
		field(&b, options[i].opt, vb, sizeof(vb));
		if (strcmp(va, vb) != 0)
			fail_msg("%s: '%s' printed, '%s' read back", options[i].opt,
			    va, vb);
	}

	/* No config file; a name that main.c gives; and a bad value is an error. */
	snprintf(home, sizeof(home), "HOME=%s", tmpdir);
	env[0] = home;
	env[1] = NULL;
	args[0] = "--listen";
	args[1] = "127.0.0.1:0";
	args[2] = "--print-config";
	args[3] = NULL;
	assert_int_equal(parse(&a, args, env, err, sizeof(err), &out), 1);
	snprintf(want, sizeof(want), "\n# config: none (default config: there is "
	    "no %s/.noded/noded.conf)\n", tmpdir);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\nname = %s", host_name());
	assert_non_null(strstr(out, want));
	free(out);
	args[2] = "--max-peers";
	args[3] = "-1";
	args[4] = "--print-config";
	args[5] = NULL;
	out = NULL;
	assert_int_equal(parse(&a, args, env, err, sizeof(err), &out), -1);
	assert_string_equal(err, "--max-peers '-1': not a number");
	assert_true(out == NULL || out[0] == '\0');
	free(out);
}

#define DOC_PAGE	"docs/CONFIG.md"
#define DOC_NEW		"build/CONFIG.md.new"
#define DOC_BEGIN	"<!-- OPTIONS BEGIN"
#define DOC_END		"<!-- OPTIONS END"

/*
 * docs/CONFIG.md's table of options is the one config_markdown() makes,
 * between its OPTIONS BEGIN and OPTIONS END comments: every option with its
 * variable, default and range.  When it is not, the test writes the page as
 * it should be and says how to take it.
 */
static void
test_config_docs(void **state)
{
	const char	*args[] = { "--help", NULL };
	struct config	 c;
	char		*page, *begin, *end, *gen = NULL, *help, *p, err[256];
	char		 range[200], want[420], var[64], *q;
	size_t		 genlen = 0, i;
	FILE		*f;

	(void)state;
	if ((page = slurp(DOC_PAGE)) == NULL)
		fail_msg("%s: cannot read it (run from the top of the source "
		    "tree, as make unit does)", DOC_PAGE);
	begin = strstr(page, DOC_BEGIN);
	end = strstr(page, DOC_END);
	if (begin == NULL || end == NULL || end < begin)
		fail_msg("%s: no '%s' ... '%s' lines around the table of options",
		    DOC_PAGE, DOC_BEGIN, DOC_END);
	begin = strchr(begin, '\n') + 1;
	f = open_memstream(&gen, &genlen);
	assert_non_null(f);
	config_markdown(f);
	fclose(f);
	if ((size_t)(end - begin) != genlen || memcmp(begin, gen, genlen) != 0) {
		f = fopen(DOC_NEW, "w");
		assert_non_null(f);
		fwrite(page, 1, (size_t)(begin - page), f);
		fwrite(gen, 1, genlen, f);
		fputs(end, f);
		fclose(f);
		fail_msg("%s: its table of options is not the one the table in "
		    "daemon/base/config.c makes.  Edit the table, not the page; "
		    "this test just wrote the page as it should be: review "
		    "'diff %s %s', then 'cp %s %s'", DOC_PAGE, DOC_PAGE, DOC_NEW,
		    DOC_NEW, DOC_PAGE);
	}
	/* Each option's row, with its variable; each range --help gives. */
	for (i = 0; i < NOPTIONS; i++) {
		env_name(options[i].opt, var, sizeof(var));
		snprintf(want, sizeof(want), "\n| `--%s", options[i].opt);
		p = strstr(gen, want);
		if (p == NULL)
			fail_msg("no row for --%s in %s", options[i].opt, DOC_PAGE);
		snprintf(want, sizeof(want), "| `%s` |", var);
		if (strstr(p, want) == NULL || strstr(p, want) > strchr(p + 1, '\n'))
			fail_msg("--%s: no %s in its row", options[i].opt, var);
	}
	assert_int_equal(parse(&c, args, NULL, err, sizeof(err), &help), 1);
	for (p = help; (p = strstr(p, "range: ")) != NULL; p += 7) {
		snprintf(range, sizeof(range), "%.*s", (int)strcspn(p + 7, "\n"),
		    p + 7);
		/* Markdown escapes the '|' of "on|off". */
		for (i = 0, q = want; range[i] != '\0'; i++) {
			if (range[i] == '|')
				*q++ = '\\';
			*q++ = range[i];
		}
		*q = '\0';
		if (strstr(gen, want) == NULL)
			fail_msg("--help says 'range: %s'; %s does not", range,
			    DOC_PAGE);
	}
	free(help);
	free(gen);
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test_setup_teardown(test_config_each_option_each_source,
		    tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_config_help_lists_all),
		cmocka_unit_test_setup_teardown(test_config_precedence, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_booleans, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_config_derived),
		cmocka_unit_test_setup_teardown(test_config_cross_check_sources,
		    tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_source, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test(test_config_bad_values),
		cmocka_unit_test(test_config_bad_env),
		cmocka_unit_test_setup_teardown(test_config_file_syntax, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_peer_lists, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test(test_config_help_ranges),
		cmocka_unit_test(test_config_man_page),
		cmocka_unit_test_setup_teardown(test_config_load_wrapper, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_default_data_dir,
		    tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_own_conf, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_config_print, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test(test_config_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
