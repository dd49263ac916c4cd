// SPDX-License-Identifier: GPL-2.0
/*
 * Throughput of kmod/parse.c (make parser-bench).
 *
 * Jobs: the SMTP transcripts (transcripts/postfix-*.dlg), the IMAP
 * transcripts (the other .dlg files), two ACAP dialogs written after RFC
 * 2244 and RFC 2595 (the same text as test_parse.c's acap-starttls and
 * acap-auth: there is no captured ACAP transcript), and a worst-case flow:
 * an EHLO reply of LP_BUDGET bytes of keywords.
 *
 * Feeds (modes), both directions of every dialog, each direction on its own
 * lp_state (the directions are not linked: no lp_note_command()):
 *   record    one lp_feed() per transcript record (one segment per send)
 *   1460      each direction's stream in segments of at most 1460 bytes
 *             (the MSS of a 1500-byte MTU)
 *   whole     each direction's stream in one lp_feed()
 *   bytewise  one lp_feed() per byte (the worst segmentation)
 * No direction of a transcript exceeds 1460 bytes, so for them 1460 and
 * whole feed the same; the LP_BUDGET flow differs.
 *
 * A measurement is RUNS runs of at least SECONDS of thread CPU time each:
 * batches of 1, 2, 4, ... passes over the job, the clock read between
 * batches only (reading CLOCK_THREAD_CPUTIME_ID is a system call: in a VM
 * it can take longer than a pass). Reported: bytes consumed by lp_feed()
 * per second (MB = 10^6 bytes) and ns per byte, as the median over the
 * runs with the minimum and maximum, and events per second (median run).
 * Bytes the parser does not consume (after its DONE) are not counted.
 *
 * Environment:
 *   BENCH_SECONDS  seconds per run (default 0.2)
 *   BENCH_RUNS     runs per measurement (default 7)
 *   BENCH_ONLY     measure only the lines whose "job mode" contains it
 *   BENCH_PASSES   instead: exactly that many passes, one run, and print
 *                  the bytes they consumed (for valgrind --tool=callgrind
 *                  --toggle-collect=lp_feed: instructions per byte)
 *
 * Usage: bench_parse [TRANSCRIPT_DIR]
 */
#include "parse.h"
#include "dlg.h"

#include <dirent.h>
#include <time.h>

#define MAXDLG	64
#define MAXRUNS	101
#define SEG	1460

enum mode { M_RECORD, M_SEG, M_WHOLE, M_BYTE, M_NMODES };

static const char *const mode_name[] = { "record", "1460", "whole",
					 "bytewise" };

static unsigned long events;

static void count_cb(void *ctx, const struct lp_event *ev)
{
	(void)ctx;
	(void)ev;
	events++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct job {
	const char *name;
	enum lp_proto proto;
	struct dlg *d[MAXDLG];
	int n;
};

/* Feed buf[0, len) in pieces of at most seg bytes; returns the consumed. */
static size_t feed_segs(struct lp_state *st, const uint8_t *p, size_t len,
			size_t seg)
{
	size_t bytes = 0, k, n, want;

	for (k = 0; k < len; k += want) {
		want = len - k < seg ? len - k : seg;
		n = lp_feed(st, p + k, want, count_cb, NULL);
		bytes += n;
		if (n < want)
			break;
	}
	return bytes;
}

/* One pass over every stream of the job; returns the bytes consumed. */
static size_t pass(const struct job *j, enum mode m)
{
	struct lp_state cl, sv;
	size_t bytes = 0, cpos, spos, len;
	const uint8_t *p;
	int i, r;

	for (i = 0; i < j->n; i++) {
		const struct dlg *d = j->d[i];

		lp_init(&cl, j->proto, LP_CLIENT);
		lp_init(&sv, j->proto, LP_SERVER);
		if (m == M_SEG || m == M_WHOLE) {
			len = m == M_SEG ? SEG : (size_t)-1;
			bytes += feed_segs(&sv, d->s, d->slen, len);
			bytes += feed_segs(&cl, d->c, d->clen, len);
			continue;
		}
		cpos = spos = 0;
		for (r = 0; r < d->nrec; r++) {
			bool srv = d->dir[r] == 'S';
			struct lp_state *st = srv ? &sv : &cl;

			if (srv) {
				len = (r + 1 < d->nrec ? d->sbefore[r + 1] :
				       d->slen) - spos;
				p = d->s + spos;
				spos += len;
			} else {
				len = (r + 1 < d->nrec ? d->cstart[r + 1] :
				       d->clen) - cpos;
				p = d->c + cpos;
				cpos += len;
			}
			if (m == M_RECORD)
				bytes += lp_feed(st, p, len, count_cb, NULL);
			else
				bytes += feed_segs(st, p, len, 1);
		}
	}
	return bytes;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct opts {
	double seconds;
	int runs;
	long passes;
	const char *only;
};

static void measure(const struct job *j, enum mode m, const struct opts *o)
{
	double mbs[MAXRUNS], nsb[MAXRUNS], evs[MAXRUNS], t0, t;
	unsigned long long bytes, iters, batch, b;
	char label[64];
	int r;

	snprintf(label, sizeof(label), "%s %s", j->name, mode_name[m]);
	if (o->only && !strstr(label, o->only))
		return;
	if (o->passes > 0) {
		bytes = 0;
		for (iters = 0; iters < (unsigned long long)o->passes; iters++)
			bytes += pass(j, m);
		printf("%-20s %llu passes, %llu bytes consumed (%zu per pass)\n",
		       label, iters, bytes, pass(j, m));
		return;
	}
	for (r = 0; r < o->runs; r++) {
		events = 0;
		bytes = 0;
		iters = 0;
		batch = 1;
		t0 = now();
		do {
			for (b = 0; b < batch; b++)
				bytes += pass(j, m);
			iters += batch;
			batch *= 2;
			t = now() - t0;
		} while (t < o->seconds);
		mbs[r] = bytes / t / 1e6;
		nsb[r] = t * 1e9 / bytes;
		evs[r] = events / t / 1e6;
	}
	qsort(mbs, o->runs, sizeof(double), cmp_double);
	qsort(nsb, o->runs, sizeof(double), cmp_double);
	qsort(evs, o->runs, sizeof(double), cmp_double);
	printf("%-20s %7.1f MB/s [%7.1f %7.1f] %6.3f ns/byte [%6.3f %6.3f] %6.2f Mev/s\n",
	       label, mbs[o->runs / 2], mbs[0], mbs[o->runs - 1],
	       nsb[o->runs / 2], nsb[0], nsb[o->runs - 1], evs[o->runs / 2]);
}

#define ADD(d, dir, str)	dlg_add(d, dir, str, sizeof(str) - 1)

int main(int argc, char **argv)
{
	const char *tdir = argc > 1 ? argv[1] : "selftests/parser/transcripts";
	static struct dlg dl[MAXDLG], budget = { .name = "budget" },
		acap1 = { .name = "acap-starttls" },
		acap2 = { .name = "acap-auth" };
	struct job smtp = { .name = "smtp", .proto = LP_SMTP };
	struct job imap = { .name = "imap", .proto = LP_IMAP };
	struct job acap = { .name = "acap", .proto = LP_ACAP };
	struct job worst = { .name = "smtp-budget", .proto = LP_SMTP };
	const struct job *jobs[] = { &smtp, &imap, &acap, &worst };
	struct opts o = { 0.2, 7, 0, getenv("BENCH_ONLY") };
	const char *env;
	struct dirent *de;
	char path[512];
	DIR *dir;
	uint8_t *big;
	int n = 0, i, m;

	env = getenv("BENCH_SECONDS");
	if (env)
		o.seconds = atof(env);
	env = getenv("BENCH_RUNS");
	if (env)
		o.runs = atoi(env);
	if (o.runs < 1 || o.runs > MAXRUNS)
		o.runs = 7;
	env = getenv("BENCH_PASSES");
	if (env)
		o.passes = atol(env);

	dir = opendir(tdir);
	if (!dir) {
		perror(tdir);
		return 2;
	}
	while ((de = readdir(dir)) && n < MAXDLG) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".dlg"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tdir, de->d_name);
		dl[n].name = strdup(de->d_name);
		if (dlg_load(&dl[n], path))
			return 2;
		if (!strncmp(de->d_name, "postfix", 7))
			smtp.d[smtp.n++] = &dl[n];
		else
			imap.d[imap.n++] = &dl[n];
		n++;
	}
	closedir(dir);

	/* test_parse.c: acap_starttls and acap_auth (RFC 2244, RFC 2595) */
	ADD(&acap1, 'S', "* ACAP (IMPLEMENTATION \"ACME v3.5\") "
	    "(SASL \"CRAM-MD5\" \"PLAIN\") (STARTTLS)\r\n");
	ADD(&acap1, 'C', "a001 STARTTLS\r\n");
	ADD(&acap1, 'S', "a001 OK \"Begin TLS negotiation now\"\r\n");
	ADD(&acap1, 'C', "\x16\x03\x01");
	ADD(&acap2, 'S', "* ACAP (IMPLEMENTATION {9}\r\n(STARTTLS)) "
	    "(CONTEXTLIMIT \"200\") (X-NEST (a (b)) \"c\") (SASL "
	    "\"CRAM-MD5\" \"KERBEROS_V4\" {5}\r\nPLAIN) (XXXXXXXA)\r\n");
	ADD(&acap2, 'C', "A001 AUTHENTICATE \"CRAM-MD5\"\r\n");
	ADD(&acap2, 'S', "+ \"<1896.697170952@postoffice.reston.mci.net>\"\r\n");
	ADD(&acap2, 'C', "\"tim b913a602c7eda7a495b4e6e7334d3890\"\r\n");
	ADD(&acap2, 'S', "A001 OK \"CRAM-MD5 authentication successful\"\r\n");
	acap.d[acap.n++] = &acap1;
	acap.d[acap.n++] = &acap2;

	dlg_add(&budget, 'S', "220 mx\r\n250-mx\r\n", 16);
	big = malloc(LP_BUDGET + 13);
	for (i = 0; i < LP_BUDGET; i += 13)
		memcpy(big + i, "250-KEYWORD\r\n", 13);
	dlg_add(&budget, 'S', big, i);
	free(big);
	worst.d[worst.n++] = &budget;

	printf("parse.c: sizeof(struct lp_state) = %zu, %d transcripts (smtp %d, imap %d), acap %d dialogs\n",
	       sizeof(struct lp_state), n, smtp.n, imap.n, acap.n);
	if (!o.passes)
		printf("%d runs of at least %.2f s thread CPU time each: median [min max]\n",
		       o.runs, o.seconds);
	for (m = 0; m < M_NMODES; m++)
		for (i = 0; i < (int)(sizeof(jobs) / sizeof(jobs[0])); i++)
			measure(jobs[i], m, &o);
	for (i = 0; i < n; i++)
		dlg_free(&dl[i]);
	dlg_free(&budget);
	dlg_free(&acap1);
	dlg_free(&acap2);
	return 0;
}
