#!/usr/bin/env bash
# ansible-lint (Debian 12's package) on deploy/ansible: the role lifeboat and its playbooks, at the
# strictest profile (production). Its caches go to a temp HOME, never to the machine's.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v ansible-lint >/dev/null || fail "ansible-lint is not installed (run scripts/setup)"
WORK=$(mktemp -d /tmp/lifeboat-ansible-lint.XXXXXX)
trap 'rm -rf "$WORK"' EXIT   # only what this test made
cd "$SRC/deploy/ansible"
out=$(HOME=$WORK NO_COLOR=1 ansible-lint --offline --nocolor -p --profile production \
  deploy.yml restore-cluster.yml recover-member.yml roles/lifeboat 2>&1) || { echo "$out" >&2; fail "ansible-lint found problems"; }
echo "$out"
grep -q "Passed with production profile" <<<"$out" || fail "ansible-lint did not report a pass at the production profile"
echo "PASS: ansible-lint, production profile"
