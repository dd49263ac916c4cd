/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transcripts ("dialogs") for the parser tests and the benchmark: a file of
 * records "S <len>\n" or "C <len>\n", <len> raw bytes, "\n" (capture.py
 * writes them), or records built in C. Each direction's stream is the
 * concatenation of its records; sbefore[] keeps, for each record, how many
 * server bytes had been sent before it, which places the client's commands
 * on the server stream (lp_note_command()).
 */
#ifndef _LP_DLG_H
#define _LP_DLG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DLG_MAX_REC	64

struct dlg {
	const char *name;
	uint8_t *s, *c;			/* server and client streams */
	size_t slen, clen;
	int nrec;
	char dir[DLG_MAX_REC];		/* 'S' or 'C' */
	size_t cstart[DLG_MAX_REC];	/* client offset of each record */
	size_t sbefore[DLG_MAX_REC];	/* server bytes before each record */
};

static inline void dlg_add(struct dlg *d, char dir, const void *data,
			   size_t len)
{
	uint8_t **buf = dir == 'S' ? &d->s : &d->c;
	size_t *blen = dir == 'S' ? &d->slen : &d->clen;

	if (d->nrec >= DLG_MAX_REC) {
		fprintf(stderr, "%s: too many records\n", d->name);
		exit(2);
	}
	d->dir[d->nrec] = dir;
	d->cstart[d->nrec] = d->clen;
	d->sbefore[d->nrec] = d->slen;
	d->nrec++;
	*buf = realloc(*buf, *blen + len + 1);
	if (!*buf)
		abort();
	memcpy(*buf + *blen, data, len);
	*blen += len;
}

/* Server bytes sent before the client byte at coff was sent. */
static inline size_t dlg_server_at(const struct dlg *d, size_t coff)
{
	size_t s = 0;
	int i;

	for (i = 0; i < d->nrec; i++)
		if (d->dir[i] == 'C' && d->cstart[i] <= coff)
			s = d->sbefore[i];
	return s;
}

static inline int dlg_load(struct dlg *d, const char *path)
{
	FILE *f = fopen(path, "rb");
	char dir;
	size_t len;
	uint8_t *buf;

	if (!f)
		return -1;
	while (fscanf(f, "%c %zu", &dir, &len) == 2) {
		if ((dir != 'S' && dir != 'C') || fgetc(f) != '\n' ||
		    len > 1 << 20)
			goto bad;
		buf = malloc(len + 1);
		if (!buf || fread(buf, 1, len, f) != len || fgetc(f) != '\n') {
			free(buf);
			goto bad;
		}
		dlg_add(d, dir, buf, len);
		free(buf);
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	fprintf(stderr, "%s: bad transcript\n", path);
	return -1;
}

static inline void dlg_free(struct dlg *d)
{
	free(d->s);
	free(d->c);
	d->s = d->c = NULL;
}

#endif
