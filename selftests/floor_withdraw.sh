#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A configuration change that withdraws a pin hands the pinned idle flows
# back at once (the netns's work runs on the change): a port removed, a
# lower floor, unlimited made finite, the module disabled. Each flow then
# keeps what the new configuration allows (conntrack's own 600 s, or the
# lower floor), counted as released_policy.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143 587 674
hold "$C" w $S4 143,587,674 6
for p in 143 587 674; do
	expect_timeouts "$G" ipv4 $p $FLOOR $((FLOOR + 60)) "pinned before the change"
done
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
exit $ret
