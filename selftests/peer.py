#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Real TCP peers for the nf_lemonade selftests.

serve PORT...      listen on [::]:PORT (v4 and v6) for each port; every
                   connection answers "PING\\n" with "PONG\\n", on
                   "DRIP\\n" sends 1000 bytes every 0.2 s for 30 s, on
                   "FLOOD\\n" sends as fast as the peer reads (20 s).
hold ...           open connections one after another, record their local
                   ports, write READY and keep them idle until SIGTERM.
                   SIGUSR1: PING every connection (one round trip each).
                   SIGUSR2: send DRIP (or --sig2 FLOOD) on every connection.
                   The client never reads unless it pings.
                   Commands on the FIFO OUT.ctl: ping, drip, err (pending
                   socket errors to OUT.err), send (a NOOP line, OUT.send),
                   drain (read each connection until it is quiet for
                   --drain-quiet seconds (3); bytes read to OUT.drain).
                   --src binds the connections to a source address; each
                   OK line ends with the seconds connect() took.
                   --ping-timeout: seconds a PING waits for its PONG (30).
synflood ...       send COUNT SYNs to ADDR:PORT from non-blocking sockets
                   (the server is expected not to answer), write READY and
                   keep the sockets until SIGTERM.
local ...          server and clients of one namespace in one process.
churn ...          new connections one after another (connect, PING, PONG,
                   close) for --count or --seconds, optionally with its own
                   kernel allocations failure-injected (--make-it-fail).
Every wait is bounded; a process lives at most --lifetime seconds.
"""
import argparse
import errno
import os
import signal
import socket
import struct
import sys
import threading
import time


def serve_conn(conn):
    # flood() sets a timeout of its own on the same socket: a timeout here
    # is not the end of the connection
    buf = b""
    try:
        while True:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            if not data:
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line == b"PING":
                    conn.sendall(b"PONG\n")
                elif line == b"FLOOD":
                    threading.Thread(target=flood, args=(conn,),
                                     daemon=True).start()
                elif line == b"DRIP":
                    threading.Thread(target=drip, args=(conn,),
                                     daemon=True).start()
    except OSError:
        return


def drip(conn):
    end = time.time() + 30
    try:
        while time.time() < end:
            conn.send(b"x" * 1000)
            time.sleep(0.2)
    except OSError:
        pass


def flood(conn):
    """Send as fast as the peer takes it, for at most 20 s or 64 MB."""
    end = time.time() + 20
    sent = 0
    conn.settimeout(1)
    while time.time() < end and sent < 64 << 20:
        try:
            sent += conn.send(b"y" * 65536)
        except socket.timeout:
            continue
        except OSError:
            return


def listener(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(512)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()


def cmd_serve(args):
    for p in args.ports:
        threading.Thread(target=listener, args=(p,), daemon=True).start()
    time.sleep(args.lifetime)


def cmd_hold(args):
    socks = []
    ports = args.ports
    failed = 0
    with open(args.out, "w") as out:
        for i in range(args.count):
            port = ports[i % len(ports)]
            fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            if args.recverr:
                if fam == socket.AF_INET:
                    s.setsockopt(socket.IPPROTO_IP, 11, 1)      # IP_RECVERR
                else:
                    s.setsockopt(socket.IPPROTO_IPV6, 25, 1)    # IPV6_RECVERR
            if args.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
            if args.src:
                s.bind((args.src, 0))
            s.settimeout(args.connect_timeout)
            t0 = time.time()
            try:
                s.connect((args.addr, port))
            except OSError as e:
                failed += 1
                out.write("FAIL %d %s after %.1fs\n" % (port, e, time.time() - t0))
                out.flush()
                s.close()
                if args.stop_on_fail:
                    break
                continue
            socks.append(s)
            out.write("OK %d %d %.2f\n" % (port, s.getsockname()[1],
                                            time.time() - t0))
            out.flush()

    def ping(*_):
        res = []
        for s in socks:
            try:
                s.settimeout(args.ping_timeout)
                s.sendall(b"PING\n")
                res.append("PONG" if s.recv(5) == b"PONG\n" else "BAD")
            except OSError as e:
                res.append("ERR %s" % e)
        with open(args.out + ".ping", "w") as f:
            f.write("\n".join(res) + "\n")

    def dripreq(*_):
        for s in socks:
            try:
                s.sendall(args.sig2.encode() + b"\n")
            except OSError:
                pass
        open(args.out + ".drip", "w").close()

    def errs(*_):
        """Pending socket errors: SO_ERROR (clears it) and the error queue."""
        res = []
        for s in socks:
            # blocking mode, so that MSG_DONTWAIT is what decides: with a
            # timeout set, Python polls for POLLIN before recvmsg and an
            # empty error queue costs the whole timeout per socket
            s.settimeout(None)
            e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            q = ""
            try:
                s.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
                q = " errqueue"
            except OSError:
                pass
            res.append(("ERR %s%s" % (errno.errorcode.get(e, e), q))
                       if e or q else "OK")
        return res

    def send_noop(*_):
        res = []
        for s in socks:
            try:
                s.sendall(b"NOOP\n")
                res.append("OK")
            except OSError as e:
                res.append("ERR %s" % errno.errorcode.get(e.errno, e.errno))
        return res

    def drain(*_):
        """Read every connection until it stays quiet for --drain-quiet
        seconds: "OK <bytes read>", "EOF <bytes>" or "ERR <errno> <bytes>"."""
        res = []
        for s in socks:
            n = 0
            s.settimeout(args.drain_quiet)
            try:
                while True:
                    d = s.recv(65536)
                    if not d:
                        res.append("EOF %d" % n)
                        break
                    n += len(d)
            except socket.timeout:
                res.append("OK %d" % n)
            except OSError as e:
                res.append("ERR %s %d" % (errno.errorcode.get(e.errno, e.errno), n))
        return res

    def control():
        """Commands on the FIFO OUT.ctl; the result goes to OUT.<cmd>."""
        cmds = {"err": errs, "send": send_noop, "drain": drain}
        while True:
            with open(args.out + ".ctl") as f:
                for line in f:
                    cmd = line.strip()
                    if cmd in ("ping", "drip"):
                        (ping if cmd == "ping" else dripreq)()
                        continue
                    if cmd not in cmds:
                        continue
                    res = cmds[cmd]()
                    tmp = args.out + "." + cmd + ".tmp"
                    with open(tmp, "w") as o:
                        o.write("\n".join(res) + "\n")
                    os.rename(tmp, args.out + "." + cmd)

    os.mkfifo(args.out + ".ctl")
    threading.Thread(target=control, daemon=True).start()
    with open(args.out + ".ready", "w") as r:
        r.write("READY %d %d\n" % (len(socks), failed))
    signal.signal(signal.SIGUSR1, ping)
    signal.signal(signal.SIGUSR2, dripreq)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.time() + args.lifetime
    while time.time() < end:
        time.sleep(0.2)


def cmd_synflood(args):
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    socks = []
    for _ in range(args.count):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex((args.addr, args.port))
        socks.append(s)
    with open(args.out + ".ready", "w") as r:
        r.write("READY %d\n" % len(socks))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    end = time.time() + args.lifetime
    while time.time() < end:
        time.sleep(0.2)
def cmd_local(args):
    """Server and clients in one process: listen on PORTS, then open COUNT
    connections to each of ADDRS (local addresses), ports in turn, write
    "READY <connected>" to OUT and keep them open (one process per
    namespace in stress_netns.sh)."""
    for p in args.ports:
        threading.Thread(target=listener, args=(p,), daemon=True).start()
    socks = []
    for addr in args.addrs:
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for i in range(args.count):
            for _ in range(100):        # until the listener is up
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.settimeout(5)
                try:
                    s.connect((addr, args.ports[i % len(args.ports)]))
                    socks.append(s)
                    break
                except OSError:
                    s.close()
                    time.sleep(0.1)
    with open(args.out, "w") as o:
        o.write("READY %d\n" % len(socks))
    time.sleep(args.lifetime)


def cmd_churn(args):
    """New connections one after another (connect, PING, PONG, close) to
    ADDR on PORTS in turn, until --count connections, --seconds or the file
    --stop exists. With --make-it-fail the kernel's fault injection
    (task-filter) fails allocations made for this process from then on:
    errors are counted, never fatal. --rst closes with a reset (no
    TIME_WAIT entry left behind). Writes "CHURN <ok> <failed>" to OUT."""
    fam = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    if args.make_it_fail:
        with open("/proc/self/make-it-fail", "w") as f:
            f.write("1")
    ok = failed = i = 0
    end = time.time() + args.seconds
    while i < args.count and time.time() < end:
        if args.stop and os.path.exists(args.stop):
            break
        port = args.ports[i % len(args.ports)]
        i += 1
        s = None
        try:
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(args.connect_timeout)
            s.connect((args.addr, port))
            s.sendall(b"PING\n")
            if s.recv(5) == b"PONG\n":
                ok += 1
            else:
                failed += 1
        except Exception:       # MemoryError too, under fault injection
            failed += 1
        finally:
            if s is not None:
                if args.rst:
                    try:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                s.close()
    if args.make_it_fail:
        for _ in range(100):
            try:
                with open("/proc/self/make-it-fail", "w") as f:
                    f.write("0")
                break
            except OSError:
                pass
    with open(args.out, "w") as o:
        o.write("CHURN %d %d\n" % (ok, failed))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("ports", type=int, nargs="+")
    sv.add_argument("--lifetime", type=int, default=1200)
    lo = sub.add_parser("local")
    lo.add_argument("--addrs", type=lambda s: s.split(","), required=True)
    lo.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")],
                    required=True)
    lo.add_argument("--count", type=int, default=1)
    lo.add_argument("--out", required=True)
    lo.add_argument("--lifetime", type=int, default=300)
    c = sub.add_parser("churn")
    c.add_argument("--addr", required=True)
    c.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")],
                   required=True)
    c.add_argument("--count", type=int, default=1000)
    c.add_argument("--seconds", type=float, default=60)
    c.add_argument("--stop", default="")
    c.add_argument("--connect-timeout", type=float, default=5)
    c.add_argument("--make-it-fail", action="store_true")
    c.add_argument("--rst", action="store_true")
    c.add_argument("--out", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--addr", required=True)
    h.add_argument("--ports", type=lambda s: [int(x) for x in s.split(",")],
                   required=True)
    h.add_argument("--count", type=int, default=1)
    h.add_argument("--out", required=True)
    h.add_argument("--connect-timeout", type=float, default=5)
    h.add_argument("--stop-on-fail", action="store_true")
    h.add_argument("--recverr", action="store_true")
    h.add_argument("--rcvbuf", type=int, default=0)
    h.add_argument("--sig2", default="DRIP", choices=["DRIP", "FLOOD"])
    h.add_argument("--lifetime", type=int, default=1200)
    h.add_argument("--src")
    h.add_argument("--ping-timeout", type=float, default=30)
    h.add_argument("--drain-quiet", type=float, default=3)
    f = sub.add_parser("synflood")
    f.add_argument("--addr", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--lifetime", type=int, default=600)
    args = ap.parse_args()
    {"serve": cmd_serve, "hold": cmd_hold, "synflood": cmd_synflood,
     "churn": cmd_churn, "local": cmd_local}[args.cmd](args)


if __name__ == "__main__":
    main()
