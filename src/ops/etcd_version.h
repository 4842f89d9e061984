// etcd versions as restores and drills compare them: by major.minor, the unit etcd's cluster
// version and its downgrade refusal work in. A member must not start on data written at a
// newer cluster version than its own binary, and the members of one restore must run one version.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::ops {

struct MajorMinor {
  int major = 0, minor = 0;
  auto operator<=>(const MajorMinor&) const = default;
};

// "3.5.30" / "3.5.0" / "3.5" -> {3, 5}; nullopt for anything else (e.g. "").
std::optional<MajorMinor> ParseMajorMinor(std::string_view version);

// OK when an etcd `server` version (as `etcd --version` prints it) may start on data of
// `data_version` (a snapshot's cluster/clusterVersion); FailedPrecondition naming `who` and the
// versions and ending with `fix` otherwise ("" = give it a new enough binary). An unknown (empty
// or unparsable) version on either side is not refused.
Status CheckCanServe(const std::string& who, const std::string& server, const std::string& data_version,
                     const std::string& fix = "");

}  // namespace lifeboat::ops
