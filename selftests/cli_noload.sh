#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reading never loads nf_lemonade. With the module not loaded and a
# working modprobe (so a request for the family by name would load it by
# its alias, MODULE_ALIAS_GENL_FAMILY), every read command and a TAB
# completion, as root and as an unprivileged user, leaves it unloaded and
# says what lemonctl(8) documents. Then a change by root (CAP_NET_ADMIN)
# loads it, as documented; a change by an unprivileged user does not.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
checktool "setpriv --version" "run setpriv"
checktool "test -r /usr/share/bash-completion/bash_completion" "find bash-completion"
lemonade_unload
source "$(dirname "$0")/lib_cli.bash"

loaded() { grep -q '^nf_lemonade ' /proc/modules; }
MISSING='Error: nf_lemonade is not loaded (try: modprobe nf_lemonade)'

# an unprivileged user runs a copy of lemonctl (the tree may not be
# readable by it)
install -m 0755 "$REPO/tool/lemonctl" "$TMPD/lemonctl"
chmod 0755 "$TMPD"
USER_LC="setpriv --reuid=65534 --regid=65534 --clear-groups $TMPD/lemonctl"

# one completion of "lemonctl port del <TAB>", which runs "lemonctl port list"
cat > "$TMPD/complete.bash" <<EOF
source /usr/share/bash-completion/bash_completion
source "$REPO/tool/completion/lemonctl.bash"
COMP_WORDS=(lemonctl port del "")
COMP_CWORD=3
COMP_LINE="lemonctl port del "
COMP_POINT=\${#COMP_LINE}
_lemonctl
printf 'completion:'
[ \${#COMPREPLY[@]} -eq 0 ] || printf ' %s' "\${COMPREPLY[@]}"
echo
EOF

if loaded; then
	fail "nf_lemonade is loaded before the test"
fi
while IFS='|' read -r want args check; do
	[ -z "$want" ] || [[ $want == \#* ]] && continue
	row "$want" "$args" "$check"
	if loaded; then
		fail "lemonctl $args loaded nf_lemonade"
		lemonade_unload
	else
		pass "lemonctl $args: nf_lemonade still not loaded"
	fi
done <<TABLE
# --- root (CAP_NET_ADMIN), in a namespace and in the initial one -----------
0|-V|=lemonctl $VERSION module not loaded
1|show|!$MISSING
1|-j show|!$MISSING
1|config show|!$MISSING
1|port|!$MISSING
1|port list|!$MISSING
1|stats|!$MISSING
1|-j stats|!$MISSING
1|flows|!$MISSING
1|flows port 143|!$MISSING
1|monitor count 1 timeout 1s|!$MISSING
1|save|!$MISSING
1|@x show|!$MISSING
1|@x port list|!$MISSING
0|sh:lemonctl -V|=lemonctl $VERSION module not loaded
1|sh:lemonctl show|!$MISSING
1|sh:lemonctl stats|!$MISSING
# --- an unprivileged user ----------------------------------------------------
0|sh:$USER_LC -V|=lemonctl $VERSION module not loaded
1|sh:$USER_LC show|!$MISSING
1|sh:$USER_LC port list|!$MISSING
1|sh:$USER_LC stats|!$MISSING
1|sh:$USER_LC save|!$MISSING
1|sh:$USER_LC set enable on|!$MISSING
1|sh:$USER_LC port add 993|!$MISSING
# --- TAB completion (runs "lemonctl port list"), root and unprivileged -----
0|sh:bash $TMPD/complete.bash|=completion:
0|sh:setpriv --reuid=65534 --regid=65534 --clear-groups bash $TMPD/complete.bash|=completion:
TABLE

# a change by root loads the module by its alias, and applies
row 0 "set timeout 3h" "="
if loaded; then
	pass "lemonctl set (root) loaded nf_lemonade"
else
	fail "lemonctl set (root) did not load nf_lemonade"
fi
row 0 "-j show" 'jq:.timeout == 10800'
# with the module loaded, completion offers the listed ports
row 0 "sh:bash $TMPD/complete.bash" "=completion: 143 587 674"
exit $ret
