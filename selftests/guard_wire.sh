#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nothing from the wire blinds the guard or makes it reset a session, while
# an NFQUEUE program in the gateway masks STARTTLS in the 587 EHLO reply:
#  - a spoofed SYN (client side) and SYN/ACK (server side) with the flow's
#    4-tuple, after the greeting: the mask is still restored;
#  - a replayed copy of the greeting with different bytes: dropped and
#    counted (guard_stale), nobody is reset, the mask is still restored;
#  - a retransmission that overlaps the recorded first half of the EHLO
#    reply and carries the masked second half behind it: followed, and the
#    mask in it restored.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
ip netns exec "$S" sysctl -qw net.ipv4.tcp_timestamps=0
ip netns exec "$S" $PY "$HERE/mailpeer.py" serve --lifetime 1500 \
	--split-file "$TMPD/split" &
BG_PIDS+=($!)
wait_for 20 sh -c "ip netns exec $S ss -Htln 'sport = :587' | grep -q ." ||
	{ echo "FAIL: mail server did not start"; exit $ksft_fail; }
masker_up mask

# craft NS IFACE NAME tcp_craft.py-options: start a crafter, wait until ready
craft() {
	local ns=$1 iface=$2 name=$3
	shift 3
	rm -f "$TMPD/$name.ready"
	ip netns exec "$ns" $PY "$HERE/tcp_craft.py" --iface "$iface" \
		--ready "$TMPD/$name.ready" --go "$TMPD/go" "$@" \
		> "$TMPD/$name.out" 2>&1 &
	eval "CRAFT_$name=$!"
	wait_for 20 test -e "$TMPD/$name.ready" ||
		{ echo "FAIL: crafter $name not ready"; exit $ksft_fail; }
}

# crafted NAME: the crafter sent its segment
crafted() {
	local pid
	eval "pid=\$CRAFT_$1"
	wait "$pid"
	if grep -q '^SENT' "$TMPD/$1.out"; then
		info "$1: $(cat "$TMPD/$1.out")"
	else
		fail "$1: could not craft: $(cat "$TMPD/$1.out")"
	fi
}

# client_sees_starttls NAME: the transcript has STARTTLS, no mask, DONE
client_sees_starttls() {
	if grep -q "^S: 250-STARTTLS" "$TMPD/$1.talk" &&
		! grep -q XXXXXXXA "$TMPD/$1.talk" &&
		tail -n 1 "$TMPD/$1.talk" | grep -q '^DONE'; then
		pass "$2: the client sees STARTTLS"
	else
		fail "$2: $(tr '\n' '|' < "$TMPD/$1.talk" | cut -c1-400)"
	fi
}

# talk_bg NAME ARGS...: a negotiation in the background (talk, in lib.sh)
talk_bg() {
	local name=$1
	shift
	rm -f "$TMPD/$name.talk"
	ip netns exec "$C" timeout 60 $PY "$HERE/mailpeer.py" talk "$@" \
		> "$TMPD/$name.talk" 2>&1 &
	eval "TALK_$name=$!"
}

talk_wait() {
	local pid
	eval "pid=\$TALK_$1"
	wait "$pid"
	info "$1: $(tr '\n' '|' < "$TMPD/$1.talk" | cut -c1-300)"
}

[ "$STOCK" = 1 ] || x0=$(guard_counter "$G" guard_reset)

# 1. spoofed SYN and SYN/ACK after the greeting
rm -f "$TMPD/go" "$TMPD/ehlo"
craft "$C" c0 syn --dport 587 --mode syn
craft "$S" s0 synack --sport 587 --data --mode synack
talk_bg spoof --addr $S4 --port 587 --proto smtp --hold-file "$TMPD/ehlo"
wait_for 20 grep -q "^S: 220" "$TMPD/spoof.talk" || fail "spoof: no greeting"
touch "$TMPD/go"
crafted syn
crafted synack
touch "$TMPD/ehlo" "$TMPD/split"
talk_wait spoof
client_sees_starttls spoof "spoofed SYN and SYN/ACK mid-negotiation"
rm -f "$TMPD/split"

# 2. a replayed greeting with different bytes
rm -f "$TMPD/go" "$TMPD/ehlo"
[ "$STOCK" = 1 ] || s0=$(guard_counter "$G" guard_stale)
craft "$S" s0 replay --sport 587 --data --mode replay
talk_bg replay --addr $S4 --port 587 --proto smtp --hold-file "$TMPD/ehlo"
wait_for 20 grep -q "^S: 220" "$TMPD/replay.talk" || fail "replay: no greeting"
touch "$TMPD/go"
crafted replay
if on_module "replayed segment counted as stale (guard_stale)"; then
	s1=$s0
	wait_for 20 sh -c "[ \$(ip netns exec $G lemonctl -j stats | jq .guard_stale) -gt $s0 ]" &&
		s1=$(guard_counter "$G" guard_stale)
	[ "$s1" -gt "$s0" ] && pass "replayed segment dropped: guard_stale +$((s1 - s0))" ||
		fail "replayed segment not counted as stale (guard_stale +$((s1 - s0)))"
fi
touch "$TMPD/ehlo" "$TMPD/split"
talk_wait replay
client_sees_starttls replay "after a replayed greeting"
rm -f "$TMPD/split"

# 3. an overlapping retransmission: the first half of the EHLO reply is
#    recorded, the crafted segment repeats it and carries the rest
rm -f "$TMPD/go"
$PY -c 'import sys; sys.path.insert(0, sys.argv[1]); import mailpeer as m
e = m.EHLO; sys.stdout.buffer.write(e[e.index(b"250-STARTTLS"):])' "$HERE" \
	> "$TMPD/rest"
# the greeting is the first data segment, the EHLO reply's first half next
craft "$S" s0 overlap --sport 587 --data --skip 1 --mode overlap \
	--append-file "$TMPD/rest"
talk_bg overlap --addr $S4 --port 587 --proto smtp
wait_for 20 grep -q "^S: 250-VRFY" "$TMPD/overlap.talk" ||
	fail "overlap: the first half did not arrive"
touch "$TMPD/go"
crafted overlap
talk_wait overlap
# the server's own second half comes after, as a duplicate
touch "$TMPD/split"
client_sees_starttls overlap "overlapping retransmission"

if on_module "nobody was reset (guard_reset)"; then
	x1=$(guard_counter "$G" guard_reset)
	[ "$x1" -eq "$x0" ] && pass "nobody was reset (guard_reset +0)" ||
		fail "guard_reset +$((x1 - x0))"
fi
exit $ret
