#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ctnetlink takes the "lemonade" helper away from a flow under
# negotiation, then the entry is deleted: conntrack calls no destroy
# callback for it, yet its negotiation record and its place on the
# netns's list of listed flows are given back (the records in use and the
# listed flows, as lemonctl stats shows them, return to 0). What a client
# sees of it: the guard has one record (guard_buffers=1), so a new
# negotiation behind a masking component inside the gateway reads
# STARTTLS only if that record came back (a kept one leaves it
# uninspected: the mask reaches the client, as on stock Linux).
# The stall limit is long while the record is counted (a loaded host may
# take seconds between the greeting and the count) and lowered to 1 s at
# run time once the entry is gone: the reaper reads it on its next round.
# Kernels that refuse to take a helper away (7.x: EOPNOTSUPP) skip.
# skip-ok: a kernel that refuses to take a helper away over ctnetlink
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load guard_buffers=1 guard_stall=600 scan_interval=10
gateway_only
mail_up
masker_up mask
ip netns exec "$C" timeout $((90 * ${LEMONADE_TIMEOUT_SCALE:-1})) $PY "$HERE/mailpeer.py" talk --addr $S4 \
	--port 587 --proto smtp --hold-file "$TMPD/ehlo" --timeout 60 \
	> "$TMPD/hold.talk" 2>&1 &
BG_PIDS+=($!)
wait_for 20 grep -q "^S: 220" "$TMPD/hold.talk" || fail "no greeting"
if on_module "ctnetlink takes the helper away, the record is given back"; then
	wait_for 10 sh -c "[ \$(ip netns exec $G lemonctl -j stats | jq .guard_buffers) -eq 1 ]" &&
		pass "one negotiation record in use" ||
		fail "records in use: $(ip netns exec "$G" lemonctl -j stats | jq .guard_buffers)"
	sport=$(ip netns exec "$G" conntrack -L -p tcp --dport 587 2>/dev/null |
		sed -n 's/.*sport=\([0-9]*\) dport=587 .*/\1/p' | head -n 1)
	[ -n "$sport" ] || fail "no conntrack entry for the negotiation"
	ip netns exec "$G" $PY "$HERE/ct_settimeout.py" $C4 $S4 "$sport" 587 unhelp
	case $? in
	0) pass "ctnetlink took the helper away" ;;
	3)	# nothing can lose the helper without the destroy callback
		touch "$TMPD/ehlo"
		echo "SKIP: this kernel refuses to take a helper away over ctnetlink (EOPNOTSUPP)"
		[ $ret -eq 0 ] && exit $ksft_skip
		exit $ret ;;
	*) fail "ctnetlink refused to unhelp" ;;
	esac
	ip netns exec "$G" conntrack -L -p tcp --dport 587 2>/dev/null | grep -q helper=lemonade &&
		fail "the entry still shows helper=lemonade"
	ip netns exec "$G" conntrack -D -p tcp --dport 587 >/dev/null 2>&1
	# the floor's sweep (every scan_interval) may already have let go of the
	# unhelped flow, and its record with it; else the reaper does, once the
	# stall limit is short (slower kernels: LEMONADE_TIMEOUT_SCALE)
	sc=${LEMONADE_TIMEOUT_SCALE:-1}
	info "records in use after the delete: $(ip netns exec "$G" lemonctl -j stats | jq .guard_buffers)"
	echo 1 > /sys/module/nf_lemonade/parameters/guard_stall
	wait_for $((10 * sc)) sh -c "[ \$(ip netns exec $G lemonctl -j stats | jq .guard_buffers) -eq 0 ]" &&
		pass "the record was given back" ||
		fail "records in use: $(ip netns exec "$G" lemonctl -j stats | jq .guard_buffers)"
	wait_for $((25 * sc)) sh -c "[ \$(ip netns exec $G lemonctl -j stats | jq .listed) -eq 0 ]" &&
		pass "the flow left the list of listed flows" ||
		fail "listed flows: $(ip netns exec "$G" lemonctl -j stats | jq .listed); entries to 587: $(ip netns exec "$G" conntrack -L -p tcp --dport 587 2>/dev/null | tr '\n' ' ')"
	# a slow guest may take over a second between greeting and EHLO
	echo 600 > /sys/module/nf_lemonade/parameters/guard_stall
fi
# before the held client speaks again (its next packet makes a new entry)
talk fresh $S4 587 smtp
sees_starttls fresh && pass "a new negotiation through the masker reads STARTTLS (the one record came back)" ||
	fail "a new negotiation through the masker: $(grep -m1 -e XXXX -e STARTTLS -e DONE -e RESET -e TIMEOUT "$TMPD/fresh.talk" || tail -n 1 "$TMPD/fresh.talk")"
touch "$TMPD/ehlo"
exit $ret
