#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A connect() to an unreachable server (the gateway's neighbour resolution
# fails) still fails fast by default: the shield covers ESTABLISHED flows
# only. With states "all" the gateway absorbs the error and the connect
# attempt keeps trying (no failure within 10 s).
source "$(dirname "$0")/lib.sh"

DEAD4=198.51.100.99
topo_up
lemonade_load
gateway_only
[ "$STOCK" = 1 ] || read -r a0 _ _ <<< "$(icmp_counters "$G")"
hold "$C" c1 $DEAD4 143 1 --connect-timeout 10
if grep -q "FAIL 143 .*No route to host" "$TMPD/c1"; then
	pass "default: connect fails fast ($(cut -d' ' -f3- "$TMPD/c1"))"
else
	fail "default: connect did not fail fast: $(cat "$TMPD/c1")"
fi
if on_module "default: nothing absorbed (icmp_absorbed)"; then
	read -r a1 _ _ <<< "$(icmp_counters "$G")"
	[ "$a1" -eq "$a0" ] && pass "default: nothing absorbed" || fail "default: absorbed +$((a1 - a0))"
fi

if [ "$STOCK" != 1 ]; then
	lemonade_unload
	lemonade_load icmp_states=all
	gateway_only
fi
[ "$STOCK" = 1 ] || read -r a0 _ _ <<< "$(icmp_counters "$G")"
hold "$C" c2 $DEAD4 143 1 --connect-timeout 10
if grep -q "FAIL 143 timed out" "$TMPD/c2"; then
	pass "states all: the connect attempt is not cut short ($(cut -d' ' -f3- "$TMPD/c2"))"
else
	fail "states all: $(cat "$TMPD/c2")"
fi
if on_module "states all: absorbed (icmp_absorbed)"; then
	read -r a1 _ _ <<< "$(icmp_counters "$G")"
	[ $((a1 - a0)) -ge 1 ] && pass "states all: absorbed +$((a1 - a0))" ||
		fail "states all: absorbed +$((a1 - a0)) (want >= 1)"
fi
exit $ret
