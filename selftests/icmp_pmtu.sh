#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU discovery keeps working: fragmentation needed (v4 type 3 code 4)
# and Packet Too Big (v6 type 2) for a listed flow pass the gateway, the
# client's path MTU drops, and no counter of the shield moves.
# stock-left-alone: path MTU discovery (the shield lets these errors through)
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 143
hold "$C" m4 $S4 143 1
hold "$C" m6 $S6 143 1
[ "$STOCK" = 1 ] || read -r a0 p0 i0 <<< "$(icmp_counters "$G")"
inject m4 ipv4 143 3 4 --mtu 1200
inject m6 ipv6 143 2 0 --mtu 1280
# the clients' routes learn the MTU as the errors arrive
wait_for 20 sh -c "ip -n $C route get $S4 | grep -q 'mtu 1200' && ip -n $C -6 route get $S6 | grep -q 'mtu 1280'"
r4=$(ip -n "$C" route get $S4)
r6=$(ip -n "$C" -6 route get $S6)
case $r4 in *"mtu 1200"*) pass "client's IPv4 path MTU is 1200" ;; *) fail "IPv4 path MTU unchanged: $r4" ;; esac
case $r6 in *"mtu 1280"*) pass "client's IPv6 path MTU is 1280" ;; *) fail "IPv6 path MTU unchanged: $r6" ;; esac
shield_unmoved "${a0-}" "${p0-}" "${i0-}"
ping_flows m4 && ping_flows m6 && pass "sessions carry data" || fail "sessions broken"
exit $ret
