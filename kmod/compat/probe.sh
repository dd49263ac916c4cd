#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build-time feature probes for kmod/compat/compat.h. Prints -D flags for
# the kernel tree whose headers are in $1 (srctree) and $2 (objtree).
# Features are detected from the headers themselves, never from version
# numbers: stable kernels carry backports that version numbers miss.
src=$1
obj=${2:-$1}

has() { # has FILE PATTERN: a fixed string occurs in a header
	for d in "$src" "$obj"; do
		grep -qsF -- "$2" "$d/$1" && return 0
	done
	return 1
}

flag() { printf ' -D%s' "$1"; }

has include/net/netfilter/nf_conntrack.h 'struct nf_ct_iter_data' &&
	flag LEMONADE_HAVE_CT_ITER_DATA
has include/net/netfilter/nf_conntrack.h 'u32 nf_conntrack_count(' &&
	flag LEMONADE_HAVE_CT_COUNT_FN
has include/net/genetlink.h 'resv_start_op' &&
	flag LEMONADE_HAVE_GENL_RESV_START_OP
has include/net/genetlink.h 'GENL_MCAST_CAP_NET_ADMIN' &&
	flag LEMONADE_HAVE_GENL_MCAST_CAP
# The one version test: the oldest kernel the module was written for.
# Feature probes above decide everything else.
mk=$src/Makefile
ver=$(sed -n 's/^VERSION = //p' "$mk" 2>/dev/null)
patch=$(sed -n 's/^PATCHLEVEL = //p' "$mk" 2>/dev/null)
if [ -n "$ver" ] && [ -n "$patch" ] &&
	[ $((ver * 1000 + patch)) -lt 5010 ]; then
	flag LEMONADE_KERNEL_TOO_OLD
fi
exit 0
