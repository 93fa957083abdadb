/*
 * seed.c: DNS seeds: a --peer name resolved to all its addresses, again
 * and again (seed.h).  Loop thread.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "base/log.h"
#include "lib/addr.h"
#include "lib/util.h"
#include "p2p/seed.h"

#define SEED_HOSTS_MAX_BYTES	(1024 * 1024)	/* a test's hosts file */
#define SEED_LOG_ADDRS		8		/* addresses named in a change line */

struct seed {
	struct event_base	*base;
	struct evdns_base	*dns;		/* its own; a new one after a failure */
	char			 host[ADDR_HOST_MAX];
	uint16_t		 port;
	char			*hosts_file;	/* tests: resolve from this file */
	seed_cb			 cb;
	void			*arg;
	struct event		*timer;
	struct evdns_getaddrinfo_request *req;
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
	return bsearch(x, a, n, sizeof(*a), seed_addr_cmp) != NULL;
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
seed_dnscb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct seed *s = arg;
	struct evutil_addrinfo *ai;
	struct addr *addrs;
	size_t n = 0;

	/* Cancelled by seed_free: s is going. */
	if (result == EVUTIL_EAI_CANCEL) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	s->req = NULL;
	if (result != 0) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		seed_failed(s, evutil_gai_strerror(result));
		return;
	}
	addrs = xcalloc(SEED_ADDRS_MAX, sizeof(*addrs));
	for (ai = res; ai != NULL && n < SEED_ADDRS_MAX; ai = ai->ai_next)
		if (addr_from_sockaddr(&addrs[n], ai->ai_addr) == 0) {
			addrs[n].port = s->port;
			n++;
		}
	evutil_freeaddrinfo(res);
	if (n == 0)
		seed_failed(s, "no IPv4 or IPv6 address");
	else
		seed_done(s, addrs, n);
	free(addrs);
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

/* A resolver as the system's: /etc/resolv.conf's servers and /etc/hosts. */
static struct evdns_base *
seed_dns_new(struct event_base *base)
{
	struct evdns_base *dns;

	dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (dns == NULL && (dns = evdns_base_new(base,
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE)) != NULL)
		evdns_base_load_hosts(dns, NULL);
	return dns;
}

static void
seed_resolve(struct seed *s)
{
	struct evutil_addrinfo hints;
	char port[8];

	if (s->req != NULL)
		return;
	evtimer_del(s->timer);
	s->last_ms = now_ms();
	if (s->hosts_file != NULL) {
		seed_resolve_file(s);
		return;
	}
	/*
	 * After a failure, a new resolver: a fresh socket (the first query of
	 * a container may leave a conntrack entry that keeps the old socket's
	 * packets from ever reaching Docker's DNS) and /etc/resolv.conf read
	 * again.  Freed here, never inside its own callback.
	 */
	if (s->dns != NULL && s->failures > 0) {
		evdns_base_free(s->dns, 0);
		s->dns = NULL;
	}
	if (s->dns == NULL && (s->dns = seed_dns_new(s->base)) == NULL) {
		seed_failed(s, "no resolver (cannot read /etc/resolv.conf or /etc/hosts)");
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", s->port);
	/* May call seed_dnscb before it returns (then it returns NULL). */
	s->req = evdns_getaddrinfo(s->dns, s->host, port, &hints, seed_dnscb, s);
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
	if (s->req != NULL) {
		evdns_getaddrinfo_cancel(s->req);
		s->req = NULL;
	}
	/* Fails what is left of the request; its callback sees the cancel. */
	if (s->dns != NULL)
		evdns_base_free(s->dns, 1);
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
