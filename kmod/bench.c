// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: the per-packet benchmark. Built only with
 * `make kmod LEMONADE_BENCH=1` (make bench does); never in the default
 * build.
 *
 * Writing "SRC DST SPORT DPORT PAIRS ITERS" to
 * /sys/kernel/debug/nf_lemonade/bench, from the netns where conntrack
 * tracks that IPv4 TCP flow (SRC:SPORT -> DST:DPORT, its original
 * direction), runs conntrack and the module's production hooks on one
 * prepared packet of the flow: a pure ACK from its client, in window
 * (sequence and acknowledgment numbers taken from conntrack's own record; the
 * window field alternates so that conntrack does not count it as a
 * retransmission). Each of PAIRS rounds times ITERS packets three ways:
 * nf_conntrack_in() alone; followed by two calls of an empty hook (what
 * any two more hooks cost: each is an indirect call from nf_hook_slow());
 * and followed by the module's "in" and "out" hook functions (the ones
 * registered, not copies); the order turns with each round, bottom halves
 * off. Reading the file gives "ITERS NS_CONNTRACK NS_EMPTY NS_HOOKS" per
 * round. The packets are real to conntrack and to the module: they
 * refresh the flow, count in its accounting, and a flow under negotiation
 * has the guard follow them. A round stops (EPROTO) as soon as conntrack
 * gives the packet any other entry than the flow's: nothing else is ever
 * timed, or touched by the hooks.
 */
#include "lemonade.h"
#include "bench.h"
#include "hooks.h"

#include <linux/debugfs.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/sched/signal.h>
#include <linux/timekeeping.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <linux/uaccess.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_zones.h>

#define BENCH_MAX_PAIRS	1000
#define BENCH_MAX_ITERS	100000

static DEFINE_MUTEX(bench_lock);
/* what a round runs after conntrack */
enum { BENCH_CT, BENCH_EMPTY, BENCH_HOOKS, BENCH_KINDS };
static u64 bench_ns[BENCH_MAX_PAIRS][BENCH_KINDS];	/* under bench_lock */
static unsigned int bench_pairs, bench_iters;
static struct dentry *bench_dir;

static struct sk_buff *bench_skb(struct net *net, struct nf_conn *ct,
				 struct tcphdr **thp)
{
	const struct nf_conntrack_tuple *t =
		&ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	struct sk_buff *skb;
	struct iphdr *iph;
	struct tcphdr *th;

	skb = alloc_skb(LL_MAX_HEADER + sizeof(*iph) + sizeof(*th), GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, LL_MAX_HEADER);
	skb_reset_network_header(skb);
	iph = skb_put_zero(skb, sizeof(*iph));
	iph->version = 4;
	iph->ihl = 5;
	iph->ttl = 64;
	iph->protocol = IPPROTO_TCP;
	iph->saddr = t->src.u3.ip;
	iph->daddr = t->dst.u3.ip;
	iph->tot_len = htons(sizeof(*iph) + sizeof(*th));
	ip_send_check(iph);
	skb_set_transport_header(skb, skb->len);
	th = skb_put_zero(skb, sizeof(*th));
	th->source = t->src.u.tcp.port;
	th->dest = t->dst.u.tcp.port;
	spin_lock_bh(&ct->lock);
	th->seq = htonl(ct->proto.tcp.seen[IP_CT_DIR_ORIGINAL].td_end);
	th->ack_seq = htonl(ct->proto.tcp.seen[IP_CT_DIR_REPLY].td_end);
	spin_unlock_bh(&ct->lock);
	th->doff = sizeof(*th) / 4;
	th->ack = 1;
	th->window = htons(502);
	skb->protocol = htons(ETH_P_IP);
	skb->dev = net->loopback_dev;
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	*thp = th;
	return skb;
}

struct bench_run {
	struct sk_buff *skb;
	struct tcphdr *th;
	struct nf_hook_state in, out;
	unsigned long nfct;	/* skb->_nfct of the flow, established */
	unsigned int iters;
};

/*
 * Conntrack is reached through a pointer, as the hooks are: in the
 * kernel each registered hook, conntrack's own included, is one indirect
 * call from nf_hook_slow().
 */
static unsigned int (*bench_ct_in)(struct sk_buff *skb,
				   const struct nf_hook_state *state) =
	nf_conntrack_in;

/* A hook that does nothing: the cost of being called at all. */
static unsigned int bench_empty(void *priv, struct sk_buff *skb,
				const struct nf_hook_state *state)
{
	return NF_ACCEPT;
}

/* not const: the calls stay indirect, as from nf_hook_slow() */
static struct lemonade_bench_hooks bench_empty_hooks = {
	.in	= bench_empty,
	.out	= bench_empty,
};

#define BENCH_CHUNK	1000	/* packets per stretch with bottom halves off */

/*
 * Stretches are timed with the clocksource (ktime_get_ns()), not
 * local_clock(): where sched_clock is unstable (an emulated guest's TSCs
 * are not synchronized), local_clock() is held within a tick of the last
 * tick's time, so a stretch that outlasts a late tick reads short, or 0.
 */

/*
 * ITERS packets through conntrack, then nothing, two empty hooks or the
 * module's two hooks: nanoseconds, or 0 if a verdict strayed or conntrack
 * gave the packet any other entry than the flow's (it ended, or the
 * packet fell out of its window): then nothing more runs on it.
 */
static u64 bench_half(struct bench_run *b, int kind)
{
	nf_hookfn *in = NULL, *out = NULL;
	unsigned int i, n, done;
	bool bad = false;
	u64 t0, t = 0;

	if (kind == BENCH_EMPTY) {
		in = READ_ONCE(bench_empty_hooks.in);
		out = READ_ONCE(bench_empty_hooks.out);
	} else if (kind == BENCH_HOOKS) {
		in = lemonade_bench_hooks.in;
		out = lemonade_bench_hooks.out;
	}
	for (done = 0; done < b->iters && !bad; done += n) {
		n = min_t(unsigned int, b->iters - done, BENCH_CHUNK);
		local_bh_disable();
		rcu_read_lock();
		t0 = ktime_get_ns();
		for (i = 0; i < n; i++) {
			b->th->window = htons(502 + (i & 1));
			if (READ_ONCE(bench_ct_in)(b->skb, &b->in) != NF_ACCEPT ||
			    b->skb->_nfct != b->nfct) {
				bad = true;
				nf_reset_ct(b->skb);
				break;
			}
			if (in && (in(NULL, b->skb, &b->in) != NF_ACCEPT ||
				   out(NULL, b->skb, &b->out) != NF_ACCEPT))
				bad = true;
			nf_reset_ct(b->skb);
		}
		t += ktime_get_ns() - t0;
		rcu_read_unlock();
		local_bh_enable();
		cond_resched();
	}
	return bad ? 0 : max_t(u64, t, 1);
}

/* Does the prepared packet reach @ct, in window? */
static bool bench_matches(struct bench_run *b, struct nf_conn *ct)
{
	enum ip_conntrack_info ctinfo;
	bool ok;

	local_bh_disable();
	rcu_read_lock();
	ok = nf_conntrack_in(b->skb, &b->in) == NF_ACCEPT &&
	     nf_ct_get(b->skb, &ctinfo) == ct && ctinfo == IP_CT_ESTABLISHED;
	nf_reset_ct(b->skb);
	rcu_read_unlock();
	local_bh_enable();
	return ok;
}

static int bench_run(struct net *net, const char *src, const char *dst,
		     u16 sport, u16 dport, unsigned int pairs,
		     unsigned int iters)
{
	struct nf_conntrack_tuple tuple = {};
	struct nf_conntrack_tuple_hash *h;
	struct bench_run b = { .iters = iters };
	unsigned int p;
	struct nf_conn *ct;
	int err = 0;

	if (!in4_pton(src, -1, (u8 *)&tuple.src.u3.ip, -1, NULL) ||
	    !in4_pton(dst, -1, (u8 *)&tuple.dst.u3.ip, -1, NULL))
		return -EINVAL;
	tuple.src.l3num = NFPROTO_IPV4;
	tuple.src.u.tcp.port = htons(sport);
	tuple.dst.u.tcp.port = htons(dport);
	tuple.dst.protonum = IPPROTO_TCP;
	tuple.dst.dir = IP_CT_DIR_ORIGINAL;
	h = nf_conntrack_find_get(net, &nf_ct_zone_dflt, &tuple);
	if (!h)
		return -ENOENT;
	ct = nf_ct_tuplehash_to_ctrack(h);
	if (NF_CT_DIRECTION(h) != IP_CT_DIR_ORIGINAL ||
	    ct->proto.tcp.state != TCP_CONNTRACK_ESTABLISHED) {
		err = -EPROTO;
		goto out;
	}
	b.skb = bench_skb(net, ct, &b.th);
	if (!b.skb) {
		err = -ENOMEM;
		goto out;
	}
	nf_hook_state_init(&b.in, NF_INET_PRE_ROUTING, NFPROTO_IPV4,
			   net->loopback_dev, NULL, NULL, net, NULL);
	nf_hook_state_init(&b.out, NF_INET_POST_ROUTING, NFPROTO_IPV4,
			   NULL, net->loopback_dev, NULL, net, NULL);
	b.nfct = (unsigned long)ct | IP_CT_ESTABLISHED;
	if (!bench_matches(&b, ct)) {
		err = -EPROTO;
		goto out_skb;
	}
	for (p = 0; p < pairs; p++) {
		int k, kind;

		/* the order turns with each round: no kind always goes first */
		for (k = 0; k < BENCH_KINDS; k++) {
			kind = (p + k) % BENCH_KINDS;
			bench_ns[p][kind] = bench_half(&b, kind);
			if (!bench_ns[p][kind])
				break;
		}
		if (k < BENCH_KINDS) {
			err = -EPROTO;	/* the flow moved on: a stray verdict */
			break;
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
	}
	bench_pairs = p;
	bench_iters = iters;
out_skb:
	consume_skb(b.skb);
out:
	nf_ct_put(ct);
	return err;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	char buf[96], src[16], dst[16];
	unsigned int pairs, iters;
	u16 sport, dport;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%15s %15s %hu %hu %u %u", src, dst, &sport, &dport,
		   &pairs, &iters) != 6 ||
	    !pairs || pairs > BENCH_MAX_PAIRS || !iters ||
	    iters > BENCH_MAX_ITERS)
		return -EINVAL;
	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	bench_pairs = 0;
	err = bench_run(current->nsproxy->net_ns, src, dst, sport, dport,
			pairs, iters);
	mutex_unlock(&bench_lock);
	return err ?: len;
}

static int bench_show(struct seq_file *m, void *v)
{
	unsigned int p;

	if (mutex_lock_interruptible(&bench_lock))
		return -EINTR;
	for (p = 0; p < bench_pairs; p++)
		seq_printf(m, "%u %llu %llu %llu\n", bench_iters,
			   bench_ns[p][BENCH_CT], bench_ns[p][BENCH_EMPTY],
			   bench_ns[p][BENCH_HOOKS]);
	mutex_unlock(&bench_lock);
	return 0;
}

static int bench_open(struct inode *inode, struct file *file)
{
	return single_open(file, bench_show, NULL);
}

static const struct file_operations bench_fops = {
	.owner		= THIS_MODULE,
	.open		= bench_open,
	.read		= seq_read,
	.write		= bench_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

void lemonade_bench_init(void)
{
	bench_dir = debugfs_create_dir("nf_lemonade", NULL);
	debugfs_create_file("bench", 0600, bench_dir, NULL, &bench_fops);
	pr_warn("built with LEMONADE_BENCH: /sys/kernel/debug/nf_lemonade/bench runs the hooks on demand\n");
}

void lemonade_bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
}
