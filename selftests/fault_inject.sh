#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Allocation failures (debug kernel only: skips without failslab). For 60 s
# failslab and fail_page_alloc fail 10% of the allocations made on behalf
# of the test's own worker processes (task-filter: 6.1 offers no caller
# filter on x86_64), while
# * a config writer (nlstress -f) adds and deletes ports and changes the
#   floor in the gateway, and a dumper (nlstress -f) reads flows, config
#   and stats: the module's netlink handlers see failed allocations;
# * two churn clients open new connections to listed (143, 587) and
#   unlisted (8143) ports, failure-injected too: with the module active in
#   the client's namespace, its LOCAL_OUT hook runs in their task context;
# * idle held flows (listed and unlisted) are pinged through the gateway
#   and plain lemonctl commands (show, flows) run in it.
# Then, with injection off: failures were injected, only allocation errors
# were seen, the held flows still carry traffic, new connections work, the
# listed flows are still pinned and the configuration reads back; no
# WARN, BUG or oops in the kernel log. Leaks are caught by guest.sh's
# kmemleak scan after the last test.
# timeout: 600
# skip-ok: needs failslab/fail_page_alloc: the debug kernel (make check-debug)
source "$(dirname "$0")/lib.sh"

DBG=/sys/kernel/debug
mountpoint -q $DBG || mount -t debugfs debugfs $DBG 2>/dev/null
if [ ! -d $DBG/failslab ] || [ ! -d $DBG/fail_page_alloc ]; then
	echo "SKIP: the kernel has no failslab/fail_page_alloc (make check-debug)"
	exit $ksft_skip
fi
[ "$STOCK" = 1 ] && { echo "SKIP: the module's own test"; exit $ksft_skip; }
NLSTRESS=$HERE/progs/nlstress
[ -x "$NLSTRESS" ] || { echo "FAIL: selftests/progs/nlstress not built"; exit $ksft_fail; }
SECS=${LEMONADE_FAULT_SECONDS:-60}
TIMES=100000000

fi_set() { # fi_set PROBABILITY: both attributes, task-filter only
	local f
	for f in failslab fail_page_alloc; do
		echo Y > $DBG/$f/task-filter
		echo 0 > $DBG/$f/verbose
		echo 0 > $DBG/$f/space
		echo 1 > $DBG/$f/interval
		echo N > $DBG/$f/ignore-gfp-wait
		echo $TIMES > $DBG/$f/times
		echo "$1" > $DBG/$f/probability
	done
}
trap 'fi_set 0; cleanup' EXIT

# the held listed IPv4 flows come from an address of their own: the
# churn's closed and half-failed connections to 143 (their own, shorter
# timeouts) are not what the last check is about
C3=192.0.2.3
topo_up
ip -n "$C" addr add $C3/24 dev c0 || { echo "FAIL: ip addr add $C3"; exit $ksft_fail; }
lemonade_load
serve_start 143 587 8143
hold "$C" l4 $S4 143,587 6 --src $C3
hold "$C" l6 $S6 143,587 6
hold "$C" u4 $S4 8143 4
dmesg_lines=$(dmesg | wc -l)
# what a failed allocation reports itself between these two lines is what
# was asked for (selftests/vm/dmesg-bad.sh)
echo "nf_lemonade selftest: allocation failures injected from here" > /dev/kmsg

fi_set 10
t0=$(date +%s)
ip netns exec "$G" "$NLSTRESS" -m write -f -t "$SECS" -p 20000 > "$TMPD/writer" 2>&1 &
wpid=$!
ip netns exec "$G" "$NLSTRESS" -m dump -f -t "$SECS" > "$TMPD/dumper" 2>&1 &
dpid=$!
ip netns exec "$C" $PY "$PEER" churn --addr $S4 --ports 143,587,8143 --count 100000 \
	--seconds "$SECS" --connect-timeout 2 --make-it-fail --out "$TMPD/churn4" &
c4=$!
ip netns exec "$C" $PY "$PEER" churn --addr $S6 --ports 143,587,8143 --count 100000 \
	--seconds "$SECS" --connect-timeout 2 --make-it-fail --out "$TMPD/churn6" &
c6=$!
BG_PIDS+=($wpid $dpid $c4 $c6)
pings=0 pings_ok=0 cli=0
while [ $(($(date +%s) - t0)) -lt "$SECS" ] && [ $pings -lt 1000 ]; do
	pings=$((pings + 1))
	ping_flows l4 && ping_flows u4 && pings_ok=$((pings_ok + 1))
	ip netns exec "$G" lemonctl flows > /dev/null && ip netns exec "$G" lemonctl show > /dev/null &&
		cli=$((cli + 1))
done
wait $wpid; wrc=$?
wait $dpid; drc=$?
wait $c4
wait $c6
read -r islab < $DBG/failslab/times
read -r ipage < $DBG/fail_page_alloc/times
fi_set 0
echo "nf_lemonade selftest: allocation failures injected to here" > /dev/kmsg
islab=$((TIMES - islab)) ipage=$((TIMES - ipage))
info "$(($(date +%s) - t0)) s: $islab slab and $ipage page allocations failed on purpose"
info "$(cat "$TMPD/writer")"
info "$(cat "$TMPD/dumper")"
info "churn IPv4: $(cat "$TMPD/churn4" 2>/dev/null), IPv6: $(cat "$TMPD/churn6" 2>/dev/null)"
info "held flows pinged $pings_ok of $pings rounds; $cli lemonctl flows+show rounds"

if [ "$islab" -gt 0 ] && [ "$ipage" -ge 0 ]; then
	pass "failures injected: $islab slab, $ipage page allocations"
else
	fail "no allocation failure was injected"
fi
for w in writer:$wrc dumper:$drc; do
	name=${w%%:*} rc=${w#*:}
	if [ "$rc" = 0 ] && grep -q ' [1-9][0-9]* ok' "$TMPD/$name"; then
		pass "$name: only allocation errors under injection"
	else
		fail "$name: exit $rc: $(cat "$TMPD/$name")"
	fi
done
for c in churn4 churn6; do
	read -r _ ok bad < "$TMPD/$c" 2>/dev/null
	if [ "${ok:-0}" -gt 0 ]; then
		pass "$c: ${ok} connections completed, ${bad} failed under injection"
	else
		fail "$c: no connection completed ($(cat "$TMPD/$c" 2>/dev/null))"
	fi
done
[ "$pings_ok" -gt 0 ] && pass "held flows answered during the injection" ||
	fail "held flows never answered during the injection"

# --- afterwards, without injection ----------------------------------------
for n in l4 l6 u4; do
	ping_flows $n && pass "$n: held flows still carry traffic" || fail "$n: held flows broken"
done
hold "$C" n4 $S4 143,8143 4
read -r _ ok _ < "$TMPD/n4.ready"
[ "$ok" -eq 4 ] && pass "new connections to listed and unlisted ports" ||
	fail "$ok of 4 new connections"
ip netns exec "$G" lemonctl -j show > "$TMPD/show" && jq -e '.ports' "$TMPD/show" > /dev/null &&
	pass "configuration reads back" || fail "lemonctl show: $(cat "$TMPD/show")"
ip netns exec "$G" lemonctl set timeout $FLOOR > /dev/null || fail "lemonctl set timeout"
ping_flows l4 || fail "l4 ping"
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "held listed flows pinned after the injection" $C3
# the VM's own patterns (vm/run.sh's BAD_RE), or these outside the VM
dmesg > "$TMPD/dmesg"
allocs=$(tail -n +"$((dmesg_lines + 1))" "$TMPD/dmesg" | grep -c -E 'page allocation failure|vmalloc error')
info "failed allocations that reported themselves (warn_alloc): $allocs"
if BAD_RE=${BAD_RE:-'WARNING:|BUG:|Oops|general protection|Call Trace|KASAN|ODEBUG|lockdep is|circular locking|suspicious RCU'} \
	"$HERE/vm/dmesg-bad.sh" "$TMPD/dmesg" $((dmesg_lines + 1)) | grep .; then
	fail "the kernel complained during the injection"
else
	pass "no WARN, BUG, oops, KASAN, lockdep or RCU report in the kernel log"
fi
exit $ret
