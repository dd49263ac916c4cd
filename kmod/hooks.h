/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the netfilter hooks (hooks.c). */
#ifndef _LEMONADE_HOOKS_H
#define _LEMONADE_HOOKS_H

#include <linux/netfilter.h>

struct net;

int lemonade_hooks_register(struct net *net);
void lemonade_hooks_unregister(struct net *net);

#ifdef LEMONADE_BENCH
/* the registered hook functions themselves, for bench.c */
struct lemonade_bench_hooks {
	nf_hookfn *in;
	nf_hookfn *out;
};

extern const struct lemonade_bench_hooks lemonade_bench_hooks;
#endif

#endif /* _LEMONADE_HOOKS_H */
