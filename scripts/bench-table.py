#!/usr/bin/env python3
"""Turns criterion's saved estimates into a Markdown table: the median of each
benchmark with its 95% confidence interval, and its ratio to a baseline benchmark
of the same group (mtsafe against each peer measured in the same run).

Usage: scripts/bench-table.py [--criterion DIR] GROUP[:BASELINE] ...
  GROUP     a criterion group (a directory under target/criterion)
  BASELINE  the benchmark ratios are taken against (default: the first mtsafe_* one)
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns * 1000:.3g} ps"


def load(criterion, group):
    base = os.path.join(criterion, group)
    rows = {}
    for bench in sorted(os.listdir(base)):
        est = os.path.join(base, bench, "new", "estimates.json")
        # A group's warm-up entry only absorbs the first-position penalty.
        if bench.startswith("0_warm_up") or not os.path.isfile(est):
            continue
        with open(est) as f:
            median = json.load(f)["median"]
        ci = median["confidence_interval"]
        rows[bench] = (median["point_estimate"], ci["lower_bound"], ci["upper_bound"])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", default=os.path.join(ROOT, "target", "criterion"))
    ap.add_argument("groups", nargs="+")
    args = ap.parse_args()
    print("| benchmark | implementation | median | 95% CI | mtsafe ÷ this |")
    print("|---|---|---:|---|---:|")
    for spec in args.groups:
        group, _, baseline = spec.partition(":")
        rows = load(args.criterion, group)
        if not rows:
            sys.exit(f"no criterion results for group {group!r} under {args.criterion}")
        if not baseline:
            baseline = next(b for b in rows if b.startswith("mtsafe"))
        ours = rows[baseline][0]
        for bench, (med, lo, hi) in rows.items():
            ratio = "—" if bench == baseline else f"{ours / med:.2f}×"
            print(f"| {group} | {bench} | {fmt_time(med)} | {fmt_time(lo)} – {fmt_time(hi)} | {ratio} |")


if __name__ == "__main__":
    main()
