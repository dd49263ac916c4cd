#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install what the build, the demo and the tests need on Debian 12, as root.
# Only missing packages are installed: nothing already present is upgraded.
set -eu
pkgs="build-essential make gcc pkg-config libnl-3-dev libnl-genl-3-dev
linux-headers-amd64 pahole qemu-system-x86 busybox-static kmod cpio
iproute2 conntrack nftables iptables python3 python3-scapy jq procps
psmisc ethtool tcpdump socat libnetfilter-queue-dev libmnl-dev clang libclang-rt-14-dev
dpkg-dev debhelper dh-dkms dkms systemd"
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
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
