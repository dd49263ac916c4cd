// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of kmod/parse.c on real transcripts (transcripts/NAME.dlg,
 * recorded from Postfix 3.7 and Dovecot 2.3 by capture.py) and on the
 * examples of RFC 3207, 3501, 9051, 2244 and 2595, plus masked, malformed
 * and hostile variants.
 *
 * Every stream is parsed whole, byte by byte, split at every byte boundary,
 * split in three at many boundary pairs and at random cut sets, and the
 * complete event lists must be identical. The whole-stream events are then
 * rendered as text and compared with the expected rendering:
 *   K[flags]:text      LP_EV_KEYWORD (flags M masked, S starttls, A auth,
 *                      V value)
 *   S<cmd>:text        LP_EV_COMMAND_START (text: tag and verb)
 *   C<cmd>@off+len     LP_EV_COMMAND
 *   T@off+len          LP_EV_TLS_ACCEPTED
 *   D<reason>@off      LP_EV_DONE
 * Dialogs link the directions as the kernel does: each client
 * COMMAND_START is passed to lp_note_command() on the server state when
 * the server stream is where it was when the command was sent.
 *
 * Usage: test_parse [-v] [TRANSCRIPT_DIR]
 *        test_parse --write-corpus DIR [TRANSCRIPT_DIR]
 */
#include "parse.h"
#include "dlg.h"

#include <stdarg.h>
#include <stdbool.h>

#define MAXEV		4096
#define MAXNOTE		64
#define OUTSZ		16384

struct evlog {
	struct lp_event ev[MAXEV];
	int n;
	bool over;
	struct lp_state *st;	/* for the stop test */
	int stop_after;		/* lp_stop() after this many events, or -1 */
};

struct note {
	size_t at;		/* server offset */
	struct lp_event ev;
};

static int failures, checks, verbose;
static const char *corpus;	/* --write-corpus DIR */
static const char *tdir = "selftests/parser/transcripts";

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "FAIL %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void rec_cb(void *ctx, const struct lp_event *ev)
{
	struct evlog *log = ctx;

	if (log->n >= MAXEV) {
		log->over = true;
		return;
	}
	log->ev[log->n++] = *ev;
	if (log->stop_after >= 0 && log->n == log->stop_after)
		lp_stop(log->st);
}

static void log_init(struct evlog *log)
{
	log->n = 0;
	log->over = false;
	log->st = NULL;
	log->stop_after = -1;
}

/*
 * Feed buf[0, len) cut at cuts[] (ascending), applying each note when the
 * stream reaches its offset; returns the bytes consumed.
 */
static size_t run(const char *name, enum lp_proto p, enum lp_dir d,
		  const uint8_t *buf, size_t len, const size_t *cuts, int ncuts,
		  const struct note *notes, int nnotes, struct evlog *log)
{
	struct lp_state st;
	size_t pos = 0, next, n;
	int ci = 0, ni = 0;

	log_init(log);
	lp_init(&st, p, d);
	while (pos < len) {
		while (ni < nnotes && notes[ni].at <= pos)
			lp_note_command(&st, &notes[ni++].ev);
		while (ci < ncuts && cuts[ci] <= pos)
			ci++;
		next = len;
		if (ci < ncuts && cuts[ci] < next)
			next = cuts[ci];
		if (ni < nnotes && notes[ni].at < next)
			next = notes[ni].at;
		n = lp_feed(&st, buf + pos, next - pos, rec_cb, log);
		if (n > next - pos) {
			fail(name, "lp_feed consumed %zu of %zu", n, next - pos);
			return pos;
		}
		pos += n;
		if (pos < next || lp_done(&st))
			break;
	}
	/* notes at the very end, and an empty feed that reports them */
	while (ni < nnotes && notes[ni].at <= pos)
		lp_note_command(&st, &notes[ni++].ev);
	if (!lp_done(&st) && lp_feed(&st, buf + pos, 0, rec_cb, log))
		fail(name, "an empty feed consumed bytes");
	if (lp_offset(&st) != pos)
		fail(name, "lp_offset %u, consumed %zu", lp_offset(&st), pos);
	if (lp_done(&st) && lp_feed(&st, buf, len, rec_cb, log) != 0)
		fail(name, "lp_feed after DONE consumed bytes");
	return pos;
}

static bool same_events(const struct evlog *a, const struct evlog *b)
{
	int i;

	if (a->n != b->n || a->over || b->over)
		return false;
	for (i = 0; i < a->n; i++) {
		const struct lp_event *x = &a->ev[i], *y = &b->ev[i];

		if (x->off != y->off || x->len != y->len || x->tag != y->tag ||
		    x->type != y->type || x->cmd != y->cmd ||
		    x->flags != y->flags || x->reason != y->reason)
			return false;
	}
	return true;
}

static const char *cmd_name(int c)
{
	static const char *const n[] = {
		"NONE", "OTHER", "STARTTLS", "AUTH", "EHLO", "HELO",
		"CAPABILITY", "DATA",
	};

	return c >= 0 && c < (int)(sizeof(n) / sizeof(n[0])) ? n[c] : "?";
}

static const char *reason_name(int r)
{
	static const char *const n[] = {
		"NONE", "TLS", "AUTH", "DATA", "GARBAGE", "BUDGET",
	};

	return r >= 0 && r < (int)(sizeof(n) / sizeof(n[0])) ? n[r] : "?";
}

static void put_text(char **o, char *end, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && *o < end - 5; i++) {
		if (buf[i] > ' ' && buf[i] < 0x7f)
			*(*o)++ = buf[i];
		else
			*o += sprintf(*o, "\\x%02x", buf[i]);
	}
}

/* The rendering described at the top; events separated by spaces. */
static void render(const struct evlog *log, const uint8_t *buf, char *out)
{
	char *o = out, *end = out + OUTSZ - 64;
	int i;

	*o = 0;
	for (i = 0; i < log->n && o < end; i++) {
		const struct lp_event *ev = &log->ev[i];

		if (i)
			*o++ = ' ';
		switch (ev->type) {
		case LP_EV_KEYWORD:
			*o++ = 'K';
			if (ev->flags) {
				*o++ = '[';
				if (ev->flags & LP_KW_MASKED)
					*o++ = 'M';
				if (ev->flags & LP_KW_STARTTLS)
					*o++ = 'S';
				if (ev->flags & LP_KW_AUTH)
					*o++ = 'A';
				if (ev->flags & LP_KW_VALUE)
					*o++ = 'V';
				*o++ = ']';
			}
			*o++ = ':';
			put_text(&o, end, buf + ev->off, ev->len);
			break;
		case LP_EV_COMMAND_START:
			o += sprintf(o, "S%s:", cmd_name(ev->cmd));
			put_text(&o, end, buf + ev->off, ev->len);
			break;
		case LP_EV_COMMAND:
			o += sprintf(o, "C%s@%u+%u", cmd_name(ev->cmd), ev->off,
				     ev->len);
			break;
		case LP_EV_TLS_ACCEPTED:
			o += sprintf(o, "T@%u+%u", ev->off, ev->len);
			break;
		case LP_EV_DONE:
			o += sprintf(o, "D%s@%u", reason_name(ev->reason),
				     ev->off);
			break;
		default:
			o += sprintf(o, "?%d", ev->type);
		}
	}
	*o = 0;
}

/* Structural invariants of one event list over a stream of len bytes. */
static void check_events(const char *name, const struct evlog *log,
			 size_t len, size_t consumed)
{
	uint32_t end = 0, kwend = 0;
	int i, start = -1;

	for (i = 0; i < log->n; i++) {
		const struct lp_event *ev = &log->ev[i];

		if (ev->off + ev->len < end)
			fail(name, "event %d ends before the previous one", i);
		end = ev->off + ev->len;
		if (end > consumed || end > len)
			fail(name, "event %d beyond the consumed bytes", i);
		if (ev->type == LP_EV_KEYWORD) {
			if (ev->off < kwend || !ev->len)
				fail(name, "keyword %d overlaps or empty", i);
			kwend = end;
		}
		if (ev->type == LP_EV_COMMAND_START)
			start = i;
		if (ev->type == LP_EV_COMMAND &&
		    (start < 0 || log->ev[start].off != ev->off ||
		     log->ev[start].cmd != ev->cmd ||
		     log->ev[start].tag != ev->tag))
			fail(name, "COMMAND %d without its COMMAND_START", i);
		if (ev->type == LP_EV_DONE &&
		    (i != log->n - 1 || ev->off != consumed || ev->len))
			fail(name, "DONE %d not last or not at the end", i);
	}
	if (consumed != len && (!log->n || log->ev[log->n - 1].type !=
				LP_EV_DONE))
		fail(name, "consumed %zu of %zu without DONE", consumed, len);
}

/*
 * Parse buf whole, then byte by byte and split in every other way; all the
 * event lists must be identical. Leaves the whole-stream events in ref.
 */
static void check_stream(const char *name, enum lp_proto p, enum lp_dir d,
			 const uint8_t *buf, size_t len,
			 const struct note *notes, int nnotes,
			 struct evlog *ref)
{
	static struct evlog log;
	size_t *cuts = calloc(len + 1, sizeof(*cuts));
	size_t consumed, k, i, j, si, sj;
	int r;

	consumed = run(name, p, d, buf, len, NULL, 0, notes, nnotes, ref);
	check_events(name, ref, len, consumed);
	checks++;
	for (k = 0; k < len; k++)
		cuts[k] = k + 1;
	run(name, p, d, buf, len, cuts, (int)len, notes, nnotes, &log);
	if (!same_events(ref, &log))
		fail(name, "byte-by-byte events differ (%d vs %d)", log.n,
		     ref->n);
	checks++;
	for (k = 1; k < len; k++) {
		cuts[0] = k;
		run(name, p, d, buf, len, cuts, 1, notes, nnotes, &log);
		if (!same_events(ref, &log)) {
			fail(name, "events differ when cut at %zu", k);
			break;
		}
	}
	checks++;
	/* about 5000 pairs at most */
	si = len / 50 > 7 ? len / 50 : 7;
	sj = len / 100 > 13 ? len / 100 : 13;
	for (i = 1; i < len; i += si) {
		for (j = i + 1; j < len; j += sj) {
			cuts[0] = i;
			cuts[1] = j;
			run(name, p, d, buf, len, cuts, 2, notes, nnotes, &log);
			if (!same_events(ref, &log)) {
				fail(name, "events differ when cut at %zu, %zu",
				     i, j);
				i = len;
				break;
			}
		}
	}
	checks++;
	srand(len);
	for (r = 0; r < (len > 2000 ? 20 : 300) && len > 1; r++) {
		int n = 0;

		for (k = 1; k < len; k++)
			if (rand() % 5 == 0)
				cuts[n++] = k;
		run(name, p, d, buf, len, cuts, n, notes, nnotes, &log);
		if (!same_events(ref, &log)) {
			fail(name, "events differ at random cut set %d", r);
			break;
		}
	}
	checks++;
	free(cuts);
}

static void expect(const char *name, const char *what, const char *got,
		   const char *want)
{
	checks++;
	if (want && strcmp(got, want)) {
		fail(name, "%s events\n  got:  %s\n  want: %s", what, got,
		     want);
	} else if (verbose) {
		printf("ok %s %s: %s\n", name, what, got);
	}
}

struct rec {
	char dir;
	const char *data;
	size_t len;
};

#define R(d, s)	{ d, s, sizeof(s) - 1 }

struct tcase {
	const char *name;
	enum lp_proto proto;
	const char *file;	/* in tdir, or NULL */
	const struct rec *recs;	/* ended by dir 0 */
	const char *want_s, *want_c;
};

static FILE *corpus_out(const char *dir, const char *name, const char *ext)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", dir, name, ext);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(2);
	}
	return f;
}

/* Fuzzer seeds (format in fuzz_parse.c): no cuts; the server with a note. */
static void write_seed(const char *dir, const struct tcase *t,
		       const struct dlg *dl, const struct evlog *clog)
{
	uint8_t ctl = 0, tagc = 'a';
	FILE *f;
	int i;

	for (i = 0; i < clog->n; i++) {
		const struct lp_event *ev = &clog->ev[i];

		if (ev->type == LP_EV_COMMAND_START &&
		    ev->cmd == LP_CMD_STARTTLS) {
			ctl = 0x10;
			if (t->proto != LP_SMTP)
				tagc = dl->c[ev->off];
		}
	}
	if (dl->slen) {
		f = corpus_out(dir, t->name, "s");
		fputc(ctl, f);
		fputc(tagc, f);
		fwrite(dl->s, 1, dl->slen, f);
		fclose(f);
	}
	if (dl->clen) {
		f = corpus_out(dir, t->name, "c");
		fputc(0, f);
		fputc(tagc, f);
		fwrite(dl->c, 1, dl->clen, f);
		fclose(f);
	}
}

static void run_case(const struct tcase *t)
{
	static struct evlog clog, slog;
	static char out[OUTSZ];
	struct note notes[MAXNOTE];
	struct dlg dl = { .name = t->name };
	char path[512];
	int i, nn = 0;

	if (t->file) {
		snprintf(path, sizeof(path), "%s/%s.dlg", tdir, t->file);
		if (dlg_load(&dl, path)) {
			fail(t->name, "cannot load %s", path);
			return;
		}
	} else {
		for (i = 0; t->recs[i].dir; i++)
			dlg_add(&dl, t->recs[i].dir, t->recs[i].data,
				t->recs[i].len);
	}
	check_stream(t->name, t->proto, LP_CLIENT, dl.c, dl.clen, NULL, 0,
		     &clog);
	for (i = 0; i < clog.n && nn < MAXNOTE; i++) {
		const struct lp_event *ev = &clog.ev[i];

		if (ev->type != LP_EV_COMMAND_START)
			continue;
		notes[nn].at = dlg_server_at(&dl, ev->off + ev->len);
		notes[nn++].ev = *ev;
	}
	check_stream(t->name, t->proto, LP_SERVER, dl.s, dl.slen, notes, nn,
		     &slog);
	render(&slog, dl.s, out);
	expect(t->name, "server", out, t->want_s);
	render(&clog, dl.c, out);
	expect(t->name, "client", out, t->want_c);
	if (corpus)
		write_seed(corpus, t, &dl, &clog);
	dlg_free(&dl);
}

/* ---------------------------------------------------------------------- */
/* Real transcripts (see capture.py); the ClientHello/ServerHello included */

#define POSTFIX_KW "K:PIPELINING K:SIZE K:VRFY K:ETRN K[S]:STARTTLS " \
	"K[A]:AUTH K[AV]:PLAIN K[AV]:LOGIN K:ENHANCEDSTATUSCODES " \
	"K:8BITMIME K:DSN K:SMTPUTF8 K:CHUNKING"
#define DOVECOT_PRE "K:IMAP4rev1 K:SASL-IR K:LOGIN-REFERRALS K:ID " \
	"K:ENABLE K:IDLE K:LITERAL+ K[S]:STARTTLS"
#define DOVECOT_POST "K:IMAP4rev1 K:SASL-IR K:LOGIN-REFERRALS K:ID " \
	"K:ENABLE K:IDLE K:SORT K:SORT=DISPLAY K:THREAD=REFERENCES " \
	"K:THREAD=REFS K:THREAD=ORDEREDSUBJECT K:MULTIAPPEND " \
	"K:URL-PARTIAL K:CATENATE K:UNSELECT K:CHILDREN K:NAMESPACE " \
	"K:UIDPLUS K:LIST-EXTENDED K:I18NLEVEL=1 K:CONDSTORE K:QRESYNC " \
	"K:ESEARCH K:ESORT K:SEARCHRES K:WITHIN K:CONTEXT=SEARCH " \
	"K:LIST-STATUS K:BINARY K:MOVE K:SNIPPET=FUZZY K:PREVIEW=FUZZY " \
	"K:PREVIEW K:STATUS=SIZE K:SAVEDATE K:LITERAL+ K:NOTIFY " \
	"K:SPECIAL-USE"

static const struct tcase real_cases[] = {
	{ "postfix-submission-starttls", LP_SMTP,
	  "postfix-submission-starttls", NULL,
	  POSTFIX_KW " T@238+30 DTLS@268",
	  "SEHLO:EHLO CEHLO@0+25 SSTARTTLS:STARTTLS CSTARTTLS@25+10 "
	  "DTLS@35" },
	{ "postfix-submission-auth", LP_SMTP, "postfix-submission-auth", NULL,
	  POSTFIX_KW " DAUTH@280",
	  "SEHLO:EHLO CEHLO@0+25 SOTHER:MAIL COTHER@25+31 SOTHER:RCPT "
	  "COTHER@56+27 SOTHER:RSET COTHER@83+6 SAUTH:AUTH CAUTH@89+33 "
	  "DAUTH@122" },
	{ "postfix-smtp-helo", LP_SMTP, "postfix-smtp-helo", NULL,
	  "K:PIPELINING K:SIZE K:VRFY K:ETRN K[S]:STARTTLS "
	  "K:ENHANCEDSTATUSCODES K:8BITMIME K:DSN K:SMTPUTF8 K:CHUNKING",
	  "SHELO:HELO CHELO@0+25 SEHLO:EHLO CEHLO@25+25 SOTHER:QUIT "
	  "COTHER@50+6" },
	{ "dovecot-starttls", LP_IMAP, "dovecot-starttls", NULL,
	  DOVECOT_PRE " K[A]:AUTH=PLAIN K[A]:AUTH=LOGIN "
	  DOVECOT_PRE " K[A]:AUTH=PLAIN K[A]:AUTH=LOGIN T@329+33 DTLS@362",
	  "SCAPABILITY:a\\x20CAPABILITY CCAPABILITY@0+14 SOTHER:b\\x20NOOP "
	  "COTHER@14+8 SSTARTTLS:c\\x20STARTTLS CSTARTTLS@22+12 DTLS@34" },
	{ "dovecot-logindisabled", LP_IMAP, "dovecot-logindisabled", NULL,
	  DOVECOT_PRE " K:LOGINDISABLED " DOVECOT_PRE " K:LOGINDISABLED "
	  "DAUTH@291",
	  "SCAPABILITY:a\\x20CAPABILITY CCAPABILITY@0+14 "
	  "SAUTH:b\\x20LOGIN CAUTH@14+22 DAUTH@36" },
	{ "dovecot-login", LP_IMAP, "dovecot-login", NULL,
	  DOVECOT_PRE " K[A]:AUTH=PLAIN K[A]:AUTH=LOGIN DAUTH@177",
	  "SOTHER:a\\x20ID COTHER@0+30 SAUTH:b\\x20LOGIN CAUTH@30+22 "
	  "DAUTH@52" },
	{ "dovecot-authenticate", LP_IMAP, "dovecot-authenticate", NULL,
	  DOVECOT_PRE " K[A]:AUTH=PLAIN K[A]:AUTH=LOGIN DAUTH@132",
	  "SAUTH:a\\x20AUTHENTICATE CAUTH@0+22 DAUTH@22" },
};

/* ---------------------------------------------------------------------- */
/* RFC examples */

static const struct rec rfc3207[] = {
	R('S', "220 mail.imc.org SMTP service ready\r\n"),
	R('C', "EHLO mail.example.com\r\n"),
	R('S', "250-mail.imc.org offers a warm hug of welcome\r\n"
	       "250-8BITMIME\r\n250-STARTTLS\r\n250 DSN\r\n"),
	R('C', "STARTTLS\r\n"),
	R('S', "220 Go ahead\r\n"),
	R('C', "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
	{ 0, NULL, 0 }
};

/* The same, stripped and masked by a middlebox (what egress would see). */
static const struct rec rfc3207_masked[] = {
	R('S', "220 mail.imc.org SMTP service ready\r\n"),
	R('C', "EHLO mail.example.com\r\n"),
	R('S', "250-mail.imc.org offers a warm hug of welcome\r\n"
	       "250-XXXXXXXB\r\n250-XXXXXXXA\r\n250-XXXA PLAIN\r\n"
	       "250-********\r\n250-xxxxxxxx\r\n250-XFORWARD NAME ADDR\r\n"
	       "250-XA\r\n250-XXXXXXXa\r\n250 DSN\r\n"),
	R('C', "QUIT\r\n"),
	R('S', "221 Bye\r\n"),
	{ 0, NULL, 0 }
};

static const struct rec rfc3501_starttls[] = {
	R('S', "* OK IMAP4rev1 Service Ready\r\n"),
	R('C', "a001 CAPABILITY\r\n"),
	R('S', "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n"
	       "a001 OK CAPABILITY completed\r\n"),
	R('C', "a002 STARTTLS\r\n"),
	R('S', "a002 OK Begin TLS negotiation now\r\n"),
	R('C', "\x16\x03\x01\x02\x00\x01"),
	R('S', "\x16\x03\x03\x00\x7a\x02"),
	{ 0, NULL, 0 }
};

/* RFC 9051 6.1.1, with a greeting carrying the capabilities. */
static const struct rec rfc9051_starttls[] = {
	R('S', "* OK [CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI "
	       "LOGINDISABLED] Server ready\r\n"),
	R('C', "abcd CAPABILITY\r\n"),
	R('S', "* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"
	       "abcd OK CAPABILITY completed\r\n"),
	R('C', "efgh STARTTLS\r\n"),
	R('S', "efgh OK STARTTLS completed\r\n"),
	{ 0, NULL, 0 }
};

/* A pipelined NOOP answered before the STARTTLS; lower case. */
static const struct rec imap_pipelined[] = {
	R('S', "* ok [capability imap4rev1 starttls xxxxxxxa] hi\r\n"),
	R('C', "1 noop\r\n2 starttls\r\n"),
	R('S', "1 ok done\r\n* capability imap4rev1 XXXXXXXA\r\n"
	       "2 ok go\r\n"),
	R('C', "\x16\x03\x01"),
	{ 0, NULL, 0 }
};

/* The server refuses STARTTLS: watching goes on, a later OK is no accept. */
static const struct rec imap_refused[] = {
	R('S', "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"),
	R('C', "t1 STARTTLS\r\n"),
	R('S', "t1 BAD TLS unavailable\r\n"),
	R('C', "t2 NOOP\r\n"),
	R('S', "t2 OK [CAPABILITY IMAP4rev1 STARTTLS] done\r\n"),
	R('C', "t3 CAPABILITY\r\n"),
	R('S', "* CAPABILITY IMAP4rev1\r\nt3 OK\r\n"),
	{ 0, NULL, 0 }
};

/* RFC 2244-style greeting; RFC 2595 section 3's STARTTLS exchange. */
static const struct rec acap_starttls[] = {
	R('S', "* ACAP (IMPLEMENTATION \"ACME v3.5\") "
	       "(SASL \"CRAM-MD5\" \"PLAIN\") (STARTTLS)\r\n"),
	R('C', "a001 STARTTLS\r\n"),
	R('S', "a001 OK \"Begin TLS negotiation now\"\r\n"),
	R('C', "\x16\x03\x01"),
	{ 0, NULL, 0 }
};

/* ACAP, masked STARTTLS, a literal and a nested list; AUTHENTICATE. */
static const struct rec acap_auth[] = {
	R('S', "* ACAP (IMPLEMENTATION {9}\r\n(STARTTLS)) (CONTEXTLIMIT "
	       "\"200\") (X-NEST (a (b)) \"c\") (SASL \"CRAM-MD5\" "
	       "\"KERBEROS_V4\" {5}\r\nPLAIN) (XXXXXXXA)\r\n"),
	R('C', "A001 AUTHENTICATE \"CRAM-MD5\"\r\n"),
	R('S', "+ \"<1896.697170952@postoffice.reston.mci.net>\"\r\n"),
	R('C', "\"tim b913a602c7eda7a495b4e6e7334d3890\"\r\n"),
	R('S', "A001 OK \"CRAM-MD5 authentication successful\"\r\n"),
	{ 0, NULL, 0 }
};

/* SMTP: pipelined replies before the STARTTLS 220; AUTH=LOGIN style. */
static const struct rec smtp_pipelined[] = {
	R('S', "220-mx.example.com ESMTP\r\n220 second greeting line\r\n"),
	R('C', "ehlo c.example\r\n"),
	R('S', "250-mx.example.com Hello\r\n250-AUTH=LOGIN PLAIN\r\n"
	       "250-starttls\r\n250-SIZE\r\n250 8BITMIME\r\n"),
	R('C', "RSET\r\nNOOP\r\nSTARTTLS\r\n"),
	R('S', "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n220 2.0.0 Ready\r\n"),
	{ 0, NULL, 0 }
};

/* A STARTTLS before the greeting: the greeting's 220 is no acceptance. */
static const struct rec smtp_early[] = {
	R('C', "STARTTLS\r\n"),
	R('S', "220 mx ESMTP\r\n454 4.7.0 TLS not available\r\n"),
	R('C', "EHLO x\r\n"),
	R('S', "250-mx\r\n250 STARTTLS\r\n"),
	R('C', "DATA\r\n"),
	R('S', "354 go\r\n"),
	R('C', "STARTTLS\r\n.\r\n"),
	{ 0, NULL, 0 }
};

/* Bare LF line ends, TAB, and HELO answered by a single line. */
static const struct rec smtp_lf[] = {
	R('S', "220 mx\n"),
	R('C', "HELO x\nEHLO y\n"),
	R('S', "250 mx\n250-mx\n250-STARTTLS\n250-AUTH\tLOGIN\n250 DSN\n"),
	R('C', "STARTTLS\n"),
	R('S', "220 go\n"),
	R('C', "X\n"),
	{ 0, NULL, 0 }
};

#define LONG10 "0123456789"
#define LONG80 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 \
	LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10 LONG10
/* An over-long accepting line is no acceptance (no events from it). */
static const struct rec imap_long_ok[] = {
	R('S', "* OK hi\r\n"),
	R('C', "a STARTTLS\r\n"),
	R('S', "a OK " LONG80 LONG80 LONG80 LONG80 LONG80 LONG80 "\r\n"
	       "* CAPABILITY STARTTLS\r\n"),
	R('C', "b NOOP\r\n"),
	{ 0, NULL, 0 }
};

static const struct tcase rfc_cases[] = {
	{ "rfc3207", LP_SMTP, NULL, rfc3207,
	  "K:8BITMIME K[S]:STARTTLS K:DSN T@121+14 DTLS@135",
	  "SEHLO:EHLO CEHLO@0+23 SSTARTTLS:STARTTLS CSTARTTLS@23+10 "
	  "DTLS@33" },
	{ "rfc3207-masked", LP_SMTP, NULL, rfc3207_masked,
	  "K[M]:XXXXXXXB K[M]:XXXXXXXA K[M]:XXXA K[M]:******** "
	  "K[M]:xxxxxxxx K:XFORWARD K:XA K:XXXXXXXa K:DSN",
	  "SEHLO:EHLO CEHLO@0+23 SOTHER:QUIT COTHER@23+6" },
	{ "rfc3501-starttls", LP_IMAP, NULL, rfc3501_starttls,
	  "K:IMAP4rev1 K[S]:STARTTLS K:LOGINDISABLED T@107+35 DTLS@142",
	  "SCAPABILITY:a001\\x20CAPABILITY CCAPABILITY@0+17 "
	  "SSTARTTLS:a002\\x20STARTTLS CSTARTTLS@17+15 DTLS@32" },
	{ "rfc9051-starttls", LP_IMAP, NULL, rfc9051_starttls,
	  "K:IMAP4rev2 K[S]:STARTTLS K[A]:AUTH=GSSAPI K:LOGINDISABLED "
	  "K:IMAP4rev2 K[S]:STARTTLS K[A]:AUTH=GSSAPI K:LOGINDISABLED "
	  "T@166+28 DTLS@194",
	  "SCAPABILITY:abcd\\x20CAPABILITY CCAPABILITY@0+17 "
	  "SSTARTTLS:efgh\\x20STARTTLS CSTARTTLS@17+15" },
	{ "imap-pipelined", LP_IMAP, NULL, imap_pipelined,
	  "K:imap4rev1 K[S]:starttls K:xxxxxxxa K:imap4rev1 "
	  "K[M]:XXXXXXXA T@94+9 DTLS@103",
	  "SOTHER:1\\x20noop COTHER@0+8 SSTARTTLS:2\\x20starttls "
	  "CSTARTTLS@8+12 DTLS@20" },
	{ "imap-refused", LP_IMAP, NULL, imap_refused,
	  "K:IMAP4rev1 K[S]:STARTTLS K:IMAP4rev1 K[S]:STARTTLS K:IMAP4rev1",
	  "SSTARTTLS:t1\\x20STARTTLS CSTARTTLS@0+13 SOTHER:t2\\x20NOOP "
	  "COTHER@13+9 SCAPABILITY:t3\\x20CAPABILITY CCAPABILITY@22+15" },
	{ "acap-starttls", LP_ACAP, NULL, acap_starttls,
	  "K:IMPLEMENTATION K[A]:SASL K[AV]:CRAM-MD5 K[AV]:PLAIN "
	  "K[S]:STARTTLS T@74+37 DTLS@111",
	  "SSTARTTLS:a001\\x20STARTTLS CSTARTTLS@0+15 DTLS@15" },
	{ "acap-auth", LP_ACAP, NULL, acap_auth,
	  "K:IMPLEMENTATION K:CONTEXTLIMIT K:X-NEST K[A]:SASL "
	  "K[AV]:CRAM-MD5 K[AV]:KERBEROS_V4 K[M]:XXXXXXXA DAUTH@137",
	  "SAUTH:A001\\x20AUTHENTICATE CAUTH@0+30 DAUTH@30" },
	{ "smtp-pipelined", LP_SMTP, NULL, smtp_pipelined,
	  "K[A]:AUTH=LOGIN K[AV]:PLAIN K[S]:starttls K:SIZE K:8BITMIME "
	  "T@166+17 DTLS@183",
	  "SEHLO:ehlo CEHLO@0+16 SOTHER:RSET COTHER@16+6 SOTHER:NOOP "
	  "COTHER@22+6 SSTARTTLS:STARTTLS CSTARTTLS@28+10" },
	{ "smtp-early-starttls", LP_SMTP, NULL, smtp_early,
	  "K[S]:STARTTLS",
	  "SSTARTTLS:STARTTLS CSTARTTLS@0+10 SEHLO:EHLO CEHLO@10+8 "
	  "SDATA:DATA CDATA@18+6 DDATA@24" },
	{ "imap-long-ok", LP_IMAP, NULL, imap_long_ok, "K[S]:STARTTLS",
	  "SSTARTTLS:a\\x20STARTTLS CSTARTTLS@0+12 SOTHER:b\\x20NOOP "
	  "COTHER@12+8" },
	{ "smtp-bare-lf", LP_SMTP, NULL, smtp_lf,
	  "K[S]:STARTTLS K[A]:AUTH K[AV]:LOGIN K:DSN T@57+7 DTLS@64",
	  "SHELO:HELO CHELO@0+7 SEHLO:EHLO CEHLO@7+7 SSTARTTLS:STARTTLS "
	  "CSTARTTLS@14+9 SOTHER:X COTHER@23+2" },
};

/* ---------------------------------------------------------------------- */
/* Single streams: limits, garbage, literals */

struct scase {
	const char *name;
	enum lp_proto proto;
	enum lp_dir dir;
	const uint8_t *data;
	size_t len;
	const char *want;
};

static void run_scase(const struct scase *t)
{
	static struct evlog log;
	static char out[OUTSZ];

	check_stream(t->name, t->proto, t->dir, t->data, t->len, NULL, 0,
		     &log);
	render(&log, t->data, out);
	expect(t->name, "stream", out, t->want);
	if (corpus) {
		FILE *f = corpus_out(corpus, t->name, "x");

		fputc(0, f);
		fputc('a', f);
		fwrite(t->data, 1, t->len, f);
		fclose(f);
	}
}

static uint8_t *fill(size_t *len, const char *head, const char *unit,
		     size_t reps, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	uint8_t *b = malloc(hl + ul * reps + tl + 1);

	memcpy(b, head, hl);
	for (i = 0; i < reps; i++)
		memcpy(b + hl + i * ul, unit, ul);
	memcpy(b + hl + ul * reps, tail, tl);
	*len = hl + ul * reps + tl;
	return b;
}

static void stream_tests(void)
{
	static const char imap_lit[] =
		"* OK hi\r\n* 1 FETCH (BODY[] {29}\r\n"
		"* CAPABILITY STARTTLS HIDDEN)\r\n"
		"* 2 FETCH (BODY[] {0}\r\n)\r\n"
		"* CAPABILITY IMAP4rev1 STARTTLS\r\n";
	static const char imap_client_lit[] =
		"a APPEND INBOX {12+}\r\nb STARTTLS\r\n\r\n"
		"c LOGIN {3}\r\nbob {6}\r\nsecret\r\nd NOOP\r\n";
	static const char smtp_nul[] =
		"220 mx\r\n250-mx\r\n250-STAR\0TTLS\r\n250 DSN\r\n";
	static const char acap_client[] =
		"a1 NOOP\r\na2 STARTTLS\r\nnot tls\r\n"
		"a3 AUTHENTICATE \"PLAIN\" {5+}\r\nx\0y\1z\r\nafter\r\n";
	static const char imap_preauth[] =
		"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"
		"* CAPABILITY IMAP4rev1\r\n";
	static const char smtp_malformed[] =
		"220 mx\r\nHTTP/1.1 400 Bad Request\r\n25\r\n250-mx\r\n"
		"250-STARTTLS\r\n2500 x\r\n250 DSN\r\n";
	static const char smtp_xup[] =
		"220 mx\r\n\r\n250-mx\r\n250-XXXAB\r\n250-XXXXXXXA\r\n250 OK\r\n";
	static const char imap_odd[] =
		"\r\n*x\r\n* OK\r\ntagonly\r\n* CAPABILITY A {3}\r\nxyz B\r\n"
		"* OK [CAPABILITY C] x\r\n";
	static const char acap_esc[] =
		"* ACAP ( SASL \"PL\\\"AIN\" \"X\\\\Y\") (STARTTLS)\r\n";
	static const char imap_client_idle[] =
		"a IDLE\r\nDONE\r\n\r\nb NOOP\r\n";
	static const char imap_codes[] =
		"* OK [ALERT] hi\r\n* OK [CAPABILITY] x\r\n"
		"* OK [CAPABILITY A B]\r\n+ [CAPABILITY C]\r\n"
		"t NO [CAPABILITY D] x\r\n* BYE [CAPABILITY E]\r\n"
		"* CAPABILITY F  G\t[H]\r\n";
	struct scase t;
	uint8_t *b, *kws;
	size_t len, k;
	char want[LP_MAX_LINE_SMTP + 64];

	t = (struct scase){ "imap-server-literal", LP_IMAP, LP_SERVER,
		(const uint8_t *)imap_lit, sizeof(imap_lit) - 1,
		"K:IMAP4rev1 K[S]:STARTTLS" };
	run_scase(&t);
	/* "b STARTTLS" is literal content: no command of its own */
	t = (struct scase){ "imap-client-literal", LP_IMAP, LP_CLIENT,
		(const uint8_t *)imap_client_lit, sizeof(imap_client_lit) - 1,
		"SOTHER:a\\x20APPEND COTHER@0+36 SAUTH:c\\x20LOGIN "
		"CAUTH@36+30 DAUTH@66" };
	run_scase(&t);
	t = (struct scase){ "smtp-nul", LP_SMTP, LP_SERVER,
		(const uint8_t *)smtp_nul, sizeof(smtp_nul) - 1,
		"K:STAR\\x00TTLS K:DSN" };
	run_scase(&t);
	t = (struct scase){ "acap-client", LP_ACAP, LP_CLIENT,
		(const uint8_t *)acap_client, sizeof(acap_client) - 1,
		"SOTHER:a1\\x20NOOP COTHER@0+9 SSTARTTLS:a2\\x20STARTTLS "
		"CSTARTTLS@9+13 SOTHER:not\\x20tls COTHER@22+9 "
		"SAUTH:a3\\x20AUTHENTICATE CAUTH@31+37 DAUTH@68" };
	run_scase(&t);
	t = (struct scase){ "imap-preauth", LP_IMAP, LP_SERVER,
		(const uint8_t *)imap_preauth, sizeof(imap_preauth) - 1,
		"K:IMAP4rev1 K[S]:STARTTLS DAUTH@49" };
	run_scase(&t);
	t = (struct scase){ "smtp-malformed", LP_SMTP, LP_SERVER,
		(const uint8_t *)smtp_malformed, sizeof(smtp_malformed) - 1,
		"K[S]:STARTTLS K:DSN" };
	run_scase(&t);
	t = (struct scase){ "imap-response-codes", LP_IMAP, LP_SERVER,
		(const uint8_t *)imap_codes, sizeof(imap_codes) - 1,
		"K:A K:B K:F K:G K:[H]" };
	run_scase(&t);

	t = (struct scase){ "smtp-xup", LP_SMTP, LP_SERVER,
		(const uint8_t *)smtp_xup, sizeof(smtp_xup) - 1,
		"K:XXXAB K[M]:XXXXXXXA K:OK" };
	run_scase(&t);
	t = (struct scase){ "imap-odd-lines", LP_IMAP, LP_SERVER,
		(const uint8_t *)imap_odd, sizeof(imap_odd) - 1,
		"K:A K:B K:C" };
	run_scase(&t);
	t = (struct scase){ "acap-escapes", LP_ACAP, LP_SERVER,
		(const uint8_t *)acap_esc, sizeof(acap_esc) - 1,
		"K[A]:SASL K[AV]:PL\\\"AIN K[AV]:X\\\\Y K[S]:STARTTLS" };
	run_scase(&t);
	t = (struct scase){ "imap-client-idle", LP_IMAP, LP_CLIENT,
		(const uint8_t *)imap_client_idle,
		sizeof(imap_client_idle) - 1,
		"SOTHER:a\\x20IDLE COTHER@0+8 SOTHER:DONE COTHER@8+6 "
		"SOTHER:b\\x20NOOP COTHER@16+8" };
	run_scase(&t);

	/* A literal longer than the budget. */
	b = fill(&len, "* 1 FETCH (BODY[] {99999}\r\n", "x", LP_BUDGET, "");
	snprintf(want, sizeof(want), "DBUDGET@%d", LP_BUDGET);
	t = (struct scase){ "imap-huge-literal", LP_IMAP, LP_SERVER, b, len,
		want };
	run_scase(&t);
	free(b);

	/* Lines of exactly LP_MAX_LINE_SMTP bytes pass, one more is long. */
	b = fill(&len, "220 mx\r\n250-mx\r\n250-", "A", LP_MAX_LINE_SMTP - 6,
		 "\r\n250-STARTTLS\r\n250-");
	b = realloc(b, len + LP_MAX_LINE_SMTP + 64);
	memset(b + len, 'B', LP_MAX_LINE_SMTP - 5);
	len += LP_MAX_LINE_SMTP - 5;
	memcpy(b + len, "\r\n250 DSN\r\n", 11);
	len += 11;
	strcpy(want, "K:");
	memset(want + 2, 'A', LP_MAX_LINE_SMTP - 6);
	strcpy(want + LP_MAX_LINE_SMTP - 4, " K[S]:STARTTLS K:DSN");
	t = (struct scase){ "smtp-long-line", LP_SMTP, LP_SERVER, b, len,
		want };
	run_scase(&t);
	free(b);

	/* A client command longer than a line: no COMMAND, next one fine. */
	b = fill(&len, "AUTH PLAIN ", "Q", LP_MAX_LINE_SMTP, "\r\nQUIT\r\n");
	t = (struct scase){ "smtp-long-command", LP_SMTP, LP_CLIENT, b, len,
		"SAUTH:AUTH SOTHER:QUIT COTHER@1013+6" };
	run_scase(&t);
	free(b);

	/* Byte budget: DONE exactly at LP_BUDGET. */
	b = fill(&len, "220 mx\r\n250-mx\r\n", "250-KW\r\n", 1100, "");
	kws = fill(&k, "", "K:KW ", (LP_BUDGET - 16) / 8, "DBUDGET@");
	kws = realloc(kws, k + 16);
	sprintf((char *)kws + k, "%d", LP_BUDGET);
	t = (struct scase){ "smtp-budget", LP_SMTP, LP_SERVER, b, len,
		(const char *)kws };
	run_scase(&t);
	free(kws);
	free(b);

	/* Binary: DONE once the garbage passes LP_MAX_GARBAGE. */
	b = fill(&len, "* OK hi\r\n", "\x01\x02\x03\xff", 20, "");
	snprintf(want, sizeof(want), "DGARBAGE@%d",
		 9 + LP_MAX_GARBAGE + LP_MAX_GARBAGE / 3 + 1);
	t = (struct scase){ "imap-garbage", LP_IMAP, LP_SERVER, b, len, want };
	run_scase(&t);
	free(b);
}

/* ---------------------------------------------------------------------- */
/* API behaviour that the kernel side relies on */

static void api_tests(void)
{
	static struct evlog log;
	static const uint8_t smtp[] = "250-x\r\n250-STARTTLS\r\n250 DSN\r\n";
	static const uint8_t cli[] = "a STARTTLS\r\n";
	struct lp_state st, srv;
	struct lp_event ev;
	size_t n;
	char out[OUTSZ];

	checks++;
	if (sizeof(struct lp_state) != LP_STATE_SIZE)
		fail("api", "sizeof(struct lp_state) %zu", sizeof(st));

	/* lp_stop() from the callback: the feed ends after that byte. */
	log_init(&log);
	lp_init(&st, LP_SMTP, LP_SERVER);
	log.st = &st;
	log.stop_after = 1;
	n = lp_feed(&st, smtp, sizeof(smtp) - 1, rec_cb, &log);
	checks++;
	if (n != 20 || log.n != 1 || !lp_done(&st) ||
	    lp_feed(&st, smtp, 3, rec_cb, &log) || log.n != 1)
		fail("api-stop", "consumed %zu, %d events", n, log.n);

	/* ... also when the same byte would report more (DONE after AUTH). */
	log_init(&log);
	lp_init(&st, LP_SMTP, LP_CLIENT);
	log.st = &st;
	log.stop_after = 2;
	n = lp_feed(&st, (const uint8_t *)"AUTH PLAIN\r\nQUIT\r\n", 18, rec_cb,
		    &log);
	checks++;
	if (n != 12 || log.n != 2 || log.ev[1].type != LP_EV_COMMAND)
		fail("api-stop-command", "consumed %zu, %d events", n, log.n);

	/* A NULL callback parses all the same. */
	lp_init(&st, LP_SMTP, LP_SERVER);
	checks++;
	if (lp_feed(&st, smtp, sizeof(smtp) - 1, NULL, NULL) !=
	    sizeof(smtp) - 1 || lp_offset(&st) != sizeof(smtp) - 1)
		fail("api-nocb", "offset %u", lp_offset(&st));

	/* Notes: a client state ignores them; AUTH stops the server. */
	lp_init(&st, LP_IMAP, LP_CLIENT);
	log_init(&log);
	lp_feed(&st, cli, sizeof(cli) - 1, rec_cb, &log);
	ev = log.ev[0];
	lp_note_command(&st, &ev);
	lp_init(&srv, LP_IMAP, LP_SERVER);
	lp_note_command(&srv, &ev);
	ev.cmd = LP_CMD_AUTH;
	ev.type = LP_EV_KEYWORD;	/* not a command: ignored */
	lp_note_command(&srv, &ev);
	checks++;
	if (lp_done(&st) || lp_done(&srv))
		fail("api-note", "a note stopped a parser");
	ev.type = LP_EV_COMMAND;
	lp_note_command(&srv, &ev);
	log_init(&log);
	n = lp_feed(&srv, smtp, 5, rec_cb, &log);
	render(&log, smtp, out);
	checks++;
	if (!lp_done(&srv) || n || strcmp(out, "DAUTH@0"))
		fail("api-note-auth", "%zu %s", n, out);
	n = lp_feed(&srv, smtp, 5, rec_cb, &log);
	checks++;
	if (n || log.n != 1)
		fail("api-note-auth", "fed after DONE");

	/* The client's TLS record is not consumed. */
	lp_init(&st, LP_SMTP, LP_CLIENT);
	log_init(&log);
	n = lp_feed(&st, (const uint8_t *)"STARTTLS\r\n\x16\x03", 12, rec_cb,
		    &log);
	checks++;
	if (n != 10 || lp_offset(&st) != 10)
		fail("api-tls-record", "consumed %zu", n);
}

int main(int argc, char **argv)
{
	unsigned int i;
	int a = 1;

	if (a < argc && !strcmp(argv[a], "-v")) {
		verbose = 1;
		a++;
	}
	if (a + 1 < argc && !strcmp(argv[a], "--write-corpus")) {
		corpus = argv[a + 1];
		a += 2;
	}
	if (a < argc)
		tdir = argv[a];

	for (i = 0; i < sizeof(real_cases) / sizeof(real_cases[0]); i++)
		run_case(&real_cases[i]);
	for (i = 0; i < sizeof(rfc_cases) / sizeof(rfc_cases[0]); i++)
		run_case(&rfc_cases[i]);
	stream_tests();
	api_tests();
	printf("parser tests: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
