#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A user namespace's administrator cannot make the module hold host-wide
# locks: while root of an unprivileged user namespace dumps its listed
# flows in a loop for 60 s, a "conntrack -L" of another namespace's table
# (20,000 entries; the conntrack hash is one for the whole machine) and a
# generic netlink request to another family (nlctrl, which serialises on
# the global genl_mutex) answer at most 500 ms slower than before the
# loop (the bound documented in Documentation/netlink-api.rst; the
# emulated guest is slow, a native host answers in microseconds).
# timeout: 600
source "$(dirname "$0")/lib.sh"

checktool "unshare --user --map-root-user --net true" "create a user and network namespace"
BOUND_MS=500
N=20000
keep_conntrack_max
[ "$OLD_CT_MAX" -lt 65536 ] && sysctl -qw net.netfilter.nf_conntrack_max=65536
lemonade_load

# a host namespace with N entries on a listed port
setup_ns H
ip netns exec "$H" nft -f - <<EOT
table inet ctuser {
	chain out {
		type filter hook output priority filter; policy accept;
		ct state new accept
	}
}
EOT
$PY - "$N" > "$TMPD/ct" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("-I -p tcp -s 203.0.113.%d -d 198.51.100.2 --sport %d --dport 143"
          " --state ESTABLISHED -t 3600 -u ASSURED,SEEN_REPLY"
          % (i % 250 + 1, 20000 + i // 250))
PY
ip netns exec "$H" conntrack -R "$TMPD/ct" 2>/dev/null || fail "conntrack -R"
info "host namespace's table: $(ip netns exec "$H" conntrack -C) entries"

# the tenant: listed flows of its own, dumped in a loop for 60 s
cat > "$TMPD/tenant.sh" <<EOF
set -u
ip link set lo up
nft add table inet t
nft add chain inet t out '{ type filter hook output priority 0; policy accept; }'
nft add rule inet t out ct state new accept
$PY $PEER serve 143 --lifetime 200 &
srv=\$!
for i in \$(seq 50); do ss -Htln 'sport = :143' | grep -q . && break; sleep 0.1; done
$PY $PEER hold --addr 127.0.0.1 --ports 143 --count 200 --out $TMPD/th --lifetime 200 &
cli=\$!
for i in \$(seq 600); do [ -s $TMPD/th.ready ] && break; sleep 0.1; done
n=0 bad=0 end=\$((SECONDS + 60))
: > $TMPD/tenant.started
while [ \$SECONDS -lt \$end ]; do
	lemonctl -j flows > $TMPD/tenant.json 2>> $TMPD/tenant.err || bad=\$((bad + 1))
	n=\$((n + 1))
done
echo "\$n \$bad \$(jq length $TMPD/tenant.json)" > $TMPD/tenant.done
kill \$srv \$cli
EOF

# ms CMD...: milliseconds CMD takes
ms() {
	local t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	echo $((($(date +%s%N) - t0) / 1000000))
}
genl_probe() {
	$PY - <<'PY'
import socket, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
name = b"nlctrl\0"
a = struct.pack("=HH", 4 + len(name), 2) + name
a += b"\0" * ((4 - len(a) % 4) % 4)
body = struct.pack("=BBH", 3, 1, 0) + a
s.send(struct.pack("=IHHII", 16 + len(body), 0x10, 1, 1, 0) + body)
s.settimeout(10)
s.recv(65536)
PY
}
# worst CT GENL: the slowest of each probe while COND holds (at most 200)
probe() {
	local cond=$1 t n=0
	worst_ct=0 worst_genl=0
	while eval "$cond" && [ $n -lt 200 ]; do
		t=$(ms ip netns exec "$H" conntrack -L)
		[ "$t" -gt "$worst_ct" ] && worst_ct=$t
		t=$(ms genl_probe)
		[ "$t" -gt "$worst_genl" ] && worst_genl=$t
		n=$((n + 1))
	done
	samples=$n
}
probe '[ $n -lt 10 ]'
base_ct=$worst_ct base_genl=$worst_genl
info "before: slowest conntrack -L $base_ct ms, nlctrl request $base_genl ms (10 samples)"
unshare --user --map-root-user --net --fork bash "$TMPD/tenant.sh" &
BG_PIDS+=($!)
wait_for 120 test -e "$TMPD/tenant.started" || fail "the tenant never started dumping"
probe '[ ! -e "$TMPD/tenant.done" ]'
wait_for 60 test -e "$TMPD/tenant.done"
read -r dumps errors listed < "$TMPD/tenant.done"
info "tenant: $dumps dumps of $listed flows, $errors failed; $samples samples in the initial namespace"
[ "$dumps" -gt 0 ] && [ "$errors" = 0 ] && [ "$listed" -ge 200 ] &&
	pass "the tenant dumped its $listed listed flows $dumps times" ||
	fail "tenant dumps: $dumps, failed $errors, flows $listed: $(head -c 200 "$TMPD/tenant.err")"
[ $((worst_ct - base_ct)) -le $BOUND_MS ] &&
	pass "conntrack -L of $N entries: slowest $worst_ct ms during the dumps, $base_ct ms before" ||
	fail "conntrack -L took $worst_ct ms during the dumps, $base_ct ms before (bound +$BOUND_MS)"
[ $((worst_genl - base_genl)) -le $BOUND_MS ] &&
	pass "a request to another genl family: slowest $worst_genl ms during the dumps, $base_genl ms before" ||
	fail "a request to nlctrl took $worst_genl ms during the dumps, $base_genl ms before (bound +$BOUND_MS)"
exit $ret
