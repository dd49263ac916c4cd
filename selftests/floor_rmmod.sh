#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rmmod with live pinned flows: no warning, the flows fall back to
# conntrack's own timeout (600 s here) and keep carrying traffic.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143 587 674
hold "$C" r4 $S4 143,587,674 3
hold "$C" r6 $S6 143,587,674 3
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "pinned before rmmod"
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
