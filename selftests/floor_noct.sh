#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The module does not turn conntrack on: in a namespace whose ruleset does
# not use it, traffic on listed ports leaves the conntrack table empty and
# no conntrack hook is registered (the module's own hooks are).
# stock-left-alone: a namespace without conntrack rules stays without conntrack
source "$(dirname "$0")/lib.sh"

lemonade_load
setup_ns N
ip netns exec "$N" $PY "$PEER" serve 143 --lifetime 300 &
BG_PIDS+=($!)
wait_for 20 sh -c "ip netns exec $N ss -Htln 'sport = :143' | grep -q ." ||
	fail "server did not start"
hold "$N" local 127.0.0.1 143 3
ping_flows local || fail "round trip"
n=$(ip netns exec "$N" sysctl -n net.netfilter.nf_conntrack_count)
[ "$n" = 0 ] && pass "nf_conntrack_count is 0 in a namespace without conntrack rules" ||
	fail "nf_conntrack_count is $n"
# the hook dump is nfnetlink_hook's, which nft does not load itself
modprobe -q nfnetlink_hook 2>/dev/null
ip netns exec "$N" nft list hooks ip > "$TMPD/hooks" 2>/dev/null
ip netns exec "$N" nft list hooks ip6 >> "$TMPD/hooks" 2>/dev/null
if [ -s "$TMPD/hooks" ] || [ "$STOCK" = 1 ]; then
	if grep -q conntrack "$TMPD/hooks"; then
		fail "conntrack hooks: $(grep conntrack "$TMPD/hooks" | tr -s ' ' | head -n 3 | tr '\n' ';')"
	else
		pass "no conntrack hook in the namespace"
	fi
	if [ "$STOCK" != 1 ]; then
		grep -q nf_lemonade "$TMPD/hooks" && pass "the module's hooks are registered" ||
			fail "the module's hooks are missing: $(tr '\n' ';' < "$TMPD/hooks" | cut -c1-300)"
	fi
else
	info "this kernel does not list its hooks (no nfnetlink_hook): conntrack count only"
fi
exit $ret
