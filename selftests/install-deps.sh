#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build, the demo and the tests need on Debian 12, as root.
# Only missing packages are installed: nothing already present is upgraded.
set -eu
pkgs="build-essential make gcc pkg-config libnl-3-dev libnl-genl-3-dev
linux-headers-amd64 pahole qemu-system-x86 busybox-static kmod cpio
iproute2 conntrack nftables iptables python3 python3-yaml python3-jsonschema jq procps bash-completion
psmisc ethtool tcpdump socat libnetfilter-queue-dev libmnl-dev clang libclang-rt-14-dev
dpkg-dev debhelper dh-dkms dkms systemd
postfix dovecot-imapd openssl"
# make check-debug also runs the kernel's netfilter selftests
# (nf_kselftest.sh), which need these
if [ "${LEMONADE_KERNEL:-}" = debug ] || [ "${LEMONADE_NF_KSELFTEST:-0}" = 1 ]; then
	pkgs="$pkgs iputils-ping netcat-openbsd ipvsadm iperf3"
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "Error: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "# installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Packages with services (postfix, dovecot for guard_real.sh, which runs
# its own instances in the VM) must not start them here: a policy-rc.d
# that refuses (unless the machine has one) while installing, and the
# services of packages installed now are not enabled at boot either.
fresh=
for p in postfix dovecot-core; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		fresh="$fresh $p"
done
rcd=/usr/sbin/policy-rc.d
if [ ! -e "$rcd" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$rcd"
	chmod 755 "$rcd"
	trap 'rm -f "$rcd"' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
for p in $fresh; do
	case $p in
	postfix) units="postfix.service" ;;
	*) units="dovecot.service dovecot.socket" ;;
	esac
	for u in $units; do
		systemctl disable --quiet "$u" 2>/dev/null || true
	done
done
