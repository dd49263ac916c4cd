#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Scripted mail peers for the guard selftests (real servers are used where
a test says so). Every wait is bounded.

mailpeer.py serve [--lifetime S] [--ports 587,143,674,2587]
    587: Postfix-like submission (EHLO reply advertises STARTTLS; STARTTLS
         answers 220 and the session then carries opaque bytes);
    143: Dovecot-like IMAP (greeting with [CAPABILITY ...], CAPABILITY);
    674: ACAP greeting with (STARTTLS); 2587: a server whose EHLO reply
         already carries XXXXXXXA (masked upstream).
    --split-file F: the 587 server sends its EHLO reply in two parts, the
    second (from "250-STARTTLS" on) only once F exists.
    --chunk N: every reply of the negotiation goes out N bytes per
    segment (TCP_NODELAY, 3 ms apart; 1: byte by byte).
    --cut: every reply carrying STARTTLS goes out in two segments, the
    first ending inside the keyword ("...STAR" | "TTLS...").
    --pad N: N more capabilities (X-PAD-0001...) advertised before
    STARTTLS in the EHLO reply, the IMAP greeting and CAPABILITY response
    and the ACAP greeting; such a reply goes out in two parts, the second
    from STARTTLS on (after 50 ms), so the keyword is never split between
    segments.
mailpeer.py talk --addr A --port P --proto smtp|imap|acap [--starttls]
                 [--hold-file F] [--pause FILE] [--pipeline]
    runs the client side of the negotiation, prints every line received
    and a last line: DONE, RESET <seconds>, TIMEOUT or CLOSED. With
    --hold-file the client waits after the greeting until F exists; with
    --pause (smtp) it prints PAUSED after the EHLO reply and waits for FILE
    to exist before STARTTLS. With --pipeline the client sends its first
    commands in one segment (SMTP: EHLO, NOOP, NOOP; IMAP: CAPABILITY,
    NOOP; ACAP: NOOP, NOOP) and reads all their replies before STARTTLS.
mailpeer.py idle --addr A --port P --count N --ready R --hold-file F
    opens N connections, reads each greeting, writes the number greeted to
    R, then keeps them idle until F exists (at most --lifetime seconds).
"""
import argparse
import os
import socket
import sys
import threading
import time

GREET_SMTP = b"220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n"
EHLO = (b"250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
        b"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
        b"250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n")
CAPS = (b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
        b"STARTTLS AUTH=PLAIN")
GREET_IMAP = b"* OK [CAPABILITY " + CAPS + b"] Dovecot (Debian) ready.\r\n"
GREET_ACAP = (b'* ACAP (IMPLEMENTATION "ACME v3.8") (SASL "CRAM-MD5") '
              b'(STARTTLS)\r\n')


def lines(conn):
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.rstrip(b"\r")


SPLIT = None   # --split-file
CHUNK = 0      # --chunk
CUT = False    # --cut
PAD = 0        # --pad


def padded(pad):
    """The replies with pad more capabilities before STARTTLS."""
    global EHLO, CAPS, GREET_IMAP, GREET_ACAP
    EHLO = EHLO.replace(b"250-STARTTLS", b"".join(
        b"250-X-PAD-%04d\r\n" % i for i in range(1, pad + 1)) +
        b"250-STARTTLS")
    CAPS = CAPS.replace(b" STARTTLS", b"".join(
        b" X-PAD-%04d" % i for i in range(1, pad + 1)) + b" STARTTLS")
    GREET_IMAP = (b"* OK [CAPABILITY " + CAPS +
                  b"] Dovecot (Debian) ready.\r\n")
    GREET_ACAP = GREET_ACAP.replace(b" (STARTTLS)", b"".join(
        b" (X-PAD-%04d)" % i for i in range(1, pad + 1)) + b" (STARTTLS)")


def out(conn, data):
    """A reply of the negotiation, in segments as --chunk/--cut say."""
    if (CUT or PAD) and b"STARTTLS" in data:
        i = data.index(b"STARTTLS") + (0 if PAD else 4)
        conn.sendall(data[:i])
        time.sleep(0.05)
        conn.sendall(data[i:])
        return
    if not CHUNK:
        conn.sendall(data)
        return
    for i in range(0, len(data), CHUNK):
        conn.sendall(data[i:i + CHUNK])
        time.sleep(0.003)


def wait_file(path, secs=30):
    """Wait (bounded) until path exists."""
    end = time.time() + secs
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.05)


def smtp(conn, masked):
    out(conn, GREET_SMTP)
    for line in lines(conn):
        verb = line.split(b" ")[0].upper()
        if verb in (b"EHLO", b"HELO") and SPLIT and not masked:
            cut = EHLO.index(b"250-STARTTLS")
            out(conn, EHLO[:cut])
            wait_file(SPLIT)
            out(conn, EHLO[cut:])
        elif verb in (b"EHLO", b"HELO"):
            out(conn, EHLO.replace(b"STARTTLS", b"XXXXXXXA")
                         if masked else EHLO)
        elif verb == b"STARTTLS":
            out(conn, b"220 2.0.0 Ready to start TLS\r\n")
            opaque(conn)
            return
        elif verb == b"QUIT":
            out(conn, b"221 2.0.0 Bye\r\n")
            return
        else:
            out(conn, b"250 2.0.0 Ok\r\n")


def imap(conn):
    out(conn, GREET_IMAP)
    for line in lines(conn):
        parts = line.split(b" ")
        if len(parts) < 2:
            continue
        tag, verb = parts[0], parts[1].upper()
        if verb == b"CAPABILITY":
            out(conn, b"* CAPABILITY " + CAPS + b"\r\n" + tag +
                         b" OK Pre-login capabilities listed.\r\n")
        elif verb == b"STARTTLS":
            out(conn, tag + b" OK Begin TLS negotiation now.\r\n")
            opaque(conn)
            return
        elif verb == b"LOGOUT":
            out(conn, b"* BYE Logging out\r\n" + tag + b" OK Logout.\r\n")
            return
        else:
            out(conn, tag + b" OK done\r\n")


def acap(conn):
    out(conn, GREET_ACAP)
    for line in lines(conn):
        parts = line.split(b" ")
        if len(parts) >= 2 and parts[1].upper() == b"STARTTLS":
            out(conn, parts[0] + b" OK Begin TLS negotiation now\r\n")
            opaque(conn)
            return
        if len(parts) >= 2:
            out(conn, parts[0] + b" OK done\r\n")


def opaque(conn):
    """After STARTTLS: echo bytes back (stands in for TLS records)."""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        conn.sendall(data)


def handle(conn, port):
    conn.settimeout(300)
    if CHUNK or CUT or PAD:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if port in (587, 2587):
            smtp(conn, port == 2587)
        elif port == 143:
            imap(conn)
        else:
            acap(conn)
    except OSError:
        pass
    finally:
        conn.close()


def listener(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, port),
                         daemon=True).start()


def serve(a):
    global SPLIT, CHUNK, CUT, PAD
    SPLIT = a.split_file
    CHUNK = a.chunk
    CUT = a.cut
    PAD = a.pad
    if PAD:
        padded(PAD)
    for p in a.ports:
        threading.Thread(target=listener, args=(p,), daemon=True).start()
    time.sleep(a.lifetime)


class Reader:
    def __init__(self, s):
        self.s = s
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        out = line.rstrip(b"\r").decode(errors="replace")
        print("S: " + out, flush=True)
        return out


def pause(a):
    """--pause FILE: the negotiation stays half done (EHLO answered, no
    STARTTLS yet) until FILE exists, at most --pause-max seconds."""
    if not a.pause:
        return
    print("PAUSED", flush=True)
    end = time.time() + a.pause_max
    while not os.path.exists(a.pause) and time.time() < end:
        time.sleep(0.2)


def talk(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    t0 = time.time()
    try:
        s.connect((a.addr, a.port))
        r = Reader(s)

        def send(line):
            for one in line.split("\r\n"):
                print("C: " + one, flush=True)
            s.sendall(line.encode() + b"\r\n")
        if a.proto == "smtp":
            r.line()
            if a.hold_file:
                wait_file(a.hold_file)
            if a.pipeline:
                send("EHLO client.example.net\r\nNOOP\r\nNOOP")
                replies = 3
            else:
                send("EHLO client.example.net")
                replies = 1
            for _ in range(replies):
                while not r.line().startswith("250 "):
                    pass
            pause(a)
            if a.starttls:
                send("STARTTLS")
                r.line()
                s.sendall(b"\x16\x03\x01opaque-after-starttls\n")
                print("S: " + s.recv(100).decode(errors="replace").strip(),
                      flush=True)
        elif a.proto == "imap":
            r.line()
            if a.hold_file:
                wait_file(a.hold_file)
            if a.pipeline:
                send("a1 CAPABILITY\r\na2 NOOP")
            else:
                send("a1 CAPABILITY")
            last = "a2 " if a.pipeline else "a1 "
            while not r.line().startswith(last):
                pass
            if a.starttls:
                send(("a3" if a.pipeline else "a2") + " STARTTLS")
                r.line()
                s.sendall(b"\x16\x03\x01opaque-after-starttls\n")
                print("S: " + s.recv(100).decode(errors="replace").strip(),
                      flush=True)
        else:
            r.line()
            if a.pipeline:
                send("p1 NOOP\r\np2 NOOP")
                while not r.line().startswith("p2 "):
                    pass
            if a.starttls:
                send("a1 STARTTLS")
                r.line()
        print("DONE %.1f" % (time.time() - t0))
        return 0
    except ConnectionResetError:
        print("RESET %.1f" % (time.time() - t0))
    except socket.timeout:
        print("TIMEOUT %.1f" % (time.time() - t0))
    except (EOFError, OSError) as e:
        print("CLOSED %.1f %s" % (time.time() - t0, e))
    return 1


def idle(a):
    fam = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    conns = []
    greeted = 0
    for _ in range(a.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect((a.addr, a.port))
            if s.recv(4096):
                greeted += 1
        except OSError:
            pass
        conns.append(s)
    with open(a.ready, "w") as f:
        f.write("%d\n" % greeted)
    wait_file(a.hold_file, a.lifetime)
    for s in conns:
        s.close()
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--lifetime", type=int, default=1200)
    sv.add_argument("--split-file")
    sv.add_argument("--chunk", type=int, default=0)
    sv.add_argument("--cut", action="store_true")
    sv.add_argument("--pad", type=int, default=0)
    sv.add_argument("--ports", default=[587, 143, 674, 2587],
                    type=lambda s: [int(x) for x in s.split(",")])
    t = sub.add_parser("talk")
    t.add_argument("--addr", required=True)
    t.add_argument("--port", type=int, required=True)
    t.add_argument("--proto", choices=["smtp", "imap", "acap"], required=True)
    t.add_argument("--starttls", action="store_true")
    t.add_argument("--pause", default="")
    t.add_argument("--pause-max", type=float, default=900)
    t.add_argument("--timeout", type=float, default=10)
    t.add_argument("--hold-file")
    t.add_argument("--pipeline", action="store_true")
    i = sub.add_parser("idle")
    i.add_argument("--addr", required=True)
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--count", type=int, required=True)
    i.add_argument("--ready", required=True)
    i.add_argument("--hold-file", required=True)
    i.add_argument("--lifetime", type=int, default=300)
    a = ap.parse_args()
    if a.cmd == "idle":
        return idle(a)
    return serve(a) if a.cmd == "serve" else talk(a)


if __name__ == "__main__":
    sys.exit(main())
