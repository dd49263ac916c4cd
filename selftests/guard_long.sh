#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Long negotiations. The guard reads 8192 bytes of each direction, all of
# them recorded and compared:
# - servers that advertise 250 more capabilities before STARTTLS (the EHLO
#   reply 4.3 KB, over 64 keywords in every reply, the IMAP STARTTLS at
#   about 6 KB into the stream), with an inspecting component masking
#   STARTTLS: the client sees STARTTLS (restored), nothing is reset and
#   nothing is counted as uninspected (stock: the mask reaches the client);
# - a server whose EHLO reply advertises STARTTLS only after 9.7 KB: the
#   guard stops reading at 8192 bytes and says so (guard_uninspected, a
#   kernel log line); the session itself is left alone (no reset, DONE).
# timeout: 600
source "$(dirname "$0")/lib.sh"

PAD=250 LONG=600
topo_up
lemonade_load
gateway_only
events_start
mail_up --pad $PAD
masker_up mask

# counters: "restored detected reset uninspected" (only with the module)
counters() {
	ip netns exec "$G" lemonctl -j stats |
		jq -r '"\(.guard_restored) \(.guard_strip_detected) \(.guard_reset) \(.guard_uninspected)"'
}

[ "$STOCK" = 1 ] || read -r r0 d0 x0 u0 <<< "$(counters)"
for t in "smtp 587" "imap 143" "acap 674"; do
	set -- $t
	for addr in $S4 $S6; do
		talk "$1" "$addr" "$2" "$1" --starttls
		n=$(grep -c X-PAD "$TMPD/$1.talk")
		if [ "$n" -lt 1 ]; then
			fail "$1 ($addr port $2): the padded capabilities never arrived (test setup)"
		elif sees_starttls "$1"; then
			pass "$1 ($addr port $2): $PAD more capabilities before it, the client sees STARTTLS"
		else
			fail "$1 ($addr port $2): $(grep -m1 -o -e XXXXXXXA -e STARTTLS -e RESET -e TIMEOUT -e CLOSED "$TMPD/$1.talk")"
		fi
	done
done
if on_module "within 8 KB: every stripped segment restored, nothing reset or uninspected"; then
	read -r r1 d1 x1 u1 <<< "$(counters)"
	if [ "$r1" -gt "$r0" ] && [ $((r1 - r0)) -eq $((d1 - d0)) ] && [ "$x1" -eq "$x0" ] &&
		[ "$u1" -eq "$u0" ]; then
		pass "within 8 KB: restored +$((r1 - r0)) of detected +$((d1 - d0)), reset +0, uninspected +0"
	else
		fail "within 8 KB: restored +$((r1 - r0)), detected +$((d1 - d0)), reset +$((x1 - x0)), uninspected +$((u1 - u0))"
	fi
fi

# the same server, STARTTLS after more than the guard reads
kill "$MAIL_PID" 2>/dev/null
wait_for 20 sh -c "! ip netns exec $S ss -Htln 'sport = :587' | grep -q ." ||
	fail "the first mail server did not stop (test setup)"
mail_up --pad $LONG
[ "$STOCK" = 1 ] || read -r r0 d0 x0 u0 <<< "$(counters)"
for addr in $S4 $S6; do
	talk long "$addr" 587 smtp --starttls
	off=$(awk '/^S: 250-mail/ { on = 1 } on && /250-STARTTLS|250-XXXXXXXA/ { print n; exit }
		on { n += length($0) - 1 }' "$TMPD/long.talk")
	info "long ($addr): STARTTLS's line starts about $off bytes into the EHLO reply; the client saw $(grep -m1 -o -e XXXXXXXA -e STARTTLS "$TMPD/long.talk") (past 8192 bytes nothing is compared)"
	tail -n 1 "$TMPD/long.talk" | grep -q DONE &&
		pass "long ($addr): the session goes on (DONE)" ||
		fail "long ($addr): $(tail -n 1 "$TMPD/long.talk")"
done
if on_module "past 8 KB: guard_uninspected +2, nothing reset"; then
	read -r r1 d1 x1 u1 <<< "$(counters)"
	[ $((u1 - u0)) -eq 2 ] && [ "$x1" -eq "$x0" ] &&
		pass "past 8 KB: uninspected +2 (one per negotiation), reset +0" ||
		fail "past 8 KB: uninspected +$((u1 - u0)) (want 2), reset +$((x1 - x0))"
fi
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:587: server negotiation reached the 8192 bytes the guard reads; the rest is not inspected"
expect_log "nf_lemonade: flow \\[2001:db8:1::[0-9a-f]+\\]:[0-9]+ -> \\[2001:db8:2::[0-9a-f]+\\]:587: server negotiation reached the 8192 bytes the guard reads"
exit $ret
