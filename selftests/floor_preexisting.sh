#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A flow opened before the module is loaded is covered from its next
# packet: it keeps conntrack's 600 s until then, and at least 7440 s after;
# then it outlives an idle of 20 s on a gateway that forgets in 4 s
# (lib_idle.bash idle_live; an unlisted 8143 connection opened with them
# dies).
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
serve_start 143 587 674 8143
hold "$C" pre $S4 143,587,674 3 "${IDLE_PING[@]}"
hold "$C" pre6 $S6 143,587,674 3 "${IDLE_PING[@]}"
hold "$C" prec $S4 8143 1 "${IDLE_PING[@]}"
expect_timeouts "$G" ipv4 143 1 $VENDOR_EST "before insmod"
lemonade_load
expect_timeouts "$G" ipv4 143 1 $VENDOR_EST "after insmod, before the next packet"
# the module adopts them in the background right after loading
if [ "$STOCK" != 1 ]; then
	wait_for 30 sh -c "[ \$(ip netns exec $G lemonctl -j flows | jq length) -ge 6 ]" &&
		pass "the 6 open flows are adopted: $(ip netns exec "$G" lemonctl flows | wc -l) listed" ||
		fail "open flows not adopted: $(ip netns exec "$G" lemonctl flows | wc -l) listed"
fi
ping_flows pre || fail "round trip on the pre-existing IPv4 flows"
ping_flows pre6 || fail "round trip on the pre-existing IPv6 flows"
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "pre-existing flow after its next packet"
	done
done
# lived: they outlive an idle that kills the unlisted 8143 one
idle_live 143,587,674 pre pre6 prec
exit $ret
