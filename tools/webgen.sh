#!/bin/sh
# tools/webgen.sh FILE...: prints the C table of the web view's files
# (daemon/http/web.c includes it) on stdout, each file as a byte array, with
# od and awk alone.  Paths are served as "/" + the file's base name.
set -eu
i=0
for f in "$@"; do
	echo "static const unsigned char web_asset_$i[] = {"
	od -An -v -tx1 "$f" | awk '{ s = ""; for (k = 1; k <= NF; k++) s = s "0x" $k ","; if (s != "") print "\t" s }'
	echo "0 };"
	i=$((i + 1))
done
echo "static const struct web_asset web_assets[] = {"
i=0
for f in "$@"; do
	b=$(basename "$f")
	case "$b" in
	*.html)	t="text/html; charset=utf-8" ;;
	*.js)	t="text/javascript; charset=utf-8" ;;
	*.css)	t="text/css; charset=utf-8" ;;
	*.svg)	t="image/svg+xml" ;;
	*)	t="application/octet-stream" ;;
	esac
	n=$(wc -c < "$f")
	echo "	{ \"/$b\", \"$t\", web_asset_$i, $n },"
	i=$((i + 1))
done
echo "};"
