/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the "lemonade" generic netlink family (netlink.c). */
#ifndef _LEMONADE_NETLINK_H
#define _LEMONADE_NETLINK_H

int lemonade_genl_init(void);
void lemonade_genl_exit(void);

#endif /* _LEMONADE_NETLINK_H */
