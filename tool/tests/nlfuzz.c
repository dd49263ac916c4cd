// SPDX-License-Identifier: GPL-2.0
/*
 * nlfuzz: malformed generic netlink requests to the "lemonade" family,
 * over a raw netlink socket (no libnl). Every request is broken in at
 * least one way the module or the generic netlink core must refuse:
 * unknown commands, attributes of the wrong type or length, truncated and
 * oversize attributes, unknown attributes, missing required ones, values
 * out of range, broken nests, reserved header bits, dump misuse, random
 * attribute soup behind a bad first attribute. Each must be answered with
 * an error; none may be accepted; the configuration of the netns must read
 * back byte for byte the same at the end.
 *
 * usage: nlfuzz [-n COUNT] [-s SEED] [-v]
 * Prints a summary; exit 0 if every request got an error and the
 * configuration is unchanged, 1 otherwise, 4 if the family is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/lemonade.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define BUFSZ		(128 * 1024)

static int fd;
static uint32_t seq = 1;
static uint16_t family;
static bool verbose;
static bool strict_hdr;		/* the kernel checks reserved header bits */
static uint64_t rng;

static uint32_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static uint32_t range(uint32_t lo, uint32_t hi)
{
	return lo + below(hi - lo + 1);
}

/* ---- message building ------------------------------------------------ */

struct msg {
	unsigned char *b;
	size_t len;
};

static void *put(struct msg *m, size_t len)
{
	size_t al = NLMSG_ALIGN(len);
	void *p = m->b + m->len;

	if (m->len + al > BUFSZ) {
		fprintf(stderr, "nlfuzz: message too large\n");
		exit(2);
	}
	memset(p, 0, al);
	m->len += al;
	return p;
}

static void start(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *h;
	struct genlmsghdr *g;

	m->len = 0;
	h = put(m, NLMSG_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = ++seq;
	g = put(m, GENL_HDRLEN);
	g->cmd = cmd;
	g->version = LEMONADE_GENL_VERSION;
}

static struct nlmsghdr *hdr(struct msg *m)
{
	return (struct nlmsghdr *)m->b;
}

static struct genlmsghdr *ghdr(struct msg *m)
{
	return (struct genlmsghdr *)(m->b + NLMSG_HDRLEN);
}

/* An attribute with len bytes of payload (random unless data). */
static struct nlattr *attr(struct msg *m, uint16_t type, const void *data,
			   size_t len)
{
	struct nlattr *a = put(m, NLA_HDRLEN + len);
	size_t i;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (data)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	else
		for (i = 0; i < len; i++)
			((unsigned char *)a)[NLA_HDRLEN + i] = (unsigned char)rnd();
	return a;
}

static void a_u8(struct msg *m, uint16_t t, uint8_t v) { attr(m, t, &v, 1); }
static void a_u16(struct msg *m, uint16_t t, uint16_t v) { attr(m, t, &v, 2); }
static void a_u32(struct msg *m, uint16_t t, uint32_t v) { attr(m, t, &v, 4); }

static size_t nest(struct msg *m, uint16_t type)
{
	size_t off = m->len;

	attr(m, type | NLA_F_NESTED, NULL, 0);
	return off;
}

static void nest_end(struct msg *m, size_t off)
{
	((struct nlattr *)(m->b + off))->nla_len = (uint16_t)(m->len - off);
}

static void finish(struct msg *m)
{
	hdr(m)->nlmsg_len = (uint32_t)m->len;
}

/* ---- what the family accepts --------------------------------------- */

enum kind { K_FLAG, K_U8, K_U16, K_U32, K_NEST };

struct known {
	uint16_t type;
	enum kind kind;
};

static const struct known set_attrs[] = {
	{ LEMONADE_A_ENABLED, K_U8 },
	{ LEMONADE_A_TIMEOUT, K_U32 },
	{ LEMONADE_A_HIGH_WATER, K_U8 },
	{ LEMONADE_A_LOW_WATER, K_U8 },
	{ LEMONADE_A_PORTS, K_NEST },
	{ LEMONADE_A_FORCE, K_FLAG },
	{ LEMONADE_A_ICMP_POLICY, K_U8 },
	{ LEMONADE_A_ICMP_STATES, K_U8 },
	{ LEMONADE_A_ICMP_V4_CODES, K_U32 },
	{ LEMONADE_A_ICMP_V6_CODES, K_U32 },
	{ LEMONADE_A_ICMP_VALIDATE, K_U8 },
	{ LEMONADE_A_GUARD_POLICY, K_U8 },
};

static const struct known port_attrs[] = {
	{ LEMONADE_PORT_A_PORT, K_U16 },
	{ LEMONADE_PORT_A_PROTO, K_U8 },
	{ LEMONADE_PORT_A_TIMEOUT, K_U32 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t do_cmds[] = {
	LEMONADE_CMD_GET_CONFIG, LEMONADE_CMD_SET_CONFIG,
	LEMONADE_CMD_ADD_PORT, LEMONADE_CMD_DEL_PORT,
	LEMONADE_CMD_GET_STATS, LEMONADE_CMD_RESET_STATS,
};

static size_t kind_len(enum kind k)
{
	static const size_t len[] = { 0, 1, 2, 4, 0 };

	return len[k];
}

/* A payload length that is wrong for k. */
static size_t wrong_len(enum kind k)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 64 };
	size_t l;

	do {
		l = lens[below(N(lens))];
	} while (l == kind_len(k) || (k == K_FLAG && l == 0));
	return l;
}

/* Request flags: REQUEST|ACK, with DUMP for GET_FLOWS. */
static uint16_t req_flags(uint8_t cmd)
{
	return NLM_F_REQUEST | NLM_F_ACK |
	       (cmd == LEMONADE_CMD_GET_FLOWS ? NLM_F_DUMP : 0);
}

static uint8_t any_cmd(void)
{
	static const uint8_t cmds[] = {
		LEMONADE_CMD_GET_CONFIG, LEMONADE_CMD_SET_CONFIG,
		LEMONADE_CMD_ADD_PORT, LEMONADE_CMD_DEL_PORT,
		LEMONADE_CMD_GET_STATS, LEMONADE_CMD_RESET_STATS,
		LEMONADE_CMD_GET_FLOWS,
	};

	return cmds[below(N(cmds))];
}

/* A first attribute no command accepts. */
static void bad_first(struct msg *m)
{
	switch (below(4)) {
	case 0:		/* beyond the family's maxattr */
		attr(m, (uint16_t)range(LEMONADE_A_MAX + 1, NLA_TYPE_MASK), NULL,
		     below(16));
		break;
	case 1:		/* reply-only attributes */
		attr(m, below(2) ? LEMONADE_A_VERSION : LEMONADE_A_STATS, NULL,
		     below(8));
		break;
	case 2:		/* type 0 */
		attr(m, 0, NULL, below(8));
		break;
	default:	/* a scalar with NLA_F_NESTED */
		attr(m, LEMONADE_A_EVENT | NLA_F_NESTED, NULL, 4);
		break;
	}
}

static void random_soup(struct msg *m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		attr(m, (uint16_t)below(LEMONADE_A_MAX + 3) |
			(below(4) ? 0 : NLA_F_NESTED), NULL, below(24));
}

/* ---- the categories ------------------------------------------------- */

enum cat {
	C_UNKNOWN_CMD, C_BAD_LEN, C_TRUNCATED, C_UNKNOWN_ATTR, C_MISSING,
	C_RANGE, C_NEST, C_HEADER, C_DUMP, C_SOUP, C_OVERSIZE, C_SEMANTIC,
	C_MAX
};

static const char *const cat_names[] = {
	"unknown command", "wrong attribute length", "truncated",
	"unknown attribute", "missing required", "out of range",
	"broken nest", "reserved header bits", "dump misuse",
	"random soup", "oversize", "refused value",
};

static void gen_unknown_cmd(struct msg *m)
{
	uint8_t cmd;

	do {
		cmd = (uint8_t)rnd();
	} while (cmd && cmd <= LEMONADE_CMD_GET_FLOWS);
	start(m, family, NLM_F_REQUEST | NLM_F_ACK |
		 (below(3) ? 0 : NLM_F_DUMP), cmd);
	if (below(2))
		random_soup(m, below(4));
}

static void gen_bad_len(struct msg *m)
{
	size_t off;

	switch (below(3)) {
	case 0: {
		const struct known *k = &set_attrs[below(N(set_attrs))];

		if (k->kind == K_NEST)
			k = &set_attrs[0];
		start(m, family, req_flags(LEMONADE_CMD_SET_CONFIG),
		      LEMONADE_CMD_SET_CONFIG);
		attr(m, k->type, NULL, wrong_len(k->kind));
		break;
	}
	case 1: {
		const struct known *k = &port_attrs[below(N(port_attrs))];
		uint8_t cmd = below(2) ? LEMONADE_CMD_ADD_PORT :
					 LEMONADE_CMD_DEL_PORT;

		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		attr(m, k->type, NULL, wrong_len(k->kind));
		if (k->type != LEMONADE_PORT_A_PORT)
			a_u16(m, LEMONADE_PORT_A_PORT, 143);
		nest_end(m, off);
		break;
	}
	default:
		start(m, family, req_flags(LEMONADE_CMD_GET_FLOWS),
		      LEMONADE_CMD_GET_FLOWS);
		attr(m, LEMONADE_A_FILTER_PORT, NULL, wrong_len(K_U16));
		break;
	}
}

static void gen_truncated(struct msg *m)
{
	uint8_t cmd = any_cmd();
	struct nlattr *a;

	start(m, family, req_flags(cmd), cmd);
	switch (below(4)) {
	case 0:		/* shorter than the generic netlink header */
		finish(m);
		hdr(m)->nlmsg_len = NLMSG_HDRLEN + below(GENL_HDRLEN);
		m->len = hdr(m)->nlmsg_len;
		return;
	case 1:		/* an attribute longer than the message */
		a = attr(m, LEMONADE_A_TIMEOUT, NULL, 4);
		a->nla_len = (uint16_t)range(NLA_HDRLEN + 5, 0xffff);
		break;
	case 2:		/* an attribute shorter than its header */
		a = attr(m, LEMONADE_A_ENABLED, NULL, 0);
		a->nla_len = (uint16_t)below(NLA_HDRLEN);
		break;
	default:	/* the message ends inside an attribute */
		attr(m, LEMONADE_A_TIMEOUT, NULL, 4);
		finish(m);
		m->len -= range(1, 6);
		hdr(m)->nlmsg_len = (uint32_t)m->len;
		return;
	}
	finish(m);
}

static void gen_unknown_attr(struct msg *m)
{
	uint8_t cmd = any_cmd();

	start(m, family, req_flags(cmd), cmd);
	if (cmd == LEMONADE_CMD_GET_CONFIG || cmd == LEMONADE_CMD_GET_STATS ||
	    cmd == LEMONADE_CMD_RESET_STATS) {
		/* these take no attribute at all */
		attr(m, (uint16_t)range(1, LEMONADE_A_MAX + 40), NULL, below(8));
		return;
	}
	bad_first(m);
	if (below(2))
		random_soup(m, below(6));
}

static void gen_missing(struct msg *m)
{
	uint8_t cmd = below(2) ? LEMONADE_CMD_ADD_PORT : LEMONADE_CMD_DEL_PORT;
	size_t off;

	start(m, family, req_flags(cmd), cmd);
	switch (below(3)) {
	case 0:		/* no port entry */
		if (below(2))
			attr(m, LEMONADE_A_FORCE, NULL, 0);
		break;
	case 1:		/* a port entry without a port number */
		off = nest(m, LEMONADE_A_PORT);
		if (below(2))
			a_u8(m, LEMONADE_PORT_A_PROTO, (uint8_t)below(4));
		if (below(2))
			a_u32(m, LEMONADE_PORT_A_TIMEOUT, 7440);
		nest_end(m, off);
		break;
	default:	/* SET_CONFIG's PORTS is not a port entry */
		off = nest(m, LEMONADE_A_PORTS);
		nest_end(m, off);
		break;
	}
}

static void gen_range(struct msg *m)
{
	uint8_t cmd = LEMONADE_CMD_SET_CONFIG;
	size_t off;
	uint32_t v;

	switch (below(14)) {
	case 0:
		start(m, family, req_flags(cmd), cmd);
		a_u8(m, LEMONADE_A_ENABLED, (uint8_t)range(2, 255));
		break;
	case 1:
		start(m, family, req_flags(cmd), cmd);
		a_u8(m, below(2) ? LEMONADE_A_HIGH_WATER : LEMONADE_A_LOW_WATER,
		     below(3) ? (uint8_t)range(101, 255) : 0);
		break;
	case 2:		/* low not below high */
		start(m, family, req_flags(cmd), cmd);
		v = range(1, 99);
		a_u8(m, LEMONADE_A_HIGH_WATER, (uint8_t)v);
		a_u8(m, LEMONADE_A_LOW_WATER, (uint8_t)range(v, 100));
		break;
	case 3:
		start(m, family, req_flags(cmd), cmd);
		a_u8(m, LEMONADE_A_ICMP_POLICY, (uint8_t)range(2, 255));
		break;
	case 4:
		start(m, family, req_flags(cmd), cmd);
		a_u8(m, below(2) ? LEMONADE_A_ICMP_STATES : LEMONADE_A_ICMP_VALIDATE,
		     (uint8_t)range(2, 255));
		break;
	case 5:
		start(m, family, req_flags(cmd), cmd);
		a_u8(m, LEMONADE_A_GUARD_POLICY, (uint8_t)range(4, 255));
		break;
	case 6:		/* ICMPv4 code 4, or codes above 15 */
		start(m, family, req_flags(cmd), cmd);
		v = rnd();
		v |= below(2) ? 1u << LEMONADE_ICMP_V4_FRAG_NEEDED :
				1u << range(16, 31);
		a_u32(m, LEMONADE_A_ICMP_V4_CODES, v);
		break;
	case 7:		/* ICMPv6 codes above 7 */
		start(m, family, req_flags(cmd), cmd);
		a_u32(m, LEMONADE_A_ICMP_V6_CODES, rnd() | 1u << range(8, 31));
		break;
	case 8:		/* below RFC 5382's floor without FORCE */
		start(m, family, req_flags(cmd), cmd);
		a_u32(m, LEMONADE_A_TIMEOUT,
		      range(1, LEMONADE_RFC5382_MIN_TIMEOUT - 1));
		break;
	case 9:		/* longer than conntrack can store */
		start(m, family, req_flags(cmd), cmd);
		a_u32(m, LEMONADE_A_TIMEOUT, range(0x80000000u, 0xffffffffu));
		if (below(2))
			attr(m, LEMONADE_A_FORCE, NULL, 0);
		break;
	case 10:	/* port 0 */
		cmd = LEMONADE_CMD_ADD_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, 0);
		nest_end(m, off);
		break;
	case 11:	/* unknown protocol tag */
		cmd = LEMONADE_CMD_ADD_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)range(1, 65535));
		a_u8(m, LEMONADE_PORT_A_PROTO,
		     (uint8_t)range(LEMONADE_PROTO_MAX + 1, 255));
		nest_end(m, off);
		break;
	case 12:	/* a port floor below RFC 5382's without FORCE */
		cmd = LEMONADE_CMD_ADD_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)range(1, 65535));
		a_u32(m, LEMONADE_PORT_A_TIMEOUT,
		      range(1, LEMONADE_RFC5382_MIN_TIMEOUT - 1));
		nest_end(m, off);
		break;
	default:	/* flows of port 0 */
		cmd = LEMONADE_CMD_GET_FLOWS;
		start(m, family, req_flags(cmd), cmd);
		a_u16(m, LEMONADE_A_FILTER_PORT, 0);
		break;
	}
}

static void gen_nest(struct msg *m)
{
	uint8_t cmd;
	size_t off, off2;
	struct nlattr *a;
	unsigned int i;

	switch (below(6)) {
	case 0:		/* a port entry without NLA_F_NESTED */
		cmd = LEMONADE_CMD_ADD_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)range(1, 65535));
		nest_end(m, off);
		((struct nlattr *)(m->b + off))->nla_type &= ~NLA_F_NESTED;
		break;
	case 1:		/* PORTS without NLA_F_NESTED */
		cmd = LEMONADE_CMD_SET_CONFIG;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORTS);
		off2 = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, 143);
		nest_end(m, off2);
		nest_end(m, off);
		((struct nlattr *)(m->b + off))->nla_type &= ~NLA_F_NESTED;
		break;
	case 2:		/* PORTS holding something else */
		cmd = LEMONADE_CMD_SET_CONFIG;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORTS);
		attr(m, (uint16_t)range(0, LEMONADE_A_MAX) == LEMONADE_A_PORT ?
			LEMONADE_A_VERSION : (uint16_t)range(LEMONADE_A_PORT + 1,
							     LEMONADE_A_MAX + 20),
		     NULL, below(8));
		nest_end(m, off);
		break;
	case 3:		/* the same port twice */
		cmd = LEMONADE_CMD_SET_CONFIG;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORTS);
		i = range(1, 65535);
		off2 = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)i);
		nest_end(m, off2);
		off2 = nest(m, LEMONADE_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)i);
		nest_end(m, off2);
		nest_end(m, off);
		break;
	case 4:		/* a nest inside a scalar of a port entry */
		cmd = below(2) ? LEMONADE_CMD_ADD_PORT : LEMONADE_CMD_DEL_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		off2 = nest(m, LEMONADE_PORT_A_PORT);
		a_u16(m, LEMONADE_PORT_A_PORT, 143);
		nest_end(m, off2);
		nest_end(m, off);
		break;
	default:	/* an inner attribute running past its nest */
		cmd = LEMONADE_CMD_ADD_PORT;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORT);
		a = attr(m, LEMONADE_PORT_A_PORT, NULL, 2);
		nest_end(m, off);
		a->nla_len = (uint16_t)range(NLA_HDRLEN + 3, 64);
		a_u32(m, LEMONADE_A_FORCE, 0);
		break;
	}
	finish(m);
}

static void gen_header(struct msg *m)
{
	uint8_t cmd = any_cmd();
	uint16_t extra;

	/* reserved nlmsg_flags bits, or a reserved genl header byte */
	do {
		extra = (uint16_t)(rnd() & 0xff00);
	} while ((extra & ~NLM_F_DUMP) == 0);
	start(m, family, req_flags(cmd), cmd);
	if (below(2)) {
		hdr(m)->nlmsg_flags |= extra;
	} else {
		ghdr(m)->reserved = (uint16_t)range(1, 0xffff);
	}
	/* kernels before 6.1 ignore those bits: break the request too */
	if (!strict_hdr)
		bad_first(m);
}

static void gen_dump(struct msg *m)
{
	uint8_t cmd;

	if (below(3)) {
		/* a dump of a command that has none */
		cmd = do_cmds[below(N(do_cmds))];
		start(m, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, cmd);
		if (cmd == LEMONADE_CMD_SET_CONFIG && below(2))
			a_u8(m, LEMONADE_A_ENABLED, (uint8_t)below(2));
	} else {
		/* the flows without a dump */
		start(m, family, NLM_F_REQUEST | NLM_F_ACK,
		      LEMONADE_CMD_GET_FLOWS);
		if (below(2))
			a_u16(m, LEMONADE_A_FILTER_PORT, 143);
	}
}

static void gen_soup(struct msg *m)
{
	uint8_t cmd = any_cmd();

	start(m, family, req_flags(cmd), cmd);
	bad_first(m);
	random_soup(m, range(1, 40));
}

static void gen_oversize(struct msg *m)
{
	uint8_t cmd;
	unsigned int i, n;
	size_t off, off2;

	switch (below(3)) {
	case 0:		/* one huge attribute */
		cmd = any_cmd();
		start(m, family, req_flags(cmd), cmd);
		attr(m, below(2) ? LEMONADE_A_ENABLED : LEMONADE_A_VERSION, NULL,
		     range(256, 60000));
		break;
	case 1:		/* more ports than the module holds */
		cmd = LEMONADE_CMD_SET_CONFIG;
		start(m, family, req_flags(cmd), cmd);
		off = nest(m, LEMONADE_A_PORTS);
		n = range(LEMONADE_MAX_PORTS + 1, 3000);
		for (i = 0; i < n; i++) {
			off2 = nest(m, LEMONADE_A_PORT);
			a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)(i + 1));
			nest_end(m, off2);
		}
		nest_end(m, off);
		break;
	default:	/* thousands of attributes behind a bad one */
		cmd = any_cmd();
		start(m, family, req_flags(cmd), cmd);
		bad_first(m);
		random_soup(m, range(500, 3000));
		break;
	}
}

static void gen_semantic(struct msg *m)
{
	size_t off;

	/* a port that is not listed cannot be deleted */
	start(m, family, req_flags(LEMONADE_CMD_DEL_PORT), LEMONADE_CMD_DEL_PORT);
	off = nest(m, LEMONADE_A_PORT);
	a_u16(m, LEMONADE_PORT_A_PORT, (uint16_t)range(20000, 29999));
	nest_end(m, off);
}

static void generate(enum cat c, struct msg *m)
{
	switch (c) {
	case C_UNKNOWN_CMD: gen_unknown_cmd(m); break;
	case C_BAD_LEN: gen_bad_len(m); break;
	case C_TRUNCATED: gen_truncated(m); return;
	case C_UNKNOWN_ATTR: gen_unknown_attr(m); break;
	case C_MISSING: gen_missing(m); break;
	case C_RANGE: gen_range(m); break;
	case C_NEST: gen_nest(m); return;
	case C_HEADER: gen_header(m); break;
	case C_DUMP: gen_dump(m); break;
	case C_SOUP: gen_soup(m); break;
	case C_OVERSIZE: gen_oversize(m); break;
	default: gen_semantic(m); break;
	}
	finish(m);
}

/* ---- talking to the kernel ------------------------------------------ */

enum answer { A_ERROR, A_OK, A_NONE };

struct result {
	enum answer a;
	int error;		/* positive errno */
	char msg[256];
	unsigned int replies;	/* data messages before the answer */
};

static void send_msg(const struct msg *m)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	if (sendto(fd, m->b, m->len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		fprintf(stderr, "nlfuzz: sendto: %s\n", strerror(errno));
		exit(2);
	}
}

static void ext_msg(const struct nlmsghdr *h, struct result *r)
{
	size_t off = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	const struct nlmsgerr *e = NLMSG_DATA(h);
	const struct nlattr *a;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	off = NLMSG_ALIGN(off);
	while (off + NLA_HDRLEN <= h->nlmsg_len) {
		a = (const struct nlattr *)((const char *)h + off);
		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			snprintf(r->msg, sizeof(r->msg), "%.*s",
				 (int)(a->nla_len - NLA_HDRLEN),
				 (const char *)a + NLA_HDRLEN);
		off += NLA_ALIGN(a->nla_len);
	}
}

/* Waits for the answer to request number s. */
static void answer(uint32_t s, struct result *r, unsigned char *buf)
{
	memset(r, 0, sizeof(*r));
	r->a = A_NONE;
	for (;;) {
		ssize_t n = recv(fd, buf, BUFSZ, 0);
		struct nlmsghdr *h;
		int rem;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "nlfuzz: recv: %s\n",
					strerror(errno));
			return;
		}
		rem = (int)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, rem);
		     h = NLMSG_NEXT(h, rem)) {
			if (h->nlmsg_seq != s)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				r->error = -e->error;
				r->a = e->error ? A_ERROR : A_OK;
				ext_msg(h, r);
				return;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = 0;

				if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
					memcpy(&err, NLMSG_DATA(h), sizeof(err));
				r->error = -err;
				r->a = err ? A_ERROR : A_OK;
				return;
			}
			r->replies++;
		}
	}
}

static void request(const struct msg *m, struct result *r, unsigned char *buf)
{
	send_msg(m);
	answer(hdr((struct msg *)m)->nlmsg_seq, r, buf);
}

static int resolve(unsigned char *buf)
{
	struct msg m = { .b = buf };
	struct nlmsghdr *h;
	struct nlattr *a;
	ssize_t n;
	int rem;

	start(&m, GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY);
	ghdr(&m)->version = 2;
	attr(&m, CTRL_ATTR_FAMILY_NAME, LEMONADE_GENL_NAME,
	     sizeof(LEMONADE_GENL_NAME));
	finish(&m);
	send_msg(&m);
	n = recv(fd, buf, BUFSZ, 0);
	if (n < (ssize_t)NLMSG_HDRLEN)
		return -1;
	h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type == NLMSG_ERROR)
		return -1;
	rem = (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			memcpy(&family, (char *)a + NLA_HDRLEN, sizeof(family));
	return family ? 0 : -1;
}

/* The GET_CONFIG answer's attributes, into out (malloc'ed). */
static size_t read_config(unsigned char *buf, unsigned char **out)
{
	struct msg m = { .b = buf };
	uint32_t s;
	ssize_t n;

	start(&m, family, NLM_F_REQUEST, LEMONADE_CMD_GET_CONFIG);
	finish(&m);
	s = hdr(&m)->nlmsg_seq;
	send_msg(&m);
	for (;;) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		size_t len;

		n = recv(fd, buf, BUFSZ, 0);
		if (n < (ssize_t)NLMSG_HDRLEN) {
			fprintf(stderr, "nlfuzz: cannot read the configuration\n");
			exit(2);
		}
		if (h->nlmsg_seq != s)
			continue;
		if (h->nlmsg_type != family) {
			fprintf(stderr, "nlfuzz: GET_CONFIG failed\n");
			exit(2);
		}
		len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
		*out = malloc(len ? len : 1);
		if (!*out)
			exit(2);
		memcpy(*out, (char *)NLMSG_DATA(h) + GENL_HDRLEN, len);
		return len;
	}
}

/* ---- main -------------------------------------------------------------- */

#define MAXERR 256
#define MAXMSGS 64

int main(int argc, char **argv)
{
	unsigned long count = 12000, sent = 0, errors = 0, accepted = 0;
	unsigned long unanswered = 0, per_cat[C_MAX][3] = { { 0 } };
	unsigned long no_msg[C_MAX] = { 0 };
	unsigned long by_errno[MAXERR] = { 0 }, msg_count[MAXMSGS] = { 0 };
	char msgs[MAXMSGS][sizeof(((struct result *)0)->msg)];
	unsigned int nmsgs = 0, shown = 0;
	unsigned char *before, *after, *buf, *mbuf;
	size_t blen, alen;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = 5 };
	struct result r;
	struct msg m;
	int one = 1, opt, ok;
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	unsigned int i, c;

	while ((opt = getopt(argc, argv, "n:s:v")) != -1) {
		switch (opt) {
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: nlfuzz [-n COUNT] [-s SEED] [-v]\n");
			return 2;
		}
	}
	rng = seed ? seed : 1;
	buf = malloc(BUFSZ);
	mbuf = malloc(BUFSZ);
	if (!buf || !mbuf)
		return 2;
	m.b = mbuf;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("nlfuzz: netlink socket");
		free(buf);
		free(mbuf);
		return 2;
	}
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (resolve(buf)) {
		fprintf(stderr, "nlfuzz: family \"%s\" not found (nf_lemonade not loaded?)\n",
			LEMONADE_GENL_NAME);
		free(buf);
		free(mbuf);
		return 4;
	}
	blen = read_config(buf, &before);

	/* a reserved genl header byte on a read: refused since 6.1 */
	start(&m, family, NLM_F_REQUEST | NLM_F_ACK, LEMONADE_CMD_GET_CONFIG);
	ghdr(&m)->reserved = 1;
	finish(&m);
	request(&m, &r, buf);
	strict_hdr = r.a == A_ERROR;
	printf("nlfuzz: family %s id %u, seed %#" PRIx64 ", %lu requests, reserved header bits %s\n",
	       LEMONADE_GENL_NAME, family, seed, count,
	       strict_hdr ? "refused" : "ignored (pre-6.1 kernel)");

	for (sent = 0; sent < count; sent++) {
		c = (unsigned int)(sent % C_MAX);
		generate((enum cat)c, &m);
		request(&m, &r, buf);
		per_cat[c][r.a]++;
		if (r.a == A_ERROR) {
			errors++;
			if (!r.msg[0])
				no_msg[c]++;
			by_errno[r.error < MAXERR ? r.error : 0]++;
			for (i = 0; i < nmsgs; i++)
				if (!strcmp(msgs[i], r.msg))
					break;
			if (i == nmsgs && nmsgs < MAXMSGS)
				snprintf(msgs[nmsgs++], sizeof(msgs[0]), "%s", r.msg);
			if (i < MAXMSGS)
				msg_count[i]++;
			continue;
		}
		if (r.a == A_OK)
			accepted++;
		else
			unanswered++;
		if (shown++ < 10) {
			printf("nlfuzz: request %lu (%s, cmd %u, flags %#x, %zu bytes) %s\n",
			       sent, cat_names[c], ghdr(&m)->cmd,
			       hdr(&m)->nlmsg_flags, m.len,
			       r.a == A_OK ? "was ACCEPTED" : "got NO ANSWER");
		}
		if (r.a == A_NONE)
			break;
	}
	alen = read_config(buf, &after);

	for (c = 0; c < C_MAX; c++)
		printf("nlfuzz:   %-24s %5lu errors (%lu without a message) %lu accepted %lu unanswered\n",
		       cat_names[c], per_cat[c][A_ERROR], no_msg[c],
		       per_cat[c][A_OK], per_cat[c][A_NONE]);
	printf("nlfuzz: errors by errno:");
	for (i = 0; i < MAXERR; i++)
		if (by_errno[i])
			printf(" %s %lu", i ? strerrorname_np((int)i) ?: "?" : "other",
			       by_errno[i]);
	printf("\n");
	printf("nlfuzz: %u distinct extended-ACK messages%s\n", nmsgs,
	       verbose ? ":" : " (-v lists them)");
	for (i = 0; verbose && i < nmsgs; i++)
		printf("nlfuzz:   %6lu  %s\n", msg_count[i],
		       msgs[i][0] ? msgs[i] : "(none)");
	ok = accepted == 0 && unanswered == 0 && errors == sent &&
	     blen == alen && !memcmp(before, after, blen);
	printf("nlfuzz: %lu sent, %lu answered with an error, %lu accepted, %lu unanswered; configuration %s\n",
	       sent, errors, accepted, unanswered,
	       blen == alen && !memcmp(before, after, blen) ? "unchanged" : "CHANGED");
	free(before);
	free(after);
	free(buf);
	free(mbuf);
	close(fd);
	return ok ? 0 : 1;
}
