#!/usr/bin/env bash
# Benchmark: the cost of one consistency check, what the daemon runs on `check.schedule` (the
# same Survey + Judge as `lifeboat check`): wall time, the client's CPU and the CPU it costs the
# etcd members (their utime+stime before and after), against what an operator would otherwise
# run (`etcdctl endpoint status --cluster` + `etcdctl endpoint hashkv --cluster`) and against the
# physical floor of reading one member's db (sha256sum of the file, page cache warm).
# Usage: bench/check.sh [MB=1000] [ROUNDS=3]. A quiet 3-member cluster loaded with ~MB MiB;
# CHECK_CLUSTER=DIR measures a cluster already started (and loaded) by scripts/etcd-cluster in
# DIR instead, and leaves it running. Then the members' CPU in one minute of daemons checking
# every 15 s: none, one, two (checks are claimed per tick: two cost what one does);
# CHECK_DAEMONS=0 skips that.
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

# The daemon claims each check tick: N daemons cost the members what one does. Members' CPU over
# one minute of a check every 15 s, idle, with one daemon and with two (CHECK_DAEMONS=0 skips).
[ "${CHECK_DAEMONS:-1}" = 0 ] && exit 0
"$LB" --endpoints "$ENDPOINTS" --store "file://$WORK/store" --cluster-name bench backup --tier yearly >/dev/null
cat >"$WORK/d.yaml" <<YAML
endpoints: [$ENDPOINTS]
store: file://$WORK/store
cluster-name: bench
tiers: [{name: yearly, schedule: "0 0 1 1 *", keep: 400d}]
check: {schedule: "*/15 * * * * *"}
YAML
minute_cpu() {  # N: members' CPU seconds in one minute with N daemons checking (after their first check)
  local n=$1 i before after pids=()
  for i in $(seq 1 "$n"); do
    "$LB" --config "$WORK/d.yaml" daemon --metrics-listen 127.0.0.1:0 2>"$WORK/daemon$i.err" &
    pids+=($!)
  done
  if ((n > 0)); then
    until grep -qs "consistency check" "$WORK"/daemon*.err; do sleep 0.2; done
    sleep 2
  fi
  checks_run() { cat "$WORK"/daemon*.err 2>/dev/null | grep -c "members consistent" || true; }
  local pre post
  pre=$(checks_run)
  before=$(members_cpu)
  sleep 60
  after=$(members_cpu)
  post=$(checks_run)
  for i in "${pids[@]}"; do kill -TERM "$i"; wait "$i" || true; done
  rm -f "$WORK"/daemon*.err
  echo "$before $after $((post - pre))"
}
read -r b0 a0 _ < <(minute_cpu 0)
read -r b1 a1 c1 < <(minute_cpu 1)
read -r b2 a2 c2 < <(minute_cpu 2)
awk -v b0="$b0" -v a0="$a0" -v b1="$b1" -v a1="$a1" -v b2="$b2" -v a2="$a2" -v c1="$c1" -v c2="$c2" 'BEGIN {
  i = a0 - b0; one = a1 - b1; two = a2 - b2
  printf "members'"'"' CPU in one minute (a check every 15 s): idle %.2fs, 1 daemon %.2fs (%d checks run), 2 daemons %.2fs (%d checks run); per check tick %.2fs with 1, %.2fs with 2\n",
    i, one, c1, two, c2, (one - i) / 4, (two - i) / 4}'
