#!/usr/bin/env python3
"""Turns criterion's saved estimates into Markdown: a table with the median of each
benchmark, its 95% confidence interval and mtsafe's ratio to it, and a table of the
performance targets with what was measured and whether each was met.

Usage:
  scripts/bench-table.py [--criterion DIR] [--target SPEC ...] [--readme FILE --section NAME] GROUP ...

  GROUP        a criterion group (a directory under target/criterion); mtsafe's entry is
               the one whose name starts with "mtsafe", and `0_warm_up` entries are left out
  --target     GROUP:PEER<=RATIO   mtsafe's median ÷ PEER's median must be at most RATIO
               GROUP<=TIME         mtsafe's median must be at most TIME (e.g. 1ns, 5us)
  --readme     rewrite the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
               in FILE instead of printing
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"ps": 1e-3, "ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns * 1000:.3g} ps"


def load(criterion, group):
    base = os.path.join(criterion, group)
    if not os.path.isdir(base):
        sys.exit(f"no criterion results for group {group!r} under {criterion}")
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


def ours(rows):
    return next(b for b in rows if b.startswith("mtsafe"))


def table(criterion, groups):
    out = ["| benchmark | implementation | median | 95% CI | mtsafe ÷ this |",
           "|---|---|---:|---|---:|"]
    for group in groups:
        rows = load(criterion, group)
        mine = rows[ours(rows)][0]
        for bench, (med, lo, hi) in rows.items():
            ratio = "—" if bench.startswith("mtsafe") else f"{mine / med:.2f}×"
            out.append(f"| {group} | {bench} | {fmt_time(med)} | "
                       f"{fmt_time(lo)} – {fmt_time(hi)} | {ratio} |")
    return out


def targets(criterion, specs):
    out = ["| target | measured | met |", "|---|---|---|"]
    for spec in specs:
        m = re.fullmatch(r"([\w.-]+):([\w.-]+)<=([\d.]+)", spec)
        if m:
            group, peer, limit = m.group(1), m.group(2), float(m.group(3))
            rows = load(criterion, group)
            ratio = rows[ours(rows)][0] / rows[peer][0]
            ok = ratio <= limit
            out.append(f"| `{group}`: mtsafe ≤ {limit:g}× {peer} | {ratio:.2f}× "
                       f"| {'yes' if ok else '**no: missed**'} |")
            continue
        m = re.fullmatch(r"([\w.-]+)<=([\d.]+)(ps|ns|us|µs|ms|s)", spec)
        if not m:
            sys.exit(f"bad --target {spec!r}")
        group, limit = m.group(1), float(m.group(2)) * UNITS[m.group(3)]
        rows = load(criterion, group)
        med = rows[ours(rows)][0]
        ok = med <= limit
        out.append(f"| `{group}`: mtsafe ≤ {fmt_time(limit)} | {fmt_time(med)} "
                   f"| {'yes' if ok else '**no: missed**'} |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", default=os.path.join(ROOT, "target", "criterion"))
    ap.add_argument("--target", action="append", default=[])
    ap.add_argument("--readme")
    ap.add_argument("--section")
    ap.add_argument("groups", nargs="+")
    args = ap.parse_args()
    lines = table(args.criterion, args.groups)
    if args.target:
        lines += ["", "Against the targets:", ""] + targets(args.criterion, args.target)
    text = "\n".join(lines) + "\n"
    if not args.readme:
        sys.stdout.write(text)
        return
    begin, end = f"<!-- bench:{args.section} -->", f"<!-- /bench:{args.section} -->"
    with open(args.readme) as f:
        readme = f.read()
    if begin not in readme or end not in readme:
        sys.exit(f"{args.readme} has no {begin} ... {end} section")
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(args.readme, "w") as f:
        f.write(f"{head}{begin}\n{text}{end}{tail}")


if __name__ == "__main__":
    main()
