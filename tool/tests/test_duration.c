// SPDX-License-Identifier: GPL-2.0
/* Unit tests for duration parsing/formatting and the batch line parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/lemonade.h>

#include "duration.h"
#include "lemonctl.h"

static int failures, checks;

#define CHECK(cond, ...)						\
	do {								\
		checks++;						\
		if (!(cond)) {						\
			failures++;					\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

static void parse_ok(const char *s, uint32_t want)
{
	const char *why = NULL;
	uint32_t got = 12345;
	int r = duration_parse(s, &got, &why);

	CHECK(!r && got == want, "duration_parse(\"%s\") = %d/%u (%s), want %u",
	      s, r, got, why ? why : "", want);
}

static void parse_bad(const char *s, const char *why_part)
{
	const char *why = NULL;
	uint32_t got = 12345;
	int r = duration_parse(s, &got, &why);

	CHECK(r == -1 && got == 12345 && why && strstr(why, why_part),
	      "duration_parse(\"%s\") = %d/%u (%s), want error with \"%s\"",
	      s, r, got, why ? why : "(null)", why_part);
}

static void format_is(uint32_t secs, const char *want)
{
	char buf[DURATION_BUFSZ];

	duration_format(secs, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "duration_format(%u) = \"%s\", want \"%s\"",
	      secs, buf, want);
}

static void test_duration(void)
{
	char buf[DURATION_BUFSZ], small[4];
	uint64_t x;

	parse_ok("7440", 7440);
	parse_ok("2h4m", 7440);
	parse_ok("124m", 7440);
	parse_ok("1d2h", 93600);
	parse_ok("90s", 90);
	parse_ok("1d1s", 86401);
	parse_ok("0h5m", 300);
	parse_ok("00090", 90);
	parse_ok("unlimited", 0);
	parse_ok("4294967295", 4294967295u);
	parse_ok("49710d6h28m15s", 4294967295u);
	parse_ok("1d2h3m4s", 93784);

	parse_bad("", "empty");
	parse_bad(NULL, "empty");
	parse_bad("0", "zero");
	parse_bad("0s", "zero");
	parse_bad("0d0h", "zero");
	parse_bad("4294967296", "too long");
	parse_bad("49710d6h28m16s", "too long");
	parse_bad("49711d", "too long");
	parse_bad("99999999999999999999999", "too long");
	parse_bad("2x", "unknown unit");
	parse_bad("2H", "unknown unit");
	parse_bad("1.5h", "unknown unit");
	parse_bad("h", "not a duration");
	parse_bad("2hh", "not a duration");
	parse_bad("2h30", "needs a unit");
	parse_bad("4m2h", "largest first");
	parse_bad("2h2h", "largest first");
	parse_bad("-5", "not a duration");
	parse_bad("+5", "not a duration");
	parse_bad(" 5", "not a duration");
	parse_bad("5 ", "unknown unit");
	parse_bad("unlimitedx", "not a duration");
	parse_bad("Unlimited", "not a duration");

	format_is(0, "unlimited");
	format_is(1, "1s");
	format_is(90, "1m30s");
	format_is(3601, "1h1s");
	format_is(7440, "2h4m");
	format_is(86400, "1d");
	format_is(93600, "1d2h");
	format_is(4294967295u, "49710d6h28m15s");

	/* truncation never overruns and stays terminated */
	duration_format(93784, small, sizeof(small));
	CHECK(strlen(small) < sizeof(small), "truncated format overran");

	/* format and parse are inverse over a spread of values */
	for (x = 1; x <= UINT32_MAX; x = x * 3 + 7) {
		uint32_t back = 0;
		const char *why;

		duration_format((uint32_t)x, buf, sizeof(buf));
		CHECK(!duration_parse(buf, &back, &why) && back == x,
		      "round trip %llu -> \"%s\" -> %u",
		      (unsigned long long)x, buf, back);
	}
}

/* Runs the batch parser on a copy of s. */
static int parse_line(const char *s, struct batch_cmd *cmd)
{
	char *copy = strdup(s);
	int r;

	if (!copy)
		abort();
	r = batch_parse_line(copy, cmd);
	free(copy);
	return r;
}

static void line_bad(const char *s, const char *msg_part)
{
	struct batch_cmd cmd;
	int r = parse_line(s, &cmd);

	CHECK(r == -1 && strstr(parse_error_msg(), msg_part),
	      "batch \"%s\" = %d (%s), want error with \"%s\"", s, r,
	      r < 0 ? parse_error_msg() : "", msg_part);
}

static void line_empty(const char *s)
{
	struct batch_cmd cmd;
	int r = parse_line(s, &cmd);

	CHECK(r == 0, "batch \"%s\" = %d, want blank", s, r);
}

static void test_batch(void)
{
	struct batch_cmd c;

	line_empty("");
	line_empty("   \t \n");
	line_empty("# a comment");
	line_empty("   # indented comment");

	CHECK(parse_line("set timeout 3h enable on", &c) == 1 &&
	      c.kind == BATCH_SET && c.set.has_timeout &&
	      c.set.timeout == 10800 && c.set.has_enabled && c.set.enabled &&
	      !c.set.has_high && !c.set.has_low && !c.set.force,
	      "set timeout 3h enable on");
	CHECK(parse_line("set enable off timeout 7440 pressure high 90 low 80\n",
			 &c) == 1 &&
	      c.kind == BATCH_SET && !c.set.enabled && c.set.timeout == 7440 &&
	      c.set.has_high && c.set.high == 90 && c.set.has_low &&
	      c.set.low == 80, "full set line");
	CHECK(parse_line("set pressure low 70% high 95%", &c) == 1 &&
	      c.set.high == 95 && c.set.low == 70, "pressure low then high");
	CHECK(parse_line("set pressure high 85", &c) == 1 &&
	      c.set.has_high && !c.set.has_low, "pressure high alone");
	CHECK(parse_line("set timeout 600 force", &c) == 1 &&
	      c.set.timeout == 600 && c.set.force, "forced set");
	CHECK(parse_line("set timeout unlimited", &c) == 1 &&
	      c.set.has_timeout && c.set.timeout == 0, "unlimited");
	CHECK(parse_line("config set enable on", &c) == 1 &&
	      c.kind == BATCH_SET && c.set.enabled, "config set");
	CHECK(parse_line("port add 143 proto imap", &c) == 1 &&
	      c.kind == BATCH_PORT_ADD && c.port.p.port == 143 &&
	      c.port.p.has_proto && c.port.p.proto == LEMONADE_PROTO_IMAP &&
	      !c.port.p.has_timeout && !c.port.force, "port add proto");
	CHECK(parse_line("\tport  add\t587   ", &c) == 1 &&
	      c.kind == BATCH_PORT_ADD && c.port.p.port == 587 &&
	      !c.port.p.has_proto, "port add, odd spacing");
	CHECK(parse_line("port add 993 timeout unlimited proto none force # x",
			 &c) == 1 &&
	      c.port.p.port == 993 && c.port.p.has_timeout &&
	      c.port.p.timeout == 0 && c.port.p.proto == LEMONADE_PROTO_NONE &&
	      c.port.force, "port add, all arguments and a trailing comment");
	CHECK(parse_line("port add 674 proto acap timeout 1d", &c) == 1 &&
	      c.port.p.proto == LEMONADE_PROTO_ACAP &&
	      c.port.p.timeout == 86400, "acap");
	CHECK(parse_line("port del 143", &c) == 1 &&
	      c.kind == BATCH_PORT_DEL && c.port.p.port == 143, "port del");
	CHECK(parse_line("port delete 65535", &c) == 1 &&
	      c.kind == BATCH_PORT_DEL && c.port.p.port == 65535,
	      "port delete");
	CHECK(parse_line("port flush", &c) == 1 && c.kind == BATCH_PORT_FLUSH,
	      "port flush");

	line_bad("show", "cannot be used in a batch file");
	line_bad("stats reset", "cannot be used in a batch file");
	line_bad("port list", "cannot be used in a batch file");
	line_bad("port", "cannot be used in a batch file");
	line_bad("help", "cannot be used in a batch file");
	line_bad("frob", "unknown command \"frob\"");
	line_bad("port frob 1", "unknown command \"frob\" for \"port\"");
	line_bad("config frob", "unknown command \"frob\" for \"config\"");
	line_bad("config show", "cannot be used in a batch file");
	line_bad("-j show", "unknown command \"-j\"");
	line_bad("set", "needs at least one of");
	line_bad("set force", "needs at least one of");
	line_bad("set timeout", "\"timeout\" needs a value");
	line_bad("set timeout 2x", "argument \"2x\" for \"timeout\" is wrong");
	line_bad("set timeout 0", "zero");
	line_bad("set timeout 1h timeout 2h", "given twice");
	line_bad("set force timeout 3h force", "given twice");
	line_bad("set enable yes", "expected \"on\" or \"off\"");
	line_bad("set enable", "\"enable\" needs a value");
	line_bad("set pressure", "\"pressure\" needs");
	line_bad("set pressure high", "needs a percentage");
	line_bad("set pressure high 101", "percentage from 1 to 100");
	line_bad("set pressure high -1", "percentage from 1 to 100");
	line_bad("set pressure low 0", "percentage from 1 to 100");
	line_bad("set pressure low 0%", "percentage from 1 to 100");
	line_bad("set pressure low 5%%", "percentage from 1 to 100");
	CHECK(parse_line("set pressure high 100% low 1", &c) == 1 &&
	      c.set.high == 100 && c.set.low == 1, "pressure bounds");
	line_bad("set pressure high 95 low 95", "must be below");
	line_bad("set pressure high 90 high 91", "given twice");
	line_bad("set frob", "unknown argument \"frob\" to \"set\"");
	line_bad("port add", "needs a port number");
	line_bad("port add 0", "from 1 to 65535");
	line_bad("port add 65536", "from 1 to 65535");
	line_bad("port add 0x8f", "from 1 to 65535");
	line_bad("port add imap", "from 1 to 65535");
	line_bad("port add 143 proto pop3", "expected imap, smtp, acap or none");
	line_bad("port add 143 proto", "\"proto\" needs a value");
	line_bad("port add 143 proto imap proto smtp", "given twice");
	line_bad("port add 143 timeout 1h timeout 2h", "given twice");
	line_bad("port add 143 frob", "unknown argument \"frob\" to \"port add\"");
	line_bad("port del", "needs a port number");
	line_bad("port del 143 proto imap", "unknown argument \"proto\"");
	line_bad("port flush now", "unknown argument \"now\"");
	{
		char many[64 * 3 + 16] = "set";
		int i;

		for (i = 0; i < 64; i++)
			strcat(many, " on");
		line_bad(many, "too many words");
	}
}

int main(void)
{
	test_duration();
	test_batch();
	printf("%s: %d checks, %d failures\n", failures ? "FAIL" : "PASS",
	       checks, failures);
	return failures ? 1 : 0;
}
