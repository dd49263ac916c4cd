#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guard's two directions on two CPUs at once (stress:
# LEMONADE_STRESS=1), LEMONADE_GUARD_SECONDS (60) per phase: SMTP (587)
# and IMAP (143) negotiations one after another, the client process on
# CPU 0 and the server on CPU 1 (each side's packets cross the gateway's
# hooks on its own CPU), and every client sends its STARTTLS and 1 KB of
# TLS-like bytes in one go, so that the server's reply finishing the
# negotiation meets the client's data in the gateway; one connection in
# four ends with a reset, half of those before the STARTTLS.
#   phase 1: a clean path: no strip detected, nothing reset or restored;
#   phase 2: an inspecting component in the gateway (selftests/progs/
#            nfq_mask) masks STARTTLS in the server's replies: the guard
#            restores it, and nothing is reset.
# In both, at least 95% of the negotiations see STARTTLS advertised and
# are answered, and the guard's buffers in use return to 0. A WARN, oops,
# lockdep or KASAN report in the guest's log fails the run (run.sh).
# timeout: 900
# skip-ok: a stress test (make check-debug, make check-stress)
source "$(dirname "$0")/lib.sh"

stress_only
SECS=${LEMONADE_GUARD_SECONDS:-60}

topo_up
lemonade_load
gateway_only

cat > "$TMPD/peer.py" <<'PY'
import os, random, socket, struct, sys, threading, time
GREET = {587: b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n",
         143: b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
              b"LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n"}
CAPA = {587: b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
             b"250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n",
        143: b"* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
             b"LITERAL+ STARTTLS AUTH=PLAIN\r\na1 OK Capability completed.\r\n"}
GO = {587: b"220 2.0.0 Ready to start TLS\r\n", 143: b"a2 OK Begin TLS negotiation now.\r\n"}
ASK = {587: (b"EHLO client.example.net\r\n", b"STARTTLS\r\n"),
       143: (b"a1 CAPABILITY\r\n", b"a2 STARTTLS\r\n")}
END = {587: b"\r\n250 ", 143: b"a1 OK"}

def readline(s, buf):
    while b"\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf += d
    line, buf = buf.split(b"\n", 1)
    return line, buf

def serve_conn(c, port):
    try:
        c.sendall(GREET[port])
        buf = b""
        line, buf = readline(c, buf)
        c.sendall(CAPA[port])
        line, buf = readline(c, buf)
        c.sendall(GO[port])
        while c.recv(65536):
            pass
    except (OSError, EOFError):
        pass
    finally:
        c.close()

def accept_loop(s, port):
    while True:
        c = s.accept()[0]
        threading.Thread(target=serve_conn, args=(c, port), daemon=True).start()

def serve(addr, ports):
    for p in ports:
        s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, p)); s.listen(64)
        threading.Thread(target=accept_loop, args=(s, p), daemon=True).start()
    open(sys.argv[3], "w").close()
    time.sleep(3600)

def rst(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def client(addr, port, secs, out):
    ok = bad = resets = 0
    hello = os.urandom(1024)
    end = time.time() + secs
    n = 0
    while time.time() < end and n < 100000:
        n += 1
        s = socket.create_connection((addr, port), timeout=10)
        try:
            buf = b""
            line, buf = readline(s, buf)          # greeting
            s.sendall(ASK[port][0])
            capa = buf
            while END[port] not in capa:
                d = s.recv(4096)
                if not d:
                    raise EOFError
                capa += d
            if n % 8 == 0:                        # reset before STARTTLS
                resets += 1; rst(s); continue
            s.sendall(ASK[port][1] + hello)       # STARTTLS and data at once
            rest = capa.split(END[port], 1)[1]
            while GO[port] not in rest:
                d = s.recv(4096)
                if not d:
                    raise EOFError
                rest += d
            if b"STARTTLS" in capa:
                ok += 1
            else:
                bad += 1
            if n % 8 == 4:                        # reset after it
                resets += 1; rst(s); continue
            s.close()
        except (OSError, EOFError):
            bad += 1
            s.close()
    with open(out, "w") as f:
        f.write("%d %d %d\n" % (ok, bad, resets))

if sys.argv[1] == "serve":
    serve(sys.argv[2], [587, 143])
else:
    client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
PY

ip netns exec "$S" taskset -c 1 $PY "$TMPD/peer.py" serve $S4 "$TMPD/serve.ready" &
BG_PIDS+=($!)
wait_for 30 test -e "$TMPD/serve.ready" || { echo "FAIL: server did not start"; exit $ksft_fail; }

gc() { counter "$G" "$1"; }
buffers_free() { [ "$(gc guard_buffers)" -eq 0 ]; }
# guard_counts: "inspected strip_detected restored reset partial_block"
guard_counts() {
	ip netns exec "$G" lemonctl -j stats | jq -r '"\(.guard_inspected) \(.guard_strip_detected) \(.guard_restored) \(.guard_reset) \(.guard_partial_block)"'
}
# phase NAME: both ports' clients on CPU 0 for SECS seconds
phase() {
	local p pids=()
	for p in 587 143; do
		ip netns exec "$C" taskset -c 0 $PY "$TMPD/peer.py" client $S4 $p "$SECS" \
			"$TMPD/$1.$p" &
		pids+=($!)
	done
	BG_PIDS+=("${pids[@]}")
	for p in "${pids[@]}"; do
		wait "$p"
	done
	for p in 587 143; do
		read -r ok bad resets < "$TMPD/$1.$p" || { fail "$1 $p: no result"; continue; }
		info "$1: port $p: $ok negotiations answered with STARTTLS advertised, $bad not, $resets reset by the client"
		if [ "$ok" -gt 0 ] && [ $((bad * 20)) -le $((ok + bad)) ]; then
			pass "$1: port $p: $ok of $((ok + bad)) negotiations complete with STARTTLS advertised"
		else
			fail "$1: port $p: $ok of $((ok + bad)) negotiations complete with STARTTLS advertised"
		fi
	done
	if wait_for 60 buffers_free; then
		pass "$1: the guard's buffers in use are back to 0"
	else
		fail "$1: guard buffers still in use: $(gc guard_buffers)"
	fi
}

read -r i0 s0 r0 x0 b0 <<< "$(guard_counts)"
phase clean
read -r i1 s1 r1 x1 b1 <<< "$(guard_counts)"
info "clean: inspected +$((i1 - i0)) bytes, strip detected +$((s1 - s0)), restored +$((r1 - r0)), reset +$((x1 - x0)), partial block +$((b1 - b0))"
[ $((i1 - i0)) -gt 0 ] && pass "clean: the guard inspected $((i1 - i0)) negotiation bytes" ||
	fail "clean: the guard inspected nothing"
[ $((s1 - s0 + r1 - r0 + x1 - x0 + b1 - b0)) -eq 0 ] &&
	pass "clean: no strip detected, nothing restored, reset or blocked" ||
	fail "clean: strip +$((s1 - s0)), restored +$((r1 - r0)), reset +$((x1 - x0)), partial block +$((b1 - b0)) on a clean path"

masker_up mask
phase masked
read -r i2 s2 r2 x2 b2 <<< "$(guard_counts)"
info "masked: inspected +$((i2 - i1)) bytes, strip detected +$((s2 - s1)), restored +$((r2 - r1)), reset +$((x2 - x1)), partial block +$((b2 - b1)); masker: $(tail -n 1 "$TMPD/masker.log")"
[ $((r2 - r1)) -gt 0 ] && pass "masked: the guard restored $((r2 - r1)) advertisements" ||
	fail "masked: nothing restored"
[ $((x2 - x1 + b2 - b1)) -eq 0 ] && pass "masked: nothing reset or blocked" ||
	fail "masked: reset +$((x2 - x1)), partial block +$((b2 - b1))"
exit $ret
