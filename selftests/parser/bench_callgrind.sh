#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per byte of lp_feed() (callees included: the benchmark's
# event callback) for every line of bench_parse, counted by
# valgrind --tool=callgrind: unlike times, independent of the load of the
# machine. Run from the top of the tree after make parser-bench (or
# make build/parser/bench_parse).
#
# Usage: selftests/parser/bench_callgrind.sh [PASSES] [BENCH_BINARY]
set -eu
passes=${1:-200}
bin=${2:-build/parser/bench_parse}
tdir=selftests/parser/transcripts
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-22s %14s %10s %8s\n' "job mode" "Ir (lp_feed)" bytes "Ir/byte"
for mode in record 1460 whole bytewise; do
	for job in smtp imap acap smtp-budget; do
		p=$passes
		[ "$mode" = bytewise ] && p=$(( (passes + 3) / 4 ))
		BENCH_PASSES=$p BENCH_ONLY="$job $mode" \
			valgrind --tool=callgrind --toggle-collect=lp_feed \
			--callgrind-out-file="$out/cg" "$bin" "$tdir" \
			>"$out/stdout" 2>"$out/stderr"
		bytes=$(awk '/bytes consumed/ { print $(NF - 5) }' "$out/stdout")
		ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/stderr")
		printf '%-22s %14s %10s %8.2f\n' "$job $mode" "$ir" "$bytes" \
			"$(echo "$ir / $bytes" | bc -l)"
	done
done
