#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian packages (built on the host into build/deb/ by selftests/run.sh,
# or "make deb"): nf-lemonade-dkms and lemonctl install with dpkg -i, DKMS
# builds the module for the running kernel and modprobe picks it; a floor
# selftest passes against it; the unit passes systemd-analyze verify and
# the shipped examples are valid; lemonade.service, run as its unit file
# says, loads the module and restores a configuration saved with
# "lemonctl save > /etc/lemonade.conf" after rmmod (and loads the defaults
# without the file); then, with that module loaded, they upgrade to the next
# version from build/deb/upgrade/ (packaging/build-debs.sh --upgrade-test,
# as selftests/run.sh builds them): DKMS drops the old version and builds
# the new one, the saved configuration file is kept and the service
# restores it with the new module; both packages purge cleanly: no module,
# no DKMS state, no file, no unit symlink. One test, so that the old
# version's DKMS build serves both halves. Runs in the QEMU guest (it
# installs packages).
# timeout: 1500 (two DKMS builds inside the guest: 537 s unloaded)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_pkg.bash"
DKMS_DEB=$(deb_of "$DEBS" nf-lemonade-dkms)
CTL_DEB=$(deb_of "$DEBS" lemonctl)
if [ -z "$DKMS_DEB" ] || [ -z "$CTL_DEB" ]; then
	echo "SKIP: no packages in build/deb (make deb; selftests/run.sh builds them)"
	exit $ksft_skip
fi
VERSION=$(debver "$DKMS_DEB")
UP_DKMS_DEB=$(deb_of "$DEBS/upgrade" nf-lemonade-dkms)
UP_CTL_DEB=$(deb_of "$DEBS/upgrade" lemonctl)
pkg_setup

info "installing $(basename "$DKMS_DEB") $(basename "$CTL_DEB")"
dpkg_do "dpkg -i nf-lemonade-dkms lemonctl ($VERSION)" -i "$DKMS_DEB" "$CTL_DEB" || exit $ret

# ---------------------------------------------------------------- installed
expect_dkms_installed "$VERSION"
missing=
for f in $PKG_FILES; do
	[ -e "$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	pass "packaged files installed"
else
	fail "missing after install:$missing"
fi
if [ -L /etc/systemd/system/multi-user.target.wants/lemonade.service ]; then
	pass "lemonade.service enabled (multi-user.target.wants)"
else
	fail "lemonade.service not enabled"
fi
if command -v systemd-analyze >/dev/null; then
	if systemd-analyze verify "$UNIT" >"$TMPD/verify.log" 2>&1; then
		pass "systemd-analyze verify $UNIT"
	else
		fail "systemd-analyze verify $UNIT"
		sed 's/^/#   /' "$TMPD/verify.log"
	fi
else
	info "systemd-analyze not available: unit not verified"
fi

# ---------------------------------------------------------------- floor test
bash "$HERE/floor_idle.sh" 2>&1 | sed 's/^/    /'
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 0 ]; then
	pass "floor_idle.sh against the packaged module"
else
	fail "floor_idle.sh against the packaged module (exit $rc)"
fi
lemonade_unload

# ---------------------------------------------------------------- examples
modprobe nf_lemonade || { fail "modprobe nf_lemonade"; exit $ret; }
defaults=$(show)
if $LEMONCTL -V | grep -q "^lemonctl $VERSION module $VERSION"; then
	pass "lemonctl -V: $($LEMONCTL -V)"
else
	fail "lemonctl -V: $($LEMONCTL -V 2>&1) (want lemonctl $VERSION module $VERSION)"
fi
# /etc/lemonade.conf as shipped is all comments: the module's defaults.
restore_check "lemonade.service with the shipped $CONF: module loaded, defaults" "$defaults"
# Its commented example lines are valid batch commands.
sed -n 's/^#\(port \|set \)/\1/p' "$CONF" >"$TMPD/example.conf"
if [ -s "$TMPD/example.conf" ] && $LEMONCTL -b "$TMPD/example.conf" &&
	show | grep -q '"port":993'; then
	pass "the example lines of $CONF apply ($(wc -l <"$TMPD/example.conf") lines)"
else
	fail "the example lines of $CONF do not apply"
	cat "$TMPD/example.conf"
fi
# Every parameter of the modprobe.d example exists, with the value shown.
bad=0 n=0
while read -r kv; do
	k=${kv%%=*} v=${kv#*=} n=$((n + 1))
	have=$(cat "/sys/module/nf_lemonade/parameters/$k" 2>/dev/null)
	if [ "$have" != "$v" ]; then
		info "modprobe.d example: $k=$v, the module says '${have:-no such parameter}'"
		bad=1
	fi
done < <(sed -n 's/^#options nf_lemonade //p' /etc/modprobe.d/nf_lemonade.conf | tr ' ' '\n')
if [ "$bad" = 0 ] && [ "$n" -ge 6 ]; then
	pass "modprobe.d example: $n parameters, names and default values match the module"
else
	fail "modprobe.d example does not match the module's parameters"
fi
if grep -qx '#nf_lemonade' /etc/modules-load.d/nf_lemonade.conf; then
	pass "modules-load.d example names nf_lemonade (commented out)"
else
	fail "modules-load.d example"
fi

# ---------------------------------------------------------------- save/restore
restore_check "lemonade.service again: defaults" "$defaults"
change_config
saved=$(show)
$LEMONCTL save >"$CONF"
info "saved: $(tr '\n' ';' <"$CONF")"
if [ "$saved" != "$defaults" ]; then
	restore_check "lemonade.service restores the saved configuration after rmmod" "$saved"
else
	fail "the changed configuration equals the defaults"
fi
mv "$CONF" "$TMPD/conf.moved"
restore_check "lemonade.service without $CONF: module loaded, defaults" "$defaults"
mv "$TMPD/conf.moved" "$CONF"

# ---------------------------------------------------------------- upgrade
if [ -z "$UP_DKMS_DEB" ] || [ -z "$UP_CTL_DEB" ]; then
	info "no packages in build/deb/upgrade (packaging/build-debs.sh --upgrade-test): upgrade not tested"
elif UPVERSION=$(debver "$UP_DKMS_DEB") &&
	dpkg --compare-versions "$(dpkg-deb -f "$UP_DKMS_DEB" Version)" le "$(dpkg-deb -f "$DKMS_DEB" Version)"; then
	fail "build/deb/upgrade holds $UPVERSION, not newer than $VERSION"
else
	cp "$CONF" "$TMPD/saved.conf"
	# with the old module loaded and the saved configuration in place
	dpkg_do "dpkg -i: upgrade $VERSION -> $UPVERSION" -i "$UP_DKMS_DEB" "$UP_CTL_DEB"
	for p in nf-lemonade-dkms lemonctl; do
		v=$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$p")
		if [ "$v" = "$UPVERSION-1 ii " ]; then
			pass "upgrade: $p $v"
		else
			fail "upgrade: $p is '$v' (want $UPVERSION-1 ii)"
		fi
	done
	expect_dkms_installed "$UPVERSION"
	if [ ! -e "/usr/src/nf_lemonade-$VERSION" ] && [ ! -e "/var/lib/dkms/nf_lemonade/$VERSION" ] &&
		[ -d "/usr/src/nf_lemonade-$UPVERSION" ]; then
		pass "upgrade: the sources and DKMS tree of $VERSION are gone"
	else
		fail "upgrade: left over: $(ls -d /usr/src/nf_lemonade-* /var/lib/dkms/nf_lemonade/* 2>&1 | tr '\n' ' ')"
	fi
	if cmp -s "$CONF" "$TMPD/saved.conf"; then
		pass "upgrade: the saved $CONF is kept"
	else
		fail "upgrade: $CONF changed"
	fi
	if [ -L /etc/systemd/system/multi-user.target.wants/lemonade.service ]; then
		pass "upgrade: lemonade.service still enabled"
	else
		fail "upgrade: lemonade.service no longer enabled"
	fi
	# the old module is still loaded: the service replaces it
	restore_check "upgrade: lemonade.service restores the saved configuration with the new module" "$saved"
	loaded=$(cat /sys/module/nf_lemonade/version 2>/dev/null)
	if [ "$loaded" = "$UPVERSION" ]; then
		pass "upgrade: the loaded module is $UPVERSION"
	else
		fail "upgrade: the loaded module is '$loaded' (want $UPVERSION)"
	fi
fi

# ---------------------------------------------------------------- purge
# Purged while the module is loaded, as on a live system.
dpkg_do "dpkg --purge lemonctl nf-lemonade-dkms" --purge lemonctl nf-lemonade-dkms
expect_purged
exit $ret
