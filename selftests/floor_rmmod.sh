#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rmmod with live pinned flows: no warning, the flows fall back to
# conntrack's own timeout (600 s here) and keep carrying traffic. Before
# the rmmod, the pinned flows outlive an idle of 20 s on a gateway that
# forgets in 4 s (lib_idle.bash idle_live; an unlisted 8143 one dies).
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 587 674 8143
hold "$C" r4 $S4 143,587,674 3 "${IDLE_PING[@]}"
hold "$C" r6 $S6 143,587,674 3 "${IDLE_PING[@]}"
hold "$C" rc $S4 8143 1 "${IDLE_PING[@]}"
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "pinned before rmmod"
# lived: pinned, they outlive an idle that kills the unlisted 8143 one
idle_live 143,587,674 r4 r6 rc
if [ "$STOCK" = 1 ] || rmmod nf_lemonade; then
	pass "rmmod with live flows"
else
	fail "rmmod with live flows"
fi
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p 1 $VENDOR_EST "after rmmod"
	done
done
ping_flows r4 && pass "flows still carry traffic after rmmod" ||
	fail "flows broken after rmmod"
exit $ret
