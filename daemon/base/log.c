/*
 * log.c: one line per event, to the log file or, without one, to stderr.
 *
 * Every line is built in a buffer on the caller's stack and leaves with one
 * write(2), so no lock is taken on the write path: O_APPEND
 * writes of a few KiB land whole, and lines of different threads never
 * interleave.  log_reopen() swaps the file under the same descriptor number
 * with dup2(2), which is atomic, so a thread that is writing at that moment
 * writes either to the old file or to the new one, never to a closed fd.
 *
 * A route whose lines we do not write ourselves (libevent's) is rate
 * limited: at most LOG_ROUTE_BURST lines a second, then one line saying how
 * many were suppressed.  A flood (accept(2) failing with EMFILE on every
 * loop turn) must not fill the disk or bury the lines around it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "base/log.h"

#define LOG_NAME_MAX	64
#define LOG_FIELDS_MAX	1024	/* a JSON line's fields: whole ones fit, or are left out */

static char		log_name[LOG_NAME_MAX + 1] = "noded";
static char		log_path[4096];
static int		log_fd = -1;		/* atomic loads and stores */
static int		log_min = LOG_INFO;	/* atomic loads and stores */
static int		log_fmt = LOG_TEXT;
static int		log_up;			/* log_started() was called; atomic */
static pthread_mutex_t	log_swap_lock = PTHREAD_MUTEX_INITIALIZER;

/* libevent's own messages: LOG_ROUTE_BURST lines a second. */
static struct log_limit	log_route_libevent = {
	"libevent", NULL, LOG_ROUTE_BURST, 1000, PTHREAD_MUTEX_INITIALIZER,
	0, 0, 0, LOG_DEBUG, "", NULL, 0, 1
};

/* Every limit used so far, for log_tick and log_close. */
static struct log_limit	*log_limits;
static pthread_mutex_t	 log_limits_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *log_level_upper[] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const char *log_level_lower[] = { "debug", "info", "warn", "error" };

/* A bounded output buffer: appends stop, and trunc is set, at cap. */
struct log_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 trunc;
};

static int
log_room(struct log_buf *b, size_t n)
{
	if (b->trunc || n > b->cap - b->len) {
		b->trunc = 1;
		return 0;
	}
	return 1;
}

static void
log_put(struct log_buf *b, const char *s, size_t n)
{
	if (!log_room(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
log_puts(struct log_buf *b, const char *s)
{
	log_put(b, s, strlen(s));
}

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0
 * (overlong forms, surrogates and code points above U+10FFFF are refused).
 */
static size_t
log_utf8_len(const unsigned char *s, size_t n)
{
	size_t		need, i;
	unsigned	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

/*
 * Appends s as the inside of a JSON string: quotes, backslashes and control
 * characters escaped, ill-formed UTF-8 replaced by U+FFFD.  Stops at a
 * character boundary when the buffer is full.
 */
static void
log_put_json(struct log_buf *b, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = strlen(s), i = 0, l;
	char			 esc[8];

	while (i < n && !b->trunc) {
		if (u[i] == '"' || u[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)u[i];
			log_put(b, esc, 2);
			i++;
		} else if (u[i] == '\n') {
			log_put(b, "\\n", 2);
			i++;
		} else if (u[i] == '\t') {
			log_put(b, "\\t", 2);
			i++;
		} else if (u[i] == '\r') {
			log_put(b, "\\r", 2);
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			log_put(b, esc, 6);
			i++;
		} else if ((l = log_utf8_len(u + i, n - i)) == 0) {
			log_put(b, "\\ufffd", 6);
			i++;
		} else {
			log_put(b, s + i, l);
			i += l;
		}
	}
}

/* Appends as much of s[0..n) as fits; a cut sets trunc. */
static void
log_put_part(struct log_buf *b, const char *s, size_t n)
{
	size_t	left;

	if (b->trunc)
		return;
	left = b->cap - b->len;
	if (n > left) {
		n = left;
		b->trunc = 1;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Appends s with control characters shown as \n, \r or \xNN: one event, one line. */
static void
log_put_text(struct log_buf *b, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i, start = 0, n = strlen(s);
	char			 esc[8];

	for (i = 0; i < n && !b->trunc; i++) {
		if ((u[i] >= 0x20 && u[i] != 0x7f) || u[i] == '\t')
			continue;
		log_put_part(b, s + start, i - start);
		if (u[i] == '\n')
			log_put(b, "\\n", 2);
		else if (u[i] == '\r')
			log_put(b, "\\r", 2);
		else {
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			log_put(b, esc, 4);
		}
		start = i + 1;
	}
	if (i == n)
		log_put_part(b, s + start, n - start);
}

static void
log_write_all(int fd, const char *p, size_t len)
{
	ssize_t	w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		len -= (size_t)w;
	}
}

static void
log_timestamp(char *out, size_t outlen)
{
	struct timespec	ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
}

/* Appends ,"key":"value" (value escaped) whole, or nothing if it does not fit. */
static void
log_put_field(struct log_buf *b, const char *key, const char *value)
{
	size_t	len = b->len;

	if (value == NULL)
		return;
	log_puts(b, ",\"");
	log_puts(b, key);
	log_puts(b, "\":\"");
	log_put_json(b, value);
	log_puts(b, "\"");
	if (b->trunc) {
		b->len = len;
		b->trunc = 0;
	}
}

/* The JSON members of f, each whole or left out, into b. */
static void
log_put_fields(struct log_buf *b, const struct log_fields *f)
{
	char	num[32];
	size_t	len;

	if (f == NULL)
		return;
	log_put_field(b, "tx", f->tx);
	log_put_field(b, "peer", f->peer);
	log_put_field(b, "addr", f->addr);
	log_put_field(b, "peer_id", f->peer_id);
	if (f->has_amount) {
		len = b->len;
		snprintf(num, sizeof(num), ",\"amount\":%" PRIu64, f->amount);
		log_puts(b, num);
		if (b->trunc) {
			b->len = len;
			b->trunc = 0;
		}
	}
	log_put_field(b, "reason", f->reason);
	log_put_field(b, "code", f->code);
}

/*
 * Formats one line and writes it: to the log file if there is one, else to
 * stderr; an ERROR line during start-up goes to both.
 */
static void
log_vemit(enum log_level level, const char *subsys, const struct log_fields *f,
    const char *fmt, va_list ap)
{
	char		line[LOG_LINE_MAX], msg[LOG_LINE_MAX], ts[96];
	char		fields[LOG_FIELDS_MAX];
	struct log_buf	b, fb;
	int		fd, mlen;

	if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
		return;
	if ((unsigned)level > LOG_ERROR)
		level = LOG_ERROR;
	if (subsys == NULL)
		subsys = "-";

	mlen = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (mlen < 0) {
		strcpy(msg, "(unformattable message)");
		mlen = 0;
	}
	log_timestamp(ts, sizeof(ts));

	b.p = line;
	b.len = 0;
	b.trunc = 0;
	if (log_fmt == LOG_JSON) {
		/* The fields first, bounded, so that only the message is ever cut. */
		fb.p = fields;
		fb.len = 0;
		fb.cap = sizeof(fields);
		fb.trunc = 0;
		log_put_fields(&fb, f);
		/* Room for the '..."' + fields + '}' + newline tail, always written. */
		b.cap = sizeof(line) - 6 - fb.len;
		log_puts(&b, "{\"ts\":\"");
		log_puts(&b, ts);
		log_puts(&b, "\",\"node\":\"");
		log_put_json(&b, log_name);
		log_puts(&b, "\",\"level\":\"");
		log_puts(&b, log_level_lower[level]);
		log_puts(&b, "\",\"subsys\":\"");
		log_put_json(&b, subsys);
		log_puts(&b, "\",\"msg\":\"");
		log_put_json(&b, msg);
		b.cap = sizeof(line);
		if (b.trunc || (size_t)mlen >= sizeof(msg)) {
			b.trunc = 0;
			log_puts(&b, "...");
		}
		log_puts(&b, "\"");
		log_put(&b, fields, fb.len);
		log_puts(&b, "}\n");
	} else {
		/* Room for the "..." + newline tail, always written. */
		b.cap = sizeof(line) - 4;
		log_puts(&b, ts);
		log_puts(&b, " ");
		log_put_text(&b, log_name);
		log_puts(&b, " ");
		log_puts(&b, log_level_upper[level]);
		log_puts(&b, " ");
		log_put_text(&b, subsys);
		log_puts(&b, ": ");
		log_put_text(&b, msg);
		b.cap = sizeof(line);
		if (b.trunc || (size_t)mlen >= sizeof(msg)) {
			b.trunc = 0;
			log_puts(&b, "...");
		}
		log_puts(&b, "\n");
	}

	fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (fd >= 0) {
		log_write_all(fd, line, b.len);
		if (level == LOG_ERROR &&
		    !__atomic_load_n(&log_up, __ATOMIC_RELAXED))
			log_write_all(STDERR_FILENO, line, b.len);
	} else
		log_write_all(STDERR_FILENO, line, b.len);
}

void
log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(level, subsys, NULL, fmt, ap);
	va_end(ap);
}

void
log_event(enum log_level level, const char *subsys, const struct log_fields *f,
    const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(level, subsys, f, fmt, ap);
	va_end(ap);
}

void
log_started(void)
{
	__atomic_store_n(&log_up, 1, __ATOMIC_RELAXED);
}

static uint64_t
log_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
log_limit_reset(struct log_limit *r)
{
	pthread_mutex_lock(&r->lock);
	r->start_ms = 0;
	r->lines = 0;
	r->suppressed = 0;
	r->level = LOG_DEBUG;
	r->last[0] = '\0';
	pthread_mutex_unlock(&r->lock);
}

/*
 * Ends r's window if it is over (or if force): returns how many lines it
 * suppressed, with their highest level and the last of them, and starts
 * counting afresh.  Called with r->lock held.
 */
static uint64_t
log_limit_end(struct log_limit *r, uint64_t now, int force, int *level,
    char *last, size_t lastlen)
{
	uint64_t	n = 0;

	if (!force && now - r->start_ms < r->window_ms)
		return 0;
	if (r->suppressed > 0) {
		n = r->suppressed;
		*level = r->level;
		snprintf(last, lastlen, "%s", r->last);
	}
	r->start_ms = now;
	r->lines = 0;
	r->suppressed = 0;
	r->level = LOG_DEBUG;
	r->last[0] = '\0';
	return n;
}

static void
log_limit_summary(struct log_limit *r, uint64_t n, int level, const char *last)
{
	if (n == 0)
		return;
	log_msg((enum log_level)level, r->subsys, "%s%s%" PRIu64 " similar "
	    "message%s suppressed in the last %u s (last: %s)",
	    r->what != NULL ? r->what : "", r->what != NULL ? ": " : "", n,
	    n == 1 ? "" : "s", (r->window_ms + 999) / 1000, last);
}

/* Writes r's summary if its window is over, or in any case if force. */
static void
log_limit_flush(struct log_limit *r, int force)
{
	char		last[LOG_LIMIT_LAST_MAX];
	uint64_t	n;
	int		level = LOG_DEBUG;

	pthread_mutex_lock(&r->lock);
	n = log_limit_end(r, log_now_ms(), force, &level, last, sizeof(last));
	pthread_mutex_unlock(&r->lock);
	log_limit_summary(r, n, level, last);
}

/* Flushes every limit used so far. */
static void
log_limits_flush(int force)
{
	struct log_limit	*r;

	pthread_mutex_lock(&log_limits_lock);
	for (r = log_limits; r != NULL; r = r->next)
		log_limit_flush(r, force);
	pthread_mutex_unlock(&log_limits_lock);
}

/*
 * Whether msg may go out through r: not once its burst went out in this
 * window (then it is counted); a new window first reports what the last one
 * suppressed.  Any thread.
 */
static int
log_limit_pass(struct log_limit *r, enum log_level level, const char *msg)
{
	char		last[LOG_LIMIT_LAST_MAX];
	uint64_t	n;
	int		sumlevel = LOG_DEBUG, emit = 0;

	/* Lines that --log-level drops use none of the budget. */
	if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
		return 0;
	if (!__atomic_load_n(&r->listed, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&log_limits_lock);
		if (!r->listed) {
			r->next = log_limits;
			log_limits = r;
			__atomic_store_n(&r->listed, 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&log_limits_lock);
	}
	pthread_mutex_lock(&r->lock);
	n = log_limit_end(r, log_now_ms(), 0, &sumlevel, last, sizeof(last));
	if (r->lines < r->burst) {
		r->lines++;
		emit = 1;
	} else {
		r->suppressed++;
		if ((int)level > r->level)
			r->level = (int)level;
		snprintf(r->last, sizeof(r->last), "%s", msg);
	}
	pthread_mutex_unlock(&r->lock);
	log_limit_summary(r, n, sumlevel, last);
	return emit;
}

static void
log_limit_msg(struct log_limit *r, enum log_level level, const char *msg)
{
	if (log_limit_pass(r, level, msg))
		log_msg(level, r->subsys, "%s", msg);
	else if (!r->quiet && level > LOG_DEBUG)
		log_msg(LOG_DEBUG, r->subsys, "%s", msg);
}

void
log_limited(struct log_limit *l, enum log_level level, const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;

	if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_limit_msg(l, level, msg);
}

void
log_limited_event(struct log_limit *l, enum log_level level,
    const struct log_fields *f, const char *fmt, ...)
{
	char	msg[LOG_LINE_MAX];
	va_list	ap;

	if ((int)level < __atomic_load_n(&log_min, __ATOMIC_RELAXED))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_limit_pass(l, level, msg))
		log_event(level, l->subsys, f, "%s", msg);
	else if (!l->quiet && level > LOG_DEBUG)
		log_event(LOG_DEBUG, l->subsys, f, "%s", msg);
}

void
log_tick(void)
{
	log_limits_flush(0);
}

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

int
log_open(const char *name, const char *path, enum log_level level,
    enum log_format format)
{
	int	fd = -1, old;

	if (path != NULL && *path != '\0') {
		if (strlen(path) >= sizeof(log_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if ((fd = log_open_file(path)) == -1)
			return -1;
	}
	pthread_mutex_lock(&log_swap_lock);
	if (name != NULL && *name != '\0')
		snprintf(log_name, sizeof(log_name), "%s", name);
	log_fmt = format == LOG_JSON ? LOG_JSON : LOG_TEXT;
	__atomic_store_n(&log_up, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&log_min, (int)level, __ATOMIC_RELAXED);
	if (fd >= 0)
		snprintf(log_path, sizeof(log_path), "%s", path);
	else
		log_path[0] = '\0';
	old = __atomic_exchange_n(&log_fd, fd, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&log_swap_lock);
	if (old >= 0)
		close(old);
	log_limit_reset(&log_route_libevent);
	return 0;
}

int
log_reopen(void)
{
	int	fd, cur, saved, rc = 0;

	pthread_mutex_lock(&log_swap_lock);
	cur = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	if (cur >= 0 && log_path[0] != '\0') {
		if ((fd = log_open_file(log_path)) == -1)
			rc = -1;
		else {
			/* Same fd number, new file: writers never see a closed fd. */
			if (dup3(fd, cur, O_CLOEXEC) == -1)
				rc = -1;
			saved = errno;
			close(fd);
			errno = saved;
		}
	}
	pthread_mutex_unlock(&log_swap_lock);
	return rc;
}

void
log_close(void)
{
	int	old;

	/* Nothing suppressed goes unreported. */
	log_limits_flush(1);
	pthread_mutex_lock(&log_swap_lock);
	old = __atomic_exchange_n(&log_fd, -1, __ATOMIC_ACQ_REL);
	log_path[0] = '\0';
	pthread_mutex_unlock(&log_swap_lock);
	if (old >= 0)
		close(old);
}

int
log_level_parse(const char *s)
{
	int	i;

	for (i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (strcmp(s, log_level_lower[i]) == 0)
			return i;
	}
	return -1;
}

int
log_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LOG_TEXT;
	if (strcmp(s, "json") == 0)
		return LOG_JSON;
	return -1;
}

static void
log_libevent_cb(int severity, const char *msg)
{
	enum log_level	level;

	/* libevent forbids calling back into libevent from here; we don't. */
	switch (severity) {
	case EVENT_LOG_DEBUG:
		level = LOG_DEBUG;
		break;
	case EVENT_LOG_MSG:
		level = LOG_INFO;
		break;
	case EVENT_LOG_WARN:
		level = LOG_WARN;
		break;
	default:
		level = LOG_ERROR;
		break;
	}
	log_limit_msg(&log_route_libevent, level, msg);
}

static void __attribute__((noreturn))
log_libevent_fatal(int err)
{
	log_msg(LOG_ERROR, "libevent", "fatal error %d, aborting", err);
	abort();
}

void
log_libevent_route(void)
{
	event_set_log_callback(log_libevent_cb);
	event_set_fatal_callback(log_libevent_fatal);
}

