#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demonstration gateway, run inside the QEMU guest by demo.sh: the same
# scenarios on stock Linux and with nf_lemonade loaded, side by side.
source "$(dirname "$0")/lib.sh"
declare -A R

phase() { # phase stock|lemonade
	local k=$1 p t
	mkdir -p "$TMPD"
	topo_up
	if [ "$k" = lemonade ]; then
		modprobe nf_lemonade
	fi
	serve_start 143 587 674 8143
	hold "$C" idle $S4 143,587,674,8143 4
	for p in 143 587 674 8143; do
		R[$k.$p]=$(ct_timeouts "$G" ipv4 $p | head -n 1)
	done
	hold "$C" un $S4 143 1
	kill -USR2 "$PID_un"
	sleep 1
	ip -n "$C" link set c0 down
	sleep 5
	R[$k.unack]=$(ip netns exec "$G" conntrack -L -p tcp --dport 143 2>/dev/null |
		sort -n -k3 | head -n 1 | awk '{ print $3 }')
	ip -n "$C" link set c0 up
	ip -n "$C" route replace default via $G4C
	ip -n "$C" -6 route replace default via $G6C
	sysctl -qw net.netfilter.nf_conntrack_max=256
	hold "$C" many $S4 143,587,674 300 --stop-on-fail --connect-timeout 3
	read -r _ ok _ < "$TMPD/many.ready"
	R[$k.many]="$ok of 300"
	hold "$C" after $S4 8143 1 --connect-timeout 3
	read -r _ ok _ < "$TMPD/after.ready"
	if [ "$ok" = 1 ]; then R[$k.after]=connects; else R[$k.after]="refused"; fi
	R[$k.recycled]=-
	if [ "$k" = lemonade ]; then
		R[$k.recycled]=$(ip netns exec "$G" lemonctl -j stats 2>/dev/null |
			$PY -c 'import json,sys; print(json.load(sys.stdin)["recycled"])' 2>/dev/null || echo "?")
	fi
	cleanup
	trap cleanup EXIT
	NS_LIST=() BG_PIDS=()
	sysctl -qw net.netfilter.nf_conntrack_max=262144
}

echo "# phase 1: stock Linux $(uname -r)"
phase stock
echo "# phase 2: the same gateway with nf_lemonade loaded (defaults, no configuration)"
phase lemonade

row() { printf '%-52s %-18s %-18s\n' "$1" "$2" "$3"; }
echo
echo "Gateway: nf_conntrack_tcp_timeout_established=600 (vendor setting), Linux $(uname -r)"
echo
row "scenario (remaining conntrack timeout on the gateway)" "stock Linux" "with nf_lemonade"
row "----------------------------------------------------" "-----------" "----------------"
row "idle IMAP flow (143)" "${R[stock.143]}s" "${R[lemonade.143]}s"
row "idle Submission flow (587)" "${R[stock.587]}s" "${R[lemonade.587]}s"
row "idle ACAP flow (674)" "${R[stock.674]}s" "${R[lemonade.674]}s"
row "idle flow to 8143 (not listed)" "${R[stock.8143]}s" "${R[lemonade.8143]}s"
row "client dormant, server data unacknowledged (143)" "${R[stock.unack]}s" "${R[lemonade.unack]}s"
row "300 idle flows, nf_conntrack_max=256: connected" "${R[stock.many]}" "${R[lemonade.many]}"
row "then a new connection to 8143" "${R[stock.after]}" "${R[lemonade.after]}"
row "idle flows recycled under pressure" "${R[stock.recycled]}" "${R[lemonade.recycled]}"
echo
echo "RFC 5382 REQ-5 / RFC 5383 4.1: an established flow's idle timeout must not be"
echo "less than 2 hours 4 minutes (7440 s)."
