#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pipelining clients (RFC 2920, and IMAP's and ACAP's tagged commands):
# the first commands go out in one segment (SMTP EHLO, NOOP, NOOP; IMAP
# CAPABILITY, NOOP; ACAP NOOP, NOOP) and their replies come back
# together, then STARTTLS. With an inspecting component masking STARTTLS
# in the gateway, the client sees STARTTLS, the server accepts it and the
# session goes on in its TLS stage (the opaque bytes echo), over IPv4 and
# IPv6; every stripped segment is restored and nothing is reset. Stock:
# the mask reaches the client.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
mail_up
masker_up mask
if [ "$STOCK" != 1 ]; then
	r0=$(counter "$G" guard_restored)
	d0=$(counter "$G" guard_strip_detected)
	x0=$(counter "$G" guard_reset)
fi
for t in "smtp 587" "imap 143" "acap 674"; do
	set -- $t
	for addr in $S4 $S6; do
		talk "$1" "$addr" "$2" "$1" --starttls --pipeline
		if ! grep -q "^C: NOOP\|^C: [ap]2 NOOP" "$TMPD/$1.talk"; then
			fail "$1 ($addr port $2): the client did not pipeline (test setup)"
		elif ! sees_starttls "$1"; then
			fail "$1 ($addr port $2): $(grep -m1 -o -e XXXXXXXA -e STARTTLS -e RESET -e TIMEOUT -e CLOSED "$TMPD/$1.talk")"
		elif [ "$1" != acap ] && ! grep -a -q "^S: .*opaque-after-starttls" "$TMPD/$1.talk"; then
			fail "$1 ($addr port $2): STARTTLS seen, but the TLS stage did not follow: $(tail -n 2 "$TMPD/$1.talk" | tr '\n' '|')"
		else
			pass "$1 ($addr port $2): pipelined commands, the client sees STARTTLS and the server accepts it"
		fi
	done
done
if [ "$STOCK" != 1 ]; then
	r1=$(counter "$G" guard_restored)
	d1=$(counter "$G" guard_strip_detected)
	x1=$(counter "$G" guard_reset)
	if [ "$r1" -gt "$r0" ] && [ $((r1 - r0)) -eq $((d1 - d0)) ] && [ "$x1" -eq "$x0" ]; then
		pass "every stripped segment restored: restored +$((r1 - r0)), detected +$((d1 - d0)), reset +0"
	else
		fail "restored +$((r1 - r0)), detected +$((d1 - d0)), reset +$((x1 - x0))"
	fi
fi
exit $ret
