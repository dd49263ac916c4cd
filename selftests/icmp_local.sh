#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The gateway itself as an IMAP client of the server (IP_RECVERR): when
# its server-side link fails, its own host-unreachable errors do not reach
# its own socket; stock Linux reports EHOSTUNREACH.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 143
hold "$G" own $S4 143 1 --recverr
[ "$STOCK" = 1 ] || read -r a0 _ _ <<< "$(icmp_counters "$G")"
u4=$(icmp_unreach_sent "$G") in0=$(icmp_in "$G")
ip -n "$S" link set s0 down
ip -n "$G" neigh flush dev gs
ctl own send
# the gateway's unreachable about its own segment: absorbed, or received
# by the gateway itself (on stock Linux, no shield: received only)
own_settled() {
	local s a=0
	s=$(($(icmp_unreach_sent "$G") - u4))
	if [ "$STOCK" != 1 ]; then
		read -r a _ <<< "$(icmp_counters "$G")"
		a=$((a - a0))
	fi
	[ "$s" -gt 0 ] && [ $((a + $(icmp_in "$G") - in0)) -ge "$s" ]
}
wait_for 60 own_settled ||
	info "after 60 s: the gateway sent $(($(icmp_unreach_sent "$G") - u4)) unreachables and received $(($(icmp_in "$G") - in0))"
e=$(errors_of own)
[ "$e" = "OK " ] && pass "the gateway's own IMAP socket sees no error" ||
	fail "the gateway's own IMAP socket reports: $e"
if on_module "absorbed (icmp_absorbed)"; then
	read -r a1 _ _ <<< "$(icmp_counters "$G")"
	[ $((a1 - a0)) -ge 1 ] && pass "absorbed +$((a1 - a0))" || fail "absorbed +$((a1 - a0)) (want >= 1)"
fi
server_link_up
ping_flows own && pass "the session carries data after the link returns" ||
	fail "the session did not recover"
exit $ret
