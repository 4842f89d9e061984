// lifeboat list: the backups in the store, newest first; with keys configured, each marked
// trusted or UNTRUSTED (catalog/trust.h); backup objects without a manifest marked INCOMPLETE.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/drill_record.h"
#include "catalog/layout.h"
#include "catalog/manifest.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

// Drill records: one listing tells which exist; only those are read.
std::map<std::string, catalog::DrillRecord> ReadDrills(store::Store& store, const std::string& prefix,
                                                       const catalog::Listing& listing) {
  std::map<std::string, catalog::DrillRecord> drills;
  auto all = store.List(catalog::NormalizePrefix(prefix) + "/");
  if (!all.ok()) return drills;
  std::set<std::string> keys;
  for (const auto& o : *all) keys.insert(o.key);
  for (const auto& b : listing.backups) {
    if (!keys.count(catalog::DrillKey(b.manifest.object_key))) continue;
    auto r = catalog::ReadDrillRecord(store, b.manifest.object_key);
    if (r.ok() && *r) drills[b.manifest.object_key] = **r;
  }
  return drills;
}

std::string TrustWord(const catalog::BackupEntry& b, bool checked) {
  if (!checked) return "-";
  return b.trusted() ? "ok" : "UNTRUSTED";
}

constexpr const char* kIncompleteWhy =
    "a backup object without a manifest: its manifest write failed or the manifest was deleted; no reader uses it "
    "(take another backup; delete it once it is not needed)";

void PrintJson(const catalog::Listing& listing, const std::map<std::string, catalog::DrillRecord>& drills,
               bool checked) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& b : listing.backups) {
    nlohmann::json e = catalog::ToJsonValue(b.manifest);
    if (auto it = drills.find(b.manifest.object_key); it != drills.end()) {
      e["drill"] = nlohmann::json::parse(catalog::ToJson(it->second));
    }
    e["trust"] = checked ? (b.trusted() ? "trusted" : "untrusted") : "unchecked";
    if (!b.trusted()) e["untrusted_because"] = b.untrusted;
    j.push_back(e);
  }
  for (const auto& o : listing.incomplete) {
    j.push_back({{"object_key", o.key}, {"object_size", o.size}, {"incomplete", true}, {"why", kIncompleteWhy}});
  }
  std::cout << j.dump(2) << "\n";
}

void PrintTable(const catalog::Listing& listing, const std::map<std::string, catalog::DrillRecord>& drills,
                bool checked, const std::string& format) {
  auto drilled = [&](const std::string& key) -> std::string {
    auto it = drills.find(key);
    if (it == drills.end()) return "-";
    return (it->second.ok ? "ok " : "FAILED ") + it->second.drilled_at;
  };
  Table t({"FINISHED", "TIER", "CLUSTER", "MEMBER", "REVISION", "SIZE", "SHA256", "DRILLED", "TRUST", "OBJECT"});
  for (const auto& b : listing.backups) {
    const auto& m = b.manifest;
    t.AddRow({m.finished_at, m.tier, m.cluster_name, m.member_name, std::to_string(m.revision), HumanBytes(m.size),
              m.sha256.substr(0, 16), drilled(m.object_key), TrustWord(b, checked), m.object_key});
  }
  for (const auto& o : listing.incomplete) {
    const std::string stored = FormatRFC3339(std::chrono::system_clock::time_point(std::chrono::seconds(o.mtime_unix)));
    t.AddRow({stored, "-", "-", "-", "-", HumanBytes(o.size), "-", "-", "INCOMPLETE", o.key});
  }
  t.Print(std::cout, format);
}

void RunList(Context& ctx, const std::string& tier) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  const catalog::TrustPolicy trust = TrustOf(*settings);
  auto listing =
      catalog::ListBackups(**store, settings->prefix, tier.empty() ? "" : TierFolder(*settings, tier), trust);
  if (!listing.ok()) return ctx.Fail(listing.status());
  for (const auto& p : listing->problems) std::cerr << "lifeboat: warning: " << p << "\n";
  for (const auto& b : listing->backups) {
    if (!b.trusted()) std::cerr << "lifeboat: warning: " << b.manifest.object_key << " is UNTRUSTED: " << b.untrusted << "\n";
  }
  for (const auto& o : listing->incomplete) {
    std::cerr << "lifeboat: warning: " << o.key << " is INCOMPLETE: " << kIncompleteWhy << "\n";
  }
  const auto drills = ReadDrills(**store, settings->prefix, *listing);
  if (settings->write_out == "json") return PrintJson(*listing, drills, trust.checks());
  if (listing->backups.empty() && listing->incomplete.empty() && settings->write_out == "table") {
    std::cout << "no backups in " << settings->store << " under " << settings->prefix << "/"
              << (tier.empty() ? "" : " in tier " + tier) << " (`lifeboat backup` takes one)\n";
    return;
  }
  PrintTable(*listing, drills, trust.checks(), settings->write_out);
}

}  // namespace

void AddListCommand(CLI::App& app, Context& ctx) {
  auto tier = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("list", "list backups in the store, newest first (UNTRUSTED and INCOMPLETE marked)");
  cmd->add_option("--tier", *tier, "only this tier");
  cmd->callback([&ctx, tier] { RunList(ctx, *tier); });
}

}  // namespace lifeboat::cli
