#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Slab bytes per flow from the snapshots of selftests/bench/guest.sh.

slabdiff.py DIR MODE COUNT REPS
    DIR/mem-MODE-{on,off}-R.{before,after}: /proc/slabinfo extracts
    ("cache active_objs objsize num_slabs pagesperslab") around COUNT held
    flows, module loaded (on) and not (off), R = 1..REPS. Prints, per flow,
    the median over the repetitions of (on delta - off delta) / COUNT:
    active objects x object size, and slab pages; and the caches whose
    share is at least 2 bytes per flow.
"""
import statistics
import sys


def snap(path):
    d = {}
    with open(path) as f:
        for line in f:
            name, act, size, slabs, pages = line.split()
            d[name] = (int(act) * int(size), int(slabs) * int(pages) * 4096)
    return d


def delta(pre, tag):
    a, b = snap(f"{pre}-{tag}.before"), snap(f"{pre}-{tag}.after")
    return {k: (b[k][0] - a.get(k, (0, 0))[0], b[k][1] - a.get(k, (0, 0))[1]) for k in b}


def main():
    out, mode, count, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    pre = f"{out}/mem"
    obj, pages, off_obj, ct, caches = [], [], [], [], {}
    for r in range(1, reps + 1):
        on, off = delta(pre, f"{mode}-on-{r}"), delta(pre, f"{mode}-off-{r}")
        names = set(on) | set(off)
        obj.append(sum(on.get(k, (0, 0))[0] - off.get(k, (0, 0))[0] for k in names) / count)
        pages.append(sum(on.get(k, (0, 0))[1] - off.get(k, (0, 0))[1] for k in names) / count)
        ct.append(sum(on.get(k, (0, 0))[0] - off.get(k, (0, 0))[0] for k in names
                      if k in ("nf_conntrack", "nf_lemonade_neg") or k.startswith("kmalloc-")) / count)
        off_obj.append(sum(v[0] for v in off.values()) / count)
        for k in names:
            caches.setdefault(k, []).append((on.get(k, (0, 0))[0] - off.get(k, (0, 0))[0]) / count)
    what = {"starttls": "listed flow after its negotiation (IMAP STARTTLS done)",
            "greet": "flow under negotiation (IMAP greeting read, guard recording)"}[mode]
    print(f"memory, {what}: {statistics.median(ct):+.0f} B/flow in nf_conntrack, kmalloc-* and "
          f"nf_lemonade_neg objects (reps {', '.join(f'{x:+.0f}' for x in ct)}); all caches: "
          f"{statistics.median(obj):+.0f} B/flow in objects "
          f"(reps {', '.join(f'{x:+.0f}' for x in obj)}), {statistics.median(pages):+.0f} B/flow in slab pages "
          f"(reps {', '.join(f'{x:+.0f}' for x in pages)}); {count} flows x {reps} reps; "
          f"the whole flow without the module (conntrack, both sockets): {statistics.median(off_obj):.0f} B")
    for k, v in sorted(caches.items(), key=lambda kv: -abs(statistics.median(kv[1]))):
        m = statistics.median(v)
        if abs(m) >= 2:
            print(f"#   {k}: {m:+.1f} B/flow (reps {', '.join(f'{x:+.1f}' for x in v)})")


if __name__ == "__main__":
    main()
