/*
 * ctl_watch.c: `nodectl watch`: follows GET /v1/events (Server-Sent Events,
 * docs/API.md) on one or more nodes from a single ppoll() loop and prints
 * one line per event as it arrives:
 *	HH:MM:SS.mmm node1 tx_accepted 3fa2c1d09b1e7a55 from=node2 amount=42
 * A node that goes away is reported and the others go on.  A stream that
 * breaks after it ran is reopened (with backoff, for --reconnect seconds)
 * and resumed after the last event id seen (Last-Event-ID), so that no event
 * is printed twice or lost while the node still keeps it; a node that cannot
 * resume sends a "reset" event, which is printed and reported.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "ctl.h"
#include "sse.h"

#define WATCH_ERRBODY_MAX	4096		/* an error answer kept for its message */
#define WATCH_OUT_MAX		8192		/* one printed line */
#define WATCH_RECONNECT_S	30		/* default --reconnect */
#define WATCH_RECONNECT_MAX_S	86400
#define WATCH_BACKOFF_MIN_MS	100		/* between attempts to reopen a stream */
#define WATCH_BACKOFF_MAX_MS	2000

enum {
	OPT_RECONNECT = CTL_OPT_COMMAND
};

/* What became of a stream that closed. */
enum watch_end {
	WATCH_RETRY,		/* it will be reopened */
	WATCH_GONE,		/* the node went away: no longer followed */
	WATCH_FAILED		/* the node could not be followed: exit 2 */
};

struct watch_node {
	struct http_addr	*addr;
	struct http_stream	*s;		/* NULL between connections */
	size_t			 idx;
	int64_t			 deadline;	/* ms, monotonic: head must come by then */
	int			 started;	/* 200 received: the stream runs */
	int			 followed;	/* a stream ran once: reopen it if it breaks */
	int64_t			 retry_at;	/* ms, monotonic: reopen then (0: no) */
	int64_t			 give_up_at;	/* ms, monotonic: the last attempt */
	int			 backoff_ms;
	char			 resume_id[SSE_ID_MAX + 1];	/* sent on this connection */
	struct sse		*sse;		/* the event stream's parser, kept across */
	char			 errbody[WATCH_ERRBODY_MAX + 1];
	size_t			 errlen;
	struct watch		*w;
};

struct watch {
	struct ctl		*c;
	int			 color;
	int			 out_failed;
	int			 reconnect_ms;	/* --reconnect */
	size_t			 namew;		/* widest node name printed so far */
	struct watch_node	 nodes[CTL_NODES_MAX];
	size_t			 n;
};

static volatile sig_atomic_t watch_stop;

static const char *watch_colors[] = {
	"\033[1;32m", "\033[1;34m", "\033[1;35m", "\033[1;36m", "\033[1;33m",
	"\033[1;31m", "\033[1;92m", "\033[1;94m", "\033[1;95m", "\033[1;96m"
};

static void
watch_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static int64_t
watch_mono_ms(void)
{
	return (int64_t)(mono_ns() / 1000000);
}

/* Appends printf-style text to out (WATCH_OUT_MAX bytes) at *len. */
static void
watch_append(char *out, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
watch_append(char *out, size_t *len, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*len >= WATCH_OUT_MAX - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, WATCH_OUT_MAX - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < WATCH_OUT_MAX - *len ? (size_t)n :
		    WATCH_OUT_MAX - *len - 1;
}

/* Appends " key=value", quoting a value that holds spaces or is empty. */
static void
watch_kv(char *out, size_t *len, const char *key, const json_t *v)
{
	char	val[1024], k[64];

	ctl_safe(k, sizeof(k), key);
	ctl_value(val, sizeof(val), v);
	if (val[0] == '\0' || strpbrk(val, " \"=") != NULL)
		watch_append(out, len, " %s=\"%s\"", k, val);
	else
		watch_append(out, len, " %s=%s", k, val);
}

/* Fields shown first for the known events; the first is the subject. */
static const char **
watch_fields(const char *type)
{
	static const char	*tx_accepted[] = { "id", "from", "amount", NULL };
	static const char	*tx_rejected[] = { "id", "from", "reason", NULL };
	static const char	*peer_conn[] = { "node_id", "name", "addr",
	    "direction", NULL };
	static const char	*peer_disc[] = { "node_id", "name", "addr",
	    "reason", NULL };
	static const char	*reset[] = { "code", "last_event_id", "reason",
	    NULL };
	static const char	*none[] = { NULL };

	if (strcmp(type, "tx_accepted") == 0)
		return tx_accepted;
	if (strcmp(type, "tx_rejected") == 0)
		return tx_rejected;
	if (strcmp(type, "peer_connected") == 0)
		return peer_conn;
	if (strcmp(type, "peer_disconnected") == 0)
		return peer_disc;
	if (strcmp(type, "reset") == 0)
		return reset;
	return none;
}

static void
watch_print(struct watch_node *wn, const char *type, json_t *obj)
{
	struct watch	*w = wn->w;
	const char	**fields = watch_fields(type), *key;
	const json_t	*v;
	json_t		*val;
	char		 out[WATCH_OUT_MAX], name[128], stype[64], subj[32];
	char		 clock[32], *text;
	struct tm	 tm;
	time_t		 t;
	uint64_t	 us;
	size_t		 len = 0, i, namelen;
	int		 listed;

	if (w->c->json) {
		if (json_object_get(obj, "type") == NULL)
			json_object_set_new(obj, "type", json_string(type));
		if (json_object_get(obj, "node") == NULL)
			json_object_set_new(obj, "node",
			    json_string(wn->addr->text));
		if ((text = json_dumps(obj, JSON_COMPACT)) == NULL)
			return;
		printf("%s\n", text);
		free(text);
		return;
	}

	v = json_object_get(obj, "ts_us");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		us = (uint64_t)json_integer_value(v);
	else
		us = now_ms() * 1000;
	t = (time_t)(us / 1000000);
	localtime_r(&t, &tm);
	snprintf(clock, sizeof(clock), "%02d:%02d:%02d.%03u", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(us / 1000 % 1000));

	v = json_object_get(obj, "node");
	ctl_safe(name, sizeof(name), json_is_string(v) ?
	    json_string_value(v) : wn->addr->text);
	namelen = strlen(name);
	if (w->n > 1 && namelen > w->namew)
		w->namew = namelen;
	ctl_safe(stype, sizeof(stype), type);

	watch_append(out, &len, "%s ", clock);
	if (w->color)
		watch_append(out, &len, "%s%s\033[0m", watch_colors[wn->idx %
		    (sizeof(watch_colors) / sizeof(watch_colors[0]))], name);
	else
		watch_append(out, &len, "%s", name);
	watch_append(out, &len, "%*s %s", (int)(w->namew > namelen ?
	    w->namew - namelen : 0), "", stype);

	for (i = 0; fields[i] != NULL; i++) {
		if ((v = json_object_get(obj, fields[i])) == NULL)
			continue;
		if (i == 0 && json_is_string(v)) {
			/* The subject: 16 hex digits, as in the logs. */
			ctl_safe(subj, 17, json_string_value(v));
			watch_append(out, &len, " %s", subj);
		} else
			watch_kv(out, &len, fields[i], v);
	}
	json_object_foreach(obj, key, val) {
		listed = strcmp(key, "node") == 0 || strcmp(key, "ts_us") == 0;
		for (i = 0; fields[i] != NULL && !listed; i++)
			listed = strcmp(key, fields[i]) == 0;
		if (!listed)
			watch_kv(out, &len, key, val);
	}
	printf("%s\n", out);
}

/* One event of a node's stream (sse_event_cb): printed as a line. */
static int
watch_event(void *arg, const char *type, const char *data, size_t len)
{
	struct watch_node	*wn = arg;
	json_error_t		 jerr;
	json_t			*obj;
	const char		*why;
	char			 safe[1024];

	obj = json_loadb(data, len, 0, &jerr);
	if (!json_is_object(obj)) {
		json_decref(obj);
		obj = json_object();
		ctl_safe(safe, sizeof(safe), data);
		if (obj != NULL)
			json_object_set_new(obj, "data", json_string(safe));
	}
	if (strcmp(type, "reset") == 0) {
		why = json_string_value(json_object_get(obj, "reason"));
		ctl_safe(safe, sizeof(safe), why != NULL ? why :
		    "the node cannot resume the stream");
		ctl_warnx("%s: events were lost: %s", wn->addr->text, safe);
	}
	if (obj != NULL)
		watch_print(wn, type, obj);
	json_decref(obj);
	if (fflush(stdout) == EOF)
		wn->w->out_failed = 1;
	return 0;
}

/* The stream of wn answered 200: it runs (again). */
static void
watch_started(struct watch_node *wn)
{
	wn->started = 1;
	if (wn->followed) {
		if (wn->resume_id[0] != '\0')
			ctl_warnx("%s: event stream reopened, resuming after "
			    "event %s", wn->addr->text, wn->resume_id);
		else
			ctl_warnx("%s: event stream reopened", wn->addr->text);
	}
	wn->followed = 1;
}

/* Body bytes of a stream: the SSE stream, or an error answer's body. */
static int
watch_body(void *arg, const char *data, size_t len)
{
	struct watch_node	*wn = arg;
	char			 err[128];
	size_t			 n;

	if (http_stream_status(wn->s) != 200) {
		n = WATCH_ERRBODY_MAX - wn->errlen;
		if (n > len)
			n = len;
		memcpy(wn->errbody + wn->errlen, data, n);
		wn->errlen += n;
		wn->errbody[wn->errlen] = '\0';
		return 0;
	}
	if (!wn->started)
		watch_started(wn);
	if (sse_feed(wn->sse, data, len, err, sizeof(err)) == -1) {
		ctl_warnx("%s: %s", wn->addr->text, err);
		return -1;
	}
	return 0;
}

/* Reports why a stream that never ran failed: the node's error answer. */
static void
watch_refused(struct watch_node *wn)
{
	json_error_t	 jerr;
	json_t		*j;
	const char	*msg = NULL;
	char		 safe[512], reason[128];

	j = json_loadb(wn->errbody, wn->errlen, 0, &jerr);
	if (j != NULL)
		msg = json_string_value(json_object_get(j, "error"));
	ctl_safe(reason, sizeof(reason), http_stream_reason(wn->s));
	if (msg != NULL) {
		ctl_safe(safe, sizeof(safe), msg);
		ctl_warnx("%s: %s (HTTP %d)", wn->addr->text, safe,
		    http_stream_status(wn->s));
	} else
		ctl_warnx("%s: HTTP %d %s", wn->addr->text,
		    http_stream_status(wn->s), reason);
	if (http_stream_status(wn->s) == 401)
		ctl_token_hint(wn->w->c);
	json_decref(j);
}

/*
 * Opens wn's stream, resuming after the last event id its parser saw.
 * Returns 0, or -1 with err set.
 */
static int
watch_open(struct watch_node *wn, int64_t now, char *err, size_t errlen)
{
	struct http_request	req;

	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/v1/events";
	req.token = wn->w->c->token;
	req.accept = "text/event-stream";
	snprintf(wn->resume_id, sizeof(wn->resume_id), "%s",
	    sse_last_id(wn->sse));
	if (wn->resume_id[0] != '\0')
		req.last_event_id = wn->resume_id;
	/* Half an event of the broken connection is not the next one's. */
	sse_reset(wn->sse);
	wn->started = 0;
	wn->errlen = 0;
	wn->errbody[0] = '\0';
	wn->deadline = now + wn->w->c->timeout_ms;
	wn->s = http_stream_open(wn->addr, &req, err, errlen);
	return wn->s != NULL ? 0 : -1;
}

/*
 * An attempt to reopen a followed stream failed (status: the answer's, 0
 * for none): tries again later, until --reconnect seconds after the break.
 */
static enum watch_end
watch_retry(struct watch_node *wn, int64_t now, int status, const char *err)
{
	if (status != 0 && status != 503) {
		/* The node answers, and means it: 401, 404... */
		if (wn->s != NULL)
			watch_refused(wn);
		else
			ctl_warnx("%s", err);
		return WATCH_FAILED;
	}
	if (now >= wn->give_up_at) {
		ctl_warnx("%s: gave up reopening the event stream after %d s "
		    "(%s)", wn->addr->text, wn->w->reconnect_ms / 1000, err);
		return WATCH_GONE;
	}
	wn->retry_at = now + wn->backoff_ms;
	if (wn->retry_at > wn->give_up_at)
		wn->retry_at = wn->give_up_at;
	wn->backoff_ms = wn->backoff_ms * 2 > WATCH_BACKOFF_MAX_MS ?
	    WATCH_BACKOFF_MAX_MS : wn->backoff_ms * 2;
	return WATCH_RETRY;
}

/* Closes wn's stream (rc: of the last step) and says what becomes of it. */
static enum watch_end
watch_close(struct watch_node *wn, int rc, const char *err, int64_t now)
{
	const char	*detail = err;
	size_t		 alen = strlen(wn->addr->text);
	enum watch_end	 end;
	int		 status = http_stream_status(wn->s);
	char		 why[600];

	if (wn->started) {
		/* err names the address already; say it once. */
		if (strncmp(detail, wn->addr->text, alen) == 0 &&
		    strncmp(detail + alen, ": ", 2) == 0)
			detail += alen + 2;
		snprintf(why, sizeof(why), "%s", rc == 0 ? "" : detail);
		if (wn->w->reconnect_ms > 0 && !watch_stop) {
			ctl_warnx("%s: event stream ended%s%s%s; reopening it for "
			    "up to %d s", wn->addr->text, why[0] != '\0' ? " (" :
			    "", why, why[0] != '\0' ? ")" : "",
			    wn->w->reconnect_ms / 1000);
			wn->give_up_at = now + wn->w->reconnect_ms;
			wn->backoff_ms = WATCH_BACKOFF_MIN_MS;
			wn->retry_at = now + wn->backoff_ms;
			end = WATCH_RETRY;
		} else {
			if (why[0] == '\0')
				ctl_warnx("%s: event stream ended",
				    wn->addr->text);
			else
				ctl_warnx("%s: event stream ended (%s)",
				    wn->addr->text, why);
			end = WATCH_GONE;
		}
	} else if (wn->followed) {
		end = watch_retry(wn, now, status, rc == 0 ?
		    "the node ended the answer" : err);
	} else if (rc == 0 || status != 0) {
		watch_refused(wn);
		end = WATCH_FAILED;
	} else {
		ctl_warnx("%s", err);
		end = WATCH_FAILED;
	}
	http_stream_free(wn->s);
	wn->s = NULL;
	return end;
}

int
ctl_watch(struct ctl *c, int argc, char **argv)
{
	static const struct option	 opts[] = {
		{ "reconnect",	required_argument,	NULL,	OPT_RECONNECT },
		{ NULL,		0,			NULL,	0 }
	};
	struct watch		*w;
	struct watch_node	*wn;
	struct pollfd		 pfd[CTL_NODES_MAX];
	struct watch_node	*polled[CTL_NODES_MAX];
	struct sigaction	 sa, old_int, old_term;
	sigset_t		 block, waitmask;
	struct timespec		 ts;
	const char		*nocolor;
	char			 err[512];
	int64_t			 now, wait;
	uint64_t		 secs = WATCH_RECONNECT_S;
	size_t			 i, np, active = 0;
	int			 ch, rc, failed = 0, n;
	enum watch_end		 end;

	while ((ch = ctl_getopt(c, argc, argv, opts)) != -1) {
		switch (ch) {
		case OPT_RECONNECT:
			if (ctl_parse_u64(c, "--reconnect", optarg, &secs) == -1)
				return CTL_ERR;
			if (secs > WATCH_RECONNECT_MAX_S)
				return ctl_usage(c, "--reconnect '%s': from 0 to %d "
				    "seconds", optarg, WATCH_RECONNECT_MAX_S);
			break;
		case CTL_OPT_HELP:
			return ctl_help(c->cmd);
		default:
			return CTL_ERR;
		}
	}
	if (optind < argc)
		return ctl_usage(c, "unexpected argument '%s'", argv[optind]);
	if ((rc = ctl_connect_setup(c, 1)) != 0)
		return rc;
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	w->reconnect_ms = (int)secs * 1000;
	nocolor = getenv("NO_COLOR");
	w->color = !c->json && isatty(STDOUT_FILENO) &&
	    (nocolor == NULL || *nocolor == '\0');
	w->n = c->nnodes;

	/* SIGINT and SIGTERM get through only while ppoll waits. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watch_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	now = watch_mono_ms();
	for (i = 0; i < w->n; i++) {
		wn = &w->nodes[i];
		wn->w = w;
		wn->idx = i;
		wn->addr = &c->nodes[i];
		wn->sse = sse_new(watch_event, wn);
		if (watch_open(wn, now, err, sizeof(err)) == -1) {
			ctl_warnx("%s", err);
			failed = 1;
			continue;
		}
		active++;
	}

	while (active > 0 && !watch_stop && !w->out_failed) {
		now = watch_mono_ms();
		wait = -1;
		for (i = 0, np = 0; i < w->n; i++) {
			wn = &w->nodes[i];
			if (wn->s == NULL) {
				if (wn->retry_at != 0 && (wait == -1 ||
				    wn->retry_at - now < wait))
					wait = wn->retry_at - now < 0 ? 0 :
					    wn->retry_at - now;
				continue;
			}
			if (!wn->started && (wait == -1 ||
			    wn->deadline - now < wait))
				wait = wn->deadline - now < 0 ? 0 :
				    wn->deadline - now;
			pfd[np].fd = http_stream_fd(wn->s);
			pfd[np].events = http_stream_events(wn->s);
			pfd[np].revents = 0;
			polled[np++] = wn;
		}
		if (wait >= 0) {
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
		}
		n = ppoll(pfd, np, wait >= 0 ? &ts : NULL, &waitmask);
		if (n == -1 && errno != EINTR) {
			ctl_warnx("ppoll: %s", strerror(errno));
			failed = 1;
			break;
		}
		if (n == -1)
			continue;
		now = watch_mono_ms();
		for (i = 0; i < np; i++) {
			wn = polled[i];
			if (pfd[i].revents == 0) {
				if (wn->started || now < wn->deadline)
					continue;
				snprintf(err, sizeof(err), "%s: no answer "
				    "within %d s", wn->addr->text,
				    c->timeout_ms / 1000);
				end = watch_close(wn, -1, err, now);
			} else {
				rc = http_stream_step(wn->s, pfd[i].revents,
				    watch_body, wn, err, sizeof(err));
				if (!wn->started &&
				    http_stream_status(wn->s) == 200)
					watch_started(wn);
				if (rc == 1)
					continue;
				end = watch_close(wn, rc, err, now);
			}
			if (end == WATCH_FAILED)
				failed = 1;
			if (end != WATCH_RETRY)
				active--;
		}
		/* Streams due to be reopened. */
		for (i = 0; i < w->n && !watch_stop; i++) {
			wn = &w->nodes[i];
			if (wn->s != NULL || wn->retry_at == 0 ||
			    now < wn->retry_at)
				continue;
			wn->retry_at = 0;
			if (watch_open(wn, now, err, sizeof(err)) == 0)
				continue;
			end = watch_retry(wn, now, 0, err);
			if (end == WATCH_FAILED)
				failed = 1;
			if (end != WATCH_RETRY)
				active--;
		}
	}

	for (i = 0; i < w->n; i++) {
		http_stream_free(w->nodes[i].s);
		sse_free(w->nodes[i].sse);
	}
	if (w->out_failed)
		failed = 1;
	free(w);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	return failed ? CTL_ERR : CTL_OK;
}
