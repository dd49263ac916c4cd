/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LEMONCTL_PRINT_H
#define LEMONCTL_PRINT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One printing path for text and JSON, after iproute2's json_print.h:
 * every call names a JSON key and a text format, and the output mode
 * decides which is used. PRINT_FP prints only in text mode, PRINT_JSON
 * only in JSON mode, PRINT_ANY in both.
 */
enum output_type {
	PRINT_FP = 1,
	PRINT_JSON = 2,
	PRINT_ANY = PRINT_FP | PRINT_JSON,
};

void print_set_mode(bool json, bool pretty);
bool is_json_context(void);

/* Containers are JSON-only; key is NULL at top level and inside arrays. */
void open_json_object(const char *key);
void close_json_object(void);
void open_json_array(const char *key);
void close_json_array(void);

void print_string(enum output_type t, const char *key, const char *fmt,
		  const char *value);
void print_uint(enum output_type t, const char *key, const char *fmt,
		unsigned int value);
void print_u64(enum output_type t, const char *key, const char *fmt,
	       uint64_t value);
/* Text "true"/"false" via fmt's %s; JSON true/false. */
void print_bool(enum output_type t, const char *key, const char *fmt,
		bool value);
/* Text "on"/"off" via fmt's %s; JSON true/false. */
void print_on_off(enum output_type t, const char *key, const char *fmt,
		  bool value);
/* A floor. Text: fmt with the formatted duration ("unlimited" for 0);
 * JSON: key with the seconds (0 when unlimited), then the boolean key
 * "unlimited". */
void print_duration(enum output_type t, const char *key, const char *fmt,
		    uint32_t secs);
/* End of a text line; nothing in JSON mode. */
void print_nl(void);
/* Terminates the JSON document (newline) and flushes; call once. */
int print_finish(void);

#endif
