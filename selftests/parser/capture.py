#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Record a negotiation with a real server as a transcript for the parser
tests: capture.py SCRIPT HOST PORT OUT [SOURCE_ADDR]

The transcripts in transcripts/ were recorded with Debian 12's Postfix 3.7
and Dovecot 2.3, on loopback inside a private network namespace (see
README). The file format (read by test_parse.c and bench_parse.c) is a
sequence of records, each "S <len>\\n" or "C <len>\\n" (server or client
bytes), then <len> raw bytes, then "\\n", in the order they were exchanged.
"""
import re
import socket
import ssl
import sys

REPLY_END = re.compile(rb'(?:^|\r\n)\d{3} [^\r\n]*\r\n$')


def smtp_reply(buf):
    return bool(REPLY_END.search(buf))


def smtp_replies(n):
    def done(buf):
        lines = buf.split(b'\r\n')
        return (buf.endswith(b'\r\n') and
                sum(1 for line in lines if re.match(rb'\d{3} ', line)) >= n)
    return done


def imap_tagged(tag):
    pat = re.compile(rb'(?:^|\r\n)' + re.escape(tag) + rb' [^\r\n]*\r\n$')
    return lambda buf: bool(pat.search(buf))


def imap_line(buf):
    return buf.endswith(b'\r\n')


def imap_cont(buf):
    return bool(re.search(rb'(?:^|\r\n)\+ [^\r\n]*\r\n$', buf))


EHLO = b'EHLO client.example.net\r\n'
SCRIPTS = {
    'smtp-starttls': [
        ('recv', smtp_reply), ('send', EHLO), ('recv', smtp_reply),
        ('send', b'STARTTLS\r\n'), ('recv', smtp_reply), ('tls',),
    ],
    'smtp-auth': [
        ('recv', smtp_reply), ('send', EHLO), ('recv', smtp_reply),
        ('send', b'MAIL FROM:<alice@example.org>\r\n'
                 b'RCPT TO:<bob@example.org>\r\nRSET\r\n'),
        ('recv', smtp_replies(3)),
        ('send', b'AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n'),
        ('recv', smtp_reply), ('send', b'QUIT\r\n'), ('recv', smtp_reply),
    ],
    'smtp-helo': [
        ('recv', smtp_reply), ('send', b'HELO client.example.net\r\n'),
        ('recv', smtp_reply), ('send', EHLO), ('recv', smtp_reply),
        ('send', b'QUIT\r\n'), ('recv', smtp_reply),
    ],
    'imap-starttls': [
        ('recv', imap_line), ('send', b'a CAPABILITY\r\nb NOOP\r\n'),
        ('recv', imap_tagged(b'b')), ('send', b'c STARTTLS\r\n'),
        ('recv', imap_tagged(b'c')), ('tls',),
    ],
    'imap-logindisabled': [
        ('recv', imap_line), ('send', b'a CAPABILITY\r\n'),
        ('recv', imap_tagged(b'a')), ('send', b'b LOGIN alice secret\r\n'),
        ('recv', imap_tagged(b'b')), ('send', b'c LOGOUT\r\n'),
        ('recv', imap_tagged(b'c')),
    ],
    'imap-login': [
        ('recv', imap_line),
        ('send', b'a ID ("name" {8+}\r\nlemonade)\r\n'),
        ('recv', imap_tagged(b'a')), ('send', b'b LOGIN alice secret\r\n'),
        ('recv', imap_tagged(b'b')), ('send', b'c LOGOUT\r\n'),
        ('recv', imap_tagged(b'c')),
    ],
    'imap-authenticate': [
        ('recv', imap_line), ('send', b'a AUTHENTICATE PLAIN\r\n'),
        ('recv', imap_cont), ('send', b'AGFsaWNlAHNlY3JldA==\r\n'),
        ('recv', imap_tagged(b'a')), ('send', b'b LOGOUT\r\n'),
        ('recv', imap_tagged(b'b')),
    ],
}


def main():
    script, host, port, out = sys.argv[1:5]
    src = sys.argv[5] if len(sys.argv) > 5 else None
    sock = socket.create_connection((host, int(port)), timeout=5,
                                    source_address=(src, 0) if src else None)
    records = []
    for step in SCRIPTS[script]:
        if step[0] == 'send':
            sock.sendall(step[1])
            records.append((b'C', step[1]))
        elif step[0] == 'recv':
            buf = b''
            while not step[1](buf):
                data = sock.recv(4096)
                if not data:
                    raise SystemExit('%s: connection closed' % script)
                buf += data
            records.append((b'S', buf))
        else:
            # The client's first TLS flight, and the server's answer.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ctx.wrap_bio(inc, outb, server_hostname='mail.example.org')
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = outb.read()
            sock.sendall(hello)
            records.append((b'C', hello))
            sock.settimeout(1)
            buf = b''
            try:
                while len(buf) < 256:
                    data = sock.recv(4096)
                    if not data:
                        break
                    buf += data
            except socket.timeout:
                pass
            records.append((b'S', buf[:256]))
    sock.close()
    with open(out, 'wb') as f:
        for d, data in records:
            f.write(b'%s %d\n' % (d, len(data)) + data + b'\n')


if __name__ == '__main__':
    main()
