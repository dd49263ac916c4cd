#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# icmp_router through NAT: a router beyond the gateway sends a soft
# destination-unreachable error quoting a real, in-window segment of an
# IMAP flow that the gateway masquerades (SNAT) or forwards from its own
# port 10143 (DNAT), IPv4 and IPv6. Conntrack translates the error back
# towards the client; the shield absorbs it: the client (IP_RECVERR) sees
# nothing and the session carries data. On stock Linux the client sees
# the error.
# timeout: 600
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 143
for mode in snat dnat; do
	ip netns exec "$G" nft delete table inet nat 2>/dev/null
	nat_up $mode 143
	hold "$C" ${mode}4 "$(nat_addr $mode 4)" "$(nat_port $mode 143)" 1 --recverr
	hold "$C" ${mode}6 "$(nat_addr $mode 6)" "$(nat_port $mode 143)" 1 --recverr
	inject ${mode}4 ipv4 143 3 1
	e=$(errors_of ${mode}4)
	[ "$e" = "OK " ] && pass "$mode: ICMPv4 host unreachable: the client sees no error" ||
		fail "$mode: ICMPv4 host unreachable: the client socket reports: $e"
	inject ${mode}6 ipv6 143 1 3
	e=$(errors_of ${mode}6)
	[ "$e" = "OK " ] && pass "$mode: ICMPv6 address unreachable: the client sees no error" ||
		fail "$mode: ICMPv6 address unreachable: the client socket reports: $e"
	ping_flows ${mode}4 && ping_flows ${mode}6 && pass "$mode: the sessions carry data both ways" ||
		fail "$mode: the sessions are broken"
done
exit $ret
