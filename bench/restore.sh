#!/usr/bin/env bash
# Benchmark: `lifeboat snapshot restore` vs the restore of the etcd version's own tool
# (etcdctl 3.4, etcdutl 3.5) and vs the disk's limit (cp + sync of the same file), and
# `lifeboat snapshot status` vs the tool's status, on the same snapshot, same disk, same run.
# Usage: bench/restore.sh [--etcd 3.4|3.5.16|3.5.30] [MB=1100] [ROUNDS=3]. Loads a 1-member cluster
# of that etcd (3.5s from scripts/fetch-etcd) with ~MB MiB of values (scripts/etcd-cluster load),
# saves one snapshot with that etcdctl, then measures each tool ROUNDS times with the file in the
# page cache. Prints wall time and peak RSS (/usr/bin/time %M) per round and the ratios of the
# medians. Targets: restore <= 0.2x the tool's wall and <= 1.5x cp+sync, <= 100 MB RSS; status
# <= 0.3x wall and <= 64 MB RSS. SNAPSHOT=path skips the load and measures an existing file.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
VERSION=3.4
if [ "${1:-}" = "--etcd" ]; then VERSION=${2:?--etcd needs a version}; shift 2; fi
MB=${1:-1100}
ROUNDS=${2:-3}

export ETCDCTL_API=3
if [ "$VERSION" = 3.4 ]; then
  ETCDCTL=etcdctl RESTORE_TOOL=(etcdctl) TOOL="etcdctl 3.4"
else
  BIN=$ROOT/build/etcd/$VERSION/usr/bin
  [ -x "$BIN/etcd" ] || bash scripts/fetch-etcd >/dev/null
  [ -x "$BIN/etcd" ] || { echo "bench: no etcd $VERSION in $BIN (scripts/fetch-etcd)" >&2; exit 2; }
  export LB_ETCD=$BIN/etcd LB_ETCDCTL=$BIN/etcdctl
  ETCDCTL=$BIN/etcdctl RESTORE_TOOL=("$BIN/etcdutl") TOOL="etcdutl $VERSION"
fi

WORK=$(mktemp -d /tmp/lifeboat-bench-restore.XXXXXX)
trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

SNAP=${SNAPSHOT:-}
if [ -z "$SNAP" ]; then
  # One member: loading is the slow part, and a restore does not care how many members wrote it.
  bash scripts/etcd-cluster start "$WORK/cluster" --members 1 --quota-bytes 8589934592 >/dev/null
  # shellcheck disable=SC1091
  source "$WORK/cluster/cluster.env"
  echo "loading ~${MB} MiB of keys ..."
  bash scripts/etcd-cluster load "$WORK/cluster" "$MB" >/dev/null
  SNAP=$WORK/snapshot.db
  "$ETCDCTL" --endpoints "$ENDPOINTS" snapshot save "$SNAP" >/dev/null 2>&1
  bash scripts/etcd-cluster stop "$WORK/cluster"
fi
SIZE=$(stat -c %s "$SNAP")
echo "snapshot: $SNAP, $(awk -v s="$SIZE" 'BEGIN {printf "%.1f MB", s/1e6}'), etcd $VERSION; the machine is shared: compare ratios of one run"
cat "$SNAP" >/dev/null  # both tools start from a warm page cache

measure() {  # prints "wall_seconds peak_rss_kb" of the command
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/cmd.err" ||
    { echo "bench: command failed: $* ($(tail -1 "$WORK/cmd.err"))" >&2; exit 1; }
  cat "$WORK/time.txt"
}

FLAGS=(--name m1 --initial-cluster m1=http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380
  --initial-cluster-token bench)
declare -a ERW ERM LRW LRM ESW ESM LSW LSM CPW
for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/e.etcd" "$WORK/l.etcd" "$WORK/cp.db"
  read -r w m < <(measure "${RESTORE_TOOL[@]}" snapshot restore "$SNAP" --data-dir "$WORK/e.etcd" "${FLAGS[@]}"); ERW+=("$w"); ERM+=("$m")
  read -r w m < <(measure "$LB" snapshot restore "$SNAP" --data-dir "$WORK/l.etcd" "${FLAGS[@]}"); LRW+=("$w"); LRM+=("$m")
  # The disk's limit: the same bytes copied and made durable (sync of that file only).
  read -r w m < <(measure sh -c 'cp "$1" "$2" && sync "$2"' cp "$SNAP" "$WORK/cp.db"); CPW+=("$w")
  read -r w m < <(measure "${RESTORE_TOOL[@]}" snapshot status "$SNAP"); ESW+=("$w"); ESM+=("$m")
  read -r w m < <(measure "$LB" snapshot status "$SNAP"); LSW+=("$w"); LSM+=("$m")
  printf "round %d: restore %s %6.2fs %5d MB | lifeboat %6.2fs %4d MB | cp+sync %5.2fs;  status %5.2fs %5d MB | lifeboat %5.2fs %3d MB\n" \
    "$r" "$TOOL" "${ERW[-1]}" $((ERM[-1] / 1024)) "${LRW[-1]}" $((LRM[-1] / 1024)) "${CPW[-1]}" "${ESW[-1]}" $((ESM[-1] / 1024)) "${LSW[-1]}" $((LSM[-1] / 1024))
done
# The outputs agree: the tool's status fields and every key (compared through the restored dbs).
e_st=$("${RESTORE_TOOL[@]}" snapshot status "$SNAP" -w simple 2>/dev/null)
l_st=$("$LB" snapshot status "$SNAP" -w simple | cut -d, -f1-4)
[ "$e_st" = "$l_st" ] || { echo "bench: status differs: $TOOL '$e_st' lifeboat '$l_st'" >&2; exit 1; }
l_db=$("$LB" snapshot status "$WORK/l.etcd/member/snap/db" -w json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["revision"], d["liveKeys"])')
e_db=$("$LB" snapshot status "$WORK/e.etcd/member/snap/db" -w json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["revision"], d["liveKeys"])')
[ "$l_db" = "$e_db" ] || { echo "bench: restored dbs differ: $TOOL '$e_db' lifeboat '$l_db'" >&2; exit 1; }

median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v tool="$TOOL" -v cpw="$(median "${CPW[@]}")" -v erw="$(median "${ERW[@]}")" -v erm="$(median "${ERM[@]}")" -v lrw="$(median "${LRW[@]}")" \
  -v lrm="$(median "${LRM[@]}")" -v esw="$(median "${ESW[@]}")" -v esm="$(median "${ESM[@]}")" \
  -v lsw="$(median "${LSW[@]}")" -v lsm="$(median "${LSM[@]}")" 'BEGIN {
  printf "restore: %s %.2fs %.0f MB RSS, lifeboat %.2fs %.0f MB RSS: wall %.2fx (target <= 0.2x), RSS %.0f MB (target <= 100 MB)\n",
    tool, erw, erm/1024, lrw, lrm/1024, lrw/erw, lrm/1024
  printf "restore: cp+sync of the same file %.2fs, lifeboat %.2fs: %.2fx the disk limit (target <= 1.5x)\n", cpw, lrw, lrw/cpw
  printf "status:  %s %.2fs %.0f MB RSS, lifeboat %.2fs %.0f MB RSS: wall %.2fx (target <= 0.3x), RSS %.0f MB (target <= 64 MB)\n",
    tool, esw, esm/1024, lsw, lsm/1024, lsw/esw, lsm/1024
}'
