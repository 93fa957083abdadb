/*
 * addr.c: "host:port" addresses for noded and nodectl.  One parser, so that
 * both programs accept the same text and name the same problems.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/addr.h"

#define ADDR_NAME_MAX	253	/* a DNS name */

/* A host name, or an IPv6 zone: ASCII letters, digits, '.', '-', '_'. */
static int
addr_name_ok(const char *h)
{
	for (; *h != '\0'; h++) {
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' ||
		    *h == '_'))
			return 0;
	}
	return 1;
}

/* Decimal digits only.  0, -1 for anything else, -2 over 65535. */
static int
addr_port(const char *p, uint16_t *out)
{
	unsigned long	v = 0;

	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v <= 65535)
			v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -2;
	*out = (uint16_t)v;
	return 0;
}

/* "[v6]:port" in text (shown as s); the host, zone included, to host. */
static int
addr_parse_v6(const char *text, const char *s, char *host, const char **port,
    char *err, size_t errlen)
{
	char		 v6[ADDR_HOST_MAX], *pct;
	const char	*close;
	struct in6_addr	 in6;
	size_t		 hlen;

	if ((close = strchr(text, ']')) == NULL) {
		snprintf(err, errlen, "'%s': missing ']'", s);
		return -1;
	}
	hlen = (size_t)(close - text - 1);
	memcpy(host, text + 1, hlen);
	host[hlen] = '\0';
	if (close[1] != ':') {
		snprintf(err, errlen, "'%s': missing port (expected [HOST]:PORT)",
		    s);
		return -1;
	}
	*port = close + 2;
	if (hlen == 0) {
		snprintf(err, errlen, "'%s': empty host", s);
		return -1;
	}
	/* A zone ("%eth0") is not part of the literal. */
	memcpy(v6, host, hlen + 1);
	if ((pct = strchr(v6, '%')) != NULL) {
		if (pct[1] == '\0' || !addr_name_ok(pct + 1)) {
			snprintf(err, errlen, "'%s': bad IPv6 zone", s);
			return -1;
		}
		*pct = '\0';
	}
	if (inet_pton(AF_INET6, v6, &in6) != 1) {
		snprintf(err, errlen, "'%s': bad IPv6 address", s);
		return -1;
	}
	return 0;
}

int
addr_parse(struct addr *a, const char *s, int flags, char *err, size_t errlen)
{
	char		 text[ADDR_HOST_MAX], host[ADDR_HOST_MAX];
	const char	*in = s, *port, *colon;
	size_t		 len, hlen;
	uint16_t	 p = 0;

	if ((flags & ADDR_URL) && strncasecmp(in, "http://", 7) == 0)
		in += 7;
	len = strlen(in);
	if ((flags & ADDR_URL) && len > 0 && in[len - 1] == '/')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "'%s': empty address (expected HOST:PORT)",
		    s);
		return -1;
	}
	if (len >= sizeof(text)) {
		snprintf(err, errlen, "'%.40s...': address too long", s);
		return -1;
	}
	memcpy(text, in, len);
	text[len] = '\0';

	if (text[0] == '[') {
		if (addr_parse_v6(text, s, host, &port, err, errlen) == -1)
			return -1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL) {
			snprintf(err, errlen,
			    "'%s': missing port (expected HOST:PORT)", s);
			return -1;
		}
		hlen = (size_t)(colon - text);
		memcpy(host, text, hlen);
		host[hlen] = '\0';
		port = colon + 1;
		if (strchr(host, ':') != NULL) {
			snprintf(err, errlen, "'%s': an IPv6 address needs "
			    "brackets, e.g. [::1]:8000", s);
			return -1;
		}
		if (hlen == 0) {
			snprintf(err, errlen, "'%s': empty host", s);
			return -1;
		}
		if (hlen > ADDR_NAME_MAX || !addr_name_ok(host)) {
			snprintf(err, errlen, "'%s': bad host", s);
			return -1;
		}
	}
	if (*port == '\0') {
		snprintf(err, errlen, "'%s': empty port", s);
		return -1;
	}
	switch (addr_port(port, &p)) {
	case 0:
		break;
	case -2:
		snprintf(err, errlen, "'%s': port out of range (0..65535)", s);
		return -1;
	default:
		snprintf(err, errlen, "'%s': bad port", s);
		return -1;
	}
	if (p == 0 && (flags & ADDR_NOPORT0)) {
		snprintf(err, errlen, "'%s': port must be 1..65535", s);
		return -1;
	}
	memcpy(a->host, host, strlen(host) + 1);
	a->port = p;
	return 0;
}

void
addr_str(const struct addr *a, char *out, size_t outlen)
{
	if (strchr(a->host, ':') != NULL)
		snprintf(out, outlen, "[%s]:%u", a->host, (unsigned)a->port);
	else
		snprintf(out, outlen, "%s:%u", a->host, (unsigned)a->port);
}

int
addr_from_sockaddr(struct addr *a, const struct sockaddr *sa)
{
	const struct sockaddr_in	*in;
	const struct sockaddr_in6	*in6;

	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		in = (const struct sockaddr_in *)(const void *)sa;
		a->port = ntohs(in->sin_port);
		return inet_ntop(AF_INET, &in->sin_addr, a->host,
		    sizeof(a->host)) != NULL ? 0 : -1;
	}
	if (sa->sa_family == AF_INET6) {
		in6 = (const struct sockaddr_in6 *)(const void *)sa;
		a->port = ntohs(in6->sin6_port);
		return inet_ntop(AF_INET6, &in6->sin6_addr, a->host,
		    sizeof(a->host)) != NULL ? 0 : -1;
	}
	return -1;
}

void
addr_sockaddr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	struct addr	a;

	if (addr_from_sockaddr(&a, sa) == 0)
		addr_str(&a, out, outlen);
	else
		snprintf(out, outlen, "?");
}

int
addr_is_loopback(const struct addr *a)
{
	struct addrinfo			 hints, *res, *ai;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	int				 loop = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(a->host, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET) {
			sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;
			if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
				loop = 0;
		} else if (ai->ai_family == AF_INET6) {
			sin6 = (const struct sockaddr_in6 *)(const void *)ai->ai_addr;
			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
				if (sin6->sin6_addr.s6_addr[12] != 127)
					loop = 0;
			} else if (!IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
				loop = 0;
		} else
			loop = 0;
	}
	freeaddrinfo(res);
	return loop;
}
