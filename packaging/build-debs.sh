#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian packages nf-lemonade-dkms and lemonctl with
# "dpkg-buildpackage -b -us -uc" in a copy of the source tree (the build
# runs "debian/rules clean", which would remove the tool built for the
# tests, and writes its results next to the tree), and put them in
# build/deb/. The log is build/deb/build.log.
#
# With --upgrade-test, also build the next version into build/deb/upgrade/:
# the same sources with VERSION and debian/changelog bumped to
# VERSION+upgrade1 (package VERSION+upgrade1-1), for the upgrade test in
# selftests/pkg_deb.sh.
#
# usage: packaging/build-debs.sh [--upgrade-test]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=$REPO/build/deb
upgrade=0
case ${1:-} in
--upgrade-test) upgrade=1 ;;
"") ;;
*) sed -n '3,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac

for c in dpkg-buildpackage dh dh_dkms pkg-config; do
	command -v "$c" >/dev/null ||
		{ echo "Error: $c not found (selftests/install-deps.sh installs it)" >&2; exit 1; }
done

# copy_tree DIR: the source tree without build products or build/.
copy_tree() {
	mkdir -p "$1"
	if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		# tracked and untracked files, .gitignore applied (no *.o, no build/)
		(cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f"
			done | tar -c --null -T - -f -) | tar -x -C "$1"
	else
		(cd "$REPO" && tar -c --exclude=./build --exclude='*.o' --exclude='*.ko' \
			--exclude='*.mod.c' --exclude='*.cmd' --exclude=./tool/lemonctl -f - .) |
			tar -x -C "$1"
	fi
}

# build DIR: dpkg-buildpackage in DIR/src, packages land in DIR.
build() {
	echo "# dpkg-buildpackage in ${1#"$REPO"/}/src" >>"$OUT/build.log"
	# The tool's unit tests are a separate step of selftests/run.sh.
	(cd "$1/src" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
		dpkg-buildpackage -b -us -uc) >>"$OUT/build.log" 2>&1
}

mkdir -p "$REPO/build"
exec 9>"$REPO/build/.deb.lock"
flock 9 # one build at a time: each starts by emptying build/deb
rm -rf "$OUT"
mkdir -p "$OUT"
: >"$OUT/build.log"
start=$SECONDS
copy_tree "$OUT/src"
if ! build "$OUT"; then
	echo "Error: the package build failed; the end of build/deb/build.log:" >&2
	tail -n 30 "$OUT/build.log" >&2
	exit 1
fi

if [ "$upgrade" = 1 ]; then
	mkdir -p "$OUT/upgrade"
	cp -a "$OUT/src" "$OUT/upgrade/src"
	(cd "$OUT/upgrade/src" && debian/rules clean) >>"$OUT/build.log" 2>&1
	v=$(cat "$OUT/upgrade/src/VERSION")+upgrade1
	echo "$v" >"$OUT/upgrade/src/VERSION"
	cl=$OUT/upgrade/src/debian/changelog
	{
		printf 'nf-lemonade (%s-1) unstable; urgency=medium\n\n' "$v"
		printf '  * Upgrade test build (packaging/build-debs.sh --upgrade-test).\n\n'
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$cl" -S Maintainer)" "$(date -R)"
		cat "$cl"
	} >"$cl.new"
	mv "$cl.new" "$cl"
	if ! build "$OUT/upgrade"; then
		echo "Error: the upgrade-test package build failed; the end of build/deb/build.log:" >&2
		tail -n 30 "$OUT/build.log" >&2
		exit 1
	fi
fi
rm -rf "$OUT/src" "$OUT/upgrade/src"
echo "# built in $((SECONDS - start))s:"
(cd "$OUT" && ls -1 ./*.deb ./upgrade/*.deb 2>/dev/null | sed 's|^\./|#   build/deb/|')
