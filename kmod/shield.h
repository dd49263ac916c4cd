/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the ICMP soft-error shield (shield.c). */
#ifndef _LEMONADE_SHIELD_H
#define _LEMONADE_SHIELD_H

#include "lemonade.h"

struct nf_conn;
struct nf_hook_state;
struct sk_buff;

unsigned int lemonade_shield(struct lemonade_net *ln,
			     const struct lemonade_cfg *cfg, struct sk_buff *skb,
			     struct nf_conn *ct, int ctinfo,
			     const struct nf_hook_state *state);

#endif /* _LEMONADE_SHIELD_H */
