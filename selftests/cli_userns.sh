#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A user namespace's administrator cannot make the module hold host-wide
# locks: while root of an unprivileged user namespace dumps its listed
# flows in a loop for 60 s, a ctnetlink request in another namespace's
# table (20,000 entries; the conntrack hash is one for the whole machine)
# and a generic netlink request to another family (nlctrl, which
# serialises on the global genl_mutex) answer at most 500 ms slower than
# before the loop (the bound documented in Documentation/netlink-api.rst; the
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

# probe OUT STOP: one process timing, every 0.1 s until STOP exists (at
# most 120 s), a generic netlink request to nlctrl (serialised on the
# global genl_mutex) and a ctnetlink get of one entry of H's table; writes
# "samples max_genl_ms max_ct_ms" to OUT (no process start-up measured)
cat > "$TMPD/probe.py" <<'PY'
import ctypes, os, socket, struct, sys, time
out, stop, netns_fd = sys.argv[1], sys.argv[2], sys.argv[3]
def attr(t, p):
    a = struct.pack("=HH", 4 + len(p), t) + p
    return a + b"\0" * ((4 - len(a) % 4) % 4)
g = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
fd = os.open(netns_fd, os.O_RDONLY)
# ctnetlink in H (the genl socket stays in this namespace)
if ctypes.CDLL(None, use_errno=True).setns(fd, 0):
    sys.exit("setns failed")
c = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
g.settimeout(30); c.settimeout(30)
greq = struct.pack("=BBH", 3, 1, 0) + attr(2, b"nlctrl\0")
greq = struct.pack("=IHHII", 16 + len(greq), 0x10, 1, 1, 0) + greq
ip = attr(1 | 0x8000, attr(1, socket.inet_aton("203.0.113.1")) +
          attr(2, socket.inet_aton("198.51.100.2")))
pr = attr(2 | 0x8000, attr(1, b"\x06") + attr(2, struct.pack("!H", 20000)) +
          attr(3, struct.pack("!H", 143)))
creq = struct.pack("=BBH", 2, 0, 0) + attr(1 | 0x8000, ip + pr)
creq = struct.pack("=IHHII", 16 + len(creq), (1 << 8) | 1, 1, 1, 0) + creq
n, mg, mc = 0, 0.0, 0.0
end = time.time() + 120
while not os.path.exists(stop) and time.time() < end:
    t = time.monotonic(); g.send(greq); g.recv(65536)
    mg = max(mg, time.monotonic() - t)
    t = time.monotonic(); c.send(creq); c.recv(65536)
    mc = max(mc, time.monotonic() - t)
    n += 1
    time.sleep(0.1)
with open(out, "w") as f:
    f.write("%d %d %d\n" % (n, mg * 1000, mc * 1000))
PY
probe() { # probe NAME STOP
	$PY "$TMPD/probe.py" "$TMPD/$1" "$2" "/run/netns/$H"
	read -r samples worst_genl worst_ct < "$TMPD/$1"
}
# the baseline as long as the tenant's loop (60 s): the slowest of many
# samples grows with the window on a loaded emulated host, whatever the
# module does
( sleep 60; : > "$TMPD/base.stop" ) &
probe base "$TMPD/base.stop"
base_ct=$worst_ct base_genl=$worst_genl
info "before: slowest nlctrl request $base_genl ms, ctnetlink get $base_ct ms ($samples samples in 60 s)"
unshare --user --map-root-user --net --fork bash "$TMPD/tenant.sh" &
BG_PIDS+=($!)
wait_for 120 test -e "$TMPD/tenant.started" || fail "the tenant never started dumping"
probe during "$TMPD/tenant.done"
wait_for 60 test -e "$TMPD/tenant.done"
read -r dumps errors listed < "$TMPD/tenant.done"
info "tenant: $dumps dumps of $listed flows, $errors failed; $samples samples in the initial namespace"
[ "$dumps" -gt 0 ] && [ "$errors" = 0 ] && [ "$listed" -ge 200 ] &&
	pass "the tenant dumped its $listed listed flows $dumps times" ||
	fail "tenant dumps: $dumps, failed $errors, flows $listed: $(head -c 200 "$TMPD/tenant.err")"
[ $((worst_ct - base_ct)) -le $BOUND_MS ] &&
	pass "a ctnetlink get in a table of $N entries: slowest $worst_ct ms during the dumps, $base_ct ms before" ||
	fail "a ctnetlink get took $worst_ct ms during the dumps, $base_ct ms before (bound +$BOUND_MS)"
[ $((worst_genl - base_genl)) -le $BOUND_MS ] &&
	pass "a request to another genl family: slowest $worst_genl ms during the dumps, $base_genl ms before" ||
	fail "a request to nlctrl took $worst_genl ms during the dumps, $base_genl ms before (bound +$BOUND_MS)"
exit $ret
