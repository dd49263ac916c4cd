#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Table pressure: with nf_conntrack_max=256 the client opens 300 idle flows
# to listed ports, one after another. Stock conntrack never early-drops
# assured ESTABLISHED entries, so the table fills and new connections are
# refused ("table full"). The module recycles the longest-idle listed
# flows between 90% and 80% of the table: every connection succeeds, new
# connections to an unlisted port still succeed, the recycled flows are
# counted, and the most recent 100 flows keep their entries.
source "$(dirname "$0")/lib.sh"

keep_conntrack_max

topo_up
lemonade_load
sysctl -qw net.netfilter.nf_conntrack_max=256
serve_start 143 587 674 8143

hold "$C" many $S4 143,587,674 300 --stop-on-fail --connect-timeout 5
read -r _ ok failed < "$TMPD/many.ready"
if [ "$ok" -eq 300 ] && [ "$failed" -eq 0 ]; then
	pass "all 300 flows to listed ports connected"
else
	fail "$ok of 300 flows connected, $failed failed: $(grep FAIL "$TMPD/many" | head -1)"
fi
hold "$C" other $S4 8143 5 --connect-timeout 5
read -r _ ok failed < "$TMPD/other.ready"
if [ "$ok" -eq 5 ]; then
	pass "new connections to unlisted port 8143 succeed"
else
	fail "$ok of 5 connections to unlisted port 8143 succeeded"
fi
recycled=$(counter "$G" recycled 2>/dev/null || echo 0)
if [ "$recycled" -gt 0 ]; then
	pass "gateway counted $recycled recycled flows"
else
	fail "gateway counted no recycled flows"
fi
ip netns exec "$G" conntrack -L -p tcp 2>/dev/null > "$TMPD/ct"
missing=0
for sport in $(awk '$1 == "OK" { print $3 }' "$TMPD/many" | tail -n 100); do
	grep -q "sport=$sport dport=" "$TMPD/ct" || missing=$((missing + 1))
done
if [ "$missing" -eq 0 ] && [ "$(awk '$1 == "OK"' "$TMPD/many" | wc -l)" -ge 100 ]; then
	pass "the 100 most recent flows kept their entries ($(wc -l < "$TMPD/ct") entries in the table)"
else
	fail "$missing of the 100 most recent flows lost their entries"
fi
exit $ret
