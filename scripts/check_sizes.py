#!/usr/bin/env python3
"""Keeps core/ and ui/ in pieces one can read: no source file over MAX_FILE
lines, no function over MAX_FUNCTION lines (docs/ARCHITECTURE.md, "Sizes").

A function is found as the project's style writes one: a signature line, then
its opening brace alone on a line at the signature's indentation, closed by a
brace at that indentation. Lambdas count toward the function around them.

    python3 scripts/check_sizes.py [ROOT]     exit 1 and a list when a limit is broken
"""
import pathlib
import re
import sys

MAX_FILE = 500
MAX_FUNCTION = 80
FOLDERS = ("core", "ui")
SUFFIXES = {".cpp", ".h"}


def functions(lines):
    """(name, first line, length) of each function body in `lines`."""
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.fullmatch(r"( *)\{", line.rstrip())
        if m and i > 0:
            indent = m.group(1)
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            signature = lines[j].strip() if j >= 0 else ""
            is_function = ")" in signature or signature.endswith(("const", "override", "noexcept"))
            is_function = is_function and not signature.startswith(("struct", "class", "namespace", "enum"))
            if is_function:
                end = i + 1
                while end < len(lines) and lines[end].rstrip() != indent + "}":
                    end += 1
                # the signature may span lines: its continuation lines are
                # indented deeper; its first line is at the brace's indentation
                start = j
                while start > 0 and lines[start].startswith(indent + " ") and lines[start - 1].strip():
                    start -= 1
                name = lines[start].strip().split("(")[0].split()[-1] if "(" in lines[start] else signature
                yield name, start + 1, end - start + 1
                i = end
        i += 1


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    problems = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            rel = path.relative_to(root)
            if len(lines) > MAX_FILE:
                problems.append(f"{rel}: {len(lines)} lines (at most {MAX_FILE})")
            for name, first, length in functions(lines):
                if length > MAX_FUNCTION:
                    problems.append(f"{rel}:{first}: {name} is {length} lines long (at most {MAX_FUNCTION})")
    for p in problems:
        print(p)
    print(f"{len(problems)} size limits broken" if problems else "sizes: every file and function within the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
