// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the idle-timeout floor.
 *
 * Conntrack refreshes ct->timeout on every in-window packet from its own
 * tables (or an nft ct timeout policy), including the 5-minute UNACK and
 * RETRANS shortcuts. Right after conntrack (hooks.c) the timeout of an
 * ESTABLISHED flow on a listed port is raised back to the floor; just
 * before confirmation anything in between that lowered it is caught.
 * A timeout longer than the floor is never shortened, and one fixed
 * through ctnetlink (IPS_FIXED_TIMEOUT) is left alone, as conntrack
 * itself leaves it.
 *
 * The floor borrows table slots that stock Linux would have freed: a
 * listed flow idle for longer than conntrack's own timeout for its state
 * is "borrowing". When the netns's table passes its high-water mark, the
 * borrowing flows are released, longest idle first, down to the low-water
 * mark or until none is left; a flow within its own conntrack timeout is
 * never touched (unassured entries are conntrack's early drop's business).
 *
 * The per-netns work (main.c) runs the passes, all of them over the
 * netns's list of listed flows (flow.c), never over the conntrack hash:
 * a pressure pass when the mark is crossed, a re-arm of unlimited flows
 * before their stored maximum runs out, the hand-back of pins a
 * configuration change withdrew, and a sweep of flows that ended without
 * conntrack telling us.
 */
#include "floor.h"
#include "events.h"
#include "flow.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_l4proto.h>
#include <net/netfilter/nf_conntrack_timeout.h>

static unsigned int scan_interval = 60;

static struct lemonade_uint_param scan_interval_p = {
	&scan_interval, 10, 3600, " seconds"
};

module_param_cb(scan_interval, &lemonade_uint_range_ops, &scan_interval_p, 0644);
MODULE_PARM_DESC(scan_interval, "Seconds between the passes that re-arm unlimited flows and let go of ended ones (10-3600, default 60)");

static unsigned long interval_jiffies(void)
{
	return (unsigned long)READ_ONCE(scan_interval) * HZ;
}

static bool flow_established(const struct nf_conn *ct)
{
	return nf_ct_protonum(ct) == IPPROTO_TCP &&
	       READ_ONCE(ct->proto.tcp.state) == TCP_CONNTRACK_ESTABLISHED;
}

/* Raise the idle budget of @ct to @pin; true if it was written. */
static bool apply_pin(struct nf_conn *ct, const struct lemonade_pin *pin)
{
	if (test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status))
		return false;
	if (!nf_ct_is_confirmed(ct)) {
		/* relative until confirmation adds the timestamp */
		if (ct->timeout < pin->low) {
			ct->timeout = pin->set;
			return true;
		}
		return false;
	}
	if (nf_ct_expires(ct) >= pin->low || nf_ct_is_dying(ct))
		return false;
	WRITE_ONCE(ct->timeout, nfct_time_stamp + pin->set);
	return true;
}

/*
 * The idle timeout conntrack gives @ct in its state, as its TCP tracker
 * chooses it on each packet (nf_conntrack_proto_tcp.c): the RETRANS and
 * UNACK shortcuts when they apply, else the state's own, from the flow's
 * ct timeout policy or the netns's table.
 */
static u32 own_timeout(const struct nf_conn *ct)
{
	const struct nf_tcp_net *tn = nf_tcp_pernet(nf_ct_net(ct));
	const unsigned int *timeouts = nf_ct_timeout_lookup(ct);
	u8 state = READ_ONCE(ct->proto.tcp.state);
	u32 own;

	if (!timeouts)
		timeouts = tn->timeouts;
	own = timeouts[state];
	if (READ_ONCE(ct->proto.tcp.retrans) >= tn->tcp_max_retrans)
		own = min(own, timeouts[TCP_CONNTRACK_RETRANS]);
	else if ((READ_ONCE(ct->proto.tcp.seen[0].flags) |
		  READ_ONCE(ct->proto.tcp.seen[1].flags)) &
		 IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED)
		own = min(own, timeouts[TCP_CONNTRACK_UNACK]);
	else if (!READ_ONCE(ct->proto.tcp.last_win))
		own = min(own, timeouts[TCP_CONNTRACK_RETRANS]);
	return own;
}

/*
 * Did conntrack refresh @ct's timeout on the packet at hand? It does so
 * for every packet it accepts into the window (nf_ct_refresh_acct(), to
 * own_timeout(): at most a tick or two before this hook); it does not for
 * one it merely lets through (NFCT_TCP_IGNORE: out of window, a late
 * SYN), which a spoofer can send. Only the former may move the floor.
 */
static bool refreshed_now(const struct nf_conn *ct, s32 *left, s32 *own)
{
	*left = nf_ct_is_confirmed(ct) ?
		(s32)(READ_ONCE(ct->timeout) - nfct_time_stamp) :
		(s32)ct->timeout;
	*own = own_timeout(ct);
	return *left <= *own && *left >= *own - 2;
}

/*
 * A packet of listed flow @ct (@f: NULL for an adopted one) crossed the
 * "in" hooks, conntrack having just refreshed it: keep it pinned to @pin.
 *
 * A packet that finds conntrack's own timeout governing but cannot be
 * told from one conntrack merely let through (the clock moved on by more
 * than refreshed_now() allows: a CPU taken away in between, or a spoofed
 * packet) does not pin; it marks the flow unpinned, so that no pass takes
 * its age from a pin it does not have (borrowing()). The next pin clears
 * the mark. A spoofer gains nothing from it: the flow keeps at most
 * conntrack's own timeout, as on stock Linux.
 */
void lemonade_floor(struct lemonade_net *ln, struct nf_conn *ct,
		    struct lemonade_flow *f, const struct lemonade_pin *pin)
{
	s32 left, own;

	if (!flow_established(ct))
		return;
	if (refreshed_now(ct, &left, &own) && apply_pin(ct, pin)) {
		if (f && READ_ONCE(f->unpinned))
			WRITE_ONCE(f->unpinned, 0);
		lemonade_count(ln, LEMONADE_STAT_A_PINNED, 1);
	} else if (f && left <= own && !READ_ONCE(f->unpinned)) {
		WRITE_ONCE(f->unpinned, 1);
	}
}

static bool above(struct net *net, unsigned int percent)
{
	unsigned int max = READ_ONCE(nf_conntrack_max);

	return max && (u64)lemonade_ct_count(net) * 100 > (u64)max * percent;
}

/* A new entry was created: past the high-water mark, start a pass. */
void lemonade_floor_new_flow(struct lemonade_net *ln,
			     const struct lemonade_cfg *cfg)
{
	if (test_bit(LEMONADE_F_PRESSURE, &ln->flags) ||
	    time_before(jiffies, READ_ONCE(ln->pressure_after)) ||
	    !above(ln->net, cfg->high_water))
		return;
	if (!test_and_set_bit(LEMONADE_F_PRESSURE, &ln->flags)) {
		lemonade_count(ln, LEMONADE_STAT_A_PRESSURE_EVENTS, 1);
		lemonade_scan_kick(ln, 0);
	}
}

/*
 * How long has @ct been idle, and since when has it been borrowing (0 if
 * it is not)? Its last packet left the larger of conntrack's own timeout
 * and the pin (whichever was written last: the pin only ever raises it).
 */
static u32 borrowing(const struct nf_conn *ct, const struct lemonade_flow *f,
		     const struct lemonade_pin *pin, u32 *idle)
{
	u32 own = own_timeout(ct), budget, left;

	if (!nf_ct_is_confirmed(ct) || own >= pin->low ||
	    READ_ONCE(f->unpinned))
		return 0;	/* conntrack's own timeout stands: no loan */
	budget = pin->set;
	left = nf_ct_expires(ct);
	if (left > budget)
		return 0;
	*idle = budget - left;
	return *idle > own ? *idle - own : 0;
}

/* ---- passes over the listed flows (process context) ---- */

struct loan {
	struct nf_conn *ct;	/* referenced */
	u32 idle;
};

struct pass {
	struct lemonade_net *ln;
	const struct lemonade_cfg *cfg;
	struct loan *loans;
	unsigned int n, cap;
	unsigned int done;
};

/*
 * The pin @ct has under the pass's configuration, NULL if none: the module
 * is off, its port is no longer listed, or ctnetlink took its helper away
 * (the sweep lets go of it).
 */
static const struct lemonade_pin *pass_pin(const struct pass *w,
					   struct nf_conn *ct,
					   struct lemonade_flow *f)
{
	if (!w->cfg->enabled || (f && lemonade_flow(ct) != f))
		return NULL;
	return f ? lemonade_flow_pin(w->cfg, ct, f) : lemonade_cfg_pin(w->cfg, ct);
}

static void collect_loan(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	const struct lemonade_pin *pin;
	struct pass *w = arg;
	u32 idle;

	/*
	 * An adopted flow's timeout was not necessarily set by the floor (it
	 * may carry no packet since): its idle time cannot be told, and the
	 * module never takes a flow stock Linux would keep.
	 */
	if (!f)
		return;
	pin = pass_pin(w, ct, f);
	if (!pin || !flow_established(ct) || nf_ct_is_dying(ct) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status) ||
	    w->n == w->cap || !borrowing(ct, f, pin, &idle))
		return;
	nf_conntrack_get(&ct->ct_general);
	w->loans[w->n].ct = ct;
	w->loans[w->n].idle = idle;
	w->n++;
}

/* Longest idle first. */
static int cmp_idle(const void *a, const void *b)
{
	u32 ia = ((const struct loan *)a)->idle;
	u32 ib = ((const struct loan *)b)->idle;

	return ia > ib ? -1 : ia < ib;
}

/* Visit the linked flows, then the adopted ones. */
static void each_listed(struct lemonade_net *ln,
			void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				   void *arg),
			void *arg)
{
	const struct lemonade_adopted *a;
	struct nf_conn **cts;
	unsigned int i, n = 0;

	lemonade_flows_each(ln, fn, arg);
	/* adopted flows: referenced copies, the set may change meanwhile */
	mutex_lock(&ln->lock);
	a = rcu_dereference_protected(ln->adopted, lockdep_is_held(&ln->lock));
	cts = a ? kvmalloc_array(a->n, sizeof(*cts), GFP_KERNEL) : NULL;
	for (i = 0; cts && i < a->n; i++) {
		nf_conntrack_get(&a->ct[i]->ct_general);
		cts[n++] = a->ct[i];
	}
	mutex_unlock(&ln->lock);
	for (i = 0; i < n; i++) {
		fn(cts[i], NULL, arg);
		nf_ct_put(cts[i]);
		cond_resched();
	}
	kvfree(cts);
}

/*
 * One pressure pass: release borrowing flows (linked ones: see
 * collect_loan()), longest idle first, until the table is back at the
 * low-water mark or none is left. A table that
 * stays above the mark with nothing left to release (it is full of other
 * flows) is not looked at again for a second.
 */
static void recycle(struct lemonade_net *ln, const struct lemonade_cfg *cfg)
{
	unsigned int max = READ_ONCE(nf_conntrack_max);
	unsigned int low = (u64)max * cfg->low_water / 100;
	struct pass w = { .ln = ln, .cfg = cfg };
	unsigned int i, count = lemonade_ct_count(ln->net), todo;

	if (!above(ln->net, cfg->high_water))
		return;
	todo = count > low ? count - low : 0;
	w.cap = atomic_read(&ln->nlinked) + 64;
	w.loans = kvmalloc_array(w.cap, sizeof(*w.loans), GFP_KERNEL);
	if (!w.loans) {
		WRITE_ONCE(ln->pressure_after, jiffies + HZ);
		return;
	}
	lemonade_flows_each(ln, collect_loan, &w);
	sort(w.loans, w.n, sizeof(*w.loans), cmp_idle, NULL);
	/* the count drops as the entries are freed, after this pass */
	for (i = 0; i < w.n && w.done < todo; i++)
		if (nf_ct_kill(w.loans[i].ct))
			w.done++;
	for (i = 0; i < w.n; i++)
		nf_ct_put(w.loans[i].ct);
	kvfree(w.loans);
	lemonade_count(ln, LEMONADE_STAT_A_RECYCLED, w.done);
	/*
	 * Above the mark with nothing left to release (a table full of
	 * other flows): look again after 1, 2, 4 ... 64 s, not every second.
	 */
	if (!w.done && above(ln->net, cfg->high_water))
		ln->pressure_backoff = min(ln->pressure_backoff * 2 ?: 1, 64U);
	else
		ln->pressure_backoff = 0;
	if (ln->pressure_backoff)
		WRITE_ONCE(ln->pressure_after,
			   jiffies + ln->pressure_backoff * HZ);
	if (w.done) {
		pr_info_ratelimited("table at %u of %u entries: released %u listed flows idle past conntrack's own timeouts\n",
				    lemonade_ct_count(ln->net), max, w.done);
		lemonade_event_released(ln, w.done);
	}
}

static void rearm_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	const struct lemonade_pin *pin;
	struct pass *w = arg;

	pin = pass_pin(w, ct, f);
	if (!pin || !pin->unlimited || !flow_established(ct) ||
	    nf_ct_is_dying(ct) || !nf_ct_is_confirmed(ct) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status) ||
	    nf_ct_expires(ct) >= LEMONADE_REARM_BELOW)
		return;
	WRITE_ONCE(ct->timeout, nfct_time_stamp + pin->set);
	w->done++;
}

/*
 * Hand @ct back to what the configuration allows now: conntrack's own
 * timeout, or the pin if it still has one. Never lengthens it.
 */
static void hand_back(struct nf_conn *ct, const struct lemonade_pin *pin,
		      unsigned int *done)
{
	u32 allowed = own_timeout(ct);

	if (!nf_ct_is_confirmed(ct) || nf_ct_is_dying(ct) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status))
		return;
	if (pin && flow_established(ct))
		allowed = max(allowed, pin->set);
	if (nf_ct_expires(ct) > allowed) {
		WRITE_ONCE(ct->timeout, nfct_time_stamp + allowed);
		(*done)++;
	}
}

static void withdraw_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	struct pass *w = arg;

	hand_back(ct, pass_pin(w, ct, f), &w->done);
}

static void release_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	hand_back(ct, NULL, &((struct pass *)arg)->done);
}

static struct lemonade_cfg *cfg_snapshot(struct lemonade_net *ln)
{
	struct lemonade_cfg *cfg;

	mutex_lock(&ln->lock);
	cfg = rcu_dereference_protected(ln->cfg, lockdep_is_held(&ln->lock));
	cfg = kmemdup(cfg, sizeof(*cfg), GFP_KERNEL);
	mutex_unlock(&ln->lock);
	return cfg;
}

static void earliest(unsigned long *next, unsigned long t)
{
	if (!*next || time_before(t, *next))
		*next = t;
}

/*
 * The floor's share of the netns's work. Returns when it wants to run
 * again (0: only when kicked).
 */
unsigned long lemonade_floor_work(struct lemonade_net *ln)
{
	unsigned long now = jiffies, next = 0;
	struct pass w = { .ln = ln };
	struct lemonade_cfg *cfg;
	bool unlimited;

	/*
	 * Under pressure or not, a table with listed flows is looked at
	 * every second: entries that never cross a hook (ctnetlink,
	 * conntrackd) can fill it too, and relief must not wait for a new
	 * flow that conntrack would refuse.
	 */
	rcu_read_lock();
	cfg = rcu_dereference(ln->cfg);
	unlimited = cfg && cfg->enabled && cfg->any_unlimited;
	if (atomic_read(&ln->nlinked)) {
		/* every second between the marks, else every ten */
		earliest(&next, now + (cfg && above(ln->net, cfg->low_water) ?
				       HZ : 10 * HZ));
		if (cfg && cfg->enabled && above(ln->net, cfg->high_water) &&
		    !time_before(now, READ_ONCE(ln->pressure_after)) &&
		    !test_and_set_bit(LEMONADE_F_PRESSURE, &ln->flags))
			lemonade_count(ln, LEMONADE_STAT_A_PRESSURE_EVENTS, 1);
	}
	rcu_read_unlock();
	if (!test_bit(LEMONADE_F_PRESSURE, &ln->flags) &&
	    !test_bit(LEMONADE_F_WITHDRAW, &ln->flags) &&
	    time_before(now, READ_ONCE(ln->rearm_at)))
		goto adopted;
	cfg = cfg_snapshot(ln);
	if (!cfg) {
		/* without memory the pending work waits a second */
		return now + HZ;
	}
	w.cfg = cfg;
	if (test_and_clear_bit(LEMONADE_F_WITHDRAW, &ln->flags)) {
		each_listed(ln, withdraw_one, &w);
		lemonade_count(ln, LEMONADE_STAT_A_RELEASED_POLICY, w.done);
		w.done = 0;
	}
	if (cfg->enabled && test_bit(LEMONADE_F_PRESSURE, &ln->flags))
		recycle(ln, cfg);
	clear_bit(LEMONADE_F_PRESSURE, &ln->flags);
	if (time_after_eq(now, READ_ONCE(ln->rearm_at))) {
		/* first let go of flows that ended unseen: no re-arm for them */
		lemonade_flow_sweep(ln);
		if (cfg->enabled && cfg->any_unlimited) {
			each_listed(ln, rearm_one, &w);
			lemonade_count(ln, LEMONADE_STAT_A_REARMED, w.done);
		}
		WRITE_ONCE(ln->rearm_at, now + interval_jiffies());
	}
	kfree(cfg);
adopted:
	/* the re-arm and the sweep, while anything is listed */
	if (unlimited || atomic_read(&ln->nlinked) ||
	    rcu_access_pointer(ln->adopted))
		earliest(&next, READ_ONCE(ln->rearm_at));
	/* adopted flows that ended are let go within a second */
	if (lemonade_flow_adopt_prune(ln, false))
		earliest(&next, now + HZ);
	return next;
}

/*
 * The module leaves a live netns (rmmod): hand pinned flows back to
 * conntrack's own timeout so nothing outlives the policy that set it.
 */
void lemonade_floor_release(struct lemonade_net *ln)
{
	struct pass w = { .ln = ln };

	each_listed(ln, release_one, &w);
	lemonade_count(ln, LEMONADE_STAT_A_RELEASED_UNLOAD, w.done);
	if (w.done)
		pr_info("released %u pinned flows to conntrack's own timeouts\n",
			w.done);
}
