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
 * conntrack telling us. The passes due share one walk of the list (a
 * cycle), spread over runs of the work that each visit or release at most
 * FLOOR_BUDGET flows and requeue at once, so no run grows with the number
 * of listed flows (the flows adopted at load, an array that only shrinks,
 * are visited in the run that starts a cycle).
 */
#include "floor.h"
#include "events.h"
#include "flow.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
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
	u8 state = READ_ONCE(ct->proto.tcp.state);
	const unsigned int *timeouts;
	u32 own;

	/* a ct timeout policy's table is RCU-protected (the passes too) */
	rcu_read_lock();
	timeouts = nf_ct_timeout_lookup(ct);
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
	rcu_read_unlock();
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
	/*
	 * At or above the floor already (conntrack's own timeout is longer,
	 * or the pin stands and conntrack did not refresh): nothing to write.
	 * A timeout longer than the pin itself is conntrack's: marked, so
	 * that no pass takes the flow's age from a pin it does not have.
	 */
	if (nf_ct_is_confirmed(ct)) {
		left = READ_ONCE(ct->timeout) - nfct_time_stamp;
		if (left >= (s32)pin->low) {
			/* longer than any pin: conntrack's own, no pin of ours */
			if (f && left > (s32)pin->set && !READ_ONCE(f->unpinned))
				WRITE_ONCE(f->unpinned, 1);
			return;
		}
	}
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

/*
 * Flows a run of the work visits, at most: a cycle over many listed flows
 * is spread over several runs, each requeued at once, as conntrack's own
 * garbage collector does.
 */
#define FLOOR_BUDGET	1024

/*
 * Borrowing flows are ranked by idle time in a log-linear histogram:
 * exact below 2^(IDLE_SUB + 1) jiffies, then 2^IDLE_SUB buckets per power
 * of two (1.6% apart), without holding or sorting the flows themselves.
 */
#define IDLE_SUB	6
#define IDLE_BUCKETS	((33 - IDLE_SUB) << IDLE_SUB)

static unsigned int idle_bucket(u32 idle)
{
	unsigned int e = fls(idle);

	if (e <= IDLE_SUB)
		return idle;
	return ((e - IDLE_SUB) << IDLE_SUB) +
	       ((idle >> (e - 1 - IDLE_SUB)) & ((1U << IDLE_SUB) - 1));
}

/*
 * One cycle of passes over the listed flows, spread over runs of the
 * work. Its first walk sweeps flows that ended unseen, hands back pins a
 * configuration change withdrew, re-arms unlimited flows and, under
 * pressure, counts the borrowing flows by idle time; a second walk, under
 * pressure only, releases the longest idle of them, each checked again
 * when it is reached. No flow is held between runs.
 */
struct lemonade_cycle {
	struct lemonade_net *ln;
	struct lemonade_cfg *cfg;	/* the configuration it works from */
	struct lemonade_walk walk;
	u32 t0;			/* nfct_time_stamp: idle times are as of it */
	bool withdraw, rearm, recycle, releasing;
	bool stale;		/* the plan's configuration was replaced */
	unsigned int withdrawn, rearmed;
	/* recycle: release buckets above cut, and cut_quota flows of cut */
	unsigned int todo, done, cut, cut_quota;
	u32 hist[IDLE_BUCKETS];
};

/*
 * The pin @ct has under @cfg, NULL if none: the module is off, its port
 * is no longer listed, or ctnetlink took its helper away (the sweep lets
 * go of it).
 */
static const struct lemonade_pin *pass_pin(const struct lemonade_cfg *cfg,
					   struct nf_conn *ct,
					   struct lemonade_flow *f)
{
	if (!cfg->enabled || (f && lemonade_flow(ct) != f))
		return NULL;
	return f ? lemonade_flow_pin(cfg, ct, f) : lemonade_cfg_pin(cfg, ct);
}

/*
 * Is linked flow @ct borrowing under the cycle's configuration, and for
 * how long had it been idle at the cycle's start (@idle)? The same answer
 * for a flow wherever the walk reaches it, its last packet being a fixed
 * point in time.
 */
static bool loan_idle(const struct lemonade_cycle *c, struct nf_conn *ct,
		      struct lemonade_flow *f, u32 *idle)
{
	const struct lemonade_pin *pin = pass_pin(c->cfg, ct, f);
	u32 lag;

	if (!pin || !flow_established(ct) || nf_ct_is_dying(ct) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status) ||
	    !borrowing(ct, f, pin, idle))
		return false;
	lag = nfct_time_stamp - c->t0;
	*idle = *idle > lag ? *idle - lag : 0;
	return true;
}

/* @done counts the unlimited flows re-armed */
static void rearm_one(const struct lemonade_cfg *cfg, struct nf_conn *ct,
		      struct lemonade_flow *f, unsigned int *done)
{
	const struct lemonade_pin *pin;

	pin = pass_pin(cfg, ct, f);
	if (!pin || !pin->unlimited || !flow_established(ct) ||
	    nf_ct_is_dying(ct) || !nf_ct_is_confirmed(ct) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &ct->status) ||
	    nf_ct_expires(ct) >= LEMONADE_REARM_BELOW)
		return;
	WRITE_ONCE(ct->timeout, nfct_time_stamp + pin->set);
	(*done)++;
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

/* One listed flow (@f NULL: an adopted one) in the cycle's first walk. */
static void cycle_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	struct lemonade_cycle *c = arg;
	u32 idle;

	if (f && lemonade_flow(ct) != f) {
		/*
		 * Unhelped by ctnetlink, or dying: no policy holds it any
		 * more, so its pin goes too; then it is let go.
		 */
		if (!nf_ct_is_dying(ct))
			hand_back(ct, NULL, &c->withdrawn);
		lemonade_flow_sweep_one(c->ln, ct, f);
		return;
	}
	if (f && lemonade_flow_sweep_one(c->ln, ct, f))
		return;
	if (c->withdraw)
		hand_back(ct, pass_pin(c->cfg, ct, f), &c->withdrawn);
	/*
	 * A borrowing flow is counted before any re-arm (which would make it
	 * look fresh) and is not re-armed: if it stays, the next cycle does
	 * it, days before it could run out. An adopted flow's timeout was not
	 * necessarily set by the floor (it may carry no packet since): its
	 * idle time cannot be told, and the module never takes a flow stock
	 * Linux would keep.
	 */
	if (c->recycle && f && loan_idle(c, ct, f, &idle)) {
		c->hist[idle_bucket(idle)]++;
		return;
	}
	if (c->rearm)
		rearm_one(c->cfg, ct, f, &c->rearmed);
}

/* One listed flow in the second walk: release it if it is planned to go. */
static void release_loan(struct nf_conn *ct, struct lemonade_flow *f,
			 void *arg)
{
	struct lemonade_cycle *c = arg;
	unsigned int b;
	u32 idle;

	if (c->done >= c->todo || !loan_idle(c, ct, f, &idle))
		return;
	b = idle_bucket(idle);
	if (b < c->cut)
		return;
	if (b == c->cut) {
		if (!c->cut_quota)
			return;
		c->cut_quota--;
	}
	if (nf_ct_kill(ct))
		c->done++;
}

/* The adopted flows: referenced copies, the set may change meanwhile. */
static void each_adopted(struct lemonade_net *ln,
			 void (*fn)(struct nf_conn *ct, struct lemonade_flow *f,
				    void *arg),
			 void *arg)
{
	const struct lemonade_adopted *a;
	struct nf_conn **cts;
	unsigned int i, n = 0;

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

static struct lemonade_cfg *cfg_snapshot(struct lemonade_net *ln)
{
	struct lemonade_cfg *cfg;

	mutex_lock(&ln->lock);
	cfg = rcu_dereference_protected(ln->cfg, lockdep_is_held(&ln->lock));
	cfg = kmemdup(cfg, sizeof(*cfg), GFP_KERNEL);
	mutex_unlock(&ln->lock);
	return cfg;
}

static void cycle_free(struct lemonade_cycle *c)
{
	lemonade_flows_step_end(c->ln, &c->walk);
	kfree(c->cfg);
	kvfree(c);
}

/*
 * Start a cycle with what is due at @now: NULL if nothing is, or if
 * memory is short (what was due stays due).
 */
static struct lemonade_cycle *cycle_start(struct lemonade_net *ln,
					  unsigned long now)
{
	struct lemonade_cycle *c;

	if (!test_bit(LEMONADE_F_PRESSURE, &ln->flags) &&
	    !test_bit(LEMONADE_F_WITHDRAW, &ln->flags) &&
	    time_before(now, READ_ONCE(ln->rearm_at)))
		return NULL;
	c = kvzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	c->ln = ln;
	lemonade_walk_init(&c->walk);
	/* a change after the snapshot sets the bit again: the next cycle */
	c->withdraw = test_and_clear_bit(LEMONADE_F_WITHDRAW, &ln->flags);
	c->cfg = cfg_snapshot(ln);
	if (!c->cfg) {
		if (c->withdraw)
			set_bit(LEMONADE_F_WITHDRAW, &ln->flags);
		kvfree(c);
		return NULL;
	}
	/*
	 * Pressure: the bit stays set, and new flows quiet, until the cycle
	 * ends; pressure that is gone by now is forgotten at once.
	 */
	if (test_bit(LEMONADE_F_PRESSURE, &ln->flags)) {
		c->recycle = c->cfg->enabled &&
			     above(ln->net, c->cfg->high_water);
		if (!c->recycle)
			clear_bit(LEMONADE_F_PRESSURE, &ln->flags);
	}
	c->t0 = nfct_time_stamp;
	if (time_after_eq(now, READ_ONCE(ln->rearm_at))) {
		c->rearm = c->cfg->enabled && c->cfg->any_unlimited;
		WRITE_ONCE(ln->rearm_at, now + interval_jiffies());
	}
	if (c->withdraw || c->rearm)
		each_adopted(ln, cycle_one, c);
	return c;
}

/*
 * The first walk is over: which borrowing flows to release. Down to the
 * low-water mark, longest idle first: every one of the buckets above
 * c->cut, and c->cut_quota of those in it. False if none.
 */
static bool recycle_plan(struct lemonade_cycle *c)
{
	unsigned int max = READ_ONCE(nf_conntrack_max);
	unsigned int low = (u64)max * c->cfg->low_water / 100;
	unsigned int count = lemonade_ct_count(c->ln->net), left, b;

	left = count > low ? count - low : 0;
	c->todo = 0;
	for (b = IDLE_BUCKETS; left && b; ) {
		b--;
		if (!c->hist[b])
			continue;
		c->cut = b;
		c->cut_quota = min(left, c->hist[b]);
		left -= c->cut_quota;
		c->todo += c->cut_quota;
	}
	return c->todo;
}

/*
 * The second walk, on while there is something left to release and the
 * configuration the plan was made from stands; true when it is over.
 */
static bool recycle_step(struct lemonade_net *ln, struct lemonade_cycle *c)
{
	const struct lemonade_cfg *cfg;
	bool stale;

	rcu_read_lock();
	cfg = rcu_dereference(ln->cfg);
	stale = !cfg || cfg->generation != c->cfg->generation;
	rcu_read_unlock();
	if (!stale && c->done < c->todo &&
	    !lemonade_flows_step(ln, &c->walk, FLOOR_BUDGET, release_loan, c) &&
	    c->done < c->todo)
		return false;
	lemonade_flows_step_end(ln, &c->walk);
	c->stale = stale;
	return true;
}

/* The cycle is over: its counts, and the pressure it answered. */
static void cycle_end(struct lemonade_net *ln, struct lemonade_cycle *c)
{
	if (c->withdrawn)
		lemonade_count(ln, LEMONADE_STAT_A_RELEASED_POLICY, c->withdrawn);
	if (c->rearm)
		lemonade_count(ln, LEMONADE_STAT_A_REARMED, c->rearmed);
	if (c->recycle) {
		lemonade_count(ln, LEMONADE_STAT_A_RECYCLED, c->done);
		/*
		 * Above the mark with nothing left to release (a table full
		 * of other flows): look again after 1, 2, 4 ... 64 s, not
		 * every second.
		 */
		if (c->done || !above(ln->net, c->cfg->high_water))
			ln->pressure_backoff = 0;
		else if (!c->stale)	/* else the new configuration decides */
			ln->pressure_backoff = min(ln->pressure_backoff * 2 ?: 1, 64U);
		if (ln->pressure_backoff)
			WRITE_ONCE(ln->pressure_after,
				   jiffies + ln->pressure_backoff * HZ);
		if (c->done) {
			pr_info_ratelimited("table at %u of %u entries: released %u listed flows idle past conntrack's own timeouts\n",
					    lemonade_ct_count(ln->net),
					    READ_ONCE(nf_conntrack_max), c->done);
			lemonade_event_released(ln, c->done);
		}
	}
	if (c->recycle)
		clear_bit(LEMONADE_F_PRESSURE, &ln->flags);
}

static void earliest(unsigned long *next, unsigned long t)
{
	if (!*next || time_before(t, *next))
		*next = t;
}

/* "Run again at once", never 0 ("only when kicked") when jiffies wraps. */
static unsigned long at_once(unsigned long now)
{
	return now ?: 1;
}

/*
 * The floor's share of the netns's work. Returns when it wants to run
 * again (0: only when kicked; now: at once, a cycle goes on).
 */
unsigned long lemonade_floor_work(struct lemonade_net *ln)
{
	unsigned long now = jiffies, next = 0;
	struct lemonade_cycle *c = ln->cycle;
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
	if (!c) {
		c = cycle_start(ln, now);
		if (!c) {
			/* nothing due, or no memory: what is pending waits */
			if (test_bit(LEMONADE_F_PRESSURE, &ln->flags) ||
			    test_bit(LEMONADE_F_WITHDRAW, &ln->flags))
				earliest(&next, now + HZ);
			goto adopted;
		}
		ln->cycle = c;
	}
	if (!c->releasing) {
		if (!lemonade_flows_step(ln, &c->walk, FLOOR_BUDGET, cycle_one, c))
			return at_once(now);
		c->releasing = c->recycle && recycle_plan(c);
		/* the release walk in runs of its own */
		if (c->releasing)
			return at_once(now);
	}
	if (c->releasing && !recycle_step(ln, c))
		return at_once(now);
	cycle_end(ln, c);
	ln->cycle = NULL;
	cycle_free(c);
	/* what arrived during the cycle starts the next one */
	if (test_bit(LEMONADE_F_WITHDRAW, &ln->flags) ||
	    test_bit(LEMONADE_F_PRESSURE, &ln->flags))
		return at_once(now);
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

/* The netns's work is stopped for good: a cycle under way is dropped. */
void lemonade_floor_stop(struct lemonade_net *ln)
{
	if (ln->cycle) {
		cycle_free(ln->cycle);
		ln->cycle = NULL;
	}
}

static void release_one(struct nf_conn *ct, struct lemonade_flow *f, void *arg)
{
	hand_back(ct, NULL, arg);
}

/*
 * The module leaves a live netns (rmmod): hand pinned flows back to
 * conntrack's own timeout so nothing outlives the policy that set it.
 */
void lemonade_floor_release(struct lemonade_net *ln)
{
	unsigned int done = 0;

	lemonade_flows_each(ln, release_one, &done);
	each_adopted(ln, release_one, &done);
	lemonade_count(ln, LEMONADE_STAT_A_RELEASED_UNLOAD, done);
	if (done)
		pr_info("released %u pinned flows to conntrack's own timeouts\n",
			done);
}
