#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lemonctl without the module, table-driven like cli_table.sh: with the
# automatic load disabled, every command that needs the module says
# "Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)" and exits
# 1; checks that need no module still work. Then a change looks the
# family up by name, which loads the module by its alias
# (MODULE_ALIAS_GENL_FAMILY).
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
old_modprobe=$(cat /proc/sys/kernel/modprobe)
restore_modprobe() {
	echo "$old_modprobe" > /proc/sys/kernel/modprobe
	cleanup
}
trap restore_modprobe EXIT
source "$(dirname "$0")/lib_cli.bash"

# --- the module absent ------------------------------------------------------
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
# a change by root looks the family up by name, which loads the module
# (MODULE_ALIAS_GENL_FAMILY); reading never does (cli_noload.sh)
row 0 "set enable on" '='
row 0 "-j show" 'jq:.timeout == 7440'
if grep -q '^nf_lemonade ' /proc/modules; then
	pass "a change loaded nf_lemonade"
else
	fail "nf_lemonade was not loaded by a change"
fi
exit $ret
