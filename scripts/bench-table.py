#!/usr/bin/env python3
"""Turns criterion's saved results into the benchmark sections of docs/benchmarks.md: for each section,
what one iteration of each group does, a Markdown table (median, 95% confidence
interval, ratio to the fastest entry and mtsafe's ratio to each peer), the contended
statistics the benches write beside criterion's estimates (`contended.json`), the
performance targets of benches/targets.toml with what was measured and whether each was
met, and an SVG chart of the ratios (written with the standard library only).

Usage:
  scripts/bench-table.py [--criterion DIR] [--doc FILE] [--svg-dir DIR]
                         [--block NAME=FILE ...] [SECTION ...]

  SECTION      one of the SECTIONS below (default: all of them, `machine` and
               `summary`, the table of headline rows README.md repeats)
  --criterion  criterion's result directory (default: $CARGO_TARGET_DIR/criterion,
               else target/criterion)
  --doc        rewrite the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
               in FILE for each section, instead of printing; `machine` describes the
               run from `mtsafe-run.json` in the criterion directory (written by
               scripts/bench-readme.sh)
  --svg-dir    where to write `<section>.svg` (default: benches/figures); the document
               links the charts relative to itself
  --block      put FILE's text between the markers of NAME (e.g. instruction counts)

Entries named `0_warm_up` are left out (they only absorb the first-position penalty of
a group). mtsafe's entries are the ones matching a section's `mtsafe` pattern; a group
may name its `principal` mtsafe entry, the one ratios and targets use. Entries whose
criterion id has a `/` (e.g. `push/cookie_list`) are compared only with entries that
share the part before it. A target whose mtsafe entry does not exist yet is listed as
not measured, and a missed target as missed: no row is ever hidden.
"""
import argparse
import json
import math
import os
import re
import sys
import tomllib
from xml.sax.saxutils import escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = os.path.join(ROOT, "benches", "targets.toml")

# What each section shows. `groups`: (criterion group, what one iteration does,
# principal mtsafe entry or None). The targets each section is checked against come
# from benches/targets.toml (see its head for the kinds).
SECTIONS = {
    "cow": {
        "title": "CowShared against std and triomphe (`benches/cow.rs`)",
        "mtsafe": r"^mtsafe",
        "groups": [
            ("clone_drop", "clone a handle and drop the clone", None),
            ("get_writable_unique",
             "get `&mut` through the only handle (`get_writable`, `make_mut`): no copy", None),
            ("get_writable_shared_64B",
             "one copy-on-write cycle of a 64-byte value: clone a handle to a value held "
             "elsewhere, get `&mut` through it (allocate, copy, release the original), "
             "drop the copy", None),
            ("get_writable_shared_4KiB", "the same cycle with a 4 KiB `Vec<u8>`", None),
            ("get_writable_shared_64KiB", "the same cycle with a 64 KiB `Vec<u8>`", None),
        ],
    },
    "cookie_list": {
        "title": "CookieList against its Rust peers (`benches/cookie_list.rs`)",
        "mtsafe": r"^cookie_list|_cookie_list$",
        "groups": [
            ("pass_1000",
             "one full pass over 1000 `Arc` items, each handed out as a new reference "
             "and dropped (`_u64`: `u64` items, whose clone costs nothing; "
             "`floor_vec_clone_drop`: no list, a `Vec` walk that clones and drops each "
             "`Arc`, the floor for handing out references); per item: the median ÷ "
             "1000", "cookie_list_iter"),
            ("write_1000",
             "one `push`, or one `remove_where` of an item spread over the list, on a "
             "1000-item list", None),
            ("contended_pass_1000",
             "one pass over 1000 items (completed, or abandoned after 1000 resyncs) "
             "while another thread changes the list about 100 000 times a second; "
             "the statistics below come from the same run", "cookie_list_iter"),
            ("contended_by_value_1000",
             "the same, the writer removing by value the item it added (a predicate "
             "scan, as `gst_bin_remove` finds its element)", "cookie_list_iter"),
            ("contended_unpaced_1000", "the same, the writer unpaced (as fast as it can)",
             "cookie_list_iter"),
            ("contended_pass_10000", "`contended_pass_1000` over 10 000 items",
             "cookie_list_iter"),
            ("contended_by_value_10000", "`contended_by_value_1000` over 10 000 items",
             "cookie_list_iter"),
            ("contended_unpaced_10000", "`contended_unpaced_1000` over 10 000 items",
             "cookie_list_iter"),
        ],
    },
    "object": {
        "title": "The object model against its Rust peers (`benches/object.rs`)",
        "mtsafe": r"^mtsafe",
        "groups": [
            ("object_lock", "lock, increment the locked `u64`, unlock (uncontended); "
             "`ObjectLock` also records its holder, to report a re-lock",
             "mtsafe_ObjectLock"),
            ("object_lock_2_threads", "the same, while a second thread locks and "
             "unlocks the same lock; per operation", "mtsafe_ObjectLock"),
            ("property_read", "take a snapshot of a published struct, read one field, "
             "drop the snapshot", "mtsafe_Property_load"),
            ("object_name", "copy an object's name out (`gst_object_get_name`) and "
             "drop the copy", "mtsafe_Object_name"),
            ("create_add_remove",
             "create a floating child (`Object::new`, a default name; `with_name`: "
             "a given one), add it to a parent (sinks it), remove it (destroys it); "
             "the peer pushes an `Arc` to a `Mutex<Vec>` and removes it, with none of "
             "the rules; `rules_floor_Arc_locks` does only what the rules require of "
             "any implementation (the tree locks of both trees, the child's lock for "
             "its parent link, the list's lock, the weak link, the floating flag), "
             "with `parking_lot` mutexes and `Arc`: a lower bound",
             "mtsafe_Object_new_add_remove"),
            ("create_add_remove_2_threads",
             "the same cycle on two threads at once, each on its own parent (separate "
             "trees) or both on one parent (one tree); per cycle of one thread",
             "mtsafe_separate_trees"),
        ],
    },
    "pool": {
        "title": "BufferPool against a hand-made free list and no pool (`benches/pool.rs`)",
        "mtsafe": r"^mtsafe",
        "groups": [
            ("pool_cycle",
             "acquire a two-block buffer, fill it, share it with a reader, release both "
             "handles (the last release returns it); `crossbeam_ArrayQueue`: the same "
             "with a free list of buffers in an `ArrayQueue`; `no_pool_Buffer`: a new "
             "buffer each time", "mtsafe_BufferPool"),
        ],
    },
    "gst": {
        "title": "mtsafe against GStreamer 1.22 (`gst-bench/`)",
        "mtsafe": r"^mtsafe",
        "groups": [
            ("gst_ref_unref",
             "take a new reference and drop it (`gst_mini_object_ref` + `unref` on a "
             "`GstBuffer`; `CowShared` clone + drop)", None),
            ("gst_ref_unref_2_threads",
             "the same, while a second thread refs and unrefs the same object", None),
            ("gst_make_writable_unique_buffer",
             "make the only handle to a buffer writable "
             "(`gst_mini_object_make_writable`; `CowShared::get_writable`): no copy", None),
            ("gst_make_writable_unique_caps", "the same for caps", None),
            ("gst_make_writable_shared_buffer",
             "clone a handle to a buffer held elsewhere, make it writable (copies the "
             "buffer, shares its 4 KiB memory block), drop the copy", None),
            ("gst_make_writable_shared_caps",
             "the same for caps with one structure of four fields (copies the structure)",
             None),
            ("gst_iterate_16",
             "one full pass over a bin's 16 children with the resync loop, each handed "
             "out as a new reference and dropped (`gst_bin_iterate_elements`; "
             "`CookieList::iter`); per item: the median ÷ 16", None),
            ("gst_iterate_1000", "the same over 1000 children", None),
            ("gst_iterate_1000_contended",
             "one pass over 1000 children (completed, or abandoned after 1000 resyncs) "
             "while another thread adds a child and removes the oldest, alternately, "
             "paced at 100 000 changes a second (`gst_bin_add` / `gst_bin_remove`); "
             "the statistics below come from the same run", None),
            ("gst_object_lock", "lock an object and unlock it (`GST_OBJECT_LOCK` / "
             "`UNLOCK`)", None),
            ("gst_object_lock_2_threads",
             "the same, while a second thread locks and unlocks the same object", None),
            ("gst_get_name", "copy an object's name out and free the copy "
             "(`gst_object_get_name`); `arc_swap_load` reads a snapshot instead", None),
            ("gst_get_property", "read a property (`g_object_get`)", None),
            ("gst_make_add_remove",
             "create a child, add it to an empty parent, remove it, which destroys it "
             "(`gst_element_factory_make` + `gst_bin_add` + `gst_bin_remove`)", None),
            ("gst_make_add_remove_2_threads",
             "the same on two threads at once, each on its own bin; per cycle of one "
             "thread", None),
            ("gst_pool_cycle",
             "acquire a buffer from a pool, fill it, share it, release it "
             "(`GstBufferPool`; `BufferPool`; an `ArrayQueue` free list)", None),
        ],
    },
}

STATS = [
    ("passes_per_s", "completed passes/s"),
    ("resyncs_per_pass", "resyncs per pass"),
    ("max_resyncs", "most resyncs in one pass"),
    ("abandoned", "passes abandoned (> 1000 resyncs)"),
    ("writes_per_s", "writer's changes/s"),
]


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3), ("ns", 1.0)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns * 1000:.3g} ps"


def fmt_count(x):
    """1234567.8 -> '1 234 568' (thin groups, as README's prose writes numbers)."""
    return f"{x:,.0f}".replace(",", " ")


def fmt_stat(key, value):
    if key == "resyncs_per_pass":
        return f"{value:.3g}"
    return fmt_count(value)


class Entry:
    def __init__(self, name, function_id, median, lo, hi, items, stats):
        self.name, self.function_id = name, function_id
        self.median, self.lo, self.hi = median, lo, hi
        self.items, self.stats = items, stats

    @property
    def subset(self):
        """Entries are compared within the part of their id before a `/`."""
        return self.function_id.split("/", 1)[0] if "/" in self.function_id else ""


def load(criterion, group):
    """A group's entries (warm-up left out), or None when the group never ran."""
    base = os.path.join(criterion, group)
    if not os.path.isdir(base):
        return None
    entries = []
    for d in sorted(os.listdir(base)):
        new = os.path.join(base, d, "new")
        if d.startswith("0_warm_up") or not os.path.isfile(os.path.join(new, "estimates.json")):
            continue
        with open(os.path.join(new, "estimates.json")) as f:
            median = json.load(f)["median"]
        function_id, items = d, None
        if os.path.isfile(os.path.join(new, "benchmark.json")):
            with open(os.path.join(new, "benchmark.json")) as f:
                meta = json.load(f)
            function_id = meta.get("function_id") or d
            items = (meta.get("throughput") or {}).get("Elements")
        stats = None
        if os.path.isfile(os.path.join(base, d, "contended.json")):
            with open(os.path.join(base, d, "contended.json")) as f:
                stats = json.load(f)
        ci = median["confidence_interval"]
        entries.append(Entry(d, function_id, median["point_estimate"], ci["lower_bound"],
                             ci["upper_bound"], items, stats))
    return entries


class Group:
    def __init__(self, section, name, what, principal, criterion):
        self.name, self.what = name, what
        self.entries = load(criterion, name)
        self.pattern = re.compile(section["mtsafe"])
        self.principal = principal

    def is_ours(self, e):
        return bool(self.pattern.search(e.name))

    def subsets(self):
        """(subset, entries): mtsafe's first (principal first), then by median."""
        out = {}
        for e in self.entries or []:
            out.setdefault(e.subset, []).append(e)
        for es in out.values():
            es.sort(key=lambda e: (not self.is_ours(e), e.name != self.principal, e.median))
        return list(out.items())

    def ours(self, subset=""):
        for s, es in self.subsets():
            if s == subset:
                for e in es:
                    if self.is_ours(e) and (self.principal is None or e.name == self.principal):
                        return e
        return None

    def entry(self, name):
        return next((e for e in self.entries or [] if e.name == name), None)


def groups_of(name, criterion):
    section = SECTIONS[name]
    return [Group(section, g, what, p, criterion) for g, what, p in section["groups"]]


def section_markdown(name, criterion, svg_link):
    section = SECTIONS[name]
    groups = groups_of(name, criterion)
    missing = [g.name for g in groups if g.entries is None]
    if missing:
        sys.exit(f"{name}: no criterion results for {', '.join(missing)} under {criterion} "
                 "(run the benches first: scripts/bench-readme.sh)")
    out = [f"**{section['title']}.** Every figure is criterion's median wall-clock time "
           "for one iteration, with its 95% confidence interval; one iteration of each "
           "group does this:", ""]
    for g in groups:
        note = "" if any(g.is_ours(e) for e in g.entries) else \
            " *(no mtsafe entry yet: mtsafe's object model is not in the tree)*"
        out.append(f"- `{g.name}`: {g.what}.{note}")
    out += ["", "\"÷ fastest\" is each entry's median over the fastest of its group "
            "(1.00× = fastest); \"mtsafe ÷ this\" is mtsafe's median over this entry's "
            "(below 1 means mtsafe is faster). mtsafe's rows are in bold.", ""]
    per_item = any(e.items for g in groups for e in g.entries)
    head = "| group | implementation | median | 95% CI |"
    rule = "|---|---|---:|---|"
    if per_item:
        head += " per item |"
        rule += "---:|"
    out += [head + " ÷ fastest | mtsafe ÷ this |", rule + "---:|---:|"]
    for g in groups:
        first = True
        for subset, es in g.subsets():
            fastest = min(e.median for e in es)
            mine = g.ours(subset)
            for e in es:
                ours = g.is_ours(e)
                impl = f"**{e.function_id}**" if ours else e.function_id
                ratio = "—" if ours or mine is None else f"{mine.median / e.median:.2f}×"
                row = (f"| {'`' + g.name + '`' if first else ''} | {impl} | {fmt_time(e.median)} "
                       f"| {fmt_time(e.lo)} – {fmt_time(e.hi)} |")
                if per_item:
                    row += f" {fmt_time(e.median / e.items)} |" if e.items else " |"
                row += f" {e.median / fastest:.2f}× | {ratio} |"
                out.append(row)
                first = False
    contended = [g for g in groups if any(e.stats for e in g.entries)]
    for g in contended:
        period = next(e.stats for e in g.entries if e.stats).get("write_period_ns", 10_000)
        out += ["", f"`{g.name}`, from the same run: the writer is paced at one change "
                f"every {period / 1000:g} µs ({fmt_count(1e9 / period)}/s) and reports the "
                "rate it achieved; a pass restarts from the head on every resync. These rates, not "
                "the median above (a few slow passes barely move a median), show starvation.", "",
                "| implementation | " + " | ".join(t for _, t in STATS)
                + " | best ÷ this (passes/s) |",
                "|---|" + "---:|" * (len(STATS) + 1)]
        best = max(e.stats["passes_per_s"] for e in g.entries if e.stats)
        for _, es in g.subsets():
            for e in es:
                if not e.stats:
                    continue
                impl = f"**{e.function_id}**" if g.is_ours(e) else e.function_id
                cells = []
                for k, _ in STATS:
                    cell = fmt_stat(k, e.stats[k])
                    if k == "abandoned":
                        cell += f" of {fmt_count(e.stats['attempted'])}"
                    cells.append(cell)
                rate = e.stats["passes_per_s"]
                r = best / rate if rate > 0 else None
                cells.append("none completed" if r is None else
                             f"{fmt_count(r)}×" if r >= 100 else f"{r:.3g}×")
                out.append(f"| {impl} | " + " | ".join(cells) + " |")
    targets = targets_of(name)
    if targets:
        out += ["", "Against the targets in `benches/targets.toml` (a missed target is "
                "marked, never left out):", "", "| target | measured | met | why |",
                "|---|---|---|---|"]
        by_name = {g.name: g for g in groups}
        for t in targets:
            if t["group"] not in by_name:
                sys.exit(f"benches/targets.toml: {name} has no group {t['group']!r}")
            out.append(target_row(by_name[t["group"]], t))
    if svg_link:
        out += ["", f"![{section['title']}: each entry's median over the fastest of its "
                f"group, log scale]({svg_link})"]
    return "\n".join(out) + "\n"


def targets_of(section):
    with open(TARGETS, "rb") as f:
        targets = tomllib.load(f).get("target", [])
    for t in targets:
        if t.get("section") not in SECTIONS:
            sys.exit(f"benches/targets.toml: unknown section {t.get('section')!r}")
    return [t for t in targets if t["section"] == section]


def verdict(ok):
    return "yes" if ok else "**no: missed**"


def target_row(g, t):
    kind, limit, why = t["kind"], t["limit"], t.get("source", "")
    mine = g.entry(t["entry"]) if "entry" in t else g.ours()
    who = f"`{t['entry']}`" if "entry" in t else "mtsafe"
    if kind == "ratio":
        peer = t["peer"]
        what = f"`{g.name}`: {who} ≤ {limit:g}× {peer}"
    elif kind == "time":
        what = f"`{g.name}`: {who} ≤ {fmt_time(limit)}"
    elif kind == "per_item":
        what = f"`{g.name}`: {who} ≤ {fmt_time(limit)} per item"
    elif kind == "stat":
        stat, op = t["stat"], t["op"]
        label = dict(STATS)[stat]
        what = f"`{g.name}`: {who}'s {label} {'≥' if op == '>=' else '≤'} {fmt_count(limit)}"
    else:
        sys.exit(f"benches/targets.toml: unknown target kind {kind!r}")
    if mine is None:
        return f"| {what} | no such entry in this run | **not measured** | {why} |"
    if kind == "ratio":
        p = g.entry(peer)
        if p is None:
            return f"| {what} | no {peer} entry | **not measured** | {why} |"
        ratio = mine.median / p.median
        # Three decimals: a ratio that rounds to the limit may still miss it.
        return f"| {what} | {ratio:.3f}× | {verdict(ratio <= limit)} | {why} |"
    if kind == "time":
        return f"| {what} | {fmt_time(mine.median)} | {verdict(mine.median <= limit)} | {why} |"
    if kind == "per_item":
        per = mine.median / mine.items
        return f"| {what} | {fmt_time(per)} | {verdict(per <= limit)} | {why} |"
    if not mine.stats:
        return f"| {what} | no statistics in this run | **not measured** | {why} |"
    value = mine.stats[stat]
    ok = value >= limit if op == ">=" else value <= limit
    shown = fmt_stat(stat, value)
    if stat == "abandoned":
        shown += f" of {fmt_count(mine.stats['attempted'])} (most resyncs in one pass: " \
                 f"{mine.stats['max_resyncs']})"
    return f"| {what} | {shown} | {verdict(ok)} | {why} |"


# ---------------------------------------------------------------------------------
# The SVG chart: each entry's median over the fastest of its group, log scale.
# ---------------------------------------------------------------------------------

COLOURS = {"mtsafe": "#1f6fb4", "gstreamer": "#d1495b", "peer": "#8c8c8c"}


def colour(g, e):
    if g.is_ours(e):
        return COLOURS["mtsafe"]
    if e.name.startswith("gstreamer"):
        return COLOURS["gstreamer"]
    return COLOURS["peer"]


def section_svg(name, criterion):
    section = SECTIONS[name]
    groups = groups_of(name, criterion)
    rows = []  # ("group", label) or ("bar", label, ratio, colour, median)
    for g in groups:
        for subset, es in g.subsets():
            fastest = min(e.median for e in es)
            rows.append(("group", f"{g.name} {subset}".strip()))
            for e in es:
                rows.append(("bar", e.function_id.split("/", 1)[-1], e.median / fastest,
                             colour(g, e), e.median))
    top = max([r[2] for r in rows if r[0] == "bar"] + [2.0])
    ticks = [t for m in (1, 10, 100, 1000, 10000, 100000) for t in (m, 2 * m, 5 * m)]
    limit = next(t for t in ticks if t >= top)
    ticks = [t for t in ticks if t <= limit]
    label_w, bar_w, value_w, row_h, pad = 300, 360, 150, 17, 10
    width = label_w + bar_w + value_w + 2 * pad
    legend_h, axis_h = 42, 26
    height = legend_h + axis_h + row_h * len(rows) + 2 * pad

    def x(ratio):
        return label_w + pad + bar_w * math.log(ratio) / math.log(limit)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{pad}" y="{pad + 12}" font-weight="bold">{escape(section["title"])}: '
           'median ÷ fastest of its group (log scale)</text>']
    lx = pad
    for key, text in (("mtsafe", "mtsafe"), ("gstreamer", "GStreamer"), ("peer", "Rust peers")):
        svg.append(f'<rect x="{lx}" y="{pad + 20}" width="12" height="12" fill="{COLOURS[key]}"/>')
        svg.append(f'<text x="{lx + 16}" y="{pad + 30}">{text}</text>')
        lx += 110
    y0 = pad + legend_h
    chart_bottom = y0 + axis_h + row_h * len(rows)
    for t in ticks:
        tx = x(t)
        svg.append(f'<line x1="{tx:.1f}" y1="{y0 + axis_h - 4}" x2="{tx:.1f}" '
                   f'y2="{chart_bottom}" stroke="#dddddd"/>')
        svg.append(f'<text x="{tx:.1f}" y="{y0 + 14}" text-anchor="middle">{t:g}×</text>')
    y = y0 + axis_h
    for r in rows:
        if r[0] == "group":
            svg.append(f'<text x="{pad}" y="{y + 13}" font-weight="bold">{escape(r[1])}</text>')
        else:
            _, label, ratio, fill, median = r
            w = max(x(ratio) - x(1), 2)
            svg.append(f'<text x="{label_w}" y="{y + 12}" text-anchor="end">{escape(label)}</text>')
            svg.append(f'<rect x="{x(1):.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 5}" '
                       f'fill="{fill}"><title>{escape(label)}: {fmt_time(median)}</title></rect>')
            svg.append(f'<text x="{x(1) + w + 4:.1f}" y="{y + 12}">{ratio:.2f}× '
                       f'({escape(fmt_time(median))})</text>')
        y += row_h
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


# ---------------------------------------------------------------------------------
# The run itself: machine, versions, date (mtsafe-run.json, from bench-readme.sh).
# ---------------------------------------------------------------------------------

def machine_markdown(criterion):
    path = os.path.join(criterion, "mtsafe-run.json")
    if not os.path.isfile(path):
        sys.exit(f"no {path}: run scripts/bench-readme.sh, which records the run")
    with open(path) as f:
        run = json.load(f)
    crates = ", ".join(f"{k} {v}" for k, v in sorted(run["crates"].items()))
    return (f"All figures below come from one run of `scripts/bench-readme.sh` on "
            f"{run['date']}: {run['cpu']} ({run['cores']} cores), {run['os']}; "
            f"{run['rustc']}; GStreamer {run['gstreamer']}; {crates}; criterion "
            f"settings: {run['criterion_args'] or 'its defaults (3 s warm-up, 5 s measurement, 100 samples)'}"
            f"{'; machine load average at the start ' + run['load'] if run.get('load') else ''}."
            + "".join(f" Re-run since with `scripts/bench-readme.sh --only`: `{r['what']}` on "
                      f"{r['date']} (load average {r['load']}"
                      f"{', criterion settings ' + r['criterion_args'] if r['criterion_args'] else ''}): "
                      "its groups' figures come from that re-run."
                      for r in run.get("reruns", []))
            + "\n")



# The summary table of README.md and docs/benchmarks.md: one row per claim, each
# figure read from the same criterion results as the sections' tables.
# (label, group, mtsafe entries joined by " / ", peers as (label, entry)).
SUMMARY = [
    ("`ObjectLock`, two threads on one lock", "object_lock_2_threads", ["mtsafe_ObjectLock"],
     [("parking_lot", "parking_lot_Mutex"), ("std", "std_Mutex")]),
    ("the same in gst-bench", "gst_object_lock_2_threads", ["mtsafe_ObjectLock"],
     [("parking_lot", "parking_lot_Mutex"), ("`GST_OBJECT_LOCK`", "gstreamer_GST_OBJECT_LOCK")]),
    ("`CowShared` ref/unref, two threads", "gst_ref_unref_2_threads", ["mtsafe_CowShared"],
     [("`Arc`", "std_Arc"), ("`GstBuffer`", "gstreamer_Buffer")]),
    ("create + add + remove, one thread", "create_add_remove", ["mtsafe_Object_new_add_remove"],
     [("`Arc` + `Mutex<Vec>`", "Arc_new_Vec_push_remove"),
      ("the rules' floor", "rules_floor_Arc_locks")]),
    ("the same, two threads on two trees, per thread", "create_add_remove_2_threads",
     ["mtsafe_separate_trees"], [("peer", "Arc_Mutex_Vec_separate_lists")]),
    ("the same, two threads on one tree, per thread", "create_add_remove_2_threads",
     ["mtsafe_one_tree"], [("peer, one list", "Arc_Mutex_Vec_one_list")]),
    ("gst-bench make + add + remove, one thread", "gst_make_add_remove",
     ["mtsafe_Object_new_add_remove"],
     [("GStreamer `identity`", "gstreamer_identity"), ("peer", "arc_new_mutex_vec")]),
    ("the same, two threads on two bins", "gst_make_add_remove_2_threads",
     ["mtsafe_Object_new_add_remove"],
     [("GStreamer `identity`", "gstreamer_identity"), ("peer", "arc_new_mutex_vec")]),
    ("pool cycle: acquire, fill, share, release", "gst_pool_cycle", ["mtsafe_BufferPool"],
     [("`GstBufferPool`", "gstreamer_BufferPool"), ("`ArrayQueue` free list", "crossbeam_ArrayQueue")]),
    ("pass over 1000 `Arc` items, `fold` / `foreach` / `next()` loop", "pass_1000",
     ["cookie_list_fold", "cookie_list_foreach", "cookie_list_iter"],
     [("floor (`Vec` clone + drop)", "floor_vec_clone_drop")]),
]

# Contended rows: (label, group, the per-item-locking peer).
SUMMARY_CONTENDED = [
    ("contended passes, 1000 items, paced writer", "contended_pass_1000"),
    ("contended passes, 10 000 items, paced writer", "contended_pass_10000"),
    ("contended passes, 1000 items, unpaced writer", "contended_unpaced_1000"),
]


def summary_markdown(criterion, doc=None):
    groups = {}

    def find(group, name):
        """The entry `name` of `group`, or None when this run has no such entry."""
        if group not in groups:
            groups[group] = load(criterion, group)
            if groups[group] is None:
                sys.exit(f"summary: no criterion results for {group} under {criterion}")
        return next((e for e in groups[group] if e.name == name), None)

    def get(group, name):
        return find(group, name) or sys.exit(f"summary: no entry {name} in {group}")
    path = os.path.join(criterion, "mtsafe-run.json")
    run_info = json.load(open(path)) if os.path.isfile(path) else {}
    cpu = run_info.get("cpu", "unknown CPU")
    where = os.path.join(ROOT, "docs", "benchmarks.md")
    link = os.path.relpath(where, os.path.dirname(os.path.abspath(doc))) if doc else where
    run = "below" if link == "benchmarks.md" else f"in [docs/benchmarks.md]({link})"
    which = "the full run and the re-runs" if run_info.get("reruns") else "the full run"
    out = [f"Criterion medians of {which} described {run} ({cpu}); peers in the "
           "same run, "
           "ratios are mtsafe's median over the peer's.", "",
           "| what | mtsafe | peers (same run) |", "|---|---:|---|"]
    for label, group, ours, peers in SUMMARY:
        mine = [get(group, n) for n in ours]
        cells = []
        for plabel, pname in peers:
            p = find(group, pname)
            if p is None:
                cells.append(f"{plabel}: not in this run")
                continue
            ratios = " / ".join(f"{m.median / p.median:.2f}×" for m in mine)
            cells.append(f"{plabel} {fmt_time(p.median)} ({ratios})")
        mine_s = " / ".join(fmt_time(m.median) for m in mine)
        out.append(f"| {label} (`{group}`) | {mine_s} | {'; '.join(cells)} |")
    for label, group in SUMMARY_CONTENDED:
        ours, peer = get(group, "cookie_list_iter"), get(group, "locked_cookie_iter")
        foreach = get(group, "cookie_list_foreach")
        s, f, p = ours.stats, foreach.stats, peer.stats
        if not (s and f and p):
            sys.exit(f"summary: {group} has no contended.json")
        out.append(
            f"| {label} (`{group}`) | {fmt_count(s['passes_per_s'])} passes/s (`next()`), "
            f"{fmt_count(f['passes_per_s'])} (`foreach`); "
            f"{s['abandoned'] + f['abandoned']} abandoned; at most "
            f"{max(s['max_resyncs'], f['max_resyncs'])} resyncs; writer "
            f"{fmt_count(s['writes_per_s'])} changes/s, longest change "
            f"{fmt_time(s['longest_change_ns'])} | per-item-locking `GstIterator` shape: "
            f"{fmt_count(p['passes_per_s'])} passes/s, {fmt_count(p['abandoned'])} of "
            f"{fmt_count(p['attempted'])} abandoned |")
    return "\n".join(out) + "\n"


def replace_block(readme_text, name, text):
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    if begin not in readme_text or end not in readme_text:
        sys.exit(f"the document has no {begin} ... {end} section")
    head, rest = readme_text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{text}{end}{tail}"


def main():
    default_criterion = os.path.join(
        os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "criterion")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--criterion", default=default_criterion)
    ap.add_argument("--doc", "--readme", dest="readme")
    ap.add_argument("--svg-dir", default=os.path.join(ROOT, "benches", "figures"))
    ap.add_argument("--block", action="append", default=[])
    ap.add_argument("sections", nargs="*")
    args = ap.parse_args()
    names = args.sections or ["machine", "summary", *SECTIONS]
    for n in names:
        if n not in ("machine", "summary") and n not in SECTIONS:
            sys.exit(f"unknown section {n!r}; known: machine, summary, {', '.join(SECTIONS)}")
    blocks = {}
    for n in names:
        if n == "machine":
            blocks[n] = machine_markdown(args.criterion)
            continue
        if n == "summary":
            blocks[n] = summary_markdown(args.criterion, args.readme)
            continue
        link = None
        if args.readme:
            os.makedirs(args.svg_dir, exist_ok=True)
            svg_path = os.path.join(args.svg_dir, f"{n}.svg")
            with open(svg_path, "w") as f:
                f.write(section_svg(n, args.criterion))
            link = os.path.relpath(svg_path, os.path.dirname(os.path.abspath(args.readme)))
        blocks[n] = section_markdown(n, args.criterion, link)
    for spec in args.block:
        n, _, path = spec.partition("=")
        with open(path) as f:
            blocks[n] = f.read()
    if not args.readme:
        for n, text in blocks.items():
            sys.stdout.write(f"<!-- bench:{n} -->\n{text}<!-- /bench:{n} -->\n\n")
        return
    with open(args.readme) as f:
        text = f.read()
    for n, block in blocks.items():
        text = replace_block(text, n, block)
    with open(args.readme, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
