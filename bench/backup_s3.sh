#!/usr/bin/env bash
# Benchmark: `lifeboat backup` streaming straight into S3 vs what the runbook does today,
# `etcdctl snapshot save` to disk followed by `aws s3 cp`; same follower, same radosgw
# (scripts/s3-server), same run. Usage: bench/backup_s3.sh [MB=300] [ROUNDS=3]. Prints both
# wall times and MB/s per round and the ratio of the medians. Target: lifeboat <= 0.5x wall.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-300}
ROUNDS=${2:-3}

command -v aws >/dev/null || { echo "bench: the aws CLI is missing (scripts/setup installs awscli)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lifeboat-bench-s3.XXXXXX)
cleanup() {
  bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true
  bash "$ROOT/scripts/s3-server" stop "$WORK/s3" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bash scripts/s3-server start "$WORK/s3" >/dev/null
# shellcheck disable=SC1091
source "$WORK/s3/s3.env"
export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY AWS_REGION=$REGION AWS_DEFAULT_REGION=$REGION
unset AWS_SESSION_TOKEN AWS_PROFILE
aws --endpoint-url "$ENDPOINT" s3 mb s3://bench >/dev/null

start_loaded_cluster "$MB"
echo "source member: $SRC ($SRC_EP), leader: $LEADER; S3: radosgw at $ENDPOINT"

now() { date +%s.%N; }
run_quiet() { "$@" >/dev/null 2>"$WORK/cmd.err" || { echo "bench: command failed: $* ($(tail -1 "$WORK/cmd.err"))" >&2; exit 1; }; }

declare -a E_WALL L_WALL
for r in $(seq 1 "$ROUNDS"); do
  rm -f "$WORK/etcdctl.db"
  t0=$(now)
  run_quiet env ETCDCTL_API=3 etcdctl --endpoints "$SRC_EP" snapshot save "$WORK/etcdctl.db"
  run_quiet aws --endpoint-url "$ENDPOINT" s3 cp --only-show-errors "$WORK/etcdctl.db" "s3://bench/etcdctl/r$r.db"
  t1=$(now)
  run_quiet "$LB" --endpoints "$ENDPOINTS" --store "s3://bench/lifeboat?endpoint=$ENDPOINT" backup --source "$SRC"
  t2=$(now)
  E_WALL+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')")
  L_WALL+=("$(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.2f", b-a}')")
  printf "round %d: etcdctl save + aws s3 cp %6.2fs | lifeboat backup to s3 %6.2fs\n" "$r" "${E_WALL[-1]}" "${L_WALL[-1]}"
done
SIZE=$(stat -c %s "$WORK/etcdctl.db")
median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ew=$(median "${E_WALL[@]}"); lw=$(median "${L_WALL[@]}")
awk -v s="$SIZE" -v ew="$ew" -v lw="$lw" 'BEGIN {
  printf "snapshot size: %.1f MB\n", s/1e6
  printf "etcdctl snapshot save + aws s3 cp: %.2fs wall (%.0f MB/s)\n", ew, s/1e6/ew
  printf "lifeboat backup --store s3://:      %.2fs wall (%.0f MB/s)\n", lw, s/1e6/lw
  printf "ratio wall lifeboat/(etcdctl+aws): %.2fx (target <= 0.5x)\n", lw/ew
}'
