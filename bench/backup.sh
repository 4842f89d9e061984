#!/usr/bin/env bash
# Benchmark: `lifeboat backup` vs `etcdctl snapshot save`, same follower, same disk, same run.
# Usage: bench/backup.sh [MB=300] [ROUNDS=3]. Prints wall time and client CPU (user+sys) of each
# round, the CPU the source member's etcd and the whole cluster spent on it (from /proc), and the
# ratios of the medians (lifeboat / etcdctl). Targets: wall <= 1.0x, client CPU <= 0.5x, source
# member CPU <= 1.0x (lifeboat's proof, a HashKV, is asked of another follower).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-300}
ROUNDS=${2:-3}

WORK=$(mktemp -d /tmp/lifeboat-bench.XXXXXX)
trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
start_loaded_cluster "$MB"
echo "source member: $SRC ($SRC_EP), leader: $LEADER"

ticks() {  # utime+stime of the given members' etcd, in clock ticks
  local total=0 name pid
  for name in "$@"; do
    read -r pid <"$WORK/cluster/$name.pid"
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
ALL=$(cd "$WORK/cluster" && ls ./*.pid | sed 's|^\./||; s|\.pid$||' | tr '\n' ' ')
HZ=$(getconf CLK_TCK)
measure() {  # prints "wall client_cpu source_cpu cluster_cpu" of the command
  local s0 a0 s1 a1
  s0=$(ticks "$SRC"); a0=$(ticks $ALL)
  /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/cmd.err" ||
    { echo "bench: command failed: $* ($(tail -1 "$WORK/cmd.err"))" >&2; exit 1; }
  s1=$(ticks "$SRC"); a1=$(ticks $ALL)
  awk -v s=$((s1 - s0)) -v a=$((a1 - a0)) -v hz="$HZ" '{printf "%.2f %.2f %.2f %.2f\n", $1, $2 + $3, s/hz, a/hz}' "$WORK/time.txt"
}

declare -a E_WALL E_CPU E_SRC E_ALL L_WALL L_CPU L_SRC L_ALL
for r in $(seq 1 "$ROUNDS"); do
  rm -f "$WORK/etcdctl.db"
  read -r w c sc ac < <(measure env ETCDCTL_API=3 etcdctl --endpoints "$SRC_EP" snapshot save "$WORK/etcdctl.db")
  E_WALL+=("$w"); E_CPU+=("$c"); E_SRC+=("$sc"); E_ALL+=("$ac")
  rm -rf "$WORK/store"
  read -r w c sc ac < <(measure "$LB" --endpoints "$ENDPOINTS" --store "file://$WORK/store" backup --source "$SRC")
  L_WALL+=("$w"); L_CPU+=("$c"); L_SRC+=("$sc"); L_ALL+=("$ac")
  printf "round %d: etcdctl %6.2fs wall %5.2fs cpu %5.2fs source %5.2fs cluster | lifeboat %6.2fs wall %5.2fs cpu %5.2fs source %5.2fs cluster\n" \
    "$r" "${E_WALL[-1]}" "${E_CPU[-1]}" "${E_SRC[-1]}" "${E_ALL[-1]}" "${L_WALL[-1]}" "${L_CPU[-1]}" "${L_SRC[-1]}" "${L_ALL[-1]}"
done
SIZE=$(stat -c %s "$WORK/etcdctl.db")
median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ew=$(median "${E_WALL[@]}"); ec=$(median "${E_CPU[@]}"); lw=$(median "${L_WALL[@]}"); lc=$(median "${L_CPU[@]}")
es=$(median "${E_SRC[@]}"); ls=$(median "${L_SRC[@]}"); ea=$(median "${E_ALL[@]}"); la=$(median "${L_ALL[@]}")
awk -v s="$SIZE" -v ew="$ew" -v ec="$ec" -v lw="$lw" -v lc="$lc" -v es="$es" -v ls="$ls" -v ea="$ea" -v la="$la" 'BEGIN {
  printf "snapshot size: %.1f MB\n", s/1e6
  printf "etcdctl snapshot save: %.2fs wall (%.0f MB/s), %.2fs client CPU\n", ew, s/1e6/ew, ec
  printf "lifeboat backup:       %.2fs wall (%.0f MB/s), %.2fs client CPU\n", lw, s/1e6/lw, lc
  printf "ratio wall lifeboat/etcdctl: %.2fx (target <= 1.0x)\n", lw/ew
  printf "ratio CPU  lifeboat/etcdctl: %.2fx (target <= 0.5x)\n", (ec > 0 ? lc/ec : 0)
  printf "source member etcd CPU: etcdctl %.2fs, lifeboat %.2fs: %.2fx (target <= 1.0x)\n", es, ls, (es > 0 ? ls/es : 0)
  printf "whole cluster etcd CPU: etcdctl %.2fs, lifeboat %.2fs (lifeboat adds the witness HashKV)\n", ea, la
}'
