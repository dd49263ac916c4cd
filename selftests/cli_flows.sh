#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "lemonctl flows" dumps the covered flows over as many netlink messages
# as it takes. 10,000 ESTABLISHED entries on port 143 (plus 300 on 587 and
# 300 on the unlisted 8080) are loaded into the gateway's table with
# "conntrack -R" before the module is loaded, which adopts them; the dump
# lists each of the 10,300 listed ones exactly once, the unlisted ones
# never, and "port P" filters. Real connections through the gateway (IPv4
# to 143, IPv6 to 587) show their state, the floor, the remaining idle
# time, the helper mark and the guard's status (the IMAP flow is being
# inspected: "active", with its inspected bytes). While listed flows come
# and go under a dump (real connections opening, adopted entries
# deleted), no flow is listed twice.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
N=10000
keep_conntrack_max
[ "$OLD_CT_MAX" -lt 65536 ] && sysctl -qw net.netfilter.nf_conntrack_max=65536

topo_up
# mail servers (they speak first: the guard follows their negotiations)
mail_up

# conntrack -R: one entry per line, in conntrack's own syntax. Clients
# 203.0.113.1-250 (documentation range), each on a range of source ports:
# 20000+ to 143, 30000+ to 587 and 8080, 40000+ for the churn below.
$PY - "$N" > "$TMPD/ct" <<'PY'
import sys
n = int(sys.argv[1])
line = ("-I -p tcp -s 203.0.113.%d -d 198.51.100.%d --sport %d --dport %d"
        " --state ESTABLISHED -t 3600 -u ASSURED,SEEN_REPLY")
for i in range(n):
    print(line % (i % 250 + 1, 2, 20000 + i // 250, 143))
for i in range(300):
    print(line % (i % 250 + 1, 3, 30000 + i // 250, 587))
    print(line % (i % 250 + 1, 3, 30000 + i // 250, 8080))
PY
start=$(date +%s%N)
ip netns exec "$G" conntrack -R "$TMPD/ct" 2> "$TMPD/ct.err" ||
	fail "conntrack -R: $(tail -1 "$TMPD/ct.err")"
info "loaded $(wc -l < "$TMPD/ct") entries in $((($(date +%s%N) - start) / 1000000)) ms; table: $(ip netns exec "$G" conntrack -C)"
# the guard keeps inspecting the idle IMAP negotiation (no stall)
lemonade_load guard_stall=3600
hold "$C" live4 $S4 143 1
hold "$C" live6 $S6 587 1
# the greetings arrive: both negotiations are being inspected
wait_for 30 sh -c "ip netns exec $G lemonctl -j flows | jq -e '[.[] | select(.guard == \"active\" and .inspected > 0)] | length == 2' >/dev/null" ||
	fail "the live negotiations are not inspected: $(ip netns exec "$G" lemonctl -j flows | jq -c '[.[] | select(.marked)]')"

start=$(date +%s%N)
ip netns exec "$G" lemonctl -j flows > "$TMPD/flows.json" 2> "$TMPD/flows.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
read -r total f143 f587 f8080 uniq < <(jq -r '[length,
	(map(select(.port == 143)) | length), (map(select(.port == 587)) | length),
	(map(select(.dport == 8080)) | length),
	(map([.family, .src, .sport, .dst, .dport] | tostring) | unique | length)]
	| @tsv' "$TMPD/flows.json")
info "dump: $total flows in $ms ms (exit $rc), $(jq 'map(.id) | unique | length' "$TMPD/flows.json") distinct conntrack ids"
if [ "$rc" = 0 ] && [ "$total" = $((N + 300 + 2)) ] && [ "$uniq" = "$total" ] &&
   [ "$f143" = $((N + 1)) ] && [ "$f587" = 301 ] && [ "$f8080" = 0 ]; then
	pass "flows: $total flows, each once ($f143 on 143, $f587 on 587, none on unlisted 8080) in $ms ms"
else
	fail "flows: exit $rc, $total flows ($uniq distinct), $f143 on 143, $f587 on 587, $f8080 on 8080; want $((N + 302)): $(head -c 300 "$TMPD/flows.err")"
fi
# every loaded entry is there
missing=$(jq -r '.[] | select(.port == 143 and (.src | startswith("203.0.113."))) |
	"\(.src) \(.sport)"' "$TMPD/flows.json" | sort | comm -13 - <(
	awk '$11 == 143 { print $5, $9 }' "$TMPD/ct" | sort) | wc -l)
if [ "$missing" = 0 ]; then
	pass "each of the $N loaded port-143 entries is listed"
else
	fail "$missing loaded entries are missing from the dump"
fi

ip netns exec "$G" lemonctl flows > "$TMPD/flows.txt"
if [ "$(wc -l < "$TMPD/flows.txt")" = "$total" ] &&
   grep -q '^ipv4 203\.0\.113\.1:20000 -> 198\.51\.100\.2:143 port 143 state established remaining [0-9hms]* timeout 2h4m marked no guard none inspected 0 id [0-9]*$' "$TMPD/flows.txt"; then
	pass "text output: one line per flow"
else
	fail "text output: $(wc -l < "$TMPD/flows.txt") lines; $(head -2 "$TMPD/flows.txt")"
fi

start=$(date +%s%N)
n587=$(ip netns exec "$G" lemonctl -j flows port 587 | jq 'length')
n143=$(ip netns exec "$G" lemonctl -j flows port 143 | jq '[.[] | select(.port == 143)] | length')
n8080=$(ip netns exec "$G" lemonctl -j flows port 8080 | jq 'length')
if [ "$n587" = 301 ] && [ "$n143" = $((N + 1)) ] && [ "$n8080" = 0 ]; then
	pass "flows port P: 587 -> $n587, 143 -> $n143, unlisted 8080 -> 0"
else
	fail "flows port P: 587 -> $n587, 143 -> $n143, 8080 -> $n8080"
fi

# the live connections
live4=$(jq -c --arg c "$C4" '.[] | select(.src == $c)' "$TMPD/flows.json")
live6=$(jq -c --arg c "$C6" '.[] | select(.src == $c)' "$TMPD/flows.json")
if [ -n "$live4" ] && jq -e --arg s "$S4" '.family == "ipv4" and .dst == $s and .dport == 143 and
	.port == 143 and .state == "established" and .timeout == 7440 and
	.remaining >= 7400 and .remaining <= 7450 and .marked == true and
	.guard == "active" and .inspected > 0' <<< "$live4" >/dev/null 2>&1; then
	pass "live IPv4 flow: $live4"
else
	fail "live IPv4 flow: $live4"
fi
if [ -n "$live6" ] && jq -e --arg s "$S6" '.family == "ipv6" and .dst == $s and .port == 587 and
	.state == "established" and .remaining >= 7400 and .marked == true' \
	<<< "$live6" >/dev/null 2>&1; then
	pass "live IPv6 flow: $live6"
else
	fail "live IPv6 flow: $live6"
fi
if grep -q "^ipv6 \[$C6\]:[0-9]* -> \[$S6\]:587 port 587 state established .* marked yes " "$TMPD/flows.txt"; then
	pass "IPv6 text form: [address]:port"
else
	fail "IPv6 text form: $(grep '^ipv6' "$TMPD/flows.txt")"
fi
# the own floor of a port
ip netns exec "$G" lemonctl port add 587 proto smtp timeout unlimited
t=$(ip netns exec "$G" lemonctl -j flows port 587 | jq -r 'map([.timeout, .unlimited]) | unique | map(join("/")) | join(",")')
[ "$t" = 0/true ] && pass "a port's own floor shows in its flows" ||
	fail "flows of port 587 show timeout $t"

# dumps while listed flows come and go: never a flow twice
ip netns exec "$C" $PY "$PEER" hold --addr $S4 --ports 143 --count 150 \
	--out "$TMPD/churn" --lifetime 120 &
churn1=$!
BG_PIDS+=($churn1)
ip netns exec "$G" conntrack -D -p tcp --orig-port-dst 587 >/dev/null 2>&1 &
churn=$!
bad=0
for i in 1 2 3; do
	ip netns exec "$G" lemonctl -j flows > "$TMPD/f$i.json" || bad=1
	d=$(jq '(length) - (map([.src, .sport, .dport] | tostring) | unique | length)' "$TMPD/f$i.json")
	info "dump $i during changes: $(jq length "$TMPD/f$i.json") flows, $d listed twice"
	[ "$d" = 0 ] || bad=1
done
wait $churn
kill $churn1 2>/dev/null
[ $bad = 0 ] && pass "dumps during table changes list no flow twice" ||
	fail "a dump during table changes failed or listed a flow twice"
exit $ret
