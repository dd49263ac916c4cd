/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: the per-flow extension (flow.c).
 *
 * Every new flow on a listed port gets the inert conntrack helper
 * "lemonade"; the helper's 32-byte private area holds struct
 * lemonade_flow, and a flow is listed exactly when it carries that helper.
 *
 * Once conntrack sees its handshake complete, a listed flow is linked on
 * its netns's list (a few shards, each with its own lock), holding a
 * reference on the entry: the floor's passes and the flows dump reach the
 * listed flows there, never through the conntrack hash. The helper's
 * destroy callback unlinks it; a flow whose helper was taken away by
 * ctnetlink (no destroy callback then) stays linked, referenced, until the
 * next sweep notices.
 *
 * While the guard inspects a negotiation, the flow names a record (struct
 * lemonade_neg) in its netns's xarray, from a per-netns budget.
 */
#ifndef _LEMONADE_FLOW_H
#define _LEMONADE_FLOW_H

#include "lemonade.h"
#include "parse.h"

#include <linux/jump_label.h>
#include <linux/list.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

/* server bytes recorded per flow: all that the parser reads */
#define LEMONADE_NEG_REC_MAX	LP_BUDGET
#define LEMONADE_NEG_AHEAD	4	/* ranges recorded beyond a gap */

/* The guard phase of a flow is what LEMONADE_FLOW_A_GUARD reports. */
enum {
	GUARD_IDLE	= LEMONADE_GUARD_S_NONE,	/* not inspected (yet) */
	GUARD_ACTIVE	= LEMONADE_GUARD_S_ACTIVE,	/* record attached */
	GUARD_DONE	= LEMONADE_GUARD_S_DONE,	/* TLS, AUTH or budget */
	GUARD_SKIPPED	= LEMONADE_GUARD_S_SKIPPED,	/* no record was free */
	GUARD_RESET	= LEMONADE_GUARD_S_RESET,	/* reset by the guard */
	GUARD_ABANDONED	= LEMONADE_GUARD_S_ABANDONED,	/* stalled, or unfollowable */
};

/* lemonade_flow.flags, changed under the shard's lock */
enum {
	FLOW_LINKED	= BIT(0),	/* on the netns's list, referenced */
	FLOW_CURSOR	= BIT(1),	/* not a flow: a walker's place in a list */
};

/*
 * In the helper extension: at most 32 bytes, zeroed when attached.
 * guard: the guard's protocol (enum lp_proto + 1, 0 = not guarded) in the
 * high nibble, its phase in the low one; changed under ct->lock.
 */
struct lemonade_flow {
	struct list_head node;	/* on the netns's list while FLOW_LINKED */
	struct nf_conn *ct;	/* this entry, referenced while FLOW_LINKED */
	u16 port;		/* the listed (server) port it was marked for */
	u8 pin;			/* index of port in the configuration last seen */
	u8 flags;
	u8 guard;
	u8 unpinned;		/* the floor's last look found no pin (floor.c) */
	union {
		u16 neg;	/* GUARD_ACTIVE: the record's id in the netns */
		u16 inspected;	/* after: bytes the guard parsed (saturated) */
	};
};

static_assert(sizeof(struct lemonade_flow) <=
	      sizeof_field(struct nf_conn_help, data));

#define LEMONADE_GUARD_PHASE(g)	((g) & 0x0f)
#define LEMONADE_GUARD_PROTO(g)	((g) >> 4)

static inline u8 lemonade_flow_phase(const struct lemonade_flow *f)
{
	return LEMONADE_GUARD_PHASE(READ_ONCE(f->guard));
}

/* Under ct->lock. */
static inline void lemonade_flow_set_phase(struct lemonade_flow *f, u8 phase)
{
	WRITE_ONCE(f->guard, (f->guard & 0xf0) | phase);
}

struct lemonade_range {
	u16 off, end;
};

/* lemonade_neg.flags */
enum {
	NEG_PENDING	 = BIT(0),	/* a client extension command in flight */
	NEG_PENDING_AUTH = BIT(1),	/* ... and it is AUTH, not STARTTLS */
	/* the parser stopped early (to be logged once the lock is dropped) */
	NEG_STOP_BUDGET	 = BIT(2),	/* read all it reads of a direction */
	NEG_STOP_GARBAGE = BIT(3),	/* ... or that direction is not mail */
	NEG_STOP_CLIENT	 = BIT(4),	/* ... and it was the client's */
	NEG_STOP_MASK	 = NEG_STOP_BUDGET | NEG_STOP_GARBAGE | NEG_STOP_CLIENT,
};

/*
 * The guard's record of one negotiation in progress. Taken and given back
 * under the owning entry's lock; the periodic reaper finds it through the
 * netns's xarray under RCU.
 */
struct lemonade_neg {
	struct rcu_head rcu;
	struct nf_conn *ct;			/* owner, referenced */
	unsigned long born;			/* jiffies: first server byte */
	unsigned long progress;			/* jiffies: last byte followed */
	u32 isn[IP_CT_DIR_MAX];			/* initial sequence numbers */
	u32 pending_seq;			/* first byte of the pending command */
	unsigned long pending_at;		/* jiffies: it first entered */
	u32 inspected;				/* bytes parsed, both directions */
	u8 flags;
	u8 retrans;
	bool done;				/* parser finished */
	u8 nahead;
	struct lp_state lp[IP_CT_DIR_MAX];	/* [ORIGINAL] client, [REPLY] server */
	u32 rec_len;				/* server bytes recorded in order */
	/* server bytes recorded beyond a gap, sorted, disjoint */
	struct lemonade_range ahead[LEMONADE_NEG_AHEAD];
	/* bit N: server byte N is inside an advertised keyword */
	unsigned long kw[BITS_TO_LONGS(LEMONADE_NEG_REC_MAX)];
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
void lemonade_flow_enable(void);
void lemonade_flow_disable(void);
void lemonade_flow_exit(void);
void lemonade_flow_net_init(struct lemonade_net *ln);
void lemonade_flow_net_exit(struct lemonade_net *ln);

bool lemonade_flow_mark(struct nf_conn *ct, u16 port, u8 proto);
struct lemonade_flow *__lemonade_flow(const struct nf_conn *ct);

/*
 * The state of @ct if it carries our helper, else NULL. RCU held. Every
 * packet asks, in both hooks: a flow with no helper at all is told here,
 * without a call.
 */
static inline struct lemonade_flow *lemonade_flow(const struct nf_conn *ct)
{
	return test_bit(IPS_HELPER_BIT, &ct->status) ? __lemonade_flow(ct) : NULL;
}

const struct lemonade_pin *lemonade_flow_pin(const struct lemonade_cfg *cfg,
					     const struct nf_conn *ct,
					     struct lemonade_flow *f);
void lemonade_flow_link(struct lemonade_net *ln, struct nf_conn *ct,
			struct lemonade_flow *f);
u8 lemonade_flow_guard(struct nf_conn *ct, u32 *inspected);

/*
 * Visit every linked flow of @ln (process context, no lock held during
 * @fn, which gets a reference of its own): each flow linked throughout
 * the walk exactly once; flows linked or unlinked meanwhile maybe.
 */
void lemonade_flows_each(struct lemonade_net *ln,
			 void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				    void *arg),
			 void *arg);

/*
 * The same walk spread over several calls, for work that must stay
 * bounded per run: between calls its cursor stays in the list (a
 * FLOW_CURSOR entry that other walkers and unlinks pass by).
 */
struct lemonade_walk {
	struct lemonade_flow cursor;
	unsigned int shard;	/* the shard it is in, or will start */
	bool placed;		/* the cursor is on shards[shard] */
};

static inline void lemonade_walk_init(struct lemonade_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->cursor.flags = FLOW_CURSOR;
}

/*
 * Go on with walk @w of @ln's linked flows, calling @fn on at most
 * @budget of them. True when the walk has ended (the next call starts a
 * new one); the walk's guarantees are those of lemonade_flows_each().
 * The caller serialises the calls of one walk.
 */
bool lemonade_flows_step(struct lemonade_net *ln, struct lemonade_walk *w,
			 unsigned int budget,
			 void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				    void *arg),
			 void *arg);
/* Abandon walk @w: its cursor leaves the list. */
void lemonade_flows_step_end(struct lemonade_net *ln, struct lemonade_walk *w);
bool lemonade_flow_sweep_one(struct lemonade_net *ln, struct nf_conn *ct,
			     struct lemonade_flow *f);

bool lemonade_flow_adopted(struct lemonade_net *ln, const struct nf_conn *ct);
void lemonade_flow_adopt(struct lemonade_net *ln, const struct lemonade_cfg *cfg);
bool lemonade_flow_adopt_prune(struct lemonade_net *ln, bool all);

struct lemonade_neg *lemonade_neg_new(struct lemonade_net *ln,
				      const struct lemonade_cfg *cfg,
				      struct nf_conn *ct, struct lemonade_flow *f);
struct lemonade_neg *lemonade_neg_of(struct lemonade_net *ln,
				     const struct lemonade_flow *f);
void lemonade_neg_end(struct lemonade_net *ln, struct lemonade_flow *f,
		      u8 phase);

#endif /* _LEMONADE_FLOW_H */
