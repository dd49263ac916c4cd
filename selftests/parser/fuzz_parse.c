// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for kmod/parse.c (make fuzz; make parser-test runs it
 * briefly). Build: clang -fsanitize=fuzzer,address,undefined -Ikmod.
 *
 * Input:
 *   byte 0   control: bits 0-3 n, the number of cut lengths;
 *            bit 4: lp_note_command(STARTTLS, tag = byte 1) on the server
 *            state before the first byte; bit 5: lp_note_command(AUTH)
 *            after the first chunk; bit 6: lp_stop() from the callback
 *            after (byte 1 & 15) + 1 events
 *   byte 1   the STARTTLS tag (one byte)
 *   n bytes  chunk lengths, cycled until the stream ends (0 = an empty
 *            feed; all zero: the rest in one feed)
 *   rest     the stream
 * Every input is parsed by all six (protocol, direction) parsers, cut as
 * above and whole (the notes at the same offsets); the two event lists
 * must be identical, and the cut run is checked against the invariants of
 * parse.h: events in stream order and inside the consumed bytes, keywords
 * non-empty and disjoint, each COMMAND after its COMMAND_START, per
 * direction event types only, one DONE and nothing after it, lp_feed()
 * consuming everything until DONE and nothing after, the state untouched
 * once done, LP_BUDGET never exceeded and always reached.
 */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXEV	(1 << 15)

struct run {
	struct lp_event ev[MAXEV];
	int n;
	struct lp_state *st;
	int stop_after;		/* -1: never */
	enum lp_dir dir;
	/* invariant state */
	uint32_t fed_end;	/* stream offset of the end of this feed */
	uint32_t end, kwend;
	int start;		/* index of the open COMMAND_START, or -1 */
	int done;
	int stopped;		/* lp_stop() was called */
};

static struct run cut_run, whole_run;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_parse: %s:%d: %s\n", __FILE__,	\
			__LINE__, #c);					\
		abort();						\
	}								\
} while (0)

static void cb(void *ctx, const struct lp_event *ev)
{
	struct run *r = ctx;
	uint32_t end = ev->off + ev->len;

	CHECK(!r->done && !r->stopped);
	CHECK(r->n < MAXEV);
	r->ev[r->n++] = *ev;
	CHECK(end >= ev->off && end <= r->fed_end && end <= LP_BUDGET);
	CHECK(end >= r->end);
	r->end = end;
	switch (ev->type) {
	case LP_EV_KEYWORD:
		CHECK(r->dir == LP_SERVER);
		CHECK(ev->len > 0 && ev->len < LP_MAX_LINE_IMAP);
		CHECK(ev->off >= r->kwend);
		CHECK(!(ev->flags & ~(LP_KW_MASKED | LP_KW_STARTTLS |
				      LP_KW_AUTH | LP_KW_VALUE)));
		CHECK(!(ev->flags & LP_KW_VALUE) || (ev->flags & LP_KW_AUTH));
		CHECK(!(ev->flags & LP_KW_STARTTLS) ||
		      (ev->len == 8 && !(ev->flags & LP_KW_VALUE)));
		r->kwend = end;
		break;
	case LP_EV_COMMAND_START:
		CHECK(r->dir == LP_CLIENT);
		CHECK(ev->cmd >= LP_CMD_OTHER && ev->cmd <= LP_CMD_DATA);
		r->start = r->n - 1;
		break;
	case LP_EV_COMMAND:
		CHECK(r->dir == LP_CLIENT);
		CHECK(r->start >= 0 && ev->len > 0);
		CHECK(r->ev[r->start].off == ev->off &&
		      r->ev[r->start].cmd == ev->cmd &&
		      r->ev[r->start].tag == ev->tag &&
		      r->ev[r->start].len < ev->len);
		r->start = -1;
		break;
	case LP_EV_TLS_ACCEPTED:
		CHECK(r->dir == LP_SERVER && ev->len > 0);
		break;
	case LP_EV_DONE:
		CHECK(ev->len == 0);
		CHECK(ev->reason >= LP_DONE_TLS &&
		      ev->reason <= LP_DONE_BUDGET);
		CHECK(ev->reason != LP_DONE_BUDGET || ev->off == LP_BUDGET);
		CHECK(r->n < 2 || ev->reason == LP_DONE_TLS ||
		      r->ev[r->n - 2].type != LP_EV_TLS_ACCEPTED);
		r->done = 1;
		break;
	default:
		CHECK(0);
	}
	if (ev->type != LP_EV_DONE && r->n >= 2)
		CHECK(r->ev[r->n - 2].type != LP_EV_TLS_ACCEPTED);
	if (r->stop_after >= 0 && r->n == r->stop_after) {
		lp_stop(r->st);
		r->stopped = 1;
	}
}

static size_t parse(struct run *r, enum lp_proto p, enum lp_dir d,
		    const uint8_t *data, size_t len, const uint8_t *cuts,
		    size_t ncut, size_t first, uint8_t ctl, uint8_t tagc,
		    const struct lp_event *starttls)
{
	struct lp_state st, copy;
	struct lp_event auth;
	size_t pos = 0, want, n, ci = 0, chunk = 0;
	int nonzero = 0;

	for (n = 0; cuts && n < ncut; n++)
		nonzero |= cuts[n];
	r->n = 0;
	r->st = &st;
	r->stop_after = ctl & 0x40 ? (tagc & 15) + 1 : -1;
	r->dir = d;
	r->end = r->kwend = 0;
	r->start = -1;
	r->done = 0;
	r->stopped = 0;
	lp_init(&st, p, d);
	CHECK(sizeof(st) == LP_STATE_SIZE);
	if (ctl & 0x10)
		lp_note_command(&st, starttls);
	auth = *starttls;
	auth.cmd = LP_CMD_AUTH;
	while (pos < len || (chunk == 1 && (ctl & 0x20))) {
		if (chunk == 1 && (ctl & 0x20)) {
			lp_note_command(&st, &auth);
			ctl &= ~0x20;
		}
		if (cuts) {
			want = nonzero ? cuts[ci] : len - pos;
			ci = (ci + 1) % ncut;
		} else {
			/* whole: cut only where the AUTH note goes, at the
			 * end of the cut run's first chunk
			 */
			want = chunk == 0 && (ctl & 0x20) ? first : len - pos;
		}
		if (want > len - pos)
			want = len - pos;
		chunk++;
		r->fed_end = lp_offset(&st) + want;
		n = lp_feed(&st, data + pos, want, cb, r);
		CHECK(n <= want);
		pos += n;
		CHECK(lp_offset(&st) == pos);
		if (n < want)
			CHECK(lp_done(&st));
		if (lp_done(&st))
			break;
	}
	CHECK(pos <= LP_BUDGET);
	if (len >= LP_BUDGET && r->stop_after < 0)
		CHECK(lp_done(&st));
	if (r->done)
		CHECK(pos == r->ev[r->n - 1].off);
	if (lp_done(&st)) {
		int before = r->n;

		copy = st;
		r->fed_end = lp_offset(&st) + len;
		CHECK(lp_feed(&st, data, len, cb, r) == 0);
		CHECK(r->n == before);
		CHECK(!memcmp(&copy, &st, sizeof(st)));
	}
	return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum lp_proto protos[] = { LP_SMTP, LP_IMAP, LP_ACAP };
	struct lp_state cl;
	struct lp_event starttls = { 0 };
	uint8_t ctl, tagc, line[16];
	const uint8_t *cuts;
	size_t ncut, a, b, first;
	int p, d, i;

	if (size < 2)
		return 0;
	ctl = data[0];
	tagc = data[1];
	ncut = ctl & 15;
	if (size < 2 + ncut)
		return 0;
	cuts = data + 2;
	data += 2 + ncut;
	size -= 2 + ncut;
	first = size;
	for (a = 0; a < ncut; a++)
		if (cuts[a]) {
			first = cuts[0];
			break;
		}

	/* The STARTTLS command event the client parser gives for the tag. */
	memcpy(line, "x STARTTLS\r\n", 12);
	line[0] = tagc;
	lp_init(&cl, LP_IMAP, LP_CLIENT);
	whole_run.dir = LP_CLIENT;
	whole_run.n = 0;
	whole_run.stop_after = -1;
	whole_run.start = -1;
	whole_run.done = 0;
	whole_run.stopped = 0;
	whole_run.end = whole_run.kwend = 0;
	whole_run.fed_end = 12;
	lp_feed(&cl, line, 12, cb, &whole_run);
	starttls.type = LP_EV_COMMAND_START;
	starttls.cmd = LP_CMD_STARTTLS;
	for (i = 0; i < whole_run.n; i++)
		if (whole_run.ev[i].type == LP_EV_COMMAND_START)
			starttls.tag = whole_run.ev[i].tag;

	for (p = 0; p < 3; p++) {
		for (d = 0; d < 2; d++) {
			a = parse(&cut_run, protos[p], d, data, size,
				  ncut ? cuts : NULL, ncut, first, ctl, tagc,
				  &starttls);
			b = parse(&whole_run, protos[p], d, data, size, NULL,
				  0, first, ctl, tagc, &starttls);
			CHECK(a == b);
			CHECK(cut_run.n == whole_run.n);
			CHECK(!memcmp(cut_run.ev, whole_run.ev,
				      cut_run.n * sizeof(cut_run.ev[0])));
		}
	}
	return 0;
}
