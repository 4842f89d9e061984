#!/usr/bin/env python3
"""Lists every function in src/ longer than the limit (60 lines, the one page a function should
fit on) and exits 1 if there is any. Function extents come from Universal Ctags (its `end:`
field), so a lambda counts toward the function that holds it.

Usage: long_functions.py SRC_DIR [LIMIT]
"""
import shutil
import subprocess
import sys


def ctags():
    for name in ("ctags-universal", "universal-ctags", "ctags"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("long_functions.py: Universal Ctags is missing: install Debian's universal-ctags (scripts/setup)")


def main():
    src = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    out = subprocess.run([ctags(), "--languages=C++", "--langmap=C++:+.h", "--kinds-C++=f", "--fields=+neK",
                          "-R", "-f", "-", src], check=True, capture_output=True, text=True).stdout
    long = []
    for line in out.splitlines():
        cols = line.split("\t")
        fields = dict(c.split(":", 1) for c in cols[3:] if ":" in c)
        if "line" not in fields or "end" not in fields:
            continue
        n = int(fields["end"]) - int(fields["line"]) + 1
        if n > limit:
            scope = fields.get("class", fields.get("struct", fields.get("namespace", ""))).split("::")[-1]
            name = f"{scope}::{cols[0]}" if scope and not scope.startswith("__anon") else cols[0]
            long.append((cols[1], int(fields["line"]), name, n))
    for path, line, name, n in sorted(long):
        print(f"{path}:{line}: {name} is {n} lines; split it into named steps of at most {limit}")
    if long:
        print(f"{len(long)} function(s) over {limit} lines")
        return 1
    print(f"every function in {src} fits in {limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
