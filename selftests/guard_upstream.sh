#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A server that itself sends XXXXXXXA: counted as upstream masking, the
# bytes reach the client untouched (never guessed back).
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
ip netns exec "$G" lemonctl port add 2587 proto smtp >/dev/null ||
	fail "lemonctl port add 2587"
mail_up
u0=$(guard_counter "$G" guard_upstream_masked)
r0=$(guard_counter "$G" guard_restored)
talk smtp $S4 2587 smtp
grep -q "^S: 250-XXXXXXXA" "$TMPD/smtp.talk" && pass "the server's own mask reaches the client" ||
	fail "$(grep -m1 -e XXXX -e STARTTLS "$TMPD/smtp.talk")"
u1=$(guard_counter "$G" guard_upstream_masked)
r1=$(guard_counter "$G" guard_restored)
[ "$u1" -eq $((u0 + 1)) ] && pass "upstream-masked counter +1" ||
	fail "upstream-masked counter +$((u1 - u0)) (want +1)"
[ "$r1" -eq "$r0" ] && pass "nothing restored" || fail "restored +$((r1 - r0))"
[ "$STOCK" = 1 ] && fail "stock Linux: nothing counts upstream masking"
exit $ret
