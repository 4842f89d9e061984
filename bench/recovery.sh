#!/usr/bin/env bash
# Benchmark: recovery time of `lifeboat restore-cluster` and `lifeboat recover-member` vs the
# manual etcdctl procedure (scripted the seed's way: one shell job per host, as Ansible would),
# same hosts, ports, backup and disk, same run.
# Usage: bench/recovery.sh [--etcd 3.4|3.5.30|3.6.14|3.7.1] [MB=1000]. Loads a 3-member cluster with ~MB MiB of values
# (scripts/etcd-cluster load), takes one `lifeboat backup` into a local store, stops that cluster.
# Then, on three fresh "hosts" (loopback ports, one `lifeboat agent` each, process mode, no data:
# every member is lost):
#   lifeboat RTO     `restore-cluster --yes`, command start -> exit 0 (it exits only once the
#                    cluster verified: one cluster id, a leader, equal revision/HashKV, key count)
#   lifeboat recover a follower's etcd (m3 unless it leads) SIGKILLed and its data dir deleted;
#                    `recover-member` of it, command
#                    start -> exit 0 (remove, add as learner, start, promote, HashKV equal)
#   manual RTO       agents stopped; per host in parallel: cp the backup object out of the store,
#                    `etcdctl snapshot restore`; then start the 3 etcds; poll until `endpoint
#                    status` shows one leader on all 3 and `endpoint hashkv` is equal (copy -> verified)
#   manual recover   on that cluster: kill -9 a follower, move its data dir aside, `member remove`,
#                    `member add` (retried while refused), start it with state existing, poll until
#                    its revision equals the leader's and HashKV is equal on all 3.
#                    etcd's catch-up time = caught up - it started; manual total = kill -> caught up
# Prints each step's time, lifeboat's step tables, and the ratios. Targets: RTO <= 30 s on this
# machine at 1.4 GB and <= 1.2x etcd's own start; recover-member <= 1.0x etcd's own catch-up time.
# Both sides run the same etcd (3.4 by default; another version's etcd, etcdctl and etcdutl from
# build/etcd/VERSION: scripts/fetch-etcd, or the etcd 3.6/3.7 test pass) with the same flags
# (etcd's default heartbeat/election timing, an 8 GiB
# quota) and every wait polls with a deadline. Order: lifeboat runs first
# on its hosts (the agents do not start etcd by themselves, so recover-member must follow its
# restore before the agents go away), then the manual procedure on the same ports. The manual
# checks compare leader, revision and HashKV but do not count keys (lifeboat's verify also does).
# One run, no rounds: on a shared 2-core machine, check the load before trusting a ratio.
# RECOVER_FLAGS="--no-learner" passes flags to recover-member (learner vs voting add).
# RESTORE_FLAGS="--quarantine" passes flags to restore-cluster (every agent has a quarantine URL).
# BENCH_KEEP_WORK=1 keeps the work dir (logs, data dirs) for a post-mortem.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
VERSION=3.4
if [ "${1:-}" = "--etcd" ]; then VERSION=${2:?--etcd needs a version}; shift 2; fi
MB=${1:-1000}
RESTORE_TOOL=etcdctl  # 3.4's; etcdutl from 3.5 on, as etcdctl's restore is deprecated there
if [ "$VERSION" != 3.4 ]; then
  BIN=$ROOT/build/etcd/$VERSION/usr/bin
  [ -x "$BIN/etcd" ] || { echo "bench: no etcd $VERSION in $BIN (scripts/fetch-etcd, or the etcd 3.6/3.7 test pass)" >&2; exit 2; }
  export PATH=$BIN:$PATH LB_ETCD=$BIN/etcd LB_ETCDCTL=$BIN/etcdctl
  RESTORE_TOOL=etcdutl
fi

# ETCD_*/ETCDCTL_* from the caller would reconfigure every etcd and etcdctl below.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^ETCD(CTL)?_' || true)
export ETCDCTL_API=3
PY=$(command -v /usr/bin/python3 || command -v python3)
QUOTA=8589934592
ETCD_FLAGS=(--quota-backend-bytes "$QUOTA" --logger zap --log-outputs stderr)  # both sides
DEADLINE=${RECOVERY_DEADLINE:-600}  # seconds any single wait may take

WORK=$(mktemp -d /tmp/lifeboat-bench-recovery.XXXXXX)
AGENT_PIDS=() MANUAL_PIDS=()

# Pids of live etcd processes one of whose arguments is exactly a data dir matching the regex $1.
etcd_pids() {
  local f pid
  while IFS= read -r f; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ $(tr '\0' '\n' <"$f" 2>/dev/null | head -1) == *etcd ]] || continue
    if tr '\0' '\n' <"$f" 2>/dev/null | grep -qx -- "$1" && alive "$pid"; then echo "$pid"; fi
  done < <(grep -lsaF -- "$WORK/" /proc/[0-9]*/cmdline || true)
}
etcds_under_work() { etcd_pids "$WORK/.*\.etcd"; }
alive() { [[ -e /proc/$1 ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
wait_gone() {  # SECONDS PID...
  local until=$((SECONDS + $1)) p; shift
  for p in "$@"; do
    while alive "$p"; do ((SECONDS < until)) || return 1; sleep 0.05; done
  done
}
stop_agents() {
  local p
  ((${#AGENT_PIDS[@]})) || return 0
  for p in "${AGENT_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  if ! wait_gone 60 "${AGENT_PIDS[@]}"; then
    echo "bench: an agent did not stop within 60 s of SIGTERM; killing it" >&2
    for p in "${AGENT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  AGENT_PIDS=()
}
cleanup() {
  set +e
  bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1
  stop_agents
  local p
  # shellcheck disable=SC2046  # pids: one word each
  for p in "${MANUAL_PIDS[@]}" $(etcds_under_work); do kill -KILL "$p" 2>/dev/null; done
  # shellcheck disable=SC2046
  wait_gone 20 "${MANUAL_PIDS[@]}" $(etcds_under_work)
  if [[ -n ${BENCH_KEEP_WORK:-} ]]; then echo "bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
port_open() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_of() { local u=${1##*:}; echo "${u%%/*}"; }
CTL=(etcdctl --dial-timeout=1s --command-timeout=5s)

# ---- 1. a loaded cluster and one backup ----------------------------------------------------
T_BEGIN=$(now)
bash scripts/etcd-cluster start "$WORK/cluster" --quota-bytes "$QUOTA" >/dev/null
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
SRC_ENDPOINTS=$ENDPOINTS
echo "$(etcd --version | head -1); loading ~${MB} MiB of keys ..."
t0=$(now)
bash scripts/etcd-cluster load "$WORK/cluster" "$MB"
echo "load took $(secs "$t0" "$(now)")s"
cat >"$WORK/backup.yaml" <<EOF
endpoints: $SRC_ENDPOINTS
store: file://$WORK/store
cluster-name: bench
EOF
t0=$(now)
"$LB" backup --config "$WORK/backup.yaml" >"$WORK/backup.out" 2>&1 || { cat "$WORK/backup.out" >&2; die "lifeboat backup failed"; }
echo "lifeboat backup took $(secs "$t0" "$(now)")s"
bash scripts/etcd-cluster stop "$WORK/cluster"
rm -rf "$WORK"/cluster/m*.etcd  # 3 x (db + WAL): not needed any more
mapfile -t dbs < <(find "$WORK/store" -name '*.db' -type f)
((${#dbs[@]} == 1)) || die "expected one .db in the store, found ${#dbs[@]}: ${dbs[*]}"
BACKUP=${dbs[0]}
SIZE=$(stat -c %s "$BACKUP")
read -r SNAP_REV SNAP_KEYS < <("$LB" snapshot status "$BACKUP" -w json |
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["revision"], d["liveKeys"])')
echo "backup: ${BACKUP#"$WORK/"}: $(awk -v s="$SIZE" 'BEGIN {printf "%.1f MB (%.2f GiB)", s/1e6, s/2^30}'), revision $SNAP_REV, $SNAP_KEYS keys"

# ---- 2. three hosts: fresh ports, one agent each, no etcd, no data ---------------------------
read -r -a PORTS < <("$PY" - <<'EOF'
import socket
socks = []
for _ in range(12):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
((${#PORTS[@]} == 12)) || die "could not pick free ports"
mkdir -p "$WORK/agents" "$WORK/manual"
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/agent.token"
chmod 600 "$WORK/agent.token"
CLIENT=() PEER=() AGENT=() QUARANTINE=()
for k in 1 2 3; do
  i=$((4 * (k - 1)))
  CLIENT[k]=http://127.0.0.1:${PORTS[i]} PEER[k]=http://127.0.0.1:${PORTS[i + 1]} AGENT[k]=127.0.0.1:${PORTS[i + 2]}
  QUARANTINE[k]=http://127.0.0.1:${PORTS[i + 3]}
done
ENDPOINTS=$(IFS=,; echo "${CLIENT[*]:1}")
AGENTS=$(IFS=,; echo "${AGENT[*]:1}")
INITIAL_CLUSTER=m1=${PEER[1]},m2=${PEER[2]},m3=${PEER[3]}
yaml_list() { local a out=""; for a in "$@"; do out+="${out:+, }\"$a\""; done; echo "[$out]"; }
for k in 1 2 3; do
  cat >"$WORK/agents/agent-m$k.yaml" <<EOF
listen: ${AGENT[k]}
token-file: $WORK/agent.token
stores: [file://$WORK/store]
member: {name: m$k, data-dir: $WORK/agents/m$k.etcd, client-url: ${CLIENT[k]}, peer-url: ${PEER[k]}, quarantine-client-url: ${QUARANTINE[k]}}
mode: process
etcd:
  binary: etcd
  log-file: $WORK/agents/m$k.log
  extra-args: $(yaml_list "${ETCD_FLAGS[@]}")
EOF
  nohup setsid "$LB" agent --config "$WORK/agents/agent-m$k.yaml" </dev/null >"$WORK/agents/agent-m$k.out" 2>&1 &
  AGENT_PIDS+=($!)
  disown "$!"
done
until=$((SECONDS + 30))
for k in 1 2 3; do
  until port_open "${AGENT[k]##*:}"; do
    alive "${AGENT_PIDS[k - 1]}" || { cat "$WORK/agents/agent-m$k.out" >&2; die "agent m$k exited"; }
    ((SECONDS < until)) || die "agent m$k does not listen on ${AGENT[k]} after 30 s"
    sleep 0.05
  done
done
cat >"$WORK/lifeboat.yaml" <<EOF
endpoints: $ENDPOINTS
agents: $AGENTS
agent-token-file: $WORK/agent.token
store: file://$WORK/store
cluster-name: bench
restore-journal: $WORK/restore-journal.json
EOF
echo "hosts: m1 m2 m3, clients $ENDPOINTS, agents $AGENTS (every member lost)"

# ---- 3. lifeboat RTO -------------------------------------------------------------------------
echo
echo "== lifeboat restore-cluster"
t0=$(now)
# shellcheck disable=SC2086  # RESTORE_FLAGS: extra flags, e.g. --quarantine
"$LB" restore-cluster --config "$WORK/lifeboat.yaml" --yes ${RESTORE_FLAGS:-} >"$WORK/restore.out" 2>"$WORK/restore.err" ||
  { cat "$WORK/restore.out" "$WORK/restore.err" >&2; die "lifeboat restore-cluster failed"; }
T_L_UP=$(now)
L_RTO=$(secs "$t0" "$T_L_UP")
sed 's/^/  /' "$WORK/restore.out"
steps() {  # the step table lifeboat prints on stderr ("  NAME  SECONDS s  DETAIL")
  grep -E '^  [a-z][a-z -]{1,16} +[0-9]+\.[0-9]s  ' "$1" | sed 's/^/  step/' || true
}
steps "$WORK/restore.err"
grep -q "safety backup.*none: no member answered" "$WORK/restore.err" || die "restore-cluster took a safety backup: members answered"
echo "lifeboat RTO: ${L_RTO}s"

# ---- 5. lifeboat recover-member ------------------------------------------------------------
# etcd refuses membership changes until its members have been connected for 5 s (3.4's
# "unhealthy cluster", 3.5+'s learner checks); a cluster that loses a member in production has
# been up far longer. Both sides therefore wait until their cluster has been up 6 s, so that the
# comparison measures the recovery, not that rule.
settle() {  # T_UP: the time the cluster was verified
  local left
  left=$(awk -v a="$1" -v b="$(now)" 'BEGIN {d = 6 - (b - a); print (d > 0 ? d : 0)}')
  sleep "$left"
}
# The member replaced is a follower on both sides (the highest-numbered one): losing the leader
# adds an election, which would make the two sides differ by where the election put the leader.
follower() {  # prints k (1..3) of the highest-numbered member that is not the leader
  local k st
  for k in 3 2 1; do
    st=$(etcdctl --dial-timeout=1s --command-timeout=2s --endpoints "${CLIENT[k]}" endpoint status -w json 2>/dev/null) || continue
    "$PY" -c 'import json,sys; s=json.load(sys.stdin)[0]["Status"]; sys.exit(0 if s["header"]["member_id"] != s["leader"] else 1)' \
      <<<"$st" && { echo "$k"; return 0; }
  done
  return 1
}
echo
settle "$T_L_UP"
V=$(follower) || die "no follower answers endpoint status"
echo "== lifeboat recover-member m$V (a follower)"
pid=$(etcd_pids "$WORK/agents/m$V\.etcd")
[[ $pid =~ ^[0-9]+$ ]] || die "no single etcd runs for m$V under its agent: '$pid'"
kill -KILL "$pid"
wait_gone 10 "$pid" || die "m$V's etcd (pid $pid) survived SIGKILL"
rm -rf "$WORK/agents/m$V.etcd"
t0=$(now)
# shellcheck disable=SC2086  # RECOVER_FLAGS: extra flags, e.g. --no-learner to compare
"$LB" recover-member "m$V" --config "$WORK/lifeboat.yaml" ${RECOVER_FLAGS:-} >"$WORK/recover.out" 2>"$WORK/recover.err" ||
  { cat "$WORK/recover.out" "$WORK/recover.err" >&2; die "lifeboat recover-member failed"; }
L_REC=$(secs "$t0" "$(now)")
sed 's/^/  /' "$WORK/recover.out"
steps "$WORK/recover.err"
echo "lifeboat recover-member: ${L_REC}s"

stop_agents  # SIGTERM: each leaves its etcd running (a next agent would adopt it)
AGENT_ETCDS=$(etcds_under_work)
# shellcheck disable=SC2086  # pids: one word each
{ kill -TERM $AGENT_ETCDS 2>/dev/null; wait_gone 60 $AGENT_ETCDS; } || die "the agents' etcd did not stop"
rm -rf "$WORK"/agents/*.etcd "$WORK"/agents/*.etcd.lifeboat-*  # disk for the manual side

# ---- 4. manual RTO ---------------------------------------------------------------------------
MTOKEN=bench-manual-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
start_manual() {  # k STATE INITIAL_CLUSTER ; sets MPID[k]
  local k=$1
  nohup setsid etcd --name "m$k" --data-dir "$WORK/manual/m$k.etcd" \
    --listen-client-urls "${CLIENT[k]}" --advertise-client-urls "${CLIENT[k]}" \
    --listen-peer-urls "${PEER[k]}" --initial-advertise-peer-urls "${PEER[k]}" \
    --initial-cluster "$3" --initial-cluster-state "$2" --initial-cluster-token "$MTOKEN" \
    "${ETCD_FLAGS[@]}" </dev/null >>"$WORK/manual/m$k.log" 2>&1 &
  MPID[k]=$!
  MANUAL_PIDS+=($!)
  disown "$!"  # no "Killed" job notices when a member is killed on purpose
}
# 0 when every member answers `endpoint status` (short timeout: a member still applying a
# snapshot does not answer) with one common non-zero leader and one revision, and then
# `endpoint hashkv` (long timeout: it hashes the whole keyspace) gives one hash on all three.
# Prints "LEADER_URL REVISION".
manual_verified() {
  local k st hk
  for k in 1 2 3; do port_open "$(port_of "${CLIENT[k]}")" || return 1; done
  st=$(etcdctl --dial-timeout=1s --command-timeout=1s --endpoints "$ENDPOINTS" endpoint status -w json 2>/dev/null) || return 1
  "$PY" -c '
import json, sys
st = json.loads(sys.argv[1])
leaders = {s["Status"].get("leader", 0) for s in st}
revs = {s["Status"]["header"]["revision"] for s in st}
sys.exit(0 if len(st) == 3 and len(leaders) == 1 and 0 not in leaders and len(revs) == 1 else 1)
' "$st" || return 1
  hk=$(etcdctl --dial-timeout=1s --command-timeout=60s --endpoints "$ENDPOINTS" endpoint hashkv -w json 2>/dev/null) || return 1
  "$PY" -c '
import json, sys
st, hk = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if len(hk) != 3 or len({h["HashKV"].get("hash", 0) for h in hk}) != 1 or \
   len({h["HashKV"]["header"]["revision"] for h in hk}) != 1:
    sys.exit(1)
lead = [s["Endpoint"] for s in st if s["Status"]["header"]["member_id"] == s["Status"]["leader"]]
print(lead[0] if lead else "-", hk[0]["HashKV"]["header"]["revision"])
' "$st" "$hk"
}
wait_verified() {  # WHAT -> prints "LEADER_URL REVISION"
  local until=$((SECONDS + DEADLINE)) out j
  until out=$(manual_verified); do
    for j in 1 2 3; do
      [[ -z ${MPID[j]:-} ]] || alive "${MPID[j]}" || { tail -20 "$WORK/manual/m$j.log" >&2; die "$1: m$j exited"; }
    done
    ((SECONDS < until)) || die "$1: not verified within ${DEADLINE}s"
    sleep 0.2
  done
  echo "$out"
}

echo
echo "== manual restore ($RESTORE_TOOL snapshot restore on every host, then start, then poll)"
declare -a MPID JOBS
t0=$(now)
for k in 1 2 3; do
  (
    mkdir -p "$WORK/manual/host$k"
    cp "$BACKUP" "$WORK/manual/host$k/backup.db"
    "$RESTORE_TOOL" snapshot restore "$WORK/manual/host$k/backup.db" --name "m$k" --initial-cluster "$INITIAL_CLUSTER" \
      --initial-cluster-token "$MTOKEN" --initial-advertise-peer-urls "${PEER[k]}" \
      --data-dir "$WORK/manual/m$k.etcd" >"$WORK/manual/restore-m$k.log" 2>&1 ||
      { cat "$WORK/manual/restore-m$k.log" >&2; exit 1; }
  ) &
  JOBS[k]=$!
done
for k in 1 2 3; do wait "${JOBS[k]}" || die "manual restore failed on m$k"; done
t_restored=$(now)
for k in 1 2 3; do start_manual "$k" new "$INITIAL_CLUSTER"; done
out=$(wait_verified "manual restore")
read -r _ M_REV <<<"$out"
t_verified=$(now)
M_RTO=$(secs "$t0" "$t_verified")
echo "  copy + snapshot restore (3 hosts in parallel): $(secs "$t0" "$t_restored")s"
M_START=$(secs "$t_restored" "$t_verified")
echo "  start -> leader + equal HashKV:                ${M_START}s (revision $M_REV)"
echo "manual RTO: ${M_RTO}s"
((M_REV == SNAP_REV)) || echo "bench: warning: manual cluster at revision $M_REV, the snapshot's $SNAP_REV" >&2

# ---- 6. manual recover-member ----------------------------------------------------------------
echo
settle "$t_verified"
V=$(follower) || die "no follower answers endpoint status"
echo "== manual recover m$V, a follower (member remove, member add, start existing, wait for catch-up)"
OTHERS=$(for k in 1 2 3; do ((k == V)) || printf '%s,' "${CLIENT[k]}"; done)
OTHERS=${OTHERS%,}
t_kill=$(now)
kill -KILL "${MPID[V]}"
wait_gone 10 "${MPID[V]}" || die "manual m$V survived SIGKILL"
MPID[V]=""
mv "$WORK/manual/m$V.etcd" "$WORK/manual/m$V.etcd.aside"
id=$("${CTL[@]}" --endpoints "$OTHERS" member list -w simple | awk -F', ' -v n="m$V" '$3 == n {print $1}')
[[ -n $id ]] || die "m$V is not in the member list"
# etcd 3.4 refuses membership changes ("unhealthy cluster") until the members have been
# connected for 5 s: retry those refusals, as an operator would, up to the deadline.
retry_ctl() {  # OUTVAR etcdctl-args...
  local var=$1 out until=$((SECONDS + DEADLINE)); shift
  until out=$("${CTL[@]}" --endpoints "$OTHERS" "$@" 2>&1); do
    grep -qiE "unhealthy|not enough started members|timed out|deadline exceeded|unavailable" <<<"$out" || die "etcdctl $*: $out"
    ((SECONDS < until)) || die "etcdctl $* still refused after ${DEADLINE}s: $out"
    sleep 0.2
  done
  printf -v "$var" '%s' "$out"
}
# shellcheck disable=SC2034  # "removed" only receives the output
removed="" add=""
retry_ctl removed member remove "$id"
t_removed=$(now)
retry_ctl add member add "m$V" --peer-urls="${PEER[V]}"
ic=$(sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p' <<<"$add")
[[ -n $ic ]] || die "member add printed no ETCD_INITIAL_CLUSTER: $add"
t_start=$(now)
start_manual "$V" existing "$ic"
out=$(wait_verified "manual recover m$V")
read -r _ rev <<<"$out"
((rev == M_REV)) || die "manual recover m$V: the cluster moved from revision $M_REV to $rev"
t_caught=$(now)
M_CATCHUP=$(secs "$t_start" "$t_caught")
M_REC=$(secs "$t_kill" "$t_caught")
echo "  kill -> member removed (retried while refused):  $(secs "$t_kill" "$t_removed")s"
echo "  -> member added (retried while refused) -> start: $(secs "$t_removed" "$t_start")s"
echo "  etcd's catch-up (start -> revision + HashKV equal): ${M_CATCHUP}s"
echo "manual recover-member total: ${M_REC}s"

# ---- 7. results -----------------------------------------------------------------------------
echo
awk -v s="$SIZE" -v lr="$L_RTO" -v mr="$M_RTO" -v lm="$L_REC" -v mm="$M_REC" -v cu="$M_CATCHUP" -v ms="$M_START" 'BEGIN {
  printf "db size (backup object): %.1f MB (%.2f GiB)\n", s/1e6, s/2^30
  printf "whole-cluster RTO: lifeboat %.2fs, manual etcdctl %.2fs: ratio lifeboat/manual %.2fx\n", lr, mr, lr/mr
  printf "  vs etcd'"'"'s own start (manual start -> leader + equal HashKV) %.2fs: %.2fx (target <= 1.2x): %s\n",
    ms, lr/ms, (lr/ms <= 1.2 ? "met" : "MISSED")
  printf "  RTO target <= 30 s at 1.4 GB: %s (%.2fs at %.2f GB; scaled linearly to 1.4 GB: %.1fs)\n",
    (lr <= 30 ? "met" : "MISSED"), lr, s/1e9, lr * 1.4e9 / s
  printf "recover-member: lifeboat %.2fs, manual total %.2fs, etcd catch-up %.2fs\n", lm, mm, cu
  printf "  ratio lifeboat/catch-up %.2fx (target <= 1.0x): %s; ratio lifeboat/manual total %.2fx\n",
    lm/cu, (lm/cu <= 1.0 ? "met" : "MISSED"), lm/mm
}'
echo "bench wall time: $(secs "$T_BEGIN" "$(now)")s"
