/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: the core every file shares: per-netns state, the
 * configuration (config.c) and the per-CPU counters.
 *
 * Who calls whom (Documentation/design.rst draws it):
 *   main -> hooks -> floor, shield, guard -> flow -> config, parse
 *   netlink -> flows (dump), events -> flow, config
 * No file calls into one above it; selftests/callgraph.sh checks this.
 */
#ifndef _LEMONADE_H
#define _LEMONADE_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/types.h>
#include <linux/atomic.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/netns/generic.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/lemonade.h>

#define LEMONADE_NSTATS (__LEMONADE_STAT_A_MAX - LEMONADE_STAT_A_FIRST)
#define LEMONADE_STAT(a) ((a) - LEMONADE_STAT_A_FIRST)

/*
 * A pin is written as floor + LEMONADE_PIN_GRACE seconds so that the
 * whole-second figure conntrack reports right after a packet never reads
 * below the floor; the re-pin threshold is the floor itself.
 */
#define LEMONADE_PIN_GRACE	5
/* Largest relative timeout the kernel can hold (signed 32-bit jiffies). */
#define LEMONADE_PIN_MAX	((u32)INT_MAX)
/* Unlimited flows are re-armed once they are half-way to expiry. */
#define LEMONADE_REARM_BELOW	(LEMONADE_PIN_MAX / 2)

struct lemonade_port {
	u16 port;
	u8 proto;		/* enum lemonade_proto */
	bool own_timeout;
	u32 timeout;		/* seconds, 0 = unlimited (own_timeout only) */
};

/* Derived per-port values used by the hot path. */
struct lemonade_pin {
	u32 low;		/* re-pin when fewer jiffies than this remain */
	u32 set;		/* relative jiffies written when re-pinning */
	bool unlimited;
};

/* Replaced whole on change and read under RCU. */
struct lemonade_cfg {
	struct rcu_head rcu;
	bool enabled;
	bool any_unlimited;
	u8 high_water;		/* percent of nf_conntrack_max */
	u8 low_water;
	u32 timeout;		/* seconds, 0 = unlimited */
	u8 icmp_policy;		/* enum lemonade_icmp_policy */
	u8 icmp_states;		/* enum lemonade_icmp_states */
	bool icmp_validate;
	u32 icmp_v4_codes;	/* soft type-3 codes, bit per code */
	u32 icmp_v6_codes;	/* soft type-1 codes, bit per code */
	u8 guard_policy;	/* enum lemonade_guard_policy */
	u32 guard_buffers;	/* negotiations inspected at once in the netns */
	u32 generation;		/* bumped by every change */
	unsigned int nports;
	struct lemonade_port ports[LEMONADE_MAX_PORTS];
	struct lemonade_pin pins[LEMONADE_MAX_PORTS];
};

struct lemonade_stats {
	u64_stats_t cnt[LEMONADE_NSTATS];
	struct u64_stats_sync syncp;	/* 32-bit: no torn reads */
};

struct lemonade_adopted;
struct lemonade_cycle;

/* One shard of a netns's list of linked flows (flow.c). */
#define LEMONADE_SHARDS	8
struct lemonade_shard {
	spinlock_t lock;	/* head, and the flows' FLOW_LINKED */
	struct list_head head;
} ____cacheline_aligned_in_smp;

struct lemonade_net {
	struct net *net;
	struct lemonade_cfg __rcu *cfg;
	/* listed flows without an extension (flow.c), under lock to change */
	struct lemonade_adopted __rcu *adopted;
	struct mutex lock;		/* serialises config writers */
	struct lemonade_stats __percpu *stats;
	u64 stats_base[LEMONADE_NSTATS];	/* under lock */
	struct delayed_work scan;
	unsigned long flags;
	unsigned long pressure_after;	/* jiffies; no pass before this */
	unsigned int pressure_backoff;	/* seconds, after a fruitless pass */
	unsigned long rearm_at;		/* jiffies; next re-arm of unlimited flows */
	struct lemonade_cycle *cycle;	/* floor.c: the passes under way */
	unsigned long guard_at;		/* jiffies; the guard's next look, 0: now */
	/* flow.c: linked flows and the guard's negotiation records */
	struct lemonade_shard shards[LEMONADE_SHARDS];
	atomic_t nlinked;
	struct xarray negs;
	atomic_t nnegs;
	/* event rate limit (events.c); zero is a valid initial state */
	unsigned long ev_window;	/* jiffies: start of the current second */
	atomic_t ev_sent;		/* events sent in it */
	atomic_t ev_suppressed;		/* events dropped since the last sent */
};

/* lemonade_net.flags */
enum {
	LEMONADE_F_PRESSURE,	/* a recycle pass is pending */
	LEMONADE_F_WITHDRAW,	/* a change shrank pins: hand them back */
	LEMONADE_F_ADOPT,	/* open flows wait to be adopted */
	LEMONADE_F_DYING,	/* no more work may be queued */
};

extern unsigned int lemonade_net_id;

static inline struct lemonade_net *lemonade_pernet(const struct net *net)
{
	return net_generic(net, lemonade_net_id);
}

/* Any context: the packet path, the netns's work, netlink. */
static inline void lemonade_count(struct lemonade_net *ln, int attr,
				  unsigned int n)
{
	struct lemonade_stats *s = get_cpu_ptr(ln->stats);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_add(&s->cnt[LEMONADE_STAT(attr)], n);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(ln->stats);
}

/* Run the netns's background work (main.c) after @delay jiffies. */
static inline void lemonade_scan_kick(struct lemonade_net *ln,
				      unsigned long delay)
{
	if (!test_bit(LEMONADE_F_DYING, &ln->flags))
		mod_delayed_work(system_unbound_wq, &ln->scan, delay);
}

/* ... or at the latest after @delay jiffies, if it is due later. */
static inline void lemonade_scan_within(struct lemonade_net *ln,
					unsigned long delay)
{
	if (!delayed_work_pending(&ln->scan) ||
	    time_after(READ_ONCE(ln->scan.timer.expires), jiffies + delay))
		lemonade_scan_kick(ln, delay);
}

/* config.c */
struct nf_conn;
struct lemonade_cfg *lemonade_cfg_default(void);
struct netlink_ext_ack;
struct nlattr;

/* The attributes of a request that carried each part (NULL: none). */
struct lemonade_cfg_attrs {
	const struct nlattr *icmp_v4, *icmp_v6, *timeout, *marks, *ports,
			    *guard_buffers;
};

/* A configuration change as lemonade_cfg_check() judges it. */
struct lemonade_cfg_req {
	const struct lemonade_cfg *old;	/* what it replaces, or NULL */
	bool force;			/* floors below RFC 5382's minimum */
	bool tenant;			/* from a non-initial user namespace */
	struct netlink_ext_ack *extack;
	struct lemonade_cfg_attrs at;
};

int lemonade_cfg_check(struct lemonade_cfg *cfg, const struct lemonade_cfg_req *rq);
const struct lemonade_port *lemonade_cfg_find(const struct lemonade_cfg *cfg,
					      u16 port, unsigned int *idx);
const struct lemonade_pin *lemonade_cfg_pin(const struct lemonade_cfg *cfg,
					    const struct nf_conn *ct);
void lemonade_cfg_replace(struct lemonade_net *ln, struct lemonade_cfg *cfg);
struct sk_buff;
int lemonade_cfg_put(struct sk_buff *msg, const struct lemonade_cfg *cfg);
void lemonade_stats_read(struct lemonade_net *ln, u64 *out);
int lemonade_params_check(void);

/* A writable module parameter with bounds (config.c). */
struct lemonade_uint_param {
	unsigned int *val;
	unsigned int min, max;
	const char *unit;	/* after the bounds in the message */
};

extern const struct kernel_param_ops lemonade_uint_range_ops;

#endif /* _LEMONADE_H */
