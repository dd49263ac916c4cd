// SPDX-License-Identifier: GPL-2.0
/*
 * lemonctl: configure nf_lemonade, which keeps conntrack from expiring
 * idle IMAP, Submission and ACAP flows early (RFC 5383, RFC 5382 REQ-5).
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "lemonctl.h"
#include "nl.h"
#include "print.h"

static int cmd_help(int argc, char **argv);

static const struct object {
	const char *name;
	int (*run)(int argc, char **argv);
	void (*usage)(FILE *f);
} objects[] = {
	{ "show",	cmd_show,	NULL },
	{ "set",	cmd_set,	set_usage },
	{ "config",	cmd_config,	NULL },
	{ "port",	cmd_port,	port_usage },
	{ "stats",	cmd_stats,	stats_usage },
	{ "flows",	cmd_flows,	flows_usage },
	{ "monitor",	cmd_monitor,	monitor_usage },
	{ "save",	cmd_save,	save_usage },
	{ "help",	cmd_help,	usage },
};

#define NOBJECTS (sizeof(objects) / sizeof(objects[0]))

void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"       " PROG_NAME " [ OPTIONS ] -b FILE\n"
		"OBJECT := { show | set | config | port | stats | flows | monitor | save |\n"
		"           help }\n"
		"OPTIONS := { -j | --json | -p | --pretty | -n NETNS | --netns NETNS |\n"
		"             -b FILE | --batch FILE | -V | --version | -h | --help }\n"
		"\n"
		"  " PROG_NAME " show                       the configuration (default)\n"
		"  " PROG_NAME " set SETTING...             change global settings (timeout,\n"
		"                                      enable, pressure, icmp, guard)\n"
		"  " PROG_NAME " port [ list ]              the listed server ports\n"
		"  " PROG_NAME " port add PORT [ ARGS ]     add or replace a port\n"
		"  " PROG_NAME " port del PORT              stop tracking a port\n"
		"  " PROG_NAME " port flush                 empty the port set\n"
		"  " PROG_NAME " stats [ reset ]            the counters\n"
		"  " PROG_NAME " flows [ port PORT ]        the covered flows\n"
		"  " PROG_NAME " monitor [ count N ] [ timeout DURATION ]\n"
		"                                      events as they happen\n"
		"  " PROG_NAME " save > FILE                commands for -b FILE\n"
		"  " PROG_NAME " OBJECT help                more about an object\n"
		"\n"
		"Exit status: 0 success, 1 refused or nf_lemonade not loaded, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	size_t i;

	if (argc) {
		for (i = 0; i < NOBJECTS; i++) {
			if (!strcmp(argv[0], objects[i].name)) {
				if (objects[i].usage)
					objects[i].usage(stdout);
				else
					objects[i].run(1, (char *[]){ "help", NULL });
				return EXIT_OK;
			}
		}
		parse_error("unknown object \"%s\" (try: " PROG_NAME " help)",
			    argv[0]);
		return usage_fail();
	}
	usage(stdout);
	return EXIT_OK;
}

static int print_version(void)
{
	struct lemon_config cfg;
	int err;

	printf(PROG_NAME " %s", LEMONADE_VERSION);
	fflush(stdout);
	err = lemon_nl_open_quiet();
	if (err == -EINVAL) {
		putchar('\n');
		return EXIT_FAIL;	/* netns error, already printed */
	}
	if (err == -ENOENT) {
		printf(" module not loaded\n");
		return EXIT_OK;
	}
	if (err || config_get(&cfg)) {
		printf(" module unknown\n");
		return EXIT_OK;
	}
	printf(" module %s\n", cfg.has_version ? cfg.version : "unknown");
	config_free(&cfg);
	return EXIT_OK;
}

static bool valid_netns_name(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "pretty",	no_argument,		NULL, 'p' },
		{ "netns",	required_argument,	NULL, 'n' },
		{ "batch",	required_argument,	NULL, 'b' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool version = false;
	const struct object *obj = NULL;
	int ret, c;
	size_t i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jpn:b:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts.json = true;
			break;
		case 'p':
			opts.pretty = true;
			break;
		case 'n':
			if (!valid_netns_name(optarg)) {
				parse_error("argument \"%s\" for \"-n\" is wrong: expected a name from /run/netns (see: ip netns list)",
					    optarg);
				return usage_fail();
			}
			opts.netns = optarg;
			break;
		case 'b':
			opts.batch = optarg;
			break;
		case 'V':
			version = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			parse_error("option \"%s\" needs an argument (try: " PROG_NAME " help)",
				    argv[optind - 1]);
			return usage_fail();
		default:
			if (optopt)
				parse_error("unknown option \"-%c\" (try: " PROG_NAME " help)",
					    optopt);
			else
				parse_error("unknown option \"%s\" (try: " PROG_NAME " help)",
					    argv[optind - 1]);
			return usage_fail();
		}
	}
	print_set_mode(opts.json, opts.pretty);

	if (version) {
		ret = print_version();
		goto out;
	}
	if (opts.batch) {
		if (optind < argc) {
			parse_error("\"-b\" takes the commands from a file; \"%s\" is one too many (try: " PROG_NAME " help)",
				    argv[optind]);
			return usage_fail();
		}
		ret = batch_run(opts.batch);
		goto out;
	}
	if (optind == argc) {
		ret = cmd_show(0, argv + optind);
		goto out;
	}
	for (i = 0; i < NOBJECTS; i++)
		if (!strcmp(argv[optind], objects[i].name))
			obj = &objects[i];
	if (!obj) {
		parse_error("unknown object \"%s\" (try: " PROG_NAME " help)",
			    argv[optind]);
		return usage_fail();
	}
	ret = obj->run(argc - optind - 1, argv + optind + 1);
out:
	if (print_finish() && !ret) {
		lemon_err("cannot write the output");
		ret = EXIT_FAIL;
	}
	lemon_nl_close();
	return ret;
}
