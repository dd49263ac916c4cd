/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: the per-flow extension (flow.c).
 *
 * Every new flow on a listed port gets the inert conntrack helper
 * "lemonade"; the helper's 32-byte private area holds struct
 * lemonade_flow, and a flow is listed exactly when it carries that helper.
 * The guard's transient negotiation record (struct lemonade_neg) hangs off
 * it while a negotiation is inspected.
 */
#ifndef _LEMONADE_FLOW_H
#define _LEMONADE_FLOW_H

#include "lemonade.h"
#include "parse.h"

#include <linux/jump_label.h>
#include <linux/list.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

#define LEMONADE_NEG_REC_MAX	4096	/* server bytes recorded per flow */
#define LEMONADE_NEG_SPANS	64	/* advertised keywords remembered per flow */

/* The guard phase of a flow is what LEMONADE_FLOW_A_GUARD reports. */
enum {
	GUARD_IDLE	= LEMONADE_GUARD_S_NONE,	/* not inspected (yet) */
	GUARD_ACTIVE	= LEMONADE_GUARD_S_ACTIVE,	/* buffer attached */
	GUARD_DONE	= LEMONADE_GUARD_S_DONE,	/* TLS, AUTH or budget */
	GUARD_SKIPPED	= LEMONADE_GUARD_S_SKIPPED,	/* no buffer was free */
	GUARD_RESET	= LEMONADE_GUARD_S_RESET,	/* reset by the guard */
};

/* lemonade_flow.flags */
enum {
	FLOW_ISN_C	= BIT(0),
	FLOW_ISN_S	= BIT(1),
	FLOW_PENDING	= BIT(2),	/* a client extension command in flight */
	FLOW_PENDING_AUTH = BIT(3),	/* ... and it is AUTH, not STARTTLS */
};

struct lemonade_neg;

/* In the helper extension: at most 32 bytes, zeroed when attached. */
struct lemonade_flow {
	u8 proto;		/* enum lp_proto + 1; 0 = not guarded */
	u8 phase;
	u8 flags;
	u8 retrans;
	u32 isn[IP_CT_DIR_MAX];	/* initial sequence numbers */
	u32 pending_seq;	/* first byte of the pending command */
	u32 inspected;		/* bytes inspected, both directions */
	u16 port;		/* the listed (server) port it was marked for */
	u8 pin;			/* index of port in the configuration last seen */
	struct lemonade_neg *neg;
};

static_assert(sizeof(struct lemonade_flow) <=
	      sizeof_field(struct nf_conn_help, data));

struct lemonade_span {
	u16 off, len;
};

/* The guard's record of a negotiation in progress. */
struct lemonade_neg {
	struct list_head list;
	struct lp_state lp[IP_CT_DIR_MAX];	/* [ORIGINAL] client, [REPLY] server */
	u32 rec_len;				/* server bytes recorded */
	unsigned int nspans;
	struct lemonade_span spans[LEMONADE_NEG_SPANS];
	bool done;				/* parser finished */
	u8 rec[LEMONADE_NEG_REC_MAX];
};

/* A set of listed flows without an extension (created before they were listed). */
struct lemonade_adopted {
	struct rcu_head rcu;
	unsigned int n;
	struct nf_conn *ct[];	/* sorted, each referenced */
};

DECLARE_STATIC_KEY_FALSE(lemonade_adopting);

int lemonade_flow_init(void);
void lemonade_flow_exit(void);
bool lemonade_flow_mark(struct nf_conn *ct, u16 port, u8 proto);
struct lemonade_flow *lemonade_flow(const struct nf_conn *ct);
const struct lemonade_pin *lemonade_flow_pin(const struct lemonade_cfg *cfg,
					     struct lemonade_flow *f);
bool lemonade_flow_adopted(struct lemonade_net *ln, const struct nf_conn *ct);
void lemonade_flow_adopt(struct lemonade_net *ln, const struct lemonade_cfg *cfg);
bool lemonade_flow_adopt_prune(struct lemonade_net *ln, bool all);
u8 lemonade_flow_guard(const struct nf_conn *ct, u32 *inspected);
struct lemonade_neg *lemonade_neg_get(void);
void lemonade_neg_put(struct lemonade_neg *neg);

#endif /* _LEMONADE_FLOW_H */
