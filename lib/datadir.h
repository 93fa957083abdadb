/*
 * datadir.h: where a node keeps its key, log, cookie and config when no
 * data dir is named: ~/.noded, for noded and for nodectl looking for the
 * node's cookie alike.
 */
#ifndef LIB_DATADIR_H
#define LIB_DATADIR_H

#include <stddef.h>

#define DATADIR_NAME	".noded"	/* under the home directory */
#define DATADIR_COOKIE	".cookie"	/* the API's admin token when no token file is set */
#define DATADIR_CONF	"noded.conf"	/* read when present */

/*
 * Writes the default data dir, $HOME/.noded (HOME, else the password
 * database's home), to out.  Returns 0, or -1 with err naming the problem
 * (no home directory, or a path over outlen).  Any thread.
 */
int	datadir_default(char *out, size_t outlen, char *err, size_t errlen);

/* Writes dir/name to out; 0, or -1 if it does not fit. */
int	datadir_path(char *out, size_t outlen, const char *dir, const char *name);

#endif
