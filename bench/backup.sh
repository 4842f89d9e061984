#!/usr/bin/env bash
# Benchmark: `lifeboat backup` vs `etcdctl snapshot save`, same follower, same disk, same run.
# Usage: bench/backup.sh [MB=300] [ROUNDS=3]. Prints wall time and client CPU (user+sys) of each
# round and the ratios of the medians (lifeboat / etcdctl). Targets: wall <= 1.0x, CPU <= 0.25x.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-300}
ROUNDS=${2:-3}

WORK=$(mktemp -d /tmp/lifeboat-bench.XXXXXX)
trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
start_loaded_cluster "$MB"
echo "source member: $SRC ($SRC_EP), leader: $LEADER"

measure() {  # prints "wall cpu" of the command
  /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/cmd.err" ||
    { echo "bench: command failed: $* ($(tail -1 "$WORK/cmd.err"))" >&2; exit 1; }
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$WORK/time.txt"
}

declare -a E_WALL E_CPU L_WALL L_CPU
for r in $(seq 1 "$ROUNDS"); do
  rm -f "$WORK/etcdctl.db"
  read -r w c < <(measure env ETCDCTL_API=3 etcdctl --endpoints "$SRC_EP" snapshot save "$WORK/etcdctl.db")
  E_WALL+=("$w"); E_CPU+=("$c")
  rm -rf "$WORK/store"
  read -r w c < <(measure "$LB" --endpoints "$ENDPOINTS" --store "file://$WORK/store" backup --source "$SRC")
  L_WALL+=("$w"); L_CPU+=("$c")
  printf "round %d: etcdctl %6.2fs wall %6.2fs cpu | lifeboat %6.2fs wall %6.2fs cpu\n" \
    "$r" "${E_WALL[-1]}" "${E_CPU[-1]}" "${L_WALL[-1]}" "${L_CPU[-1]}"
done
SIZE=$(stat -c %s "$WORK/etcdctl.db")
median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ew=$(median "${E_WALL[@]}"); ec=$(median "${E_CPU[@]}"); lw=$(median "${L_WALL[@]}"); lc=$(median "${L_CPU[@]}")
awk -v s="$SIZE" -v ew="$ew" -v ec="$ec" -v lw="$lw" -v lc="$lc" 'BEGIN {
  printf "snapshot size: %.1f MB\n", s/1e6
  printf "etcdctl snapshot save: %.2fs wall (%.0f MB/s), %.2fs client CPU\n", ew, s/1e6/ew, ec
  printf "lifeboat backup:       %.2fs wall (%.0f MB/s), %.2fs client CPU\n", lw, s/1e6/lw, lc
  printf "ratio wall lifeboat/etcdctl: %.2fx (target <= 1.0x)\n", lw/ew
  printf "ratio CPU  lifeboat/etcdctl: %.2fx (target <= 0.25x)\n", (ec > 0 ? lc/ec : 0)
}'
