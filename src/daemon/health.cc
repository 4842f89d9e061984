#include "daemon/health.h"

#include <fmt/format.h>

#include "base/timefmt.h"

namespace lifeboat::daemon {
namespace {

double Seconds(std::chrono::system_clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

void Health::StoreResult(const std::string& store, const Status& s) {
  std::lock_guard lk(mu_);
  StoreState& st = stores_[store];
  if (s.ok()) {
    st = StoreState{};
    return;
  }
  st.failures++;
  st.last_error = s.message();
}

std::vector<std::string> Health::Problems(Time now) const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  if (tick_due_ != Time::max() && now > tick_due_ + limits_.tick_margin) {
    out.push_back(fmt::format("scheduler: the tick of {} has not started {:.0f}s after it was due (a backup or drill "
                              "still runs, or the daemon is stuck)",
                              FormatRFC3339(tick_due_), Seconds(now - tick_due_)));
  }
  if (limits_.changelog_stall.count() > 0 && now > changelog_seen_ + limits_.changelog_stall) {
    out.push_back(fmt::format("change log: nothing received from etcd for {:.0f}s (limit {:.0f}s){}",
                              Seconds(now - changelog_seen_), Seconds(limits_.changelog_stall),
                              changelog_error_.empty() ? "" : ": " + changelog_error_));
  }
  for (const auto& [store, st] : stores_) {
    if (st.failures >= limits_.store_failures) {
      out.push_back(fmt::format("store {}: {} failures in a row, the last: {}", store, st.failures, st.last_error));
    }
  }
  return out;
}

}  // namespace lifeboat::daemon
