#!/usr/bin/env bash
# Soak: does a long-running `lifeboat daemon` keep its memory, file descriptors and threads flat?
# A 3-member cluster on loopback, a writer that keeps putting keys the whole time, and the daemon
# with short intervals for SECONDS; every INTERVAL seconds the daemon's RSS (VmRSS), open fds
# (/proc/PID/fd) and threads are sampled with the backups, drills and change-log segments done so
# far. At the end: the growth after warm-up (median of the second quarter's samples against the
# median of the last quarter's), per backup, and a verdict. There is no etcdctl equivalent.
# Usage: bench/soak.sh [SECONDS=300] [INTERVAL=5]
# Env:   SOAK_MODE=backups (default: a tier every 2 s, no change log) | full (backups, a drill
#        every SOAK_DRILL, the change log) | changelog (the change log alone; the tier fires daily)
#        SOAK_KEEP=1m (tier retention: the store, and each prune's listing, stop growing after it)
#        SOAK_WRITE_KB=20 (KiB per write batch, about 2 batches a second)
#        SOAK_COMPACT_KEEP=40 (revisions the writer's compaction keeps every ~20 s: each batch is one)
#        SOAK_DRILL="*/20 * * * * *"  SOAK_RSS_SLACK_KB=1024 (growth still called flat)
#        SOAK_KEEP_WORK=1 (keep the work dir, with the daemon's log, for a post-mortem)
set -euo pipefail
export ETCDCTL_API=3
source "$(dirname "$0")/lib.sh"
SECONDS_TOTAL=${1:-300}
INTERVAL=${2:-5}
MODE=${SOAK_MODE:-backups}
KEEP=${SOAK_KEEP:-1m}
WRITE_KB=${SOAK_WRITE_KB:-20}
DRILL=${SOAK_DRILL:-"*/20 * * * * *"}
SLACK_KB=${SOAK_RSS_SLACK_KB:-1024}
case $MODE in backups | full | changelog) ;; *) echo "soak: SOAK_MODE must be backups, full or changelog" >&2; exit 2 ;; esac
((SECONDS_TOTAL >= 8 * INTERVAL)) || { echo "soak: run at least 8 intervals (SECONDS >= 8 x INTERVAL)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/lifeboat-bench-soak.XXXXXX)
DAEMON= WRITER=
cleanup() {
  trap - EXIT INT TERM
  [[ -n $WRITER ]] && { kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null; } || true
  if [[ -n $DAEMON ]]; then
    kill -TERM "$DAEMON" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DAEMON" 2>/dev/null || true
    wait "$DAEMON" 2>/dev/null || true
  fi
  bash "$ROOT/scripts/etcd-cluster" stop "$WORK/cluster" >/dev/null 2>&1 || true
  if [[ -n ${SOAK_KEEP_WORK:-} ]]; then echo "soak: work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash scripts/etcd-cluster start "$WORK/cluster" >/dev/null
# shellcheck disable=SC1091
source "$WORK/cluster/cluster.env"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "endpoints: [$ENDPOINTS]"
  echo "store: file://$WORK/store"
  echo "cluster-name: soak"
  echo "daemon: {jitter: 0s, metrics-listen: 127.0.0.1:$PORT, prune: true}"
  if [[ $MODE == changelog ]]; then
    echo "tiers: [{name: daily, folder: d, schedule: \"0 0 3 * * *\", keep: $KEEP}]"
  else
    echo "tiers: [{name: fast, folder: f, schedule: \"*/2 * * * * *\", keep: $KEEP}]"
  fi
  [[ $MODE == full ]] && echo "drill: {schedule: \"$DRILL\"}"
  [[ $MODE != backups ]] && echo "changelog: {enabled: true}"
} >"$WORK/daemon.yaml"

END=$(($(date +%s) + SECONDS_TOTAL))
# The writer: ~WRITE_KB KiB of 256-byte values twice a second under /soak/, over the same keys
# (the key count stays put, revisions keep coming); it stops at END by itself. Every ~20 s it
# compacts all but the last COMPACT_KEEP revisions, as a production cluster's auto-compaction
# does: without it every snapshot, restore and HashKV would work on an ever larger history and
# the daemon's working set would grow with it, hiding what the soak is after.
COMPACT_KEEP=${SOAK_COMPACT_KEEP:-40}
(
  n=0
  while (($(date +%s) < END)); do
    LOAD_PREFIX=/soak/ LOAD_WORKERS=1 bash scripts/etcd-cluster load "$WORK/cluster" \
      "$(awk -v k="$WRITE_KB" 'BEGIN { print k / 1024 }')" 256 >/dev/null 2>>"$WORK/writer.err" || true
    if ((++n % 40 == 0)); then
      rev=$(etcdctl --endpoints "$ENDPOINTS" get /soak/ --limit 1 -w json 2>/dev/null | grep -o '"revision":[0-9]*' | head -1 | cut -d: -f2)
      ((${rev:-0} > COMPACT_KEEP)) &&
        etcdctl --endpoints "$ENDPOINTS" compact $((rev - COMPACT_KEEP)) >/dev/null 2>>"$WORK/writer.err" || true
    fi
    sleep 0.5
  done
) &
WRITER=$!

"$LB" --config "$WORK/daemon.yaml" daemon >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
DAEMON=$!

metric() {  # NAME: the sum of the named series on /metrics (0 when absent)
  curl -s --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null |
    awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}
sample() {  # prints "t rss_kb fds threads backups drills segments", or nothing if the daemon is gone
  local st rss thr fds
  st=$(cat "/proc/$DAEMON/status" 2>/dev/null) || return 1
  rss=$(awk '/^VmRSS:/ { print $2 }' <<<"$st")
  thr=$(awk '/^Threads:/ { print $2 }' <<<"$st")
  fds=$(find "/proc/$DAEMON/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  echo "$(($(date +%s) - T0)) $rss $fds $thr $(metric lifeboat_backup_success_total) \
$(metric 'lifeboat_drills_total{result="ok"}') $(metric lifeboat_changelog_segments_total)"
}

echo "soak: mode $MODE, ${SECONDS_TOTAL}s, a sample every ${INTERVAL}s; daemon pid $DAEMON, log $WORK/daemon.err"
printf "%6s %10s %5s %7s %8s %6s %8s\n" t_s rss_kb fds threads backups drills segments
T0=$(date +%s)
: >"$WORK/samples"
while (($(date +%s) < END)); do
  sleep "$INTERVAL" &
  wait $!  # a signal ends the wait at once, a foreground sleep would defer it
  line=$(sample) || { echo "soak: the daemon exited; its log ends with:" >&2; tail -n 20 "$WORK/daemon.err" >&2; exit 1; }
  echo "$line" >>"$WORK/samples"
  read -r t rss fds thr b d s <<<"$line"
  printf "%6d %10d %5d %7d %8d %6d %8d\n" "$t" "$rss" "$fds" "$thr" "$b" "$d" "$s"
done
errors=$(grep -c '\[error\]' "$WORK/daemon.err" || true)

# Warm-up is the first quarter; growth is the last quarter's median against the second's.
awk -v slack="$SLACK_KB" -v mode="$MODE" -v errors="$errors" '
  function median(col, from, to,   n, i, j, v, a) {
    n = 0
    for (i = from; i <= to; i++) a[++n] = S[i, col]
    for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function lowest(col, from, to,   i, m) {
    m = S[from, col]
    for (i = from + 1; i <= to; i++) if (S[i, col] < m) m = S[i, col]
    return m
  }
  { N++; for (c = 1; c <= 7; c++) S[N, c] = $c }
  END {
    q = int(N / 4); a1 = q + 1; a2 = 2 * q; b1 = N - q + 1; b2 = N
    r0 = median(2, a1, a2); r1 = median(2, b1, b2)
    # fds and threads: the floor of each quarter. A sample taken while a backup, drill and prune
    # are in flight counts their sockets and workers; a leak raises the floor, load does not.
    f0 = lowest(3, a1, a2); f1 = lowest(3, b1, b2)
    t0 = lowest(4, a1, a2); t1 = lowest(4, b1, b2)
    k0 = median(5, a1, a2); k1 = median(5, b1, b2)
    g0 = median(7, a1, a2); g1 = median(7, b1, b2)
    printf "first sample: %.1f MB RSS, %d fds, %d threads; last: %.1f MB, %d fds, %d threads\n",
      S[1, 2] / 1024, S[1, 3], S[1, 4], S[N, 2] / 1024, S[N, 3], S[N, 4]
    printf "done: %d backups, %d drills, %d change-log segments in %ds; %d error lines in the daemon log\n",
      S[N, 5], S[N, 6], S[N, 7], S[N, 1], errors
    printf "after warm-up (median of samples %d-%d -> %d-%d, t=%ds -> t=%ds):\n", a1, a2, b1, b2, S[a1, 1], S[b1, 1]
    printf "  RSS     %.1f MB -> %.1f MB (%+.0f KB, %+.1f%%)\n", r0 / 1024, r1 / 1024, r1 - r0, 100 * (r1 - r0) / r0
    printf "  fds     %g -> %g (floor)\n  threads %g -> %g (floor)\n", f0, f1, t0, t1
    if (k1 > k0) printf "  RSS per backup: %+.1f KB over %d backups\n", (r1 - r0) / (k1 - k0), k1 - k0
    if (g1 > g0) printf "  RSS per change-log segment: %+.2f KB over %d segments\n", (r1 - r0) / (g1 - g0), g1 - g0
    lim = slack; if (r0 * 0.03 > lim) lim = r0 * 0.03
    flat = (r1 - r0 <= lim) && (f1 <= f0) && (t1 <= t0)
    printf "verdict (%s): %s (RSS growth %+.0f KB, limit %.0f KB; fds %+g; threads %+g)\n", mode,
      flat ? "FLAT" : "GROWING", r1 - r0, lim, f1 - f0, t1 - t0
  }' "$WORK/samples"
