#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# DKMS: "make dkms-install" puts only the module's sources in
# /usr/src/nf_lemonade-VERSION; dkms add, build and install it for the
# running kernel; modprobe then picks the DKMS module (updates/dkms, not
# the copy guest.sh puts in updates/), and floor selftests pass against it;
# a kernel older than 5.10 is skipped (dkms exit 77) before any compiling;
# dkms remove takes everything away again. Runs in the QEMU guest (it
# writes /usr/src, /var/lib/dkms and /lib/modules).
# timeout: 900 (it builds the module with DKMS inside the guest: 282 s unloaded)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pkg.bash"
VERSION=$(cat "$REPO/VERSION")
MV=nf_lemonade/$VERSION
SRC=/usr/src/nf_lemonade-$VERSION
pkg_setup

# run_floor TEST: one floor selftest, indented, against whatever modprobe finds
run_floor() {
	local t=$1 rc
	bash "$HERE/$t" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		pass "$t against the DKMS module"
	else
		fail "$t against the DKMS module (exit $rc)"
	fi
}

# The source tree: Kbuild, VERSION, dkms.conf, kmod/, uapi/ and nothing else.
if make -s -C "$REPO" dkms-install >"$TMPD/install.log" 2>&1; then
	pass "make dkms-install: $SRC"
else
	fail "make dkms-install"; cat "$TMPD/install.log"; exit $ret
fi
top=$(cd "$SRC" && ls -A | sort | tr '\n' ' ')
if [ "$top" = "Kbuild VERSION dkms.conf kmod uapi " ]; then
	pass "source tree holds only Kbuild VERSION dkms.conf kmod uapi"
else
	fail "source tree holds: $top"
fi
junk=$(cd "$SRC" && find . \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '*.cmd' \
	-o -name '*.sh' ! -path './kmod/compat/probe.sh' \))
if [ -z "$junk" ]; then
	pass "no build products or tests in the source tree"
else
	fail "build products or tests in the source tree: $junk"
fi
if grep -qx "PACKAGE_VERSION=\"$VERSION\"" "$SRC/dkms.conf" && ! grep -q '@VERSION@' "$SRC/dkms.conf"; then
	pass "dkms.conf: PACKAGE_VERSION=\"$VERSION\""
else
	fail "dkms.conf version not substituted"
fi
if grep -Eq '^[[:space:]]*MAKE|uname' "$SRC/dkms.conf"; then
	fail "dkms.conf has a MAKE line or uses uname"
else
	pass "dkms.conf uses DKMS's default kbuild call"
fi

if dkms add "$MV" >"$TMPD/dkms.log" 2>&1; then
	pass "dkms add $MV"
else
	fail "dkms add $MV"; cat "$TMPD/dkms.log"; exit $ret
fi

# Kernels below 5.10 are skipped before anything is compiled.
for old in 4.19.0-27-amd64 5.9.16; do
	dkms build "$MV" -k "$old" >"$TMPD/old.log" 2>&1
	rc=$?
	if [ "$rc" -eq 77 ] && grep -q BUILD_EXCLUSIVE "$TMPD/old.log"; then
		pass "dkms build -k $old skipped (exit 77, BUILD_EXCLUSIVE)"
	else
		fail "dkms build -k $old: exit $rc, want 77"; cat "$TMPD/old.log"
	fi
	rm -rf "/var/lib/dkms/$MV/$old"
done

start=$SECONDS
if dkms build "$MV" -k "$KVER" >"$TMPD/dkms.log" 2>&1; then
	pass "dkms build -k $KVER ($((SECONDS - start))s)"
else
	fail "dkms build -k $KVER"
	cat "$TMPD/dkms.log"
	tail -n 30 "/var/lib/dkms/$MV/build/make.log" 2>/dev/null
	exit $ret
fi
# dkms prints its make command line
if grep -q "make .*KERNELRELEASE=$KVER -C /lib/modules/$KVER/build M=" "$TMPD/dkms.log"; then
	pass "kbuild call for $KVER: $(grep -o "make .*KERNELRELEASE=$KVER -C [^ ]*" "$TMPD/dkms.log")"
else
	fail "dkms did not run make with KERNELRELEASE=$KVER -C /lib/modules/$KVER/build"
	cat "$TMPD/dkms.log"
fi
if dkms install "$MV" -k "$KVER" >"$TMPD/dkms.log" 2>&1; then
	pass "dkms install -k $KVER"
else
	fail "dkms install -k $KVER"; cat "$TMPD/dkms.log"; exit $ret
fi
expect_dkms_installed "$VERSION"

run_floor floor_idle.sh
run_floor floor_rmmod.sh

if modprobe nf_lemonade && grep -q '^nf_lemonade ' /proc/modules &&
	[ "$(cat /sys/module/nf_lemonade/version 2>/dev/null)" = "$VERSION" ]; then
	pass "the DKMS module loads (version $VERSION in sysfs)"
else
	fail "the DKMS module does not load"
fi
lemonade_unload

if dkms remove "$MV" --all >"$TMPD/dkms.log" 2>&1 &&
	! dkms status -m nf_lemonade | grep -q . &&
	[ ! -e "/lib/modules/$KVER/updates/dkms/nf_lemonade.ko" ] &&
	! modinfo -n nf_lemonade >/dev/null 2>&1; then
	pass "dkms remove --all: module gone"
else
	fail "dkms remove --all left something: $(dkms status -m nf_lemonade) $(modinfo -n nf_lemonade 2>&1)"
	cat "$TMPD/dkms.log"
fi
exit $ret
