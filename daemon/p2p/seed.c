/*
 * seed.c: DNS seeds: a --peer name resolved to all its addresses, again
 * and again (seed.h).  Loop thread, but for the resolver thread below.
 *
 * The system's getaddrinfo resolves, on a thread of its own per
 * resolution, and hands the result back through an eventfd: libevent's
 * resolver (evdns) fails a truncated UDP answer outright, and swarm's DNS
 * truncates tasks.<service> past about 18 addresses, where glibc asks
 * again over TCP and gets them all.  The thread touches neither libevent
 * nor the seed: only its job, which it and the seed share by reference
 * count, so that a seed freed mid-lookup does not wait for it.
 */
#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "base/log.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "p2p/seed.h"

#define SEED_HOSTS_MAX_BYTES	(1024 * 1024)	/* a test's hosts file */
#define SEED_LOG_ADDRS		8		/* addresses named in a change line */

/* One resolution on the resolver thread; freed by whichever side lets go last. */
struct seed_job {
	atomic_int		 refs;		/* the seed's and the thread's */
	atomic_int		 done;		/* release: rc, err, n, addrs are set */
	int			 efd;		/* the thread writes it when done */
	char			 host[ADDR_HOST_MAX];
	uint16_t		 port;
	int			 rc;		/* getaddrinfo's */
	int			 err;		/* errno, for EAI_SYSTEM */
	size_t			 n;
	struct addr		 addrs[SEED_ADDRS_MAX];
};

struct seed {
	struct event_base	*base;
	char			 host[ADDR_HOST_MAX];
	uint16_t		 port;
	char			*hosts_file;	/* tests: resolve from this file */
	seed_cb			 cb;
	void			*arg;
	struct event		*timer;
	struct seed_job		*req;		/* a resolution under way, or NULL */
	struct event		*req_ev;	/* its eventfd readable */
	struct addr		 addrs[SEED_ADDRS_MAX];
	size_t			 naddrs;
	int			 resolved;	/* once, at least */
	unsigned		 failures;	/* in a row */
	char			 last_err[128];	/* the failure logged last */
	uint64_t		 last_ms;	/* last resolution started */
	uint64_t		 next_ms;	/* the timer's, when pending */
	uint64_t		 soon_ms;	/* seed_refresh's gap: grows while nothing changes */
};

static void	seed_resolve(struct seed *);

uint64_t
seed_retry_ms(unsigned failures)
{
	uint64_t d = SEED_RETRY_MIN_MS;

	while (failures > 1 && d < SEED_RETRY_MAX_MS) {
		d *= 2;
		failures--;
	}
	return d > SEED_RETRY_MAX_MS ? SEED_RETRY_MAX_MS : d;
}

static int
seed_addr_cmp(const void *x, const void *y)
{
	const struct addr *a = x, *b = y;
	int c = strcmp(a->host, b->host);

	if (c != 0)
		return c;
	return (int)a->port - (int)b->port;
}

size_t
seed_addrs_sort(struct addr *a, size_t n)
{
	size_t i, m = 0;

	if (n == 0)
		return 0;
	qsort(a, n, sizeof(*a), seed_addr_cmp);
	for (i = 1; i < n; i++)
		if (seed_addr_cmp(&a[m], &a[i]) != 0)
			a[++m] = a[i];
	return m + 1;
}

static int
seed_has(const struct addr *a, size_t n, const struct addr *x)
{
	return n > 0 && bsearch(x, a, n, sizeof(*a), seed_addr_cmp) != NULL;
}

void
seed_diff(const struct addr *a, size_t na, const struct addr *b, size_t nb,
    size_t *added, size_t *removed)
{
	size_t i;

	*added = *removed = 0;
	for (i = 0; i < nb; i++)
		if (!seed_has(a, na, &b[i]))
			(*added)++;
	for (i = 0; i < na; i++)
		if (!seed_has(b, nb, &a[i]))
			(*removed)++;
}

static void
seed_schedule(struct seed *s, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	s->next_ms = now_ms() + ms;
	evtimer_add(s->timer, &tv);
}

static void
seed_timercb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	seed_resolve(arg);
}

/* A resolution failed: keep the last list, retry with backoff, log changes only. */
static void
seed_failed(struct seed *s, const char *err)
{
	uint64_t ms;

	s->failures++;
	ms = seed_retry_ms(s->failures);
	if (strcmp(s->last_err, err) != 0) {
		snprintf(s->last_err, sizeof(s->last_err), "%s", err);
		log_warn("net", "seed %s:%u does not resolve: %s (%s; trying again "
		    "in %llu s, then less often, up to every %d s)", s->host,
		    s->port, err, s->resolved ? "keeping the addresses it had" :
		    "nothing to dial yet", (unsigned long long)(ms / 1000),
		    SEED_RETRY_MAX_MS / 1000);
	} else
		log_debug("net", "seed %s:%u does not resolve: %s (failure %u, "
		    "next try in %llu ms)", s->host, s->port, err, s->failures,
		    (unsigned long long)ms);
	seed_schedule(s, ms);
}

/* A resolution gave addrs[0..n): log what changed, hand them over. */
static void
seed_done(struct seed *s, struct addr *addrs, size_t n)
{
	char list[SEED_LOG_ADDRS * (ADDR_STR_MAX + 2) + 32], one[ADDR_STR_MAX];
	size_t added, removed, i, len = 0;

	n = seed_addrs_sort(addrs, n);
	seed_diff(s->addrs, s->naddrs, addrs, n, &added, &removed);
	if (!s->resolved || added > 0 || removed > 0 || s->last_err[0] != '\0') {
		list[0] = '\0';
		for (i = 0; i < n && i < SEED_LOG_ADDRS; i++) {
			addr_str(&addrs[i], one, sizeof(one));
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
			    i > 0 ? ", " : "", one);
		}
		if (n > SEED_LOG_ADDRS)
			snprintf(list + len, sizeof(list) - len, ", and %zu more",
			    n - SEED_LOG_ADDRS);
		log_info("net", "seed %s:%u resolves to %zu address%s (%zu new, %zu "
		    "gone): %s", s->host, s->port, n, n == 1 ? "" : "es", added,
		    removed, list);
	}
	/* Asked again and again for nothing new: ask less often. */
	if (added > 0 || removed > 0)
		s->soon_ms = SEED_SOON_MIN_MS;
	else if ((s->soon_ms *= 2) > SEED_REFRESH_MS)
		s->soon_ms = SEED_REFRESH_MS;
	memcpy(s->addrs, addrs, n * sizeof(*addrs));
	s->naddrs = n;
	s->resolved = 1;
	s->failures = 0;
	s->last_err[0] = '\0';
	seed_schedule(s, SEED_REFRESH_MS);
	s->cb(s, s->addrs, s->naddrs, s->arg);
}

static void
seed_job_unref(struct seed_job *job)
{
	if (atomic_fetch_sub(&job->refs, 1) == 1) {
		close(job->efd);
		free(job);
	}
}

/* The resolver thread: getaddrinfo, the addresses into the job, a wake-up. */
static void *
seed_job_run(void *arg)
{
	struct seed_job *job = arg;
	struct addrinfo hints, *res = NULL, *ai;
	char port[8];
	uint64_t one = 1;
	ssize_t w;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", job->port);
	job->rc = getaddrinfo(job->host, port, &hints, &res);
	job->err = errno;
	if (job->rc == 0) {
		for (ai = res; ai != NULL && job->n < SEED_ADDRS_MAX; ai = ai->ai_next)
			if (addr_from_sockaddr(&job->addrs[job->n], ai->ai_addr) == 0) {
				job->addrs[job->n].port = job->port;
				job->n++;
			}
		freeaddrinfo(res);
	}
	atomic_store_explicit(&job->done, 1, memory_order_release);
	do
		w = write(job->efd, &one, sizeof(one));
	while (w == -1 && errno == EINTR);
	seed_job_unref(job);
	return NULL;
}

/* The loop: a resolution finished. */
static void
seed_jobcb(evutil_socket_t fd, short what, void *arg)
{
	struct seed *s = arg;
	struct seed_job *job = s->req;
	char err[160];

	(void)fd;
	(void)what;
	/* The eventfd says it is done; this makes the results visible (C11). */
	if (!atomic_load_explicit(&job->done, memory_order_acquire)) {
		event_add(s->req_ev, NULL);	/* cannot be: wait again */
		return;
	}
	event_free(s->req_ev);
	s->req_ev = NULL;
	s->req = NULL;
	if (job->rc != 0) {
		snprintf(err, sizeof(err), "%s", job->rc == EAI_SYSTEM ?
		    strerror(job->err) : gai_strerror(job->rc));
		seed_job_unref(job);
		seed_failed(s, err);
		return;
	}
	if (job->n == 0)
		seed_failed(s, "no IPv4 or IPv6 address");
	else
		seed_done(s, job->addrs, job->n);
	seed_job_unref(job);
}

/* Starts a resolution on a thread of its own; -1 (err filled) if it cannot. */
static int
seed_job_start(struct seed *s, char *err, size_t errlen)
{
	struct seed_job *job = xcalloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t tid;
	sigset_t all, old;
	int rc;

	if ((job->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(job);
		return -1;
	}
	snprintf(job->host, sizeof(job->host), "%s", s->host);
	job->port = s->port;
	atomic_init(&job->refs, 2);
	atomic_init(&job->done, 0);
	s->req_ev = event_new(s->base, job->efd, EV_READ, seed_jobcb, s);
	event_add(s->req_ev, NULL);
	s->req = job;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The thread blocks every signal: they belong to the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, &attr, seed_job_run, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a resolver thread: %s",
		    strerror(rc));
		event_free(s->req_ev);
		s->req_ev = NULL;
		s->req = NULL;
		close(job->efd);
		free(job);
		return -1;
	}
	return 0;
}

/*
 * Tests: the addresses of s->host in s->hosts_file ("ADDRESS NAME..." per
 * line, '#' comments), read now.  The file is local and small: reading it
 * on the loop is as quick as a cached lookup.
 */
static void
seed_resolve_file(struct seed *s)
{
	FILE *f;
	char line[1024], *p, *tok, *save, err[160];
	struct addr *addrs;
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = 0;
	int ip;
	long total = 0;

	if ((f = fopen(s->hosts_file, "r")) == NULL) {
		snprintf(err, sizeof(err), "hosts file %s: %s", s->hosts_file,
		    strerror(errno));
		seed_failed(s, err);
		return;
	}
	addrs = xcalloc(SEED_ADDRS_MAX, sizeof(*addrs));
	while (n < SEED_ADDRS_MAX && total < SEED_HOSTS_MAX_BYTES &&
	    fgets(line, sizeof(line), f) != NULL) {
		total += (long)strlen(line);
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		if ((tok = strtok_r(line, " \t\r\n", &save)) == NULL)
			continue;
		ip = inet_pton(AF_INET, tok, &a4) == 1 ||
		    inet_pton(AF_INET6, tok, &a6) == 1;
		if (!ip || strlen(tok) >= sizeof(addrs[n].host))
			continue;
		while ((p = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			if (strcasecmp(p, s->host) == 0) {
				snprintf(addrs[n].host, sizeof(addrs[n].host), "%s", tok);
				addrs[n].port = s->port;
				n++;
				break;
			}
	}
	fclose(f);
	if (n == 0) {
		snprintf(err, sizeof(err), "not in hosts file %s", s->hosts_file);
		seed_failed(s, err);
	} else
		seed_done(s, addrs, n);
	free(addrs);
}

static void
seed_resolve(struct seed *s)
{
	char err[160];

	if (s->req != NULL)
		return;
	evtimer_del(s->timer);
	s->last_ms = now_ms();
	if (s->hosts_file != NULL) {
		seed_resolve_file(s);
		return;
	}
	if (seed_job_start(s, err, sizeof(err)) == -1)
		seed_failed(s, err);
}

struct seed *
seed_new(struct event_base *base, const char *host, uint16_t port,
    const char *hosts_file, seed_cb cb, void *arg)
{
	struct seed *s = xcalloc(1, sizeof(*s));

	s->base = base;
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->port = port;
	if (hosts_file != NULL && hosts_file[0] != '\0')
		s->hosts_file = xstrdup(hosts_file);
	s->cb = cb;
	s->arg = arg;
	s->soon_ms = SEED_SOON_MIN_MS;
	s->timer = evtimer_new(base, seed_timercb, s);
	return s;
}

void
seed_start(struct seed *s)
{
	seed_resolve(s);
}

void
seed_refresh(struct seed *s)
{
	uint64_t now = now_ms(), due = s->last_ms + s->soon_ms;

	/* Under way, or failing: the failure's backoff decides. */
	if (s->req != NULL || s->failures > 0)
		return;
	if (due < now)
		due = now;
	/* Already due as soon (a failure's retry)? Leave it. */
	if (evtimer_pending(s->timer, NULL) && s->next_ms <= due)
		return;
	seed_schedule(s, due - now);
}

void
seed_free(struct seed *s)
{
	if (s == NULL)
		return;
	/* A lookup under way finishes on its thread, which frees the job. */
	if (s->req != NULL) {
		event_free(s->req_ev);
		seed_job_unref(s->req);
		s->req = NULL;
	}
	event_free(s->timer);
	free(s->hosts_file);
	free(s);
}

const char *
seed_name(const struct seed *s)
{
	return s->host;
}

size_t
seed_count(const struct seed *s)
{
	return s->naddrs;
}
