#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lemonctl against tests/nlmock.so, an LD_PRELOAD stand-in for the kernel
# side that follows uapi/linux/lemonade.h. This checks what the tool puts
# on the wire and how it reads the answers, on hosts that cannot load
# nf_lemonade. It does not replace the selftests against the real module.
#
# LEMONCTL=path/to/lemonctl NLMOCK=path/to/nlmock.so ./mock.sh

set -u

here=$(cd "$(dirname "$0")" && pwd)
LEMONCTL=${LEMONCTL:-$here/../lemonctl}
NLMOCK=${NLMOCK:-$here/nlmock.so}
LEMONADE_VERSION=${LEMONADE_VERSION:-0.1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! command -v jq >/dev/null; then
	echo "SKIP: mock.sh needs jq"
	exit 4
fi

export NLMOCK_STATE=$tmp/state NLMOCK_LOG=$tmp/log
# The mock comes before the sanitizer runtime in the preload order.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

pass=0
fail=0

ok() {
	pass=$((pass + 1))
	printf 'PASS: %s\n' "$1"
}

ko() {
	fail=$((fail + 1))
	printf 'FAIL: %s\n' "$1"
	shift
	[ $# -gt 0 ] && printf '  %s\n' "$@"
}

# lc ARGS...: run lemonctl on the mock; sets rc, out, err.
lc() {
	LD_PRELOAD=$NLMOCK "$LEMONCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

reset_state() {
	rm -f "$NLMOCK_STATE" "$NLMOCK_LOG"
	touch "$NLMOCK_LOG"
}

# expect NAME RC STDOUT STDERR: exact comparison of the last lc.
expect() {
	local name=$1 want_rc=$2 want_out=$3 want_err=$4

	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] &&
	   [ "$err" = "$want_err" ]; then
		ok "$name"
	else
		ko "$name" "exit $rc (want $want_rc)" "stdout: $out" \
			"want:   $want_out" "stderr: $err" "want:   $want_err"
	fi
}

# expect_json NAME JQ-FILTER: last stdout is valid JSON and the filter holds.
expect_json() {
	# (jq 1.6 -e succeeds on empty input)
	if [ "$rc" = 0 ] && [ -z "$err" ] && [ -s "$tmp/out" ] &&
	   jq -e "$2" <"$tmp/out" >/dev/null 2>"$tmp/jqerr"; then
		ok "$1"
	else
		ko "$1" "exit $rc" "stdout: $out" "stderr: $err" \
			"jq: $(cat "$tmp/jqerr")"
	fi
}

# expect_log NAME LINES...: the requests since the last reset_log, exactly.
expect_log() {
	local name=$1 want got
	shift
	want=$(printf '%s\n' "$@")
	got=$(cat "$NLMOCK_LOG")
	if [ "$got" = "${want%$'\n'}" ] || { [ $# = 0 ] && [ -z "$got" ]; }; then
		ok "$name: requests on the wire"
	else
		ko "$name: requests on the wire" "got:" "$got" "want:" "$want"
	fi
}

reset_log() {
	: >"$NLMOCK_LOG"
}

G='GET_CONFIG flags=0x5 version=1'

# --- show ------------------------------------------------------------
reset_state
lc show
expect "show text" 0 "enable on timeout 2h4m pressure high 90% low 80%
port 143 proto imap
port 587 proto smtp
port 674 proto acap
icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
guard restore buffers 256" ""
expect_log "show" "$G"

lc
expect "no object is show" 0 "$(LD_PRELOAD=$NLMOCK "$LEMONCTL" show)" ""

lc -j show
expect_json "show -j schema" '
	(keys_unsorted == ["enabled","timeout","unlimited","pressure","ports","icmp","guard","guard_buffers"]) and
	.icmp == {"policy":"absorb","states":"established","validate":false,
		"codes4":[0,1,5],"codes6":[0,2,3]} and .guard == "restore" and .guard_buffers == 256 and
	.enabled == true and .timeout == 7440 and .unlimited == false and
	.pressure == {"high":90,"low":80} and
	.ports == [
		{"port":143,"proto":"imap","timeout":7440,"unlimited":false,"own_timeout":false},
		{"port":587,"proto":"smtp","timeout":7440,"unlimited":false,"own_timeout":false},
		{"port":674,"proto":"acap","timeout":7440,"unlimited":false,"own_timeout":false}]'
compact=$out
lc -j -p show
expect_json "show -j -p is valid" '.enabled == true'
if [ "$(jq -c . <<<"$out")" = "$compact" ] && [ "$(wc -l <<<"$out")" -gt 1 ]; then
	ok "-p only changes the layout"
else
	ko "-p only changes the layout" "$out"
fi
lc --json --pretty show
expect_json "long options" '.timeout == 7440'
lc show -j
expect_json "-j after the command" '.timeout == 7440'

# --- set ---------------------------------------------------------------
reset_log
lc set timeout 3h enable off
expect "set timeout 3h enable off" 0 "" ""
expect_log "set" "SET_CONFIG flags=0x5 version=1 ENABLED=0 TIMEOUT=10800"
lc show
expect "show after set" 0 "enable off timeout 3h pressure high 90% low 80%
port 143 proto imap
port 587 proto smtp
port 674 proto acap
icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
guard restore buffers 256" ""

reset_log
lc set timeout unlimited enable on pressure low 70% high 95
expect "set unlimited" 0 "" ""
expect_log "set unlimited" "SET_CONFIG flags=0x5 version=1 ENABLED=1 TIMEOUT=0 HIGH=95 LOW=70"
lc -j show
expect_json "unlimited in JSON: one type per key" '.timeout == 0 and .unlimited == true and
	.ports[0].timeout == 0 and .ports[0].unlimited == true and .ports[0].own_timeout == false and
	.pressure == {"high":95,"low":70}'
lc show
expect "unlimited in text" 0 "enable on timeout unlimited pressure high 95% low 70%
port 143 proto imap
port 587 proto smtp
port 674 proto acap
icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
guard restore buffers 256" ""

reset_log
lc set timeout 600
expect "refused below 7440 without force" 1 "" \
	"Error: timeout 600 is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
expect_log "nothing sent when refused locally"
lc set timeout 10m force
expect "forced" 0 "" ""
expect_log "forced: no read first" "SET_CONFIG flags=0x5 version=1 TIMEOUT=600 FORCE"

# The module keeps a low floor it already has (floor_kept in kmod/config.c),
# so later changes go out as typed: no FORCE added, no extra read.
reset_log
lc set enable off
expect "change with a forced global floor" 0 "" ""
lc port add 995
expect "port add with a forced global floor" 0 "" ""
lc port del 995
expect "port del with a forced global floor" 0 "" ""
lc port flush
expect "port flush with a forced global floor" 0 "" ""
expect_log "no FORCE added to later changes" \
	"SET_CONFIG flags=0x5 version=1 ENABLED=0" \
	"ADD_PORT flags=0x5 version=1 PORT=995" \
	"DEL_PORT flags=0x5 version=1 PORT=995" \
	"SET_CONFIG flags=0x5 version=1 PORTS=[]"
lc -j show
expect_json "the forced floor is kept" '.timeout == 600 and .ports == [] and .enabled == false'
reset_log
lc set timeout 2h4m
lc set enable on
expect_log "floor replaced" \
	"SET_CONFIG flags=0x5 version=1 TIMEOUT=7440" \
	"SET_CONFIG flags=0x5 version=1 ENABLED=1"
lc port add 2000 timeout 10m force
reset_log
lc port add 2001
lc port del 2001
lc port add 2000 timeout 11m
expect "a new low port floor still needs force" 1 "" \
	"Error: timeout 660 for port 2000 is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
lc set icmp pass
expect_log "no FORCE for a kept port floor" \
	"ADD_PORT flags=0x5 version=1 PORT=2001" \
	"DEL_PORT flags=0x5 version=1 PORT=2001" \
	"SET_CONFIG flags=0x5 version=1 ICMP_POLICY=1"
reset_log
lc set pressure low 95
expect "kernel refusal with extack" 1 "" \
	'Error: pressure marks need 0 < low < high <= 100 (percent of nf_conntrack_max)'
lc set pressure high 60
expect "kernel refusal, pressure" 1 "" \
	'Error: pressure marks need 0 < low < high <= 100 (percent of nf_conntrack_max)'

# the longest floor is the module's to say (INT_MAX jiffies less 5 s, so
# it depends on HZ): lemonctl sends it and prints the module's answer
lc set timeout 8589930
expect "floor too long at HZ=250" 1 "" \
	"Error: timeout too long to store in conntrack; use unlimited (0)"
lc set timeout 8589929
expect "longest floor at HZ=250" 0 "" ""
lc set timeout 2h4m
NLMOCK_HZ=1000 lc set timeout 2147479
expect "floor too long at HZ=1000" 1 "" \
	"Error: timeout too long to store in conntrack; use unlimited (0)"
NLMOCK_HZ=1000 lc port add 993 timeout 2147479
expect "port floor too long at HZ=1000" 1 "" \
	"Error: port timeout too long to store in conntrack; use unlimited (0)"
NLMOCK_HZ=1000 lc set timeout 2147478
expect "longest floor at HZ=1000" 0 "" ""
lc set timeout 2h4m

reset_log
lc config set enable off
expect "config set" 0 "" ""
expect_log "config set" "SET_CONFIG flags=0x5 version=1 ENABLED=0"

# --- port --------------------------------------------------------------
reset_state
reset_log
lc port add 993 proto imap timeout 1d
expect "port add" 0 "" ""
lc port add 995
expect "port add, port only" 0 "" ""
lc port add 2525 proto smtp timeout 5m force
expect "port add forced" 0 "" ""
lc port add 2526 timeout 5m
expect "port add below 7440" 1 "" \
	"Error: timeout 300 for port 2526 is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
expect_log "port add" \
	"ADD_PORT flags=0x5 version=1 PORT=993/imap/t86400" \
	"ADD_PORT flags=0x5 version=1 PORT=995" \
	"ADD_PORT flags=0x5 version=1 PORT=2525/smtp/t300 FORCE"
lc port
expect "port list" 0 "port 143 proto imap
port 587 proto smtp
port 674 proto acap
port 993 proto imap timeout 1d
port 995 proto none
port 2525 proto smtp timeout 5m force" ""
lc -j port list
expect_json "port list -j" 'length == 6 and
	.[3] == {"port":993,"proto":"imap","timeout":86400,"unlimited":false,"own_timeout":true} and
	.[5].timeout == 300 and .[5].own_timeout == true'
lc port show
expect "port show = port list" 0 "$(LD_PRELOAD=$NLMOCK "$LEMONCTL" port list)" ""

# what "show" prints is what "set" and "port add" take back
lc set timeout 1h force enable off pressure high 95% low 85
lc set icmp pass states all codes4 0-3,13 codes6 none guard log
lc port add 2526 timeout unlimited
lc show
printf '%s\n' "$out" >"$tmp/shown"
before=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
lc set timeout 2h4m enable on pressure high 90 low 80
lc set icmp absorb states established codes4 0,1,5 codes6 0,2,3 guard restore
lc port flush
typed=0
while read -r line; do
	# shellcheck disable=SC2086 # the words of the line
	case $line in
	port\ *) lc port add ${line#port } ;;
	*) lc set $line ;;
	esac
	if [ "$rc" = 0 ] && [ -z "$err" ]; then
		typed=$((typed + 1))
	else
		ko "typed back: $line" "exit $rc" "$err"
	fi
done <"$tmp/shown"
after=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
if [ "$typed" = "$(wc -l <"$tmp/shown")" ] && [ "$before" = "$after" ]; then
	ok "show output typed back as set/port add gives the same configuration"
else
	ko "show output typed back" "$(cat "$tmp/shown")" "$before" "$after"
fi
lc set timeout 2h4m enable on pressure high 90 low 80
lc port del 2526

reset_log
lc port del 993
expect "port del" 0 "" ""
lc port del 993
expect "port del, not listed: lemonctl names the port" 1 "" \
	'Error: port 993 is not listed, so it cannot be deleted (see: lemonctl port list)'
# (port 2525 keeps its forced floor: no FORCE needed)
expect_log "port del" "DEL_PORT flags=0x5 version=1 PORT=993" \
	"DEL_PORT flags=0x5 version=1 PORT=993" \
	"  -> error -2: port is not listed"
lc port add 1
expect "kernel refusal inside a port nest" 1 "" 'Error: mock refuses port 1 (in "port 1")'

reset_log
lc port flush
expect "port flush" 0 "" ""
expect_log "port flush" "SET_CONFIG flags=0x5 version=1 PORTS=[]"
lc -j show
expect_json "no ports" '.ports == []'
lc port list
expect "empty port list" 0 "" ""
lc -j port list
expect_json "empty port list -j" '. == []'

# --- stats -------------------------------------------------------------
reset_state
lc stats
expect "stats: every counter of enum lemonade_stat_attr" 0 "pinned 12
rearmed 3
recycled 4
pressure_events 1
released_unload 18446744073709551615
marked 7
icmp_absorbed 5
icmp_passed 2
icmp_invalid 1
guard_inspected 634
guard_strip_detected 6
guard_restored 5
guard_reset 4
guard_partial_block 3
guard_upstream_masked 2
guard_skipped 9
guard_stale 8
guard_abandoned 10
guard_deferred 11
released_policy 13
icmp_unvalidated 14
listed 15
guard_buffers 16
guard_uninspected 17" ""
lc -j stats
expect_json "stats -j" 'keys_unsorted == ["pinned","rearmed","recycled","pressure_events","released_unload","marked","icmp_absorbed","icmp_passed","icmp_invalid","guard_inspected","guard_strip_detected","guard_restored","guard_reset","guard_partial_block","guard_upstream_masked","guard_skipped","guard_stale","guard_abandoned","guard_deferred","released_policy","icmp_unvalidated","listed","guard_buffers","guard_uninspected"] and
	.icmp_absorbed == 5 and .icmp_passed == 2 and .icmp_invalid == 1 and
	.pinned == 12 and .rearmed == 3 and .recycled == 4 and .pressure_events == 1 and
	.marked == 7 and .guard_inspected == 634 and .guard_skipped == 9 and
	.guard_stale == 8 and .listed == 15 and .guard_buffers == 16 and
	.guard_uninspected == 17'
if grep -q '"released_unload":18446744073709551615,' <<<"$out"; then
	ok "u64 counters print in full"
else
	ko "u64 counters print in full" "$out"
fi
# a counter that is not a u64 is a malformed reply, never a silent 0
for attr in 2 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24; do
	NLMOCK_SHORTSTAT=$attr lc stats
	expect "stats: counter attribute $attr as a u32 is refused" 1 "" \
		"Error: malformed counters in the reply of nf_lemonade"
done
reset_log
lc stats reset
expect "stats reset" 0 "" ""
expect_log "stats reset" "RESET_STATS flags=0x5 version=1"
lc -j stats
expect_json "counters zeroed" '[.[]] | all(. == 0)'

# --- batch -------------------------------------------------------------
reset_state
cat >"$tmp/b1" <<'B'
# a whole configuration
port flush
set enable on timeout 3h pressure high 95 low 85

port add 143 proto imap
port add 993 proto imap timeout unlimited   # IMAPS
port add 25 timeout 1h force
port del 25
port add 587 proto smtp timeout 1d
B
reset_log
lc -b "$tmp/b1"
expect "batch" 0 "" ""
expect_log "batch folds into one SET_CONFIG" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=1 ENABLED=1 TIMEOUT=10800 HIGH=95 LOW=85 ICMP_POLICY=0 ICMP_STATES=0 ICMP_VALIDATE=0 GUARD=0 BUFFERS=256 V4=0x23 V6=0xd PORTS=[143/imap,587/smtp/t86400,993/imap/t0] FORCE"
lc show
expect "after batch" 0 "enable on timeout 3h pressure high 95% low 85%
port 143 proto imap
port 587 proto smtp timeout 1d
port 993 proto imap timeout unlimited
icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
guard restore buffers 256" ""

reset_log
printf 'set enable off\n' | LD_PRELOAD=$NLMOCK "$LEMONCTL" -b - 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then ok "batch from stdin"; else ko "batch from stdin" "$(cat "$tmp/err")"; fi
expect_log "batch keeps the rest, no FORCE" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=2 ENABLED=0 TIMEOUT=10800 HIGH=95 LOW=85 ICMP_POLICY=0 ICMP_STATES=0 ICMP_VALIDATE=0 GUARD=0 BUFFERS=256 V4=0x23 V6=0xd PORTS=[143/imap,587/smtp/t86400,993/imap/t0]"

# a floor forced earlier is sent again unchanged: the module keeps it
# without FORCE, so none is added
lc port add 2000 timeout 10m force
printf 'set enable on\n' >"$tmp/b2"
reset_log
lc -b "$tmp/b2"
expect "batch over a forced floor" 0 "" ""
expect_log "carried-over forced floor: no FORCE added" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=4 ENABLED=1 TIMEOUT=10800 HIGH=95 LOW=85 ICMP_POLICY=0 ICMP_STATES=0 ICMP_VALIDATE=0 GUARD=0 BUFFERS=256 V4=0x23 V6=0xd PORTS=[143/imap,587/smtp/t86400,993/imap/t0,2000/none/t600]"

# save, change everything, restore: identical configuration
lc save
expect "save" 0 "port flush
set enable on timeout 10800 pressure high 95 low 85
set icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
set guard restore buffers 256
port add 143 proto imap
port add 587 proto smtp timeout 86400
port add 993 proto imap timeout unlimited
port add 2000 proto none timeout 600 force" ""
printf '%s\n' "$out" >"$tmp/saved"
before=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
lc set enable off timeout 1d pressure high 50 low 10
lc port flush
lc port add 4190 proto acap
reset_log
lc -b "$tmp/saved"
expect "restore from save" 0 "" ""
after=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
if [ "$before" = "$after" ]; then ok "save round trip"; else ko "save round trip" "$before" "$after"; fi
if [ "$(grep -c '^SET_CONFIG' "$NLMOCK_LOG")" = 1 ]; then ok "restore is one request"; else ko "restore is one request" "$(cat "$NLMOCK_LOG")"; fi

# errors found while folding: exit 1, nothing changed
reset_log
printf 'set enable off\nport del 4444\n' >"$tmp/b3"
lc -b "$tmp/b3"
expect "batch del of an unlisted port" 1 "" \
	"Error: $tmp/b3:2: port 4444 is not listed, so it cannot be deleted (see: lemonctl port list)"
expect_log "nothing but the read" "$G"
printf 'set pressure high 80\n' >"$tmp/b4"
lc -b "$tmp/b4"
expect "batch pressure" 1 "" "Error: $tmp/b4:1: pressure low 85% must be below high 80%"
{
	echo "port flush"
	for p in $(seq 1001 1065); do echo "port add $p"; done
} >"$tmp/b5"
lc -b "$tmp/b5"
expect "batch with too many ports" 1 "" \
	"Error: $tmp/b5:66: cannot add port 1065: at most 64 ports per network namespace"
printf 'set enable off\n\n# the kernel says no\nport add 1 proto imap\n' >"$tmp/b6"
reset_log
lc -b "$tmp/b6"
expect "kernel refusal names the batch line" 1 "" \
	"Error: mock refuses port 1 (in \"port 1\", $tmp/b6:4)"
reset_log
printf 'set enable off\nport frob\n' >"$tmp/b7"
lc -b "$tmp/b7"
expect "batch parse error" 2 "" \
	"Error: $tmp/b7:2: unknown command \"frob\" for \"port\" (a batch line is one of: set, port add, port del or port flush)"
expect_log "parse errors send nothing"
printf 'set enable off\nport add 5 timeout 1h\n' >"$tmp/b8"
lc -b "$tmp/b8"
expect "batch floor check" 1 "" \
	"Error: $tmp/b8:2: timeout 3600 for port 5 is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
expect_log "floor errors send nothing"

# --- errors, warnings, version -------------------------------------------
NLMOCK_EPERM=1 lc set enable on
expect "EPERM" 1 "" "Error: Operation not permitted (changing lemonade configuration needs CAP_NET_ADMIN in this network namespace)"
NLMOCK_EPERM=1 lc port flush
expect "EPERM on port flush" 1 "" "Error: Operation not permitted (changing lemonade configuration needs CAP_NET_ADMIN in this network namespace)"
NLMOCK_WARN=1 lc set enable on
expect "extack warning on success" 0 "" "Warning: mock warning"
NLMOCK_NOCAP=1 lc port add 1
expect "uncapped error echo" 1 "" 'Error: mock refuses port 1 (in "port 1")'
NLMOCK_NOEXTACK=1 lc port add 1
expect "no extack: strerror" 1 "" 'Error: Invalid argument'
NLMOCK_NOEXTACK=1 lc port del 7
expect "port del, no extack: lemonctl names the port" 1 "" \
	'Error: port 7 is not listed, so it cannot be deleted (see: lemonctl port list)'
NLMOCK_NOFAMILY=1 lc show
expect "module missing" 1 "" "Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)"
NLMOCK_NOFAMILY=1 lc -V
expect "-V, module missing" 0 "lemonctl $LEMONADE_VERSION module not loaded" ""
lc -V
expect "-V" 0 "lemonctl $LEMONADE_VERSION module 0.1.0-mock" ""

# --- reading never loads the module ----------------------------------------
# The family is looked up with a CTRL_CMD_GETFAMILY dump, which the kernel
# answers without trying to load anything; a request by name for a missing
# family makes it load nf_lemonade (MODULE_ALIAS_GENL_FAMILY).
export NLMOCK_CTRL_LOG=$tmp/ctrl
MISSING="Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)"
while IFS='|' read -r want args; do
	[ -z "$want" ] && continue
	: >"$NLMOCK_CTRL_LOG"
	# shellcheck disable=SC2086 # word splitting of the table is wanted
	NLMOCK_NOFAMILY=1 NLMOCK_AUTOLOAD=1 lc $args
	if [ "$want" = V ]; then
		expect "$args without the module" 0 "lemonctl $LEMONADE_VERSION module not loaded" ""
	else
		expect "$args without the module" 1 "" "$MISSING"
	fi
	if [ "$(cat "$NLMOCK_CTRL_LOG")" = "GETFAMILY dump" ]; then
		ok "$args: one family dump, no module request"
	else
		ko "$args: one family dump, no module request" "$(cat "$NLMOCK_CTRL_LOG")"
	fi
done <<'TABLE'
V|-V
1|show
1|-j show
1|config show
1|port
1|port list
1|stats
1|flows
1|flows port 143
1|monitor count 1 timeout 2s
1|save
TABLE
# a change by a caller with CAP_NET_ADMIN (root here) may load it
: >"$NLMOCK_CTRL_LOG"
NLMOCK_NOFAMILY=1 NLMOCK_AUTOLOAD=1 lc set enable on
expect "set loads the module by its alias" 0 "" ""
if [ "$(cat "$NLMOCK_CTRL_LOG")" = "GETFAMILY dump
GETFAMILY name=lemonade
modprobe net-pf-16-proto-16-family-lemonade" ]; then
	ok "set: dump, then a request by name"
else
	ko "set: dump, then a request by name" "$(cat "$NLMOCK_CTRL_LOG")"
fi
for args in "set enable on" "port add 993" "port del 143" "port flush" "stats reset"; do
	# shellcheck disable=SC2086
	NLMOCK_NOFAMILY=1 lc $args
	expect "$args: module not loadable" 1 "" "$MISSING"
done
: >"$NLMOCK_CTRL_LOG"
lc show
if [ "$(cat "$NLMOCK_CTRL_LOG")" = "GETFAMILY dump" ]; then
	ok "show with the module: one family dump"
else
	ko "show with the module: one family dump" "$(cat "$NLMOCK_CTRL_LOG")"
fi
unset NLMOCK_CTRL_LOG

if grep -v '^  ->' "$NLMOCK_LOG" | grep -qv 'flags=0x5 version=1'; then
	ko "every request is REQUEST|ACK, version 1" "$(cat "$NLMOCK_LOG")"
else
	ok "every request is REQUEST|ACK, version 1"
fi

# --- icmp and guard ------------------------------------------------------
reset_state
reset_log
lc set icmp pass states all validate on codes4 0-3,13 codes6 none guard log
expect "set icmp and guard" 0 "" ""
expect_log "set icmp and guard" \
	"SET_CONFIG flags=0x5 version=1 ICMP_POLICY=1 ICMP_STATES=1 ICMP_VALIDATE=1 GUARD=2 V4=0x200f V6=0"
lc -j show
expect_json "icmp and guard in JSON" '.icmp == {"policy":"pass","states":"all",
	"validate":true,"codes4":[0,1,2,3,13],"codes6":[]} and .guard == "log"'
lc show
expect "icmp and guard in text" 0 "enable on timeout 2h4m pressure high 90% low 80%
port 143 proto imap
port 587 proto smtp
port 674 proto acap
icmp pass states all validate on codes4 0,1,2,3,13 codes6 none
guard log buffers 256" ""
reset_log
lc set icmp absorb
expect "set icmp absorb" 0 "" ""
lc config set icmp validate off guard restore enable on
expect "icmp among other settings" 0 "" ""
expect_log "only what is given is sent" \
	"SET_CONFIG flags=0x5 version=1 ICMP_POLICY=0" \
	"SET_CONFIG flags=0x5 version=1 ENABLED=1 ICMP_VALIDATE=0 GUARD=0"
reset_log
lc set icmp codes4 0,4
expect "ICMPv4 code 4 refused" 1 "" \
	"Error: ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed"
expect_log "code 4 is refused before sending"
lc save
expect "save with icmp and guard" 0 "port flush
set enable on timeout 7440 pressure high 90 low 80
set icmp absorb states all validate off codes4 0,1,2,3,13 codes6 none
set guard restore buffers 256
port add 143 proto imap
port add 587 proto smtp
port add 674 proto acap" ""
printf '%s\n' "$out" >"$tmp/saved2"
before=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
lc set icmp pass states established validate on codes4 1 codes6 0-7 guard off
lc -b "$tmp/saved2"
expect "restore icmp and guard" 0 "" ""
after=$(LD_PRELOAD=$NLMOCK "$LEMONCTL" -j show)
if [ "$before" = "$after" ]; then ok "save round trip with icmp and guard"; else ko "save round trip with icmp and guard" "$before" "$after"; fi
printf 'set icmp pass\nset icmp states established\nset guard reset\nset icmp codes6 1\n' >"$tmp/b9"
reset_log
lc -b "$tmp/b9"
expect "batch of icmp lines" 0 "" ""
expect_log "icmp lines fold into one request" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=6 ENABLED=1 TIMEOUT=7440 HIGH=90 LOW=80 ICMP_POLICY=1 ICMP_STATES=0 ICMP_VALIDATE=0 GUARD=1 BUFFERS=256 V4=0x200f V6=0x2 PORTS=[143/imap,587/smtp,674/acap]"
printf 'set guard off\nset icmp codes4 5,4\n' >"$tmp/b10"
reset_log
lc -b "$tmp/b10"
expect "batch: code 4 names its line" 1 "" \
	"Error: $tmp/b10:2: ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed"
expect_log "batch: nothing sent"

# --- flows -----------------------------------------------------------------
reset_state
reset_log
lc flows
expect "flows" 0 "ipv4 192.0.2.2:40001 -> 198.51.100.2:143 port 143 state established remaining 2h4m3s timeout 2h4m marked yes guard none id 101
ipv6 [2001:db8:1::2]:40002 -> [2001:db8:2::2]:8587 port 587 state time_wait remaining 1m59s timeout unlimited marked no guard none id 102" ""
expect_log "flows is a dump" "GET_FLOWS flags=0x305 version=1"
lc -j flows
expect_json "flows -j" 'length == 2 and .[0] == {"id":101,"family":"ipv4",
	"src":"192.0.2.2","sport":40001,"dst":"198.51.100.2","dport":143,
	"port":143,"state":"established","remaining":7443,"timeout":7440,
	"unlimited":false,"marked":true,"guard":"none"} and .[1].family == "ipv6" and
	.[1].src == "2001:db8:1::2" and .[1].timeout == 0 and .[1].unlimited == true and
	.[1].marked == false'
reset_log
lc -j flows port 587
expect_json "flows port 587" 'length == 1 and .[0].port == 587'
expect_log "flows port sends the filter" "GET_FLOWS flags=0x305 version=1 FILTER_PORT=587"
lc flows port 9
expect "flows: none" 0 "" ""
lc -j flows port 9
expect_json "flows -j: none" '. == []'
NLMOCK_EPERM=1 lc -j flows
expect "flows needs CAP_NET_ADMIN" 1 "" \
	"Error: Operation not permitted (listing flows needs CAP_NET_ADMIN in this network namespace)"
NLMOCK_NOFAMILY=1 lc flows
expect "flows, module missing" 1 "" "Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)"

# --- monitor -----------------------------------------------------------------
NLMOCK_EVENTS=1 lc monitor count 3
expect "monitor" 0 "icmp_absorbed ipv4 192.0.2.2:40001 -> 198.51.100.2:143 port 143 state established remaining 2h4m3s timeout 2h4m marked yes guard none id 101 icmp type 3 code 1
pressure_release count 17 suppressed 2
200" ""
NLMOCK_EVENTS=1 lc -j monitor count 3
if [ "$rc" = 0 ] && [ -z "$err" ] && [ "$(wc -l <"$tmp/out")" = 3 ] &&
   jq -es 'length == 3 and .[0].event == "icmp_absorbed" and
	.[0].flow.port == 143 and .[0].flow.src == "192.0.2.2" and
	.[0].icmp == {"type":3,"code":1} and
	.[1] == {"event":"pressure_release","count":17,"suppressed":2} and
	.[2] == {"event":"200"}' "$tmp/out" >/dev/null; then
	ok "monitor -j: one JSON object per line"
else
	ko "monitor -j: one JSON object per line" "$out" "$err"
fi
# -t: "[YYYY-MM-DDTHH:MM:SS.UUUUUU] " before each event, as ip -ts monitor
TS='\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\]'
for args in "-t monitor count 3" "monitor -t count 3" "--timestamp monitor count 3"; do
	# shellcheck disable=SC2086
	NLMOCK_EVENTS=1 lc $args
	if [ "$rc" = 0 ] && [ -z "$err" ] && [ "$(wc -l <<<"$out")" = 3 ] &&
	   [ "$(grep -cE "^$TS (icmp_absorbed|pressure_release|200)( |\$)" <<<"$out")" = 3 ] &&
	   [ "$(sed -E "s/^$TS //" <<<"$out")" = "icmp_absorbed ipv4 192.0.2.2:40001 -> 198.51.100.2:143 port 143 state established remaining 2h4m3s timeout 2h4m marked yes guard none id 101 icmp type 3 code 1
pressure_release count 17 suppressed 2
200" ]; then
		ok "$args: a timestamp before each event"
	else
		ko "$args: a timestamp before each event" "exit $rc" "$out" "$err"
	fi
done
NLMOCK_EVENTS=1 lc -t -j monitor count 3
if [ "$rc" = 0 ] && [ -z "$err" ] &&
   jq -es --arg re "^${TS:2:-2}\$" 'length == 3 and all(.[]; (.timestamp | type) == "string" and (.timestamp | test($re))) and
	.[1] == (.[1] | {timestamp} + {"event":"pressure_release","count":17,"suppressed":2})' "$tmp/out" >/dev/null; then
	ok "-t -j monitor: a \"timestamp\" key in each event"
else
	ko "-t -j monitor: a \"timestamp\" key in each event" "$out" "$err"
fi
NLMOCK_EVENTS=1 lc -j monitor count 1
expect_json "no -t: no timestamp" 'has("timestamp") | not'
NLMOCK_EVENTS=1 lc monitor count 1
expect "monitor count 1" 0 "icmp_absorbed ipv4 192.0.2.2:40001 -> 198.51.100.2:143 port 143 state established remaining 2h4m3s timeout 2h4m marked yes guard none id 101 icmp type 3 code 1" ""
start=$(date +%s%N)
lc monitor timeout 1s
ms=$((($(date +%s%N) - start) / 1000000))
if [ "$rc" = 0 ] && [ -z "$out$err" ] && [ "$ms" -ge 1000 ] && [ "$ms" -lt 5000 ]; then
	ok "monitor timeout 1s (${ms} ms)"
else
	ko "monitor timeout 1s" "exit $rc after $ms ms" "$out" "$err"
fi
for sig in TERM INT; do
	LD_PRELOAD=$NLMOCK "$LEMONCTL" monitor >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	sleep 0.5
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then
		ok "monitor ends cleanly on SIG$sig"
	else
		ko "monitor ends cleanly on SIG$sig" "exit $rc" "$(cat "$tmp/err")"
	fi
done
NLMOCK_NOGROUP=1 lc monitor count 1
expect "monitor, no events group" 1 "" \
	"Error: the loaded nf_lemonade sends no events (is it older than lemonctl $LEMONADE_VERSION?)"
NLMOCK_EPERM=1 lc monitor count 1
expect "monitor needs CAP_NET_ADMIN" 1 "" \
	"Error: Operation not permitted (watching lemonade events needs CAP_NET_ADMIN in this network namespace)"

# --- guard buffers and the batch's generation --------------------------
reset_state
reset_log
lc set guard buffers 64
expect "set guard buffers" 0 "" ""
expect_log "set guard buffers" "SET_CONFIG flags=0x5 version=1 BUFFERS=64"
lc show
if grep -qx 'guard restore buffers 64' <<<"$out"; then
	ok "show types guard buffers back"
else
	ko "show types guard buffers back" "$out"
fi
reset_log
lc set guard reset buffers 65536
expect "guard buffers out of range" 2 "" \
	'Error: argument "65536" for "guard buffers" is wrong: expected a number from 0 to 65535'
expect_log "a refused argument sends nothing"

# a change by someone else between the batch's read and its write is not
# overwritten: ESTALE, then the file is folded into the new configuration
reset_state
printf 'set enable off\n' >"$tmp/b3"
: >"$tmp/race"
reset_log
NLMOCK_RACE=$tmp/race lc -b "$tmp/b3"
expect "batch after a concurrent change" 0 "" ""
expect_log "batch reads again on ESTALE" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=1 ESTALE" \
	"  -> error -116: the configuration changed since it was read; read it again" "$G" \
	"SET_CONFIG flags=0x5 version=1 GENERATION=2 ENABLED=0 TIMEOUT=7440 HIGH=90 LOW=80 ICMP_POLICY=0 ICMP_STATES=0 ICMP_VALIDATE=0 GUARD=2 BUFFERS=256 V4=0x23 V6=0xd PORTS=[143/imap,587/smtp,674/acap]"
lc show
if grep -qx 'guard log buffers 256' <<<"$out" && grep -q '^enable off' <<<"$out"; then
	ok "both changes kept"
else
	ko "both changes kept" "$out"
fi

echo "mock: $pass passed, $fail failed"
[ "$fail" = 0 ]
