#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Policy log: the masked keyword reaches the client unchanged, and the
# strip-detected counter moves (restored does not).
# stock-left-alone: the client's bytes (policy log); stock Linux fails on the operator's event (lemonctl monitor) and kernel log line
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load guard_policy=log
gateway_only
events_start
mail_up
masker_up mask
if [ "$STOCK" != 1 ]; then
	d0=$(guard_counter "$G" guard_strip_detected)
	r0=$(guard_counter "$G" guard_restored)
fi
talk smtp $S4 587 smtp
talk imap $S4 143 imap
grep -q "^S: 250-XXXXXXXA" "$TMPD/smtp.talk" && pass "smtp: the mask reaches the client" ||
	fail "smtp: $(grep -m1 -e XXXX -e STARTTLS "$TMPD/smtp.talk")"
grep -q "XXXXXXXA" "$TMPD/imap.talk" && pass "imap: the mask reaches the client" ||
	fail "imap: $(grep -m1 -e XXXX -e STARTTLS "$TMPD/imap.talk")"
if on_module "strip-detected counter moves, restored does not (guard_strip_detected, guard_restored)"; then
	d1=$(guard_counter "$G" guard_strip_detected)
	r1=$(guard_counter "$G" guard_restored)
	[ "$d1" -ge $((d0 + 2)) ] && pass "strip-detected counter +$((d1 - d0))" ||
		fail "strip-detected counter +$((d1 - d0)) (want >= 2)"
	[ "$r1" -eq "$r0" ] && pass "restored counter unchanged" || fail "restored +$((r1 - r0))"
fi
expect_event strip_detected STARTTLS 587
expect_event strip_detected STARTTLS 143
expect_log "nf_lemonade: flow 192\.0\.2\.[0-9]+:[0-9]+ -> 198\.51\.100\.[0-9]+:587: keyword STARTTLS masked inside the gateway .*; left alone \\(policy log\\)"
exit $ret
