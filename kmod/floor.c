// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the idle-timeout floor.
 *
 * Conntrack refreshes ct->timeout on every in-window packet from its own
 * tables (or an nft ct timeout policy), including the 5-minute UNACK and
 * RETRANS shortcuts. Right after conntrack (hooks.c) the timeout of an
 * ESTABLISHED flow on a listed port is raised back to the floor; just
 * before confirmation anything in between that lowered it is caught.
 * A timeout longer than the floor is never shortened. Flows that existed
 * before the module was loaded are covered from their next packet.
 *
 * A per-netns work item re-arms unlimited flows before their stored
 * maximum runs out and, when the table passes its high-water mark,
 * recycles the longest-idle listed flows down to the low-water mark.
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

static unsigned int lemonade_scan_interval = 600;
module_param_named(scan_interval, lemonade_scan_interval, uint, 0644);
MODULE_PARM_DESC(scan_interval, "Seconds between re-arm scans of unlimited flows (default 600)");

static bool flow_established(const struct nf_conn *ct)
{
	return nf_ct_protonum(ct) == IPPROTO_TCP &&
	       READ_ONCE(ct->proto.tcp.state) == TCP_CONNTRACK_ESTABLISHED;
}

/* Raise the idle budget of @ct to @pin; true if it was written. */
static bool apply_pin(struct nf_conn *ct, const struct lemonade_pin *pin)
{
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

/* A new entry was created: past the high-water mark, start a pass. */
void lemonade_floor_new_flow(struct lemonade_net *ln,
			     const struct lemonade_cfg *cfg)
{
	unsigned int max = READ_ONCE(nf_conntrack_max);

	if (!max || test_bit(LEMONADE_F_PRESSURE, &ln->flags) ||
	    time_before(jiffies, READ_ONCE(ln->pressure_after)))
		return;
	if ((u64)lemonade_ct_count(ln->net) * 100 <=
	    (u64)max * cfg->high_water)
		return;
	if (!test_and_set_bit(LEMONADE_F_PRESSURE, &ln->flags)) {
		lemonade_count(ln, LEMONADE_STAT_A_PRESSURE_EVENTS, 1);
		lemonade_scan_kick(ln, 0);
	}
}

/* A packet of listed flow @ct crossed a hook: keep it pinned to @pin. */
void lemonade_floor(struct lemonade_net *ln, struct nf_conn *ct,
		    const struct lemonade_pin *pin)
{
	if (flow_established(ct) && apply_pin(ct, pin))
		lemonade_count(ln, LEMONADE_STAT_A_PINNED, 1);
}

/* ---- table walks (process context) ---- */

struct walk {
	struct net *net;
	const struct lemonade_cfg *cfg;
	u32 now;
	u32 *stamps;		/* estimated time of last activity */
	unsigned int n, cap;
	u32 cutoff;
	unsigned int todo;	/* recycle budget */
	unsigned int done;
};

/*
 * When did @ct last carry traffic? Its expiry minus the budget the last
 * packet gave it: the larger of our pin and conntrack's own ESTABLISHED
 * timeout (a timeout policy's, if one is attached).
 */
static u32 last_seen(const struct nf_conn *ct, const struct lemonade_pin *pin)
{
	const unsigned int *timeouts = nf_ct_timeout_lookup(ct);
	u32 own, budget;

	if (!timeouts)
		timeouts = nf_tcp_pernet(nf_ct_net(ct))->timeouts;
	own = timeouts[TCP_CONNTRACK_ESTABLISHED];
	budget = max(own, pin->set);
	return READ_ONCE(ct->timeout) - budget;
}

static const struct lemonade_pin *walk_match(struct nf_conn *ct,
					     struct walk *w)
{
	if (!net_eq(nf_ct_net(ct), w->net) || !flow_established(ct))
		return NULL;
	return lemonade_cfg_pin(w->cfg, ct);
}

static int collect_idle(struct nf_conn *ct, void *data)
{
	struct walk *w = data;
	const struct lemonade_pin *pin = walk_match(ct, w);

	if (pin && w->n < w->cap)
		w->stamps[w->n++] = last_seen(ct, pin);
	return 0;
}

static int recycle_idle(struct nf_conn *ct, void *data)
{
	struct walk *w = data;
	const struct lemonade_pin *pin;

	if (w->done >= w->todo)
		return 0;
	pin = walk_match(ct, w);
	if (!pin || (s32)(last_seen(ct, pin) - w->cutoff) > 0)
		return 0;
	w->done++;
	return 1;
}

/* Oldest first; stamps lie in the past, compared relative to now. */
static int cmp_age(const void *a, const void *b, const void *priv)
{
	u32 now = *(const u32 *)priv;
	s32 da = (s32)(*(const u32 *)a - now);
	s32 db = (s32)(*(const u32 *)b - now);

	return da < db ? -1 : da > db;
}

/*
 * One pass; a table that stays above the mark with nothing left to
 * release (it is full of other flows) is not walked again for a second.
 */
static void recycle(struct lemonade_net *ln, const struct lemonade_cfg *cfg)
{
	unsigned int max = READ_ONCE(nf_conntrack_max);
	unsigned int count = lemonade_ct_count(ln->net);
	unsigned int low = (u64)max * cfg->low_water / 100;
	struct walk w = { .net = ln->net, .cfg = cfg };

	if (!max || (u64)count * 100 <= (u64)max * cfg->high_water)
		return;
	w.todo = count - low;
	w.cap = count + 64;
	w.stamps = kvmalloc_array(w.cap, sizeof(u32), GFP_KERNEL);
	if (!w.stamps) {
		WRITE_ONCE(ln->pressure_after, jiffies + HZ);
		return;
	}
	lemonade_ct_iterate(ln->net, collect_idle, &w);
	if (w.n) {
		w.now = nfct_time_stamp;
		sort_r(w.stamps, w.n, sizeof(u32), cmp_age, NULL, &w.now);
		w.cutoff = w.stamps[min(w.todo, w.n) - 1];
		lemonade_ct_iterate(ln->net, recycle_idle, &w);
		lemonade_count(ln, LEMONADE_STAT_A_RECYCLED, w.done);
	}
	kvfree(w.stamps);
	if (w.done < w.todo)
		WRITE_ONCE(ln->pressure_after, jiffies + HZ);
	if (w.done) {
		pr_info_ratelimited("table at %u of %u entries: released %u idle listed flows\n",
				    count, max, w.done);
		lemonade_event_released(ln, w.done);
	}
}

static int rearm_unlimited(struct nf_conn *ct, void *data)
{
	struct walk *w = data;
	const struct lemonade_pin *pin = walk_match(ct, w);

	if (!pin || !pin->unlimited || nf_ct_is_dying(ct) ||
	    !nf_ct_is_confirmed(ct) || nf_ct_expires(ct) >= LEMONADE_REARM_BELOW)
		return 0;
	WRITE_ONCE(ct->timeout, nfct_time_stamp + pin->set);
	w->done++;
	return 0;
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

void lemonade_floor_work(struct work_struct *work)
{
	struct lemonade_net *ln = container_of(to_delayed_work(work),
					       struct lemonade_net, scan);
	struct lemonade_cfg *cfg = cfg_snapshot(ln);
	unsigned long now = jiffies, next = 0;
	struct walk w = { .net = ln->net };

	if (!cfg)
		return;
	w.cfg = cfg;
	if (cfg->enabled && test_bit(LEMONADE_F_PRESSURE, &ln->flags))
		recycle(ln, cfg);
	clear_bit(LEMONADE_F_PRESSURE, &ln->flags);
	if (cfg->enabled && cfg->any_unlimited) {
		if (time_after_eq(now, READ_ONCE(ln->rearm_at))) {
			lemonade_ct_iterate(ln->net, rearm_unlimited, &w);
			lemonade_count(ln, LEMONADE_STAT_A_REARMED, w.done);
			WRITE_ONCE(ln->rearm_at, now +
				   READ_ONCE(lemonade_scan_interval) * HZ);
		}
		next = READ_ONCE(ln->rearm_at);
	}
	/* adopted flows that ended are let go within a second */
	if (lemonade_flow_adopt_prune(ln, false) &&
	    (!next || time_after(next, now + HZ)))
		next = now + HZ;
	if (next)
		lemonade_scan_kick(ln, time_after(next, now) ? next - now : 0);
	kfree(cfg);
}

static int release_pinned(struct nf_conn *ct, void *data)
{
	struct walk *w = data;
	const unsigned int *timeouts;
	u32 own;

	if (!walk_match(ct, w) || !nf_ct_is_confirmed(ct))
		return 0;
	timeouts = nf_ct_timeout_lookup(ct);
	if (!timeouts)
		timeouts = nf_tcp_pernet(nf_ct_net(ct))->timeouts;
	own = timeouts[TCP_CONNTRACK_ESTABLISHED];
	if (nf_ct_expires(ct) > own) {
		WRITE_ONCE(ct->timeout, nfct_time_stamp + own);
		w->done++;
	}
	return 0;
}

/*
 * The module leaves a live netns (rmmod): hand pinned flows back to
 * conntrack's own timeout so nothing outlives the policy that set it.
 */
void lemonade_floor_release(struct lemonade_net *ln)
{
	struct lemonade_cfg *cfg = cfg_snapshot(ln);
	struct walk w = { .net = ln->net };

	if (!cfg)
		return;
	w.cfg = cfg;
	lemonade_ct_iterate(ln->net, release_pinned, &w);
	lemonade_count(ln, LEMONADE_STAT_A_RELEASED_UNLOAD, w.done);
	if (w.done)
		pr_info("released %u pinned flows to conntrack's own timeouts\n",
			w.done);
	kfree(cfg);
}
