#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demonstration gateway, run inside the QEMU guest by demo.sh: the same
# client -- gateway -- server scenarios on stock Linux and with nf_lemonade
# acting in the gateway, then one table, stock next to the module:
#   the floor   idle mail flows keep 7440 s of idle timeout, not 600 s;
#   the shield  the gateway's own host-unreachable, sent while the server's
#               link is down, does not kill the client's session;
#   the guard   STARTTLS masked by an inspecting program in the gateway
#               reaches the client restored.
source "$(dirname "$0")/lib.sh"
declare -A R

# stop_bg PID: end one background helper (mail server, masker) early
stop_bg() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# drip_arrived: the client holds unread data from the server (it reads
# only when it pings)
drip_arrived() {
	ip netns exec "$C" ss -Htn '( dport = :143 )' |
		awk '$1 == "ESTAB" && $2 > 0 { found = 1 } END { exit !found }'
}
unreach_grew() { [ "$(icmp_unreach_sent "$G")" -gt "$1" ]; }
# unacked_data: the server has more than 2000 bytes its dormant client has
# not acknowledged (two of its 1000-byte writes, so the gateway has seen
# data go unacknowledged)
unacked_data() {
	ip netns exec "$S" ss -Htn '( sport = :143 )' |
		awk '$1 == "ESTAB" && $3 > 2000 { found = 1 } END { exit !found }'
}

phase() { # phase stock|lemonade
	local k=$1 p n0 ok mailpid maskpid t0=$SECONDS
	mkdir -p "$TMPD"
	topo_up
	if [ "$k" = lemonade ]; then
		modprobe nf_lemonade
		gateway_only	# client and server namespaces keep stock behaviour
	fi

	info "$k: the guard: an NFQUEUE program in the gateway masks STARTTLS in the server's EHLO reply (port 587)"
	mail_up
	mailpid=${BG_PIDS[-1]}
	masker_up mask
	maskpid=${BG_PIDS[-1]}
	talk guard $S4 587 smtp >/dev/null
	if grep -q '^S: 250-STARTTLS' "$TMPD/guard.talk"; then
		R[$k.guard]="250-STARTTLS"
	elif grep -q '^S: 250-XXXXXXXA' "$TMPD/guard.talk"; then
		R[$k.guard]="250-XXXXXXXA"
	else
		R[$k.guard]="? $(tail -n 1 "$TMPD/guard.talk")"
	fi
	ip netns exec "$G" nft delete table inet inspect
	stop_bg "$maskpid"
	stop_bg "$mailpid"

	info "$k: the floor: one idle connection each to 143, 587, 674 and 8143 (not listed)"
	serve_start 143 587 674 8143
	hold "$C" idle $S4 143,587,674,8143 4
	for p in 143 587 674 8143; do
		# the established flow (the guard's closed one may still be listed)
		R[$k.$p]=$(ip netns exec "$G" conntrack -L -f ipv4 -p tcp --dport $p \
			--state ESTABLISHED 2>/dev/null | awk '{ print $3; exit }')
	done

	info "$k: the shield: the server's link goes down, the client sends on its IMAP connection (IP_RECVERR)"
	hold "$C" sh $S4 143 1 --recverr
	n0=$(icmp_unreach_sent "$G")
	ip -n "$S" link set s0 down
	ip -n "$G" neigh flush dev gs
	ctl sh send
	info "$k: waiting for the gateway's neighbour resolution to fail (about 3 s): it then answers host unreachable itself"
	if wait_for 30 unreach_grew "$n0"; then
		R[$k.icmp]="$(($(icmp_unreach_sent "$G") - n0)) sent"
	else
		R[$k.icmp]="none sent?"
	fi
	server_link_up
	# the client's next write is where a pending socket error (IP_RECVERR
	# makes the gateway's unreachable one) surfaces, as in a mail client
	info "$k: link back; the client writes and waits for the answer on the same connection (its TCP may wait for the next retransmission, up to ~15 s)"
	if ping_flows sh; then
		R[$k.sherr]="none"
		R[$k.shield]="carries data"
	else
		R[$k.sherr]=$(sed -n 's/^ERR \[Errno [0-9]*\] //p' "$TMPD/sh.ping" | head -n 1)
		R[$k.shield]="lost"
	fi
	R[$k.absorbed]=-
	[ "$k" = lemonade ] && R[$k.absorbed]=$(counter "$G" icmp_absorbed)

	info "$k: the client goes dormant (link down) while the server sends to it: data stays unacknowledged"
	hold "$C" un $S4 143 1
	kill -USR2 "$PID_un"	# the server starts sending 1000 bytes every 0.2 s
	wait_for 20 drip_arrived || info "$k: the server's data did not arrive"
	ip -n "$C" link set c0 down
	wait_for 20 unacked_data || info "$k: no unacknowledged data seen"
	R[$k.unack]=$(ct_timeouts "$G" ipv4 143 | sort -n | head -n 1)
	client_link_up

	if [ "$k" = lemonade ]; then
		# conntrack's limit counts each namespace's own entries, and with
		# the module loaded the client's and server's namespaces track
		# their flows too: let the module recycle there as well
		info "$k: the module on in the client's and server's namespaces too (each has its own conntrack table)"
		ip netns exec "$C" lemonctl set enable on
		ip netns exec "$S" lemonctl set enable on
	fi
	info "$k: table pressure: nf_conntrack_max=128, then 160 idle connections (a refused one takes its 3 s connect timeout)"
	sysctl -qw net.netfilter.nf_conntrack_max=128
	hold "$C" many $S4 143,587,674 160 --stop-on-fail --connect-timeout 3
	read -r _ ok _ < "$TMPD/many.ready"
	R[$k.many]="$ok of 160"
	hold "$C" after $S4 8143 1 --connect-timeout 3
	read -r _ ok _ < "$TMPD/after.ready"
	if [ "$ok" = 1 ]; then R[$k.after]=connects; else R[$k.after]=refused; fi
	R[$k.recycled]=-
	[ "$k" = lemonade ] && R[$k.recycled]=$(counter "$G" recycled)

	cleanup
	trap cleanup EXIT
	NS_LIST=() BG_PIDS=()
	sysctl -qw net.netfilter.nf_conntrack_max=262144
	info "$k: done in $((SECONDS - t0)) s"
}

info "phase 1: stock Linux $(uname -r) as the gateway"
phase stock
info "phase 2: the same gateway with nf_lemonade loaded (defaults, no configuration)"
phase lemonade

row() { printf '%-50s %-20s %-20s\n' "$1" "$2" "$3"; }
sec() { [ "$1" = - ] && echo - || echo "$1 s"; }
echo
echo "client 192.0.2.2 -- gateway (Linux $(uname -r), nf_conntrack_tcp_timeout_established=600) -- server 198.51.100.2"
echo
row "" "stock Linux" "with nf_lemonade"
row "THE FLOOR: idle timeout left on the gateway" "" ""
row "  idle IMAP flow (143)" "$(sec "${R[stock.143]}")" "$(sec "${R[lemonade.143]}") (*)"
row "  idle Submission flow (587)" "$(sec "${R[stock.587]}")" "$(sec "${R[lemonade.587]}") (*)"
row "  idle ACAP flow (674)" "$(sec "${R[stock.674]}")" "$(sec "${R[lemonade.674]}") (*)"
row "  idle flow to 8143 (not listed)" "$(sec "${R[stock.8143]}")" "$(sec "${R[lemonade.8143]}")"
row "  client dormant, server data unacked (143)" "$(sec "${R[stock.unack]}")" "$(sec "${R[lemonade.unack]}") (*)"
row "  160 idle flows, nf_conntrack_max=128" "${R[stock.many]} connect" "${R[lemonade.many]} connect"
row "  then a new connection to 8143" "${R[stock.after]}" "${R[lemonade.after]}"
row "  idle listed flows recycled to make room" "${R[stock.recycled]}" "${R[lemonade.recycled]}"
row "THE SHIELD: server link down a few seconds" "" ""
row "  gateway's own ICMP host unreachable" "${R[stock.icmp]}" "${R[lemonade.icmp]}, ${R[lemonade.absorbed]} absorbed"
row "  the client's next write on its IMAP socket" "${R[stock.sherr]:-?}" "${R[lemonade.sherr]:-?}"
row "  the session after the link returns" "${R[stock.shield]}" "${R[lemonade.shield]}"
row "THE GUARD: gateway program masks STARTTLS" "" ""
row "  the client reads in the EHLO reply" "${R[stock.guard]}" "${R[lemonade.guard]}"
echo
echo "(*) The floor is 7440 s (2 h 4 min, RFC 5382 REQ-5; RFC 5383 4.1). On each"
echo "    packet the module sets a listed flow's timeout to the floor plus a 5 s"
echo "    grace (the pin), so conntrack shows 7445 s less the seconds since the"
echo "    flow's last packet: 7444 s when read at once, less when read later (a"
echo "    slow or loaded machine). The floor itself, 7440 s after the last packet,"
echo "    is what the RFC asks; the 5 s keep conntrack's own timer from firing"
echo "    first."
echo "Stock Linux keeps 600 s (the vendor setting), and 300 s while data is unacked"
echo "(nf_conntrack_tcp_timeout_unacknowledged); a mail client treats EHOSTUNREACH"
echo "on its socket as a lost session (RFC 1122 4.2.3.9 says soft errors must not"
echo "abort it), and without STARTTLS it stays in plain text."
exit $ret
