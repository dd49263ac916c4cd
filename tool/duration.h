/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LEMONCTL_DURATION_H
#define LEMONCTL_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest formatted duration: "49710d6h28m15s" plus NUL, with room. */
#define DURATION_BUFSZ 32

/*
 * Parse "unlimited" (0), plain seconds ("7440") or units largest first,
 * each at most once ("2h4m", "1d2h", "90s"). Zero is refused: it would
 * silently mean unlimited. On error returns -1 and sets *why.
 */
int duration_parse(const char *s, uint32_t *secs, const char **why);

/* 0 -> "unlimited", 7440 -> "2h4m", 90 -> "1m30s". Returns buf. */
const char *duration_format(uint32_t secs, char *buf, size_t len);

#endif
