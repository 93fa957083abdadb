/*
 * token.c: reads the API's bearer token from a file.  Nothing is logged:
 * the caller says who it is and how it reports.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/token.h"

/* A literal, so that the man page can quote it (config.c). */
_Static_assert(TOKEN_FILE_MAX == TOKEN_MAX + 256,
    "a longest token with room for blanks and newlines around it");

static int
token_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads at most n bytes of fd into buf; returns the count, or -1 (errno). */
static ssize_t
token_slurp(int fd, char *buf, size_t n)
{
	size_t	len = 0;
	ssize_t	r;

	while (len < n) {
		r = read(fd, buf + len, n - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	return (ssize_t)len;
}

int
token_read(const char *path, char *tok, size_t *len, int *exposed, char *err,
    size_t errlen)
{
	char		 buf[TOKEN_FILE_MAX + 1];	/* one more: too long */
	struct stat	 st;
	ssize_t		 n;
	size_t		 start = 0, end, i;
	int		 fd, rc = -1;

	*len = 0;
	*exposed = 0;
	tok[0] = '\0';
	/* O_NONBLOCK: a FIFO must not hang the open; a file reads the same. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s': not a regular file", path);
		close(fd);
		return -1;
	}
	*exposed = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
	n = token_slurp(fd, buf, sizeof(buf));
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	end = (size_t)n;
	if (end > TOKEN_FILE_MAX) {
		snprintf(err, errlen, "'%s': over %d bytes; the file must hold "
		    "only the token (at most %d bytes)", path, TOKEN_FILE_MAX,
		    TOKEN_MAX);
		goto out;
	}
	while (start < end && token_blank(buf[start]))
		start++;
	while (end > start && token_blank(buf[end - 1]))
		end--;
	if (start == end) {
		snprintf(err, errlen, "'%s' holds no token", path);
		goto out;
	}
	if (end - start > TOKEN_MAX) {
		snprintf(err, errlen, "'%s': token over %d bytes", path,
		    TOKEN_MAX);
		goto out;
	}
	for (i = start; i < end; i++) {
		if ((unsigned char)buf[i] <= 0x20 ||
		    (unsigned char)buf[i] >= 0x7f) {
			snprintf(err, errlen, "'%s': the token must be printable "
			    "ASCII without blanks", path);
			goto out;
		}
	}
	memcpy(tok, buf + start, end - start);
	tok[end - start] = '\0';
	*len = end - start;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
