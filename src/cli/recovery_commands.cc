// lifeboat restore-cluster and recover-member: the runbook's two recoveries, through the host
// agents (docs/recovery.md). Each step is printed once, on stderr as it ends; stdout holds the
// outcome: the members' table and one summary line (or JSON with -w json, steps included).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "agent/token.h"
#include "base/timefmt.h"
#include "cli/commands.h"
#include "cli/point_in_time.h"
#include "cli/printer.h"
#include "cli/report_json.h"
#include "cli/revision_bump.h"
#include "ops/recovery/recover_member.h"
#include "ops/recovery/restore_cluster.h"
#include "snapshot/restore.h"

namespace lifeboat::cli {
namespace {

using nlohmann::json;

json StepsJson(const std::vector<ops::StepReport>& steps) {
  json a = json::array();
  for (const auto& s : steps) a.push_back({{"step", s.step}, {"seconds", s.seconds}, {"ok", s.ok}, {"detail", s.detail}});
  return a;
}

// Each step once, as it ends, on stderr: stdout keeps only the outcome (or the JSON). A failed
// step's reason follows in the command's error line.
void PrintStep(const ops::StepReport& s) {
  std::cerr << fmt::format("  {:<17} {:>6.1f}s  {}", s.step, s.seconds, s.ok ? s.detail : "FAILED") << std::endl;
}

double TotalSeconds(const std::vector<ops::StepReport>& steps) {
  double total = 0;
  for (const auto& s : steps) total += s.seconds;
  return total;
}

void PrintMembers(const ops::ClusterReport& rep, const std::string& format) {
  Table t({"MEMBER", "ENDPOINT", "LEADER", "REVISION", "HASHKV", "KEYS"});
  for (const auto& r : rep.reports) {
    t.AddRow({r.label(), r.endpoint, r.is_leader ? "true" : "false",
              r.reachable ? std::to_string(r.status.header.revision) : "-",
              r.hash ? fmt::format("{}", *r.hash) : "-", r.keys_at_common ? std::to_string(*r.keys_at_common) : "-"});
  }
  t.Print(std::cout, format);
}

// Settings shared by both commands: the agents and their token.
struct AgentSettings {
  std::vector<std::string> agents;
  std::string token;
};

Result<AgentSettings> LoadAgents(const Settings& s) {
  if (s.agents.empty()) {
    return Status::InvalidArgument("no agents configured (set 'agents:' in the config or --agents HOST:PORT,...)");
  }
  if (s.agent_token_file.empty()) {
    return Status::InvalidArgument("no agent token (set 'agent-token-file:' in the config or --agent-token-file)");
  }
  LB_ASSIGN_OR_RETURN(std::string token, agent::ReadTokenFile(s.agent_token_file));
  return AgentSettings{s.agents, token};
}

void LogLine(const std::string& line) { std::cerr << "lifeboat: " << line << std::endl; }

// The recovery lease's flags, shared by both commands.
struct LeaseFlags {
  bool break_lease = false;
  std::string ttl = "10m";

  void AddTo(CLI::App& cmd) {
    cmd.add_flag("--break-lease", break_lease,
                 "take over the agents from another coordinator's live recovery lease (prints who held it)");
    cmd.add_option("--lease-ttl", ttl, "how long the agents keep this recovery's lease after its last renewal (10m)");
  }
  Result<std::chrono::milliseconds> Ttl() const {
    LB_ASSIGN_OR_RETURN(auto t, ParseDuration(ttl, "--lease-ttl"));
    if (t < std::chrono::seconds(3)) return Status::InvalidArgument("--lease-ttl must be at least 3s (e.g. 10m)");
    return t;
  }
};

// ---- restore-cluster ----

struct RestoreArgs {
  std::string backup = "latest", at;
  bool dry_run = false, yes = false, resume = false, allow_other = false, skip_safety = false, quarantine = false;
  bool force = false;
  std::vector<std::string> without;
  bool allow_untrusted = false, keep_staged = false;
  std::string target_version;
  RevisionBumpFlags bump;
  std::string verify_timeout = "180s", start_timeout = "120s";
  PointInTimeFlags point;
  LeaseFlags lease;
};

void PrintPlan(const ops::RestoreJournal& j) {
  std::cerr << "plan: restore every member from " << j.backup_key << "\n"
            << "      " << j.store << ", sha256 " << j.sha256 << ", " << HumanBytes(j.size) << ", revision "
            << j.revision << ", " << j.live_keys << " keys, taken from " << j.source_member << " of cluster "
            << j.source_cluster_name << "\n"
            << "      new cluster token " << j.cluster_token << ", initial cluster " << j.initial_cluster << "\n";
  Table t({"MEMBER", "AGENT", "DATA DIR", "MOVED ASIDE TO"});
  for (const auto& m : j.members) t.AddRow({m.name, m.agent, m.data_dir, m.data_dir + ".lifeboat-<UTC time>"});
  t.PrintTable(std::cerr);
  if (!j.membership_source.empty()) std::cerr << "      membership checked against " << j.membership_source << "\n";
  for (const auto& w : j.without) {
    std::cerr << "without: " << w.name << " (peer " << w.peer_url << ") is left out of the new cluster: " << w.why
              << "\n";
  }
  if (!j.target_version.empty()) std::cerr << "      restored for etcd " << j.target_version << "\n";
  if (j.bump_revision > 0) {
    std::cerr << "      revision bumped by " << j.bump_revision << " and marked compacted (watchers re-list)\n";
  }
  if (j.quarantine) {
    std::cerr << "quarantine: each member serves clients only on its quarantine URL until the cluster is verified:\n";
    for (const auto& m : j.members) std::cerr << "      " << m.name << " " << m.quarantine_client_url << "\n";
  }
}

bool Confirm(const ops::RestoreJournal& j, bool yes) {
  PrintPlan(j);
  if (yes) return true;
  std::cerr << "This stops etcd on every member above and replaces its data (old data dirs are kept).\n"
            << "Type 'yes' to go on: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes";
}

// restore-cluster's flags and settings as the workflow's options, and the stores the safety
// backup goes to (every configured store), which must outlive the run.
struct RestoreClusterRun {
  ops::RestoreClusterOptions o;
  std::vector<std::unique_ptr<store::Store>> owned;
};

// Which backup to restore: --backup, --at, or the one a point in time (--to-revision,
// --to-time) needs; the point in time chooses it alone.
Status ChooseBackup(const RestoreArgs& a, ops::RestoreClusterOptions& o) {
  o.backup_ref = a.backup;
  if (!a.at.empty()) {
    if (a.backup != "latest") return Status::InvalidArgument("give --backup or --at, not both");
    auto t = ParseRFC3339(a.at);
    if (!t.ok()) {
      return Status::InvalidArgument("--at '" + a.at + "' is not an RFC 3339 time (e.g. 2026-11-24T12:00:00Z)");
    }
    o.at = *t;
  }
  LB_ASSIGN_OR_RETURN(auto point, a.point.Parse());
  o.to_revision = point.revision;
  o.to_time = point.time;
  o.source_cluster_id = point.cluster_id;
  if ((o.to_revision > 0 || o.to_time) && (a.backup != "latest" || !a.at.empty() || a.resume)) {
    return Status::InvalidArgument("--to-revision/--to-time choose the backup themselves: drop --backup/--at");
  }
  return Status::OK();
}

// How the restore runs: dry run, safety backup, quarantine, the data's shape (target version,
// revision bump), the journal, who is left out, the timeouts and the lease.
Status ApplyRestoreFlags(const RestoreArgs& a, ops::RestoreClusterOptions& o) {
  o.allow_other_cluster = a.allow_other;
  o.dry_run = a.dry_run;
  o.safety_backup = !a.skip_safety;
  o.quarantine = a.quarantine;
  if (!a.target_version.empty()) LB_RETURN_IF_ERROR(snapshot::ParseTargetVersion(a.target_version).status());
  o.target_version = a.target_version;
  LB_ASSIGN_OR_RETURN(auto bump, a.bump.Parse());
  o.bump_revision = bump.amount;
  o.mark_compacted = bump.mark_compacted;
  o.resume = a.resume;
  o.force = a.force;
  if (a.force && !a.resume) return Status::InvalidArgument("--force goes with --resume (resume despite a later recovery)");
  for (const auto& w : a.without) {
    for (const auto& n : SplitComma(w)) o.without.push_back(n);
  }
  if (a.resume && !o.without.empty()) {
    return Status::InvalidArgument("--without is part of the plan: --resume keeps the journal's (drop --without)");
  }
  LB_ASSIGN_OR_RETURN(o.verify_timeout, ParseDuration(a.verify_timeout, "--verify-timeout"));
  LB_ASSIGN_OR_RETURN(o.start_timeout, ParseDuration(a.start_timeout, "--start-timeout"));
  LB_ASSIGN_OR_RETURN(o.lease_ttl, a.lease.Ttl());
  o.break_lease = a.lease.break_lease;
  return Status::OK();
}

// The safety backup goes to every configured store.
Status OpenSafetyStores(const Settings& settings, RestoreClusterRun& run) {
  std::vector<std::string> urls = {settings.store};
  urls.insert(urls.end(), settings.extra_stores.begin(), settings.extra_stores.end());
  for (const auto& u : urls) {
    LB_ASSIGN_OR_RETURN(auto st, store::OpenStore(u));
    run.o.safety_stores.push_back(st.get());
    run.owned.push_back(std::move(st));
  }
  return Status::OK();
}

Status BuildRestoreClusterOptions(const Settings& settings, const AgentSettings& agents, const RestoreArgs& a,
                                  RestoreClusterRun& run) {
  ops::RestoreClusterOptions& o = run.o;
  o.agents = agents.agents;
  o.agent_token = agents.token;
  o.agent_tls = settings.agent_tls;
  o.client = settings.client;
  o.store_url = settings.store;
  o.prefix = settings.prefix;
  o.cluster_name = settings.cluster_name;
  o.keys = settings.keys.get();
  o.signing = settings.auth_keys.get();
  o.trust = TrustOf(settings, a.allow_untrusted);
  o.keep_staged = a.keep_staged;
  o.zstd_level = settings.compression == "zstd" ? settings.zstd_level : 0;
  o.journal_path = settings.restore_journal;
  LB_RETURN_IF_ERROR(ChooseBackup(a, o));
  LB_RETURN_IF_ERROR(ApplyRestoreFlags(a, o));
  return OpenSafetyStores(settings, run);
}

// The result on stdout: JSON, or the members' table and one summary line (the steps went to
// stderr as they ended).
void PrintRestoreClusterResult(const ops::RestoreClusterResult& r, const std::string& journal_path,
                               const std::string& w) {
  if (w == "json") {
    json j = json::parse(ops::ToJson(r.journal));
    json out = {{"ok", r.status.ok()},
                {"dry_run", r.dry_run},
                {"failed_step", r.failed_step},
                {"error", r.status.ok() ? "" : r.status.message()},
                {"journal_path", journal_path},
                {"plan", j},
                {"steps", StepsJson(r.steps)},
                {"problems", r.problems}};
    if (r.report) out["cluster"] = ReportToJson(*r.report);
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (r.report) PrintMembers(*r.report, w);
  for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
  if (r.status.ok() && !r.dry_run) {
    std::string kept;
    for (const auto& m : r.journal.members) {
      for (const auto& d : m.moved_to) kept += (kept.empty() ? "" : ", ") + d;
    }
    const auto& j = r.journal;
    std::string bumped = j.bump_revision == 0 ? "" : fmt::format("; revision {} -> {} (bumped by {}, compacted there)",
                                                                  j.revision, j.restored_revision, j.bump_revision);
    std::cout << fmt::format("restored {} members from {} in {:.1f}s{}; {}\n", j.members.size(), j.backup_key,
                             TotalSeconds(r.steps), bumped,
                             kept.empty() ? "there were no old data dirs" : "old data dirs kept: " + kept);
  } else if (r.dry_run) {
    std::cout << "dry run: preflight passed, nothing changed\n";
  }
}

void RunRestoreCluster(Context& ctx, const RestoreArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  auto agents = LoadAgents(*settings);
  if (!agents.ok()) return ctx.Fail(agents.status());
  if (!a.yes && !a.dry_run && !a.resume && isatty(STDIN_FILENO) == 0) {
    return ctx.Fail(Status::InvalidArgument("restore-cluster needs --yes when not run on a terminal (or --dry-run "
                                            "to see the plan)"));
  }
  RestoreClusterRun run;
  if (Status s = BuildRestoreClusterOptions(*settings, *agents, a, run); !s.ok()) return ctx.Fail(s);
  ops::RestoreClusterOptions& o = run.o;
  o.confirm = [&](const ops::RestoreJournal& j) { return Confirm(j, a.yes); };
  o.log = LogLine;
  o.step_done = PrintStep;

  ops::RestoreClusterResult r = ops::RestoreCluster(o);
  if (a.dry_run && r.status.ok()) PrintPlan(r.journal);
  PrintRestoreClusterResult(r, o.journal_path, settings->write_out);
  if (!r.status.ok()) {
    std::string hint = r.lease_lost && r.journaled
                           ? " (another coordinator owns this cluster now; this journal, " + o.journal_path +
                                 ", stays unfinished: move it away once that recovery is done)"
                       : r.lease_lost ? " (another coordinator owns this cluster now)"
                       : r.journaled  ? " (fix that, then: lifeboat restore-cluster --resume; journal " + o.journal_path + ")"
                                      : " (nothing was changed)";
    std::string at = r.failed_step.empty() ? "restore-cluster" : "restore-cluster failed at " + r.failed_step;
    ctx.Fail(r.status.WithMessage(at + ": " + r.status.message() + hint));
  }
}

// ---- recover-member ----

struct RecoverArgs {
  std::string name, timeout = "10m";
  bool auto_pick = false, force = false, no_learner = false;
  LeaseFlags lease;
};

Result<ops::RecoverMemberOptions> RecoverMemberOptionsOf(const Settings& settings, const AgentSettings& agents,
                                                          const RecoverArgs& a) {
  ops::RecoverMemberOptions o;
  o.agents = agents.agents;
  o.agent_token = agents.token;
  o.agent_tls = settings.agent_tls;
  o.client = settings.client;
  o.name = a.name;
  o.auto_pick = a.auto_pick;
  o.force = a.force;
  o.learner = !a.no_learner;
  LB_ASSIGN_OR_RETURN(o.timeout, ParseDuration(a.timeout, "--timeout"));
  LB_ASSIGN_OR_RETURN(o.lease_ttl, a.lease.Ttl());
  o.break_lease = a.lease.break_lease;
  o.log = LogLine;
  o.step_done = PrintStep;
  return o;
}

// The result on stdout: JSON, or the members' table and one summary line (the steps went to
// stderr as they ended).
void PrintRecoverMemberResult(const ops::RecoverMemberResult& r, const std::string& w) {
  if (w == "json") {
    json out = {{"ok", r.status.ok()},
                {"nothing_to_do", r.nothing_to_do},
                {"finished_learner", r.finished_learner},
                {"member", r.name},
                {"agent", r.agent},
                {"peer_url", r.peer_url},
                {"old_id", etcd::IdHex(r.old_id)},
                {"new_id", etcd::IdHex(r.new_id)},
                {"moved_to", r.moved_to},
                {"failed_step", r.failed_step},
                {"error", r.status.ok() ? "" : r.status.message()},
                {"steps", StepsJson(r.steps)}};
    if (r.report) out["cluster"] = ReportToJson(*r.report);
    std::cout << out.dump(2) << "\n";
    return;
  }
  if (r.report && r.status.ok()) PrintMembers(*r.report, w);
  if (r.nothing_to_do) {
    std::cout << "nothing to recover: every member is healthy and consistent\n";
  } else if (r.status.ok()) {
    std::string kept;
    for (const auto& d : r.moved_to) kept += (kept.empty() ? "" : ", ") + d;
    std::string ids = r.finished_learner ? fmt::format("learner {} promoted", etcd::IdHex(r.new_id))
                      : r.old_id != 0   ? fmt::format("member {} replaced by {}", etcd::IdHex(r.old_id), etcd::IdHex(r.new_id))
                                        : fmt::format("added as member {}", etcd::IdHex(r.new_id));
    std::cout << fmt::format("recovered {}: {} in {:.1f}s; {}\n", r.name, ids, TotalSeconds(r.steps),
                             kept.empty() ? "it had no data dir left" : "old data dir kept: " + kept);
  }
}

void RunRecoverMember(Context& ctx, const RecoverArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  if (a.name.empty() == !a.auto_pick) {
    return ctx.Fail(Status::InvalidArgument("give the member's NAME or --auto (one of them)"));
  }
  auto agents = LoadAgents(*settings);
  if (!agents.ok()) return ctx.Fail(agents.status());
  auto o = RecoverMemberOptionsOf(*settings, *agents, a);
  if (!o.ok()) return ctx.Fail(o.status());
  ops::RecoverMemberResult r = ops::RecoverMember(*o);
  PrintRecoverMemberResult(r, settings->write_out);
  if (!r.status.ok()) {
    std::string hint = r.lease_lost ? " (another coordinator owns this cluster now)" : "";
    ctx.Fail(r.status.WithMessage("recover-member failed at " + r.failed_step + ": " + r.status.message() + hint));
  }
}

}  // namespace

void AddRestoreClusterCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<RestoreArgs>();
  auto* cmd = app.add_subcommand("restore-cluster", "restore every member from the same backup, through the agents");
  cmd->add_option("--backup", a->backup, "latest (default), an object key or a backup name (see `lifeboat list`)");
  cmd->add_option("--at", a->at, "the newest backup finished at or before this RFC 3339 time");
  a->point.AddTo(*cmd);
  cmd->add_flag("--dry-run", a->dry_run,
                "preflight and print the plan: stages the backup on each agent (removed at the end unless "
                "--keep-staged), but never stops etcd or moves data");
  cmd->add_flag("--yes", a->yes, "do not ask for confirmation");
  cmd->add_flag("--resume", a->resume, "finish the restore recorded in the journal");
  cmd->add_flag("--force", a->force,
                "with --resume: resume even though a later recovery finished on a member since the plan (undoes it)");
  cmd->add_option("--without", a->without,
                  "leave this member (gone for good) out of the new cluster; refused while any of its URLs answers");
  cmd->add_flag("--allow-other-cluster", a->allow_other, "restore a backup taken from another cluster");
  cmd->add_flag("--allow-unencrypted", a->allow_untrusted, kAllowUntrustedHelp);
  cmd->add_flag("--keep-staged", a->keep_staged,
                "keep the staged copies on the agents' hosts after the restore or dry run (default: removed)");
  cmd->add_flag("--skip-safety-backup", a->skip_safety, "do not back up what still runs before stopping it");
  cmd->add_option("--target-version", a->target_version,
                  "restore every member for this etcd: 3.4, 3.5, 3.6 or 3.7 (default: the backup's own version; "
                  "older than its cluster version is refused)");
  a->bump.AddTo(*cmd, /*kubernetes=*/true);
  cmd->add_flag("--quarantine", a->quarantine,
                "serve clients only after verification (members start on their agents' quarantine-client-url)");
  cmd->add_option("--journal", ctx.flags.journal, "journal file (default /var/lib/lifeboat/restore-journal.json)");
  cmd->add_option("--agents", ctx.flags.agents, "comma-separated HOST:PORT of the agents (env LIFEBOAT_AGENTS)");
  cmd->add_option("--agent-token-file", ctx.flags.agent_token_file, "file with the agents' bearer token");
  cmd->add_option("--start-timeout", a->start_timeout, "how long each member may take to answer after start (120s)");
  cmd->add_option("--verify-timeout", a->verify_timeout, "how long the restored cluster may take to verify (180s)");
  a->lease.AddTo(*cmd);
  cmd->callback([&ctx, a] { RunRestoreCluster(ctx, *a); });
}

void AddRecoverMemberCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<RecoverArgs>();
  auto* cmd = app.add_subcommand("recover-member", "replace one broken member: remove, re-add, resync");
  cmd->add_option("name", a->name, "the member to replace");
  cmd->add_flag("--auto", a->auto_pick, "find the one broken (unreachable or divergent) member");
  cmd->add_flag("--force", a->force, "replace a member even though it is healthy");
  cmd->add_flag("--no-learner", a->no_learner, "add it as a voting member at once (default: learner, then promote)");
  cmd->add_option("--timeout", a->timeout, "deadline for membership changes and the catch-up (10m)");
  a->lease.AddTo(*cmd);
  cmd->add_option("--agents", ctx.flags.agents, "comma-separated HOST:PORT of the agents (env LIFEBOAT_AGENTS)");
  cmd->add_option("--agent-token-file", ctx.flags.agent_token_file, "file with the agents' bearer token");
  cmd->callback([&ctx, a] { RunRecoverMember(ctx, *a); });
}

}  // namespace lifeboat::cli
