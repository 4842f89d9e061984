#!/usr/bin/env bash
# Benchmark: the cost of one consistency check, what the daemon runs on `check.schedule` (the
# same Survey + Judge as `lifeboat check`): wall time, the client's CPU and the CPU it costs the
# etcd members (their utime+stime before and after), against what an operator would otherwise
# run (`etcdctl endpoint status --cluster` + `etcdctl endpoint hashkv --cluster`) and against the
# physical floor of reading one member's db (sha256sum of the file, page cache warm).
# Usage: bench/check.sh [MB=1000] [ROUNDS=3]. A quiet 3-member cluster loaded with ~MB MiB;
# CHECK_CLUSTER=DIR measures a cluster already started (and loaded) by scripts/etcd-cluster in
# DIR instead, and leaves it running.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-1000}  # 1000 MiB of 1 KiB values: a ~1.4 GB db
ROUNDS=${2:-3}

export ETCDCTL_API=3
WORK=$(mktemp -d /tmp/lifeboat-bench-check.XXXXXX)
if [ -n "${CHECK_CLUSTER:-}" ]; then
  trap 'rm -rf "$WORK"' EXIT
  ln -s "$(realpath "$CHECK_CLUSTER")" "$WORK/cluster"
  # shellcheck disable=SC1091
  source "$WORK/cluster/cluster.env"
  SRC=m1
else
  trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  start_loaded_cluster "$MB"
fi
DB=$WORK/cluster/$SRC.etcd/member/snap/db
echo "cluster: $MEMBERS members, db $(awk -v s="$(stat -c %s "$DB")" 'BEGIN {printf "%.2f GB", s/1e9}') each; load average $(cut -d' ' -f1-3 /proc/loadavg)"

members_cpu() {  # summed utime+stime of the members, in seconds
  local total=0 i pid
  for i in $(seq 1 "$MEMBERS"); do
    read -r pid <"$WORK/cluster/m$i.pid"
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t/hz}'
}
measure() {  # prints "wall user+sys members_cpu" of the command
  local before after
  before=$(members_cpu)
  /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" >"$WORK/out" 2>"$WORK/cmd.err" ||
    { echo "bench: command failed: $* ($(tail -n 3 "$WORK/cmd.err"))" >&2; exit 1; }
  after=$(members_cpu)
  read -r wall u s <"$WORK/time.txt"
  awk -v w="$wall" -v u="$u" -v s="$s" -v b="$before" -v a="$after" 'BEGIN {printf "%.2f %.2f %.2f\n", w, u+s, a-b}'
}
ETCDCTL_CHECK="etcdctl --endpoints $ENDPOINTS --command-timeout=300s endpoint status --cluster -w json &&
  etcdctl --endpoints $ENDPOINTS --command-timeout=300s endpoint hashkv --cluster -w json"

# The first HashKV of a large db warms the members' page cache; not counted.
"$LB" --endpoints "$ENDPOINTS" --command-timeout 300s check >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  read -r lw lc le < <(measure "$LB" --endpoints "$ENDPOINTS" --command-timeout 300s check)
  grep -q "verdict: consistent" "$WORK/out" || { echo "bench: check not consistent: $(cat "$WORK/out")" >&2; exit 1; }
  read -r ew ec ee < <(measure bash -c "$ETCDCTL_CHECK")
  read -r sw sc se < <(measure sha256sum "$DB")
  echo "round $r: lifeboat check ${lw}s (client CPU ${lc}s, members' CPU ${le}s) | etcdctl status+hashkv ${ew}s (client ${ec}s, members ${ee}s) | sha256sum of one db ${sw}s"
  echo "$lw $le $ew $ee $sw" >>"$WORK/rounds"
done
sort -n "$WORK/rounds" | awk -v n="$ROUNDS" '{w[NR]=$1; e[NR]=$2; ew[NR]=$3; ee[NR]=$4; s[NR]=$5}
  END {m=int((n+1)/2); printf "median: lifeboat check %.2fs, members'"'"' CPU %.2fs; vs etcdctl status+hashkv %.2fx wall; vs sha256sum of one db %.2fx\n", w[m], e[m], w[m]/ew[m], w[m]/s[m]}'
