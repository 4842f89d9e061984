#include "daemon/daemon.h"

#include <malloc.h>

#include <memory>
#include <random>
#include <thread>

#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "catalog/drill_record.h"
#include "catalog/layout.h"
#include "daemon/scheduler.h"
#include "etcd/client.h"
#include "etcd/first_answering.h"
#include "ops/backup/backup.h"
#include "ops/verify/check.h"
#include "ops/verify/drill.h"
#include "ops/recovery/recovery_lease.h"
#include "ops/backup/retention.h"
#include "store/store.h"

namespace lifeboat::daemon {

using Clock = std::chrono::system_clock;

std::string Daemon::Scope() const {
  return catalog::SanitizeName(config_.cluster_name.empty() ? catalog::NormalizePrefix(config_.prefix)
                                                             : config_.cluster_name);
}

namespace {
std::string UnixSeconds(Clock::time_point at) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count());
}
}  // namespace

std::string Daemon::ClaimKey(Clock::time_point at) const { return "/lifeboat/ticks/" + Scope() + "/" + UnixSeconds(at); }

std::string Daemon::CheckClaimKey(Clock::time_point at) const {
  return "/lifeboat/checks/" + Scope() + "/" + UnixSeconds(at);
}

std::string Daemon::VerdictKey() const { return "/lifeboat/verdicts/" + Scope(); }

bool Daemon::SleepUntil(Clock::time_point t, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto now = Clock::now();
    if (now >= t) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(t - now, std::chrono::milliseconds(100)));
  }
  return false;
}

Status Daemon::WithAnyMember(const std::function<Status(etcd::Client&)>& call) {
  // Claims and verdicts are raft writes and linearizable reads: any member will do.
  return etcd::FirstAnswering(config_.client.endpoints, config_.client, call).status();
}

Result<bool> Daemon::Claim(const std::string& key) {
  // A day's lease outlives any retry of the tick.
  bool won = false;
  LB_RETURN_IF_ERROR(WithAnyMember([&](etcd::Client& c) -> Status {
    LB_ASSIGN_OR_RETURN(won, c.CreateIfAbsent(key, config_.identity, std::chrono::hours(24)));
    return Status::OK();
  }));
  return won;
}

bool Daemon::RecoveryHolds(const std::string& what, bool count) {
  if (config_.agents.empty()) return false;
  std::vector<std::string> unreachable;
  auto held = ops::RecoveryInProgress(config_.agents, config_.agent_token, config_.agent_tls, &unreachable);
  // An agent that does not answer cannot say; backing up what runs is then the safer mistake.
  for (const auto& u : unreachable) log_.Warn("{}: not asked for a recovery lease: {}", what, u);
  if (held.empty()) {
    metrics_.SetRecoveryInProgress(false);
    return false;
  }
  for (const auto& h : held) log_.Warn("{}: skipped, recovery in progress: {}", what, h);
  if (count) {
    metrics_.RecordSkippedForRecovery();
  } else {
    metrics_.SetRecoveryInProgress(true);
  }
  return true;
}

catalog::TrustPolicy Daemon::Trust() const {
  return catalog::TrustPolicy{config_.auth_keys.get(), config_.keys != nullptr, false};
}

void Daemon::RunDrill(Clock::time_point at) {
  auto st = store::OpenStore(config_.store_urls.front());
  StoreResult(config_.store_urls.front(), st.status());
  if (!st.ok()) {
    log_.Error("drill {}: {}", FormatRFC3339(at), st.status().message());
    metrics_.RecordDrill(false, 0);
    return;
  }
  ops::DrillOptions o;
  o.prefix = config_.prefix;
  o.etcd_binary = config_.etcd_binary;
  o.keys = config_.keys.get();
  o.trust = Trust();
  o.log = [&](const std::string& line) {
    if (line.rfind("skipped", 0) == 0) log_.Warn("drill {}: {}", FormatRFC3339(at), line);
  };
  auto rec = ops::RunDrill(**st, o);
  if (!rec.ok()) {
    log_.Error("drill {}: {}", FormatRFC3339(at), rec.status().message());
    metrics_.RecordDrill(false, 0);
    return;
  }
  metrics_.RecordDrill(rec->ok, rec->seconds);
  if (rec->ok) {
    log_.Info("drill {}: {} restored and served revision {} with {} keys ({:.1f}s)", FormatRFC3339(at),
                 rec->object_key, rec->revision, rec->keys, rec->seconds);
  } else {
    log_.Error("drill {}: {} FAILED: {}", FormatRFC3339(at), rec->object_key, rec->error);
    metrics_.SetLastError("drill: " + rec->error);
  }
}

// A tick runs on one daemon only: the one that creates its claim key in etcd.
bool Daemon::ClaimTick(const std::vector<catalog::Tier>& tiers, Clock::time_point at, const std::string& names) {
  if (RecoveryHolds("tick " + FormatRFC3339(at) + " (" + names + ")")) return false;
  auto won = Claim(ClaimKey(at));
  if (!won.ok()) {
    log_.Error("tick {} ({}): cannot claim it in etcd: {}", FormatRFC3339(at), names, won.status().message());
    metrics_.SetLastError(won.status().message());
    for (const auto& t : tiers) {
      for (const auto& s : config_.store_urls) metrics_.RecordBackup(t.name, s, false, 0, 0);
    }
    return false;
  }
  metrics_.RecordTick(*won);
  if (!*won) log_.Info("tick {} ({}): another daemon claimed it", FormatRFC3339(at), names);
  return *won;
}

// The stores that open; each that does not counts as a failed backup of every tier due.
std::vector<store::Store*> Daemon::OpenStores(const std::vector<catalog::Tier>& tiers,
                                              std::vector<std::unique_ptr<store::Store>>& owned) {
  std::vector<store::Store*> stores;
  for (const auto& url : config_.store_urls) {
    auto st = store::OpenStore(url);
    StoreResult(url, st.status());
    if (!st.ok()) {
      log_.Error("store {}: {}", url, st.status().message());
      for (const auto& t : tiers) metrics_.RecordBackup(t.name, url, false, 0, 0);
      continue;
    }
    stores.push_back(st->get());
    owned.push_back(std::move(*st));
  }
  return stores;
}

ops::BackupOptions Daemon::BackupOptionsFor(const std::vector<catalog::Tier>& tiers) const {
  ops::BackupOptions bo;
  bo.source = config_.source;
  bo.prefix = config_.prefix;
  bo.cluster_name = config_.cluster_name;
  bo.stall_timeout = config_.stall_timeout;
  bo.max_rate = config_.max_rate;
  bo.zstd_level = config_.zstd_level;
  bo.encryption = config_.keys.get();
  bo.signing = config_.auth_keys.get();
  bo.tiers.clear();
  for (const auto& t : tiers) bo.tiers.push_back(ops::TargetOf(t));
  return bo;
}

// Nothing was stored: etcd's fault or the store's. A store that does not answer even a Stat is
// to blame; one that does is not counted either way.
void Daemon::ReportFailedBackup(const std::vector<catalog::Tier>& tiers, const std::vector<store::Store*>& stores,
                                const Status& failure, Clock::time_point at, const std::string& names) {
  log_.Error("tick {} ({}): backup failed: {}", FormatRFC3339(at), names, failure.message());
  metrics_.SetLastError(failure.message());
  for (auto* s : stores) {
    for (const auto& t : tiers) metrics_.RecordBackup(t.name, s->Describe(), false, 0, 0);
    const std::string folder = catalog::NormalizePrefix(config_.prefix);
    Status probe = s->Stat((folder.empty() ? "" : folder + "/") + "lifeboat-store-probe").status();
    if (!probe.ok() && probe.code() != Status::Code::kNotFound) StoreResult(s->Describe(), probe);
  }
}

// Each copy's outcome, per tier and store.
void Daemon::ReportCopies(const ops::BackupResult& res, Clock::time_point at) {
  for (const auto& c : res.copies) {
    StoreResult(c.store, c.status);
    metrics_.RecordBackup(c.tier, c.store, c.status.ok(), res.seconds, res.manifest.size);
    if (c.status.ok()) {
      log_.Info("tick {}: stored {} ({} bytes, revision {}, from {}) in {}", FormatRFC3339(at), c.object_key,
                   res.manifest.size, res.manifest.revision, res.manifest.member_name, c.store);
    } else {
      log_.Error("tick {}: copy to {} ({}) failed: {}", FormatRFC3339(at), c.store, c.tier, c.status.message());
      metrics_.SetLastError(c.status.message());
    }
  }
}

bool Daemon::RunTick(const std::vector<catalog::Tier>& tiers, Clock::time_point at) {
  std::string names;
  for (const auto& t : tiers) names += (names.empty() ? "" : ",") + t.name;
  if (!ClaimTick(tiers, at, names)) return false;
  std::vector<std::unique_ptr<store::Store>> owned;
  std::vector<store::Store*> stores = OpenStores(tiers, owned);
  if (stores.empty()) return true;
  auto res = ops::RunBackup(config_.client, BackupOptionsFor(tiers), stores, nullptr);
  if (!res.ok()) {
    ReportFailedBackup(tiers, stores, res.status(), at, names);
    return true;
  }
  ReportCopies(*res, at);
  if (config_.prune) Prune(stores);
  return true;
}

void Daemon::Prune(const std::vector<store::Store*>& stores) {
  for (auto* s : stores) {
    auto plan = ops::PlanPrune(*s, config_.prefix, config_.tiers, Clock::now(), ops::kRestoreTierKeep, Trust());
    if (!plan.ok()) {
      log_.Error("prune {}: {}", s->Describe(), plan.status().message());
      continue;
    }
    Status applied = ops::ApplyPrune(*s, *plan);
    for (const auto& i : *plan) {
      if (i.action == ops::PruneItem::Action::kDelete) {
        log_.Info("prune {}: deleted {} ({})", s->Describe(), i.object_key, i.why);
      } else if (i.action == ops::PruneItem::Action::kProblem) {
        log_.Warn("prune {}: {} left alone: {}", s->Describe(), i.object_key, i.why);
      }
    }
    if (!applied.ok()) log_.Error("prune {}: {}", s->Describe(), applied.message());
  }
}

void Daemon::SeedMetrics() {
  auto now = Clock::now();
  for (const auto& t : config_.tiers) metrics_.SetTierInterval(t.name, LongestGap(t.schedule, now));
  metrics_.SetDrillInterval(config_.drill_schedule ? LongestGap(*config_.drill_schedule, now) : 0);
  metrics_.SetCheckInterval(config_.check_schedule ? LongestGap(*config_.check_schedule, now) : 0);
  metrics_.SetChangeLogEnabled(config_.changelog);
  metrics_.SetInfo(config_.cluster_name);
  auto unix_seconds = [](Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); };
  for (const auto& url : config_.store_urls) {
    auto st = store::OpenStore(url);
    if (!st.ok()) continue;  // the first tick reports it
    for (const auto& t : config_.tiers) {
      double newest = 0;
      auto l = catalog::ListBackups(**st, config_.prefix, t.folder, Trust());
      const catalog::Selection newest_backup = l.ok() ? catalog::NewestTrusted(*l) : catalog::Selection{};
      if (const auto& b = newest_backup.entry) {
        if (auto f = ParseRFC3339(b->manifest.finished_at); f.ok()) newest = unix_seconds(*f);
        // A drill proves the newest backup of a tier; older ones are not looked at.
        if (auto d = catalog::ReadDrillRecord(**st, b->manifest.object_key); d.ok() && *d && (*d)->ok) {
          if (auto at = ParseRFC3339((*d)->drilled_at); at.ok()) metrics_.SeedVerifiedRestore(unix_seconds(*at));
        }
      }
      metrics_.SeedBackup(t.name, (*st)->Describe(), newest);
    }
  }
}

Status Daemon::CheckConfig() const {
  LB_RETURN_IF_ERROR(catalog::ValidateTiers(config_.tiers));
  if (config_.store_urls.empty()) return Status::InvalidArgument("the daemon needs a store (--store or store:)");
  if (config_.changelog && config_.cluster_name.empty()) {
    return Status::InvalidArgument("changelog.enabled needs cluster-name (the log's folder in the store)");
  }
  return Status::OK();
}

// Makes up a tick missed while no daemon ran (judged from the first store's newest backups).
void Daemon::MakeUpMissedTick() {
  auto st = store::OpenStore(config_.store_urls.front());
  if (!st.ok()) return;
  std::vector<Clock::time_point> newest;
  for (const auto& t : config_.tiers) {
    Clock::time_point n = Clock::time_point::min();
    auto l = catalog::ListBackups(**st, config_.prefix, t.folder, Trust());
    const catalog::Selection newest_backup = l.ok() ? catalog::NewestTrusted(*l) : catalog::Selection{};
    for (const auto& why : newest_backup.skipped) log_.Warn("start-up: skipped untrusted backup {}", why);
    if (const auto& b = newest_backup.entry) {
      if (auto f = ParseRFC3339(b->manifest.finished_at); f.ok()) n = *f;
    }
    newest.push_back(n);
  }
  Tick missed = MissedTick(config_.tiers, newest, Clock::now());
  if (!missed.tiers.empty()) {
    log_.Info("start-up: the tick of {} was missed; running it now", FormatRFC3339(missed.at));
    RunTick(missed.tiers, missed.at);
  }
}

// A drill after a backup of the same tick drills that fresh backup; alone, it claims the tick.
void Daemon::RunDue(const Tick& due, const std::atomic<bool>& stop) {
  bool claimed = due.tiers.empty() ? false : RunTick(due.tiers, due.at);
  if (due.drill) {
    if (!due.tiers.empty() && !claimed) return;
    if (due.tiers.empty()) {
      if (RecoveryHolds("drill " + FormatRFC3339(due.at))) return;
      auto won = Claim(ClaimKey(due.at));
      claimed = won.ok() && *won;
      if (won.ok()) metrics_.RecordTick(*won);
    }
    if (claimed && !stop.load()) RunDrill(due.at);
  }
  // Hand the freed heap of a backup or drill (gRPC buffers, a restored db's pages) back to the
  // kernel between ticks: glibc keeps it otherwise, and a daemon's RSS would creep for weeks.
  malloc_trim(0);
}

Status Daemon::Run(const std::atomic<bool>& stop) {
  LB_RETURN_IF_ERROR(CheckConfig());
  SeedMetrics();
  // The log and the check run beside the ticks and stop when Run returns, however it returns.
  std::atomic<bool> log_stop{false};
  std::thread changelog, check;
  if (config_.changelog) changelog = std::thread([&] { ChangeLogLoop(log_stop); });
  if (config_.check_schedule) check = std::thread([&] { CheckLoop(log_stop); });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& a;
    std::thread& b;
    ~Join() {
      stop = true;
      if (a.joinable()) a.join();
      if (b.joinable()) b.join();
    }
  } join{log_stop, changelog, check};
  std::mt19937_64 rng(std::random_device{}());

  MakeUpMissedTick();
  while (!stop.load()) {
    Tick next = NextTick(config_.tiers, config_.drill_schedule, Clock::now());
    if (next.at == Clock::time_point::max()) return Status::InvalidArgument("no tier schedule ever fires");
    auto delay = config_.jitter.count() > 0
                     ? std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, config_.jitter.count())(rng))
                     : std::chrono::milliseconds(0);
    health_.TickDue(next.at + delay);
    if (!SleepUntil(next.at + delay, stop)) break;
    // While this tick runs, the scheduler's next duty is the one after it.
    health_.TickDue(NextTick(config_.tiers, config_.drill_schedule, next.at).at);
    RunDue(next, stop);
  }
  log_.Info("stopping: no backup in progress");
  return Status::OK();
}

}  // namespace lifeboat::daemon
