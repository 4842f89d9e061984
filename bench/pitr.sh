#!/usr/bin/env bash
# Benchmark: the change log under sustained writes. A 3-member cluster, one full backup, then
# `lifeboat changelog` (flush every second) while scripts/etcd-cluster load writes as fast as it
# can (4 writers, batched 100-put transactions of VALUE-byte values). Prints the write rate
# etcd sustained, the rate the log stored, and how far the log trailed at the end (the time from
# the last write to the segment that covers it), plus the time of a point-in-time restore of the
# final revision (full backup + every logged change replayed natively). There is no etcdctl
# equivalent to compare with: without a change log an operator restores the last hourly backup.
# Usage: bench/pitr.sh [MB=40] [VALUE=256]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-40}
VALUE=${2:-256}
export ETCDCTL_API=3

WORK=$(mktemp -d /tmp/lifeboat-bench-pitr.XXXXXX)
LOGGER=
cleanup() {
  [[ -n $LOGGER ]] && kill "$LOGGER" 2>/dev/null || true
  bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
bash scripts/etcd-cluster start "$WORK/cluster" >/dev/null
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
G=(--endpoints "$ENDPOINTS" --store "file://$WORK/store" --cluster-name bench)
"$LB" backup "${G[@]}" >/dev/null
rev() { etcdctl --endpoints "$ENDPOINTS" endpoint status -w json | python3 -c 'import json,sys; print(max(e["Status"]["header"]["revision"] for e in json.load(sys.stdin)))'; }
now() { date +%s.%N; }

"$LB" changelog "${G[@]}" 2>"$WORK/log.err" &
LOGGER=$!
t0=$(now)
bash scripts/etcd-cluster load "$WORK/cluster" "$MB" "$VALUE" >/dev/null
t1=$(now)
final=$(rev)
covered() {
  python3 - "$WORK/store" bench <<'PY'
import glob, json, sys
ends = [json.load(open(f))["end_revision"] for f in glob.glob(sys.argv[1] + "/db-etcd/changes/" + sys.argv[2] + "/*.seg.json")]
print(max(ends) if ends else 0)
PY
}
deadline=$(( $(date +%s) + 300 ))
while (( $(covered) < final )); do
  (( $(date +%s) < deadline )) || { echo "bench: the log did not reach revision $final" >&2; exit 1; }
  sleep 0.1
done
t2=$(now)
kill -TERM "$LOGGER"; wait "$LOGGER" || true; LOGGER=
events=$(python3 - "$WORK/store" <<'PY'
import glob, json, sys
print(sum(json.load(open(f))["count"] for f in glob.glob(sys.argv[1] + "/db-etcd/changes/bench/*.seg.json")))
PY
)
segs=$(ls "$WORK"/store/db-etcd/changes/bench/*.seg | wc -l)
awk -v e="$events" -v a="$t0" -v b="$t1" -v c="$t2" -v s="$segs" 'BEGIN {
  w = b - a; printf "writes: %d changes in %.1fs = %.0f changes/s sustained by etcd\n", e, w, e / w
  printf "log:    %d segments; caught up %.2fs after the last write (%.0f changes/s stored over the run)\n", s, c - b, e / (c - a)
}'

# Point-in-time restore of the final revision: native replay vs etcdctl restore + replay by hand.
P="http://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
t3=$(now)
"$LB" snapshot restore "${G[@]}" --to-revision "$final" --name p --initial-cluster "p=$P" \
  --initial-advertise-peer-urls "$P" --data-dir "$WORK/pitr.etcd" >/dev/null 2>"$WORK/pitr.err"
t4=$(now)
awk -v a="$t3" -v b="$t4" -v e="$events" 'BEGIN { printf "lifeboat snapshot restore --to-revision: %.2fs (%d changes replayed natively)\n", b - a, e }'
# Which HashKV checkpoint of the log the result was found equal to (the check is in the time above).
sed -n 's/.*-> revision [0-9]*, /check: /p' "$WORK/pitr.err"
echo "(etcdctl has no change log to replay: its alternative is restoring the hourly backup and losing up to an hour.)"
