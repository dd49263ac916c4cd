#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The client of selftests/guard_real.sh: Python's own smtplib or imaplib
against the real Postfix or Dovecot, through the gateway.

client.py smtp|imap ADDR PORT [--probe CMD] [--rounds N] [--timeout S]

smtp: SMTP(ADDR, PORT), EHLO, STARTTLS (unverified context), EHLO over TLS,
      then N rounds of EHLO/MAIL FROM/RSET over TLS, QUIT.
imap: IMAP4(ADDR, PORT) (greeting, CAPABILITY), STARTTLS (unverified
      context), CAPABILITY over TLS, then N rounds of NOOP/CAPABILITY over
      TLS, LOGOUT.

--probe CMD is run (shell) at three points and must print `lemonctl -j
stats` JSON; its guard_inspected value is recorded: before connecting,
once TLS is up (after the first exchange over TLS), after the rounds.
--flows CMD is run at the last two of those points and must print
`lemonctl -j flows` JSON; the guard status and inspected bytes of this
client's own flow (found by its source port) are recorded.

Prints one JSON object: ok, error, plain (what the client saw advertised
before TLS), tls (protocol version), bytes (TCP payload bytes both ways,
from TCP_INFO: "plain" up to the STARTTLS command, "tls_up" when TLS was
up, "rounds" carried by the rounds), inspected {before, tls_up, rounds},
flow {tls_up, rounds} (each {"guard": ..., "inspected": ...} or an error).
Every wait is bounded (--timeout per socket operation).
"""
import argparse
import imaplib
import json
import smtplib
import socket
import ssl
import struct
import subprocess
import sys


def tcp_bytes(sock):
    """Payload bytes acknowledged (sent) + received on a TCP socket."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    # struct tcp_info: tcpi_bytes_acked at 120, tcpi_bytes_received at 128
    acked, received = struct.unpack_from("=QQ", info, 120)
    return acked + received


def probe(cmd):
    if not cmd:
        return None
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True,
                             timeout=30, check=True).stdout
        return json.loads(out)["guard_inspected"]
    except (subprocess.SubprocessError, ValueError, KeyError) as e:
        return "probe failed: %s" % e


def flow_probe(cmd, sock):
    """The guard status and inspected bytes of the flow of @sock."""
    if not cmd:
        return None
    sport = sock.getsockname()[1]
    try:
        out = subprocess.run(cmd, shell=True, capture_output=True,
                             timeout=30, check=True).stdout
        for f in json.loads(out):
            if f["sport"] == sport:
                return {"guard": f["guard"], "inspected": f["inspected"]}
        return "no flow with source port %d" % sport
    except (subprocess.SubprocessError, ValueError, KeyError) as e:
        return "flows probe failed: %s" % e


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def smtp(a, res):
    name = "client.example.org"
    s = smtplib.SMTP(a.addr, a.port, local_hostname=name, timeout=a.timeout)
    try:
        code, msg = s.ehlo()
        res["plain"] = msg.decode(errors="replace").replace("\n", "|")
        res["bytes"]["plain"] = tcp_bytes(s.sock)
        s.starttls(context=tls_context())
        res["tls"] = s.sock.version()
        code, msg = s.ehlo()
        if code != 250:
            raise RuntimeError("EHLO over TLS: %d %s" % (code, msg))
        res["after_tls"] = msg.decode(errors="replace").replace("\n", "|")
        res["bytes"]["tls_up"] = tcp_bytes(s.sock)
        res["inspected"]["tls_up"] = probe(a.probe)
        res["flow"]["tls_up"] = flow_probe(a.flows, s.sock)
        start = tcp_bytes(s.sock)
        for _ in range(a.rounds):
            for code, msg in (s.ehlo(), s.mail("probe@example.org"), s.rset()):
                if code != 250:
                    raise RuntimeError("over TLS: %d %s" % (code, msg))
        res["bytes"]["rounds"] = tcp_bytes(s.sock) - start
        res["inspected"]["rounds"] = probe(a.probe)
        res["flow"]["rounds"] = flow_probe(a.flows, s.sock)
        s.quit()
    finally:
        s.close()


def imap(a, res):
    m = imaplib.IMAP4(a.addr, a.port, timeout=a.timeout)
    try:
        res["plain"] = "%s | CAPABILITY %s" % (
            m.welcome.decode(errors="replace"), " ".join(m.capabilities))
        res["bytes"]["plain"] = tcp_bytes(m.sock)
        m.starttls(ssl_context=tls_context())
        res["tls"] = m.sock.version()
        typ, dat = m.capability()
        if typ != "OK":
            raise RuntimeError("CAPABILITY over TLS: %s %s" % (typ, dat))
        res["after_tls"] = b" ".join(dat).decode(errors="replace")
        res["bytes"]["tls_up"] = tcp_bytes(m.sock)
        res["inspected"]["tls_up"] = probe(a.probe)
        res["flow"]["tls_up"] = flow_probe(a.flows, m.sock)
        start = tcp_bytes(m.sock)
        for _ in range(a.rounds):
            for typ, dat in (m.noop(), m.capability()):
                if typ != "OK":
                    raise RuntimeError("over TLS: %s %s" % (typ, dat))
        res["bytes"]["rounds"] = tcp_bytes(m.sock) - start
        res["inspected"]["rounds"] = probe(a.probe)
        res["flow"]["rounds"] = flow_probe(a.flows, m.sock)
        m.logout()
    finally:
        if m.state != "LOGOUT":
            m.shutdown()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proto", choices=("smtp", "imap"))
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--probe", default="")
    ap.add_argument("--flows", default="")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    res = {"ok": False, "error": None, "plain": None, "tls": None,
           "bytes": {}, "inspected": {"before": probe(a.probe)},
           "flow": {}}
    try:
        (smtp if a.proto == "smtp" else imap)(a, res)
        res["ok"] = True
    except Exception as e:  # report every failure the same way
        res["error"] = "%s: %s" % (type(e).__name__, e)
    json.dump(res, sys.stdout)
    print()
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
