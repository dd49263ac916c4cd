#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Policy reset: a masked advertisement resets the connection; the client
# gets a reset (in a second or two; the test allows 15 s of its 30 s read
# timeout, for a loaded emulated guest) instead of a desynchronised
# negotiation.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load guard_policy=reset
gateway_only
events_start
mail_up
masker_up mask
[ "$STOCK" = 1 ] || x0=$(guard_counter "$G" guard_reset)
for t in "smtp 587" "imap 143"; do
	set -- $t
	# the reset has to come before the client's own 30 s read timeout
	# (which ends a stock run with TIMEOUT); how fast is reported only
	talk "$1" $S4 "$2" "$1" --timeout 30
	last=$(tail -n 1 "$TMPD/$1.talk")
	case $last in
	RESET*|CLOSED*reset*)
		secs=${last#* }
		secs=${secs%% *}
		if [ "${secs%.*}" -lt 15 ]; then
			pass "$1: reset after ${secs}s"
		else
			fail "$1: reset only after ${secs}s (the guard resets on the masked reply)"
		fi
		;;
	*) fail "$1: no reset: $last" ;;
	esac
	grep -q XXXXXXXA "$TMPD/$1.talk" && fail "$1: the mask reached the client"
done
if on_module "reset counter (guard_reset)"; then
	x1=$(guard_counter "$G" guard_reset)
	[ "$x1" -ge $((x0 + 2)) ] && pass "reset counter +$((x1 - x0))" || fail "reset counter +$((x1 - x0))"
fi
expect_event strip_reset STARTTLS 587
expect_event strip_reset STARTTLS 143
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:143: keyword STARTTLS masked inside the gateway .*; both ends reset"
exit $ret
