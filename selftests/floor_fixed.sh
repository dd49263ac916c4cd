#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A timeout fixed through ctnetlink (IPS_FIXED_TIMEOUT, as "conntrack -U
# --status FIXED_TIMEOUT" sets it) stays as set: conntrack itself stops
# refreshing such an entry, and so does the floor.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143
hold "$C" f $S4 143 1
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "pinned"
sport=$(awk '$1 == "OK" { print $3; exit }' "$TMPD/f")
ip netns exec "$G" $PY "$HERE/ct_settimeout.py" $C4 $S4 "$sport" 143 fixed:100 ||
	fail "ctnetlink refused the fixed timeout"
ping_flows f || fail "round trip"
expect_timeouts "$G" ipv4 143 1 100 "fixed at 100 s, after traffic"
exit $ret
