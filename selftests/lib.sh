#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for the nf_lemonade selftests (kselftest conventions:
# exit 0 pass, 1 fail, 4 skip; PASS:/FAIL: lines on stdout).
#
# Topology built by topo_up (documentation ranges only):
#
#   client ($C)              gateway ($G)                 server ($S)
#   c0 192.0.2.2/24  ---  gc 192.0.2.1   gs 198.51.100.1  ---  s0 198.51.100.2/24
#      2001:db8:1::2/64      2001:db8:1::1  2001:db8:2::1        2001:db8:2::2/64
#
# The gateway forwards, runs conntrack through an nft forward chain and has
# nf_conntrack_tcp_timeout_established=600 (a common vendor setting).
#
# LEMONADE_STOCK=1 runs every test without the module: each one must fail.

set -u
ksft_pass=0
ksft_fail=1
ksft_skip=4
ret=0

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
PEER="$HERE/peer.py"
FLOOR=7440
VENDOR_EST=600
STOCK=${LEMONADE_STOCK:-0}
TMPD=$(mktemp -d /tmp/lemonade-test.XXXXXX)
NS_LIST=()
BG_PIDS=()
export PATH="$REPO/tool:/usr/sbin:/sbin:/usr/bin:/bin:$PATH"

C4=192.0.2.2 G4C=192.0.2.1 G4S=198.51.100.1 S4=198.51.100.2
C6=2001:db8:1::2 G6C=2001:db8:1::1 G6S=2001:db8:2::1 S6=2001:db8:2::2

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; ret=1; }
info() { echo "# $*"; }

checktool() {
	if ! eval "$1" >/dev/null 2>&1; then
		echo "SKIP: could not $2"
		exit $ksft_skip
	fi
}

# setup_ns VAR...: create namespaces with unique names, lo up
setup_ns() {
	local v name
	for v in "$@"; do
		name="$v-$(mktemp -u XXXXXX)"
		# the suite's own setup: a failure, never a skip
		ip netns add "$name" || { echo "FAIL: ip netns add $name"; exit $ksft_fail; }
		ip -n "$name" link set lo up
		NS_LIST+=("$name")
		printf -v "$v" '%s' "$name"
	done
}

cleanup() {
	local p n
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for n in "${NS_LIST[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	lemonade_unload
	# the sysctl is global, not per namespace
	if [ "${OLD_CT_MAX:-0}" -gt 0 ]; then
		sysctl -qw net.netfilter.nf_conntrack_max="$OLD_CT_MAX"
	fi
	rm -rf "$TMPD"
}
trap cleanup EXIT

# stress_only: a stress test runs only with LEMONADE_STRESS=1 (make
# check-stress, make check-debug), and never on stock Linux
stress_only() {
	if [ "${LEMONADE_STRESS:-0}" != 1 ]; then
		echo "SKIP: stress test (LEMONADE_STRESS=1: make check-debug, make check-stress)"
		exit $ksft_skip
	fi
	[ "$STOCK" = 1 ] && { echo "SKIP: the module's own test"; exit $ksft_skip; }
}

# keep_conntrack_max: the test changes net.netfilter.nf_conntrack_max;
# cleanup puts back the value it has now (in $OLD_CT_MAX)
keep_conntrack_max() {
	OLD_CT_MAX=$(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null || echo 0)
}

lemonade_load() {
	[ "$STOCK" = 1 ] && { info "stock Linux: module not loaded"; return 0; }
	modprobe nf_lemonade "$@" || { echo "FAIL: modprobe nf_lemonade $*"; exit $ksft_fail; }
}

lemonade_unload() {
	if grep -q '^nf_lemonade ' /proc/modules; then
		rmmod nf_lemonade
	fi
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds, for at
# most SECONDS of wall-clock time (however long CMD itself takes) and at
# most SECONDS * 10 tries; both caps LEMONADE_TIMEOUT_SCALE times longer
# (the debug kernel: a Python peer can take more than 20 s to listen there)
wait_for() {
	local k=${LEMONADE_TIMEOUT_SCALE:-1}
	local n=$(($1 * 10 * k)) end=$((SECONDS + $1 * k + 1)); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

topo_up() {
	setup_ns C G S
	ip link add c0 netns "$C" type veth peer name gc netns "$G"
	ip link add s0 netns "$S" type veth peer name gs netns "$G"
	ip -n "$C" addr add $C4/24 dev c0
	ip -n "$C" addr add $C6/64 dev c0 nodad
	ip -n "$G" addr add $G4C/24 dev gc
	ip -n "$G" addr add $G6C/64 dev gc nodad
	ip -n "$G" addr add $G4S/24 dev gs
	ip -n "$G" addr add $G6S/64 dev gs nodad
	ip -n "$S" addr add $S4/24 dev s0
	ip -n "$S" addr add $S6/64 dev s0 nodad
	for l in "$C c0" "$G gc" "$G gs" "$S s0"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n "$C" route add default via $G4C
	ip -n "$C" -6 route add default via $G6C
	ip -n "$S" route add default via $G4S
	ip -n "$S" -6 route add default via $G6S
	ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$G" sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec "$G" nft -f - <<-EOF
	table inet filter {
		counter fwd_est { }
		chain forward {
			type filter hook forward priority filter; policy accept;
			ct state established,related counter name fwd_est accept
			ct state new accept
		}
	}
	EOF
	ip netns exec "$G" sysctl -qw \
		net.netfilter.nf_conntrack_tcp_timeout_established=$VENDOR_EST
}

# nat_up MODE PORT...: NAT in the gateway. none; snat: the client is
# masqueraded behind the gateway's server-side addresses; dnat: the client
# addresses the gateway's client-side addresses ($G4C, $G6C) on port
# 10000 + P, forwarded to the server's P, for each PORT
nat_up() {
	local mode=$1 p rules=""
	shift
	case $mode in
	none) ;;
	snat)
		ip netns exec "$G" nft -f - <<-EOF || { echo "FAIL: masquerade"; exit $ksft_fail; }
		table inet nat {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "gs" masquerade
			}
		}
		EOF
		;;
	dnat)
		for p in "$@"; do
			rules="$rules
			iifname \"gc\" meta nfproto ipv4 tcp dport $((10000 + p)) dnat ip to $S4:$p
			iifname \"gc\" meta nfproto ipv6 tcp dport $((10000 + p)) dnat ip6 to [$S6]:$p"
		done
		ip netns exec "$G" nft -f - <<-EOF || { echo "FAIL: dnat"; exit $ksft_fail; }
		table inet nat {
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				$rules
			}
		}
		EOF
		;;
	*) echo "FAIL: nat_up: unknown mode '$mode'"; exit $ksft_fail ;;
	esac
}

# nat_addr MODE FAMILY (4 or 6): the address a client connects to
nat_addr() {
	case $1$2 in
	dnat4) echo $G4C ;;
	dnat6) echo $G6C ;;
	*4) echo $S4 ;;
	*) echo $S6 ;;
	esac
}

# nat_port MODE P: the port a client connects to for the server's P
nat_port() {
	if [ "$1" = dnat ]; then
		echo $((10000 + $2))
	else
		echo "$2"
	fi
}

# serve_start PORT...: real TCP servers in $S (for SERVE_LIFETIME, 1500,
# seconds at most)
serve_start() {
	ip netns exec "$S" $PY "$PEER" serve "$@" --lifetime "${SERVE_LIFETIME:-1500}" &
	BG_PIDS+=($!)
	local p
	for p in "$@"; do
		wait_for 20 sh -c "ip netns exec $S ss -Htln 'sport = :$p' | grep -q ." ||
			{ echo "FAIL: server on port $p did not start"; exit $ksft_fail; }
	done
}

# hold NS NAME ADDR PORTS COUNT [peer.py options]: idle connections from NS
hold() {
	local ns=$1 name=$2 addr=$3 ports=$4 count=$5
	shift 5
	traffic_start
	ip netns exec "$ns" $PY "$PEER" hold --addr "$addr" --ports "$ports" \
		--count "$count" --out "$TMPD/$name" "$@" &
	BG_PIDS+=($!)
	eval "PID_$name=$!"
	wait_for 600 test -s "$TMPD/$name.ready" ||
		{ echo "FAIL: client $name never became ready"; exit $ksft_fail; }
}

# ping_flows NAME: one round trip on every connection of a hold client
ping_flows() {
	local pid
	eval "pid=\$PID_$1"
	rm -f "$TMPD/$1.ping"
	traffic_start
	kill -USR1 "$pid"
	wait_for 100 test -s "$TMPD/$1.ping" || { fail "$1: ping timed out"; return 1; }
	! grep -qv PONG "$TMPD/$1.ping"
}

# ct_timeouts NS FAMILY DPORT: remaining seconds of each matching entry
ct_timeouts() {
	ip netns exec "$1" conntrack -L -f "$2" -p tcp --dport "$3" ${4:+-s "$4"} 2>/dev/null |
		awk '{ print $3 }'
}

# expect_timeouts NS FAMILY DPORT MIN MAX WHAT [SRC]: every entry (from SRC
# only, if given) within [MIN, MAX]. What conntrack's table says, not what a
# client sees: its failures are marked "[conntrack]" (guest.sh's stock list
# looks past them for a client-visible one).
# MIN = $FLOOR means "the floor, counted from the flow's last packet": the
# idle budget a packet leaves must be at least the floor, so what remains
# now is at least the floor less the seconds since TRAFFIC_T0, taken before
# the last traffic started (a slow, loaded guest can take seconds between
# that packet and conntrack -L).
TRAFFIC_T0=$(date +%s)
TRAFFIC_OPEN=0

# traffic_start: a hold client or a round trip starts traffic that pins
# flows; TRAFFIC_T0 is the start of the first of them since the last
# expect_timeouts (so that flows pinned by an earlier hold or ping of the
# same batch are not held to a later start). A test sets TRAFFIC_OPEN=0
# to start a batch of its own.
traffic_start() {
	[ "$TRAFFIC_OPEN" = 1 ] && return
	TRAFFIC_T0=$(date +%s)
	TRAFFIC_OPEN=1
}

expect_timeouts() {
	local ns=$1 fam=$2 port=$3 min=$4 max=$5 what=$6 src=${7:-} t n=0 bad=0 ts
	ts=$(ct_timeouts "$ns" "$fam" "$port" "$src")
	# (after the read: conntrack -L itself takes seconds on a slow guest)
	if [ "$min" -eq "$FLOOR" ]; then
		min=$((FLOOR - ($(date +%s) - TRAFFIC_T0)))
	fi
	TRAFFIC_OPEN=0
	for t in $ts; do
		n=$((n + 1))
		# (an offloaded entry has no timeout column: not a figure)
		case $t in
		'' | *[!0-9]*) bad=1; continue ;;
		esac
		if [ "$t" -lt "$min" ] || [ "$t" -gt "$max" ]; then
			bad=1
		fi
	done
	if [ "$n" -eq 0 ]; then
		fail "[conntrack] $what: no conntrack entry for $fam tcp/$port"
	elif [ "$bad" -eq 0 ]; then
		pass "$what: $fam tcp/$port${src:+ from $src} remaining $(echo $ts)s (want $min..$max)"
	else
		fail "[conntrack] $what: $fam tcp/$port${src:+ from $src} remaining $(echo $ts)s (want $min..$max)"
	fi
}

# counter NS NAME: one counter of the module in NS
counter() {
	ip netns exec "$1" lemonctl -j stats | $PY -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

# ctl NAME CMD: a command to a hold client's control FIFO (err, send,
# drain, ping, drip); err, send and drain leave their result in
# $TMPD/NAME.CMD
ctl() {
	rm -f "$TMPD/$1.$2"
	echo "$2" > "$TMPD/$1.ctl"
	case $2 in
	err|send) wait_for 20 test -e "$TMPD/$1.$2" || fail "$1: no answer to $2" ;;
	drain) wait_for 300 test -e "$TMPD/$1.$2" || fail "$1: no answer to $2" ;;
	esac
}

# errors_of NAME: the pending socket errors of a hold client, one line each
errors_of() {
	ctl "$1" err
	tr '\n' ' ' < "$TMPD/$1.err"
}

# link_up NS DEV ADDR6 GW4 GW6 WHO: bring a link back after a *_down step,
# with its IPv6 address and both default routes
link_up() {
	ip -n "$1" link set "$2" up
	# IPv6 addresses do not survive a link down (keep_addr_on_down=0)
	ip -n "$1" addr replace "$3"/64 dev "$2" nodad
	wait_for 10 ip -n "$1" route replace default via "$4" ||
		fail "$6 IPv4 default route"
	wait_for 10 ip -n "$1" -6 route replace default via "$5" ||
		fail "$6 IPv6 default route"
}

# server_link_up: bring the server's link back after a *_down test
server_link_up() {
	link_up "$S" s0 $S6 $G4S $G6S server
}

# client_link_up: the same for the client's link
client_link_up() {
	link_up "$C" c0 $C6 $G4C $G6C client
}

# icmp_unreach_sent NS: ICMPv4 destination-unreachable errors NS has sent
# (counted when sent, whether or not a netfilter hook drops them later)
icmp_unreach_sent() {
	ip netns exec "$1" awk '/^Icmp:/ {
		if (!n) { n = NF; for (i = 1; i <= NF; i++) k[i] = $i; next }
		for (i = 1; i <= n; i++) if (k[i] == "OutDestUnreachs") print $i
	}' /proc/net/snmp
}

# server_socks_all AWK-COND [PORTS]: every established server socket in $S
# on PORTS (143,587,674) satisfies AWK-COND, an awk expression over the
# socket's `ss -i` values in v[] (v["bytes_acked"], v["unacked"],
# v["retrans_total"], v["backoff"]; absent ones are 0); there are some
server_socks_all() {
	local cond=$1 ports=${2:-143,587,674} f="" p
	for p in ${ports//,/ }; do
		f="$f${f:+ or }sport = :$p"
	done
	socks_all "$cond" "$f"
}

# socks_all AWK-COND SS-FILTER [N]: server_socks_all over the established
# sockets in $S that SS-FILTER (an ss filter expression) selects (exactly
# N of them, if given)
socks_all() {
	ip netns exec "$S" ss -tinOH state established "( $2 )" | awk '
	{
		delete v
		for (i = 1; i <= NF; i++) if (split($i, kv, ":") == 2 && kv[2] ~ /^[0-9]/) {
			v[kv[1]] = kv[2] + 0
			if (kv[1] == "retrans") { split(kv[2], r, "/"); v["retrans_total"] = r[2] + 0 }
		}
		n++
		if (!('"$1"')) bad++
	}
	END { exit !(n > 0 && !bad && ('"${3:-0}"' == 0 || n == '"${3:-0}"')) }'
}

# icmp6_unreach_sent NS: the same for ICMPv6
icmp6_unreach_sent() {
	ip netns exec "$1" awk '$1 == "Icmp6OutDestUnreachs" { print $2 }' /proc/net/snmp6
}

# gw_errors_settled SENT4 SENT6 SHIELD IN: the gateway has sent
# destination-unreachable errors of its own, three or more in each family
# (one per held connection), since it had
# sent SENT4 and SENT6, and each of them was absorbed by its shield (above
# SHIELD, the absorbed count of icmp_counters) or received by the client
# (icmp_in above IN). On stock Linux (no shield, no counters: SHIELD is
# not read) only the client's count is there.
gw_errors_settled() {
	local s4 s6 a=0
	s4=$(($(icmp_unreach_sent "$G") - $1))
	s6=$(($(icmp6_unreach_sent "$G") - $2))
	if [ "$STOCK" != 1 ]; then
		read -r a _ <<< "$(icmp_counters "$G")"
		a=$((a - $3))
	fi
	[ "$s4" -ge 3 ] && [ "$s6" -ge 3 ] &&
		[ $((a + $(icmp_in "$C") - $4)) -ge $((s4 + s6)) ]
}

# icmp_in NS: ICMP and ICMPv6 errors (destination unreachable, packet
# too big, time exceeded, parameter problem) NS has received
icmp_in() {
	ip netns exec "$1" awk '
		FILENAME ~ /snmp6$/ {
			if ($1 ~ /^Icmp6In(DestUnreachs|PktTooBigs|TimeExcds|ParmProblems)$/) s += $2
			next
		}
		/^Icmp:/ { if (!n) { n = NF; for (i = 1; i <= NF; i++) k[i] = $i; next }
			   for (i = 1; i <= n; i++)
				if (k[i] ~ /^In(DestUnreachs|TimeExcds|ParmProbs)$/) s += $i }
		END { print s + 0 }' /proc/net/snmp /proc/net/snmp6
}

# icmp_settled COUNTERS IN: an ICMP error sent towards the client has
# been dealt with: the gateway's shield counted it (its counters are no
# longer COUNTERS, as icmp_counters printed them) or the client received
# it (icmp_in of the client is above IN). On stock Linux (no shield, no
# counters: COUNTERS is not read) only the client's count is there.
icmp_settled() {
	{ [ "$STOCK" != 1 ] && [ "$(icmp_counters "$G")" != "$1" ]; } ||
		[ "$(icmp_in "$C")" -gt "$2" ]
}

# gateway_only: the module acts in the gateway alone (client and server
# namespaces keep it loaded but disabled)
gateway_only() {
	[ "$STOCK" = 1 ] && return 0
	ip netns exec "$C" lemonctl set enable off >/dev/null &&
		ip netns exec "$S" lemonctl set enable off >/dev/null ||
		{ echo "FAIL: lemonctl set enable off"; exit $ksft_fail; }
}

# icmp_counters NS: "absorbed passed invalid" of the module in NS. Only
# with the module (on stock Linux there is none to ask: see on_module)
icmp_counters() {
	ip netns exec "$1" lemonctl -j stats | $PY -c '
import json, sys
s = json.load(sys.stdin)
print(s.get("icmp_absorbed", -1), s.get("icmp_passed", -1), s.get("icmp_invalid", -1))'
}

# shield_unmoved A0 P0 I0: with the module, none of the gateway's shield
# counters (absorbed passed invalid, as icmp_counters printed them before)
# moved since (the arguments are empty on stock Linux: nothing is read)
shield_unmoved() {
	local a1 p1 i1
	on_module "no shield counter moved (icmp_absorbed, icmp_passed, icmp_invalid)" || return 0
	read -r a1 p1 i1 <<< "$(icmp_counters "$G")"
	if [ "$a1" -eq "$1" ] && [ "$p1" -eq "$2" ] && [ "$i1" -eq "$3" ]; then
		pass "no shield counter moved"
	else
		fail "counters moved: absorbed +$((a1 - $1)), passed +$((p1 - $2)), invalid +$((i1 - $3))"
	fi
}

# inject NAME FAMILY DPORT TYPE CODE [icmp_craft options]: a router beyond
# the gateway (in $S) answers the next segment the hold client NAME sends
# to DPORT with an ICMP error quoting it. The server drops that segment
# meanwhile, so the quoted data is still unacknowledged when the error
# arrives (the client's TCP validates the quoted sequence number).
inject() {
	local name=$1 fam=$2 dport=$3 type=$4 code=$5 v6="" src=198.51.100.254 pid
	shift 5
	if [ "$fam" = ipv6 ]; then
		v6=--v6
		src=2001:db8:2::fe
	fi
	ip netns exec "$S" nft -f - <<-EOT
	table inet holdack {
		chain in {
			type filter hook input priority -400; policy accept;
			tcp dport $dport drop
		}
	}
	EOT
	rm -f "$TMPD/craft.ready"
	ip netns exec "$S" $PY "$HERE/icmp_craft.py" --iface s0 --dport "$dport" \
		--src $src --type "$type" --code "$code" $v6 \
		--ready "$TMPD/craft.ready" "$@" > "$TMPD/craft.out" 2>&1 &
	pid=$!
	wait_for 20 test -e "$TMPD/craft.ready" || info "capture not ready"
	local before="" in0
	# the shield's counters only with the module (icmp_settled)
	[ "$STOCK" = 1 ] || before=$(icmp_counters "$G")
	in0=$(icmp_in "$C")
	ctl "$name" send
	wait "$pid"
	ip netns exec "$S" nft delete table inet holdack
	if grep -q SENT "$TMPD/craft.out"; then
		info "router $src: $(cat "$TMPD/craft.out") to $name ($fam tcp/$dport)"
	else
		fail "could not craft the ICMP error: $(cat "$TMPD/craft.out")"
	fi
	# the error has reached the client, or the shield has counted it
	wait_for 20 icmp_settled "$before" "$in0" ||
		info "the ICMP error was neither counted by the shield nor received by the client within 20 s"
}

# mail_up [mailpeer.py serve options]: scripted mail servers in $S (587
# smtp, 143 imap, 674 acap, 2587 smtp that masks STARTTLS itself); their
# process is $MAIL_PID
mail_up() {
	ip netns exec "$S" $PY "$HERE/mailpeer.py" serve --lifetime 1500 "$@" &
	MAIL_PID=$!
	BG_PIDS+=($!)
	local p
	for p in 587 143 674 2587; do
		wait_for 20 sh -c "ip netns exec $S ss -Htln 'sport = :$p' | grep -q ." ||
			{ echo "FAIL: mail server on port $p did not start"; exit $ksft_fail; }
	done
}

# masker_up [mask|remove]: an inspecting component inside the gateway
# (NFQUEUE program) rewriting STARTTLS in server replies
masker_up() {
	local mode=${1:-mask}
	[ -x "$HERE/progs/nfq_mask" ] || { echo "FAIL: selftests/progs/nfq_mask not built"; exit $ksft_fail; }
	ip netns exec "$G" nft -f - <<-EOT
	table inet inspect {
		chain mid {
			type filter hook forward priority filter + 10; policy accept;
			tcp sport { 143, 587, 674, 2587 } queue num 0
		}
	}
	EOT
	[ $? -eq 0 ] || { echo "FAIL: could not load the NFQUEUE rule"; exit $ksft_fail; }
	ip netns exec "$G" "$HERE/progs/nfq_mask" -q 0 -m "$mode" -t 600 \
		> "$TMPD/masker.log" 2>&1 &
	BG_PIDS+=($!)
	wait_for 10 grep -q "queue 0" "$TMPD/masker.log" ||
		{ echo "FAIL: masker did not start: $(cat "$TMPD/masker.log")"; exit $ksft_fail; }
}

# sees_starttls NAME: talk NAME's client read STARTTLS, never the mask,
# and its negotiation ended (DONE)
sees_starttls() {
	grep -q "^S: .*STARTTLS" "$TMPD/$1.talk" &&
		! grep -q XXXXXXXA "$TMPD/$1.talk" &&
		tail -n 1 "$TMPD/$1.talk" | grep -q DONE
}

# talk NAME ADDR PORT PROTO [--starttls]: a client negotiation; the
# transcript is in $TMPD/NAME.talk, its last line DONE/RESET/TIMEOUT/CLOSED
talk() {
	local name=$1 addr=$2 port=$3 proto=$4
	shift 4
	ip netns exec "$C" timeout 60 $PY "$HERE/mailpeer.py" talk --addr "$addr" \
		--port "$port" --proto "$proto" "$@" > "$TMPD/$name.talk" 2>&1
	info "$name: $(tr '\n' '|' < "$TMPD/$name.talk" | cut -c1-300)"
}

# events_start: a JSON event monitor ("lemonctl -j monitor") in the
# gateway writing $TMPD/events.json, and a mark in the kernel log for
# expect_log. Call it early: the monitor joins the group while the rest of
# the setup runs. On stock Linux the monitor fails (no module: its error is
# in events.err) and expect_event and expect_log fail as they should.
events_start() {
	LOG_MARK=$(dmesg | wc -l)
	ip netns exec "$G" lemonctl -j monitor > "$TMPD/events.json" \
		2> "$TMPD/events.err" &
	BG_PIDS+=($!)
}

# expect_event KIND KEYWORD PORT: within 5 s the monitor printed a KIND
# event naming KEYWORD, about a flow on listed port PORT
expect_event() {
	local sel="select(.event == \"$1\" and .keyword == \"$2\" and .flow.port == $3)"
	if wait_for 5 sh -c "jq -c '$sel' '$TMPD/events.json' 2>/dev/null | grep -q ."; then
		pass "lemonctl monitor: $(jq -c "$sel | {event, keyword, src: .flow.src, sport: .flow.sport, dst: .flow.dst, dport: .flow.dport, guard: .flow.guard}" "$TMPD/events.json" | head -n 1)"
	else
		fail "lemonctl monitor: no $1 event with keyword $2 on port $3: $(tr '\n' ' ' < "$TMPD/events.json" | cut -c1-600) $(cat "$TMPD/events.err")"
	fi
}

# expect_log REGEX: a kernel log line since events_start matches REGEX
expect_log() {
	local line
	line=$(dmesg | tail -n +$((LOG_MARK + 1)) | grep -E -m1 "$1")
	if [ -n "$line" ]; then
		pass "kernel log: ${line#*\] }"
	else
		fail "no kernel log line matching '$1': $(dmesg | tail -n +$((LOG_MARK + 1)) | grep nf_lemonade | tail -n 3)"
	fi
}

# guard_counter NS NAME: one guard counter of the module in NS. Only with
# the module (on stock Linux there is none to ask: see on_module)
guard_counter() {
	counter "$1" "$2"
}

# on_module WHAT: true when the module is there to ask; on stock Linux
# (LEMONADE_STOCK=1: no module, no counters) says that WHAT is not
# checked there and is false. The test's client-visible checks decide.
on_module() {
	[ "$STOCK" = 1 ] || return 0
	info "stock Linux: not checked (the module's counters): $1"
	return 1
}

checktool "conntrack --version" "run conntrack"
checktool "nft --version" "run nft"
checktool "$PY -c 'import socket'" "run python3"
