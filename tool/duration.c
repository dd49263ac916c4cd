// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

#include "duration.h"

static const struct {
	char unit;
	uint32_t secs;
} units[] = {
	{ 'd', 86400 },
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

#define NUNITS (sizeof(units) / sizeof(units[0]))

int duration_parse(const char *s, uint32_t *secs, const char **why)
{
	uint64_t total = 0;
	size_t next_unit = 0;
	const char *p = s;

	if (!s || !*s) {
		*why = "empty duration";
		return -1;
	}
	if (!strcmp(s, "unlimited")) {
		*secs = 0;
		return 0;
	}

	while (*p) {
		uint64_t n = 0;
		size_t u;

		if (*p < '0' || *p > '9') {
			*why = "not a duration (use seconds, or units d h m s largest first, e.g. 2h4m, or \"unlimited\")";
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > UINT32_MAX) {
				*why = "too long (use \"unlimited\" for no limit)";
				return -1;
			}
			p++;
		}
		if (!*p) {
			/* A bare number is seconds, but only on its own. */
			if (next_unit) {
				*why = "a number inside a duration needs a unit (d, h, m or s)";
				return -1;
			}
			total = n;
			break;
		}
		for (u = 0; u < NUNITS; u++)
			if (units[u].unit == *p)
				break;
		if (u == NUNITS) {
			*why = "unknown unit (use d, h, m or s, e.g. 2h4m)";
			return -1;
		}
		if (u < next_unit) {
			*why = "units must be given largest first and at most once each (e.g. 1d2h4m)";
			return -1;
		}
		next_unit = u + 1;
		total += n * units[u].secs;
		if (total > UINT32_MAX) {
			*why = "too long (use \"unlimited\" for no limit)";
			return -1;
		}
		p++;
	}

	if (!total) {
		*why = "a zero duration is not allowed (use \"unlimited\" for no limit)";
		return -1;
	}
	*secs = (uint32_t)total;
	return 0;
}

const char *duration_format(uint32_t secs, char *buf, size_t len)
{
	size_t off = 0;
	size_t u;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!secs) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	for (u = 0; u < NUNITS; u++) {
		uint32_t n = secs / units[u].secs;
		int w;

		if (!n)
			continue;
		secs -= n * units[u].secs;
		w = snprintf(buf + off, len - off, "%u%c", n, units[u].unit);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	return buf;
}
