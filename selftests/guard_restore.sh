#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Partial extension stripping inside the gateway: an NFQUEUE program
# rewrites STARTTLS as XXXXXXXA (as inspecting appliances do) in the 587
# EHLO reply, the 143 greeting and CAPABILITY response, and the 674 greeting.
# Policy restore (the default): the client sees STARTTLS and the restored
# counter moves. Stock: the mask reaches the client.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
events_start
mail_up
masker_up mask
if [ "$STOCK" != 1 ]; then
	r0=$(guard_counter "$G" guard_restored)
	d0=$(guard_counter "$G" guard_strip_detected)
	x0=$(guard_counter "$G" guard_reset)
fi
for t in "smtp 587" "imap 143" "acap 674"; do
	set -- $t
	for addr in $S4 $S6; do
		talk "$1" "$addr" "$2" "$1"
		if sees_starttls "$1"; then
			pass "$1 ($addr port $2): the client sees STARTTLS"
		else
			fail "$1 ($addr port $2): $(grep -m1 -e XXXX -e STARTTLS -e RESET "$TMPD/$1.talk")"
		fi
	done
done
if [ "$STOCK" != 1 ]; then
	r1=$(guard_counter "$G" guard_restored)
	d1=$(guard_counter "$G" guard_strip_detected)
	x1=$(guard_counter "$G" guard_reset)
fi
# at least one segment of each of the six negotiations (IPv4 and IPv6)
m=$(awk '/rewrote/ { n = $3 } END { print n + 0 }' "$TMPD/masker.log")
[ "$m" -ge 6 ] &&
	pass "the masker rewrote $m segments of the six negotiations" ||
	fail "the masker rewrote $m segments, want >= 6 (test setup): $(tail -n 2 "$TMPD/masker.log")"
if on_module "every stripped segment restored, nothing reset (guard_restored, guard_strip_detected, guard_reset)"; then
	if [ "$r1" -gt "$r0" ] && [ $((r1 - r0)) -eq $((d1 - d0)) ] && [ "$x1" -eq "$x0" ]; then
		pass "every stripped segment restored: restored +$((r1 - r0)), detected +$((d1 - d0)), reset +0"
	else
		fail "restored +$((r1 - r0)), detected +$((d1 - d0)), reset +$((x1 - x0))"
	fi
fi
for t in "smtp 587" "imap 143" "acap 674"; do
	set -- $t
	expect_event strip_restored STARTTLS "$2"
done
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:587: keyword STARTTLS masked inside the gateway .*; restored"
expect_log "nf_lemonade: flow \\[2001:db8:1::[0-9a-f]+\\]:[0-9]+ -> \\[2001:db8:2::[0-9a-f]+\\]:143: keyword STARTTLS masked .*; restored"
exit $ret
