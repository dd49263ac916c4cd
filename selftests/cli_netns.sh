#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configuration belongs to a network namespace:
# * what is set in one namespace never shows in another;
# * "lemonctl save" fed to "lemonctl -b" in a fresh namespace reproduces
#   the same "lemonctl -j show", byte for byte;
# * a batch file with one bad line changes nothing (the kernel refuses the
#   whole request; a syntax error or a local refusal sends nothing);
# * a process without CAP_NET_ADMIN over the namespace (user nobody, or
#   root of an unprivileged user namespace) gets EPERM for every change
#   and can still read; root of a user namespace that owns its network
#   namespace administers that one.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
checktool "setpriv --version" "run setpriv"
lemonade_load
setup_ns A B F

show() { lemonctl -n "$1" -j show; }

# --- isolation -----------------------------------------------------------
defaults=$(show "$B")
lemonctl -n "$A" set enable off timeout 3h pressure high 95 low 85 \
	icmp pass states all validate on codes4 0-3 codes6 1,3 guard log &&
lemonctl -n "$A" port flush &&
lemonctl -n "$A" port add 143 proto imap &&
lemonctl -n "$A" port add 993 proto imap timeout 1d &&
lemonctl -n "$A" port add 2525 proto smtp timeout 10m force &&
lemonctl -n "$A" port add 4190 proto acap timeout unlimited ||
	fail "configuring namespace A"
conf_a=$(show "$A")
if [ "$(show "$B")" = "$defaults" ] && [ "$conf_a" != "$defaults" ]; then
	pass "namespace A's configuration does not show in B"
else
	fail "namespace B changed with A: $(show "$B")"
fi
if [ -n "$conf_a" ] && jq -e '.enabled == false and .timeout == 10800 and .guard == "log" and
	.icmp == {"policy":"pass","states":"all","validate":true,"codes4":[0,1,2,3],"codes6":[1,3]} and
	[.ports[].port] == [143,993,2525,4190]' <<< "$conf_a" >/dev/null; then
	pass "namespace A holds what was set"
else
	fail "namespace A: $conf_a"
fi
lemonctl -n "$B" set timeout 4h || fail "set timeout 4h in B"
if [ "$(show "$A")" = "$conf_a" ] && [ "$(show "$B" | jq .timeout)" = 14400 ]; then
	pass "a change in B leaves A alone"
else
	fail "A changed with B: $(show "$A")"
fi

# --- save, then -b in a fresh namespace ------------------------------------
lemonctl -n "$A" save > "$TMPD/a.conf" || fail "lemonctl save"
info "saved: $(tr '\n' ';' < "$TMPD/a.conf")"
lemonctl -n "$F" -b "$TMPD/a.conf" || fail "lemonctl -b in a fresh namespace"
if [ "$(show "$F")" = "$conf_a" ]; then
	pass "save | -b in a fresh namespace reproduces show -j exactly"
else
	fail "restored: $(show "$F")"
	info "original: $conf_a"
fi
# and over a namespace configured otherwise (B)
lemonctl -n "$B" -b "$TMPD/a.conf" || fail "lemonctl -b over another configuration"
if [ "$(show "$B")" = "$conf_a" ]; then
	pass "save | -b over another configuration reproduces it too"
else
	fail "restored over B: $(show "$B")"
fi

# --- a batch with one bad line changes nothing ----------------------------
before=$(show "$F")
bad_batch() { # bad_batch NAME WANT-EXIT WANT-STDERR-SUBSTRING LINES...
	local name=$1 want=$2 msg=$3 rc
	shift 3
	printf '%s\n' "$@" > "$TMPD/$name"
	lemonctl -n "$F" -b "$TMPD/$name" > "$TMPD/out" 2> "$TMPD/err"
	rc=$?
	if [ "$rc" = "$want" ] && grep -qF -- "$msg" "$TMPD/err" &&
	   [ "$(show "$F")" = "$before" ]; then
		pass "batch $name: exit $rc, nothing changed ($(head -1 "$TMPD/err"))"
	else
		fail "batch $name: exit $rc (want $want), stderr $(cat "$TMPD/err"), changed: $(show "$F")"
	fi
}
# the kernel refuses line 4: floor too long to store
bad_batch kernel 1 "timeout too long to store in conntrack" \
	'set enable on timeout 5h' 'set icmp absorb guard off' 'port add 8143 proto imap' \
	'port add 8144 timeout 200d' 'port del 993'
bad_batch pmtu 1 "ICMPv4 code 4" \
	'set enable on' 'port flush' 'set icmp codes4 0,1,4'
bad_batch floor 1 "RFC 5382 REQ-5" \
	'port flush' 'set timeout 1h' 'set guard reset'
bad_batch del 1 "port 7777 is not listed" \
	'set timeout 6h' 'port del 7777'
bad_batch bad-syntax 2 "bad-syntax:3:" \
	'set enable on' 'port flush' 'port add 8143 proto pop3' 'set guard off'

# --- without CAP_NET_ADMIN over the namespace --------------------------------
printf 'set enable on\n' > "$TMPD/one.conf"
chmod 644 "$TMPD/one.conf"
chmod 755 "$TMPD"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all"
USERNS="unshare --user --map-root-user"
changes=(
	"set timeout 3h"
	"set enable on"
	"set timeout 600 force"
	"set pressure high 90 low 80"
	"set icmp absorb states established"
	"set guard restore"
	"port add 8143 proto imap"
	"port del 143"
	"port flush"
	"stats reset"
	"-b $TMPD/one.conf"
)
reads=("-j show" "show" "port list" "save" "-V")
PERM="Error: Operation not permitted (changing lemonade configuration needs CAP_NET_ADMIN in this network namespace)"
for who in nobody userns; do
	if [ $who = nobody ]; then
		run=$NOBODY
	else
		run=$USERNS
		if ! ip netns exec "$A" $USERNS true 2>/dev/null; then
			# CI must run this part: there it is a failure
			if [ "${CI:-}" = true ]; then
				fail "cannot create a user namespace"
			else
				info "SKIP: cannot create a user namespace"
			fi
			continue
		fi
	fi
	before=$(show "$A")
	bad=0
	for c in "${changes[@]}"; do
		# shellcheck disable=SC2086
		ip netns exec "$A" $run lemonctl $c > "$TMPD/out" 2> "$TMPD/err"
		rc=$?
		if [ "$rc" != 1 ] || [ "$(cat "$TMPD/err")" != "$PERM" ] || [ -s "$TMPD/out" ]; then
			bad=$((bad + 1))
			info "$who: lemonctl $c: exit $rc: $(cat "$TMPD/err")"
		fi
	done
	if [ $bad = 0 ] && [ "$(show "$A")" = "$before" ]; then
		pass "$who: EPERM for each of ${#changes[@]} changes, configuration unchanged"
	else
		fail "$who: $bad changes not refused with EPERM, or the configuration changed"
	fi
	bad=0
	for c in "${reads[@]}"; do
		# shellcheck disable=SC2086
		ip netns exec "$A" $run lemonctl $c > "$TMPD/out" 2> "$TMPD/err"
		rc=$?
		# shellcheck disable=SC2086
		if [ "$rc" != 0 ] || [ -s "$TMPD/err" ] ||
		   ! cmp -s "$TMPD/out" <(ip netns exec "$A" lemonctl $c 2>&1); then
			# counters may move in between; they only need to read
			if [ "$c" != "-j stats" ] || [ "$rc" != 0 ]; then
				bad=$((bad + 1))
				info "$who: lemonctl $c: exit $rc: $(cat "$TMPD/err")"
			fi
		fi
	done
	if [ $bad = 0 ]; then
		pass "$who: each of ${#reads[@]} reads works and matches root's"
	else
		fail "$who: $bad reads failed"
	fi
	# flows and events show other users' connections, and counters that
	# move with traffic are an oracle for them: CAP_NET_ADMIN
	# shellcheck disable=SC2086
	ip netns exec "$A" $run lemonctl stats > "$TMPD/out" 2> "$TMPD/err"
	rc0=$? e0=$(cat "$TMPD/err")
	# shellcheck disable=SC2086
	ip netns exec "$A" $run lemonctl flows > "$TMPD/out" 2> "$TMPD/err"
	rc1=$? e1=$(cat "$TMPD/err")
	# shellcheck disable=SC2086
	ip netns exec "$A" $run lemonctl monitor count 1 timeout 5s > "$TMPD/out" 2> "$TMPD/err"
	rc2=$? e2=$(cat "$TMPD/err")
	if [ $rc0 = 1 ] && [[ $e0 == "Error: Operation not permitted (reading counters needs CAP_NET_ADMIN"* ]] &&
	   [ $rc1 = 1 ] && [[ $e1 == "Error: Operation not permitted (listing flows needs CAP_NET_ADMIN"* ]] &&
	   [ $rc2 = 1 ] && [[ $e2 == "Error: Operation not permitted (watching lemonade events needs CAP_NET_ADMIN"* ]]; then
		pass "$who: stats, flows and monitor need CAP_NET_ADMIN too"
	else
		fail "$who: stats exit $rc0 ($e0), flows exit $rc1 ($e1), monitor exit $rc2 ($e2)"
	fi
done

# root of a user namespace that owns its network namespace administers it
if unshare --user --map-root-user --net true 2>/dev/null; then
	out=$(unshare --user --map-root-user --net sh -c \
		'lemonctl set timeout 5h guard log && lemonctl port add 8143 && lemonctl -j show' 2>&1)
	if [ -n "$out" ] && jq -e '.timeout == 18000 and .guard == "log" and ([.ports[].port] | index(8143))' \
		<<< "$out" >/dev/null 2>&1; then
		pass "root of a user namespace administers the network namespace it owns"
	else
		fail "user-namespace-owned netns: $out"
	fi
	if [ "$(show "$A")" = "$before" ]; then
		pass "... and that changed no other namespace"
	else
		fail "namespace A changed"
	fi
	# what a tenant may not do to the host's shared table and records
	out=$(unshare --user --map-root-user --net sh -c '
		for c in "set timeout unlimited" "set timeout 2d" "port add 8143 timeout unlimited"; do
			lemonctl $c 2>&1; echo "exit $?"
		done
		for p in $(seq 9000 9016); do lemonctl port add $p 2>&1 || { echo "exit $? at $p"; break; }; done
		lemonctl -j show' 2>&1)
	info "tenant: $(tr '\n' '|' <<< "$out" | cut -c1-600)"
	if grep -q "a user namespace may not set an unlimited floor" <<< "$out" &&
	   grep -q "a user namespace may not set a floor above the module parameter userns_max_floor" <<< "$out" &&
	   grep -q "a user namespace may not list more ports than the module parameter userns_max_ports" <<< "$out" &&
	   [ "$(grep -c '^exit 1' <<< "$out")" -ge 3 ] &&
	   jq -e '.timeout == 7440 and (.ports | length) == 16' <<< "$(sed -n '/^{/,$p' <<< "$out")" >/dev/null 2>&1; then
		pass "a user namespace's administrator gets no unlimited floor, no floor above 1 day, at most 16 ports"
	else
		fail "tenant limits: $(tr '\n' '|' <<< "$out" | cut -c1-600)"
	fi
elif [ "${CI:-}" = true ]; then
	fail "unprivileged user and network namespaces not available"
else
	info "SKIP: unprivileged user and network namespaces not available"
fi
exit $ret
