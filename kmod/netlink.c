// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the "lemonade" generic netlink family (see
 * uapi/linux/lemonade.h for the ABI in prose).
 */
#include "lemonade.h"
#include "events.h"
#include "flow.h"
#include "flows.h"
#include "netlink.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/genetlink.h>
#include <net/sock.h>

static struct genl_family lemonade_family;

static const struct nla_policy port_policy[LEMONADE_PORT_A_MAX + 1] = {
	[LEMONADE_PORT_A_PORT]		= NLA_POLICY_MIN(NLA_U16, 1),
	[LEMONADE_PORT_A_PROTO]		= NLA_POLICY_MAX(NLA_U8, LEMONADE_PROTO_MAX),
	[LEMONADE_PORT_A_TIMEOUT]	= { .type = NLA_U32 },
};

static struct netlink_range_validation guard_buffers_range = {
	.max = U16_MAX,
};

static const struct nla_policy set_policy[LEMONADE_A_MAX + 1] = {
	[LEMONADE_A_ENABLED]		= NLA_POLICY_MAX(NLA_U8, 1),
	[LEMONADE_A_TIMEOUT]		= { .type = NLA_U32 },
	[LEMONADE_A_HIGH_WATER]		= NLA_POLICY_RANGE(NLA_U8, 1, 100),
	[LEMONADE_A_LOW_WATER]		= NLA_POLICY_RANGE(NLA_U8, 1, 100),
	[LEMONADE_A_PORTS]		= NLA_POLICY_NESTED_ARRAY(port_policy),
	[LEMONADE_A_FORCE]		= { .type = NLA_FLAG },
	[LEMONADE_A_ICMP_POLICY]	= NLA_POLICY_MAX(NLA_U8, LEMONADE_ICMP_POLICY_MAX),
	[LEMONADE_A_ICMP_STATES]	= NLA_POLICY_MAX(NLA_U8, LEMONADE_ICMP_STATES_MAX),
	[LEMONADE_A_ICMP_V4_CODES]	= { .type = NLA_U32 },
	[LEMONADE_A_ICMP_V6_CODES]	= { .type = NLA_U32 },
	[LEMONADE_A_ICMP_VALIDATE]	= NLA_POLICY_MAX(NLA_U8, 1),
	[LEMONADE_A_GUARD_POLICY]	= NLA_POLICY_MAX(NLA_U8, LEMONADE_GUARD_POLICY_MAX),
	/* NLA_POLICY_MAX() holds an s16 before 6.2: a full range */
	[LEMONADE_A_GUARD_BUFFERS]	= NLA_POLICY_FULL_RANGE(NLA_U32, &guard_buffers_range),
	[LEMONADE_A_GENERATION]		= { .type = NLA_U32 },
};

static const struct nla_policy port_cmd_policy[LEMONADE_A_MAX + 1] = {
	[LEMONADE_A_PORT]		= NLA_POLICY_NESTED(port_policy),
	[LEMONADE_A_FORCE]		= { .type = NLA_FLAG },
	[LEMONADE_A_GENERATION]		= { .type = NLA_U32 },
};

static const struct nla_policy flows_policy[LEMONADE_A_MAX + 1] = {
	[LEMONADE_A_FILTER_PORT]	= NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy empty_policy[LEMONADE_A_MAX + 1] = {
};

static struct lemonade_net *info_ln(struct genl_info *info)
{
	return lemonade_pernet(genl_info_net(info));
}

static struct sk_buff *reply_new(struct genl_info *info, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put_reply(msg, info, &lemonade_family, 0,
				 info->genlhdr->cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int lemonade_get_config(struct sk_buff *skb, struct genl_info *info)
{
	struct lemonade_net *ln = info_ln(info);
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = reply_new(info, &hdr);
	if (!msg)
		return -ENOMEM;
	/* readers never wait for writers (nor the netns's work) */
	rcu_read_lock();
	err = lemonade_cfg_put(msg, rcu_dereference(ln->cfg));
	rcu_read_unlock();
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* Fill @p from a LEMONADE_A_PORT nest. */
static int parse_port(const struct nlattr *attr, struct lemonade_port *p,
		      bool need_port_only, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[LEMONADE_PORT_A_MAX + 1];
	int err;

	err = nla_parse_nested(tb, LEMONADE_PORT_A_MAX, attr, port_policy,
			       extack);
	if (err)
		return err;
	if (!tb[LEMONADE_PORT_A_PORT]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "port entry without a port number");
		NL_SET_ERR_ATTR_MISS(extack, attr, LEMONADE_PORT_A_PORT);
		return -EINVAL;
	}
	memset(p, 0, sizeof(*p));
	p->port = nla_get_u16(tb[LEMONADE_PORT_A_PORT]);
	if (need_port_only)
		return 0;
	if (tb[LEMONADE_PORT_A_PROTO])
		p->proto = nla_get_u8(tb[LEMONADE_PORT_A_PROTO]);
	if (tb[LEMONADE_PORT_A_TIMEOUT]) {
		p->own_timeout = true;
		p->timeout = nla_get_u32(tb[LEMONADE_PORT_A_TIMEOUT]);
	}
	return 0;
}

/* Does @cfg list flows that @old did not (enabled again, or a new port)? */
static bool newly_listed(const struct lemonade_cfg *old,
			 const struct lemonade_cfg *cfg)
{
	unsigned int i, j;

	if (!cfg->enabled)
		return false;
	if (!old->enabled)
		return true;
	for (i = 0, j = 0; i < cfg->nports; i++) {
		/* both port arrays are sorted */
		while (j < old->nports && old->ports[j].port < cfg->ports[i].port)
			j++;
		if (j == old->nports || old->ports[j].port != cfg->ports[i].port)
			return true;
	}
	return false;
}

/* Does some port's pin under @old exceed what @cfg gives it? */
static bool withdrawn(const struct lemonade_cfg *old,
		      const struct lemonade_cfg *cfg)
{
	const struct lemonade_pin *a, *b;
	unsigned int i, j;

	if (!old->enabled)
		return false;
	if (!cfg->enabled)
		return old->nports;
	for (i = 0; i < old->nports; i++) {
		if (!lemonade_cfg_find(cfg, old->ports[i].port, &j))
			return true;
		a = &old->pins[i];
		b = &cfg->pins[j];
		if (a->set > b->set || (a->unlimited && !b->unlimited))
			return true;
	}
	return false;
}

/*
 * Validate @cfg, then publish it; on error nothing changes and the
 * extended ACK points at the attribute that carried the bad part (@port
 * for a port command).
 */
static int commit(struct lemonade_net *ln, struct lemonade_cfg *cfg,
		  const struct sk_buff *skb, struct genl_info *info,
		  const struct nlattr *port)
{
	struct nlattr **tb = info->attrs;
	const struct lemonade_cfg *old;
	struct lemonade_cfg_req rq = {
		.force = !!tb[LEMONADE_A_FORCE],
		/* an administrator of a non-initial user namespace */
		.tenant = !netlink_capable(skb, CAP_NET_ADMIN),
		.extack = info->extack,
		.at = {
			.icmp_v4 = tb[LEMONADE_A_ICMP_V4_CODES],
			.icmp_v6 = tb[LEMONADE_A_ICMP_V6_CODES],
			.timeout = tb[LEMONADE_A_TIMEOUT],
			.marks = tb[LEMONADE_A_LOW_WATER] ?: tb[LEMONADE_A_HIGH_WATER],
			.ports = port ?: tb[LEMONADE_A_PORTS],
			.guard_buffers = tb[LEMONADE_A_GUARD_BUFFERS],
		},
	};
	int err;

	old = rcu_dereference_protected(ln->cfg, lockdep_is_held(&ln->lock));
	rq.old = old;
	/* a read-modify-write names the generation it read (lemonctl -b) */
	if (tb[LEMONADE_A_GENERATION] &&
	    nla_get_u32(tb[LEMONADE_A_GENERATION]) != old->generation) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[LEMONADE_A_GENERATION],
				    "the configuration changed since it was read; read it again");
		kfree(cfg);
		return -ESTALE;
	}
	err = lemonade_cfg_check(cfg, &rq);
	if (!err) {
		bool adopt = newly_listed(old, cfg);

		if (withdrawn(old, cfg)) {
			/* the work hands pinned flows back */
			set_bit(LEMONADE_F_WITHDRAW, &ln->flags);
			lemonade_scan_kick(ln, 0);
		}
		lemonade_cfg_replace(ln, cfg);
		lemonade_event_config(ln, cfg, NETLINK_CB(skb).portid,
				      info->genlhdr->cmd);
		/*
		 * Flows already open on what is now listed are adopted: one
		 * walk of the conntrack table, which only the initial
		 * namespace's administrator may cause.
		 */
		if (adopt && !rq.tenant) {
			lemonade_flow_adopt(ln, cfg);
			lemonade_scan_kick(ln, 0);
		}
		return 0;
	}
	kfree(cfg);
	return err;
}

static struct lemonade_cfg *cfg_copy(struct lemonade_net *ln)
{
	return kmemdup(rcu_dereference_protected(ln->cfg,
						 lockdep_is_held(&ln->lock)),
		       sizeof(struct lemonade_cfg), GFP_KERNEL);
}

static int lemonade_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct lemonade_net *ln = info_ln(info);
	struct nlattr **tb = info->attrs;
	const struct nlattr *attr;
	struct lemonade_cfg *cfg;
	int rem, err = 0;

	mutex_lock(&ln->lock);
	cfg = cfg_copy(ln);
	if (!cfg) {
		err = -ENOMEM;
		goto out;
	}
	if (tb[LEMONADE_A_ENABLED])
		cfg->enabled = nla_get_u8(tb[LEMONADE_A_ENABLED]);
	if (tb[LEMONADE_A_TIMEOUT])
		cfg->timeout = nla_get_u32(tb[LEMONADE_A_TIMEOUT]);
	if (tb[LEMONADE_A_HIGH_WATER])
		cfg->high_water = nla_get_u8(tb[LEMONADE_A_HIGH_WATER]);
	if (tb[LEMONADE_A_LOW_WATER])
		cfg->low_water = nla_get_u8(tb[LEMONADE_A_LOW_WATER]);
	if (tb[LEMONADE_A_ICMP_POLICY])
		cfg->icmp_policy = nla_get_u8(tb[LEMONADE_A_ICMP_POLICY]);
	if (tb[LEMONADE_A_ICMP_STATES])
		cfg->icmp_states = nla_get_u8(tb[LEMONADE_A_ICMP_STATES]);
	if (tb[LEMONADE_A_ICMP_V4_CODES])
		cfg->icmp_v4_codes = nla_get_u32(tb[LEMONADE_A_ICMP_V4_CODES]);
	if (tb[LEMONADE_A_ICMP_V6_CODES])
		cfg->icmp_v6_codes = nla_get_u32(tb[LEMONADE_A_ICMP_V6_CODES]);
	if (tb[LEMONADE_A_ICMP_VALIDATE])
		cfg->icmp_validate = nla_get_u8(tb[LEMONADE_A_ICMP_VALIDATE]);
	if (tb[LEMONADE_A_GUARD_POLICY])
		cfg->guard_policy = nla_get_u8(tb[LEMONADE_A_GUARD_POLICY]);
	if (tb[LEMONADE_A_GUARD_BUFFERS])
		cfg->guard_buffers = nla_get_u32(tb[LEMONADE_A_GUARD_BUFFERS]);
	if (tb[LEMONADE_A_PORTS]) {
		cfg->nports = 0;
		nla_for_each_nested(attr, tb[LEMONADE_A_PORTS], rem) {
			if (nla_type(attr) != LEMONADE_A_PORT) {
				NL_SET_ERR_MSG_ATTR(info->extack, attr,
						    "ports nest holds only port entries");
				err = -EINVAL;
				break;
			}
			if (cfg->nports == LEMONADE_MAX_PORTS) {
				NL_SET_ERR_MSG_ATTR(info->extack, attr,
						    "too many ports (at most 64)");
				err = -E2BIG;
				break;
			}
			err = parse_port(attr, &cfg->ports[cfg->nports++],
					 false, info->extack);
			if (err)
				break;
		}
		if (err) {
			kfree(cfg);
			goto out;
		}
	}
	err = commit(ln, cfg, skb, info, NULL);
out:
	mutex_unlock(&ln->lock);
	return err;
}

static int lemonade_port_change(struct sk_buff *skb, struct genl_info *info)
{
	bool add = info->genlhdr->cmd == LEMONADE_CMD_ADD_PORT;
	struct lemonade_net *ln = info_ln(info);
	struct nlattr *attr = info->attrs[LEMONADE_A_PORT];
	const struct lemonade_port *old;
	struct lemonade_cfg *cfg;
	struct lemonade_port p;
	unsigned int idx;
	int err;

	if (!attr) {
		NL_SET_ERR_MSG(info->extack, "missing port entry (LEMONADE_A_PORT)");
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, LEMONADE_A_PORT);
		return -EINVAL;
	}
	err = parse_port(attr, &p, !add, info->extack);
	if (err)
		return err;
	mutex_lock(&ln->lock);
	cfg = cfg_copy(ln);
	if (!cfg) {
		err = -ENOMEM;
		goto out;
	}
	old = lemonade_cfg_find(cfg, p.port, &idx);
	if (!add && !old) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "port is not listed");
		kfree(cfg);
		err = -ENOENT;
		goto out;
	}
	if (old) {
		cfg->nports--;
		memmove(&cfg->ports[idx], &cfg->ports[idx + 1],
			(cfg->nports - idx) * sizeof(cfg->ports[0]));
	}
	if (add) {
		if (cfg->nports == LEMONADE_MAX_PORTS) {
			NL_SET_ERR_MSG_ATTR(info->extack, attr,
					    "too many ports (at most 64)");
			kfree(cfg);
			err = -E2BIG;
			goto out;
		}
		cfg->ports[cfg->nports++] = p;
	}
	err = commit(ln, cfg, skb, info, attr);
out:
	mutex_unlock(&ln->lock);
	return err;
}

static int lemonade_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct lemonade_net *ln = info_ln(info);
	u64 cnt[LEMONADE_NSTATS];
	struct sk_buff *msg;
	struct nlattr *nest;
	unsigned int i;
	void *hdr;

	msg = reply_new(info, &hdr);
	if (!msg)
		return -ENOMEM;
	/* the sums and the reset baseline together */
	mutex_lock(&ln->lock);
	lemonade_stats_read(ln, cnt);
	for (i = 0; i < LEMONADE_NSTATS; i++)
		cnt[i] -= ln->stats_base[i];
	mutex_unlock(&ln->lock);
	/* gauges: values now */
	cnt[LEMONADE_STAT(LEMONADE_STAT_A_LISTED)] = atomic_read(&ln->nlinked);
	cnt[LEMONADE_STAT(LEMONADE_STAT_A_GUARD_BUFFERS)] =
		atomic_read(&ln->nnegs);
	nest = nla_nest_start(msg, LEMONADE_A_STATS);
	if (!nest)
		goto nospace;
	for (i = 0; i < LEMONADE_NSTATS; i++)
		if (nla_put_u64_64bit(msg, LEMONADE_STAT_A_FIRST + i, cnt[i],
				      LEMONADE_STAT_A_PAD))
			goto nospace;
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

nospace:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int lemonade_reset_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct lemonade_net *ln = info_ln(info);

	mutex_lock(&ln->lock);
	lemonade_stats_read(ln, ln->stats_base);
	mutex_unlock(&ln->lock);
	return 0;
}

/* A flows dump: the snapshot in cb->args[0], the next flow in cb->args[1]. */
static int lemonade_flows_start(struct netlink_callback *cb)
{
	const struct nlattr *attr;
	struct lemonade_flow_list *d;
	u16 port = 0;
	int err;

	/* the core has validated the request against the op's policy */
	attr = nlmsg_find_attr(cb->nlh, GENL_HDRLEN, LEMONADE_A_FILTER_PORT);
	if (attr)
		port = nla_get_u16(attr);
	d = lemonade_flows_collect(sock_net(cb->skb->sk), port, cb->extack, &err);
	if (!d)
		return err;
	cb->args[0] = (long)d;
	cb->args[1] = 0;
	return 0;
}

static int lemonade_flows_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct lemonade_flow_list *d = (const void *)cb->args[0];
	unsigned int i;
	void *hdr;

	for (i = cb->args[1]; i < d->n; i++) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &lemonade_family,
				  NLM_F_MULTI, LEMONADE_CMD_GET_FLOWS);
		if (!hdr)
			break;
		if (lemonade_put_flow(skb, &d->flows[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	cb->args[1] = i;
	/* an empty skb ends the dump */
	return skb->len;
}

static int lemonade_flows_done(struct netlink_callback *cb)
{
	kvfree((void *)cb->args[0]);
	cb->args[0] = 0;
	return 0;
}

static const struct genl_ops lemonade_genl_ops[] = {
	{
		.cmd	= LEMONADE_CMD_GET_CONFIG,
		.doit	= lemonade_get_config,
		.policy	= empty_policy,
		.maxattr = LEMONADE_A_MAX,
	},
	{
		.cmd	= LEMONADE_CMD_SET_CONFIG,
		.doit	= lemonade_set_config,
		.policy	= set_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= LEMONADE_CMD_ADD_PORT,
		.doit	= lemonade_port_change,
		.policy	= port_cmd_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= LEMONADE_CMD_DEL_PORT,
		.doit	= lemonade_port_change,
		.policy	= port_cmd_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		/* counters move with traffic: an oracle for unprivileged users */
		.cmd	= LEMONADE_CMD_GET_STATS,
		.doit	= lemonade_get_stats,
		.policy	= empty_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= LEMONADE_CMD_RESET_STATS,
		.doit	= lemonade_reset_stats,
		.policy	= empty_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		/* flows of other users: CAP_NET_ADMIN, like conntrack -L */
		.cmd	= LEMONADE_CMD_GET_FLOWS,
		.start	= lemonade_flows_start,
		.dumpit	= lemonade_flows_dump,
		.done	= lemonade_flows_done,
		.policy	= flows_policy,
		.maxattr = LEMONADE_A_MAX,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
};

static const struct genl_multicast_group lemonade_mcgrps[] = {
	/* events.c sends to group 0 */
	{ .name = LEMONADE_MCGRP_EVENTS, LEMONADE_MCGRP_ADMIN },
};

static struct genl_family lemonade_family __ro_after_init = {
	.name		= LEMONADE_GENL_NAME,
	.version	= LEMONADE_GENL_VERSION,
	.maxattr	= LEMONADE_A_MAX,
	.netnsok	= true,
	/*
	 * Handlers take their netns's own lock: no request waits for the
	 * global genl_mutex, and none holds it while a dump starts.
	 */
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.ops		= lemonade_genl_ops,
	.n_ops		= ARRAY_SIZE(lemonade_genl_ops),
	.mcgrps		= lemonade_mcgrps,
	/* not where anyone could join the group (compat.h) */
	.n_mcgrps	= LEMONADE_MCGRP_CAN_RESTRICT ? ARRAY_SIZE(lemonade_mcgrps) : 0,
	LEMONADE_GENL_STRICT_FROM(LEMONADE_CMD_UNSPEC + 1)
};

int __init lemonade_genl_init(void)
{
	if (!LEMONADE_MCGRP_CAN_RESTRICT)
		pr_warn("no events group: this kernel would let any local user join it and see the listed flows' addresses\n");
	lemonade_events_init(LEMONADE_MCGRP_CAN_RESTRICT ? &lemonade_family : NULL);
	return genl_register_family(&lemonade_family);
}

void lemonade_genl_exit(void)
{
	genl_unregister_family(&lemonade_family);
}
