# SPDX-License-Identifier: GPL-2.0
#
# The table runner of cli_table.sh and cli_absent.sh (sourced after
# lib.sh; not a test itself): a fresh namespace $T, lc to run lemonctl in
# it and row to check one table row.
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

RFC="is below RFC 5382 REQ-5's minimum of 7440 seconds (add \"force\" to override)"
