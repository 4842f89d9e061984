// The daemon's change log (ops/changelog.h): started after the newest full backup of the
// served cluster, and started again after a new full backup when etcd compacted what it needed.
#include <thread>

#include "base/timefmt.h"
#include "daemon/daemon.h"
#include "store/store.h"

namespace lifeboat::daemon {

using Clock = std::chrono::system_clock;

void Daemon::TakeBackupForChangeLog(const std::string& why) {
  log_.Info("change log: {}; taking a full backup to start it", why);
  std::vector<catalog::Tier> first = {config_.tiers.front()};
  RunTick(first, std::chrono::time_point_cast<std::chrono::seconds>(Clock::now()));
}

bool Daemon::RunChangeLogOnce(const std::atomic<bool>& stop) {
  const std::string& url = config_.store_urls.front();
  auto fail = [&](const Status& s) {
    log_.Error("change log: {}", s.message());
    health_.ChangeLogError(s.message());
    return false;
  };
  auto st = store::OpenStore(url);
  StoreResult(url, st.status());
  if (!st.ok()) return fail(st.status());
  const std::string store_name = (*st)->Describe();
  auto id = ops::ServedClusterId(config_.client);
  if (!id.ok()) return fail(id.status());
  auto start = ops::ChangeLogStart(**st, config_.prefix, config_.cluster_name, *id, Trust());
  if (!start.ok()) {
    if (start.status().code() != Status::Code::kNotFound) {
      StoreResult(store_name, start.status());
      return fail(start.status());
    }
    // The log extends a full backup of this very cluster, and there is none: the first start,
    // or a whole-cluster restore made a new cluster (id) under the same name. Take one now
    // rather than leave the new history unlogged until the next scheduled tick.
    TakeBackupForChangeLog(start.status().message());
    return false;
  }
  bool gap = false;
  ops::ChangeLogHooks hooks;
  hooks.on_segment = [&](const catalog::SegmentManifest& m) {
    metrics_.RecordSegment(m.end_revision, m.count);
    StoreResult(store_name, Status::OK());
  };
  hooks.on_progress = [&](int64_t) { health_.ChangeLogProgress(Clock::now()); };
  hooks.on_watch_error = [&](const Status& s) { health_.ChangeLogError(s.message()); };
  hooks.on_store_error = [&](const Status& s) { StoreResult(store_name, s); };
  hooks.on_gap = [&](const catalog::ChangeGap& g) {
    gap = true;
    // Counted once: until a new backup is stored, every start finds the same gap again.
    if (g.from_revision != last_gap_from_) metrics_.RecordChangeLogGap();
    last_gap_from_ = g.from_revision;
  };
  hooks.log = &log_;
  Status s = ops::RunChangeLog(config_.client, **st, config_.changelog_options, *start, *id, stop, hooks);
  if (s.ok()) return true;
  if (gap) {
    // History from `start` on is gone: a gap no restore could cross (recorded in the store). A
    // full backup now starts a new, gapless log after it.
    log_.Error("change log GAP: {}", s.message());
    metrics_.SetLastError("change log gap: " + s.message());
    TakeBackupForChangeLog("after the gap");
    return false;
  }
  return fail(s);
}

void Daemon::ChangeLogLoop(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    if (RunChangeLogOnce(stop)) continue;
    for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace lifeboat::daemon
