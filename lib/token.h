/*
 * token.h: the API's bearer token, read from a file the same way by noded
 * (--api-token-file) and nodectl (--token-file).
 */
#ifndef LIB_TOKEN_H
#define LIB_TOKEN_H

#include <stddef.h>

#define TOKEN_MAX	4096	/* bytes of a token */
#define TOKEN_FILE_MAX	4352	/* the token and 256 bytes of blanks around it */

/*
 * Reads the token in the file at path: a regular file of at most
 * TOKEN_FILE_MAX bytes whose content, without the blanks and newlines
 * around it, is 1..TOKEN_MAX bytes of printable ASCII without blanks.
 * Copies it with a NUL to tok (TOKEN_MAX + 1 bytes, which the caller wipes)
 * and its length to *len.  Sets *exposed when group or others have access
 * to the file (noded warns), even if the read then fails.  Returns 0, or -1
 * with err starting with the quoted path ("'/x': not a regular file"), for
 * the caller to prefix with what named the file (err may be NULL if errlen
 * is 0).  Any thread.
 */
int	token_read(const char *path, char *tok, size_t *len, int *exposed,
	    char *err, size_t errlen);

#endif
