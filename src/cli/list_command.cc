// lifeboat list: the backups in the store, newest first.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
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

  if (settings->write_out == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& b : listing->backups) j.push_back(catalog::ToJsonValue(b.manifest));
    std::cout << j.dump(2) << "\n";
    return;
  }
  Table t({"FINISHED", "TIER", "CLUSTER", "MEMBER", "REVISION", "SIZE", "SHA256", "OBJECT"});
  for (const auto& b : listing->backups) {
    const auto& m = b.manifest;
    t.AddRow({m.finished_at, m.tier, m.cluster_name, m.member_name, std::to_string(m.revision), HumanBytes(m.size),
              m.sha256.substr(0, 16), m.object_key});
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
