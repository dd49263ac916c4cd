#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot Debian's 6.1 kernel under QEMU, build a client -- gateway
# -- server topology in network namespaces, and show the same scenarios
# (the floor, the shield, the guard) on stock Linux and with nf_lemonade,
# in one table.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
start=$SECONDS
echo "# checking the dependencies (installs what is missing, once)"
"$HERE/install-deps.sh"
echo "# Debian's kernel image for the VM (downloaded once)"
eval "$("$HERE/vm/kernel.sh" fetch "${LEMONADE_KERNEL:-6.1}")"
echo "# building nf_lemonade for $KVER, lemonctl and the masking NFQUEUE program"
make -s kmod KVER="$KVER"
make -s tool
make -s -C selftests/progs
echo "# booting $KVER under QEMU (about 30 s), then the two phases, stock Linux and with the module; each step says what it waits for"
"$HERE/vm/run.sh" --kver "$KVER" -- \
	'kver=$(uname -r); mkdir -p /lib/modules/$kver/updates &&
	 cp kmod/nf_lemonade.ko /lib/modules/$kver/updates/ && depmod -a &&
	 modprobe nf_conntrack && selftests/demo-guest.sh'
echo "# demo done in $((SECONDS - start)) s"
