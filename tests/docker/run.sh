#!/bin/sh
# tests/docker/run.sh: the docker compose test (`make docker-test`, part of
# `make test`).  Skips, saying so, when no Docker engine answers or when
# DOCKER_TEST=skip.  Otherwise builds the image (tests/docker/image.sh), then
# tests/docker/compose_test.py brings the four nodes of docker-compose.yml up,
# follows transactions through them, stops and restarts node3, and always
# ends with `compose down -v`.  The last line is "docker: N passed, M failed".
set -u
cd "$(dirname "$0")/../.."

skip() {
	echo "docker test: SKIPPED ($1)"
	exit 0
}

[ "${DOCKER_TEST:-}" = skip ] && skip "DOCKER_TEST=skip"
command -v docker >/dev/null 2>&1 || skip "no Docker engine"
docker info >/dev/null 2>&1 || skip "no Docker engine"

# The compose v2 plugin or the v1 program, whichever is installed; like
# `make image`, put in the forwarder that makes `docker compose` work where
# only docker-compose 1.x is packaged (Debian 12).
sh tools/compose-plugin.sh || true
if docker compose version >/dev/null 2>&1; then
	COMPOSE="docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
	COMPOSE="docker-compose"
else
	echo "docker test: FAIL: a Docker engine answers but neither" \
	    "'docker compose' nor 'docker-compose' is installed" \
	    "(apt-get install docker-compose)"
	echo "docker: 0 passed, 1 failed"
	exit 1
fi
PROJECT=${PROJECT:-nodedtest}
export COMPOSE PROJECT

cleanup() {
	$COMPOSE -p "$PROJECT" -f docker-compose.yml down -v --remove-orphans \
	    >/dev/null 2>&1
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

echo "docker test: engine $(docker version -f '{{.Server.Version}}' 2>/dev/null), $COMPOSE"
if ! sh tests/docker/image.sh; then
	echo "docker test: FAIL: the image did not build"
	echo "docker: 0 passed, 1 failed"
	exit 1
fi
/usr/bin/python3 tests/docker/compose_test.py
