// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the ICMP soft-error shield (RFC 5383 4.2, RFC 1122 4.2.3.9,
 * RFC 5382 REQ-10).
 *
 * Conntrack ties an ICMP error to the TCP flow it quotes and marks it
 * RELATED. Right after conntrack (the "in" hooks only), on the way in (forwarded errors and
 * errors for the gateway's own sockets) and on the way out (errors the
 * gateway generates itself, such as host-unreachable when a neighbour does
 * not answer), a destination-unreachable error with a soft code about a
 * covered flow on a listed port is absorbed (dropped and counted) or, with
 * policy "pass", only counted. Fragmentation needed and Packet Too Big are
 * never touched, nor errors about flows on other ports. Optionally, any
 * error whose quoted sequence number lies outside the window conntrack
 * tracks is dropped (RFC 5927).
 */
#include "shield.h"
#include "events.h"

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ipv6.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_l4proto.h>

struct icmp_err {
	u8 type, code;
	bool soft;		/* a configured soft code */
	bool pmtu;		/* fragmentation needed / Packet Too Big */
	unsigned int inner;	/* offset of the quoted IP header */
};

static bool parse_v4(const struct lemonade_cfg *cfg, const struct sk_buff *skb,
		     struct icmp_err *e)
{
	struct icmphdr _ih;
	const struct icmphdr *ih;

	if (ip_hdr(skb)->protocol != IPPROTO_ICMP)
		return false;
	ih = skb_header_pointer(skb, ip_hdrlen(skb), sizeof(_ih), &_ih);
	if (!ih)
		return false;
	e->type = ih->type;
	e->code = ih->code;
	e->inner = ip_hdrlen(skb) + sizeof(_ih);
	e->pmtu = ih->type == ICMP_DEST_UNREACH && ih->code == ICMP_FRAG_NEEDED;
	e->soft = ih->type == ICMP_DEST_UNREACH && ih->code < 32 &&
		  (cfg->icmp_v4_codes & BIT(ih->code));
	return true;
}

static bool parse_v6(const struct lemonade_cfg *cfg, const struct sk_buff *skb,
		     struct icmp_err *e)
{
	u8 nexthdr = ipv6_hdr(skb)->nexthdr;
	struct icmp6hdr _ih;
	const struct icmp6hdr *ih;
	__be16 frag_off;
	int off;

	off = ipv6_skip_exthdr(skb, sizeof(struct ipv6hdr), &nexthdr, &frag_off);
	if (off < 0 || nexthdr != IPPROTO_ICMPV6)
		return false;
	ih = skb_header_pointer(skb, off, sizeof(_ih), &_ih);
	if (!ih)
		return false;
	e->type = ih->icmp6_type;
	e->code = ih->icmp6_code;
	e->inner = off + sizeof(_ih);
	e->pmtu = ih->icmp6_type == ICMPV6_PKT_TOOBIG;
	e->soft = ih->icmp6_type == ICMPV6_DEST_UNREACH && ih->icmp6_code < 32 &&
		  (cfg->icmp_v6_codes & BIT(ih->icmp6_code));
	return true;
}

/* The sequence number of the TCP segment quoted by the error. */
static bool quoted_seq(const struct sk_buff *skb, u8 pf, unsigned int off,
		       u32 *seq)
{
	__be32 _seq;
	const __be32 *p;

	if (pf == NFPROTO_IPV4) {
		struct iphdr _iph;
		const struct iphdr *iph;

		iph = skb_header_pointer(skb, off, sizeof(_iph), &_iph);
		if (!iph || iph->protocol != IPPROTO_TCP || iph->ihl < 5)
			return false;
		off += iph->ihl * 4;
	} else {
		struct ipv6hdr _ip6h;
		const struct ipv6hdr *ip6h;
		u8 nexthdr;
		__be16 frag_off;
		int toff;

		ip6h = skb_header_pointer(skb, off, sizeof(_ip6h), &_ip6h);
		if (!ip6h)
			return false;
		nexthdr = ip6h->nexthdr;
		toff = ipv6_skip_exthdr(skb, off + sizeof(_ip6h), &nexthdr,
					&frag_off);
		if (toff < 0 || nexthdr != IPPROTO_TCP)
			return false;
		off = toff;
	}
	p = skb_header_pointer(skb, off + offsetof(struct tcphdr, seq),
			       sizeof(_seq), &_seq);
	if (!p)
		return false;
	*seq = ntohl(*p);
	return true;
}

enum seq_verdict { SEQ_VALID, SEQ_INVALID, SEQ_UNTRACKED };

/*
 * RFC 5927: a genuine error quotes a segment the receiving host sent and
 * the other side has not yet acknowledged, SND.UNA <= seq <= SND.NXT. The
 * gateway's view: SND.NXT is the sender's highest seq + len, SND.UNA the
 * highest ack the other side sent (one before it for zero-window probes);
 * before any ACK (a SYN with data) only the upper bound is known. A flow
 * whose windows conntrack does not track (picked up mid-stream, offloaded,
 * or be_liberal) cannot be judged.
 */
static enum seq_verdict seq_check(struct nf_conn *ct,
				  enum ip_conntrack_dir dir, u32 seq)
{
	const struct ip_ct_tcp_state *snd, *rcv;
	enum seq_verdict v;
	u32 hi;

	if (nf_tcp_pernet(nf_ct_net(ct))->tcp_be_liberal)
		return SEQ_UNTRACKED;
	spin_lock_bh(&ct->lock);
	snd = &ct->proto.tcp.seen[dir];
	rcv = &ct->proto.tcp.seen[!dir];
	hi = snd->td_end;
	if ((snd->flags | rcv->flags) & IP_CT_TCP_FLAG_BE_LIBERAL)
		v = SEQ_UNTRACKED;
	else if (after(seq, hi))
		v = SEQ_INVALID;
	else if (!(rcv->flags & IP_CT_TCP_FLAG_MAXACK_SET))
		v = SEQ_VALID;
	else
		v = before(seq, rcv->td_maxack - 1) ? SEQ_INVALID : SEQ_VALID;
	spin_unlock_bh(&ct->lock);
	return v;
}

/* Right after conntrack: an ICMP error RELATED to @ct, the flow it quotes. */
unsigned int lemonade_shield(struct lemonade_net *ln,
			     const struct lemonade_cfg *cfg, struct sk_buff *skb,
			     struct nf_conn *ct, int ctinfo,
			     const struct nf_hook_state *state)
{
	struct icmp_err e;
	u8 tcp_state;
	u32 seq;

	if (nf_ct_protonum(ct) != IPPROTO_TCP)
		return NF_ACCEPT;
	/* RELATED is also the first packet of an expected connection */
	if (!(state->pf == NFPROTO_IPV4 ? parse_v4(cfg, skb, &e) :
					  parse_v6(cfg, skb, &e)))
		return NF_ACCEPT;
	if (e.pmtu)
		return NF_ACCEPT;
	if (cfg->icmp_validate) {
		/* an error travelling in reply direction quotes an original one */
		enum ip_conntrack_dir dir = ctinfo == IP_CT_RELATED_REPLY ?
			IP_CT_DIR_ORIGINAL : IP_CT_DIR_REPLY;
		/* conntrack relates errors that quote only the ports */
		enum seq_verdict v = quoted_seq(skb, state->pf, e.inner, &seq) ?
				     seq_check(ct, dir, seq) : SEQ_INVALID;

		if (v == SEQ_INVALID) {
			lemonade_count(ln, LEMONADE_STAT_A_ICMP_INVALID, 1);
			lemonade_event_icmp(ln, cfg, ct, LEMONADE_EVENT_ICMP_INVALID,
					    e.type, e.code);
			return NF_DROP;
		}
		if (v == SEQ_UNTRACKED)
			lemonade_count(ln, LEMONADE_STAT_A_ICMP_UNVALIDATED, 1);
	}
	if (!e.soft)
		return NF_ACCEPT;
	tcp_state = READ_ONCE(ct->proto.tcp.state);
	if (cfg->icmp_states == LEMONADE_ICMP_ESTABLISHED &&
	    tcp_state != TCP_CONNTRACK_ESTABLISHED)
		return NF_ACCEPT;
	if (cfg->icmp_policy == LEMONADE_ICMP_PASS) {
		lemonade_count(ln, LEMONADE_STAT_A_ICMP_PASSED, 1);
		return NF_ACCEPT;
	}
	lemonade_count(ln, LEMONADE_STAT_A_ICMP_ABSORBED, 1);
	lemonade_event_icmp(ln, cfg, ct, LEMONADE_EVENT_ICMP_ABSORBED, e.type,
			    e.code);
	return NF_DROP;
}
