/* version.h: the version noded and nodectl report. */
#ifndef LIB_VERSION_H
#define LIB_VERSION_H

/* The release number, here and nowhere else (the Makefile reads it from here). */
#define VERSION_NUMBER	"0.2.0"

/*
 * The build's version: VERSION_NUMBER, and when built from a git checkout
 * "+git." and the commit's short hash (".dirty" if the tree had changes),
 * e.g. "0.2.0+git.3656ae7": one word, semver build metadata.  Static
 * storage.  Any thread.
 */
const char *version_get(void);

#endif
