#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The gateway's server-side link goes down and its neighbour entries are
# flushed, so the gateway itself answers the client's next segments with
# host (v4) / address (v6) unreachable. A client socket with IP_RECVERR
# fails with EHOSTUNREACH on stock Linux and the session is lost; with the
# module the client sees no error, and once the link returns the same
# connections carry data both ways.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 143 587 674
hold "$C" l4 $S4 143,587,674 3 --recverr
hold "$C" l6 $S6 143,587,674 3 --recverr
[ "$STOCK" = 1 ] || read -r a0 p0 i0 <<< "$(icmp_counters "$G")"
u4=$(icmp_unreach_sent "$G") u6=$(icmp6_unreach_sent "$G") in0=$(icmp_in "$C")
ip -n "$S" link set s0 down
ip -n "$G" neigh flush dev gs
ctl l4 send
ctl l6 send
info "server link down: waiting for the gateway's neighbour resolution to fail"
# every unreachable the gateway sent was absorbed or reached the client
wait_for 60 gw_errors_settled "$u4" "$u6" "${a0-}" "$in0" ||
	info "after 60 s: the gateway sent $(($(icmp_unreach_sent "$G") - u4)) + $(($(icmp6_unreach_sent "$G") - u6)) unreachables; client received $(($(icmp_in "$C") - in0))"
e4=$(errors_of l4)
e6=$(errors_of l6)
[ "$e4" = "OK OK OK " ] && pass "IPv4 clients see no error" || fail "IPv4 clients see: $e4"
[ "$e6" = "OK OK OK " ] && pass "IPv6 clients see no error" || fail "IPv6 clients see: $e6"
if on_module "gateway absorbed its own unreachable errors (icmp_absorbed, icmp_passed, icmp_invalid)"; then
	read -r a1 p1 i1 <<< "$(icmp_counters "$G")"
	if [ $((a1 - a0)) -ge 2 ] && [ "$p1" -eq "$p0" ] && [ "$i1" -eq "$i0" ]; then
		pass "gateway absorbed $((a1 - a0)) of its own unreachable errors (passed +0, invalid +0)"
	else
		fail "counters: absorbed +$((a1 - a0)), passed +$((p1 - p0)), invalid +$((i1 - i0)) (want >= 2, 0, 0)"
	fi
fi
server_link_up
if ping_flows l4 && ping_flows l6; then
	pass "after the link returns the same connections carry data both ways"
else
	fail "connections did not recover after the link returned"
fi
e4=$(errors_of l4)
[ "$e4" = "OK OK OK " ] && pass "no error reported afterwards either" || fail "late errors: $e4"
exit $ret
