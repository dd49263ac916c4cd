#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configuration is per netns: the gateway lists only port 8143, while the
# client namespace (a host with a stateful firewall of its own) keeps the
# defaults. Each follows its own configuration. Then the client lives the
# gateway's (lib_idle.bash idle_live): with the gateway's own timeouts at
# 4 s, the connection to 8143 answers after 20 s idle and the one to 143,
# which the gateway no longer lists, is dead.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
# the module acts where the ruleset uses conntrack (it never turns it on)
ip netns exec "$C" nft -f - <<EOT
table inet host {
	chain out {
		type filter hook output priority filter; policy accept;
		ct state established,related,new accept
	}
}
EOT
lemonade_load
ip netns exec "$C" sysctl -qw \
	net.netfilter.nf_conntrack_tcp_timeout_established=$VENDOR_EST
serve_start 143 8143
if [ "$STOCK" != 1 ]; then
	ip netns exec "$G" lemonctl port del 143 || fail "lemonctl port del 143"
	ip netns exec "$G" lemonctl port add 8143 proto none || fail "lemonctl port add 8143"
fi
hold "$C" n $S4 143,8143 2 "${IDLE_PING[@]}"
expect_timeouts "$G" ipv4 8143 $FLOOR $((FLOOR + 60)) "gateway lists 8143"
expect_timeouts "$G" ipv4 143 1 $VENDOR_EST "gateway no longer lists 143"
expect_timeouts "$C" ipv4 143 $FLOOR $((FLOOR + 60)) "client netns keeps the defaults"
expect_timeouts "$C" ipv4 8143 1 $VENDOR_EST "client netns does not list 8143"
idle_live 8143 n
exit $ret
