// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the negotiation integrity guard (RFC 5383 section 6,
 * RFC 2979).
 *
 * For flows on ports tagged smtp, imap or acap the guard records the
 * server's plaintext negotiation as it enters the gateway (the "in" hooks,
 * right after conntrack) and compares every server segment as it leaves
 * (the "out" hooks, last before confirm). A difference inside an
 * advertised keyword is partial extension stripping made inside the
 * gateway: the original bytes are written back when the length is
 * unchanged (policy restore), or both ends get a reset (policy reset, and
 * restore when the length changed), or it is only counted and reported
 * (policy log). On the client side, a command that uses an extension
 * (STARTTLS, AUTH) seen entering again and again but never leaving is a
 * partial block. The guard stops at STARTTLS, AUTH or the parser's byte
 * budget and then gives the record back.
 *
 * Nothing from the wire is trusted. The initial sequence numbers are taken
 * once, from the packet that completes the handshake, and only when they
 * agree with conntrack's own view of it; a later SYN or SYN/ACK changes
 * nothing. Bytes that enter the gateway are compared with the same stream
 * bytes seen before: a segment that differs is stale, replayed or forged,
 * and is dropped (never answered with resets). Only a change made inside
 * the gateway to bytes that entered intact is stripping. A retransmission
 * that overlaps what was recorded is followed from its new tail; bytes
 * beyond a gap are recorded and parsed once the gap fills; a stream the
 * guard cannot follow, or a negotiation that makes no progress for
 * guard_stall seconds, is given up (counted) and its record freed.
 *
 * The flow's guard phase lives in its extension (flow.h); the record of a
 * negotiation in progress (struct lemonade_neg) comes from the netns's
 * budget (flow.c). Without a record the flow is skipped and counted;
 * traffic is never dropped for lack of one. Every access to either is
 * under the entry's lock; the hooks' lockless peek at the phase is
 * re-checked under it.
 */
#include "guard.h"
#include "events.h"
#include "flow.h"
#include "parse.h"
#include "compat/compat.h"

#include <linux/bitmap.h>
#include <linux/ratelimit.h>
#include <linux/stringify.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/ip6_checksum.h>
#include <net/ip6_route.h>
#include <net/ipv6.h>
#include <net/route.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>

#define NEG_RETRANS	2	/* withheld command seen again this often, */
#define NEG_WITHHELD	3	/* ... over at least these seconds */
#define KEYWORD_MAX	32	/* keyword in log lines and events, with NUL */
#define REAP_BATCH	32	/* stalled negotiations given up per pass */
#define NEG_LIFETIME	120	/* seconds a negotiation may take in all */
#define MASKED		" masked inside the gateway (partial extension stripping)"
#define CHANGED		" removed or changed inside the gateway (partial extension stripping, length changed)"

static unsigned int guard_stall = 10;

static struct lemonade_uint_param guard_stall_p = {
	&guard_stall, 1, 3600, " seconds"
};

module_param_cb(guard_stall, &lemonade_uint_range_ops, &guard_stall_p, 0644);
MODULE_PARM_DESC(guard_stall, "Seconds without progress after which the guard gives a negotiation up and frees its record (1-3600, default 10)");

/* ---- segment access ---- */

struct seg {
	struct tcphdr th;
	unsigned int thoff;	/* offset of the TCP header in the skb */
	unsigned int off;	/* offset of the payload in the skb */
	unsigned int len;	/* payload length */
	u32 seq;
};

static bool seg_get(struct sk_buff *skb, u8 pf, struct seg *s)
{
	const struct tcphdr *th;
	unsigned int l3len;

	if (pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_TCP ||
		    iph->frag_off & htons(IP_MF | IP_OFFSET))
			return false;
		s->thoff = skb_network_offset(skb) + ip_hdrlen(skb);
		l3len = ntohs(iph->tot_len);
		/* BIG TCP: the length is the skb's */
		if (!l3len)
			l3len = skb->len - skb_network_offset(skb);
	} else {
		u8 nexthdr = ipv6_hdr(skb)->nexthdr;
		__be16 frag_off;
		int off;

		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(struct ipv6hdr), &nexthdr,
				       &frag_off);
		if (off < 0 || nexthdr != IPPROTO_TCP || frag_off)
			return false;
		s->thoff = off;
		l3len = skb_network_offset(skb) + sizeof(struct ipv6hdr) +
			ntohs(ipv6_hdr(skb)->payload_len);
		/* a jumbogram (BIG TCP): the length is the skb's */
		if (!ipv6_hdr(skb)->payload_len)
			l3len = skb->len;
	}
	th = skb_header_pointer(skb, s->thoff, sizeof(s->th), &s->th);
	if (!th)
		return false;
	if (th != &s->th)
		s->th = *th;
	s->off = s->thoff + s->th.doff * 4;
	if (pf == NFPROTO_IPV4)
		l3len += skb_network_offset(skb);
	s->len = l3len > s->off ? min_t(unsigned int, l3len, skb->len) - s->off : 0;
	s->seq = ntohl(s->th.seq);
	return true;
}

/* Stream offset of the segment's first payload byte; false if before 0. */
static bool seg_stream_off(const struct lemonade_neg *neg,
			   enum ip_conntrack_dir dir, const struct seg *s,
			   u32 *off)
{
	*off = s->seq - neg->isn[dir] - 1;
	return (s32)*off >= 0;
}

/*
 * A log line about @ct, "flow SRC -> DST: " then @what and @tail, within
 * the rate limit @rs (one per kind of line: a flood of one kind cannot
 * silence another). Never under the entry's lock.
 */
static void flow_log(struct ratelimit_state *rs, const struct nf_conn *ct,
		     const char *what, const char *tail)
{
	const struct nf_conntrack_tuple *t =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;

	if (!__ratelimit(rs))
		return;
	if (nf_ct_l3num(ct) == NFPROTO_IPV6)
		pr_info("flow [%pI6c]:%u -> [%pI6c]:%u: %s%s\n",
			&t->src.u3.in6, ntohs(t->src.u.tcp.port),
			&t->dst.u3.in6, ntohs(t->dst.u.tcp.port), what, tail);
	else
		pr_info("flow %pI4:%u -> %pI4:%u: %s%s\n",
			&t->src.u3.ip, ntohs(t->src.u.tcp.port),
			&t->dst.u3.ip, ntohs(t->dst.u.tcp.port), what, tail);
}

static DEFINE_RATELIMIT_STATE(report_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);
static DEFINE_RATELIMIT_STATE(stopped_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

/* ---- parser glue ---- */

struct feed_ctx {
	struct lemonade_net *ln;
	struct lemonade_neg *neg;
	enum ip_conntrack_dir dir;
};

/*
 * The parser stopped before the negotiation's end: it read all it reads
 * of one direction (LP_BUDGET), or that direction is not mail. Nothing
 * after it is compared (in either direction), so say so: counted now,
 * logged once the lock is dropped (stopped_log()).
 */
static void uninspected(struct feed_ctx *c, enum lp_done_reason reason)
{
	lemonade_count(c->ln, LEMONADE_STAT_A_GUARD_UNINSPECTED, 1);
	c->neg->flags |= reason == LP_DONE_BUDGET ? NEG_STOP_BUDGET :
						    NEG_STOP_GARBAGE;
	if (c->dir == IP_CT_DIR_ORIGINAL)
		c->neg->flags |= NEG_STOP_CLIENT;
}

/* The log line of uninspected(), for NEG_STOP_* @flags. */
static void stopped_log(const struct nf_conn *ct, u8 flags)
{
	if (!(flags & (NEG_STOP_BUDGET | NEG_STOP_GARBAGE)))
		return;
	flow_log(&stopped_rs, ct, flags & NEG_STOP_CLIENT ?
		 "client negotiation" : "server negotiation",
		 flags & NEG_STOP_BUDGET ?
		 " reached the " __stringify(LP_BUDGET)
		 " bytes the guard reads; the rest is not inspected" :
		 " is not SMTP, IMAP or ACAP; the rest is not inspected");
}

static void on_event(void *arg, const struct lp_event *ev)
{
	struct feed_ctx *c = arg;
	struct lemonade_neg *neg = c->neg;

	switch (ev->type) {
	case LP_EV_KEYWORD:
		if (ev->flags & LP_KW_MASKED)
			lemonade_count(c->ln, LEMONADE_STAT_A_GUARD_UPSTREAM_MASKED, 1);
		if (ev->off < LEMONADE_NEG_REC_MAX)
			bitmap_set(neg->kw, ev->off,
				   min_t(u32, ev->len,
					 LEMONADE_NEG_REC_MAX - ev->off));
		break;
	case LP_EV_COMMAND_START:
		if (ev->cmd == LP_CMD_STARTTLS || ev->cmd == LP_CMD_AUTH) {
			neg->pending_seq = neg->isn[IP_CT_DIR_ORIGINAL] + 1 + ev->off;
			neg->flags &= ~NEG_PENDING_AUTH;
			neg->flags |= NEG_PENDING;
			if (ev->cmd == LP_CMD_AUTH)
				neg->flags |= NEG_PENDING_AUTH;
			neg->retrans = 0;
			neg->pending_at = jiffies;
		}
		lp_note_command(&neg->lp[IP_CT_DIR_REPLY], ev);
		break;
	case LP_EV_DONE:
		if (ev->reason == LP_DONE_BUDGET ||
		    ev->reason == LP_DONE_GARBAGE)
			uninspected(c, ev->reason);
		fallthrough;
	case LP_EV_TLS_ACCEPTED:
		neg->done = true;
		break;
	default:
		break;
	}
}

static void feed(struct lemonade_net *ln, struct lemonade_neg *neg,
		 enum ip_conntrack_dir dir, const u8 *data, unsigned int len)
{
	struct feed_ctx c = { .ln = ln, .neg = neg, .dir = dir };

	if (neg->done)
		return;
	len = lp_feed(&neg->lp[dir], data, len, on_event, &c);
	if (len) {
		neg->inspected += len;
		neg->progress = jiffies;
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_INSPECTED, len);
	}
}

/* ---- reports: a log line and an event ---- */

/* What the guard found on a segment, reported once the lock is dropped. */
struct report {
	u8 event;			/* enum lemonade_event, 0 = none */
	const char *label;		/* "keyword" or "command" */
	const char *what;		/* the log line's tail */
	char keyword[KEYWORD_MAX];	/* empty: not inside a keyword */
	u8 stopped;			/* NEG_STOP_*: the parser gave up */
};

static void report_keyword(struct report *r, const char *label,
			   const u8 *p, unsigned int len)
{
	unsigned int i;

	r->label = label;
	len = min_t(unsigned int, len, KEYWORD_MAX - 1);
	for (i = 0; i < len; i++)
		r->keyword[i] = p[i] >= 0x21 && p[i] <= 0x7e ? p[i] : '?';
	r->keyword[len] = '\0';
}

/* The recorded keyword that holds server byte @pos. */
static void report_keyword_at(struct report *r, const struct lemonade_neg *neg,
			      u32 pos)
{
	u32 start = pos, end = pos;

	while (start && test_bit(start - 1, neg->kw))
		start--;
	while (end < LEMONADE_NEG_REC_MAX && test_bit(end, neg->kw))
		end++;
	report_keyword(r, "keyword", neg->rec + start, end - start);
}

static void report_send(struct lemonade_net *ln,
			const struct lemonade_cfg *cfg,
			struct nf_conn *ct, const struct report *r)
{
	const char *kw = r->keyword[0] ? r->keyword : NULL;

	stopped_log(ct, r->stopped);
	if (!r->event)
		return;
	if (kw) {
		char what[sizeof(r->keyword) + 16];

		snprintf(what, sizeof(what), "%s %s", r->label, kw);
		flow_log(&report_rs, ct, what, r->what);
	} else {
		flow_log(&report_rs, ct, "server negotiation", r->what);
	}
	lemonade_event_flow(ln, cfg, ct, r->event, kw);
}

/* ---- resets ---- */

/*
 * A RST from one end of @ct to the other, as the end sending in direction
 * @dir would send it (conntrack's tuple of that direction: addresses and
 * ports before any NAT on that side). It carries the entry, so it leaves
 * through LOCAL_OUT with NAT translating it like the flow's own packets
 * (whichever hook decided the reset, in whatever zone), without conntrack
 * looking it up or judging its window.
 */
static void send_rst(struct nf_conn *ct, enum ip_conntrack_dir dir,
		     u32 seq, u32 ack, u32 mark)
{
	const struct nf_conntrack_tuple *t = &ct->tuplehash[dir].tuple;
	struct net *net = nf_ct_net(ct);
	struct dst_entry *dst;
	struct sk_buff *nskb;
	struct tcphdr *th;
	unsigned int nhlen = nf_ct_l3num(ct) == NFPROTO_IPV4 ?
			     sizeof(struct iphdr) : sizeof(struct ipv6hdr);

	nskb = alloc_skb(LL_MAX_HEADER + nhlen + sizeof(*th), GFP_ATOMIC);
	if (!nskb)
		return;
	skb_reserve(nskb, LL_MAX_HEADER);
	skb_reset_network_header(nskb);
	skb_put(nskb, nhlen);
	skb_set_transport_header(nskb, nhlen);
	th = skb_put_zero(nskb, sizeof(*th));
	th->source = t->src.u.tcp.port;
	th->dest = t->dst.u.tcp.port;
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = sizeof(*th) / 4;
	th->rst = 1;
	th->ack = 1;
	nskb->ip_summed = CHECKSUM_NONE;
	nskb->mark = mark;
	nf_conntrack_get(&ct->ct_general);
	nf_ct_set(nskb, ct, dir == IP_CT_DIR_ORIGINAL ? IP_CT_ESTABLISHED :
						    IP_CT_ESTABLISHED_REPLY);
	if (nf_ct_l3num(ct) == NFPROTO_IPV4) {
		struct iphdr *iph = ip_hdr(nskb);
		struct flowi4 fl4 = {
			.daddr = t->dst.u3.ip,
			.saddr = t->src.u3.ip,
			.flowi4_proto = IPPROTO_TCP,
			.flowi4_flags = FLOWI_FLAG_ANYSRC,
			.flowi4_mark = mark,
		};
		struct rtable *rt;

		iph->version = 4;
		iph->ihl = 5;
		iph->tot_len = htons(nskb->len);
		iph->frag_off = htons(IP_DF);
		iph->ttl = 64;
		iph->protocol = IPPROTO_TCP;
		iph->saddr = t->src.u3.ip;
		iph->daddr = t->dst.u3.ip;
		ip_send_check(iph);
		th->check = tcp_v4_check(sizeof(*th), iph->saddr, iph->daddr,
					 csum_partial(th, sizeof(*th), 0));
		nskb->protocol = htons(ETH_P_IP);
		rt = ip_route_output_key(net, &fl4);
		if (IS_ERR(rt))
			goto drop;
		skb_dst_set(nskb, &rt->dst);
		ip_local_out(net, NULL, nskb);
		return;
	}
	{
		struct ipv6hdr *ip6h = ipv6_hdr(nskb);
		struct flowi6 fl6 = {
			.daddr = t->dst.u3.in6,
			.saddr = t->src.u3.in6,
			.flowi6_proto = IPPROTO_TCP,
			.flowi6_mark = mark,
		};

		ip6_flow_hdr(ip6h, 0, 0);
		ip6h->payload_len = htons(sizeof(*th));
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = 64;
		ip6h->saddr = t->src.u3.in6;
		ip6h->daddr = t->dst.u3.in6;
		th->check = tcp_v6_check(sizeof(*th), &ip6h->saddr,
					 &ip6h->daddr,
					 csum_partial(th, sizeof(*th), 0));
		nskb->protocol = htons(ETH_P_IPV6);
		dst = ip6_route_output(net, NULL, &fl6);
		if (dst->error) {
			dst_release(dst);
			goto drop;
		}
		skb_dst_set(nskb, dst);
		ip6_local_out(net, NULL, nskb);
		return;
	}
drop:
	kfree_skb(nskb);
}

/* The sequence number an end expects next: what it acknowledged last. */
static u32 expected_by(const struct ip_ct_tcp_state *end, u32 otherwise)
{
	return end->flags & IP_CT_TCP_FLAG_MAXACK_SET ? end->td_maxack : otherwise;
}

/*
 * Reset both ends of @ct and remove the entry, about segment @s of @skb
 * that travels in direction @dir and is dropped: each end gets a RST at
 * the sequence number it acknowledged last (conntrack's view, so that
 * segments dropped before do not make it a challenge ACK), acknowledging
 * what it sent. Not under ct->lock.
 */
static unsigned int reset_both(struct lemonade_net *ln, struct nf_conn *ct,
			       const struct sk_buff *skb,
			       enum ip_conntrack_dir dir, const struct seg *s)
{
	const struct ip_ct_tcp_state *seen = ct->proto.tcp.seen;
	u32 to_rcv_seq, to_rcv_ack, to_snd_seq, to_snd_ack;

	spin_lock_bh(&ct->lock);
	to_rcv_seq = expected_by(&seen[!dir], s->seq);
	to_rcv_ack = seen[!dir].td_end;
	to_snd_seq = expected_by(&seen[dir], ntohl(s->th.ack_seq));
	to_snd_ack = seen[dir].td_end;
	spin_unlock_bh(&ct->lock);
	send_rst(ct, dir, to_rcv_seq, to_rcv_ack, skb->mark);
	send_rst(ct, !dir, to_snd_seq, to_snd_ack, skb->mark);
	/* conntrack must not keep (nor the floor pin) a dead flow */
	nf_ct_kill(ct);
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_RESET, 1);
	return NF_DROP;
}

/*
 * The first packet of a listed flow, on its way out (the entry is not yet
 * confirmed: no other CPU can see it). A SYN that carries data (TCP Fast
 * Open) means the client spoke first; start() could no longer tell once
 * the server acknowledges it, so the negotiation is not followed.
 */
void lemonade_guard_new(struct lemonade_net *ln, struct sk_buff *skb,
			struct lemonade_flow *f, u8 pf)
{
	struct seg s;

	if (!lemonade_guard_active(f) || !seg_get(skb, pf, &s) || !s.len)
		return;
	lemonade_flow_set_phase(f, GUARD_ABANDONED);
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_ABANDONED, 1);
}

/* ---- ingress: right after conntrack ---- */

/*
 * The negotiation starts with the server's first byte (SMTP, IMAP and
 * ACAP servers speak first): take the initial sequence numbers from that
 * segment, and only when conntrack's own view agrees that it is the first
 * (the client has acknowledged exactly the server's SYN) and that the
 * client has sent nothing yet (the server acknowledges exactly the
 * client's SYN). A record is taken only then, so a client that completes
 * handshakes and sends nothing holds none. ct->lock held. Returns the
 * record, or NULL (not yet, or never: the phase says which).
 */
static struct lemonade_neg *start(struct lemonade_net *ln,
				  const struct lemonade_cfg *cfg,
				  struct nf_conn *ct, struct lemonade_flow *f,
				  enum ip_conntrack_dir dir, const struct seg *s)
{
	const struct ip_ct_tcp_state *client = &ct->proto.tcp.seen[IP_CT_DIR_ORIGINAL];
	u32 ack = ntohl(s->th.ack_seq);
	struct lemonade_neg *neg;
	u8 proto;

	/* the destroy callback may have run already: it frees no record then */
	if (nf_ct_is_dying(ct) || !s->len)
		return NULL;
	if (ct->proto.tcp.state != TCP_CONNTRACK_ESTABLISHED ||
	    (dir == IP_CT_DIR_ORIGINAL && s->len)) {
		/* data before the handshake's end, or the client first */
		lemonade_flow_set_phase(f, GUARD_ABANDONED);
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_ABANDONED, 1);
		return NULL;
	}
	if (s->th.syn || s->th.rst || !s->th.ack ||
	    !(client->flags & IP_CT_TCP_FLAG_MAXACK_SET) ||
	    client->td_maxack != s->seq || client->td_end != ack)
		return NULL;	/* not the server's first byte (yet) */
	neg = lemonade_neg_new(ln, cfg, ct, f);
	if (!neg) {
		lemonade_flow_set_phase(f, GUARD_SKIPPED);
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_SKIPPED, 1);
		return NULL;
	}
	neg->isn[IP_CT_DIR_ORIGINAL] = ack - 1;
	neg->isn[IP_CT_DIR_REPLY] = s->seq - 1;
	proto = LEMONADE_GUARD_PROTO(f->guard) - 1;
	lp_init(&neg->lp[IP_CT_DIR_ORIGINAL], proto, LP_CLIENT);
	lp_init(&neg->lp[IP_CT_DIR_REPLY], proto, LP_SERVER);
	return neg;
}

/* Are the bytes of @s in [from, to) (stream offsets) those recorded? */
static bool same_bytes(const struct lemonade_neg *neg, struct sk_buff *skb,
		       const struct seg *s, u32 off, u32 from, u32 to)
{
	u8 buf[128];

	while (from < to) {
		unsigned int n = min_t(u32, sizeof(buf), to - from);

		if (skb_copy_bits(skb, s->off + from - off, buf, n) ||
		    memcmp(buf, neg->rec + from, n))
			return false;
		from += n;
	}
	return true;
}

/* Do the bytes of [off, end) recorded ahead of a gap match? */
static bool ahead_same(const struct lemonade_neg *neg, struct sk_buff *skb,
		       const struct seg *s, u32 off, u32 end)
{
	unsigned int i;

	for (i = 0; i < neg->nahead; i++) {
		u32 a = max_t(u32, off, neg->ahead[i].off);
		u32 b = min_t(u32, end, neg->ahead[i].end);

		if (a < b && !same_bytes(neg, skb, s, off, a, b))
			return false;
	}
	return true;
}

/* Does every byte of [off, end) that was recorded before match? */
static bool matches_record(const struct lemonade_neg *neg, struct sk_buff *skb,
			   const struct seg *s, u32 off, u32 end)
{
	if (off < neg->rec_len &&
	    !same_bytes(neg, skb, s, off, off, min(end, neg->rec_len)))
		return false;
	return ahead_same(neg, skb, s, off, end);
}

/* Note [off, end) as recorded beyond the gap; false if too many ranges. */
static bool ahead_add(struct lemonade_neg *neg, u32 off, u32 end)
{
	struct lemonade_range *r = neg->ahead;
	unsigned int i, j;

	for (i = 0; i < neg->nahead && r[i].end < off; i++)
		;
	/* merge with every range it touches */
	for (j = i; j < neg->nahead && r[j].off <= end; j++) {
		off = min_t(u32, off, r[j].off);
		end = max_t(u32, end, r[j].end);
	}
	if (j == i && neg->nahead == LEMONADE_NEG_AHEAD)
		return false;
	memmove(&r[i + 1], &r[j], (neg->nahead - j) * sizeof(*r));
	neg->nahead += 1 - (j - i);
	r[i].off = off;
	r[i].end = end;
	return true;
}

/*
 * A server segment enters the gateway. Returns 0, -ESTALE when it carries
 * bytes that differ from what this stream carried before, -EPIPE when the
 * stream can no longer be followed.
 */
static int ingress_server(struct lemonade_net *ln, struct lemonade_neg *neg,
			  struct sk_buff *skb, const struct seg *s)
{
	u32 off, end, from;

	if (!seg_stream_off(neg, IP_CT_DIR_REPLY, s, &off) ||
	    off >= LEMONADE_NEG_REC_MAX)
		return 0;
	end = min_t(u32, off + s->len, LEMONADE_NEG_REC_MAX);
	if (!matches_record(neg, skb, s, off, end))
		return -ESTALE;
	from = max(off, neg->rec_len);
	if (from < end && skb_copy_bits(skb, s->off + from - off,
					neg->rec + from, end - from))
		return 0;
	if (off > neg->rec_len) {
		if (!ahead_add(neg, off, end))
			return -EPIPE;
		neg->progress = jiffies;
		return 0;
	}
	neg->rec_len = max(neg->rec_len, end);
	/* the gap before recorded ranges may just have closed */
	while (neg->nahead && neg->ahead[0].off <= neg->rec_len) {
		neg->rec_len = max_t(u32, neg->rec_len, neg->ahead[0].end);
		memmove(&neg->ahead[0], &neg->ahead[1],
			--neg->nahead * sizeof(neg->ahead[0]));
	}
	from = lp_offset(&neg->lp[IP_CT_DIR_REPLY]);
	if (from < neg->rec_len)
		feed(ln, neg, IP_CT_DIR_REPLY, neg->rec + from,
		     neg->rec_len - from);
	return 0;
}

/* Does segment @s carry the first byte of the pending client command? */
static bool carries_pending(const struct lemonade_neg *neg, const struct seg *s)
{
	return (neg->flags & NEG_PENDING) && !before(neg->pending_seq, s->seq) &&
	       before(neg->pending_seq, s->seq + s->len);
}

/* A client segment enters the gateway; -EPIPE if it cannot be followed. */
static int ingress_client(struct lemonade_net *ln, struct lemonade_neg *neg,
			  struct sk_buff *skb, const struct seg *s)
{
	struct lp_state *lp = &neg->lp[IP_CT_DIR_ORIGINAL];
	u32 off, p = lp_offset(lp), done;
	u8 buf[128];

	if (carries_pending(neg, s)) {
		/* the pending command enters again: withheld so far */
		if (neg->retrans < U8_MAX)
			neg->retrans++;
		return 0;
	}
	if (!seg_stream_off(neg, IP_CT_DIR_ORIGINAL, s, &off) ||
	    off + s->len <= p || lp_done(lp))
		return 0;	/* nothing new for the parser */
	if (off > p)
		return -EPIPE;	/* a gap in the client's commands */
	for (done = p - off; done < s->len && !neg->done; ) {
		unsigned int n = min_t(unsigned int, sizeof(buf), s->len - done);

		if (skb_copy_bits(skb, s->off + done, buf, n))
			return 0;
		feed(ln, neg, IP_CT_DIR_ORIGINAL, buf, n);
		done += n;
	}
	return 0;
}

unsigned int lemonade_guard_ingress(struct lemonade_net *ln,
				    const struct lemonade_cfg *cfg,
				    struct sk_buff *skb, struct nf_conn *ct,
				    struct lemonade_flow *f,
				    enum ip_conntrack_info ctinfo,
				    const struct nf_hook_state *state)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	unsigned int verdict = NF_ACCEPT;
	struct lemonade_neg *neg;
	struct report r = { 0 };
	bool reset = false;
	struct seg s;
	int err;

	if (cfg->guard_policy == LEMONADE_GUARD_OFF ||
	    !seg_get(skb, state->pf, &s))
		return NF_ACCEPT;
	spin_lock_bh(&ct->lock);
	switch (lemonade_flow_phase(f)) {
	case GUARD_IDLE:
		neg = start(ln, cfg, ct, f, dir, &s);
		break;
	case GUARD_ACTIVE:
		neg = lemonade_neg_of(ln, f);
		break;
	default:
		neg = NULL;	/* finished on another CPU meanwhile */
	}
	if (!neg || !s.len)
		goto out;
	/*
	 * With nf_conntrack_checksum off, conntrack lets a corrupt segment
	 * through: recording it would make the genuine one look stale.
	 */
	if (state->hook == NF_INET_PRE_ROUTING &&
	    nf_checksum(skb, state->hook, s.thoff, IPPROTO_TCP, state->pf))
		goto out;
	err = dir == IP_CT_DIR_REPLY ? ingress_server(ln, neg, skb, &s) :
				       ingress_client(ln, neg, skb, &s);
	/* (the record stays readable under RCU even if it ended) */
	r.stopped = neg->flags & NEG_STOP_MASK;
	neg->flags &= ~NEG_STOP_MASK;
	if (err == -ESTALE) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_STALE, 1);
		verdict = NF_DROP;
		goto out;
	}
	if (err) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_ABANDONED, 1);
		lemonade_neg_end(ln, f, GUARD_ABANDONED);
		goto out;
	}
	/*
	 * Withheld, not lost on a link that flaps: seen entering again and
	 * again over seconds (TCP backs off meanwhile), never leaving.
	 */
	if (neg->retrans >= NEG_RETRANS &&
	    time_after_eq(jiffies, neg->pending_at + NEG_WITHHELD * HZ)) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_PARTIAL_BLOCK, 1);
		reset = cfg->guard_policy != LEMONADE_GUARD_LOG;
		r.event = LEMONADE_EVENT_PARTIAL_BLOCK;
		r.what = reset ?
			 " never leaves the gateway (partial block); both ends reset" :
			 " never leaves the gateway (partial block); left alone (policy log)";
		if (neg->flags & NEG_PENDING_AUTH)
			report_keyword(&r, "client command", (const u8 *)"AUTH", 4);
		else
			report_keyword(&r, "client command",
				       (const u8 *)"STARTTLS", 8);
		lemonade_neg_end(ln, f, reset ? GUARD_RESET : GUARD_DONE);
	}
	/* a finished negotiation ends on the way out, its last segment compared */
out:
	spin_unlock_bh(&ct->lock);
	report_send(ln, cfg, ct, &r);
	return reset ? reset_both(ln, ct, skb, dir, &s) : verdict;
}

/* ---- egress: last before confirm ---- */

enum cmp_result { CMP_SAME, CMP_MASKED, CMP_CHANGED, CMP_UNSURE };

/*
 * Compare a leaving server segment (stream offsets [off, end)) with what
 * entered. Bytes that differ only inside advertised keywords (or in the
 * line the parser is still reading) are a same-length mask; any other
 * difference (a keyword removed shifts everything after it) is a change.
 * A difference the parser has not reached yet (bytes recorded beyond a
 * gap) cannot be judged yet.
 */
static enum cmp_result compare(const struct lemonade_neg *neg,
			       struct sk_buff *skb, const struct seg *s,
			       u32 off, u32 end, u32 *first)
{
	const struct lp_state *lp = &neg->lp[IP_CT_DIR_REPLY];
	u32 parsed = lp_offset(lp), line = lp_line_start(lp);
	enum cmp_result res = CMP_SAME;
	u32 p, to = min(end, neg->rec_len);
	u8 buf[128];
	unsigned int i, n;

	for (p = off; p < to; p += n) {
		n = min_t(u32, sizeof(buf), to - p);
		if (skb_copy_bits(skb, s->off + p - off, buf, n))
			return CMP_SAME;
		for (i = 0; i < n; i++) {
			if (buf[i] == neg->rec[p + i])
				continue;
			if (p + i >= parsed) {
				if (neg->done)
					continue;	/* past the negotiation */
				return CMP_UNSURE;
			}
			if (res == CMP_SAME)
				*first = p + i;
			/*
			 * Outside every keyword is a change, but in the line
			 * still being read (a segment that ends inside a
			 * keyword) none is known yet: written back like a mask.
			 */
			if (!test_bit(p + i, neg->kw) && p + i < line)
				return CMP_CHANGED;
			res = CMP_MASKED;
		}
	}
	if (!ahead_same(neg, skb, s, off, end))
		return CMP_UNSURE;
	return res;
}

/*
 * Write the recorded bytes [off, end) back over segment @s; the TCP
 * checksum follows incrementally (a CHECKSUM_PARTIAL one needs nothing:
 * it covers the payload only when it is computed).
 */
static int restore(struct sk_buff *skb, const struct lemonade_neg *neg,
		   const struct seg *s, u32 off, u32 end)
{
	u32 to = min(end, neg->rec_len), p;
	unsigned int n, at;
	struct tcphdr *th;
	__wsum diff = 0;
	u8 buf[128];

	if (skb_ensure_writable(skb, s->off + (to - off)))
		return -ENOMEM;
	th = (struct tcphdr *)(skb->data + s->thoff);
	for (p = off; p < to; p += n) {
		n = min_t(u32, sizeof(buf), to - p);
		at = s->off + p - off;
		if (skb_copy_bits(skb, at, buf, n))
			return -EFAULT;
		if (!memcmp(buf, neg->rec + p, n))
			continue;
		/* byte parity within the segment decides the rotation */
		diff = csum_block_add(diff, csum_partial(neg->rec + p, n, 0),
				      at - s->thoff);
		diff = csum_block_sub(diff, csum_partial(buf, n, 0),
				      at - s->thoff);
		if (skb_store_bits(skb, at, neg->rec + p, n))
			return -EFAULT;
	}
	lemonade_csum_replace_by_diff(&th->check, skb, diff);
	return 0;
}

unsigned int lemonade_guard_egress(struct lemonade_net *ln,
				   const struct lemonade_cfg *cfg,
				   struct sk_buff *skb, struct nf_conn *ct,
				   struct lemonade_flow *f,
				   enum ip_conntrack_info ctinfo,
				   const struct nf_hook_state *state)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	unsigned int verdict = NF_ACCEPT;
	struct lemonade_neg *neg;
	struct report r = { 0 };
	enum cmp_result res;
	bool reset = false;
	u32 off, end, first = 0;
	struct seg s;

	if (cfg->guard_policy == LEMONADE_GUARD_OFF ||
	    lemonade_flow_phase(f) != GUARD_ACTIVE ||
	    !seg_get(skb, state->pf, &s) || !s.len)
		return NF_ACCEPT;
	spin_lock_bh(&ct->lock);
	neg = lemonade_neg_of(ln, f);
	if (!neg)
		goto out;	/* finished on another CPU meanwhile */
	if (dir == IP_CT_DIR_ORIGINAL) {
		/* the pending command leaves the gateway after all */
		if (carries_pending(neg, &s))
			neg->flags &= ~NEG_PENDING;
		goto finish;
	}
	if (!seg_stream_off(neg, IP_CT_DIR_REPLY, &s, &off) ||
	    off >= LEMONADE_NEG_REC_MAX)
		goto finish;
	end = min_t(u32, off + s.len, LEMONADE_NEG_REC_MAX);
	res = compare(neg, skb, &s, off, end, &first);
	if (res == CMP_SAME)
		goto finish;
	if (res == CMP_UNSURE) {
		/* changed where the guard cannot judge yet: TCP resends it */
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_DEFERRED, 1);
		verdict = NF_DROP;
		goto out;
	}
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_STRIP_DETECTED, 1);
	if (test_bit(first, neg->kw))
		report_keyword_at(&r, neg, first);
	if (cfg->guard_policy == LEMONADE_GUARD_LOG) {
		r.event = LEMONADE_EVENT_STRIP_DETECTED;
		r.what = res == CMP_MASKED ? MASKED "; left alone (policy log)" :
					     CHANGED "; left alone (policy log)";
		goto finish;
	}
	if (res == CMP_MASKED && cfg->guard_policy == LEMONADE_GUARD_RESTORE &&
	    !restore(skb, neg, &s, off, end)) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_RESTORED, 1);
		r.event = LEMONADE_EVENT_STRIP_RESTORED;
		r.what = MASKED "; restored";
		goto finish;
	}
	r.event = LEMONADE_EVENT_STRIP_RESET;
	r.what = res == CMP_MASKED ? MASKED "; both ends reset" :
				     CHANGED "; both ends reset";
	reset = true;
	lemonade_neg_end(ln, f, GUARD_RESET);
	goto out;
finish:
	if (neg->done && !(neg->flags & NEG_PENDING))
		lemonade_neg_end(ln, f, GUARD_DONE);
out:
	spin_unlock_bh(&ct->lock);
	report_send(ln, cfg, ct, &r);
	return reset ? reset_both(ln, ct, skb, dir, &s) : verdict;
}

/* ---- records of stalled negotiations ---- */

/*
 * No byte followed for guard_stall seconds, or longer in all than any
 * negotiation takes (a peer that dribbles a byte at a time).
 */
static bool stalled(const struct lemonade_neg *neg, unsigned long now,
		    unsigned long stall)
{
	return time_after_eq(now, READ_ONCE(neg->progress) + stall) ||
	       time_after_eq(now, neg->born + NEG_LIFETIME * HZ);
}

/*
 * Give up the negotiations of @ln that made no progress for guard_stall
 * seconds (process context). Returns when to look again (0: nothing in
 * progress).
 */
unsigned long lemonade_guard_work(struct lemonade_net *ln)
{
	unsigned long stall = READ_ONCE(guard_stall) * HZ, now = jiffies;
	struct {
		struct nf_conn *ct;
		struct lemonade_neg *neg;
		unsigned long id;
	} stale[REAP_BATCH];
	struct lemonade_neg *neg;
	unsigned int n = 0, i;
	unsigned long id;

	if (!atomic_read(&ln->nnegs))
		return 0;
	rcu_read_lock();
	xa_for_each(&ln->negs, id, neg) {
		/* the record holds a reference: its entry is alive */
		struct nf_conn *ct = neg->ct;

		if (!stalled(neg, now, stall) || !lemonade_ct_get_not_zero(ct))
			continue;
		stale[n].ct = ct;
		stale[n].neg = neg;
		stale[n].id = id;
		if (++n == REAP_BATCH)
			break;
	}
	rcu_read_unlock();
	for (i = 0; i < n; i++) {
		struct nf_conn *ct = stale[i].ct;
		struct lemonade_flow *f;

		spin_lock_bh(&ct->lock);
		/* the helper may have been taken away: its data stays ours */
		f = nfct_help(ct) ? nfct_help_data(ct) : NULL;
		if (f && net_eq(nf_ct_net(ct), ln->net) &&
		    lemonade_flow_phase(f) == GUARD_ACTIVE &&
		    f->neg == stale[i].id &&
		    lemonade_neg_of(ln, f) == stale[i].neg &&
		    stalled(stale[i].neg, jiffies, stall)) {
			lemonade_neg_end(ln, f, GUARD_ABANDONED);
			lemonade_count(ln, LEMONADE_STAT_A_GUARD_ABANDONED, 1);
		}
		spin_unlock_bh(&ct->lock);
		nf_ct_put(ct);
	}
	return n == REAP_BATCH ? now : now + HZ;
}
