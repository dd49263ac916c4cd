#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Idle-timeout floor: an idle flow to each listed port (143, 587, 674),
# over IPv4 and IPv6, keeps at least 7440 s in the gateway's conntrack
# although the gateway's established timeout is 600 s; a flow to the
# unlisted port 8143 keeps conntrack's 600 s.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143 587 674 8143

hold "$C" v4 $S4 143,587,674,8143 4
hold "$C" v6 $S6 143,587,674,8143 4
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "idle listed flow"
	done
	expect_timeouts "$G" $fam 8143 1 $VENDOR_EST "unlisted port untouched"
done
exit $ret
