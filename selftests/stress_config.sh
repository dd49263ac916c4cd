#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configuration churn (stress: LEMONADE_STRESS=1): for 60 s two writers
# (nlstress) in the gateway each change the configuration 100 times a
# second (port add, port del, set timeout, in turn, on ports of their own)
# while "lemonctl monitor" runs, "lemonctl flows" and "lemonctl -j show"
# run in a loop, and held listed and unlisted flows are pinged. Every
# request must succeed, each writer must make at least 10 changes a second
# (the rate reached is reported, not judged: a debug kernel under
# emulation on a loaded host reached 49 of the 100 asked), the monitor must still run and
# every lemonctl call succeed; then the listed flows are pinned with the
# floor the writers left and the ports they added last are listed.
# timeout: 600
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
checktool "jq --version" "run jq"
NLSTRESS=$HERE/progs/nlstress
[ -x "$NLSTRESS" ] || { echo "FAIL: selftests/progs/nlstress not built"; exit $ksft_fail; }
SECS=${LEMONADE_CONFIG_SECONDS:-60}
RATE=100

topo_up
lemonade_load
gateway_only
serve_start 143 8143
hold "$C" l4 $S4 143 4
hold "$C" u6 $S6 8143 4
ip netns exec "$G" lemonctl monitor > "$TMPD/mon" 2> "$TMPD/mon.err" &
mon=$!
BG_PIDS+=($mon)

t0=$(date +%s)
ip netns exec "$G" "$NLSTRESS" -m write -r $RATE -t "$SECS" -p 20000 > "$TMPD/w1" 2>&1 &
w1=$!
ip netns exec "$G" "$NLSTRESS" -m write -r $RATE -t "$SECS" -p 21000 > "$TMPD/w2" 2>&1 &
w2=$!
BG_PIDS+=($w1 $w2)
rounds=0 bad=0
while [ $(($(date +%s) - t0)) -lt "$SECS" ] && [ $rounds -lt 10000 ]; do
	rounds=$((rounds + 1))
	ip netns exec "$G" lemonctl flows > "$TMPD/flows" || bad=$((bad + 1))
	ip netns exec "$G" lemonctl -j show | jq -e .ports > /dev/null || bad=$((bad + 1))
	[ $((rounds % 5)) -eq 0 ] && { ping_flows l4 || bad=$((bad + 1)); }
done
wait $w1; rc1=$?
wait $w2; rc2=$?
info "$(cat "$TMPD/w1")"
info "$(cat "$TMPD/w2")"
for w in w1:$rc1 w2:$rc2; do
	name=${w%%:*} rc=${w#*:}
	read -r req ok < <(sed -n 's/.*: \([0-9]*\) requests in .* s, \([0-9]*\) ok.*/\1 \2/p' "$TMPD/$name")
	if [ "$rc" = 0 ] && [ "${req:-0}" -ge $((10 * SECS)) ] && [ "$req" = "$ok" ]; then
		pass "writer $name: $req changes, all accepted ($((req / SECS)) per second)"
	else
		fail "writer $name: exit $rc: $(cat "$TMPD/$name")"
	fi
done
[ $bad -eq 0 ] && pass "$rounds rounds of lemonctl flows and show (and pings) during the churn" ||
	fail "$bad of $rounds lemonctl/ping rounds failed"
if kill -0 $mon 2>/dev/null; then
	pass "lemonctl monitor still running"
else
	fail "lemonctl monitor ended: $(cat "$TMPD/mon.err")"
fi
# nlstress leaves the floor at 7440 or 10800 and each writer's last
# added port listed or not, depending on where it stopped
floor=$(ip netns exec "$G" lemonctl -j show | jq .timeout)
case $floor in
7440|10800) pass "global floor $floor s after the churn" ;;
*) fail "global floor '$floor' after the churn" ;;
esac
TRAFFIC_OPEN=0
ping_flows l4 || fail "l4 ping"
expect_timeouts "$G" ipv4 143 $((floor - ($(date +%s) - TRAFFIC_T0))) $((floor + 60)) \
	"listed flows pinned to the floor the writers left"
ping_flows u6 && pass "unlisted flows carry traffic" || fail "unlisted flows broken"
exit $ret
