#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo: boot Debian's 6.1 kernel under QEMU, build a client -- gateway
# -- server topology in network namespaces, and show the same scenarios on
# stock Linux and with nf_lemonade, side by side.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
"$HERE/install-deps.sh"
eval "$("$HERE/vm/kernel.sh" fetch "${LEMONADE_KERNEL:-6.1}")"
make -s kmod KVER="$KVER"
make -s tool
exec "$HERE/vm/run.sh" --kver "$KVER" -- \
	'kver=$(uname -r); mkdir -p /lib/modules/$kver/updates &&
	 cp kmod/nf_lemonade.ko /lib/modules/$kver/updates/ && depmod -a &&
	 modprobe nf_conntrack && selftests/demo-guest.sh'
