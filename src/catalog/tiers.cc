#include "catalog/tiers.h"

#include <set>

#include "catalog/layout.h"

namespace lifeboat::catalog {

std::vector<Tier> DefaultTiers() {
  std::vector<Tier> t(2);
  t[0].name = t[0].folder = "hourly";
  t[0].schedule = CronSchedule::Parse("0 * * * *").value();
  t[0].keep = std::chrono::hours(72);
  t[1].name = t[1].folder = "twice-daily";
  t[1].schedule = CronSchedule::Parse("0 0,12 * * *").value();
  t[1].keep = std::chrono::hours(24 * 15);
  return t;
}

Status ValidateTiers(const std::vector<Tier>& tiers) {
  if (tiers.empty()) return Status::InvalidArgument("no tiers configured (remove `tiers:` to use the defaults)");
  std::set<std::string> names;
  for (const auto& t : tiers) {
    LB_RETURN_IF_ERROR(ValidateName(t.name).Annotate("tier '" + t.name + "'"));
    LB_RETURN_IF_ERROR(ValidatePrefix(t.folder).Annotate("tier " + t.name + " folder"));
    if (t.folder.empty()) return Status::InvalidArgument("tier " + t.name + " has an empty folder (give it a name)");
    if (!names.insert(t.name).second) return Status::InvalidArgument("tier " + t.name + " is declared twice");
    if (t.keep.count() <= 0) {
      return Status::InvalidArgument("tier " + t.name + " keeps backups for zero time (set keep: to e.g. 72h)");
    }
    if (!t.object_lock.empty() && t.object_lock != "GOVERNANCE" && t.object_lock != "COMPLIANCE") {
      return Status::InvalidArgument("tier " + t.name + " object-lock mode '" + t.object_lock +
                                     "' is not one S3 knows (use governance or compliance)");
    }
  }
  for (const auto& a : tiers) {
    for (const auto& b : tiers) {
      if (&a == &b) continue;
      std::string fa = NormalizePrefix(a.folder) + "/", fb = NormalizePrefix(b.folder) + "/";
      if (fb.compare(0, fa.size(), fa) == 0) {
        return Status::InvalidArgument("tiers " + a.name + " and " + b.name + " overlap (folders '" + a.folder +
                                       "' and '" + b.folder + "'): each tier needs a folder of its own, or one "
                                       "tier's retention would delete the other's backups");
      }
    }
  }
  return Status::OK();
}

const Tier* FindTier(const std::vector<Tier>& tiers, std::string_view name) {
  for (const auto& t : tiers) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Result<std::chrono::seconds> ParseRetention(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("retention '" + std::string(text) + "' is not a duration (write it like 72h or 15d)");
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return bad();
    n = n * 10 + (c - '0');
    if (n > 100000000) return bad();
  }
  switch (text.back()) {
    case 's': return std::chrono::seconds(n);
    case 'm': return std::chrono::seconds(n * 60);
    case 'h': return std::chrono::seconds(n * 3600);
    case 'd': return std::chrono::seconds(n * 86400);
    case 'w': return std::chrono::seconds(n * 604800);
    default: return bad();
  }
}

std::string FormatRetention(std::chrono::seconds s) {
  int64_t n = s.count();
  if (n % 86400 == 0) return std::to_string(n / 86400) + "d";
  if (n % 3600 == 0) return std::to_string(n / 3600) + "h";
  if (n % 60 == 0) return std::to_string(n / 60) + "m";
  return std::to_string(n) + "s";
}

}  // namespace lifeboat::catalog
