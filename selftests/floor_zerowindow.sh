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
# Then the client lives it (lib_idle.bash): with the gateway's own
# timeouts at 4 s and forgotten flows dropped, the window stays shut 20 s
# and more; then the client reads, and everything the server had queued on
# 143, 587 and 674 reaches it (the server's send queues empty); on the
# unlisted 8143 the window update is lost with the flow and the data stays
# queued.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

topo_up
lemonade_load
serve_start 143 587 674 8143

hold "$C" z4 $S4 143,587,674 3 --rcvbuf 4096 --sig2 FLOOD
hold "$C" z6 $S6 143,587,674 3 --rcvbuf 4096 --sig2 FLOOD
hold "$C" zc $S4 8143 1 --rcvbuf 4096 --sig2 FLOOD
t0=$(date +%s)
kill -USR2 "$PID_z4" "$PID_z6" "$PID_zc"
wait_for 10 test -e "$TMPD/z4.drip" -a -e "$TMPD/z6.drip" -a -e "$TMPD/zc.drip" ||
	fail "flood request not sent"
# wait until the client's receive queue is full: it has stopped reading
full() {
	ip netns exec "$C" ss -Htn state established '( dport = :143 )' |
		awk '$1 > 0 { n++ } END { exit n < 2 }'
}
wait_for 20 full || fail "client receive queues did not fill"
# the server probes the zero window (backing off from 200 ms): wait for
# a few rounds on every connection, seen in the server's socket
if wait_for 60 server_socks_all 'v["backoff"] >= 2' 143,587,674,8143; then
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

# lived: the probes and their answers now get conntrack's own 4 s
idle_strict
idle_est $IDLE_EST
t0=$(date +%s)
# (the flow takes the short timeout at the server's next retransmission or
# probe, which may be up to TCP_RTO_MAX, 120 s, away)
idle_wait "$t0" "lived" 150 8143
idle_socks_all '$2 > 0' z4 z6 zc ||
	fail "a server connection has nothing queued before the client reads: $(idle_socks_desc z4 z6 zc)"
info "the client reads after $(($(date +%s) - t0)) s"
for h in z4 z6 zc; do
	ctl $h drain
	info "$h read: $(tr '\n' ' ' 2>/dev/null < "$TMPD/$h.drain")"
done
if wait_for 30 idle_socks_all '$2 == 0' z4 z6; then
	pass "lived: everything the server had queued on 143, 587 and 674 reached the client after $(($(date +%s) - t0)) s of a shut window (the gateway's own timeout $IDLE_EST s)"
else
	fail "lived: the server still has data queued on 143, 587 and 674 after the client read, $(($(date +%s) - t0)) s after the gateway's timeouts went to $IDLE_EST s: $(ip netns exec "$S" ss -tnOH state established | awk '{ print $2 }' | tr '\n' ' ')"
fi
if idle_socks_all '$2 > 0' zc; then
	pass "lived: control: on 8143 the server's data stays queued (the window update was lost with the flow)"
else
	fail "lived: control: the server's queue on 8143 emptied: the gateway did not forget the flow, the test proves nothing"
fi
exit $ret
