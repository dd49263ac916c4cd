/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: every difference between the supported kernels lives here,
 * driven by the LEMONADE_HAVE_* flags that kmod/compat/probe.sh derives
 * from the target kernel's headers at build time.
 */
#ifndef _LEMONADE_COMPAT_H
#define _LEMONADE_COMPAT_H

#include <linux/netlink.h>
#include <linux/refcount.h>
#include <net/checksum.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

#ifdef LEMONADE_KERNEL_TOO_OLD
#error "nf_lemonade needs Linux 5.10 or later"
#endif

/* 7.2 changed helper registration and per-entry references together */
#if defined(LEMONADE_HAVE_HELPER_REGISTER_COPY) != \
	defined(LEMONADE_HAVE_HELPER_CT_REFCNT)
#error "only one of the 7.2 conntrack helper changes found: check kmod/compat/probe.sh"
#endif

static inline unsigned int lemonade_ct_count(struct net *net)
{
#ifdef LEMONADE_HAVE_CT_COUNT_FN
	return nf_conntrack_count(net);
#else
	return atomic_read(&net->ct.count);
#endif
}

/* Walk the netns's confirmed entries; @fn returns non-zero to delete. */
static inline void lemonade_ct_iterate(struct net *net,
				       int (*fn)(struct nf_conn *, void *),
				       void *data)
{
#ifdef LEMONADE_HAVE_CT_ITER_DATA
	struct nf_ct_iter_data d = { .net = net, .data = data };

	nf_ct_iterate_cleanup_net(fn, &d);
#else
	nf_ct_iterate_cleanup_net(net, fn, data, 0, 0);
#endif
}

/*
 * Register a conntrack helper from the template @tmpl. Since 7.2 the core
 * registers a copy of it, which conntrack entries reference and which
 * outlives its unregistration while they do; before, it registered @tmpl
 * itself. *@reg is the helper to attach and to unregister.
 */
static inline int lemonade_helper_register(struct nf_conntrack_helper *tmpl,
					   struct nf_conntrack_helper **reg)
{
#ifdef LEMONADE_HAVE_HELPER_REGISTER_COPY
	return nf_conntrack_helper_register(tmpl, reg);
#else
	int err = nf_conntrack_helper_register(tmpl);

	*reg = err ? NULL : tmpl;
	return err;
#endif
}

/*
 * A reference on @helper for one more conntrack entry (its helper
 * extension drops it when the entry is freed, since 7.2); false if the
 * helper is going away. Earlier kernels count no per-entry references:
 * unregistering detaches the helper from every entry instead.
 */
static inline bool lemonade_helper_get(struct nf_conntrack_helper *helper)
{
#ifdef LEMONADE_HAVE_HELPER_CT_REFCNT
	return refcount_inc_not_zero(&helper->ct_refcnt);
#else
	return true;
#endif
}

/*
 * Joining the "events" multicast group needs CAP_NET_ADMIN over the netns:
 * GENL_MCAST_CAP_NET_ADMIN since 6.7 (and 6.1.y stable), the flag
 * GENL_UNS_ADMIN_PERM in the 5.10.y backport; kernels without either let
 * anyone join. A designated initializer for struct genl_multicast_group.
 */
#if defined(LEMONADE_HAVE_GENL_MCAST_CAP)
#define LEMONADE_MCGRP_ADMIN	.flags = GENL_MCAST_CAP_NET_ADMIN
#define LEMONADE_MCGRP_CAN_RESTRICT	1
#elif defined(LEMONADE_HAVE_GENL_MCGRP_FLAGS)
#define LEMONADE_MCGRP_ADMIN	.flags = GENL_UNS_ADMIN_PERM
#define LEMONADE_MCGRP_CAN_RESTRICT	1
#else
/* the group is not registered there (netlink.c) */
#define LEMONADE_MCGRP_ADMIN
#define LEMONADE_MCGRP_CAN_RESTRICT	0
#endif

/*
 * Since 6.1 a family can ask the core to validate every operation from
 * a given command on strictly (reserved header fields, policies).
 */
/*
 * Before 6.1 an extended ACK cannot name a missing attribute: the
 * message alone says which.
 */
#ifndef LEMONADE_HAVE_ERR_ATTR_MISS
#define NL_SET_ERR_ATTR_MISS(extack, nest, type)	do { } while (0)
#endif

#ifdef LEMONADE_HAVE_GENL_RESV_START_OP
#define LEMONADE_GENL_STRICT_FROM(cmd)	.resv_start_op = (cmd),
#else
#define LEMONADE_GENL_STRICT_FROM(cmd)
#endif

/*
 * A reference on @ct unless it is already being freed; @ct may be a
 * SLAB_TYPESAFE_BY_RCU object seen under RCU (the caller checks who it is).
 */
static inline bool lemonade_ct_get_not_zero(struct nf_conn *ct)
{
#ifdef LEMONADE_HAVE_CT_REFCOUNT
	return refcount_inc_not_zero(&ct->ct_general.use);
#else
	return atomic_inc_not_zero(&ct->ct_general.use);
#endif
}

/*
 * Fold @diff, a change of the bytes a TCP checksum covers outside the
 * pseudo-header, into the checksum at @sum.
 */
static inline void lemonade_csum_replace_by_diff(__sum16 *sum,
						 struct sk_buff *skb,
						 __wsum diff)
{
#ifdef LEMONADE_HAVE_CSUM_DIFF_IPV6
	inet_proto_csum_replace_by_diff(sum, skb, diff, false, false);
#else
	inet_proto_csum_replace_by_diff(sum, skb, diff, false);
#endif
}

#endif /* _LEMONADE_COMPAT_H */
