/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_lemonade: streaming parser of the plaintext negotiation phase of SMTP
 * submission, IMAP and ACAP (negotiation integrity guard, SPEC section 3).
 *
 * The same file is compiled into the module and into the userspace tests,
 * fuzzer and benchmark (selftests/parser/): it uses no kernel API and no
 * libc beyond the fixed-width types below. It never allocates, never
 * recurses, and writes no global data.
 *
 * Model
 * -----
 * One struct lp_state per (flow, direction). lp_init() picks the protocol
 * (LP_SMTP, LP_IMAP, LP_ACAP) and the direction (LP_SERVER: bytes the
 * server sends; LP_CLIENT: bytes the client sends). lp_feed() takes the
 * next bytes of that direction's TCP stream, in order, without gaps or
 * repeats, cut anywhere (the caller skips what it has already fed: the
 * parser's own offset is lp_offset()). Offsets in events are stream
 * offsets: 0 is the first byte of the direction (TCP sequence ISN + 1).
 * Events are reported through the callback in stream order, during the
 * lp_feed() call that consumes the byte that completes them; the events
 * of a stream never depend on how it was cut into feeds.
 *
 * Events (struct lp_event: type, off, len, and per type cmd/flags/reason)
 * ------
 * LP_EV_KEYWORD (server direction): [off, off + len) holds an advertised
 *   extension keyword, reported when its last byte is followed by its
 *   delimiter (the keyword may straddle any number of feeds):
 *   - SMTP: the first token after "250-" / "250 " of every line of a 250
 *     reply except its first line (which carries the domain). The
 *     parameters of an AUTH (or old-style AUTH=...) line, the SASL
 *     mechanism names, are keywords too, flagged LP_KW_VALUE | LP_KW_AUTH.
 *     Other parameters ("SIZE 10240000") are not.
 *   - IMAP: every atom of an untagged "* CAPABILITY" response, and of a
 *     [CAPABILITY ...] response code in an untagged OK/PREAUTH (greeting)
 *     or a tagged OK ("IMAP4rev1", "STARTTLS", "AUTH=PLAIN", ...).
 *   - ACAP: in the "* ACAP" greeting, the first atom of each top-level
 *     parenthesised list is the capability name ("IMPLEMENTATION",
 *     "SASL", "STARTTLS"); the quoted strings of the SASL list are the
 *     mechanism names and are keywords flagged LP_KW_VALUE | LP_KW_AUTH
 *     (span: the string without its quotes). Other values (the
 *     IMPLEMENTATION text, CONTEXTLIMIT numbers) are not keywords, and a
 *     name or mechanism sent as a literal is not reported.
 *   flags:
 *   LP_KW_MASKED   already masked: every byte is 'X', 'x' or '*', or the
 *                  appliance pattern of two or more 'X' then one upper-case
 *                  letter ("XXXXXXXA": Cisco PIX/ASA SMTP fixup).
 *   LP_KW_STARTTLS the keyword is STARTTLS (any case).
 *   LP_KW_AUTH     AUTH, AUTH=<mech> (SMTP old style, IMAP), ACAP SASL,
 *                  and every LP_KW_VALUE (a SASL mechanism).
 *   LP_KW_VALUE    a SASL mechanism name, not an extension name (the only
 *                  parameters reported); LP_KW_STARTTLS is never set on it.
 *
 * LP_EV_COMMAND_START (client direction): a command's verb is known. off is
 *   the first byte of the command line, len runs to the end of the verb
 *   (tag and verb for IMAP/ACAP, "tag SP verb"), cmd classifies the verb,
 *   tag is the IMAP/ACAP tag hash (below; 0 for SMTP). Emitted when the
 *   byte after the verb arrives, so a command whose line is not complete
 *   yet is already known. A line without a verb (an IMAP line without a
 *   space) is LP_CMD_OTHER, started at its end.
 * LP_EV_COMMAND (client direction): the same command is complete: off as
 *   above, len up to and including the line end (LF). IMAP/ACAP literals
 *   ({n} or {n+} at a line end) are part of the command: len then covers
 *   every physical line and literal of it. Every COMMAND follows exactly
 *   one COMMAND_START with the same off, cmd and tag; a COMMAND_START
 *   without its COMMAND means the line became over-long (no event then)
 *   or the parser stopped first. Empty lines are no command.
 *   cmd: LP_CMD_STARTTLS, LP_CMD_AUTH (SMTP AUTH, IMAP AUTHENTICATE and
 *   LOGIN, ACAP AUTHENTICATE), LP_CMD_EHLO, LP_CMD_HELO, LP_CMD_CAPABILITY
 *   (IMAP), LP_CMD_DATA (SMTP DATA and BDAT), LP_CMD_OTHER.
 *
 * LP_EV_TLS_ACCEPTED (server direction): the server accepted STARTTLS;
 *   [off, off + len) is the accepting reply line (its last physical line),
 *   and TLS starts at off + len. A LP_EV_DONE (LP_DONE_TLS) follows.
 *
 * LP_EV_DONE: the parser stops; off is the first byte it did not consume
 *   (len 0), reason says why:
 *   LP_DONE_TLS     server: after TLS_ACCEPTED; client: the first byte of
 *                   the line after a STARTTLS command is 0x16 (a TLS
 *                   handshake record), which is not consumed.
 *   LP_DONE_AUTH    client: after a complete LP_CMD_AUTH command; server:
 *                   after an IMAP PREAUTH greeting line, or at once when
 *                   lp_note_command() reported a client AUTH command.
 *   LP_DONE_DATA    client: after an SMTP DATA or BDAT command (message
 *                   content follows).
 *   LP_DONE_GARBAGE more than LP_MAX_GARBAGE points of garbage: one per
 *                   control byte (other than TAB, CR, LF; bytes >= 0x80
 *                   are text), malformed line (an SMTP reply line not
 *                   starting with three digits and a separator) or
 *                   over-long line. Bytes up to and including the one that
 *                   crossed the limit are consumed.
 *   LP_DONE_BUDGET  LP_BUDGET bytes of the direction were consumed.
 *   After LP_EV_DONE (or lp_stop()), lp_feed() consumes nothing, returns 0
 *   and reports no event; the caller stops inspecting the direction.
 *
 * Linking the directions (the server parser cannot see client tags)
 * ------------------------------------------------------------------
 * The caller passes every client LP_EV_COMMAND_START (or LP_EV_COMMAND; a
 * repeat is harmless) to lp_note_command() on the server state of the same
 * flow, at the time the command passes:
 * - LP_CMD_STARTTLS arms TLS detection: the server parser then reports
 *   TLS_ACCEPTED + DONE at the end of the first complete SMTP reply with
 *   code 220 after the greeting, or of the first IMAP/ACAP tagged OK whose
 *   tag equals the STARTTLS command's tag (a tagged NO/BAD with that tag
 *   disarms it: the server refused). SMTP replies to commands pipelined
 *   before STARTTLS are not 220; IMAP replies carry their own tags. The
 *   tag is compared by a 32-bit hash (FNV-1a of the tag bytes), carried in
 *   lp_event.tag: only the server can collide it, and a collision merely
 *   stops the inspection early.
 * - LP_CMD_AUTH stops the server parser (the client has made its choice;
 *   what the server says afterwards is no longer negotiation): the next
 *   lp_feed() reports LP_EV_DONE (LP_DONE_AUTH) at the current offset.
 * - Other commands are ignored.
 *
 * Limits
 * ------
 * sizeof(struct lp_state) == LP_STATE_SIZE (24 bytes), checked at build
 * time. Lines longer than LP_MAX_LINE_SMTP (1000, RFC 5321) or
 * LP_MAX_LINE_IMAP (4096; IMAP and ACAP) bytes including the line end are
 * skipped to their end without further events. Bare LF ends a line; CR
 * only delimits tokens. A literal announced at the end of an IMAP/ACAP
 * line (server or client; "{n}", "{n+}", "~{n}") is skipped unparsed.
 * Keyword matching is incremental: no byte of a keyword is kept.
 */
#ifndef _LEMONADE_PARSE_H
#define _LEMONADE_PARSE_H

#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/types.h>
#else
#include <assert.h>
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;
#endif

#define LP_BUDGET		8192	/* bytes parsed per direction */
#define LP_MAX_LINE_SMTP	1000	/* bytes per line, line end included */
#define LP_MAX_LINE_IMAP	4096	/* the same for IMAP and ACAP */
#define LP_MAX_GARBAGE		32	/* garbage points tolerated */
#define LP_STATE_SIZE		24

enum lp_proto {
	LP_SMTP,
	LP_IMAP,
	LP_ACAP,
};

enum lp_dir {
	LP_SERVER,		/* server to client */
	LP_CLIENT,		/* client to server */
};

enum lp_ev_type {
	LP_EV_KEYWORD = 1,
	LP_EV_COMMAND_START,
	LP_EV_COMMAND,
	LP_EV_TLS_ACCEPTED,
	LP_EV_DONE,
};

/* lp_event.flags of LP_EV_KEYWORD */
#define LP_KW_MASKED		0x01
#define LP_KW_STARTTLS		0x02
#define LP_KW_AUTH		0x04
#define LP_KW_VALUE		0x08

enum lp_cmd {
	LP_CMD_NONE,
	LP_CMD_OTHER,
	LP_CMD_STARTTLS,
	LP_CMD_AUTH,
	LP_CMD_EHLO,
	LP_CMD_HELO,
	LP_CMD_CAPABILITY,
	LP_CMD_DATA,
};

enum lp_done_reason {
	LP_DONE_NONE,
	LP_DONE_TLS,
	LP_DONE_AUTH,
	LP_DONE_DATA,
	LP_DONE_GARBAGE,
	LP_DONE_BUDGET,
};

struct lp_event {
	u32 off;		/* stream offset of the span's first byte */
	u32 len;		/* span length (0 for LP_EV_DONE) */
	u32 tag;		/* COMMAND*: IMAP/ACAP tag hash, SMTP 0 */
	u8 type;		/* enum lp_ev_type */
	u8 cmd;		/* COMMAND*: enum lp_cmd */
	u8 flags;		/* KEYWORD: LP_KW_* */
	u8 reason;		/* DONE: enum lp_done_reason */
};

typedef void (*lp_event_fn)(void *ctx, const struct lp_event *ev);

/*
 * Opaque to callers; the field comments are for parse.c. "Line" means a
 * physical line, "response"/"command" the logical one (with literals).
 */
struct lp_state {
	u32 off;		/* stream offset of the next byte */
	u32 tag;		/* client: tag hash of the current command;
				 * server: tag hash of the pending STARTTLS
				 */
	u32 acc;		/* tag hash being read, literal length,
				 * SMTP reply code
				 */
	u16 col;		/* bytes of the line before the next byte */
	u16 tok;		/* bytes of the current token; client after
				 * the verb: bytes of the command before
				 * this line
				 */
	u16 flags;		/* LPF_* in parse.c */
	u8 pd;		/* protocol | direction << 2 */
	u8 st;		/* line state */
	u8 match;		/* words still matching; client after the
				 * verb: enum lp_cmd; ACAP lists: depth
				 */
	u8 kwm;		/* keyword matchers still alive */
	u8 lit;		/* literal marker detector */
	u8 garbage;	/* garbage points */
};

static_assert(sizeof(struct lp_state) == LP_STATE_SIZE,
	      "struct lp_state must stay LP_STATE_SIZE bytes");

void lp_init(struct lp_state *st, enum lp_proto proto, enum lp_dir dir);

/*
 * Consume up to len bytes of the stream, reporting events to cb(ctx, ev)
 * (cb may be NULL). Returns the bytes consumed: len, or fewer when the
 * parser stopped (LP_EV_DONE or lp_stop()) within them; 0 once stopped.
 */
size_t lp_feed(struct lp_state *st, const u8 *data, size_t len,
	       lp_event_fn cb, void *ctx);

/* See "Linking the directions" above; server is the server-side state. */
void lp_note_command(struct lp_state *server, const struct lp_event *cmd);

/*
 * Stop without a LP_EV_DONE event (e.g. from the callback when the caller
 * cannot follow any more): no further event is reported, not even one the
 * current byte would complete, and lp_feed() returns after that byte.
 */
void lp_stop(struct lp_state *st);

/*
 * True once the parser has stopped (LP_EV_DONE or lp_stop()), or will stop
 * at the next lp_feed() (a client AUTH passed to lp_note_command()).
 */
bool lp_done(const struct lp_state *st);

/*
 * Stream offset of the first byte of the line being read: the keywords of
 * that line from there to lp_offset() are not reported yet.
 */
static inline u32 lp_line_start(const struct lp_state *st)
{
	return st->off - st->col;
}

/* Stream offset of the next byte lp_feed() expects. */
static inline u32 lp_offset(const struct lp_state *st)
{
	return st->off;
}

#endif /* _LEMONADE_PARSE_H */
