// Health: whether the daemon does its work, for /readyz. It is not ready, naming why, when the
// scheduler has not started a tick `tick_margin` after it was due (a backup or drill still runs
// past the next tick, or the loop is stuck), when the change log has received nothing from etcd
// (no change, no progress) for longer than its flush interval plus a margin, or when a store
// failed `store_failures` times in a row. Thread-safe: the daemon's loops report, /readyz asks.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace lifeboat::daemon {

class Health {
 public:
  using Time = std::chrono::system_clock::time_point;
  struct Limits {
    std::chrono::milliseconds tick_margin{30000};
    std::chrono::milliseconds changelog_stall{0};  // 0: no change log runs
    int store_failures = 3;
  };

  Health(Limits limits, Time now) : limits_(limits), changelog_seen_(now) {}

  // The scheduler's next duty: the tick at `at` (the one it sleeps until, or, while a tick
  // runs, the one after it).
  void TickDue(Time at) { std::lock_guard lk(mu_); tick_due_ = at; }
  // The change log received a change or progress from etcd at `now`.
  void ChangeLogProgress(Time now) { std::lock_guard lk(mu_); changelog_seen_ = now; changelog_error_.clear(); }
  // Why the change log stopped receiving (quoted while it is stalled).
  void ChangeLogError(const std::string& why) { std::lock_guard lk(mu_); changelog_error_ = why; }
  // One store operation (an open, a backup copy, a segment): failures in a row count.
  void StoreResult(const std::string& store, const Status& s);

  // Empty when ready; else one line per reason.
  std::vector<std::string> Problems(Time now) const;

 private:
  struct StoreState {
    int failures = 0;  // in a row
    std::string last_error;
  };
  const Limits limits_;
  mutable std::mutex mu_;
  Time tick_due_ = Time::max();
  Time changelog_seen_;
  std::string changelog_error_;
  std::map<std::string, StoreState> stores_;
};

}  // namespace lifeboat::daemon
