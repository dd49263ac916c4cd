// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the covered flows (TCP flows on listed ports), for
 * LEMONADE_CMD_GET_FLOWS dumps and for events.
 *
 * A dump takes its flows from one walk of the netns's listed flows when
 * it starts (flow.c; never the conntrack table), into a buffer sized by
 * them that belongs to the dump (charged to the caller's memory cgroup),
 * and hands them out over as many messages as it takes: every flow listed
 * throughout is reported exactly once, and no conntrack entry is held
 * between messages.
 */
#include "flows.h"
#include "flow.h"
#include "compat/compat.h"

#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <net/genetlink.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/sock.h>

/* @pin is lemonade_cfg_pin(@cfg, @ct). */
void lemonade_flow_fill(struct lemonade_flow_info *f,
			const struct lemonade_cfg *cfg,
			struct nf_conn *ct, const struct lemonade_pin *pin)
{
	const struct nf_conntrack_tuple *t = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct lemonade_port *p = &cfg->ports[pin - cfg->pins];
	unsigned long left;

	memset(f, 0, sizeof(*f));
	f->family = nf_ct_l3num(ct) == NFPROTO_IPV6 ? AF_INET6 : AF_INET;
	f->saddr = t->src.u3;
	f->daddr = t->dst.u3;
	f->sport = ntohs(t->src.u.tcp.port);
	f->dport = ntohs(t->dst.u.tcp.port);
	f->port = p->port;
	f->tcp_state = READ_ONCE(ct->proto.tcp.state);
	/* relative until confirmation adds the timestamp */
	left = nf_ct_is_confirmed(ct) ? nf_ct_expires(ct) : READ_ONCE(ct->timeout);
	f->remaining = left / HZ;
	f->timeout = p->own_timeout ? p->timeout : cfg->timeout;
	f->marked = !!lemonade_flow(ct);
	f->id = nf_ct_get_id(ct);
	f->guard = lemonade_flow_guard(ct, &f->inspected);
}

int lemonade_put_flow(struct sk_buff *msg, const struct lemonade_flow_info *f)
{
	int alen = f->family == AF_INET6 ? sizeof(struct in6_addr) :
					   sizeof(struct in_addr);
	struct nlattr *nest = nla_nest_start(msg, LEMONADE_A_FLOW);

	if (!nest ||
	    nla_put_u8(msg, LEMONADE_FLOW_A_FAMILY, f->family) ||
	    nla_put(msg, LEMONADE_FLOW_A_SADDR, alen, &f->saddr) ||
	    nla_put(msg, LEMONADE_FLOW_A_DADDR, alen, &f->daddr) ||
	    nla_put_u16(msg, LEMONADE_FLOW_A_SPORT, f->sport) ||
	    nla_put_u16(msg, LEMONADE_FLOW_A_DPORT, f->dport) ||
	    nla_put_u16(msg, LEMONADE_FLOW_A_PORT, f->port) ||
	    nla_put_u8(msg, LEMONADE_FLOW_A_TCP_STATE, f->tcp_state) ||
	    nla_put_u32(msg, LEMONADE_FLOW_A_REMAINING, f->remaining) ||
	    nla_put_u32(msg, LEMONADE_FLOW_A_TIMEOUT, f->timeout) ||
	    nla_put_u8(msg, LEMONADE_FLOW_A_MARKED, f->marked) ||
	    nla_put_u32(msg, LEMONADE_FLOW_A_ID, f->id) ||
	    nla_put_u8(msg, LEMONADE_FLOW_A_GUARD, f->guard) ||
	    nla_put_u32(msg, LEMONADE_FLOW_A_GUARD_INSPECTED, f->inspected))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

struct flow_walk {
	const struct lemonade_cfg *cfg;
	u16 filter;		/* listed port, 0 = all */
	struct lemonade_flow_list *d;
	unsigned int cap;
	bool overflow;
};

static void collect_flow(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	struct flow_walk *w = arg;
	const struct lemonade_pin *pin;

	if (nf_ct_is_dying(ct))
		return;
	pin = f ? lemonade_flow_pin(w->cfg, ct, f) : lemonade_cfg_pin(w->cfg, ct);
	if (!pin ||
	    (w->filter && w->cfg->ports[pin - w->cfg->pins].port != w->filter))
		return;
	if (w->d->n == w->cap) {
		w->overflow = true;
		return;
	}
	lemonade_flow_fill(&w->d->flows[w->d->n++], w->cfg, ct, pin);
}

static void collect_adopted(struct lemonade_net *ln, struct flow_walk *w)
{
	const struct lemonade_adopted *a;
	unsigned int i;

	/* under the config lock the set cannot change; filling never sleeps */
	mutex_lock(&ln->lock);
	a = rcu_dereference_protected(ln->adopted, lockdep_is_held(&ln->lock));
	for (i = 0; a && i < a->n; i++)
		collect_flow(a->ct[i], NULL, w);
	mutex_unlock(&ln->lock);
}

/*
 * The covered flows of @net (on listed port @port, 0 = all): the listed
 * flows past their handshake (the netns's list, never the conntrack
 * table) and the adopted ones; NULL and *@err on failure.
 */
struct lemonade_flow_list *lemonade_flows_collect(struct net *net, u16 port,
						  struct netlink_ext_ack *extack,
						  int *err)
{
	struct lemonade_net *ln = lemonade_pernet(net);
	struct flow_walk w = { .filter = port };
	const struct lemonade_adopted *a;
	struct lemonade_cfg *cfg;
	unsigned int tries;

	*err = 0;
	mutex_lock(&ln->lock);
	cfg = kmemdup(rcu_dereference_protected(ln->cfg,
						lockdep_is_held(&ln->lock)),
		      sizeof(*cfg), GFP_KERNEL);
	a = rcu_dereference_protected(ln->adopted, lockdep_is_held(&ln->lock));
	w.cap = atomic_read(&ln->nlinked) + (a ? a->n : 0) + 64;
	mutex_unlock(&ln->lock);
	if (!cfg) {
		NL_SET_ERR_MSG(extack, "not enough memory to list the flows");
		*err = -ENOMEM;
		return NULL;
	}
	w.cfg = cfg;
	/* flows linked during the walk may overflow: retry larger */
	for (tries = 0; ; tries++) {
		/* as large as the list: a failure is the caller's error */
		w.d = kvzalloc(struct_size(w.d, flows, w.cap),
			       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!w.d) {
			NL_SET_ERR_MSG(extack, "not enough memory to list the flows");
			*err = -ENOMEM;
			break;
		}
		w.overflow = false;
		if (cfg->nports && cfg->enabled) {
			lemonade_flows_each(ln, collect_flow, &w);
			collect_adopted(ln, &w);
		}
		if (!w.overflow)
			break;
		kvfree(w.d);
		w.d = NULL;
		if (tries == 2) {
			NL_SET_ERR_MSG(extack,
				       "listed flows grew too fast to list them; try again");
			*err = -EAGAIN;
			break;
		}
		w.cap *= 2;
	}
	kfree(cfg);
	return w.d;
}
