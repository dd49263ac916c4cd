# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the packaging selftests (pkg_*.sh), sourced after lib.sh. Not a
# test itself (guest.sh runs selftests/*.sh only). These tests install into
# the system, so they run in the QEMU guest only, whose writes go to a tmpfs
# overlay: dkms, dpkg, /usr/src, /var/lib/dkms, /lib/modules/KVER.
#
# pkg_setup stashes the module guest.sh copied to /lib/modules/KVER/updates
# (so that modprobe finds the DKMS one in updates/dkms), and the cleanup on
# exit purges the packages, removes every DKMS state of nf_lemonade and puts
# that module back for the tests that follow.

[ "$STOCK" = 1 ] && { echo "SKIP: packaging test (LEMONADE_STOCK=1)"; exit $ksft_skip; }
[ "${LEMONADE_VM:-0}" = 1 ] ||
	{ echo "SKIP: installs into the system; runs in the QEMU guest only"; exit $ksft_skip; }
checktool "dkms --version" "run dkms"
checktool "dpkg --version" "run dpkg"
KVER=$(uname -r)
checktool "test -e /lib/modules/$KVER/build/Makefile" "find the headers of $KVER (/lib/modules/$KVER/build)"

DEBS=$REPO/build/deb
UNIT=/lib/systemd/system/lemonade.service
CONF=/etc/lemonade.conf
LEMONCTL=/usr/sbin/lemonctl
HARNESS_KO=/lib/modules/$KVER/updates/nf_lemonade.ko
PKG_SAVED=$(mktemp -d /tmp/lemonade-pkg.XXXXXX)
# what the two packages install (checked after install and after purge)
PKG_FILES="$LEMONCTL $UNIT $CONF /etc/modprobe.d/nf_lemonade.conf
/etc/modules-load.d/nf_lemonade.conf /usr/share/man/man8/lemonctl.8.gz
/usr/share/bash-completion/completions/lemonctl /usr/share/doc/lemonctl
/usr/share/doc/nf-lemonade-dkms"

# deb_of DIR PACKAGE: the newest PACKAGE_*.deb in DIR
deb_of() { ls -1t "$1"/"$2"_*.deb 2>/dev/null | head -n 1; }
# debver DEB: upstream version of a package file
debver() { local v; v=$(dpkg-deb -f "$1" Version); echo "${v%-*}"; }

# pkg_remove_all: purge the packages, remove every DKMS version and source
pkg_remove_all() {
	local mv
	if dpkg-query -W lemonctl nf-lemonade-dkms >/dev/null 2>&1; then
		dpkg --purge lemonctl nf-lemonade-dkms >/dev/null 2>&1
	fi
	for mv in $(dkms status -m nf_lemonade 2>/dev/null | sed -n 's|^\(nf_lemonade/[^,:]*\)[,:].*|\1|p' | sort -u); do
		dkms remove "$mv" --all >/dev/null 2>&1
	done
	rm -rf /usr/src/nf_lemonade-* /var/lib/dkms/nf_lemonade
}

pkg_cleanup() {
	cleanup
	pkg_remove_all
	# dkms remove may have removed the then empty updates/ directory
	if [ -f "$PKG_SAVED/nf_lemonade.ko" ]; then
		mkdir -p "${HARNESS_KO%/*}"
		mv "$PKG_SAVED/nf_lemonade.ko" "$HARNESS_KO"
	fi
	depmod -a "$KVER"
	rm -rf "$PKG_SAVED"
}

pkg_setup() {
	trap pkg_cleanup EXIT
	# a time-out (SIGTERM) still runs the cleanup
	trap 'exit 1' TERM INT
	lemonade_unload
	if dpkg-query -W lemonctl nf-lemonade-dkms >/dev/null 2>&1 ||
		dkms status -m nf_lemonade 2>/dev/null | grep -q . || ls -d /usr/src/nf_lemonade-* >/dev/null 2>&1; then
		info "removing what an earlier, interrupted test left: $(dkms status -m nf_lemonade 2>/dev/null)"
		pkg_remove_all
	fi
	if [ -f "$HARNESS_KO" ]; then
		mv "$HARNESS_KO" "$PKG_SAVED/"
	fi
	depmod -a "$KVER"
	# man-db's trigger would reindex every manual page: minutes under TCG
	rm -f /var/lib/man-db/auto-update
}

# expect_dkms_installed VERSION: dkms has exactly VERSION, installed for KVER,
# and modprobe resolves nf_lemonade to it
expect_dkms_installed() {
	local v=$1 status path modver
	status=$(dkms status -m nf_lemonade 2>&1)
	info "dkms status: $status"
	if [ -n "$status" ] && [ "$status" = "$(echo "$status" | grep "^nf_lemonade/$v, $KVER, [^:]*: installed")" ]; then
		pass "dkms: nf_lemonade/$v installed for $KVER, and nothing else"
	else
		fail "dkms status: $status (want only nf_lemonade/$v installed for $KVER)"
	fi
	path=$(modinfo -n nf_lemonade 2>&1)
	modver=$(modinfo -F version nf_lemonade 2>&1)
	if [ "$path" = "/lib/modules/$KVER/updates/dkms/nf_lemonade.ko" ] && [ "$modver" = "$v" ]; then
		pass "modprobe resolves nf_lemonade to $path (version $modver)"
	else
		fail "modinfo nf_lemonade: $path version $modver (want updates/dkms, $v)"
	fi
}

# dpkg_do WHAT ARGS...: dpkg with its output in a log, shown on failure
dpkg_do() {
	local what=$1 start=$SECONDS
	shift
	if dpkg "$@" >"$TMPD/dpkg.log" 2>&1; then
		pass "$what ($((SECONDS - start))s)"
		grep -E '^(Building|Skipped|Done|Removing|Loading|Deleting|Module build|It is likely)' \
			"$TMPD/dpkg.log" | sed 's/^/#   dpkg: /'
		return 0
	fi
	fail "$what"
	sed 's/^/#   /' "$TMPD/dpkg.log"
	return 1
}

# unit_run: run the unit's ExecStartPre= and ExecStart= lines in order, as
# systemd does (split with its shell-like quoting, no shell, a "-" prefix
# ignores a failure), with systemd's default PATH and an empty environment.
unit_run() {
	local key line cmd ignore rc
	for key in ExecStartPre ExecStart; do
		while IFS= read -r line; do
			cmd=${line#*=} ignore=0
			while [[ $cmd == [-@:+!]* ]]; do
				[[ $cmd == -* ]] && ignore=1
				cmd=${cmd:1}
			done
			info "$key: $cmd"
			env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
				$PY -c 'import shlex, subprocess, sys
sys.exit(subprocess.call(shlex.split(sys.argv[1])))' "$cmd"
			rc=$?
			if [ "$rc" -ne 0 ] && [ "$ignore" = 0 ]; then
				echo "# $key failed with status $rc"
				return 1
			fi
		done < <(grep "^$key=" "$UNIT")
	done
}

show() { $LEMONCTL -j show; }

# restore_check WHAT WANT: rmmod, start the unit, compare "lemonctl -j show"
restore_check() {
	local what=$1 want=$2 got
	lemonade_unload
	if grep -q '^nf_lemonade ' /proc/modules; then
		fail "$what: rmmod nf_lemonade"
		return
	fi
	if ! unit_run; then
		fail "$what: lemonade.service failed"
		return
	fi
	got=$(show)
	if [ "$got" = "$want" ]; then
		pass "$what"
	else
		fail "$what"
		info "want: $want"
		info "got:  $got"
	fi
}

# change_config: a configuration unlike the defaults, through lemonctl
change_config() {
	if $LEMONCTL set timeout 3h pressure high 85 low 70 &&
		$LEMONCTL port add 993 proto imap &&
		$LEMONCTL port add 2525 proto smtp timeout 4h &&
		$LEMONCTL port del 674; then
		pass "configuration changed with lemonctl (set timeout 3h, port add 993 proto imap, ...)"
	else
		fail "lemonctl set / port add / port del"
	fi
}

# expect_purged: no package, DKMS state, module file, file or symlink left
expect_purged() {
	local p st f left=
	lemonade_unload
	for p in lemonctl nf-lemonade-dkms; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)
		case $st in "" | un*) ;; *) left="$left package:$p($st)" ;; esac
	done
	dkms status -m nf_lemonade 2>/dev/null | grep -q . &&
		left="$left dkms:$(dkms status -m nf_lemonade)"
	for f in $PKG_FILES /var/lib/dkms/nf_lemonade /usr/src/nf_lemonade-* \
		$(find /etc/systemd /var/lib/systemd -name 'lemonade.service*' 2>/dev/null) \
		$(find "/lib/modules/$KVER" -name 'nf_lemonade.ko*' 2>/dev/null); do
		if [ -e "$f" ] || [ -L "$f" ]; then
			left="$left $f"
		fi
	done
	modinfo -n nf_lemonade >/dev/null 2>&1 && left="$left modinfo:$(modinfo -n nf_lemonade)"
	if [ -z "$left" ]; then
		pass "purged: no package, DKMS state, module, file or unit symlink left"
	else
		fail "purge left:$left"
	fi
}
