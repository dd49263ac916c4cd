#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# An nft "ct timeout" policy on the gateway gives every mail flow an
# established timeout of 30 s. The floor beats it on the listed ports;
# the unlisted port 8143 keeps the policy's 30 s. Then the client lives
# it (lib_idle.bash idle_live): after an idle past the policy, the listed
# connections answer and the 8143 one is dead.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
ip netns exec "$G" nft -f - <<EOT
table ip ctpol {
	ct timeout short {
		protocol tcp; l3proto ip;
		policy = { established: 30, close: 10 };
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
hold "$C" p $S4 143,587,674,8143 4 "${IDLE_PING[@]}"
ping_flows p || fail "round trip"
for p in 143 587 674; do
	expect_timeouts "$G" ipv4 $p $FLOOR $((FLOOR + 60)) "ct timeout policy of 30 s"
done
expect_timeouts "$G" ipv4 8143 1 30 "unlisted port keeps the policy"
# lived: past the policy's 30 s the listed connections answer, 8143 is dead
IDLE_OWN="the ct timeout policy's 30 s"
idle_live 143,587,674 p
exit $ret
