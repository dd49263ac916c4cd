#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: every measurement of Documentation/performance.rst, as root
# on Debian 12 (installs what it needs, like make check). The parser
# benchmark runs on the host; the module's figures come from one QEMU
# guest of Debian's 6.1 kernel (selftests/bench/guest.sh: throughput
# ratios with the module loaded / not loaded and with the nft alternative
# / without, slab bytes per flow). Prints every figure with its 95%
# interval; the guest's raw pairs are kept in build/bench/bench/.
#
# usage: selftests/bench/run.sh [module] [nft] [control] [packet] [memory] [parser]
#        (default: all; BENCH_* variables: selftests/bench/guest.sh)
# LEMONADE_BENCH_ICOUNT=1 runs the guest with an instruction-counting
# clock (-icount shift=0, one vCPU thread): each half measures CPU cost
# rather than wall time on a shared host.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
cd "$REPO" || exit 1
OUT=$REPO/build/bench
LABEL=${LEMONADE_KERNEL:-6.1}

parts=() parser=0
for a in "$@"; do
	case $a in
	parser) parser=1 ;;
	module | nft | control | packet | memory) parts+=("$a") ;;
	*) echo "usage: $0 [module] [nft] [control] [packet] [memory] [parser]" >&2; exit 2 ;;
	esac
done
if [ $# -eq 0 ]; then
	parser=1
	parts=(module nft control packet memory)
fi

"$REPO/selftests/install-deps.sh" || exit 1
rm -rf "$OUT"
mkdir -p "$OUT"
if [ "$parser" = 1 ]; then
	echo "# parser (host, make parser-bench)"
	make -s parser-bench | tee "$OUT/parser.txt" || exit 1
fi
[ ${#parts[@]} -gt 0 ] || exit 0

kernel=$("$REPO/selftests/vm/kernel.sh" fetch "$LABEL") || { echo "Error: cannot fetch kernel $LABEL" >&2; exit 1; }
eval "$kernel"
# the per-packet loop (kmod/bench.c) is compiled in for make bench only
make -s kmod KVER="$KVER" LEMONADE_BENCH=1 || exit 1
make -s tool || exit 1
make -s -C selftests/progs tcpbench || exit 1

LEMONADE_GUEST_ENV="${LEMONADE_GUEST_ENV:-} $(compgen -v BENCH_ | tr '\n' ' ')"
export LEMONADE_GUEST_ENV
if [ "${LEMONADE_BENCH_ICOUNT:-0}" = 1 ]; then
	export LEMONADE_ACCEL=tcg,thread=single LEMONADE_QEMU_ARGS="-icount shift=0"
fi
echo "# guest kernel $KVER: ${parts[*]}"
"$REPO/selftests/vm/run.sh" --root "$ROOT" --kver "$KVER" \
	--timeout "${BENCH_VM_TIMEOUT:-5400}" --out "$OUT" -- selftests/bench/guest.sh "${parts[@]}"
rc=$?
echo
echo "# results (also in $OUT/bench/results.txt)"
[ "$parser" = 1 ] && cat "$OUT/parser.txt"
cat "$OUT/bench/results.txt" 2>/dev/null || { echo "FAIL: no results (rc $rc)"; exit 1; }
exit "$rc"
