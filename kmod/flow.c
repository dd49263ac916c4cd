// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the per-flow extension.
 *
 * Every new flow on a listed port gets the (otherwise inert) conntrack
 * helper "lemonade". Its private area holds the flow's state (flow.h), it
 * is freed with the entry, and it keeps the flow out of nf_flow_table: an
 * offloaded flow's packets bypass every netfilter hook, and when the
 * flowtable lets go of an idle flow it resets ct->timeout from conntrack's
 * global table, so the floor would be lost without anyone noticing.
 *
 * A flow is listed when it carries the helper: one pointer compare per
 * packet. Flows that were already open when the module was loaded (or
 * when their port was listed) cannot take an extension: conntrack extends
 * only unconfirmed entries. One walk of the netns's entries at that moment
 * "adopts" them into a sorted array of referenced entries; while any netns
 * has one, a static key sends extension-less flows to a binary search of
 * it, and the floor's work drops the ones that ended (every second), so
 * the key goes off again once the last adopted flow is gone.
 *
 * The guard's negotiation records come from a pool of guard_buffers
 * entries over all netns; the helper's destroy callback gives a flow's
 * record back when the entry dies mid-negotiation.
 */
#include "flow.h"
#include "compat/compat.h"

#include <linux/bsearch.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
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

DEFINE_STATIC_KEY_FALSE(lemonade_adopting);

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

/*
 * The pin of listed flow @f under @cfg, NULL if its port is no longer
 * listed. The port's index is cached in the flow: re-found only after a
 * configuration change moved it.
 */
const struct lemonade_pin *lemonade_flow_pin(const struct lemonade_cfg *cfg,
					     struct lemonade_flow *f)
{
	unsigned int i = READ_ONCE(f->pin);

	if (likely(i < cfg->nports && cfg->ports[i].port == f->port))
		return &cfg->pins[i];
	if (!lemonade_cfg_find(cfg, f->port, &i))
		return NULL;
	WRITE_ONCE(f->pin, i);
	return &cfg->pins[i];
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
bool lemonade_flow_mark(struct nf_conn *ct, u16 port, u8 proto)
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
	f->port = port;
	return true;
}

/* ---- adopted flows ---- */

static int cmp_ptr(const void *a, const void *b)
{
	unsigned long pa = (unsigned long)*(struct nf_conn * const *)a;
	unsigned long pb = (unsigned long)*(struct nf_conn * const *)b;

	return pa < pb ? -1 : pa > pb;
}

/* Is @ct one of @ln's adopted flows? RCU held; @ct is only compared. */
bool lemonade_flow_adopted(struct lemonade_net *ln, const struct nf_conn *ct)
{
	const struct lemonade_adopted *a = rcu_dereference(ln->adopted);

	return a && bsearch(&ct, a->ct, a->n, sizeof(a->ct[0]), cmp_ptr);
}

/*
 * Publish @a (may be NULL) as @ln's set and return the old one, which
 * readers may still search until a grace period has passed. ln->lock held.
 */
static struct lemonade_adopted *adopted_replace(struct lemonade_net *ln,
						struct lemonade_adopted *a)
{
	struct lemonade_adopted *old;

	old = rcu_replace_pointer(ln->adopted, a, lockdep_is_held(&ln->lock));
	if (a && !old)
		static_branch_inc(&lemonade_adopting);
	if (!a && old)
		static_branch_dec(&lemonade_adopting);
	return old;
}

/* Drop the references of @old that @kept (sorted, a subset) does not hold. */
static void adopted_free(struct lemonade_adopted *old,
			 const struct lemonade_adopted *kept)
{
	unsigned int i, j = 0;

	if (!old)
		return;
	/* no reader compares against a freed entry's reused address */
	synchronize_rcu();
	for (i = 0; i < old->n; i++) {
		if (kept && j < kept->n && kept->ct[j] == old->ct[i])
			j++;
		else
			nf_ct_put(old->ct[i]);
	}
	kvfree(old);
}

struct adopt_walk {
	struct net *net;
	const struct lemonade_cfg *cfg;
	struct lemonade_adopted *a;
	unsigned int cap;
};

/* Under a conntrack bucket lock: no sleeping. */
static int adopt_one(struct nf_conn *ct, void *data)
{
	struct adopt_walk *w = data;

	if (w->a->n == w->cap || !net_eq(nf_ct_net(ct), w->net) ||
	    nf_ct_protonum(ct) != IPPROTO_TCP || nf_ct_is_dying(ct) ||
	    lemonade_flow(ct) || !lemonade_cfg_pin(w->cfg, ct) ||
	    !refcount_inc_not_zero(&ct->ct_general.use))
		return 0;
	w->a->ct[w->a->n++] = ct;
	return 0;
}

/*
 * Adopt every flow of @ln on a port @cfg lists that has no extension (one
 * walk of the conntrack table; process context, ln->lock held). Flows
 * beyond the table's size at the start of the walk are not adopted.
 */
void lemonade_flow_adopt(struct lemonade_net *ln, const struct lemonade_cfg *cfg)
{
	struct adopt_walk w = { .net = ln->net, .cfg = cfg };

	lockdep_assert_held(&ln->lock);
	w.cap = lemonade_ct_count(ln->net);
	if (!w.cap || !cfg->enabled || !cfg->nports) {
		adopted_free(adopted_replace(ln, NULL), NULL);
		return;
	}
	/* without memory the open flows keep conntrack's own timeouts */
	w.a = kvmalloc(struct_size(w.a, ct, w.cap), GFP_KERNEL);
	if (!w.a)
		return;
	w.a->n = 0;
	lemonade_ct_iterate(ln->net, adopt_one, &w);
	if (!w.a->n) {
		kvfree(w.a);
		w.a = NULL;
	} else {
		sort(w.a->ct, w.a->n, sizeof(w.a->ct[0]), cmp_ptr, NULL);
	}
	/* the new set took its own references */
	adopted_free(adopted_replace(ln, w.a), NULL);
}

/*
 * Drop the adopted flows that ended (all of them if @all); true while
 * some remain. Process context, takes ln->lock.
 */
bool lemonade_flow_adopt_prune(struct lemonade_net *ln, bool all)
{
	struct lemonade_adopted *a, *b = NULL;
	unsigned int i, n = 0;
	bool left;

	mutex_lock(&ln->lock);
	a = rcu_dereference_protected(ln->adopted, lockdep_is_held(&ln->lock));
	if (!a)
		goto out;
	for (i = 0; !all && i < a->n; i++)
		if (!nf_ct_is_dying(a->ct[i]))
			n++;
	if (n == a->n)
		goto out;
	if (n) {
		b = kvmalloc(struct_size(b, ct, n), GFP_KERNEL);
		if (!b)
			goto out;	/* try again at the next pass */
		b->n = 0;
		/* still sorted; the references move to b */
		for (i = 0; i < a->n && b->n < n; i++)
			if (!nf_ct_is_dying(a->ct[i]))
				b->ct[b->n++] = a->ct[i];
	}
	adopted_free(adopted_replace(ln, b), b);
out:
	left = rcu_access_pointer(ln->adopted);
	mutex_unlock(&ln->lock);
	return left;
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
