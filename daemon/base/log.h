/*
 * log.h: one line per event:
 *   2026-11-26T16:44:45.123Z node1 INFO gossip: tx 3fa2c1d09b1e7a55 accepted ...
 * or one JSON object per line.  Each line is formatted into a local buffer
 * and written with one write(2), to the log file or, without one, to stderr,
 * so lines of different threads never interleave.  Any thread may log.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

#include <pthread.h>
#include <stdint.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_TEXT = 0, LOG_JSON };

/* Longest line written, newline included; longer messages are cut with "...". */
#define LOG_LINE_MAX	2048

/*
 * Opens path, where every line goes from then on (NULL: stderr instead).
 * Until log_started(), ERROR lines also go to stderr, so that a node that
 * cannot start says why where it was started.  Returns 0 or -1 with errno.
 * Main thread, at start.
 */
int	log_open(const char *name, const char *path, enum log_level level,
	    enum log_format format);
/* Start-up is over: ERROR lines go to the log file alone.  Main thread. */
void	log_started(void);
/* Reopens the log file at the same path (SIGHUP, after rotation); writers never block.  Any thread. */
int	log_reopen(void);
/* Closes the log file; later lines go to stderr.  Main thread, when no other thread logs. */
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
/* Writes the "suppressed" lines of rate-limited kinds whose window is over.  Any thread; main.c calls it once a second. */
void	log_tick(void);

/*
 * A kind of repeated message, rate limited and summed up: at most burst
 * lines per window_ms at their own level; the rest are counted, and one
 * line says how many when the window is over ("refused connections: 8123
 * similar messages suppressed in the last 10 s (last: ...)"), so no flood
 * writes more than about burst + 1 lines per window.  What is suppressed
 * still goes out at DEBUG, for a node run with --log-level debug.  One
 * static struct per kind, made with LOG_LIMIT(subsys, what, burst,
 * window_ms); log_tick writes the summaries of windows that ended quietly.
 * Any thread.
 */
#define LOG_LIMIT_LAST_MAX	256
struct log_limit {
	const char	*subsys;
	const char	*what;		/* the kind, for the summary; NULL: none */
	unsigned	 burst;
	unsigned	 window_ms;
	pthread_mutex_t	 lock;
	uint64_t	 start_ms;	/* of the current window */
	unsigned	 lines;		/* written in the current window */
	uint64_t	 suppressed;	/* since the last summary */
	int		 level;		/* highest level suppressed */
	char		 last[LOG_LIMIT_LAST_MAX];	/* last message suppressed */
	struct log_limit *next;		/* on log_tick's list, once used */
	int		 listed;
	int		 quiet;		/* suppressed lines not even at DEBUG */
};
#define LOG_LIMIT(subsys, what, burst, window_ms)			\
	{ (subsys), (what), (burst), (window_ms), PTHREAD_MUTEX_INITIALIZER, \
	  0, 0, 0, LOG_DEBUG, "", NULL, 0, 0 }

/* Logs one line through l (see struct log_limit).  Any thread. */
void	log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Logs one line if level passes --log-level; control characters are escaped.  Any thread. */
void	log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * One event's fields.  In JSON each set one is a key of its own beside
 * "msg"; the text line is the message alone, as log_msg writes it.  Unset
 * (NULL, has_amount 0) fields are left out.
 */
struct log_fields {
	const char	*tx;		/* "tx": a transaction id, all 64 hex digits */
	const char	*peer;		/* "peer": the peer's name (or address) */
	const char	*addr;		/* "addr": the peer's host:port */
	const char	*peer_id;	/* "peer_id": the peer's node id, in hex */
	const char	*reason;	/* "reason": why, for people */
	const char	*code;		/* "code": why, as a stable snake_case code */
	uint64_t	 amount;	/* "amount", a JSON number, if has_amount */
	int		 has_amount;
};

/* log_msg with the event's fields (f may be NULL).  Any thread. */
void	log_event(enum log_level level, const char *subsys,
	    const struct log_fields *f, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* log_event through a rate limit (the subsystem is the limit's).  Any thread. */
void	log_limited_event(struct log_limit *l, enum log_level level,
	    const struct log_fields *f, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

#define log_debug(sub, ...)	log_msg(LOG_DEBUG, sub, __VA_ARGS__)
#define log_info(sub, ...)	log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...)	log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...)	log_msg(LOG_ERROR, sub, __VA_ARGS__)

#endif
