#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "lemonctl monitor" shows the module's events as they happen:
# * a router beyond the gateway sends ICMP host-unreachable errors about an
#   IMAP flow; the gateway absorbs them and a JSON monitor and a text
#   monitor, both running, show each one within seconds, with the flow and
#   the ICMP type and code;
# * a burst of 200 errors is rate-limited (event_rate, 20 per second): the
#   events sent plus the "suppressed" counts they carry add up to the
#   errors absorbed;
# * a recycling pass under table pressure (listed flows idle past
#   conntrack's own timeout, released) is one "pressure_release" event
#   with the number of flows released, equal to the "recycled" counter;
# * "monitor count N" ends after N events; SIGINT and SIGTERM end a
#   monitor cleanly (exit 0); every JSON line parses.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
keep_conntrack_max

topo_up
lemonade_load
# the module acts in the gateway alone
ip netns exec "$C" lemonctl set enable off && ip netns exec "$S" lemonctl set enable off ||
	{ echo "FAIL: lemonctl set enable off"; exit $ksft_fail; }
serve_start 143
hold "$C" m4 $S4 143 1
cport=$(awk '$1 == "OK" { print $3; exit }' "$TMPD/m4")
[ -n "$cport" ] || { echo "FAIL: the client could not connect"; exit $ksft_fail; }

# craft COUNT CODE: ICMPv4 destination-unreachable errors from a router in
# the server's network (198.51.100.254) to the client, quoting the flow
cat > "$TMPD/craft.py" <<'PY'
import socket, struct, sys

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def ip(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64,
                    proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload

n, code, client, server, cport = sys.argv[1:6]
tcp = struct.pack("!HHIIBBHHH", int(cport), 143, 1, 0, 5 << 4, 0x10, 65535, 0, 0)
icmp = struct.pack("!BBHI", 3, int(code), 0, 0) + ip(client, server, 6, tcp)
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
pkt = ip("198.51.100.254", client, 1, icmp)
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(int(n)):
    s.sendto(pkt, (client, 0))
PY
craft() {
	ip netns exec "$S" $PY "$TMPD/craft.py" "$1" "$2" "$C4" "$S4" "$cport"
}
absorbed() { counter "$G" icmp_absorbed; }
events() { grep -c "\"event\":\"$1\"" "$TMPD/mon.json"; }

# two monitors in the gateway: JSON lines and text
ip netns exec "$G" lemonctl -j monitor > "$TMPD/mon.json" 2> "$TMPD/mon.jerr" &
monj=$!
BG_PIDS+=($monj)
ip netns exec "$G" lemonctl monitor > "$TMPD/mon.txt" 2> "$TMPD/mon.terr" &
mont=$!
BG_PIDS+=($mont)
# and text with timestamps (-t), as "ip -ts monitor" prints them
ip netns exec "$G" lemonctl -t monitor > "$TMPD/mon.ts" 2> "$TMPD/mon.tserr" &
BG_PIDS+=($!)

# --- one error, seen as it happens -----------------------------------------
# (the monitors may take a moment to join the group: repeat until seen)
start=$(date +%s%N)
sent=0
until grep -q icmp_absorbed "$TMPD/mon.json" && grep -q icmp_absorbed "$TMPD/mon.txt" &&
	grep -q icmp_absorbed "$TMPD/mon.ts"; do
	if [ $sent -ge 20 ]; then
		break
	fi
	craft 1 1
	sent=$((sent + 1))
	wait_for 2 grep -q icmp_absorbed "$TMPD/mon.json"
done
ms=$((($(date +%s%N) - start) / 1000000))
line=$(grep -m1 icmp_absorbed "$TMPD/mon.json")
if [ -n "$line" ] && jq -e --arg c "$C4" --arg s "$S4" --argjson p "$cport" '.event == "icmp_absorbed" and
	.flow.family == "ipv4" and .flow.src == $c and .flow.sport == $p and
	.flow.dst == $s and .flow.dport == 143 and .flow.port == 143 and
	.flow.state == "established" and .flow.marked == true and
	.icmp == {"type":3,"code":1}' <<< "$line" >/dev/null 2>&1; then
	pass "JSON monitor showed the absorbed error while running (${ms} ms, $sent sent): $line"
else
	fail "JSON monitor: '$line' after $sent errors; stderr $(cat "$TMPD/mon.jerr")"
fi
if grep -q "^icmp_absorbed ipv4 $C4:$cport -> $S4:143 port 143 state established remaining .* icmp type 3 code 1$" "$TMPD/mon.txt"; then
	pass "text monitor: $(grep -m1 icmp_absorbed "$TMPD/mon.txt")"
else
	fail "text monitor: $(head -3 "$TMPD/mon.txt"); stderr $(cat "$TMPD/mon.terr")"
fi
line=$(grep -m1 icmp_absorbed "$TMPD/mon.ts")
re='^\[([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\.[0-9]{6}\] icmp_absorbed ipv4 '
if [[ $line =~ $re ]] &&
	age=$(($(date +%s) - $(date -d "${BASH_REMATCH[1]}" +%s))) &&
	[ "$age" -ge 0 ] && [ "$age" -lt 300 ]; then
	pass "-t monitor: the event's local time first (${age} s ago): $line"
else
	fail "-t monitor: '$line'; stderr $(cat "$TMPD/mon.tserr")"
fi
# --- a configuration change by another process, as "nft monitor" shows --
# (the process's pid and name, and its socket's netlink port id)
ip netns exec "$G" lemonctl set timeout 2h4m &
chg=$!
wait $chg
wait_for 20 grep -q '"event":"config"' "$TMPD/mon.json"
line=$(grep -m1 '"event":"config"' "$TMPD/mon.json")
if jq -e --argjson pid "$chg" '.cmd == "set" and .pid == $pid and .comm == "lemonctl" and
	(.portid | type) == "number" and .generation > 1' \
	<<< "$line" >/dev/null 2>&1 &&
   wait_for 10 grep -Eq "^\[[0-9T:.-]+\] config cmd set pid $chg comm lemonctl portid [0-9]+ generation [0-9]+$" "$TMPD/mon.ts"; then
	pass "a change by process $chg is an event: $line"
else
	fail "config event of process $chg: '$line'; -t: $(grep config "$TMPD/mon.ts")"
fi
ping_flows m4 && pass "the flow survives the absorbed errors" ||
	fail "the flow broke"

# --- a burst: rate-limited -------------------------------------------------
sleep 1.2
before_lines=$(wc -l < "$TMPD/mon.json")
a1=$(absorbed)
craft 200 1
sleep 1.5
craft 1 0
wait_for 10 sh -c "[ \$(wc -l < '$TMPD/mon.json') -gt $before_lines ] && tail -1 '$TMPD/mon.json' | grep -q '\"code\":0'"
a2=$(absorbed)
read -r ev supp < <(tail -n +"$((before_lines + 1))" "$TMPD/mon.json" |
	jq -s '[length, (map(.suppressed // 0) | add)] | @tsv' -r)
info "burst: $((a2 - a1)) absorbed, $ev events, $supp suppressed"
if [ $((a2 - a1)) = 201 ] && [ "$supp" -gt 0 ] && [ $((ev + supp)) = 201 ]; then
	pass "burst of 201 errors: $ev events + $supp suppressed = 201 absorbed"
else
	fail "burst: absorbed $((a2 - a1)), $ev events, $supp suppressed"
fi

# --- table pressure: one event per recycling pass ---------------------------
# 40 listed flows idle past the gateway's own (here 2 s) timeout are
# borrowed slots; entries that take the table over 90% of 50 make the
# module release them down to 80%, in one pass
ip netns exec "$G" lemonctl -j monitor count 1 timeout 90 > "$TMPD/mon.p" 2>&1 &
monp=$!
BG_PIDS+=($monp)
ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=2
hold "$C" many $S4 143 40
borrowing() {
	local t
	for t in $(ip netns exec "$G" conntrack -L -p tcp --dport 143 2>/dev/null |
		awk '{ print $3 }'); do
		[ "$t" -lt $((FLOOR + 5 - 3)) ] || return 1
	done
}
wait_for 60 borrowing || fail "pressure: the flows never became borrowed"
r0=$(counter "$G" recycled)
sysctl -qw net.netfilter.nf_conntrack_max=50
have=$(ip netns exec "$G" conntrack -C)
$PY -c '
import sys
for i in range(int(sys.argv[1])):
    print("-I -p tcp -s 203.0.113.%d -d 198.51.100.99 --sport 20000 --dport 8080"
          " --state ESTABLISHED -t 3600 -u ASSURED,SEEN_REPLY" % (i + 1))
' $((47 - have)) > "$TMPD/ct"
ip netns exec "$G" conntrack -R "$TMPD/ct" 2>/dev/null || fail "conntrack -R"
info "table: $(ip netns exec "$G" conntrack -C) of 50"
# a new flow through the gateway makes the module look at the table
ip netns exec "$C" bash -c "echo x > /dev/udp/$S4/9" 2>/dev/null
wait $monp
rc=$?
recycled=$(($(counter "$G" recycled) - r0))
line=$(cat "$TMPD/mon.p")
if [ "$rc" = 0 ] && [ -n "$line" ] && jq -e --argjson r "$recycled" \
	'.event == "pressure_release" and .count == $r and .count > 0' <<< "$line" >/dev/null 2>&1; then
	pass "pressure: $line (recycled counter +$recycled); monitor count 1 ended by itself"
else
	fail "pressure: exit $rc, '$line', recycled +$recycled"
fi
sysctl -qw net.netfilter.nf_conntrack_max="$OLD_CT_MAX"

# --- signals -------------------------------------------------------------------
kill -INT $mont
wait $mont
rc_t=$?
kill -TERM $monj
wait $monj
rc_j=$?
if [ $rc_t = 0 ] && [ $rc_j = 0 ] && [ ! -s "$TMPD/mon.terr" ] && [ ! -s "$TMPD/mon.jerr" ]; then
	pass "SIGINT and SIGTERM end the monitors cleanly (exit 0)"
else
	fail "monitors ended with $rc_t (SIGINT) and $rc_j (SIGTERM): $(cat "$TMPD/mon.terr" "$TMPD/mon.jerr")"
fi
if jq -c . "$TMPD/mon.json" > /dev/null 2>&1 &&
   [ "$(jq -s length "$TMPD/mon.json")" = "$(wc -l < "$TMPD/mon.json")" ]; then
	pass "every one of $(wc -l < "$TMPD/mon.json") JSON lines is one JSON object"
else
	fail "the JSON monitor's output does not parse"
fi
if [ "$(grep -c icmp_absorbed "$TMPD/mon.txt")" = "$(events icmp_absorbed)" ]; then
	pass "the text monitor saw the same $(events icmp_absorbed) events"
else
	fail "text monitor: $(grep -c icmp_absorbed "$TMPD/mon.txt") events, JSON: $(events icmp_absorbed)"
fi
exit $ret
