// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the kernel side, for testing lemonctl where nf_lemonade
 * cannot be loaded. LD_PRELOAD it: it takes over NETLINK_GENERIC sockets
 * and answers the "nlctrl" family lookup and the lemonade commands as
 * uapi/linux/lemonade.h describes them, with strict checks on what the
 * tool sends (flags, NLA_F_NESTED, exact lengths, no unknown attributes).
 *
 * It is a model of the ABI, not of nf_lemonade: where the header leaves
 * something open (the protocol of a port added without "proto") it picks
 * one answer (none).
 *
 * Environment:
 *   NLMOCK_STATE  file holding the configuration between runs (required)
 *   NLMOCK_LOG    file to which every request is appended, decoded
 *   NLMOCK_NOFAMILY=1  the family is not registered (module not loaded)
 *   NLMOCK_AUTOLOAD=1  ... but a GETFAMILY request by name loads it
 *   NLMOCK_NOGROUP=1   the family has no "events" group (older module)
 *   NLMOCK_CTRL_LOG    file to which every "nlctrl" request is appended
 *   NLMOCK_EPERM=1     changes are refused with EPERM, as without
 *                      CAP_NET_ADMIN (no extack, like genetlink)
 *   NLMOCK_WARN=1      successful changes carry an extack warning
 *   NLMOCK_NOCAP=1     ignore NETLINK_CAP_ACK (errors echo the request)
 *   NLMOCK_NOEXTACK=1  ignore NETLINK_EXT_ACK (errors carry no message)
 *   NLMOCK_HZ=N        HZ of the kernel modelled (default 250): the
 *                      longest floor is INT_MAX / HZ - 5 seconds
 *   NLMOCK_SHORTSTAT=N GET_STATS sends counter attribute N as a u32
 *                      (malformed: the ABI says u64)
 *   NLMOCK_EVENTS=1    joining the "events" group queues three events
 *                      (see queue_events); joining it needs no privilege
 *                      unless NLMOCK_EPERM=1
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/lemonade.h>

#define FAMILY_ID	0x42
#define MOCK_PORTID	4242
#define EVENTS_GRP	7
#define MAXPORTS_STATE	256

struct mport {
	uint16_t port;
	uint8_t proto;
	bool has_timeout;
	uint32_t timeout;
};

struct mstate {
	uint8_t enabled;
	uint32_t timeout;
	uint8_t high, low;
	uint8_t icmp_policy, icmp_states, icmp_validate, guard;
	uint32_t v4, v6;
	uint32_t buffers, generation;
	size_t nports;
	struct mport ports[MAXPORTS_STATE];
	uint64_t stats[LEMONADE_STAT_A_MAX + 1];
};

static int mock_fd = -1;
static bool ext_ack, cap_ack;

/* replies waiting to be read, one datagram each */
static struct {
	unsigned char *data;
	size_t len;
} queue[32];
static size_t qhead, qlen;

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "nlmock: no %s\n", name);
		abort();
	}
	return f;
}

static void logf_(const char *fmt, ...)
{
	const char *path = getenv("NLMOCK_LOG");
	va_list ap;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* ---- state file ---------------------------------------------------- */

static void state_default(struct mstate *s)
{
	memset(s, 0, sizeof(*s));
	s->enabled = 1;
	s->timeout = 7440;
	s->high = 90;
	s->low = 80;
	s->v4 = 0x23;		/* 0, 1, 5 */
	s->v6 = 0x0d;		/* 0, 2, 3 */
	s->buffers = 256;
	s->generation = 1;
	s->nports = 3;
	s->ports[0] = (struct mport){ 143, LEMONADE_PROTO_IMAP, false, 0 };
	s->ports[1] = (struct mport){ 587, LEMONADE_PROTO_SMTP, false, 0 };
	s->ports[2] = (struct mport){ 674, LEMONADE_PROTO_ACAP, false, 0 };
	s->stats[LEMONADE_STAT_A_PINNED] = 12;
	s->stats[LEMONADE_STAT_A_REARMED] = 3;
	s->stats[LEMONADE_STAT_A_RECYCLED] = 4;
	s->stats[LEMONADE_STAT_A_PRESSURE_EVENTS] = 1;
	s->stats[LEMONADE_STAT_A_RELEASED_UNLOAD] = 18446744073709551615ull;
	s->stats[LEMONADE_STAT_A_MARKED] = 7;
	s->stats[LEMONADE_STAT_A_ICMP_ABSORBED] = 5;
	s->stats[LEMONADE_STAT_A_ICMP_PASSED] = 2;
	s->stats[LEMONADE_STAT_A_ICMP_INVALID] = 1;
	s->stats[LEMONADE_STAT_A_GUARD_INSPECTED] = 634;
	s->stats[LEMONADE_STAT_A_GUARD_STRIP_DETECTED] = 6;
	s->stats[LEMONADE_STAT_A_GUARD_RESTORED] = 5;
	s->stats[LEMONADE_STAT_A_GUARD_RESET] = 4;
	s->stats[LEMONADE_STAT_A_GUARD_PARTIAL_BLOCK] = 3;
	s->stats[LEMONADE_STAT_A_GUARD_UPSTREAM_MASKED] = 2;
	s->stats[LEMONADE_STAT_A_GUARD_SKIPPED] = 9;
	s->stats[LEMONADE_STAT_A_GUARD_STALE] = 8;
	s->stats[LEMONADE_STAT_A_GUARD_ABANDONED] = 10;
	s->stats[LEMONADE_STAT_A_GUARD_DEFERRED] = 11;
	s->stats[LEMONADE_STAT_A_RELEASED_POLICY] = 13;
	s->stats[LEMONADE_STAT_A_ICMP_UNVALIDATED] = 14;
	s->stats[LEMONADE_STAT_A_LISTED] = 15;
	s->stats[LEMONADE_STAT_A_GUARD_BUFFERS] = 16;
	s->stats[LEMONADE_STAT_A_GUARD_UNINSPECTED] = 17;
}

static void state_load(struct mstate *s)
{
	const char *path = getenv("NLMOCK_STATE");
	char line[256];
	FILE *f;

	state_default(s);
	if (!path || !(f = fopen(path, "r")))
		return;
	s->nports = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int a, b, c, d, e, f6;
		unsigned long long st[LEMONADE_STAT_A_MAX + 1];
		int nst = 0, used = 0;
		char t[32];

		if (sscanf(line, "config %u %u %u %u", &a, &b, &c, &d) == 4) {
			s->enabled = (uint8_t)a;
			s->timeout = b;
			s->high = (uint8_t)c;
			s->low = (uint8_t)d;
		} else if (sscanf(line, "icmp %u %u %u %u %x %x", &a, &b, &c,
				  &d, &e, &f6) == 6) {
			s->icmp_policy = (uint8_t)a;
			s->icmp_states = (uint8_t)b;
			s->icmp_validate = (uint8_t)c;
			s->guard = (uint8_t)d;
			s->v4 = e;
			s->v6 = f6;
		} else if (sscanf(line, "guard %u %u", &a, &b) == 2) {
			s->buffers = a;
			s->generation = b;
		} else if (sscanf(line, "port %u %u %31s", &a, &e, t) == 3 &&
			   s->nports < MAXPORTS_STATE) {
			struct mport *p = &s->ports[s->nports++];

			p->port = (uint16_t)a;
			p->proto = (uint8_t)e;
			p->has_timeout = strcmp(t, "-") != 0;
			p->timeout = p->has_timeout ? (uint32_t)strtoul(t, NULL, 10) : 0;
		} else if (!strncmp(line, "stats", 5)) {
			const char *q = line + 5;

			while (LEMONADE_STAT_A_FIRST + nst <= LEMONADE_STAT_A_MAX &&
			       sscanf(q, "%llu%n", &st[nst], &used) == 1) {
				s->stats[LEMONADE_STAT_A_FIRST + nst] = st[nst];
				nst++;
				q += used;
			}
		}
	}
	fclose(f);
}

static void state_save(const struct mstate *s)
{
	const char *path = getenv("NLMOCK_STATE");
	size_t i;
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "config %u %u %u %u\n", s->enabled, s->timeout, s->high,
		s->low);
	fprintf(f, "icmp %u %u %u %u %x %x\n", s->icmp_policy, s->icmp_states,
		s->icmp_validate, s->guard, s->v4, s->v6);
	fprintf(f, "guard %u %u\n", s->buffers, s->generation);
	for (i = 0; i < s->nports; i++) {
		if (s->ports[i].has_timeout)
			fprintf(f, "port %u %u %u\n", s->ports[i].port,
				s->ports[i].proto, s->ports[i].timeout);
		else
			fprintf(f, "port %u %u -\n", s->ports[i].port,
				s->ports[i].proto);
	}
	fprintf(f, "stats");
	for (i = LEMONADE_STAT_A_FIRST; i <= LEMONADE_STAT_A_MAX; i++)
		fprintf(f, " %llu", (unsigned long long)s->stats[i]);
	fprintf(f, "\n");
	fclose(f);
}

/* ---- message building ----------------------------------------------- */

struct mbuf {
	unsigned char d[16384];
	size_t len;
};

static void *mb_put(struct mbuf *b, size_t len)
{
	size_t al = NLMSG_ALIGN(len);
	void *p = b->d + b->len;

	if (b->len + al > sizeof(b->d))
		abort();
	memset(p, 0, al);
	b->len += al;
	return p;
}

static void mb_attr(struct mbuf *b, int type, const void *data, size_t len)
{
	struct nlattr *a = mb_put(b, NLA_HDRLEN + len);

	a->nla_type = (uint16_t)type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
}

static size_t mb_nest(struct mbuf *b, int type)
{
	size_t off = b->len;

	mb_attr(b, type | NLA_F_NESTED, NULL, 0);
	return off;
}

static void mb_nest_end(struct mbuf *b, size_t off)
{
	((struct nlattr *)(b->d + off))->nla_len = (uint16_t)(b->len - off);
}

static void mb_u8(struct mbuf *b, int t, uint8_t v) { mb_attr(b, t, &v, 1); }
static void mb_u16(struct mbuf *b, int t, uint16_t v) { mb_attr(b, t, &v, 2); }
static void mb_u32(struct mbuf *b, int t, uint32_t v) { mb_attr(b, t, &v, 4); }
static void mb_u64(struct mbuf *b, int t, uint64_t v) { mb_attr(b, t, &v, 8); }

static void enqueue(const struct mbuf *b)
{
	size_t slot = (qhead + qlen) % 32;

	if (qlen == 32)
		abort();
	queue[slot].data = malloc(b->len);
	if (!queue[slot].data)
		abort();
	memcpy(queue[slot].data, b->d, b->len);
	queue[slot].len = b->len;
	qlen++;
}

static struct nlmsghdr *mb_msg(struct mbuf *b, uint16_t type, uint16_t flags,
			       const struct nlmsghdr *req)
{
	struct nlmsghdr *h;

	b->len = 0;
	h = mb_put(b, NLMSG_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = req->nlmsg_seq;
	h->nlmsg_pid = MOCK_PORTID;
	return h;
}

static void mb_done(struct mbuf *b)
{
	((struct nlmsghdr *)b->d)->nlmsg_len = (uint32_t)b->len;
	enqueue(b);
}

/* netlink_ack() as the kernel does it */
static void send_ack(const struct nlmsghdr *req, int err, const char *msg,
		     int offs)
{
	struct mbuf b;
	struct nlmsgerr *e;
	bool capped = cap_ack || !err;
	bool tlvs = ext_ack && (msg || offs >= 0);
	size_t plen = sizeof(*e) + (capped ? 0 : req->nlmsg_len - NLMSG_HDRLEN);

	mb_msg(&b, NLMSG_ERROR, (capped ? NLM_F_CAPPED : 0) |
		   (tlvs ? NLM_F_ACK_TLVS : 0), req);
	e = mb_put(&b, plen);
	e->error = err;
	memcpy(&e->msg, req, capped ? sizeof(*req) : req->nlmsg_len);
	if (tlvs && msg)
		mb_attr(&b, NLMSGERR_ATTR_MSG, msg, strlen(msg) + 1);
	if (tlvs && offs >= 0)
		mb_u32(&b, NLMSGERR_ATTR_OFFS, (uint32_t)offs);
	mb_done(&b);
}

/* ---- request checking ---------------------------------------------- */

struct req {
	const struct nlmsghdr *nlh;
	const char *errmsg;
	int offs;
	uint16_t filter;	/* GET_FLOWS: listed port, 0 = all */
	char msgbuf[256];
};

static int fail(struct req *r, const struct nlattr *at, int err,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msgbuf, sizeof(r->msgbuf), fmt, ap);
	va_end(ap);
	r->errmsg = r->msgbuf;
	r->offs = at ? (int)((const char *)at - (const char *)r->nlh) : -1;
	return -err;
}

static bool is_nested(int type)
{
	return type == LEMONADE_A_PORTS || type == LEMONADE_A_PORT ||
	       type == LEMONADE_A_STATS || type == LEMONADE_A_FLOW;
}

/* Strict validation of one top-level attribute, like NL_VALIDATE_STRICT. */
static int check_attr(struct req *r, const struct nlattr *a)
{
	int type = a->nla_type & NLA_TYPE_MASK;
	int plen = a->nla_len - NLA_HDRLEN;
	bool nested = a->nla_type & NLA_F_NESTED;

	if (type <= 0 || type > LEMONADE_A_MAX)
		return fail(r, a, EINVAL, "mock: unknown attribute %d", type);
	if (nested != is_nested(type))
		return fail(r, a, EINVAL, "mock: NLA_F_NESTED wrong on attribute %d",
			    type);
	switch (type) {
	case LEMONADE_A_ENABLED:
	case LEMONADE_A_HIGH_WATER:
	case LEMONADE_A_LOW_WATER:
	case LEMONADE_A_ICMP_POLICY:
	case LEMONADE_A_ICMP_STATES:
	case LEMONADE_A_ICMP_VALIDATE:
	case LEMONADE_A_GUARD_POLICY:
		if (plen != 1)
			return fail(r, a, ERANGE, "mock: attribute %d is not a u8", type);
		break;
	case LEMONADE_A_FILTER_PORT:
		if (plen != 2)
			return fail(r, a, ERANGE, "mock: attribute %d is not a u16", type);
		break;
	case LEMONADE_A_TIMEOUT:
	case LEMONADE_A_ICMP_V4_CODES:
	case LEMONADE_A_ICMP_V6_CODES:
	case LEMONADE_A_GUARD_BUFFERS:
	case LEMONADE_A_GENERATION:
		if (plen != 4)
			return fail(r, a, ERANGE, "mock: attribute %d is not a u32", type);
		break;
	case LEMONADE_A_FORCE:
		if (plen != 0)
			return fail(r, a, ERANGE, "mock: FORCE is not a flag");
		break;
	case LEMONADE_A_VERSION:
	case LEMONADE_A_STATS:
	case LEMONADE_A_FLOW:
	case LEMONADE_A_EVENT:
	case LEMONADE_A_EVENT_COUNT:
	case LEMONADE_A_EVENT_SUPPRESSED:
	case LEMONADE_A_ICMP_TYPE:
	case LEMONADE_A_ICMP_CODE:
	case LEMONADE_A_PORTS_MAX:
	case LEMONADE_A_EVENT_PORTID:
	case LEMONADE_A_EVENT_CMD:
	case LEMONADE_A_PAD:
		return fail(r, a, EINVAL, "mock: attribute %d is reply-only", type);
	}
	return 0;
}

#define for_each_attr(a, head, len)					\
	for (a = (const struct nlattr *)(head);				\
	     (const char *)a + NLA_HDRLEN <= (const char *)(head) + (len) && \
	     a->nla_len >= NLA_HDRLEN &&					\
	     (const char *)a + a->nla_len <= (const char *)(head) + (len); \
	     a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len)))

static const void *adata(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static uint32_t au32(const struct nlattr *a) { uint32_t v; memcpy(&v, adata(a), 4); return v; }
static uint16_t au16(const struct nlattr *a) { uint16_t v; memcpy(&v, adata(a), 2); return v; }
static uint8_t au8(const struct nlattr *a) { return *(const uint8_t *)adata(a); }

static const char *proto_str[] = { "none", "imap", "smtp", "acap" };

/* Parses a LEMONADE_A_PORT nest. */
static int parse_port(struct req *r, const struct nlattr *nest,
		      struct mport *p, const struct nlattr **tattr, char *log,
		      size_t loglen)
{
	const struct nlattr *a, *pattr = NULL;
	bool has_proto = false;

	memset(p, 0, sizeof(*p));
	*tattr = NULL;
	for_each_attr(a, adata(nest), nest->nla_len - NLA_HDRLEN) {
		int type = a->nla_type & NLA_TYPE_MASK;
		int plen = a->nla_len - NLA_HDRLEN;

		if (a->nla_type & NLA_F_NESTED)
			return fail(r, a, EINVAL, "mock: NLA_F_NESTED on a port attribute");
		switch (type) {
		case LEMONADE_PORT_A_PORT:
			if (plen != 2)
				return fail(r, a, ERANGE, "mock: PORT is not a u16");
			p->port = au16(a);
			pattr = a;
			break;
		case LEMONADE_PORT_A_PROTO:
			if (plen != 1)
				return fail(r, a, ERANGE, "mock: PROTO is not a u8");
			p->proto = au8(a);
			has_proto = true;
			/* NLA_POLICY_MAX(NLA_U8, LEMONADE_PROTO_MAX) */
			if (p->proto > LEMONADE_PROTO_MAX)
				return fail(r, a, ERANGE, "integer out of range");
			break;
		case LEMONADE_PORT_A_TIMEOUT:
			if (plen != 4)
				return fail(r, a, ERANGE, "mock: port TIMEOUT is not a u32");
			p->timeout = au32(a);
			p->has_timeout = true;
			*tattr = a;
			break;
		default:
			return fail(r, a, EINVAL, "mock: unknown port attribute %d", type);
		}
	}
	if (!pattr)
		return fail(r, nest, EINVAL, "port entry without a port number");
	/* NLA_POLICY_MIN(NLA_U16, 1) */
	if (!p->port)
		return fail(r, pattr, ERANGE, "integer out of range");
	if (p->port == 1)	/* a refusal the tool cannot foresee */
		return fail(r, pattr, EINVAL, "mock refuses port 1");
	snprintf(log, loglen, "%u%s%s", p->port, has_proto ? "/" : "",
		 has_proto ? proto_str[p->proto] : "");
	if (p->has_timeout)
		snprintf(log + strlen(log), loglen - strlen(log), "/t%u",
			 p->timeout);
	return 0;
}

static bool below(uint32_t t)
{
	return t && t < LEMONADE_RFC5382_MIN_TIMEOUT;
}

static struct mport *find_port(struct mstate *s, uint16_t port)
{
	size_t i;

	for (i = 0; i < s->nports; i++)
		if (s->ports[i].port == port)
			return &s->ports[i];
	return NULL;
}

/* HZ of the kernel modelled (NLMOCK_HZ, default Debian's 250). */
static uint32_t max_floor(void)
{
	const char *hz = getenv("NLMOCK_HZ");
	unsigned long v = hz ? strtoul(hz, NULL, 10) : 250;

	/* LEMONADE_PIN_MAX / HZ - LEMONADE_PIN_GRACE, as kmod/config.c */
	return (uint32_t)(0x7fffffffUL / (v ? v : 250) - 5);
}

/* floor_kept() in kmod/config.c: a low floor this change does not bring */
static bool floor_kept(const struct mstate *old, uint16_t port, uint32_t secs)
{
	size_t i;

	if (!port)
		return old->timeout == secs;
	for (i = 0; i < old->nports; i++)
		if (old->ports[i].port == port)
			return old->ports[i].has_timeout &&
			       old->ports[i].timeout == secs;
	return false;
}

enum part { P_V4, P_V6, P_PORTS, P_MARKS, P_TIMEOUT };

/*
 * Like lemonade_cfg_check() in kmod/config.c, in the same order: the whole
 * result is checked, a low floor that @old already had needs no force,
 * and (as commit() in kmod/netlink.c) the extack points at the attribute
 * of the part at fault, or at @port for a port command.
 */
static int check_cfg(struct req *r, const struct mstate *old,
		     const struct mstate *s, bool force,
		     const struct nlattr *const *tb, const struct nlattr *port)
{
	enum part what;
	const char *msg;
	int err = EINVAL;
	size_t i, j;

	what = P_V4;
	if (s->v4 & (1u << LEMONADE_ICMP_V4_FRAG_NEEDED)) {
		msg = "ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed";
		goto bad;
	}
	if (s->v4 & ~0xffffu) {
		msg = "ICMPv4 destination-unreachable codes are 0..15";
		goto bad;
	}
	what = P_V6;
	if (s->v6 & ~0xffu) {
		msg = "ICMPv6 destination-unreachable codes are 0..7";
		goto bad;
	}
	what = P_PORTS;
	if (s->nports > LEMONADE_MAX_PORTS) {
		msg = "too many ports (at most 64)";
		err = E2BIG;
		goto bad;
	}
	what = P_MARKS;
	if (s->low >= s->high || s->high > 100 || !s->low) {
		msg = "pressure marks need 0 < low < high <= 100 (percent of nf_conntrack_max)";
		goto bad;
	}
	what = P_TIMEOUT;
	if (s->timeout > max_floor()) {
		msg = "timeout too long to store in conntrack; use unlimited (0)";
		err = ERANGE;
		goto bad;
	}
	if (below(s->timeout) && !force && !floor_kept(old, 0, s->timeout)) {
		msg = "timeout below 7440 s violates RFC 5382 REQ-5; set force to override";
		goto bad;
	}
	what = P_PORTS;
	for (i = 0; i < s->nports; i++) {
		const struct mport *p = &s->ports[i];
		uint32_t secs = p->has_timeout ? p->timeout : s->timeout;

		for (j = 0; j < i; j++)
			if (s->ports[j].port == p->port) {
				msg = "a port is listed twice";
				err = EEXIST;
				goto bad;
			}
		if (secs > max_floor()) {
			msg = "port timeout too long to store in conntrack; use unlimited (0)";
			err = ERANGE;
			goto bad;
		}
		if (p->has_timeout && below(secs) && !force &&
		    !floor_kept(old, p->port, secs)) {
			msg = "port timeout below 7440 s violates RFC 5382 REQ-5; set force to override";
			goto bad;
		}
	}
	return 0;
bad:
	switch (what) {
	case P_V4:
		port = tb[LEMONADE_A_ICMP_V4_CODES];
		break;
	case P_V6:
		port = tb[LEMONADE_A_ICMP_V6_CODES];
		break;
	case P_TIMEOUT:
		port = tb[LEMONADE_A_TIMEOUT];
		break;
	case P_MARKS:
		port = tb[LEMONADE_A_LOW_WATER] ? tb[LEMONADE_A_LOW_WATER] :
						  tb[LEMONADE_A_HIGH_WATER];
		break;
	default:
		if (!port)
			port = tb[LEMONADE_A_PORTS];
		break;
	}
	return fail(r, port, err, "%s", msg);
}

static void put_config(struct mbuf *b, const struct mstate *s)
{
	size_t ports, i;

	mb_attr(b, LEMONADE_A_VERSION, "0.1.0-mock", 11);
	mb_u8(b, LEMONADE_A_ENABLED, s->enabled);
	mb_u32(b, LEMONADE_A_TIMEOUT, s->timeout);
	mb_u8(b, LEMONADE_A_HIGH_WATER, s->high);
	mb_u8(b, LEMONADE_A_LOW_WATER, s->low);
	mb_u8(b, LEMONADE_A_ICMP_POLICY, s->icmp_policy);
	mb_u8(b, LEMONADE_A_ICMP_STATES, s->icmp_states);
	mb_u32(b, LEMONADE_A_ICMP_V4_CODES, s->v4);
	mb_u32(b, LEMONADE_A_ICMP_V6_CODES, s->v6);
	mb_u8(b, LEMONADE_A_ICMP_VALIDATE, s->icmp_validate);
	mb_u8(b, LEMONADE_A_GUARD_POLICY, s->guard);
	mb_u32(b, LEMONADE_A_GUARD_BUFFERS, s->buffers);
	mb_u32(b, LEMONADE_A_PORTS_MAX, LEMONADE_MAX_PORTS);
	mb_u32(b, LEMONADE_A_GENERATION, s->generation);
	ports = mb_nest(b, LEMONADE_A_PORTS);
	for (i = 0; i < s->nports; i++) {
		size_t n = mb_nest(b, LEMONADE_A_PORT);

		mb_u16(b, LEMONADE_PORT_A_PORT, s->ports[i].port);
		mb_u8(b, LEMONADE_PORT_A_PROTO, s->ports[i].proto);
		if (s->ports[i].has_timeout)
			mb_u32(b, LEMONADE_PORT_A_TIMEOUT, s->ports[i].timeout);
		mb_nest_end(b, n);
	}
	mb_nest_end(b, ports);
}

/* ---- GET_FLOWS and events ------------------------------------------- */

struct mflow {
	int af;
	const char *src, *dst;
	uint16_t sport, dport, port;
	uint8_t state;
	uint32_t remaining, timeout;
	uint8_t marked;
	uint32_t id;
};

static const struct mflow mflows[] = {
	{ AF_INET, "192.0.2.2", "198.51.100.2", 40001, 143, 143, 3, 7443, 7440, 1, 101 },
	{ AF_INET6, "2001:db8:1::2", "2001:db8:2::2", 40002, 8587, 587, 7, 119, 0, 0, 102 },
};

static void mb_flow(struct mbuf *b, const struct mflow *f)
{
	size_t alen = f->af == AF_INET6 ? 16 : 4, n;
	unsigned char a[16];

	n = mb_nest(b, LEMONADE_A_FLOW);
	mb_u8(b, LEMONADE_FLOW_A_FAMILY, (uint8_t)f->af);
	inet_pton(f->af, f->src, a);
	mb_attr(b, LEMONADE_FLOW_A_SADDR, a, alen);
	inet_pton(f->af, f->dst, a);
	mb_attr(b, LEMONADE_FLOW_A_DADDR, a, alen);
	mb_u16(b, LEMONADE_FLOW_A_SPORT, f->sport);
	mb_u16(b, LEMONADE_FLOW_A_DPORT, f->dport);
	mb_u16(b, LEMONADE_FLOW_A_PORT, f->port);
	mb_u8(b, LEMONADE_FLOW_A_TCP_STATE, f->state);
	mb_u32(b, LEMONADE_FLOW_A_REMAINING, f->remaining);
	mb_u32(b, LEMONADE_FLOW_A_TIMEOUT, f->timeout);
	mb_u8(b, LEMONADE_FLOW_A_MARKED, f->marked);
	mb_u32(b, LEMONADE_FLOW_A_ID, f->id);
	mb_nest_end(b, n);
}

static void mb_genl(struct mbuf *b, uint8_t cmd)
{
	struct genlmsghdr *g = mb_put(b, GENL_HDRLEN);

	g->cmd = cmd;
	g->version = LEMONADE_GENL_VERSION;
}

/* One message per flow, then NLMSG_DONE, as a kernel dump does. */
static void dump_flows(const struct nlmsghdr *req, uint16_t filter)
{
	struct mbuf b;
	size_t i;

	for (i = 0; i < sizeof(mflows) / sizeof(mflows[0]); i++) {
		if (filter && mflows[i].port != filter)
			continue;
		mb_msg(&b, FAMILY_ID, NLM_F_MULTI, req);
		mb_genl(&b, LEMONADE_CMD_GET_FLOWS);
		mb_flow(&b, &mflows[i]);
		mb_done(&b);
	}
	mb_msg(&b, NLMSG_DONE, NLM_F_MULTI, req);
	*(int *)mb_put(&b, sizeof(int)) = 0;
	mb_done(&b);
}

/* An ICMP event, a pressure release after two suppressed events, and a
 * kind from a newer module. */
static void queue_events(void)
{
	struct nlmsghdr none = { 0 };
	struct mbuf b;

	mb_msg(&b, FAMILY_ID, 0, &none);
	mb_genl(&b, LEMONADE_CMD_EVENT);
	mb_u8(&b, LEMONADE_A_EVENT, LEMONADE_EVENT_ICMP_ABSORBED);
	mb_flow(&b, &mflows[0]);
	mb_u8(&b, LEMONADE_A_ICMP_TYPE, 3);
	mb_u8(&b, LEMONADE_A_ICMP_CODE, 1);
	mb_done(&b);
	mb_msg(&b, FAMILY_ID, 0, &none);
	mb_genl(&b, LEMONADE_CMD_EVENT);
	mb_u8(&b, LEMONADE_A_EVENT, LEMONADE_EVENT_PRESSURE_RELEASE);
	mb_u32(&b, LEMONADE_A_EVENT_COUNT, 17);
	mb_u32(&b, LEMONADE_A_EVENT_SUPPRESSED, 2);
	mb_done(&b);
	mb_msg(&b, FAMILY_ID, 0, &none);
	mb_genl(&b, LEMONADE_CMD_EVENT);
	mb_u8(&b, LEMONADE_A_EVENT, 200);
	mb_done(&b);
}

static const char *cmd_names[] = {
	"UNSPEC", "GET_CONFIG", "SET_CONFIG", "ADD_PORT", "DEL_PORT",
	"GET_STATS", "RESET_STATS", "GET_FLOWS", "EVENT",
};

static int lemonade(struct req *r, struct mbuf *reply)
{
	const struct nlmsghdr *nlh = r->nlh;
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	const struct nlattr *a, *tb[LEMONADE_A_MAX + 1] = { 0 };
	const void *attrs = (const char *)g + GENL_HDRLEN;
	int alen = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	char log[4096] = "";
	struct mstate s, n;
	bool force, write;
	int err;

	if (alen < 0)
		return fail(r, NULL, EINVAL, "mock: short message");
	if (g->cmd < 1 || g->cmd > LEMONADE_CMD_MAX || g->cmd == LEMONADE_CMD_EVENT)
		return fail(r, NULL, EOPNOTSUPP, "mock: unknown command %u", g->cmd);
	snprintf(log, sizeof(log), "%s flags=%#x version=%u", cmd_names[g->cmd],
		 nlh->nlmsg_flags, g->version);
	if (g->cmd == LEMONADE_CMD_GET_FLOWS) {
		/* libnl adds NLM_F_ACK; the kernel sends none after a dump */
		if ((nlh->nlmsg_flags & ~NLM_F_ACK) != (NLM_F_REQUEST | NLM_F_DUMP))
			return fail(r, NULL, EOPNOTSUPP, "mock: GET_FLOWS is dump only");
	} else if (nlh->nlmsg_flags != (NLM_F_REQUEST | NLM_F_ACK)) {
		return fail(r, NULL, EINVAL, "mock: nlmsg_flags %#x, want REQUEST|ACK",
			    nlh->nlmsg_flags);
	}
	if (g->version != LEMONADE_GENL_VERSION || g->reserved)
		return fail(r, NULL, EINVAL, "mock: bad genl header");

	for_each_attr(a, attrs, alen) {
		err = check_attr(r, a);
		if (err)
			return err;
		tb[a->nla_type & NLA_TYPE_MASK] = a;
	}

	write = g->cmd != LEMONADE_CMD_GET_CONFIG && g->cmd != LEMONADE_CMD_GET_STATS;
	if (write && getenv("NLMOCK_EPERM")) {
		logf_("%s\n", log);
		return -EPERM;
	}
	state_load(&s);
	n = s;
	force = tb[LEMONADE_A_FORCE];

	switch (g->cmd) {
	case LEMONADE_CMD_GET_CONFIG:
	case LEMONADE_CMD_GET_STATS:
	case LEMONADE_CMD_RESET_STATS:
		for (int i = 1; i <= LEMONADE_A_MAX; i++)
			if (tb[i])
				return fail(r, tb[i], EINVAL, "mock: attribute %d not expected", i);
		break;
	case LEMONADE_CMD_SET_CONFIG:
		for (int i = 1; i <= LEMONADE_A_MAX; i++)
			if (tb[i] && (i == LEMONADE_A_PORT || i == LEMONADE_A_FILTER_PORT))
				return fail(r, tb[i], EINVAL, "mock: attribute %d in SET_CONFIG", i);
		break;
	case LEMONADE_CMD_GET_FLOWS:
		for (int i = 1; i <= LEMONADE_A_MAX; i++)
			if (tb[i] && i != LEMONADE_A_FILTER_PORT)
				return fail(r, tb[i], EINVAL, "mock: attribute %d not expected", i);
		break;
	case LEMONADE_CMD_ADD_PORT:
	case LEMONADE_CMD_DEL_PORT:
		for (int i = 1; i <= LEMONADE_A_MAX; i++)
			if (tb[i] && i != LEMONADE_A_PORT && i != LEMONADE_A_FORCE &&
			    i != LEMONADE_A_GENERATION)
				return fail(r, tb[i], EINVAL, "mock: attribute %d not expected", i);
		if (!tb[LEMONADE_A_PORT])
			return fail(r, NULL, EINVAL, "a port is required");
		break;
	}

	if (tb[LEMONADE_A_GENERATION]) {
		snprintf(log + strlen(log), sizeof(log) - strlen(log),
			 " GENERATION=%u", au32(tb[LEMONADE_A_GENERATION]));
		if (au32(tb[LEMONADE_A_GENERATION]) != s.generation) {
			logf_("%s ESTALE\n", log);
			return fail(r, tb[LEMONADE_A_GENERATION], ESTALE,
				    "the configuration changed since it was read; read it again");
		}
	}
	n.generation = s.generation + 1;

	switch (g->cmd) {
	case LEMONADE_CMD_GET_CONFIG: {
		/* NLMOCK_RACE=FILE: a concurrent change right after this
		 * read, once per FILE (deleted) */
		const char *race = getenv("NLMOCK_RACE");

		logf_("%s\n", log);
		put_config(reply, &s);
		if (race && !unlink(race)) {
			s.generation++;
			s.guard = LEMONADE_GUARD_LOG;
			state_save(&s);
		}
		return 1;
	}
	case LEMONADE_CMD_GET_STATS: {
		size_t st = mb_nest(reply, LEMONADE_A_STATS);

		logf_("%s\n", log);
		mb_attr(reply, LEMONADE_STAT_A_PAD, NULL, 0);
		for (int i = LEMONADE_STAT_A_FIRST; i <= LEMONADE_STAT_A_MAX; i++) {
			/* NLMOCK_SHORTSTAT=N: counter N is malformed (4 bytes) */
			const char *bad = getenv("NLMOCK_SHORTSTAT");

			if (bad && atoi(bad) == i)
				mb_u32(reply, i, (uint32_t)s.stats[i]);
			else
				mb_u64(reply, i, s.stats[i]);
		}
		mb_nest_end(reply, st);
		return 1;
	}
	case LEMONADE_CMD_GET_FLOWS:
		if (tb[LEMONADE_A_FILTER_PORT]) {
			r->filter = au16(tb[LEMONADE_A_FILTER_PORT]);
			/* NLA_POLICY_MIN(NLA_U16, 1) */
			if (!r->filter)
				return fail(r, tb[LEMONADE_A_FILTER_PORT], ERANGE,
					    "integer out of range");
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " FILTER_PORT=%u", r->filter);
		}
		logf_("%s\n", log);
		return 2;
	case LEMONADE_CMD_RESET_STATS:
		logf_("%s\n", log);
		memset(n.stats, 0, sizeof(n.stats));
		state_save(&n);
		return 0;
	case LEMONADE_CMD_SET_CONFIG: {
		const struct nlattr *bad = NULL;

		if (tb[LEMONADE_A_ENABLED]) {
			n.enabled = au8(tb[LEMONADE_A_ENABLED]);
			if (n.enabled > 1)
				return fail(r, tb[LEMONADE_A_ENABLED], ERANGE, "integer out of range");
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " ENABLED=%u", n.enabled);
		}
		if (tb[LEMONADE_A_TIMEOUT]) {
			n.timeout = au32(tb[LEMONADE_A_TIMEOUT]);
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " TIMEOUT=%u", n.timeout);
		}
		if (tb[LEMONADE_A_HIGH_WATER]) {
			n.high = au8(tb[LEMONADE_A_HIGH_WATER]);
			bad = tb[LEMONADE_A_HIGH_WATER];
			if (!n.high || n.high > 100)
				return fail(r, bad, ERANGE, "integer out of range");
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " HIGH=%u", n.high);
		}
		if (tb[LEMONADE_A_LOW_WATER]) {
			n.low = au8(tb[LEMONADE_A_LOW_WATER]);
			bad = tb[LEMONADE_A_LOW_WATER];
			if (!n.low || n.low > 100)
				return fail(r, bad, ERANGE, "integer out of range");
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " LOW=%u", n.low);
		}
		{
			static const struct {
				int attr;
				const char *name;
				uint8_t max;
			} u8s[] = {
				{ LEMONADE_A_ICMP_POLICY, "ICMP_POLICY", LEMONADE_ICMP_POLICY_MAX },
				{ LEMONADE_A_ICMP_STATES, "ICMP_STATES", LEMONADE_ICMP_STATES_MAX },
				{ LEMONADE_A_ICMP_VALIDATE, "ICMP_VALIDATE", 1 },
				{ LEMONADE_A_GUARD_POLICY, "GUARD", LEMONADE_GUARD_POLICY_MAX },
			};
			uint8_t *dst[] = { &n.icmp_policy, &n.icmp_states,
					   &n.icmp_validate, &n.guard };

			for (size_t i = 0; i < sizeof(u8s) / sizeof(u8s[0]); i++) {
				const struct nlattr *at = tb[u8s[i].attr];

				if (!at)
					continue;
				if (au8(at) > u8s[i].max)
					return fail(r, at, ERANGE, "integer out of range");
				*dst[i] = au8(at);
				snprintf(log + strlen(log), sizeof(log) - strlen(log),
					 " %s=%u", u8s[i].name, *dst[i]);
			}
		}
		if (tb[LEMONADE_A_GUARD_BUFFERS]) {
			n.buffers = au32(tb[LEMONADE_A_GUARD_BUFFERS]);
			/* NLA_POLICY_FULL_RANGE(NLA_U32, 0..U16_MAX) */
			if (n.buffers > 65535)
				return fail(r, tb[LEMONADE_A_GUARD_BUFFERS], ERANGE,
					    "integer out of range");
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " BUFFERS=%u", n.buffers);
		}
		if (tb[LEMONADE_A_ICMP_V4_CODES]) {
			n.v4 = au32(tb[LEMONADE_A_ICMP_V4_CODES]);
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " V4=%#x", n.v4);
		}
		if (tb[LEMONADE_A_ICMP_V6_CODES]) {
			n.v6 = au32(tb[LEMONADE_A_ICMP_V6_CODES]);
			snprintf(log + strlen(log), sizeof(log) - strlen(log),
				 " V6=%#x", n.v6);
		}
		if (tb[LEMONADE_A_PORTS]) {
			const struct nlattr *pa = tb[LEMONADE_A_PORTS];

			n.nports = 0;
			snprintf(log + strlen(log), sizeof(log) - strlen(log), " PORTS=[");
			for_each_attr(a, adata(pa), pa->nla_len - NLA_HDRLEN) {
				const struct nlattr *tattr;
				struct mport p;
				char plog[64];

				if ((a->nla_type & NLA_TYPE_MASK) != LEMONADE_A_PORT)
					return fail(r, a, EINVAL, "ports nest holds only port entries");
				if (!(a->nla_type & NLA_F_NESTED))
					return fail(r, a, EINVAL, "mock: NLA_F_NESTED missing on a port entry");
				if (n.nports == LEMONADE_MAX_PORTS)
					return fail(r, a, E2BIG, "too many ports (at most 64)");
				err = parse_port(r, a, &p, &tattr, plog, sizeof(plog));
				if (err)
					return err;
				n.ports[n.nports++] = p;
				snprintf(log + strlen(log), sizeof(log) - strlen(log),
					 "%s%s", n.nports > 1 ? "," : "", plog);
			}
			snprintf(log + strlen(log), sizeof(log) - strlen(log), "]");
		}
		if (force)
			snprintf(log + strlen(log), sizeof(log) - strlen(log), " FORCE");
		logf_("%s\n", log);
		err = check_cfg(r, &s, &n, force, tb, NULL);
		if (err)
			return err;
		state_save(&n);
		return 0;
	}
	case LEMONADE_CMD_ADD_PORT:
	case LEMONADE_CMD_DEL_PORT: {
		const struct nlattr *pn = tb[LEMONADE_A_PORT], *tattr;
		struct mport p, *old;
		char plog[64];

		err = parse_port(r, pn, &p, &tattr, plog, sizeof(plog));
		if (err)
			return err;
		logf_("%s PORT=%s%s\n", log, plog, force ? " FORCE" : "");
		old = find_port(&n, p.port);
		if (g->cmd == LEMONADE_CMD_DEL_PORT) {
			if (!old)
				return fail(r, pn, ENOENT, "port is not listed");
			*old = n.ports[--n.nports];
		} else if (old) {
			*old = p;
		} else {
			if (n.nports == LEMONADE_MAX_PORTS)
				return fail(r, pn, E2BIG, "too many ports (at most 64)");
			n.ports[n.nports++] = p;
		}
		err = check_cfg(r, &s, &n, force, tb, pn);
		if (err)
			return err;
		state_save(&n);
		return 0;
	}
	}
	return fail(r, NULL, EOPNOTSUPP, "mock: unhandled");
}

static void ctrl_log(const char *fmt, ...)
{
	const char *path = getenv("NLMOCK_CTRL_LOG");
	va_list ap;
	FILE *f;

	if (!path || !(f = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* One CTRL_CMD_NEWFAMILY message (NLM_F_MULTI inside a dump). */
static void put_family(struct mbuf *b, const struct nlmsghdr *nlh,
		       uint16_t flags, const char *name, uint16_t id,
		       bool groups)
{
	struct genlmsghdr *rg;

	mb_msg(b, GENL_ID_CTRL, flags, nlh);
	rg = mb_put(b, GENL_HDRLEN);
	rg->cmd = CTRL_CMD_NEWFAMILY;
	rg->version = 2;
	mb_attr(b, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	mb_attr(b, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
	mb_u32(b, CTRL_ATTR_VERSION, LEMONADE_GENL_VERSION);
	mb_u32(b, CTRL_ATTR_HDRSIZE, 0);
	mb_u32(b, CTRL_ATTR_MAXATTR, LEMONADE_A_MAX);
	if (groups && !getenv("NLMOCK_NOGROUP")) {
		size_t grps = mb_nest(b, CTRL_ATTR_MCAST_GROUPS);
		size_t g1 = mb_nest(b, 1);

		mb_u32(b, CTRL_ATTR_MCAST_GRP_ID, EVENTS_GRP);
		mb_attr(b, CTRL_ATTR_MCAST_GRP_NAME, LEMONADE_MCGRP_EVENTS,
			sizeof(LEMONADE_MCGRP_EVENTS));
		mb_nest_end(b, g1);
		mb_nest_end(b, grps);
	}
	mb_done(b);
}

/*
 * The "nlctrl" family. As in the kernel, a GETFAMILY request by name for
 * a family that is not registered asks for a module (request_module of
 * "net-pf-16-proto-16-family-NAME"): the mock logs that as "modprobe" in
 * NLMOCK_CTRL_LOG, and with NLMOCK_AUTOLOAD=1 the module then loads. A
 * GETFAMILY dump lists what is registered and never loads anything.
 */
static void ctrl(const struct nlmsghdr *nlh)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	const struct nlattr *a;
	const char *name = NULL;
	struct mbuf b;
	int alen = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	bool present = !getenv("NLMOCK_NOFAMILY");

	for_each_attr(a, (const char *)g + GENL_HDRLEN, alen)
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_NAME)
			name = adata(a);
	if (g->cmd != CTRL_CMD_GETFAMILY) {
		send_ack(nlh, -EOPNOTSUPP, NULL, -1);
		return;
	}
	if (nlh->nlmsg_flags & NLM_F_DUMP) {
		ctrl_log("GETFAMILY dump\n");
		put_family(&b, nlh, NLM_F_MULTI, "nlctrl", GENL_ID_CTRL, false);
		if (present)
			put_family(&b, nlh, NLM_F_MULTI, LEMONADE_GENL_NAME,
				   FAMILY_ID, true);
		mb_msg(&b, NLMSG_DONE, NLM_F_MULTI, nlh);
		*(int *)mb_put(&b, sizeof(int)) = 0;
		mb_done(&b);
		return;
	}
	ctrl_log("GETFAMILY name=%s\n", name ? name : "(none)");
	if (name && !strcmp(name, LEMONADE_GENL_NAME) && !present) {
		ctrl_log("modprobe net-pf-16-proto-16-family-%s\n", name);
		present = getenv("NLMOCK_AUTOLOAD") != NULL;
	}
	if (!name || strcmp(name, LEMONADE_GENL_NAME) || !present) {
		send_ack(nlh, -ENOENT, NULL, -1);
		return;
	}
	put_family(&b, nlh, 0, LEMONADE_GENL_NAME, FAMILY_ID, true);
	if (nlh->nlmsg_flags & NLM_F_ACK)
		send_ack(nlh, 0, NULL, -1);
}

static void handle(const struct nlmsghdr *nlh)
{
	struct req r = { .nlh = nlh, .offs = -1 };
	struct mbuf reply;
	int ret;

	if (nlh->nlmsg_type == GENL_ID_CTRL) {
		ctrl(nlh);
		return;
	}
	if (nlh->nlmsg_type != FAMILY_ID) {
		send_ack(nlh, -ENOENT, NULL, -1);
		return;
	}
	mb_msg(&reply, FAMILY_ID, 0, nlh);
	{
		struct genlmsghdr *rg = mb_put(&reply, GENL_HDRLEN);
		const struct genlmsghdr *g = NLMSG_DATA(nlh);

		rg->cmd = g->cmd;
		rg->version = LEMONADE_GENL_VERSION;
	}
	ret = lemonade(&r, &reply);
	if (ret < 0) {
		logf_("  -> error %d%s%s\n", ret, r.errmsg ? ": " : "",
		      r.errmsg ? r.errmsg : "");
		send_ack(nlh, ret, r.errmsg, r.offs);
		return;
	}
	if (ret == 2) {
		dump_flows(nlh, r.filter);
		return;
	}
	if (ret > 0)
		mb_done(&reply);
	if (nlh->nlmsg_flags & NLM_F_ACK)
		send_ack(nlh, 0, ret == 0 && getenv("NLMOCK_WARN") ?
			 "mock warning" : NULL, -1);
}

static void process(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int rem = (int)len;

	for (; NLMSG_OK(nlh, rem); nlh = NLMSG_NEXT(nlh, rem))
		handle(nlh);
}

/* ---- the intercepted socket calls ----------------------------------- */

int socket(int domain, int type, int protocol)
{
	int (*f)(int, int, int) = real("socket");

	if (domain == AF_NETLINK && protocol == NETLINK_GENERIC) {
		mock_fd = eventfd(0, EFD_CLOEXEC);
		ext_ack = cap_ack = false;
		return mock_fd;
	}
	return f(domain, type, protocol);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*f)(int, const struct sockaddr *, socklen_t) = real("bind");

	return fd == mock_fd ? 0 : f(fd, addr, len);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int (*f)(int, struct sockaddr *, socklen_t *) = real("getsockname");
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = MOCK_PORTID };

	if (fd != mock_fd)
		return f(fd, addr, len);
	memcpy(addr, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
	*len = sizeof(nl);
	return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int (*f)(int, int, int, const void *, socklen_t) = real("setsockopt");

	if (fd != mock_fd)
		return f(fd, level, name, val, len);
	if (level == SOL_NETLINK && name == NETLINK_EXT_ACK && len >= sizeof(int) &&
	    !getenv("NLMOCK_NOEXTACK"))
		ext_ack = *(const int *)val;
	if (level == SOL_NETLINK && name == NETLINK_CAP_ACK && len >= sizeof(int) &&
	    !getenv("NLMOCK_NOCAP"))
		cap_ack = *(const int *)val;
	if (level == SOL_NETLINK && name == NETLINK_ADD_MEMBERSHIP &&
	    len >= sizeof(int)) {
		if (*(const int *)val != EVENTS_GRP) {
			errno = EINVAL;
			return -1;
		}
		if (getenv("NLMOCK_EPERM")) {
			errno = EPERM;
			return -1;
		}
		logf_("JOIN events\n");
		if (getenv("NLMOCK_EVENTS"))
			queue_events();
	}
	return 0;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int (*f)(int, int, int, void *, socklen_t *) = real("getsockopt");

	if (fd != mock_fd)
		return f(fd, level, name, val, len);
	memset(val, 0, *len);
	return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t (*f)(int, const struct msghdr *, int) = real("sendmsg");
	unsigned char buf[65536];
	size_t len = 0, i;

	if (fd != mock_fd)
		return f(fd, msg, flags);
	for (i = 0; i < msg->msg_iovlen; i++) {
		if (len + msg->msg_iov[i].iov_len > sizeof(buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + len, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		len += msg->msg_iov[i].iov_len;
	}
	process(buf, len);
	return (ssize_t)len;
}

ssize_t sendto(int fd, const void *data, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	ssize_t (*f)(int, const void *, size_t, int, const struct sockaddr *,
		     socklen_t) = real("sendto");

	if (fd != mock_fd)
		return f(fd, data, len, flags, to, tolen);
	process(data, len);
	return (ssize_t)len;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t (*f)(int, struct msghdr *, int) = real("recvmsg");
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t n, len;

	if (fd != mock_fd)
		return f(fd, msg, flags);
	if (!qlen) {
		fprintf(stderr, "nlmock: recvmsg with nothing queued (would block)\n");
		errno = EAGAIN;
		return -1;
	}
	len = queue[qhead].len;
	n = msg->msg_iovlen ? msg->msg_iov[0].iov_len : 0;
	if (n > len)
		n = len;
	if (n)
		memcpy(msg->msg_iov[0].iov_base, queue[qhead].data, n);
	if (msg->msg_name && msg->msg_namelen >= sizeof(kernel)) {
		memcpy(msg->msg_name, &kernel, sizeof(kernel));
		msg->msg_namelen = sizeof(kernel);
	}
	msg->msg_controllen = 0;
	msg->msg_flags = n < len ? MSG_TRUNC : 0;
	if (!(flags & MSG_PEEK)) {
		free(queue[qhead].data);
		qhead = (qhead + 1) % 32;
		qlen--;
	}
	return (ssize_t)((flags & MSG_TRUNC) ? len : n);
}

/* Queued answers make the mock socket readable. */
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
	  const sigset_t *mask)
{
	int (*f)(struct pollfd *, nfds_t, const struct timespec *,
		 const sigset_t *) = real("ppoll");
	int ready = 0;
	nfds_t i;

	for (i = 0; i < n; i++) {
		fds[i].revents = 0;
		if (mock_fd >= 0 && fds[i].fd == mock_fd && qlen &&
		    (fds[i].events & POLLIN)) {
			fds[i].revents = POLLIN;
			ready++;
		}
	}
	return ready ? ready : f(fds, n, ts, mask);
}

int close(int fd)
{
	int (*f)(int) = real("close");

	if (fd == mock_fd)
		mock_fd = -1;
	return f(fd);
}
