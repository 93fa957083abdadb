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

/*
 * JSON written straight into text, without building values: the event
 * stream formats every event, listened to or not, on the loop's hot path.
 * The text is byte for byte what json_dumps(..., JSON_COMPACT) makes of the
 * values above.  p is NUL-terminated and the caller's to free.
 */
struct jenc_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
};
/* Appends n bytes as they are. */
void	jenc_buf_add(struct jenc_buf *b, const char *s, size_t n);
/* Appends printf-style text as it is. */
void	jenc_buf_printf(struct jenc_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Appends the JSON string of jenc_str(s), quoted and escaped. */
void	jenc_buf_str(struct jenc_buf *b, const char *s);
/* Appends jenc_u64(v). */
void	jenc_buf_u64(struct jenc_buf *b, uint64_t v);
/* Appends jenc_hex(p, len). */
void	jenc_buf_hex(struct jenc_buf *b, const uint8_t *p, size_t len);

#endif
