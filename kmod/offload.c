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
#include "compat/compat.h"

#include <linux/module.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

static const struct nf_conntrack_expect_policy lemonade_exp_policy = {
	.max_expected	= 0,
	.timeout	= 1,
	.name		= "lemonade",
};

/* The template, and the helper the core registered from it. */
static struct nf_conntrack_helper lemonade_helper_tmpl;
static struct nf_conntrack_helper *lemonade_helper __read_mostly;

static int lemonade_help(struct sk_buff *skb, unsigned int protoff,
			 struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	return NF_ACCEPT;
}

/* Does @ct carry our helper (and so our per-flow state)? RCU held. */
bool lemonade_flow_is_ours(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);

	return help && lemonade_helper &&
	       rcu_access_pointer(help->helper) == lemonade_helper;
}

/*
 * A new, unconfirmed flow on a listed port (protocol tag @proto); false if
 * it stays offloadable.
 */
bool lemonade_flow_mark(struct nf_conn *ct, u8 proto)
{
	struct nf_conn_help *help;

	if (nf_ct_is_confirmed(ct) || nfct_help(ct))
		return false;
	help = nf_ct_helper_ext_add(ct, GFP_ATOMIC);
	if (!help || !lemonade_helper_get(lemonade_helper))
		return false;
	rcu_assign_pointer(help->helper, lemonade_helper);
	set_bit(IPS_HELPER_BIT, &ct->status);
	lemonade_guard_init_flow(ct, proto);
	return true;
}

int __init lemonade_offload_init(void)
{
	nf_ct_helper_init(&lemonade_helper_tmpl, NFPROTO_UNSPEC, IPPROTO_TCP,
			  "lemonade", 0, 0, 0, &lemonade_exp_policy, 0,
			  lemonade_help, NULL, THIS_MODULE);
	/* frees the guard's buffer of a flow that ends mid-negotiation */
	lemonade_helper_tmpl.destroy = lemonade_guard_destroy;
	return lemonade_helper_register(&lemonade_helper_tmpl, &lemonade_helper);
}

/* After the hooks are gone: nothing attaches the helper any more. */
void lemonade_offload_exit(void)
{
	/*
	 * Before 7.2 this detaches the helper from every flow that still
	 * carries it; since, such flows keep an inert copy (its help
	 * callback cleared) until they end.
	 */
	/*
	 * A copy that outlives the module must not call into it; the
	 * unregistration's synchronize_rcu() waits for running callers.
	 */
	WRITE_ONCE(lemonade_helper->destroy, NULL);
	nf_conntrack_helper_unregister(lemonade_helper);
	lemonade_helper = NULL;
	lemonade_guard_exit();
}
