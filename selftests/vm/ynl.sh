#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own netlink CLI, ynl (tools/net/ynl: Python, driven by the
# YAML specs), for cli_ynl.sh: taken from Debian's linux-source package of
# the newest 6.x kernel the host's apt configuration offers (6.12 or later
# has ynl's genetlink-legacy support), unpacked once into the cache. Prints
# the directory tools/net/ynl (cli.py is there, or in pyynl/ since Linux
# 6.14). The guest sees the host's root, so the cache is read there.
#
# usage: selftests/vm/ynl.sh
set -eu
CACHE=${LEMONADE_CACHE:-/var/cache/nf_lemonade}
die() { echo "ynl.sh: $*" >&2; exit 1; }

has_cli() { [ -f "$1/cli.py" ] || [ -f "$1/pyynl/cli.py" ]; }
for d in "$CACHE"/ynl/*/tools/net/ynl; do
	has_cli "$d" && { echo "$d"; exit 0; }
done
# the newest linux-source-6.1[2-9] / 7.x that apt knows (never pinned)
pkg=$(apt-cache pkgnames linux-source- 2>/dev/null |
	grep -E '^linux-source-(6\.(1[2-9]|[2-9][0-9])|[7-9]\.[0-9]+)$' | sort -V | tail -n 1)
[ -n "$pkg" ] || die "no linux-source-6.12 or later in the apt configuration (apt-get update?)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# stale package lists name a version the archive no longer has: update once
(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1) ||
	{ apt-get update -qq >/dev/null 2>&1 &&
	  (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); } ||
	die "apt-get download $pkg failed"
deb=$(ls "$tmp"/*.deb)
ver=$(dpkg-deb -f "$deb" Version)
tarball=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -m1 '^\./usr/src/linux-source-.*\.tar\.xz$') ||
	die "$pkg $ver holds no source tarball"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "$tarball"
top=$(basename "$tarball" .tar.xz)
dest=$CACHE/ynl/$pkg-$ver
mkdir -p "$dest.part"
tar -xJf "$tmp/$tarball" -C "$dest.part" --strip-components=1 \
	"$top/tools/net/ynl" "$top/Documentation/netlink"
rm -rf "$dest"
mv "$dest.part" "$dest"
has_cli "$dest/tools/net/ynl" || die "$pkg $ver has no tools/net/ynl/cli.py (nor pyynl/cli.py)"
echo "$dest/tools/net/ynl"
