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
		"             pressure [ high PCT ] [ low PCT ] | force }\n"
		"DURATION := SECONDS | e.g. 2h4m, 1d, 90s (units d h m s, largest first)\n"
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

int config_parse_set(int argc, char **argv, struct set_args *a)
{
	int i = 0;

	memset(a, 0, sizeof(*a));
	if (!argc)
		return parse_error("\"set\" needs at least one of timeout, enable, pressure (try: " PROG_NAME " set help)");
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
	if (!a->has_enabled && !a->has_timeout && !a->has_high && !a->has_low)
		return parse_error("\"set\" needs at least one of timeout, enable, pressure (try: " PROG_NAME " set help)");
	if (a->has_high && a->has_low && a->low >= a->high)
		return parse_error("pressure low %u%% must be below high %u%%",
				   a->low, a->high);
	return 0;
}

int config_check_set(const struct set_args *a, const char *where)
{
	if (a->has_timeout)
		return check_floor(a->timeout, a->force, -1, where);
	return EXIT_OK;
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

/*
 * The module checks the whole configuration that results from a change,
 * so once a floor below the RFC 5382 minimum has been forced, every later
 * change would need FORCE too. That floor was accepted with "force" and
 * new floors are checked here before sending, so carry FORCE for it.
 * sets_timeout: the request replaces the global floor; port: the port
 * whose entry the request replaces or removes (0: none); all_ports: the
 * request replaces the port set.
 */
int carried_force(bool sets_timeout, uint16_t port, bool all_ports,
		  bool *force)
{
	struct lemon_config cfg;
	size_t i;
	int ret;

	if (*force)
		return EXIT_OK;
	ret = config_get(&cfg);
	if (ret)
		goto out;
	if (!sets_timeout && cfg.has_timeout && below_rfc_floor(cfg.timeout))
		*force = true;
	for (i = 0; i < cfg.nports && !all_ports; i++)
		if (cfg.ports[i].port != port && cfg.ports[i].has_timeout &&
		    below_rfc_floor(cfg.ports[i].timeout))
			*force = true;
out:
	config_free(&cfg);
	return ret;
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
	if (p->has_timeout) {
		print_duration(PRINT_ANY, "timeout", " timeout %s", p->timeout);
		print_bool(PRINT_JSON, "own_timeout", NULL, true);
	} else if (cfg->has_timeout) {
		print_duration(PRINT_ANY, "timeout", " timeout %s (global)",
			       cfg->timeout);
		print_bool(PRINT_JSON, "own_timeout", NULL, false);
	}
	close_json_object();
	print_nl();
}

static void print_config(const struct lemon_config *cfg)
{
	size_t i;

	open_json_object(NULL);
	if (cfg->has_enabled)
		print_on_off(PRINT_ANY, "enabled", "enabled %s", cfg->enabled);
	if (cfg->has_timeout)
		print_duration(PRINT_ANY, "timeout",
			       cfg->has_enabled ? " timeout %s" : "timeout %s",
			       cfg->timeout);
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
	ret = lemon_nl_open();
	if (!ret)
		ret = carried_force(a.has_timeout, 0, false, &a.force);
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
