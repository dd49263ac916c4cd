#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own netlink CLI, ynl (tools/net/ynl, fetched by
# selftests/vm/ynl.sh on the host: $LEMONADE_YNL), drives the module with
# Documentation/netlink/specs/lemonade.yaml alone: "--do get-config"
# gives the configuration "lemonctl -j show" prints, "--dump get-flows" the
# flows "lemonctl -j flows" lists (a real IMAP connection through the
# gateway and an IPv6 Submission one), and a subscriber to the "events"
# group sees the config event of a change another process makes. A spec
# that disagrees with the module fails here (wrong numbers, types or
# nesting decode into something else than lemonctl reads).
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
ynl=${LEMONADE_YNL:-}
# tools/net/ynl/cli.py, or tools/net/ynl/pyynl/cli.py since Linux 6.14
for ynl_lib in "$ynl" "$ynl/pyynl"; do
	[ -n "$ynl" ] && [ -f "$ynl_lib/cli.py" ] && break
	ynl_lib=
done
if [ -z "$ynl_lib" ]; then
	echo "SKIP: no kernel ynl (LEMONADE_YNL; selftests/run.sh fetches it with selftests/vm/ynl.sh)"
	exit $ksft_skip
fi
SPEC=$REPO/Documentation/netlink/specs/lemonade.yaml
# the schema of the same kernel tree (ynl validates the spec with it)
schema=$(cd "$ynl/../../.." && pwd)/Documentation/netlink/genetlink-legacy.yaml
[ -f "$schema" ] || fail "no genetlink-legacy.yaml next to ynl ($schema)"
YNL="$PY $ynl_lib/cli.py --spec $SPEC --schema $schema --output-json"

topo_up
mail_up
# the guard keeps inspecting the idle negotiations (no stall)
lemonade_load guard_stall=3600
hold "$C" imap4 $S4 143 1
hold "$C" smtp6 $S6 587 1
wait_for 30 sh -c "ip netns exec $G lemonctl -j flows | jq -e 'length == 2' >/dev/null" ||
	fail "the two connections are not listed: $(ip netns exec "$G" lemonctl -j flows)"
ip netns exec "$G" lemonctl set timeout 2h5m guard buffers 64 ||
	fail "lemonctl set"

# --- do get-config ----------------------------------------------------------
ip netns exec "$G" $YNL --do get-config > "$TMPD/ynl.cfg" 2> "$TMPD/ynl.err" ||
	fail "ynl --do get-config: $(tail -3 "$TMPD/ynl.err")"
ip netns exec "$G" lemonctl -j show > "$TMPD/lc.cfg"
info "ynl: $(head -c 600 "$TMPD/ynl.cfg")"
if jq -e --slurpfile lc "$TMPD/lc.cfg" '$lc[0] as $l |
	.enabled == (if $l.enabled then 1 else 0 end) and .timeout == $l.timeout and
	.timeout == 7500 and
	."high-water" == $l.pressure.high and ."low-water" == $l.pressure.low and
	."icmp-policy" == $l.icmp.policy and ."icmp-states" == $l.icmp.states and
	."guard-policy" == $l.guard and ."guard-buffers" == $l.guard_buffers and
	."guard-buffers" == 64 and (.generation | type) == "number" and
	([.ports.port[] | [.port, .proto]] == [$l.ports[] | [.port, .proto]])' \
	"$TMPD/ynl.cfg" >/dev/null; then
	pass "ynl --do get-config gives what lemonctl -j show prints"
else
	fail "ynl get-config differs from lemonctl -j show: $(cat "$TMPD/ynl.cfg") vs $(cat "$TMPD/lc.cfg")"
fi

# --- a write naming a stale generation changes nothing (ESTALE) -----------
gen=$(jq .generation "$TMPD/ynl.cfg")
ip netns exec "$G" lemonctl set timeout 2h5m30s || fail "lemonctl set"
before=$(ip netns exec "$G" lemonctl -j show)
ip netns exec "$G" $YNL --do set-config --json "{\"generation\": $gen, \"timeout\": 9000}" \
	> "$TMPD/ynl.stale" 2>&1
after=$(ip netns exec "$G" lemonctl -j show)
if grep -q 'Stale file handle' "$TMPD/ynl.stale" && [ "$before" = "$after" ]; then
	pass "a set naming generation $gen after another change is refused, nothing changed: $(tr '\n' ' ' < "$TMPD/ynl.stale" | head -c 300)"
else
	fail "stale generation $gen: $(cat "$TMPD/ynl.stale"); config $before -> $after"
fi
gen=$(ip netns exec "$G" $YNL --do get-config | jq .generation)
if ip netns exec "$G" $YNL --do set-config --json "{\"generation\": $gen, \"timeout\": 7500}" \
	> "$TMPD/ynl.fresh" 2>&1 &&
   [ "$(ip netns exec "$G" lemonctl -j show | jq .timeout)" = 7500 ]; then
	pass "a set naming the current generation $gen is applied"
else
	fail "current generation $gen: $(cat "$TMPD/ynl.fresh")"
fi

# --- dump get-flows ---------------------------------------------------------
ip netns exec "$G" $YNL --dump get-flows > "$TMPD/ynl.flows" 2> "$TMPD/ynl.err" ||
	fail "ynl --dump get-flows: $(tail -3 "$TMPD/ynl.err")"
ip netns exec "$G" lemonctl -j flows > "$TMPD/lc.flows"
# one key per flow: addresses, ports, the listed port, conntrack's id
yk=$(jq -c '[.[].flow | [.saddr, .sport, .daddr, .dport, .port, .id, .timeout]] | sort' "$TMPD/ynl.flows")
lk=$(jq -c '[.[] | [.src, .sport, .dst, .dport, .port, .id, .timeout]] | sort' "$TMPD/lc.flows")
info "ynl flows: $yk"
if [ -n "$yk" ] && [ "$yk" = "$lk" ] && [ "$(jq length "$TMPD/ynl.flows")" = 2 ] &&
   jq -e --arg s4 "$S4" --arg s6 "$S6" '[.[].flow.daddr] | sort == ([$s4, $s6] | sort)' \
	"$TMPD/ynl.flows" >/dev/null; then
	pass "ynl --dump get-flows lists the flows lemonctl -j flows lists (IPv4 and IPv6)"
else
	fail "ynl flows $yk, lemonctl flows $lk"
fi
ip netns exec "$G" $YNL --dump get-flows --json '{"filter-port": 587}' > "$TMPD/ynl.f587" 2>&1
if [ "$(jq -c '[.[].flow.port]' "$TMPD/ynl.f587")" = "[587]" ]; then
	pass "ynl dump with filter-port 587: one flow"
else
	fail "ynl dump with filter-port: $(head -c 300 "$TMPD/ynl.f587")"
fi

# --- subscribe events -------------------------------------------------------
# a subscriber (ynl's library) waits until the config event of a change
# made by another process (lemonctl) arrives; bounded: 20 s
cat > "$TMPD/sub.py" <<'PY'
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from lib import YnlFamily
ynl = YnlFamily(sys.argv[2], sys.argv[3])
ynl.ntf_subscribe("events")
chg = subprocess.Popen(["lemonctl", "set", "timeout", "2h6m"])
chg.wait()
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    ynl.check_ntf()
    for m in ynl.async_msg_queue:
        if m.get("msg", {}).get("event") == "config":
            m["msg"]["changer"] = chg.pid
            print(json.dumps(m["msg"], default=str))
            sys.exit(0)
    time.sleep(0.1)
print("no config event in 20 s: %r" % ynl.async_msg_queue)
sys.exit(1)
PY
if ip netns exec "$G" $PY "$TMPD/sub.py" "$ynl_lib" "$SPEC" "$schema" > "$TMPD/ynl.ev" 2>&1; then
	info "event: $(cat "$TMPD/ynl.ev")"
	if jq -e '.timeout == 7560 and ."event-cmd" == 2 and
		."event-pid" == .changer and ."event-comm" == "lemonctl"' "$TMPD/ynl.ev" >/dev/null; then
		pass "ynl subscriber: the config event of lemonctl's change (its pid and name, the new timeout)"
	else
		fail "ynl config event: $(cat "$TMPD/ynl.ev")"
	fi
else
	fail "ynl subscribe: $(tail -c 600 "$TMPD/ynl.ev")"
fi
exit $ret
