// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>

#include "duration.h"
#include "print.h"

#define JSON_MAX_DEPTH 16

static bool json, pretty;
static unsigned int depth;
static bool first[JSON_MAX_DEPTH];	/* nothing emitted yet at this level */
static bool emitted;			/* a top-level JSON value was begun */

void print_set_mode(bool j, bool p)
{
	json = j;
	pretty = j && p;
}

bool is_json_context(void)
{
	return json;
}

static void indent(void)
{
	unsigned int i;

	putchar('\n');
	for (i = 0; i < depth; i++)
		fputs("    ", stdout);
}

static void json_escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				printf("\\u%04x", *p);
			else if (*p >= 0x80)
				/* not trusted to be UTF-8; keep the JSON valid */
				fputs("\\ufffd", stdout);
			else
				putchar(*p);
		}
	}
	putchar('"');
}

/* Separator, indentation and key before a value or a container. */
static void json_member(const char *key)
{
	if (depth) {
		if (!first[depth])
			putchar(',');
		first[depth] = false;
		if (pretty)
			indent();
	}
	emitted = true;
	if (key && depth) {
		json_escape(key);
		putchar(':');
		if (pretty)
			putchar(' ');
	}
}

static void json_open(const char *key, char c)
{
	json_member(key);
	putchar(c);
	if (depth + 1 < JSON_MAX_DEPTH)
		depth++;
	first[depth] = true;
}

static void json_close(char c)
{
	bool empty = first[depth];

	if (depth)
		depth--;
	if (pretty && !empty)
		indent();
	putchar(c);
}

void open_json_object(const char *key)
{
	if (json)
		json_open(key, '{');
}

void close_json_object(void)
{
	if (json)
		json_close('}');
}

void open_json_array(const char *key)
{
	if (json)
		json_open(key, '[');
}

void close_json_array(void)
{
	if (json)
		json_close(']');
}

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value)
{
	if (json && (t & PRINT_JSON)) {
		json_member(key);
		json_escape(value);
	} else if (!json && (t & PRINT_FP)) {
		printf(fmt, value);
	}
}

void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int value)
{
	if (json && (t & PRINT_JSON)) {
		json_member(key);
		printf("%u", value);
	} else if (!json && (t & PRINT_FP)) {
		printf(fmt, value);
	}
}

void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t value)
{
	if (json && (t & PRINT_JSON)) {
		json_member(key);
		printf("%" PRIu64, value);
	} else if (!json && (t & PRINT_FP)) {
		printf(fmt, value);
	}
}

void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value)
{
	if (json && (t & PRINT_JSON)) {
		json_member(key);
		fputs(value ? "true" : "false", stdout);
	} else if (!json && (t & PRINT_FP)) {
		printf(fmt, value ? "true" : "false");
	}
}

void print_on_off(enum output_type t, const char *key, const char *fmt,
		  bool value)
{
	if (json)
		print_bool(t, key, fmt, value);
	else if (t & PRINT_FP)
		printf(fmt, value ? "on" : "off");
}

void print_duration(enum output_type t, const char *key, const char *fmt,
		    uint32_t secs)
{
	char buf[DURATION_BUFSZ];

	if (json && (t & PRINT_JSON)) {
		/* one type per key: seconds (0 when unlimited), and a flag */
		print_uint(PRINT_JSON, key, NULL, secs);
		print_bool(PRINT_JSON, "unlimited", NULL, !secs);
	} else if (!json && (t & PRINT_FP)) {
		printf(fmt, duration_format(secs, buf, sizeof(buf)));
	}
}

void print_nl(void)
{
	if (!json)
		putchar('\n');
}

int print_finish(void)
{
	if (json && emitted)
		putchar('\n');
	emitted = false;
	return fflush(stdout) ? -1 : 0;
}
