#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Median of paired ratios with a distribution-free 95% interval.

stats.py FILE [LABEL] [--unit U] [--check PCT]
    FILE: one line per pair, "A B" (A: the measured state, B: the baseline,
    same units). Prints the median of A/B with its 95% interval (order
    statistics of the binomial(n, 1/2) distribution: no assumption on the
    shape of the ratios' distribution; the coverage is at least 95%), the
    number of pairs, and the medians of A and B.
    --check PCT: exit 0 if the interval lies within +-PCT % of the median,
    1 otherwise (the stopping rule of run_pairs), printing nothing.
"""
import math
import sys


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def median_ci(xs, level=0.95):
    """(lo, hi): the k-th smallest and k-th largest value, k the largest
    with P(Bin(n, 1/2) < k) <= (1 - level) / 2."""
    s = sorted(xs)
    n = len(s)
    alpha = (1 - level) / 2
    k, cum = 0, 0.0
    while True:
        p = math.comb(n, k) / 2 ** n
        if cum + p > alpha:
            break
        cum += p
        k += 1
    if k == 0:
        return float("nan"), float("nan")
    return s[k - 1], s[n - k]


def main():
    args = sys.argv[1:]
    check = None
    unit = ""
    if "--check" in args:
        i = args.index("--check")
        check = float(args[i + 1])
        del args[i:i + 2]
    if "--unit" in args:
        i = args.index("--unit")
        unit = args[i + 1]
        del args[i:i + 2]
    path = args[0]
    label = args[1] if len(args) > 1 else path
    a, b = [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2 and float(p[1]) > 0:
                a.append(float(p[0]))
                b.append(float(p[1]))
    r = [x / y for x, y in zip(a, b)]
    if not r:
        if check is None:
            print(f"{label}: no pairs")
        sys.exit(1)
    m = median(r)
    lo, hi = median_ci(r)
    if check is not None:
        ok = not math.isnan(lo) and lo >= m * (1 - check / 100) and hi <= m * (1 + check / 100)
        sys.exit(0 if ok else 1)
    print(f"{label}: ratio {m:.4f} [{lo:.4f}, {hi:.4f}] 95% "
          f"(-{(m - lo) / m * 100:.1f}%/+{(hi - m) / m * 100:.1f}%), "
          f"{len(r)} pairs; medians {median(a):.2f} / {median(b):.2f} {unit}")


if __name__ == "__main__":
    main()
