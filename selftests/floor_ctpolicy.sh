#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An nft "ct timeout" policy on the gateway gives every mail flow an
# established timeout of 120 s. The floor beats it on the listed ports;
# the unlisted port 8143 keeps the policy's 120 s.
source "$(dirname "$0")/lib.sh"

topo_up
ip netns exec "$G" nft -f - <<EOT
table ip ctpol {
	ct timeout short {
		protocol tcp; l3proto ip;
		policy = { established: 120, close: 10 };
	}
	chain pre {
		type filter hook prerouting priority filter; policy accept;
		tcp dport { 143, 587, 674, 8143 } ct timeout set "short"
	}
}
EOT
[ $? -eq 0 ] || { echo "FAIL: could not load the ct timeout ruleset"; exit $ksft_fail; }
lemonade_load
serve_start 143 587 674 8143
hold "$C" p $S4 143,587,674,8143 4
ping_flows p || fail "round trip"
for p in 143 587 674; do
	expect_timeouts "$G" ipv4 $p $FLOOR $((FLOOR + 60)) "ct timeout policy of 120 s"
done
expect_timeouts "$G" ipv4 8143 1 120 "unlisted port keeps the policy"
exit $ret
