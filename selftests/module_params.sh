#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Module parameters out of range are refused with a message naming the
# range, at load (the module does not load) and, for the writable ones,
# at run time (the value stays as it was): scan_interval, guard_stall,
# event_rate and guard_buffers_max, and the load-time-only high_water.
source "$(dirname "$0")/lib.sh"

# loglines REGEX: a kernel log line since the mark matches REGEX
mark() { LOG_MARK=$(dmesg | wc -l); }
logged() { dmesg | tail -n +$((LOG_MARK + 1)) | grep -q -E -- "$1"; }

# NAME BAD GOOD MESSAGE
for spec in "scan_interval 9 3600 scan_interval is 10..3600 seconds" \
	"guard_stall 3601 1 guard_stall is 1..3600 seconds" \
	"event_rate 100001 0 event_rate is 0..100000 events per second" \
	"guard_buffers_max 1048577 1048576 guard_buffers_max is 0..1048576 negotiations"; do
	set -- $spec
	name=$1 bad=$2 good=$3
	shift 3
	msg="$*"
	lemonade_unload
	mark
	if modprobe nf_lemonade "$name=$bad" 2>/dev/null; then
		fail "modprobe nf_lemonade $name=$bad loaded"
	elif grep -q '^nf_lemonade ' /proc/modules; then
		fail "$name=$bad: the module is loaded"
	elif ! logged "nf_lemonade: $msg"; then
		fail "$name=$bad refused at load, but the log does not say '$msg'"
	else
		pass "$name=$bad refused at load: '$msg'"
	fi
	lemonade_load
	f=/sys/module/nf_lemonade/parameters/$name
	before=$(cat "$f")
	mark
	if echo "$bad" > "$f" 2>/dev/null; then
		fail "$name: writing $bad was accepted (now $(cat "$f"))"
	elif [ "$(cat "$f")" != "$before" ] || ! logged "nf_lemonade: $msg"; then
		fail "$name: writing $bad: value $(cat "$f") (was $before), log: $(dmesg | tail -n 1)"
	else
		pass "$name: writing $bad refused, still $before"
	fi
	if echo "$good" > "$f" && [ "$(cat "$f")" = "$good" ]; then
		pass "$name: $good accepted"
	else
		fail "$name: $good not accepted ($(cat "$f"))"
	fi
done
lemonade_unload
mark
if modprobe nf_lemonade high_water=101 2>/dev/null; then
	fail "modprobe nf_lemonade high_water=101 loaded"
elif logged 'nf_lemonade: high_water and low_water are percentages'; then
	pass "high_water=101 refused at load"
else
	fail "high_water=101 refused without the message"
fi
exit $ret
