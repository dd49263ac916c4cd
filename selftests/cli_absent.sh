#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lemonctl without the module, table-driven like cli_table.sh: with the
# automatic load disabled, every command that needs the module says
# "Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)" and exits
# 1; checks that need no module still work. Then a lookup of the family
# loads the module by its alias (MODULE_ALIAS_GENL_FAMILY).
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
old_modprobe=$(cat /proc/sys/kernel/modprobe)
restore_modprobe() {
	echo "$old_modprobe" > /proc/sys/kernel/modprobe
	cleanup
}
trap restore_modprobe EXIT
setup_ns T
VERSION=$(cat "$REPO/VERSION")

# lc ARGS...: lemonctl -n $T (ARGS "@x ...": run inside $T instead)
lc() {
	if [ "${1:-}" = "@x" ]; then
		shift
		ip netns exec "$T" lemonctl "$@"
	else
		lemonctl -n "$T" "$@"
	fi >"$TMPD/out" 2>"$TMPD/err" </dev/null
	rc=$?
	out=$(cat "$TMPD/out")
	err=$(cat "$TMPD/err")
}

# row EXIT ARGS CHECK
#   -        nothing but the exit status
#   =TEXT    stdout is TEXT (may be empty), stderr empty
#   ~TEXT    stdout or stderr contains TEXT
#   !TEXT    stderr is exactly the one line TEXT, stdout empty
#   jq:EXPR  stdout is JSON for which jq -e EXPR holds, stderr empty
# ARGS "sh:CMD" runs CMD instead (a setup step; CHECK applies to it).
row() {
	local want=$1 args=$2 check=$3 ok=true why=""
	local -a argv
	if [[ $args == sh:* ]]; then
		bash -c "${args#sh:}" >"$TMPD/out" 2>"$TMPD/err" </dev/null
		rc=$?
		out=$(cat "$TMPD/out")
		err=$(cat "$TMPD/err")
	else
		read -r -a argv <<< "$args"
		lc "${argv[@]}"
	fi
	[ "$rc" = "$want" ] || { ok=false; why="exit $rc, want $want"; }
	case $check in
	-) ;;
	=*)
		[ "$out" = "${check#=}" ] && [ -z "$err" ] ||
			{ ok=false; why="$why; output differs"; }
		;;
	~*)
		[[ "$out$err" == *"${check#\~}"* ]] ||
			{ ok=false; why="$why; no \"${check#\~}\""; }
		;;
	!*)
		[ "$err" = "${check#!}" ] && [ -z "$out" ] ||
			{ ok=false; why="$why; stderr differs"; }
		;;
	jq:*)
		# (jq 1.6 -e succeeds on empty input)
		[ -z "$err" ] && [ -n "$out" ] &&
			jq -e "${check#jq:}" "$TMPD/out" >/dev/null 2>&1 ||
			{ ok=false; why="$why; jq ${check#jq:} is not true"; }
		;;
	esac
	if $ok; then
		pass "lemonctl $args"
	else
		fail "lemonctl $args: $why"
		echo "#   stdout: $(head -c 600 "$TMPD/out")"
		echo "#   stderr: $(head -c 600 "$TMPD/err")"
	fi
}

# --- the module absent ------------------------------------------------------
RFC="is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
lemonade_unload
echo /bin/false > /proc/sys/kernel/modprobe	# no automatic load
MISSING='Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)'
while IFS='|' read -r want args check; do
	[ -z "$want" ] && continue
	row "$want" "$args" "$check"
done <<TABLE
1|show|!$MISSING
1|@x -j show|!$MISSING
1|set timeout 3h|!$MISSING
1|set icmp pass guard log|!$MISSING
1|port add 8143 proto imap|!$MISSING
1|port list|!$MISSING
1|stats reset|!$MISSING
1|flows port 143|!$MISSING
1|monitor count 1|!$MISSING
1|save|!$MISSING
0|-V|=lemonctl $VERSION module not loaded
1|set timeout 600|!Error: timeout 600 $RFC
1|set icmp codes4 4|!Error: ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed
2|frob|!Error: unknown object "frob" (try: lemonctl help)
TABLE
echo "$old_modprobe" > /proc/sys/kernel/modprobe
# a lookup of the family loads the module (MODULE_ALIAS_GENL_FAMILY)
row 0 "-j show" 'jq:.timeout == 7440'
if grep -q '^nf_lemonade ' /proc/modules; then
	pass "the family lookup loaded nf_lemonade"
else
	fail "nf_lemonade was not loaded by the family lookup"
fi
exit $ret
