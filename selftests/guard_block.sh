#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Partial block: an iptables string-match rule in the gateway drops the
# client's STARTTLS command. Stock: the client hangs until its own timeout.
# Policy reset: the client's connection is reset (in a second or two; the
# test allows 20 s of its 40 s read timeout, for a loaded emulated guest).
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load guard_policy=reset
gateway_only
events_start
mail_up
ip netns exec "$G" iptables -I FORWARD -p tcp --dport 587 -m string \
	--algo bm --string STARTTLS -j DROP ||
	{ echo "FAIL: iptables string match"; exit $ksft_fail; }
[ "$STOCK" = 1 ] || b0=$(guard_counter "$G" guard_partial_block)
# the reset has to come well before the client's own 40 s read timeout
# (which ends a stock run with TIMEOUT); how fast is reported only
talk smtp $S4 587 smtp --starttls --timeout 40
last=$(tail -n 1 "$TMPD/smtp.talk")
case $last in
RESET*)
	secs=${last#* }
	[ "${secs%.*}" -lt 20 ] && pass "client reset ${secs}s after its STARTTLS was withheld" ||
		fail "reset only after ${secs}s"
	;;
*) fail "no reset: $last" ;;
esac
if on_module "partial-block counter (guard_partial_block)"; then
	b1=$(guard_counter "$G" guard_partial_block)
	[ "$b1" -ge $((b0 + 1)) ] && pass "partial-block counter +$((b1 - b0))" ||
		fail "partial-block counter +$((b1 - b0))"
fi
expect_event partial_block STARTTLS 587
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:587: client command STARTTLS never leaves the gateway \\(partial block\\); both ends reset"
exit $ret
