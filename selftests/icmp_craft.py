#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Play a router beyond the gateway: capture one real TCP segment of a flow
on an interface, then send an ICMP error quoting it to the segment's
sender. Run it inside the namespace that owns the interface.

icmp_craft.py --iface s0 --dport 143 --src 198.51.100.254 --type 3 --code 1
              [--seq-offset N] [--mtu M] [--quote-tcp N] [--timeout S]

--quote-tcp N quotes only the first N bytes of the TCP header (4: the
ports alone, which conntrack still relates to the flow).
IPv6 when --v6 is given (it selects what is captured): --type 1 --code 3
(destination unreachable), --type 2 --mtu 1280 (Packet Too Big).
Prints one line: SENT <type> <code> seq=<quoted seq> or NONE.

Plain sockets, no scapy (whose import alone takes seconds in an emulated
guest): an AF_PACKET socket on the interface captures the first segment
with payload to DPORT and sends the error back as an Ethernet frame to the
MAC address the segment came from (the gateway).
"""
import argparse
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def segment(frame, v6, dport):
    """(l3 bytes, offset of TCP in them) of a TCP segment with payload to
    dport, or None."""
    etype = struct.unpack("!H", frame[12:14])[0]
    l3 = frame[14:]
    if not v6 and etype == ETH_P_IP and len(l3) >= 20 and l3[9] == 6:
        ihl = (l3[0] & 0x0F) * 4
        total = struct.unpack("!H", l3[2:4])[0]
        l3 = l3[:total]
        off = ihl
    elif v6 and etype == ETH_P_IPV6 and len(l3) >= 40 and l3[6] == 6:
        l3 = l3[:40 + struct.unpack("!H", l3[4:6])[0]]
        off = 40
    else:
        return None
    if len(l3) < off + 20:
        return None
    tdport = struct.unpack("!H", l3[off + 2:off + 4])[0]
    doff = (l3[off + 12] >> 4) * 4
    if tdport != dport or len(l3) - off - doff <= 0:
        return None
    return l3, off


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--type", type=int, required=True)
    ap.add_argument("--code", type=int, default=0)
    ap.add_argument("--seq-offset", type=int, default=0)
    ap.add_argument("--mtu", type=int, default=0)
    ap.add_argument("--quote-tcp", type=int, default=0)
    ap.add_argument("--v6", action="store_true")
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--ready", help="file to create once capturing")
    a = ap.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    if a.ready:
        open(a.ready, "w").close()
    end = time.time() + a.timeout
    found = None
    while not found:
        left = end - time.time()
        if left <= 0:
            print("NONE")
            return 1
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] == PACKET_OUTGOING or len(frame) < 14:
            continue
        found = segment(frame, a.v6, a.dport)
    out, seq = craft(frame, found, a)
    s.send(out)
    print("SENT %d %d seq=%d" % (a.type, a.code, seq))
    return 0


def craft(frame, found, a):
    """The Ethernet frame of the error, and the sequence number quoted."""
    l3, off = found
    l3 = bytearray(l3)
    seq = (struct.unpack("!I", l3[off + 4:off + 8])[0] + a.seq_offset) & 0xFFFFFFFF
    l3[off + 4:off + 8] = struct.pack("!I", seq)

    if a.v6:
        src = socket.inet_pton(socket.AF_INET6, a.src)
        dst = bytes(l3[8:24])
        quoted = bytes(l3[:off + a.quote_tcp] if a.quote_tcp else l3[:1232])
        rest = struct.pack("!I", a.mtu or 1280) if a.type == 2 else b"\0" * 4
        icmp = struct.pack("!BBH", a.type, a.code, 0) + rest + quoted
        pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
        icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
        ip = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 64) + src + dst
        etype = ETH_P_IPV6
    else:
        # the quoted segment's TCP checksum, for its changed sequence
        tcp = l3[off:]
        tcp[16:18] = b"\0\0"
        pseudo = bytes(l3[12:20]) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp[16:18] = struct.pack("!H", csum(pseudo + bytes(tcp)))
        l3[off:] = tcp
        src = socket.inet_aton(a.src)
        dst = bytes(l3[12:16])
        quoted = bytes(l3[:off + a.quote_tcp] if a.quote_tcp else l3[:548])
        rest = struct.pack("!HH", 0, a.mtu) if a.mtu else b"\0" * 4
        icmp = struct.pack("!BBH", a.type, a.code, 0) + rest + quoted
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0) + src + dst
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        etype = ETH_P_IP
    # back to where the segment came from
    eth = frame[6:12] + frame[0:6] + struct.pack("!H", etype)
    return eth + ip + icmp, seq


if __name__ == "__main__":
    sys.exit(main())
