// lifeboat backup: snapshot a non-leader member into the store, verified, with a manifest.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "catalog/manifest.h"
#include "catalog/layout.h"
#include "catalog/tiers.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/progress.h"
#include "ops/backup/backup.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct BackupArgs {
  std::string source, stall_timeout, max_rate, compression;
  int zstd_level = 0;
  std::vector<std::string> tiers;
  int64_t max_lag = -1;
};

// The flags over the configuration, as the workflow's options.
Result<ops::BackupOptions> BuildBackupOptions(const Settings& settings, const BackupArgs& a) {
  ops::BackupOptions bo;
  bo.prefix = settings.prefix;
  bo.cluster_name = settings.cluster_name;
  bo.source.mode = a.source.empty() ? settings.source : a.source;
  bo.source.max_lag = a.max_lag >= 0 ? static_cast<uint64_t>(a.max_lag) : settings.max_lag;
  bo.tiers.clear();
  for (const auto& name : a.tiers.empty() ? std::vector<std::string>{settings.tier} : a.tiers) {
    // A configured tier writes to its folder; any other name is an ad-hoc tier (e.g. "manual")
    // that prune leaves alone.
    const catalog::Tier* t = catalog::FindTier(settings.tiers, name);
    if (t == nullptr) LB_RETURN_IF_ERROR(catalog::ValidateName(name).Annotate("--tier"));
    bo.tiers.push_back(t ? ops::TargetOf(*t) : ops::TierTarget{name, name, "", {}});
  }
  bo.stall_timeout = settings.stall_timeout;
  bo.max_rate = settings.max_rate;
  if (!a.stall_timeout.empty()) {
    LB_ASSIGN_OR_RETURN(bo.stall_timeout, ParseDuration(a.stall_timeout, "--stall-timeout"));
  }
  if (!a.max_rate.empty()) {
    LB_ASSIGN_OR_RETURN(bo.max_rate, ParseBytes(a.max_rate, "--max-rate"));
  }
  LB_RETURN_IF_ERROR(ops::ValidateSourceMode(bo.source.mode));
  std::string compression = a.compression.empty() ? settings.compression : a.compression;
  if (compression != "none" && compression != "zstd") {
    return Status::InvalidArgument("--compress '" + compression + "' must be zstd or none");
  }
  int level = a.zstd_level != 0 ? a.zstd_level : settings.zstd_level;
  if (compression == "zstd" && (level < 1 || level > 19)) {
    return Status::InvalidArgument("--zstd-level " + std::to_string(level) + " must be 1..19");
  }
  bo.zstd_level = compression == "zstd" ? level : 0;
  bo.encryption = settings.keys.get();
  bo.signing = settings.auth_keys.get();
  return bo;
}

// The stored result on stdout: JSON, or one line on the snapshot and a table of its copies.
void PrintBackupResult(const ops::BackupResult& res, const std::string& w) {
  const catalog::Manifest& m = res.manifest;
  if (w == "json") {
    nlohmann::json j = catalog::ToJsonValue(m);
    j["copies"] = nlohmann::json::array();
    for (const auto& c : res.copies) {
      j["copies"].push_back({{"store", c.store}, {"tier", c.tier}, {"object_key", c.object_key},
                             {"ok", c.status.ok()}, {"error", c.status.ok() ? "" : c.status.message()}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  double mbps = res.seconds > 0 ? static_cast<double>(m.size) / res.seconds : 0;
  std::cout << "snapshot of " << m.member_name << (m.source_is_leader ? " (the leader)" : " (follower; leader ")
            << (m.source_is_leader ? "" : m.leader_name + ")") << " at revision " << m.revision << ": "
            << HumanBytes(m.size) << " in " << fmt::format("{:.1f}", res.seconds) << "s ("
            << HumanBytes(static_cast<uint64_t>(mbps)) << "/s), sha256 " << m.sha256.substr(0, 16)
            << (m.format_version < 2 ? std::string()
                                      : ", stored " + m.compression + "/" + m.encryption +
                                            (m.key_id.empty() ? "" : " (key " + m.key_id + ")") + " " +
                                            HumanBytes(m.object_size))
            << "\n";
  Table t({"TIER", "STORE", "OBJECT", "RESULT"});
  for (const auto& c : res.copies) {
    t.AddRow({c.tier, c.store, c.object_key, c.status.ok() ? "stored" : "FAILED: " + c.status.message()});
  }
  t.Print(std::cout, w);
}

void RunBackup(Context& ctx, const BackupArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto bo = BuildBackupOptions(*settings, a);
  if (!bo.ok()) return ctx.Fail(bo.status());

  std::vector<std::unique_ptr<store::Store>> owned;
  std::vector<store::Store*> stores;
  std::vector<std::string> urls = {settings->store};
  urls.insert(urls.end(), settings->extra_stores.begin(), settings->extra_stores.end());
  std::vector<ops::StoredCopy> unopened;  // a store that cannot even be opened fails alone
  for (const auto& url : urls) {
    auto st = store::OpenStore(url);
    if (!st.ok()) {
      if (st.status().code() == Status::Code::kInvalidArgument || urls.size() == 1) return ctx.Fail(st.status());
      for (const auto& t : bo->tiers) unopened.push_back({url, t.name, "", st.status()});
      continue;
    }
    stores.push_back(st->get());
    owned.push_back(std::move(*st));
  }
  if (stores.empty()) return ctx.Fail(unopened.front().status);
  Progress progress("snapshot");
  auto res = ops::RunBackup(settings->client, *bo, stores, [&](uint64_t d, uint64_t t) { progress.Update(d, t); });
  progress.Finish();
  if (!res.ok()) return ctx.Fail(res.status());
  res->copies.insert(res->copies.end(), unopened.begin(), unopened.end());
  PrintBackupResult(*res, settings->write_out);
  for (const auto& c : res->copies) {
    if (!c.status.ok()) ctx.Fail(c.status.Annotate("copy to " + c.store + " (" + c.tier + ")"));
  }
}

}  // namespace

void AddBackupCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BackupArgs>();
  auto* cmd = app.add_subcommand("backup", "snapshot a (non-leader) member into the store, verified");
  cmd->add_option("--source", a->source, "follower (default), leader, any (follower, else leader), or a member name");
  cmd->add_option("--max-lag", a->max_lag, "a follower may trail the leader by at most this many raft entries (1000)");
  cmd->add_option("--tier", a->tiers, "tier to write (repeat for several; default hourly)");
  cmd->add_option("--stall-timeout", a->stall_timeout, "abort when the member sends nothing for this long (30s)");
  cmd->add_option("--max-rate", a->max_rate, "limit the snapshot rate, e.g. 50MB (default: unlimited)");
  cmd->add_option("--compress", a->compression, "zstd or none (default: backup.compression, none)");
  cmd->add_option("--zstd-level", a->zstd_level, "zstd level 1..19 (default 1)");
  cmd->callback([&ctx, a] { RunBackup(ctx, *a); });
}

}  // namespace lifeboat::cli
