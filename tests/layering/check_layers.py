#!/usr/bin/env python3
"""Checks src/ against src/layers.txt: every include of a project header must follow an allowed
arrow, every folder of src/ must be listed, and only the modules named on `prints:` may write to
stdout/stderr or use spdlog. Prints one line per violation (file:line: why) and exits 1 on any.

Usage: check_layers.py SRC_DIR [LAYERS_FILE]   (LAYERS_FILE defaults to SRC_DIR/layers.txt)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/')
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


def main():
    src = sys.argv[1]
    layers = sys.argv[2] if len(sys.argv) > 2 else os.path.join(src, "layers.txt")
    allowed, prints = load(layers)
    bad = []
    modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for m in modules:
        if m not in allowed:
            bad.append(f"src/{m}: a module that {layers} does not list (add it with what it may include)")
            continue
        for root, _, files in os.walk(os.path.join(src, m)):
            for fn in sorted(files):
                if not fn.endswith((".h", ".cc")):
                    continue
                path = os.path.join(root, fn)
                rel = os.path.relpath(path, os.path.dirname(src))
                with open(path, errors="replace") as f:
                    for n, line in enumerate(f, 1):
                        inc = INCLUDE.match(line)
                        if inc:
                            dep = inc.group(1)
                            if dep in allowed and dep != m and dep not in allowed[m]:
                                bad.append(f"{rel}:{n}: {m} includes {dep}/, which {os.path.basename(layers)} does not allow")
                        code = line.split("//", 1)[0]
                        if m not in prints and PRINTING.search(code):
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
