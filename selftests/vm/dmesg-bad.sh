#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dmesg-bad.sh FILE [FIRST-LINE]: the lines of a kernel log (from line
# FIRST-LINE on) that fail a run: those matching $BAD_RE (vm/run.sh) and
# not $IGNORE_RE. One exception: between the markers fault_inject.sh
# writes ("nf_lemonade selftest: allocation failures injected from here"
# and "... to here"), a failed allocation's own report (warn_alloc: "page
# allocation failure" or "vmalloc error", then its CPU, hardware and
# "Call Trace:" lines) is what the injection asked for, not a complaint;
# any other line matching $BAD_RE there still counts.
set -u
awk -v bad="${BAD_RE:?}" -v from="${2:-1}" '
NR < from { next }
/nf_lemonade selftest: allocation failures injected from here/ { inj = 1; next }
/nf_lemonade selftest: allocation failures injected to here/ { inj = 0; next }
inj && /page allocation failure|vmalloc error/ { alloc = NR; next }
inj && alloc && NR - alloc <= 4 && /Call Trace/ { next }
$0 ~ bad { print }
' "$1" | if [ -n "${IGNORE_RE:-}" ]; then grep -a -Ev -- "$IGNORE_RE"; else cat; fi
# a judge that cannot read the log is no judge: that is a bad line too
[ "${PIPESTATUS[0]}" -eq 0 ] || echo "dmesg-bad.sh: cannot read the kernel log $1"
