#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 50 rmmod/modprobe cycles under traffic (stress: LEMONADE_STRESS=1, as in
# make check-debug and make check-stress). Throughout, churn clients open
# new connections to a listed (143) and an unlisted (8143) port over IPv4
# and IPv6, held listed and unlisted flows stay open, and an SMTP
# negotiation on 587 is half done (EHLO answered, STARTTLS not yet sent)
# across each group of 10 cycles, then finished. Each cycle waits for the
# module's netlink family to answer again. Afterwards: every cycle
# unloaded and loaded the module, every negotiation finished with
# STARTTLS answered, no churn connection failed, the held flows still
# carry traffic and the listed ones (ESTABLISHED) are pinned again.
# timeout: 900
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
CYCLES=${LEMONADE_RMMOD_CYCLES:-50}
MAXSECS=${LEMONADE_RMMOD_SECONDS:-1800}

topo_up
lemonade_load
# servers and held flows outlive the cycles (870 s on the debug kernel)
SERVE_LIFETIME=$((MAXSECS + 900))
serve_start 143 8143
ip netns exec "$S" $PY "$HERE/mailpeer.py" serve --ports 587 --lifetime $SERVE_LIFETIME &
BG_PIDS+=($!)
wait_for 20 sh -c "ip netns exec $S ss -Htln 'sport = :587' | grep -q ." ||
	{ echo "FAIL: mail server on port 587 did not start"; exit $ksft_fail; }
hold "$C" l4 $S4 143 4 --lifetime $SERVE_LIFETIME
hold "$C" l6 $S6 143 4 --lifetime $SERVE_LIFETIME
hold "$C" u4 $S4 8143 4 --lifetime $SERVE_LIFETIME
touch "$TMPD/go"
ip netns exec "$C" $PY "$PEER" churn --addr $S4 --ports 143,8143 --count 100000 \
	--seconds "$MAXSECS" --stop "$TMPD/stop" --out "$TMPD/churn4" &
c4=$!
ip netns exec "$C" $PY "$PEER" churn --addr $S6 --ports 143,8143 --count 100000 \
	--seconds "$MAXSECS" --stop "$TMPD/stop" --out "$TMPD/churn6" &
c6=$!
BG_PIDS+=($c4 $c6)

# negotiation K: half done until $TMPD/neg.K exists
neg_start() {
	ip netns exec "$C" timeout 600 $PY "$HERE/mailpeer.py" talk --addr $S4 --port 587 \
		--proto smtp --starttls --timeout 60 --pause "$TMPD/neg.$1" > "$TMPD/talk.$1" 2>&1 &
	BG_PIDS+=($!)
	eval "NEG_$1=$!"
	wait_for 60 grep -q PAUSED "$TMPD/talk.$1" || fail "negotiation $1 did not reach EHLO"
}
neg_finish() {
	local pid
	eval "pid=\$NEG_$1"
	touch "$TMPD/neg.$1"
	wait "$pid"
	if grep -q '^DONE' "$TMPD/talk.$1" && grep -q '^S: 220' "$TMPD/talk.$1"; then
		negs_ok=$((negs_ok + 1))
	else
		fail "negotiation $1 across reloads: $(tr '\n' '|' < "$TMPD/talk.$1" | cut -c1-300)"
	fi
}

t0=$(date +%s)
cycles=0 unloads=0 loads=0 negs=0 negs_ok=0
while [ $cycles -lt "$CYCLES" ] && [ $(($(date +%s) - t0)) -lt "$MAXSECS" ]; do
	if [ $((cycles % 10)) -eq 0 ]; then
		[ $negs -gt 0 ] && neg_finish $negs
		negs=$((negs + 1))
		neg_start $negs
		# each rmmod hands the held flows back to conntrack's own 600 s,
		# as stock Linux keeps them: a packet every ten cycles keeps them
		# alive however slow the kernel (the debug one takes 1016 s)
		for n in l4 l6 u4; do
			ping_flows $n || fail "cycle $cycles: $n: held flows broken"
		done
	fi
	cycles=$((cycles + 1))
	rmmod nf_lemonade && unloads=$((unloads + 1))
	modprobe nf_lemonade && loads=$((loads + 1))
	wait_for 30 ip netns exec "$G" lemonctl show ||
		{ fail "cycle $cycles: the module does not answer after modprobe"; break; }
done
[ $negs -gt 0 ] && neg_finish $negs
secs=$(($(date +%s) - t0))
touch "$TMPD/stop"
wait $c4
wait $c6
info "$cycles cycles in $secs s; churn IPv4: $(cat "$TMPD/churn4"), IPv6: $(cat "$TMPD/churn6")"

if [ $cycles -eq "$CYCLES" ] && [ $unloads -eq "$CYCLES" ] && [ $loads -eq "$CYCLES" ]; then
	pass "$CYCLES rmmod/modprobe cycles under traffic in $secs s"
else
	fail "$cycles cycles in $secs s: $unloads unloads, $loads loads (want $CYCLES)"
fi
[ $negs_ok -eq $negs ] && pass "$negs half-done SMTP negotiations finished across the reloads" ||
	fail "$negs_ok of $negs negotiations finished"
for c in churn4 churn6; do
	read -r _ ok bad < "$TMPD/$c"
	if [ "${ok:-0}" -gt 0 ] && [ "${bad:-1}" -eq 0 ]; then
		pass "$c: $ok new connections during the cycles, none failed"
	else
		fail "$c: $(cat "$TMPD/$c")"
	fi
done
TRAFFIC_OPEN=0
for n in l4 l6 u4; do
	ping_flows $n && pass "$n: held flows carry traffic after the cycles" || fail "$n: held flows broken"
done
# the held flows (the churn's closed ones linger in TIME_WAIT)
est=$(ip netns exec "$G" conntrack -L -f ipv4 -p tcp --dport 143 --state ESTABLISHED 2>/dev/null |
	awk '{ print $3 }' | sort -n | tr '\n' ' ')
min=$((FLOOR - ($(date +%s) - TRAFFIC_T0)))
if [ -n "$est" ] && [ "${est%% *}" -ge $min ]; then
	pass "held listed flows pinned again after the last load: remaining $est s"
else
	fail "held listed flows after the last load: remaining ${est:-none} s (want >= $min)"
fi
exit $ret
