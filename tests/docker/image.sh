#!/bin/sh
# tests/docker/image.sh: builds the image noded:latest (what `make image`
# runs, after `make all`) without any registry: a FROM scratch image holding
# bin/noded, bin/nodectl, the shared libraries ldd says they link (copied
# under the same paths, the dynamic loader included), a minimal /etc and
# /tmp.  Then checks that both programs run inside it.
#   IMAGE   tag to build (default noded:latest)
#   NODED, NODECTL   binaries to put in (default bin/noded, bin/nodectl)
set -eu
cd "$(dirname "$0")/../.."
IMAGE=${IMAGE:-noded:latest}
NODED_BIN=${NODED:-bin/noded}
NODECTL_BIN=${NODECTL:-bin/nodectl}
CTX=build/docker

die() { echo "image: $*" >&2; exit 1; }

for b in "$NODED_BIN" "$NODECTL_BIN"; do
	[ -x "$b" ] || die "$b: not built (run 'make')"
done
command -v docker >/dev/null 2>&1 || die "docker: command not found"
docker info >/dev/null 2>&1 || die "no Docker engine answers ('docker info' fails)"

rm -rf "$CTX"
mkdir -p "$CTX/rootfs/usr/local/bin" "$CTX/rootfs/etc" "$CTX/rootfs/tmp" \
    "$CTX/data"
chmod 1777 "$CTX/rootfs/tmp"
chmod 0755 "$CTX/data"
cp "$NODED_BIN" "$CTX/rootfs/usr/local/bin/noded"
cp "$NODECTL_BIN" "$CTX/rootfs/usr/local/bin/nodectl"
cp tests/docker/Dockerfile "$CTX/Dockerfile"

# Every library either binary links, by the path the loader will look up.
if ldd "$NODED_BIN" "$NODECTL_BIN" | grep -q 'not found'; then
	ldd "$NODED_BIN" "$NODECTL_BIN" >&2
	die "a shared library is missing (see above)"
fi
libs=$(ldd "$NODED_BIN" "$NODECTL_BIN" |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
    sort -u)
for lib in $libs; do
	mkdir -p "$CTX/rootfs$(dirname "$lib")"
	cp -L "$lib" "$CTX/rootfs$lib"
done

cat > "$CTX/rootfs/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/usr/sbin/nologin
noded:x:1000:1000:noded:/data:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$CTX/rootfs/etc/group" <<GROUP
root:x:0:
noded:x:1000:
nogroup:x:65534:
GROUP
# glibc's resolver: /etc/hosts first, then the engine's DNS (service names)
echo "hosts: files dns" > "$CTX/rootfs/etc/nsswitch.conf"

# The version as noded reports it (lib/version.h and the commit).
version=$("$NODED_BIN" --version | sed -n 's/^noded //p')
echo "image: building $IMAGE ($(echo "$libs" | wc -w) libraries, version $version)"
# (quiet unless it fails: the legacy builder's deprecation notice is noise here)
if ! out=$(docker build -q -t "$IMAGE" --build-arg VERSION="$version" "$CTX" 2>&1); then
	echo "$out" >&2
	die "docker build failed"
fi

# Both programs must start inside the image.
docker run --rm --entrypoint /usr/local/bin/noded "$IMAGE" --version >/dev/null ||
    die "noded does not run inside $IMAGE"
# (nodectl --help may exit non-zero; 125-127 mean it could not be run at all)
rc=0
docker run --rm --entrypoint /usr/local/bin/nodectl "$IMAGE" --help >/dev/null 2>&1 || rc=$?
[ "$rc" -lt 125 ] || die "nodectl does not run inside $IMAGE (exit $rc)"
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "image: $IMAGE built, $((size / 1024 / 1024)) MiB; run it with 'docker compose up -d' (or docker-compose)"
