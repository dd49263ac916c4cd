// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the per-flow extension.
 *
 * Every new flow on a listed port gets the (otherwise inert) conntrack
 * helper "lemonade". Its private area holds the flow's state (flow.h), it
 * is freed with the entry, and it keeps the flow out of nf_flow_table: an
 * offloaded flow's packets bypass every netfilter hook, and when the
 * flowtable lets go of an idle flow it resets ct->timeout from conntrack's
 * global table, so the floor would be lost without anyone noticing. Flows
 * that existed before the module was loaded cannot take an extension;
 * they are pinned whenever their packets reach the slow path (see
 * Documentation/admin-guide.rst, "Flow offload").
 *
 * The guard's negotiation records come from a pool of guard_buffers
 * entries over all netns; the helper's destroy callback gives a flow's
 * record back when the entry dies mid-negotiation.
 */
#include "flow.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

static unsigned int guard_buffers = 1024;
module_param(guard_buffers, uint, 0444);
MODULE_PARM_DESC(guard_buffers, "Negotiations the guard inspects at once, over all netns (default 1024)");

static const struct nf_conntrack_expect_policy lemonade_exp_policy = {
	.max_expected	= 0,
	.timeout	= 1,
	.name		= "lemonade",
};

/* The template, and the helper the core registered from it. */
static struct nf_conntrack_helper lemonade_helper_tmpl;
static struct nf_conntrack_helper *lemonade_helper __read_mostly;

static LIST_HEAD(neg_list);
static DEFINE_SPINLOCK(neg_lock);
static unsigned int neg_count;

static int lemonade_help(struct sk_buff *skb, unsigned int protoff,
			 struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	return NF_ACCEPT;
}

/* The state of @ct if it carries our helper, else NULL. RCU held. */
struct lemonade_flow *lemonade_flow(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);

	if (!help || !lemonade_helper ||
	    rcu_access_pointer(help->helper) != lemonade_helper)
		return NULL;
	return nfct_help_data(ct);
}

struct lemonade_neg *lemonade_neg_get(void)
{
	struct lemonade_neg *neg = NULL;

	spin_lock_bh(&neg_lock);
	if (neg_count < READ_ONCE(guard_buffers)) {
		neg = kzalloc(sizeof(*neg), GFP_ATOMIC);
		if (neg) {
			list_add(&neg->list, &neg_list);
			neg_count++;
		}
	}
	spin_unlock_bh(&neg_lock);
	return neg;
}

void lemonade_neg_put(struct lemonade_neg *neg)
{
	if (!neg)
		return;
	spin_lock_bh(&neg_lock);
	list_del(&neg->list);
	neg_count--;
	spin_unlock_bh(&neg_lock);
	kfree(neg);
}

/* The conntrack entry dies: its record goes back to the pool. */
static void lemonade_flow_destroy(struct nf_conn *ct)
{
	struct lemonade_flow *f = nfct_help_data(ct);

	if (f && f->neg) {
		lemonade_neg_put(f->neg);
		f->neg = NULL;
	}
}

/* For the flows dump and events; read without the entry's lock. */
u8 lemonade_flow_guard(const struct nf_conn *ct, u32 *inspected)
{
	const struct lemonade_flow *f = lemonade_flow(ct);

	if (!f || !f->proto) {
		*inspected = 0;
		return GUARD_IDLE;
	}
	*inspected = READ_ONCE(f->inspected);
	return READ_ONCE(f->phase);
}

/* The guard's protocol for a port's tag, as lemonade_flow.proto keeps it. */
static u8 guard_proto(u8 tag)
{
	switch (tag) {
	case LEMONADE_PROTO_SMTP:
		return LP_SMTP + 1;
	case LEMONADE_PROTO_IMAP:
		return LP_IMAP + 1;
	case LEMONADE_PROTO_ACAP:
		return LP_ACAP + 1;
	}
	return 0;
}

/*
 * A new, unconfirmed flow on a listed port (protocol tag @proto); false if
 * it stays offloadable.
 */
bool lemonade_flow_mark(struct nf_conn *ct, u8 proto)
{
	struct nf_conn_help *help;
	struct lemonade_flow *f;

	if (nf_ct_is_confirmed(ct) || nfct_help(ct))
		return false;
	help = nf_ct_helper_ext_add(ct, GFP_ATOMIC);
	if (!help || !lemonade_helper_get(lemonade_helper))
		return false;
	rcu_assign_pointer(help->helper, lemonade_helper);
	set_bit(IPS_HELPER_BIT, &ct->status);
	f = nfct_help_data(ct);
	f->proto = guard_proto(proto);
	return true;
}

int __init lemonade_flow_init(void)
{
	nf_ct_helper_init(&lemonade_helper_tmpl, NFPROTO_UNSPEC, IPPROTO_TCP,
			  "lemonade", 0, 0, 0, &lemonade_exp_policy, 0,
			  lemonade_help, NULL, THIS_MODULE);
	lemonade_helper_tmpl.destroy = lemonade_flow_destroy;
	return lemonade_helper_register(&lemonade_helper_tmpl, &lemonade_helper);
}

/* After the hooks are gone: nothing attaches the helper any more. */
void lemonade_flow_exit(void)
{
	struct lemonade_neg *neg, *tmp;

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

	spin_lock_bh(&neg_lock);
	list_for_each_entry_safe(neg, tmp, &neg_list, list) {
		list_del(&neg->list);
		kfree(neg);
	}
	neg_count = 0;
	spin_unlock_bh(&neg_lock);
}
