/*
 * test_token.c: lib/token, the bearer-token file reader of noded and
 * nodectl: what a file may hold around its token, the bounds on the token
 * and the file (both edges), what is not a file, the "others can read it"
 * flag, and each refusal's exact message.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/token.h"

#include "tmpdir.h"

/* Writes len bytes to tmpdir/name with mode; returns the path (static). */
static const char *
write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	static char	 p[256];
	FILE		*f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	unlink(p);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

/* Contents that hold a token, and the token. */
static const struct {
	const char	*text;
	const char	*token;
} token_good[] = {
	{ "s3cr3t", "s3cr3t" },
	{ "s3cr3t\n", "s3cr3t" },
	{ "s3cr3t\r\n", "s3cr3t" },
	{ "\n  s3cr3t-token-for-tests \r\n\n", "s3cr3t-token-for-tests" },
	{ "\t x \t", "x" },
	{ "!~\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}", "!~\"#$%&'()*+,-./"
	  "0123456789:;<=>?@[\\]^_`{|}" },
};

static void
test_token_good(void **state)
{
	char		 tok[TOKEN_MAX + 1], err[512];
	const char	*p;
	size_t		 len, i;
	int		 exposed;

	(void)state;
	for (i = 0; i < sizeof(token_good) / sizeof(token_good[0]); i++) {
		p = write_file("good", token_good[i].text,
		    strlen(token_good[i].text), 0600);
		err[0] = '\0';
		if (token_read(p, tok, &len, &exposed, err, sizeof(err)) != 0)
			fail_msg("case %zu refused: %s", i, err);
		assert_string_equal(tok, token_good[i].token);
		assert_int_equal(len, strlen(token_good[i].token));
		assert_int_equal(exposed, 0);
	}
}

/* Refusals: the message after the quoted path, for the caller to prefix. */
static const struct {
	const char	*name;
	const char	*text;
	size_t		 len;		/* 0: strlen(text) */
	const char	*err;		/* after "'PATH'" */
} token_bad[] = {
	{ "empty", "", 0, " holds no token" },
	{ "blank", " \n", 0, " holds no token" },
	{ "blanks", "\r\n\t \n\n", 0, " holds no token" },
	{ "inner-space", "a b\n", 0,
	  ": the token must be printable ASCII without blanks" },
	{ "inner-tab", "a\tb", 0,
	  ": the token must be printable ASCII without blanks" },
	{ "control", "tok\x01\n", 0,
	  ": the token must be printable ASCII without blanks" },
	{ "del", "tok\x7f", 0,
	  ": the token must be printable ASCII without blanks" },
	{ "utf8", "t\xc3\xa9t\xc3\xa9", 0,
	  ": the token must be printable ASCII without blanks" },
	{ "nul", "tok\0en", 6,
	  ": the token must be printable ASCII without blanks" },
	{ "vtab", "\vtok", 0,
	  ": the token must be printable ASCII without blanks" },
};

static void
test_token_bad(void **state)
{
	char		 tok[TOKEN_MAX + 1], err[512], want[512];
	const char	*p;
	size_t		 len, i;
	int		 exposed;

	(void)state;
	for (i = 0; i < sizeof(token_bad) / sizeof(token_bad[0]); i++) {
		p = write_file(token_bad[i].name, token_bad[i].text,
		    token_bad[i].len != 0 ? token_bad[i].len :
		    strlen(token_bad[i].text), 0600);
		memset(tok, 'x', sizeof(tok));
		if (token_read(p, tok, &len, &exposed, err, sizeof(err)) != -1)
			fail_msg("%s accepted", token_bad[i].name);
		snprintf(want, sizeof(want), "'%s'%s", p, token_bad[i].err);
		assert_string_equal(err, want);
		/* Nothing of a refused file is handed back. */
		assert_int_equal(len, 0);
		assert_string_equal(tok, "");
		/* NULL err is fine. */
		assert_int_equal(token_read(p, tok, &len, &exposed, NULL, 0), -1);
	}
}

/* TOKEN_MAX bytes of token, TOKEN_FILE_MAX bytes of file: each edge. */
static void
test_token_bounds(void **state)
{
	static char	 buf[TOKEN_FILE_MAX + 64];
	char		 tok[TOKEN_MAX + 1], err[512], want[512];
	const char	*p;
	size_t		 len;
	int		 exposed;

	(void)state;
	memset(buf, 'k', TOKEN_MAX);
	/* The longest token, with and without room around it. */
	p = write_file("max", buf, TOKEN_MAX, 0600);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)), 0);
	assert_int_equal(len, TOKEN_MAX);
	assert_int_equal(strlen(tok), TOKEN_MAX);
	memset(buf + TOKEN_MAX, '\n', TOKEN_FILE_MAX - TOKEN_MAX);
	p = write_file("max-full", buf, TOKEN_FILE_MAX, 0600);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)), 0);
	assert_int_equal(len, TOKEN_MAX);

	/* One byte more of file. */
	buf[TOKEN_FILE_MAX] = '\n';
	p = write_file("file-over", buf, TOKEN_FILE_MAX + 1, 0600);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "'%s': over 4352 bytes; the file must hold "
	    "only the token (at most 4096 bytes)", p);
	assert_string_equal(err, want);

	/* One byte more of token. */
	memset(buf, 'k', TOKEN_MAX + 1);
	buf[TOKEN_MAX + 1] = '\n';
	p = write_file("token-over", buf, TOKEN_MAX + 2, 0600);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)),
	    -1);
	snprintf(want, sizeof(want), "'%s': token over 4096 bytes", p);
	assert_string_equal(err, want);

	/* A file far over: refused by its size, whatever it holds. */
	memset(buf, 'k', sizeof(buf));
	p = write_file("huge", buf, sizeof(buf), 0600);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, ": over 4352 bytes"));
}

/* Group or other access: read, and flagged for noded's warning. */
static void
test_token_exposed(void **state)
{
	static const struct {
		mode_t	mode;
		int	exposed;
	} cases[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0640, 1 }, { 0604, 1 }, { 0644, 1 },
		{ 0660, 1 }, { 0601, 1 }, { 0610, 1 },
	};
	char		 tok[TOKEN_MAX + 1], err[512];
	const char	*p;
	size_t		 len, i;
	int		 exposed;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = write_file("mode", "tok\n", 4, cases[i].mode);
		exposed = -1;
		assert_int_equal(token_read(p, tok, &len, &exposed, err,
		    sizeof(err)), 0);
		if (exposed != cases[i].exposed)
			fail_msg("mode %03o: exposed %d", (unsigned)cases[i].mode,
			    exposed);
	}
	/* Set even when the content is then refused. */
	p = write_file("mode", " \n", 2, 0644);
	assert_int_equal(token_read(p, tok, &len, &exposed, err, sizeof(err)),
	    -1);
	assert_int_equal(exposed, 1);
}

/* What is not a regular file is refused before it is read. */
static void
test_token_not_a_file(void **state)
{
	char	tok[TOKEN_MAX + 1], err[512], want[512], path[256];
	size_t	len;
	int	exposed;

	(void)state;
	assert_int_equal(token_read(tmpdir, tok, &len, &exposed, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "'%s': not a regular file", tmpdir);
	assert_string_equal(err, want);

	assert_int_equal(token_read("/dev/null", tok, &len, &exposed, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "'/dev/null': not a regular file");

	/* A FIFO without a writer does not hang the read. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(token_read(path, tok, &len, &exposed, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "'%s': not a regular file", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/missing/token", tmpdir);
	assert_int_equal(token_read(path, tok, &len, &exposed, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "'%s': No such file or directory", path);
	assert_string_equal(err, want);
	assert_int_equal(exposed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_good, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_token_bad, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_token_bounds, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_token_exposed, tmpdir_setup,
		    tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_token_not_a_file, tmpdir_setup,
		    tmpdir_teardown),
	};

	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
