/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * nf_lemonade: generic netlink ABI.
 *
 * Family LEMONADE_GENL_NAME ("lemonade"), version LEMONADE_GENL_VERSION.
 * The family is netns-aware: every request acts on the network namespace
 * of the requesting socket. Requests that change anything need
 * CAP_NET_ADMIN over that namespace (GENL_UNS_ADMIN_PERM); so do
 * LEMONADE_CMD_GET_FLOWS and the "events" multicast group, which expose
 * the addresses of other users' connections as conntrack does, and
 * LEMONADE_CMD_GET_STATS (its gauges tell how busy the namespace's
 * conntrack table and guard are). Reading the configuration is open.
 * Every attribute is a netlink attribute; no fixed structs cross the ABI.
 * Every rejection carries an extended-ACK message and changes nothing
 * (the generic netlink core's own refusals, such as an unknown command, a
 * dump of a command that has none, or EPERM, carry only the error code).
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
 *     LEMONADE_A_GUARD_POLICY   u8, enum lemonade_guard_policy: what the
 *                               negotiation-integrity guard does when it
 *                               finds a stripped capability (default
 *                               LEMONADE_GUARD_RESTORE)
 *     LEMONADE_A_GUARD_BUFFERS  u32, negotiations the guard inspects at
 *                               once in this netns (default: module
 *                               parameter guard_buffers, 256; at most
 *                               65535); a negotiation beyond it is not
 *                               inspected and counted (GUARD_SKIPPED)
 *     LEMONADE_A_GENERATION     u32, the configuration's generation: every
 *                               change makes a new one (nftables' gen-id)
 *     LEMONADE_A_PORTS_MAX      u32, how many ports the module can list
 *                               (LEMONADE_MAX_PORTS; a user namespace's
 *                               administrator may list fewer: module
 *                               parameter userns_max_ports)
 *
 * LEMONADE_CMD_SET_CONFIG
 *   Request: any subset of ENABLED, TIMEOUT, HIGH_WATER, LOW_WATER, PORTS,
 *   the ICMP_* attributes, GUARD_POLICY, GUARD_BUFFERS, GENERATION and
 *   the flag LEMONADE_A_FORCE.
 *   PORTS, when present, replaces the whole port set (an empty nest
 *   empties it). The resulting configuration is
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
 *   A request that carries LEMONADE_A_GENERATION (SET_CONFIG, ADD_PORT,
 *   DEL_PORT) is refused with ESTALE, changing nothing, unless that is
 *   still the configuration's generation: a client that read the
 *   configuration, edited it and writes it back loses no concurrent
 *   change.
 *
 * LEMONADE_CMD_ADD_PORT
 *   Request: one LEMONADE_A_PORT nest (PORT required, PROTO and TIMEOUT
 *   optional; PROTO defaults to LEMONADE_PROTO_NONE, a missing TIMEOUT
 *   means the global floor) and optionally LEMONADE_A_FORCE. An existing
 *   entry for the port is replaced. At most LEMONADE_MAX_PORTS ports.
 *
 * LEMONADE_CMD_DEL_PORT
 *   Request: one LEMONADE_A_PORT nest with PORT, optionally GENERATION
 *   and FORCE (a removal that leaves a floor below the RFC minimum in
 *   effect needs none: the module keeps it). ENOENT if not listed.
 *
 * LEMONADE_CMD_GET_STATS
 *   Reply: LEMONADE_A_STATS, a nest of u64 counters (enum
 *   lemonade_stat_attr), summed over all CPUs, for this netns.
 *
 * LEMONADE_CMD_RESET_STATS
 *   Request: no attributes. Zeroes the counters of this netns.
 *
 * LEMONADE_CMD_GET_FLOWS (dump only: NLM_F_DUMP; needs CAP_NET_ADMIN)
 *   Request: optionally LEMONADE_A_FILTER_PORT, u16: only flows whose
 *   listed port is this one. Reply: one message per listed flow the
 *   module follows (a TCP flow on a listed port past its handshake, and
 *   the established entries it adopted when it was loaded or enabled),
 *   each holding a LEMONADE_A_FLOW nest (enum lemonade_flow_attr); none
 *   while the module is disabled in the netns. The flows are read from the
 *   module's own per-netns list, never from a walk of the conntrack
 *   table: every flow present throughout the dump is listed exactly once
 *   however many messages the dump takes; flows that come or go meanwhile
 *   may or may not be listed.
 *
 * The "events" multicast group (LEMONADE_MCGRP_EVENTS; joining it needs
 * CAP_NET_ADMIN) carries LEMONADE_CMD_EVENT messages about the netns of
 * the listening socket:
 *     LEMONADE_A_EVENT             u8, enum lemonade_event
 *     LEMONADE_A_FLOW              nest, the flow concerned (not for
 *                                  LEMONADE_EVENT_PRESSURE_RELEASE nor
 *                                  LEMONADE_EVENT_CONFIG)
 *     LEMONADE_A_ICMP_TYPE         u8, ICMP events: type of the error
 *     LEMONADE_A_ICMP_CODE         u8, ICMP events: code of the error
 *                                  (ICMPv4 or ICMPv6 as the flow's family)
 *     LEMONADE_A_EVENT_KEYWORD     string, guard events: the keyword
 *                                  concerned as the server sent it (for
 *                                  STRIP_*) or the client's command (for
 *                                  PARTIAL_BLOCK), at most 31 bytes, NUL
 *                                  terminated; absent when the change is
 *                                  not inside an advertised keyword
 *     LEMONADE_A_EVENT_COUNT       u32, LEMONADE_EVENT_PRESSURE_RELEASE:
 *                                  flows released in that pass
 *     LEMONADE_A_EVENT_PORTID      u32, LEMONADE_EVENT_CONFIG: the netlink
 *                                  port id of the socket that made the
 *                                  change (libnl: the process's pid in
 *                                  its low 22 bits)
 *     LEMONADE_A_EVENT_PID         u32, LEMONADE_EVENT_CONFIG: the thread
 *                                  group id (pid) of the process that made
 *                                  the change, in the initial pid namespace
 *                                  (as nftables' NFTA_GEN_PROC_PID)
 *     LEMONADE_A_EVENT_COMM        NUL-terminated string,
 *                                  LEMONADE_EVENT_CONFIG: that process's
 *                                  name (comm, at most 15 characters)
 *     LEMONADE_A_EVENT_CMD         u8, LEMONADE_EVENT_CONFIG: the command
 *                                  that made it (SET_CONFIG, ADD_PORT,
 *                                  DEL_PORT); the event also carries the
 *                                  whole new configuration, as GET_CONFIG
 *                                  replies it (with its GENERATION)
 *     LEMONADE_A_EVENT_SUPPRESSED  u32, present when the rate limit (module
 *                                  parameter event_rate, per second and
 *                                  netns) dropped events since the last
 *                                  one sent: how many
 *   Events cost nothing while no socket listens. A socket that reads too
 *   slowly loses events (ENOBUFS on its next read).
 *
 * Flow attributes (LEMONADE_A_FLOW nest):
 *     LEMONADE_FLOW_A_FAMILY     u8, AF_INET or AF_INET6
 *     LEMONADE_FLOW_A_SADDR      binary, 4 or 16 bytes, network order: the
 *                                client's address (original direction)
 *     LEMONADE_FLOW_A_DADDR      binary, the server's address as the
 *                                client addressed it
 *     LEMONADE_FLOW_A_SPORT      u16, the client's port (host order)
 *     LEMONADE_FLOW_A_DPORT      u16, the server's port as addressed
 *     LEMONADE_FLOW_A_PORT       u16, the listed port the flow matched
 *                                (DPORT, or the server's port after DNAT)
 *     LEMONADE_FLOW_A_TCP_STATE  u8, conntrack's TCP state (enum
 *                                tcp_conntrack, linux/netfilter/
 *                                nf_conntrack_tcp.h)
 *     LEMONADE_FLOW_A_REMAINING  u32, seconds until conntrack expires the
 *                                flow if it stays idle
 *     LEMONADE_FLOW_A_TIMEOUT    u32, the floor that applies to it, in
 *                                seconds, 0 = unlimited
 *     LEMONADE_FLOW_A_MARKED     u8, 1 if the flow carries the "lemonade"
 *                                conntrack helper (kept out of flow offload)
 *     LEMONADE_FLOW_A_ID         u32, conntrack's id of the entry (as
 *                                "conntrack -L -o id" prints it)
 *     LEMONADE_FLOW_A_GUARD      u8, enum lemonade_guard_status: where
 *                                the negotiation-integrity guard is with
 *                                the flow (absent from older modules:
 *                                LEMONADE_GUARD_S_NONE)
 *     LEMONADE_FLOW_A_GUARD_INSPECTED u32, negotiation bytes the guard has
 *                                parsed on this flow, both directions; it
 *                                stops growing once the guard is done
 *                                (STARTTLS accepted, AUTH, byte budget)
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
	LEMONADE_CMD_GET_FLOWS,
	LEMONADE_CMD_EVENT,
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
	LEMONADE_A_GUARD_POLICY,
	LEMONADE_A_FILTER_PORT,
	LEMONADE_A_FLOW,
	LEMONADE_A_EVENT,
	LEMONADE_A_EVENT_COUNT,
	LEMONADE_A_EVENT_SUPPRESSED,
	LEMONADE_A_ICMP_TYPE,
	LEMONADE_A_ICMP_CODE,
	LEMONADE_A_EVENT_KEYWORD,
	LEMONADE_A_PAD,
	LEMONADE_A_GUARD_BUFFERS,
	LEMONADE_A_PORTS_MAX,
	LEMONADE_A_GENERATION,
	LEMONADE_A_EVENT_PORTID,
	LEMONADE_A_EVENT_CMD,
	LEMONADE_A_EVENT_PID,
	LEMONADE_A_EVENT_COMM,
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

enum lemonade_guard_policy {
	LEMONADE_GUARD_RESTORE,	/* put the stripped capability back */
	LEMONADE_GUARD_RESET,	/* reset the connection */
	LEMONADE_GUARD_LOG,	/* only report it (event, counter) */
	LEMONADE_GUARD_OFF,	/* do not inspect */
	__LEMONADE_GUARD_POLICY_MAX
};

#define LEMONADE_GUARD_POLICY_MAX (__LEMONADE_GUARD_POLICY_MAX - 1)

/* Guard status of a flow (LEMONADE_FLOW_A_GUARD). */
enum lemonade_guard_status {
	LEMONADE_GUARD_S_NONE,		/* not inspected (yet, or not a mail port) */
	LEMONADE_GUARD_S_ACTIVE,	/* negotiation being inspected */
	LEMONADE_GUARD_S_DONE,		/* finished: STARTTLS, AUTH or budget */
	LEMONADE_GUARD_S_SKIPPED,	/* not inspected: no buffer was free */
	LEMONADE_GUARD_S_RESET,		/* the guard reset the connection */
	LEMONADE_GUARD_S_ABANDONED,	/* stopped: the negotiation stalled, or its
					 * stream could not be followed
					 */
	__LEMONADE_GUARD_S_MAX
};

#define LEMONADE_GUARD_S_MAX (__LEMONADE_GUARD_S_MAX - 1)

#define LEMONADE_MCGRP_EVENTS		"events"

enum lemonade_event {
	LEMONADE_EVENT_UNSPEC,
	LEMONADE_EVENT_ICMP_ABSORBED,	/* a soft error about a flow dropped */
	LEMONADE_EVENT_ICMP_INVALID,	/* an error with a bad sequence dropped */
	LEMONADE_EVENT_PRESSURE_RELEASE, /* one recycling pass, with COUNT */
	LEMONADE_EVENT_STRIP_DETECTED,	/* stripping seen, left alone (log) */
	LEMONADE_EVENT_STRIP_RESTORED,	/* stripping seen, bytes written back */
	LEMONADE_EVENT_STRIP_RESET,	/* stripping seen, both ends reset */
	LEMONADE_EVENT_PARTIAL_BLOCK,	/* a client command never left */
	LEMONADE_EVENT_CONFIG,		/* the configuration changed */
	__LEMONADE_EVENT_MAX
};

#define LEMONADE_EVENT_MAX (__LEMONADE_EVENT_MAX - 1)

enum lemonade_flow_attr {
	LEMONADE_FLOW_A_UNSPEC,
	LEMONADE_FLOW_A_FAMILY,
	LEMONADE_FLOW_A_SADDR,
	LEMONADE_FLOW_A_DADDR,
	LEMONADE_FLOW_A_SPORT,
	LEMONADE_FLOW_A_DPORT,
	LEMONADE_FLOW_A_PORT,
	LEMONADE_FLOW_A_TCP_STATE,
	LEMONADE_FLOW_A_REMAINING,
	LEMONADE_FLOW_A_TIMEOUT,
	LEMONADE_FLOW_A_MARKED,
	LEMONADE_FLOW_A_ID,
	LEMONADE_FLOW_A_GUARD,
	LEMONADE_FLOW_A_GUARD_INSPECTED,
	LEMONADE_FLOW_A_PAD,
	__LEMONADE_FLOW_A_MAX
};

#define LEMONADE_FLOW_A_MAX (__LEMONADE_FLOW_A_MAX - 1)

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
 *                   outside the tracked window, or could not be read (the
 *                   error quotes too little of the segment), with
 *                   validation on
 * GUARD_INSPECTED:  negotiation bytes the guard parsed (both directions)
 * GUARD_STRIP_DETECTED: server segments changed inside the gateway within
 *                   the negotiation (a keyword masked or removed)
 * GUARD_RESTORED:   of those, segments whose masked keywords were written
 *                   back (policy restore)
 * GUARD_RESET:      connections reset by the guard (policy reset, or
 *                   restore when the length changed or for partial blocks)
 * GUARD_PARTIAL_BLOCK: client extension commands (STARTTLS, AUTH) that
 *                   entered the gateway again and again but never left it
 * GUARD_UPSTREAM_MASKED: advertised keywords that arrived already masked
 *                   (all X or *); never guessed back
 * GUARD_SKIPPED:    negotiations not inspected because no record was
 *                   free: the netns's budget (LEMONADE_A_GUARD_BUFFERS)
 *                   or the cap over all netns (module parameter
 *                   guard_buffers_max) was reached
 * GUARD_STALE:      segments dropped because they entered the gateway
 *                   with bytes that differ from the same stream bytes seen
 *                   before (stale, replayed or forged): never a reset
 * GUARD_ABANDONED:  negotiations the guard gave up: no progress for
 *                   guard_stall seconds (module parameter), or a stream it
 *                   could not follow; their record is given back
 * GUARD_DEFERRED:   server segments held back (dropped: TCP sends them
 *                   again) because they were changed inside the gateway in
 *                   bytes the guard could not judge yet (recorded ahead of
 *                   a gap in the stream)
 * RELEASED_POLICY:  pinned flows handed back to conntrack's own timeout
 *                   (or to a shorter pin) because a configuration change
 *                   withdrew their pin: disabled, port removed, a lower
 *                   floor, unlimited made finite
 * ICMP_UNVALIDATED: errors let through unvalidated (validation on)
 *                   because conntrack does not track the flow's windows
 *                   (picked up mid-stream, or be_liberal)
 *
 * Gauges in the same nest (values now, not reset by RESET_STATS):
 * LISTED:           listed flows past their handshake (the floor's list)
 * GUARD_BUFFERS:    negotiation records in use in the netns
 *
 * A counter again (added after the gauges):
 * GUARD_UNINSPECTED: negotiations the guard stopped reading before their
 *                   end: one direction reached the 8192 bytes the guard
 *                   reads of it (LP_BUDGET) before the negotiation ended,
 *                   or was not SMTP, IMAP or ACAP (too many control
 *                   bytes, malformed or over-long lines). What follows,
 *                   in either direction, is not compared: a keyword
 *                   masked there goes unseen. Each is also logged
 *                   (rate-limited).
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
	LEMONADE_STAT_A_GUARD_INSPECTED,
	LEMONADE_STAT_A_GUARD_STRIP_DETECTED,
	LEMONADE_STAT_A_GUARD_RESTORED,
	LEMONADE_STAT_A_GUARD_RESET,
	LEMONADE_STAT_A_GUARD_PARTIAL_BLOCK,
	LEMONADE_STAT_A_GUARD_UPSTREAM_MASKED,
	LEMONADE_STAT_A_GUARD_SKIPPED,
	LEMONADE_STAT_A_GUARD_STALE,
	LEMONADE_STAT_A_GUARD_ABANDONED,
	LEMONADE_STAT_A_GUARD_DEFERRED,
	LEMONADE_STAT_A_RELEASED_POLICY,
	LEMONADE_STAT_A_ICMP_UNVALIDATED,
	LEMONADE_STAT_A_LISTED,
	LEMONADE_STAT_A_GUARD_BUFFERS,
	LEMONADE_STAT_A_GUARD_UNINSPECTED,
	__LEMONADE_STAT_A_MAX
};

#define LEMONADE_STAT_A_MAX (__LEMONADE_STAT_A_MAX - 1)
#define LEMONADE_STAT_A_FIRST LEMONADE_STAT_A_PINNED

#endif /* _UAPI_LINUX_LEMONADE_H */
