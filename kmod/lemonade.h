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
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
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
	unsigned int nports;
	struct lemonade_port ports[LEMONADE_MAX_PORTS];
	struct lemonade_pin pins[LEMONADE_MAX_PORTS];
};

struct lemonade_stats {
	u64 cnt[LEMONADE_NSTATS];
};

struct lemonade_adopted;

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
	unsigned long rearm_at;		/* jiffies; next re-arm of unlimited flows */
	/* event rate limit (events.c); zero is a valid initial state */
	unsigned long ev_window;	/* jiffies: start of the current second */
	atomic_t ev_sent;		/* events sent in it */
	atomic_t ev_suppressed;		/* events dropped since the last sent */
};

/* lemonade_net.flags */
enum {
	LEMONADE_F_PRESSURE,	/* a recycle pass is pending */
	LEMONADE_F_DYING,	/* no more work may be queued */
};

extern unsigned int lemonade_net_id;

static inline struct lemonade_net *lemonade_pernet(const struct net *net)
{
	return net_generic(net, lemonade_net_id);
}

static inline void lemonade_count(struct lemonade_net *ln, int attr,
				  unsigned int n)
{
	this_cpu_add(ln->stats->cnt[LEMONADE_STAT(attr)], n);
}

/* Run the netns's background work (floor.c) after @delay jiffies. */
static inline void lemonade_scan_kick(struct lemonade_net *ln,
				      unsigned long delay)
{
	if (!test_bit(LEMONADE_F_DYING, &ln->flags))
		mod_delayed_work(system_wq, &ln->scan, delay);
}

/* config.c */
struct nf_conn;
struct lemonade_cfg *lemonade_cfg_default(void);
enum lemonade_part {
	LEMONADE_PART_ICMP_V4,
	LEMONADE_PART_ICMP_V6,
	LEMONADE_PART_TIMEOUT,
	LEMONADE_PART_MARKS,
	LEMONADE_PART_PORTS,
};

int lemonade_cfg_check(struct lemonade_cfg *cfg, const struct lemonade_cfg *old,
		       bool force, const char **msg, enum lemonade_part *what);
const struct lemonade_port *lemonade_cfg_find(const struct lemonade_cfg *cfg,
					      u16 port, unsigned int *idx);
const struct lemonade_pin *lemonade_cfg_pin(const struct lemonade_cfg *cfg,
					    const struct nf_conn *ct);
void lemonade_cfg_replace(struct lemonade_net *ln, struct lemonade_cfg *cfg);
void lemonade_stats_read(struct lemonade_net *ln, u64 *out);
int lemonade_params_check(void);

#endif /* _LEMONADE_H */
