// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <linux/lemonade.h>

#include "duration.h"
#include "lemonctl.h"
#include "spec-gen.h"

struct lemon_opts opts;

static char errbuf[512];

int parse_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return -1;
}

const char *parse_error_msg(void)
{
	return errbuf;
}

int usage_fail(void)
{
	fprintf(stderr, "Error: %s\n", errbuf);
	return EXIT_USAGE;
}

void lemon_err(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void lemon_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("Warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") ||
	       !strcmp(arg, "--help");
}

/* Strict unsigned decimal: no sign, no spaces, no base prefixes. */
static int parse_decimal(const char *arg, unsigned long max, unsigned long *v)
{
	char *end;

	if (!arg[0] || arg[0] < '0' || arg[0] > '9')
		return -1;
	errno = 0;
	*v = strtoul(arg, &end, 10);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

int parse_port_number(const char *arg, uint16_t *port)
{
	unsigned long v;

	if (parse_decimal(arg, 65535, &v) || !v)
		return parse_error("argument \"%s\" for \"port\" is wrong: expected a TCP port number from 1 to 65535",
				   arg);
	*port = (uint16_t)v;
	return 0;
}

int parse_u32_max(const char *key, const char *arg, uint32_t max,
		  uint32_t *val)
{
	unsigned long v;

	if (parse_decimal(arg, max, &v))
		return parse_error("argument \"%s\" for \"%s\" is wrong: expected a number from 0 to %u",
				   arg, key, max);
	*val = (uint32_t)v;
	return 0;
}

int parse_percent(const char *key, const char *arg, uint8_t *pct)
{
	char tmp[8];
	size_t n = strlen(arg);
	unsigned long v;

	/* "90%" is accepted as well as "90" */
	if (n && n < sizeof(tmp) && arg[n - 1] == '%') {
		memcpy(tmp, arg, n - 1);
		tmp[n - 1] = '\0';
	} else if (n < sizeof(tmp)) {
		memcpy(tmp, arg, n + 1);
	} else {
		tmp[0] = '\0';
	}
	if (parse_decimal(tmp, 100, &v) || !v)
		return parse_error("argument \"%s\" for \"%s\" is wrong: expected a percentage from 1 to 100",
				   arg, key);
	*pct = (uint8_t)v;
	return 0;
}

int parse_on_off(const char *key, const char *arg, bool *on)
{
	if (!strcmp(arg, "on")) {
		*on = true;
	} else if (!strcmp(arg, "off")) {
		*on = false;
	} else {
		return parse_error("argument \"%s\" for \"%s\" is wrong: expected \"on\" or \"off\"",
				   arg, key);
	}
	return 0;
}

int parse_timeout(const char *key, const char *arg, uint32_t *secs)
{
	const char *why;

	if (duration_parse(arg, secs, &why))
		return parse_error("argument \"%s\" for \"%s\" is wrong: %s",
				   arg, key, why);
	return 0;
}

static const char *const proto_names[] = LEMONADE_GEN_PROTO_NAMES;

_Static_assert(sizeof(proto_names) / sizeof(proto_names[0]) ==
	       LEMONADE_PROTO_MAX + 1, "every enum lemonade_proto needs a name");

int parse_proto(const char *arg, uint8_t *proto)
{
	unsigned int i;

	for (i = 0; i <= LEMONADE_PROTO_MAX; i++) {
		if (!strcmp(arg, proto_names[i])) {
			*proto = (uint8_t)i;
			return 0;
		}
	}
	return parse_error("argument \"%s\" for \"proto\" is wrong: expected imap, smtp, acap or none",
			   arg);
}

const char *proto_name(uint8_t proto)
{
	return proto <= LEMONADE_PROTO_MAX ? proto_names[proto] : NULL;
}

bool below_rfc_floor(uint32_t secs)
{
	return secs && secs < LEMONADE_RFC5382_MIN_TIMEOUT;
}

int check_floor(uint32_t secs, bool force, int port, const char *where)
{
	char what[32] = "";

	if (!below_rfc_floor(secs) || force)
		return EXIT_OK;
	if (port > 0)
		snprintf(what, sizeof(what), " for port %d", port);
	lemon_err("%stimeout %u%s is below RFC 5382 REQ-5's minimum of %u seconds (add \"force\" to override)",
		  where ? where : "", secs, what, LEMONADE_RFC5382_MIN_TIMEOUT);
	return EXIT_FAIL;
}

void config_init(struct lemon_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

void config_free(struct lemon_config *cfg)
{
	free(cfg->ports);
	config_init(cfg);
}

struct lemon_port *config_find_port(struct lemon_config *cfg, uint16_t port)
{
	size_t i;

	for (i = 0; i < cfg->nports; i++)
		if (cfg->ports[i].port == port)
			return &cfg->ports[i];
	return NULL;
}

/* Adds or replaces the entry for p->port, keeping the set sorted. */
int config_add_port(struct lemon_config *cfg, const struct lemon_port *p)
{
	struct lemon_port *old = config_find_port(cfg, p->port);
	struct lemon_port *n;
	size_t i;

	cfg->has_ports = true;
	if (old) {
		*old = *p;
		return 0;
	}
	n = realloc(cfg->ports, (cfg->nports + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	cfg->ports = n;
	for (i = cfg->nports; i > 0 && n[i - 1].port > p->port; i--)
		n[i] = n[i - 1];
	n[i] = *p;
	cfg->nports++;
	return 0;
}

void config_del_port(struct lemon_config *cfg, struct lemon_port *p)
{
	size_t i = (size_t)(p - cfg->ports);

	memmove(&cfg->ports[i], &cfg->ports[i + 1],
		(cfg->nports - i - 1) * sizeof(*p));
	cfg->nports--;
}

static const char *const icmp_policy_names[] = LEMONADE_GEN_ICMP_POLICY_NAMES;

_Static_assert(sizeof(icmp_policy_names) / sizeof(icmp_policy_names[0]) ==
	       LEMONADE_ICMP_POLICY_MAX + 1, "every ICMP policy needs a name");

static const char *const icmp_states_names[] = LEMONADE_GEN_ICMP_STATES_NAMES;

_Static_assert(sizeof(icmp_states_names) / sizeof(icmp_states_names[0]) ==
	       LEMONADE_ICMP_STATES_MAX + 1, "every ICMP state set needs a name");

static const char *const guard_names[] = LEMONADE_GEN_GUARD_POLICY_NAMES;

_Static_assert(sizeof(guard_names) / sizeof(guard_names[0]) ==
	       LEMONADE_GUARD_POLICY_MAX + 1, "every guard policy needs a name");

static int lookup(const char *const *names, unsigned int n, const char *arg)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!strcmp(arg, names[i]))
			return (int)i;
	return -1;
}

#define NAMES(a) (a), (unsigned int)(sizeof(a) / sizeof((a)[0]))

int parse_icmp_policy(const char *arg, uint8_t *policy)
{
	int v = lookup(NAMES(icmp_policy_names), arg);

	if (v < 0)
		return parse_error("argument \"%s\" for \"icmp\" is wrong: expected absorb, pass, states, validate, codes4 or codes6",
				   arg);
	*policy = (uint8_t)v;
	return 0;
}

const char *icmp_policy_name(uint8_t policy)
{
	return policy <= LEMONADE_ICMP_POLICY_MAX ? icmp_policy_names[policy] :
						    NULL;
}

int parse_icmp_states(const char *key, const char *arg, uint8_t *states)
{
	int v = lookup(NAMES(icmp_states_names), arg);

	if (v < 0)
		return parse_error("argument \"%s\" for \"%s\" is wrong: expected \"established\" or \"all\"",
				   arg, key);
	*states = (uint8_t)v;
	return 0;
}

const char *icmp_states_name(uint8_t states)
{
	return states <= LEMONADE_ICMP_STATES_MAX ? icmp_states_names[states] :
						    NULL;
}

int parse_guard(const char *arg, uint8_t *guard)
{
	int v = lookup(NAMES(guard_names), arg);

	if (v < 0)
		return parse_error("argument \"%s\" for \"guard\" is wrong: expected restore, reset, log, off or buffers N",
				   arg);
	*guard = (uint8_t)v;
	return 0;
}

bool is_guard_name(const char *arg)
{
	return lookup(NAMES(guard_names), arg) >= 0;
}

const char *guard_name(uint8_t guard)
{
	return guard <= LEMONADE_GUARD_POLICY_MAX ? guard_names[guard] : NULL;
}

int parse_codes(const char *key, const char *arg, unsigned int max,
		uint32_t *mask)
{
	const char *p = arg;
	uint32_t m = 0;

	if (!strcmp(arg, "none")) {
		*mask = 0;
		return 0;
	}
	for (;;) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		lo = strtoul(p, &end, 10);
		hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
			p = end;
		}
		if (lo > hi || hi > max)
			goto bad;
		for (; lo <= hi; lo++)
			m |= 1u << lo;
		if (!*p)
			break;
		if (*p++ != ',')
			goto bad;
	}
	*mask = m;
	return 0;
bad:
	return parse_error("argument \"%s\" for \"%s\" is wrong: expected codes from 0 to %u, e.g. 0,1,5 or 0-3, or \"none\"",
			   arg, key, max);
}

const char *format_codes(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!mask) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (i = 0; i < 32; i++) {
		int w;

		if (!(mask & (1u << i)))
			continue;
		w = snprintf(buf + off, len - off, "%s%u", off ? "," : "", i);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}

int check_codes(const struct lemon_icmp *icmp, const char *where)
{
	if (!icmp->has_v4 || !(icmp->v4 & (1u << LEMONADE_ICMP_V4_FRAG_NEEDED)))
		return EXIT_OK;
	lemon_err("%sICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed",
		  where ? where : "");
	return EXIT_FAIL;
}

static const char *const tcp_state_names[] = {
	"none", "syn_sent", "syn_recv", "established", "fin_wait",
	"close_wait", "last_ack", "time_wait", "close", "syn_sent2",
};

const char *tcp_state_name(uint8_t state)
{
	return state < sizeof(tcp_state_names) / sizeof(tcp_state_names[0]) ?
	       tcp_state_names[state] : NULL;
}
