#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A configuration change that withdraws a pin hands the pinned idle flows
# back at once (the netns's work runs on the change): a port removed, a
# lower floor, unlimited made finite, the module disabled. Each flow then
# keeps what the new configuration allows (conntrack's own 600 s, or the
# lower floor), counted as released_policy. A flow whose helper ctnetlink
# takes away is no longer under any policy either: the next sweep
# (scan_interval, 10 s here) hands its pin back. Before the changes, the
# pinned flows outlive an idle of 20 s on a gateway that forgets in 4 s
# (lib_idle.bash idle_live; an unlisted 8143 connection dies).
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load scan_interval=10
serve_start 143 587 674 8143
hold "$C" w $S4 143,587,674 6 "${IDLE_PING[@]}"
hold "$C" wc $S4 8143 1 "${IDLE_PING[@]}"
for p in 143 587 674; do
	expect_timeouts "$G" ipv4 $p $FLOOR $((FLOOR + 60)) "pinned before the change"
done
# lived: pinned, they outlive an idle that kills the unlisted 8143 one
idle_live 143,587,674 w wc
[ "$STOCK" = 1 ] && { fail "stock Linux pins nothing to withdraw"; exit $ret; }

# within SECS every entry to DPORT has at most MAX seconds left
at_most() {
	local port=$1 max=$2 t
	for t in $(ct_timeouts "$G" ipv4 "$port"); do
		[ "$t" -le "$max" ] || return 1
	done
}

withdrawn() { # withdrawn PORT MAX WHAT
	if wait_for 15 at_most "$1" "$2"; then
		pass "$3: port $1 flows hold at most $2 s: $(ct_timeouts "$G" ipv4 "$1" | tr '\n' ' ')"
	else
		fail "$3: port $1 flows still hold $(ct_timeouts "$G" ipv4 "$1" | tr '\n' ' ')s (want <= $2)"
	fi
}

r0=$(counter "$G" released_policy)
ip netns exec "$G" lemonctl port del 674
withdrawn 674 $VENDOR_EST "port del"
ip netns exec "$G" lemonctl set timeout 1h force
withdrawn 143 $((3600 + 5)) "a lower floor"
expect_timeouts "$G" ipv4 143 1000 $((3600 + 5)) "a lower floor still pins"
ip netns exec "$G" lemonctl port add 587 proto smtp timeout unlimited
ping_flows w || fail "round trip"
expect_timeouts "$G" ipv4 587 $((FLOOR * 100)) 99999999 "unlimited"
ip netns exec "$G" lemonctl port add 587 proto smtp timeout 7440
withdrawn 587 $((FLOOR + 5)) "unlimited made finite"
ip netns exec "$G" lemonctl set enable off
withdrawn 143 $VENDOR_EST "enable off"
withdrawn 587 $VENDOR_EST "enable off"
r1=$(counter "$G" released_policy)
[ "$r1" -ge $((r0 + 12)) ] && pass "released_policy +$((r1 - r0))" ||
	fail "released_policy +$((r1 - r0)), want at least 12"

# pinned again, then one flow loses its helper to ctnetlink
ip netns exec "$G" lemonctl set enable on
ping_flows w || fail "round trip after enable on"
expect_timeouts "$G" ipv4 143 3500 $((3600 + 5)) "pinned again (at the 1 h floor) after enable on"
# one_left PORT SPORT: the seconds left to the entry SPORT -> PORT
one_left() {
	ip netns exec "$G" conntrack -L -f ipv4 -p tcp --sport "$2" --dport "$1" 2>/dev/null |
		awk '{ print $3; exit }'
}
sport=$(ip netns exec "$G" conntrack -L -f ipv4 -p tcp --dport 143 2>/dev/null |
	sed -n 's/.*sport=\([0-9]*\) dport=143 .*/\1/p' | head -n 1)
[ -n "$sport" ] || fail "no conntrack entry to port 143"
ip netns exec "$G" $PY "$HERE/ct_settimeout.py" $C4 $S4 "$sport" 143 unhelp
case $? in
0)	back_to_own() { local t; t=$(one_left 143 "$sport"); [ -n "$t" ] && [ "$t" -le $VENDOR_EST ]; }
	if wait_for 30 back_to_own; then
		pass "unhelped by ctnetlink: the flow holds $(one_left 143 "$sport") s (conntrack's own $VENDOR_EST)"
	else
		fail "unhelped by ctnetlink: the flow still holds $(one_left 143 "$sport") s after 30 s (want <= $VENDOR_EST)"
	fi ;;
3) info "this kernel refuses to take a helper away over ctnetlink (EOPNOTSUPP)" ;;
*) fail "ctnetlink refused to take the helper away" ;;
esac

exit $ret
