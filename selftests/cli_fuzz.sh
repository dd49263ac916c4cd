#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A raw-netlink fuzzer (tool/tests/nlfuzz.c, no libnl) sends 12,000
# malformed requests to the lemonade family: unknown commands, attributes
# of the wrong length or type, truncated and oversize attributes, unknown
# attributes, missing required ones, values out of range, broken nests,
# reserved header bits, dump misuse, random attribute soup. Each must be
# answered with an error, the configuration must read back unchanged, and
# the kernel log must stay free of WARN/BUG/oops (the VM runner checks it
# too). The rules the module enforces itself (RFC 5382 REQ-5, ICMPv4 code
# 4) must show among the extended-ACK messages. Then 2,400 more as user
# nobody: errors too, nothing changed.
source "$(dirname "$0")/lib.sh"

checktool "jq --version" "run jq"
FUZZ=$REPO/tool/tests/nlfuzz
if [ ! -x "$FUZZ" ] || [ "$FUZZ" -ot "$REPO/tool/tests/nlfuzz.c" ] ||
   [ "$FUZZ" -ot "$REPO/uapi/linux/lemonade.h" ]; then
	FUZZ=$TMPD/nlfuzz
	cc -O2 -Wall -Wextra -Werror -std=gnu11 -I"$REPO/uapi" \
		-o "$FUZZ" "$REPO/tool/tests/nlfuzz.c" ||
		{ echo "FAIL: cannot build nlfuzz"; exit $ksft_fail; }
fi
chmod 755 "$TMPD"
lemonade_load
setup_ns Z
# a configuration that is not the default, so a reset would show
lemonctl -n "$Z" set timeout 3h icmp pass codes6 1 guard log &&
	lemonctl -n "$Z" port add 993 proto imap timeout 1d ||
	fail "configuring the namespace"
before=$(lemonctl -n "$Z" -j show)
dmesg_lines=$(dmesg | wc -l)

start=$(date +%s)
ip netns exec "$Z" "$FUZZ" -n 12000 -v > "$TMPD/fuzz" 2>&1
rc=$?
sed 's/^/# /' "$TMPD/fuzz"
read -r sent errors < <(sed -n 's/^nlfuzz: \([0-9]*\) sent, \([0-9]*\) answered with an error.*/\1 \2/p' "$TMPD/fuzz")
if [ "$rc" = 0 ] && [ "${sent:-0}" -ge 10000 ] && [ "$sent" = "$errors" ]; then
	pass "nlfuzz: $sent malformed requests, $errors errors, none accepted ($(($(date +%s) - start)) s)"
else
	fail "nlfuzz: exit $rc, ${sent:-?} sent, ${errors:-?} errors"
fi
if [ "$(lemonctl -n "$Z" -j show)" = "$before" ]; then
	pass "configuration unchanged (lemonctl -j show)"
else
	fail "configuration changed: $(lemonctl -n "$Z" -j show)"
fi
for msg in "timeout below 7440 s violates RFC 5382 REQ-5" \
	"ICMPv4 code 4 (fragmentation needed) carries path MTU discovery" \
	"too many ports (at most 64)" "port entry without a port number"; do
	if grep -qF "$msg" "$TMPD/fuzz"; then
		pass "the module refused with \"$msg\""
	else
		fail "no refusal said \"$msg\""
	fi
done

# unprivileged: every request still gets an error (EPERM for changes)
ip netns exec "$Z" setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$FUZZ" -n 2400 -s 42 > "$TMPD/fuzz2" 2>&1
rc=$?
tail -3 "$TMPD/fuzz2" | sed 's/^/# /'
if [ "$rc" = 0 ] && grep -q 'EPERM' "$TMPD/fuzz2" &&
   [ "$(lemonctl -n "$Z" -j show)" = "$before" ]; then
	pass "nlfuzz as nobody: every request refused, configuration unchanged"
else
	fail "nlfuzz as nobody: exit $rc"
fi

if dmesg | tail -n +"$((dmesg_lines + 1))" |
	grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|UBSAN|KASAN'; then
	fail "the kernel complained during the fuzzing"
else
	pass "no WARN, BUG or oops in the kernel log"
fi
exit $ret
