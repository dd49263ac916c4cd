#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The client goes dormant (it drops every TCP segment it receives) while
# the server has data in flight that nobody acknowledges. Stock conntrack
# switches the flow to the UNACK/RETRANS timeout (300 s); the floor keeps
# at least 7440 s. Then the client lives it (lib_idle.bash): with the
# gateway's own timeouts at 4 s and forgotten flows dropped, the client
# stays dormant 20 s and more, wakes, and the server's next retransmission
# reaches it on 143, 587 and 674 (the server's sockets see it acknowledged);
# on the unlisted 8143 it never arrives.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 587 674 8143

hold "$C" u4 $S4 143,587,674 3
hold "$C" u6 $S6 143,587,674 3
hold "$C" uc $S4 8143 1
kill -USR2 "$PID_u4" "$PID_u6" "$PID_uc"
wait_for 10 test -e "$TMPD/u4.drip" -a -e "$TMPD/u6.drip" -a -e "$TMPD/uc.drip" ||
	fail "drip request not sent"
wait_for 60 server_socks_all 'v["bytes_acked"] >= 2000' 143,587,674,8143 ||
	fail "the server's drip did not reach every client connection"
idle_dormant
info "client dormant; server data now goes unacknowledged"
if wait_for 60 server_socks_all 'v["unacked"] > 0 && v["retrans_total"] >= 2' 143,587,674,8143; then
	pass "every server connection has unacknowledged data and has retransmitted it"
else
	fail "server connections: $(ip netns exec "$S" ss -tinOH state established | grep -o 'unacked:[0-9]*\|retrans:[0-9/]*' | tr '\n' ' ')"
fi
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "unacked data in flight"
	done
done

# lived: the server's retransmissions now get conntrack's own 4 s
idle_strict
idle_est $IDLE_EST
t0=$(date +%s)
# (the flow takes the short timeout at the server's next retransmission or
# probe, which may be up to TCP_RTO_MAX, 120 s, away)
idle_wait "$t0" "lived" 150 8143
idle_awake
info "client awake after $(($(date +%s) - t0)) s"
if wait_for 150 idle_socks_all 'v["unacked"] == 0' u4 u6; then
	pass "lived: the server's unacknowledged data on 143, 587 and 674 reached the client and was acknowledged $(($(date +%s) - t0)) s after the gateway's timeouts went to $IDLE_EST s"
else
	fail "lived: the server's data on 143, 587 and 674 is still unacknowledged $(($(date +%s) - t0)) s after the gateway's timeouts went to $IDLE_EST s: $(idle_socks_desc u4 u6)"
fi
if ! idle_socks_all 'v["unacked"] == 0' uc; then
	pass "lived: control: the server's data on 8143 was not delivered (its flow was forgotten): $(idle_socks_desc uc)"
else
	fail "lived: control: the server's data on 8143 was acknowledged: the gateway did not forget it, the test proves nothing"
fi
exit $ret
