#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A component that removes the keyword (the length changes): restoring is
# impossible, so the guard resets both ends and counts it.
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
events_start
mail_up
masker_up remove
[ "$STOCK" = 1 ] || x0=$(guard_counter "$G" guard_reset)
talk smtp $S4 587 smtp
last=$(tail -n 1 "$TMPD/smtp.talk")
case $last in
RESET*) pass "smtp with STARTTLS removed: client reset ($last)" ;;
*) fail "smtp with STARTTLS removed: $last" ;;
esac
if on_module "reset counter (guard_reset)"; then
	x1=$(guard_counter "$G" guard_reset)
	[ "$x1" -ge $((x0 + 1)) ] && pass "reset counter +$((x1 - x0))" || fail "reset counter +$((x1 - x0))"
fi
expect_event strip_reset STARTTLS 587
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:587: keyword STARTTLS removed or changed inside the gateway .*; both ends reset"
exit $ret
