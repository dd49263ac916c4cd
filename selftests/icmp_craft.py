#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Play a router beyond the gateway: capture one real TCP segment of a flow
on an interface, then send an ICMP error quoting it to the segment's
sender. Run it inside the namespace that owns the interface.

icmp_craft.py --iface s0 --dport 143 --src 198.51.100.254 --type 3 --code 1
              [--seq-offset N] [--mtu M] [--timeout S]

IPv6 when the captured segment is IPv6 (--v6 selects the capture filter):
--type 1 --code 3 (destination unreachable), --type 2 --mtu 1280 (PTB).
Prints one line: SENT <type> <code> seq=<quoted seq> or NONE.
"""
import argparse
import sys

from scapy.all import (IP, ICMP, IPv6, ICMPv6DestUnreach, ICMPv6PacketTooBig,
                       TCP, conf, send, sniff, raw)

conf.verb = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--type", type=int, required=True)
    ap.add_argument("--code", type=int, default=0)
    ap.add_argument("--seq-offset", type=int, default=0)
    ap.add_argument("--mtu", type=int, default=0)
    ap.add_argument("--v6", action="store_true")
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--ready", help="file to create once capturing")
    a = ap.parse_args()

    bpf = "%s and tcp dst port %d" % ("ip6" if a.v6 else "ip", a.dport)
    def started():
        if a.ready:
            open(a.ready, "w").close()

    pkts = sniff(iface=a.iface, filter=bpf, count=1, timeout=a.timeout,
                 started_callback=started,
                 lfilter=lambda p: TCP in p and len(p[TCP].payload) > 0)
    if not pkts:
        print("NONE")
        return 1
    pkt = pkts[0]
    l3 = pkt[IPv6] if a.v6 else pkt[IP]
    tcp = l3[TCP]
    seq = (tcp.seq + a.seq_offset) & 0xffffffff
    tcp.seq = seq
    if a.v6:
        quoted = raw(l3)[:1232]
        if a.type == 2:
            err = ICMPv6PacketTooBig(mtu=a.mtu or 1280)
        else:
            err = ICMPv6DestUnreach(code=a.code)
        send(IPv6(src=a.src, dst=l3.src) / err / quoted)
    else:
        l3.chksum = None
        tcp.chksum = None
        quoted = raw(l3)[:548]
        icmp = ICMP(type=a.type, code=a.code)
        if a.mtu:
            icmp.nexthopmtu = a.mtu
        send(IP(src=a.src, dst=l3.src) / icmp / quoted)
    print("SENT %d %d seq=%d" % (a.type, a.code, seq))
    return 0


if __name__ == "__main__":
    sys.exit(main())
