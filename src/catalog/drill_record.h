// DrillRecord: the outcome of one restore drill of a backup, stored beside it as
// "<object>.drill.json" (the newest drill wins), so `list` can show which backups were proven
// to restore and when. Prune deletes it with its backup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/store.h"

namespace lifeboat::catalog {

inline constexpr std::string_view kDrillSuffix = ".drill.json";

struct DrillRecord {
  std::string object_key;
  std::string drilled_at;  // RFC 3339, UTC
  bool ok = false;
  std::string error;       // why it failed; empty when ok
  double seconds = 0;      // fetch to teardown
  int64_t expected_revision = 0;  // from the snapshot file
  uint64_t expected_keys = 0;
  int64_t revision = 0;    // as the restored etcd answered
  int64_t keys = 0;
  std::string etcd_version;
  // The revision at which the restored etcd's HashKV was found equal to the source member's
  // (manifest source_hashkv); 0 when the manifest has none.
  int64_t hashkv_revision = 0;
  // The drill rehearsed etcdutl's --bump-revision N --mark-compacted: expected_revision is the
  // bumped one, and the restored etcd was found compacted there. 0: a plain restore.
  uint64_t bump_revision = 0;
};

// "x.db" -> "x.drill.json".
std::string DrillKey(std::string_view object_key);
bool IsDrillKey(std::string_view key);
// The backup object a drill record belongs to.
std::string ObjectOfDrillKey(std::string_view drill_key);

std::string ToJson(const DrillRecord& r);
Result<DrillRecord> ParseDrillRecord(std::string_view json);

Status WriteDrillRecord(store::Store& store, const DrillRecord& r);
// nullopt when the backup was never drilled.
Result<std::optional<DrillRecord>> ReadDrillRecord(store::Store& store, std::string_view object_key);

}  // namespace lifeboat::catalog
