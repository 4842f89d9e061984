#!/usr/bin/env bash
# Bad input to the role and the playbooks fails before anything is done, naming the variable:
# a missing required variable and a wrong type (meta/argument_specs.yml), TLS half configured and
# a store credential with a quote (the role's own checks), recover-member.yml without a member. Each play runs in check mode
# against a host that only the controller's action plugins (validation, assert) would reach.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v ansible-playbook >/dev/null || fail "ansible-playbook is not installed (run scripts/setup)"
WORK=$(mktemp -d /tmp/lifeboat-ansible-args.XXXXXX)
trap 'rm -rf "$WORK"' EXIT   # only what this test made
export HOME=$WORK ANSIBLE_HOME=$WORK/.ansible ANSIBLE_LOCAL_TEMP=$WORK/tmp LC_ALL=C.UTF-8 ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=False

inventory() { # VARS-YAML -> $WORK/inventory.yml: one host "box" in group etcd
  cat >"$WORK/inventory.yml" <<INV
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: /usr/bin/python3
$1
  children:
    etcd:
      hosts:
        box:
INV
}

expect_failure() { # NAME PLAYBOOK EXPECTED-TEXT [ARGS...]
  local name=$1 playbook=$2 want=$3 out rc=0; shift 3
  out=$(ansible-playbook -i "$WORK/inventory.yml" --check "$SRC/deploy/ansible/$playbook" "$@" 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || { echo "$out" >&2; fail "$name: the play succeeded"; }
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; fail "$name: the failure does not say '$want'"; }
  # Nothing ran after the failing check: the recap counts it as the only failure, nothing changed.
  grep -Eq 'box +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=1 ' <<<"$out" || { echo "$out" >&2; fail "$name: recap"; }
  echo "$out" >"$WORK/last.out"
  echo "ok: $name: $want"
}

inventory "    lifeboat_deb: /srv/lifeboat_0.1.0_amd64.deb"
expect_failure "no lifeboat_store" deploy.yml "missing required arguments: lifeboat_store"

inventory "    lifeboat_deb: /srv/lifeboat_0.1.0_amd64.deb
    lifeboat_store: s3://b?endpoint=http://198.18.0.1:7480
    lifeboat_agent_port: many"
expect_failure "a port that is no number" deploy.yml "lifeboat_agent_port"

inventory "    lifeboat_store: s3://b?endpoint=http://198.18.0.1:7480"
expect_failure "no lifeboat_deb" deploy.yml "missing required arguments: lifeboat_deb"

inventory "    lifeboat_deb: /srv/lifeboat_0.1.0_amd64.deb
    lifeboat_store: s3://b?endpoint=http://198.18.0.1:7480
    lifeboat_agent_tls_ca_src: /srv/pki/ca.crt"
expect_failure "agent TLS without this host's certificate" deploy.yml "lifeboat_agent_tls_cert_src"

inventory "    lifeboat_deb: /srv/lifeboat_0.1.0_amd64.deb
    lifeboat_store: s3://b?endpoint=http://198.18.0.1:7480
    lifeboat_store_env: {AWS_SECRET_ACCESS_KEY: \"it's\"}"
expect_failure "a credential sh and systemd would read differently" deploy.yml "lifeboat_store_env must map variable names"
if grep -q "it's" "$WORK/last.out"; then cat "$WORK/last.out" >&2; fail "the failure shows the credential's value"; fi

inventory ""
expect_failure "recover-member.yml without a member" recover-member.yml "name the member to replace: -e member=NAME"
echo "PASS: bad input stops the role and the playbooks, naming the variable"
