/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the covered flows as netlink reports them (flows.c). */
#ifndef _LEMONADE_FLOWS_H
#define _LEMONADE_FLOWS_H

#include "lemonade.h"

#include <net/netfilter/nf_conntrack_tuple.h>

struct netlink_ext_ack;
struct nf_conn;
struct sk_buff;

/* One covered flow, as LEMONADE_A_FLOW reports it. */
struct lemonade_flow_info {
	union nf_inet_addr saddr, daddr;
	u16 sport, dport;	/* original direction */
	u16 port;		/* the listed port it matched */
	u8 family;		/* AF_INET, AF_INET6 */
	u8 tcp_state;
	bool marked;
	u8 guard;		/* enum lemonade_guard_status */
	u32 inspected;		/* guard: negotiation bytes parsed */
	u32 remaining;		/* seconds until it expires if idle */
	u32 timeout;		/* floor in seconds, 0 = unlimited */
	u32 id;
};

/* A snapshot of the covered flows of a netns, for one dump. */
struct lemonade_flow_list {
	unsigned int n;
	struct lemonade_flow_info flows[];
};

void lemonade_flow_fill(struct lemonade_flow_info *f,
			const struct lemonade_cfg *cfg,
			struct nf_conn *ct, const struct lemonade_pin *pin);
int lemonade_put_flow(struct sk_buff *msg, const struct lemonade_flow_info *f);
struct lemonade_flow_list *lemonade_flows_collect(struct net *net, u16 port,
						  struct netlink_ext_ack *extack,
						  int *err);

#endif /* _LEMONADE_FLOWS_H */
