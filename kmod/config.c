// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: per-netns configuration, its load-time defaults and the
 * per-CPU counters.
 */
#include "lemonade.h"

#include <linux/netlink.h>
#include <net/netlink.h>
#include <net/netfilter/nf_conntrack.h>

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/bits.h>

unsigned int lemonade_net_id __read_mostly;

static unsigned short ports[LEMONADE_MAX_PORTS] = { 143, 587, 674 };
static unsigned int nports = 3;
module_param_array(ports, ushort, &nports, 0444);
MODULE_PARM_DESC(ports, "TCP server ports covered in every netns (default 143,587,674)");

static unsigned int timeout = LEMONADE_RFC5382_MIN_TIMEOUT;
module_param(timeout, uint, 0444);
MODULE_PARM_DESC(timeout, "Idle-timeout floor in seconds, 0 = unlimited (default 7440)");

static unsigned int high_water = 90;
module_param(high_water, uint, 0444);
MODULE_PARM_DESC(high_water, "Recycle idle listed flows above this percent of nf_conntrack_max (default 90)");

static unsigned int low_water = 80;
module_param(low_water, uint, 0444);
MODULE_PARM_DESC(low_water, "Recycle down to this percent of nf_conntrack_max (default 80)");

static bool enable = true;
module_param(enable, bool, 0444);
MODULE_PARM_DESC(enable, "Enforce the policy in every netns from the start (default Y)");

static char *icmp_policy = "absorb";
module_param(icmp_policy, charp, 0444);
MODULE_PARM_DESC(icmp_policy, "ICMP soft errors on listed flows: absorb (drop, count) or pass (count) (default absorb)");

static char *icmp_states = "established";
module_param(icmp_states, charp, 0444);
MODULE_PARM_DESC(icmp_states, "TCP states the ICMP shield covers: established or all (default established)");

static unsigned short icmp_v4_codes[16] = { 0, 1, 5 };
static unsigned int n_icmp_v4_codes = 3;
module_param_array(icmp_v4_codes, ushort, &n_icmp_v4_codes, 0444);
MODULE_PARM_DESC(icmp_v4_codes, "Soft ICMPv4 destination-unreachable codes (default 0,1,5; never 4)");

static unsigned short icmp_v6_codes[8] = { 0, 2, 3 };
static unsigned int n_icmp_v6_codes = 3;
module_param_array(icmp_v6_codes, ushort, &n_icmp_v6_codes, 0444);
MODULE_PARM_DESC(icmp_v6_codes, "Soft ICMPv6 destination-unreachable codes (default 0,2,3)");

static bool icmp_validate;
module_param(icmp_validate, bool, 0444);
MODULE_PARM_DESC(icmp_validate, "Drop ICMP errors quoting an out-of-window sequence number (RFC 5927) (default N)");

static char *guard_policy = "restore";
module_param(guard_policy, charp, 0444);
MODULE_PARM_DESC(guard_policy, "What the negotiation guard does about a stripped capability: restore, reset, log or off (default restore)");

static unsigned int guard_buffers = 256;
module_param(guard_buffers, uint, 0444);
MODULE_PARM_DESC(guard_buffers, "Negotiations the guard inspects at once in each netns, 0-65535 (default 256; see also guard_buffers_max)");

static const char *const guard_names[] = {
	[LEMONADE_GUARD_RESTORE]	= "restore",
	[LEMONADE_GUARD_RESET]		= "reset",
	[LEMONADE_GUARD_LOG]		= "log",
	[LEMONADE_GUARD_OFF]		= "off",
};

static int guard_value(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(guard_names); i++)
		if (!strcmp(name, guard_names[i]))
			return i;
	return -EINVAL;
}

static u32 code_mask(const unsigned short *codes, unsigned int n)
{
	u32 mask = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		mask |= codes[i] < 32 ? BIT(codes[i]) : BIT(31);
	return mask;
}

static u8 default_proto(u16 port)
{
	switch (port) {
	case 143:
		return LEMONADE_PROTO_IMAP;
	case 587:
		return LEMONADE_PROTO_SMTP;
	case 674:
		return LEMONADE_PROTO_ACAP;
	}
	return LEMONADE_PROTO_NONE;
}

/* Longest floor in seconds whose pin still fits a relative timeout. */
static u32 max_floor(void)
{
	return LEMONADE_PIN_MAX / HZ - LEMONADE_PIN_GRACE;
}

static void set_pin(struct lemonade_pin *pin, u32 secs)
{
	if (!secs) {
		pin->unlimited = true;
		pin->set = LEMONADE_PIN_MAX;
		/* re-pin on any packet after an hour of the budget is used */
		pin->low = LEMONADE_PIN_MAX - 3600 * HZ;
		return;
	}
	pin->unlimited = false;
	pin->low = secs * HZ;
	pin->set = (secs + LEMONADE_PIN_GRACE) * HZ;
}

static int cmp_port(const void *a, const void *b)
{
	const struct lemonade_port *pa = a, *pb = b;

	return (int)pa->port - (int)pb->port;
}

/*
 * A writable (0644) unsigned module parameter within [min, max]: refused
 * with a message, and left unchanged, at load as at run time.
 */
static int uint_range_set(const char *val, const struct kernel_param *kp)
{
	const struct lemonade_uint_param *p = kp->arg;
	unsigned int v;
	int err = kstrtouint(val, 0, &v);

	if (err)
		return err;
	if (v < p->min || v > p->max) {
		pr_err("%s is %u..%u%s\n", kp->name, p->min, p->max, p->unit);
		return -ERANGE;
	}
	WRITE_ONCE(*p->val, v);
	return 0;
}

static int uint_range_get(char *buf, const struct kernel_param *kp)
{
	const struct lemonade_uint_param *p = kp->arg;

	return sysfs_emit(buf, "%u\n", READ_ONCE(*p->val));
}

const struct kernel_param_ops lemonade_uint_range_ops = {
	.set = uint_range_set,
	.get = uint_range_get,
};

/* What an administrator of a non-initial user namespace may set. */
static unsigned int userns_max_floor = 86400;
module_param(userns_max_floor, uint, 0444);
MODULE_PARM_DESC(userns_max_floor, "Longest floor in seconds a user namespace's administrator may set (default 86400; never unlimited)");

static unsigned int userns_max_ports = 16;
module_param(userns_max_ports, uint, 0444);
MODULE_PARM_DESC(userns_max_ports, "Ports a user namespace's administrator may list (default 16)");

/* Did @old already have floor @secs for @port (0: the global floor)? */
static bool floor_kept(const struct lemonade_cfg *old, u16 port, u32 secs)
{
	unsigned int i;

	if (!old)
		return false;
	if (!port)
		return old->timeout == secs;
	for (i = 0; i < old->nports; i++)
		if (old->ports[i].port == port)
			return old->ports[i].own_timeout &&
			       old->ports[i].timeout == secs;
	return false;
}

/*
 * May the request set floor @secs for @port (0: the global floor)? A floor
 * below RFC 5382's minimum needs force, and a tenant (an administrator of
 * a non-initial user namespace) gets neither unlimited nor a floor above
 * userns_max_floor, unless the configuration already had it: a change
 * elsewhere must not trip over it.
 */
static int check_floor(const struct lemonade_cfg_req *rq,
		       const struct nlattr *attr, u16 port, u32 secs)
{
	if (floor_kept(rq->old, port, secs))
		return 0;
	if (secs && secs < LEMONADE_RFC5382_MIN_TIMEOUT && !rq->force) {
		if (port)
			NL_SET_ERR_MSG_ATTR(rq->extack, attr,
					    "port timeout below 7440 s violates RFC 5382 REQ-5; set force to override");
		else
			NL_SET_ERR_MSG_ATTR(rq->extack, attr,
					    "timeout below 7440 s violates RFC 5382 REQ-5; set force to override");
		return -EINVAL;
	}
	if (rq->tenant && !secs) {
		NL_SET_ERR_MSG_ATTR(rq->extack, attr,
				    "a user namespace may not set an unlimited floor");
		return -EPERM;
	}
	if (rq->tenant && secs > userns_max_floor) {
		NL_SET_ERR_MSG_ATTR(rq->extack, attr,
				    "a user namespace may not set a floor above the module parameter userns_max_floor");
		return -EPERM;
	}
	return 0;
}

/*
 * Validate @cfg and derive its hot-path fields. On error the extended ACK
 * says what is wrong and points at the attribute that carried it, and
 * @cfg must not be used.
 */
int lemonade_cfg_check(struct lemonade_cfg *cfg, const struct lemonade_cfg_req *rq)
{
	const struct lemonade_cfg_attrs *at = &rq->at;
	struct netlink_ext_ack *extack = rq->extack;
	unsigned int i;
	int err;

	if (cfg->icmp_v4_codes & BIT(LEMONADE_ICMP_V4_FRAG_NEEDED)) {
		NL_SET_ERR_MSG_ATTR(extack, at->icmp_v4,
				    "ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed");
		return -EINVAL;
	}
	if (cfg->icmp_v4_codes & ~GENMASK(15, 0)) {
		NL_SET_ERR_MSG_ATTR(extack, at->icmp_v4,
				    "ICMPv4 destination-unreachable codes are 0..15");
		return -EINVAL;
	}
	if (cfg->icmp_v6_codes & ~GENMASK(7, 0)) {
		NL_SET_ERR_MSG_ATTR(extack, at->icmp_v6,
				    "ICMPv6 destination-unreachable codes are 0..7");
		return -EINVAL;
	}
	if (cfg->nports > LEMONADE_MAX_PORTS) {
		NL_SET_ERR_MSG_ATTR(extack, at->ports, "too many ports (at most 64)");
		return -E2BIG;
	}
	if (rq->tenant && cfg->nports > userns_max_ports &&
	    (!rq->old || cfg->nports > rq->old->nports)) {
		NL_SET_ERR_MSG_ATTR(extack, at->ports,
				    "a user namespace may not list more ports than the module parameter userns_max_ports");
		return -EPERM;
	}
	if (cfg->low_water >= cfg->high_water || cfg->high_water > 100 ||
	    !cfg->low_water) {
		NL_SET_ERR_MSG_ATTR(extack, at->marks,
				    "pressure marks need 0 < low < high <= 100 (percent of nf_conntrack_max)");
		return -EINVAL;
	}
	if (rq->tenant && cfg->guard_buffers > guard_buffers &&
	    (!rq->old || cfg->guard_buffers > rq->old->guard_buffers)) {
		NL_SET_ERR_MSG_ATTR(extack, at->guard_buffers,
				    "a user namespace may not raise guard buffers above the module's default");
		return -EPERM;
	}
	if (cfg->timeout > max_floor()) {
		NL_SET_ERR_MSG_ATTR(extack, at->timeout,
				    "timeout too long to store in conntrack; use unlimited (0)");
		return -ERANGE;
	}
	err = check_floor(rq, at->timeout, 0, cfg->timeout);
	if (err)
		return err;
	sort(cfg->ports, cfg->nports, sizeof(cfg->ports[0]), cmp_port, NULL);
	cfg->any_unlimited = !cfg->timeout;
	for (i = 0; i < cfg->nports; i++) {
		const struct lemonade_port *p = &cfg->ports[i];
		u32 secs = p->own_timeout ? p->timeout : cfg->timeout;

		if (!p->port) {
			NL_SET_ERR_MSG_ATTR(extack, at->ports, "port 0 cannot be listed");
			return -EINVAL;
		}
		if (i && p->port == cfg->ports[i - 1].port) {
			NL_SET_ERR_MSG_ATTR(extack, at->ports, "a port is listed twice");
			return -EEXIST;
		}
		if (p->proto > LEMONADE_PROTO_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, at->ports, "unknown protocol tag");
			return -EINVAL;
		}
		if (secs > max_floor()) {
			NL_SET_ERR_MSG_ATTR(extack, at->ports,
					    "port timeout too long to store in conntrack; use unlimited (0)");
			return -ERANGE;
		}
		if (p->own_timeout) {
			err = check_floor(rq, at->ports, p->port, secs);
			if (err)
				return err;
		}
		set_pin(&cfg->pins[i], secs);
		if (!secs)
			cfg->any_unlimited = true;
	}
	return 0;
}

struct lemonade_cfg *lemonade_cfg_default(void)
{
	struct lemonade_cfg_req rq = { .force = true };
	struct lemonade_cfg *cfg;
	unsigned int i;

	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return NULL;
	cfg->enabled = enable;
	cfg->timeout = timeout;
	cfg->high_water = high_water;
	cfg->low_water = low_water;
	cfg->icmp_policy = strcmp(icmp_policy, "pass") ? LEMONADE_ICMP_ABSORB :
							   LEMONADE_ICMP_PASS;
	cfg->icmp_states = strcmp(icmp_states, "all") ? LEMONADE_ICMP_ESTABLISHED :
							  LEMONADE_ICMP_ALL;
	cfg->icmp_validate = icmp_validate;
	cfg->icmp_v4_codes = code_mask(icmp_v4_codes, n_icmp_v4_codes);
	cfg->icmp_v6_codes = code_mask(icmp_v6_codes, n_icmp_v6_codes);
	/* validated at load time */
	cfg->guard_policy = max(guard_value(guard_policy), 0);
	cfg->guard_buffers = guard_buffers;
	cfg->nports = nports;
	for (i = 0; i < nports; i++) {
		cfg->ports[i].port = ports[i];
		cfg->ports[i].proto = default_proto(ports[i]);
	}
	/* parameters were validated at load time */
	if (WARN_ON(lemonade_cfg_check(cfg, &rq))) {
		kfree(cfg);
		return NULL;
	}
	return cfg;
}

int lemonade_params_check(void)
{
	struct netlink_ext_ack ext = {};
	struct lemonade_cfg_req rq = { .force = true, .extack = &ext };
	struct lemonade_cfg *cfg;
	unsigned int i;
	int err;

	if (high_water > 100 || low_water > 100) {
		pr_err("high_water and low_water are percentages (0-100)\n");
		return -EINVAL;
	}
	if ((strcmp(icmp_policy, "absorb") && strcmp(icmp_policy, "pass")) ||
	    (strcmp(icmp_states, "established") && strcmp(icmp_states, "all"))) {
		pr_err("icmp_policy is absorb or pass, icmp_states established or all\n");
		return -EINVAL;
	}
	if (guard_value(guard_policy) < 0) {
		pr_err("guard_policy is restore, reset, log or off\n");
		return -EINVAL;
	}
	if (guard_buffers > U16_MAX) {
		pr_err("guard_buffers is 0..65535\n");
		return -EINVAL;
	}
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg)
		return -ENOMEM;
	cfg->icmp_v4_codes = code_mask(icmp_v4_codes, n_icmp_v4_codes);
	cfg->icmp_v6_codes = code_mask(icmp_v6_codes, n_icmp_v6_codes);
	cfg->timeout = timeout;
	cfg->high_water = high_water;
	cfg->low_water = low_water;
	cfg->nports = nports;
	for (i = 0; i < nports; i++)
		cfg->ports[i].port = ports[i];
	err = lemonade_cfg_check(cfg, &rq);
	kfree(cfg);
	if (err) {
		pr_err("invalid module parameters: %s\n", ext._msg);
		return err;
	}
	if (timeout && timeout < LEMONADE_RFC5382_MIN_TIMEOUT)
		pr_warn("timeout=%u is below RFC 5382 REQ-5's 7440 s\n", timeout);
	return 0;
}

/* The entry of @port in @cfg (sorted by port), and its index. */
const struct lemonade_port *lemonade_cfg_find(const struct lemonade_cfg *cfg,
					      u16 port, unsigned int *idx)
{
	unsigned int lo = 0, hi = cfg->nports;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (cfg->ports[mid].port == port) {
			*idx = mid;
			return &cfg->ports[mid];
		}
		if (cfg->ports[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The listed port of a flow: the server port as the client addressed it,
 * or as the server sees it after DNAT. Returns the pin to apply, or NULL.
 */
const struct lemonade_pin *lemonade_cfg_pin(const struct lemonade_cfg *cfg,
					    const struct nf_conn *ct)
{
	const struct nf_conntrack_tuple *o, *r;
	unsigned int idx;

	o = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	if (lemonade_cfg_find(cfg, ntohs(o->dst.u.tcp.port), &idx))
		return &cfg->pins[idx];
	r = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	if (r->src.u.tcp.port != o->dst.u.tcp.port &&
	    lemonade_cfg_find(cfg, ntohs(r->src.u.tcp.port), &idx))
		return &cfg->pins[idx];
	return NULL;
}

static int put_port(struct sk_buff *msg, const struct lemonade_port *p)
{
	struct nlattr *nest = nla_nest_start(msg, LEMONADE_A_PORT);

	if (!nest ||
	    nla_put_u16(msg, LEMONADE_PORT_A_PORT, p->port) ||
	    nla_put_u8(msg, LEMONADE_PORT_A_PROTO, p->proto) ||
	    (p->own_timeout &&
	     nla_put_u32(msg, LEMONADE_PORT_A_TIMEOUT, p->timeout)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

/* @cfg as LEMONADE_CMD_GET_CONFIG replies it (and the CONFIG event). */
int lemonade_cfg_put(struct sk_buff *msg, const struct lemonade_cfg *cfg)
{
	struct nlattr *ports;
	unsigned int i;

	if (nla_put_string(msg, LEMONADE_A_VERSION, LEMONADE_VERSION) ||
	    nla_put_u8(msg, LEMONADE_A_ENABLED, cfg->enabled) ||
	    nla_put_u32(msg, LEMONADE_A_TIMEOUT, cfg->timeout) ||
	    nla_put_u8(msg, LEMONADE_A_HIGH_WATER, cfg->high_water) ||
	    nla_put_u8(msg, LEMONADE_A_LOW_WATER, cfg->low_water) ||
	    nla_put_u8(msg, LEMONADE_A_ICMP_POLICY, cfg->icmp_policy) ||
	    nla_put_u8(msg, LEMONADE_A_ICMP_STATES, cfg->icmp_states) ||
	    nla_put_u32(msg, LEMONADE_A_ICMP_V4_CODES, cfg->icmp_v4_codes) ||
	    nla_put_u32(msg, LEMONADE_A_ICMP_V6_CODES, cfg->icmp_v6_codes) ||
	    nla_put_u8(msg, LEMONADE_A_ICMP_VALIDATE, cfg->icmp_validate) ||
	    nla_put_u8(msg, LEMONADE_A_GUARD_POLICY, cfg->guard_policy) ||
	    nla_put_u32(msg, LEMONADE_A_GUARD_BUFFERS, cfg->guard_buffers) ||
	    nla_put_u32(msg, LEMONADE_A_PORTS_MAX, LEMONADE_MAX_PORTS) ||
	    nla_put_u32(msg, LEMONADE_A_GENERATION, cfg->generation))
		return -EMSGSIZE;
	ports = nla_nest_start(msg, LEMONADE_A_PORTS);
	if (!ports)
		return -EMSGSIZE;
	for (i = 0; i < cfg->nports; i++)
		if (put_port(msg, &cfg->ports[i]))
			return -EMSGSIZE;
	nla_nest_end(msg, ports);
	return 0;
}

/* Caller holds ln->lock; @cfg has passed lemonade_cfg_check(). */
void lemonade_cfg_replace(struct lemonade_net *ln, struct lemonade_cfg *cfg)
{
	struct lemonade_cfg *old;

	old = rcu_dereference_protected(ln->cfg, lockdep_is_held(&ln->lock));
	/* every change a new generation (nftables' gen-id): stale writes fail */
	cfg->generation = old ? old->generation + 1 : 1;
	rcu_assign_pointer(ln->cfg, cfg);
	if (old)
		kfree_rcu(old, rcu);
	if (cfg->enabled && cfg->any_unlimited) {
		/* re-arm now, whatever the last pass left */
		WRITE_ONCE(ln->rearm_at, jiffies);
		lemonade_scan_kick(ln, 0);
	}
}

/* The counters summed over all CPUs (a CPU's set read consistently). */
void lemonade_stats_read(struct lemonade_net *ln, u64 *out)
{
	u64 v[LEMONADE_NSTATS];
	unsigned int cpu, i, start;

	memset(out, 0, sizeof(u64) * LEMONADE_NSTATS);
	for_each_possible_cpu(cpu) {
		const struct lemonade_stats *s = per_cpu_ptr(ln->stats, cpu);

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i < LEMONADE_NSTATS; i++)
				v[i] = u64_stats_read(&s->cnt[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < LEMONADE_NSTATS; i++)
			out[i] += v[i];
	}
}
