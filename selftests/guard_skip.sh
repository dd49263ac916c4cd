#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guard's per-namespace budget of records (module parameter
# guard_buffers): with room for one negotiation, a first SMTP session that
# idles after the greeting holds the only record (guard_stall is long
# here) ("lemonctl flows": guard active); a second session
# through a masking NFQUEUE program in the gateway is not inspected, so its
# mask is not restored, but its traffic is never dropped: the negotiation
# completes, the skipped counter moves and its flow shows guard skipped.
# Once the first flow is gone, the buffer serves the next session again,
# which is restored. Stock: nothing counts, nothing is restored.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
topo_up
lemonade_load guard_buffers=1 guard_stall=600
gateway_only
mail_up
masker_up mask
if [ "$STOCK" != 1 ]; then
	k0=$(guard_counter "$G" guard_skipped)
	r0=$(guard_counter "$G" guard_restored)
fi

# the first session takes the buffer with the server's greeting
hold "$C" first $S4 587 1
wait_for 10 sh -c "ip netns exec $G lemonctl -j flows port 587 |
	jq -e 'map(select(.guard == \"active\")) | length == 1' >/dev/null" ||
	[ "$STOCK" = 1 ] || fail "the first session's flow is not being inspected"

# session NAME KEYWORD WHAT: an SMTP negotiation that completes with
# KEYWORD advertised
session() {
	talk "$1" $S4 587 smtp
	if tail -n 1 "$TMPD/$1.talk" | grep -q DONE &&
		grep -q "^S: 250-$2" "$TMPD/$1.talk"; then
		pass "$3"
	else
		fail "$1 session: $(tr '\n' '|' < "$TMPD/$1.talk" | cut -c1-300)"
	fi
}

session second XXXXXXXA "without a buffer the second negotiation completes, not inspected (the mask stays)"
if on_module "skipped counter +1 (guard_skipped)"; then
	k1=$(guard_counter "$G" guard_skipped)
	[ "$k1" -eq $((k0 + 1)) ] && pass "skipped counter +1" ||
		fail "skipped counter +$((k1 - k0)) (want +1)"
fi
if [ "$STOCK" != 1 ]; then
	st=$(ip netns exec "$G" lemonctl -j flows port 587 |
		jq -r 'map(.guard) | sort | join(" ")')
	[ "$st" = "active skipped" ] &&
		pass "lemonctl flows: one flow active, one skipped" ||
		fail "lemonctl flows: guard states '$st' (want 'active skipped')"
fi

# the first session and its entry go: the buffer is free again
kill "$PID_first"
wait "$PID_first" 2>/dev/null
ip netns exec "$G" conntrack -D -p tcp --dport 587 > /dev/null 2>&1
session third STARTTLS "with the buffer back the next negotiation is restored"
if on_module "restored counter (guard_restored)"; then
	r1=$(guard_counter "$G" guard_restored)
	[ "$r1" -gt "$r0" ] && pass "restored counter +$((r1 - r0))" ||
		fail "restored counter +$((r1 - r0))"
fi
exit $ret
