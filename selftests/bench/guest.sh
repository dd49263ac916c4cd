#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, inside the QEMU guest (selftests/bench/run.sh boots it):
# client, gateway and server namespaces (selftests/lib.sh topo_up), the
# tcpbench peers in client and server, and the measured state switched in
# the gateway's kernel between the two halves of each pair.
#
#   module   throughput ratios, nf_lemonade loaded (default configuration:
#            143, 587, 674 listed, guard on) / not loaded (rmmod), same VM:
#            bulk TCP to an unlisted port (5201), bulk to 143 after an
#            IMAP STARTTLS negotiation, SMTP negotiations per second on 587
#            (greeting, EHLO, the whole reply, STARTTLS, 220, close)
#   nft      the same three with the nft ruleset of nft-alternative.nft in
#            the gateway / without it (module not loaded)
#   control  the method's own bias (A/A): bulk to 5201 and 587 negotiations
#            with the same state in both halves (module not loaded, no nft
#            table), the halves alternating and flushed as in every part;
#            a ratio away from 1.0 here is the method's, not the module's
#   packet   the module's per-packet cost in the kernel, next to
#            conntrack's own: kmod/bench.c (a LEMONADE_BENCH=1 build) runs
#            nf_conntrack_in() alone and followed by the registered "in"
#            and "out" hooks on a prepared ACK of a held flow, in
#            BENCH_PACKET_PAIRS (200) alternating pairs of
#            BENCH_PACKET_ITERS (2000) packets each: (a) an unlisted
#            established flow (5201), (b) a listed flow after its IMAP
#            STARTTLS (143), (c) a listed flow whose negotiation the guard
#            is following (143, greeting read)
#   memory   slab bytes per flow, module loaded vs not: BENCH_FLOWS
#            listed flows after an IMAP STARTTLS, BENCH_NEG_FLOWS flows
#            whose negotiation the guard is following (greeting read)
#
# Each pair is two halves of BENCH_SECONDS (1) each, in alternating order
# (AB BA AB ...), the gateway's conntrack table flushed before each half.
# Pairs continue past BENCH_MIN_PAIRS (40) until the 95% interval of the
# median ratio lies within +-BENCH_CI (1) % of it, BENCH_MAX_PAIRS (200)
# pairs are done or a measurement has run BENCH_BUDGET (300) seconds.
# Results: $LEMONADE_OUT/bench/results.txt, raw pairs next to it.
#
# usage: guest.sh [module] [nft] [control] [packet] [memory]   (default: all)
# timeout: 3600
. "$(dirname "$0")/../lib.sh"

T=${BENCH_SECONDS:-1}
MIN_PAIRS=${BENCH_MIN_PAIRS:-40}
MAX_PAIRS=${BENCH_MAX_PAIRS:-200}
CI=${BENCH_CI:-1}
SETTLE=${BENCH_SETTLE:-1}
BUDGET=${BENCH_BUDGET:-300}
FLOWS=${BENCH_FLOWS:-2000}
NEG_FLOWS=${BENCH_NEG_FLOWS:-200}
MEM_REPS=${BENCH_MEM_REPS:-3}
OUTD=${LEMONADE_OUT:-/tmp}/bench
TB=$REPO/selftests/progs/tcpbench
STATS=$REPO/selftests/bench/stats.py
NFT_ALT=$REPO/selftests/bench/nft-alternative.nft
mkdir -p "$OUTD"
RESULTS=$OUTD/results.txt

[ -x "$TB" ] || { echo "FAIL: $TB not built"; exit 1; }
kver=$(uname -r)
mkdir -p "/lib/modules/$kver/updates"
cp "$REPO/kmod/nf_lemonade.ko" "/lib/modules/$kver/updates/"
depmod -a "$kver"
modprobe nf_conntrack

topo_up
# connections per second: many short client connections in TIME_WAIT
ip netns exec "$C" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
	net.ipv4.tcp_tw_reuse=1
ip netns exec "$S" "$TB" serve raw:5201 imap:143 smtp:587 &
BG_PIDS+=($!)
for p in 5201 143 587; do
	wait_for 20 sh -c "ip netns exec $S ss -Htln 'sport = :$p' | grep -q ." ||
		{ echo "FAIL: tcpbench server on port $p did not start"; exit 1; }
done

out() { echo "$*" | tee -a "$RESULTS"; }

# the measured states
mod_on() { grep -q '^nf_lemonade ' /proc/modules || modprobe nf_lemonade; }
mod_off() { lemonade_unload; }
nft_on() {
	ip netns exec "$G" nft list table inet lemonade_alt >/dev/null 2>&1 ||
		ip netns exec "$G" nft -f "$NFT_ALT"
}
nft_off() { ip netns exec "$G" nft delete table inet lemonade_alt 2>/dev/null || true; }
flush() { ip netns exec "$G" conntrack -F >/dev/null 2>&1 || true; }

# the workloads: one figure on stdout
w_bulk_unlisted() { ip netns exec "$C" "$TB" bulk "$S4" 5201 "$T" | awk '{ print $3 }'; }
w_bulk_143() { ip netns exec "$C" "$TB" bulk "$S4" 143 "$T" imap | awk '{ print $3 }'; }
w_conns_587() { ip netns exec "$C" "$TB" conns "$S4" 587 "$T" | awk '{ print $3 }'; }

# half STATE_FN WORK: one measurement in that state, BENCH_SETTLE (1)
# seconds after the switch (rmmod and an nft table's deletion leave work
# to RCU callbacks and workqueues that must not land in the next half)
half() {
	"$1"
	flush
	sleep "$SETTLE"
	"$2"
}

# run_pairs NAME WORK ON OFF UNIT: pairs of ON / OFF halves
run_pairs() {
	local name=$1 work=$2 on=$3 off=$4 unit=$5 file i=0 a b t0
	file=$OUTD/$name.pairs
	: > "$file"
	half "$on" "$work" >/dev/null
	half "$off" "$work" >/dev/null
	t0=$SECONDS
	while :; do
		if [ $((i % 2)) -eq 0 ]; then
			a=$(half "$on" "$work")
			b=$(half "$off" "$work")
		else
			b=$(half "$off" "$work")
			a=$(half "$on" "$work")
		fi
		if [ -z "$a" ] || [ -z "$b" ]; then
			echo "FAIL: $name: a half gave no figure"
			return 1
		fi
		echo "$a $b" >> "$file"
		i=$((i + 1))
		[ "$i" -ge "$MIN_PAIRS" ] || continue
		$PY "$STATS" "$file" --check "$CI" && break
		if [ "$i" -ge "$MAX_PAIRS" ] || [ $((SECONDS - t0)) -ge "$BUDGET" ]; then
			break
		fi
	done
	out "$($PY "$STATS" "$file" "$name" --unit "$unit") [$((SECONDS - t0)) s]"
}

part_module() {
	out "# module: nf_lemonade loaded (default configuration) / not loaded, ${T} s halves"
	run_pairs module-bulk-unlisted w_bulk_unlisted mod_on mod_off MB/s
	run_pairs module-bulk-143-after-starttls w_bulk_143 mod_on mod_off MB/s
	run_pairs module-conns-587-ehlo-starttls w_conns_587 mod_on mod_off conn/s
	# the guard followed every negotiation of a loaded half
	mod_on
	flush
	w_conns_587 >/dev/null
	out "# guard counters after one loaded half of 587 connections: $(ip netns exec "$G" lemonctl -j stats |
		jq -c '{guard_inspected, guard_skipped, guard_abandoned, guard_strip_detected}')"
	mod_off
}

part_nft() {
	mod_off
	out "# nft: the ruleset of selftests/bench/nft-alternative.nft in the gateway / none, module not loaded, ${T} s halves"
	run_pairs nft-bulk-unlisted w_bulk_unlisted nft_on nft_off MB/s
	run_pairs nft-bulk-143-after-starttls w_bulk_143 nft_on nft_off MB/s
	run_pairs nft-conns-587-ehlo-starttls w_conns_587 nft_on nft_off conn/s
	nft_off
}

# A/A: two names for the same state, so that the pairs file says which
# half came first as in every other part
ctl_a() { mod_off; nft_off; }
ctl_b() { mod_off; nft_off; }

part_control() {
	out "# control: the same state in both halves (module not loaded, no nft table), ${T} s halves: the method's bias"
	run_pairs control-bulk-unlisted w_bulk_unlisted ctl_a ctl_b MB/s
	run_pairs control-conns-587-ehlo-starttls w_conns_587 ctl_a ctl_b conn/s
}

PK_PAIRS=${BENCH_PACKET_PAIRS:-200}
PK_ITERS=${BENCH_PACKET_ITERS:-2000}
BENCH_FILE=/sys/kernel/debug/nf_lemonade/bench

# packet_flow TAG PORT MODE WHAT: hold one flow, run the in-kernel loop on
# it from the gateway's netns, print the figures
packet_flow() {
	local tag=$1 port=$2 mode=$3 what=$4 pid sport file=$OUTD/packet-$1.pairs
	flush
	rm -f "$TMPD/pk.ready"
	ip netns exec "$C" "$TB" hold "$S4" "$port" 1 "$mode" "$TMPD/pk.ready" &
	pid=$!
	wait_for 60 test -s "$TMPD/pk.ready" || { echo "FAIL: packet $tag: no held flow"; kill "$pid"; return 1; }
	sport=$(ip netns exec "$G" conntrack -L -p tcp --dport "$port" 2>/dev/null |
		sed -n 's/.*ESTABLISHED src=[^ ]* dst=[^ ]* sport=\([0-9]*\) .*/\1/p' | head -n 1)
	if [ -z "$sport" ]; then
		echo "FAIL: packet $tag: no established entry to port $port"
		kill "$pid"
		return 1
	fi
	out "# packet $tag: $what; the module's view of it: $(ip netns exec "$G" lemonctl -j flows 2>/dev/null |
		jq -c "(map(select(.sport == $sport)) | first) as \$f | if \$f then {port: \$f.port, guard: \$f.guard, remaining: \$f.remaining} else \"unlisted\" end")"
	# debugfs in the gateway's own mount namespace (ip netns exec remounts /sys)
	if ! ip netns exec "$G" sh -c "mount -t debugfs none /sys/kernel/debug 2>/dev/null;
		echo '$C4 $S4 $sport $port $PK_PAIRS $PK_ITERS' > $BENCH_FILE && cat $BENCH_FILE" \
		> "$OUTD/packet-$tag.raw"; then
		echo "FAIL: packet $tag: the in-kernel loop refused the flow"
		kill "$pid"
		return 1
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
	# per round, ns per packet: conntrack alone, + two empty hooks, +
	# the module's two hooks
	awk '{ printf "%.2f %.2f\n", $4 / $1, $2 / $1 }' "$OUTD/packet-$tag.raw" > "$file"
	awk '{ printf "%.2f %.2f\n", $3 / $1, $2 / $1 }' "$OUTD/packet-$tag.raw" > "$OUTD/packet-$tag.empty"
	awk '{ printf "%.2f %.2f\n", $4 / $1, $3 / $1 }' "$OUTD/packet-$tag.raw" > "$OUTD/packet-$tag.own"
	out "$($PY "$STATS" "$file" "packet-$tag (conntrack + the module's hooks / conntrack)" --unit ns/packet)"
	out "$($PY "$STATS" "$OUTD/packet-$tag.empty" "packet-$tag (conntrack + two empty hooks / conntrack)" --unit ns/packet)"
	out "$($PY "$STATS" "$OUTD/packet-$tag.own" "packet-$tag (conntrack + the module's hooks / conntrack + two empty hooks)" --unit ns/packet)"
	out "# packet $tag, median ns per packet over $(wc -l < "$file") rounds: conntrack $(med 2 "$OUTD/packet-$tag.raw"), two empty hooks +$(med 3-2 "$OUTD/packet-$tag.raw"), the module's hooks +$(med 4-2 "$OUTD/packet-$tag.raw") (their own work +$(med 4-3 "$OUTD/packet-$tag.raw"))"
}

# med COL|COLA-COLB FILE: the median per packet of a column (or of a
# difference of two) of the raw rounds "ITERS CT EMPTY HOOKS"
med() {
	local a=${1%-*} b=${1#*-}
	[ "$a" = "$1" ] && b=0
	awk -v a="$a" -v b="$b" '{ print ($a - (b ? $b : 0)) / $1 }' "$2" | sort -g |
		awk '{ v[NR] = $1 } END { printf "%.1f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

part_packet() {
	out "# packet: the hooks' cost per packet in the kernel (kmod/bench.c), $PK_PAIRS pairs of $PK_ITERS packets, nf_lemonade loaded (default configuration)"
	mod_on
	[ -n "$(ip netns exec "$G" sh -c "mount -t debugfs none /sys/kernel/debug 2>/dev/null; ls $BENCH_FILE 2>/dev/null")" ] ||
		{ echo "FAIL: $BENCH_FILE missing: build the module with LEMONADE_BENCH=1"; return 1; }
	packet_flow unlisted 5201 none "(a) an unlisted established flow" || return 1
	packet_flow listed-after-starttls 143 starttls "(b) a listed flow after IMAP STARTTLS" || return 1
	packet_flow listed-negotiating 143 greet "(c) a listed flow under negotiation (greeting read)" || return 1
	mod_off
}

# slab_snap FILE: "cache active_objs objsize num_slabs pagesperslab" per
# cache, after every cache was shrunk (SLUB counts the free objects of a
# CPU's current slab as active until it is flushed)
slab_snap() {
	local f
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 > "$f" 2>/dev/null
	done
	awk 'NR > 2 { print $1, $2, $4, $15, $6 }' /proc/slabinfo > "$1"
}

# mem_run STATE MODE COUNT TAG: slab snapshots around COUNT held flows to 143
mem_run() {
	local state=$1 mode=$2 count=$3 tag=$4 pid
	"$state"
	flush
	sleep 1
	slab_snap "$OUTD/mem-$tag.before"
	rm -f "$TMPD/hold.ready"
	ip netns exec "$C" "$TB" hold "$S4" 143 "$count" "$mode" "$TMPD/hold.ready" &
	pid=$!
	wait_for 300 test -s "$TMPD/hold.ready" || { echo "FAIL: hold $tag"; kill "$pid"; return 1; }
	sleep 1
	slab_snap "$OUTD/mem-$tag.after"
	if [ "$state" = mod_on ]; then
		ip netns exec "$G" lemonctl -j stats | jq -c '{listed, guard_buffers, guard_inspected, guard_skipped}' \
			> "$OUTD/mem-$tag.stats"
	fi
	kill "$pid"
	wait "$pid" 2>/dev/null
	flush
}

part_memory() {
	local r mode count
	out "# memory: slab bytes per flow, module loaded minus not loaded (/proc/slabinfo, active objects x object size)"
	# TIME_WAIT sockets of earlier parts must not expire during a snapshot
	wait_for 70 sh -c "[ \$(ip netns exec $C ss -Htan state time-wait | wc -l) -eq 0 ]" ||
		info "TIME_WAIT sockets left in the client: $(ip netns exec "$C" ss -Htan state time-wait | wc -l)"
	for c in nf_conntrack nf_lemonade_neg; do
		mod_on
		if [ -d "/sys/kernel/slab/$c" ]; then
			out "# kmem_cache $c: object_size $(cat "/sys/kernel/slab/$c/object_size"), slab_size $(cat "/sys/kernel/slab/$c/slab_size"), objs_per_slab $(cat "/sys/kernel/slab/$c/objs_per_slab"), order $(cat "/sys/kernel/slab/$c/order"), aliases $(cat "/sys/kernel/slab/$c/aliases")"
		fi
	done
	for mode in starttls greet; do
		count=$FLOWS
		[ "$mode" = greet ] && count=$NEG_FLOWS
		for r in $(seq "$MEM_REPS"); do
			if [ $((r % 2)) -eq 1 ]; then
				mem_run mod_on "$mode" "$count" "$mode-on-$r"
				mem_run mod_off "$mode" "$count" "$mode-off-$r"
			else
				mem_run mod_off "$mode" "$count" "$mode-off-$r"
				mem_run mod_on "$mode" "$count" "$mode-on-$r"
			fi
			out "# $mode rep $r, module's view while held: $(cat "$OUTD/mem-$mode-on-$r.stats")"
		done
		$PY "$REPO/selftests/bench/slabdiff.py" "$OUTD" "$mode" "$count" "$MEM_REPS" | tee -a "$RESULTS"
	done
	mod_off
}

[ $# -gt 0 ] || set -- module nft control packet memory
out "# make bench: $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $kver, $(nproc) vCPUs, module $(modinfo -F version "$REPO/kmod/nf_lemonade.ko" 2>/dev/null)"
for part in "$@"; do
	"part_$part" || ret=1
done
exit "$ret"
