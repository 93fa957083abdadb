/*
 * api.h: the HTTP control API (docs/API.md): evhttp on cfg->api, JSON
 * through jansson, an optional bearer token, the Server-Sent Events stream
 * (api_event_tx/api_event_peer in node.h).  Loop thread only.
 */
#ifndef DAEMON_API_H
#define DAEMON_API_H

#include <stdint.h>

#include "base/node.h"

#define API_MAX_BODY		(1024 * 1024)	/* request bodies, bytes */
#define API_MAX_BATCH		1000		/* transactions in one POST /v1/tx */
#ifndef API_SSE_MAX_PENDING
#define API_SSE_MAX_PENDING	(1024 * 1024)	/* unsent bytes before a slow reader is dropped */
#endif
#ifndef API_MAX_CONNS
#define API_MAX_CONNS		256		/* open connections; more are closed at once */
#endif
#ifndef API_MAX_STREAMS
#define API_MAX_STREAMS		64		/* GET /v1/events streams; more get 503 */
#endif

struct api;

struct api_stats {
	uint64_t	requests;		/* requests answered */
	unsigned	event_clients;		/* GET /v1/events streams open */
	uint64_t	event_clients_dropped;	/* slow readers cut off */
	unsigned	pending_txs;		/* POST /v1/tx requests awaiting verdicts */
};

/*
 * Binds n->cfg->api and serves it on n->base.  Reads --api-token-file.
 * Returns NULL after logging why (bind failure, bad token file, a
 * non-loopback address without a token or --api-insecure).
 */
struct api *api_new(struct node *n);

/* Answers what is pending with 503, ends event streams; later requests get 503. */
void	api_shutdown(struct api *a);

/* Closes every connection and frees a (NULL is fine). */
void	api_free(struct api *a);

/* Fills st with the API's counters (for /metrics). */
void	api_stats(const struct api *a, struct api_stats *st);

/* The port actually bound (cfg->api.port may be 0). */
uint16_t api_port(const struct api *a);

#endif
