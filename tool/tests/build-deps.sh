#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A build without its dependencies stops with one line saying what is
# missing and how to get it, before compiling anything: lemonctl without
# libnl (pkg-config finds nothing), the module without kernel headers.
set -u
here=$(cd "$(dirname "$0")" && pwd)
tool=$(cd "$here/.." && pwd)
top=$(cd "$tool/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# check NAME EXIT TEXT CMD...: exit status EXIT, nothing on stdout, one
# line on stderr containing TEXT
check() {
	local name=$1 want=$2 text=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" = "$want" ] && [ ! -s "$tmp/out" ] &&
	   [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qF -- "$text" "$tmp/err"; then
		pass=$((pass + 1))
		echo "PASS: $name"
	else
		fail=$((fail + 1))
		echo "FAIL: $name: exit $rc (want $want)"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

check "lemonctl without libnl" 2 \
	"lemonctl needs libnl-3 and libnl-genl-3, found with /bin/false: apt-get install pkg-config libnl-3-dev libnl-genl-3-dev" \
	make --no-print-directory -C "$tool" PKG_CONFIG=/bin/false lemonctl
check "lemonctl without pkg-config" 2 \
	"lemonctl needs libnl-3 and libnl-genl-3, found with pkg-config-missing: apt-get install pkg-config" \
	make --no-print-directory -C "$tool" PKG_CONFIG=pkg-config-missing
check "module without kernel headers" 2 \
	"no kernel build tree for 0.0.0-none: install the headers (Debian: apt-get install linux-headers-0.0.0-none, or make deps)" \
	make --no-print-directory -C "$top" kmod KVER=0.0.0-none
check "make (all) without kernel headers" 2 \
	"no kernel build tree for 0.0.0-none" \
	make --no-print-directory -C "$top" KVER=0.0.0-none
echo "build-deps: $pass passed, $fail failed"
[ "$fail" = 0 ]
