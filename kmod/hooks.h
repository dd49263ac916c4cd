/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the netfilter hooks (hooks.c). */
#ifndef _LEMONADE_HOOKS_H
#define _LEMONADE_HOOKS_H

struct net;

int lemonade_hooks_register(struct net *net);
void lemonade_hooks_unregister(struct net *net);

#endif /* _LEMONADE_HOOKS_H */
