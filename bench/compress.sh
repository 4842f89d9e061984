#!/usr/bin/env bash
# Benchmark: `lifeboat backup --compress zstd` vs `lifeboat backup` (no compression) from the same
# follower into a local folder, same run: wall time and stored bytes, each ROUNDS times, medians
# and ratios. The loaded values are random hex (scripts/etcd-cluster load), so about 2x is what
# zstd can find; real Kubernetes data (protobuf, repeated names) usually compresses further.
# Usage: bench/compress.sh [MB=300] [ROUNDS=3] [LEVEL=1]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-300}
ROUNDS=${2:-3}
LEVEL=${3:-1}

WORK=$(mktemp -d /tmp/lifeboat-bench-compress.XXXXXX)
trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
start_loaded_cluster "$MB"

run() {  # $1 = label, rest = extra backup flags; prints "seconds stored_bytes snapshot_bytes"
  local label=$1 t0 t1 json
  shift
  rm -rf "$WORK/store"
  t0=$(date +%s.%N)
  json=$("$LB" backup --endpoints "$ENDPOINTS" --source "$SRC" --store "file://$WORK/store" -w json "$@")
  t1=$(date +%s.%N)
  python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(f"{float(sys.argv[3])-float(sys.argv[2]):.3f}", m.get("object_size") or m["size"], m["size"])' \
    "$json" "$t0" "$t1"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$WORK/plain" && : >"$WORK/zstd"
for r in $(seq 1 "$ROUNDS"); do
  read -r ps pb snap <<<"$(run plain)"
  read -r zs zb _ <<<"$(run zstd --compress zstd --zstd-level "$LEVEL")"
  echo "round $r: plain ${ps}s ${pb} B | zstd-$LEVEL ${zs}s ${zb} B (snapshot ${snap} B)"
  echo "$ps $pb" >>"$WORK/plain"
  echo "$zs $zb" >>"$WORK/zstd"
done
PS=$(cut -d' ' -f1 "$WORK/plain" | median); PB=$(cut -d' ' -f2 "$WORK/plain" | median)
ZS=$(cut -d' ' -f1 "$WORK/zstd" | median); ZB=$(cut -d' ' -f2 "$WORK/zstd" | median)
awk -v ps="$PS" -v pb="$PB" -v zs="$ZS" -v zb="$ZB" -v l="$LEVEL" 'BEGIN {
  printf "medians: plain %.2fs %.1f MB | zstd-%s %.2fs %.1f MB\n", ps, pb/1e6, l, zs, zb/1e6
  printf "stored size ratio zstd/plain: %.2fx   backup wall ratio zstd/plain: %.2fx\n", zb/pb, zs/ps
}'
