// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "lemonctl.h"
#include "nl.h"
#include "spec-gen.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* lemonctl's reply policies: the spec's attribute sets (spec-gen.h) */
const struct nla_policy lemonade_policy[LEMONADE_A_MAX + 1] =
	LEMONADE_GEN_POLICY;
const struct nla_policy lemonade_flow_policy[LEMONADE_FLOW_A_MAX + 1] =
	LEMONADE_GEN_FLOW_POLICY;
const struct nla_policy lemonade_port_policy[LEMONADE_PORT_A_MAX + 1] =
	LEMONADE_GEN_PORT_POLICY;
const struct nla_policy lemonade_stat_policy[LEMONADE_STAT_A_MAX + 1] =
	LEMONADE_GEN_STAT_POLICY;

/*
 * An attribute of uapi/linux/lemonade.h the spec lacks: add it to
 * Documentation/netlink/specs/lemonade.yaml, then "make -C tool gen".
 */
_Static_assert(LEMONADE_A_MAX == LEMONADE_GEN_A_LAST,
	       "lemonade_policy: the spec lacks an attribute");
_Static_assert(LEMONADE_PORT_A_MAX == LEMONADE_GEN_PORT_A_LAST,
	       "lemonade_port_policy: the spec lacks an attribute");
_Static_assert(LEMONADE_FLOW_A_MAX == LEMONADE_GEN_FLOW_A_LAST,
	       "lemonade_flow_policy: the spec lacks an attribute");
_Static_assert(LEMONADE_STAT_A_MAX == LEMONADE_GEN_STAT_A_LAST,
	       "lemonade_stat_policy: the spec lacks a counter");

static struct nl_sock *sk;
static int family = -1;
static int events_grp = -1;	/* the "events" group, from the lookup */
/* What needs CAP_NET_ADMIN, for the EPERM message. */
static const char *perm_what = "changing lemonade configuration";

void lemon_nl_perm_hint(const char *what)
{
	perm_what = what;
}

/* lemonctl's own line for one error of the next request. */
static int own_errno;
static char own_msg[256];

/* An errno the caller handles itself (nothing printed), and the last. */
static int quiet_errno;
static int last_errno;

void lemon_nl_quiet_error(int err)
{
	quiet_errno = err;
}

int lemon_nl_last_error(void)
{
	return last_errno;
}

void lemon_nl_own_error(int err, const char *msg)
{
	own_errno = err;
	snprintf(own_msg, sizeof(own_msg), "%s", msg);
}

/* State of one request/response exchange. */
struct txn {
	bool done;
	int error;		/* positive errno from the kernel */
	bool has_msg, has_offs;
	char msg[512];
	uint32_t offs;
	nl_reply_fn fn;
	void *arg;
	bool reply_failed;
};

/* Like "ip -n": the socket is opened inside the named netns. */
static int enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lemon_err("cannot open network namespace \"%s\": %s (see: ip netns list)",
			  name, strerror(errno));
		return EXIT_FAIL;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		lemon_err("cannot enter network namespace \"%s\": %s",
			  name, strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	return EXIT_OK;
}

static int nl_last_err;	/* libnl error behind -EPROTO, for the message */

/* What the CTRL_CMD_GETFAMILY dump says of our family. */
struct famdump {
	int id;			/* -1: not registered */
	int grp;		/* -1: no "events" group */
};

static void famdump_groups(struct nlattr *groups, struct famdump *f)
{
	struct nlattr *tb[CTRL_ATTR_MCAST_GRP_MAX + 1];
	struct nlattr *g;
	int rem;

	nla_for_each_nested(g, groups, rem) {
		if (nla_parse_nested(tb, CTRL_ATTR_MCAST_GRP_MAX, g, NULL) < 0 ||
		    !tb[CTRL_ATTR_MCAST_GRP_NAME] || !tb[CTRL_ATTR_MCAST_GRP_ID] ||
		    nla_len(tb[CTRL_ATTR_MCAST_GRP_ID]) < (int)sizeof(uint32_t))
			continue;
		if (!strncmp(nla_data(tb[CTRL_ATTR_MCAST_GRP_NAME]),
			     LEMONADE_MCGRP_EVENTS,
			     (size_t)nla_len(tb[CTRL_ATTR_MCAST_GRP_NAME])))
			f->grp = (int)nla_get_u32(tb[CTRL_ATTR_MCAST_GRP_ID]);
	}
}

static int famdump_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	struct famdump *f = arg;
	struct nlattr *name;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, CTRL_ATTR_MAX, NULL) < 0)
		return NL_SKIP;
	name = tb[CTRL_ATTR_FAMILY_NAME];
	if (!name || !tb[CTRL_ATTR_FAMILY_ID] ||
	    nla_len(tb[CTRL_ATTR_FAMILY_ID]) < (int)sizeof(uint16_t) ||
	    strncmp(nla_data(name), LEMONADE_GENL_NAME, (size_t)nla_len(name)))
		return NL_OK;
	f->id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (tb[CTRL_ATTR_MCAST_GROUPS])
		famdump_groups(tb[CTRL_ATTR_MCAST_GROUPS], f);
	return NL_OK;
}

/*
 * The family from a CTRL_CMD_GETFAMILY dump of every registered family.
 * Unlike a GETFAMILY request by name, a dump never makes the kernel try
 * to load a module for a missing family (MODULE_ALIAS_GENL_FAMILY), so
 * reading never loads nf_lemonade.
 */
static int resolve_by_dump(struct famdump *f)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err = -NLE_NOMEM;

	f->id = -1;
	f->grp = -1;
	if (!msg || !cb ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0,
			 NLM_F_DUMP, CTRL_CMD_GETFAMILY, 1))
		goto out;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, famdump_cb, f);
	err = nl_send_auto(sk, msg);
	if (err >= 0)
		err = nl_recvmsgs(sk, cb);
out:
	nlmsg_free(msg);
	if (cb)
		nl_cb_put(cb);
	return err < 0 ? err : 0;
}

/* CAP_NET_ADMIN in the effective set (the module's own check is the
 * kernel's; this only decides whether a change may load the module). */
static bool cap_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_NET_ADMIN)].effective &
	       CAP_TO_MASK(CAP_NET_ADMIN);
}

static int open_socket(bool autoload)
{
	struct famdump f;
	int one = 1;
	int err;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	err = genl_connect(sk);
	if (err < 0)
		goto fail;
	/* Best effort: old kernels lack them and we then print strerror. */
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	err = resolve_by_dump(&f);
	if (err < 0)
		goto fail;
	if (f.id >= 0) {
		family = f.id;
		events_grp = f.grp;
		return 0;
	}
	/*
	 * Not registered. Only a change by a caller with CAP_NET_ADMIN asks
	 * by name, which makes the kernel load nf_lemonade by its alias
	 * (net-pf-16-proto-16-family-lemonade) as "modprobe nf_lemonade" would.
	 */
	err = -NLE_OBJ_NOTFOUND;
	if (autoload && cap_net_admin()) {
		err = genl_ctrl_resolve(sk, LEMONADE_GENL_NAME);
		if (err >= 0) {
			family = err;
			return 0;
		}
	}
fail:
	nl_socket_free(sk);
	sk = NULL;
	nl_last_err = err;
	return err == -NLE_OBJ_NOTFOUND ? -ENOENT : -EPROTO;
}

int lemon_nl_open_quiet(void)
{
	if (sk)
		return 0;
	if (opts.netns && enter_netns(opts.netns))
		return -EINVAL;
	return open_socket(false);
}

static int nl_open(bool autoload)
{
	int err;

	if (sk)
		return EXIT_OK;
	if (opts.netns && enter_netns(opts.netns))
		return EXIT_FAIL;
	err = open_socket(autoload);
	if (!err)
		return EXIT_OK;
	if (err == -ENOENT)
		lemon_err("nf_lemonade is not loaded (try: modprobe nf_lemonade)");
	else if (err == -ENOMEM)
		lemon_err("out of memory");
	else
		lemon_err("cannot reach generic netlink to look up \"%s\": %s",
			  LEMONADE_GENL_NAME, nl_geterror(nl_last_err));
	return EXIT_FAIL;
}

int lemon_nl_open(void)
{
	return nl_open(false);
}

int lemon_nl_open_change(void)
{
	return nl_open(true);
}

void lemon_nl_close(void)
{
	if (sk)
		nl_socket_free(sk);
	sk = NULL;
}

struct nl_msg *lemon_nl_request(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_REQUEST | NLM_F_ACK, cmd,
				 LEMONADE_GENL_VERSION)) {
		nlmsg_free(msg);
		lemon_err("out of memory");
		return NULL;
	}
	return msg;
}

struct nl_msg *lemon_nl_dump_request(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				 NLM_F_REQUEST | NLM_F_DUMP, cmd,
				 LEMONADE_GENL_VERSION)) {
		nlmsg_free(msg);
		lemon_err("out of memory");
		return NULL;
	}
	return msg;
}

struct nlattr *lemon_nl_nest_start(struct nl_msg *msg, int type)
{
	struct nlattr *nest = nla_nest_start(msg, type);

	if (nest)
		nest->nla_type |= NLA_F_NESTED;
	return nest;
}

/* Extended ACK TLVs follow the nlmsgerr (and the echoed request unless
 * NETLINK_CAP_ACK capped it). */
static void parse_ext_ack(struct nlmsghdr *nlh, struct txn *t)
{
	struct nlmsgerr *err = nlmsg_data(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t len = nlh->nlmsg_len;
	size_t ack_len = NLMSG_HDRLEN + sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len < ack_len)
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < NLMSG_HDRLEN)
			return;
		ack_len += err->msg.nlmsg_len - NLMSG_HDRLEN;
	}
	ack_len = NLMSG_ALIGN(ack_len);
	if (len <= ack_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlh + ack_len),
		      (int)(len - ack_len), NULL) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
		const char *s = nla_data(tb[NLMSGERR_ATTR_MSG]);
		size_t n = strnlen(s, (size_t)nla_len(tb[NLMSGERR_ATTR_MSG]));

		if (n >= sizeof(t->msg))
			n = sizeof(t->msg) - 1;
		memcpy(t->msg, s, n);
		t->msg[n] = '\0';
		/* iproute2 style: no trailing newline or full stop doubling */
		while (n && (t->msg[n - 1] == '\n' || t->msg[n - 1] == ' '))
			t->msg[--n] = '\0';
		t->has_msg = n > 0;
	}
	if (tb[NLMSGERR_ATTR_OFFS] &&
	    nla_len(tb[NLMSGERR_ATTR_OFFS]) >= (int)sizeof(uint32_t)) {
		t->offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
		t->has_offs = true;
	}
}

static int err_cb(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)err - NLMSG_HDRLEN);
	struct txn *t = arg;

	(void)nla;
	t->error = err->error < 0 ? -err->error : err->error;
	parse_ext_ack(nlh, t);
	t->done = true;
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct txn *t = arg;

	parse_ext_ack(nlmsg_hdr(msg), t);
	if (t->has_msg)
		lemon_warn("%s", t->msg);
	t->has_msg = false;
	t->has_offs = false;
	t->done = true;
	return NL_STOP;
}

/* The end of a dump: an error met half-way is in its payload. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct txn *t = arg;
	int error;

	t->done = true;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(int))
		return NL_STOP;
	memcpy(&error, nlmsg_data(nlh), sizeof(error));
	if (error < 0) {
		struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
		int off = NLMSG_ALIGN(sizeof(int));

		t->error = -error;
		if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
		    (int)(nlh->nlmsg_len - NLMSG_HDRLEN) > off &&
		    nla_parse(tb, NLMSGERR_ATTR_MAX,
			      (struct nlattr *)((char *)nlmsg_data(nlh) + off),
			      (int)(nlh->nlmsg_len - NLMSG_HDRLEN) - off,
			      NULL) >= 0 &&
		    tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
			snprintf(t->msg, sizeof(t->msg), "%.*s",
				 nla_len(tb[NLMSGERR_ATTR_MSG]),
				 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
			t->has_msg = t->msg[0] != '\0';
		}
	}
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[LEMONADE_A_MAX + 1];
	struct txn *t = arg;
	int err;

	if (!t->fn)
		return NL_OK;
	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, LEMONADE_A_MAX,
			    (struct nla_policy *)lemonade_policy);
	if (err < 0) {
		lemon_err("malformed reply from nf_lemonade: %s",
			  nl_geterror(err));
		t->reply_failed = true;
		return NL_SKIP;
	}
	if (t->fn(tb, t->arg))
		t->reply_failed = true;
	return NL_OK;
}

static bool attr_contains(const struct nlattr *a, const char *base,
			  uint32_t offs)
{
	size_t start = (size_t)((const char *)a - base);

	return offs >= start && offs < start + a->nla_len;
}

static void port_path(struct nlattr *nest, const char *base, uint32_t offs,
		      struct nl_attr_path *path)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) == LEMONADE_PORT_A_PORT &&
		    nla_len(a) >= (int)sizeof(uint16_t))
			path->port = nla_get_u16(a);
		if (attr_contains(a, base, offs))
			path->port_attr = nla_type(a);
	}
}

static void find_path(struct nl_msg *msg, uint32_t offs,
		      struct nl_attr_path *path)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	const char *base = (const char *)nlh;
	struct nlattr *a, *b;
	int rem, rem2;

	path->attr = 0;
	path->port_attr = 0;
	path->port = -1;
	nla_for_each_attr(a, genlmsg_attrdata(gnlh, 0),
			  genlmsg_attrlen(gnlh, 0), rem) {
		if (!attr_contains(a, base, offs))
			continue;
		path->attr = nla_type(a);
		if (path->attr == LEMONADE_A_PORT) {
			port_path(a, base, offs, path);
		} else if (path->attr == LEMONADE_A_PORTS) {
			nla_for_each_nested(b, a, rem2)
				if (attr_contains(b, base, offs))
					port_path(b, base, offs, path);
		}
		return;
	}
}

void lemon_nl_path_words(const struct nl_attr_path *path, char *buf, size_t len)
{
	const char *s = "";

	switch (path->attr) {
	case LEMONADE_A_ENABLED:
		s = "enable";
		break;
	case LEMONADE_A_TIMEOUT:
		s = "timeout";
		break;
	case LEMONADE_A_HIGH_WATER:
		s = "pressure high";
		break;
	case LEMONADE_A_LOW_WATER:
		s = "pressure low";
		break;
	case LEMONADE_A_FORCE:
		s = "force";
		break;
	case LEMONADE_A_ICMP_POLICY:
		s = "icmp";
		break;
	case LEMONADE_A_ICMP_STATES:
		s = "icmp states";
		break;
	case LEMONADE_A_ICMP_VALIDATE:
		s = "icmp validate";
		break;
	case LEMONADE_A_ICMP_V4_CODES:
		s = "icmp codes4";
		break;
	case LEMONADE_A_ICMP_V6_CODES:
		s = "icmp codes6";
		break;
	case LEMONADE_A_GUARD_POLICY:
		s = "guard";
		break;
	case LEMONADE_A_PORTS:
	case LEMONADE_A_PORT:
		if (path->port < 0) {
			s = "port";
			break;
		}
		snprintf(buf, len, "port %d%s", path->port,
			 path->port_attr == LEMONADE_PORT_A_PROTO ? " proto" :
			 path->port_attr == LEMONADE_PORT_A_TIMEOUT ? " timeout" :
			 "");
		return;
	}
	snprintf(buf, len, "%s", s);
}

static void default_where(const struct nl_attr_path *path, void *arg,
			  char *buf, size_t len)
{
	char words[64];

	(void)arg;
	lemon_nl_path_words(path, words, sizeof(words));
	if (words[0])
		snprintf(buf, len, " (in \"%s\")", words);
}

int lemon_nl_transact(struct nl_msg *msg, nl_reply_fn fn, void *arg,
		nl_where_fn where, void *where_arg)
{
	struct txn t = { .fn = fn, .arg = arg };
	char suffix[256] = "";
	struct nl_cb *cb;
	int ret = EXIT_FAIL;
	int err;

	last_errno = 0;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		lemon_err("out of memory");
		goto out;
	}
	nl_cb_err(cb, NL_CB_CUSTOM, err_cb, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &t);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &t);

	err = nl_send_auto(sk, msg);
	if (err < 0) {
		lemon_err("cannot send a request to nf_lemonade: %s",
			  nl_geterror(err));
		goto out;
	}
	while (!t.done) {
		err = nl_recvmsgs(sk, cb);
		if (err < 0 && !t.error) {
			lemon_err("cannot read the answer of nf_lemonade: %s",
				  nl_geterror(err));
			goto out;
		}
	}

	if (!t.error) {
		ret = t.reply_failed ? EXIT_FAIL : EXIT_OK;
		goto out;
	}
	if (t.has_offs) {
		struct nl_attr_path path;

		/*
		 * Only an offset inside a port entry is taken as naming the
		 * culprit: for whole-request checks the module points at
		 * some attribute of the request, not at the one at fault.
		 */
		find_path(msg, t.offs, &path);
		if (path.attr && path.port_attr)
			(where ? where : default_where)(&path, where_arg,
							 suffix, sizeof(suffix));
	}
	last_errno = t.error;
	/* the module's own refusals (limits for user namespaces) say why */
	if (quiet_errno && t.error == quiet_errno)
		;
	else if (own_errno && t.error == own_errno)
		lemon_err("%s", own_msg);
	else if (t.error == EPERM && !t.has_msg)
		lemon_err("Operation not permitted (%s needs CAP_NET_ADMIN in this network namespace)",
			  perm_what);
	else if (t.has_msg)
		lemon_err("%s%s", t.msg, suffix);
	else if (t.error == EOPNOTSUPP)
		lemon_err("Operation not supported (the loaded nf_lemonade does not know this request; is it older than lemonctl %s?)",
			  LEMONADE_VERSION);
	else
		lemon_err("%s%s", strerror(t.error), suffix);
out:
	own_errno = 0;
	quiet_errno = 0;
	if (cb)
		nl_cb_put(cb);
	nlmsg_free(msg);
	return ret;
}

/* ---- events ------------------------------------------------------------ */

struct monitor {
	nl_reply_fn fn;
	void *arg;
	unsigned long seen, count;
	bool failed;
};

static int monitor_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[LEMONADE_A_MAX + 1];
	struct monitor *m = arg;
	struct genlmsghdr *g;

	if (nlh->nlmsg_type != family ||
	    nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return NL_SKIP;
	g = nlmsg_data(nlh);
	if (g->cmd != LEMONADE_CMD_EVENT)
		return NL_SKIP;
	if (genlmsg_parse(nlh, 0, tb, LEMONADE_A_MAX,
			  (struct nla_policy *)lemonade_policy) < 0) {
		lemon_warn("malformed event from nf_lemonade skipped");
		return NL_SKIP;
	}
	if (m->fn(tb, m->arg)) {
		m->failed = true;
		return NL_STOP;
	}
	m->seen++;
	return m->count && m->seen >= m->count ? NL_STOP : NL_OK;
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int lemon_nl_monitor(nl_reply_fn fn, void *arg, unsigned long count,
		     long timeout_ms, volatile sig_atomic_t *stop,
		     const sigset_t *waitmask)
{
	struct monitor m = { .fn = fn, .arg = arg, .count = count };
	long deadline = timeout_ms ? now_ms() + timeout_ms : 0;
	struct nl_cb *cb = NULL;
	int ret = EXIT_FAIL;
	int grp, err;

	grp = events_grp;
	if (grp < 0) {
		lemon_err("the loaded nf_lemonade sends no events (is it older than lemonctl %s?)",
			  LEMONADE_VERSION);
		return EXIT_FAIL;
	}
	err = nl_socket_add_membership(sk, grp);
	if (err == -NLE_PERM) {
		lemon_err("Operation not permitted (watching lemonade events needs CAP_NET_ADMIN in this network namespace)");
		return EXIT_FAIL;
	}
	if (err < 0) {
		lemon_err("cannot join the event group of nf_lemonade: %s",
			  nl_geterror(err));
		return EXIT_FAIL;
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		lemon_err("out of memory");
		return EXIT_FAIL;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, monitor_cb, &m);
	/* events carry no sequence number */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);

	while (!*stop && !m.failed && (!count || m.seen < count)) {
		struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
		struct timespec ts, *tsp = NULL;
		int r;

		if (deadline) {
			long left = deadline - now_ms();

			if (left <= 0)
				break;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000L;
			tsp = &ts;
		}
		/* the signals that stop us are let in only while waiting */
		r = ppoll(&pfd, 1, tsp, waitmask);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			lemon_err("cannot wait for events: %s", strerror(errno));
			goto out;
		}
		if (!r)
			continue;
		err = nl_recvmsgs(sk, cb);
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the socket overflowed */
			lemon_warn("events were lost (lemonctl read them too slowly)");
			continue;
		}
		if (err < 0 && err != -NLE_AGAIN && err != -NLE_INTR) {
			lemon_err("cannot read events from nf_lemonade: %s",
				  nl_geterror(err));
			goto out;
		}
	}
	ret = m.failed ? EXIT_FAIL : EXIT_OK;
out:
	nl_cb_put(cb);
	return ret;
}
