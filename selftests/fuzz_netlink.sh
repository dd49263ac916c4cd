#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make fuzz-long only (LEMONADE_FUZZ_TIME seconds; skips otherwise): the
# raw-netlink fuzzer (tool/tests/nlfuzz.c, as in cli_fuzz.sh) against the
# module, two instances at a time in one namespace, 2,000 requests per
# instance and round with fresh seeds, after a replay of the regression
# seeds in selftests/nlfuzz.seeds. Every request must be refused, the
# configuration must read back unchanged and the kernel log stay clean;
# a failing seed goes to $LEMONADE_OUT/nlfuzz-failing-seeds.
# timeout: 7200
# skip-ok: a long run (make fuzz-long); make check runs cli_fuzz.sh
source "$(dirname "$0")/lib.sh"

if [ -z "${LEMONADE_FUZZ_TIME:-}" ]; then
	echo "SKIP: long fuzzing runs with make fuzz-long (LEMONADE_FUZZ_TIME)"
	exit $ksft_skip
fi
[ "$STOCK" = 1 ] && { echo "SKIP: the module's own test"; exit $ksft_skip; }
FUZZ=$TMPD/nlfuzz
cc -O2 -Wall -Wextra -Werror -std=gnu11 -I"$REPO/uapi" -o "$FUZZ" "$REPO/tool/tests/nlfuzz.c" ||
	{ echo "FAIL: cannot build nlfuzz"; exit $ksft_fail; }
SEEDS_OUT=${LEMONADE_OUT:-$TMPD}/nlfuzz-failing-seeds
lemonade_load
setup_ns Z
lemonctl -n "$Z" set timeout 3h icmp pass codes6 1 guard log &&
	lemonctl -n "$Z" port add 993 proto imap timeout 1d ||
	fail "configuring the namespace"
dmesg_lines=$(dmesg | wc -l)

# one SEED COUNT: nlfuzz exit status
one() {
	ip netns exec "$Z" "$FUZZ" -n "$2" -s "$1" > "$TMPD/fuzz.$1" 2>&1
}
replayed=0
while read -r seed count; do
	case $seed in '#'* | '') continue ;; esac
	replayed=$((replayed + 1))
	one "$seed" "$count" && pass "regression seed $seed ($count requests)" ||
		fail "regression seed $seed: $(tail -3 "$TMPD/fuzz.$seed" | tr '\n' ' ')"
done < "$HERE/nlfuzz.seeds"

t0=$(date +%s)
rounds=0 requests=0 bad=0
while [ $(($(date +%s) - t0)) -lt "$LEMONADE_FUZZ_TIME" ] && [ $rounds -lt 100000 ]; do
	rounds=$((rounds + 1))
	s1=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') s2=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	one "$s1" 2000 & p1=$!
	one "$s2" 2000 & p2=$!
	for sp in "$s1:$p1" "$s2:$p2"; do
		if wait "${sp#*:}"; then
			requests=$((requests + 2000))
			rm -f "$TMPD/fuzz.${sp%%:*}"
		else
			bad=$((bad + 1))
			echo "${sp%%:*} 2000" >> "$SEEDS_OUT"
			info "seed ${sp%%:*}: $(tail -3 "$TMPD/fuzz.${sp%%:*}" | tr '\n' ' ')"
		fi
	done
	if dmesg | tail -n +"$((dmesg_lines + 1))" | grep -qE 'WARNING:|BUG:|Oops|general protection|Call Trace|KASAN|ODEBUG'; then
		echo "$s1 2000" >> "$SEEDS_OUT"
		echo "$s2 2000" >> "$SEEDS_OUT"
		fail "the kernel complained in round $rounds (seeds $s1 $s2, run concurrently)"
		break
	fi
done
info "$rounds rounds, $requests requests answered with errors in $(($(date +%s) - t0)) s; $replayed seeds replayed"
[ $bad -eq 0 ] && pass "nlfuzz: $requests malformed requests in $rounds rounds, every one refused" ||
	fail "nlfuzz: $bad failing seeds (in $SEEDS_OUT)"
exit $ret
