// lifeboat list: the backups in the store, newest first.
#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "catalog/drill_record.h"
#include "catalog/layout.h"
#include "catalog/manifest.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

void RunList(Context& ctx, const std::string& tier) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  auto listing = catalog::ListBackups(**store, settings->prefix, tier.empty() ? "" : TierFolder(*settings, tier));
  if (!listing.ok()) return ctx.Fail(listing.status());
  for (const auto& p : listing->problems) std::cerr << "lifeboat: warning: " << p << "\n";
  // Drill records: one listing tells which exist; only those are read.
  std::map<std::string, catalog::DrillRecord> drills;
  if (auto all = (*store)->List(catalog::NormalizePrefix(settings->prefix) + "/"); all.ok()) {
    std::set<std::string> keys;
    for (const auto& o : *all) keys.insert(o.key);
    for (const auto& b : listing->backups) {
      if (!keys.count(catalog::DrillKey(b.manifest.object_key))) continue;
      auto r = catalog::ReadDrillRecord(**store, b.manifest.object_key);
      if (r.ok() && *r) drills[b.manifest.object_key] = **r;
    }
  }
  auto drilled = [&](const std::string& key) -> std::string {
    auto it = drills.find(key);
    if (it == drills.end()) return "-";
    return (it->second.ok ? "ok " : "FAILED ") + it->second.drilled_at;
  };

  if (settings->write_out == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& b : listing->backups) {
      nlohmann::json e = catalog::ToJsonValue(b.manifest);
      if (auto it = drills.find(b.manifest.object_key); it != drills.end()) {
        e["drill"] = nlohmann::json::parse(catalog::ToJson(it->second));
      }
      j.push_back(e);
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  if (listing->backups.empty() && settings->write_out == "table") {
    std::cout << "no backups in " << settings->store << " under " << settings->prefix << "/"
              << (tier.empty() ? "" : " in tier " + tier) << " (`lifeboat backup` takes one)\n";
    return;
  }
  Table t({"FINISHED", "TIER", "CLUSTER", "MEMBER", "REVISION", "SIZE", "SHA256", "DRILLED", "OBJECT"});
  for (const auto& b : listing->backups) {
    const auto& m = b.manifest;
    t.AddRow({m.finished_at, m.tier, m.cluster_name, m.member_name, std::to_string(m.revision), HumanBytes(m.size),
              m.sha256.substr(0, 16), drilled(m.object_key), m.object_key});
  }
  t.Print(std::cout, settings->write_out);
}

}  // namespace

void AddListCommand(CLI::App& app, Context& ctx) {
  auto tier = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("list", "list backups in the store, newest first");
  cmd->add_option("--tier", *tier, "only this tier");
  cmd->callback([&ctx, tier] { RunList(ctx, *tier); });
}

}  // namespace lifeboat::cli
