#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Set one IPv4 TCP conntrack entry's remaining timeout over ctnetlink,
sending only the original tuple and CTA_TIMEOUT (conntrack -U also sends
the helper and status back, which the kernel may refuse); with "unhelp",
take its conntrack helper away (CTA_HELP with an empty name, as
"conntrack -U --helper ''" would); with "fixed:SECONDS", set the timeout
and IPS_FIXED_TIMEOUT (the entry's status is read first and kept).

ct_settimeout.py SRC DST SPORT DPORT SECONDS|unhelp|fixed:SECONDS
(in the entry's netns). Exit status 3: the kernel refuses to take a
helper away (EOPNOTSUPP, as 7.x kernels do).
"""
import errno
import socket
import struct
import sys

NLA_F_NESTED = 0x8000


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * ((4 - len(a) % 4) % 4)


IPS_FIXED_TIMEOUT = 1 << 10


def request(s, msgtype, flags, body):
    hdr = struct.pack("=IHHII", 16 + len(body), msgtype, flags, 1, 0)
    s.send(hdr + body)
    return s.recv(65536)


def status_of(reply):
    """CTA_STATUS of an IPCTNL_MSG_CT_NEW reply."""
    off = 16 + 4
    while off + 4 <= len(reply):
        alen, atype = struct.unpack("=HH", reply[off:off + 4])
        if alen < 4:
            break
        if atype & 0x7FFF == 3:
            return struct.unpack("!I", reply[off + 4:off + 8])[0]
        off += (alen + 3) & ~3
    return None


def main():
    src, dst, sport, dport, secs = sys.argv[1:6]
    ip = attr(1 | NLA_F_NESTED, attr(1, socket.inet_aton(src)) +
              attr(2, socket.inet_aton(dst)))
    proto = attr(2 | NLA_F_NESTED, attr(1, struct.pack("B", 6)) +
                 attr(2, struct.pack("!H", int(sport))) +
                 attr(3, struct.pack("!H", int(dport))))
    tuple_ = attr(1 | NLA_F_NESTED, ip + proto)
    nfgen = struct.pack("=BBH", socket.AF_INET, 0, 0)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
    s.settimeout(5)
    if secs == "unhelp":
        change = attr(5 | NLA_F_NESTED, attr(1, b"\0"))
    elif secs.startswith("fixed:"):
        # IPCTNL_MSG_CT_GET (1): the status to keep
        status = status_of(request(s, (1 << 8) | 1, 0x1, nfgen + tuple_))
        if status is None:
            print("error: no such entry")
            return 1
        change = (attr(3, struct.pack("!I", status | IPS_FIXED_TIMEOUT)) +
                  attr(7, struct.pack("!I", int(secs[6:]))))
    else:
        change = attr(7, struct.pack("!I", int(secs)))
    # IPCTNL_MSG_CT_NEW (0) without NLM_F_CREATE: an update
    ack = request(s, (1 << 8) | 0, 0x1 | 0x4, nfgen + tuple_ + change)
    err = struct.unpack("=i", ack[16:20])[0]
    if err == -errno.EOPNOTSUPP and secs == "unhelp":
        # newer kernels (7.x) refuse to take a helper away
        print("the kernel refuses to take a helper away (EOPNOTSUPP)")
        return 3
    if err:
        print("error %d" % -err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
