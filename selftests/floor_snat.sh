#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Idle-timeout floor through source NAT: the gateway masquerades the
# client behind its server-side address; idle flows to 143, 587 and 674
# (IPv4 and IPv6) still keep at least 7440 s, 8143 keeps 600 s; and the
# client lives it (idle_live): the listed connections answer after 20 s
# idle on a gateway that forgets in 4 s, the 8143 ones are dead.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
ip netns exec "$G" nft -f - <<EOT
table inet nat {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "gs" masquerade
	}
}
EOT
lemonade_load
serve_start 143 587 674 8143

hold "$C" v4 $S4 143,587,674,8143 4 "${IDLE_PING[@]}"
hold "$C" v6 $S6 143,587,674,8143 4 "${IDLE_PING[@]}"
if ip netns exec "$G" conntrack -L -p tcp --dport 143 2>/dev/null |
	grep -q "dst=$G4S "; then
	pass "IPv4 flows are masqueraded behind $G4S"
else
	fail "IPv4 flows are not masqueraded"
fi
if ip netns exec "$G" conntrack -L -f ipv6 -p tcp --dport 143 2>/dev/null |
	grep -q "dst=$G6S "; then
	pass "IPv6 flows are masqueraded behind $G6S"
else
	fail "IPv6 flows are not masqueraded"
fi
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "masqueraded idle flow"
	done
	expect_timeouts "$G" $fam 8143 1 $VENDOR_EST "masqueraded unlisted port"
done
idle_live 143,587,674 v4 v6
exit $ret
