#!/usr/bin/env python3
"""The key of a source file's cargo-mutants record: `c:` and the SHA-1 of its code,
without comments and with every run of whitespace outside literals made one space.

A change to comments, doc comments or layout alone leaves the key, and so the record,
as it was: cargo-mutants mutates code, never comments, and the tests that run against
a mutant (in other files) are not part of the key either way. Any change to a token,
a string or a character literal changes the key, and the file is run again.

Usage:
  scripts/mutants-key.py FILE...         prints FILE=KEY for each file
  scripts/mutants-key.py --blob BLOB...  prints BLOB=KEY, reading each from git
"""
import hashlib
import subprocess
import sys


def code_of(src):
    """The text without comments, with whitespace outside literals collapsed."""
    out, i, n = [], 0, len(src)
    space = False

    def emit(text):
        nonlocal space
        if space and out:
            out.append(" ")
        space = False
        out.append(text)

    def ident_char(c):
        return c.isalnum() or c == "_"

    while i < n:
        c = src[i]
        if c.isspace():
            space = True
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            space = True
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            space = True
        elif c in "rb" and (i == 0 or not ident_char(src[i - 1])) and _raw_start(src, i):
            hashes, j = _raw_start(src, i)
            end = src.find('"' + "#" * hashes, j)
            end = n if end < 0 else end + 1 + hashes
            emit(src[i:end])
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            emit(src[i:j + 1])
            i = j + 1
        elif c == "'":
            if i + 1 < n and src[i + 1] == "\\":
                j = src.find("'", i + 3)
                j = n - 1 if j < 0 else j
                emit(src[i:j + 1])
                i = j + 1
            elif i + 2 < n and src[i + 2] == "'":
                emit(src[i:i + 3])
                i += 3
            else:  # a lifetime or a label
                emit(c)
                i += 1
        else:
            j = i + 1
            while j < n and not src[j].isspace() and src[j] not in "\"'/" and \
                    not (src[j] in "rb" and not ident_char(src[j - 1])):
                j += 1
            emit(src[i:j])
            i = j
    return "".join(out)


def _raw_start(src, i):
    """(number of #, index after the opening quote) when a raw string starts at i."""
    j = i
    if src[j] == "b":
        j += 1
        if j >= len(src) or src[j] != "r":
            return None
    j += 1
    hashes = 0
    while j < len(src) and src[j] == "#":
        hashes, j = hashes + 1, j + 1
    if j < len(src) and src[j] == '"':
        return hashes, j + 1
    return None


def key(src):
    return "c:" + hashlib.sha1(code_of(src).encode()).hexdigest()


def main():
    args = sys.argv[1:]
    if args[:1] == ["--blob"]:
        for blob in args[1:]:
            src = subprocess.run(["git", "cat-file", "blob", blob], capture_output=True,
                                 text=True, check=True).stdout
            print(f"{blob}={key(src)}")
        return
    for path in args:
        with open(path, encoding="utf-8") as f:
            print(f"{path}={key(f.read())}")


if __name__ == "__main__":
    main()
