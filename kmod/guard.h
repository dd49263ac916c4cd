/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the negotiation integrity guard (guard.c). */
#ifndef _LEMONADE_GUARD_H
#define _LEMONADE_GUARD_H

#include "lemonade.h"

struct nf_conn;
struct nf_hook_state;
struct sk_buff;

unsigned int lemonade_guard_ingress(struct lemonade_net *ln,
				    const struct lemonade_cfg *cfg,
				    struct sk_buff *skb, struct nf_conn *ct,
				    enum ip_conntrack_info ctinfo,
				    const struct nf_hook_state *state);
unsigned int lemonade_guard_egress(struct lemonade_net *ln,
				   const struct lemonade_cfg *cfg,
				   struct sk_buff *skb, struct nf_conn *ct,
				   enum ip_conntrack_info ctinfo,
				   const struct nf_hook_state *state);

#endif /* _LEMONADE_GUARD_H */
