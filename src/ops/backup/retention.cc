#include "ops/backup/retention.h"

#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/change_segment.h"
#include "catalog/drill_record.h"
#include "catalog/layout.h"

namespace lifeboat::ops {
namespace {

bool Overlaps(const std::string& folder, const std::vector<catalog::Tier>& tiers) {
  const std::string f = catalog::NormalizePrefix(folder) + "/";
  for (const auto& t : tiers) {
    const std::string g = catalog::NormalizePrefix(t.folder) + "/";
    if (f.compare(0, g.size(), g) == 0 || g.compare(0, f.size(), f) == 0) return true;
  }
  return false;
}

}  // namespace

std::vector<catalog::Tier> RestoreTiers(std::chrono::seconds keep) {
  std::vector<catalog::Tier> t(2);
  t[0].name = t[0].folder = catalog::kSafetyTier;
  t[1].name = t[1].folder = catalog::kPitrTier;
  for (auto& tier : t) tier.keep = keep;  // no schedule: only restore-cluster writes them
  return t;
}

namespace {

// When a listed backup expires: by its manifest, or, when the manifest is not trusted, by the
// later of the manifest's word and the store's own time of the object.
Result<std::chrono::system_clock::time_point> ExpiresAt(const catalog::BackupEntry& b, const catalog::Tier& tier) {
  auto finished = ParseRFC3339(b.manifest.finished_at);
  if (!finished.ok()) return finished.status();
  auto at = *finished;
  if (!b.trusted()) at = std::max(at, std::chrono::system_clock::time_point(std::chrono::seconds(b.object_mtime_unix)));
  return at + tier.keep;
}

PruneItem JudgeBackup(const catalog::BackupEntry& b, const catalog::Tier& tier, bool newest,
                      std::chrono::system_clock::time_point now) {
  PruneItem item{PruneItem::Action::kKeep, tier.name, b.manifest.object_key, "", Status::OK()};
  auto expires = ExpiresAt(b, tier);
  if (!expires.ok()) {
    item.action = PruneItem::Action::kProblem;
    item.why = "unreadable finished_at: left alone";
    return item;
  }
  const std::string when = FormatRFC3339(*expires);
  const std::string untrusted = b.trusted() ? "" : " (untrusted: " + b.untrusted + ")";
  if (newest) {
    item.why = *expires <= now ? "expired " + when + " but the newest of its tier: kept" : "newest; expires " + when;
  } else if (*expires <= now) {
    item.action = PruneItem::Action::kDelete;
    item.why = "expired " + when + " (kept " + catalog::FormatRetention(tier.keep) + ")" + untrusted;
  } else {
    item.why = "expires " + when + untrusted;
  }
  return item;
}

// Objects of the tier's folder with no manifest at all: reported, never deleted (they may be
// someone's only copy).
Status ReportOrphans(store::Store& store, const std::string& prefix, const catalog::Tier& tier,
                     std::vector<PruneItem>* plan) {
  std::string folder = catalog::NormalizePrefix(prefix);
  folder = (folder.empty() ? "" : folder + "/") + catalog::NormalizePrefix(tier.folder) + "/";
  LB_ASSIGN_OR_RETURN(auto objects, store.List(folder));
  std::set<std::string> keys;
  for (const auto& o : objects) keys.insert(o.key);
  for (const auto& o : objects) {
    if (catalog::IsManifestKey(o.key) || keys.count(catalog::ManifestKey(o.key))) continue;
    if (catalog::IsDrillKey(o.key) && keys.count(catalog::ObjectOfDrillKey(o.key))) continue;
    plan->push_back({PruneItem::Action::kProblem, tier.name, o.key, "no manifest: left alone", Status::OK()});
  }
  return Status::OK();
}

// S3 refuses to delete a version under Object Lock before its retain-until date (and a DELETE
// without a version would only hide it behind a delete marker): such a backup is kept, saying
// until when. Judged by the real clock, as the store judges it, not by --now.
void KeepLocked(store::Store& store, std::vector<PruneItem>* plan) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (auto& item : *plan) {
    if (item.action != PruneItem::Action::kDelete || item.tier == "changes") continue;
    auto st = store.Stat(item.object_key);
    if (!st.ok() || st->lock_mode.empty() || st->retain_until_unix <= now) continue;
    std::string mode = st->lock_mode;
    for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    item.action = PruneItem::Action::kKeep;
    item.why = fmt::format("locked ({}) until {}: the store refuses to delete it before then; {}", mode,
                           FormatRFC3339(std::chrono::system_clock::time_point(std::chrono::seconds(st->retain_until_unix))),
                           item.why);
  }
}

}  // namespace

Result<std::vector<PruneItem>> PlanPrune(store::Store& store, const std::string& prefix,
                                         const std::vector<catalog::Tier>& tiers,
                                         std::chrono::system_clock::time_point now, std::chrono::seconds restore_keep,
                                         const catalog::TrustPolicy& trust) {
  LB_RETURN_IF_ERROR(catalog::ValidateTiers(tiers));
  std::vector<PruneItem> plan;
  auto plan_tier = [&](const catalog::Tier& tier) -> Status {
    LB_ASSIGN_OR_RETURN(catalog::Listing listing, catalog::ListBackups(store, prefix, tier.folder, trust));
    for (const auto& p : listing.problems) {
      plan.push_back({PruneItem::Action::kProblem, tier.name, p.substr(0, p.find(": ")), p, Status::OK()});
    }
    LB_RETURN_IF_ERROR(ReportOrphans(store, prefix, tier, &plan));
    // The newest trusted backup is the one kept whatever its age; with none trusted, the newest.
    const catalog::BackupEntry* newest = nullptr;
    for (const auto& b : listing.backups) {
      if (b.trusted()) {
        newest = &b;
        break;
      }
    }
    if (newest == nullptr && !listing.backups.empty()) newest = &listing.backups.front();
    for (const auto& b : listing.backups) plan.push_back(JudgeBackup(b, tier, &b == newest, now));
    return Status::OK();
  };
  for (const auto& tier : tiers) LB_RETURN_IF_ERROR(plan_tier(tier));
  // The tiers restores write on their own: configured tiers in the same folders take precedence.
  for (const auto& tier : RestoreTiers(restore_keep)) {
    if (!Overlaps(tier.folder, tiers)) LB_RETURN_IF_ERROR(plan_tier(tier));
  }
  KeepLocked(store, &plan);
  LB_RETURN_IF_ERROR(PlanSegmentPrune(store, prefix, &plan));
  return plan;
}

Status PlanSegmentPrune(store::Store& store, const std::string& prefix, std::vector<PruneItem>* plan) {
  // A change segment extends the full backups before it: it is needed while some backup of its
  // cluster that stays has a revision at or below the segment's end. Once every remaining backup
  // is newer than the segment, no restore can use it.
  std::set<std::string> deleted;
  for (const auto& i : *plan) {
    if (i.action == PruneItem::Action::kDelete) deleted.insert(i.object_key);
  }
  LB_ASSIGN_OR_RETURN(catalog::Listing all, catalog::ListBackups(store, prefix, ""));
  // sanitized cluster name -> cluster id -> lowest remaining revision. Histories are apart: a
  // whole-cluster restore starts a new cluster id whose revisions repeat the old ones.
  std::map<std::string, std::map<uint64_t, int64_t>> oldest_kept;
  for (const auto& b : all.backups) {
    if (deleted.count(b.manifest.object_key)) continue;
    auto& by_id = oldest_kept[catalog::SanitizeName(b.manifest.cluster_name)];
    auto it = by_id.find(b.manifest.cluster_id);
    if (it == by_id.end() || b.manifest.revision < it->second) by_id[b.manifest.cluster_id] = b.manifest.revision;
  }
  for (const auto& [cluster, by_id] : oldest_kept) {
    LB_ASSIGN_OR_RETURN(auto segs, catalog::ListSegments(store, prefix, cluster));
    for (const auto& p : segs.problems) {
      plan->push_back({PruneItem::Action::kProblem, "changes", p.substr(0, p.find(": ")), p, Status::OK()});
    }
    for (const auto& m : segs.segments) {
      std::optional<int64_t> oldest;  // of the backups this segment can extend
      for (const auto& [id, rev] : by_id) {
        if (catalog::SameHistory(id, m.cluster_id)) oldest = oldest ? std::min(*oldest, rev) : rev;
      }
      const bool expired = !oldest || m.end_revision < *oldest;
      std::string why = !oldest ? fmt::format("change log of cluster id {:x}, which no kept backup has", m.cluster_id)
                        : expired ? "change log before the oldest kept backup (revision " + std::to_string(*oldest) + ")"
                                  : "extends a kept backup";
      plan->push_back({expired ? PruneItem::Action::kDelete : PruneItem::Action::kKeep, "changes", m.object_key, why,
                       Status::OK()});
    }
  }
  return Status::OK();
}

Status ApplyPrune(store::Store& store, std::vector<PruneItem>& plan) {
  Status first;
  for (auto& item : plan) {
    if (item.action != PruneItem::Action::kDelete) continue;
    if (item.tier == "changes") {
      item.result = store.Delete(catalog::SegmentManifestKey(item.object_key));
      if (item.result.ok() || item.result.code() == Status::Code::kNotFound) item.result = store.Delete(item.object_key);
      if (!item.result.ok() && first.ok()) first = item.result;
      continue;
    }
    // The drill record first: it means nothing without its backup, and the backup stays listed
    // (through its manifest) until the manifest goes.
    item.result = store.Delete(catalog::DrillKey(item.object_key));
    if (item.result.code() == Status::Code::kNotFound) item.result = Status::OK();
    if (item.result.ok()) item.result = store.Delete(catalog::ManifestKey(item.object_key));
    if (item.result.ok() || item.result.code() == Status::Code::kNotFound) item.result = store.Delete(item.object_key);
    if (!item.result.ok() && first.ok()) first = item.result;
  }
  return first;
}

}  // namespace lifeboat::ops
