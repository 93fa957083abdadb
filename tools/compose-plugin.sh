#!/bin/sh
# tools/compose-plugin.sh: makes `docker compose` work on Debian 12, whose
# archive has the docker-compose 1.29 program but not the Compose v2 plugin.
# Does nothing when `docker compose` already works or docker is absent.
# Otherwise installs tools/docker-compose-plugin as the docker CLI plugin
# "compose": system-wide as root (/usr/local/lib/docker/cli-plugins), else
# for the user (~/.docker/cli-plugins).  Removing that file undoes it.
set -eu
cd "$(dirname "$0")/.."

command -v docker >/dev/null 2>&1 || exit 0
docker compose version >/dev/null 2>&1 && exit 0
if ! [ -x /usr/bin/docker-compose ] && ! [ -x /usr/local/bin/docker-compose ]; then
	echo "compose-plugin: neither 'docker compose' nor docker-compose is" \
	    "installed (as root: apt-get install docker-compose)" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ]; then
	dir=/usr/local/lib/docker/cli-plugins
else
	dir=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
fi
mkdir -p "$dir"
cp tools/docker-compose-plugin "$dir/docker-compose.tmp"
chmod 0755 "$dir/docker-compose.tmp"
mv -f "$dir/docker-compose.tmp" "$dir/docker-compose"
if ! docker compose version >/dev/null 2>&1; then
	rm -f "$dir/docker-compose"
	echo "compose-plugin: the docker CLI does not take the plugin in $dir" >&2
	exit 1
fi
echo "compose-plugin: 'docker compose' was missing: installed $dir/docker-compose," \
    "which runs $(docker-compose version --short 2>/dev/null || echo docker-compose)" \
    "(delete that file to undo)"
