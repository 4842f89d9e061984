// lifeboat drill: prove a backup restores (ops/drill.h) and record when it did.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/revision_bump.h"
#include "ops/verify/drill.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct DrillArgs {
  std::string backup = "latest", tier, etcd_binary;
  bool no_record = false, allow_untrusted = false;
  RevisionBumpFlags bump;
};

void RunDrill(Context& ctx, const DrillArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto bump = a.bump.Parse();
  if (!bump.ok()) return ctx.Fail(bump.status());
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  ops::DrillOptions o;
  o.prefix = settings->prefix;
  o.ref = a.backup;
  o.tier_folder = a.tier.empty() ? "" : TierFolder(*settings, a.tier);
  o.etcd_binary = a.etcd_binary.empty() ? settings->etcd_binary : a.etcd_binary;
  o.record = !a.no_record;
  o.keys = settings->keys.get();
  o.trust = TrustOf(*settings, a.allow_untrusted);
  o.bump_revision = bump->amount;
  o.mark_compacted = bump->mark_compacted;
  o.log = [](const std::string& line) { std::cerr << "lifeboat: " << line << std::endl; };
  auto rec = ops::RunDrill(**store, o);
  if (!rec.ok()) return ctx.Fail(rec.status());
  if (settings->write_out == "json") {
    std::cout << catalog::ToJson(*rec) << "\n";
  } else {
    Table t({"BACKUP", "RESULT", "REVISION", "KEYS", "ETCD", "SECONDS"});
    t.AddRow({rec->object_key, rec->ok ? "restored and served" : "FAILED: " + rec->error,
              fmt::format("{} (snapshot {})", rec->revision, rec->expected_revision),
              fmt::format("{} (snapshot {})", rec->keys, rec->expected_keys), rec->etcd_version,
              fmt::format("{:.1f}", rec->seconds)});
    t.Print(std::cout, settings->write_out);
  }
  if (!rec->ok) ctx.Fail(Status::Corruption("drill of " + rec->object_key + " failed: " + rec->error));
}

}  // namespace

void AddDrillCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DrillArgs>();
  auto* cmd = app.add_subcommand("drill", "restore a backup into a throwaway etcd and check what it serves");
  cmd->add_option("--backup", a->backup, "latest (default), an object key or a backup name");
  cmd->add_option("--tier", a->tier, "with latest: the newest of this tier");
  cmd->add_option("--etcd-binary", a->etcd_binary, "the etcd to start (default: drill.etcd-binary or etcd in PATH)");
  cmd->add_flag("--no-record", a->no_record, "do not store the outcome beside the backup");
  cmd->add_flag("--allow-unencrypted", a->allow_untrusted, kAllowUntrustedHelp);
  a->bump.AddTo(*cmd);
  cmd->callback([&ctx, a] { RunDrill(ctx, *a); });
}

}  // namespace lifeboat::cli
