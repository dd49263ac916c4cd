// SPDX-License-Identifier: GPL-2.0
/*
 * lemonctl: configure nf_lemonade, which keeps conntrack from expiring
 * idle IMAP, Submission and ACAP flows early (RFC 5383, RFC 5382 REQ-5).
 */
#include <errno.h>
#include <stdlib.h>
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
		"OPTIONS := { -j | --json | -p | --pretty | -t | --timestamp |\n"
		"             -n NETNS | --netns NETNS | -b FILE | --batch FILE |\n"
		"             -V | --version | -h | --help }\n"
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
		"                                      events as they happen (-t: with\n"
		"                                      timestamps)\n"
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

/* What the command line asked for besides the object. */
struct cmdline {
	bool version, help;
};

static const struct longopt {
	const char *name;
	char opt;		/* the short option it stands for */
	bool arg;
} longopts[] = {
	{ "json",	'j', false },
	{ "pretty",	'p', false },
	{ "timestamp",	't', false },
	{ "netns",	'n', true },
	{ "batch",	'b', true },
	{ "version",	'V', false },
	{ "help",	'h', false },
};

/* One option; name is the option as typed ("-n", "--netns"). */
static int set_option(char opt, const char *name, const char *val,
		      struct cmdline *cl)
{
	switch (opt) {
	case 'j':
		opts.json = true;
		break;
	case 'p':
		opts.pretty = true;
		break;
	case 't':
		opts.timestamp = true;
		break;
	case 'n':
		if (!valid_netns_name(val))
			return parse_error("argument \"%s\" for \"%s\" is wrong: expected a name from /run/netns (see: ip netns list)",
					   val, name);
		opts.netns = val;
		break;
	case 'b':
		opts.batch = val;
		break;
	case 'V':
		cl->version = true;
		break;
	case 'h':
		cl->help = true;
		break;
	}
	return 0;
}

/*
 * The options in argv[*i] (and its value in the next word), as iproute2
 * spells them: clusters of short options ("-jp"), "-nNAME" or "-n NAME",
 * long options matched exactly, "--netns=NAME" or "--netns NAME".
 */
static int parse_option(int argc, char **argv, int *i, struct cmdline *cl)
{
	const char *w = argv[*i];
	char name[3] = "-?", lname[16];
	const char *p;

	if (w[1] == '-') {
		const char *eq = strchr(w, '=');
		size_t len = eq ? (size_t)(eq - w - 2) : strlen(w + 2);
		size_t k;

		for (k = 0; k < sizeof(longopts) / sizeof(longopts[0]); k++)
			if (strlen(longopts[k].name) == len &&
			    !strncmp(w + 2, longopts[k].name, len))
				break;
		if (k == sizeof(longopts) / sizeof(longopts[0]))
			return parse_error("unknown option \"%.*s\" (try: " PROG_NAME " help)",
					   (int)(len + 2), w);
		if (!longopts[k].arg) {
			if (eq)
				return parse_error("option \"--%s\" takes no argument (try: " PROG_NAME " help)",
						   longopts[k].name);
			return set_option(longopts[k].opt, NULL, NULL, cl);
		}
		snprintf(lname, sizeof(lname), "--%s", longopts[k].name);
		if (eq)
			return set_option(longopts[k].opt, lname, eq + 1, cl);
		if (*i + 1 >= argc)
			return parse_error("option \"%s\" needs an argument (try: " PROG_NAME " help)",
					   lname);
		(*i)++;
		return set_option(longopts[k].opt, lname, argv[*i], cl);
	}
	for (p = w + 1; *p; p++) {
		name[1] = *p;
		if (!strchr("jptnbVh", *p))
			return parse_error("unknown option \"-%c\" (try: " PROG_NAME " help)",
					   *p);
		if (*p != 'n' && *p != 'b') {
			set_option(*p, name, NULL, cl);
			continue;
		}
		if (p[1])
			return set_option(*p, name, p + 1, cl);
		if (*i + 1 >= argc)
			return parse_error("option \"%s\" needs an argument (try: " PROG_NAME " help)",
					   name);
		(*i)++;
		return set_option(*p, name, argv[*i], cl);
	}
	return 0;
}

/* A word that is a value, not an option: "-1" after "count" is a bad
 * count, for the command to say so. */
static bool is_negative_number(const char *w)
{
	return w[0] == '-' && w[1] >= '0' && w[1] <= '9';
}

int main(int argc, char **argv)
{
	struct cmdline cl = { 0 };
	const struct object *obj = NULL;
	char **args;
	int nargs = 0, i, ret;
	size_t k;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		lemon_err("out of memory");
		return EXIT_FAIL;
	}
	/*
	 * Options come before the object, and may also follow the command
	 * ("lemonctl show -j"). After the object, "-h" and "--help" are the
	 * command's (its help), and a negative number is a value.
	 */
	for (i = 1; i < argc; i++) {
		const char *w = argv[i];

		if (w[0] != '-' || !w[1] ||
		    (nargs && (is_negative_number(w) || is_help(w)))) {
			args[nargs++] = argv[i];
			continue;
		}
		if (parse_option(argc, argv, &i, &cl)) {
			free(args);
			return usage_fail();
		}
		/* "-h" in a cluster ("-jh") anywhere, or alone before the
		 * object: the usage (alone after it, the command's help) */
		if (cl.help) {
			usage(stdout);
			free(args);
			return EXIT_OK;
		}
	}
	print_set_mode(opts.json, opts.pretty);

	if (cl.version) {
		ret = print_version();
		goto out;
	}
	if (opts.batch) {
		if (nargs) {
			parse_error("\"-b\" takes the commands from a file; \"%s\" is one too many (try: " PROG_NAME " help)",
				    args[0]);
			free(args);
			return usage_fail();
		}
		ret = batch_run(opts.batch);
		goto out;
	}
	if (!nargs) {
		ret = cmd_show(0, args);
		goto out;
	}
	for (k = 0; k < NOBJECTS; k++)
		if (!strcmp(args[0], objects[k].name))
			obj = &objects[k];
	if (!obj) {
		parse_error("unknown object \"%s\" (try: " PROG_NAME " help)",
			    args[0]);
		free(args);
		return usage_fail();
	}
	ret = obj->run(nargs - 1, args + 1);
out:
	free(args);
	if (print_finish() && !ret) {
		lemon_err("cannot write the output");
		ret = EXIT_FAIL;
	}
	lemon_nl_close();
	return ret;
}
