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
 * packet. Once its handshake is complete it is linked on its netns's list,
 * referenced, so that the floor and the flows dump reach the listed flows
 * without walking the conntrack hash. Linking happens after confirmation
 * only: conntrack calls the helper's destroy callback for confirmed
 * entries alone, and that callback is where a flow is unlinked.
 *
 * Flows that were already open when the module was loaded (or when their
 * port was listed) cannot take an extension: conntrack extends only
 * unconfirmed entries. One walk of the netns's entries at that moment
 * "adopts" them into a sorted array of referenced entries; while any netns
 * has one, a static key sends extension-less flows to a binary search of
 * it, and the floor's work drops the ones that ended (every second), so
 * the key goes off again once the last adopted flow is gone.
 *
 * The guard's negotiation records come from a kmem_cache, at most
 * guard_buffers_max over all netns and the netns's own budget (its
 * configuration's guard_buffers) each; a record's id in the netns's
 * xarray is all the flow keeps.
 */
#include "flow.h"
#include "compat/compat.h"

#include <linux/bsearch.h>
#include <linux/hash.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

static unsigned int guard_buffers_max = 4096;
static struct lemonade_uint_param guard_buffers_max_p = {
	&guard_buffers_max, 0, 1048576, " negotiations"
};

module_param_cb(guard_buffers_max, &lemonade_uint_range_ops, &guard_buffers_max_p, 0644);
MODULE_PARM_DESC(guard_buffers_max, "Negotiations the guard inspects at once over all netns (0-1048576, default 4096)");

static const struct nf_conntrack_expect_policy lemonade_exp_policy = {
	.max_expected	= 0,
	.timeout	= 1,
	.name		= "lemonade",
};

/* The template, and the helper the core registered from it. */
static struct nf_conntrack_helper lemonade_helper_tmpl;
static struct nf_conntrack_helper *lemonade_helper __read_mostly;

DEFINE_STATIC_KEY_FALSE(lemonade_adopting);

/*
 * The destroy callback may touch per-netns state only between the pernet
 * operations' registration and the start of module exit: the helper can
 * be attached by name (nft "ct helper", ctnetlink) before and after.
 */
static bool lemonade_ready __read_mostly;

static struct kmem_cache *neg_cache __read_mostly;
static atomic_t negs_total = ATOMIC_INIT(0);

static int lemonade_help(struct sk_buff *skb, unsigned int protoff,
			 struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	return NF_ACCEPT;
}

/* lemonade_flow() past the helper bit. RCU held. */
struct lemonade_flow *__lemonade_flow(const struct nf_conn *ct)
{
	const struct nf_conn_help *help;

	help = nfct_help(ct);
	if (!help || rcu_access_pointer(help->helper) != lemonade_helper ||
	    !lemonade_helper)
		return NULL;
	return nfct_help_data(ct);
}

/*
 * The pin of listed flow @f (of @ct) under @cfg, NULL if its port is no
 * longer listed. The port's index is cached in the flow: re-found only
 * after a configuration change moved it. A flow that got the helper by
 * name (nft "ct helper", conntrackd) learns its port here.
 */
const struct lemonade_pin *lemonade_flow_pin(const struct lemonade_cfg *cfg,
					     const struct nf_conn *ct,
					     struct lemonade_flow *f)
{
	const struct lemonade_pin *pin;
	unsigned int i = READ_ONCE(f->pin);
	u16 port = READ_ONCE(f->port);

	if (likely(i < cfg->nports && cfg->ports[i].port == port))
		return &cfg->pins[i];
	if (port) {
		if (!lemonade_cfg_find(cfg, port, &i))
			return NULL;
		WRITE_ONCE(f->pin, i);
		return &cfg->pins[i];
	}
	pin = lemonade_cfg_pin(cfg, ct);
	if (pin) {
		i = pin - cfg->pins;
		WRITE_ONCE(f->pin, i);
		WRITE_ONCE(f->port, cfg->ports[i].port);
	}
	return pin;
}

/*
 * The guard's phase of @ct and the bytes it inspected, for the flows dump
 * and events (never called under the entry's lock, which it takes).
 */
u8 lemonade_flow_guard(struct nf_conn *ct, u32 *inspected)
{
	struct lemonade_flow *f = lemonade_flow(ct);
	const struct lemonade_neg *neg;
	u8 phase;

	*inspected = 0;
	if (!f || !LEMONADE_GUARD_PROTO(READ_ONCE(f->guard)))
		return GUARD_IDLE;
	spin_lock_bh(&ct->lock);
	phase = lemonade_flow_phase(f);
	neg = lemonade_neg_of(lemonade_pernet(nf_ct_net(ct)), f);
	if (neg)
		*inspected = neg->inspected;
	else if (phase != GUARD_ACTIVE && phase != GUARD_IDLE)
		*inspected = f->inspected;
	spin_unlock_bh(&ct->lock);
	return phase;
}

/* The guard's protocol for a port's tag, as lemonade_flow.guard keeps it. */
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
 * A new, unconfirmed flow on listed port @port (protocol tag @proto);
 * false if it stays offloadable. Only a flow that starts with a SYN can
 * have its negotiation followed (the guard needs the handshake).
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
	if (READ_ONCE(ct->proto.tcp.state) == TCP_CONNTRACK_SYN_SENT)
		f->guard = guard_proto(proto) << 4;
	f->port = port;
	return true;
}

/* ---- the netns's list of linked flows ---- */

static struct lemonade_shard *shard_of(struct lemonade_net *ln,
				       const struct nf_conn *ct)
{
	return &ln->shards[hash_ptr(ct, ilog2(LEMONADE_SHARDS))];
}

/*
 * A listed flow completed its handshake: link it (once; a lockless peek,
 * re-checked under the shard's lock). Its reference keeps the entry's
 * memory while it is on the list.
 */
void lemonade_flow_link(struct lemonade_net *ln, struct nf_conn *ct,
			struct lemonade_flow *f)
{
	struct lemonade_shard *s = shard_of(ln, ct);

	if (READ_ONCE(f->flags) & FLOW_LINKED)
		return;
	spin_lock_bh(&s->lock);
	if (!(f->flags & FLOW_LINKED) && nf_ct_is_confirmed(ct) &&
	    !nf_ct_is_dying(ct)) {
		nf_conntrack_get(&ct->ct_general);
		f->ct = ct;
		list_add_tail(&f->node, &s->head);
		WRITE_ONCE(f->flags, f->flags | FLOW_LINKED);
		/* the first listed flow: the periodic passes start */
		if (atomic_inc_return(&ln->nlinked) == 1)
			lemonade_scan_within(ln, HZ);
	}
	spin_unlock_bh(&s->lock);
}

/* Take @f off its list; true if this dropped the link's reference owed. */
static bool unlink_flow(struct lemonade_net *ln, struct nf_conn *ct,
			struct lemonade_flow *f)
{
	struct lemonade_shard *s = shard_of(ln, ct);
	bool linked;

	spin_lock_bh(&s->lock);
	linked = f->flags & FLOW_LINKED;
	if (linked) {
		list_del(&f->node);
		WRITE_ONCE(f->flags, f->flags & ~FLOW_LINKED);
		atomic_dec(&ln->nlinked);
	}
	spin_unlock_bh(&s->lock);
	return linked;
}

/* A grace period after its record's last use: the entry may go too. */
static void neg_free_rcu(struct rcu_head *head)
{
	struct lemonade_neg *neg = container_of(head, struct lemonade_neg, rcu);

	nf_ct_put(neg->ct);
	kmem_cache_free(neg_cache, neg);
}

/* The cap over all netns binds the others: no tenant starves the host. */
static bool counts_to_cap(const struct lemonade_net *ln)
{
	return !net_eq(ln->net, &init_net);
}

/*
 * Give back the record of @f (if it has one) and set its guard @phase.
 * ct->lock held.
 */
void lemonade_neg_end(struct lemonade_net *ln, struct lemonade_flow *f,
		      u8 phase)
{
	struct lemonade_neg *neg = NULL;

	if (lemonade_flow_phase(f) == GUARD_ACTIVE && f->neg)
		neg = xa_erase_bh(&ln->negs, f->neg);
	if (neg) {
		f->inspected = min_t(u32, neg->inspected, U16_MAX);
		atomic_dec(&ln->nnegs);
		if (counts_to_cap(ln))
			atomic_dec(&negs_total);
		call_rcu(&neg->rcu, neg_free_rcu);
	} else if (lemonade_flow_phase(f) == GUARD_ACTIVE) {
		f->inspected = 0;
	}
	lemonade_flow_set_phase(f, phase);
}

/*
 * A record for @f's negotiation (ct->lock held, @ct not dying), or NULL
 * when the netns's budget, the cap over all netns or memory says no. The
 * record holds a reference on @ct until it is freed.
 */
struct lemonade_neg *lemonade_neg_new(struct lemonade_net *ln,
				      const struct lemonade_cfg *cfg,
				      struct nf_conn *ct, struct lemonade_flow *f)
{
	u32 budget = min_t(u32, cfg->guard_buffers, U16_MAX);
	bool capped = counts_to_cap(ln);
	struct lemonade_neg *neg;
	u32 id;

	if (!budget || atomic_read(&ln->nnegs) >= budget)
		return NULL;
	if (capped &&
	    atomic_inc_return(&negs_total) > READ_ONCE(guard_buffers_max))
		goto undo;
	neg = kmem_cache_alloc(neg_cache, GFP_ATOMIC | __GFP_NOWARN);
	if (!neg)
		goto undo;
	/* the recorded bytes need no clearing */
	memset(neg, 0, offsetof(struct lemonade_neg, rec));
	neg->ct = ct;
	neg->born = jiffies;
	neg->progress = neg->born;
	if (xa_alloc_bh(&ln->negs, &id, neg, XA_LIMIT(1, budget), GFP_ATOMIC)) {
		kmem_cache_free(neg_cache, neg);
		goto undo;
	}
	nf_conntrack_get(&ct->ct_general);
	atomic_inc(&ln->nnegs);
	f->neg = id;
	lemonade_flow_set_phase(f, GUARD_ACTIVE);
	/* the guard's work gives stalled records back */
	lemonade_scan_within(ln, HZ);
	return neg;

undo:
	if (capped)
		atomic_dec(&negs_total);
	return NULL;
}

/* The record of @f while GUARD_ACTIVE (ct->lock held), else NULL. */
struct lemonade_neg *lemonade_neg_of(struct lemonade_net *ln,
				     const struct lemonade_flow *f)
{
	if (lemonade_flow_phase(f) != GUARD_ACTIVE || !f->neg)
		return NULL;
	return xa_load(&ln->negs, f->neg);
}

/* Forget @ct: its record and its place on the list. */
static void forget(struct lemonade_net *ln, struct nf_conn *ct,
		   struct lemonade_flow *f)
{
	spin_lock_bh(&ct->lock);
	if (lemonade_flow_phase(f) == GUARD_ACTIVE)
		lemonade_neg_end(ln, f, GUARD_ABANDONED);
	spin_unlock_bh(&ct->lock);
	if (unlink_flow(ln, ct, f))
		nf_ct_put(ct);
}

/* The conntrack entry dies (helper destroy callback, RCU held). */
static void lemonade_flow_destroy(struct nf_conn *ct)
{
	struct lemonade_flow *f = nfct_help_data(ct);

	if (f && READ_ONCE(lemonade_ready))
		forget(lemonade_pernet(nf_ct_net(ct)), ct, f);
}

#define WALK_BATCH	32

bool lemonade_flows_step(struct lemonade_net *ln, struct lemonade_walk *w,
			 unsigned int budget,
			 void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				    void *arg),
			 void *arg)
{
	struct lemonade_flow *batch[WALK_BATCH], *f;
	struct lemonade_shard *s;
	unsigned int i, k;
	bool end;

	for (;;) {
		s = &ln->shards[w->shard];
		spin_lock_bh(&s->lock);
		/* our place in the shard: other walkers and unlinks pass it by */
		if (!w->placed) {
			list_add(&w->cursor.node, &s->head);
			w->placed = true;
		}
		k = 0;
		while (k < min_t(unsigned int, budget, WALK_BATCH) &&
		       w->cursor.node.next != &s->head) {
			f = list_next_entry(&w->cursor, node);
			list_move(&w->cursor.node, &f->node);
			if (f->flags & FLOW_CURSOR)
				continue;
			/* f->ct is stable while linked */
			nf_conntrack_get(&f->ct->ct_general);
			batch[k++] = f;
		}
		end = w->cursor.node.next == &s->head;
		if (end) {
			list_del(&w->cursor.node);
			w->placed = false;
		}
		spin_unlock_bh(&s->lock);
		for (i = 0; i < k; i++) {
			struct nf_conn *ct = batch[i]->ct;

			fn(ct, batch[i], arg);
			nf_ct_put(ct);
		}
		budget -= k;
		if (end && ++w->shard == LEMONADE_SHARDS) {
			w->shard = 0;
			return true;
		}
		if (!budget)
			return false;
		cond_resched();
	}
}

void lemonade_flows_step_end(struct lemonade_net *ln, struct lemonade_walk *w)
{
	struct lemonade_shard *s = &ln->shards[w->shard];

	if (w->placed) {
		spin_lock_bh(&s->lock);
		list_del(&w->cursor.node);
		spin_unlock_bh(&s->lock);
		w->placed = false;
	}
	w->shard = 0;
}

void lemonade_flows_each(struct lemonade_net *ln,
			 void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				    void *arg),
			 void *arg)
{
	struct lemonade_walk w;

	lemonade_walk_init(&w);
	lemonade_flows_step(ln, &w, UINT_MAX, fn, arg);
}

/*
 * Let go of @f if it ended without the destroy callback (its helper was
 * taken away by ctnetlink) or is dying; process context. True if it did.
 */
bool lemonade_flow_sweep_one(struct lemonade_net *ln, struct nf_conn *ct,
			     struct lemonade_flow *f)
{
	if (!nf_ct_is_dying(ct) && lemonade_flow(ct) == f)
		return false;
	forget(ln, ct, f);
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
	    !lemonade_ct_get_not_zero(ct))
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

/* ---- lifecycle ---- */

void lemonade_flow_net_init(struct lemonade_net *ln)
{
	unsigned int i;

	for (i = 0; i < LEMONADE_SHARDS; i++) {
		spin_lock_init(&ln->shards[i].lock);
		INIT_LIST_HEAD(&ln->shards[i].head);
	}
	xa_init_flags(&ln->negs, XA_FLAGS_ALLOC1 | XA_FLAGS_LOCK_BH);
}

static void forget_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	forget(arg, ct, f);
}

/*
 * The netns or the module goes (its hooks are gone): every linked flow is
 * let go, its record freed, and the adopted ones too.
 */
void lemonade_flow_net_exit(struct lemonade_net *ln)
{
	struct lemonade_neg *neg;
	unsigned long id;

	lemonade_flows_each(ln, forget_one, ln);
	lemonade_flow_adopt_prune(ln, true);
	/* records of flows that were never linked (or no longer are) */
	xa_for_each(&ln->negs, id, neg) {
		struct nf_conn *ct = neg->ct;
		struct lemonade_flow *f = nfct_help(ct) ? nfct_help_data(ct) : NULL;

		spin_lock_bh(&ct->lock);
		if (f && f->neg == id && lemonade_neg_of(ln, f) == neg) {
			lemonade_neg_end(ln, f, GUARD_ABANDONED);
		} else if (xa_erase_bh(&ln->negs, id) == neg) {
			atomic_dec(&ln->nnegs);
			if (counts_to_cap(ln))
				atomic_dec(&negs_total);
			call_rcu(&neg->rcu, neg_free_rcu);
		}
		spin_unlock_bh(&ct->lock);
	}
	WARN_ON_ONCE(atomic_read(&ln->nlinked) || atomic_read(&ln->nnegs));
	xa_destroy(&ln->negs);
}

int __init lemonade_flow_init(void)
{
	int err;

	neg_cache = kmem_cache_create("nf_lemonade_neg",
				      sizeof(struct lemonade_neg), 0, 0, NULL);
	if (!neg_cache)
		return -ENOMEM;
	nf_ct_helper_init(&lemonade_helper_tmpl, NFPROTO_UNSPEC, IPPROTO_TCP,
			  "lemonade", 0, 0, 0, &lemonade_exp_policy, 0,
			  lemonade_help, NULL, THIS_MODULE);
	lemonade_helper_tmpl.destroy = lemonade_flow_destroy;
	err = lemonade_helper_register(&lemonade_helper_tmpl, &lemonade_helper);
	if (err)
		kmem_cache_destroy(neg_cache);
	return err;
}

/* The pernet operations are registered: destroy callbacks may act. */
void lemonade_flow_enable(void)
{
	WRITE_ONCE(lemonade_ready, true);
}

/*
 * First step of module exit: no destroy callback acts from now on (a
 * flow that dies meanwhile stays linked, referenced, for
 * lemonade_flow_net_exit()), so the per-netns state can go.
 */
void lemonade_flow_disable(void)
{
	WRITE_ONCE(lemonade_ready, false);
	/* destroy callbacks run under rcu_read_lock() */
	synchronize_rcu();
}

/* After every netns let go of its flows: nothing attaches the helper. */
void lemonade_flow_exit(void)
{
	/*
	 * Since 7.2 the core's copy of the helper outlives the module on
	 * the entries that still carry it: it must not call into the
	 * module. (Before, unregistering detaches the helper from them.)
	 */
	WRITE_ONCE(lemonade_helper->destroy, NULL);
	nf_conntrack_helper_unregister(lemonade_helper);
	lemonade_helper = NULL;
	/* records are freed after a grace period */
	rcu_barrier();
	kmem_cache_destroy(neg_cache);
}
