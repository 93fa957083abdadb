/*
 * api.h: the HTTP control API (docs/API.md): its routes, the bearer token,
 * and the handlers, over the hardened server (server.h), with the event
 * stream (events.h) and the metrics (metrics.h).  Loop thread only.
 */
#ifndef HTTP_API_H
#define HTTP_API_H

#include <stdint.h>

#include "base/node.h"

#define API_MAX_BODY		(1024 * 1024)	/* request bodies, bytes */
#define API_MAX_BATCH		1000		/* transactions in one POST /v1/tx */

struct admit;
struct api;
struct mempool;
struct net;
struct prov;

/*
 * Binds n->cfg->api and serves it.  Reads --api-token-file.  Returns NULL
 * after logging why (bind failure, bad token file, a non-loopback address
 * without a token or --api-insecure).
 */
struct api *api_new(struct node *n, struct admit *admit, struct mempool *mp,
	    struct net *net);
/* Answers what is pending with 503, ends event streams; later requests get 503. */
void	api_shutdown(struct api *a);
/* Closes every connection and frees a (NULL is fine). */
void	api_free(struct api *a);
/* The port actually bound (cfg->api.port may be 0). */
uint16_t api_port(const struct api *a);
/* Serves GET /v1/tx/ID/trace from pr (the relay's; it outlives a). */
void	api_set_prov(struct api *a, struct prov *pr);

#endif
