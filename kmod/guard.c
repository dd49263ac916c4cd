// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the negotiation integrity guard (RFC 5383 section 6,
 * RFC 2979).
 *
 * For flows on ports tagged smtp, imap or acap the guard records the
 * server's plaintext negotiation as it enters the gateway (right after
 * conntrack) and compares every server segment as it leaves (the last hook
 * before confirm). A difference inside an advertised keyword is partial
 * extension stripping made inside the gateway: the original bytes are
 * written back when the length is unchanged (policy restore), or both ends
 * get a reset (policy reset, and restore when the length changed), or it
 * is only counted and reported (policy log). On the client side, a command
 * that uses an extension (STARTTLS, AUTH) seen entering again and again
 * but never leaving is a partial block. The guard stops at STARTTLS, AUTH
 * or the parser's byte budget and then frees the flow's buffer.
 *
 * Per-flow persistent state (struct lemonade_flow, flow.h) lives in the 32
 * bytes of the "lemonade" conntrack helper extension and dies with the
 * entry; the recorded bytes live in a transient record (struct
 * lemonade_neg) from flow.c's pool of guard_buffers entries. Without a
 * record the flow is skipped and counted; traffic is never dropped for
 * lack of one.
 */
#include "guard.h"
#include "events.h"
#include "flow.h"
#include "parse.h"
#include "compat/compat.h"

#include <linux/module.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/ip6_checksum.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/ipv4/nf_reject.h>
#include <net/netfilter/ipv6/nf_reject.h>

#define NEG_RETRANS	2	/* withheld command seen again this often */
#define KEYWORD_MAX	32	/* keyword in log lines and events, with NUL */
#define MASKED		" masked inside the gateway (partial extension stripping)"
#define CHANGED		" removed or changed inside the gateway (partial extension stripping, length changed)"

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

/* ---- parser glue ---- */

struct feed_ctx {
	struct lemonade_neg *neg;
	struct lemonade_flow *f;
	u32 isn;		/* of the direction being fed */
	struct lemonade_net *ln;
};

static void on_event(void *arg, const struct lp_event *ev)
{
	struct feed_ctx *c = arg;
	struct lemonade_neg *neg = c->neg;

	switch (ev->type) {
	case LP_EV_KEYWORD:
		if (ev->flags & LP_KW_MASKED)
			lemonade_count(c->ln, LEMONADE_STAT_A_GUARD_UPSTREAM_MASKED, 1);
		if (neg->nspans < LEMONADE_NEG_SPANS && ev->off + ev->len <= LEMONADE_NEG_REC_MAX) {
			neg->spans[neg->nspans].off = ev->off;
			neg->spans[neg->nspans].len = ev->len;
			neg->nspans++;
		}
		break;
	case LP_EV_COMMAND_START:
		if (ev->cmd == LP_CMD_STARTTLS || ev->cmd == LP_CMD_AUTH) {
			c->f->pending_seq = c->isn + 1 + ev->off;
			c->f->flags &= ~FLOW_PENDING_AUTH;
			c->f->flags |= FLOW_PENDING;
			if (ev->cmd == LP_CMD_AUTH)
				c->f->flags |= FLOW_PENDING_AUTH;
			c->f->retrans = 0;
		}
		lp_note_command(&neg->lp[IP_CT_DIR_REPLY], ev);
		break;
	case LP_EV_DONE:
	case LP_EV_TLS_ACCEPTED:
		neg->done = true;
		break;
	default:
		break;
	}
}

static void feed(struct lemonade_net *ln, struct lemonade_flow *f,
		 enum ip_conntrack_dir dir, const u8 *data, unsigned int len)
{
	struct feed_ctx c = {
		.neg = f->neg, .f = f, .isn = f->isn[dir], .ln = ln,
	};

	if (f->neg->done)
		return;
	len = lp_feed(&f->neg->lp[dir], data, len, on_event, &c);
	f->inspected += len;
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_INSPECTED, len);
}

/* ---- reports: a log line and an event ---- */

/* What the guard found on a segment, reported once the lock is dropped. */
struct report {
	u8 event;			/* enum lemonade_event, 0 = none */
	const char *label;		/* "keyword" or "command" */
	const char *what;		/* the log line's tail */
	char keyword[KEYWORD_MAX];	/* empty: not inside a keyword */
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

static void report_send(struct lemonade_net *ln,
			const struct lemonade_cfg *cfg,
			const struct nf_conn *ct, const struct report *r)
{
	const struct nf_conntrack_tuple *t =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const char *kw = r->keyword[0] ? r->keyword : NULL;

	if (!r->event)
		return;
	if (nf_ct_l3num(ct) == NFPROTO_IPV6)
		pr_info_ratelimited("flow [%pI6c]:%u -> [%pI6c]:%u: %s%s%s%s\n",
				    &t->src.u3.in6, ntohs(t->src.u.tcp.port),
				    &t->dst.u3.in6, ntohs(t->dst.u.tcp.port),
				    kw ? r->label : "server negotiation", kw ? " " : "",
				    kw ? kw : "", r->what);
	else
		pr_info_ratelimited("flow %pI4:%u -> %pI4:%u: %s%s%s%s\n",
				    &t->src.u3.ip, ntohs(t->src.u.tcp.port),
				    &t->dst.u3.ip, ntohs(t->dst.u.tcp.port),
				    kw ? r->label : "server negotiation", kw ? " " : "",
				    kw ? kw : "", r->what);
	lemonade_event_flow(ln, cfg, ct, r->event, kw);
}

/* ---- verdicts ---- */

static void recompute_csum(struct sk_buff *skb, u8 pf, unsigned int thoff)
{
	struct tcphdr *th = (struct tcphdr *)(skb->data + thoff);
	unsigned int tcplen = skb->len - thoff;

	if (skb->ip_summed == CHECKSUM_PARTIAL)
		return;
	th->check = 0;
	if (pf == NFPROTO_IPV4)
		th->check = csum_tcpudp_magic(ip_hdr(skb)->saddr,
					      ip_hdr(skb)->daddr, tcplen,
					      IPPROTO_TCP,
					      skb_checksum(skb, thoff, tcplen, 0));
	else
		th->check = csum_ipv6_magic(&ipv6_hdr(skb)->saddr,
					    &ipv6_hdr(skb)->daddr, tcplen,
					    IPPROTO_TCP,
					    skb_checksum(skb, thoff, tcplen, 0));
	skb->ip_summed = CHECKSUM_NONE;
}

/*
 * Reset both ends: a RST back to the sender of @skb, and @skb itself,
 * stripped of its payload, turned into a RST for its receiver (its
 * sequence number is exactly what the receiver expects next).
 */
static unsigned int reset_both(struct lemonade_net *ln, struct nf_conn *ct,
			       struct sk_buff *skb,
			       const struct nf_hook_state *state,
			       const struct seg *s)
{
	struct tcphdr *th;

	if (state->pf == NFPROTO_IPV4)
		lemonade_send_reset(state->net, skb, state->hook);
	else
		lemonade_send_reset6(state->net, skb, state->hook);
	if (skb_ensure_writable(skb, s->off) || pskb_trim(skb, s->off))
		return NF_DROP;
	skb_gso_reset(skb);
	th = (struct tcphdr *)(skb->data + s->thoff);
	th->rst = 1;
	th->psh = 0;
	th->fin = 0;
	th->syn = 0;
	if (state->pf == NFPROTO_IPV4) {
		ip_hdr(skb)->tot_len = htons(skb->len - skb_network_offset(skb));
		ip_send_check(ip_hdr(skb));
	} else {
		ipv6_hdr(skb)->payload_len =
			htons(skb->len - skb_network_offset(skb) -
			      sizeof(struct ipv6hdr));
	}
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		skb->ip_summed = CHECKSUM_NONE;
	recompute_csum(skb, state->pf, s->thoff);
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_RESET, 1);
	return NF_ACCEPT;
}

static void guard_finish(struct lemonade_flow *f, u8 phase)
{
	struct lemonade_neg *neg = f->neg;

	f->neg = NULL;
	f->phase = phase;
	f->flags &= ~FLOW_PENDING;
	lemonade_neg_put(neg);
}

/* ---- ingress: right after conntrack ---- */

static void ingress_server(struct lemonade_net *ln, struct lemonade_flow *f,
			   struct sk_buff *skb, const struct seg *s)
{
	struct lemonade_neg *neg = f->neg;
	u32 off = s->seq - f->isn[IP_CT_DIR_REPLY] - 1;
	unsigned int n;

	/* record in order only; retransmissions carry known bytes */
	if (off != neg->rec_len || off >= LEMONADE_NEG_REC_MAX)
		return;
	n = min_t(unsigned int, s->len, LEMONADE_NEG_REC_MAX - off);
	if (skb_copy_bits(skb, s->off, neg->rec + off, n))
		return;
	neg->rec_len += n;
	feed(ln, f, IP_CT_DIR_REPLY, neg->rec + off, n);
}

/* Does segment @s carry the first byte of the pending client command? */
static bool carries_pending(const struct lemonade_flow *f, const struct seg *s)
{
	return (f->flags & FLOW_PENDING) && !before(f->pending_seq, s->seq) &&
	       before(f->pending_seq, s->seq + s->len);
}

static void ingress_client(struct lemonade_net *ln, struct lemonade_flow *f,
			   struct sk_buff *skb, const struct seg *s)
{
	struct lemonade_neg *neg = f->neg;
	u32 off = s->seq - f->isn[IP_CT_DIR_ORIGINAL] - 1;
	u8 buf[128];
	unsigned int done = 0;

	if (carries_pending(f, s)) {
		/* the pending command enters again: withheld so far */
		if (f->retrans < U8_MAX)
			f->retrans++;
		return;
	}
	if (off != lp_offset(&neg->lp[IP_CT_DIR_ORIGINAL]))
		return;
	while (done < s->len && !neg->done) {
		unsigned int n = min_t(unsigned int, sizeof(buf), s->len - done);

		if (skb_copy_bits(skb, s->off + done, buf, n))
			return;
		feed(ln, f, IP_CT_DIR_ORIGINAL, buf, n);
		done += n;
	}
}

unsigned int lemonade_guard_ingress(struct lemonade_net *ln,
				    const struct lemonade_cfg *cfg,
				    struct sk_buff *skb, struct nf_conn *ct,
				    struct lemonade_flow *f,
				    enum ip_conntrack_info ctinfo,
				    const struct nf_hook_state *state)
{
	enum ip_conntrack_dir dir = CTINFO2DIR(ctinfo);
	struct report r = { 0 };
	bool reset = false;
	struct seg s;

	if (cfg->guard_policy == LEMONADE_GUARD_OFF)
		return NF_ACCEPT;
	if (!seg_get(skb, state->pf, &s))
		return NF_ACCEPT;
	spin_lock_bh(&ct->lock);
	if (s.th.syn) {
		f->isn[dir] = s.seq;
		f->flags |= dir == IP_CT_DIR_ORIGINAL ? FLOW_ISN_C : FLOW_ISN_S;
		goto out;
	}
	if (!s.len || (f->flags & (FLOW_ISN_C | FLOW_ISN_S)) !=
		      (FLOW_ISN_C | FLOW_ISN_S))
		goto out;
	if (f->phase == GUARD_IDLE) {
		f->neg = lemonade_neg_get();
		if (!f->neg) {
			f->phase = GUARD_SKIPPED;
			lemonade_count(ln, LEMONADE_STAT_A_GUARD_SKIPPED, 1);
			goto out;
		}
		f->phase = GUARD_ACTIVE;
		lp_init(&f->neg->lp[IP_CT_DIR_ORIGINAL], f->proto - 1, LP_CLIENT);
		lp_init(&f->neg->lp[IP_CT_DIR_REPLY], f->proto - 1, LP_SERVER);
	}
	if (dir == IP_CT_DIR_REPLY)
		ingress_server(ln, f, skb, &s);
	else
		ingress_client(ln, f, skb, &s);
	if (f->retrans >= NEG_RETRANS) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_PARTIAL_BLOCK, 1);
		reset = cfg->guard_policy != LEMONADE_GUARD_LOG;
		r.event = LEMONADE_EVENT_PARTIAL_BLOCK;
		r.what = reset ?
			 " never leaves the gateway (partial block); both ends reset" :
			 " never leaves the gateway (partial block); left alone (policy log)";
		if (f->flags & FLOW_PENDING_AUTH)
			report_keyword(&r, "client command", (const u8 *)"AUTH", 4);
		else
			report_keyword(&r, "client command",
				       (const u8 *)"STARTTLS", 8);
		guard_finish(f, reset ? GUARD_RESET : GUARD_DONE);
		goto out;
	}
	if (f->neg->done && !(f->flags & FLOW_PENDING))
		guard_finish(f, GUARD_DONE);
out:
	spin_unlock_bh(&ct->lock);
	report_send(ln, cfg, ct, &r);
	/* the resets cross conntrack, which takes ct->lock: not under it */
	return reset ? reset_both(ln, ct, skb, state, &s) : NF_ACCEPT;
}

/* ---- egress: last before confirm ---- */

/* The advertised keyword that holds byte @off, or NULL. */
static const struct lemonade_span *keyword_at(const struct lemonade_neg *neg,
					      u32 off)
{
	unsigned int i;

	for (i = 0; i < neg->nspans; i++)
		if (off >= neg->spans[i].off &&
		    off < neg->spans[i].off + neg->spans[i].len)
			return &neg->spans[i];
	return NULL;
}

enum cmp_result { CMP_SAME, CMP_MASKED, CMP_CHANGED };

/*
 * Compare a leaving server segment with what entered. Bytes that differ
 * only inside advertised keywords are a same-length mask; any other
 * difference (a keyword removed shifts everything after it) is a change.
 */
static enum cmp_result compare(const struct lemonade_neg *neg,
			       struct sk_buff *skb, const struct seg *s,
			       u32 off, u32 *first)
{
	enum cmp_result res = CMP_SAME;
	unsigned int done = 0, end;
	u8 buf[128];

	if (off >= neg->rec_len)
		return CMP_SAME;
	end = min_t(u32, s->len, neg->rec_len - off);
	while (done < end) {
		unsigned int n = min_t(unsigned int, sizeof(buf), end - done);
		unsigned int i;

		if (skb_copy_bits(skb, s->off + done, buf, n))
			return CMP_SAME;
		for (i = 0; i < n; i++) {
			u32 p = off + done + i;

			if (buf[i] == neg->rec[p])
				continue;
			if (res == CMP_SAME)
				*first = p;
			if (!keyword_at(neg, p))
				return CMP_CHANGED;
			res = CMP_MASKED;
		}
		done += n;
	}
	return res;
}

static int restore(struct sk_buff *skb, u8 pf, const struct lemonade_neg *neg,
		   const struct seg *s, u32 off)
{
	unsigned int n = min_t(u32, s->len, neg->rec_len - off);

	if (skb_ensure_writable(skb, s->off + n))
		return -ENOMEM;
	if (skb_store_bits(skb, s->off, neg->rec + off, n))
		return -EFAULT;
	recompute_csum(skb, pf, s->thoff);
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
	const struct lemonade_span *kw;
	struct report r = { 0 };
	enum cmp_result res;
	bool reset = false;
	struct seg s;
	u32 off, first = 0;

	if (cfg->guard_policy == LEMONADE_GUARD_OFF || f->phase != GUARD_ACTIVE)
		return NF_ACCEPT;
	if (!seg_get(skb, state->pf, &s) || !s.len)
		return NF_ACCEPT;
	spin_lock_bh(&ct->lock);
	if (f->phase != GUARD_ACTIVE || !f->neg)
		goto out;
	if (dir == IP_CT_DIR_ORIGINAL) {
		/* the pending command leaves the gateway after all */
		if (carries_pending(f, &s))
			f->flags &= ~FLOW_PENDING;
		goto finish;
	}
	off = s.seq - f->isn[IP_CT_DIR_REPLY] - 1;
	res = compare(f->neg, skb, &s, off, &first);
	if (res == CMP_SAME)
		goto finish;
	lemonade_count(ln, LEMONADE_STAT_A_GUARD_STRIP_DETECTED, 1);
	kw = keyword_at(f->neg, first);
	if (kw)
		report_keyword(&r, "keyword", f->neg->rec + kw->off, kw->len);
	if (cfg->guard_policy == LEMONADE_GUARD_LOG) {
		r.event = LEMONADE_EVENT_STRIP_DETECTED;
		r.what = res == CMP_MASKED ? MASKED "; left alone (policy log)" :
					     CHANGED "; left alone (policy log)";
		goto finish;
	}
	if (res == CMP_MASKED && cfg->guard_policy == LEMONADE_GUARD_RESTORE &&
	    !restore(skb, state->pf, f->neg, &s, off)) {
		lemonade_count(ln, LEMONADE_STAT_A_GUARD_RESTORED, 1);
		r.event = LEMONADE_EVENT_STRIP_RESTORED;
		r.what = MASKED "; restored";
		goto finish;
	}
	r.event = LEMONADE_EVENT_STRIP_RESET;
	r.what = res == CMP_MASKED ? MASKED "; both ends reset" :
				     CHANGED "; both ends reset";
	reset = true;
	guard_finish(f, GUARD_RESET);
	goto out;
finish:
	if (f->neg->done && !(f->flags & FLOW_PENDING))
		guard_finish(f, GUARD_DONE);
out:
	spin_unlock_bh(&ct->lock);
	report_send(ln, cfg, ct, &r);
	return reset ? reset_both(ln, ct, skb, state, &s) : NF_ACCEPT;
}
