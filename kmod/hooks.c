// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the data path. The netfilter hooks, one function per role:
 *
 *   in   right after conntrack, on the way in (PRE_ROUTING) and for
 *        locally generated packets (LOCAL_OUT): ICMP errors go to the
 *        shield, the guard records what enters, the floor re-pins;
 *   out  last before conntrack's confirm (POST_ROUTING, LOCAL_IN): a new
 *        flow on a listed port gets its per-flow state (after NAT, so
 *        that the port the server sees is the one a DNAT flow is listed
 *        by), the guard compares what leaves.
 *
 * Nothing else registers hooks, and no feature calls another.
 */
#include "lemonade.h"
#include "flow.h"
#include "floor.h"
#include "guard.h"
#include "hooks.h"
#include "shield.h"

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/netfilter/nf_conntrack.h>

static bool related(enum ip_conntrack_info ctinfo)
{
	return ctinfo == IP_CT_RELATED || ctinfo == IP_CT_RELATED_REPLY;
}

/*
 * A new flow (out: its first packet, NAT done, not yet confirmed): past
 * the table's high-water mark the floor starts a pass; on a listed port
 * it gets its per-flow state.
 */
static void out_new(struct sk_buff *skb, struct nf_conn *ct,
		    const struct nf_hook_state *state)
{
	struct lemonade_net *ln = lemonade_pernet(state->net);
	const struct lemonade_cfg *cfg = rcu_dereference(ln->cfg);
	const struct lemonade_pin *pin;
	unsigned int idx;

	if (unlikely(!cfg || !cfg->enabled))
		return;
	lemonade_floor_new_flow(ln, cfg);
	if (nf_ct_protonum(ct) != IPPROTO_TCP)
		return;
	pin = lemonade_cfg_pin(cfg, ct);
	if (!pin)
		return;
	idx = pin - cfg->pins;
	if (!lemonade_flow_mark(ct, cfg->ports[idx].port, cfg->ports[idx].proto))
		return;
	lemonade_count(ln, LEMONADE_STAT_A_MARKED, 1);
	lemonade_guard_new(ln, skb, lemonade_flow(ct), state->pf);
}

/*
 * A flow without our extension (in): an ICMP error about a flow that is
 * listed by port only, or an adopted flow (open before it was listed).
 */
static noinline unsigned int in_unlisted(struct lemonade_net *ln,
					 const struct lemonade_cfg *cfg,
					 struct sk_buff *skb, struct nf_conn *ct,
					 enum ip_conntrack_info ctinfo,
					 const struct nf_hook_state *state)
{
	const struct lemonade_pin *pin;

	if (nf_ct_protonum(ct) != IPPROTO_TCP)
		return NF_ACCEPT;
	if (related(ctinfo)) {
		pin = lemonade_cfg_pin(cfg, ct);
		return pin ? lemonade_shield(ln, cfg, skb, ct, ctinfo, state) :
			     NF_ACCEPT;
	}
	if (lemonade_flow_adopted(ln, ct)) {
		pin = lemonade_cfg_pin(cfg, ct);
		if (pin)
			lemonade_floor(ln, ct, NULL, pin);
	}
	return NF_ACCEPT;
}

static unsigned int lemonade_in(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	enum ip_conntrack_info ctinfo;
	const struct lemonade_cfg *cfg;
	const struct lemonade_pin *pin;
	struct lemonade_net *ln;
	struct lemonade_flow *f;
	struct nf_conn *ct;
	unsigned int verdict;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct)
		return NF_ACCEPT;
	f = lemonade_flow(ct);
	/* an unlisted established flow stops here */
	if (likely(!f) && (ctinfo == IP_CT_ESTABLISHED ||
			   ctinfo == IP_CT_ESTABLISHED_REPLY) &&
	    !static_branch_unlikely(&lemonade_adopting))
		return NF_ACCEPT;
	ln = lemonade_pernet(state->net);
	cfg = rcu_dereference(ln->cfg);
	if (unlikely(!cfg || !cfg->enabled))
		return NF_ACCEPT;
	if (!f) {
		/* a new flow is looked at on its way out, after NAT */
		if (ctinfo == IP_CT_NEW && !nf_ct_is_confirmed(ct))
			return NF_ACCEPT;
		return in_unlisted(ln, cfg, skb, ct, ctinfo, state);
	}
	pin = lemonade_flow_pin(cfg, ct, f);
	if (!pin)
		return NF_ACCEPT;
	/* ICMP errors are RELATED to the flow they quote: never a refresh */
	if (unlikely(related(ctinfo)))
		return lemonade_shield(ln, cfg, skb, ct, ctinfo, state);
	/* the handshake is complete: the floor's passes will find the flow */
	if (unlikely(!(READ_ONCE(f->flags) & FLOW_LINKED)) &&
	    READ_ONCE(ct->proto.tcp.state) == TCP_CONNTRACK_ESTABLISHED)
		lemonade_flow_link(ln, ct, f);
	if (unlikely(lemonade_guard_active(f))) {
		verdict = lemonade_guard_ingress(ln, cfg, skb, ct, f, ctinfo,
						 state);
		if (verdict != NF_ACCEPT)
			return verdict;
	}
	lemonade_floor(ln, ct, f, pin);
	return NF_ACCEPT;
}

static unsigned int lemonade_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	enum ip_conntrack_info ctinfo;
	const struct lemonade_cfg *cfg;
	struct lemonade_net *ln;
	struct lemonade_flow *f;
	struct nf_conn *ct;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || related(ctinfo))
		return NF_ACCEPT;
	f = lemonade_flow(ct);
	if (likely(!f)) {
		if (ctinfo == IP_CT_NEW && !nf_ct_is_confirmed(ct))
			out_new(skb, ct, state);
		return NF_ACCEPT;
	}
	if (likely(!lemonade_guard_active(f)))
		return NF_ACCEPT;
	ln = lemonade_pernet(state->net);
	cfg = rcu_dereference(ln->cfg);
	if (unlikely(!cfg || !cfg->enabled) || !lemonade_flow_pin(cfg, ct, f))
		return NF_ACCEPT;
	return lemonade_guard_egress(ln, cfg, skb, ct, f, ctinfo, state);
}

#ifdef LEMONADE_BENCH
const struct lemonade_bench_hooks lemonade_bench_hooks = {
	.in	= lemonade_in,
	.out	= lemonade_out,
};
#endif

/*
 * "in" right after conntrack; "out" last before conntrack's confirm (an
 * equal priority would run before confirm anyway, but INT_MAX - 1 says
 * so). IPv6 confirms at LAST - 1 on LOCAL_IN, hence LAST - 2 there.
 */
static const struct nf_hook_ops lemonade_ops[] = {
	{
		.hook		= lemonade_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK + 1,
	},
	{
		.hook		= lemonade_in,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_CONNTRACK + 1,
	},
	{
		.hook		= lemonade_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK_CONFIRM - 1,
	},
	{
		.hook		= lemonade_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP_PRI_CONNTRACK_CONFIRM - 1,
	},
	{
		.hook		= lemonade_in,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_CONNTRACK + 1,
	},
	{
		.hook		= lemonade_in,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_CONNTRACK + 1,
	},
	{
		.hook		= lemonade_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP6_PRI_LAST - 1,
	},
	{
		.hook		= lemonade_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_IN,
		.priority	= NF_IP6_PRI_LAST - 2,
	},
};

/*
 * The module does not turn conntrack on: it acts where the netns's own
 * ruleset already uses it (elsewhere nf_ct_get() finds nothing).
 */
int lemonade_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, lemonade_ops, ARRAY_SIZE(lemonade_ops));
}

void lemonade_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, lemonade_ops, ARRAY_SIZE(lemonade_ops));
}
