#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lemonctl against the real module, table-driven: each row is a command
# (run in a fresh network namespace, in order: rows change the state the
# next ones see), its expected exit status and what its output must hold.
# (The module's absence: cli_absent.sh.)
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
lemonade_load
source "$(dirname "$0")/lib_cli.bash"
CT="ip netns exec $T conntrack"
# typed_back: every line "show" prints, given back to "set" or "port add"
# (after a change of everything), gives the same configuration
typed_back() {
	local line before
	lemonctl -n "$T" show > "$TMPD/shown" || return 1
	before=$(lemonctl -n "$T" -j show)
	lemonctl -n "$T" set timeout 1d enable off pressure high 50 low 10 icmp pass guard off &&
		lemonctl -n "$T" port flush || return 1
	while read -r line; do
		case $line in
		port\ *) lemonctl -n "$T" port add ${line#port } ;;
		*) lemonctl -n "$T" set $line ;;
		esac || { echo "refused: $line"; return 1; }
	done < "$TMPD/shown"
	[ "$(lemonctl -n "$T" -j show)" = "$before" ] || { echo "differs: $before"; return 1; }
}
export -f typed_back
export T TMPD
while IFS='|' read -r want args check; do
	[ -z "$want" ] || [[ $want == \#* ]] && continue
	args=${args//@T/$T}
	row "$want" "$args" "$check"
done <<TABLE
# --- the defaults: RFC 5382's policy -------------------------------------
0|-j show|jq:.enabled == true and .timeout == 7440 and .pressure == {"high":90,"low":80} and ([.ports[] | [.port, .proto, .timeout, .own_timeout]] == [[143,"imap",7440,false],[587,"smtp",7440,false],[674,"acap",7440,false]]) and .icmp == {"policy":"absorb","states":"established","validate":false,"codes4":[0,1,5],"codes6":[0,2,3]} and .guard == "restore" and .unlimited == false and .guard_buffers == 256 and keys_unsorted == ["enabled","timeout","unlimited","pressure","ports","icmp","guard","guard_buffers"]
0|show|~enable on timeout 2h4m pressure high 90% low 80%
0|show|~port 587 proto smtp
0|sh:lemonctl -n @T show > \$TMPD/shown0 && ! grep -qF "(global)" \$TMPD/shown0 && grep -qx "port 143 proto imap" \$TMPD/shown0|-
0|sh:typed_back|=
0|show|~icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
0|@x show|~guard restore
0|@x config show|~port 143 proto imap
# --- set timeout: durations, the RFC 5382 floor, force, unlimited ---------
0|set timeout 2h30m|=
0|-j show|jq:.timeout == 9000 and .ports[0].timeout == 9000
1|set timeout 600|!Error: timeout 600 $RFC
1|set timeout 2h enable off|!Error: timeout 7200 $RFC
0|set timeout 10m force|=
0|show|~enable on timeout 10m force pressure
0|set enable off|=
0|-j show|jq:.timeout == 600 and .enabled == false
0|set timeout unlimited enable on|=
0|-j show|jq:.timeout == 0 and .unlimited == true and .enabled == true and .ports[0].timeout == 0 and .ports[0].unlimited == true
0|show|~enable on timeout unlimited
1|set timeout 200d|!Error: timeout too long to store in conntrack; use unlimited (0)
2|set timeout 0|~a zero duration is not allowed
0|set timeout 2h4m|=
# --- pressure marks --------------------------------------------------------
0|set pressure high 95 low 85|=
1|set pressure low 96|!Error: pressure marks need 0 < low < high <= 100 (percent of nf_conntrack_max)
0|-j show|jq:.pressure == {"high":95,"low":85} and .timeout == 7440
2|set pressure high 101|~argument "101" for "pressure high" is wrong
0|set pressure high 90% low 80%|=
# --- the ICMP shield's settings ------------------------------------------
0|set icmp pass states all validate on codes4 0-3,13 codes6 1|=
1|set icmp codes4 0,4|!Error: ICMPv4 code 4 (fragmentation needed) carries path MTU discovery and is never absorbed
0|-j show|jq:.icmp == {"policy":"pass","states":"all","validate":true,"codes4":[0,1,2,3,13],"codes6":[1]}
0|show|~icmp pass states all validate on codes4 0,1,2,3,13 codes6 1
0|sh:typed_back|=
2|set icmp codes6 8|~argument "8" for "icmp codes6" is wrong: expected codes from 0 to 7
0|set icmp codes4 none codes6 none|=
0|-j show|jq:.icmp.codes4 == [] and .icmp.codes6 == [] and .icmp.policy == "pass"
0|set icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3|=
# --- the guard's policy ----------------------------------------------------
0|set guard log|=
0|show|~guard log
0|set guard reset|=
0|-j show|jq:.guard == "reset" and .icmp == {"policy":"absorb","states":"established","validate":false,"codes4":[0,1,5],"codes6":[0,2,3]}
2|set guard maybe|~expected restore, reset, log, off or buffers N
0|config set guard off enable off|=
0|-j show|jq:.guard == "off" and .enabled == false
0|set guard restore enable on|=
0|set guard buffers 8|=
0|show|~guard restore buffers 8
0|sh:typed_back|=
2|set guard buffers 65536|~expected a number from 0 to 65535
0|-j show|jq:.guard_buffers == 8 and .guard == "restore"
0|set guard buffers 256|=
# --- ports -------------------------------------------------------------------
0|port add 993 proto imap timeout 1d|=
0|port add 2525 proto smtp timeout unlimited|=
0|-j port list|jq:[.[].port] == [143,587,674,993,2525] and .[3] == {"port":993,"proto":"imap","timeout":86400,"unlimited":false,"own_timeout":true}
0|port list|~port 2525 proto smtp timeout unlimited
1|port add 2526 timeout 1h|!Error: timeout 3600 for port 2526 $RFC
0|port add 2526 timeout 1h force|=
0|port list|~port 2526 proto none timeout 1h force
0|sh:typed_back|=
0|port del 2526|=
1|port del 2526|!Error: port 2526 is not listed, so it cannot be deleted (see: lemonctl port list)
0|port add 993 proto none|=
0|port delete 2525|=
0|-j port list|jq:[.[].port] == [143,587,674,993] and .[3] == {"port":993,"proto":"none","timeout":7440,"unlimited":false,"own_timeout":false}
0|port del 993|=
2|port add 0|~expected a TCP port number from 1 to 65535
2|port add 143 proto pop3|~expected imap, smtp, acap or none
# --- counters ----------------------------------------------------------------
0|-j stats|jq:keys_unsorted == ["pinned","rearmed","recycled","pressure_events","released_unload","marked","icmp_absorbed","icmp_passed","icmp_invalid","guard_inspected","guard_strip_detected","guard_restored","guard_reset","guard_partial_block","guard_upstream_masked","guard_skipped","guard_stale","guard_abandoned","guard_deferred","released_policy","icmp_unvalidated","listed","guard_buffers","guard_uninspected"] and ([.[]] | all(type == "number"))
0|stats reset|=
0|stats|~icmp_absorbed 0
# --- flows: none yet, then two inserted entries, one on a listed port,
# adopted when the module is enabled again (they have no extension) -------
0|-j flows|jq:. == []
0|sh:$CT -I -p tcp -s 192.0.2.9 -d 198.51.100.9 --sport 40001 --dport 143 --state ESTABLISHED -t 3000 -u ASSURED,SEEN_REPLY && $CT -I -p tcp -s 192.0.2.9 -d 198.51.100.9 --sport 40002 --dport 8080 --state ESTABLISHED -t 3000 -u ASSURED,SEEN_REPLY|-
0|-j flows|jq:. == []
0|set enable off|=
0|set enable on|=
0|-j flows|jq:length == 1 and (.[0] | .family == "ipv4" and .src == "192.0.2.9" and .sport == 40001 and .dst == "198.51.100.9" and .dport == 143 and .port == 143 and .state == "established" and .remaining > 2700 and .remaining <= 3000 and .timeout == 7440 and .unlimited == false and .marked == false and .guard == "none" and (.id | type) == "number")
0|@x flows|~ipv4 192.0.2.9:40001 -> 198.51.100.9:143 port 143 state established remaining
0|flows port 587|=
2|flows port 0|~expected a TCP port number
# --- monitor: nothing happens here, so a bounded run ends quietly ---------
0|-j monitor count 1 timeout 1s|=
2|monitor count 0|~expected a number of events from 1
2|monitor count -1|!Error: argument "-1" for "count" is wrong: expected a number of events from 1
# --- save, help, version, usage -------------------------------------------
0|save|~set icmp absorb states established validate off codes4 0,1,5 codes6 0,2,3
2|-j save|!Error: "save" prints commands, not JSON (try: lemonctl -j show)
0|set help|~icmp ICMP...
0|help|~lemonctl monitor [ count N ] [ timeout DURATION ]
0|-V|=lemonctl $VERSION module $VERSION
2|frob|!Error: unknown object "frob" (try: lemonctl help)
TABLE

# -p changes only the layout
compact=$(lemonctl -n "$T" -j show)
pretty=$(lemonctl -n "$T" -j -p show)
if [ "$(jq -c . <<< "$pretty")" = "$compact" ] && [ "$(wc -l <<< "$pretty")" -gt 10 ]; then
	pass "-j -p is the same JSON, indented"
else
	fail "-j -p differs from -j: $pretty"
fi

exit $ret
