// etcd versions as restores, drills and recoveries compare them, with the two upgrade rules etcd
// states: no downgrade below the snapshot's (the cluster's) version, compared by major.minor, the
// unit etcd's cluster version works in; and a cluster goes to 3.6 only from 3.5.26 or later.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace lifeboat::ops {

struct MajorMinor {
  int major = 0, minor = 0;
  auto operator<=>(const MajorMinor&) const = default;
};

// "3.5.30" / "3.5.0" / "3.5" -> {3, 5}; nullopt for anything else (e.g. "").
std::optional<MajorMinor> ParseMajorMinor(std::string_view version);

// OK when an etcd `server` version (as `etcd --version` prints it) may start on data of
// `data_version` (a snapshot's cluster/clusterVersion); FailedPrecondition naming `who`, the
// versions and the rule, and ending with `fix` otherwise ("" = give it a new enough binary). An
// unknown (empty or unparsable) version on either side is not refused.
Status CheckCanServe(const std::string& who, const std::string& server, const std::string& data_version,
                     const std::string& fix = "", const std::string& data_what = "the backup's cluster version");

// etcd's upgrade rule for a running cluster: no member runs 3.6 or later while another runs an
// etcd older than 3.5.26 (3.5.26 removes the zombie members a 3.6 member would read back from
// the v3 store, etcd #20967). `members` are (name, `etcd --version`) pairs; FailedPrecondition
// naming the rule and the members too old, OK when the rule holds or a version is unknown.
// A restore-cluster is not held to it: its restore writes only the new members, in v2 and v3.
Status CheckUpgradeRule(const std::vector<std::pair<std::string, std::string>>& members);

}  // namespace lifeboat::ops
