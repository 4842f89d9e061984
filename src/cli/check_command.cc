// lifeboat check: do all members hold the same data? Exit 0 consistent, 1 divergent or a member
// could not be checked, 2 when fewer than two members answer (nothing to compare).
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/report_json.h"
#include "ops/verify/check.h"

namespace lifeboat::cli {
namespace {

std::string Opt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

void RunCheck(Context& ctx, const std::string& settle) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  ops::SurveyOptions so;
  so.whole_cluster = true;  // a check that skips a member proves nothing about it
  so.hashes = true;
  auto st = ParseDuration(settle, "--settle-timeout");
  if (!st.ok()) return ctx.Fail(st.status());
  so.settle_timeout = *st;
  auto report = ops::Survey(settings->client, so);
  if (!report.ok()) return ctx.Fail(report.status());
  ops::CheckResult res = ops::Judge(*report);

  std::vector<bool> divergent(report->reports.size(), false);
  for (size_t i : res.divergent) divergent[i] = true;

  if (settings->write_out == "json") {
    nlohmann::json j = ReportToJson(*report);
    j["verdict"] = ops::VerdictName(res.verdict);
    j["findings"] = res.findings;
    for (size_t i = 0; i < report->reports.size(); ++i) j["members"][i]["divergent"] = divergent[i];
    std::cout << j.dump(2) << "\n";
  } else {
    std::string at = std::to_string(report->common_revision);
    Table t({"NAME", "ENDPOINT", "VERSION", "STORAGE", "LEADER", "RAFT APPLIED INDEX", "REVISION", "KEYS", "KEYS@" + at, "HASHKV@" + at,
             "COMPACTED", "STATE"});
    for (size_t i = 0; i < report->reports.size(); ++i) {
      const auto& r = report->reports[i];
      if (!r.reachable) {
        t.AddRow({r.name, r.endpoint, "", "", "", "", "", "", "", "", "", "UNREACHABLE"});
        continue;
      }
      t.AddRow({r.name, r.endpoint, r.status.version,
                r.status.storage_version.empty() ? "-" : r.status.storage_version, r.is_leader ? "*" : "", std::to_string(r.status.raft_applied_index),
                std::to_string(r.status.header.revision), Opt(r.keys), Opt(r.keys_at_common),
                r.hash ? std::to_string(*r.hash) : "error",
                r.compact_revision > 0 ? std::to_string(r.compact_revision) : "-",
                divergent[i] ? "DIVERGENT" : "ok"});
    }
    t.Print(std::cout, settings->write_out);
    for (const auto& f : res.findings) std::cout << "- " << f << "\n";
    std::cout << "verdict: " << ops::VerdictName(res.verdict) << "\n";
  }
  switch (res.verdict) {
    case ops::CheckResult::Verdict::kConsistent: ctx.exit_code = 0; break;
    case ops::CheckResult::Verdict::kCannotJudge: ctx.exit_code = 2; break;
    default: ctx.exit_code = 1;
  }
}

}  // namespace

void AddCheckCommand(CLI::App& app, Context& ctx) {
  auto settle = std::make_shared<std::string>("3s");
  auto* cmd = app.add_subcommand("check", "verify every member holds the same data (revision, HashKV, key counts)");
  cmd->add_option("--settle-timeout", *settle, "how long to wait for members to reach the same applied index");
  cmd->callback([&ctx, settle] { RunCheck(ctx, *settle); });
}

}  // namespace lifeboat::cli
