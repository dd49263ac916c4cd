// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "lemonctl.h"
#include "nl.h"
#include "print.h"

void set_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " set SETTING...\n"
		"       " PROG_NAME " config set SETTING...\n"
		"SETTING := { timeout { DURATION | unlimited } | enable { on | off } |\n"
		"             pressure [ high PCT ] [ low PCT ] | icmp ICMP... |\n"
		"             guard GUARD... | force }\n"
		"GUARD := { restore | reset | log | off | buffers N }\n"
		"ICMP := { absorb | pass | states { established | all } |\n"
		"          validate { on | off } | codes4 CODES | codes6 CODES }\n"
		"DURATION := SECONDS | e.g. 2h4m, 1d, 90s (units d h m s, largest first)\n"
		"CODES := e.g. 0,1,5 or 0-3,13 or none (destination-unreachable codes:\n"
		"         ICMPv4 0-15 but never 4, ICMPv6 0-7)\n"
		"buffers N: negotiations the guard inspects at once (0-65535)\n"
		"A timeout below %d seconds (RFC 5382 REQ-5) also needs \"force\".\n",
		LEMONADE_RFC5382_MIN_TIMEOUT);
}

static void config_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " config [ show ]\n"
		"       " PROG_NAME " config set SETTING...   (see: " PROG_NAME " set help)\n"
		"       " PROG_NAME " show\n");
}

static int dup_arg(const char *what)
{
	return parse_error("argument \"%s\" is given twice (try: " PROG_NAME " set help)",
			   what);
}

static const char set_needs[] =
	"\"set\" needs at least one of timeout, enable, pressure, icmp, guard (try: " PROG_NAME " set help)";

/* "icmp" and what follows it, from argv[*i]; at least one word. */
static int parse_icmp(int argc, char **argv, int *i, struct lemon_icmp *c)
{
	int n = 0;

	while (*i < argc) {
		const char *k = argv[*i];
		uint8_t policy;

		if (!strcmp(k, "absorb") || !strcmp(k, "pass")) {
			if (c->has_policy)
				return parse_error("argument \"icmp %s\" conflicts with an earlier policy (try: " PROG_NAME " set help)",
						   k);
			parse_icmp_policy(k, &policy);
			c->policy = policy;
			c->has_policy = true;
			(*i)++;
			n++;
			continue;
		}
		if (strcmp(k, "states") && strcmp(k, "validate") &&
		    strcmp(k, "codes4") && strcmp(k, "codes6"))
			break;
		if (*i + 1 >= argc)
			return parse_error("\"icmp %s\" needs a value (try: " PROG_NAME " set help)",
					   k);
		if (!strcmp(k, "states")) {
			if (c->has_states)
				return dup_arg("icmp states");
			if (parse_icmp_states("icmp states", argv[*i + 1],
					      &c->states))
				return -1;
			c->has_states = true;
		} else if (!strcmp(k, "validate")) {
			if (c->has_validate)
				return dup_arg("icmp validate");
			if (parse_on_off("icmp validate", argv[*i + 1],
					 &c->validate))
				return -1;
			c->has_validate = true;
		} else if (!strcmp(k, "codes4")) {
			if (c->has_v4)
				return dup_arg("icmp codes4");
			if (parse_codes("icmp codes4", argv[*i + 1], 15, &c->v4))
				return -1;
			c->has_v4 = true;
		} else {
			if (c->has_v6)
				return dup_arg("icmp codes6");
			if (parse_codes("icmp codes6", argv[*i + 1], 7, &c->v6))
				return -1;
			c->has_v6 = true;
		}
		*i += 2;
		n++;
	}
	if (!n) {
		if (*i < argc)
			return parse_icmp_policy(argv[*i], &c->policy);
		return parse_error("\"icmp\" needs absorb, pass, states, validate, codes4 or codes6 (try: " PROG_NAME " set help)");
	}
	return 0;
}

static bool icmp_any(const struct lemon_icmp *c)
{
	return c->has_policy || c->has_states || c->has_validate ||
	       c->has_v4 || c->has_v6;
}

int config_parse_set(int argc, char **argv, struct set_args *a)
{
	int i = 0;

	memset(a, 0, sizeof(*a));
	if (!argc)
		return parse_error(set_needs);
	while (i < argc) {
		const char *k = argv[i++];

		if (!strcmp(k, "force")) {
			if (a->force)
				return dup_arg(k);
			a->force = true;
			continue;
		}
		if (!strcmp(k, "pressure")) {
			int n = 0;

			while (i < argc && (!strcmp(argv[i], "high") ||
					    !strcmp(argv[i], "low"))) {
				bool high = !strcmp(argv[i], "high");
				const char *key = high ? "pressure high" :
							 "pressure low";

				if (i + 1 >= argc)
					return parse_error("\"%s\" needs a percentage (try: " PROG_NAME " set help)",
							   key);
				if (high ? a->has_high : a->has_low)
					return dup_arg(key);
				if (parse_percent(key, argv[i + 1],
						  high ? &a->high : &a->low))
					return -1;
				if (high)
					a->has_high = true;
				else
					a->has_low = true;
				i += 2;
				n++;
			}
			if (!n)
				return parse_error("\"pressure\" needs \"high PCT\" and/or \"low PCT\" (try: " PROG_NAME " set help)");
			continue;
		}
		if (!strcmp(k, "icmp")) {
			if (icmp_any(&a->icmp))
				return dup_arg(k);
			if (parse_icmp(argc, argv, &i, &a->icmp))
				return -1;
			continue;
		}
		if (!strcmp(k, "guard")) {
			int n = 0;

			while (i < argc) {
				if (!strcmp(argv[i], "buffers")) {
					if (a->has_buffers)
						return dup_arg("guard buffers");
					if (i + 1 >= argc)
						return parse_error("\"guard buffers\" needs a number (try: " PROG_NAME " set help)");
					if (parse_u32_max("guard buffers", argv[i + 1],
							  65535, &a->buffers))
						return -1;
					a->has_buffers = true;
					i += 2;
					n++;
					continue;
				}
				if (!is_guard_name(argv[i]))
					break;
				if (a->has_guard)
					return dup_arg("guard policy");
				parse_guard(argv[i], &a->guard);
				a->has_guard = true;
				i++;
				n++;
			}
			if (!n) {
				if (i >= argc)
					return parse_error("\"guard\" needs a value (try: " PROG_NAME " set help)");
				return parse_guard(argv[i], &a->guard);
			}
			continue;
		}
		if (!strcmp(k, "timeout") || !strcmp(k, "enable")) {
			bool timeout = k[0] == 't';

			if (i >= argc)
				return parse_error("\"%s\" needs a value (try: " PROG_NAME " set help)",
						   k);
			if (timeout ? a->has_timeout : a->has_enabled)
				return dup_arg(k);
			if (timeout) {
				if (parse_timeout(k, argv[i], &a->timeout))
					return -1;
				a->has_timeout = true;
			} else {
				if (parse_on_off(k, argv[i], &a->enabled))
					return -1;
				a->has_enabled = true;
			}
			i++;
			continue;
		}
		return parse_error("unknown argument \"%s\" to \"set\" (try: " PROG_NAME " set help)",
				   k);
	}
	if (!a->has_enabled && !a->has_timeout && !a->has_high && !a->has_low &&
	    !icmp_any(&a->icmp) && !a->has_guard && !a->has_buffers)
		return parse_error(set_needs);
	if (a->has_high && a->has_low && a->low >= a->high)
		return parse_error("pressure low %u%% must be below high %u%%",
				   a->low, a->high);
	return 0;
}

int config_check_set(const struct set_args *a, const char *where)
{
	int ret = check_codes(&a->icmp, where);

	if (!ret && a->has_timeout)
		ret = check_floor(a->timeout, a->force, -1, where);
	return ret;
}

static int parse_config(struct nlattr **tb, void *arg)
{
	struct nlattr *ptb[LEMONADE_PORT_A_MAX + 1];
	struct lemon_config *cfg = arg;
	struct nlattr *a;
	int rem;

	if (tb[LEMONADE_A_VERSION]) {
		snprintf(cfg->version, sizeof(cfg->version), "%s",
			 nla_get_string(tb[LEMONADE_A_VERSION]));
		cfg->has_version = true;
	}
	if (tb[LEMONADE_A_ENABLED]) {
		cfg->enabled = !!nla_get_u8(tb[LEMONADE_A_ENABLED]);
		cfg->has_enabled = true;
	}
	if (tb[LEMONADE_A_TIMEOUT]) {
		cfg->timeout = nla_get_u32(tb[LEMONADE_A_TIMEOUT]);
		cfg->has_timeout = true;
	}
	if (tb[LEMONADE_A_HIGH_WATER]) {
		cfg->high = nla_get_u8(tb[LEMONADE_A_HIGH_WATER]);
		cfg->has_high = true;
	}
	if (tb[LEMONADE_A_LOW_WATER]) {
		cfg->low = nla_get_u8(tb[LEMONADE_A_LOW_WATER]);
		cfg->has_low = true;
	}
	if (tb[LEMONADE_A_ICMP_POLICY]) {
		cfg->icmp.policy = nla_get_u8(tb[LEMONADE_A_ICMP_POLICY]);
		cfg->icmp.has_policy = true;
	}
	if (tb[LEMONADE_A_ICMP_STATES]) {
		cfg->icmp.states = nla_get_u8(tb[LEMONADE_A_ICMP_STATES]);
		cfg->icmp.has_states = true;
	}
	if (tb[LEMONADE_A_ICMP_VALIDATE]) {
		cfg->icmp.validate = !!nla_get_u8(tb[LEMONADE_A_ICMP_VALIDATE]);
		cfg->icmp.has_validate = true;
	}
	if (tb[LEMONADE_A_ICMP_V4_CODES]) {
		cfg->icmp.v4 = nla_get_u32(tb[LEMONADE_A_ICMP_V4_CODES]);
		cfg->icmp.has_v4 = true;
	}
	if (tb[LEMONADE_A_ICMP_V6_CODES]) {
		cfg->icmp.v6 = nla_get_u32(tb[LEMONADE_A_ICMP_V6_CODES]);
		cfg->icmp.has_v6 = true;
	}
	if (tb[LEMONADE_A_GUARD_POLICY]) {
		cfg->guard = nla_get_u8(tb[LEMONADE_A_GUARD_POLICY]);
		cfg->has_guard = true;
	}
	if (tb[LEMONADE_A_GENERATION]) {
		cfg->generation = nla_get_u32(tb[LEMONADE_A_GENERATION]);
		cfg->has_generation = true;
	}
	if (tb[LEMONADE_A_GUARD_BUFFERS]) {
		cfg->buffers = nla_get_u32(tb[LEMONADE_A_GUARD_BUFFERS]);
		cfg->has_buffers = true;
	}
	if (!tb[LEMONADE_A_PORTS])
		return 0;
	cfg->has_ports = true;
	nla_for_each_nested(a, tb[LEMONADE_A_PORTS], rem) {
		struct lemon_port p = { 0 };

		if (nla_type(a) != LEMONADE_A_PORT)
			continue;
		if (nla_parse_nested(ptb, LEMONADE_PORT_A_MAX, a,
				     (struct nla_policy *)lemonade_port_policy) < 0 ||
		    !ptb[LEMONADE_PORT_A_PORT]) {
			lemon_err("malformed port entry in the reply of nf_lemonade");
			return -1;
		}
		p.port = nla_get_u16(ptb[LEMONADE_PORT_A_PORT]);
		if (ptb[LEMONADE_PORT_A_PROTO]) {
			p.proto = nla_get_u8(ptb[LEMONADE_PORT_A_PROTO]);
			p.has_proto = true;
		}
		if (ptb[LEMONADE_PORT_A_TIMEOUT]) {
			p.timeout = nla_get_u32(ptb[LEMONADE_PORT_A_TIMEOUT]);
			p.has_timeout = true;
		}
		if (config_add_port(cfg, &p)) {
			lemon_err("out of memory");
			return -1;
		}
	}
	return 0;
}

int config_get(struct lemon_config *cfg)
{
	struct nl_msg *msg;

	config_init(cfg);
	msg = lemon_nl_request(LEMONADE_CMD_GET_CONFIG);
	if (!msg)
		return EXIT_FAIL;
	return lemon_nl_transact(msg, parse_config, cfg, NULL, NULL);
}

void port_print(const struct lemon_port *p, const struct lemon_config *cfg)
{
	open_json_object(NULL);
	print_uint(PRINT_ANY, "port", "port %u", p->port);
	if (p->has_proto) {
		const char *name = proto_name(p->proto);
		char num[8];

		/* a protocol from a newer module: show its number */
		if (!name) {
			snprintf(num, sizeof(num), "%u", p->proto);
			name = num;
		}
		print_string(PRINT_ANY, "proto", " proto %s", name);
	}
	/*
	 * The text is what "port add" takes back: a port that follows the
	 * global floor shows none (the first line of "show" has it), and a
	 * floor below the RFC 5382 minimum shows the "force" it needs.
	 */
	if (p->has_timeout) {
		print_duration(PRINT_ANY, "timeout", " timeout %s", p->timeout);
		print_bool(PRINT_JSON, "own_timeout", NULL, true);
		if (below_rfc_floor(p->timeout))
			print_string(PRINT_FP, NULL, "%s", " force");
	} else if (cfg->has_timeout) {
		print_duration(PRINT_JSON, "timeout", NULL, cfg->timeout);
		print_bool(PRINT_JSON, "own_timeout", NULL, false);
	}
	close_json_object();
	print_nl();
}

/* A name from lemonctl's table, or the number for a newer module's value. */
static void print_enum(const char *key, const char *fmt, const char *name,
		       unsigned int value)
{
	char num[16];

	if (!name) {
		snprintf(num, sizeof(num), "%u", value);
		name = num;
	}
	print_string(PRINT_ANY, key, fmt, name);
}

static void print_codes(const char *key, const char *fmt, uint32_t mask)
{
	char buf[128];
	unsigned int i;

	print_string(PRINT_FP, NULL, fmt, format_codes(mask, buf, sizeof(buf)));
	open_json_array(key);
	for (i = 0; i < 32; i++)
		if (mask & (1u << i))
			print_uint(PRINT_JSON, NULL, NULL, i);
	close_json_array();
}

static void print_icmp(const struct lemon_icmp *c)
{
	if (!icmp_any(c))
		return;
	print_string(PRINT_FP, NULL, "%s", "icmp");
	open_json_object("icmp");
	if (c->has_policy)
		print_enum("policy", " %s", icmp_policy_name(c->policy),
			   c->policy);
	if (c->has_states)
		print_enum("states", " states %s", icmp_states_name(c->states),
			   c->states);
	if (c->has_validate)
		print_on_off(PRINT_ANY, "validate", " validate %s", c->validate);
	if (c->has_v4)
		print_codes("codes4", " codes4 %s", c->v4);
	if (c->has_v6)
		print_codes("codes6", " codes6 %s", c->v6);
	close_json_object();
	print_nl();
}

static void print_config(const struct lemon_config *cfg)
{
	size_t i;

	open_json_object(NULL);
	/* each line is what "set" takes back (JSON keys stay as they were) */
	if (cfg->has_enabled)
		print_on_off(PRINT_ANY, "enabled", "enable %s", cfg->enabled);
	if (cfg->has_timeout) {
		print_duration(PRINT_ANY, "timeout",
			       cfg->has_enabled ? " timeout %s" : "timeout %s",
			       cfg->timeout);
		if (below_rfc_floor(cfg->timeout))
			print_string(PRINT_FP, NULL, "%s", " force");
	}
	if (cfg->has_high || cfg->has_low) {
		print_string(PRINT_FP, NULL, "%s",
			     cfg->has_enabled || cfg->has_timeout ?
			     " pressure" : "pressure");
		open_json_object("pressure");
		if (cfg->has_high)
			print_uint(PRINT_ANY, "high", " high %u%%", cfg->high);
		if (cfg->has_low)
			print_uint(PRINT_ANY, "low", " low %u%%", cfg->low);
		close_json_object();
	}
	print_nl();
	open_json_array("ports");
	for (i = 0; i < cfg->nports; i++)
		port_print(&cfg->ports[i], cfg);
	close_json_array();
	print_icmp(&cfg->icmp);
	if (cfg->has_guard || cfg->has_buffers) {
		print_string(PRINT_FP, NULL, "%s", "guard");
		if (cfg->has_guard)
			print_enum("guard", " %s", guard_name(cfg->guard),
				   cfg->guard);
		if (cfg->has_buffers)
			print_uint(PRINT_ANY, "guard_buffers", " buffers %u",
				   cfg->buffers);
		print_nl();
	}
	close_json_object();
}

int cmd_show(int argc, char **argv)
{
	struct lemon_config cfg;
	int ret;

	if (argc && is_help(argv[0])) {
		config_usage(stdout);
		return EXIT_OK;
	}
	if (argc) {
		parse_error("unknown argument \"%s\" to \"show\" (try: " PROG_NAME " help)",
			    argv[0]);
		return usage_fail();
	}
	ret = lemon_nl_open();
	if (ret)
		return ret;
	ret = config_get(&cfg);
	if (!ret)
		print_config(&cfg);
	config_free(&cfg);
	return ret;
}

int config_put_icmp(struct nl_msg *msg, const struct lemon_icmp *c)
{
	if ((c->has_policy &&
	     nla_put_u8(msg, LEMONADE_A_ICMP_POLICY, c->policy) < 0) ||
	    (c->has_states &&
	     nla_put_u8(msg, LEMONADE_A_ICMP_STATES, c->states) < 0) ||
	    (c->has_validate &&
	     nla_put_u8(msg, LEMONADE_A_ICMP_VALIDATE, c->validate ? 1 : 0) < 0) ||
	    (c->has_v4 && nla_put_u32(msg, LEMONADE_A_ICMP_V4_CODES, c->v4) < 0) ||
	    (c->has_v6 && nla_put_u32(msg, LEMONADE_A_ICMP_V6_CODES, c->v6) < 0))
		return -1;
	return 0;
}

static int put_set_args(struct nl_msg *msg, const struct set_args *a)
{
	if (a->has_enabled &&
	    nla_put_u8(msg, LEMONADE_A_ENABLED, a->enabled ? 1 : 0) < 0)
		return -1;
	if (a->has_timeout &&
	    nla_put_u32(msg, LEMONADE_A_TIMEOUT, a->timeout) < 0)
		return -1;
	if (a->has_high && nla_put_u8(msg, LEMONADE_A_HIGH_WATER, a->high) < 0)
		return -1;
	if (a->has_low && nla_put_u8(msg, LEMONADE_A_LOW_WATER, a->low) < 0)
		return -1;
	if (config_put_icmp(msg, &a->icmp) ||
	    (a->has_guard &&
	     nla_put_u8(msg, LEMONADE_A_GUARD_POLICY, a->guard) < 0) ||
	    (a->has_buffers &&
	     nla_put_u32(msg, LEMONADE_A_GUARD_BUFFERS, a->buffers) < 0))
		return -1;
	if (a->force && nla_put_flag(msg, LEMONADE_A_FORCE) < 0)
		return -1;
	return 0;
}

int cmd_set(int argc, char **argv)
{
	struct set_args a;
	struct nl_msg *msg;
	int ret;

	if (argc && is_help(argv[0])) {
		set_usage(stdout);
		return EXIT_OK;
	}
	if (config_parse_set(argc, argv, &a))
		return usage_fail();
	ret = config_check_set(&a, NULL);
	if (ret)
		return ret;
	ret = lemon_nl_open_change();
	if (ret)
		return ret;
	msg = lemon_nl_request(LEMONADE_CMD_SET_CONFIG);
	if (!msg)
		return EXIT_FAIL;
	if (put_set_args(msg, &a)) {
		nlmsg_free(msg);
		lemon_err("request too large");
		return EXIT_FAIL;
	}
	return lemon_nl_transact(msg, NULL, NULL, NULL, NULL);
}

int cmd_config(int argc, char **argv)
{
	if (!argc || !strcmp(argv[0], "show") || !strcmp(argv[0], "list"))
		return cmd_show(argc ? argc - 1 : 0, argv + !!argc);
	if (!strcmp(argv[0], "set"))
		return cmd_set(argc - 1, argv + 1);
	if (is_help(argv[0])) {
		config_usage(stdout);
		return EXIT_OK;
	}
	parse_error("unknown command \"%s\" for \"config\" (try: " PROG_NAME " config help)",
		    argv[0]);
	return usage_fail();
}
