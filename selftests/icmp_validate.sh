#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# RFC 5927 validation (icmp_validate=1): a port-unreachable error whose
# quoted sequence number lies outside the window the gateway tracks is
# dropped (it never reaches the client; "invalid" +1); so is one that
# quotes only the ports (conntrack relates it, its sequence number cannot
# be read); one quoting an in-window segment passes (the client sees
# ECONNREFUSED; nothing counted). A flow conntrack picked up mid-stream
# has windows it does not track: its errors pass unvalidated (counted).
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load icmp_validate=1
gateway_only
ip netns exec "$C" nft -f - <<EOT
table inet watch {
	counter unreach { }
	chain in {
		type filter hook input priority -400; policy accept;
		icmp type destination-unreachable counter name unreach
	}
}
EOT
arrived() {
	ip netns exec "$C" nft list counter inet watch unreach | awk '/packets/ { print $2 }'
}
serve_start 143
hold "$C" v $S4 143 1 --recverr
[ "$STOCK" = 1 ] || read -r a0 p0 i0 <<< "$(icmp_counters "$G")"
n0=$(arrived)
inject v ipv4 143 3 3 --seq-offset 100000000
n1=$(arrived)
[ "$STOCK" = 1 ] || read -r a1 p1 i1 <<< "$(icmp_counters "$G")"
[ "$n1" -eq "$n0" ] && pass "out-of-window error dropped at the gateway" ||
	fail "out-of-window error reached the client ($((n1 - n0)) packets)"
if on_module "invalid +1, absorbed +0, passed +0 (icmp_invalid, icmp_absorbed, icmp_passed)"; then
	[ $((i1 - i0)) -eq 1 ] && [ "$a1" -eq "$a0" ] && [ "$p1" -eq "$p0" ] &&
		pass "invalid +1, absorbed +0, passed +0" ||
		fail "counters: invalid +$((i1 - i0)), absorbed +$((a1 - a0)), passed +$((p1 - p0))"
fi
e=$(errors_of v)
[ "$e" = "OK " ] && pass "client saw no error" || fail "client saw: $e"

inject v ipv4 143 3 3
n2=$(arrived)
[ "$STOCK" = 1 ] || read -r a2 p2 i2 <<< "$(icmp_counters "$G")"
[ $((n2 - n1)) -eq 1 ] && pass "in-window error passed to the client" ||
	fail "in-window error: $((n2 - n1)) packets reached the client"
if on_module "no counter moved for the in-window error (icmp_invalid, icmp_absorbed, icmp_passed)"; then
	[ "$i2" -eq "$i1" ] && [ "$a2" -eq "$a1" ] && [ "$p2" -eq "$p1" ] &&
		pass "no counter moved for the in-window error" ||
		fail "counters: invalid +$((i2 - i1)), absorbed +$((a2 - a1)), passed +$((p2 - p1))"
fi
e=$(errors_of v)
case $e in *ECONNREFUSED*) pass "client socket reports the genuine error ($e)" ;; *) fail "client socket: $e" ;; esac

# the ports alone: no sequence number to validate
n2=$(arrived)
inject v ipv4 143 3 3 --quote-tcp 4
n3=$(arrived)
[ "$STOCK" = 1 ] || read -r a3 p3 i3 <<< "$(icmp_counters "$G")"
[ "$n3" -eq "$n2" ] && pass "an error quoting only the ports is dropped" ||
	fail "an error quoting only the ports reached the client"
if on_module "counted invalid (icmp_invalid)"; then
	[ $((i3 - i2)) -eq 1 ] && pass "counted invalid" ||
		fail "invalid +$((i3 - i2)) for the ports-only quote"
fi

# picked up mid-stream: conntrack does not track the windows
ip netns exec "$G" conntrack -D -p tcp --dport 143 >/dev/null 2>&1
ping_flows v || fail "round trip after the entry was deleted"
ip netns exec "$G" conntrack -L -p tcp --dport 143 2>/dev/null | grep -q ESTABLISHED ||
	fail "the flow was not picked up again"
[ "$STOCK" = 1 ] || u0=$(counter "$G" icmp_unvalidated 2>/dev/null || echo 0)
inject v ipv4 143 3 3
n4=$(arrived)
if on_module "the error passed unvalidated (icmp_unvalidated)"; then
	u1=$(counter "$G" icmp_unvalidated 2>/dev/null || echo 0)
	[ $((n4 - n3)) -eq 1 ] && [ $((u1 - u0)) -eq 1 ] &&
		pass "picked up mid-stream: the error passed unvalidated (icmp_unvalidated +1)" ||
		fail "picked up mid-stream: $((n4 - n3)) errors reached the client, icmp_unvalidated +$((u1 - u0))"
else
	[ $((n4 - n3)) -eq 1 ] && pass "picked up mid-stream: the error reached the client" ||
		fail "picked up mid-stream: $((n4 - n3)) errors reached the client"
fi
exit $ret
