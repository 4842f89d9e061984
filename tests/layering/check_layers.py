#!/usr/bin/env python3
"""Checks src/ against src/layers.txt: every include of a project header must follow an allowed
arrow, every folder of src/ that holds code must belong to a listed module, and only the modules
named on `prints:` may write to stdout/stderr or use spdlog. A module is a folder path, so nested
modules ("ops/backup") are modules of their own: siblings may include each other only where the
file allows it, and the parent folder ("ops") may hold no code of its own. Prints one line per
violation (file:line: why) and exits 1 on any.

Usage: check_layers.py SRC_DIR [LAYERS_FILE]   (LAYERS_FILE defaults to SRC_DIR/layers.txt)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_/]+)/[^/"]+"')
PRINTING = re.compile(r'std::cout|std::cerr|std::clog|\bprintf\s*\(|\bfprintf\s*\(|\bputs\s*\(|\bspdlog\b')


def load(path):
    allowed, prints = {}, set()
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            name, sep, rest = line.partition(":")
            if not sep:
                sys.exit(f"{path}:{n}: expected 'module: allowed modules', got '{line}'")
            if name.strip() == "prints":
                prints = set(rest.split())
            else:
                allowed[name.strip()] = set(rest.split())
    for m, deps in allowed.items():
        for d in deps:
            if d not in allowed:
                sys.exit(f"{path}: {m} may include '{d}', which is not a module listed there")
    return allowed, prints


def module_of(path, allowed):
    """The longest listed module that `path` (a folder, relative to src/) lies in, or None."""
    best = None
    for m in allowed:
        if (path == m or path.startswith(m + "/")) and (best is None or len(m) > len(best)):
            best = m
    return best


def main():
    src = sys.argv[1]
    layers = sys.argv[2] if len(sys.argv) > 2 else os.path.join(src, "layers.txt")
    allowed, prints = load(layers)
    bad = []
    modules = set()
    for root, dirs, files in os.walk(src):
        dirs.sort()
        code = sorted(f for f in files if f.endswith((".h", ".cc")))
        folder = os.path.relpath(root, src)
        if folder == "." or not code:
            continue
        m = module_of(folder, allowed)
        if m is None:
            bad.append(f"src/{folder}: a module that {layers} does not list (add it with what it may include)")
            continue
        modules.add(m)
        for fn in code:
            path = os.path.join(root, fn)
            rel = os.path.relpath(path, os.path.dirname(src))
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    inc = INCLUDE.match(line)
                    if inc:
                        dep = module_of(inc.group(1), allowed)
                        if dep is not None and dep != m and dep not in allowed[m]:
                            bad.append(f"{rel}:{n}: {m} includes {dep}/, which {os.path.basename(layers)} does not allow")
                    text = line.split("//", 1)[0]
                    if m not in prints and PRINTING.search(text):
                        bad.append(f"{rel}:{n}: {m} prints; only {' '.join(sorted(prints))} may "
                                   "(report through base/logger.h or a returned Status)")
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} layering violation(s)")
        return 1
    print(f"{len(modules)} modules follow {os.path.basename(layers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
