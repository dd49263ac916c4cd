/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel's compiler_types.h gives kmod/parse.c, for its userspace
 * builds (the tests, the fuzzers, the benchmark): the Makefile passes
 * -include selftests/parser/kcompat.h.
 */
#ifndef _LP_KCOMPAT_H
#define _LP_KCOMPAT_H

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#ifndef noinline
#define noinline __attribute__((__noinline__))
#endif

#endif
