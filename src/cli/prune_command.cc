// lifeboat prune [--dry-run] [--now TIME]: delete what each tier's retention says has expired,
// printing every decision and why. Only configured tiers' folders are touched.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/timefmt.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "ops/backup/retention.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct PruneArgs {
  bool dry_run = false;
  std::string now;
};

const char* ActionName(ops::PruneItem::Action a) {
  switch (a) {
    case ops::PruneItem::Action::kKeep: return "keep";
    case ops::PruneItem::Action::kDelete: return "delete";
    case ops::PruneItem::Action::kProblem: return "PROBLEM";
  }
  return "?";
}

void RunPrune(Context& ctx, const PruneArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto now = std::chrono::system_clock::now();
  if (!a.now.empty()) {
    auto t = ParseRFC3339(a.now);
    if (!t.ok()) return ctx.Fail(Status::InvalidArgument("--now '" + a.now + "' is not a time (write it like 2026-11-24T12:00:00Z)"));
    now = *t;
  }
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  auto plan = ops::PlanPrune(**store, settings->prefix, settings->tiers, now, ops::kRestoreTierKeep, TrustOf(*settings));
  if (!plan.ok()) return ctx.Fail(plan.status());
  Status applied;
  if (!a.dry_run) applied = ops::ApplyPrune(**store, *plan);

  if (settings->write_out == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& i : *plan) {
      j.push_back({{"tier", i.tier}, {"object_key", i.object_key}, {"action", ActionName(i.action)}, {"why", i.why},
                   {"deleted", !a.dry_run && i.action == ops::PruneItem::Action::kDelete && i.result.ok()},
                   {"error", i.result.ok() ? "" : i.result.message()}});
    }
    std::cout << j.dump(2) << "\n";
  } else if (plan->empty() && settings->write_out == "table") {
    std::cout << "no backups in " << settings->store << " under " << settings->prefix << "/: nothing to prune\n";
  } else {
    Table t({"TIER", "ACTION", "OBJECT", "WHY"});
    size_t segments_kept = 0;
    for (const auto& i : *plan) {
      // The change log has a segment per second of writes: kept ones are counted, not listed.
      if (i.tier == "changes" && i.action == ops::PruneItem::Action::kKeep) {
        segments_kept++;
        continue;
      }
      std::string action = ActionName(i.action);
      if (i.action == ops::PruneItem::Action::kDelete) {
        action = a.dry_run ? "would delete" : i.result.ok() ? "deleted" : "FAILED: " + i.result.message();
      }
      t.AddRow({i.tier, action, i.object_key, i.why});
    }
    if (segments_kept > 0) t.AddRow({"changes", "keep", std::to_string(segments_kept) + " segments", "extend kept backups"});
    t.Print(std::cout, settings->write_out);
  }
  if (!applied.ok()) ctx.Fail(applied.Annotate("prune"));
}

}  // namespace

void AddPruneCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<PruneArgs>();
  auto* cmd = app.add_subcommand("prune", "delete backups whose tier retention has expired (never a tier's newest)");
  cmd->add_flag("--dry-run", a->dry_run, "print what would be deleted, delete nothing");
  cmd->add_option("--now", a->now, "judge expiry as of this time (RFC 3339), e.g. to preview tomorrow");
  cmd->callback([&ctx, a] { RunPrune(ctx, *a); });
}

}  // namespace lifeboat::cli
