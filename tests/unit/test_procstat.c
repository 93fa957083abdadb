/*
 * test_procstat.c: http/procstat, the process_* figures from /proc: known
 * answers for /proc/<pid>/stat lines (a command name with spaces and
 * parentheses, negative fields), refusals of what is not such a line, the
 * btime of /proc/stat, and a read of this process's own /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "http/procstat.h"

/* Fields 1..24 of proc(5): utime 14 = 250, stime 15 = 150, starttime 22 = 12345,
 * vsize 23 = 23805952, rss 24 = 705. */
#define STAT_TAIL	" S 1 100 100 0 -1 4194560 300 0 0 0 250 150 0 0 20 -5 3 0 " \
			"12345 23805952 705 18446744073709551615 1 1 0 0 0 0"

static const char *const stat_good[] = {
	"4242 (noded)" STAT_TAIL "\n",
	"4242 (no ded)" STAT_TAIL,
	"4242 (x) (y))" STAT_TAIL "\n",
	"4242 ())" STAT_TAIL,
};

static void
test_procstat_known_answers(void **state)
{
	struct procstat	ps;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(stat_good) / sizeof(stat_good[0]); i++) {
		memset(&ps, 0, sizeof(ps));
		assert_int_equal(procstat_parse_stat(stat_good[i], strlen(stat_good[i]),
		    100, 4096, 1700000000, &ps), 0);
		assert_true(ps.have_stat);
		assert_true(ps.cpu_seconds > 3.999 && ps.cpu_seconds < 4.001);
		assert_true(ps.start_time > 1700000123.449 &&
		    ps.start_time < 1700000123.451);
		assert_int_equal(ps.vsize_bytes, 23805952);
		assert_int_equal(ps.rss_bytes, 705 * 4096);
	}
}

static void
test_procstat_refusals(void **state)
{
	static const char *const bad[] = {
		"",
		"4242 noded S 1",
		"4242 (noded)",
		"4242 (noded) S 1 100",				/* cut short */
		"4242 (noded) S 1 100 100 0 -1 4194560 300 0 0 0 x 150",
		"4242 (noded)  S 1 100 100 0 -1 4194560 300 0 0 0 250 150 0 0 20 -5 3 0 "
		    "12345 23805952 705",			/* two blanks */
		"4242 (noded) S 1 100 100 0 -1 4194560 300 0 0 0 250 150 0 0 20 -5 3 0 "
		    "12345 99999999999999999999999 705",	/* past 2^64 */
	};
	struct procstat	ps;
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ps, 0, sizeof(ps));
		assert_int_equal(procstat_parse_stat(bad[i], strlen(bad[i]), 100, 4096,
		    0, &ps), -1);
		assert_false(ps.have_stat);
	}
	/* The length bounds the parse: the tail past it is not read. */
	assert_int_equal(procstat_parse_stat(stat_good[0], 40, 100, 4096, 0, &ps), -1);
	assert_int_equal(procstat_parse_stat(stat_good[0], strlen(stat_good[0]), 0,
	    4096, 0, &ps), -1);
}

static void
test_procstat_btime(void **state)
{
	static const char text[] = "cpu  1 2 3\nintr 5 6\nctxt 77\nbtime 1795990000\n"
	    "processes 12\n";
	uint64_t	b = 0;

	(void)state;
	assert_int_equal(procstat_parse_btime(text, sizeof(text) - 1, &b), 0);
	assert_int_equal(b, 1795990000);
	assert_int_equal(procstat_parse_btime("cpu 1\nbtimex 5\n", 16, &b), -1);
	assert_int_equal(procstat_parse_btime("btime \n", 7, &b), -1);
	assert_int_equal(procstat_parse_btime("btime 12", 8, &b), 0);
	assert_int_equal(b, 12);
}

static void
test_procstat_reads_itself(void **state)
{
	struct procstat	ps;
	time_t		now = time(NULL);

	(void)state;
	procstat_read(&ps);
	assert_true(ps.have_stat && ps.have_fds);
	assert_true(ps.start_time <= (double)now + 1 && ps.start_time > (double)now - 3600);
	assert_true(ps.rss_bytes > 0 && ps.vsize_bytes >= ps.rss_bytes);
	/* stdin, stdout, stderr at least; the directory read is not counted. */
	assert_true(ps.open_fds >= 3 && ps.open_fds < ps.max_fds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procstat_known_answers),
		cmocka_unit_test(test_procstat_refusals),
		cmocka_unit_test(test_procstat_btime),
		cmocka_unit_test(test_procstat_reads_itself),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
