#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The conntrack table at its limit for 60 s (stress: LEMONADE_STRESS=1):
# nf_conntrack_max=256, 200 held flows to listed ports (pinned, just below
# the module's 80% mark), and for 60 s two churn clients open new
# connections to a listed (143) and an unlisted (8143) port, closed with a
# reset (so that no TIME_WAIT entry, which nobody may recycle, fills the
# table), while the gateway's table size is sampled. The churn pushes the
# table past 90% again and again and the module recycles the longest-idle
# listed flows that are borrowing (idle past conntrack's own established
# timeout, set to 5 s here once the held flows are up: the module never
# takes a flow stock Linux would still keep): recycling is counted, at most 10% of the churn connections
# fail (a SYN can still meet a full table, in the client's namespace too,
# between two recycling passes: 0.7% and 7% in two runs on a loaded host;
# the states and drops per namespace are printed), and at the
# end every held connection carries traffic again (a recycled flow gets a
# new entry from its next packet).
# timeout: 600
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
SECS=${LEMONADE_TABLE_SECONDS:-60}
MAX=256

keep_conntrack_max
topo_up
# active in every namespace: the client's and the server's tables are at
# the limit too
lemonade_load
sysctl -qw net.netfilter.nf_conntrack_max=$MAX
serve_start 143 587 674 8143
hold "$C" many $S4 143,587,674 200 --connect-timeout 5
# the held flows idle: past 5 s they are borrowing their pinned time
ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=5
read -r _ ok failed < "$TMPD/many.ready"
[ "$ok" -eq 200 ] || fail "$ok of 200 held flows connected, $failed failed"
r0=$(counter "$G" recycled)

t0=$(date +%s)
ip netns exec "$C" $PY "$PEER" churn --addr $S4 --ports 143,8143 --count 100000 \
	--seconds "$SECS" --rst --out "$TMPD/churn4" &
c4=$!
ip netns exec "$C" $PY "$PEER" churn --addr $S6 --ports 143,8143 --count 100000 \
	--seconds "$SECS" --rst --out "$TMPD/churn6" &
c6=$!
BG_PIDS+=($c4 $c6)
samples=0 peak=0
while [ $(($(date +%s) - t0)) -lt "$SECS" ] && [ $samples -lt 10000 ]; do
	samples=$((samples + 1))
	n=$(ip netns exec "$G" conntrack -C)
	[ "$n" -gt $peak ] && peak=$n
	sleep 0.5
done
wait $c4
wait $c6
r1=$(counter "$G" recycled)
# where the table went: TCP states (and dports) per namespace, drops
for ns in "$C" "$G" "$S"; do
	info "${ns%%-*}: $(ip netns exec "$ns" conntrack -L -p tcp 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) { print $4, $i; break } }' |
		sort | uniq -c | sort -rn | head -n 6 | tr '\n' ',') drops: $(ip netns exec "$ns" conntrack -S 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(drop|early_drop|insert_failed)=/) s[$i]++ } END { for (k in s) printf "%s ", k }')"
done
info "$(($(date +%s) - t0)) s; churn IPv4: $(cat "$TMPD/churn4"), IPv6: $(cat "$TMPD/churn6"); table peak $peak of $MAX; recycled $((r1 - r0))"
for c in churn4 churn6; do
	read -r _ ok bad < "$TMPD/$c"
	if [ "${ok:-0}" -gt 0 ] && [ $((${bad:-1} * 10)) -le $((ok + bad)) ]; then
		pass "$c: $ok new connections with the table at its limit, $bad failed"
	else
		fail "$c: $(cat "$TMPD/$c")"
	fi
done
[ $((r1 - r0)) -gt 0 ] && pass "$((r1 - r0)) flows recycled under pressure" ||
	fail "no flow recycled"
# one round trip on each held connection, within 2 minutes
rm -f "$TMPD/many.ping"
kill -USR1 "$PID_many"
if wait_for 120 test -s "$TMPD/many.ping" && ! grep -qv PONG "$TMPD/many.ping"; then
	pass "all 200 held connections carry traffic after $SECS s at the limit"
else
	fail "held connections: $(sort "$TMPD/many.ping" 2>/dev/null | uniq -c | tr '\n' ' ')"
fi
exit $ret
