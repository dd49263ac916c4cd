#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Play an attacker (or a bad network) on one side of the gateway: capture
one real TCP segment of a flow on an interface, wait for a go file, then
send a crafted segment of the same flow. Run it inside the namespace that
owns the interface.

tcp_craft.py --iface IF (--sport P | --dport P) [--v6] [--data] [--skip N]
             --mode syn|synack|replay|overlap [--append-file F]
             --ready FILE --go FILE [--timeout S]

The first segment with the given port that this side sends (with payload
if --data; after skipping N such segments) is captured. Then, once the go file exists:
  syn       a SYN from the captured sender's address and port (a random
            sequence number), as a late or spoofed SYN of the same 4-tuple;
  synack    a SYN/ACK likewise (random sequence and acknowledgement);
  replay    the captured segment again, same sequence numbers, options and
            length, with different payload bytes: a stale or forged copy;
  overlap   the captured segment again with the bytes of --append-file
            after its payload: a retransmission that overlaps what was
            sent and carries new bytes behind it.
Prints one line: SENT <mode> seq=<seq> len=<payload bytes> or NONE.
Plain AF_PACKET sockets (no scapy: its import takes seconds in the guest).
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

# the packet-socket constants and the Internet checksum, as icmp_craft.py
# (next to this file) has them
from icmp_craft import ETH_P_ALL, ETH_P_IP, ETH_P_IPV6, PACKET_OUTGOING, csum


def parse(frame, a):
    """(l3 header bytes, tcp bytes) of a matching segment, or None."""
    etype = struct.unpack("!H", frame[12:14])[0]
    l3 = frame[14:]
    if not a.v6 and etype == ETH_P_IP and len(l3) >= 20 and l3[9] == 6:
        ihl = (l3[0] & 0x0F) * 4
        l3 = l3[:struct.unpack("!H", l3[2:4])[0]]
    elif a.v6 and etype == ETH_P_IPV6 and len(l3) >= 40 and l3[6] == 6:
        ihl = 40
        l3 = l3[:40 + struct.unpack("!H", l3[4:6])[0]]
    else:
        return None
    tcp = l3[ihl:]
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack("!HH", tcp[0:4])
    if (a.sport and sport != a.sport) or (a.dport and dport != a.dport):
        return None
    doff = (tcp[12] >> 4) * 4
    if a.data and len(tcp) <= doff:
        return None
    return l3[:ihl], tcp


def build(a, hdr, tcp):
    """The crafted IP packet for the captured (hdr, tcp)."""
    doff = (tcp[12] >> 4) * 4
    seq, ack = struct.unpack("!II", tcp[4:12])
    payload = tcp[doff:]
    opts = tcp[20:doff]
    flags = tcp[13]
    if a.mode in ("syn", "synack"):
        seq = random.getrandbits(32)
        ack = random.getrandbits(32) if a.mode == "synack" else 0
        flags = 0x12 if a.mode == "synack" else 0x02
        opts = b""
        payload = b""
    elif a.mode == "replay":
        # same length, different bytes after the first four
        payload = payload[:4] + bytes(
            (c ^ 0x20) if chr(c).isalpha() else c for c in payload[4:])
    else:
        with open(a.append_file, "rb") as f:
            payload = payload + f.read()
    doff = 20 + len(opts)
    seg = bytearray(struct.pack("!HHIIBBHHH", *struct.unpack("!HH", tcp[0:4]),
                                seq, ack, (doff // 4) << 4, flags,
                                struct.unpack("!H", tcp[14:16])[0], 0, 0)
                    + opts + payload)
    if a.v6:
        src, dst = hdr[8:24], hdr[24:40]
        pseudo = src + dst + struct.pack("!I3xB", len(seg), 6)
        seg[16:18] = struct.pack("!H", csum(pseudo + bytes(seg)))
        ip = struct.pack("!IHBB", 0x60000000, len(seg), 6, 64) + src + dst
    else:
        src, dst = hdr[12:16], hdr[16:20]
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(seg))
        seg[16:18] = struct.pack("!H", csum(pseudo + bytes(seg)))
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(seg), 0, 0x4000, 64,
                         6, 0) + src + dst
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + bytes(seg), seq, len(payload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--dport", type=int, default=0)
    ap.add_argument("--v6", action="store_true")
    ap.add_argument("--data", action="store_true")
    ap.add_argument("--skip", type=int, default=0)
    ap.add_argument("--mode", required=True,
                    choices=["syn", "synack", "replay", "overlap"])
    ap.add_argument("--append-file")
    ap.add_argument("--ready", required=True)
    ap.add_argument("--go", required=True)
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
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
        if addr[2] != PACKET_OUTGOING or len(frame) < 14:
            continue
        found = parse(frame, a)
        if found and a.skip:
            a.skip -= 1
            found = None
    while not os.path.exists(a.go):
        if time.time() > end:
            print("NONE")
            return 1
        time.sleep(0.05)
    pkt, seq, n = build(a, *found)
    # the same way the captured segment went: towards the gateway
    s.send(frame[0:12] + struct.pack("!H", ETH_P_IPV6 if a.v6 else ETH_P_IP)
           + pkt)
    print("SENT %s seq=%d len=%d" % (a.mode, seq, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
