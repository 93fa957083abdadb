/*
 * jenc.h: JSON values of the API's answers and events (jansson), built the
 * same way everywhere: text that is not UTF-8, integers past int64, bytes
 * as hex, a peer.  Each returns a new reference.  Loop thread only.
 */
#ifndef HTTP_JENC_H
#define HTTP_JENC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/hub.h"

/* A JSON string of s; bytes that are not UTF-8 become '?' (jansson refuses them). */
json_t	*jenc_str(const char *s);
/* jansson integers are signed 64-bit: larger values go as decimal strings. */
json_t	*jenc_u64(uint64_t v);
/* len bytes as lower-case hex. */
json_t	*jenc_hex(const uint8_t *p, size_t len);
/* A peer's node_id, name, addr and direction. */
json_t	*jenc_peer(const struct peer_info *p);

#endif
