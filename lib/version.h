/* version.h: the version noded and nodectl report. */
#ifndef LIB_VERSION_H
#define LIB_VERSION_H

/*
 * The build's version: `git describe` when built from a checkout, else
 * "0.1.0".  Static storage.  Any thread.
 */
const char *version_get(void);

#endif
