// lifeboat lifecycle apply|show: bucket lifecycle rules that enforce the tiers' retention in the
// object store itself (S3 stores only; a local store is pruned with `lifeboat prune`).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/printer.h"
#include "ops/backup/lifecycle.h"
#include "store/s3_store.h"

namespace lifeboat::cli {
namespace {

void RunLifecycle(Context& ctx, bool apply) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  if (settings->store.rfind("s3://", 0) != 0) {
    return ctx.Fail(Status::InvalidArgument("lifecycle rules are a feature of S3 buckets; " + settings->store +
                                            " is not one (use `lifeboat prune` for local stores)"));
  }
  auto store = store::S3Store::Open(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  auto current = (*store)->GetBucketLifecycleConfiguration();
  if (!current.ok() && current.status().code() != Status::Code::kNotFound) return ctx.Fail(current.status());
  std::string existing = current.ok() ? *current : "";  // NotFound: the bucket has no rules yet
  std::string xml = existing;
  if (apply) {
    auto rules = ops::RulesForTiers(settings->prefix, settings->tiers,
                                    [&](const std::string& k) { return (*store)->FullKey(k); });
    xml = ops::LifecycleXml(rules, existing);
    if (Status s = (*store)->PutBucketLifecycleConfiguration(xml); !s.ok()) return ctx.Fail(s);
    auto back = (*store)->GetBucketLifecycleConfiguration();
    if (!back.ok()) return ctx.Fail(back.status());
    xml = *back;
  }
  auto rules = ops::ParseLifecycleRules(xml);
  if (settings->write_out == "json") {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& r : rules) {
      j.push_back({{"id", r.id}, {"prefix", r.prefix}, {"expiration_days", r.days},
                   {"noncurrent_expiration_days", r.noncurrent_days}});
    }
    std::cout << j.dump(2) << "\n";
    return;
  }
  Table t({"RULE", "PREFIX", "EXPIRE AFTER DAYS", "OLD VERSIONS AFTER DAYS"});
  for (const auto& r : rules) {
    t.AddRow({r.id, r.prefix, r.days ? std::to_string(r.days) : "-",
              r.noncurrent_days ? std::to_string(r.noncurrent_days) : "-"});
  }
  t.Print(std::cout, settings->write_out);
}

}  // namespace

void AddLifecycleCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("lifecycle", "bucket lifecycle rules that enforce the tiers' retention (S3)");
  cmd->require_subcommand(1);
  cmd->add_subcommand("apply", "install one expiration rule per tier (other rules on the bucket are kept)")
      ->callback([&ctx] { RunLifecycle(ctx, true); });
  cmd->add_subcommand("show", "print the bucket's lifecycle rules")->callback([&ctx] { RunLifecycle(ctx, false); });
}

}  // namespace lifeboat::cli
