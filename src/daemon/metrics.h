// Metrics the daemon exposes on /metrics in Prometheus text format: per tier and store the last
// success time, duration, size and failure count, the newest backup's age, and tick claims.
// Thread-safe: the backup loop records, the HTTP thread renders.
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
  // Whether the agents report a recovery lease (ops/recovery_lease.h); `skipped`: a tick or drill
  // was not run because of it.
  void SetRecoveryInProgress(bool held);
  void RecordSkippedForRecovery();
  void SetLastError(const std::string& error);
  std::string LastError() const;
  std::string Render() const;

 private:
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
  uint64_t changelog_segments_ = 0, changelog_events_ = 0;
  std::string last_error_;
};

}  // namespace lifeboat::daemon
