#!/bin/sh
# The layering check must fail on the fixture tree, naming each of its four violations.
out=$(python3 "$(dirname "$0")/check_layers.py" "$(dirname "$0")/fixture/src") && { echo "passed a broken tree"; exit 1; }
echo "$out"
for want in "base/up.cc:2: base includes ops/top/" "base/up.cc:4: base prints" "src/extra: a module" \
            "ops/low/low.h:2: ops/low includes ops/top/" "4 layering violation"; do
  echo "$out" | grep -qF "$want" || { echo "missing: $want"; exit 1; }
done
