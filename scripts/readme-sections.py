#!/usr/bin/env python3
"""Keeps README's copy of the pattern map in step with its one source,
docs/pattern-map.md (which the crate root's documentation includes as it is).

README gets the table with the rustdoc links turned into plain code spans
(`[`CowShared<T>`]` -> `CowShared<T>`), between the `<!-- pattern-map ... -->` and
`<!-- /pattern-map -->` markers.

Usage: scripts/readme-sections.py           rewrite README.md
       scripts/readme-sections.py --check   fail if README.md is out of date (CI)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
SOURCE = os.path.join(ROOT, "docs", "pattern-map.md")
BEGIN = re.compile(r"<!-- pattern-map[^>]*-->\n")
END = "<!-- /pattern-map -->"


def rendered():
    with open(SOURCE) as f:
        table = f.read()
    # [`X`] (a rustdoc shortcut link) -> `X`; [text](target) links are kept.
    return re.sub(r"\[(`[^`\]]+`)\](?!\()", r"\1", table)


def main():
    check = "--check" in sys.argv[1:]
    with open(README) as f:
        text = f.read()
    m = BEGIN.search(text)
    if not m or END not in text[m.end():]:
        sys.exit("README.md has no <!-- pattern-map --> ... <!-- /pattern-map --> block")
    tail = text[m.end():].split(END, 1)[1]
    new = text[:m.end()] + rendered() + END + tail
    if check:
        if new != text:
            sys.exit("README.md's pattern map differs from docs/pattern-map.md: "
                     "run scripts/readme-sections.py")
        print("README.md's pattern map matches docs/pattern-map.md")
        return
    with open(README, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
