#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A timeout fixed through ctnetlink (IPS_FIXED_TIMEOUT, as "conntrack -U
# --status FIXED_TIMEOUT" sets it) stays as set: conntrack itself stops
# refreshing such an entry, and so does the floor. Before it is fixed, the
# pinned flow outlives an idle of 20 s on a gateway that forgets in 4 s
# (lib_idle.bash idle_live; an unlisted 8143 connection dies).
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 8143
hold "$C" f $S4 143 1 "${IDLE_PING[@]}"
hold "$C" fc $S4 8143 1 "${IDLE_PING[@]}"
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "pinned"
# lived: the pinned flow outlives an idle that kills the 8143 one
idle_live 143 f fc
sport=$(awk '$1 == "OK" { print $3; exit }' "$TMPD/f")
ip netns exec "$G" $PY "$HERE/ct_settimeout.py" $C4 $S4 "$sport" 143 fixed:100 ||
	fail "ctnetlink refused the fixed timeout"
ping_flows f || fail "round trip"
expect_timeouts "$G" ipv4 143 1 100 "fixed at 100 s, after traffic"
exit $ret
