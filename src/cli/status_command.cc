// lifeboat status: etcdctl's `endpoint status`, plus what a consistency-minded operator wants on
// the same screen: member name, reachability, alarms, live key count, HashKV at a common revision
// and the compact revision (after a restore with --bump-revision --mark-compacted, revision and
// compact revision jump together: no history below it).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/report_json.h"
#include "agent/token.h"
#include "ops/recovery/recovery_lease.h"
#include "ops/verify/survey.h"

namespace lifeboat::cli {
namespace {

struct StatusArgs {
  bool cluster = false;
  bool no_hash = false;
};

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "; ") + x;
  return s;
}

// With agents configured: the recovery leases they hold, one line per holder.
std::vector<std::string> Leases(const Settings& s) {
  const std::string& file = s.agent_observe_token_file.empty() ? s.agent_token_file : s.agent_observe_token_file;
  if (s.agents.empty() || file.empty()) return {};
  auto token = agent::ReadTokenFile(file);
  if (!token.ok()) {
    std::cerr << "lifeboat: agents not asked for recovery leases: " << token.status().message() << "\n";
    return {};
  }
  std::vector<std::string> unreachable;
  auto held = ops::RecoveryInProgress(s.agents, *token, s.agent_tls, &unreachable);
  for (const auto& u : unreachable) std::cerr << "lifeboat: " << u << "\n";
  return held;
}

void RunStatus(Context& ctx, const StatusArgs& args) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  const std::vector<std::string> leases = Leases(*settings);
  ops::SurveyOptions so;
  so.whole_cluster = args.cluster;
  so.hashes = !args.no_hash;
  so.settle_timeout = std::chrono::milliseconds(1000);
  auto report = ops::Survey(settings->client, so);
  if (!report.ok()) {
    // A recovery that stopped the members explains why none answers.
    for (const auto& l : leases) std::cerr << "lifeboat: recovery in progress: " << l << "\n";
    return ctx.Fail(report.status());
  }

  if (settings->write_out == "json") {
    auto j = ReportToJson(*report);
    j["recovery_leases"] = leases;
    std::cout << j.dump(2) << "\n";
  } else {
    Table t({"ENDPOINT", "NAME", "ID", "VERSION", "STORAGE", "DB SIZE", "IN USE", "IS LEADER", "IS LEARNER", "RAFT TERM",
             "RAFT INDEX", "RAFT APPLIED INDEX", "REVISION", "COMPACTED", "KEYS",
             "HASHKV@" + std::to_string(report->common_revision), "ERRORS"});
    for (const auto& r : report->reports) {
      if (!r.reachable) {
        t.AddRow({r.endpoint, r.name, r.id ? etcd::IdHex(r.id) : "", "", "", "", "", "", "", "", "", "", "", "", "",
                  "", "unreachable: " + r.error});
        continue;
      }
      std::vector<std::string> errs = r.status.errors;
      for (const auto& a : r.alarms) errs.push_back("alarm " + a);
      if (!r.hash_error.empty()) errs.push_back(r.hash_error);
      const auto& s = r.status;
      t.AddRow({r.endpoint, r.name, etcd::IdHex(r.id), s.version,
                s.storage_version.empty() ? "-" : s.storage_version, HumanBytes(s.db_size), HumanBytes(s.db_size_in_use),
                r.is_leader ? "true" : "false", s.is_learner ? "true" : "false", std::to_string(s.raft_term),
                std::to_string(s.raft_index), std::to_string(s.raft_applied_index), std::to_string(s.header.revision),
                r.hash ? std::to_string(r.compact_revision) : "", r.keys ? std::to_string(*r.keys) : "",
                r.hash ? std::to_string(*r.hash) : "", Join(errs)});
    }
    t.Print(std::cout, settings->write_out);
    for (const auto& l : leases) std::cout << "recovery in progress: " << l << "\n";
  }
  // etcdctl exits 1 when an endpoint fails; so do we, after printing what did answer.
  for (const auto& r : report->reports) {
    if (!r.reachable) ctx.exit_code = 1;
  }
}

}  // namespace

void AddStatusCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<StatusArgs>();
  auto* cmd = app.add_subcommand("status", "per-member status: leader, revision, raft indexes, db size, HashKV");
  cmd->add_flag("--cluster", args->cluster, "query every member in the member list, not just --endpoints");
  cmd->add_flag("--no-hash", args->no_hash, "skip HashKV and key counts (faster on huge databases)");
  cmd->callback([&ctx, args] { RunStatus(ctx, *args); });
}

}  // namespace lifeboat::cli
