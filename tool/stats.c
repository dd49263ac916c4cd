// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <string.h>

#include "lemonctl.h"
#include "nl.h"
#include "print.h"
#include "spec-gen.h"

/* every counter of the spec's "stats", named as its attribute */
static const struct {
	int attr;
	const char *name;
} counters[] = LEMONADE_GEN_STAT_NAMES;

#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

_Static_assert(NCOUNTERS == LEMONADE_STAT_A_MAX - LEMONADE_STAT_A_FIRST + 1,
	       "every counter of enum lemonade_stat_attr needs a name");

struct stats {
	bool has[NCOUNTERS];
	uint64_t val[NCOUNTERS];
};

void stats_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " stats [ show ]\n"
		"       " PROG_NAME " stats reset\n");
}

static int parse_stats(struct nlattr **tb, void *arg)
{
	struct nlattr *stb[LEMONADE_STAT_A_MAX + 1];
	struct stats *st = arg;
	size_t i;

	if (!tb[LEMONADE_A_STATS] ||
	    nla_parse_nested(stb, LEMONADE_STAT_A_MAX, tb[LEMONADE_A_STATS],
			     (struct nla_policy *)lemonade_stat_policy) < 0) {
		lemon_err("malformed counters in the reply of nf_lemonade");
		return -1;
	}
	for (i = 0; i < NCOUNTERS; i++) {
		if (!stb[counters[i].attr])
			continue;
		st->val[i] = nla_get_u64(stb[counters[i].attr]);
		st->has[i] = true;
	}
	return 0;
}

static int stats_show(void)
{
	struct stats st = { 0 };
	struct nl_msg *msg;
	size_t i;
	int ret;

	ret = lemon_nl_open();
	if (ret)
		return ret;
	/* counters move with traffic: not for everyone */
	lemon_nl_perm_hint("reading counters");
	msg = lemon_nl_request(LEMONADE_CMD_GET_STATS);
	if (!msg)
		return EXIT_FAIL;
	ret = lemon_nl_transact(msg, parse_stats, &st, NULL, NULL);
	if (ret)
		return ret;
	open_json_object(NULL);
	for (i = 0; i < NCOUNTERS; i++) {
		char fmt[64];

		if (!st.has[i])
			continue;
		snprintf(fmt, sizeof(fmt), "%s %%" PRIu64 "\n",
			 counters[i].name);
		print_u64(PRINT_ANY, counters[i].name, fmt, st.val[i]);
	}
	close_json_object();
	return EXIT_OK;
}

static int stats_reset(void)
{
	struct nl_msg *msg;
	int ret;

	ret = lemon_nl_open_change();
	if (ret)
		return ret;
	msg = lemon_nl_request(LEMONADE_CMD_RESET_STATS);
	if (!msg)
		return EXIT_FAIL;
	return lemon_nl_transact(msg, NULL, NULL, NULL, NULL);
}

int cmd_stats(int argc, char **argv)
{
	const char *c = argc ? argv[0] : "show";

	if (is_help(c)) {
		stats_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(c, "show") && strcmp(c, "reset")) {
		parse_error("unknown command \"%s\" for \"stats\" (try: " PROG_NAME " stats help)",
			    c);
		return usage_fail();
	}
	if (argc > 1) {
		parse_error("unknown argument \"%s\" to \"stats %s\" (try: " PROG_NAME " stats help)",
			    argv[1], c);
		return usage_fail();
	}
	return c[0] == 's' ? stats_show() : stats_reset();
}
