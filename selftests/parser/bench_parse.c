// SPDX-License-Identifier: GPL-2.0
/*
 * Throughput of kmod/parse.c (make parser-bench): every transcript in
 * transcripts/ (both directions), fed one record at a time as the kernel
 * would feed segments, then the same streams byte by byte (the worst
 * segmentation), and a worst-case flow: an EHLO reply of LP_BUDGET bytes of
 * keywords. Each measurement repeats for about BENCH_SECONDS (default 1).
 * Reported (thread CPU time): bytes consumed per second, ns per byte,
 * events per second.
 *
 * Usage: bench_parse [TRANSCRIPT_DIR]
 */
#include "parse.h"
#include "dlg.h"

#include <dirent.h>
#include <time.h>

#define MAXDLG 64

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
	int bytewise;
};

/* One pass over every stream of the job; returns the bytes consumed. */
static size_t pass(const struct job *j)
{
	struct lp_state cl, sv;
	size_t bytes = 0, cpos, spos, len, k, n;
	const uint8_t *p;
	int i, r;

	for (i = 0; i < j->n; i++) {
		const struct dlg *d = j->d[i];

		lp_init(&cl, j->proto, LP_CLIENT);
		lp_init(&sv, j->proto, LP_SERVER);
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
			if (!j->bytewise) {
				bytes += lp_feed(st, p, len, count_cb, NULL);
				continue;
			}
			for (k = 0; k < len; k++) {
				n = lp_feed(st, p + k, 1, count_cb, NULL);
				bytes += n;
				if (!n)
					break;
			}
		}
	}
	return bytes;
}

static void measure(const struct job *j, double seconds)
{
	double t0 = now(), t;
	unsigned long long bytes = 0, iters = 0;

	events = 0;
	do {
		bytes += pass(j);
		iters++;
		t = now() - t0;
	} while (t < seconds);
	printf("%-28s %8.1f MB/s %7.2f ns/byte %8.2f Mevents/s (%llu passes)\n",
	       j->name, bytes / t / 1e6, t * 1e9 / bytes, events / t / 1e6,
	       iters);
}

int main(int argc, char **argv)
{
	const char *tdir = argc > 1 ? argv[1] : "selftests/parser/transcripts";
	static struct dlg dl[MAXDLG], budget = { .name = "budget" };
	struct job smtp = { .name = "smtp transcripts", .proto = LP_SMTP };
	struct job imap = { .name = "imap transcripts", .proto = LP_IMAP };
	struct job worst = { .name = "smtp LP_BUDGET EHLO reply",
			     .proto = LP_SMTP };
	const char *env = getenv("BENCH_SECONDS");
	double secs = env ? atof(env) : 1.0;
	struct dirent *de;
	char path[512];
	DIR *dir;
	uint8_t *big;
	int n = 0, i;

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

	dlg_add(&budget, 'S', "220 mx\r\n250-mx\r\n", 16);
	big = malloc(LP_BUDGET + 13);
	for (i = 0; i < LP_BUDGET; i += 13)
		memcpy(big + i, "250-KEYWORD\r\n", 13);
	dlg_add(&budget, 'S', big, i);
	free(big);
	worst.d[worst.n++] = &budget;

	printf("parse.c: sizeof(struct lp_state) = %zu, %d transcripts\n",
	       sizeof(struct lp_state), n);
	measure(&smtp, secs);
	measure(&imap, secs);
	measure(&worst, secs);
	smtp.bytewise = imap.bytewise = worst.bytewise = 1;
	smtp.name = "smtp transcripts, bytewise";
	imap.name = "imap transcripts, bytewise";
	worst.name = "smtp LP_BUDGET, bytewise";
	measure(&smtp, secs);
	measure(&imap, secs);
	measure(&worst, secs);
	for (i = 0; i < n; i++)
		dlg_free(&dl[i]);
	dlg_free(&budget);
	return 0;
}
