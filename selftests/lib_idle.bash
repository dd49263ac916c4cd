# SPDX-License-Identifier: GPL-2.0
#
# Real idle, sourced by the floor_realidle*.sh tests after lib.sh: the
# gateway forgets an idle flow the way a short-timeout appliance does, and
# a forgotten flow stays dead. The floor is not read back from conntrack
# here; the client lives it: it idles well past conntrack's own timeout and
# then uses the same connection again.
#
# The gateway: conntrack's own established, unacknowledged and
# retransmission timeouts are IDLE_EST seconds; no mid-stream pickup
# (nf_conntrack_tcp_loose=0); the forward chain passes packets of tracked
# flows and SYNs of new ones and drops the rest (counter fwd_drop), so a
# packet of a flow conntrack forgot is dropped, not picked up again.
#
# NAT: none; snat (the gateway masquerades the client behind its
# server-side addresses); dnat (the client addresses the gateway's
# client-side addresses on port 10000 + P, forwarded to the server's P:
# the listed port is the one the server sees).
#
# Each run holds, per family, three connections to the listed ports 143,
# 587 and 674 and one control connection to the unlisted 8143 that idles
# just as long: the control must die (on stock Linux the listed ones die
# the same way), or the gateway did not forget idle flows and the test
# would prove nothing.

IDLE_EST=4
IDLE_FOR=$((5 * IDLE_EST))
IDLE_LISTED=143,587,674
IDLE_CONTROL=8143

# idle_topo NAT: the topology above
idle_topo() {
	IDLE_NAT=$1
	topo_up
	idle_strict
	nat_up "$IDLE_NAT" ${IDLE_LISTED//,/ } $IDLE_CONTROL
}

# idle_strict: the gateway above, on a topology that is up (topo_up):
# conntrack's own unacknowledged and retransmission timeouts IDLE_EST
# seconds, no mid-stream pickup, the forward chain passing packets of
# tracked flows and SYNs of new ones and dropping the rest. The
# established timeout is idle_est's.
idle_strict() {
	ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 \
		net.netfilter.nf_conntrack_tcp_timeout_unacknowledged=$IDLE_EST \
		net.netfilter.nf_conntrack_tcp_timeout_max_retrans=$IDLE_EST ||
		{ echo "FAIL: the gateway's conntrack sysctls"; exit $ksft_fail; }
	ip netns exec "$G" nft -f - <<-EOF || { echo "FAIL: the gateway's forward chain"; exit $ksft_fail; }
	flush chain inet filter forward
	add counter inet filter fwd_drop
	add rule inet filter forward ct state established,related counter name fwd_est accept
	add rule inet filter forward ct state new tcp flags & (fin|syn|rst|ack) == syn accept
	add rule inet filter forward counter name fwd_drop drop
	EOF
}

# idle_est SECONDS: conntrack's own established timeout in the gateway.
# Connections are opened under a long one (opening them all takes longer
# than IDLE_EST seconds in an emulated guest); the short one takes hold at
# each flow's next packet.
idle_est() {
	ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established="$1" ||
		fail "nf_conntrack_tcp_timeout_established=$1"
}

# idle_addr FAMILY (4 or 6): the address a client connects to
idle_addr() { nat_addr "$IDLE_NAT" "$1"; }

# idle_port P: the port a client connects to for the server's P
idle_port() { nat_port "$IDLE_NAT" "$1"; }

# idle_ports LIST: idle_port of each port of a comma-separated LIST
idle_ports() {
	local p out=""
	for p in ${1//,/ }; do
		out="$out${out:+,}$(idle_port "$p")"
	done
	echo "$out"
}

# idle_ping NAME: one round trip on every connection of hold client NAME;
# prints its results on one line (PONG, or what the connection saw)
idle_ping() {
	local pid
	eval "pid=\$PID_$1"
	rm -f "$TMPD/$1.ping"
	kill -USR1 "$pid"
	if wait_for 200 test -s "$TMPD/$1.ping"; then
		tr '\n' ' ' < "$TMPD/$1.ping"
	else
		echo "no answer"
	fi
}

# idle_wait SINCE WHAT [CAP PORT...]: wait until conntrack in the gateway
# forgot every control flow (idle_forgotten: to PORT..., by default to the
# control port as the client addresses it; at most CAP seconds, by default
# 120 scaled, itself scaled by wait_for) and at least IDLE_FOR seconds
# passed since SINCE (a date +%s)
idle_wait() {
	local since=$1 what=$2 cap=${3:-$((120 * ${LEMONADE_TIMEOUT_SCALE:-1}))}
	shift 2
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- "$(idle_port $IDLE_CONTROL)"
	if wait_for "$cap" idle_forgotten "$@"; then
		info "$what: conntrack forgot the control flows ($*) after $(($(date +%s) - since)) s ($IDLE_OWN)"
	else
		fail "$what: conntrack still lists the control flows ($*) after $(($(date +%s) - since)) s: the gateway does not forget idle flows, the test proves nothing"
	fi
	while [ $(($(date +%s) - since)) -lt $IDLE_FOR ] && [ $((SECONDS)) -lt 86400 ]; do
		sleep 0.5
	done
}

# idle_run NAT: the two real-idle cases, IPv4 and IPv6, through NAT
idle_run() {
	local fam addr t0 res drops0 drops1

	idle_topo "$1"
	lemonade_load
	serve_start ${IDLE_LISTED//,/ } $IDLE_CONTROL
	info "gateway: conntrack's own timeouts $IDLE_EST s, nf_conntrack_tcp_loose=0, untracked packets dropped; NAT: $IDLE_NAT"

	# 1. Idle: the client sends nothing and receives nothing.
	idle_est $VENDOR_EST
	for fam in 4 6; do
		addr=$(idle_addr $fam)
		hold "$C" l$fam "$addr" "$(idle_ports $IDLE_LISTED)" 3 --ping-timeout 20
		hold "$C" u$fam "$addr" "$(idle_port $IDLE_CONTROL)" 1 --ping-timeout 10
	done
	idle_est $IDLE_EST
	for n in l4 l6 u4 u6; do
		res=$(idle_ping $n)
		case $n$res in
		l?"PONG PONG PONG "|u?"PONG ") ;;
		*) fail "setup: $n's first round trip: $res" ;;
		esac
	done
	t0=$(date +%s)
	idle_wait "$t0" "idle"
	drops0=$(idle_drops)
	for fam in 4 6; do
		res=$(idle_ping l$fam)
		if [ "$res" = "PONG PONG PONG " ]; then
			pass "IPv$fam ($IDLE_NAT): the connections to $IDLE_LISTED carry a round trip after $(($(date +%s) - t0)) s idle (conntrack's own timeout: $IDLE_EST s)"
		else
			fail "IPv$fam ($IDLE_NAT): the connections to $IDLE_LISTED after $(($(date +%s) - t0)) s idle: $res(want PONG PONG PONG)"
		fi
		res=$(idle_ping u$fam)
		if [ "$res" = "PONG " ]; then
			fail "IPv$fam ($IDLE_NAT): the control connection to $IDLE_CONTROL still carries after its entry expired: the gateway did not forget it, the test proves nothing"
		else
			pass "IPv$fam ($IDLE_NAT): control: the connection to $IDLE_CONTROL idle as long is dead ($res)"
		fi
	done
	drops1=$(idle_drops)
	if [ "$IDLE_NAT" = dnat ]; then
		# the client addresses the gateway itself: a packet conntrack no
		# longer maps is the gateway's own, which answers it with a reset
		info "dnat: the gateway's forward chain dropped $((drops1 - drops0)) packets (a forgotten flow's packets are the gateway's own here)"
	elif [ "$drops1" -gt "$drops0" ]; then
		pass "the gateway dropped $((drops1 - drops0)) packets of forgotten flows"
	else
		fail "the gateway dropped no packet of a forgotten flow"
	fi

	# 2. Dormant: the server's data goes unacknowledged (the client drops
	# every TCP segment it receives) until the client wakes up.
	idle_est $VENDOR_EST
	for fam in 4 6; do
		addr=$(idle_addr $fam)
		hold "$C" d$fam "$addr" "$(idle_ports $IDLE_LISTED)" 3
		hold "$C" e$fam "$addr" "$(idle_port $IDLE_CONTROL)" 1
	done
	idle_est $IDLE_EST
	kill -USR2 "$PID_d4" "$PID_d6" "$PID_e4" "$PID_e6"
	wait_for 60 idle_socks_all 'v["bytes_acked"] >= 2000' d4 d6 e4 e6 ||
		fail "the server's data did not reach every new connection"
	idle_dormant
	t0=$(date +%s)
	# on the wire: every server connection has data nobody acknowledges
	# and has retransmitted it
	if wait_for 60 idle_socks_all 'v["unacked"] > 0 && v["retrans_total"] >= 2' d4 d6 e4 e6; then
		pass "dormant client: every server connection has unacknowledged data and has retransmitted it"
	else
		fail "dormant client: $(ip netns exec "$S" ss -tinOH state established | grep -o 'unacked:[0-9]*\|retrans:[0-9/]*' | tr '\n' ' ')"
	fi
	idle_wait "$t0" "dormant"
	idle_awake
	info "client awake after $(($(date +%s) - t0)) s"
	# the server's next retransmission (its backoff is below a minute
	# here) reaches the client, which acknowledges everything
	if wait_for 150 idle_socks_all 'v["unacked"] == 0' d4 d6; then
		pass "dormant ($IDLE_NAT): the server's unacknowledged data on $IDLE_LISTED reached the client and was acknowledged after $(($(date +%s) - t0)) s"
	else
		fail "dormant ($IDLE_NAT): the server's data on $IDLE_LISTED is still unacknowledged $(($(date +%s) - t0)) s after the client went dormant: $(ip netns exec "$S" ss -tinOH state established | grep -o 'unacked:[0-9]*' | tr '\n' ' ')"
	fi
	# the control's data never arrives: still unacknowledged, or its
	# connection reset (behind SNAT the gateway's own stack answers a
	# packet to its address that conntrack no longer maps)
	if ! idle_socks_all 'v["unacked"] == 0' e4 e6; then
		pass "dormant ($IDLE_NAT): control: the server's data on $IDLE_CONTROL was not delivered (its flow was forgotten): $(idle_socks_desc e4 e6)"
	else
		fail "dormant ($IDLE_NAT): control: the server's data on $IDLE_CONTROL was acknowledged: the gateway did not forget it, the test proves nothing"
	fi
}

# idle_dormant: the client drops every TCP segment it receives, so it
# acknowledges nothing (idle_awake ends it)
idle_dormant() {
	ip netns exec "$C" nft -f - <<-EOF || fail "the client's dormant table"
	table inet dormant {
		chain input {
			type filter hook input priority filter; policy accept;
			meta l4proto tcp drop
		}
	}
	EOF
}

idle_awake() { ip netns exec "$C" nft delete table inet dormant; }

# idle_socks_all COND CLIENT...: server_socks_all's test over the server's
# sockets of the connections of hold clients CLIENT... (picked by the
# client's port, which neither NAT here changes, and the server's); one
# established socket for each connection the clients opened
idle_socks_all() {
	local cond=$1
	shift
	local f n c
	f=$(idle_socks_filter "$@")
	n=0
	for c in "$@"; do
		n=$((n + $(awk '$1 == "OK" { n++ } END { print n + 0 }' "$TMPD/$c")))
	done
	[ -n "$f" ] && socks_all "$cond" "$f" "$n"
}

# idle_socks_filter CLIENT...: an ss filter for the server's sockets of
# the connections of hold clients CLIENT...
idle_socks_filter() {
	local f="" c p
	for c in "$@"; do
		# (DNAT: the client addressed 10000 + the server's port)
		for p in $(awk '$1 == "OK" { print ($2 >= 10000 ? $2 - 10000 : $2) ":" $3 }' "$TMPD/$c"); do
			f="$f${f:+ or }( sport = :${p%:*} and dport = :${p#*:} )"
		done
	done
	echo "$f"
}

# idle_socks_desc CLIENT...: the server's sockets of those connections
idle_socks_desc() {
	local d
	d=$(ip netns exec "$S" ss -tinOH "( $(idle_socks_filter "$@") )" |
		grep -o '^[A-Z-]*\|unacked:[0-9]*' | tr '\n' ' ')
	echo "${d:-no socket left}"
}

# idle_drops: packets the gateway's forward chain dropped
idle_drops() {
	ip netns exec "$G" nft list counter inet filter fwd_drop |
		awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# The floor lived at the end of a test that reads it from conntrack's table
# (floor_idle.sh and its kind): their hold clients take IDLE_PING, so that
# a dead connection's round trip gives up after 10 s (scaled).
# what forgets an idle flow there, for the messages; how long conntrack
# may take to forget the control (seconds, scaled)
IDLE_OWN="conntrack's own timeout $IDLE_EST s"
IDLE_FORGET_CAP=$((60 + IDLE_FOR))
IDLE_PING=(--ping-timeout $((10 * ${LEMONADE_TIMEOUT_SCALE:-1})))

# idle_live LISTED HOLD...: on the topo_up gateway, turned strict here
# (idle_strict) with conntrack's own established timeout IDLE_EST, every
# connection of the hold clients HOLD makes a round trip, idles until
# conntrack forgot the connections to ports outside LISTED (the control:
# there must be one) and IDLE_FOR seconds passed, and makes another: each
# connection to a port in LISTED (comma-separated) must answer, and each
# control must not. The established timeout is VENDOR_EST again after.
idle_live() {
	local listed=",$1," h port t0 i live dead ctl="" n_live=0 n_ctl=0
	local -a ports res
	shift
	for h in "$@"; do
		for port in $(awk '$1 == "OK" { print $2 }' "$TMPD/$h"); do
			case $listed in
			*,"$port",*) n_live=$((n_live + 1)) ;;
			*) n_ctl=$((n_ctl + 1)); ctl="$ctl $port" ;;
			esac
		done
	done
	if [ "$n_live" -eq 0 ] || [ "$n_ctl" -eq 0 ]; then
		fail "idle_live: $n_live connections to ${listed:1:-1} and $n_ctl controls in $* (want some of each)"
		return 1
	fi
	idle_strict
	idle_est $IDLE_EST
	for h in "$@"; do
		ping_flows "$h" || fail "lived: $h: a round trip before the idle: $(tr '\n' ' ' 2>/dev/null < "$TMPD/$h.ping")"
	done
	t0=$(date +%s)
	idle_wait "$t0" "lived" "$IDLE_FORGET_CAP" $ctl
	for h in "$@"; do
		idle_ping "$h" >/dev/null
		mapfile -t ports < <(awk '$1 == "OK" { print $2 }' "$TMPD/$h")
		res=()
		[ -e "$TMPD/$h.ping" ] && mapfile -t res < "$TMPD/$h.ping"
		live="" dead=""
		for i in "${!ports[@]}"; do
			case $listed in
			*,"${ports[$i]}",*) live="$live ${ports[$i]}:${res[$i]:-no answer}" ;;
			*) dead="$dead ${ports[$i]}:${res[$i]:-no answer}" ;;
			esac
		done
		case $live in
		"") ;;
		*:[!P]* | *:P[!O]*) fail "lived: $h: after $(($(date +%s) - t0)) s idle ($IDLE_OWN) the connections to listed ports answer:$live (want PONG each)" ;;
		*) pass "lived: $h: the connections to listed ports carry a round trip after $(($(date +%s) - t0)) s idle ($IDLE_OWN):$live" ;;
		esac
		case "$dead" in
		*:PONG*) fail "lived: $h: a control connection still answers after its entry expired:$dead: the gateway did not forget it, the test proves nothing" ;;
		"") ;;
		*) pass "lived: $h: control connections idle as long are dead:$dead" ;;
		esac
	done
	idle_est $VENDOR_EST
	TRAFFIC_OPEN=0
}

# idle_forgotten PORT...: the gateway's conntrack lists no TCP flow (IPv4
# or IPv6) to any PORT
idle_forgotten() {
	local p f
	for p in "$@"; do
		for f in ipv4 ipv6; do
			! ip netns exec "$G" conntrack -L -f $f -p tcp --dport "$p" 2>/dev/null | grep -q . ||
				return 1
		done
	done
}
