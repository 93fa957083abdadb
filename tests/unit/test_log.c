/*
 * test_log.c: the log line formats (text and JSON, with an event's fields),
 * escaping, truncation, level filtering, one copy of each line (file or
 * stderr), reopening, libevent routing and its rate limit, and many threads
 * writing at once without a torn or interleaved line.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <jansson.h>

#include "base/log.h"

#define TEXT_RE	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z " \
		"([^ ]+) (DEBUG|INFO|WARN|ERROR) ([^ :]+): (.*)$"

static char	tmpdir[64];
static char	path[128];
static int	saved_stderr = -1;

/* Sends stderr to a file (or /dev/null) while a test logs a lot. */
static void
stderr_to(const char *p)
{
	int	fd;

	fflush(stderr);
	if (saved_stderr == -1)
		saved_stderr = dup(STDERR_FILENO);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void
stderr_restore(void)
{
	if (saved_stderr != -1) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_log.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/noded.log", tmpdir);
	stderr_to("/dev/null");
	return 0;
}

static int
teardown(void **state)
{
	char	p[192];

	(void)state;
	log_close();
	stderr_restore();
	unlink(path);
	snprintf(p, sizeof(p), "%s/old.log", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/stderr", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

/* The whole file, NUL-terminated; *len its size.  Caller frees. */
static char *
slurp(const char *p, size_t *len)
{
	FILE	*f = fopen(p, "r");
	char	*buf;
	long	 n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

static size_t
count_lines(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_log_parse_names(void **state)
{
	static const struct {
		const char	*s;
		int		 level;
	} levels[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO }, { "warn", LOG_WARN },
		{ "error", LOG_ERROR }, { "INFO", -1 }, { "warning", -1 },
		{ "", -1 }, { "trace", -1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		assert_int_equal(log_level_parse(levels[i].s), levels[i].level);
	assert_int_equal(log_format_parse("text"), LOG_TEXT);
	assert_int_equal(log_format_parse("json"), LOG_JSON);
	assert_int_equal(log_format_parse("JSON"), -1);
	assert_int_equal(log_format_parse("xml"), -1);
}

static void
test_log_text_format(void **state)
{
	regex_t		 re;
	regmatch_t	 m[5];
	char		*buf, *line, *save, ts[32];
	struct tm	 tm;
	time_t		 t, now;
	int		 n = 0;
	static const char *expect[] = {
		" node1 INFO gossip: tx 3fa2c1d09b1e7a55 accepted from node2 amount=42",
		" node1 DEBUG net: debug line",
		" node1 WARN api: warn line",
		" node1 ERROR main: error line",
	};

	(void)state;
	assert_int_equal(log_open("node1", path, LOG_DEBUG, LOG_TEXT), 0);
	log_info("gossip", "tx %.16s accepted from %s amount=%d",
	    "3fa2c1d09b1e7a55ffff", "node2", 42);
	log_debug("net", "debug line");
	log_warn("api", "warn line");
	log_error("main", "error line");
	log_close();

	assert_int_equal(regcomp(&re, TEXT_RE, REG_EXTENDED), 0);
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 4);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		assert_int_equal(regexec(&re, line, 5, m, 0), 0);
		assert_int_equal(m[1].rm_eo - m[1].rm_so, 5);
		assert_memory_equal(line + m[1].rm_so, "node1", 5);
	}
	assert_int_equal(n, 4);
	/* Exactly the documented lines, after the 24-character timestamp. */
	free(buf);
	buf = slurp(path, NULL);
	for (line = strtok_r(buf, "\n", &save), n = 0; line != NULL;
	    line = strtok_r(NULL, "\n", &save), n++) {
		assert_true(strlen(line) > 24);
		assert_string_equal(line + 24, expect[n]);
	}
	free(buf);
	buf = slurp(path, NULL);
	/* The timestamp is UTC and now. */
	memcpy(ts, buf, 19);
	ts[19] = '\0';
	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm));
	t = timegm(&tm);
	now = time(NULL);
	assert_true(t <= now && now - t < 10);
	free(buf);
	regfree(&re);
}

/*
 * A kind of message rate limited: its burst goes out, the rest is counted,
 * and one line sums it up once the window is over, from the next message
 * or from log_tick; below --log-level nothing is spent.  (Issue 9: one
 * WARN line per refused connection wrote 20.8 MB in 24 s.)
 */
static struct log_limit test_limit = LOG_LIMIT("net", "refused connections", 2,
    300);

static void
test_log_limited(void **state)
{
	char	*buf;
	int	 i;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	for (i = 0; i < 1000; i++)
		log_limited(&test_limit, LOG_WARN, "refusing connection %d", i);
	log_limited(&test_limit, LOG_DEBUG, "below the level: not counted");
	usleep(350 * 1000);
	log_tick();
	/* A new window: its burst again, then a summary at close. */
	for (i = 0; i < 5; i++)
		log_limited(&test_limit, LOG_INFO, "again %d", i);
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 6);
	assert_non_null(strstr(buf, " n WARN net: refusing connection 0\n"));
	assert_non_null(strstr(buf, " n WARN net: refusing connection 1\n"));
	assert_null(strstr(buf, "refusing connection 2\n"));
	assert_non_null(strstr(buf, " n WARN net: refused connections: 998 similar "
	    "messages suppressed in the last 1 s (last: refusing connection 999)\n"));
	assert_non_null(strstr(buf, " n INFO net: again 0\n"));
	assert_non_null(strstr(buf, " n INFO net: again 1\n"));
	assert_non_null(strstr(buf, " n INFO net: refused connections: 3 similar "
	    "messages suppressed in the last 1 s (last: again 4)\n"));
	assert_null(strstr(buf, "below the level"));
	free(buf);
}

static void
test_log_level_filter(void **state)
{
	char	*buf;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_WARN, LOG_TEXT), 0);
	log_debug("x", "not shown");
	log_info("x", "not shown");
	log_warn("x", "shown warn");
	log_error("x", "shown error");
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 2);
	assert_null(strstr(buf, "not shown"));
	assert_non_null(strstr(buf, " n WARN x: shown warn\n"));
	assert_non_null(strstr(buf, " n ERROR x: shown error\n"));
	free(buf);
}

static void
test_log_text_escapes(void **state)
{
	char	*buf;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	log_info("x", "two\nlines\r and a \x01 bell\ttab");
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 1);
	assert_non_null(strstr(buf, " n INFO x: two\\nlines\\r and a \\x01 "
	    "bell\ttab\n"));
	free(buf);
}

/*
 * One copy of each line: to the file when there is one, else to stderr.
 * Until log_started(), error lines also go to stderr, so a node that cannot
 * start says why where it was started.
 */
static void
test_log_one_copy(void **state)
{
	char	errpath[192], *a, *b;

	(void)state;
	snprintf(errpath, sizeof(errpath), "%s/stderr", tmpdir);
	stderr_to(errpath);
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	log_info("x", "file only");
	log_warn("x", "a warning, file only");
	log_error("x", "start-up error");
	log_started();
	log_error("x", "running error, file only");
	log_close();
	/* Without a file, stderr alone. */
	assert_int_equal(log_open("n", NULL, LOG_INFO, LOG_TEXT), 0);
	log_info("x", "stderr only");
	log_started();
	log_error("x", "stderr error");
	log_close();
	stderr_to("/dev/null");
	a = slurp(path, NULL);
	b = slurp(errpath, NULL);
	assert_int_equal(count_lines(a), 4);
	assert_non_null(strstr(a, " n INFO x: file only\n"));
	assert_non_null(strstr(a, " n WARN x: a warning, file only\n"));
	assert_non_null(strstr(a, " n ERROR x: start-up error\n"));
	assert_non_null(strstr(a, " n ERROR x: running error, file only\n"));
	assert_int_equal(count_lines(b), 3);
	assert_null(strstr(b, "file only"));
	assert_non_null(strstr(b, " n ERROR x: start-up error\n"));
	assert_non_null(strstr(b, " n INFO x: stderr only\n"));
	assert_non_null(strstr(b, " n ERROR x: stderr error\n"));
	/* The same line, byte for byte, in both places. */
	assert_memory_equal(strstr(a, "start-up error") - 24 - strlen(" n ERROR x: "),
	    b, strlen(b) - strlen(strchr(b, '\n') + 1));
	free(a);
	free(b);
}

static json_t	*json_line(const char *, size_t);

/* A JSON line as an object, any keys; fails on bad JSON. */
static json_t *
json_obj(const char *line, size_t len)
{
	json_error_t	 err;
	json_t		*o;

	o = json_loadb(line, len, 0, &err);
	if (o == NULL)
		fail_msg("bad JSON line '%.*s': %s", (int)len, line, err.text);
	assert_true(json_is_object(o));
	return o;
}

/*
 * log_event: in JSON each field is a key of its own (the amount a number),
 * unset ones absent; the text line is the message alone, as log_msg's.
 */
static void
test_log_json_fields(void **state)
{
	static const char *tx =
	    "3fa2c1d09b1e7a55aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char		 big[LOG_LINE_MAX * 2], peer[LOG_LINE_MAX], *buf, *p, *nl;
	json_t		*o;
	size_t		 len;
	const char	*key;
	json_t		*v;
	int		 n;

	(void)state;
	assert_int_equal(log_open("node1", path, LOG_INFO, LOG_JSON), 0);
	log_event(LOG_INFO, "gossip", &(struct log_fields){ .tx = tx,
	    .peer = "node2", .amount = 42, .has_amount = 1 },
	    "tx %.16s accepted from %s amount=%d", tx, "node2", 42);
	log_event(LOG_INFO, "gossip", &(struct log_fields){ .tx = tx,
	    .peer = "node\"2", .reason = "amount too high: 150 > 100",
	    .code = "amount_too_high" },
	    "tx %.16s rejected from %s: %s", tx, "node\"2",
	    "amount too high: 150 > 100");
	log_event(LOG_INFO, "net", &(struct log_fields){ .peer = "node3",
	    .addr = "127.0.0.1:7003", .peer_id = tx }, "peer node3 connected");
	log_event(LOG_INFO, "net", NULL, "no fields");
	log_event(LOG_INFO, "net", &(struct log_fields){ .amount = 18446744073709551615ULL,
	    .has_amount = 1 }, "max amount");
	/* A field too long for the line is left out whole; the line stays JSON. */
	memset(peer, 'p', sizeof(peer) - 1);
	peer[sizeof(peer) - 1] = '\0';
	log_event(LOG_INFO, "net", &(struct log_fields){ .peer = peer,
	    .reason = "kept" }, "huge peer");
	/* A message too long is cut; the fields are kept. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_event(LOG_INFO, "gossip", &(struct log_fields){ .tx = tx,
	    .code = "bad_signature" }, "%s", big);
	log_close();

	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 7);
	p = buf;
	nl = strchr(p, '\n');
	o = json_obj(p, (size_t)(nl - p));
	assert_string_equal(json_string_value(json_object_get(o, "tx")), tx);
	assert_string_equal(json_string_value(json_object_get(o, "peer")), "node2");
	assert_true(json_is_integer(json_object_get(o, "amount")));
	assert_int_equal(json_integer_value(json_object_get(o, "amount")), 42);
	assert_null(json_object_get(o, "reason"));
	assert_null(json_object_get(o, "code"));
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
	    "tx 3fa2c1d09b1e7a55 accepted from node2 amount=42");
	n = 0;
	json_object_foreach(o, key, v)
		n++;
	assert_int_equal(n, 8);
	json_decref(o);

	p = nl + 1;
	nl = strchr(p, '\n');
	o = json_obj(p, (size_t)(nl - p));
	assert_string_equal(json_string_value(json_object_get(o, "peer")),
	    "node\"2");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "amount too high: 150 > 100");
	assert_string_equal(json_string_value(json_object_get(o, "code")),
	    "amount_too_high");
	assert_null(json_object_get(o, "amount"));
	json_decref(o);

	p = nl + 1;
	nl = strchr(p, '\n');
	o = json_obj(p, (size_t)(nl - p));
	assert_string_equal(json_string_value(json_object_get(o, "addr")),
	    "127.0.0.1:7003");
	assert_string_equal(json_string_value(json_object_get(o, "peer_id")), tx);
	json_decref(o);

	p = nl + 1;
	nl = strchr(p, '\n');
	json_decref(json_line(p, (size_t)(nl - p)));	/* the five keys alone */

	p = nl + 1;
	nl = strchr(p, '\n');
	assert_non_null(strstr(p, ",\"amount\":18446744073709551615}"));

	p = nl + 1;
	nl = strchr(p, '\n');
	assert_true((size_t)(nl - p) < LOG_LINE_MAX);
	o = json_obj(p, (size_t)(nl - p));
	assert_null(json_object_get(o, "peer"));
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "kept");
	json_decref(o);

	p = nl + 1;
	nl = strchr(p, '\n');
	len = (size_t)(nl - p);
	assert_true(len < LOG_LINE_MAX);
	o = json_obj(p, len);
	assert_string_equal(json_string_value(json_object_get(o, "tx")), tx);
	assert_string_equal(json_string_value(json_object_get(o, "code")),
	    "bad_signature");
	p = (char *)json_string_value(json_object_get(o, "msg"));
	assert_string_equal(p + strlen(p) - 3, "...");
	json_decref(o);
	free(buf);
	unlink(path);

	/* Text: the message alone, exactly as log_msg writes it. */
	assert_int_equal(log_open("node1", path, LOG_INFO, LOG_TEXT), 0);
	log_event(LOG_INFO, "gossip", &(struct log_fields){ .tx = tx,
	    .peer = "node2", .amount = 42, .has_amount = 1,
	    .reason = "r", .code = "c" },
	    "tx %.16s accepted from %s amount=%d", tx, "node2", 42);
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 1);
	assert_string_equal(buf + 24,
	    " node1 INFO gossip: tx 3fa2c1d09b1e7a55 accepted from node2 amount=42\n");
	free(buf);
}

/* Parses one JSON log line and checks its keys; returns the object. */
static json_t *
json_line(const char *line, size_t len)
{
	json_error_t	 err;
	json_t		*o;
	const char	*key;
	json_t		*v;
	int		 nkeys = 0;

	o = json_loadb(line, len, 0, &err);
	if (o == NULL)
		fail_msg("bad JSON line '%.*s': %s", (int)len, line, err.text);
	assert_true(json_is_object(o));
	json_object_foreach(o, key, v) {
		assert_true(json_is_string(v));
		nkeys++;
	}
	assert_int_equal(nkeys, 5);
	assert_non_null(json_object_get(o, "ts"));
	assert_non_null(json_object_get(o, "node"));
	assert_non_null(json_object_get(o, "level"));
	assert_non_null(json_object_get(o, "subsys"));
	assert_non_null(json_object_get(o, "msg"));
	return o;
}

static void
test_log_json_format(void **state)
{
	static const char	*msgs[] = {
		"plain",
		"quote \" backslash \\ slash /",
		"newline\nreturn\rtab\tbell\x07 del\x7f",
		"utf-8 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	};
	regex_t		 re;
	char		*buf, *p, *nl;
	json_t		*o;
	size_t		 i = 0;

	(void)state;
	assert_int_equal(log_open("node-\"1\"", path, LOG_DEBUG, LOG_JSON), 0);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		log_warn("gossip", "%s", msgs[i]);
	log_info("api", "bad utf-8: \xff\xfe end \xc3");
	log_close();

	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$", REG_EXTENDED | REG_NOSUB), 0);
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 5);
	for (p = buf, i = 0; (nl = strchr(p, '\n')) != NULL; p = nl + 1, i++) {
		o = json_line(p, (size_t)(nl - p));
		assert_int_equal(regexec(&re, json_string_value(json_object_get(o,
		    "ts")), 0, NULL, 0), 0);
		assert_string_equal(json_string_value(json_object_get(o, "node")),
		    "node-\"1\"");
		if (i < 4) {
			assert_string_equal(json_string_value(json_object_get(o,
			    "level")), "warn");
			assert_string_equal(json_string_value(json_object_get(o,
			    "subsys")), "gossip");
			assert_string_equal(json_string_value(json_object_get(o,
			    "msg")), msgs[i]);
		} else {
			assert_string_equal(json_string_value(json_object_get(o,
			    "level")), "info");
			/* Ill-formed bytes become U+FFFD. */
			assert_string_equal(json_string_value(json_object_get(o,
			    "msg")), "bad utf-8: \xef\xbf\xbd\xef\xbf\xbd end "
			    "\xef\xbf\xbd");
		}
		json_decref(o);
	}
	assert_int_equal(i, 5);
	free(buf);
	regfree(&re);
}

static void
test_log_truncation(void **state)
{
	char	 big[LOG_LINE_MAX * 3], *buf, *nl;
	json_t	*o;
	size_t	 len;
	const char *msg;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Text: cut to the line bound, marked, one line. */
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	log_info("x", "%s", big);
	log_close();
	buf = slurp(path, &len);
	assert_int_equal(count_lines(buf), 1);
	assert_true(len <= LOG_LINE_MAX);
	assert_true(len > LOG_LINE_MAX - 16);
	assert_memory_equal(buf + len - 4, "...\n", 4);
	free(buf);
	unlink(path);

	/* JSON: cut inside the string, still valid JSON.  Quotes double in size when escaped. */
	memset(big, '"', 1000);
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_JSON), 0);
	log_info("x", "%s", big);
	/* Multi-byte characters are never split by the cut. */
	memset(big, 0, sizeof(big));
	for (len = 0; len + 3 < sizeof(big) - 1; len += 3)
		memcpy(big + len, "\xe2\x82\xac", 3);
	log_info("x", "%s", big);
	log_close();
	buf = slurp(path, &len);
	assert_int_equal(count_lines(buf), 2);
	nl = strchr(buf, '\n');
	assert_true((size_t)(nl - buf) < LOG_LINE_MAX);
	o = json_line(buf, (size_t)(nl - buf));
	msg = json_string_value(json_object_get(o, "msg"));
	assert_int_equal(msg[0], '"');
	assert_string_equal(msg + strlen(msg) - 3, "...");
	json_decref(o);
	o = json_line(nl + 1, strlen(nl + 1) - 1);
	msg = json_string_value(json_object_get(o, "msg"));
	assert_string_equal(msg + strlen(msg) - 3, "...");
	assert_memory_equal(msg + strlen(msg) - 6, "\xe2\x82\xac", 3);
	assert_true(strlen(nl + 1) <= LOG_LINE_MAX);
	json_decref(o);
	free(buf);
}

#define NTHREADS	8
#define NLINES		3000

struct writer {
	int	id;
};

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	char		 pad[1200];
	int		 i;
	size_t		 padlen;

	for (i = 0; i < NLINES; i++) {
		/* Lengths vary so that torn writes would show. */
		padlen = (size_t)((i * 131 + w->id * 17) % (int)sizeof(pad));
		memset(pad, 'a' + w->id, padlen);
		pad[padlen] = '\0';
		log_info("thread", "w=%d seq=%d len=%zu pad=%s end", w->id, i,
		    padlen, pad);
	}
	return NULL;
}

/* Every line well-formed and every (writer, seq) present exactly once, in order per writer. */
static void
check_thread_lines(const char *buf, int json, int nseen[NTHREADS])
{
	const char	*p, *nl, *msg;
	char		 line[LOG_LINE_MAX + 1];
	regex_t		 re;
	regmatch_t	 m[5];
	json_t		*o = NULL;
	int		 id, seq, n;
	size_t		 padlen, len, i;

	assert_int_equal(regcomp(&re, TEXT_RE, REG_EXTENDED), 0);
	for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		len = (size_t)(nl - p);
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (json) {
			o = json_line(line, len);
			msg = json_string_value(json_object_get(o, "msg"));
		} else {
			assert_int_equal(regexec(&re, line, 5, m, 0), 0);
			msg = line + m[4].rm_so;
		}
		n = 0;
		assert_int_equal(sscanf(msg, "w=%d seq=%d len=%zu pad=%n", &id, &seq,
		    &padlen, &n), 3);
		assert_true(n > 0);
		assert_true(id >= 0 && id < NTHREADS);
		assert_int_equal(seq, nseen[id]);
		nseen[id]++;
		for (i = 0; i < padlen; i++)
			assert_int_equal(msg[n + i], 'a' + id);
		assert_string_equal(msg + n + padlen, " end");
		if (o != NULL)
			json_decref(o);
		o = NULL;
	}
	assert_true(*p == '\0');
	regfree(&re);
}

static void
run_threads(int json)
{
	pthread_t	th[NTHREADS];
	struct writer	w[NTHREADS];
	int		nseen[NTHREADS] = { 0 }, i;
	char		*buf;

	assert_int_equal(log_open("node1", path, LOG_INFO, json ? LOG_JSON :
	    LOG_TEXT), 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), NTHREADS * NLINES);
	check_thread_lines(buf, json, nseen);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(nseen[i], NLINES);
	free(buf);
	unlink(path);
}

static void
test_log_threads_text(void **state)
{
	(void)state;
	run_threads(0);
}

static void
test_log_threads_json(void **state)
{
	(void)state;
	run_threads(1);
}

/* Reopen while threads write: no line is lost or torn across the two files. */
static void
test_log_reopen_under_load(void **state)
{
	pthread_t	 th[NTHREADS];
	struct writer	 w[NTHREADS];
	int		 nseen[NTHREADS] = { 0 }, i;
	char		 old[192], *a, *b, *both;
	struct timespec	 ts = { 0, 100000 };
	struct stat	 st;
	size_t		 la, lb;

	(void)state;
	snprintf(old, sizeof(old), "%s/old.log", tmpdir);
	assert_int_equal(log_open("node1", path, LOG_INFO, LOG_TEXT), 0);
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	/* Wait for the first lines, so that the move happens mid-stream. */
	while (stat(path, &st) == -1 || st.st_size == 0)
		nanosleep(&ts, NULL);
	/* What logrotate does: move the file away, then SIGHUP. */
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(log_reopen(), 0);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	log_close();

	a = slurp(old, &la);
	b = slurp(path, &lb);
	assert_true(la > 0);
	/* Lines in the old file all precede those in the new one, per thread. */
	both = malloc(la + lb + 1);
	assert_non_null(both);
	memcpy(both, a, la);
	memcpy(both + la, b, lb + 1);
	assert_int_equal(count_lines(both), NTHREADS * NLINES);
	check_thread_lines(both, 0, nseen);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(nseen[i], NLINES);
	free(a);
	free(b);
	free(both);
	unlink(old);
	unlink(path);
}

static void
test_log_reopen_creates(void **state)
{
	struct stat	 st;
	char		 old[192], *buf;

	(void)state;
	snprintf(old, sizeof(old), "%s/old.log", tmpdir);
	umask(022);
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	log_info("x", "before");
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(log_reopen(), 0);
	log_info("x", "after");
	log_close();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	buf = slurp(old, NULL);
	assert_non_null(strstr(buf, "x: before\n"));
	assert_null(strstr(buf, "after"));
	free(buf);
	buf = slurp(path, NULL);
	assert_non_null(strstr(buf, "x: after\n"));
	assert_null(strstr(buf, "before"));
	free(buf);
	unlink(old);
	unlink(path);
	/* A file that cannot be opened is reported. */
	assert_int_equal(log_open("n", "/nonexistent-dir/x.log", LOG_INFO,
	    LOG_TEXT), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_log_libevent_routed(void **state)
{
	struct event_base	*base;
	struct evhttp		*http;
	char			*buf;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_DEBUG, LOG_TEXT), 0);
	log_libevent_route();
	base = event_base_new();
	assert_non_null(base);
	http = evhttp_new(base);
	assert_non_null(http);
	/* libevent warns about a bind it cannot do. */
	assert_null(evhttp_bind_socket_with_handle(http, "256.0.0.1", 1));
	evhttp_free(http);
	event_base_free(base);
	log_close();
	buf = slurp(path, NULL);
	assert_non_null(strstr(buf, " n WARN libevent: "));
	free(buf);
	unlink(path);
}

#define BURST_THREADS	4
#define BURST_EACH	25000
#define BURST_MSG	"fcntl(-1, F_GETFL): Bad file descriptor"

static uint64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One libevent warning, the same every time, through its public API. */
static void
libevent_warn_once(void)
{
	assert_int_equal(evutil_make_socket_nonblocking(-1), -1);
}

static void *
burst_main(void *arg)
{
	int	i;

	(void)arg;
	for (i = 0; i < BURST_EACH; i++)
		evutil_make_socket_nonblocking(-1);
	return NULL;
}

/*
 * Counts the route's lines in buf: *passed copies of BURST_MSG, and the
 * summaries, whose counts are added to *suppressed.  Every libevent line is
 * one or the other.
 */
static void
count_burst(const char *buf, uint64_t *passed, uint64_t *suppressed,
    unsigned *summaries)
{
	const char		*p, *nl, *m;
	unsigned long long	 k;
	int			 n;

	*passed = *suppressed = 0;
	*summaries = 0;
	for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		if ((m = strstr(p, " libevent: ")) == NULL || m > nl)
			continue;
		m += strlen(" libevent: ");
		if (strncmp(m, BURST_MSG "\n", strlen(BURST_MSG) + 1) == 0) {
			assert_memory_equal(m - strlen(" WARN libevent: "),
			    " WARN libevent: ", strlen(" WARN libevent: "));
			(*passed)++;
			continue;
		}
		n = 0;
		if (sscanf(m, "%llu similar messages suppressed in the last 1 s (last: %n", &k,
		    &n) != 1 || n == 0)
			fail_msg("unexpected libevent line: %.*s", (int)(nl - p), p);
		assert_true(k > 0);
		assert_memory_equal(m + n, BURST_MSG ")\n", strlen(BURST_MSG) + 2);
		*suppressed += k;
		(*summaries)++;
	}
}

/*
 * A flood of identical libevent messages from several threads (libevent may
 * log from any thread that uses it): at most LOG_ROUTE_BURST lines a second
 * get through, the rest are counted exactly, and once the flood is over one
 * line says how many were suppressed.
 */
static void
test_log_libevent_rate_limit(void **state)
{
	pthread_t	 th[BURST_THREADS];
	uint64_t	 t0, took, passed, suppressed;
	unsigned	 summaries;
	struct timespec	 ts = { 1, 100 * 1000 * 1000 };
	char		*buf;
	int		 i;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_INFO, LOG_TEXT), 0);
	log_libevent_route();
	t0 = mono_ms();
	for (i = 0; i < BURST_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, burst_main, NULL), 0);
	for (i = 0; i < BURST_THREADS; i++)
		pthread_join(th[i], NULL);
	took = mono_ms() - t0;

	/* Calm: the next tick after the second is over writes the summary. */
	nanosleep(&ts, NULL);
	log_tick();
	buf = slurp(path, NULL);
	count_burst(buf, &passed, &suppressed, &summaries);
	free(buf);
	assert_int_equal(passed + suppressed, BURST_THREADS * BURST_EACH);
	assert_true(passed >= LOG_ROUTE_BURST);
	assert_true(passed <= LOG_ROUTE_BURST * (took / 1000 + 1));
	assert_true(summaries >= 1);
	assert_true(summaries <= took / 1000 + 1);
	/* Nothing more to say: another tick writes nothing. */
	log_tick();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), passed + summaries);
	free(buf);

	/* A new second lets lines through again. */
	for (i = 0; i < LOG_ROUTE_BURST + 5; i++)
		libevent_warn_once();
	/* log_close reports what is still pending. */
	log_close();
	buf = slurp(path, NULL);
	count_burst(buf, &passed, &suppressed, &summaries);
	assert_int_equal(passed + suppressed, BURST_THREADS * BURST_EACH +
	    LOG_ROUTE_BURST + 5);
	assert_non_null(strstr(buf, " n WARN libevent: 5 similar messages "
	    "suppressed in the last 1 s (last: " BURST_MSG ")\n"));
	free(buf);
	unlink(path);
}

/* Messages below --log-level use none of the route's budget. */
static void
test_log_libevent_rate_limit_level(void **state)
{
	char		*buf;
	uint64_t	 passed, suppressed;
	unsigned	 summaries;
	int		 i;

	(void)state;
	assert_int_equal(log_open("n", path, LOG_ERROR, LOG_TEXT), 0);
	log_libevent_route();
	for (i = 0; i < 1000; i++)
		libevent_warn_once();
	log_close();
	buf = slurp(path, NULL);
	assert_int_equal(count_lines(buf), 0);
	free(buf);
	assert_int_equal(log_open("n", path, LOG_WARN, LOG_TEXT), 0);
	for (i = 0; i < LOG_ROUTE_BURST; i++)
		libevent_warn_once();
	log_close();
	buf = slurp(path, NULL);
	count_burst(buf, &passed, &suppressed, &summaries);
	assert_int_equal(passed, LOG_ROUTE_BURST);
	assert_int_equal(suppressed, 0);
	free(buf);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_parse_names),
		cmocka_unit_test_setup_teardown(test_log_text_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_level_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_text_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_one_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_json_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_json_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_threads_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_threads_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_reopen_under_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_reopen_creates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_libevent_routed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_libevent_rate_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_libevent_rate_limit_level,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
