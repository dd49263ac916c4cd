// SPDX-License-Identifier: GPL-2.0
/*
 * Differential libFuzzer target (make fuzz-diff): kmod/parse.c against
 * ref/parse.c, the byte-at-a-time parser of commit fdbe643 kept as the
 * definition of the events (it is compiled with its symbols renamed
 * ref_*). fuzz_parse.c compares kmod/parse.c cut with kmod/parse.c whole,
 * which cannot see a mistake both take; this target compares it with the
 * reference.
 *
 * Input: as fuzz_parse.c (byte 0: bits 0-3 the number of cut lengths,
 * bit 4 lp_note_command(STARTTLS, tag = byte 1) first, bit 5 a note of
 * AUTH after the first chunk, bit 6 lp_stop() from the callback after
 * (byte 1 & 15) + 1 events; bit 7: a STARTTLS note after the second
 * chunk; then the cut lengths and the stream). Every input runs through
 * the six (protocol, direction) parsers of both implementations, cut and
 * whole, with the same notes at the same points; after each lp_feed() the
 * bytes consumed, lp_offset() and lp_done() must be equal, and at the end
 * the event lists (every field).
 */
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ref/parse.c, renamed; its state has the same size */
struct ref_state {
	u32 words[LP_STATE_SIZE / 4];
};

void ref_lp_init(struct ref_state *st, enum lp_proto proto, enum lp_dir dir);
size_t ref_lp_feed(struct ref_state *st, const u8 *data, size_t len,
		   lp_event_fn cb, void *ctx);
void ref_lp_note_command(struct ref_state *server, const struct lp_event *cmd);
void ref_lp_stop(struct ref_state *st);
bool ref_lp_done(const struct ref_state *st);

#define MAXEV	(1 << 15)

struct log {
	struct lp_event ev[MAXEV];
	int n;
	int stop_after;		/* -1: never */
	struct lp_state *st;	/* one of these */
	struct ref_state *ref;
};

static struct log got, want;

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_diff: %s:%d: %s (proto %d dir %d)\n",\
			__FILE__, __LINE__, #c, p, d);			\
		abort();						\
	}								\
} while (0)

static void cb(void *ctx, const struct lp_event *ev)
{
	struct log *l = ctx;

	if (l->n < MAXEV)
		l->ev[l->n] = *ev;
	l->n++;
	if (l->stop_after >= 0 && l->n == l->stop_after) {
		if (l->st)
			lp_stop(l->st);
		else
			ref_lp_stop(l->ref);
	}
}

static void run(int p, int d, const u8 *data, size_t size, const u8 *cuts,
		size_t ncut, u8 ctl, u8 tagc)
{
	struct lp_event tls = {
		.type = LP_EV_COMMAND_START, .cmd = LP_CMD_STARTTLS,
		.tag = (2166136261u ^ tagc) * 16777619u,
	};
	struct lp_event auth = tls;
	struct lp_state st;
	struct ref_state ref;
	size_t pos = 0, ci = 0, want_len, a, b, k;
	int chunk = 0, nonzero = 0, n;

	auth.cmd = LP_CMD_AUTH;
	for (k = 0; k < ncut; k++)
		nonzero |= cuts[k];
	lp_init(&st, p, d);
	ref_lp_init(&ref, p, d);
	got = (struct log){ .st = &st };
	want = (struct log){ .ref = &ref };
	got.stop_after = want.stop_after = ctl & 0x40 ? (tagc & 15) + 1 : -1;
	if (ctl & 0x10) {
		lp_note_command(&st, &tls);
		ref_lp_note_command(&ref, &tls);
	}
	for (;;) {
		if (chunk == 1 && (ctl & 0x20)) {
			lp_note_command(&st, &auth);
			ref_lp_note_command(&ref, &auth);
		}
		if (chunk == 2 && (ctl & 0x80)) {
			lp_note_command(&st, &tls);
			ref_lp_note_command(&ref, &tls);
		}
		want_len = nonzero ? cuts[ci] : size - pos;
		if (ncut)
			ci = (ci + 1) % ncut;
		if (want_len > size - pos)
			want_len = size - pos;
		chunk++;
		a = lp_feed(&st, data + pos, want_len, cb, &got);
		b = ref_lp_feed(&ref, data + pos, want_len, cb, &want);
		CHECK(a == b);
		CHECK(lp_offset(&st) == ref.words[0]);
		CHECK(lp_done(&st) == ref_lp_done(&ref));
		CHECK(got.n == want.n);
		pos += a;
		if (lp_done(&st) || pos >= size)
			break;
	}
	n = got.n < MAXEV ? got.n : MAXEV;
	CHECK(!memcmp(got.ev, want.ev, n * sizeof(got.ev[0])));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t ncut;
	int p, d;

	if (size < 2)
		return 0;
	ncut = data[0] & 15;
	if (size < 2 + ncut)
		return 0;
	for (p = 0; p < 3; p++) {
		for (d = 0; d < 2; d++) {
			run(p, d, data + 2 + ncut, size - 2 - ncut,
			    data + 2, ncut, data[0], data[1]);
			run(p, d, data + 2 + ncut, size - 2 - ncut,
			    NULL, 0, data[0] & ~0x20, data[1]);
		}
	}
	return 0;
}
