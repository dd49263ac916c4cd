#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guard_restore through NAT: the gateway masquerades the client (SNAT),
# then forwards its own addresses' ports 10587, 10143 and 10674 to the
# server's 587, 143 and 674 (DNAT: the listed port is the one the server
# sees), IPv4 and IPv6. The masker inside the gateway rewrites STARTTLS;
# every client reads STARTTLS and finishes the negotiation, nothing is
# reset. On stock Linux the mask reaches the clients.
# timeout: 600
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
mail_up
masker_up mask
[ "$STOCK" = 1 ] || x0=$(guard_counter "$G" guard_reset)
for mode in snat dnat; do
	ip netns exec "$G" nft delete table inet nat 2>/dev/null
	nat_up $mode 587 143 674
	for t in "smtp 587" "imap 143" "acap 674"; do
		set -- $t
		for fam in 4 6; do
			addr=$(nat_addr $mode $fam) port=$(nat_port $mode "$2")
			talk "$1" "$addr" "$port" "$1" --starttls
			if sees_starttls "$1"; then
				pass "$mode $1 ($addr port $port): the client sees STARTTLS and finishes it"
			else
				fail "$mode $1 ($addr port $port): $(grep -m1 -e XXXX -e STARTTLS -e RESET "$TMPD/$1.talk") last: $(tail -n 1 "$TMPD/$1.talk")"
			fi
		done
	done
	case $mode in
	snat) c=$(ip netns exec "$G" conntrack -L -p tcp --dport 587 2>/dev/null | grep -c "dst=$G4S ") ;;
	dnat) c=$(ip netns exec "$G" conntrack -L -p tcp --dport 10587 2>/dev/null | grep -c "src=$S4 ") ;;
	esac
	[ "$c" -ge 1 ] && pass "$mode: the IPv4 flows to 587 are translated ($c entries)" ||
		fail "$mode: no translated IPv4 flow to 587 in conntrack"
done
m=$(awk '/rewrote/ { n = $3 } END { print n + 0 }' "$TMPD/masker.log")
[ "$m" -ge 12 ] && pass "the masker rewrote $m segments of the twelve negotiations" ||
	fail "the masker rewrote $m segments, want >= 12 (test setup): $(tail -n 2 "$TMPD/masker.log")"
if on_module "nothing reset (guard_reset)"; then
	x1=$(guard_counter "$G" guard_reset)
	[ "$x1" -eq "$x0" ] && pass "nothing reset" || fail "guard_reset +$((x1 - x0))"
fi
exit $ret
