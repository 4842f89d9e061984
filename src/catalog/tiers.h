// Tiers: named backup series, each with a folder under the store prefix, a cron schedule and a
// retention. The default is the operators' runbook: "hourly" every hour kept 72 h (their `a`
// folder) and "twice-daily" at 00:00 and 12:00 kept 15 days (their `b` folder).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "catalog/cron.h"

namespace lifeboat::catalog {

struct Tier {
  std::string name;    // [a-z0-9-]+, recorded in each manifest
  std::string folder;  // where its backups live under the store prefix; default: the name
  CronSchedule schedule;
  std::chrono::seconds keep{0};
  // S3 Object Lock of its backups and manifests: "" (none), "GOVERNANCE" or "COMPLIANCE"; each is
  // retained `keep` from when it is written (config `object-lock: {mode: ...}`).
  std::string object_lock;
};

std::vector<Tier> DefaultTiers();

// The two tiers that restores write, without a schedule: safety backups taken just before a
// restore ("latest" skips them), and point-in-time states stored by --to-revision/--to-time so
// that every agent stages the same verified object. Retention keeps both by the same rules.
inline constexpr const char* kSafetyTier = "pre-restore";
inline constexpr const char* kPitrTier = "pitr";

// Names unique and valid, folders valid and not nested in one another (each tier's retention
// must only ever see its own backups), keep > 0, object_lock empty, GOVERNANCE or COMPLIANCE.
Status ValidateTiers(const std::vector<Tier>& tiers);

// nullptr when absent.
const Tier* FindTier(const std::vector<Tier>& tiers, std::string_view name);

// "72h", "15d", "90m", "3600s", "2w".
Result<std::chrono::seconds> ParseRetention(std::string_view text);
std::string FormatRetention(std::chrono::seconds s);

}  // namespace lifeboat::catalog
