// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "lemonctl.h"
#include "nl.h"
#include "print.h"

void port_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " port [ list ]\n"
		"       " PROG_NAME " port add PORT [ proto PROTO ] [ timeout { DURATION | unlimited } ] [ force ]\n"
		"       " PROG_NAME " port del PORT\n"
		"       " PROG_NAME " port flush\n"
		"PROTO := { imap | smtp | acap | none }\n"
		"DURATION := SECONDS | e.g. 2h4m, 1d, 90s (units d h m s, largest first)\n"
		"Without \"timeout\" the port follows the global floor (" PROG_NAME " set timeout).\n"
		"A timeout below %d seconds (RFC 5382 REQ-5) also needs \"force\".\n",
		LEMONADE_RFC5382_MIN_TIMEOUT);
}

static int dup_arg(const char *what)
{
	return parse_error("argument \"%s\" is given twice (try: " PROG_NAME " port help)",
			   what);
}

static int parse_port_arg(int argc, char **argv, const char *cmd,
			  struct port_args *a)
{
	memset(a, 0, sizeof(*a));
	if (!argc)
		return parse_error("\"port %s\" needs a port number (try: " PROG_NAME " port help)",
				   cmd);
	return parse_port_number(argv[0], &a->p.port);
}

int port_parse_add(int argc, char **argv, struct port_args *a)
{
	int i = 1;

	if (parse_port_arg(argc, argv, "add", a))
		return -1;
	while (i < argc) {
		const char *k = argv[i++];

		if (!strcmp(k, "force")) {
			if (a->force)
				return dup_arg(k);
			a->force = true;
			continue;
		}
		if (strcmp(k, "proto") && strcmp(k, "timeout"))
			return parse_error("unknown argument \"%s\" to \"port add\" (try: " PROG_NAME " port help)",
					   k);
		if (i >= argc)
			return parse_error("\"%s\" needs a value (try: " PROG_NAME " port help)",
					   k);
		if (k[0] == 'p') {
			if (a->p.has_proto)
				return dup_arg(k);
			if (parse_proto(argv[i], &a->p.proto))
				return -1;
			a->p.has_proto = true;
		} else {
			if (a->p.has_timeout)
				return dup_arg(k);
			if (parse_timeout(k, argv[i], &a->p.timeout))
				return -1;
			a->p.has_timeout = true;
		}
		i++;
	}
	return 0;
}

int port_parse_del(int argc, char **argv, struct port_args *a)
{
	if (parse_port_arg(argc, argv, "del", a))
		return -1;
	if (argc > 1)
		return parse_error("unknown argument \"%s\" to \"port del\" (try: " PROG_NAME " port help)",
				   argv[1]);
	return 0;
}

int port_parse_flush(int argc, char **argv)
{
	if (argc)
		return parse_error("unknown argument \"%s\" to \"port flush\" (try: " PROG_NAME " port help)",
				   argv[0]);
	return 0;
}

int port_check_add(const struct port_args *a, const char *where)
{
	if (a->p.has_timeout)
		return check_floor(a->p.timeout, a->force, a->p.port, where);
	return EXIT_OK;
}

static int port_list(int argc, char **argv)
{
	struct lemon_config cfg;
	size_t i;
	int ret;

	if (argc) {
		parse_error("unknown argument \"%s\" to \"port list\" (try: " PROG_NAME " port help)",
			    argv[0]);
		return usage_fail();
	}
	ret = lemon_nl_open();
	if (ret)
		return ret;
	ret = config_get(&cfg);
	if (!ret) {
		open_json_array(NULL);
		for (i = 0; i < cfg.nports; i++)
			port_print(&cfg.ports[i], &cfg);
		close_json_array();
	}
	config_free(&cfg);
	return ret;
}

/* The LEMONADE_A_PORT nest of ADD_PORT/DEL_PORT and of SET_CONFIG's PORTS. */
int port_put(struct nl_msg *msg, const struct lemon_port *p)
{
	struct nlattr *nest = lemon_nl_nest_start(msg, LEMONADE_A_PORT);

	if (!nest ||
	    nla_put_u16(msg, LEMONADE_PORT_A_PORT, p->port) < 0 ||
	    (p->has_proto &&
	     nla_put_u8(msg, LEMONADE_PORT_A_PROTO, p->proto) < 0) ||
	    (p->has_timeout &&
	     nla_put_u32(msg, LEMONADE_PORT_A_TIMEOUT, p->timeout) < 0))
		return -1;
	nla_nest_end(msg, nest);
	return 0;
}

static int send_port(uint8_t cmd, const struct port_args *a)
{
	struct nl_msg *msg;
	int ret;

	ret = lemon_nl_open_change();
	if (ret)
		return ret;
	msg = lemon_nl_request(cmd);
	if (!msg)
		return EXIT_FAIL;
	if (cmd == LEMONADE_CMD_DEL_PORT) {
		char what[128];

		/* the module's "port is not listed" does not say which */
		snprintf(what, sizeof(what),
			 "port %u is not listed, so it cannot be deleted (see: " PROG_NAME " port list)",
			 a->p.port);
		lemon_nl_own_error(ENOENT, what);
	}
	if (port_put(msg, &a->p) ||
	    (a->force && nla_put_flag(msg, LEMONADE_A_FORCE) < 0)) {
		nlmsg_free(msg);
		lemon_err("request too large");
		return EXIT_FAIL;
	}
	return lemon_nl_transact(msg, NULL, NULL, NULL, NULL);
}

static int port_flush(void)
{
	struct nl_msg *msg;
	struct nlattr *nest;
	int ret;

	ret = lemon_nl_open_change();
	if (ret)
		return ret;
	msg = lemon_nl_request(LEMONADE_CMD_SET_CONFIG);
	if (!msg)
		return EXIT_FAIL;
	nest = lemon_nl_nest_start(msg, LEMONADE_A_PORTS);
	if (!nest) {
		nlmsg_free(msg);
		lemon_err("request too large");
		return EXIT_FAIL;
	}
	/* an empty PORTS nest is the empty set, so keep it */
	nla_nest_end_keep_empty(msg, nest);
	return lemon_nl_transact(msg, NULL, NULL, NULL, NULL);
}

int cmd_port(int argc, char **argv)
{
	struct port_args a;
	const char *c;
	int ret;

	if (!argc)
		return port_list(0, argv);
	c = argv[0];
	argc--;
	argv++;
	if (argc && is_help(argv[0])) {
		port_usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(c, "list") || !strcmp(c, "show"))
		return port_list(argc, argv);
	if (!strcmp(c, "add")) {
		if (port_parse_add(argc, argv, &a))
			return usage_fail();
		ret = port_check_add(&a, NULL);
		return ret ? ret : send_port(LEMONADE_CMD_ADD_PORT, &a);
	}
	if (!strcmp(c, "del") || !strcmp(c, "delete")) {
		if (port_parse_del(argc, argv, &a))
			return usage_fail();
		return send_port(LEMONADE_CMD_DEL_PORT, &a);
	}
	if (!strcmp(c, "flush")) {
		if (port_parse_flush(argc, argv))
			return usage_fail();
		return port_flush();
	}
	if (is_help(c)) {
		port_usage(stdout);
		return EXIT_OK;
	}
	parse_error("unknown command \"%s\" for \"port\" (try: " PROG_NAME " port help)",
		    c);
	return usage_fail();
}
