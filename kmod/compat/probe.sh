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

has_re() { # has_re FILE ERE: an extended regular expression matches
	for d in "$src" "$obj"; do
		grep -qsE -- "$2" "$d/$1" && return 0
	done
	return 1
}

flag() { printf ' -D%s' "$1"; }

decl() { # decl FILE FUNC: FUNC's declaration in FILE, on one line
	for d in "$src" "$obj"; do
		sed -n "/$2(/,/;/p" "$d/$1" 2>/dev/null
	done | tr -d '\n'
}

has include/net/netfilter/nf_conntrack.h 'struct nf_ct_iter_data' &&
	flag LEMONADE_HAVE_CT_ITER_DATA
has include/net/netfilter/nf_conntrack.h 'u32 nf_conntrack_count(' &&
	flag LEMONADE_HAVE_CT_COUNT_FN
# 6.1: extended ACKs name a missing attribute (NLMSGERR_ATTR_MISS_TYPE)
has include/linux/netlink.h 'NL_SET_ERR_ATTR_MISS' &&
	flag LEMONADE_HAVE_ERR_ATTR_MISS
has include/net/genetlink.h 'resv_start_op' &&
	flag LEMONADE_HAVE_GENL_RESV_START_OP
has include/net/genetlink.h 'GENL_MCAST_CAP_NET_ADMIN' &&
	flag LEMONADE_HAVE_GENL_MCAST_CAP
# 7.2: helper registration copies the template and returns the copy
has_re include/net/netfilter/nf_conntrack_helper.h \
	'_helper_register\(struct nf_conntrack_helper \*[^)]*\*\*' &&
	flag LEMONADE_HAVE_HELPER_REGISTER_COPY
# 7.2: each conntrack entry holds a reference on its helper
has include/net/netfilter/nf_conntrack_helper.h 'refcount_t ct_refcnt;' &&
	flag LEMONADE_HAVE_HELPER_CT_REFCNT
# 5.17: struct nf_conntrack's use became a refcount_t (an atomic_t before)
has include/linux/netfilter/nf_conntrack_common.h 'refcount_t use;' &&
	flag LEMONADE_HAVE_CT_REFCOUNT
# inet_proto_csum_replace_by_diff() grew an ipv6 argument (6.x, and
# backported to 5.10.y and 6.1.y)
decl include/net/checksum.h inet_proto_csum_replace_by_diff | grep -q 'bool ipv6' &&
	flag LEMONADE_HAVE_CSUM_DIFF_IPV6
# The one version test: the oldest kernel the module was written for.
# Feature probes above decide everything else.
mk=$src/Makefile
ver=$(sed -n 's/^VERSION = //p' "$mk" 2>/dev/null)
patch=$(sed -n 's/^PATCHLEVEL = //p' "$mk" 2>/dev/null)
if [ -n "$ver" ] && [ -n "$patch" ] &&
	[ $((ver * 1000 + patch)) -lt 5010 ]; then
	flag LEMONADE_KERNEL_TOO_OLD
fi
# multicast group bind permissions (GENL_UNS_ADMIN_PERM in 5.10.y)
for d in "$src" "$obj"; do
	sed -n '/^struct genl_multicast_group {/,/^};/p' \
		"$d/include/net/genetlink.h" 2>/dev/null
done | grep -q 'flags;' && flag LEMONADE_HAVE_GENL_MCGRP_FLAGS
exit 0
