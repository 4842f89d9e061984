// Daemon: the scheduled backup loop. At each tick it claims the
// tick in etcd itself (a create-if-absent key with a lease), so when several daemons run for high
// availability exactly one of them backs up; the winner snapshots once into every due tier and
// store, then prunes. A tick missed while no daemon ran is made up once at start-up. Drills and
// consistency checks are claimed the same way, so N daemons cost the cluster what one does; the
// checker publishes its verdict in etcd and the others show it. Beside the ticks run the change
// log and the check; everything reports to Metrics (Prometheus) and Health (/readyz).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "base/logger.h"
#include "base/status.h"
#include "catalog/tiers.h"
#include "catalog/trust.h"
#include "daemon/health.h"
#include "daemon/metrics.h"
#include "etcd/options.h"
#include "daemon/scheduler.h"
#include "ops/backup/backup.h"
#include "ops/backup/changelog.h"
#include "ops/backup/source.h"

namespace lifeboat::codec {
class KeyRing;
}
namespace lifeboat::etcd {
class Client;
}
namespace lifeboat::store {
class Store;
}

namespace lifeboat::daemon {

struct DaemonConfig {
  etcd::ClientOptions client;
  std::vector<std::string> store_urls;
  std::string prefix = "db-etcd";
  std::string cluster_name;
  std::vector<catalog::Tier> tiers;
  ops::SourcePolicy source;
  std::chrono::milliseconds stall_timeout{30000};
  uint64_t max_rate = 0;
  int zstd_level = 0;                   // 0: uncompressed
  std::shared_ptr<codec::KeyRing> keys;  // set: encrypt backups (and decrypt for drills)
  // Set: manifests are authenticated with its current key, and only backups and segments whose
  // manifests verify (and, with `keys`, are encrypted) are drilled, extended by the change log or
  // counted as a tier's newest (catalog/trust.h).
  std::shared_ptr<codec::KeyRing> auth_keys;
  std::chrono::milliseconds jitter{0};  // random delay after each tick, spreads load across clusters
  bool prune = true;
  std::string identity;                 // recorded in the claim key's value (host:pid)
  // Restore drills of the newest backup (ops/drill.h) on this schedule; claimed like a tick.
  std::optional<catalog::CronSchedule> drill_schedule;
  std::string etcd_binary = "etcd";
  // The continuous change log (ops/changelog.h), from the newest full backup on; needs cluster_name.
  bool changelog = false;
  ops::ChangeLogOptions changelog_options;
  // The cluster's host agents, when configured: while any holds a recovery lease, ticks and
  // drills are skipped (a half-restored cluster is neither backed up nor drilled), and so are
  // consistency checks (members mid-restore differ by design).
  std::vector<std::string> agents;
  std::string agent_token;
  agent::AgentTls agent_tls;
  // The consistency check of `lifeboat check` (ops/check.h), for the latest tick of this
  // schedule at start and then at each tick, claimed like a tick; its verdict goes to the
  // metrics of every daemon.
  std::optional<catalog::CronSchedule> check_schedule;
  std::chrono::milliseconds check_settle_timeout{3000};
};

class Daemon {
 public:
  // Every tick, drill, prune and change-log event is reported to `log`.
  Daemon(DaemonConfig config, Metrics& metrics, Health& health, Logger& log)
      : config_(std::move(config)), metrics_(metrics), health_(health), log_(log) {}
  // Runs until `stop` becomes true; a backup under way is finished (or fails) first, so no half
  // object is ever left listed. Errors of single ticks are logged and counted, not returned.
  Status Run(const std::atomic<bool>& stop);

  // The etcd keys that claim the tick at `at`, and the consistency check at `at`.
  std::string ClaimKey(std::chrono::system_clock::time_point at) const;
  std::string CheckClaimKey(std::chrono::system_clock::time_point at) const;
  // Where the daemon that checked last publishes its verdict.
  std::string VerdictKey() const;

 private:
  bool SleepUntil(std::chrono::system_clock::time_point t, const std::atomic<bool>& stop);
  // Runs `call` on the first member that connects and lets it succeed; the last error otherwise.
  Status WithAnyMember(const std::function<Status(etcd::Client&)>& call);
  Result<bool> Claim(const std::string& key);
  // Returns whether this daemon claimed the tick.
  bool RunTick(const std::vector<catalog::Tier>& tiers, std::chrono::system_clock::time_point at);
  // RunTick's steps; `names` lists the tiers for the log.
  bool ClaimTick(const std::vector<catalog::Tier>& tiers, std::chrono::system_clock::time_point at,
                 const std::string& names);
  std::vector<store::Store*> OpenStores(const std::vector<catalog::Tier>& tiers,
                                        std::vector<std::unique_ptr<store::Store>>& owned);
  ops::BackupOptions BackupOptionsFor(const std::vector<catalog::Tier>& tiers) const;
  void ReportFailedBackup(const std::vector<catalog::Tier>& tiers, const std::vector<store::Store*>& stores,
                          const Status& failure, std::chrono::system_clock::time_point at, const std::string& names);
  void ReportCopies(const ops::BackupResult& res, std::chrono::system_clock::time_point at);
  // Run's steps.
  Status CheckConfig() const;
  void MakeUpMissedTick();
  // The tiers' backup and the drill due at `due.at`.
  void RunDue(const Tick& due, const std::atomic<bool>& stop);
  // Each store's retention after a tick's backup.
  void Prune(const std::vector<store::Store*>& stores);
  void RunDrill(std::chrono::system_clock::time_point at);
  void ChangeLogLoop(const std::atomic<bool>& stop);
  // One attempt of the log: its start, then the log until it ends; false when it cannot start.
  bool RunChangeLogOnce(const std::atomic<bool>& stop);
  void TakeBackupForChangeLog(const std::string& why);
  void CheckLoop(const std::atomic<bool>& stop);
  // The check of the tick at `at`: run when claimed, else the winner's verdict is shown, waited
  // for until `until`.
  void CheckTick(std::chrono::system_clock::time_point at, std::chrono::system_clock::time_point until,
                 const std::atomic<bool>& stop);
  void RunCheck(std::chrono::system_clock::time_point at);
  void PublishVerdict(const std::string& json);
  void AdoptVerdict(std::chrono::system_clock::time_point at, std::chrono::system_clock::time_point until,
                    const std::atomic<bool>& stop);
  // The newest backups and drill in the stores, so the metrics' ages are true from the start.
  void SeedMetrics();
  // True when a recovery holds the cluster: logged as the reason `what` is skipped; `count`:
  // counted as a skipped tick.
  bool RecoveryHolds(const std::string& what, bool count = true);
  catalog::TrustPolicy Trust() const;

  std::string Scope() const;
  // A store operation's outcome, for Health (failures in a row make the daemon not ready).
  void StoreResult(const std::string& store, const Status& s) { health_.StoreResult(store, s); }

  DaemonConfig config_;
  Metrics& metrics_;
  Health& health_;
  Logger& log_;
  int64_t last_gap_from_ = 0;  // the change log's last gap, counted once
};

}  // namespace lifeboat::daemon
