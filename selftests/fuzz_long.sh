#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz-long, second half (the first is `make fuzz` for the parser):
# the raw-netlink fuzzer (tool/tests/nlfuzz.c) against the module inside
# the debug kernel (selftests/vm/kernel.sh debug: KASAN, lockdep, kmemleak)
# for SECONDS (default 600), through selftests/fuzz_netlink.sh in the VM.
# A failing seed is written to build/fuzz-long/nlfuzz-failing-seeds: add
# it to selftests/nlfuzz.seeds, which every later run replays first.
# Ends with "N passed, N failed".
#
# usage: selftests/fuzz_long.sh [SECONDS]
set -u
if [ "${LEMONADE_VM:-0}" = 1 ]; then
	echo "SKIP: fuzz_long.sh drives a VM from the host"
	exit 4
fi
SECS=${1:-600}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
OUT=$REPO/build/fuzz-long
fail() { echo "Error: $*"; echo "0 passed, 1 failed"; exit 1; }

kernel=$("$HERE/vm/kernel.sh" build-args debug) || fail "cannot build the debug kernel"
eval "$kernel"
make -s kmod KDIR="$KDIR" || fail "the module does not build for $KVER"
make -s -C tool || fail "lemonctl does not build"
rm -rf "$OUT"
mkdir -p "$OUT"
LEMONADE_FUZZ_TIME=$SECS "$HERE/vm/run.sh" --root "$ROOT" --kver "$KVER" \
	--timeout $((SECS * 3 + 1200)) --out "$OUT" -- selftests/guest.sh fuzz_netlink.sh
rc=$?
[ -s "$OUT/summary" ] || fail "the guest produced no summary (rc $rc)"
read -r p f _ < "$OUT/summary"
if [ -e "$OUT/dmesg-bad" ]; then
	echo "FAIL: warnings in the guest's dmesg:"
	sed 's/^/#   /' "$OUT/dmesg-bad"
	f=$((f + 1))
fi
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
