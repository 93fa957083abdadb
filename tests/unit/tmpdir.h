/*
 * tmpdir.h: a fresh directory under /tmp for each cmocka test that writes
 * files: cmocka_unit_test_setup_teardown(test, tmpdir_setup, tmpdir_teardown),
 * then tmpdir_path("name").
 */
#ifndef TESTS_UNIT_TMPDIR_H
#define TESTS_UNIT_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char	tmpdir[64];

static int
tmpdir_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/noded-unit.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
tmpdir_teardown(void **state)
{
	char	cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
