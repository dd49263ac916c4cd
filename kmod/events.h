/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: events on the "events" multicast group (events.c). */
#ifndef _LEMONADE_EVENTS_H
#define _LEMONADE_EVENTS_H

#include "lemonade.h"

struct genl_family;
struct nf_conn;

void lemonade_events_init(const struct genl_family *family);
/* these may be called from hooks; they do not sleep */
void lemonade_event_icmp(struct lemonade_net *ln,
			 const struct lemonade_cfg *cfg,
			 struct nf_conn *ct, u8 kind, u8 type, u8 code);
void lemonade_event_flow(struct lemonade_net *ln,
			 const struct lemonade_cfg *cfg,
			 struct nf_conn *ct, u8 kind,
			 const char *keyword);
void lemonade_event_released(struct lemonade_net *ln, unsigned int count);
void lemonade_event_config(struct lemonade_net *ln,
			   const struct lemonade_cfg *cfg, u32 portid, u8 cmd);

#endif /* _LEMONADE_EVENTS_H */
