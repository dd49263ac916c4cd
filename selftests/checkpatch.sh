#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make style: the kernel's checkpatch.pl --strict over the module sources. The
# script comes from Debian's linux-source-6.1 package (downloaded once
# into the cache, never installed).
set -eu
cd "$(dirname "$0")/.."
CACHE=${LEMONADE_CACHE:-/var/cache/nf_lemonade}/checkpatch
if [ ! -f "$CACHE/checkpatch.pl" ]; then
	mkdir -p "$CACHE/dl"
	(cd "$CACHE/dl" && apt-get download -qq linux-source-6.1 2>/dev/null) ||
		{ echo "Error: cannot download linux-source-6.1 for checkpatch.pl"; exit 1; }
	tar -xJf "$CACHE"/dl/linux-source-6.1_*.deb 2>/dev/null ||
		dpkg-deb --fsys-tarfile "$CACHE"/dl/linux-source-6.1_*.deb |
		tar -x -C "$CACHE/dl" ./usr/src/linux-source-6.1.tar.xz
	tar -xJf "$CACHE/dl/usr/src/linux-source-6.1.tar.xz" -C "$CACHE/dl" \
		--wildcards '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
	cp "$CACHE"/dl/linux-source-6.1/scripts/{checkpatch.pl,spelling.txt,const_structs.checkpatch} "$CACHE/"
	rm -rf "$CACHE/dl"
fi
files=$(ls kmod/*.c kmod/*.h kmod/compat/*.h uapi/linux/*.h | grep -v '\.mod\.c$')
# shellcheck disable=SC2086
perl "$CACHE/checkpatch.pl" --no-tree -f --terse --strict --show-types \
	--ignore FILE_PATH_CHANGES $files
echo "checkpatch: clean ($(echo $files | wc -w) files)"
