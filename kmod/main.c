// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: make a Linux gateway lemonade-friendly (RFC 5383, BCP 143).
 *
 * Module entry points and the per-netns lifecycle.
 */
#include "lemonade.h"
#include "floor.h"
#include "flow.h"
#include "hooks.h"
#include "netlink.h"

#include <linux/module.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

static int __net_init lemonade_net_init(struct net *net)
{
	struct lemonade_net *ln = lemonade_pernet(net);
	struct lemonade_cfg *cfg;
	int err;

	ln->net = net;
	ln->pressure_after = jiffies;
	mutex_init(&ln->lock);
	INIT_DELAYED_WORK(&ln->scan, lemonade_floor_work);
	ln->stats = alloc_percpu(struct lemonade_stats);
	if (!ln->stats)
		return -ENOMEM;
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
	/* flows already open (the module loads into a live netns) */
	mutex_lock(&ln->lock);
	lemonade_flow_adopt(ln, cfg);
	if (rcu_access_pointer(ln->adopted))
		lemonade_scan_kick(ln, HZ);
	mutex_unlock(&ln->lock);
	return 0;

err_cfg:
	set_bit(LEMONADE_F_DYING, &ln->flags);
	cancel_delayed_work_sync(&ln->scan);
	kfree(rcu_dereference_protected(ln->cfg, true));
err_stats:
	free_percpu(ln->stats);
	return err;
}

static void __net_exit lemonade_net_exit(struct net *net)
{
	struct lemonade_net *ln = lemonade_pernet(net);

	lemonade_hooks_unregister(net);
	set_bit(LEMONADE_F_DYING, &ln->flags);
	cancel_delayed_work_sync(&ln->scan);
	/* a live netns (rmmod) keeps its flows: give them back */
	if (check_net(net))
		lemonade_floor_release(ln);
	lemonade_flow_adopt_prune(ln, true);
	/* hooks are gone and netlink cannot reach a dying netns */
	kfree(rcu_dereference_protected(ln->cfg, true));
	free_percpu(ln->stats);
}

static struct pernet_operations lemonade_net_ops = {
	.init = lemonade_net_init,
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
	err = lemonade_genl_init();
	if (err)
		goto err_pernet;
	pr_info("nf_lemonade " LEMONADE_VERSION " loaded\n");
	return 0;

err_pernet:
	unregister_pernet_subsys(&lemonade_net_ops);
err_flow:
	lemonade_flow_exit();
	return err;
}

static void __exit lemonade_exit(void)
{
	lemonade_genl_exit();
	unregister_pernet_subsys(&lemonade_net_ops);
	lemonade_flow_exit();
	/* kfree_rcu of replaced configs must finish before the text goes */
	rcu_barrier();
	pr_info("nf_lemonade unloaded\n");
}

module_init(lemonade_init);
module_exit(lemonade_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("nf_lemonade developers");
MODULE_DESCRIPTION("Lemonade-friendly gateway: idle-timeout floor, ICMP soft-error shield, negotiation guard (RFC 5383)");
MODULE_VERSION(LEMONADE_VERSION);
MODULE_ALIAS_GENL_FAMILY(LEMONADE_GENL_NAME);
