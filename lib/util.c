/*
 * util.c: allocation wrappers whose failure is fatal, and clocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"

/*
 * One write(2) so the message survives even when stdio is in a bad state.
 * The program is named as it was run (noded, nodectl, a test).
 */
static void __attribute__((noreturn))
util_oom(const char *what, size_t n)
{
	char	buf[128];
	int	len;

	len = snprintf(buf, sizeof(buf), "%s: fatal: %s of %zu bytes failed\n",
	    program_invocation_short_name, what, n);
	if (len > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)len);
	abort();
}

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		n = 1;
	if ((p = malloc(n)) == NULL)
		util_oom("malloc", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if (n == 0 || size == 0)
		n = size = 1;
	if (n > SIZE_MAX / size)
		util_oom("calloc (overflow)", SIZE_MAX);
	if ((p = calloc(n, size)) == NULL)
		util_oom("calloc", n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void	*q;

	if (n == 0)
		n = 1;
	if ((q = realloc(p, n)) == NULL)
		util_oom("realloc", n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p;

	p = xmalloc(n);
	memcpy(p, s, n);
	return p;
}

static uint64_t
util_clock(clockid_t id, uint64_t div)
{
	struct timespec	ts;

	clock_gettime(id, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) / div;
}

uint64_t
now_ms(void)
{
	return util_clock(CLOCK_REALTIME, 1000000);
}

uint64_t
now_us(void)
{
	return util_clock(CLOCK_REALTIME, 1000);
}

uint64_t
mono_ns(void)
{
	return util_clock(CLOCK_MONOTONIC, 1);
}
