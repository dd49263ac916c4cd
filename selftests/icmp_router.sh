#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A router beyond the gateway sends ICMP destination-unreachable errors with
# soft codes (v4: 0, 1, 5; v6: 0, 3) quoting a real, in-window segment of
# an IMAP flow. The client's socket has IP_RECVERR: on stock Linux it
# reports each error (and mail clients drop the session); with the module
# the gateway absorbs them, the client sees nothing and keeps the session,
# and exactly the "absorbed" counter moves, once per error.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 143
hold "$C" r4 $S4 143 1 --recverr
hold "$C" r6 $S6 143 1 --recverr
[ "$STOCK" = 1 ] || read -r a0 p0 i0 <<< "$(icmp_counters "$G")"
for code in 0 1 5; do
	inject r4 ipv4 143 3 $code
	e=$(errors_of r4)
	[ "$e" = "OK " ] && pass "ICMPv4 type 3 code $code: client sees no error" ||
		fail "ICMPv4 type 3 code $code: client socket reports: $e"
done
for code in 0 3; do
	inject r6 ipv6 143 1 $code
	e=$(errors_of r6)
	[ "$e" = "OK " ] && pass "ICMPv6 type 1 code $code: client sees no error" ||
		fail "ICMPv6 type 1 code $code: client socket reports: $e"
done
ping_flows r4 && ping_flows r6 && pass "the sessions carry data both ways" ||
	fail "the sessions are broken"
if on_module "absorbed +5, passed +0, invalid +0 (icmp_absorbed, icmp_passed, icmp_invalid)"; then
	read -r a1 p1 i1 <<< "$(icmp_counters "$G")"
	if [ $((a1 - a0)) -eq 5 ] && [ "$p1" -eq "$p0" ] && [ "$i1" -eq "$i0" ]; then
		pass "absorbed +5, passed +0, invalid +0"
	else
		fail "counters moved: absorbed +$((a1 - a0)), passed +$((p1 - p0)), invalid +$((i1 - i0)) (want +5, +0, +0)"
	fi
fi
exit $ret
