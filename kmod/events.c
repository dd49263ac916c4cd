// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: LEMONADE_CMD_EVENT messages on the "events" multicast group
 * (see uapi/linux/lemonade.h).
 *
 * Events are sent from the packet path, so nothing here sleeps. Without a
 * listener in the netns an event costs one check of the group's listener
 * bitmap. With listeners, at most event_rate events per second and netns
 * are sent (a fixed one-second window, lock-free); the next event sent
 * says how many were dropped.
 */
#include "events.h"
#include "flows.h"

#include <linux/moduleparam.h>
#include <net/genetlink.h>
#include <net/netfilter/nf_conntrack.h>

static unsigned int event_rate = 20;
static struct lemonade_uint_param event_rate_p = {
	&event_rate, 0, 100000, " events per second"
};

module_param_cb(event_rate, &lemonade_uint_range_ops, &event_rate_p, 0644);
MODULE_PARM_DESC(event_rate, "Events sent per second and network namespace at most, 0 = none (0-100000, default 20)");

/* Room for every attribute of an event: flow nest, kind, ICMP, counts. */
#define LEMONADE_EVENT_SIZE	512
/* ... or the whole configuration (64 ports) */
#define LEMONADE_EVENT_CONFIG_SIZE	NLMSG_GOODSIZE

/* The family, registered by netlink.c before any netns can send events. */
static const struct genl_family *lemonade_family __read_mostly;

void lemonade_events_init(const struct genl_family *family)
{
	lemonade_family = family;
}

static bool event_allow(struct lemonade_net *ln, u32 *suppressed)
{
	unsigned int rate = READ_ONCE(event_rate);
	unsigned long start = READ_ONCE(ln->ev_window);
	unsigned long now = jiffies;

	/* unsigned: a zero (never used) window counts as long past */
	if (now - start >= HZ && cmpxchg(&ln->ev_window, start, now) == start)
		atomic_set(&ln->ev_sent, 0);
	if (!rate || atomic_inc_return(&ln->ev_sent) > rate) {
		atomic_inc(&ln->ev_suppressed);
		return false;
	}
	*suppressed = atomic_xchg(&ln->ev_suppressed, 0);
	return true;
}

static struct sk_buff *event_new(u8 kind, u32 suppressed, gfp_t gfp,
				 void **hdr)
{
	struct sk_buff *msg = genlmsg_new(kind == LEMONADE_EVENT_CONFIG ?
					  LEMONADE_EVENT_CONFIG_SIZE :
					  LEMONADE_EVENT_SIZE, gfp);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, lemonade_family, 0, LEMONADE_CMD_EVENT);
	if (!*hdr ||
	    nla_put_u8(msg, LEMONADE_A_EVENT, kind) ||
	    (suppressed &&
	     nla_put_u32(msg, LEMONADE_A_EVENT_SUPPRESSED, suppressed))) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void event_send(struct lemonade_net *ln, struct sk_buff *msg, void *hdr,
		       gfp_t gfp)
{
	genlmsg_end(msg, hdr);
	/* fails only when the last listener has just left */
	genlmsg_multicast_netns(lemonade_family, ln->net, msg, 0, 0, gfp);
}

static bool listened(struct lemonade_net *ln)
{
	/* no family: the kernel cannot restrict the group (netlink.c) */
	return lemonade_family &&
	       genl_has_listeners(lemonade_family, ln->net, 0) > 0;
}

/*
 * An event about @ct, with ICMP type and code unless @icmp is false, and
 * @keyword unless it is NULL.
 */
static void event_flow(struct lemonade_net *ln, const struct lemonade_cfg *cfg,
		       struct nf_conn *ct, u8 kind, bool icmp, u8 type,
		       u8 code, const char *keyword)
{
	const struct lemonade_pin *pin;
	struct lemonade_flow_info f;
	struct sk_buff *msg;
	u32 suppressed;
	void *hdr;

	if (!listened(ln))
		return;
	pin = lemonade_cfg_pin(cfg, ct);
	if (!pin || !event_allow(ln, &suppressed))
		return;
	lemonade_flow_fill(&f, cfg, ct, pin);
	msg = event_new(kind, suppressed, GFP_ATOMIC, &hdr);
	if (!msg)
		return;
	if (lemonade_put_flow(msg, &f) ||
	    (icmp && (nla_put_u8(msg, LEMONADE_A_ICMP_TYPE, type) ||
		      nla_put_u8(msg, LEMONADE_A_ICMP_CODE, code))) ||
	    (keyword && nla_put_string(msg, LEMONADE_A_EVENT_KEYWORD, keyword))) {
		nlmsg_free(msg);
		return;
	}
	event_send(ln, msg, hdr, GFP_ATOMIC);
}

/* An ICMP error about @ct was dropped (@kind says why). */
void lemonade_event_icmp(struct lemonade_net *ln,
			 const struct lemonade_cfg *cfg,
			 struct nf_conn *ct, u8 kind, u8 type, u8 code)
{
	event_flow(ln, cfg, ct, kind, true, type, code, NULL);
}

/* Something about @ct on a listed port (the guard's events). */
void lemonade_event_flow(struct lemonade_net *ln,
			 const struct lemonade_cfg *cfg,
			 struct nf_conn *ct, u8 kind,
			 const char *keyword)
{
	event_flow(ln, cfg, ct, kind, false, 0, 0, keyword);
}

/*
 * The configuration of @ln became @cfg, by command @cmd from the socket
 * @portid (process context, configuration lock held): the whole new
 * configuration, as nft monitor shows ruleset changes.
 */
void lemonade_event_config(struct lemonade_net *ln,
			   const struct lemonade_cfg *cfg, u32 portid, u8 cmd)
{
	char comm[TASK_COMM_LEN];
	struct sk_buff *msg;
	u32 suppressed;
	void *hdr;

	if (!listened(ln) || !event_allow(ln, &suppressed))
		return;
	msg = event_new(LEMONADE_EVENT_CONFIG, suppressed, GFP_KERNEL, &hdr);
	if (!msg)
		return;
	/* the request runs in the context of the process that sent it */
	get_task_comm(comm, current);
	if (nla_put_u32(msg, LEMONADE_A_EVENT_PORTID, portid) ||
	    nla_put_u8(msg, LEMONADE_A_EVENT_CMD, cmd) ||
	    nla_put_u32(msg, LEMONADE_A_EVENT_PID, task_tgid_nr(current)) ||
	    nla_put_string(msg, LEMONADE_A_EVENT_COMM, comm) ||
	    lemonade_cfg_put(msg, cfg)) {
		nlmsg_free(msg);
		return;
	}
	event_send(ln, msg, hdr, GFP_KERNEL);
}

/* One recycling pass released @count idle listed flows (process context). */
void lemonade_event_released(struct lemonade_net *ln, unsigned int count)
{
	struct sk_buff *msg;
	u32 suppressed;
	void *hdr;

	if (!listened(ln) || !event_allow(ln, &suppressed))
		return;
	msg = event_new(LEMONADE_EVENT_PRESSURE_RELEASE, suppressed, GFP_KERNEL,
			&hdr);
	if (!msg)
		return;
	if (nla_put_u32(msg, LEMONADE_A_EVENT_COUNT, count)) {
		nlmsg_free(msg);
		return;
	}
	event_send(ln, msg, hdr, GFP_KERNEL);
}
