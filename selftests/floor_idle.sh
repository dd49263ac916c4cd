#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Idle-timeout floor: an idle flow to each listed port (143, 587, 674),
# over IPv4 and IPv6, keeps at least 7440 s in the gateway's conntrack
# although the gateway's established timeout is 600 s; a flow to the
# unlisted port 8143 keeps conntrack's 600 s. Then the client lives it
# (lib_idle.bash idle_live): the gateway's own timeout 4 s and forgotten
# flows dropped, the listed connections answer after 20 s idle, the
# unlisted ones are dead.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 587 674 8143

hold "$C" v4 $S4 143,587,674,8143 4 "${IDLE_PING[@]}"
hold "$C" v6 $S6 143,587,674,8143 4 "${IDLE_PING[@]}"
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "idle listed flow"
	done
	expect_timeouts "$G" $fam 8143 1 $VENDOR_EST "unlisted port untouched"
done
idle_live 143,587,674 v4 v6
exit $ret
