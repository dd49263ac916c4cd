#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guard's negotiation records are budgeted per netns: with a budget
# of 4, a client that opens 104 connections through one gateway and lets
# them idle after the greeting does not stop inspection in another
# gateway namespace; the idle negotiations give their records back within
# guard_stall seconds (600 while the budget is full, then 3), and the same
# gateway inspects again while those connections are still open.
source "$(dirname "$0")/lib.sh"

STALL=3
topo_up
C1=$C G1=$G S1=$S
topo_up
C2=$C G2=$G S2=$S
lemonade_load guard_buffers=4 guard_stall=600
for n in "$C1" "$S1" "$C2" "$S2"; do
	[ "$STOCK" = 1 ] || ip netns exec "$n" lemonctl set enable off >/dev/null ||
		{ echo "FAIL: lemonctl set enable off"; exit $ksft_fail; }
done
C=$C2 G=$G2 S=$S2
mail_up
masker_up mask
C=$C1 G=$G1 S=$S1
mail_up
masker_up mask

# restored NS-SET NAME WHAT: a negotiation through that gateway is restored
restored() {
	local c=$1 name=$2
	ip netns exec "$c" timeout 60 $PY "$HERE/mailpeer.py" talk --addr $S4 \
		--port 587 --proto smtp > "$TMPD/$name.talk" 2>&1
	info "$name: $(tr '\n' '|' < "$TMPD/$name.talk" | cut -c1-200)"
	if grep -q "^S: 250-STARTTLS" "$TMPD/$name.talk" &&
		! grep -q XXXXXXXA "$TMPD/$name.talk"; then
		pass "$3: the client sees STARTTLS"
	else
		fail "$3: the client sees $(grep -m1 -o -e XXXXXXXA -e STARTTLS -e RESET -e TIMEOUT "$TMPD/$name.talk")"
	fi
}

if [ "$STOCK" != 1 ]; then
	sk0=$(guard_counter "$G1" guard_skipped)
	ab0=$(guard_counter "$G1" guard_abandoned)
fi
ip netns exec "$C1" $PY "$HERE/mailpeer.py" idle --addr $S4 --port 587 \
	--count 104 --ready "$TMPD/idle.ready" --hold-file "$TMPD/idle.done" &
BG_PIDS+=($!)
wait_for 300 test -s "$TMPD/idle.ready" || fail "idle client never ready"
info "idle client: $(cat "$TMPD/idle.ready") of 104 connections greeted"
restored "$C2" other "other netns while the first holds 104 idle negotiations"
if [ "$STOCK" != 1 ]; then
	sk1=$(guard_counter "$G1" guard_skipped)
	[ $((sk1 - sk0)) -ge 100 ] && pass "first gateway skipped $((sk1 - sk0)) negotiations beyond its budget" ||
		fail "first gateway skipped only $((sk1 - sk0))"
fi
# the stalled ones are given up within guard_stall (plus the work's second)
[ "$STOCK" = 1 ] || echo $STALL > /sys/module/nf_lemonade/parameters/guard_stall
if on_module "records given back (guard_buffers, guard_abandoned)"; then
	if wait_for $((STALL + 10)) sh -c "[ \$(ip netns exec $G1 lemonctl -j stats | jq .guard_buffers) -eq 0 ]"; then
		ab1=$(guard_counter "$G1" guard_abandoned)
		pass "idle negotiations gave their records back (guard_abandoned +$((ab1 - ab0)))"
	else
		fail "records still in use after $((STALL + 10)) s: $(ip netns exec "$G1" lemonctl -j stats | jq -c '{guard_buffers, guard_abandoned}')"
	fi
fi
restored "$C1" again "same gateway again, the idle connections still open"
touch "$TMPD/idle.done"
exit $ret
