#!/bin/sh
# Installs the Debian packages that noded's build, tests and demo need.
#   tools/deps.sh          install what is missing (as root), or print the command
#   tools/deps.sh --check  exit 0 if nothing is missing, 1 otherwise
PKGS="gcc make pkg-config libevent-dev libsodium-dev libjansson-dev libcmocka-dev
clang libclang-rt-dev python3 python3-pytest python3-prometheus-client curl procps iproute2"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in
	*"ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ "$1" = "--check" ]; then
	[ -z "$missing" ]
	exit $?
fi
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 || exit 1
apt-get install -y -q --no-install-recommends $missing >&2 || exit 1
