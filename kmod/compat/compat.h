/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: every difference between the supported kernels lives here,
 * driven by the LEMONADE_HAVE_* flags that kmod/compat/probe.sh derives
 * from the target kernel's headers at build time.
 */
#ifndef _LEMONADE_COMPAT_H
#define _LEMONADE_COMPAT_H

#include <linux/netlink.h>
#include <net/netfilter/nf_conntrack.h>

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

#endif /* _LEMONADE_COMPAT_H */
