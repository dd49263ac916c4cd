// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "duration.h"
#include "lemonctl.h"
#include "nl.h"
#include "print.h"
#include "spec-gen.h"

void flows_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " flows [ port PORT ]\n"
		"Lists the covered flows (TCP flows on listed ports) of this network\n"
		"namespace, or those of one listed port. Needs CAP_NET_ADMIN.\n");
}

static void print_addr_port(enum output_type t, const char *akey,
			    const char *pkey, const char *fmt, int af,
			    const struct nlattr *addr, unsigned int port)
{
	char buf[INET6_ADDRSTRLEN] = "?";
	char text[INET6_ADDRSTRLEN + 16];
	size_t need = af == AF_INET6 ? 16 : 4;

	if (addr && (size_t)nla_len(addr) >= need)
		inet_ntop(af, nla_data(addr), buf, sizeof(buf));
	print_string(t & PRINT_JSON, akey, NULL, buf);
	print_uint(t & PRINT_JSON, pkey, NULL, port);
	snprintf(text, sizeof(text), af == AF_INET6 ? "[%s]:%u" : "%s:%u", buf,
		 port);
	print_string(t & PRINT_FP, NULL, fmt, text);
}

static unsigned int get_u16(struct nlattr **tb, int attr)
{
	return tb[attr] ? nla_get_u16(tb[attr]) : 0;
}

static const char *const guard_status_names[] = LEMONADE_GEN_GUARD_STATUS_NAMES;

_Static_assert(sizeof(guard_status_names) / sizeof(guard_status_names[0]) ==
	       LEMONADE_GUARD_S_MAX + 1, "every guard status needs a name");

int flow_print(struct nlattr *nest, const char *key)
{
	struct nlattr *tb[LEMONADE_FLOW_A_MAX + 1];
	char dur[DURATION_BUFSZ], num[16];
	const char *name;
	uint8_t fam, state, guard;
	int af;

	if (!nest || nla_parse_nested(tb, LEMONADE_FLOW_A_MAX, nest,
				      (struct nla_policy *)lemonade_flow_policy) < 0) {
		lemon_err("malformed flow in the answer of nf_lemonade");
		return -1;
	}
	fam = tb[LEMONADE_FLOW_A_FAMILY] ? nla_get_u8(tb[LEMONADE_FLOW_A_FAMILY]) : 0;
	af = fam == AF_INET6 ? AF_INET6 : AF_INET;
	open_json_object(key);
	if (tb[LEMONADE_FLOW_A_ID])
		print_uint(PRINT_JSON, "id", NULL, nla_get_u32(tb[LEMONADE_FLOW_A_ID]));
	print_string(PRINT_ANY, "family", "%s", af == AF_INET6 ? "ipv6" : "ipv4");
	print_addr_port(PRINT_ANY, "src", "sport", " %s", af,
			tb[LEMONADE_FLOW_A_SADDR], get_u16(tb, LEMONADE_FLOW_A_SPORT));
	print_addr_port(PRINT_ANY, "dst", "dport", " -> %s", af,
			tb[LEMONADE_FLOW_A_DADDR], get_u16(tb, LEMONADE_FLOW_A_DPORT));
	print_uint(PRINT_ANY, "port", " port %u", get_u16(tb, LEMONADE_FLOW_A_PORT));
	if (tb[LEMONADE_FLOW_A_TCP_STATE]) {
		state = nla_get_u8(tb[LEMONADE_FLOW_A_TCP_STATE]);
		name = tcp_state_name(state);
		if (!name) {
			snprintf(num, sizeof(num), "%u", state);
			name = num;
		}
		print_string(PRINT_ANY, "state", " state %s", name);
	}
	if (tb[LEMONADE_FLOW_A_REMAINING]) {
		uint32_t left = nla_get_u32(tb[LEMONADE_FLOW_A_REMAINING]);

		print_uint(PRINT_JSON, "remaining", NULL, left);
		/* duration_format() says "unlimited" for 0 */
		print_string(PRINT_FP, NULL, " remaining %s",
			     left ? duration_format(left, dur, sizeof(dur)) : "0s");
	}
	if (tb[LEMONADE_FLOW_A_TIMEOUT])
		print_duration(PRINT_ANY, "timeout", " timeout %s",
			       nla_get_u32(tb[LEMONADE_FLOW_A_TIMEOUT]));
	if (tb[LEMONADE_FLOW_A_MARKED]) {
		bool marked = nla_get_u8(tb[LEMONADE_FLOW_A_MARKED]);

		print_bool(PRINT_JSON, "marked", NULL, marked);
		print_string(PRINT_FP, NULL, " marked %s", marked ? "yes" : "no");
	}
	guard = tb[LEMONADE_FLOW_A_GUARD] ? nla_get_u8(tb[LEMONADE_FLOW_A_GUARD]) :
					    LEMONADE_GUARD_S_NONE;
	name = guard <= LEMONADE_GUARD_S_MAX ? guard_status_names[guard] : NULL;
	if (!name) {
		/* from a newer module */
		snprintf(num, sizeof(num), "%u", guard);
		name = num;
	}
	print_string(PRINT_ANY, "guard", " guard %s", name);
	if (tb[LEMONADE_FLOW_A_GUARD_INSPECTED])
		print_uint(PRINT_ANY, "inspected", " inspected %u",
			   nla_get_u32(tb[LEMONADE_FLOW_A_GUARD_INSPECTED]));
	if (tb[LEMONADE_FLOW_A_ID])
		print_uint(PRINT_FP, NULL, " id %u", nla_get_u32(tb[LEMONADE_FLOW_A_ID]));
	close_json_object();
	return 0;
}

static int flow_reply(struct nlattr **tb, void *arg)
{
	unsigned long *n = arg;

	/* the array opens with the first flow: an error prints no JSON */
	if (!*n)
		open_json_array(NULL);
	if (flow_print(tb[LEMONADE_A_FLOW], NULL))
		return -1;
	print_nl();
	(*n)++;
	return 0;
}

int cmd_flows(int argc, char **argv)
{
	unsigned long n = 0;
	struct nl_msg *msg;
	uint16_t port = 0;
	int ret;

	if (argc && is_help(argv[0])) {
		flows_usage(stdout);
		return EXIT_OK;
	}
	if (argc && !strcmp(argv[0], "port")) {
		if (argc < 2) {
			parse_error("\"port\" needs a port number (try: " PROG_NAME " flows help)");
			return usage_fail();
		}
		if (parse_port_number(argv[1], &port))
			return usage_fail();
		argc -= 2;
		argv += 2;
	}
	if (argc) {
		parse_error("unknown argument \"%s\" to \"flows\" (try: " PROG_NAME " flows help)",
			    argv[0]);
		return usage_fail();
	}
	ret = lemon_nl_open();
	if (ret)
		return ret;
	msg = lemon_nl_dump_request(LEMONADE_CMD_GET_FLOWS);
	if (!msg)
		return EXIT_FAIL;
	if (port && nla_put_u16(msg, LEMONADE_A_FILTER_PORT, port) < 0) {
		nlmsg_free(msg);
		lemon_err("request too large");
		return EXIT_FAIL;
	}
	lemon_nl_perm_hint("listing flows");
	ret = lemon_nl_transact(msg, flow_reply, &n, NULL, NULL);
	if (!ret && !n)
		open_json_array(NULL);
	if (!ret || n)
		close_json_array();
	return ret;
}
