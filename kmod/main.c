// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: make a Linux gateway lemonade-friendly (RFC 5383, BCP 143).
 *
 * Module entry points, the per-netns lifecycle and the per-netns work.
 *
 * A netns's hooks go in .pre_exit: the pernet core waits a grace period
 * between .pre_exit and .exit, so no CPU is still inside a hook when .exit
 * frees what the hooks use. On rmmod the helper's destroy callback is
 * switched off first (flow.c), then every netns lets go of its flows.
 */
#include "lemonade.h"
#include "floor.h"
#include "flow.h"
#include "bench.h"
#include "guard.h"
#include "hooks.h"
#include "netlink.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

static void earliest(unsigned long *next, unsigned long t)
{
	if (t && (!*next || time_before(t, *next)))
		*next = t;
}

/* The netns's background work: each part says when it needs to run next. */
static void lemonade_net_work(struct work_struct *work)
{
	struct lemonade_net *ln = container_of(to_delayed_work(work),
					       struct lemonade_net, scan);
	unsigned long next = 0, now = jiffies, g;

	/* flows already open when the module came: adopted once, here */
	if (test_and_clear_bit(LEMONADE_F_ADOPT, &ln->flags)) {
		const struct lemonade_cfg *cfg;

		mutex_lock(&ln->lock);
		cfg = rcu_dereference_protected(ln->cfg, lockdep_is_held(&ln->lock));
		lemonade_flow_adopt(ln, cfg);
		mutex_unlock(&ln->lock);
	}
	earliest(&next, lemonade_floor_work(ln));
	/* on its own clock: a floor cycle requeues the work many times */
	if (ln->guard_at && time_before(now, ln->guard_at)) {
		earliest(&next, ln->guard_at);
	} else {
		/* 0: nothing in progress, look at every run (a counter read) */
		g = lemonade_guard_work(ln);
		ln->guard_at = g;
		earliest(&next, g);
	}
	if (!next)
		return;
	now = jiffies;
	lemonade_scan_within(ln, time_after(next, now) ? next - now : 0);
}

static int __net_init lemonade_net_init(struct net *net)
{
	struct lemonade_net *ln = lemonade_pernet(net);
	struct lemonade_cfg *cfg;
	unsigned int cpu;
	int err;

	ln->net = net;
	ln->pressure_after = jiffies;
	ln->rearm_at = jiffies;
	mutex_init(&ln->lock);
	INIT_DELAYED_WORK(&ln->scan, lemonade_net_work);
	lemonade_flow_net_init(ln);
	ln->stats = alloc_percpu(struct lemonade_stats);
	if (!ln->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(ln->stats, cpu)->syncp);
	cfg = lemonade_cfg_default();
	if (!cfg) {
		err = -ENOMEM;
		goto err_stats;
	}
	mutex_lock(&ln->lock);
	lemonade_cfg_replace(ln, cfg);
	mutex_unlock(&ln->lock);
	err = lemonade_hooks_register(net);
	if (err)
		goto err_cfg;
	/*
	 * Flows already open (the module loads into a live netns) are
	 * adopted by the work: not here, where every netns's creation and
	 * destruction waits for us (pernet_ops_rwsem).
	 */
	if (lemonade_ct_count(net)) {
		set_bit(LEMONADE_F_ADOPT, &ln->flags);
		lemonade_scan_kick(ln, 0);
	}
	return 0;

err_cfg:
	/* no hook was registered: nothing can be using cfg */
	set_bit(LEMONADE_F_DYING, &ln->flags);
	cancel_delayed_work_sync(&ln->scan);
	kfree(rcu_dereference_protected(ln->cfg, true));
err_stats:
	free_percpu(ln->stats);
	return err;
}

static void __net_exit lemonade_net_pre_exit(struct net *net)
{
	lemonade_hooks_unregister(net);
}

/* After a grace period: no hook runs any more in this netns. */
static void __net_exit lemonade_net_exit(struct net *net)
{
	struct lemonade_net *ln = lemonade_pernet(net);

	set_bit(LEMONADE_F_DYING, &ln->flags);
	cancel_delayed_work_sync(&ln->scan);
	lemonade_floor_stop(ln);
	/* a live netns (rmmod) keeps its flows: give them back */
	if (check_net(net))
		lemonade_floor_release(ln);
	lemonade_flow_net_exit(ln);
	/* netlink cannot reach a dying netns, nor a removed family */
	kfree(rcu_dereference_protected(ln->cfg, true));
	free_percpu(ln->stats);
}

static struct pernet_operations lemonade_net_ops = {
	.init = lemonade_net_init,
	.pre_exit = lemonade_net_pre_exit,
	.exit = lemonade_net_exit,
	.id   = &lemonade_net_id,
	.size = sizeof(struct lemonade_net),
};

static int __init lemonade_init(void)
{
	int err;

	err = lemonade_params_check();
	if (err)
		return err;
	err = lemonade_flow_init();
	if (err)
		return err;
	err = register_pernet_subsys(&lemonade_net_ops);
	if (err)
		goto err_flow;
	lemonade_flow_enable();
	err = lemonade_genl_init();
	if (err)
		goto err_pernet;
	lemonade_bench_init();
	pr_info("nf_lemonade " LEMONADE_VERSION " loaded\n");
	return 0;

err_pernet:
	lemonade_flow_disable();
	unregister_pernet_subsys(&lemonade_net_ops);
err_flow:
	lemonade_flow_exit();
	return err;
}

static void __exit lemonade_exit(void)
{
	lemonade_bench_exit();
	lemonade_genl_exit();
	lemonade_flow_disable();
	unregister_pernet_subsys(&lemonade_net_ops);
	/* waits for every kfree_rcu() and call_rcu() of the module */
	lemonade_flow_exit();
	pr_info("nf_lemonade unloaded\n");
}

module_init(lemonade_init);
module_exit(lemonade_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nf_lemonade developers");
MODULE_DESCRIPTION("Lemonade-friendly gateway: idle-timeout floor, ICMP soft-error shield, negotiation guard (RFC 5383)");
MODULE_VERSION(LEMONADE_VERSION);
MODULE_ALIAS_GENL_FAMILY(LEMONADE_GENL_NAME);
