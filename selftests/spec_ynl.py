#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
spec_ynl: the kernel's ynl library (tools/net/ynl of Linux 6.12 or later)
reads Documentation/netlink/specs/lemonade.yaml, validates it against that
tree's genetlink-legacy schema, and encodes and decodes lemonade messages
as the module sends and expects them, on the host, without the module: the
family ID is made up and the socket is a stand-in that checks each request
byte for byte and answers with messages built as kmod/config.c,
kmod/flows.c, kmod/events.c and kmod/netlink.c build them.

usage: selftests/spec_ynl.py [--ynl DIR]   (DIR: .../tools/net/ynl)
       selftests/spec_ynl.py --find         (print the ynl found, or fail)
Without --ynl: $LEMONADE_YNL, else /usr/src/linux-source-*/tools/net/ynl.
"""
import argparse
import glob
import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "Documentation", "netlink", "specs",
                    "lemonade.yaml")
FAMILY_ID = 0x1d
EVENTS_GRP = 11

NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 1, 2, 4
NLM_F_DUMP = 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLA_F_NESTED = 1 << 15

# uapi/linux/lemonade.h, spelled out: the point is to catch a spec that
# disagrees with the numbers on the wire
CMD_GET_CONFIG, CMD_SET_CONFIG, CMD_ADD_PORT = 1, 2, 3
CMD_GET_STATS, CMD_GET_FLOWS, CMD_EVENT = 5, 7, 8
A = dict(VERSION=1, ENABLED=2, TIMEOUT=3, HIGH_WATER=4, LOW_WATER=5,
         PORTS=6, PORT=7, FORCE=8, STATS=9, ICMP_POLICY=10, ICMP_STATES=11,
         ICMP_V4_CODES=12, ICMP_V6_CODES=13, ICMP_VALIDATE=14,
         GUARD_POLICY=15, FILTER_PORT=16, FLOW=17, EVENT=18, EVENT_COUNT=19,
         EVENT_SUPPRESSED=20, EVENT_KEYWORD=23, GUARD_BUFFERS=25,
         PORTS_MAX=26, GENERATION=27, EVENT_PORTID=28, EVENT_CMD=29)
PORT_A = dict(PORT=1, PROTO=2, TIMEOUT=3)
FLOW_A = dict(FAMILY=1, SADDR=2, DADDR=3, SPORT=4, DPORT=5, PORT=6,
              TCP_STATE=7, REMAINING=8, TIMEOUT=9, MARKED=10, ID=11, GUARD=12,
              GUARD_INSPECTED=13)
STAT_FIRST, STAT_LAST = 2, 25

failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures += 1


def find_ynl(arg):
    cands = [arg] if arg else []
    if os.environ.get("LEMONADE_YNL"):
        cands.append(os.environ["LEMONADE_YNL"])
    if not arg:
        cands += sorted(glob.glob("/usr/src/linux-source-*/tools/net/ynl"),
                        reverse=True)
    for d in cands:
        for lib in (d, os.path.join(d, "pyynl")):
            if os.path.exists(os.path.join(lib, "lib", "ynl.py")):
                return d, lib
    return None, None


# ---- messages as the kernel builds them --------------------------------------

def nla(t, payload):
    pad = b"\0" * ((4 - len(payload) % 4) % 4)
    return struct.pack("HH", len(payload) + 4, t) + payload + pad


def nest(t, *attrs):
    # nla_nest_start() sets NLA_F_NESTED
    return nla(t | NLA_F_NESTED, b"".join(attrs))


def u8(t, v):
    return nla(t, struct.pack("B", v))


def u16(t, v):
    return nla(t, struct.pack("H", v))


def u32(t, v):
    return nla(t, struct.pack("I", v))


def u64(t, v):
    return nla(t, struct.pack("Q", v))


def strz(t, s):
    return nla(t, s.encode() + b"\0")


def genl(cmd, attrs, seq, flags=0, portid=0):
    body = struct.pack("BBH", cmd, 1, 0) + attrs
    return struct.pack("IHHII", 16 + len(body), FAMILY_ID, flags, seq,
                       portid) + body


def ack(seq, portid=0):
    # NETLINK_CAP_ACK: the request's header only
    body = struct.pack("i", 0) + struct.pack("IHHII", 20, FAMILY_ID, 0, seq,
                                             portid)
    return struct.pack("IHHII", 16 + len(body), NLMSG_ERROR, 0x100, seq,
                       portid) + body


def done(seq):
    body = struct.pack("i", 0)
    return struct.pack("IHHII", 16 + len(body), NLMSG_DONE, NLM_F_MULTI, seq,
                       0) + body


def config_attrs(gen):
    """lemonade_cfg_put(): the module's defaults, two ports."""
    return b"".join([
        strz(A["VERSION"], "0.9.0"), u8(A["ENABLED"], 1),
        u32(A["TIMEOUT"], 7440), u8(A["HIGH_WATER"], 90),
        u8(A["LOW_WATER"], 80), u8(A["ICMP_POLICY"], 0),
        u8(A["ICMP_STATES"], 0), u32(A["ICMP_V4_CODES"], 0x23),
        u32(A["ICMP_V6_CODES"], 0xd), u8(A["ICMP_VALIDATE"], 1),
        u8(A["GUARD_POLICY"], 0), u32(A["GUARD_BUFFERS"], 256),
        u32(A["PORTS_MAX"], 64), u32(A["GENERATION"], gen),
        nest(A["PORTS"],
             nest(A["PORT"], u16(PORT_A["PORT"], 143), u8(PORT_A["PROTO"], 1)),
             nest(A["PORT"], u16(PORT_A["PORT"], 587), u8(PORT_A["PROTO"], 2),
                  u32(PORT_A["TIMEOUT"], 0))),
    ])


CONFIG_DECODED = {
    "version": "0.9.0", "enabled": 1, "timeout": 7440, "high-water": 90,
    "low-water": 80, "icmp-policy": "absorb", "icmp-states": "established",
    "icmp-v4-codes": 0x23, "icmp-v6-codes": 0xd, "icmp-validate": 1,
    "guard-policy": "restore", "guard-buffers": 256, "ports-max": 64,
    "generation": 7,
    "ports": {"port": [{"port": 143, "proto": "imap"},
                       {"port": 587, "proto": "smtp", "timeout": 0}]},
}


def flow(v6):
    """lemonade_put_flow()"""
    if v6:
        sa = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
        da = socket.inet_pton(socket.AF_INET6, "2001:db8::25")
    else:
        sa = socket.inet_aton("192.0.2.1")
        da = socket.inet_aton("198.51.100.25")
    return nest(A["FLOW"],
                u8(FLOW_A["FAMILY"], socket.AF_INET6 if v6 else socket.AF_INET),
                nla(FLOW_A["SADDR"], sa), nla(FLOW_A["DADDR"], da),
                u16(FLOW_A["SPORT"], 50000), u16(FLOW_A["DPORT"], 143),
                u16(FLOW_A["PORT"], 143), u8(FLOW_A["TCP_STATE"], 3),
                u32(FLOW_A["REMAINING"], 7439), u32(FLOW_A["TIMEOUT"], 7440),
                u8(FLOW_A["MARKED"], 1), u32(FLOW_A["ID"], 0xdeadbeef),
                u8(FLOW_A["GUARD"], 2), u32(FLOW_A["GUARD_INSPECTED"], 612))


def flow_decoded(v6):
    return {"family": socket.AF_INET6 if v6 else socket.AF_INET,
            "saddr": "2001:db8::1" if v6 else "192.0.2.1",
            "daddr": "2001:db8::25" if v6 else "198.51.100.25",
            "sport": 50000, "dport": 143, "port": 143, "tcp-state": 3,
            "remaining": 7439, "timeout": 7440, "marked": 1,
            "id": 0xdeadbeef, "guard": "done", "guard-inspected": 612}


class FakeSock:
    """Checks each request against the bytes expected; answers for the
    kernel."""

    def __init__(self):
        self.expect = []    # (request body after nlmsghdr, flags, answer fn)
        self.queue = []
        self.ntf = []

    def send(self, data, flags=0):
        ln, typ, fl, seq, _ = struct.unpack_from("IHHII", data, 0)
        body = data[16:ln]
        want_body, want_flags, answer = self.expect.pop(0)
        check(typ == FAMILY_ID and fl == want_flags and body == want_body,
              f"request bytes: flags {fl:#x} body {body.hex()} "
              f"(want {want_flags:#x} {want_body.hex()})")
        self.queue.append(answer(seq))
        return len(data)

    def recv(self, size, flags=0):
        if flags & socket.MSG_DONTWAIT:
            if not self.ntf:
                raise BlockingIOError()
            return self.ntf.pop(0)
        return self.queue.pop(0)

    def setsockopt(self, *args):
        pass

    def bind(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ynl", help="the kernel tree's tools/net/ynl")
    ap.add_argument("--find", action="store_true")
    args = ap.parse_args()
    ynl_dir, lib_dir = find_ynl(args.ynl)
    if args.find:
        if ynl_dir:
            print(ynl_dir)
        return 0 if ynl_dir else 1
    if not ynl_dir:
        print("spec_ynl: no kernel ynl found (--ynl .../tools/net/ynl, or $LEMONADE_YNL)")
        return 2
    sys.path.insert(0, lib_dir)
    import lib.ynl as ynl_mod
    from lib import SpecFamily, YnlFamily

    schema = os.path.normpath(os.path.join(
        ynl_dir, "..", "..", "..", "Documentation", "netlink",
        "genetlink-legacy.yaml"))
    try:
        spec = SpecFamily(SPEC, schema)
        check(True, f"SpecFamily loads the spec, valid against {schema}")
    except Exception as e:   # jsonschema.ValidationError and the like
        check(False, f"SpecFamily loads the spec against {schema}: {e}")
        return 1
    check(spec.ops["get-flows"].yaml.get("dump") is not None and
          "do" not in spec.ops["get-flows"].yaml, "get-flows is dump only")
    check(spec.msgs["event"].is_async, "event is a notification")

    # the family as a CTRL_CMD_GETFAMILY dump would list it
    ynl_mod.genl_family_name_to_id = {
        "lemonade": {"id": FAMILY_ID, "mcast": {"events": EVENTS_GRP}}}
    y = YnlFamily(SPEC, schema)
    y.sock.close()
    fake = FakeSock()
    y.sock = fake

    # get-config: do, no attributes; the reply as the module sends it
    fake.expect.append((struct.pack("BBH", CMD_GET_CONFIG, 1, 0),
                        NLM_F_REQUEST | NLM_F_ACK,
                        lambda seq: genl(CMD_GET_CONFIG, config_attrs(7), seq)
                        + ack(seq)))
    rsp = y.do("get-config", {})
    check(rsp == CONFIG_DECODED, f"get-config reply decodes: {rsp}")

    # get-flows: a dump with FILTER_PORT, two flows, then DONE
    fake.expect.append((struct.pack("BBH", CMD_GET_FLOWS, 1, 0) +
                        u16(A["FILTER_PORT"], 143),
                        NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
                        lambda seq: genl(CMD_GET_FLOWS, flow(False), seq,
                                         NLM_F_MULTI)
                        + genl(CMD_GET_FLOWS, flow(True), seq, NLM_F_MULTI)
                        + done(seq)))
    rsp = y.dump("get-flows", {"filter-port": 143})
    check(rsp == [{"flow": flow_decoded(False)}, {"flow": flow_decoded(True)}],
          f"get-flows dump decodes: {rsp}")

    # set-config: the PORTS nest of PORT nests the kernel takes
    req = (u8(A["ENABLED"], 1) +
           nest(A["PORTS"],
                nest(A["PORT"], u16(PORT_A["PORT"], 143), u8(PORT_A["PROTO"], 1)),
                nest(A["PORT"], u16(PORT_A["PORT"], 993), u8(PORT_A["PROTO"], 1),
                     u32(PORT_A["TIMEOUT"], 3600))) +
           nla(A["FORCE"], b"") + u32(A["GENERATION"], 7) +
           u8(A["GUARD_POLICY"], 2))
    fake.expect.append((struct.pack("BBH", CMD_SET_CONFIG, 1, 0) + req,
                        NLM_F_REQUEST | NLM_F_ACK, ack))
    rsp = y.do("set-config", {
        "enabled": 1,
        "ports": {"port": [{"port": 143, "proto": "imap"},
                           {"port": 993, "proto": "imap", "timeout": 3600}]},
        "force": True, "generation": 7, "guard-policy": "log"})
    check(rsp is None, "set-config encodes PORTS{PORT{..}..}, FORCE, names as values")

    # add-port: one PORT nest
    fake.expect.append((struct.pack("BBH", CMD_ADD_PORT, 1, 0) +
                        nest(A["PORT"], u16(PORT_A["PORT"], 993),
                             u8(PORT_A["PROTO"], 1)),
                        NLM_F_REQUEST | NLM_F_ACK, ack))
    check(y.do("add-port", {"port": {"port": 993, "proto": "imap"}}) is None,
          "add-port encodes one PORT nest")

    # get-stats: every counter a u64
    stats = b"".join(u64(t, t * 1000) for t in range(STAT_FIRST, STAT_LAST + 1))
    fake.expect.append((struct.pack("BBH", CMD_GET_STATS, 1, 0),
                        NLM_F_REQUEST | NLM_F_ACK,
                        lambda seq: genl(CMD_GET_STATS, nest(A["STATS"], stats),
                                         seq) + ack(seq)))
    rsp = y.do("get-stats", {})
    names = [n for n in spec.attr_sets["stats"].attrs
             if spec.attr_sets["stats"][n].type == "u64"]
    check(rsp == {"stats": {n: spec.attr_sets["stats"][n].value * 1000
                            for n in names}} and len(names) == 24,
          f"get-stats decodes all {len(names)} counters")

    # events: subscribe, a CONFIG event and a STRIP_RESTORED one
    y.ntf_subscribe("events")
    fake.ntf.append(genl(CMD_EVENT, u8(A["EVENT"], 8) +
                         u32(A["EVENT_PORTID"], 4242) +
                         u8(A["EVENT_CMD"], CMD_ADD_PORT) + config_attrs(8), 0))
    fake.ntf.append(genl(CMD_EVENT, u8(A["EVENT"], 5) + flow(False) +
                         strz(A["EVENT_KEYWORD"], "STARTTLS") +
                         u32(A["EVENT_SUPPRESSED"], 3), 0))
    y.check_ntf()
    q = list(y.async_msg_queue) if not hasattr(y.async_msg_queue, "queue") \
        else list(y.async_msg_queue.queue)
    want_cfg = dict(CONFIG_DECODED, generation=8, event="config",
                    **{"event-portid": 4242, "event-cmd": CMD_ADD_PORT})
    check(len(q) == 2 and q[0]["name"] == "event" and q[0]["msg"] == want_cfg,
          f"config event decodes: {q[0] if q else None}")
    check(len(q) == 2 and q[1]["msg"] == {
        "event": "strip-restored", "flow": flow_decoded(False),
        "event-keyword": "STARTTLS", "event-suppressed": 3},
          f"strip-restored event decodes: {q[1] if len(q) > 1 else None}")

    print(f"spec_ynl: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
