/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * nf_lemonade: generic netlink ABI.
 *
 * Family LEMONADE_GENL_NAME ("lemonade"), version LEMONADE_GENL_VERSION.
 * The family is netns-aware: every request acts on the network namespace
 * of the requesting socket. Requests that change anything need
 * CAP_NET_ADMIN over that namespace (GENL_UNS_ADMIN_PERM); reads are open.
 * Every attribute is a netlink attribute; no fixed structs cross the ABI.
 * Every rejection carries an extended-ACK message and changes nothing.
 *
 * LEMONADE_CMD_GET_CONFIG
 *   Request: no attributes. Reply: the whole configuration of the netns:
 *     LEMONADE_A_VERSION        string, module version
 *     LEMONADE_A_ENABLED        u8, 0 or 1
 *     LEMONADE_A_TIMEOUT        u32, idle floor in seconds, 0 = unlimited
 *     LEMONADE_A_HIGH_WATER     u8, percent of nf_conntrack_max at which
 *                               the longest-idle listed flows are recycled
 *     LEMONADE_A_LOW_WATER      u8, percent to recycle down to
 *     LEMONADE_A_PORTS          nest of LEMONADE_A_PORT nests, each:
 *         LEMONADE_PORT_A_PORT     u16, TCP server port (host order)
 *         LEMONADE_PORT_A_PROTO    u8, enum lemonade_proto
 *         LEMONADE_PORT_A_TIMEOUT  u32, own floor in seconds, 0 =
 *                                  unlimited; absent = the global floor
 *
 *     LEMONADE_A_ICMP_POLICY    u8, enum lemonade_icmp_policy: what becomes
 *                               of an ICMP soft error RELATED to a covered
 *                               flow on a listed port
 *     LEMONADE_A_ICMP_STATES    u8, enum lemonade_icmp_states: which TCP
 *                               states are covered
 *     LEMONADE_A_ICMP_V4_CODES  u32, bit N set = ICMPv4 destination
 *                               unreachable (type 3) code N is soft
 *                               (default codes 0, 1, 5; bit 4,
 *                               fragmentation needed, is refused; codes
 *                               0..15)
 *     LEMONADE_A_ICMP_V6_CODES  u32, bit N set = ICMPv6 destination
 *                               unreachable (type 1) code N is soft
 *                               (default codes 0, 2, 3; codes 0..7)
 *     LEMONADE_A_ICMP_VALIDATE  u8, 0 or 1: drop any ICMP error (other than
 *                               fragmentation needed and Packet Too Big)
 *                               about a listed flow whose quoted TCP
 *                               sequence number lies outside the window
 *                               conntrack tracks (RFC 5927)
 *   ICMPv4 fragmentation needed and ICMPv6 Packet Too Big are never
 *   absorbed: path MTU discovery keeps working.
 *
 * LEMONADE_CMD_SET_CONFIG
 *   Request: any subset of ENABLED, TIMEOUT, HIGH_WATER, LOW_WATER, PORTS,
 *   the ICMP_* attributes and the flag LEMONADE_A_FORCE. PORTS, when present, replaces the whole
 *   port set (an empty nest empties it). The resulting configuration is
 *   validated in full and applied atomically, so a batch of changes folded
 *   into one request is all-or-nothing.
 *   A floor (global or per port) below LEMONADE_RFC5382_MIN_TIMEOUT
 *   seconds is refused with EINVAL unless LEMONADE_A_FORCE is present
 *   (RFC 5382 REQ-5); a low floor the configuration already had (set
 *   earlier with FORCE) does not need FORCE again. A floor longer than
 *   conntrack can store (INT_MAX jiffies, less 5 s) is refused with
 *   ERANGE: use 0 (unlimited). HIGH_WATER and LOW_WATER are 1..100 and
 *   LOW_WATER must be below HIGH_WATER. The extended ACK points at the
 *   attribute that carried the rejected value.
 *
 * LEMONADE_CMD_ADD_PORT
 *   Request: one LEMONADE_A_PORT nest (PORT required, PROTO and TIMEOUT
 *   optional; PROTO defaults to LEMONADE_PROTO_NONE, a missing TIMEOUT
 *   means the global floor) and optionally LEMONADE_A_FORCE. An existing
 *   entry for the port is replaced. At most LEMONADE_MAX_PORTS ports.
 *
 * LEMONADE_CMD_DEL_PORT
 *   Request: one LEMONADE_A_PORT nest with PORT. ENOENT if not listed.
 *
 * LEMONADE_CMD_GET_STATS
 *   Reply: LEMONADE_A_STATS, a nest of u64 counters (enum
 *   lemonade_stat_attr), summed over all CPUs, for this netns.
 *
 * LEMONADE_CMD_RESET_STATS
 *   Request: no attributes. Zeroes the counters of this netns.
 */
#ifndef _UAPI_LINUX_LEMONADE_H
#define _UAPI_LINUX_LEMONADE_H

#define LEMONADE_GENL_NAME		"lemonade"
#define LEMONADE_GENL_VERSION		1

#define LEMONADE_RFC5382_MIN_TIMEOUT	7440
#define LEMONADE_MAX_PORTS		64

enum lemonade_cmd {
	LEMONADE_CMD_UNSPEC,
	LEMONADE_CMD_GET_CONFIG,
	LEMONADE_CMD_SET_CONFIG,
	LEMONADE_CMD_ADD_PORT,
	LEMONADE_CMD_DEL_PORT,
	LEMONADE_CMD_GET_STATS,
	LEMONADE_CMD_RESET_STATS,
	__LEMONADE_CMD_MAX
};
#define LEMONADE_CMD_MAX (__LEMONADE_CMD_MAX - 1)

enum lemonade_attr {
	LEMONADE_A_UNSPEC,
	LEMONADE_A_VERSION,
	LEMONADE_A_ENABLED,
	LEMONADE_A_TIMEOUT,
	LEMONADE_A_HIGH_WATER,
	LEMONADE_A_LOW_WATER,
	LEMONADE_A_PORTS,
	LEMONADE_A_PORT,
	LEMONADE_A_FORCE,
	LEMONADE_A_STATS,
	LEMONADE_A_ICMP_POLICY,
	LEMONADE_A_ICMP_STATES,
	LEMONADE_A_ICMP_V4_CODES,
	LEMONADE_A_ICMP_V6_CODES,
	LEMONADE_A_ICMP_VALIDATE,
	__LEMONADE_A_MAX
};
#define LEMONADE_A_MAX (__LEMONADE_A_MAX - 1)

enum lemonade_port_attr {
	LEMONADE_PORT_A_UNSPEC,
	LEMONADE_PORT_A_PORT,
	LEMONADE_PORT_A_PROTO,
	LEMONADE_PORT_A_TIMEOUT,
	__LEMONADE_PORT_A_MAX
};
#define LEMONADE_PORT_A_MAX (__LEMONADE_PORT_A_MAX - 1)

enum lemonade_proto {
	LEMONADE_PROTO_NONE,
	LEMONADE_PROTO_IMAP,
	LEMONADE_PROTO_SMTP,
	LEMONADE_PROTO_ACAP,
	__LEMONADE_PROTO_MAX
};
#define LEMONADE_PROTO_MAX (__LEMONADE_PROTO_MAX - 1)

enum lemonade_icmp_policy {
	LEMONADE_ICMP_ABSORB,	/* drop and count */
	LEMONADE_ICMP_PASS,	/* count only */
	__LEMONADE_ICMP_POLICY_MAX
};
#define LEMONADE_ICMP_POLICY_MAX (__LEMONADE_ICMP_POLICY_MAX - 1)

enum lemonade_icmp_states {
	LEMONADE_ICMP_ESTABLISHED,	/* ESTABLISHED only: connect() fails fast */
	LEMONADE_ICMP_ALL,		/* every TCP state, SYN_SENT included */
	__LEMONADE_ICMP_STATES_MAX
};
#define LEMONADE_ICMP_STATES_MAX (__LEMONADE_ICMP_STATES_MAX - 1)

#define LEMONADE_ICMP_V4_FRAG_NEEDED	4

/*
 * Counters in LEMONADE_A_STATS, one u64 attribute each (PAD is only the
 * alignment padding of nla_put_u64_64bit and carries nothing):
 *
 * PINNED:           packets on which the floor raised a flow's timeout
 * REARMED:          unlimited flows re-armed by the background scan
 * RECYCLED:         idle listed flows released under table pressure
 * PRESSURE_EVENTS:  times the table crossed the high-water mark
 * RELEASED_UNLOAD:  pinned flows handed back to conntrack's own timeout
 *                   when the module left the netns (rmmod)
 * MARKED:           new flows on listed ports marked with the "lemonade"
 *                   conntrack helper, which keeps them out of flow offload
 * ICMP_ABSORBED:    soft errors dropped (policy absorb)
 * ICMP_PASSED:      soft errors let through and counted (policy pass)
 * ICMP_INVALID:     errors dropped because the quoted sequence number was
 *                   outside the tracked window (validation on)
 */
enum lemonade_stat_attr {
	LEMONADE_STAT_A_UNSPEC,
	LEMONADE_STAT_A_PAD,
	LEMONADE_STAT_A_PINNED,
	LEMONADE_STAT_A_REARMED,
	LEMONADE_STAT_A_RECYCLED,
	LEMONADE_STAT_A_PRESSURE_EVENTS,
	LEMONADE_STAT_A_RELEASED_UNLOAD,
	LEMONADE_STAT_A_MARKED,
	LEMONADE_STAT_A_ICMP_ABSORBED,
	LEMONADE_STAT_A_ICMP_PASSED,
	LEMONADE_STAT_A_ICMP_INVALID,
	__LEMONADE_STAT_A_MAX
};
#define LEMONADE_STAT_A_MAX (__LEMONADE_STAT_A_MAX - 1)
#define LEMONADE_STAT_A_FIRST LEMONADE_STAT_A_PINNED

#endif /* _UAPI_LINUX_LEMONADE_H */
