#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The client goes dormant (its link goes down) while the server has data in
# flight that nobody acknowledges. Stock conntrack switches the flow to the
# UNACK/RETRANS timeout (300 s); the floor keeps at least 7440 s.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143 587 674

hold "$C" u4 $S4 143,587,674 3
hold "$C" u6 $S6 143,587,674 3
kill -USR2 "$PID_u4" "$PID_u6"
wait_for 10 test -e "$TMPD/u4.drip" -a -e "$TMPD/u6.drip" || fail "drip request not sent"
# the drip flows: the client has acknowledged some of it on every connection
wait_for 60 server_socks_all 'v["bytes_acked"] >= 2000' ||
	fail "the server's drip did not reach every client connection"
ip -n "$C" link set c0 down
info "client link down; server data now goes unacknowledged"
# On the wire: every server connection has data in flight that nobody
# acknowledges and has retransmitted it (RTO starts at 200 ms), so
# conntrack has seen unacknowledged data and retransmissions.
if wait_for 60 server_socks_all 'v["unacked"] > 0 && v["retrans_total"] >= 2'; then
	pass "every server connection has unacknowledged data and has retransmitted it"
else
	fail "server connections: $(ip netns exec "$S" ss -tinOH state established | grep -o 'unacked:[0-9]*\|retrans:[0-9/]*' | tr '\n' ' ')"
fi
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		expect_timeouts "$G" $fam $p $FLOOR $((FLOOR + 60)) "unacked data in flight"
	done
done
exit $ret
