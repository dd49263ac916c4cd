#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
spec_check: Documentation/netlink/specs/lemonade.yaml against what it
describes, so that neither can drift:

  (a) uapi/linux/lemonade.h: the family's name and version, every enum the
      spec describes (names and values, and no enum the spec leaves out),
      the constants, the MAX defines and the multicast group's name;
  (b) kmod/netlink.c: every operation (do/dump, start/done, permission
      flags), every policy entry of every operation, with its type and
      NLA_POLICY_* check, both ways, nested policies included, and the
      family and its multicast group;
  (c) tool/nl.c: lemonctl's reply policies (types, both ways), written
      out there or taken from tool/spec-gen.h's macros;
  (d) Documentation/netlink-api.rst: the reference tables (family,
      permissions, configuration, events, the nests, enumerations);
  (e) tool/spec-gen.h, when present: it is what tool/spec-gen.py makes
      from the spec now.

Prints one line per mismatch; exit 1 on any, else 0 with
"spec_check: N checks, 0 mismatches". Host only, stdlib and PyYAML.

usage: selftests/spec_check.py [--root DIR] [-v]
"""
import argparse
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("spec_check: needs PyYAML (apt-get install python3-yaml)")
    sys.exit(2)

SPEC = "Documentation/netlink/specs/lemonade.yaml"
UAPI = "uapi/linux/lemonade.h"
KNL = "kmod/netlink.c"
COMPAT = "kmod/compat/compat.h"
TOOL = "tool/nl.c"
RST = "Documentation/netlink-api.rst"
GEN = "tool/spec-gen.h"

# lemonctl's reply policies and the attribute set each parses
TOOL_POLICIES = {
    "lemonade_policy": "lemonade",
    "lemonade_port_policy": "port",
    "lemonade_flow_policy": "flow",
    "lemonade_stat_policy": "stats",
}

SCALARS = ("u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64")
NLA_SCALAR = {"NLA_" + t.upper(): t for t in SCALARS}
KERNEL_LIMITS = {
    "U8_MAX": 0xff, "U16_MAX": 0xffff, "U32_MAX": 0xffffffff,
    "S8_MAX": 0x7f, "S16_MAX": 0x7fff, "S32_MAX": 0x7fffffff,
    "INT_MAX": 0x7fffffff,
}
# genl_ops / multicast group flags and the spec's names for them
PERM_FLAGS = {
    "GENL_ADMIN_PERM": "admin-perm",
    "GENL_UNS_ADMIN_PERM": "uns-admin-perm",
    # ns_capable(net->user_ns, CAP_NET_ADMIN), as GENL_UNS_ADMIN_PERM
    "GENL_MCAST_CAP_NET_ADMIN": "uns-admin-perm",
    "GENL_MCAST_CAP_SYS_ADMIN": "admin-perm",
}


class Check:
    def __init__(self, verbose=False):
        self.n = 0
        self.bad = []
        self.verbose = verbose

    def ok(self, cond, msg):
        """One check: cond true, else the mismatch msg."""
        self.n += 1
        if not cond:
            self.bad.append(msg)
            print(msg)
        elif self.verbose:
            print("checked (would say):", msg)
        return cond

    def eq(self, what, got, want):
        return self.ok(got == want, f"{what}: {got!r} != spec {want!r}")

    def same_names(self, what, got, want):
        """Both ways: names in got and not in want, and the reverse."""
        got, want = set(got), set(want)
        for n in sorted(got - want):
            self.ok(False, f"{what}: {n} is not in the spec")
        for n in sorted(want - got):
            self.ok(False, f"{what}: {n} (spec) is missing")
        self.n += 1
        return got == want


def cname(s):
    return s.upper().replace("-", "_")


def strip_c_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def split_top(s, sep=","):
    """Split s on sep outside (), {} and []."""
    out, depth, cur = [], 0, []
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if ch == sep and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    last = "".join(cur).strip()
    if last:
        out.append(last)
    return [x for x in out if x]


def braced(text, start):
    """The text inside the {...} opening at or after start."""
    i = text.index("{", start)
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    raise ValueError("unbalanced braces")


def fields(body):
    """.key = value pairs of a C designated initializer (others: None)."""
    out = {}
    for item in split_top(body):
        m = re.match(r"\.(\w+)\s*=\s*(.*)$", item, re.S)
        if m:
            out[m.group(1)] = m.group(2).strip()
        else:
            out.setdefault(None, []).append(item)
    return out


# ---- the spec -------------------------------------------------------------

class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.y = yaml.safe_load(f)
        y = self.y
        self.name = y["name"]
        self.version = y.get("version", 1)
        self.defs = {d["name"]: d for d in y.get("definitions", [])}
        self.sets = {s["name"]: s for s in y["attribute-sets"]}
        self.attrs = {}         # set -> {attr name: (value, yaml)}
        for s in y["attribute-sets"]:
            if "subset-of" in s:
                continue
            val, d = 1, {}
            for a in s["attributes"]:
                val = a.get("value", val)
                d[a["name"]] = (val, a)
                val += 1
            self.attrs[s["name"]] = d
        for s in y["attribute-sets"]:
            if "subset-of" in s:
                parent = self.attrs[s["subset-of"]]
                self.attrs[s["name"]] = {a["name"]: parent[a["name"]]
                                         for a in s["attributes"]}
        self.ops = []
        val = 1
        for op in y["operations"]["list"]:
            val = op.get("value", val)
            self.ops.append((val, op))
            val += 1
        self.op_prefix = y["operations"].get("name-prefix",
                                             self.name + "-cmd-")
        self.mcgrps = y.get("mcast-groups", {}).get("list", [])

    def enum_entries(self, d):
        """[(value, entry name, doc)] of an enum definition."""
        out, val = [], d.get("value-start", 0)
        for e in d["entries"]:
            if isinstance(e, dict):
                val = e.get("value", val)
                out.append((val, e["name"]))
            else:
                out.append((val, e))
            val += 1
        return out

    def enum_prefix(self, d):
        return d.get("name-prefix", f"{self.name}-{d['name']}-")

    def set_prefix(self, setname):
        s = self.sets[setname]
        if "subset-of" in s:
            s = self.sets[s["subset-of"]]
        return s.get("name-prefix", f"{self.name}-{s['name']}-a-")

    def attr_cname(self, setname, attr):
        return cname(self.set_prefix(setname) + attr)

    def real_set(self, setname):
        s = self.sets[setname]
        return s.get("subset-of", setname)

    def limit(self, v):
        if isinstance(v, int):
            return v
        if v in self.defs and self.defs[v]["type"] == "const":
            return self.defs[v]["value"]
        m = re.match(r"([us])(8|16|32|64)-(min|max)$", v)
        if m:
            width = int(m.group(2)) - (m.group(1) == "s")
            if m.group(3) == "min":
                return 0 if m.group(1) == "u" else -(1 << width)
            return (1 << width) - 1
        raise ValueError(f"unknown limit {v!r}")

    def checks(self, a):
        """The checks of attribute yaml a as ynl-gen-c would apply them."""
        out = {}
        t = a["type"]
        for k, v in a.get("checks", {}).items():
            if k == "flags-mask":
                out["mask"] = (1 << len(self.defs[v]["entries"])) - 1
            elif k in ("unterminated-ok",):
                continue
            else:
                out[k] = self.limit(v)
        if "enum" in a and t in SCALARS:
            d = self.defs[a["enum"]]
            vals = [v for v, _ in self.enum_entries(d)]
            if d["type"] == "flags" or a.get("enum-as-flags"):
                out.setdefault("mask", sum(1 << v for v in vals))
            else:
                if "min" not in out and (min(vals) != 0 or t[0] == "s"):
                    out["min"] = min(vals)
                out.setdefault("max", max(vals))
        if t[0] == "u" and out.get("min") == 0:
            del out["min"]
        return out


# ---- C parsing ------------------------------------------------------------

class CNames:
    """Values of the uapi header's defines and enum entries."""

    def __init__(self, text):
        self.text = strip_c_comments(text)
        self.defines = {}
        for m in re.finditer(r"^\s*#\s*define\s+(\w+)[ \t]+(.+?)\s*$",
                             self.text, re.M):
            self.defines[m.group(1)] = m.group(2)
        self.enums = {}
        self.values = dict(KERNEL_LIMITS)
        for m in re.finditer(r"\benum\s+(\w+)\s*\{", self.text):
            entries, val = [], 0
            for item in split_top(braced(self.text, m.start())):
                n, _, expr = item.partition("=")
                n = n.strip()
                if expr.strip():
                    val = self.eval(expr)
                entries.append((n, val))
                self.values[n] = val
                val += 1
            self.enums[m.group(1)] = entries

    def eval(self, expr, depth=0):
        expr = expr.strip()
        if depth > 10:
            raise ValueError(expr)

        def sub(m):
            n = m.group(0)
            if n in self.values:
                return str(self.values[n])
            if n in self.defines:
                return "(" + str(self.eval(self.defines[n], depth + 1)) + ")"
            raise ValueError(f"unknown name {n}")
        s = re.sub(r"\b[A-Za-z_]\w*\b", sub, expr)
        s = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", s)
        if not re.fullmatch(r"[0-9a-fA-FxX\s()+\-*<>|&~]*", s):
            raise ValueError(f"cannot evaluate {expr!r}")
        return int(eval(s, {"__builtins__": {}}))  # digits and operators only

    def string(self, name):
        v = self.defines.get(name, "")
        m = re.fullmatch(r'"([^"]*)"', v)
        return m.group(1) if m else None


class Policy:
    """One nla_policy entry, normalized: type, checks, nested policy."""

    def __init__(self, ntype, checks=None, nested=None, array=False, raw=""):
        self.type = ntype           # NLA_U8, NLA_NESTED, ...
        self.checks = checks or {}
        self.nested = nested        # name of the nested policy
        self.array = array          # NLA_POLICY_NESTED_ARRAY
        self.raw = raw

    def describe(self):
        s = self.type
        if self.nested:
            s += ("[array of " if self.array else "[") + self.nested + "]"
        if self.checks:
            s += " " + ",".join(f"{k}={v}" for k, v in sorted(self.checks.items()))
        return s


def brace_macros(text):
    """{name: body} of every "#define NAME { ... }" (continued lines)."""
    text = text.replace("\\\n", " ")
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^\s*#\s*define\s+(\w+)\s+\{(.*)\}\s*$", text, re.M)}


def parse_policies(text, names, ranges=None, macros=None):
    """{policy name: {attr C name: Policy}} of every nla_policy array,
    written out or initialized from a macro of macros."""
    out = {}
    for m in re.finditer(r"struct\s+nla_policy\s+(\w+)\s*\[[^\]]*\]\s*=\s*"
                         r"(\{|(\w+)\s*;)", text):
        if m.group(3):
            body = (macros or {}).get(m.group(3))
            if body is None:
                out[m.group(1)] = {"?": Policy("?", raw=m.group(3))}
                continue
        else:
            body = braced(text, m.start())
        entries = {}
        for item in split_top(body):
            em = re.match(r"\[\s*(\w+)\s*\]\s*=\s*(.*)$", item, re.S)
            if not em:
                entries["?" + item] = Policy("?", raw=item)
                continue
            entries[em.group(1)] = parse_policy_value(em.group(2).strip(),
                                                      names, ranges or {})
        out[m.group(1)] = entries
    return out


def parse_policy_value(v, names, ranges):
    v = " ".join(v.split())
    m = re.fullmatch(r"NLA_POLICY_(\w+)\((.*)\)", v)
    if m:
        kind, args = m.group(1), split_top(m.group(2))
        if kind == "NESTED":
            return Policy("NLA_NESTED", nested=args[0], raw=v)
        if kind == "NESTED_ARRAY":
            return Policy("NLA_NESTED_ARRAY", nested=args[0], array=True, raw=v)
        if kind in ("MAX", "MIN", "MASK"):
            return Policy(args[0], {kind.lower(): names.eval(args[1])}, raw=v)
        if kind == "RANGE":
            return Policy(args[0], {"min": names.eval(args[1]),
                                    "max": names.eval(args[2])}, raw=v)
        if kind == "FULL_RANGE":
            r = ranges.get(args[1].lstrip("&").strip())
            if r is None:
                return Policy("?", raw=v)
            return Policy(args[0], dict(r), raw=v)
        if kind == "EXACT_LEN":
            return Policy("NLA_BINARY", {"exact-len": names.eval(args[0])}, raw=v)
        if kind == "MIN_LEN":
            return Policy("NLA_BINARY", {"min-len": names.eval(args[0])}, raw=v)
        return Policy("?", raw=v)
    if v.startswith("{"):
        f = fields(v[1:-1])
        p = Policy(f.get("type", "NLA_UNSPEC"), raw=v)
        if "len" in f:
            p.checks["max-len"] = names.eval(f["len"])
        # libnl's struct nla_policy
        if "minlen" in f:
            p.checks["min-len"] = names.eval(f["minlen"])
        if "maxlen" in f:
            p.checks["max-len"] = names.eval(f["maxlen"])
        if None in f:
            p.type = "?"
        return p
    return Policy("?", raw=v)


def parse_ranges(text, names):
    out = {}
    for m in re.finditer(r"struct\s+netlink_range_validation\s+(\w+)\s*=\s*\{",
                         text):
        r = {}
        for k, v in fields(braced(text, m.start())).items():
            if k in ("min", "max"):
                r[k] = names.eval(v)
        if r.get("min") == 0:
            del r["min"]
        out[m.group(1)] = r
    return out


def normalize(p):
    """Kernel checks as ynl-gen-c writes them: no min 0 on unsigned."""
    c = dict(p.checks)
    t = NLA_SCALAR.get(p.type, "")
    if t.startswith("u") and c.get("min") == 0:
        del c["min"]
    return c


# ---- (a) the uapi header ----------------------------------------------------

def check_uapi(ck, spec, h):
    fam = spec.y.get("c-family-name")
    ver = spec.y.get("c-version-name")
    ck.ok(fam is not None, "spec: no c-family-name")
    ck.ok(ver is not None, "spec: no c-version-name")
    if fam:
        ck.eq(f"{UAPI}: {cname(fam)}", h.string(cname(fam)), spec.name)
    if ver:
        ck.eq(f"{UAPI}: {cname(ver)}", h.eval(cname(ver))
              if cname(ver) in h.defines else None, spec.version)

    described = set()

    def enum_check(what, cenum, want, allow_unspec=False):
        """want: [(C name, value)]; the header enum ends with __..._MAX."""
        described.add(cenum)
        got = h.enums.get(cenum)
        if not ck.ok(got is not None, f"{UAPI}: enum {cenum} missing ({what})"):
            return
        body = [(n, v) for n, v in got if not n.startswith("__")]
        if allow_unspec and body and body[0][0].endswith("_UNSPEC") and \
                body[0][1] == 0 and body[0] not in want:
            body = body[1:]
        gd, wd = dict(body), dict(want)
        ck.same_names(f"{UAPI}: enum {cenum}", gd, wd)
        for n in gd.keys() & wd.keys():
            ck.eq(f"{UAPI}: {n}", gd[n], wd[n])
        return got

    # the enums of the definitions
    for d in spec.defs.values():
        if d["type"] == "const":
            n = cname(d.get("name-prefix", spec.name + "-") + d["name"])
            ck.ok(n in h.defines, f"{UAPI}: #define {n} missing")
            if n in h.defines:
                ck.eq(f"{UAPI}: {n}", h.eval(h.defines[n]), d["value"])
            continue
        if d["type"] not in ("enum", "flags") or "header" in d:
            continue
        cenum = cname(d.get("enum-name") or d["name"]).lower()
        pfx = spec.enum_prefix(d)
        want = [(cname(pfx + e), v) for v, e in spec.enum_entries(d)]
        enum_check(f"definition {d['name']}", cenum, want)

    # attribute sets
    for s in spec.y["attribute-sets"]:
        if "subset-of" in s:
            continue
        cenum = cname(s.get("enum-name") or s["name"]).lower()
        pfx = spec.set_prefix(s["name"])
        want = [(cname(pfx + a), v) for a, (v, _) in spec.attrs[s["name"]].items()]
        got = enum_check(f"attribute-set {s['name']}", cenum, want)
        if got and spec.y.get("max-by-define"):
            mx = cname(pfx) + "MAX"
            cnt = cname(s.get("attr-cnt-name", "__" + pfx + "max"))
            ck.ok(got[-1][0] == cnt, f"{UAPI}: enum {cenum} does not end with {cnt}")
            ck.ok(re.fullmatch(r"\(\s*" + cnt + r"\s*-\s*1\s*\)",
                               h.defines.get(mx, "")) is not None,
                  f"{UAPI}: #define {mx} ({cnt} - 1) missing")

    # the commands
    ops = spec.y["operations"]
    cenum = cname(ops.get("enum-name") or spec.name + "-cmd").lower()
    want = [(cname(spec.op_prefix + op["name"]), v) for v, op in spec.ops]
    got = enum_check("operations", cenum, want, allow_unspec=True)
    if got and spec.y.get("max-by-define"):
        cnt = "__" + cname(spec.op_prefix) + "MAX"
        mx = cname(spec.op_prefix) + "MAX"
        ck.ok(got[-1][0] == cnt, f"{UAPI}: enum {cenum} does not end with {cnt}")
        ck.ok(re.fullmatch(r"\(\s*" + cnt + r"\s*-\s*1\s*\)",
                           h.defines.get(mx, "")) is not None,
              f"{UAPI}: #define {mx} ({cnt} - 1) missing")

    # every enum of the header is described
    for e in h.enums:
        ck.ok(e in described, f"{UAPI}: enum {e} is not in the spec")

    # multicast groups: LEMONADE_MCGRP_<NAME> "<name>", and no other
    groups = {cname(g.get("c-define-name", f"{spec.name}-mcgrp-{g['name']}")):
              g["name"] for g in spec.mcgrps}
    hdr = {n for n in h.defines if n.startswith(cname(spec.name) + "_MCGRP_")}
    ck.same_names(f"{UAPI}: multicast group defines", hdr, groups)
    for n, g in groups.items():
        ck.eq(f"{UAPI}: {n}", h.string(n), g)

    # every plain integer constant of the header is a spec const
    consts = {cname(d.get("name-prefix", spec.name + "-") + d["name"])
              for d in spec.defs.values() if d["type"] == "const"}
    if ver:
        consts.add(cname(ver))
    plain = {n for n, v in h.defines.items()
             if re.fullmatch(r"\d+", v) and not n.startswith("_")}
    ck.same_names(f"{UAPI}: integer constants", plain, consts)


# ---- (b) the kernel ---------------------------------------------------------

def spec_request(op):
    """{'do': [...], 'dump': [...]} of the op's request attributes."""
    out = {}
    for mode in ("do", "dump"):
        if mode in op:
            out[mode] = (op[mode] or {}).get("request", {}).get("attributes", [])
    return out


def compare_entry(ck, spec, where, setname, attr, p, policies, seen):
    """One policy entry p against attribute attr of set setname."""
    a = spec.attrs[setname][attr][1]
    t = a["type"]
    if p.type == "?":
        ck.ok(False, f"{where}: cannot read the policy of {attr}: {p.raw}")
        return
    if p.array:
        # a nest whose entries all follow one policy: the spec says either
        # indexed-array of nests, or a nest holding one multi-attr nest
        inner = None
        if t == "indexed-array" and a.get("sub-type") == "nest":
            inner = a["nested-attributes"]
        elif t == "nest":
            sub = spec.attrs[a["nested-attributes"]]
            if len(sub) == 1:
                (_, (_, e)), = sub.items()
                if e["type"] == "nest" and e.get("multi-attr"):
                    inner = e["nested-attributes"]
        if ck.ok(inner is not None,
                 f"{where}: {attr} is NLA_POLICY_NESTED_ARRAY({p.nested}) "
                 f"but the spec's {t} is not a nest of repeated nests"):
            compare_nested(ck, spec, f"{where}: {attr}", inner, p.nested,
                           policies, seen)
        return
    if p.type == "NLA_NESTED":
        if ck.ok(t == "nest", f"{where}: {attr} is a nest, the spec says {t}") \
                and p.nested:
            compare_nested(ck, spec, f"{where}: {attr}",
                           a["nested-attributes"], p.nested, policies, seen)
        return
    want_type = {
        "flag": ["NLA_FLAG"],
        "string": ["NLA_STRING"] if a.get("checks", {}).get("unterminated-ok")
        else ["NLA_NUL_STRING"],
        "binary": ["NLA_BINARY", "NLA_UNSPEC"],
        "pad": ["NLA_UNSPEC"],
    }.get(t, ["NLA_" + t.upper()])
    ck.ok(p.type in want_type,
          f"{where}: {attr} is {p.type}, the spec says {t}")
    ck.eq(f"{where}: {attr} checks ({p.raw})", normalize(p), spec.checks(a))


def compare_nested(ck, spec, where, setname, polname, policies, seen):
    """Every entry of policy polname against every attribute of setname."""
    key = (setname, polname)
    if key in seen:
        return
    seen.add(key)
    pol = policies.get(polname)
    if not ck.ok(pol is not None, f"{where}: policy {polname} not found"):
        return
    want = {spec.attr_cname(setname, n): n
            for n, (_, a) in spec.attrs[setname].items()
            if a["type"] not in ("unused", "pad")}
    ck.same_names(f"{where} ({polname} vs set {setname})", pol, want)
    for c, n in want.items():
        if c in pol:
            compare_entry(ck, spec, f"{KNL}: {polname}", setname, n, pol[c],
                          policies, seen)


def check_kernel(ck, spec, h, text, compat):
    ranges = parse_ranges(text, h)
    policies = parse_policies(text, h, ranges)

    # the operations
    m = re.search(r"struct\s+genl_(small_)?ops\s+(\w+)\s*\[\s*\]\s*=\s*\{", text)
    if not ck.ok(m is not None, f"{KNL}: no genl_ops array"):
        return
    small, opsname = bool(m.group(1)), m.group(2)
    cops = {}
    for item in split_top(braced(text, m.start())):
        f = fields(item.strip()[1:-1])
        cops[f.get("cmd", "?")] = f

    fm = re.search(r"struct\s+genl_family\s+(\w+)[^=;]*=\s*\{", text)
    fam = fields(braced(text, fm.start())) if fm else {}
    ck.ok(fm is not None, f"{KNL}: no struct genl_family")
    ck.eq(f"{KNL}: family .name", h.string(fam.get("name", "")), spec.name)
    ck.eq(f"{KNL}: family .version",
          h.eval(fam["version"]) if "version" in fam else 1, spec.version)
    ck.eq(f"{KNL}: family .ops", fam.get("ops"), opsname)
    fam_policy = fam.get("policy")

    spec_ops = {cname(spec.op_prefix + op["name"]): op for _, op in spec.ops
                if "do" in op or "dump" in op}
    ck.same_names(f"{KNL}: {opsname}", cops, spec_ops)
    seen = set()
    for c in sorted(cops.keys() & spec_ops.keys()):
        f, op = cops[c], spec_ops[c]
        where = f"{KNL}: {c}"
        ck.eq(f"{where} has a doit", "doit" in f, "do" in op)
        ck.eq(f"{where} has a dumpit", "dumpit" in f, "dump" in op)
        dump = op.get("dump") or {}
        ck.eq(f"{where} .start", f.get("start"),
              cname(dump["pre"]).lower() if "pre" in dump else None)
        ck.eq(f"{where} .done", f.get("done"),
              cname(dump["post"]).lower() if "post" in dump else None)
        flags = sorted(PERM_FLAGS.get(x.strip(), x.strip())
                       for x in f.get("flags", "").split("|") if x.strip())
        ck.eq(f"{where} .flags", flags, sorted(op.get("flags", [])))
        polname = fam_policy if small else f.get("policy", fam_policy)
        pol = policies.get(polname, {}) if polname else {}
        ck.ok(polname is None or polname in policies,
              f"{where}: policy {polname} not found")
        for mode, attrs in spec_request(op).items():
            want = {spec.attr_cname(op["attribute-set"], a): a for a in attrs}
            ck.same_names(f"{where} {mode} request ({polname or 'no policy'})",
                          pol, want)
            for cn, a in want.items():
                if cn in pol:
                    compare_entry(ck, spec, f"{KNL}: {polname}",
                                  op["attribute-set"], a, pol[cn], policies,
                                  seen)

    # every policy is used and described
    used = {f.get("policy") for f in cops.values()} | {fam_policy}
    for p in policies:
        ck.ok(p in used or any(p == e.nested for q in policies.values()
                               for e in q.values()),
              f"{KNL}: policy {p} is used by no operation")

    # event-only operations have no handler
    for _, op in spec.ops:
        if "event" in op or "notify" in op:
            c = cname(spec.op_prefix + op["name"])
            ck.ok(c not in cops, f"{KNL}: {c} is an event in the spec but has a handler")

    # the multicast groups
    gm = re.search(r"struct\s+genl_multicast_group\s+(\w+)\s*\[\s*\]\s*=\s*\{",
                   text)
    groups = {}
    if gm:
        ck.eq(f"{KNL}: family .mcgrps", fam.get("mcgrps"), gm.group(1))
        for item in split_top(braced(text, gm.start())):
            f = fields(item.strip()[1:-1])
            flags = set()
            for x in f.get(None, []) + [f.get("flags", "")]:
                x = x.strip()
                if not x:
                    continue
                if x in PERM_FLAGS:
                    flags.add(PERM_FLAGS[x])
                    continue
                # a compat macro: every definition of it must agree
                defs = re.findall(r"#\s*define\s+" + x + r"[ \t]+([^\n]*)", compat)
                got = {PERM_FLAGS.get(fields(d).get("flags", "").strip(), "?")
                       for d in defs if d.strip()}
                ck.ok(len(got) == 1 and "?" not in got,
                      f"{COMPAT}: {x} expands to {defs!r}: not one known permission")
                flags |= got
            groups[h.string(f.get("name", "")) or f.get("name")] = sorted(flags)
    want = {g["name"]: sorted(g.get("flags", [])) for g in spec.mcgrps}
    ck.same_names(f"{KNL}: multicast groups", groups, want)
    for g in groups.keys() & want.keys():
        ck.eq(f"{KNL}: multicast group {g} flags", groups[g], want[g])
    # the events go to the groups the spec names
    for _, op in spec.ops:
        if "mcgrp" in op:
            ck.ok(op["mcgrp"] in want,
                  f"spec: {op['name']} goes to unknown group {op['mcgrp']}")


# ---- (c) lemonctl -----------------------------------------------------------

def check_tool(ck, spec, h, text, path, macros):
    policies = parse_policies(text, h, macros=macros)
    ck.same_names(f"{path}: reply policies", policies, TOOL_POLICIES)
    for polname, setname in TOOL_POLICIES.items():
        pol = policies.get(polname)
        if pol is None:
            continue
        if "?" in pol:
            ck.ok(False, f"{path}: {polname}: cannot read its initializer "
                  f"{pol['?'].raw} (not a macro of {GEN})")
            continue
        attrs = spec.attrs[setname]
        want = {spec.attr_cname(setname, n): n for n, (_, a) in attrs.items()
                if a["type"] != "unused"}
        pads = {c for c, n in want.items() if attrs[n][1]["type"] == "pad"}
        for c in sorted(set(pol) - set(want)):
            ck.ok(False, f"{path}: {polname}: {c} is not in the spec")
        for c in sorted(set(want) - set(pol) - pads):
            ck.ok(False, f"{path}: {polname}: {c} (spec) is missing")
        ck.n += 1
        for c in sorted(set(pol) & set(want)):
            p, a = pol[c], attrs[want[c]][1]
            t = a["type"]
            ok_types = {
                "string": ("NLA_STRING", "NLA_NUL_STRING"),
                "nest": ("NLA_NESTED",),
                "flag": ("NLA_FLAG",),
                "binary": ("NLA_UNSPEC", "NLA_BINARY"),
                "pad": ("NLA_UNSPEC",),
            }.get(t, ("NLA_" + t.upper(),))
            ck.ok(p.type in ok_types,
                  f"{path}: {polname}: {c} is {p.type}, the spec says {t}")
            if t == "binary" and "min-len" in a.get("checks", {}):
                ck.eq(f"{path}: {polname}: {c} minlen",
                      p.checks.get("min-len"), spec.limit(a["checks"]["min-len"]))


# ---- (d) the reference ------------------------------------------------------

def rst_tables(text):
    """[(section title, [rows])], each row a list of column texts."""
    lines = text.split("\n")
    border = re.compile(r"^=+( +=+)+\s*$")
    out, title, i = [], "", 0
    while i < len(lines):
        ln = lines[i]
        if i + 1 < len(lines) and ln.strip() and \
                re.fullmatch(r"([-=~^])\1+", lines[i + 1].strip() or "x") and \
                len(lines[i + 1].strip()) >= len(ln.strip()) and \
                not border.match(ln):
            title = ln.strip()
            i += 2
            continue
        if not border.match(ln):
            i += 1
            continue
        cols = [(mm.start(), mm.end()) for mm in re.finditer(r"=+", ln)]
        j, blocks, cur = i + 1, [], []
        while j < len(lines):
            if border.match(lines[j]):
                blocks.append(cur)
                cur = []
                if j + 1 >= len(lines) or not lines[j + 1].strip():
                    break
            else:
                cur.append(lines[j])
            j += 1
        body = blocks[-1] if blocks else []
        rows = []
        for bl in body:
            cells = []
            for k, (s, e) in enumerate(cols):
                end = cols[k + 1][0] if k + 1 < len(cols) else None
                cells.append(bl[s:end].strip() if end else bl[s:].strip())
            if cells[0]:
                rows.append(cells)
            elif rows:
                rows[-1] = [(a + " " + b).strip() for a, b in zip(rows[-1], cells)]
        out.append((title, rows))
        i = j + 1
    return out


RST_TYPE = {"string": "str", "binary": "bin"}


def rst_name(spec, setname, attr):
    c = spec.attr_cname(setname, attr)
    main = cname(spec.set_prefix("lemonade"))
    if c.startswith(main):
        return c[len(main):]
    return c[len(cname(spec.name)) + 1:]


def check_rst(ck, spec, text):
    tables = {}
    for title, rows in rst_tables(text):
        tables.setdefault(title, rows)

    def table(title):
        rows = tables.get(title)
        ck.ok(rows is not None, f"{RST}: no table under \"{title}\"")
        return rows or []

    def attr_rows(rows):
        out = {}
        for r in rows:
            m = re.match(r"``(\w+)``\s*\((\d+)\)", r[0])
            if m:
                out[m.group(1)] = (int(m.group(2)), r)
            else:
                ck.ok(False, f"{RST}: cannot read the row {r[0]!r}")
        return out

    def attr_table(title, setname, names, type_col=1):
        got = attr_rows(table(title))
        want = {rst_name(spec, setname, n): n for n in names}
        ck.same_names(f"{RST}: {title}", got, want)
        for rn in got.keys() & want.keys():
            v, a = spec.attrs[setname][want[rn]]
            ck.eq(f"{RST}: {title}: {rn} value", got[rn][0], v)
            if type_col is not None:
                t = RST_TYPE.get(a["type"], a["type"])
                ck.eq(f"{RST}: {title}: {rn} type",
                      got[rn][1][type_col].split()[0] if got[rn][1][type_col] else "",
                      t)

    # the family
    fam = {r[0]: r[1] for r in table("The family")}
    ck.ok(f'``"{spec.name}"``' in fam.get("Family name", ""),
          f"{RST}: The family: family name is not \"{spec.name}\"")
    ck.ok(re.match(rf"{spec.version}\b", fam.get("Version", "")) is not None,
          f"{RST}: The family: version is not {spec.version}")
    for g in spec.mcgrps:
        ck.ok(f'``"{g["name"]}"``' in fam.get("Multicast group", ""),
              f"{RST}: The family: multicast group \"{g['name']}\" missing")
    amax = max(v for v, _ in spec.attrs["lemonade"].values())
    hm = re.match(r"(\d+)", fam.get("Highest attribute", ""))
    ck.eq(f"{RST}: The family: highest attribute",
          int(hm.group(1)) if hm else None, amax)
    consts = {cname(d.get("name-prefix", spec.name + "-") + d["name"]): d["value"]
              for d in spec.defs.values() if d["type"] == "const"}
    listed = dict((n, int(v)) for n, v in
                  re.findall(r"``(\w+)``\s*=\s*(\d+)", fam.get("Constants", "")))
    ck.same_names(f"{RST}: The family: constants", listed, consts)
    for n in listed.keys() & consts.keys():
        ck.eq(f"{RST}: The family: {n}", listed[n], consts[n])
    # the same number in the prose
    for m in re.finditer(r"(?:a type above|max attribs:)\s*(\d+)", text):
        ck.eq(f"{RST}: \"{m.group(0)}\"", int(m.group(1)), amax)

    # permissions
    rows = table("Permissions")
    got = {}
    for r in rows:
        m = re.match(r"(\w+) \((\d+)\)$", r[0])
        if m:
            got[m.group(1)] = (int(m.group(2)), r[1], r[2])
        elif not re.match(r'"\w+" group', r[0]):
            ck.ok(False, f"{RST}: Permissions: cannot read the row {r[0]!r}")
    want = {cname(op["name"]): (v, op) for v, op in spec.ops}
    ck.same_names(f"{RST}: Permissions", got, want)
    for n in got.keys() & want.keys():
        v, op = want[n]
        ck.eq(f"{RST}: Permissions: {n} value", got[n][0], v)
        kind = ("event only" if "event" in op or "notify" in op else
                "do and dump" if "do" in op and "dump" in op else
                "dump only" if "dump" in op else "do")
        ck.eq(f"{RST}: Permissions: {n} kind", got[n][1], kind)
        flags = op.get("flags", [])
        perm = got[n][2]
        if "event" in op or "notify" in op:
            continue
        if not flags:
            ck.ok(perm.startswith("open"),
                  f"{RST}: Permissions: {n} is \"{perm}\", the spec says open")
        else:
            ck.eq(f"{RST}: Permissions: {n}", perm,
                  " ".join(f"``GENL_{cname(x)}``" for x in flags))
    for g in spec.mcgrps:
        r = [r for r in rows if r[0] == f'"{g["name"]}" group']
        if ck.ok(len(r) == 1, f"{RST}: Permissions: no row for the \"{g['name']}\" group"):
            needs = "CAP_SYS_ADMIN" if "admin-perm" in g.get("flags", []) else \
                "CAP_NET_ADMIN" if g.get("flags") else "open"
            ck.ok(needs in r[0][2],
                  f"{RST}: Permissions: the \"{g['name']}\" group is \"{r[0][2]}\", the spec says {needs}")

    ops = {op["name"]: op for _, op in spec.ops}
    cfg_reply = ops["get-config"]["do"]["reply"]["attributes"]
    cfg_req = ops["set-config"]["do"]["request"]["attributes"]
    attr_table("Configuration attributes", "lemonade",
               list(dict.fromkeys(cfg_reply + cfg_req)))
    ev = [a for _, op in spec.ops if "event" in op
          for a in op["event"]["attributes"] if a not in cfg_reply]
    attr_table("Events", "lemonade", ev)
    for title, setname in (("Port nest", "port"), ("Flow nest", "flow"),
                           ("Stats nest", "stats")):
        names = [n for n, (_, a) in spec.attrs[setname].items()
                 if a["type"] not in ("unused", "pad")]
        attr_table(title, setname, names,
                   type_col=None if setname == "stats" else 1)

    # enumerations: "N NAME" per value, NAME the end of the C name
    got = {}
    for r in table("Enumerations"):
        m = re.match(r"``(\w+)``$", r[0])
        if m:
            got[m.group(1)] = re.findall(r"(?:^|,\s*)(\d+) ([A-Z][A-Z0-9_]*)", r[1])
        else:
            ck.ok(False, f"{RST}: Enumerations: cannot read the row {r[0]!r}")
    want = {}
    for d in spec.defs.values():
        if d["type"] in ("enum", "flags") and "header" not in d:
            want[cname(d.get("enum-name") or d["name"]).lower()] = d
    ck.same_names(f"{RST}: Enumerations", got, want)
    for n in got.keys() & want.keys():
        d = want[n]
        pfx = cname(spec.enum_prefix(d))
        entries = {v: cname(pfx + e) for v, e in spec.enum_entries(d)
                   if e != "unspec"}
        listed = {int(v): t for v, t in got[n]}
        ck.eq(f"{RST}: Enumerations: {n} values", sorted(listed), sorted(entries))
        for v in listed.keys() & entries.keys():
            ck.ok(entries[v].endswith("_" + listed[v]),
                  f"{RST}: Enumerations: {n} {v} is {listed[v]}, the spec says {entries[v]}")


# ---- (e) the generated header ------------------------------------------------

def check_generated(ck, root, spec_path):
    gen = os.path.join(root, GEN)
    script = os.path.join(root, "tool", "spec-gen.py")
    if not os.path.exists(gen) and not os.path.exists(script):
        return
    sys.path.insert(0, os.path.dirname(script))
    import importlib.util
    sp = importlib.util.spec_from_file_location("spec_gen", script)
    mod = importlib.util.module_from_spec(sp)
    sp.loader.exec_module(mod)
    want = mod.generate(spec_path)
    try:
        with open(gen) as f:
            got = f.read()
    except OSError:
        got = None
    ck.ok(got == want, f"{GEN}: not what tool/spec-gen.py makes from the spec "
          "(run: make -C tool gen)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."), help="the source tree")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print the checks that pass too")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    def read(p):
        with open(os.path.join(root, p)) as f:
            return f.read()

    ck = Check(args.verbose)
    spec_path = os.path.join(root, SPEC)
    spec = Spec(spec_path)
    h = CNames(read(UAPI))
    check_uapi(ck, spec, h)
    check_kernel(ck, spec, h, strip_c_comments(read(KNL)), read(COMPAT))
    gen = os.path.join(root, GEN)
    macros = brace_macros(strip_c_comments(read(GEN))) \
        if os.path.exists(gen) else {}
    check_tool(ck, spec, h, strip_c_comments(read(TOOL)), TOOL, macros)
    check_rst(ck, spec, read(RST))
    check_generated(ck, root, spec_path)
    print(f"spec_check: {ck.n} checks, {len(ck.bad)} mismatches")
    return 1 if ck.bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, KeyError, TypeError, ValueError, AttributeError,
            IndexError, yaml.YAMLError) as e:
        # a file that cannot be read as expected is a mismatch too
        print(f"spec_check: cannot check: {type(e).__name__}: {e}")
        sys.exit(1)
