/*
 * procstat.h: the process's own figures for the process_* metrics, as the
 * Prometheus Go and Python clients define them, read from /proc: CPU time,
 * start time, resident and virtual memory, open and allowed descriptors.
 * The parsers are pure (text in, numbers out) so that a unit test drives
 * them; procstat_read does the reading.  Any thread.
 */
#ifndef HTTP_PROCSTAT_H
#define HTTP_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

struct procstat {
	double		cpu_seconds;	/* user + system */
	double		start_time;	/* seconds since the epoch */
	uint64_t	rss_bytes;
	uint64_t	vsize_bytes;
	uint64_t	open_fds;
	uint64_t	max_fds;	/* the soft RLIMIT_NOFILE */
	int		have_stat;	/* the first four were read */
	int		have_fds;	/* open_fds and max_fds were read */
};

/*
 * Parses the text of /proc/<pid>/stat (len bytes, need not end in NUL):
 * utime and stime in ticks of ticks_per_s, starttime in ticks after boot
 * (btime, seconds since the epoch), vsize in bytes, rss in pages of
 * page_size.  Sets the first four fields of ps and have_stat.  Returns 0,
 * or -1 if the text is not such a line.
 */
int	procstat_parse_stat(const char *text, size_t len, long ticks_per_s,
	    long page_size, uint64_t btime, struct procstat *ps);

/* Finds "btime N" in the text of /proc/stat.  0, or -1 if it is not there. */
int	procstat_parse_btime(const char *text, size_t len, uint64_t *btime);

/* Fills ps from /proc/self (zeroed first); what cannot be read stays unset. */
void	procstat_read(struct procstat *ps);

#endif
