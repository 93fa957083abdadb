/*
 * addr.h: "host:port" addresses, read and written the same way by noded
 * (--listen, --api, --peer, POST /v1/peers) and nodectl (--node, connect).
 */
#ifndef LIB_ADDR_H
#define LIB_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define ADDR_HOST_MAX	256	/* host, NUL included; also bounds the whole text */
#define ADDR_STR_MAX	(ADDR_HOST_MAX + 8)	/* "[host]:65535" and its NUL */

struct addr {
	char		host[ADDR_HOST_MAX];	/* name or literal, no brackets */
	uint16_t	port;
};

/* addr_parse flags. */
#define ADDR_URL	0x01	/* also "http://host:port" with an optional final '/' */
#define ADDR_NOPORT0	0x02	/* refuse port 0 ("port must be 1..65535") */

/*
 * Parses "host:port" or "[v6]:port" (a zone, "[fe80::1%eth0]:7000", is
 * kept in host) into a.  Returns 0, or -1 with a message naming the input
 * and the problem in err (errlen bytes; NULL if errlen is 0), e.g.
 * "'node2:70x0': bad port".  Pure.  Any thread.
 */
int	addr_parse(struct addr *a, const char *s, int flags, char *err,
	    size_t errlen);

/* Writes a as "host:port", or "[v6]:port" for an IPv6 literal.  Any thread. */
void	addr_str(const struct addr *a, char *out, size_t outlen);

/*
 * The IP address and port of sa (AF_INET or AF_INET6).  0, or -1 for
 * another family.  Any thread.
 */
struct sockaddr;
int	addr_from_sockaddr(struct addr *a, const struct sockaddr *sa);
/* Writes sa as "ip:port" or "[ip6]:port", or "?" for another family.  Any thread. */
void	addr_sockaddr_str(const struct sockaddr *sa, char *out, size_t outlen);

/*
 * True if every address a's host resolves to (getaddrinfo, so it may block
 * on a name) is a loopback address; false if it does not resolve.  Any thread.
 */
int	addr_is_loopback(const struct addr *a);

#endif
