/* hex.h: lower-case hex encoding of keys, ids and transactions. Pure. */
#ifndef PROTO_HEX_H
#define PROTO_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lower-case hex digits and a NUL to out (2*len+1 bytes). Any thread. */
void	hex_encode(char *out, const uint8_t *in, size_t len);

/*
 * Decodes exactly hexlen hex digits (either case) into out, which must hold
 * exactly hexlen/2 bytes (outlen).  Returns 0, or -1 for an odd length, a
 * length that does not match outlen, or a non-hex digit.  Any thread.
 */
int	hex_decode(uint8_t *out, size_t outlen, const char *hex, size_t hexlen);
/* The value of hex digit c (0-9, a-f, A-F), or -1. */
int	hex_nibble(char c);
/*
 * True if the string s is exactly len hex digits (either case): no more,
 * no fewer, nothing else.  Reads at most len + 1 bytes.  Any thread.
 */
int	hex_valid(const char *s, size_t len);

#endif
