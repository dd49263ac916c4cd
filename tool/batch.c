// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lemonctl.h"
#include "nl.h"
#include "print.h"

#define BATCH_MAX_WORDS 64

void save_usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG_NAME " save > FILE\n"
		"Prints the configuration as commands that \"" PROG_NAME " -b FILE\" applies.\n");
}

static const char batch_cmds[] = "set, port add, port del or port flush";

int batch_parse_line(char *line, struct batch_cmd *cmd)
{
	char *argv[BATCH_MAX_WORDS];
	char *save = NULL, *w;
	int argc = 0;

	memset(cmd, 0, sizeof(*cmd));
	for (w = strtok_r(line, " \t\r\n\v\f", &save); w;
	     w = strtok_r(NULL, " \t\r\n\v\f", &save)) {
		if (w[0] == '#')
			break;
		if (argc == BATCH_MAX_WORDS)
			return parse_error("too many words (at most %d per line)",
					   BATCH_MAX_WORDS);
		argv[argc++] = w;
	}
	if (!argc)
		return 0;

	if (!strcmp(argv[0], "set") ||
	    (!strcmp(argv[0], "config") && argc > 1 && !strcmp(argv[1], "set"))) {
		int skip = argv[0][0] == 's' ? 1 : 2;

		cmd->kind = BATCH_SET;
		return config_parse_set(argc - skip, argv + skip, &cmd->set) ? -1 : 1;
	}
	if (!strcmp(argv[0], "port") && argc > 1) {
		if (!strcmp(argv[1], "add")) {
			cmd->kind = BATCH_PORT_ADD;
			return port_parse_add(argc - 2, argv + 2, &cmd->port) ? -1 : 1;
		}
		if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete")) {
			cmd->kind = BATCH_PORT_DEL;
			return port_parse_del(argc - 2, argv + 2, &cmd->port) ? -1 : 1;
		}
		if (!strcmp(argv[1], "flush")) {
			cmd->kind = BATCH_PORT_FLUSH;
			return port_parse_flush(argc - 2, argv + 2) ? -1 : 1;
		}
	}
	if ((!strcmp(argv[0], "port") || !strcmp(argv[0], "config")) &&
	    argc > 1 && strcmp(argv[1], "list") && strcmp(argv[1], "show") &&
	    !is_help(argv[1]))
		return parse_error("unknown command \"%s\" for \"%s\" (a batch line is one of: %s)",
				   argv[1], argv[0], batch_cmds);
	if (!strcmp(argv[0], "port") || !strcmp(argv[0], "config") ||
	    !strcmp(argv[0], "show") || !strcmp(argv[0], "stats") ||
	    !strcmp(argv[0], "save") || !strcmp(argv[0], "help"))
		return parse_error("\"%s%s%s\" cannot be used in a batch file (a line is one of: %s)",
				   argv[0], argc > 1 ? " " : "",
				   argc > 1 ? argv[1] : "", batch_cmds);
	return parse_error("unknown command \"%s\" (a batch line is one of: %s)",
			   argv[0], batch_cmds);
}

struct batch {
	const char *name;
	struct batch_cmd *cmds;
	size_t ncmds;
	struct lemon_config cfg;
	unsigned int line_of[LEMONADE_A_MAX + 1];	/* which line set a global */
};

static int batch_read(struct batch *b, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int ret = EXIT_OK;

	ssize_t n_read;

	while ((n_read = getline(&line, &cap, f)) >= 0) {
		struct batch_cmd cmd;
		struct batch_cmd *n;
		int r;

		lineno++;
		if (memchr(line, '\0', (size_t)n_read))
			r = parse_error("the line contains a NUL byte");
		else
			r = batch_parse_line(line, &cmd);
		if (r < 0) {
			fprintf(stderr, "Error: %s:%u: %s\n", b->name, lineno,
				parse_error_msg());
			ret = EXIT_USAGE;
			goto out;
		}
		if (!r)
			continue;
		cmd.line = lineno;
		n = realloc(b->cmds, (b->ncmds + 1) * sizeof(*n));
		if (!n) {
			lemon_err("out of memory");
			ret = EXIT_FAIL;
			goto out;
		}
		b->cmds = n;
		b->cmds[b->ncmds++] = cmd;
	}
	if (ferror(f)) {
		lemon_err("cannot read batch file \"%s\": %s", b->name,
			  strerror(errno));
		ret = EXIT_USAGE;
	}
out:
	free(line);
	return ret;
}

/* Checks every line on its own, as the direct commands do. */
static int batch_check(struct batch *b)
{
	char where[300];
	size_t i;
	int ret = EXIT_OK;

	for (i = 0; i < b->ncmds && !ret; i++) {
		const struct batch_cmd *c = &b->cmds[i];

		snprintf(where, sizeof(where), "%s:%u: ", b->name, c->line);
		if (c->kind == BATCH_SET)
			ret = config_check_set(&c->set, where);
		else if (c->kind == BATCH_PORT_ADD)
			ret = port_check_add(&c->port, where);
	}
	return ret;
}

static void fold_icmp(struct lemon_icmp *to, const struct lemon_icmp *from)
{
	if (from->has_policy) {
		to->policy = from->policy;
		to->has_policy = true;
	}
	if (from->has_states) {
		to->states = from->states;
		to->has_states = true;
	}
	if (from->has_validate) {
		to->validate = from->validate;
		to->has_validate = true;
	}
	if (from->has_v4) {
		to->v4 = from->v4;
		to->has_v4 = true;
	}
	if (from->has_v6) {
		to->v6 = from->v6;
		to->has_v6 = true;
	}
}

/* Folds every line into the configuration read from the kernel. */
static int batch_fold(struct batch *b, bool *force)
{
	struct lemon_config *cfg = &b->cfg;
	unsigned int *line_of = b->line_of;
	size_t i;

	*force = false;
	for (i = 0; i < b->ncmds; i++) {
		const struct batch_cmd *c = &b->cmds[i];
		const struct set_args *s = &c->set;
		struct lemon_port p, *old;

		switch (c->kind) {
		case BATCH_SET:
			if (s->has_enabled) {
				cfg->enabled = s->enabled;
				cfg->has_enabled = true;
				line_of[LEMONADE_A_ENABLED] = c->line;
			}
			if (s->has_timeout) {
				cfg->timeout = s->timeout;
				cfg->has_timeout = true;
				line_of[LEMONADE_A_TIMEOUT] = c->line;
			}
			if (s->has_high) {
				cfg->high = s->high;
				cfg->has_high = true;
				line_of[LEMONADE_A_HIGH_WATER] = c->line;
			}
			if (s->has_low) {
				cfg->low = s->low;
				cfg->has_low = true;
				line_of[LEMONADE_A_LOW_WATER] = c->line;
			}
			fold_icmp(&cfg->icmp, &s->icmp);
			if (s->has_guard) {
				cfg->guard = s->guard;
				cfg->has_guard = true;
			}
			if (s->has_buffers) {
				cfg->buffers = s->buffers;
				cfg->has_buffers = true;
			}
			*force |= s->force;
			break;
		case BATCH_PORT_ADD:
			p = c->port.p;
			p.line = c->line;
			if (!config_find_port(cfg, p.port) &&
			    cfg->nports >= LEMONADE_MAX_PORTS) {
				lemon_err("%s:%u: cannot add port %u: at most %d ports per network namespace",
					  b->name, c->line, p.port,
					  LEMONADE_MAX_PORTS);
				return EXIT_FAIL;
			}
			if (config_add_port(cfg, &p)) {
				lemon_err("out of memory");
				return EXIT_FAIL;
			}
			*force |= c->port.force;
			break;
		case BATCH_PORT_DEL:
			old = config_find_port(cfg, c->port.p.port);
			if (!old) {
				lemon_err("%s:%u: port %u is not listed, so it cannot be deleted (see: " PROG_NAME " port list)",
					  b->name, c->line, c->port.p.port);
				return EXIT_FAIL;
			}
			config_del_port(cfg, old);
			break;
		case BATCH_PORT_FLUSH:
			cfg->nports = 0;
			cfg->has_ports = true;
			break;
		}
	}

	if (cfg->has_high && cfg->has_low && cfg->low >= cfg->high &&
	    (line_of[LEMONADE_A_HIGH_WATER] || line_of[LEMONADE_A_LOW_WATER])) {
		unsigned int hl = line_of[LEMONADE_A_HIGH_WATER];
		unsigned int ll = line_of[LEMONADE_A_LOW_WATER];

		lemon_err("%s:%u: pressure low %u%% must be below high %u%%",
			  b->name, hl > ll ? hl : ll, cfg->low, cfg->high);
		return EXIT_FAIL;
	}

	/*
	 * The whole configuration is sent again; a floor below the RFC
	 * minimum that it already had needs no FORCE (the module keeps it),
	 * so FORCE is sent only when a line of the file says so.
	 */
	return EXIT_OK;
}

static int batch_put(struct nl_msg *msg, const struct lemon_config *cfg,
		     bool force)
{
	struct nlattr *nest;
	size_t i;

	if ((cfg->has_enabled &&
	     nla_put_u8(msg, LEMONADE_A_ENABLED, cfg->enabled ? 1 : 0) < 0) ||
	    (cfg->has_timeout &&
	     nla_put_u32(msg, LEMONADE_A_TIMEOUT, cfg->timeout) < 0) ||
	    (cfg->has_high &&
	     nla_put_u8(msg, LEMONADE_A_HIGH_WATER, cfg->high) < 0) ||
	    (cfg->has_low &&
	     nla_put_u8(msg, LEMONADE_A_LOW_WATER, cfg->low) < 0) ||
	    config_put_icmp(msg, &cfg->icmp) ||
	    (cfg->has_guard &&
	     nla_put_u8(msg, LEMONADE_A_GUARD_POLICY, cfg->guard) < 0) ||
	    (cfg->has_buffers &&
	     nla_put_u32(msg, LEMONADE_A_GUARD_BUFFERS, cfg->buffers) < 0) ||
	    /* the configuration the file was folded into, or ESTALE */
	    (cfg->has_generation &&
	     nla_put_u32(msg, LEMONADE_A_GENERATION, cfg->generation) < 0))
		return -1;
	nest = lemon_nl_nest_start(msg, LEMONADE_A_PORTS);
	if (!nest)
		return -1;
	for (i = 0; i < cfg->nports; i++)
		if (port_put(msg, &cfg->ports[i]))
			return -1;
	nla_nest_end_keep_empty(msg, nest);
	if (force && nla_put_flag(msg, LEMONADE_A_FORCE) < 0)
		return -1;
	return 0;
}

/* Names the batch line behind the port entry the kernel refused. */
static void batch_where(const struct nl_attr_path *path, void *arg,
			char *buf, size_t len)
{
	struct batch *b = arg;
	struct lemon_port *p = NULL;
	char words[64];

	lemon_nl_path_words(path, words, sizeof(words));
	if (path->port > 0)
		p = config_find_port(&b->cfg, (uint16_t)path->port);
	if (p && p->line)
		snprintf(buf, len, " (in \"%s\", %s:%u)", words, b->name,
			 p->line);
	else if (p)
		snprintf(buf, len, " (in \"%s\", kept from the current configuration)",
			 words);
	else
		snprintf(buf, len, " (in \"%s\")", words);
}

int batch_run(const char *file)
{
	struct batch b = { .name = file };
	struct nl_msg *msg = NULL;
	int attempt;
	bool force;
	FILE *f;
	int ret;

	config_init(&b.cfg);
	if (!strcmp(file, "-")) {
		f = stdin;
		b.name = "<stdin>";
	} else {
		f = fopen(file, "re");
		if (!f) {
			lemon_err("cannot open batch file \"%s\": %s", file,
				  strerror(errno));
			return EXIT_USAGE;
		}
	}
	ret = batch_read(&b, f);
	if (f != stdin)
		fclose(f);
	if (ret || !b.ncmds)
		goto out;
	ret = batch_check(&b);
	if (ret)
		goto out;
	ret = lemon_nl_open_change();
	if (ret)
		goto out;
	/*
	 * Read, fold, write back with the generation read: a change made by
	 * someone else in between is never overwritten (ESTALE); the file
	 * is folded again into the new configuration, once.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		config_free(&b.cfg);
		ret = config_get(&b.cfg);
		if (ret)
			goto out;
		ret = batch_fold(&b, &force);
		if (ret)
			goto out;
		msg = lemon_nl_request(LEMONADE_CMD_SET_CONFIG);
		if (!msg) {
			ret = EXIT_FAIL;
			goto out;
		}
		if (batch_put(msg, &b.cfg, force)) {
			nlmsg_free(msg);
			lemon_err("request too large");
			ret = EXIT_FAIL;
			goto out;
		}
		if (!attempt)
			lemon_nl_quiet_error(ESTALE);
		ret = lemon_nl_transact(msg, NULL, NULL, batch_where, &b);
		if (ret != EXIT_FAIL || lemon_nl_last_error() != ESTALE ||
		    attempt)
			break;
	}
out:
	free(b.cmds);
	config_free(&b.cfg);
	return ret;
}

static void save_timeout(uint32_t secs)
{
	if (secs)
		printf(" timeout %u", secs);
	else
		printf(" timeout unlimited");
	if (below_rfc_floor(secs))
		printf(" force");
}

static void save_icmp(const struct lemon_icmp *c)
{
	char buf[128];

	if (!c->has_policy && !c->has_states && !c->has_validate &&
	    !c->has_v4 && !c->has_v6)
		return;
	printf("set icmp");
	if (c->has_policy)
		printf(" %s", icmp_policy_name(c->policy));
	if (c->has_states)
		printf(" states %s", icmp_states_name(c->states));
	if (c->has_validate)
		printf(" validate %s", c->validate ? "on" : "off");
	if (c->has_v4)
		printf(" codes4 %s", format_codes(c->v4, buf, sizeof(buf)));
	if (c->has_v6)
		printf(" codes6 %s", format_codes(c->v6, buf, sizeof(buf)));
	printf("\n");
}

/* Values of a newer module that this lemonctl cannot write back. */
static int save_check(const struct lemon_config *cfg)
{
	const char *what = NULL;
	unsigned int v = 0;

	if (cfg->icmp.has_policy && !icmp_policy_name(cfg->icmp.policy)) {
		what = "ICMP policy";
		v = cfg->icmp.policy;
	} else if (cfg->icmp.has_states && !icmp_states_name(cfg->icmp.states)) {
		what = "ICMP states";
		v = cfg->icmp.states;
	} else if (cfg->has_guard && !guard_name(cfg->guard)) {
		what = "guard policy";
		v = cfg->guard;
	}
	if (!what)
		return EXIT_OK;
	lemon_err("the %s is %u, which lemonctl %s does not know (upgrade lemonctl)",
		  what, v, LEMONADE_VERSION);
	return EXIT_FAIL;
}

int cmd_save(int argc, char **argv)
{
	struct lemon_config cfg;
	size_t i;
	int ret;

	if (argc && is_help(argv[0])) {
		save_usage(stdout);
		return EXIT_OK;
	}
	if (argc) {
		parse_error("unknown argument \"%s\" to \"save\" (try: " PROG_NAME " save help)",
			    argv[0]);
		return usage_fail();
	}
	if (opts.json) {
		parse_error("\"save\" prints commands, not JSON (try: " PROG_NAME " -j show)");
		return usage_fail();
	}
	ret = lemon_nl_open();
	if (ret)
		return ret;
	ret = config_get(&cfg);
	if (ret)
		goto out;
	for (i = 0; i < cfg.nports; i++) {
		if (cfg.ports[i].has_proto && !proto_name(cfg.ports[i].proto)) {
			lemon_err("port %u has protocol %u, which lemonctl %s does not know (upgrade lemonctl)",
				  cfg.ports[i].port, cfg.ports[i].proto,
				  LEMONADE_VERSION);
			ret = EXIT_FAIL;
			goto out;
		}
	}

	ret = save_check(&cfg);
	if (ret)
		goto out;
	printf("port flush\n");
	if (cfg.has_enabled || cfg.has_timeout || cfg.has_high || cfg.has_low) {
		printf("set");
		if (cfg.has_enabled)
			printf(" enable %s", cfg.enabled ? "on" : "off");
		if (cfg.has_timeout)
			save_timeout(cfg.timeout);
		if (cfg.has_high || cfg.has_low)
			printf(" pressure");
		if (cfg.has_high)
			printf(" high %u", cfg.high);
		if (cfg.has_low)
			printf(" low %u", cfg.low);
		printf("\n");
	}
	save_icmp(&cfg.icmp);
	if (cfg.has_guard || cfg.has_buffers) {
		printf("set guard");
		if (cfg.has_guard)
			printf(" %s", guard_name(cfg.guard));
		if (cfg.has_buffers)
			printf(" buffers %u", cfg.buffers);
		printf("\n");
	}
	for (i = 0; i < cfg.nports; i++) {
		const struct lemon_port *p = &cfg.ports[i];

		printf("port add %u", p->port);
		if (p->has_proto)
			printf(" proto %s", proto_name(p->proto));
		if (p->has_timeout)
			save_timeout(p->timeout);
		printf("\n");
	}
out:
	config_free(&cfg);
	return ret;
}
