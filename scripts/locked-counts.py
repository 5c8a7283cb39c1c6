#!/usr/bin/env python3
"""Locked (atomic read-modify-write) instructions per create + add + remove cycle, for
mtsafe, its `Arc` + `Mutex<Vec>` peer and the rules' floor (examples/locked_cycles.rs),
counted with callgrind: each instruction of the example binary that carries a `lock`
prefix (or is an `xchg` with memory, locked implicitly) is found with objdump, and its
executions are summed over two runs of different lengths, so that start-up cancels
out. Repeatable for the same binary whatever else the machine is doing. Prints a
Markdown table, then mtsafe's locked instructions by function.

Usage: scripts/locked-counts.py [--by-function]
"""
import collections
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPS = [("mtsafe", "mtsafe `Object::new` + `add` + `remove`"),
         ("rules_floor", "the rules' floor (`rules_floor_Arc_locks`)"),
         ("peer", "`Arc` + `Mutex<Vec>` (no rules)")]
SHORT, LONG = 20000, 40000


def locked_addresses(binary):
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary],
                         capture_output=True, text=True, check=True).stdout
    out = set()
    for line in dis.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
        if m and (m.group(2).startswith("lock ") or
                  (m.group(2).startswith("xchg") and "(" in m.group(2))):
            out.add(int(m.group(1), 16))
    return out


def run(binary, locked, which, n):
    """(locked executions by function, all instructions) of one run."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as f:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={f.name}",
                        "--dump-instr=yes", "--compress-pos=no", "--compress-strings=no",
                        binary, which, str(n)], capture_output=True, check=True)
        per, total = collections.Counter(), 0
        ob = fn = None
        after_calls = False
        for line in open(f.name):
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("fn="):
                fn = line[3:].strip()
            elif line.startswith("calls="):
                after_calls = True  # the next line is the call's inclusive cost
            elif line.startswith("totals:") or line.startswith("summary:"):
                total = int(line.split()[1])
            else:
                m = re.match(r"^(0x[0-9a-f]+)\s+\d+\s+(\d+)", line)
                if m:
                    if after_calls:
                        after_calls = False
                    elif ob == binary and int(m.group(1), 16) in locked:
                        per[fn] += int(m.group(2))
        return per, total


def main():
    by_function = "--by-function" in sys.argv[1:]
    os.chdir(ROOT)
    subprocess.run(["cargo", "build", "-q", "--release", "--example", "locked_cycles"],
                   check=True)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    binary = os.path.realpath(os.path.join(target, "release", "examples", "locked_cycles"))
    locked = locked_addresses(binary)
    print("| cycle | locked instructions | instructions |")
    print("|---|---:|---:|")
    functions = None
    for which, label in LOOPS:
        (s, s_total), (l, l_total) = (run(binary, locked, which, n) for n in (SHORT, LONG))
        n = LONG - SHORT
        count = (sum(l.values()) - sum(s.values())) / n
        print(f"| {label} | {count:.0f} | {(l_total - s_total) / n:.0f} |")
        if which == "mtsafe":
            functions = {fn: (l[fn] - s.get(fn, 0)) / n for fn in l}
    if by_function:
        print("\n| mtsafe function | locked instructions per cycle |\n|---|---:|")
        for fn, c in sorted(functions.items(), key=lambda kv: -kv[1]):
            if c >= 0.5:
                name = re.sub(r"::h[0-9a-f]{16}$", "", fn)
                print(f"| `{name}` | {c:.0f} |")


if __name__ == "__main__":
    main()
