/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LEMONCTL_NL_H
#define LEMONCTL_NL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include <linux/lemonade.h>

/* Where an extack offset points in our own request. */
struct nl_attr_path {
	int attr;	/* LEMONADE_A_*, 0 if the offset matched nothing */
	int port_attr;	/* LEMONADE_PORT_A_* inside a port nest, or 0 */
	int port;	/* the port of that nest, or -1 */
};

/* Reply handler: tb[] parsed with lemonade_policy. Return 0, or -1 after
 * printing an error. */
typedef int (*nl_reply_fn)(struct nlattr **tb, void *arg);
/* Writes a suffix naming what produced the rejected attribute; called
 * only for an attribute inside a port entry (see lemon_nl_transact). */
typedef void (*nl_where_fn)(const struct nl_attr_path *path, void *arg,
			    char *buf, size_t len);

extern const struct nla_policy lemonade_policy[LEMONADE_A_MAX + 1];
extern const struct nla_policy lemonade_port_policy[LEMONADE_PORT_A_MAX + 1];
extern const struct nla_policy lemonade_stat_policy[LEMONADE_STAT_A_MAX + 1];
extern const struct nla_policy lemonade_flow_policy[LEMONADE_FLOW_A_MAX + 1];

/* Enter opts.netns, open the socket and resolve the family from a
 * CTRL_CMD_GETFAMILY dump, which never loads the module; prints the
 * error and returns EXIT_FAIL on failure. For reading. */
int lemon_nl_open(void);
/* The same for a change: if the family is missing and the caller has
 * CAP_NET_ADMIN, a lookup by name lets the kernel load nf_lemonade. */
int lemon_nl_open_change(void);
/* lemon_nl_open() without printing: 0, -ENOENT if the family is
 * missing, -errno. */
int lemon_nl_open_quiet(void);
void lemon_nl_close(void);

/* A request for cmd with NLM_F_REQUEST|NLM_F_ACK, or NULL (printed). */
struct nl_msg *lemon_nl_request(uint8_t cmd);
/* A dump request for cmd (NLM_F_REQUEST|NLM_F_DUMP), or NULL (printed). */
struct nl_msg *lemon_nl_dump_request(uint8_t cmd);
/* For the next lemon_nl_transact() only: if the kernel refuses with err
 * (positive errno), print "Error: msg" instead of its message. */
void lemon_nl_own_error(int err, const char *msg);
/* For the next lemon_nl_transact() only: a refusal with err (positive
 * errno) prints nothing; the caller reads lemon_nl_last_error(). */
void lemon_nl_quiet_error(int err);
/* The errno the last lemon_nl_transact() was refused with, or 0. */
int lemon_nl_last_error(void);
/* What the EPERM message says needs CAP_NET_ADMIN ("listing flows"). */
void lemon_nl_perm_hint(const char *what);
/* Joins the events group and calls fn for each event until count events
 * (0: no limit), timeout_ms (0: none) or *stop; signals in waitmask's
 * complement are only taken while waiting. EXIT_OK or EXIT_FAIL. */
int lemon_nl_monitor(nl_reply_fn fn, void *arg, unsigned long count,
		     long timeout_ms, volatile sig_atomic_t *stop,
		     const sigset_t *waitmask);
/* nla_nest_start() that always sets NLA_F_NESTED (older libnl did not). */
struct nlattr *lemon_nl_nest_start(struct nl_msg *msg, int type);
/* Sends msg (consumed), calls fn for each reply, waits for the ACK.
 * Returns EXIT_OK or EXIT_FAIL (error printed). where may be NULL. */
int lemon_nl_transact(struct nl_msg *msg, nl_reply_fn fn, void *arg,
		nl_where_fn where, void *where_arg);
/* "timeout", "pressure high", "port 993 timeout"... ("" if unknown). */
void lemon_nl_path_words(const struct nl_attr_path *path, char *buf, size_t len);

#endif
