#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The shield only covers listed ports: a soft error about a flow to port
# 8143 reaches the client, and no counter moves; the same error about a
# flow to the listed 143, sent next, does not reach its client (on stock
# Linux it does: the client-visible difference).
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
serve_start 8143 143
hold "$C" o4 $S4 8143 1 --recverr
hold "$C" l4 $S4 143 1 --recverr
[ "$STOCK" = 1 ] || read -r a0 p0 i0 <<< "$(icmp_counters "$G")"
inject o4 ipv4 8143 3 1
e=$(errors_of o4)
case $e in
*EHOSTUNREACH*) pass "host unreachable on 8143 reaches the client ($e)" ;;
*) fail "the client did not see the error on 8143: $e" ;;
esac
shield_unmoved "${a0-}" "${p0-}" "${i0-}"
inject l4 ipv4 143 3 1
e=$(errors_of l4)
[ "$e" = "OK " ] && pass "the same error about a flow to the listed 143 does not reach its client" ||
	fail "the same error about a flow to the listed 143 reaches its client: $e"
exit $ret
