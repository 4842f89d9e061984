// Bucket lifecycle rules that express the tiers' retention, for operators who want the bucket
// itself to expire old backups (docs/object-stores.md). One rule per tier:
// objects under "<bucket prefix>/<store prefix>/<tier folder>/" expire after keep rounded UP to
// whole days (S3 counts days), and unfinished multipart uploads are aborted after a day.
// Unlike `prune`, a bucket rule also expires a tier's newest backup: docs/object-stores.md.
// A tier under Object Lock lives in a versioned bucket, where expiring hides the current
// version behind a delete marker: its rule also removes noncurrent versions a day later (S3
// itself never removes a version before its lock ends).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "catalog/tiers.h"

namespace lifeboat::ops {

struct LifecycleRule {
  std::string id;      // "lifeboat-<tier>"
  std::string prefix;  // full bucket key prefix
  int days = 0;
  int noncurrent_days = 0;  // > 0: also NoncurrentVersionExpiration after this many days
};

// `full_key` maps a store key to its bucket key (S3Store::FullKey).
std::vector<LifecycleRule> RulesForTiers(const std::string& prefix, const std::vector<catalog::Tier>& tiers,
                                         const std::function<std::string(const std::string&)>& full_key);

// A whole LifecycleConfiguration document: lifeboat's rules, plus every rule of `existing` (the
// bucket's current document, may be empty) whose ID does not start with "lifeboat-", unchanged.
std::string LifecycleXml(const std::vector<LifecycleRule>& rules, const std::string& existing);

// The rules of a LifecycleConfiguration document (ID, prefix, expiration and noncurrent-version
// expiration days; 0 when absent).
std::vector<LifecycleRule> ParseLifecycleRules(const std::string& xml);

}  // namespace lifeboat::ops
