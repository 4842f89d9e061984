#include "cli/point_in_time.h"

#include <CLI/CLI.hpp>

#include "base/timefmt.h"
#include "cli/config.h"

namespace lifeboat::cli {

void PointInTimeFlags::AddTo(CLI::App& cmd) {
  cmd.add_option("--to-revision", revision_,
                 "point in time: the newest full backup at or before R from the store, plus the change log up to R");
  cmd.add_option("--to-time", time_, "point in time: the change log's last revision at or before this RFC 3339 time");
  cmd.add_option("--source-cluster-id", cluster_id_,
                 "point in time within this cluster id's history (default: the newest backup's)");
}

Result<PointInTime> PointInTimeFlags::Parse() const {
  if (revision_ > 0 && !time_.empty()) return Status::InvalidArgument("give --to-revision or --to-time, not both");
  PointInTime p;
  p.revision = revision_;
  if (!time_.empty()) {
    auto t = ParseRFC3339(time_);
    if (!t.ok()) {
      return Status::InvalidArgument("--to-time '" + time_ + "' is not an RFC 3339 time (e.g. 2026-11-24T12:00:00Z)");
    }
    p.time = *t;
  }
  LB_ASSIGN_OR_RETURN(p.cluster_id, ParseHexId(cluster_id_, "--source-cluster-id"));
  return p;
}

}  // namespace lifeboat::cli
