#!/usr/bin/env bash
# Benchmark: lifeboat at etcd's recommended maximum db size (8 GB). One etcd member is loaded with
# ~SIZE_GB of db as 1000-byte values (scripts/etcd-cluster load; three fit a 4 KiB page, where
# 2000-byte values take a page each and double the db), then compacted as Kubernetes does every
# 5 minutes (so HashKV must find each key's newest entry), then each command is measured once
# with /usr/bin/time (wall seconds, peak RSS) beside the tool a user would otherwise run and the
# physical limit, same disk, same run:
#   backup            vs etcdctl snapshot save        and cp+sync of the snapshot
#   verify (stored)   vs sha256sum of the snapshot
#   snapshot status   vs etcdutl snapshot status       and sha256sum
#   snapshot hashkv   vs sha256sum (etcdutl has no offline hashkv: bench/hashkv.sh compares it with
#                     restoring, starting etcd and `etcdctl endpoint hashkv`)
#   snapshot restore  vs etcdutl snapshot restore      and cp+sync
#   point-in-time     snapshot restore --to-revision: the backup plus PITR_MB of logged changes
#                     replayed (no etcd equivalent)   vs cp+sync
#   restore-cluster   one agent (process mode, no data) stages and restores the backup and starts
#                     etcd; the coordinator's and the agent's peak RSS      vs 2 x cp+sync
# Bounds checked (printed, exit 1 when exceeded): backup, restore and status under 100 MB RSS.
# Usage: bench/scale.sh [SIZE_GB=8] [PITR_MB=256]. SCALE_WORK=dir holds everything (default
# ${TMPDIR:-/tmp}/lifeboat-bench-scale); it needs ~3 x SIZE_GB free: each artefact is deleted as
# soon as it is measured. A running cluster left in SCALE_WORK/cluster by an earlier run (or a
# load started by hand there) is reused: loading 8 GB is the slow part. etcdutl: LB_ETCDUTL or
# build/etcd/3.5.16 (scripts/fetch-etcd); etcd and etcdctl are the system's 3.4.
# One run, no rounds: on a shared 2-core machine, check the load before trusting a ratio.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SIZE_GB=${1:-8}
PITR_MB=${2:-256}
export ETCDCTL_API=3
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^ETCD(CTL)?_' || true)
PY=$(command -v /usr/bin/python3 || command -v python3)
ETCDUTL=${LB_ETCDUTL:-$ROOT/build/etcd/3.5.16/usr/bin/etcdutl}
[[ -x $ETCDUTL ]] || { echo "bench: no etcdutl at $ETCDUTL (run scripts/fetch-etcd or set LB_ETCDUTL)" >&2; exit 2; }
WORK=${SCALE_WORK:-${TMPDIR:-/tmp}/lifeboat-bench-scale}
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
export TMPDIR=$WORK  # the point-in-time restore fetches its backup there
AGENT_PID=
cleanup() {
  set +e
  [[ -n $AGENT_PID ]] && kill -TERM "$AGENT_PID" 2>/dev/null && sleep 5 && kill -KILL "$AGENT_PID" 2>/dev/null
  rm -rf "$WORK/e.db" "$WORK/copy.db" "$WORK/r.etcd" "$WORK/l.etcd" "$WORK/p.etcd" "$WORK/agent" \
    "$WORK"/lifeboat-pitr-* "$WORK"/.*.lifeboat-restore-*
  if [[ -z ${BENCH_KEEP_WORK:-} ]]; then
    bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1
    rm -rf "$WORK/store" "$WORK/cluster"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 1; }
gb() { awk -v s="$1" 'BEGIN {printf "%.2f GB", s/1e9}'; }
free_gb() { df -P --block-size=1G "$WORK" | awk 'NR==2 {print $4}'; }

# ---- 1. the loaded member --------------------------------------------------------------------
if [[ -f $WORK/cluster/cluster.env ]] && bash scripts/etcd-cluster leader "$WORK/cluster" >/dev/null 2>&1; then
  echo "reusing the running cluster in $WORK/cluster"
else
  (($(free_gb) >= 3 * SIZE_GB)) || die "$WORK has $(free_gb) GB free; this needs ~$((3 * SIZE_GB)) GB"
  rm -rf "$WORK/cluster"
  bash scripts/etcd-cluster start "$WORK/cluster" --members 1 --quota-bytes $((2 * SIZE_GB * 1073741824)) >/dev/null
  echo "loading ~${SIZE_GB} GB of db as 1000-byte values ..."
  t0=$EPOCHREALTIME
  LOAD_WORKERS=3 bash scripts/etcd-cluster load "$WORK/cluster" $((SIZE_GB * 1024 * 75 / 100)) 1000 >/dev/null
  echo "load took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.0f", b - a}')s"
fi
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
G=(--endpoints "$ENDPOINTS" --store "file://$WORK/store" --cluster-name scale)
status_json() { etcdctl --endpoints "$ENDPOINTS" endpoint status -w json; }
# A compaction below the last 1000 revisions, unless an earlier run made one.
REV=$(status_json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
first=$(etcdctl --endpoints "$ENDPOINTS" get /load/ --rev 1 --limit 1 2>&1 || true)
if ((REV > 2000)) && [[ $first != *compacted* ]]; then
  etcdctl --endpoints "$ENDPOINTS" --command-timeout 600s compact $((REV - 1000)) --physical >/dev/null
  echo "compacted at revision $((REV - 1000))"
fi
DB_SIZE=$(status_json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["dbSize"])')
echo "etcd db: $(gb "$DB_SIZE"), $(free_gb) GB free in $WORK"

declare -A WALL=() RSS=()
measure() {  # NAME CMD...: records wall seconds and peak RSS (KiB) of the command
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err" ||
    { cat "$WORK/cmd.err" >&2; die "command failed: $*"; }
  read -r "WALL[$name]" "RSS[$name]" <"$WORK/time.txt"
  printf "  %-28s %8.2fs %7d MB\n" "$name" "${WALL[$name]}" $((RSS[$name] / 1024))
}

# ---- 2. backup, against etcdctl snapshot save and the physical limit -----------------------
echo "measuring (wall, peak RSS):"
measure "etcdctl snapshot save" etcdctl --endpoints "$ENDPOINTS" snapshot save "$WORK/e.db"
measure "cp+sync" sh -c "cp '$WORK/e.db' '$WORK/copy.db' && sync '$WORK/copy.db'"
rm -f "$WORK/copy.db"
measure "sha256sum" sha256sum "$WORK/e.db"
rm -f "$WORK/e.db"
measure "lifeboat backup" "$LB" backup "${G[@]}" --source any
mapfile -t dbs < <(find "$WORK/store" -name '*.db' -type f)
((${#dbs[@]} == 1)) || die "expected one .db in the store, found ${#dbs[@]}"
SNAP=${dbs[0]}
SNAP_SIZE=$(stat -c %s "$SNAP")

# ---- 3. the change log: PITR_MB of changes after the backup --------------------------------
full=$("$LB" snapshot status "$SNAP" -w json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["revision"])')
"$LB" changelog "${G[@]}" >"$WORK/changelog.out" 2>&1 &
LOGGER=$!
LOAD_PREFIX=/pitr/ LOAD_WORKERS=1 bash scripts/etcd-cluster load "$WORK/cluster" "$PITR_MB" 1000 >/dev/null
final=$(status_json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
covered() {
  "$PY" - "$WORK/store" <<'PY'
import glob, json, sys
ends = [json.load(open(f))["end_revision"] for f in glob.glob(sys.argv[1] + "/db-etcd/changes/scale/*.seg.json")]
print(max(ends) if ends else 0)
PY
}
until=$((SECONDS + 600))
while (($(covered) < final)); do
  ((SECONDS < until)) || die "the change log did not reach revision $final in 600 s"
  kill -0 "$LOGGER" 2>/dev/null || { cat "$WORK/changelog.out" >&2; die "lifeboat changelog exited"; }
  sleep 0.5
done
kill -TERM "$LOGGER"
wait "$LOGGER" || true
SEGS=$(find "$WORK/store/db-etcd/changes/scale" -name '*.seg' | wc -l)
echo "  change log: revisions $((full + 1))..$final ($((final - full)) changes, ${PITR_MB} MiB) in $SEGS segments"
bash scripts/etcd-cluster stop "$WORK/cluster" >/dev/null
rm -rf "$WORK/cluster"  # db + WAL: everything below reads the store

# ---- 4. the snapshot file: verify, status, hashkv, restore ----------------------------------
measure "lifeboat verify (stored)" "$LB" verify latest --store "file://$WORK/store" --cluster-name scale
measure "sha256sum (backup)" sha256sum "$SNAP"
measure "etcdutl snapshot status" "$ETCDUTL" snapshot status "$SNAP"
measure "lifeboat snapshot status" "$LB" snapshot status "$SNAP"
measure "lifeboat snapshot hashkv" "$LB" snapshot hashkv "$SNAP"
FLAGS=(--name m1 --initial-cluster m1=http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380)
measure "etcdutl snapshot restore" "$ETCDUTL" snapshot restore "$SNAP" --data-dir "$WORK/r.etcd" "${FLAGS[@]}"
rm -rf "$WORK/r.etcd"
measure "cp+sync (backup)" sh -c "cp '$SNAP' '$WORK/copy.db' && sync '$WORK/copy.db'"
rm -f "$WORK/copy.db"
measure "lifeboat snapshot restore" "$LB" snapshot restore "$SNAP" --data-dir "$WORK/l.etcd" "${FLAGS[@]}"
rm -rf "$WORK/l.etcd"
measure "lifeboat point-in-time" "$LB" snapshot restore "${G[@]}" --to-revision "$final" --data-dir "$WORK/p.etcd" "${FLAGS[@]}"
rm -rf "$WORK/p.etcd"

# ---- 5. restore-cluster: one host, one agent, no data ---------------------------------------
read -r CP PP AP < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
mkdir -p "$WORK/agent"
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$WORK/agent/token"
chmod 600 "$WORK/agent/token"
cat >"$WORK/agent/agent.yaml" <<EOF
listen: 127.0.0.1:$AP
token-file: $WORK/agent/token
stores: [file://$WORK/store]
member: {name: m1, data-dir: $WORK/agent/m1.etcd, client-url: http://127.0.0.1:$CP, peer-url: http://127.0.0.1:$PP}
mode: process
etcd:
  binary: etcd
  log-file: $WORK/agent/m1.log
  extra-args: ["--quota-backend-bytes", "$((2 * SIZE_GB * 1073741824))"]
EOF
cat >"$WORK/agent/lifeboat.yaml" <<EOF
endpoints: http://127.0.0.1:$CP
agents: 127.0.0.1:$AP
agent-token-file: $WORK/agent/token
store: file://$WORK/store
cluster-name: scale
restore-journal: $WORK/agent/journal.json
EOF
nohup setsid "$LB" agent --config "$WORK/agent/agent.yaml" </dev/null >"$WORK/agent/agent.out" 2>&1 &
AGENT_PID=$!
until=$((SECONDS + 30))
until (: <"/dev/tcp/127.0.0.1/$AP") 2>/dev/null; do
  kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/agent/agent.out" >&2; die "the agent exited"; }
  ((SECONDS < until)) || die "the agent does not listen after 30 s"
  sleep 0.05
done
measure "lifeboat restore-cluster" "$LB" restore-cluster --config "$WORK/agent/lifeboat.yaml" --yes
AGENT_HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
printf "  %-28s %9s %7d MB\n" "  agent (stage + restore)" "" $((AGENT_HWM / 1024))
# The agent's exit leaves its etcd running (a next agent would adopt it): that one is stopped too.
AGENT_ETCD=$(grep -lsaF -- "$WORK/agent/m1.etcd" /proc/[0-9]*/cmdline | head -1 | cut -d/ -f3)
kill -TERM "$AGENT_PID" ${AGENT_ETCD:+"$AGENT_ETCD"}
until=$((SECONDS + 60))
while kill -0 "$AGENT_PID" 2>/dev/null || { [[ -n $AGENT_ETCD ]] && kill -0 "$AGENT_ETCD" 2>/dev/null; }; do
  ((SECONDS < until)) || die "the agent or its etcd did not stop in 60 s"
  sleep 0.1
done
AGENT_PID=
rm -rf "$WORK/agent"

# ---- 6. the table ------------------------------------------------------------------------------
echo
echo "db $(gb "$DB_SIZE"), backup object $(gb "$SNAP_SIZE"), point-in-time replay of $((final - full)) changes in $SEGS segments"
row() {  # LIFEBOAT REFERENCE PHYSICAL [PHYSICAL_FACTOR]
  local l=$1 r=$2 p=$3 f=${4:-1}
  awk -v name="$l" -v lw="${WALL[$l]}" -v lm="${RSS[$l]}" -v ref="$r" -v rw="${WALL[$r]:-0}" -v rm="${RSS[$r]:-0}" \
    -v phys="$p" -v pw="${WALL[$p]}" -v f="$f" 'BEGIN {
    refcol = ref == "-" ? sprintf("%-26s %18s", "(none)", "") : sprintf("%-26s %7.1fs %6.0f MB", ref, rw, rm/1024)
    ratio = ref == "-" || rw == 0 ? "    -" : sprintf("%5.2fx", lw/rw)
    printf "%-26s %7.1fs %6.0f MB | %s | %s wall | %5.2fx %s%s\n", name, lw, lm/1024, refcol, ratio, lw/(pw*f), phys, (f > 1 ? " x" f : "")
  }'
}
printf "%-26s %8s %9s | %-26s %18s | %s | %s\n" "lifeboat" "wall" "peak RSS" "reference" "" "ratio" "vs physical limit"
row "lifeboat backup" "etcdctl snapshot save" "cp+sync"
row "lifeboat verify (stored)" "-" "sha256sum (backup)"
row "lifeboat snapshot status" "etcdutl snapshot status" "sha256sum (backup)"
row "lifeboat snapshot hashkv" "-" "sha256sum (backup)"
row "lifeboat snapshot restore" "etcdutl snapshot restore" "cp+sync (backup)"
row "lifeboat point-in-time" "-" "cp+sync (backup)"
row "lifeboat restore-cluster" "-" "cp+sync (backup)" 2
echo "references: cp+sync $(awk -v w="${WALL[cp+sync]}" 'BEGIN {printf "%.1fs", w}'), sha256sum $(awk -v w="${WALL[sha256sum (backup)]}" 'BEGIN {printf "%.1fs", w}'); restore-cluster's agent peak RSS $((AGENT_HWM / 1024)) MB"
fail=0
for c in "lifeboat backup" "lifeboat snapshot restore" "lifeboat snapshot status"; do
  if ((RSS[$c] > 100 * 1024)); then echo "BOUND EXCEEDED: $c peaked at $((RSS[$c] / 1024)) MB RSS (bound 100 MB)"; fail=1; fi
done
((fail == 0)) && echo "bounds: backup, restore and status under 100 MB RSS: ok"
exit "$fail"
