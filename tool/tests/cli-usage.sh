#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Table-driven tests of lemonctl's command line that need no kernel module:
# usage errors, the tool's own RFC 5382 check, "module not loaded", help
# and version. Run with LEMONCTL=path/to/lemonctl (default ../lemonctl).

set -u

here=$(cd "$(dirname "$0")" && pwd)
LEMONCTL=${LEMONCTL:-$here/../lemonctl}
LEMONADE_VERSION=${LEMONADE_VERSION:-0.1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
skip=0

module_loaded=false
if [ -d /sys/module/nf_lemonade ]; then
	module_loaded=true
fi

MISSING='Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)'
RFC='is below RFC 5382 REQ-5'"'"'s minimum of 7440 seconds (add "force" to override)'

# check EXIT STDERR-MATCH ARGS...
# STDERR-MATCH: "=text" exact one line, "~text" one line containing text,
# "" nothing on stderr. Usage errors and refusals print nothing on stdout.
check() {
	local want_rc=$1 want_err=$2
	shift 2
	local rc err out lines

	"$LEMONCTL" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	err=$(cat "$tmp/err")
	out=$(cat "$tmp/out")
	lines=$(wc -l <"$tmp/err")
	local ok=true why=""
	if [ "$rc" != "$want_rc" ]; then
		ok=false
		why="exit $rc, want $want_rc"
	fi
	case $want_err in
	=*)
		if [ "$err" != "${want_err#=}" ] || [ "$lines" != 1 ]; then
			ok=false
			why="$why; stderr differs"
		fi
		;;
	~*)
		if [[ $err != *"${want_err#\~}"* ]] || [ "$lines" != 1 ] ||
		   [[ $err != Error:* ]]; then
			ok=false
			why="$why; stderr lacks the message or is not one Error: line"
		fi
		;;
	"")
		if [ -n "$err" ]; then
			ok=false
			why="$why; unexpected stderr"
		fi
		;;
	esac
	if [ "$want_rc" != 0 ] && [ -n "$out" ]; then
		ok=false
		why="$why; unexpected stdout"
	fi
	if $ok; then
		pass=$((pass + 1))
		printf 'PASS: lemonctl %s\n' "$*"
	else
		fail=$((fail + 1))
		printf 'FAIL: lemonctl %s: %s\n' "$*" "$why"
		printf '  stderr: %s\n' "$err"
		printf '  stdout: %s\n' "$out"
	fi
}

# check_out EXIT STDOUT-MATCH ARGS...: stdout contains the text, no stderr.
check_out() {
	local want_rc=$1 want_out=$2
	shift 2
	local rc out err

	"$LEMONCTL" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	if [ "$rc" = "$want_rc" ] && [[ $out == *"$want_out"* ]] && [ -z "$err" ]; then
		pass=$((pass + 1))
		printf 'PASS: lemonctl %s\n' "$*"
	else
		fail=$((fail + 1))
		printf 'FAIL: lemonctl %s: exit %s (want %s), stdout lacks "%s"\n' \
			"$*" "$rc" "$want_rc" "$want_out"
		printf '  stderr: %s\n' "$err"
	fi
}

# Needs the module absent (else the kernel would answer).
check_nomod() {
	if $module_loaded; then
		skip=$((skip + 1))
		printf 'SKIP: lemonctl %s (nf_lemonade is loaded)\n' "${*:3}"
		return
	fi
	check "$@"
}

batch() {
	local name=$1
	shift
	printf '%s\n' "$@" >"$tmp/$name"
	printf '%s' "$tmp/$name"
}

# --- usage errors: exit 2, one "Error:" line ---------------------------
while IFS='|' read -r msg args; do
	[ -z "$msg" ] && continue
	# shellcheck disable=SC2086 # word splitting of the table is wanted
	check 2 "$msg" $args
done <<'TABLE'
=Error: unknown object "foo" (try: lemonctl help)|foo
=Error: unknown object "Show" (try: lemonctl help)|Show
=Error: unknown option "-x" (try: lemonctl help)|-x show
=Error: unknown option "--frob" (try: lemonctl help)|--frob
=Error: option "-n" needs an argument (try: lemonctl help)|-n
=Error: option "-b" needs an argument (try: lemonctl help)|-b
~argument "a/b" for "-n" is wrong|-n a/b show
~argument ".." for "-n" is wrong|-n .. show
=Error: unknown argument "frob" to "show" (try: lemonctl help)|show frob
=Error: unknown command "frob" for "config" (try: lemonctl config help)|config frob
=Error: "set" needs at least one of timeout, enable, pressure, icmp, guard (try: lemonctl set help)|set
~"set" needs at least one of|set force
~"set" needs at least one of|config set
=Error: "timeout" needs a value (try: lemonctl set help)|set timeout
=Error: "enable" needs a value (try: lemonctl set help)|set enable
~argument "2x" for "timeout" is wrong: unknown unit|set timeout 2x
~argument "0" for "timeout" is wrong: a zero duration is not allowed|set timeout 0
=Error: argument "4294967296" for "timeout" is wrong: too long (use "unlimited" for no limit)|set timeout 4294967296
=Error: argument "50000d" for "timeout" is wrong: too long (use "unlimited" for no limit)|set timeout 50000d
=Error: argument "-5" for "timeout" is wrong: not a duration (use seconds, or units d h m s largest first, e.g. 2h4m, or "unlimited")|set timeout -5
=Error: argument "-1" for "count" is wrong: expected a number of events from 1|monitor count -1
=Error: argument "-1" for "count" is wrong: expected a number of events from 1|-j monitor count -1 timeout 1s
=Error: option "--json" takes no argument (try: lemonctl help)|--json=yes show
=Error: option "--pretty" takes no argument (try: lemonctl help)|show --pretty=1
=Error: unknown option "--js" (try: lemonctl help)|--js show
=Error: unknown option "--frob" (try: lemonctl help)|show --frob
=Error: unknown option "-x" (try: lemonctl help)|show -jx
=Error: option "--netns" needs an argument (try: lemonctl help)|show --netns
=Error: argument "a/b" for "--netns" is wrong: expected a name from /run/netns (see: ip netns list)|--netns=a/b show
=Error: argument "a/b" for "--netns" is wrong: expected a name from /run/netns (see: ip netns list)|--netns a/b show
=Error: argument ".." for "-n" is wrong: expected a name from /run/netns (see: ip netns list)|-n.. show
~argument "4m2h" for "timeout" is wrong: units must be given largest first|set timeout 4m2h
~argument "2h30" for "timeout" is wrong|set timeout 2h30
~argument "maybe" for "enable" is wrong: expected "on" or "off"|set enable maybe
~"pressure" needs "high PCT" and/or "low PCT"|set pressure
~argument "101" for "pressure high" is wrong|set pressure high 101
~argument "x" for "pressure low" is wrong|set pressure low x
=Error: pressure low 90% must be below high 80%|set pressure high 80 low 90
~argument "timeout" is given twice|set timeout 3h timeout 4h
~unknown argument "frob" to "set"|set timeout 3h frob
=Error: "icmp" needs absorb, pass, states, validate, codes4 or codes6 (try: lemonctl set help)|set icmp
~argument "drop" for "icmp" is wrong: expected absorb, pass, states, validate, codes4 or codes6|set icmp drop
~argument "timeout" for "icmp" is wrong|set icmp timeout 3h
~argument "sometimes" for "icmp states" is wrong: expected "established" or "all"|set icmp states sometimes
~argument "maybe" for "icmp validate" is wrong: expected "on" or "off"|set icmp absorb validate maybe
~argument "16" for "icmp codes4" is wrong: expected codes from 0 to 15|set icmp codes4 16
~argument "0,8" for "icmp codes6" is wrong: expected codes from 0 to 7|set icmp codes6 0,8
~argument "1,,2" for "icmp codes4" is wrong|set icmp codes4 1,,2
~argument "3-1" for "icmp codes4" is wrong|set icmp codes4 3-1
~argument "x" for "icmp codes6" is wrong|set icmp codes6 x
=Error: "icmp states" needs a value (try: lemonctl set help)|set icmp states
~argument "icmp validate" is given twice|set icmp validate on validate off
~argument "icmp pass" conflicts with an earlier policy|set icmp absorb pass
~argument "icmp" is given twice|set icmp absorb icmp pass
=Error: "guard" needs a value (try: lemonctl set help)|set guard
=Error: argument "maybe" for "guard" is wrong: expected restore, reset, log, off or buffers N|set guard maybe
~argument "guard policy" is given twice|set guard log guard off
=Error: unknown argument "x" to "flows" (try: lemonctl flows help)|flows x
=Error: "port" needs a port number (try: lemonctl flows help)|flows port
~argument "0" for "port" is wrong|flows port 0
~unknown argument "143" to "flows"|flows port 143 143
=Error: unknown argument "x" to "monitor" (try: lemonctl monitor help)|monitor x
=Error: "count" needs a value (try: lemonctl monitor help)|monitor count
~argument "0" for "count" is wrong: expected a number of events from 1|monitor count 0
~argument "x" for "count" is wrong|monitor count x
~argument "1x" for "timeout" is wrong|monitor timeout 1x
~argument "count" is given twice|monitor count 1 count 2
=Error: "port add" needs a port number (try: lemonctl port help)|port add
~argument "0" for "port" is wrong: expected a TCP port number from 1 to 65535|port add 0
~argument "65536" for "port" is wrong|port add 65536
~argument "imap" for "port" is wrong|port add imap
~argument "pop3" for "proto" is wrong: expected imap, smtp, acap or none|port add 143 proto pop3
~"timeout" needs a value|port add 143 timeout
~argument "1x" for "timeout" is wrong|port add 143 timeout 1x
~argument "proto" is given twice|port add 143 proto imap proto imap
~unknown argument "frob" to "port add"|port add 143 frob
=Error: "port del" needs a port number (try: lemonctl port help)|port del
~unknown argument "extra" to "port del"|port del 143 extra
~unknown argument "now" to "port flush"|port flush now
~unknown argument "x" to "port list"|port list x
=Error: unknown command "frob" for "port" (try: lemonctl port help)|port frob
=Error: unknown command "frob" for "stats" (try: lemonctl stats help)|stats frob
~unknown argument "x" to "stats reset"|stats reset x
~unknown argument "x" to "save"|save x
=Error: "save" prints commands, not JSON (try: lemonctl -j show)|-j save
~unknown object "frob" (try: lemonctl help)|help frob
TABLE

# A typo is reported before anything is sent, even without the module.
check 2 '~"-b" takes the commands from a file; "show" is one too many' -b /dev/null show
check 2 '~cannot open batch file' -b "$tmp/does-not-exist"

# --- batch files: parse errors name FILE:LINE, exit 2, nothing sent ----
f=$(batch bad1 '# restore' 'set enable on' '' 'port add 143 proto pop3')
check 2 "=Error: $f:4: argument \"pop3\" for \"proto\" is wrong: expected imap, smtp, acap or none" -b "$f"
f=$(batch bad2 'show')
check 2 "~$f:1: \"show\" cannot be used in a batch file" -b "$f"
f=$(batch bad3 'set timeout 3h' 'port flush' 'frob')
check 2 "~$f:3: unknown command \"frob\"" -b "$f"
f=$(batch bad4 'set timeout 600' 'port add 1 proto frob')
check 2 "~$f:2: argument \"frob\"" -b "$f"
printf 'set enable on\nstats\n' >"$tmp/stdin-batch"
"$LEMONCTL" -b - <"$tmp/stdin-batch" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 2 ] && grep -qx 'Error: <stdin>:2: "stats" cannot be used in a batch file (a line is one of: set, port add, port del or port flush)' "$tmp/err"; then
	pass=$((pass + 1)); echo 'PASS: lemonctl -b - (parse error on stdin)'
else
	fail=$((fail + 1)); echo "FAIL: lemonctl -b - : exit $rc: $(cat "$tmp/err")"
fi
f=$(batch empty '# nothing' '')
check 0 '' -b "$f"

# --- the tool's own RFC 5382 REQ-5 check: exit 1, nothing sent ---------
check 1 "=Error: timeout 600 $RFC" set timeout 600
check 1 "=Error: timeout 600 $RFC" set timeout 10m enable on
check 1 "=Error: timeout 7439 $RFC" config set timeout 7439
check 1 "=Error: timeout 60 for port 993 $RFC" port add 993 timeout 1m
# ICMPv4 code 4 carries path MTU discovery: refused like the kernel does
PMTU='ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed'
check 1 "=Error: $PMTU" set icmp codes4 0,4
check 1 "=Error: $PMTU" set icmp absorb codes4 0-5 codes6 0
f=$(batch pmtu 'set enable on' 'set icmp codes4 3-4')
check 1 "=Error: $f:2: $PMTU" -b "$f"
f=$(batch low1 'set enable on' 'port add 993 timeout 2h force' 'set timeout 2h')
check 1 "=Error: $f:3: timeout 7200 $RFC" -b "$f"

# --- module not loaded: exit 1, the exact message ---------------------
check_nomod 1 "=$MISSING"
check_nomod 1 "=$MISSING" show
check_nomod 1 "=$MISSING" -j show
check_nomod 1 "=$MISSING" config
check_nomod 1 "=$MISSING" port
check_nomod 1 "=$MISSING" port list
check_nomod 1 "=$MISSING" stats
check_nomod 1 "=$MISSING" stats reset
check_nomod 1 "=$MISSING" save
check_nomod 1 "=$MISSING" set timeout 2h4m enable on pressure high 90 low 80
check_nomod 1 "=$MISSING" set timeout 600 force
check_nomod 1 "=$MISSING" set timeout unlimited
check_nomod 1 "=$MISSING" port add 143 proto imap timeout unlimited
check_nomod 1 "=$MISSING" port del 143
check_nomod 1 "=$MISSING" port flush
check_nomod 1 "=$MISSING" set icmp pass states all validate on codes4 0,1 codes6 none
check_nomod 1 "=$MISSING" set guard off
check_nomod 1 "=$MISSING" flows
check_nomod 1 "=$MISSING" -j flows port 143
check_nomod 1 "=$MISSING" monitor count 1 timeout 1s
f=$(batch good 'port flush' 'set enable on timeout 7440 pressure high 90 low 80' \
	'port add 143 proto imap' 'port add 587 proto smtp  # submission' \
	'port add 674 proto acap timeout 1d' 'port del 674')
check_nomod 1 "=$MISSING" -b "$f"
check 1 '=Error: cannot open network namespace "lemonctl-test-none": No such file or directory (see: ip netns list)' \
	-n lemonctl-test-none show

# --- help and version: exit 0 -----------------------------------------
check_out 0 'Usage: lemonctl [ OPTIONS ] OBJECT' help
check_out 0 'Usage: lemonctl [ OPTIONS ] OBJECT' -h
check_out 0 'Usage: lemonctl [ OPTIONS ] OBJECT' --help
check_out 0 'Usage: lemonctl [ OPTIONS ] OBJECT' show -jh
check_out 0 'lemonctl config [ show ]' show -h
check_out 0 'lemonctl monitor [ count N ]' monitor --help
check_out 0 'lemonctl port add PORT' port help
check_out 0 'Usage: lemonctl [ OPTIONS ] OBJECT' help help
check_out 0 'lemonctl config [ show ]' help show
check_out 0 'lemonctl config [ show ]' show help
check_out 0 'lemonctl port add PORT' help port
check_out 0 'lemonctl port add PORT' port add help
check_out 0 'lemonctl set SETTING' set help
check_out 0 'lemonctl set SETTING' config set help
check_out 0 'lemonctl config' config help
check_out 0 'lemonctl stats reset' stats help
check_out 0 'lemonctl save' save help
check_out 0 'lemonctl flows [ port PORT ]' flows help
check_out 0 'lemonctl flows [ port PORT ]' help flows
check_out 0 'lemonctl monitor [ count N ] [ timeout DURATION ]' monitor help
check_out 0 'lemonctl monitor [ count N ]' help monitor
check_out 0 'icmp ICMP...' set help
check_out 0 'GUARD := { restore | reset | log | off | buffers N }' set help
if $module_loaded; then
	check_out 0 "lemonctl $LEMONADE_VERSION module " -V
else
	check_out 0 "lemonctl $LEMONADE_VERSION module not loaded" -V
	check_out 0 "lemonctl $LEMONADE_VERSION module not loaded" --version
fi

echo "cli-usage: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
