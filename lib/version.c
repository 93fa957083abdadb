/*
 * version.c: the version, from VERSION_NUMBER and the commit hash in the
 * build/version.h the Makefile writes (found through -I$(BUILD)); builds
 * without it, such as the fuzz targets or a tree without .git, report the
 * number alone.  <version.h> in angle brackets: "version.h" would find
 * lib/version.h first.
 */
#include "lib/version.h"

#if defined(__has_include)
#if __has_include(<version.h>)
#include <version.h>
#endif
#endif

#ifdef NODED_GIT
#define VERSION_FULL	VERSION_NUMBER "+git." NODED_GIT
#else
#define VERSION_FULL	VERSION_NUMBER
#endif

const char *
version_get(void)
{
	return VERSION_FULL;
}
