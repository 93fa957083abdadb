/*
 * datadir.c: the default data dir.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/datadir.h"

int
datadir_default(char *out, size_t outlen, char *err, size_t errlen)
{
	const char	*home = getenv("HOME");
	struct passwd	*pw;
	int		 n;

	if (home == NULL || home[0] == '\0') {
		if ((pw = getpwuid(getuid())) == NULL || pw->pw_dir == NULL ||
		    pw->pw_dir[0] == '\0') {
			snprintf(err, errlen, "no home directory for the default data "
			    "dir ~/%s (HOME is not set): give one", DATADIR_NAME);
			return -1;
		}
		home = pw->pw_dir;
	}
	n = snprintf(out, outlen, "%s%s%s", home,
	    home[strlen(home) - 1] == '/' ? "" : "/", DATADIR_NAME);
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "the default data dir under '%.200s' is a "
		    "path over %zu bytes", home, outlen - 1);
		return -1;
	}
	return 0;
}

int
datadir_path(char *out, size_t outlen, const char *dir, const char *name)
{
	size_t	dlen = strlen(dir);
	int	n;

	n = snprintf(out, outlen, "%s%s%s", dir,
	    dlen > 0 && dir[dlen - 1] == '/' ? "" : "/", name);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
