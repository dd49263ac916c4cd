#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# 50 network namespace create/delete cycles with the module loaded (stress:
# LEMONADE_STRESS=1). In each namespace (with a ruleset that uses
# conntrack) a server and a client hold
# connections to a listed (143) and an unlisted (8143) port over IPv4 and
# IPv6 on documentation addresses; the cycle waits until the module lists
# the namespace's covered flows, then kills the peers and deletes the
# namespace with its conntrack entries and the module's per-namespace
# state. Afterwards the module still answers in the initial namespace and
# unloads.
# timeout: 900
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
CYCLES=${LEMONADE_NETNS_CYCLES:-50}
MAXSECS=${LEMONADE_NETNS_SECONDS:-1500}

lemonade_load
t0=$(date +%s)
cycles=0 seen=0 flows=0
while [ $cycles -lt "$CYCLES" ] && [ $(($(date +%s) - t0)) -lt "$MAXSECS" ]; do
	cycles=$((cycles + 1))
	n=stress-$cycles-$(mktemp -u XXXXXX)
	ip netns add "$n" || { fail "ip netns add $n"; break; }
	NS_LIST+=("$n")
	ip -n "$n" link set lo up
	ip -n "$n" link add d0 type dummy
	ip -n "$n" addr add 203.0.113.1/24 dev d0
	ip -n "$n" addr add 2001:db8:3::1/64 dev d0 nodad
	ip -n "$n" link set d0 up
	# a ruleset that uses conntrack (the module does not turn it on in
	# a namespace whose own rules do not)
	ip netns exec "$n" nft -f - <<-EOF || fail "cycle $cycles: nft ruleset"
	table inet track {
		chain out {
			type filter hook output priority filter; policy accept;
			ct state new accept
		}
	}
	EOF
	# one process serves and holds 4 connections per family (in a
	# subshell: it is killed with the namespace, unreported)
	(ip netns exec "$n" $PY "$PEER" local --addrs 203.0.113.1,2001:db8:3::1 \
		--ports 143,8143 --count 4 --out "$TMPD/local.$cycles" &)
	# 2 client flows to 143 per family: the module lists 4 covered flows
	if wait_for 60 sh -c "[ \$(lemonctl -n $n flows | grep -c ':143 ') -ge 4 ]"; then
		seen=$((seen + 1))
		flows=$((flows + $(lemonctl -n "$n" flows | grep -c ':143 ')))
	else
		fail "cycle $cycles: the module lists $(lemonctl -n "$n" flows | grep -c ':143 ') flows: $(lemonctl -n "$n" flows | head -3 | tr '\n' '|')"
	fi
	ip netns pids "$n" | xargs -r kill -9
	ip netns del "$n" || fail "ip netns del $n"
done
secs=$(($(date +%s) - t0))
info "$cycles cycles in $secs s, $flows covered flows listed"
if [ $cycles -eq "$CYCLES" ] && [ $seen -eq "$CYCLES" ]; then
	pass "$CYCLES namespaces with live flows created and deleted in $secs s"
else
	fail "$cycles cycles in $secs s, flows seen in $seen (want $CYCLES)"
fi
if ip netns list | grep -q '^stress-'; then
	fail "namespaces left: $(ip netns list | grep '^stress-' | tr '\n' ' ')"
fi
lemonctl show > /dev/null && pass "the module answers in the initial namespace" ||
	fail "lemonctl show in the initial namespace"
rmmod nf_lemonade && pass "rmmod after the cycles" || fail "rmmod after the cycles"
exit $ret
