#!/bin/sh
# tools/deps.sh: the Debian packages each part of the work needs, and their
# installation.  Building bin/noded and bin/nodectl needs the "build" set
# alone; the tests, the demo, the fuzzers and the benchmarks add theirs.
#
#   tools/deps.sh [SET...]          install what the sets lack (as root, printing
#                                   the command), or print the command and exit 1
#   tools/deps.sh --check [SET...]  exit 0 if nothing is missing, 1 otherwise
#   tools/deps.sh --list [SET...]   print the packages of the sets
#
# SET: build (the default), unit, integration, layers, fuzz, bench, demo,
# docker, or test (all of them).  `make deps` installs "build", `make
# deps-test` "test"; the targets of the Makefile check the sets they use.

set_pkgs() {
	case "$1" in
	build)	echo "gcc make pkg-config libevent-dev libsodium-dev libjansson-dev liblmdb-dev" ;;
	unit)	echo "libcmocka-dev" ;;
	# promtool (Debian's prometheus package) checks the /metrics text
	integration)
		# chromium, its driver and selenium: the web view's browser test (test_web.py)
		echo "python3 python3-pytest python3-prometheus-client curl procps iproute2 prometheus" \
		    "chromium chromium-driver python3-selenium" ;;
	layers)	echo "python3 binutils" ;;
	fuzz)	echo "clang libclang-rt-dev" ;;
	bench)	echo "python3 python3-pytest" ;;
	demo)	echo "python3" ;;
	docker)	echo "python3 curl" ;;
	test)	for s in unit integration layers fuzz bench demo docker; do
			set_pkgs "$s"
		done ;;
	*)	echo "deps: unknown set '$1' (build, unit, integration, layers," \
		    "fuzz, bench, demo, docker, test)" >&2
		exit 2 ;;
	esac
}

mode=install
case "${1:-}" in
--check)	mode=check; shift ;;
--list)		mode=list; shift ;;
esac
[ $# -gt 0 ] || set -- build

pkgs=""
for s in "$@"; do
	list=$(set_pkgs "$s") || exit 2
	for p in $list; do
		case " $pkgs " in
		*" $p "*) ;;
		*) pkgs="$pkgs $p" ;;
		esac
	done
done

if [ "$mode" = list ]; then
	echo $pkgs
	exit 0
fi

missing=""
for p in $pkgs; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$s" in
	*"ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ "$mode" = check ]; then
	[ -z "$missing" ]
	exit $?
fi
[ -z "$missing" ] && exit 0

cmd="apt-get install -y -q --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing for $*:$missing" >&2
	echo "deps: as root, run:  apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: missing for $*:$missing" >&2
echo "deps: running: apt-get update -q && $cmd" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2 || exit 1
$cmd >&2 || exit 1
