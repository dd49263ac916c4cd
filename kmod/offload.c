// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: keep listed flows out of nf_flow_table.
 *
 * An offloaded flow's packets bypass every netfilter hook, and when the
 * flowtable lets go of an idle flow it resets ct->timeout from conntrack's
 * global table: the pin would be lost without anyone noticing. The
 * flowtable never takes a flow that carries a conntrack helper extension,
 * so every new flow on a listed port gets the (otherwise inert) helper
 * "lemonade". The extension also holds the per-flow state of later
 * features. Flows that existed before the module was loaded cannot take an
 * extension; they are pinned whenever their packets reach the slow path
 * (see Documentation/admin-guide.rst, "Flow offload").
 */
#include "lemonade.h"

#include <linux/module.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

static const struct nf_conntrack_expect_policy lemonade_exp_policy = {
	.max_expected	= 0,
	.timeout	= 1,
	.name		= "lemonade",
};

static struct nf_conntrack_helper lemonade_helper __read_mostly;

static int lemonade_help(struct sk_buff *skb, unsigned int protoff,
			 struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	return NF_ACCEPT;
}

/* A new, unconfirmed flow on a listed port; false if it stays offloadable. */
bool lemonade_flow_mark(struct nf_conn *ct)
{
	struct nf_conn_help *help;

	if (nf_ct_is_confirmed(ct) || nfct_help(ct))
		return false;
	help = nf_ct_helper_ext_add(ct, GFP_ATOMIC);
	if (!help)
		return false;
	rcu_assign_pointer(help->helper, &lemonade_helper);
	set_bit(IPS_HELPER_BIT, &ct->status);
	return true;
}

int __init lemonade_offload_init(void)
{
	nf_ct_helper_init(&lemonade_helper, NFPROTO_UNSPEC, IPPROTO_TCP,
			  "lemonade", 0, 0, 0, &lemonade_exp_policy, 0,
			  lemonade_help, NULL, THIS_MODULE);
	return nf_conntrack_helper_register(&lemonade_helper);
}

void lemonade_offload_exit(void)
{
	/* detaches the helper from every flow that still carries it */
	nf_conntrack_helper_unregister(&lemonade_helper);
}
