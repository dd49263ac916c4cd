#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Flows already open when their port becomes listed are covered from their
# next packet: a port added to the gateway's set, and the module enabled
# again after flows were opened while it was off. Flows on ports that stay
# unlisted keep conntrack's timeout throughout.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 8143 9143
if [ "$STOCK" != 1 ]; then
	ip netns exec "$G" lemonctl set enable off || fail "lemonctl set enable off"
fi
hold "$C" off $S4 143 2 "${IDLE_PING[@]}"
hold "$C" late $S4 8143,9143 2 "${IDLE_PING[@]}"
hold "$C" late6 $S6 8143 2 "${IDLE_PING[@]}"
expect_timeouts "$G" ipv4 143 1 $VENDOR_EST "opened while the module is off"
expect_timeouts "$G" ipv4 8143 1 $VENDOR_EST "opened before 8143 is listed"
if [ "$STOCK" != 1 ]; then
	ip netns exec "$G" lemonctl set enable on || fail "lemonctl set enable on"
	ip netns exec "$G" lemonctl port add 8143 proto none ||
		fail "lemonctl port add 8143"
fi
ping_flows off || fail "round trip on the flows opened while off"
ping_flows late || fail "round trip on the 8143/9143 flows"
ping_flows late6 || fail "round trip on the IPv6 8143 flows"
expect_timeouts "$G" ipv4 143 $FLOOR $((FLOOR + 60)) "opened while off, after enable on and a packet"
expect_timeouts "$G" ipv4 8143 $FLOOR $((FLOOR + 60)) "opened before port add, after a packet"
expect_timeouts "$G" ipv6 8143 $FLOOR $((FLOOR + 60)) "opened before port add, after a packet"
expect_timeouts "$G" ipv4 9143 1 $VENDOR_EST "unlisted port untouched"
# lived: the adopted flows outlive an idle that kills the 9143 one
idle_live 143,8143 off late late6
exit $ret
