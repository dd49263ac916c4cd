#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Scale (stress: LEMONADE_STRESS=1): a conntrack table of 1,000,000
# entries of which 100,000 are listed flows (LEMONADE_SCALE_TOTAL,
# LEMONADE_SCALE_LISTED), made by selftests/progs/ctscale writing crafted
# handshakes (listed and unlisted TCP) and datagrams (the UDP rest) into
# the gateway's two veth ends. With ftrace's function_graph tracer on the
# floor's background work (lemonade_floor_work), the flow-linking step of
# the packet path (lemonade_flow_link, where a packet takes the lock of the
# list a pass walks: its _raw_spin_lock_bh call is the wait) and the
# configuration-time adoption walk
# (lemonade_flow_adopt, a walk of the whole conntrack table: what every
# pass cost before the per-netns lists), it measures:
#   memory  slab bytes per unlisted and per listed TCP flow (the
#           difference is what the module adds);
#   pass 1  pressure passes over a table above the high-water mark while
#           no listed flow is borrowing (a flood's case: a walk, nothing
#           released);
#   pass 2  the re-arm passes after port 674 becomes unlimited;
#   pass 3  a recycling pass that releases every borrowing listed flow
#           (conntrack's established timeout lowered to 1 s).
# A pass over the listed flows is spread over runs of the work (at most
# 1024 flows each, requeued at once, as conntrack's own garbage collector
# does): each run must take under LEMONADE_SCALE_PASS_MS (50) ms, and
# their sum is printed as the pass's cost; no packet may wait in
# lemonade_flow_link for the list's lock more than LEMONADE_SCALE_LOCK_US
# (1000) us while passes run (listed handshakes are made throughout); the
# whole of lemonade_flow_link is printed too (it also counts softirqs run
# when the lock is let go, and the guest's vCPU being preempted by the
# host).
# Under QEMU's software emulation the guest runs many times slower than
# the host; the whole-table walk is printed next to the passes as the
# yardstick.
# timeout: 3000
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
TOTAL=${LEMONADE_SCALE_TOTAL:-1000000}
LISTED=${LEMONADE_SCALE_LISTED:-100000}
PASS_MS=${LEMONADE_SCALE_PASS_MS:-50}
LOCK_US=${LEMONADE_SCALE_LOCK_US:-1000}
CTSCALE=$REPO/selftests/progs/ctscale
[ -x "$CTSCALE" ] || { echo "FAIL: $CTSCALE not built (make -C selftests/progs)"; exit $ksft_fail; }
[ "$TOTAL" -ge $((2 * LISTED + 1000)) ] || { echo "FAIL: LEMONADE_SCALE_TOTAL must exceed twice LEMONADE_SCALE_LISTED"; exit $ksft_fail; }
MAX=$((TOTAL * 11 / 10))
T=/sys/kernel/tracing

keep_conntrack_max
OLD_BUCKETS=$(sysctl -n net.netfilter.nf_conntrack_buckets)
topo_up
OLD_TRACE_KB=$(cat $T/buffer_size_kb 2>/dev/null || echo 1408)
# the larger hash stays: resizing it back with a million entries dying
# would rehash them with every conntrack lock held
trap 'echo 0 > $T/tracing_on; echo nop > $T/current_tracer; echo > $T/set_ftrace_filter; echo > $T/set_graph_function; echo > $T/set_graph_notrace; echo 0 > $T/options/funcgraph-tail; echo $OLD_TRACE_KB > $T/buffer_size_kb; cleanup' EXIT
[ "$OLD_BUCKETS" -ge 262144 ] || sysctl -qw net.netfilter.nf_conntrack_buckets=262144
sysctl -qw net.netfilter.nf_conntrack_max=$MAX
ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=7200
lemonade_load scan_interval=10
ip netns exec "$G" lemonctl set guard off pressure high 90 low 80 ||
	fail "lemonctl set guard off pressure high 90 low 80"

# Nothing in the client or server namespace answers (no socket, no RST,
# no ARP): the gateway knows their MACs.
for l in "$C c0" "$S s0"; do
	set -- $l
	ip netns exec "$1" nft -f - <<-EOF
	table netdev mute {
		chain in { type filter hook ingress device $2 priority 0; policy drop; }
	}
	EOF
done
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
CMAC=$(mac "$C" c0) SMAC=$(mac "$S" s0) GCMAC=$(mac "$G" gc) GSMAC=$(mac "$G" gs)
ip -n "$G" neigh replace $C4 lladdr "$CMAC" dev gc nud permanent
for i in $(seq 10 49); do
	ip -n "$G" neigh replace 198.51.100.$i lladdr "$SMAC" dev gs nud permanent
done

# gen MODE DST0 NDST DPORT SPORT0 COUNT: crafted flows through the gateway
gen() {
	taskset -c 0 "$CTSCALE" "$C" c0 "$GCMAC" "$S" s0 "$GSMAC" "$1" $C4 "$2" "$3" "$4" "$5" "$6"
}
slab_bytes() {
	awk 'NR > 2 { s += $2 * $4 } END { printf "%d\n", s }' /proc/slabinfo
}
ctcount() { ip netns exec "$G" conntrack -C; }
# counter_ge NAME VALUE: the gateway's counter NAME has reached VALUE
counter_ge() { [ "$(counter "$G" "$1")" -ge "$2" ]; }

# ---- the table
# Nothing in it may expire while the test runs (on a debug kernel it runs
# for many minutes): the unlisted TCP flows, which would expire after
# conntrack's $VENDOR_EST s, only serve the memory comparison and are
# deleted again; the UDP entries last 7200 s; the listed flows, made last,
# are pinned, and none of them borrows before $VENDOR_EST s of idling.
ndst=$(((LISTED + 63999) / 64000))
s0=$(slab_bytes) n0=$(ctcount)
info "unlisted TCP handshakes: $(gen tcp 198.51.100.10 "$ndst" 8674 1536 "$LISTED") (flows, seconds)"
s1=$(slab_bytes) n1=$(ctcount)
ip netns exec "$G" conntrack -D -p tcp --dport 8674 >/dev/null 2>&1
rest=$((TOTAL - LISTED - $(ctcount)))
info "unlisted UDP datagrams:  $(gen udp 198.51.100.30 $(((rest + 63999) / 64000)) 8143 1536 "$rest")"
m0=$(counter "$G" marked)
s2=$(slab_bytes) n2=$(ctcount)
info "listed TCP handshakes:   $(gen tcp 198.51.100.20 "$ndst" 674 1536 "$LISTED")"
s3=$(slab_bytes) n3=$(ctcount)
marked=$(($(counter "$G" marked) - m0))
info "table: $n3 entries of $MAX (max), $marked listed flows marked"
if [ $((n1 - n0)) -ge $((LISTED * 99 / 100)) ] && [ $((n3 - n2)) -ge $((LISTED * 99 / 100)) ] &&
	[ "$marked" -ge $((LISTED * 99 / 100)) ] && [ "$n3" -ge $((TOTAL * 99 / 100)) ] &&
	[ "$n3" -gt $((MAX * 90 / 100)) ]; then
	pass "table built: $n3 entries, $((n3 - n2)) listed TCP flows ($((n1 - n0)) unlisted TCP flows for the memory comparison, deleted)"
else
	fail "table: $n0 -> $n1 (unlisted TCP, deleted again) -> $n2 (UDP) -> $n3 (listed TCP, $marked marked) (want $TOTAL, above 90% of $MAX)"
	exit $ret
fi
# the floor pinned every listed flow on its last packet (remaining time
# above conntrack's established timeout of $VENDOR_EST s)
unpinned=$(ip netns exec "$G" conntrack -L -p tcp --dport 674 2>/dev/null | awk -v e=$VENDOR_EST '$3 <= e' | wc -l)
[ "$unpinned" -eq 0 ] && pass "every listed flow is pinned above conntrack's own $VENDOR_EST s" ||
	fail "$unpinned listed flows were left at conntrack's own timeout (<= $VENDOR_EST s)"
unl=$(((s1 - s0) / (n1 - n0))) lst=$(((s3 - s2) / (n3 - n2)))
info "memory: $unl slab bytes per unlisted TCP flow, $lst per listed flow: the module adds $((lst - unl)) bytes per listed flow"
# the helper extension (56 bytes) moves the extension block up a kmalloc
# bucket or two: more than nothing, less than a kilobyte
[ $((lst - unl)) -gt 0 ] && [ $((lst - unl)) -lt 1024 ] &&
	pass "memory per listed flow: $((lst - unl)) bytes added ($lst vs $unl)" ||
	fail "memory per listed flow: $((lst - unl)) bytes added ($lst vs $unl), want 1..1023"

# ---- tracing
[ -d $T/instances ] || mount -t tracefs nodev $T 2>/dev/null
[ -w $T/set_ftrace_filter ] || { fail "no tracefs at $T"; exit $ret; }
echo 0 > $T/tracing_on
echo nop > $T/current_tracer
# trace_funcs lock|plain: what the tracer sees. lock: the three
# functions and the lock calls in their graphs (the walker's own steps
# left out), for the phases where packets link flows; plain: the three
# alone, so that a pass's runs are not lengthened by tracing its locks
trace_funcs() {
	echo 0 > $T/tracing_on
	if [ "$1" = lock ]; then
		echo 'lemonade_floor_work lemonade_flow_link lemonade_flow_adopt _raw_spin_lock_bh' > $T/set_ftrace_filter &&
			echo 'lemonade_floor_work lemonade_flow_link lemonade_flow_adopt' > $T/set_graph_function &&
			echo lemonade_flows_step > $T/set_graph_notrace
	else
		echo 'lemonade_floor_work lemonade_flow_link lemonade_flow_adopt' > $T/set_ftrace_filter &&
			echo > $T/set_graph_function && echo > $T/set_graph_notrace
	fi
}
trace_funcs lock && trace_funcs plain ||
	{ fail "the module's functions or the lock calls cannot be traced"; exit $ret; }
echo function_graph > $T/current_tracer
# a pass interrupted by a traced call is no leaf: its duration is on its
# closing line, which carries the name only with funcgraph-tail
echo 1 > $T/options/funcgraph-tail
echo 32768 > $T/buffer_size_kb

trace_start() { echo > $T/trace; echo 1 > $T/tracing_on; }
trace_stop() {
	echo 0 > $T/tracing_on
	cat $T/trace > "$TMPD/trace.$1"
	# kept for a look afterwards (the VM's output directory)
	[ -n "${LEMONADE_OUT:-}" ] && [ -d "$LEMONADE_OUT" ] &&
		gzip -c "$TMPD/trace.$1" > "$LEMONADE_OUT/stress_scale.trace.$1.gz"
}
# durs PHASE FUNC: the durations (us) of FUNC's calls in the phase's trace
durs() {
	grep -F "$2" "$TMPD/trace.$1" | sed -n 's/.* \([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\) us .*/\1/p'
}
# calls PHASE FUNC: "N MAX SUM": calls, the longest and all (us)
calls() {
	durs "$1" "$2" | awk 'BEGIN { m = 0; t = 0 } { n++; t += $1; if ($1 + 0 > m) m = $1 + 0 } END { printf "%d %.1f %.0f\n", n, m, t }'
}
# lockwait PHASE: "N MAX": the _raw_spin_lock_bh calls made directly in
# lemonade_flow_link (by CPU, between its opening and closing lines) and
# the longest (us)
lockwait() {
	awk '
	match($0, /^ *[0-9]+\)/) {
		cpu = substr($0, RSTART, RLENGTH) + 0
		if ($0 ~ /lemonade_flow_link.*\{ *$/) { open[cpu] = 1; next }
		if ($0 ~ /\} \/\* lemonade_flow_link/) { open[cpu] = 0; next }
		if (open[cpu] && $0 ~ /_raw_spin_lock_bh\(\);/ &&
		    match($0, /[0-9]+(\.[0-9]+)? us/)) {
			v = substr($0, RSTART, RLENGTH - 3) + 0
			n++
			if (v > m) m = v
		}
	}
	END { printf "%d %.1f\n", n, m }' "$TMPD/trace.$1"
}
# churn SECONDS SPORT0: new listed handshakes (50 every 0.2 s) while
# passes run, so that the packet path meets the shards' locks
churn() {
	local end=$(($(date +%s) + $1)) sp=$2 k=0
	while [ "$(date +%s)" -lt $end ] && [ $k -lt 1000 ]; do
		gen tcp 198.51.100.45 1 674 $sp 50 >/dev/null
		sp=$((sp + 50)) k=$((k + 1))
		[ $sp -gt 65000 ] && sp=1536
		sleep 0.2
	done
}
# within VALUE LIMIT MESSAGE: pass if VALUE <= LIMIT (decimals), else fail
within() {
	if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; then
		pass "$3"
	else
		fail "$3"
	fi
}
# judge PHASE WHAT: pass durations and the lock wait of the phase
judge() {
	local n m t ln lm wn wm
	read -r n m t < <(calls "$1" lemonade_floor_work)
	read -r ln lm _ < <(calls "$1" lemonade_flow_link)
	read -r wn wm < <(lockwait "$1")
	info "$2: $n runs of the floor's work, longest $m us, $((t / 1000)) ms in all; $ln flows linked meanwhile, lemonade_flow_link longest $lm us, its lock taken $wn times, longest wait $wm us"
	if [ "$n" -eq 0 ]; then
		fail "$2: no pass traced"
	else
		within "$m" "$(awk -v l="$PASS_MS" 'BEGIN { print l * 1000 }')" "$2: longest run of a pass $m us (limit $PASS_MS ms)"
	fi
	if [ "$ln" -eq 0 ]; then
		info "$2: no flow linked while passes ran"
	else
		within "$wm" "$LOCK_US" "$2: longest wait for the list's lock in flow_link $wm us over $wn waits (limit $LOCK_US us)"
	fi
}

# ---- pass 1: pressure, nothing borrowing
trace_funcs lock
p0=$(counter "$G" pressure_events) r0=$(counter "$G" recycled)
trace_start
churn 90 2000 &
cpid=$!
BG_PIDS+=($cpid)
wait_for 120 counter_ge pressure_events $((p0 + 3)) ||
	fail "pass 1: fewer than 3 pressure passes in 120 s"
kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
trace_stop 1
p1=$(counter "$G" pressure_events) r1=$(counter "$G" recycled)
info "pass 1: $((p1 - p0)) pressure passes at $(ctcount) of $MAX entries, $((r1 - r0)) flows recycled"
[ $((r1 - r0)) -eq 0 ] && pass "pass 1: no listed flow recycled (none borrowing)" ||
	fail "pass 1: $((r1 - r0)) flows recycled while none was borrowing"
judge 1 "pass 1 (pressure, none borrowing)"

# ---- pass 2: unlimited re-arm (pressure off: high-water mark 99%)
ip netns exec "$G" lemonctl set pressure high 99 low 98 || fail "set pressure high 99 low 98"
# the yardstick: listing a new port walks the whole table once (adoption)
trace_funcs plain
trace_start
ip netns exec "$G" lemonctl port add 9999 || fail "port add 9999"
trace_stop 0
ip netns exec "$G" lemonctl port del 9999 || fail "port del 9999"
read -r an am _ < <(calls 0 lemonade_flow_adopt)
info "yardstick: a walk of the whole table ($(ctcount) entries; lemonade_flow_adopt): $an walks, longest $am us"
a0=$(counter "$G" rearmed)
trace_funcs lock
trace_start
churn 60 30000 &
cpid=$!
BG_PIDS+=($cpid)
t0=$(date +%s%N)
ip netns exec "$G" lemonctl port add 674 timeout unlimited || fail "port add 674 timeout unlimited"
info "port add 674 timeout unlimited: $((($(date +%s%N) - t0) / 1000000)) ms (lemonctl)"
wait_for 60 counter_ge rearmed $((a0 + LISTED * 99 / 100)) ||
	fail "pass 2: fewer than $((LISTED * 99 / 100)) flows re-armed in 60 s"
# one more re-arm pass, with nothing left to re-arm (scan_interval 10 s)
sleep_until=$(($(date +%s) + 12))
while [ "$(date +%s)" -lt $sleep_until ]; do sleep 1; done
kill $cpid 2>/dev/null; wait $cpid 2>/dev/null
trace_stop 2
info "pass 2: $(($(counter "$G" rearmed) - a0)) flows re-armed"
judge 2 "pass 2 (re-arm)"

# ---- pass 3: recycling every listed flow
ip netns exec "$G" lemonctl port add 674 || fail "port add 674"
ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=1
r0=$(counter "$G" recycled)
# what the pass should release: down to the low-water mark (80%), at
# most every listed flow (the churn's included)
linked=$(($(counter "$G" marked) - m0))
want=$(($(ctcount) - MAX * 80 / 100))
[ "$want" -gt "$linked" ] && want=$linked
# no flow is linked in this phase: the runs alone
trace_funcs plain
trace_start
ip netns exec "$G" lemonctl set pressure high 90 low 80 || fail "set pressure high 90 low 80"
wait_for 180 counter_ge recycled $((r0 + want * 99 / 100)) ||
	fail "pass 3: fewer than $((want * 99 / 100)) flows recycled in 180 s"
trace_stop 3
info "pass 3: $(($(counter "$G" recycled) - r0)) flows recycled, table at $(ctcount) of $MAX"
judge 3 "pass 3 (recycling)"
exit $ret
