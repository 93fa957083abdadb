/*
 * log.h: one line per event:
 *   2026-11-26T16:44:45.123Z node1 INFO gossip: tx 3fa2c1d09b1e7a55 accepted ...
 * or one JSON object per line.  Each line is formatted into a local buffer
 * and written with one write(2) to the log file and to stderr, so lines of
 * different threads never interleave.  Any thread may log.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* Longest line written, newline included; longer messages are cut with "...". */
#define LOG_LINE_MAX	2048

/* Opens path (may be NULL: stderr only).  Returns 0 or -1 with errno.  Main thread, at start. */
int	log_open(const char *name, const char *path, enum log_level level,
	    enum log_format format);
/* Reopens the log file at the same path (SIGHUP, after rotation); writers never block.  Any thread. */
int	log_reopen(void);
/* Closes the log file; later lines go to stderr only.  Main thread, when no other thread logs. */
void	log_close(void);
/* Parses "debug|info|warn|error"; -1 if unknown. */
int	log_level_parse(const char *s);
/* Parses "text|json"; -1 if unknown. */
int	log_format_parse(const char *s);
/* Lines a second let through from libevent; the rest are counted, then summed up in one line. */
#define LOG_ROUTE_BURST	20

/*
 * Routes libevent's messages into the log, at most LOG_ROUTE_BURST lines a
 * second: the rest become one "libevent: K similar messages suppressed
 * (last: ...)" line.  Its fatal errors log, then abort.  Main thread, at start.
 */
void	log_libevent_route(void);
/* Writes the "suppressed" line of a burst whose second is over.  Any thread; main.c calls it once a second. */
void	log_tick(void);

/* Logs one line if level passes --log-level; control characters are escaped.  Any thread. */
void	log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define log_debug(sub, ...)	log_msg(LOG_DEBUG, sub, __VA_ARGS__)
#define log_info(sub, ...)	log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...)	log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...)	log_msg(LOG_ERROR, sub, __VA_ARGS__)

#endif
