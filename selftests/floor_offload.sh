#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Flow offload: the gateway offloads every established flow to an nft
# flowtable. An offloaded flow bypasses the hooks and, once idle, is handed
# back to conntrack with the global timeout, losing the pin. Listed flows
# must therefore stay out of the flowtable (marked with the "lemonade"
# conntrack helper) and keep their floor; flows to other ports are still
# offloaded. Then the client lives it (lib_idle.bash idle_live): with the
# gateway's own timeouts at 4 s, the listed connections answer after an
# idle that outlasts the flowtable's 30 s, and the offloaded 8143 ones are
# dead.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
ip netns exec "$G" nft -f - <<EOT
table inet fastpath {
	flowtable ft {
		hook ingress priority 0; devices = { gc, gs };
	}
	chain forward {
		type filter hook forward priority filter - 1; policy accept;
		ct state established flow add @ft
	}
}
EOT
[ $? -eq 0 ] || { echo "FAIL: could not load the flowtable ruleset"; exit $ksft_fail; }
lemonade_load
serve_start 143 587 674 8143
hold "$C" o4 $S4 143,587,674,8143 4 "${IDLE_PING[@]}"
hold "$C" o6 $S6 143,587,674,8143 4 "${IDLE_PING[@]}"
# data in both directions gets each flow through the forward chain
ping_flows o4 || fail "round trip IPv4"
ping_flows o6 || fail "round trip IPv6"
ping_flows o4 && ping_flows o6 || fail "second round trip"
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		line=$(ip netns exec "$G" conntrack -L -f $fam -p tcp --dport $p 2>/dev/null)
		case $line in
		*OFFLOAD*) fail "[conntrack] $fam tcp/$p was offloaded: $line" ;;
		*helper=lemonade*) pass "$fam tcp/$p kept out of the flowtable (helper=lemonade)" ;;
		*) fail "[conntrack] $fam tcp/$p not marked: $line" ;;
		esac
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "listed flow with offload configured"
	done
	line=$(ip netns exec "$G" conntrack -L -f $fam -p tcp --dport 8143 2>/dev/null)
	case $line in
	*OFFLOAD*) pass "$fam tcp/8143 is offloaded as configured" ;;
	*) fail "[conntrack] $fam tcp/8143 not offloaded (is the flowtable working?): $line" ;;
	esac
done
# (an offloaded control goes back to conntrack once the flowtable's own
# timeout, 30 s, ran out; conntrack then forgets it after its 4 s, or,
# on older kernels (5.10), after the flowtable's TCP pickup timeout, 120 s)
IDLE_FORGET_CAP=200
idle_live 143,587,674 o4 o6
exit $ret
