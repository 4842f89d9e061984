#!/usr/bin/env bash
# Benchmark: `lifeboat snapshot hashkv FILE --rev R` (native, from a snapshot file) vs what a
# user would otherwise do to hash a file: `etcdctl snapshot restore` it, start an etcd on it and
# ask `etcdctl endpoint hashkv --rev R`. Also shown: the live member answering from memory.
# Usage: bench/hashkv.sh [MB=500] [ROUNDS=3]. Loads a 1-member cluster with ~MB MiB of values,
# overwrites a quarter of them and compacts in between (so the compaction rules are exercised),
# saves a snapshot, then hashes both ways ROUNDS times (page cache warm for both). Checks that
# the hashes are equal, prints wall time and peak RSS per round and the ratio of the medians.
# This is the cost point-in-time restore pays for its check against etcd's HashKV.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
MB=${1:-500}
ROUNDS=${2:-3}

export ETCDCTL_API=3
WORK=$(mktemp -d /tmp/lifeboat-bench-hashkv.XXXXXX)
trap 'bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

bash scripts/etcd-cluster start "$WORK/cluster" --members 1 --quota-bytes 8589934592 >/dev/null
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
echo "loading ~${MB} MiB of keys, then overwriting a quarter of them ..."
bash scripts/etcd-cluster load "$WORK/cluster" "$MB" >/dev/null
MID=$(etcdctl --endpoints "$ENDPOINTS" endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
bash scripts/etcd-cluster load "$WORK/cluster" $((MB / 4)) >/dev/null
etcdctl --endpoints "$ENDPOINTS" --command-timeout=300s compact "$MID" --physical >/dev/null
REV=$(etcdctl --endpoints "$ENDPOINTS" endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
SNAP=$WORK/snapshot.db
etcdctl --endpoints "$ENDPOINTS" snapshot save "$SNAP" >/dev/null 2>&1
echo "snapshot: $(awk -v s="$(stat -c %s "$SNAP")" 'BEGIN {printf "%.1f MB", s/1e6}'), revision $REV, compacted at $MID"
cat "$SNAP" >/dev/null

measure() {  # prints "wall_seconds peak_rss_kb" of the command; its stdout goes to $WORK/out
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >"$WORK/out" 2>"$WORK/cmd.err" ||
    { echo "bench: command failed: $* ($(tail -1 "$WORK/cmd.err"))" >&2; exit 1; }
  cat "$WORK/time.txt"
}

# The file route with etcd's tools: restore, start, ask, stop (free loopback ports).
PORTS=$(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))')
read -r CP PP <<<"$PORTS"
etcd_on_file() {
  rm -rf "$WORK/h.etcd"
  etcdctl snapshot restore "$SNAP" --data-dir "$WORK/h.etcd" --name h --initial-cluster "h=http://127.0.0.1:$PP" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PP" >/dev/null 2>&1
  etcd --name h --data-dir "$WORK/h.etcd" --listen-client-urls "http://127.0.0.1:$CP" \
    --advertise-client-urls "http://127.0.0.1:$CP" --listen-peer-urls "http://127.0.0.1:$PP" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PP" --initial-cluster "h=http://127.0.0.1:$PP" >"$WORK/h.log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 120))
  until etcdctl --endpoints "http://127.0.0.1:$CP" endpoint hashkv --rev="$REV" -w json >"$WORK/h.json" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { kill "$pid"; echo "bench: etcd on the file did not serve" >&2; exit 1; }
    sleep 0.05
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["HashKV"]["hash"])' "$WORK/h.json"
}

declare -a EW FW LW LM
for r in $(seq 1 "$ROUNDS"); do
  read -r w _ < <(measure etcdctl --endpoints "$ENDPOINTS" endpoint hashkv --rev="$REV" -w json); EW+=("$w")
  e_hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["HashKV"]["hash"])' "$WORK/out")
  t0=$(date +%s.%N); f_hash=$(etcd_on_file); t1=$(date +%s.%N)
  FW+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')")
  [ "$e_hash" = "$f_hash" ] || { echo "bench: etcd on the file says $f_hash, the member $e_hash" >&2; exit 1; }
  read -r w m < <(measure "$LB" -w json snapshot hashkv "$SNAP" --rev "$REV"); LW+=("$w"); LM+=("$m")
  l_hash=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hash"])' "$WORK/out")
  [ "$e_hash" = "$l_hash" ] || { echo "bench: hashes differ: etcd $e_hash, lifeboat $l_hash" >&2; exit 1; }
  printf "round %d: etcd on the file %6.2fs | lifeboat on the file %6.2fs %4d MB RSS | live member %5.2fs; hash %s\n" \
    "$r" "${FW[-1]}" "${LW[-1]}" $((LM[-1] / 1024)) "${EW[-1]}" "$l_hash"
done

median() { printf "%s\n" "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
awk -v ew="$(median "${EW[@]}")" -v fw="$(median "${FW[@]}")" -v lw="$(median "${LW[@]}")" -v lm="$(median "${LM[@]}")" 'BEGIN {
  printf "hashkv of a file: etcd (restore + start + hashkv) %.2fs, lifeboat %.2fs (%.0f MB RSS): wall %.2fx\n", fw, lw, lm/1024, lw/fw
  printf "reference: the live member hashing its own db %.2fs (lifeboat/member %.2fx)\n", ew, lw/ew
}'
