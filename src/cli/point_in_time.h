// The point-in-time flags shared by `snapshot restore` and `restore-cluster` (docs/pitr.md):
// --to-revision R | --to-time T, and --source-cluster-id ID for the history to restore within.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"

namespace CLI {
class App;
}

namespace lifeboat::cli {

struct PointInTime {
  int64_t revision = 0;
  std::optional<std::chrono::system_clock::time_point> time;
  uint64_t cluster_id = 0;  // 0: the history of the newest backup
};

class PointInTimeFlags {
 public:
  void AddTo(CLI::App& cmd);
  bool given() const { return revision_ > 0 || !time_.empty(); }
  // InvalidArgument (exit 2) for both targets at once, a time that is not RFC 3339, a bad id.
  Result<PointInTime> Parse() const;

 private:
  int64_t revision_ = 0;
  std::string time_, cluster_id_;
};

}  // namespace lifeboat::cli
