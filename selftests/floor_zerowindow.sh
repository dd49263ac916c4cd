#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Zero window: the client stops reading while the server keeps sending, so
# the client advertises a zero window and the server probes it. Stock
# conntrack switches such a flow to the RETRANS timeout (300 s); the floor
# keeps at least 7440 s from the last packet conntrack accepted. Zero-window
# probes back off and conntrack does not count them all, so the test
# asserts the floor from the moment the flood started (a lower bound of
# the last accepted packet's time): remaining >= 7440 - elapsed.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
serve_start 143 587 674

hold "$C" z4 $S4 143,587,674 3 --rcvbuf 4096 --sig2 FLOOD
hold "$C" z6 $S6 143,587,674 3 --rcvbuf 4096 --sig2 FLOOD
t0=$(date +%s)
kill -USR2 "$PID_z4" "$PID_z6"
wait_for 10 test -e "$TMPD/z4.drip" -a -e "$TMPD/z6.drip" || fail "flood request not sent"
# wait until the client's receive queue is full: it has stopped reading
full() {
	ip netns exec "$C" ss -Htn state established '( dport = :143 )' |
		awk '$1 > 0 { n++ } END { exit n < 2 }'
}
wait_for 20 full || fail "client receive queues did not fill"
# the server probes the zero window (backing off from 200 ms): wait for
# a few rounds on every connection, seen in the server's socket
if wait_for 60 server_socks_all 'v["backoff"] >= 2'; then
	pass "every server connection is probing a zero window"
else
	fail "server connections: $(ip netns exec "$S" ss -tinOH state established | grep -o 'backoff:[0-9]*' | tr '\n' ' ')"
fi
info "client receive queues: $(ip netns exec "$C" ss -Htn state established | awk '{ print $1 }' | tr '\n' ' ')"
for fam in ipv4 ipv6; do
	for p in 143 587 674; do
		min=$((FLOOR - ($(date +%s) - t0) - 1))
		expect_timeouts "$G" $fam $p $min $((FLOOR + 60)) "zero window"
	done
done
exit $ret
