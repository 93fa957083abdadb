/*
 * version.c: the version, from the build/version.h the Makefile writes
 * (found through -I$(BUILD)), with one fallback for builds without it,
 * such as the fuzz targets.  <version.h> in angle brackets: "version.h"
 * would find lib/version.h first.
 */
#include "lib/version.h"

#if defined(__has_include)
#if __has_include(<version.h>)
#include <version.h>
#endif
#endif

#ifndef NODED_VERSION
#define NODED_VERSION	"0.1.0"
#endif

const char *
version_get(void)
{
	return NODED_VERSION;
}
