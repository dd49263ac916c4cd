/* SPDX-License-Identifier: GPL-2.0 */
/* nf_lemonade: the per-packet benchmark (bench.c, LEMONADE_BENCH=1 only). */
#ifndef _LEMONADE_BENCH_H
#define _LEMONADE_BENCH_H

#ifdef LEMONADE_BENCH
void lemonade_bench_init(void);
void lemonade_bench_exit(void);
#else
static inline void lemonade_bench_init(void) {}
static inline void lemonade_bench_exit(void) {}
#endif

#endif /* _LEMONADE_BENCH_H */
