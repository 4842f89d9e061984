// Metrics the daemon exposes on /metrics in Prometheus text format: per tier and store the last
// success time, duration, size and failure count, the newest backup's age, and tick claims; the
// schedules' intervals (what alert rules compare ages with); the consistency check's verdict.
// Thread-safe: the backup, change-log and check loops record, the HTTP thread renders.
// deploy/prometheus/lifeboat-rules.yaml and deploy/grafana/lifeboat.json query these names.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace lifeboat::daemon {

class Metrics {
 public:
  void RecordBackup(const std::string& tier, const std::string& store, bool ok, double seconds, uint64_t bytes);
  void RecordTick(bool won);
  // A restore drill: its outcome and duration (ops/drill.h).
  void RecordDrill(bool ok, double seconds);
  // A change-log segment stored, covering changes up to `end_revision`.
  void RecordSegment(int64_t end_revision, uint64_t events);
  // etcd had compacted revisions the change log had not read: a gap in the log.
  void RecordChangeLogGap();
  // Whether the agents report a recovery lease (ops/recovery_lease.h); `skipped`: a tick or drill
  // was not run because of it.
  void SetRecoveryInProgress(bool held);
  void RecordSkippedForRecovery();
  // At start-up, from the store: the newest backup's finish time per tier and store (0: none),
  // so ages are true from the first scrape, not from the daemon's restart.
  void SeedBackup(const std::string& tier, const std::string& store, double finished_at);
  // The newest successful drill found in the store at start-up.
  void SeedVerifiedRestore(double drilled_at);
  // The longest gap between two ticks of a schedule, in seconds; for drill and check 0 = none.
  void SetTierInterval(const std::string& tier, double seconds);
  void SetDrillInterval(double seconds);
  void SetCheckInterval(double seconds);
  void SetChangeLogEnabled(bool enabled);
  void SetInfo(const std::string& cluster);
  // A consistency check (ops/check.h) that reached a verdict: per member (its name, or endpoint),
  // whether it is divergent. One that could not judge counts as a failure and changes no gauge.
  void RecordCheck(bool consistent, const std::map<std::string, bool>& divergent, double seconds);
  void RecordCheckFailure();
  // The verdict another daemon reached for a tick this one lost (finished at unix `at`): the
  // gauges follow it, this daemon's counters do not.
  void AdoptCheck(bool consistent, const std::map<std::string, bool>& divergent, double seconds, double at);
  void SetLastError(const std::string& error);
  std::string LastError() const;
  std::string Render() const;

 private:
  void RenderBackups(std::string& out) const;
  void RenderDrills(std::string& out) const;
  void RenderChangeLog(std::string& out) const;
  void RenderSchedules(std::string& out) const;
  void RenderCheck(std::string& out) const;
  void RenderDaemon(std::string& out) const;
  struct Series {
    double last_success = 0;  // unix seconds
    double duration = 0;
    uint64_t bytes = 0;
    uint64_t failures = 0;
    uint64_t successes = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Series> series_;  // (tier, store)
  uint64_t ticks_won_ = 0, ticks_lost_ = 0, ticks_skipped_ = 0;
  bool recovery_in_progress_ = false;
  double last_verified_restore_ = 0, drill_duration_ = 0;
  uint64_t drills_ok_ = 0, drills_failed_ = 0;
  int64_t changelog_revision_ = 0;
  double changelog_time_ = 0;
  uint64_t changelog_segments_ = 0, changelog_events_ = 0, changelog_gaps_ = 0;
  std::map<std::string, double> tier_interval_;
  double drill_interval_ = 0, check_interval_ = 0;
  bool changelog_enabled_ = false;
  std::string cluster_;
  int consistent_ = -1;  // -1: no verdict yet (the gauge is not exported)
  std::map<std::string, bool> divergent_;
  double check_last_run_ = 0, check_duration_ = 0;
  uint64_t checks_ok_ = 0, checks_failed_ = 0;
  std::string last_error_;
};

}  // namespace lifeboat::daemon
