/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LEMONCTL_H
#define LEMONCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef LEMONADE_VERSION
#define LEMONADE_VERSION "0.1.0"
#endif

#define PROG_NAME "lemonctl"

/* Exit status, documented in lemonctl.8. */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* refused by the kernel or by policy; no module */
#define EXIT_USAGE	2	/* bad command line or batch file */

/* One port entry, as in the LEMONADE_A_PORT nest. */
struct lemon_port {
	uint16_t port;
	bool has_proto;
	bool has_timeout;	/* false: the global floor applies */
	uint8_t proto;
	uint32_t timeout;	/* seconds, 0 = unlimited */
	unsigned int line;	/* batch line that set it, 0 = kernel */
};

/* The ICMP shield and guard settings; each field only when has_*. */
struct lemon_icmp {
	bool has_policy, has_states, has_validate, has_v4, has_v6;
	uint8_t policy;		/* enum lemonade_icmp_policy */
	uint8_t states;		/* enum lemonade_icmp_states */
	bool validate;
	uint32_t v4, v6;	/* soft codes, bit per code */
};

/* The whole configuration of a netns (GET_CONFIG, or a folded batch). */
struct lemon_config {
	bool has_version, has_enabled, has_timeout, has_high, has_low;
	bool has_ports, has_guard, has_buffers, has_generation;
	char version[64];
	bool enabled;
	uint32_t timeout;
	uint8_t high, low;
	struct lemon_icmp icmp;
	uint8_t guard;		/* enum lemonade_guard_policy */
	uint32_t buffers;	/* guard buffers (negotiations at once) */
	uint32_t generation;	/* changes with every change (ESTALE) */
	size_t nports;
	struct lemon_port *ports;
};

/* Arguments of "set"; each field only when has_*. */
struct set_args {
	bool has_enabled, has_timeout, has_high, has_low, has_guard;
	bool has_buffers;
	bool enabled;
	uint32_t timeout;
	uint8_t high, low;
	struct lemon_icmp icmp;
	uint8_t guard;
	uint32_t buffers;
	bool force;
};

/* Arguments of "port add|del". */
struct port_args {
	struct lemon_port p;
	bool force;
};

/* Global options. */
struct lemon_opts {
	bool json, pretty;
	bool timestamp;		/* -t: monitor prints when each event came */
	const char *netns;
	const char *batch;
};
extern struct lemon_opts opts;

/* parse.c: usage errors are stored here, then printed by the caller
 * ("Error: MSG" on the command line, "Error: FILE:LINE: MSG" in a batch). */
int parse_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *parse_error_msg(void);
/* Print "Error: MSG" and return EXIT_USAGE. */
int usage_fail(void);
/* Print "Error: ..." to stderr. */
void lemon_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lemon_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool is_help(const char *arg);
int parse_port_number(const char *arg, uint16_t *port);
int parse_percent(const char *key, const char *arg, uint8_t *pct);
int parse_u32_max(const char *key, const char *arg, uint32_t max,
		  uint32_t *val);
int parse_on_off(const char *key, const char *arg, bool *on);
int parse_timeout(const char *key, const char *arg, uint32_t *secs);
int parse_proto(const char *arg, uint8_t *proto);
const char *proto_name(uint8_t proto);
int parse_icmp_policy(const char *arg, uint8_t *policy);
const char *icmp_policy_name(uint8_t policy);
int parse_icmp_states(const char *key, const char *arg, uint8_t *states);
const char *icmp_states_name(uint8_t states);
/* "0,1,5", "0-3,13" or "none"; codes 0..max. */
int parse_codes(const char *key, const char *arg, unsigned int max,
		uint32_t *mask);
/* "0,1,5" or "none", into buf. */
const char *format_codes(uint32_t mask, char *buf, size_t len);
int parse_guard(const char *arg, uint8_t *guard);
bool is_guard_name(const char *arg);
const char *guard_name(uint8_t guard);
const char *tcp_state_name(uint8_t state);
/* Local check of ICMPv4 code 4; prints the error, returns EXIT_FAIL. */
int check_codes(const struct lemon_icmp *icmp, const char *where);
/* A floor that needs "force": set, and below the RFC 5382 minimum. */
bool below_rfc_floor(uint32_t secs);
/* Local RFC 5382 REQ-5 check; prints the error and returns EXIT_FAIL. */
int check_floor(uint32_t secs, bool force, int port, const char *where);

void config_init(struct lemon_config *cfg);
void config_free(struct lemon_config *cfg);
struct lemon_port *config_find_port(struct lemon_config *cfg, uint16_t port);
int config_add_port(struct lemon_config *cfg, const struct lemon_port *p);
void config_del_port(struct lemon_config *cfg, struct lemon_port *p);

/* config.c */
int config_parse_set(int argc, char **argv, struct set_args *a);
int config_check_set(const struct set_args *a, const char *where);
int config_get(struct lemon_config *cfg);
struct nl_msg;
int config_put_icmp(struct nl_msg *msg, const struct lemon_icmp *c);
int cmd_show(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_config(int argc, char **argv);
void set_usage(FILE *f);

/* port.c */
int port_parse_add(int argc, char **argv, struct port_args *a);
int port_parse_del(int argc, char **argv, struct port_args *a);
int port_parse_flush(int argc, char **argv);
int port_check_add(const struct port_args *a, const char *where);
void port_print(const struct lemon_port *p, const struct lemon_config *cfg);
struct nl_msg;
int port_put(struct nl_msg *msg, const struct lemon_port *p);
int cmd_port(int argc, char **argv);
void port_usage(FILE *f);

/* stats.c */
int cmd_stats(int argc, char **argv);
void stats_usage(FILE *f);

/* flows.c */
struct nlattr;
/* Prints one LEMONADE_A_FLOW nest as an object (JSON key or NULL). */
int flow_print(struct nlattr *nest, const char *key);
int cmd_flows(int argc, char **argv);
void flows_usage(FILE *f);

/* monitor.c */
int cmd_monitor(int argc, char **argv);
void monitor_usage(FILE *f);

/* batch.c */
enum batch_kind {
	BATCH_SET,
	BATCH_PORT_ADD,
	BATCH_PORT_DEL,
	BATCH_PORT_FLUSH,
};

struct batch_cmd {
	enum batch_kind kind;
	unsigned int line;
	union {
		struct set_args set;
		struct port_args port;
	};
};

/* 1: *cmd filled; 0: blank or comment; -1: parse_error() set. Modifies line. */
int batch_parse_line(char *line, struct batch_cmd *cmd);
int batch_run(const char *file);
int cmd_save(int argc, char **argv);
void save_usage(FILE *f);

/* lemonctl.c */
void usage(FILE *f);

#endif
