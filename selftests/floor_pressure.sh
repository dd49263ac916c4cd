#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Table pressure (nf_conntrack_max=256, high-water 90%, low-water 80%),
# behind masquerade so that a released entry breaks its session as it
# would for a user. The floor borrows table slots stock Linux would have
# freed (listed flows idle past conntrack's own timeout) and gives back
# only those, longest idle first:
#  A. 60 "old" then 60 "young" borrowed flows, then a burst of 130 new
#     listed connections: the old ones are released first, no young one,
#     the burst connects, and every young session still carries data
#     (on stock Linux, conntrack forgot them: a session behind
#     masquerade breaks); afterwards, and again once the burst itself is
#     borrowing, 10 + 10 new connections to a listed and an unlisted port
#     complete on their first SYN (under 1 s each, 2 s connect timeout).
#  B. an unanswered SYN flood to 95% of the table while 50 listed sessions
#     idle within their own timeout: nothing is released, all 50 carry
#     data afterwards.
#  C. with conntrack's default 5-day timeout, a flow re-pinned after the
#     UNACK shortcut (its client acknowledges nothing) is not taken for
#     idle: a table driven over the mark by new listed connections
#     releases nothing, and that flow keeps its entry.
# timeout: 900
source "$(dirname "$0")/lib.sh"

keep_conntrack_max
C3=192.0.2.3

# gateway NAT and a second client address; EST: the gateway's timeout
pressure_topo() {
	topo_up
	ip -n "$C" addr add $C3/24 dev c0
	ip netns exec "$G" nft -f - <<-EOT
	table inet nat {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			oifname "gs" masquerade
		}
	}
	EOT
	ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
	ip netns exec "$G" sysctl -qw \
		net.netfilter.nf_conntrack_tcp_timeout_established="$1"
}

# entries NS SRC: conntrack entries from client address SRC
entries() {
	ip netns exec "$1" conntrack -L -p tcp -s "$2" 2>/dev/null | grep -c ESTABLISHED
}

# all_borrowing EST SRC: every flow from SRC has been idle longer than EST
# seconds (its remaining time fell below the pin less EST); on stock
# Linux, which has no pin, conntrack forgot them all
all_borrowing() {
	local t
	if [ "$STOCK" = 1 ]; then
		[ "$(entries "$G" "$2")" -eq 0 ]
		return
	fi
	for t in $(ip netns exec "$G" conntrack -L -p tcp --dport 674 -s "$2" 2>/dev/null |
		awk '{ print $3 }'); do
		[ "$t" -lt $((FLOOR + 5 - $1)) ] || return 1
	done
}

# first_syn NAME PORT: 10 new connections, each under 1 s
first_syn() {
	local name=$1 port=$2 ok slow
	hold "$C" "$name" $S4 "$port" 10 --connect-timeout 2
	read -r _ ok _ < "$TMPD/$name.ready"
	slow=$(awk '$1 == "OK" && $4 >= 1.0' "$TMPD/$name" | wc -l)
	if [ "$ok" -eq 10 ] && [ "$slow" -eq 0 ]; then
		pass "$3: 10 of 10 new connections to port $port on their first SYN (slowest $(awk '$1 == "OK" { print $4 }' "$TMPD/$name" | sort -n | tail -n 1) s)"
	else
		fail "$3: $ok of 10 connected to port $port, $slow took 1 s or more: $(grep -v '^OK' "$TMPD/$name" | head -n 2)"
	fi
	kill "$(eval echo "\$PID_$name")" 2>/dev/null
}

# ---- A: borrowed flows go first, longest idle first ----
EST=8
pressure_topo $EST
lemonade_load
sysctl -qw net.netfilter.nf_conntrack_max=256
serve_start 674 8143
hold "$C" old $S4 674 60
wait_for 60 all_borrowing $EST $C4 || fail "A: the old flows never became borrowing"
hold "$C" young $S4 674 60 --src $C3 --ping-timeout $((10 * ${LEMONADE_TIMEOUT_SCALE:-1}))
wait_for 60 all_borrowing $EST $C3 || fail "A: the young flows never became borrowing"
[ "$STOCK" = 1 ] || r0=$(counter "$G" recycled)
hold "$C" burst $S4 674 130 --connect-timeout 2
read -r _ ok failed < "$TMPD/burst.ready"
[ "$ok" -eq 130 ] && pass "A: all 130 new listed connections connected" ||
	fail "A: $ok of 130 new listed connections connected ($failed failed)"
# a pass counts what it released when it ends, after the entries are
# gone: wait (bounded) until the table and the counter agree
a_settled() {
	[ $(($(entries "$G" $C4) + $(counter "$G" recycled) - r0)) -eq 190 ]
}
[ "$STOCK" = 1 ] || wait_for 30 a_settled
old=$(entries "$G" $C4)
young=$(entries "$G" $C3)
# stock Linux (no module, no counter): the young flows' entries decide
if [ "$STOCK" = 1 ]; then
	r0=0 r1=0
	info "A: stock Linux: not checked (the module's counters): old borrowed flows released"
else
	r1=$(counter "$G" recycled)
fi
info "A: entries from $C4 (old + burst): $old, from $C3 (young): $young, recycled +$((r1 - r0))"
if [ "$young" -eq 60 ] && { [ "$STOCK" = 1 ] ||
	{ [ $((r1 - r0)) -gt 0 ] && [ $((old + (r1 - r0))) -eq 190 ]; }; }; then
	pass "A: $((r1 - r0)) old borrowed flows released, every young one kept"
else
	fail "[conntrack] A: old+burst $old, young $young, recycled +$((r1 - r0))"
fi
# what the young flows' users see: each session still carries data
ping_flows young && pass "A: all 60 young sessions carry data after the burst" ||
	fail "A: $(grep -vc PONG "$TMPD/young.ping" 2>/dev/null || echo all) of 60 young sessions lost after the burst"
first_syn a1 674 "A, after the burst"
first_syn a2 8143 "A, after the burst"
wait_for 60 all_borrowing $EST $C4 || fail "A: the burst never became borrowing"
first_syn a3 674 "A, once the burst is borrowing too"
first_syn a4 8143 "A, once the burst is borrowing too"

# ---- B: a SYN flood releases nothing ----
pressure_topo $VENDOR_EST
lemonade_load
serve_start 674
ip netns exec "$S" nft add table inet flood
ip netns exec "$S" nft add chain inet flood in \
	'{ type filter hook input priority -400; policy accept; }'
ip netns exec "$S" nft add rule inet flood in tcp dport 9999 drop
hold "$C" live $S4 674 50
[ "$STOCK" = 1 ] || r0=$(counter "$G" recycled)
ip netns exec "$C" $PY "$PEER" synflood --addr $S4 --port 9999 --count 193 \
	--out "$TMPD/flood" &
BG_PIDS+=($!)
wait_for 120 test -s "$TMPD/flood.ready" || fail "B: the flood never started"
wait_for 60 sh -c "[ \$(ip netns exec $G conntrack -C) -ge 240 ]" ||
	info "B: table at $(ip netns exec "$G" conntrack -C) entries"
info "B: table at $(ip netns exec "$G" conntrack -C) of 256 entries"
ping_flows live && pass "B: all 50 listed sessions carry data after the flood" ||
	fail "B: $(grep -vc PONG "$TMPD/live.ping") of 50 sessions lost"
if on_module "B: the module released none of them (recycled)"; then
	r1=$(counter "$G" recycled)
	[ "$r1" -eq "$r0" ] && pass "B: the module released none of them" ||
		fail "B: the module released $((r1 - r0)) listed flows"
fi

# ---- C: a flow re-pinned after the UNACK shortcut is not idle ----
pressure_topo 432000
lemonade_load
serve_start 674
hold "$C" quiet $S4 674 1 --src $C3
# the server starts sending (DRIP: 1000 bytes every 0.2 s for 30 s); once
# its first bytes wait unread at the client, the client acknowledges
# nothing more (its own output is dropped)
kill -USR2 "$PID_quiet"
wait_for 30 sh -c "ip netns exec $C ss -Htn 'src $C3 and dport = :674' | awk '\$2 > 0 { f = 1 } END { exit !f }'" ||
	fail "C: the server's data never reached the client"
ip netns exec "$C" nft -f - <<-EOT
table inet mute {
	chain out {
		type filter hook output priority 0; policy accept;
		ip saddr $C3 tcp dport 674 drop
	}
}
EOT
wait_for 30 sh -c "ip netns exec $G conntrack -L -p tcp -s $C3 2>/dev/null | grep -q ESTABLISHED" ||
	fail "C: no entry for the quiet flow"
if [ "$STOCK" != 1 ]; then
	wait_for 30 sh -c "[ \$(ip netns exec $G lemonctl -j stats | jq .pinned) -gt 0 ]" ||
		fail "C: the floor never re-pinned"
fi
[ "$STOCK" = 1 ] || r0=$(counter "$G" recycled)
hold "$C" fill $S4 674 240 --connect-timeout 2
[ "$STOCK" = 1 ] || r1=$(counter "$G" recycled)
[ "$(entries "$G" $C3)" -eq 1 ] && pass "C: the re-pinned UNACK flow kept its entry" ||
	fail "C: the re-pinned UNACK flow lost its entry"
if on_module "C: nothing was released (recycled)"; then
	[ "$r1" -eq "$r0" ] && pass "C: nothing was released (nothing borrowed)" ||
		fail "C: the module released $((r1 - r0)) flows"
fi
exit $ret
