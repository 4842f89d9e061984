// lifeboat backup: snapshot a non-leader member into the store, verified, with a manifest.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "catalog/manifest.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/progress.h"
#include "ops/backup.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct BackupArgs {
  std::string source, tier, stall_timeout, max_rate;
  int64_t max_lag = -1;
};

void RunBackup(Context& ctx, const BackupArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  ops::BackupOptions bo;
  bo.prefix = settings->prefix;
  bo.cluster_name = settings->cluster_name;
  bo.source.mode = a.source.empty() ? settings->source : a.source;
  bo.source.max_lag = a.max_lag >= 0 ? static_cast<uint64_t>(a.max_lag) : settings->max_lag;
  bo.tier = a.tier.empty() ? settings->tier : a.tier;
  bo.stall_timeout = settings->stall_timeout;
  bo.max_rate = settings->max_rate;
  if (!a.stall_timeout.empty()) {
    auto d = ParseDuration(a.stall_timeout, "--stall-timeout");
    if (!d.ok()) return ctx.Fail(d.status());
    bo.stall_timeout = *d;
  }
  if (!a.max_rate.empty()) {
    auto r = ParseBytes(a.max_rate, "--max-rate");
    if (!r.ok()) return ctx.Fail(r.status());
    bo.max_rate = *r;
  }
  if (Status s = ops::ValidateSourceMode(bo.source.mode); !s.ok()) return ctx.Fail(s);

  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  Progress progress("snapshot");
  auto m = ops::RunBackup(settings->client, bo, **store, [&](uint64_t d, uint64_t t) { progress.Update(d, t); });
  progress.Finish();
  if (!m.ok()) return ctx.Fail(m.status());

  if (settings->write_out == "json") {
    std::cout << catalog::ToJsonValue(*m).dump(2) << "\n";
    return;
  }
  Table t({"TIER", "MEMBER", "LEADER", "REVISION", "SIZE", "SHA256", "OBJECT"});
  t.AddRow({m->tier, m->member_name, m->source_is_leader ? "true" : "false", std::to_string(m->revision),
            HumanBytes(m->size), m->sha256.substr(0, 16), (*store)->Describe() + "/" + m->object_key});
  t.Print(std::cout, settings->write_out);
}

}  // namespace

void AddBackupCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BackupArgs>();
  auto* cmd = app.add_subcommand("backup", "snapshot a (non-leader) member into the store, verified");
  cmd->add_option("--source", a->source, "follower (default), leader, any (follower, else leader), or a member name");
  cmd->add_option("--max-lag", a->max_lag, "a follower may trail the leader by at most this many raft entries (1000)");
  cmd->add_option("--tier", a->tier, "tier name, the folder under the prefix (default hourly)");
  cmd->add_option("--stall-timeout", a->stall_timeout, "abort when the member sends nothing for this long (30s)");
  cmd->add_option("--max-rate", a->max_rate, "limit the snapshot rate, e.g. 50MB (default: unlimited)");
  cmd->callback([&ctx, a] { RunBackup(ctx, *a); });
}

}  // namespace lifeboat::cli
