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
mail_up
masker_up mask
r0=$(guard_counter "$G" guard_restored)
d0=$(guard_counter "$G" guard_strip_detected)
x0=$(guard_counter "$G" guard_reset)
for t in "smtp 587" "imap 143" "acap 674"; do
	set -- $t
	for addr in $S4 $S6; do
		talk "$1" "$addr" "$2" "$1"
		if grep -q "^S: .*STARTTLS" "$TMPD/$1.talk" &&
			! grep -q XXXXXXXA "$TMPD/$1.talk" &&
			tail -n 1 "$TMPD/$1.talk" | grep -q DONE; then
			pass "$1 ($addr port $2): the client sees STARTTLS"
		else
			fail "$1 ($addr port $2): $(grep -m1 -e XXXX -e STARTTLS -e RESET "$TMPD/$1.talk")"
		fi
	done
done
r1=$(guard_counter "$G" guard_restored)
d1=$(guard_counter "$G" guard_strip_detected)
x1=$(guard_counter "$G" guard_reset)
grep -q "rewrote" "$TMPD/masker.log" &&
	pass "the masker rewrote segments ($(tail -n 1 "$TMPD/masker.log"))" ||
	fail "the masker rewrote nothing (test setup)"
if [ "$r1" -gt "$r0" ] && [ $((r1 - r0)) -eq $((d1 - d0)) ] && [ "$x1" -eq "$x0" ]; then
	pass "every stripped segment restored: restored +$((r1 - r0)), detected +$((d1 - d0)), reset +0"
else
	fail "restored +$((r1 - r0)), detected +$((d1 - d0)), reset +$((x1 - x0))"
fi
exit $ret
