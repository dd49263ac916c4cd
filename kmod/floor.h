/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the idle-timeout floor (floor.c). */
#ifndef _LEMONADE_FLOOR_H
#define _LEMONADE_FLOOR_H

#include "lemonade.h"

struct nf_conn;
struct lemonade_flow;

void lemonade_floor(struct lemonade_net *ln, struct nf_conn *ct,
		    struct lemonade_flow *f, const struct lemonade_pin *pin);
void lemonade_floor_new_flow(struct lemonade_net *ln,
			     const struct lemonade_cfg *cfg);
unsigned long lemonade_floor_work(struct lemonade_net *ln);
void lemonade_floor_stop(struct lemonade_net *ln);
void lemonade_floor_release(struct lemonade_net *ln);

#endif /* _LEMONADE_FLOOR_H */
