#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: the whole test suite on a fresh Debian 12 machine, as root.
# Installs what it needs, builds the module for the Debian kernel it is
# going to boot (bookworm's 6.1 unless LEMONADE_KERNEL says otherwise) and
# the tool with sanitizers, runs the userspace unit tests on the host, then
# boots that kernel under QEMU and runs every selftest in network
# namespaces inside the guest. Any WARN/BUG/oops/lockdep line in the
# guest's dmesg fails the run. Ends with "N passed, N failed, N skipped"; in CI (CI=true) a test that skips without a "# skip-ok:" line fails.
#
# LEMONADE_KERNEL=debug (make check-debug) boots the debug kernel of
# selftests/vm/kernel.sh (built from linux-source-6.1 the first time: hours
# on a busy 2-core host) with KASAN, lockdep, kmemleak and fault injection: the stress,
# fault-injection and kernel netfilter selftests run too, time limits are
# LEMONADE_TIMEOUT_SCALE (4) times longer, and a kmemleak report fails.
#
# usage: selftests/run.sh [TEST.sh...]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
LABEL=${LEMONADE_KERNEL:-6.1}
OUT=$REPO/build/check
passed=0 failed=0 skipped=0

summary() {
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

step() { # step NAME CMD...: a host-side test step counted like a test
	echo "# $1"
	if "${@:2}"; then
		echo "ok - $1"; passed=$((passed + 1))
	else
		echo "not ok - $1"; failed=$((failed + 1))
	fi
}

"$HERE/install-deps.sh" || { failed=1; summary; }
vm_timeout=${LEMONADE_VM_TIMEOUT:-4800}
# on stock Linux the behaviour tests fail, many only at their waits' caps:
# the whole suite took over 4800 s of the guest there (2026-12-02)
[ "${LEMONADE_STOCK:-0}" = 1 ] && vm_timeout=${LEMONADE_VM_TIMEOUT:-9000}
if [ "$LABEL" = debug ]; then
	kernel=$("$HERE/vm/kernel.sh" build-args debug) || { echo "Error: cannot build the debug kernel"; failed=1; summary; }
	eval "$kernel"
	kmod_args="KDIR=$KDIR"
	vm_timeout=${LEMONADE_VM_TIMEOUT:-18000}
	export LEMONADE_TIMEOUT_SCALE=${LEMONADE_TIMEOUT_SCALE:-4} LEMONADE_STRESS=${LEMONADE_STRESS:-1} \
		LEMONADE_NF_KSELFTEST=${LEMONADE_NF_KSELFTEST:-1}
else
	kernel=$("$HERE/vm/kernel.sh" fetch "$LABEL") || { echo "Error: cannot fetch kernel $LABEL"; failed=1; summary; }
	eval "$kernel"
	kmod_args="KVER=$KVER"
fi
echo "# guest kernel $KVER"

step "module builds for $KVER without warnings" \
	sh -c "make -s kmod $kmod_args 2>&1 | tee build-kmod.log; ! grep -q -e warning -e error build-kmod.log && test -f kmod/nf_lemonade.ko"
rm -f build-kmod.log
step "checkpatch --strict clean (kernel coding style)" "$HERE/checkpatch.sh"
step "no call or include circle among kmod/*.c (design.rst)" "$HERE/callgraph.sh" -q
step "netlink spec agrees with the uapi header, kmod policies, lemonctl and netlink-api.rst" \
	python3 "$HERE/spec_check.py"
# the kernel's ynl (tools/net/ynl of the newest linux-source-6.12+ that apt
# offers, unpacked once into the cache; the guest reads it there for
# cli_ynl.sh), or $LEMONADE_YNL
# (in CI a failed fetch is a failed step; elsewhere cli_ynl.sh then skips)
if [ -z "${LEMONADE_YNL:-}" ]; then
	mkdir -p "$REPO/build"
	if [ "${CI:-}" = true ]; then
		step "the kernel's ynl fetched (selftests/vm/ynl.sh)" \
			sh -c '"$1" > "$2"' - "$HERE/vm/ynl.sh" "$REPO/build/ynl.path"
	elif ! "$HERE/vm/ynl.sh" > "$REPO/build/ynl.path"; then
		echo "# the kernel's ynl could not be fetched: cli_ynl.sh will skip"
	fi
	LEMONADE_YNL=$(cat "$REPO/build/ynl.path" 2>/dev/null)
fi
export LEMONADE_YNL
if ynl=$("$HERE/spec_ynl.py" --find); then
	step "the kernel's ynl ($ynl) reads the netlink spec and codes its messages" \
		python3 "$HERE/spec_ynl.py" --ynl "$ynl"
fi
step "lemonctl builds with -Werror and sanitizers" make -s -C tool SANITIZE=1
# Debian packages for pkg_deb.sh (build/deb/, and the next version in
# build/deb/upgrade/): a build failure is a failed step, and pkg_deb.sh
# then skips.
step "Debian packages build (build/deb)" "$REPO/packaging/build-debs.sh" --upgrade-test
step "selftest helper programs build" make -s -C selftests/progs
step "guard parser: unit tests (sanitizers) and a short fuzz run" make -s parser-test
if [ -f tool/tests/test_duration.c ] || grep -q '^test:' tool/Makefile 2>/dev/null; then
	step "userspace unit tests (sanitizers)" make -s -C tool test SANITIZE=1
fi
[ -f kmod/nf_lemonade.ko ] || summary

rm -rf "$OUT"
mkdir -p "$OUT"
"$HERE/vm/run.sh" --root "$ROOT" --kver "$KVER" --timeout "$vm_timeout" --out "$OUT" -- selftests/guest.sh "$@"
vmrc=$?
if [ -s "$OUT/summary" ]; then
	read -r gp gf gs < "$OUT/summary"
	passed=$((passed + gp))
	failed=$((failed + gf))
	skipped=$((skipped + ${gs:-0}))
else
	echo "FAIL: the guest produced no summary (rc $vmrc)"
	failed=$((failed + 1))
fi
if [ -e "$OUT/dmesg-bad" ]; then
	echo "FAIL: warnings in the guest's dmesg:"
	sed 's/^/#   /' "$OUT/dmesg-bad"
	failed=$((failed + 1))
fi
summary
