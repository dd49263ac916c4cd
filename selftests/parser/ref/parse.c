// SPDX-License-Identifier: GPL-2.0
/*
 * nf_lemonade: streaming parser of the SMTP/IMAP/ACAP negotiation phase.
 * The API and the events are described in parse.h.
 *
 * One byte at a time, constant state: a line state (st), the length of the
 * current line (col) and token (tok), and incremental matchers (match for
 * verbs and response words, kwm for the keyword classes). Nothing ever looks
 * ahead, so the events of a stream do not depend on how it is cut. The only
 * bulk step is the skipping of a literal's content.
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

struct lp_word {
	const char *s;
	u8 len;
	u8 val;
};

/* Response words of the IMAP/ACAP server; bit i of match is entry i. */
enum { W_CAPABILITY, W_OK, W_NO, W_BAD, W_PREAUTH, W_ACAP };
static const struct lp_word lp_resp_words[] = {
	{ "CAPABILITY", 10, W_CAPABILITY },
	{ "OK", 2, W_OK },
	{ "NO", 2, W_NO },
	{ "BAD", 3, W_BAD },
	{ "PREAUTH", 7, W_PREAUTH },
	{ "ACAP", 4, W_ACAP },
};

#define WM(w)		(1u << (w))
#define WM_TAGGED	(WM(W_OK) | WM(W_NO) | WM(W_BAD))
#define WM_IMAP_UNTAG	(WM(W_CAPABILITY) | WM(W_OK) | WM(W_PREAUTH))
#define WM_ACAP_UNTAG	WM(W_ACAP)

static const struct lp_word lp_smtp_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS },
	{ "AUTH", 4, LP_CMD_AUTH },
	{ "EHLO", 4, LP_CMD_EHLO },
	{ "HELO", 4, LP_CMD_HELO },
	{ "DATA", 4, LP_CMD_DATA },
	{ "BDAT", 4, LP_CMD_DATA },
};

static const struct lp_word lp_imap_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS },
	{ "AUTHENTICATE", 12, LP_CMD_AUTH },
	{ "LOGIN", 5, LP_CMD_AUTH },
	{ "CAPABILITY", 10, LP_CMD_CAPABILITY },
};

static const struct lp_word lp_acap_verbs[] = {
	{ "STARTTLS", 8, LP_CMD_STARTTLS },
	{ "AUTHENTICATE", 12, LP_CMD_AUTH },
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
static void lp_emit(const struct lp_state *s, const struct lp_out *o,
		    u8 type, u32 off, u32 len, u8 cmd,
		    u8 flags, u8 reason, u32 tag)
{
	struct lp_event ev;

	if (!o->cb || (s->flags & LPF_DONE))
		return;
	ev.off = off;
	ev.len = len;
	ev.tag = tag;
	ev.type = type;
	ev.cmd = cmd;
	ev.flags = flags;
	ev.reason = reason;
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
static u8 lp_kw_end(struct lp_state *s, const struct lp_out *o,
		    u32 pos, u8 extra)
{
	u8 m = s->kwm, f = extra;

	if (!s->tok || (m & KM_BRACE))
		return 0;
	if (m & (KM_ALLMASK | KM_XUP))
		f |= LP_KW_MASKED;
	if (!(extra & LP_KW_VALUE)) {
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

/* SMTP, server direction: one byte other than the line's LF handling. */
static void lp_smtp_server(struct lp_state *s, const struct lp_out *o,
			   u32 pos, u8 c)
{
	u8 f;

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
		if (!lp_sep(c)) {
			lp_kw_byte(s, c);
			break;
		}
		f = lp_kw_end(s, o, pos, 0);
		s->st = S_SKIP;
		if (f & LP_KW_AUTH) {
			s->flags |= LPF_VALUES;
			lp_kw_start(s);
			s->st = S_VALS;
		}
		break;
	case S_VALS:
		if (!lp_sep(c)) {
			lp_kw_byte(s, c);
			break;
		}
		lp_kw_end(s, o, pos, LP_KW_VALUE | LP_KW_AUTH);
		lp_kw_start(s);
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
		if (!lp_sep(c) && !(c == ']' && s->st == S_CAPS_BR)) {
			lp_kw_byte(s, c);
			break;
		}
		lp_kw_end(s, o, pos, 0);
		lp_kw_start(s);
		if (c == ']')
			s->st = S_SKIP;
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

static void lp_eol(struct lp_state *s, const struct lp_out *o, u32 pos)
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
			s->flags &= ~LPF_TLS;
			if (cmd == LP_CMD_STARTTLS)
				s->flags |= LPF_TLS;
		}
	} else if (lp_proto_of(s) == LP_SMTP) {
		/* the reply goes on, or ends (and may accept STARTTLS) */
		if ((fl & LPF_LINEOK) && !(fl & LPF_LAST)) {
			s->flags |= LPF_MULTI;
		} else if (fl & LPF_LINEOK) {
			if ((fl & LPF_TLS) && (fl & LPF_GREETED) &&
			    s->acc == 220 && s->st != S_LONG)
				s->flags |= LPF_ACCEPT;
			s->flags &= ~LPF_MULTI;
			s->flags |= LPF_GREETED;
		}
	} else if (s->st == S_LONG) {
		s->flags &= ~LPF_ACCEPT;	/* no event from it */
	}
	fl = s->flags;
	s->st = S_BOL;
	s->col = 0;
	s->tok = 0;
	s->lit = LIT_NONE;
	s->kwm = 0;
	s->flags &= ~LPF_LINE;
	s->off = pos + 1;
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
static bool lp_byte(struct lp_state *s, const struct lp_out *o, u8 c)
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
		if (st->flags & LPF_INLIT) {
			n = len - i;
			if (n > st->acc)
				n = st->acc;
			if (n > LP_BUDGET - st->off)
				n = LP_BUDGET - st->off;
			st->acc -= n;
			st->off += n;
			i += n;
			if (!st->acc)
				st->flags &= ~LPF_INLIT;
			continue;
		}
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
