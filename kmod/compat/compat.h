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
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/ipv4/nf_reject.h>
#include <net/netfilter/ipv6/nf_reject.h>

#ifdef LEMONADE_KERNEL_TOO_OLD
#error "nf_lemonade needs Linux 5.10 or later"
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
 * NL_SET_ERR_MSG_ATTR() wants a string literal; the config checker hands
 * back pointers to literals chosen at run time.
 */
static inline void lemonade_extack(struct netlink_ext_ack *extack,
				   const struct nlattr *attr, const char *msg)
{
	if (extack) {
		extack->_msg = msg;
		extack->bad_attr = attr;
	}
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
#elif defined(LEMONADE_HAVE_GENL_MCGRP_FLAGS)
#define LEMONADE_MCGRP_ADMIN	.flags = GENL_UNS_ADMIN_PERM
#else
#define LEMONADE_MCGRP_ADMIN
#endif

/* A RST to the sender of @oldskb (nf_reject_ipv4/6); the socket argument
 * came with 5.x-era kernels.
 */
static inline void lemonade_send_reset(struct net *net, struct sk_buff *oldskb,
				       int hook)
{
#ifdef LEMONADE_HAVE_SEND_RESET_SK
	nf_send_reset(net, NULL, oldskb, hook);
#else
	nf_send_reset(net, oldskb, hook);
#endif
}

static inline void lemonade_send_reset6(struct net *net,
					struct sk_buff *oldskb, int hook)
{
#ifdef LEMONADE_HAVE_SEND_RESET_SK
	nf_send_reset6(net, NULL, oldskb, hook);
#else
	nf_send_reset6(net, oldskb, hook);
#endif
}

#endif /* _LEMONADE_COMPAT_H */
