/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the negotiation integrity guard (guard.c). */
#ifndef _LEMONADE_GUARD_H
#define _LEMONADE_GUARD_H

#include "lemonade.h"
#include "flow.h"

struct nf_conn;
struct nf_hook_state;
struct sk_buff;

/* Is the guard still (or not yet) inspecting listed flow @f? Lockless peek. */
static inline bool lemonade_guard_active(const struct lemonade_flow *f)
{
	u8 g = READ_ONCE(f->guard);

	return LEMONADE_GUARD_PROTO(g) && LEMONADE_GUARD_PHASE(g) <= GUARD_ACTIVE;
}

void lemonade_guard_new(struct lemonade_net *ln, struct sk_buff *skb,
			struct lemonade_flow *f, u8 pf);
unsigned int lemonade_guard_ingress(struct lemonade_net *ln,
				    const struct lemonade_cfg *cfg,
				    struct sk_buff *skb, struct nf_conn *ct,
				    struct lemonade_flow *f,
				    enum ip_conntrack_info ctinfo,
				    const struct nf_hook_state *state);
unsigned int lemonade_guard_egress(struct lemonade_net *ln,
				   const struct lemonade_cfg *cfg,
				   struct sk_buff *skb, struct nf_conn *ct,
				   struct lemonade_flow *f,
				   enum ip_conntrack_info ctinfo,
				   const struct nf_hook_state *state);

unsigned long lemonade_guard_work(struct lemonade_net *ln);

#endif /* _LEMONADE_GUARD_H */
