#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Set one IPv4 TCP conntrack entry's remaining timeout over ctnetlink,
sending only the original tuple and CTA_TIMEOUT (conntrack -U also sends
the helper and status back, which the kernel may refuse).

ct_settimeout.py SRC DST SPORT DPORT SECONDS   (run in the entry's netns)
"""
import socket
import struct
import sys

NLA_F_NESTED = 0x8000


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * ((4 - len(a) % 4) % 4)


def main():
    src, dst, sport, dport, secs = sys.argv[1:6]
    ip = attr(1 | NLA_F_NESTED, attr(1, socket.inet_aton(src)) +
              attr(2, socket.inet_aton(dst)))
    proto = attr(2 | NLA_F_NESTED, attr(1, struct.pack("B", 6)) +
                 attr(2, struct.pack("!H", int(sport))) +
                 attr(3, struct.pack("!H", int(dport))))
    body = (struct.pack("=BBH", socket.AF_INET, 0, 0) +
            attr(1 | NLA_F_NESTED, ip + proto) +
            attr(7, struct.pack("!I", int(secs))))
    hdr = struct.pack("=IHHII", 16 + len(body), (1 << 8) | 0, 0x1 | 0x4, 1, 0)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    s.settimeout(5)
    s.send(hdr + body)
    ack = s.recv(4096)
    err = struct.unpack("=i", ack[16:20])[0]
    if err:
        print("error %d" % -err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
