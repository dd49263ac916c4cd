#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A server that itself sends XXXXXXXA: counted as upstream masking, the
# bytes reach the client untouched (never guessed back). Then the same
# mask made inside the gateway, on 587: restored (on stock Linux the
# client sees the mask: the client-visible difference).
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
[ "$STOCK" = 1 ] || ip netns exec "$G" lemonctl port add 2587 proto smtp >/dev/null ||
	fail "lemonctl port add 2587"
mail_up
if [ "$STOCK" != 1 ]; then
	u0=$(guard_counter "$G" guard_upstream_masked)
	r0=$(guard_counter "$G" guard_restored)
fi
talk smtp $S4 2587 smtp
grep -q "^S: 250-XXXXXXXA" "$TMPD/smtp.talk" && pass "the server's own mask reaches the client" ||
	fail "$(grep -m1 -e XXXX -e STARTTLS "$TMPD/smtp.talk")"
if on_module "upstream-masked counter +1, nothing restored (guard_upstream_masked, guard_restored)"; then
	u1=$(guard_counter "$G" guard_upstream_masked)
	r1=$(guard_counter "$G" guard_restored)
	[ "$u1" -eq $((u0 + 1)) ] && pass "upstream-masked counter +1" ||
		fail "upstream-masked counter +$((u1 - u0)) (want +1)"
	[ "$r1" -eq "$r0" ] && pass "nothing restored" || fail "restored +$((r1 - r0))"
fi
masker_up mask
talk smtp2 $S4 587 smtp
sees_starttls smtp2 && pass "the gateway's own mask on 587 is restored for the client" ||
	fail "the gateway's own mask on 587 reaches the client: $(grep -m1 -e XXXX -e STARTTLS "$TMPD/smtp2.talk")"
if on_module "then restored, upstream-masked +0 (guard_restored, guard_upstream_masked)"; then
	u2=$(guard_counter "$G" guard_upstream_masked)
	r2=$(guard_counter "$G" guard_restored)
	[ "$u2" -eq "$u1" ] && [ "$r2" -ge $((r1 + 1)) ] && pass "then restored +$((r2 - r1)), upstream-masked +0" ||
		fail "then restored +$((r2 - r1)) (want >= 1), upstream-masked +$((u2 - u1)) (want 0)"
fi
exit $ret
