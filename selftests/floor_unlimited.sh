#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# timeout=0 (unlimited): an idle flow holds the largest timeout conntrack
# can store (INT_MAX jiffies, 99 days at HZ=250, at least 24 days at any
# HZ) and is re-armed before it runs out.
#
# Method: nobody can wait weeks, so the test advances the flow's clock
# instead: it rewrites the entry's remaining timeout to 60 s with
# ctnetlink (conntrack -U), which is exactly what an idle flow looks like
# weeks later. No packet is sent afterwards (the gateway's forward
# counter proves it); the module's background scan (scan_interval=10, the
# shortest, here; 60 s by default) must raise it back to the maximum.
# timeout: 600
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_idle.bash"

DAYS20=$((20 * 86400))
topo_up
lemonade_load timeout=0 scan_interval=10
serve_start 143 587 674 8143
hold "$C" un $S4 143,587,674 3 "${IDLE_PING[@]}"
hold "$C" unc $S4 8143 1 "${IDLE_PING[@]}"
for p in 143 587 674; do
	expect_timeouts "$G" ipv4 $p $DAYS20 $((200 * 86400)) "unlimited idle flow"
done

fwd_packets() {
	ip netns exec "$G" nft list counter inet filter fwd_est | awk '/packets/ { print $2 }'
}
before=$(fwd_packets)
[ "$STOCK" = 1 ] || rearmed0=$(counter "$G" rearmed)
# conntrack -U sends the entry's status, protoinfo and helper back and is
# refused (EOPNOTSUPP); ct_settimeout.py sends only the tuple and timeout.
sport=$(awk '$1 == "OK" && $2 == 143 { print $3 }' "$TMPD/un")
# The scan runs every 10 s: on a slow guest it may re-arm the flow
# before conntrack -L reads the 60 s back, so the update counts as done
# when ctnetlink accepted it, and the re-arm is proven by the flow being
# back at the maximum with the "rearmed" counter moved and no traffic.
# Then the client lives it (lib_idle.bash idle_live): the connections
# answer after 20 s idle on a gateway that forgets in 4 s.
if ip netns exec "$G" $PY "$HERE/ct_settimeout.py" $C4 $S4 "$sport" 143 60; then
	t=$(ct_timeouts "$G" ipv4 143)
	pass "ctnetlink set the flow's remaining timeout to 60 s (read back: ${t}s)"
	if wait_for 30 sh -c "[ \"\$(ip netns exec $G conntrack -L -p tcp --dport 143 2>/dev/null | awk '{print \$3}')\" -ge $DAYS20 ]"; then
		pass "idle unlimited flow re-armed to $(ct_timeouts "$G" ipv4 143)s without traffic"
	else
		fail "[conntrack] idle unlimited flow not re-armed ($(ct_timeouts "$G" ipv4 143)s left)"
	fi
else
	fail "[conntrack] could not advance the flow's timeout: ctnetlink refused the update"
fi
after=$(fwd_packets)
if [ "$before" = "$after" ]; then
	pass "no packet crossed the gateway meanwhile ($after forwarded)"
else
	fail "traffic crossed the gateway ($before -> $after): re-arm not proven"
fi
if on_module "the rearmed counter moved"; then
	rearmed=$(counter "$G" rearmed)
	if [ "$rearmed" -gt "$rearmed0" ]; then
		pass "rearmed counter moved ($rearmed0 -> $rearmed)"
	else
		fail "rearmed counter did not move ($rearmed0 -> $rearmed)"
	fi
fi
# lived: the unlimited flows outlive an idle that kills the 8143 one
idle_live 143,587,674 un unc
exit $ret
