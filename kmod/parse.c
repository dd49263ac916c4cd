// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: streaming parser of the SMTP/IMAP/ACAP negotiation phase.
 * The API and the events are described in parse.h.
 *
 * Two layers over one constant state (struct lp_state): a line state (st),
 * the length of the current line (col) and token (tok), and incremental
 * matchers (match for verbs and response words, kwm for the keyword
 * classes).
 *
 * The byte machine (lp_byte() and the functions before it) is the
 * definition: one byte at a time, nothing ever looks ahead, so the events
 * of a stream do not depend on how it is cut.
 *
 * The block layer (lp_run()) does the same work on runs of bytes: it finds
 * the next byte the current state has to look at eight bytes at a time
 * (lp_scan(): word-at-a-time tests on a u64, as the kernel's memchr-style
 * helpers do), takes the bytes before it in one step (a run of ignored
 * bytes: line length and offset; a token: its matchers, fed only the bytes
 * that can still change them; a tag: its hash), and hands that one byte to
 * the byte machine's handler of the state. It leaves exactly the state the
 * byte machine would have left after the same bytes, so a stream may be cut
 * anywhere: a token or tag cut by a feed boundary goes on in the next feed.
 * Bytes it does not take (control bytes in some states, the '{' that may
 * open a literal and the bytes after it, the byte that makes a line
 * over-long, a client's first byte after STARTTLS, and every byte once the
 * garbage has passed its limit) go to lp_byte(). A literal's content is
 * skipped in one step.
 */
#include "parse.h"

/* lp_state.flags */
#define LPF_DONE	0x0001	/* stopped: consume nothing */
#define LPF_STOP_AUTH	0x0002	/* report DONE(AUTH) at the next feed */
#define LPF_INLIT	0x0004	/* skipping acc bytes of literal */
#define LPF_TLS		0x0008	/* server: STARTTLS pending (tag in ->tag);
				 * client: the last command was STARTTLS
				 */
#define LPF_GREETED	0x0010	/* SMTP server: a reply was completed */
#define LPF_MULTI	0x0020	/* SMTP server: inside a multi-line reply */
#define LPF_LAST	0x0040	/* SMTP server: this line ends its reply */
#define LPF_LINEOK	0x0080	/* SMTP server: reply code and separator */
#define LPF_VALUES	0x0100	/* the next tokens are SASL mechanisms */
#define LPF_TAGMATCH	0x0200	/* server: tag is the pending STARTTLS's */
#define LPF_ACCEPT	0x0400	/* server: accept TLS at the end of line */
#define LPF_PREAUTH	0x0800	/* IMAP server: stop at the end of line */
#define LPF_CMD		0x1000	/* client: COMMAND_START was reported */
#define LPF_TAGGED	0x2000	/* server: a tagged response */

/* Cleared at the end of each response or command. */
#define LPF_LINE	(LPF_LAST | LPF_LINEOK | LPF_VALUES | LPF_TAGMATCH | \
			 LPF_ACCEPT | LPF_PREAUTH | LPF_CMD | LPF_TAGGED)

/* lp_state.st */
enum {
	S_BOL,		/* nothing of the line yet (but CRs) */
	S_SKIP,		/* ignore the rest of the line */
	S_LONG,		/* over-long: ignore it, no events */
	S_CODE,		/* SMTP server: reply code digits */
	S_SEP,		/* SMTP server: '-', ' ' or the line end */
	S_KW,		/* SMTP server: the EHLO keyword */
	S_VALS,		/* SMTP server: AUTH parameters */
	S_STAR,		/* IMAP/ACAP server: after '*' */
	S_TAG,		/* IMAP/ACAP: the tag (hash in acc) */
	S_WORD,		/* IMAP/ACAP server: response word */
	S_RESP,		/* IMAP server: after OK/PREAUTH, before '[' */
	S_CODEWORD,	/* IMAP server: response code name */
	S_CAPS,		/* IMAP server: * CAPABILITY atoms */
	S_CAPS_BR,	/* IMAP server: [CAPABILITY atoms] */
	S_ACAP,		/* ACAP greeting, outside the lists */
	S_ANAME,	/* ACAP greeting: a list's first element */
	S_AVAL,		/* ACAP greeting: the rest of a list */
	S_AQUOTE,	/* ACAP greeting: in a quoted string */
	S_AQESC,	/* ACAP greeting: after a backslash in a string */
	S_VERB,		/* client: the verb */
	S_ARGS,		/* client: the rest of the command */
};

/* lp_state.kwm: matchers of the current keyword */
#define KM_STARTTLS	0x01	/* "STARTTLS" so far */
#define KM_AUTH		0x02	/* "AUTH" or "AUTH=" so far */
#define KM_SASL		0x04	/* "SASL" so far */
#define KM_ALLMASK	0x08	/* only 'X', 'x', '*' */
#define KM_XRUN		0x10	/* only 'X' */
#define KM_XUP		0x20	/* 'X' 'X'+, then one upper-case letter */
#define KM_BRACE	0x40	/* starts with '{': a literal, not a keyword */
#define KM_INIT		(KM_STARTTLS | KM_AUTH | KM_SASL | KM_ALLMASK | KM_XRUN)

/* lp_state.lit: "{digits[+]}" then CR LF announces a literal */
enum { LIT_NONE, LIT_OPEN, LIT_NUM, LIT_PLUS, LIT_CLOSE };

#define LP_FNV_INIT	2166136261u
#define LP_FNV_PRIME	16777619u

#define LP_DEPTH_MAX	200	/* ACAP list nesting followed */

struct lp_out {
	lp_event_fn cb;
	void *ctx;
};

/* Little-endian u32 of four bytes (a word's first four letters). */
#define LP_LE32(a, b, c, d)	((u32)(a) | (u32)(b) << 8 | (u32)(c) << 16 | \
				 (u32)(d) << 24)

struct lp_word {
	const char *s;
	u8 len;
	u8 val;
	u32 lc4;	/* the first four letters in lower case, if len >= 4 */
};

/* Response words of the IMAP/ACAP server; bit i of match is entry i. */
enum { W_CAPABILITY, W_OK, W_NO, W_BAD, W_PREAUTH, W_ACAP };
static const struct lp_word lp_resp_words[] = {
	{ "CAPABILITY", 10, W_CAPABILITY, LP_LE32('c', 'a', 'p', 'a') },
	{ "OK", 2, W_OK, 0 },
	{ "NO", 2, W_NO, 0 },
	{ "BAD", 3, W_BAD, 0 },
	{ "PREAUTH", 7, W_PREAUTH, LP_LE32('p', 'r', 'e', 'a') },
	{ "ACAP", 4, W_ACAP, LP_LE32('a', 'c', 'a', 'p') },
};

#define WM(w)		(1u << (w))
#define WM_TAGGED	(WM(W_OK) | WM(W_NO) | WM(W_BAD))
#define WM_IMAP_UNTAG	(WM(W_CAPABILITY) | WM(W_OK) | WM(W_PREAUTH))
#define WM_ACAP_UNTAG	WM(W_ACAP)

static const struct lp_word lp_smtp_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS, LP_LE32('s', 't', 'a', 'r') },
	{ "AUTH", 4, LP_CMD_AUTH, LP_LE32('a', 'u', 't', 'h') },
	{ "EHLO", 4, LP_CMD_EHLO, LP_LE32('e', 'h', 'l', 'o') },
	{ "HELO", 4, LP_CMD_HELO, LP_LE32('h', 'e', 'l', 'o') },
	{ "DATA", 4, LP_CMD_DATA, LP_LE32('d', 'a', 't', 'a') },
	{ "BDAT", 4, LP_CMD_DATA, LP_LE32('b', 'd', 'a', 't') },
};

static const struct lp_word lp_imap_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS, LP_LE32('s', 't', 'a', 'r') },
	{ "AUTHENTICATE", 12, LP_CMD_AUTH, LP_LE32('a', 'u', 't', 'h') },
	{ "LOGIN", 5, LP_CMD_AUTH, LP_LE32('l', 'o', 'g', 'i') },
	{ "CAPABILITY", 10, LP_CMD_CAPABILITY, LP_LE32('c', 'a', 'p', 'a') },
};

static const struct lp_word lp_acap_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS, LP_LE32('s', 't', 'a', 'r') },
	{ "AUTHENTICATE", 12, LP_CMD_AUTH, LP_LE32('a', 'u', 't', 'h') },
};

#define LP_NWORDS(t)	(sizeof(t) / sizeof((t)[0]))

static inline unsigned int lp_proto_of(const struct lp_state *s)
{
	return s->pd & 3;
}

static inline bool lp_client(const struct lp_state *s)
{
	return s->pd & 4;
}

static inline u8 lp_upper(u8 c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

static inline bool lp_digit(u8 c)
{
	return c >= '0' && c <= '9';
}

/* Token delimiters common to every state. */
static inline bool lp_sep(u8 c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Garbage: control bytes other than TAB, CR and LF. */
static inline bool lp_ctl(u8 c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* Report an event, unless the parser has stopped (even from a callback). */
static __always_inline void lp_emit(const struct lp_state *s,
				    const struct lp_out *o, u8 type, u32 off,
				    u32 len, u8 cmd, u8 flags, u8 reason,
				    u32 tag)
{
	struct lp_event ev = {
		.off = off, .len = len, .tag = tag, .type = type, .cmd = cmd,
		.flags = flags, .reason = reason,
	};

	if (o->cb && !(s->flags & LPF_DONE))
		o->cb(o->ctx, &ev);
}

static void lp_finish(struct lp_state *s, const struct lp_out *o,
		      u8 reason)
{
	lp_emit(s, o, LP_EV_DONE, s->off, 0, LP_CMD_NONE, 0, reason, 0);
	s->flags |= LPF_DONE;
}

/* Word matcher: match holds the entries of tbl still equal to the token. */
static const struct lp_word *lp_verbs(const struct lp_state *s,
				      unsigned int *n)
{
	switch (lp_proto_of(s)) {
	case LP_SMTP:
		*n = LP_NWORDS(lp_smtp_verbs);
		return lp_smtp_verbs;
	case LP_IMAP:
		*n = LP_NWORDS(lp_imap_verbs);
		return lp_imap_verbs;
	default:
		*n = LP_NWORDS(lp_acap_verbs);
		return lp_acap_verbs;
	}
}

static void lp_word_byte(struct lp_state *s, const struct lp_word *tbl,
			 unsigned int n, u8 c)
{
	unsigned int i, pos = s->tok;
	u8 m = s->match;

	c = lp_upper(c);
	for (i = 0; i < n; i++)
		if ((m & (1u << i)) &&
		    (pos >= tbl[i].len || tbl[i].s[pos] != c))
			m &= ~(1u << i);
	s->match = m;
	s->tok++;
}

/* The value of the entry equal to the whole token, or -1. */
static int lp_word_end(const struct lp_state *s, const struct lp_word *tbl,
		       unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if ((s->match & (1u << i)) && tbl[i].len == s->tok)
			return tbl[i].val;
	return -1;
}

static inline void lp_word_start(struct lp_state *s, u8 mask)
{
	s->match = mask;
	s->tok = 0;
}

static inline void lp_kw_start(struct lp_state *s)
{
	s->kwm = KM_INIT;
	s->tok = 0;
}

/* One byte of a keyword, at position tok. */
static void lp_kw_byte(struct lp_state *s, u8 c)
{
	unsigned int i = s->tok;
	u8 m = s->kwm, u = lp_upper(c);

	if ((m & KM_STARTTLS) && (i >= 8 || u != "STARTTLS"[i]))
		m &= ~KM_STARTTLS;
	if ((m & KM_AUTH) && (i < 4 ? u != "AUTH"[i] : i == 4 && c != '='))
		m &= ~KM_AUTH;
	if ((m & KM_SASL) && (i >= 4 || u != "SASL"[i]))
		m &= ~KM_SASL;
	if (c != 'X' && c != 'x' && c != '*')
		m &= ~KM_ALLMASK;
	if (m & KM_XUP)
		m &= ~KM_XUP;
	if ((m & KM_XRUN) && c != 'X') {
		m &= ~KM_XRUN;
		if (i >= 2 && c >= 'A' && c <= 'Z')
			m |= KM_XUP;
	}
	if (i == 0 && c == '{')
		m |= KM_BRACE;
	s->kwm = m;
	s->tok++;
}

/*
 * The keyword ended before the byte at pos: report it (unless empty or a
 * literal marker) and return its LP_KW_* flags.
 */
static __always_inline u8 lp_kw_end(struct lp_state *s,
				    const struct lp_out *o, u32 pos, u8 extra)
{
	u8 m = s->kwm, f = extra;

	if (!s->tok || (m & KM_BRACE))
		return 0;
	if (m & (KM_ALLMASK | KM_XUP))
		f |= LP_KW_MASKED;
	if (m && !(extra & LP_KW_VALUE)) {
		if ((m & KM_STARTTLS) && s->tok == 8)
			f |= LP_KW_STARTTLS;
		if ((m & KM_AUTH) && s->tok >= 4)
			f |= LP_KW_AUTH;
		if ((m & KM_SASL) && s->tok == 4 &&
		    lp_proto_of(s) == LP_ACAP)
			f |= LP_KW_AUTH;
	}
	lp_emit(s, o, LP_EV_KEYWORD, pos - s->tok, s->tok, LP_CMD_NONE, f, 0,
		0);
	return f;
}

static inline u32 lp_fnv(u32 h, u8 c)
{
	return (h ^ c) * LP_FNV_PRIME;
}

static inline void lp_malformed(struct lp_state *s)
{
	s->garbage++;
	s->st = S_SKIP;
}

/*
 * The byte c at pos ends the keyword of the state (S_KW, S_VALS: a
 * separator; S_CAPS: a separator; S_CAPS_BR: a separator or ']').
 */
static __always_inline void lp_kw_delim(struct lp_state *s,
					const struct lp_out *o, u32 pos, u8 c)
{
	u8 f;

	switch (s->st) {
	case S_KW:
		f = lp_kw_end(s, o, pos, 0);
		s->st = S_SKIP;
		if (f & LP_KW_AUTH) {
			s->flags |= LPF_VALUES;
			lp_kw_start(s);
			s->st = S_VALS;
		}
		break;
	case S_VALS:
		lp_kw_end(s, o, pos, LP_KW_VALUE | LP_KW_AUTH);
		lp_kw_start(s);
		break;
	default:
		lp_kw_end(s, o, pos, 0);
		lp_kw_start(s);
		if (c == ']')
			s->st = S_SKIP;
	}
}

/* SMTP, server direction: one byte other than the line's LF handling. */
static void lp_smtp_server(struct lp_state *s, const struct lp_out *o,
			   u32 pos, u8 c)
{
	switch (s->st) {
	case S_BOL:
		if (c == '\r' || c == '\n')
			break;
		if (!lp_digit(c)) {
			lp_malformed(s);
			break;
		}
		s->acc = c - '0';
		s->tok = 1;
		s->st = S_CODE;
		break;
	case S_CODE:
		if (!lp_digit(c)) {
			lp_malformed(s);
			break;
		}
		s->acc = s->acc * 10 + (c - '0');
		if (++s->tok == 3)
			s->st = S_SEP;
		break;
	case S_SEP:
		if (c != '-' && c != ' ' && c != '\r' && c != '\n') {
			lp_malformed(s);
			break;
		}
		s->flags |= LPF_LINEOK;
		if (c != '-')
			s->flags |= LPF_LAST;
		s->st = S_SKIP;
		/* Keywords: every line of a 250 reply but its first. */
		if ((c == '-' || c == ' ') && s->acc == 250 &&
		    (s->flags & LPF_MULTI)) {
			lp_kw_start(s);
			s->st = S_KW;
		}
		break;
	case S_KW:
	case S_VALS:
		if (!lp_sep(c))
			lp_kw_byte(s, c);
		else
			lp_kw_delim(s, o, pos, c);
		break;
	}
}

/* After the response word of an IMAP/ACAP server line. */
static void lp_resp_word(struct lp_state *s, u8 c, bool tagged)
{
	int w = lp_word_end(s, lp_resp_words, LP_NWORDS(lp_resp_words));

	s->st = S_SKIP;
	if (tagged) {
		if (s->flags & LPF_TAGMATCH) {
			if (w == W_OK)
				s->flags |= LPF_ACCEPT;
			else if (w == W_NO || w == W_BAD)
				s->flags &= ~LPF_TLS;
		}
		if (w == W_OK && c == ' ' && lp_proto_of(s) == LP_IMAP)
			s->st = S_RESP;
		return;
	}
	if (w == W_PREAUTH)
		s->flags |= LPF_PREAUTH;
	if (c != ' ')
		return;
	if (w == W_CAPABILITY) {
		lp_kw_start(s);
		s->st = S_CAPS;
	} else if (w == W_OK || w == W_PREAUTH) {
		s->st = S_RESP;
	} else if (w == W_ACAP) {
		s->match = 0;	/* list depth */
		s->st = S_ACAP;
	}
}

/* ACAP greeting lists, S_AVAL: the byte c outside a token. */
static void lp_acap_val(struct lp_state *s, u8 c)
{
	switch (c) {
	case '"':
		lp_kw_start(s);
		s->st = S_AQUOTE;
		break;
	case '(':
		if (s->match < LP_DEPTH_MAX)
			s->match++;
		break;
	case ')':
		if (s->match)
			s->match--;
		if (!s->match) {
			s->flags &= ~LPF_VALUES;
			s->st = S_ACAP;
		}
		break;
	}
}

/* IMAP/ACAP server: a byte of the tag (hash in acc) or its end. */
static void lp_server_tag(struct lp_state *s, u8 c)
{
	if (c != ' ') {
		if (lp_sep(c))
			s->st = S_SKIP;
		else
			s->acc = lp_fnv(s->acc, c);
		return;
	}
	s->flags |= LPF_TAGGED;
	if ((s->flags & LPF_TLS) && s->acc == s->tag)
		s->flags |= LPF_TAGMATCH;
	lp_word_start(s, WM_TAGGED);
	s->st = S_WORD;
}

/* IMAP and ACAP, server direction. */
static void lp_imap_server(struct lp_state *s, const struct lp_out *o,
			   u32 pos, u8 c)
{
	switch (s->st) {
	case S_BOL:
		if (c == '\r' || c == '\n')
			break;
		if (c == '*') {
			s->st = S_STAR;
		} else if (c == '+') {
			s->st = S_SKIP;
		} else {
			s->acc = LP_FNV_INIT;
			s->st = S_TAG;
			lp_server_tag(s, c);
		}
		break;
	case S_STAR:
		s->st = S_SKIP;
		if (c == ' ') {
			lp_word_start(s, lp_proto_of(s) == LP_IMAP ?
				      WM_IMAP_UNTAG : WM_ACAP_UNTAG);
			s->st = S_WORD;
		}
		break;
	case S_TAG:
		lp_server_tag(s, c);
		break;
	case S_WORD:
		if (lp_sep(c))
			lp_resp_word(s, c, s->flags & LPF_TAGGED);
		else
			lp_word_byte(s, lp_resp_words,
				     LP_NWORDS(lp_resp_words), c);
		break;
	case S_RESP:
		s->st = S_SKIP;
		if (c == '[') {
			lp_word_start(s, WM(W_CAPABILITY));
			s->st = S_CODEWORD;
		}
		break;
	case S_CODEWORD:
		if (c == ' ' && lp_word_end(s, lp_resp_words,
					    LP_NWORDS(lp_resp_words)) ==
		    W_CAPABILITY) {
			lp_kw_start(s);
			s->st = S_CAPS_BR;
		} else if (lp_sep(c) || c == ']') {
			s->st = S_SKIP;
		} else {
			lp_word_byte(s, lp_resp_words,
				     LP_NWORDS(lp_resp_words), c);
		}
		break;
	case S_CAPS:
	case S_CAPS_BR:
		if (!lp_sep(c) && !(c == ']' && s->st == S_CAPS_BR))
			lp_kw_byte(s, c);
		else
			lp_kw_delim(s, o, pos, c);
		break;
	case S_ACAP:
		if (c == '(') {
			s->match = 1;
			s->flags &= ~LPF_VALUES;
			lp_kw_start(s);
			s->st = S_ANAME;
		}
		break;
	case S_ANAME:
		if (!lp_sep(c) && c != '(' && c != ')' && c != '"') {
			lp_kw_byte(s, c);
			break;
		}
		if (!s->tok && (c == ' ' || c == '\t'))
			break;
		if (s->match == 1) {
			lp_kw_end(s, o, pos, 0);
			if (s->tok == 4 && (s->kwm & KM_SASL))
				s->flags |= LPF_VALUES;
		}
		s->st = S_AVAL;
		lp_acap_val(s, c);
		break;
	case S_AVAL:
		lp_acap_val(s, c);
		break;
	case S_AQUOTE:
		if (c == '\\') {
			lp_kw_byte(s, c);
			s->st = S_AQESC;
		} else if (c == '"') {
			if ((s->flags & LPF_VALUES) && s->match == 1)
				lp_kw_end(s, o, pos,
					  LP_KW_VALUE | LP_KW_AUTH);
			s->st = S_AVAL;
		} else {
			lp_kw_byte(s, c);
		}
		break;
	case S_AQESC:
		lp_kw_byte(s, c);
		s->st = S_AQUOTE;
		break;
	}
}

/* The verb is known (c follows it): report COMMAND_START. */
static void lp_cmd_start(struct lp_state *s, const struct lp_out *o,
			 u32 pos, u8 cmd)
{
	s->match = cmd;
	s->tok = 0;	/* bytes of the command before this line */
	s->flags |= LPF_CMD;
	s->st = S_ARGS;
	lp_emit(s, o, LP_EV_COMMAND_START, pos - s->col, s->col, cmd, 0, 0,
		s->tag);
}

/* Client: a byte of the verb, or the byte after it. */
static void lp_verb_byte(struct lp_state *s, const struct lp_out *o,
			 u32 pos, u8 c)
{
	unsigned int n;
	const struct lp_word *tbl = lp_verbs(s, &n);
	int v;

	if (!lp_sep(c)) {
		lp_word_byte(s, tbl, n, c);
		return;
	}
	v = lp_word_end(s, tbl, n);
	lp_cmd_start(s, o, pos, v < 0 ? LP_CMD_OTHER : v);
}

static void lp_verb_start(struct lp_state *s)
{
	unsigned int n;

	lp_verbs(s, &n);
	lp_word_start(s, (1u << n) - 1);
	s->st = S_VERB;
}

/* IMAP/ACAP client: a byte of the tag, or the byte after it. */
static void lp_client_tag(struct lp_state *s, const struct lp_out *o,
			  u32 pos, u8 c)
{
	if (!lp_sep(c)) {
		s->acc = lp_fnv(s->acc, c);
		return;
	}
	s->tag = s->acc;
	if (c == ' ')
		lp_verb_start(s);
	else	/* a line without a verb */
		lp_cmd_start(s, o, pos, LP_CMD_OTHER);
}

/* Client direction, every protocol. */
static void lp_client_byte(struct lp_state *s, const struct lp_out *o,
			   u32 pos, u8 c)
{
	switch (s->st) {
	case S_BOL:
		if (c == '\r' || c == '\n')
			break;
		if (lp_proto_of(s) == LP_SMTP) {
			s->tag = 0;
			lp_verb_start(s);
			lp_verb_byte(s, o, pos, c);
		} else {
			s->acc = LP_FNV_INIT;
			s->st = S_TAG;
			lp_client_tag(s, o, pos, c);
		}
		break;
	case S_TAG:
		lp_client_tag(s, o, pos, c);
		break;
	case S_VERB:
		lp_verb_byte(s, o, pos, c);
		break;
	}
}

static __always_inline void lp_eol(struct lp_state *s,
				   const struct lp_out *o, u32 pos)
{
	u32 start = pos - s->col;
	u16 fl = s->flags;
	u8 cmd = LP_CMD_NONE;

	if (lp_client(s)) {
		/* the LF has ended the tag and the verb */
		if (s->st != S_BOL && s->st != S_LONG && (fl & LPF_CMD)) {
			cmd = s->match;
			lp_emit(s, o, LP_EV_COMMAND, start - s->tok,
				s->tok + s->col + 1, cmd, 0, 0, s->tag);
			/* (the callback may have stopped the parser) */
			fl = s->flags & ~LPF_TLS;
			if (cmd == LP_CMD_STARTTLS)
				fl |= LPF_TLS;
		}
	} else if (lp_proto_of(s) == LP_SMTP) {
		/* the reply goes on, or ends (and may accept STARTTLS) */
		if ((fl & LPF_LINEOK) && !(fl & LPF_LAST)) {
			fl |= LPF_MULTI;
		} else if (fl & LPF_LINEOK) {
			if ((fl & LPF_TLS) && (fl & LPF_GREETED) &&
			    s->acc == 220 && s->st != S_LONG)
				fl |= LPF_ACCEPT;
			fl &= ~LPF_MULTI;
			fl |= LPF_GREETED;
		}
	} else if (s->st == S_LONG) {
		fl &= ~LPF_ACCEPT;	/* no event from it */
	}
	s->flags = fl & ~LPF_LINE;
	s->st = S_BOL;
	s->col = 0;
	s->tok = 0;
	s->lit = LIT_NONE;
	s->kwm = 0;
	s->off = pos + 1;
	if (!(fl & (LPF_ACCEPT | LPF_PREAUTH)) && cmd != LP_CMD_AUTH &&
	    cmd != LP_CMD_DATA)
		return;
	if ((fl & LPF_ACCEPT) && !lp_client(s)) {
		lp_emit(s, o, LP_EV_TLS_ACCEPTED, start, pos + 1 - start,
			LP_CMD_NONE, 0, 0, 0);
		lp_finish(s, o, LP_DONE_TLS);
	} else if (fl & LPF_PREAUTH) {
		lp_finish(s, o, LP_DONE_AUTH);
	} else if (cmd == LP_CMD_AUTH) {
		lp_finish(s, o, LP_DONE_AUTH);
	} else if (cmd == LP_CMD_DATA) {
		lp_finish(s, o, LP_DONE_DATA);
	}
}

/* IMAP/ACAP: watch for "{n}", "{n+}" at the end of a line. */
static void lp_lit_byte(struct lp_state *s, u8 c)
{
	switch (c) {
	case '{':
		s->lit = LIT_OPEN;
		s->acc = 0;
		break;
	case '+':
		s->lit = s->lit == LIT_NUM ? LIT_PLUS : LIT_NONE;
		break;
	case '}':
		s->lit = s->lit == LIT_NUM || s->lit == LIT_PLUS ?
			 LIT_CLOSE : LIT_NONE;
		break;
	case '\r':
		if (s->lit != LIT_CLOSE)
			s->lit = LIT_NONE;
		break;
	default:
		if (lp_digit(c) && (s->lit == LIT_OPEN || s->lit == LIT_NUM)) {
			/* anything beyond the budget is as good as infinite */
			if (s->acc <= LP_BUDGET)
				s->acc = s->acc * 10 + (c - '0');
			s->lit = LIT_NUM;
		} else {
			s->lit = LIT_NONE;
		}
	}
}

static void lp_dispatch(struct lp_state *s, const struct lp_out *o,
			u32 pos, u8 c)
{
	if (lp_client(s))
		lp_client_byte(s, o, pos, c);
	else if (lp_proto_of(s) == LP_SMTP)
		lp_smtp_server(s, o, pos, c);
	else
		lp_imap_server(s, o, pos, c);
}

/* States in which a literal may be announced (after the tag). */
static inline bool lp_lit_state(u8 st)
{
	return st != S_BOL && st != S_TAG && st != S_STAR;
}

/* One byte; returns false if it was not consumed (the parser stopped). */
static inline bool lp_byte(struct lp_state *s, const struct lp_out *o, u8 c)
{
	u32 pos = s->off, t;
	unsigned int max;

	if (c == '\n') {
		if (s->st != S_LONG)
			lp_dispatch(s, o, pos, c);	/* ends tokens */
		if (s->lit == LIT_CLOSE) {
			/* the response or command goes on after the literal */
			if (lp_client(s)) {
				/* command bytes before the next line */
				t = s->tok + s->col + 1 + s->acc;
				s->tok = t > 0xffff ? 0xffff : t;
			} else {
				s->tok = 0;
			}
			s->col = 0;
			s->lit = LIT_NONE;
			if (s->acc)
				s->flags |= LPF_INLIT;
			s->off = pos + 1;
			return true;
		}
		lp_eol(s, o, pos);
		return true;
	}

	if (s->col == 0 && s->st == S_BOL && (s->flags & LPF_TLS) &&
	    lp_client(s)) {
		if (c == 0x16) {
			lp_finish(s, o, LP_DONE_TLS);
			return false;
		}
		s->flags &= ~LPF_TLS;
	}
	if (lp_ctl(c))
		s->garbage++;
	max = lp_proto_of(s) == LP_SMTP ? LP_MAX_LINE_SMTP : LP_MAX_LINE_IMAP;
	if (s->col >= max - 1 && s->st != S_LONG) {
		s->st = S_LONG;
		s->garbage++;
	}
	if (s->st != S_LONG)
		lp_dispatch(s, o, pos, c);
	if (lp_proto_of(s) != LP_SMTP && lp_lit_state(s->st))
		lp_lit_byte(s, c);
	s->col++;
	s->off = pos + 1;
	if (s->garbage > LP_MAX_GARBAGE && !(s->flags & LPF_DONE))
		lp_finish(s, o, LP_DONE_GARBAGE);
	return true;
}

/* ---- Block layer ---- */

#define LP_ONES		0x0101010101010101ULL
#define LP_HIGHS	0x8080808080808080ULL
#define LP_REP(c)	(LP_ONES * (u8)(c))

/* Eight bytes at any alignment; p[0] in the low byte on every CPU. */
static __always_inline u64 lp_load(const u8 *p)
{
	u64 w;

	__builtin_memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The high bit of each byte of x that is zero (exact: no carry between bytes) */
static __always_inline u64 lp_zero(u64 x)
{
	return ~(((x & ~LP_HIGHS) + ~LP_HIGHS) | x) & LP_HIGHS;
}

/*
 * The bytes of w where a run stops, as high bits: bytes below lim (0x20:
 * control bytes, TAB, CR, LF; 0x21: and SP), the bytes whose low seven
 * bits are 0x7b-0x7f ('{', '|', '}', '~', DEL and 0xfb-0xff: '{' may open a
 * literal, DEL is a control byte, the others are inert: lp_inert()), and
 * the bytes a, b, c (0 for none: NUL is below lim anyway). Exact per byte.
 */
static __always_inline u64 lp_stops(u64 w, u8 lim, u8 a, u8 b, u8 c)
{
	u64 low = w & ~LP_HIGHS;
	u64 m = (~((low + LP_REP(0x80 - lim)) | w) |
		 (low + LP_REP(0x80 - 0x7b))) & LP_HIGHS;

	if (a)
		m |= lp_zero(w ^ LP_REP(a));
	if (b)
		m |= lp_zero(w ^ LP_REP(b));
	if (c)
		m |= lp_zero(w ^ LP_REP(c));
	return m;
}

/*
 * Index of the first byte of a nonzero lp_stops() mask. Where long has 64
 * bits, __builtin_ctzl() (an instruction, or lib/clz_ctz.c's 64-bit
 * __ctzdi2); elsewhere the bits below the lowest one, shifted to whole
 * bytes of 0xff, counted by a multiplication (no libgcc helper needed).
 */
static __always_inline unsigned int lp_first(u64 m)
{
#if __SIZEOF_LONG__ == 8
	return __builtin_ctzl(m) >> 3;
#else
	return (((((m - 1) & ~m) >> 7) & LP_ONES) * LP_ONES) >> 56;
#endif
}

/* A stop byte that no state looks at: '|', '}', '~', 0xfb-0xff. */
static inline bool lp_inert(u8 c)
{
	return c >= 0x7b && c != '{' && c != 0x7f;
}

/*
 * Index of the first stop byte (lp_stops()) in p[0, n) that is not inert,
 * or n: eight bytes at a time, then byte by byte.
 */
static __always_inline size_t lp_scan(const u8 *p, size_t n, u8 lim, u8 a,
				      u8 b, u8 c)
{
	size_t i = 0;
	u64 m;

	for (;;) {
		for (; i + 8 <= n; i += 8) {
			m = lp_stops(lp_load(p + i), lim, a, b, c);
			if (m) {
				i += lp_first(m);
				goto found;
			}
		}
		for (; i < n; i++)
			if (p[i] < lim || (p[i] & 0x7f) >= 0x7b ||
			    (a && p[i] == a) || (b && p[i] == b) ||
			    (c && p[i] == c))
				goto found;
		return n;
found:
		if (!lp_inert(p[i]))
			return i;
		i++;
	}
}

/* lp_scan() for the runs of the states (out of line: one copy each) */
static noinline size_t lp_scan_text(const u8 *p, size_t n)
{
	return lp_scan(p, n, 0x20, 0, 0, 0);
}

static noinline size_t lp_scan_word(const u8 *p, size_t n)
{
	return lp_scan(p, n, 0x21, 0, 0, 0);
}

static noinline size_t lp_scan_br(const u8 *p, size_t n)
{
	return lp_scan(p, n, 0x21, ']', 0, 0);
}

static noinline size_t lp_scan_st(u8 st, const u8 *p, size_t n)
{
	switch (st) {
	case S_CAPS_BR:
	case S_CODEWORD:
		return lp_scan_br(p, n);
	case S_ACAP:
		return lp_scan(p, n, 0x20, '(', 0, 0);
	case S_AVAL:
		return lp_scan(p, n, 0x20, '(', ')', '"');
	case S_ANAME:
		return lp_scan(p, n, 0x21, '(', ')', '"');
	default:	/* S_AQUOTE */
		return lp_scan(p, n, 0x20, '"', '\\', 0);
	}
}

/*
 * A token (a word or a keyword: its end is a byte below 0x21 or br) goes on
 * over control bytes, one garbage point each, as lp_byte() counts them: p[0]
 * is one. Returns the bytes up to the first stop that is no control byte,
 * or up to and including the one that passed the garbage limit.
 */
static noinline size_t lp_scan_ctl(struct lp_state *s, const u8 *p, size_t n,
				   u8 br)
{
	size_t k = 0;

	do {
		k++;
		if (++s->garbage > LP_MAX_GARBAGE)
			return k;
		k += br ? lp_scan(p + k, n - k, 0x21, ']', 0, 0) :
			  lp_scan(p + k, n - k, 0x21, 0, 0, 0);
	} while (k < n && lp_ctl(p[k]));
	return k;
}

/*
 * A byte with no effect on the garbage count, the line length or the
 * literal detector: the state's byte handler, as lp_byte() would call it.
 * Callers make sure that lit is LIT_NONE, c is no control byte (TAB, CR and
 * LF are fine) and no '{', the line has room for c (or c is LF), the
 * garbage is within its limit and the state is not a client's line start
 * after STARTTLS.
 */
static void lp_light(struct lp_state *s, const struct lp_out *o, u8 c)
{
	u32 pos = s->off;

	lp_dispatch(s, o, pos, c);
	if (c == '\n') {
		lp_eol(s, o, pos);
		return;
	}
	s->col++;
	s->off = pos + 1;
	/* a malformed SMTP reply line counts as garbage */
	if (s->garbage > LP_MAX_GARBAGE && !(s->flags & LPF_DONE))
		lp_finish(s, o, LP_DONE_GARBAGE);
}

/*
 * Can c be the first byte of a keyword that lp_kw_end() flags, or of a
 * literal marker: 'S', 'A', 'X' (either case), '*', '{'? Bit (c - 0x40).
 */
#define LP_KW_FIRST	(1ULL << ('A' - 0x40) | 1ULL << ('S' - 0x40) | \
			 1ULL << ('X' - 0x40) | 1ULL << ('a' - 0x40) | \
			 1ULL << ('s' - 0x40) | 1ULL << ('x' - 0x40) | \
			 1ULL << ('{' - 0x40))

static inline bool lp_kw_first(u8 c)
{
	unsigned int b = c - 0x40u;

	return b < 64 ? (LP_KW_FIRST >> b) & 1 : c == '*';
}

/* Are t[0, n) the first n letters of w (upper case), in any case? */
static inline bool lp_iprefix(const u8 *t, size_t n, const char *w)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (lp_upper(t[j]) != (u8)w[j])
			return false;
	return true;
}

/*
 * lp_kw_byte() over t[0, k). From lp_kw_start(), a keyword that starts with
 * 'S' or 'A' gets its matchers at once (STARTTLS and SASL: t is a prefix of
 * the word; AUTH: "AUTH" or "AUTH=..." so far), and one that starts with
 * none of the bytes a matcher looks for first ('S', 'A', 'X', 'x', '*',
 * '{') has none; otherwise lp_kw_byte() runs while a matcher can change.
 */
static void lp_kw_bulk(struct lp_state *s, const u8 *t, size_t k)
{
	size_t j;
	u8 u;

	if (!s->tok && s->kwm == KM_INIT) {
		u = lp_upper(t[0]);
		if (u == 'S' || u == 'A') {
			u = 0;
			if (k <= 8 && lp_iprefix(t, k, "STARTTLS"))
				u |= KM_STARTTLS;
			if (k <= 4 && lp_iprefix(t, k, "SASL"))
				u |= KM_SASL;
			if (lp_iprefix(t, k < 4 ? k : 4, "AUTH") &&
			    (k <= 4 || t[4] == '='))
				u |= KM_AUTH;
			s->kwm = u;
			s->tok = k;
			return;
		}
		if (u != 'X' && t[0] != '*' && t[0] != '{') {
			s->kwm = 0;
			s->tok = k;
			return;
		}
	}
	for (j = 0; j < k && (s->kwm & ~KM_BRACE); j++)
		lp_kw_byte(s, t[j]);
	s->tok += k - j;
}

static __always_inline u32 lp_load32(const u8 *p)
{
	return LP_LE32(p[0], p[1], p[2], p[3]);
}

/*
 * lp_kw_bulk() over a whole keyword t[0, k) from lp_kw_start(), for
 * lp_kw_end() only: the matchers that flag it (STARTTLS, SASL: the whole
 * word; AUTH: "AUTH" or "AUTH=..."), not those of the words it begins. ORing
 * 0x20 into a byte gives a lower-case letter only from that letter in
 * either case.
 */
static void lp_kw_whole(struct lp_state *s, const u8 *t, size_t k)
{
	u32 w;
	u8 m = 0;

	s->tok = k;
	if (k >= 4) {
		w = lp_load32(t) | 0x20202020;
		if (w == LP_LE32('a', 'u', 't', 'h') && (k == 4 || t[4] == '='))
			m = KM_AUTH;
		else if (k == 4 && w == LP_LE32('s', 'a', 's', 'l'))
			m = KM_SASL;
		else if (k == 8 && w == LP_LE32('s', 't', 'a', 'r') &&
			 (lp_load32(t + 4) | 0x20202020) ==
			 LP_LE32('t', 't', 'l', 's'))
			m = KM_STARTTLS;
	}
	s->kwm = m;
	if (t[0] == 'X' || t[0] == 'x' || t[0] == '*' || t[0] == '{') {
		/* the masks (and the literal marker): byte by byte */
		s->kwm = KM_INIT;
		s->tok = 0;
		lp_kw_bulk(s, t, k);
	}
}

/* lp_word_byte() over t[0, k). */
static void lp_word_bulk(struct lp_state *s, const struct lp_word *tbl,
			 unsigned int n, const u8 *t, size_t k)
{
	unsigned int i, pos = s->tok;
	u8 m = s->match;
	size_t j;

	for (i = 0; i < n; i++) {
		if (!(m & (1u << i)))
			continue;
		if (pos + k > tbl[i].len) {
			m &= ~(1u << i);
			continue;
		}
		for (j = 0; j < k; j++)
			if (lp_upper(t[j]) != tbl[i].s[pos + j])
				break;
		if (j < k)
			m &= ~(1u << i);
	}
	s->match = m;
	s->tok = pos + k;
}

/*
 * lp_word_bulk() over a whole word t[0, k) from lp_word_start() (tok 0),
 * for lp_word_end() only: the entries equal to the word, not those it
 * begins (they are no longer wanted once the word has ended).
 */
static void lp_word_whole(struct lp_state *s, const struct lp_word *tbl,
			  unsigned int n, const u8 *t, size_t k)
{
	u32 w = k >= 4 ? lp_load32(t) | 0x20202020 : 0;
	unsigned int i;
	u8 m = 0;

	for (i = 0; i < n; i++)
		if ((s->match & (1u << i)) && tbl[i].len == k &&
		    (k < 4 ? lp_iprefix(t, k, tbl[i].s) :
		     w == tbl[i].lc4 && lp_iprefix(t + 4, k - 4, tbl[i].s + 4)))
			m |= 1u << i;
	s->match = m;
	s->tok = k;
}

/*
 * SMTP server, line start: "ddd-" or "ddd " in one step (S_BOL to S_SEP,
 * without the line length and offset, which the caller counts).
 */
static __always_inline bool lp_smtp_code(struct lp_state *s, const u8 *p)
{
	u32 w = p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
	u32 d = w & 0xffffff;

	/* three digits: 0x3n each, n <= 9; then '-' or ' ' */
	if ((d & 0xf0f0f0) != 0x303030 ||
	    ((d + 0x060606) & 0xf0f0f0) != 0x303030 ||
	    ((w >> 24) != '-' && (w >> 24) != ' '))
		return false;
	s->acc = (d & 0xf) * 100 + ((d >> 8) & 0xf) * 10 + (d >> 16 & 0xf);
	s->flags |= (w >> 24) == ' ' ? LPF_LINEOK | LPF_LAST : LPF_LINEOK;
	s->tok = 3;
	s->st = S_SKIP;
	if (s->acc == 250 && (s->flags & LPF_MULTI)) {
		lp_kw_start(s);
		s->st = S_KW;
	}
	return true;
}

/* The parser stopped, or was told to stop by a callback. */
static inline bool lp_halt(const struct lp_state *s)
{
	return s->flags & (LPF_DONE | LPF_STOP_AUTH);
}

/*
 * The block layer: consume what it can of p[0, n) (n within the budget),
 * with the events and the state of the byte machine. Returns the bytes
 * consumed; it stops early when the parser stops (or is told to stop by a
 * callback: LPF_STOP_AUTH) and before a byte it leaves to lp_byte().
 *
 * q is the next byte; s->off and s->col are counted from it (the stream
 * offset of p[0] is off0, that of the line's first byte lso) and stored
 * before each call that reads them and on return. e is where the line
 * would become over-long (or the end): every byte before it has room. At
 * each label, q < e and c is *q.
 */
static noinline size_t lp_run(struct lp_state *s, const struct lp_out *o,
			      const u8 *p, size_t n)
{
	const u8 *const pe = p + n;
	const u32 off0 = s->off;
	const size_t last = (lp_proto_of(s) == LP_SMTP ? LP_MAX_LINE_SMTP :
			     LP_MAX_LINE_IMAP) - 1;
	const struct lp_word *tbl;
	const u8 *q = p, *e;
	unsigned int nw;
	size_t k;
	u32 h, lso;
	u8 c, br, f;

	if (s->lit != LIT_NONE || s->garbage > LP_MAX_GARBAGE || lp_halt(s))
		return 0;
	lso = off0 - s->col;
	e = pe;
	if (s->st != S_LONG && n > last - s->col)
		e = p + (last - s->col);
next:
	if (q >= e)
		goto out;
	c = *q;
	switch (s->st) {
	case S_BOL:
		goto bol;
	case S_SKIP:
	case S_LONG:
	case S_ARGS:
		goto skip;
	case S_KW:
	case S_VALS:
	case S_CAPS:
	case S_CAPS_BR:
		goto kw;
	case S_ACAP:
	case S_AVAL:
		/* bytes the state ignores, but parentheses and quotes */
		if (c == '\n')
			goto eol;
		q += lp_scan_st(s->st, q, e - q);
		if (q == e)
			goto out;
		c = *q;
		if (c == '\n')
			goto eol;
		if (c == '\r' || c == '\t') {
			q++;
			goto next;
		}
		if (c == '(' || c == ')' || c == '"')
			goto one;
		goto ctl;
	case S_ANAME:
	case S_AQUOTE:
		/* ACAP: a list's name, a quoted string */
		k = lp_scan_st(s->st, q, e - q);
		if (k) {
			c = q + k < e ? q[k] : 0;
			if (!s->tok && s->kwm == KM_INIT &&
			    (c == '"' || (s->st == S_ANAME && c &&
					  (lp_sep(c) || c == '(' || c == ')'))))
				lp_kw_whole(s, q, k);	/* it ends at c */
			else
				lp_kw_bulk(s, q, k);
			q += k;
			if (q == e)
				goto out;
			c = *q;
		}
		goto one;
	case S_WORD:
	case S_CODEWORD:
	case S_VERB:
		/* a response word or a verb */
		br = s->st == S_CODEWORD ? ']' : 0;
		k = br ? lp_scan_br(q, e - q) : lp_scan_word(q, e - q);
		if (q + k < e && lp_ctl(q[k]))
			k += lp_scan_ctl(s, q + k, e - q - k, br);
		if (!k)
			goto one;
		if (s->st == S_VERB)
			tbl = lp_verbs(s, &nw);
		else
			tbl = lp_resp_words, nw = LP_NWORDS(lp_resp_words);
		if (q + k == e || s->tok || lp_ctl(q[k]) || q[k] == '{' ||
		    s->garbage > LP_MAX_GARBAGE) {
			/* the word goes on (or a byte for lp_byte() follows) */
			lp_word_bulk(s, tbl, nw, q, k);
			q += k;
			if (s->garbage > LP_MAX_GARBAGE)
				goto over;
			if (q == e)
				goto out;
			c = *q;
			goto one;
		}
		lp_word_whole(s, tbl, nw, q, k);
		q += k;
		c = *q;
		if (s->st == S_CODEWORD)
			goto one;
		/* its delimiter, as lp_byte() would take it */
		s->col = off0 + (u32)(q - p) - lso;
		if (s->st == S_VERB)
			lp_verb_byte(s, o, off0 + (u32)(q - p), c);
		else
			lp_resp_word(s, c, s->flags & LPF_TAGGED);
		if (c == '\n')
			goto eol;
		q++;
		if (lp_halt(s) || q == e)
			goto out;
		goto next;
	case S_TAG:
		/* a tag: its hash, up to a separator */
		h = s->acc;
		for (; q < e; q++) {
			c = *q;
			if (lp_sep(c))
				break;
			h = lp_fnv(h, c);
			if (lp_ctl(c) && ++s->garbage > LP_MAX_GARBAGE) {
				s->acc = h;
				s->off = off0 + (u32)(++q - p);
				lp_finish(s, o, LP_DONE_GARBAGE);
				goto out;
			}
		}
		s->acc = h;
		if (q == e)
			goto out;
		/* the separator, as lp_byte() would take it */
		s->col = off0 + (u32)(q - p) - lso;
		if (lp_client(s))
			lp_client_tag(s, o, off0 + (u32)(q - p), c);
		else
			lp_server_tag(s, c);
		if (c == '\n')
			goto eol;
		q++;
		if (lp_halt(s) || q == e)
			goto out;
		goto next;
	case S_STAR:
		/* IMAP/ACAP server: "* " starts a response word */
		if (c != ' ')
			goto one;
		lp_word_start(s, lp_proto_of(s) == LP_IMAP ? WM_IMAP_UNTAG :
			      WM_ACAP_UNTAG);
		s->st = S_WORD;
		if (++q == e)
			goto out;
		goto next;
	default:
		goto one;
	}

skip:
	/* S_SKIP, S_LONG, S_ARGS: bytes the state ignores (but for garbage) */
	if (c != '\r' && c != '\n') {
		q += lp_scan_text(q, e - q);
		if (q == e)
			goto out;
		c = *q;
	}
	if (c == '\r') {
		if (++q == e)
			goto out;
		c = *q;
		if (c != '\n')
			goto skip;
	}
	if (c == '\n')
		goto eol;
	if (c == '\t') {
		if (++q == e)
			goto out;
		c = *q;
		goto skip;
	}
ctl:
	if (!lp_ctl(c))
		goto out;	/* '{' */
	q++;
	if (++s->garbage <= LP_MAX_GARBAGE) {
		if (q == e)
			goto out;
		c = *q;
		if (s->st == S_SKIP || s->st == S_LONG || s->st == S_ARGS)
			goto skip;
		goto next;
	}
over:
	/* the byte before q passed the garbage limit */
	s->off = off0 + (u32)(q - p);
	lp_finish(s, o, LP_DONE_GARBAGE);
	goto out;

eol:
	/* the LF, in a state that has nothing to do with it */
	h = off0 + (u32)(q - p);
	s->col = h - lso;
	lp_eol(s, o, h);
	lso = h + 1;
	q++;
	if (lp_halt(s) || q == pe)
		goto out;
	e = (size_t)(pe - q) > last ? q + last : pe;
	c = *q;
	goto bol;	/* the next line starts */

bol:
	if (lp_client(s)) {
		if ((s->flags & LPF_TLS) && off0 + (u32)(q - p) == lso)
			goto out;	/* a TLS record? lp_byte() checks */
		if (lp_sep(c) || lp_ctl(c))
			goto one;
		/* what lp_client_byte() does before c */
		if (lp_proto_of(s) == LP_SMTP) {
			s->tag = 0;
			lp_verb_start(s);
		} else {
			s->acc = LP_FNV_INIT;
			s->st = S_TAG;
		}
		goto next;
	}
	if (lp_proto_of(s) == LP_SMTP) {
		if (e - q < 4 || !lp_smtp_code(s, q))
			goto one;
		q += 4;
		if (q == e)
			goto out;
		c = *q;
		if (s->st == S_SKIP)
			goto skip;
		/*
		 * An EHLO keyword line, "250-KEYWORD\r\n": a keyword that no
		 * matcher takes, then CR LF. What lp_kw_delim() does at the
		 * CR (report it; S_SKIP), then the LF.
		 */
		k = lp_scan(q, e - q, 0x21, 0, 0, 0);
		if (!k || e - q - k < 2 || q[k] != '\r' || q[k + 1] != '\n' ||
		    lp_kw_first(c))
			goto kw;
		lp_emit(s, o, LP_EV_KEYWORD, off0 + (u32)(q - p), k,
			LP_CMD_NONE, 0, 0, 0);
		s->kwm = 0;
		s->tok = k;
		s->st = S_SKIP;
		q += k + 1;
		if (lp_halt(s))
			goto out;
		goto eol;
	}
	if (c == '*') {
		s->st = S_STAR;
		if (++q == e)
			goto out;
		goto next;
	}
	if (lp_sep(c) || lp_ctl(c) || c == '+')
		goto one;
	/* a tag: what lp_imap_server() does before c */
	s->acc = LP_FNV_INIT;
	s->st = S_TAG;
	goto next;

kw:
	/* S_KW, S_VALS, S_CAPS, S_CAPS_BR: a keyword up to its delimiter */
	br = s->st == S_CAPS_BR ? ']' : 0;
	if (s->st != S_KW && !s->tok && s->kwm == KM_INIT) {
		/*
		 * A list (capabilities, SASL mechanisms): its keywords up to a
		 * SP or TAB, reported and restarted (tok 0, kwm KM_INIT) as
		 * lp_kw_delim() does; at once when no matcher takes their first
		 * byte. The rest goes on below.
		 */
		f = s->st == S_VALS ? LP_KW_VALUE | LP_KW_AUTH : 0;
		for (;;) {
			k = lp_scan(q, e - q, 0x21, br, 0, 0);
			if (q + k == e || (q[k] != ' ' && q[k] != '\t'))
				break;
			if (!k) {
				/* an empty keyword: nothing */
			} else if (!lp_kw_first(*q)) {
				lp_emit(s, o, LP_EV_KEYWORD,
					off0 + (u32)(q - p), k, LP_CMD_NONE, f,
					0, 0);
			} else {
				lp_kw_whole(s, q, k);
				lp_kw_delim(s, o, off0 + (u32)(q + k - p), q[k]);
			}
			q += k + 1;
			if (lp_halt(s) || q == e)
				goto out;
		}
		c = *q;
	}
	k = lp_scan(q, e - q, 0x21, br, 0, 0);
	if (q + k < e && lp_ctl(q[k]))
		k += lp_scan_ctl(s, q + k, e - q - k, br);
	if (k) {
		c = q + k < e ? q[k] : 0;
		if (s->tok || s->kwm != KM_INIT ||
		    (!lp_sep(c) && !(c && c == br)) ||
		    s->garbage > LP_MAX_GARBAGE) {
			lp_kw_bulk(s, q, k);
		} else if (!lp_kw_first(*q)) {
			s->kwm = 0;	/* most keywords */
			s->tok = k;
		} else {
			lp_kw_whole(s, q, k);
		}
		q += k;
		if (s->garbage > LP_MAX_GARBAGE)
			goto over;
		if (q == e)
			goto out;
		c = *q;
	}
	if (!lp_sep(c) && !(c && c == br))
		goto one;
	/* the delimiter, as lp_byte() would take it */
	lp_kw_delim(s, o, off0 + (u32)(q - p), c);
	if (c == '\n')
		goto eol;
	q++;
	if (lp_halt(s) || q == e)
		goto out;
	c = *q;
	if (s->st == S_SKIP)
		goto skip;
	goto kw;

one:
	/* the byte after a run, or a state's single byte */
	if (lp_ctl(c) || c == '{')
		goto out;
	h = off0 + (u32)(q - p);
	s->off = h;
	s->col = h - lso;
	lp_light(s, o, c);
	q++;
	if (lp_halt(s) || s->garbage > LP_MAX_GARBAGE)
		goto out;
	if (c == '\n') {
		lso = h + 1;
		e = (size_t)(pe - q) > last ? q + last : pe;
	}
	goto next;
out:
	h = off0 + (u32)(q - p);
	s->off = h;
	s->col = h - lso;
	return q - p;
}

void lp_init(struct lp_state *st, enum lp_proto proto, enum lp_dir dir)
{
	*st = (struct lp_state){ 0 };
	st->pd = (proto & 3) | (dir == LP_CLIENT ? 4 : 0);
}

size_t lp_feed(struct lp_state *st, const u8 *data, size_t len,
	       lp_event_fn cb, void *ctx)
{
	const struct lp_out o = { cb, ctx };
	size_t i = 0, n;

	if (st->flags & LPF_DONE)
		return 0;
	while (!(st->flags & LPF_STOP_AUTH)) {
		if (st->off >= LP_BUDGET) {
			lp_finish(st, &o, LP_DONE_BUDGET);
			return i;
		}
		if (i == len)
			return i;
		n = len - i;
		if (n > LP_BUDGET - st->off)
			n = LP_BUDGET - st->off;
		if (st->flags & LPF_INLIT) {
			if (n > st->acc)
				n = st->acc;
			st->acc -= n;
			st->off += n;
			i += n;
			if (!st->acc)
				st->flags &= ~LPF_INLIT;
			continue;
		}
		if (n > 1) {
			/* (one byte: lp_byte() costs less than the setup) */
			n = lp_run(st, &o, data + i, n);
			i += n;
			if (st->flags & LPF_DONE)
				return i;
			if ((st->flags & LPF_STOP_AUTH) || i == len ||
			    st->off >= LP_BUDGET)
				continue;
		}
		/* a byte the block layer leaves to the byte machine */
		if (!lp_byte(st, &o, data[i]))
			return i;
		i++;
		if (st->flags & LPF_DONE)
			return i;
	}
	st->flags &= ~LPF_STOP_AUTH;
	lp_finish(st, &o, LP_DONE_AUTH);
	return i;
}

void lp_note_command(struct lp_state *server, const struct lp_event *cmd)
{
	if (lp_client(server) || (server->flags & LPF_DONE) ||
	    (cmd->type != LP_EV_COMMAND_START && cmd->type != LP_EV_COMMAND))
		return;
	if (cmd->cmd == LP_CMD_STARTTLS) {
		server->tag = cmd->tag;
		server->flags |= LPF_TLS;
	} else if (cmd->cmd == LP_CMD_AUTH) {
		server->flags |= LPF_STOP_AUTH;
	}
}

void lp_stop(struct lp_state *st)
{
	st->flags |= LPF_DONE;
}

bool lp_done(const struct lp_state *st)
{
	return st->flags & (LPF_DONE | LPF_STOP_AUTH);
}
