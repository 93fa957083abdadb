/*
 * procstat.c: the process's figures from /proc (see procstat.h).  The
 * fields of /proc/<pid>/stat are those of proc(5); the command name in
 * parentheses may hold spaces and parentheses itself, so the fields are
 * counted from the last ')'.
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/procstat.h"

#define PROCSTAT_FILE_MAX	8192	/* /proc/self/stat is some 300 bytes */

/* Fields of /proc/<pid>/stat, counted from 1 (pid) as proc(5) does. */
#define STAT_UTIME	14
#define STAT_STIME	15
#define STAT_STARTTIME	22
#define STAT_VSIZE	23
#define STAT_RSS	24

/* Reads an unsigned decimal at *p (len bytes left); advances *p.  -1 if none. */
static int
procstat_u64(const char **p, const char *end, uint64_t *v)
{
	const char	*s = *p;
	uint64_t	 n = 0;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*v = n;
	return 0;
}

int
procstat_parse_stat(const char *text, size_t len, long ticks_per_s,
    long page_size, uint64_t btime, struct procstat *ps)
{
	const char	*p, *end = text + len;
	uint64_t	 v, utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
	int		 field;

	if (ticks_per_s <= 0 || page_size <= 0)
		return -1;
	for (p = end; p > text && p[-1] != ')'; p--)
		;
	if (p == text)
		return -1;
	/* p is after the ')' that ends field 2; field 3 (the state) is a letter. */
	for (field = 3; field <= STAT_RSS; field++) {
		if (p == end || *p != ' ')
			return -1;
		p++;
		if (field == 3) {
			if (p == end || *p == ' ')
				return -1;
			while (p < end && *p != ' ')
				p++;
			continue;
		}
		/* Some fields are signed (priority, nice); none of ours is. */
		if (p < end && *p == '-')
			p++;
		if (procstat_u64(&p, end, &v) == -1)
			return -1;
		switch (field) {
		case STAT_UTIME:
			utime = v;
			break;
		case STAT_STIME:
			stime = v;
			break;
		case STAT_STARTTIME:
			start = v;
			break;
		case STAT_VSIZE:
			vsize = v;
			break;
		case STAT_RSS:
			rss = v;
			break;
		}
	}
	ps->cpu_seconds = (double)(utime + stime) / (double)ticks_per_s;
	ps->start_time = (double)btime + (double)start / (double)ticks_per_s;
	ps->vsize_bytes = vsize;
	ps->rss_bytes = rss * (uint64_t)page_size;
	ps->have_stat = 1;
	return 0;
}

int
procstat_parse_btime(const char *text, size_t len, uint64_t *btime)
{
	const char	*p = text, *end = text + len, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (nl - p > 6 && memcmp(p, "btime ", 6) == 0) {
			p += 6;
			return procstat_u64(&p, nl, btime);
		}
		p = nl + 1;
	}
	return -1;
}

/* Reads at most PROCSTAT_FILE_MAX - 1 bytes of path into buf.  Length, or -1. */
static ssize_t
procstat_slurp(const char *path, char *buf)
{
	ssize_t	n, len = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (len < PROCSTAT_FILE_MAX - 1) {
		n = read(fd, buf + len, (size_t)(PROCSTAT_FILE_MAX - 1 - len));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

void
procstat_read(struct procstat *ps)
{
	char		 buf[PROCSTAT_FILE_MAX];
	struct rlimit	 rl;
	struct dirent	*de;
	uint64_t	 btime;
	ssize_t		 n;
	DIR		*d;
	int		 self;

	memset(ps, 0, sizeof(*ps));
	if ((n = procstat_slurp("/proc/stat", buf)) > 0 &&
	    procstat_parse_btime(buf, (size_t)n, &btime) == 0 &&
	    (n = procstat_slurp("/proc/self/stat", buf)) > 0)
		(void)procstat_parse_stat(buf, (size_t)n, sysconf(_SC_CLK_TCK),
		    sysconf(_SC_PAGESIZE), btime, ps);
	if ((d = opendir("/proc/self/fd")) == NULL ||
	    getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		if (d != NULL)
			closedir(d);
		return;
	}
	/* The directory's own descriptor is not one of the node's. */
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == self)
			continue;
		ps->open_fds++;
	}
	closedir(d);
	ps->max_fds = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX :
	    (uint64_t)rl.rlim_cur;
	ps->have_fds = 1;
}
