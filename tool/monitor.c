// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "lemonctl.h"
#include "nl.h"
#include "print.h"
#include "spec-gen.h"

void monitor_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " monitor [ count N ] [ timeout DURATION ]\n"
		"Prints the events of nf_lemonade in this network namespace as they\n"
		"happen, one line each (one JSON object per line with -j), until\n"
		"N events, DURATION (e.g. 30s, 5m) or SIGINT/SIGTERM. Needs CAP_NET_ADMIN.\n"
		"-t (--timestamp) starts each line with the time the event came,\n"
		"[YYYY-MM-DDTHH:MM:SS.UUUUUU] in local time, as \"ip -ts monitor\" does\n"
		"(JSON: the key \"timestamp\").\n");
}

static const char *const event_names[] = LEMONADE_GEN_EVENT_NAMES;

_Static_assert(sizeof(event_names) / sizeof(event_names[0]) ==
	       LEMONADE_EVENT_MAX + 1, "every event needs a name");

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int print_event(struct nlattr **tb, void *arg)
{
	uint8_t kind = tb[LEMONADE_A_EVENT] ? nla_get_u8(tb[LEMONADE_A_EVENT]) : 0;
	const char *name = kind <= LEMONADE_EVENT_MAX ? event_names[kind] : NULL;
	char num[16];

	(void)arg;
	if (!name) {
		/* from a newer module */
		snprintf(num, sizeof(num), "%u", kind);
		name = num;
	}
	open_json_object(NULL);
	if (opts.timestamp) {
		/* as "ip -ts monitor": local time, microseconds */
		char when[64], tstr[96];
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(tstr, sizeof(tstr), "%s.%06u", when,
			 (unsigned int)(ts.tv_nsec / 1000) % 1000000u);
		print_string(PRINT_ANY, "timestamp", "[%s] ", tstr);
	}
	print_string(PRINT_ANY, "event", "%s", name);
	if (tb[LEMONADE_A_EVENT_COUNT])
		print_uint(PRINT_ANY, "count", " count %u",
			   nla_get_u32(tb[LEMONADE_A_EVENT_COUNT]));
	if (tb[LEMONADE_A_FLOW]) {
		print_string(PRINT_FP, NULL, "%s", " ");
		if (flow_print(tb[LEMONADE_A_FLOW], "flow"))
			return -1;
	}
	if (tb[LEMONADE_A_EVENT_KEYWORD])
		print_string(PRINT_ANY, "keyword", " keyword %s",
			     nla_get_string(tb[LEMONADE_A_EVENT_KEYWORD]));
	if (tb[LEMONADE_A_ICMP_TYPE] || tb[LEMONADE_A_ICMP_CODE]) {
		print_string(PRINT_FP, NULL, "%s", " icmp");
		open_json_object("icmp");
		if (tb[LEMONADE_A_ICMP_TYPE])
			print_uint(PRINT_ANY, "type", " type %u",
				   nla_get_u8(tb[LEMONADE_A_ICMP_TYPE]));
		if (tb[LEMONADE_A_ICMP_CODE])
			print_uint(PRINT_ANY, "code", " code %u",
				   nla_get_u8(tb[LEMONADE_A_ICMP_CODE]));
		close_json_object();
	}
	if (tb[LEMONADE_A_EVENT_CMD]) {
		/* a configuration change: which command, from whom, which
		 * generation it made ("lemonctl show" prints the rest) */
		uint8_t cmd = nla_get_u8(tb[LEMONADE_A_EVENT_CMD]);

		print_string(PRINT_ANY, "cmd", " cmd %s",
			     cmd == LEMONADE_CMD_SET_CONFIG ? "set" :
			     cmd == LEMONADE_CMD_ADD_PORT ? "port-add" :
			     cmd == LEMONADE_CMD_DEL_PORT ? "port-del" : "other");
	}
	/* who: as nft monitor's "by process PID (NAME)" */
	if (tb[LEMONADE_A_EVENT_PID])
		print_uint(PRINT_ANY, "pid", " pid %u",
			   nla_get_u32(tb[LEMONADE_A_EVENT_PID]));
	if (tb[LEMONADE_A_EVENT_COMM]) {
		/* the changer names itself (prctl): no control characters
		 * on the terminal or in a line a script reads */
		char comm[32];
		size_t j;

		snprintf(comm, sizeof(comm), "%s",
			 nla_get_string(tb[LEMONADE_A_EVENT_COMM]));
		for (j = 0; comm[j]; j++)
			if ((unsigned char)comm[j] < 0x20 || comm[j] == 0x7f)
				comm[j] = '?';
		print_string(PRINT_ANY, "comm", " comm %s", comm);
	}
	if (tb[LEMONADE_A_EVENT_PORTID])
		print_uint(PRINT_ANY, "portid", " portid %u",
			   nla_get_u32(tb[LEMONADE_A_EVENT_PORTID]));
	if (tb[LEMONADE_A_GENERATION])
		print_uint(PRINT_ANY, "generation", " generation %u",
			   nla_get_u32(tb[LEMONADE_A_GENERATION]));
	if (tb[LEMONADE_A_EVENT_SUPPRESSED])
		print_uint(PRINT_ANY, "suppressed", " suppressed %u",
			   nla_get_u32(tb[LEMONADE_A_EVENT_SUPPRESSED]));
	close_json_object();
	print_nl();
	/* one line per event, out as it happens */
	if (print_finish()) {
		lemon_err("cannot write the output");
		return -1;
	}
	return 0;
}

static int parse_count(const char *arg, unsigned long *count)
{
	char *end;

	errno = 0;
	if (arg[0] >= '0' && arg[0] <= '9') {
		*count = strtoul(arg, &end, 10);
		if (!errno && !*end && *count)
			return 0;
	}
	return parse_error("argument \"%s\" for \"count\" is wrong: expected a number of events from 1",
			   arg);
}

int cmd_monitor(int argc, char **argv)
{
	bool has_count = false, has_timeout = false;
	unsigned long count = 0;
	uint32_t secs = 0;
	struct sigaction sa;
	sigset_t block, orig;
	int i, ret;

	if (argc && is_help(argv[0])) {
		monitor_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < argc; i += 2) {
		const char *k = argv[i];

		if (strcmp(k, "count") && strcmp(k, "timeout")) {
			parse_error("unknown argument \"%s\" to \"monitor\" (try: " PROG_NAME " monitor help)",
				    k);
			return usage_fail();
		}
		if (i + 1 >= argc) {
			parse_error("\"%s\" needs a value (try: " PROG_NAME " monitor help)",
				    k);
			return usage_fail();
		}
		if (k[0] == 'c') {
			if (has_count) {
				parse_error("argument \"count\" is given twice (try: " PROG_NAME " monitor help)");
				return usage_fail();
			}
			if (parse_count(argv[i + 1], &count))
				return usage_fail();
			has_count = true;
		} else {
			if (has_timeout) {
				parse_error("argument \"timeout\" is given twice (try: " PROG_NAME " monitor help)");
				return usage_fail();
			}
			/* "unlimited" (0) is no time limit */
			if (parse_timeout(k, argv[i + 1], &secs))
				return usage_fail();
			has_timeout = true;
		}
	}
	ret = lemon_nl_open();
	if (ret)
		return ret;

	/* SIGINT and SIGTERM end the wait; they are let in only by ppoll */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	ret = lemon_nl_monitor(print_event, NULL, count, (long)secs * 1000L,
			       &stop, &orig);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}
