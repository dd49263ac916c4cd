#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guard on an unkind network: the gateway's links lose, reorder and
# duplicate segments (netem on both, each way), and the servers send
# their negotiation replies whole, byte by byte, or cut inside "STARTTLS".
# The masker inside the gateway rewrites STARTTLS wherever a segment
# carries the whole keyword. For SMTP (587), IMAP (143) and ACAP (674),
# IPv4 and IPv6, every client must receive exactly what the server sent
# (byte for byte, as a client in the server's own namespace receives it),
# finish STARTTLS and get the bytes after it back; nothing is reset. On
# stock Linux the whole-reply case shows the client XXXXXXXA.
# timeout: 900
source "$(dirname "$0")/lib.sh"

topo_up
lemonade_load
gateway_only
# loss, duplication and reordering (a quarter of the segments go 10 ms
# ahead of the rest) on every link of the gateway, both ways
for dev in gc gs; do
	ip netns exec "$G" tc qdisc add dev $dev root netem delay 10ms reorder 75% 50% \
		loss 5% duplicate 5% limit 1000 ||
		{ echo "SKIP: netem (sch_netem) is not available"; exit $ksft_skip; }
done
masker_up mask
[ "$STOCK" = 1 ] || x0=$(guard_counter "$G" guard_reset)

# lines S: of a transcript (the server's bytes as the client read them)
said() { grep '^S: ' "$1"; }

cases=0 exact=0
for mode in whole bytes cut; do
	case $mode in
	whole) args=() ;;
	bytes) args=(--chunk 1) ;;
	cut) args=(--cut) ;;
	esac
	[ -n "${MAIL_PID:-}" ] && { kill "$MAIL_PID" 2>/dev/null; wait "$MAIL_PID" 2>/dev/null; }
	mail_up "${args[@]}"
	for t in "smtp 587" "imap 143" "acap 674"; do
		set -- $t
		# the reference: the same server, no gateway in between
		ip netns exec "$S" timeout 60 $PY "$HERE/mailpeer.py" talk --addr 127.0.0.1 \
			--port "$2" --proto "$1" --starttls --timeout 30 > "$TMPD/ref.$1.$mode" 2>&1
		tail -n 1 "$TMPD/ref.$1.$mode" | grep -q '^DONE' ||
			fail "$mode $1: the reference negotiation failed: $(tail -n 1 "$TMPD/ref.$1.$mode")"
		for addr in $S4 $S6; do
			cases=$((cases + 1))
			f=$TMPD/$1.$mode.${addr//[:.]/_}
			ip netns exec "$C" timeout 120 $PY "$HERE/mailpeer.py" talk --addr "$addr" \
				--port "$2" --proto "$1" --starttls --timeout 30 > "$f" 2>&1
			if tail -n 1 "$f" | grep -q '^DONE' &&
				cmp -s <(said "$TMPD/ref.$1.$mode") <(said "$f"); then
				exact=$((exact + 1))
				pass "$mode $1 ($addr): the client read the server's $(said "$f" | wc -c) bytes exactly and finished STARTTLS"
			else
				fail "$mode $1 ($addr): $(diff <(said "$TMPD/ref.$1.$mode") <(said "$f") | grep '^[<>]' | head -n 4 | tr '\n' '|') last: $(tail -n 1 "$f")"
			fi
		done
	done
done
info "netem: $(ip netns exec "$G" tc -s qdisc show dev gs | grep -o 'dropped [0-9]*' | head -n 1) on gs, $(ip netns exec "$G" tc -s qdisc show dev gc | grep -o 'dropped [0-9]*' | head -n 1) on gc"
m=$(awk '/rewrote/ { n = $3 } END { print n + 0 }' "$TMPD/masker.log")
if [ "$m" -ge 6 ]; then
	pass "the masker rewrote $m segments"
else
	fail "the masker rewrote $m segments, want >= 6 (test setup): $(tail -n 2 "$TMPD/masker.log")"
fi
if on_module "nothing reset (guard_reset)"; then
	x1=$(guard_counter "$G" guard_reset)
	[ "$x1" -eq "$x0" ] && pass "nothing reset" || fail "guard_reset +$((x1 - x0))"
fi
info "$exact of $cases negotiations exact"
exit $ret
