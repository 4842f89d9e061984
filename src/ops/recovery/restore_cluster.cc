#include "ops/recovery/restore_cluster.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/atomic_file.h"
#include "base/file_lock.h"
#include "base/timefmt.h"
#include "catalog/catalog.h"
#include "etcd/client.h"
#include "etcd/types.h"
#include "ops/backup/backup.h"
#include "ops/recovery/coverage.h"
#include "ops/recovery/disk_check.h"
#include "ops/recovery/fleet.h"
#include "ops/recovery/pitr.h"
#include "ops/recovery/step_runner.h"
#include "ops/verify/etcd_version.h"
#include "snapshot/restore.h"

namespace lifeboat::ops {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Answers from members still running before the restore: whether to take a safety backup, and
// the cluster id to compare the backup with.
struct LiveProbe {
  std::vector<std::string> answering;  // client URLs
  uint64_t cluster_id = 0;
  std::string leader;  // client URL of the member that reports itself leader
};

LiveProbe ProbeLive(const etcd::ClientOptions& base, const std::vector<std::string>& urls) {
  LiveProbe p;
  std::vector<uint64_t> ids(urls.size(), 0);
  std::vector<char> leads(urls.size(), 0);  // not vector<bool>: its bits share words the threads write
  ParallelFor(urls.size(), [&](size_t i) -> Status {
    etcd::ClientOptions o = base;
    o.endpoints = {urls[i]};
    o.dial_timeout = std::min(o.dial_timeout, milliseconds(1500));
    o.command_timeout = std::min(o.command_timeout, milliseconds(3000));
    LB_ASSIGN_OR_RETURN(auto c, etcd::Client::Connect(urls[i], o));
    LB_ASSIGN_OR_RETURN(auto st, c->Status());
    ids[i] = st.header.cluster_id;
    leads[i] = st.leader != 0 && st.leader == st.header.member_id;
    return Status::OK();
  });
  for (size_t i = 0; i < urls.size(); ++i) {
    if (ids[i] == 0) continue;
    p.answering.push_back(urls[i]);
    p.cluster_id = ids[i];
    if (leads[i]) p.leader = urls[i];
  }
  return p;
}

// The backup to restore: `ref`, or the newest trusted one (finished at or before --at) outside
// the tiers restores write; the untrusted ones passed over go to `skipped`.
Result<catalog::BackupEntry> PickBackup(store::Store& store, const RestoreClusterOptions& o,
                                        std::vector<std::string>* skipped) {
  if (o.backup_ref != "latest") {
    LB_ASSIGN_OR_RETURN(auto sel, catalog::ResolveBackup(store, o.prefix, "", o.backup_ref, o.trust));
    return *sel.entry;
  }
  LB_ASSIGN_OR_RETURN(auto listing, catalog::ListBackups(store, o.prefix, "", o.trust));
  catalog::Selection sel = catalog::NewestTrusted(listing, [&](const catalog::BackupEntry& b) {
    if (b.manifest.tier == kSafetyTier || b.manifest.tier == kPitrTier) return false;
    if (!o.at) return true;
    auto t = ParseRFC3339(b.manifest.finished_at);
    return t.ok() && *t <= *o.at;
  });
  *skipped = sel.skipped;
  if (sel.entry) return *sel.entry;
  std::string where = store.Describe() + "/" + o.prefix;
  std::string note = sel.skipped.empty() ? "" : "; " + std::to_string(sel.skipped.size()) + " untrusted skipped";
  if (o.at) {
    return Status::NotFound("no trusted backup in " + where + " finished at or before " + FormatRFC3339(*o.at) +
                            " (see `lifeboat list`; pick a later --at" + note + ")");
  }
  return Status::NotFound("no trusted backup in " + where + " (see `lifeboat list`, or check --store and --prefix" +
                          note + ")");
}

class Coordinator {
 public:
  explicit Coordinator(const RestoreClusterOptions& o) : o_(o) {
    runner_.OnFailure([this](const std::string& step, const Status& s) { JournalFailure(step, s); });
  }

  // The restore: a fresh plan (preflight, confirmation, journal) or a resumed one, then the
  // journaled phases, then the lease released.
  RestoreClusterResult Run() {
    if (o_.journal_path.empty()) {
      return Fail("plan", Status::InvalidArgument("no journal path (set --journal)"));
    }
    if (!o_.dry_run) {
      if (Status s = LockJournal(); !s.ok()) return Fail("journal", s);
    }
    if (o_.resume ? !Resume() : !Plan()) return std::move(r_);
    RunPhases();
    return std::move(r_);
  }

  // The staged copies are full copies of the database on etcd's hosts: once the restore no
  // longer needs them (done, verified or failed after every member restored, a dry run, a
  // declined plan, a preflight that failed), every agent drops them, under this restore's
  // lease. Kept for a --resume that fetches again, and with keep_staged.
  void DropStaged(const RestoreClusterResult& r) {
    const bool needed = r.journaled && !Finished(r.journal) && r.journal.phase < RestorePhase::kRestored;
    if (o_.keep_staged || needed || fleet_.members().empty()) return;
    std::vector<uint64_t> freed(fleet_.members().size(), 0);
    auto res = ParallelFor(freed.size(), [&](size_t i) -> Status {
      auto d = fleet_.members()[i].client->DropStaged({});
      if (!d.ok()) return d.status();
      freed[i] = d->freed_bytes;
      return Status::OK();
    });
    uint64_t total = 0;
    for (uint64_t f : freed) total += f;
    Status s = Combine(res);
    Log(s.ok() ? fmt::format("staged copies removed on every host ({} bytes freed)", total)
               : "warning: staged copies not removed everywhere: " + s.message());
  }

 private:
  void Log(const std::string& line) {
    if (o_.log) o_.log(line);
  }

  RestoreClusterResult Fail(const std::string& step, const Status& s) {
    Failed(step, s);
    return std::move(r_);
  }

  // Records a failure outside any step; false, to stop the restore.
  bool Failed(const std::string& step, const Status& s) {
    r_.status = s;
    r_.failed_step = step;
    return false;
  }

  // One coordinator per journal on this host; it also proves a --resume that the coordinator
  // it resumes is gone, which lets it take that coordinator's recovery lease at once.
  Status LockJournal() {
    std::string dir = std::filesystem::path(o_.journal_path).parent_path().string();
    LB_RETURN_IF_ERROR(dir.empty() ? Status::OK() : MakeDirs(dir));
    auto lock = FileLock::TryAcquire(o_.journal_path + ".lock");
    if (!lock.ok()) {
      return lock.status().WithMessage("another restore-cluster runs with journal " + o_.journal_path + ": " +
                                       lock.status().message() + " (wait for it, or give this one its own --journal)");
    }
    journal_lock_ = std::move(*lock);
    return Status::OK();
  }

  // --resume: the journal's plan, its agents and lease again, and the staged snapshot when the
  // restore has not happened yet. False: stop here (failed, or the journal is finished).
  bool Resume() {
    auto j = LoadJournal(o_.journal_path);
    if (!j.ok()) {
      if (j.status().code() == Status::Code::kNotFound) {
        return Failed("resume", j.status().WithMessage(j.status().message() +
                                                       ": nothing to resume (run restore-cluster without --resume)"));
      }
      return Failed("resume", j.status());
    }
    r_.journal = *j;
    journal_started_ = true;
    r_.journaled = true;
    Log("resuming the restore of " + r_.journal.backup_key + " from phase " + PhaseName(r_.journal.phase));
    std::vector<std::string> addrs;
    for (const auto& m : r_.journal.members) addrs.push_back(m.agent);
    if (!runner_.Run("connect agents", [&] { return ConnectFleet(addrs); })) return false;
    if (Finished(r_.journal)) return false;
    if (!o_.force && !runner_.Run("check later recoveries", [&] { return RefuseLaterRecovery(); })) return false;
    if (!runner_.Run("lease", [&] { return AcquireLease(); })) return false;
    RewindIfRunning();
    return r_.journal.phase >= RestorePhase::kRestored || runner_.Run("fetch", [&] { return Fetch(); });
  }

  // A new restore: the preflight, which changes nothing (a dry run ends after it), the
  // confirmation, then the point-in-time state stored and staged, and the journal started.
  // False: stop here.
  bool Plan() {
    if (!o_.dry_run) {
      if (Status s = RefuseUnfinishedJournal(); !s.ok()) return Failed("journal", s);
    }
    if (!Preflight()) return false;
    if (o_.dry_run) {
      r_.dry_run = true;
      return false;
    }
    if (o_.confirm && !o_.confirm(r_.journal)) {
      r_.declined = true;
      r_.status = Status::Aborted("restore not confirmed: nothing was changed");
      return false;
    }
    // A point-in-time state is stored and staged only now that the restore is confirmed.
    if (pitr_ && !runner_.Run("store pitr", [&] { return StorePitr(); })) return false;
    if (pitr_ && !runner_.Run("fetch", [&] { return Fetch(); })) return false;
    return runner_.Run("journal", [&] { return StartJournal(); });
  }

  // The changes, each phase skipped when the journal says it is done, then the lease released.
  void RunPhases() {
    if (!Phase(RestorePhase::kSafetyBackup, "safety backup", [&] { return SafetyBackup(); })) return;
    if (!Phase(RestorePhase::kStopped, "stop", [&] { return StopAll(); })) return;
    if (!Phase(RestorePhase::kMovedAside, "move aside", [&] { return MoveAllAside(); })) return;
    if (!Phase(RestorePhase::kRestored, "restore", [&] { return RestoreAll(); })) return;
    if (!Phase(RestorePhase::kStarted, "start", [&] { return StartAll(); })) return;
    if (!Phase(RestorePhase::kVerified, "verify", [&] { return Verify(ServedUrls()); })) return;
    if (r_.journal.quarantine && !Phase(RestorePhase::kOpened, "open to clients", [&] { return OpenToClients(); })) {
      return;
    }
    runner_.Run("release lease", [&] { return ReleaseFinished(); });
  }

  // Once the journal is started, a failed step's error is kept in it.
  void JournalFailure(const std::string& step, const Status& s) {
    if (!journal_started_) return;
    {
      std::lock_guard<std::mutex> l(journal_mu_);
      r_.journal.last_error = step + ": " + s.message();
    }
    Save();
  }

  // A journaled phase: skipped when the journal says it is done.
  bool Phase(RestorePhase p, const std::string& name, const StepRunner::Step& fn) {
    if (r_.journal.phase >= p) return true;
    if (!runner_.Run(name, fn)) return false;
    {
      std::lock_guard<std::mutex> l(journal_mu_);
      r_.journal.phase = p;
      r_.journal.last_error.clear();
    }
    Status s = Save();
    if (!s.ok()) {
      r_.status = s.Annotate("write the journal");
      r_.failed_step = name;
      return false;
    }
    // Fault injection for the tests: die, or freeze (a paused coordinator), right after a phase
    // is journaled.
    if (const char* crash = std::getenv("LIFEBOAT_TEST_CRASH_AFTER"); crash && std::string_view(PhaseName(p)) == crash) {
      raise(SIGKILL);
    }
    if (const char* stop = std::getenv("LIFEBOAT_TEST_STOP_AFTER"); stop && std::string_view(PhaseName(p)) == stop) {
      raise(SIGSTOP);
    }
    return true;
  }

  Status Save() {
    std::lock_guard<std::mutex> l(journal_mu_);
    return SaveJournal(o_.journal_path, r_.journal);
  }

  StepOutcome ConnectFleet(const std::vector<std::string>& addrs) {
    LB_ASSIGN_OR_RETURN(fleet_, Fleet::Connect(addrs, o_.agent_token, o_.agent_tls));
    // The agents must still serve the members the journal (or the plan) names.
    for (size_t i = 0; i < r_.journal.members.size(); ++i) {
      const auto& st = fleet_.members()[i].status;
      if (st.member_name != r_.journal.members[i].name || st.data_dir != r_.journal.members[i].data_dir) {
        return Status::FailedPrecondition("agent " + addrs[i] + " now serves " + st.member_name + " at " + st.data_dir +
                                          ", the journal says " + r_.journal.members[i].name + " at " +
                                          r_.journal.members[i].data_dir + " (fix the agent config)");
      }
    }
    return StepOutcome::Done(std::to_string(addrs.size()) + " agents answer");
  }

  // Everything checked before anything changes, and the plan made: false stops the restore.
  bool Preflight() {
    if (!runner_.Run("connect agents", [&] { return ConnectFleet(o_.agents); })) return false;
    const bool leased = o_.dry_run ? runner_.Run("check lease", [&] { return CheckNoLease(); })
                                   : runner_.Run("lease", [&] { return AcquireLease(); });
    if (!leased) return false;
    PlanMembers();
    RestoreJournal& j = r_.journal;
    if (j.quarantine && !runner_.Run("check quarantine", [&] { return CheckQuarantine(); })) return false;
    if (!runner_.Run("find backup", [&] { return FindBackup(); })) return false;
    if (!runner_.Run("check disk", [&] { return CheckDisk(); })) return false;
    if (!pitr_ && !runner_.Run("fetch", [&] { return Fetch(); })) return false;
    if (!runner_.Run("check coverage", [&] { return CheckMembership(); })) return false;
    if (!runner_.Run("check versions", [&] { return CheckVersions(); })) return false;
    auto now = std::chrono::system_clock::now();
    j.created_at = FormatRFC3339(now);
    std::string name = o_.cluster_name.empty() ? j.source_cluster_name : o_.cluster_name;
    j.cluster_token = "lifeboat-" + name + "-" + FormatCompactUTC(now);
    return true;
  }

  // The members' part of the plan: one per agent, as its agent serves it, and how to restore.
  void PlanMembers() {
    RestoreJournal& j = r_.journal;
    for (const auto& m : fleet_.members()) {
      MemberJournal mj;
      mj.name = m.status.member_name;
      mj.agent = m.address;
      mj.client_url = m.status.client_url;
      mj.peer_url = m.status.peer_url;
      mj.data_dir = m.status.data_dir;
      mj.quarantine_client_url = m.status.quarantine_client_url;
      mj.lease_epoch = lease_ ? lease_->EpochOf(mj.name) : 0;  // none on a dry run
      j.members.push_back(mj);
    }
    j.initial_cluster = fleet_.InitialCluster();
    j.quarantine = o_.quarantine;
    j.target_version = o_.target_version;
    j.bump_revision = o_.bump_revision;
    j.mark_compacted = o_.mark_compacted;
  }

  // Every agent under this restore's lease: the journal's owner on --resume, a new one otherwise.
  StepOutcome AcquireLease() {
    LeaseSpec spec;
    spec.owner_id = r_.journal.lease_owner;
    spec.operation = "restore-cluster";
    std::string identity = CoordinatorIdentity();
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(o_.journal_path, ec);
    spec.journal = identity.substr(identity.find('@') + 1) + ":" + (ec ? o_.journal_path : abs.string());
    spec.ttl = o_.lease_ttl;
    spec.break_lease = o_.break_lease;
    spec.agent_token = o_.agent_token;
    spec.agent_tls = o_.agent_tls;
    spec.log = o_.log;
    LB_ASSIGN_OR_RETURN(lease_, RecoveryLease::Acquire(fleet_, spec));
    runner_.RenewBeforeEachStep(lease_.get());
    {
      std::lock_guard<std::mutex> l(journal_mu_);
      r_.journal.lease_owner = lease_->owner_id();
      for (auto& m : r_.journal.members) m.lease_epoch = lease_->EpochOf(m.name);
    }
    if (journal_started_) LB_RETURN_IF_ERROR(Save());
    return StepOutcome::Done(lease_->Summary());
  }

  // A member that runs again before its restore (an operator started it, or a later recovery
  // ran and --force resumes this plan over it) is backed up and stopped again: the phases from
  // the safety backup on are run anew rather than trusted.
  void RewindIfRunning() {
    if (r_.journal.phase < RestorePhase::kStopped || r_.journal.phase >= RestorePhase::kRestored) return;
    for (size_t i = 0; i < r_.journal.members.size(); ++i) {
      if (fleet_.members()[i].status.etcd_running) {
        Log("etcd runs again on " + r_.journal.members[i].name + ": backing up and stopping every member again");
        std::lock_guard<std::mutex> l(journal_mu_);
        r_.journal.phase = RestorePhase::kPlanned;
        return;
      }
    }
  }

  // A journal planned before a recovery that has since finished on a member must not be
  // resumed: it would stop the cluster again and restore an older plan over the newer one.
  StepOutcome RefuseLaterRecovery() {
    for (size_t i = 0; i < r_.journal.members.size(); ++i) {
      const MemberJournal& mj = r_.journal.members[i];
      const agent::RecoveryRecord& last = fleet_.members()[i].status.last_recovery;
      if (!last.empty() && last.epoch > mj.lease_epoch) {
        return Status::FailedPrecondition(
            "a later recovery finished on " + mj.name + ": " + host::DescribeRecord(last) + "; resuming this journal "
            "(planned " + r_.journal.created_at + " under epoch " + std::to_string(mj.lease_epoch) + ") would undo "
            "it (move the journal away, or resume it anyway with --force)");
      }
    }
    return StepOutcome::Done("no recovery finished on any member since this journal's plan");
  }

  // The end of a verified restore: the lease is renewed once more (a restore whose lease was
  // taken over during verification does not report success: the other recovery decides what
  // the cluster holds), then released with a record of this recovery on every agent.
  StepOutcome ReleaseFinished() {
    if (!lease_) return Status::OK();
    agent::RecoveryRecord rec;
    rec.operation = "restore-cluster";
    rec.backup = r_.journal.backup_key;
    lease_->Release(&rec);
    return StepOutcome::Done("each agent records this restore as its last finished recovery");
  }

  // The membership the restore must cover: the member list of any member that answers (the
  // agents' client URLs, then the configured endpoints), or else the one stored in the backup.
  Result<Membership> ClusterMembership() {
    auto live = LiveMembership(o_.client, MembershipUrls(fleet_.ClientUrls(), o_.client));
    if (live.ok() || live.status().code() != Status::Code::kNotFound) return live;
    Membership m;
    m.source = "the members stored in backup " + r_.journal.backup_key + " (no member answers)";
    if (pitr_) {
      // The built state's own membership is the build's; the base backup's is the cluster's.
      m.source = "the members stored in base backup " + pitr_->details.backup_key + " (no member answers)";
      for (const auto& x : pitr_->details.restore.source_members) {
        m.members.push_back({x.name, x.peer_urls, x.client_urls, x.is_learner});
      }
    } else {
      m.members = backup_members_;
    }
    return m;
  }

  StepOutcome CheckMembership() {
    LB_ASSIGN_OR_RETURN(Membership m, ClusterMembership());
    RestoreJournal& j = r_.journal;
    j.membership_source = m.source;
    // A backup taken on other hosts (a cluster rebuilt on new machines, another cluster's backup)
    // does not describe this cluster's members: with none of them answering, nobody can.
    bool shares_a_host = false;
    for (const auto& a : fleet_.members()) {
      for (const auto& x : m.members) {
        shares_a_host |= std::find(x.peer_urls.begin(), x.peer_urls.end(), a.status.peer_url) != x.peer_urls.end();
      }
    }
    if (m.members.empty() || !shares_a_host) {
      if (!o_.without.empty()) return Status::InvalidArgument("--without: " + m.source + " names none of these members");
      j.membership_source = "unknown: no member answers, and " + m.source.substr(0, m.source.find(" (")) +
                            (m.members.empty() ? " hold none" : " ran at other peer URLs");
      return StepOutcome::Done("membership " + j.membership_source + "; restoring the members the agents serve");
    }
    CoverageOptions co;
    co.without = o_.without;
    co.allow_unlisted = true;
    LB_ASSIGN_OR_RETURN(Coverage cov, CheckCoverage(fleet_.members(), m, co));
    for (const auto& w : cov.without) j.without.push_back({w.name, w.peer_url, w.why, w.urls});
    for (const auto& n : cov.notes) Log(n);
    std::string detail =
        fmt::format("{} members in {}, each with its agent", m.members.size() - j.without.size(), m.source);
    if (!j.without.empty()) detail += fmt::format("; {} left out (--without)", j.without.size());
    return StepOutcome::Done(detail);
  }

  // A dry run takes no lease, but reports one that would refuse the real run.
  StepOutcome CheckNoLease() {
    std::string held;
    for (const auto& line : ForeignLeases(fleet_, "")) held += (held.empty() ? "" : "; ") + line;
    if (!held.empty()) {
      return Status::FailedPrecondition(held + ": a restore now would be refused (wait, or --break-lease)");
    }
    return StepOutcome::Done("no agent is held by another recovery");
  }

  StepOutcome CheckQuarantine() {
    std::vector<Status> out;
    for (const auto& m : r_.journal.members) {
      if (m.quarantine_client_url.empty()) {
        out.push_back(Status::InvalidArgument(m.name + " (agent " + m.agent +
                                              ") has no member.quarantine-client-url: add one to its agent "
                                              "config, or restore without --quarantine"));
      }
    }
    return {Combine(out), "members will serve only their quarantine URLs until verified"};
  }

  // The URLs the restored members serve clients on now.
  std::vector<std::string> ServedUrls() const {
    std::vector<std::string> out;
    const RestoreJournal& j = r_.journal;
    for (const auto& m : j.members) {
      out.push_back(j.quarantine && !m.opened ? m.quarantine_client_url : m.client_url);
    }
    return out;
  }

  // The backup to restore, checked against the target version and the cluster, and planned.
  StepOutcome FindBackup() {
    LB_ASSIGN_OR_RETURN(auto store, store::OpenStore(o_.store_url));
    LB_ASSIGN_OR_RETURN(catalog::BackupEntry entry, (o_.to_revision > 0 || o_.to_time) ? BuildPitr(*store)
                                                                                        : PickLatestOrNamed(*store));
    const catalog::Manifest& m = entry.manifest;
    PlanBackup(m);
    LB_RETURN_IF_ERROR(RefuseDowngrade(m));
    backup_etcd_version_ = m.etcd_version;
    if (pitr_) {  // what the agents' staging reports otherwise
      r_.journal.revision = pitr_->revision;
      r_.journal.live_keys = pitr_->live_keys;
    }
    live_ = ProbeLive(o_.client, fleet_.ClientUrls());
    LB_RETURN_IF_ERROR(CheckSameCluster(m));
    const size_t answering = live_.answering.size();
    return StepOutcome::Done(
        m.object_key + " (revision " + std::to_string(m.revision) + ", " + std::to_string(m.size) + " bytes, taken " +
        m.finished_at + "); " +
        (answering == 0 ? std::string("no member answers now")
                        : std::to_string(answering) + (answering == 1 ? " member answers" : " members answer") +
                              " now"));
  }

  // --to-revision/--to-time: the point-in-time state, built in a local temp dir only, so that a
  // dry run or a declined plan leaves the store as it was. Stored once the restore is confirmed.
  Result<catalog::BackupEntry> BuildPitr(store::Store& store) {
    PitrOptions po;
    po.prefix = o_.prefix;
    po.cluster_name = o_.cluster_name;
    po.to_revision = o_.to_revision;
    po.to_time = o_.to_time;
    po.cluster_id = o_.source_cluster_id;
    po.keys = o_.keys;
    po.trust = o_.trust;
    LB_ASSIGN_OR_RETURN(PointInTimeBuild built, BuildPointInTime(store, po));
    for (const auto& why : built.details.skipped) Log("skipped untrusted " + why);
    catalog::BackupEntry entry;
    entry.manifest = built.manifest;
    entry.manifest.object_key += codec::EncodedSuffix(codec::EncodingOf(Encode()));
    Log("built point-in-time backup " + entry.manifest.object_key + " locally, " + DescribeCheck(built.details) +
        " (stored once the restore is confirmed)");
    pitr_ = std::make_unique<PointInTimeBuild>(std::move(built));
    return entry;
  }

  // The named backup, or the newest trusted one; the untrusted ones passed over are logged.
  Result<catalog::BackupEntry> PickLatestOrNamed(store::Store& store) {
    std::vector<std::string> skipped;
    LB_ASSIGN_OR_RETURN(catalog::BackupEntry entry, PickBackup(store, o_, &skipped));
    for (const auto& why : skipped) Log("skipped untrusted backup " + why);
    return entry;
  }

  // The backup's part of the plan.
  void PlanBackup(const catalog::Manifest& m) {
    RestoreJournal& j = r_.journal;
    j.store = o_.store_url;
    j.backup_key = m.object_key;
    j.sha256 = m.sha256;
    j.size = m.size;
    j.revision = m.revision;
    j.source_cluster_name = m.cluster_name;
    j.source_member = m.member_name;
  }

  // The agents refuse a downgrade only once etcd is stopped; the server that took the backup
  // tells it here, before anything changes.
  Status RefuseDowngrade(const catalog::Manifest& m) const {
    const RestoreJournal& j = r_.journal;
    if (j.target_version.empty() || m.etcd_version.empty()) return Status::OK();
    LB_ASSIGN_OR_RETURN(int target, snapshot::ParseTargetVersion(j.target_version));
    auto from = snapshot::ParseTargetVersion(m.etcd_version);
    if (from.ok() && *from > target) {
      return Status::InvalidArgument(fmt::format(
          "backup {} was taken from etcd {}: restoring it for etcd {} would downgrade it, which etcd refuses (its "
          "rule: no downgrade below the snapshot's cluster version); use --target-version 3.{} or newer",
          m.object_key, m.etcd_version, j.target_version, *from));
    }
    return Status::OK();
  }

  // A backup of another cluster (by name, or else by the running members' cluster id) is
  // restored only with --allow-other-cluster, and then with a warning.
  Status CheckSameCluster(const catalog::Manifest& m) {
    std::string other;
    if (!o_.cluster_name.empty() && m.cluster_name != o_.cluster_name) {
      other = "backup " + m.object_key + " is of cluster '" + m.cluster_name + "', not '" + o_.cluster_name + "'";
    } else if (o_.cluster_name.empty() && live_.cluster_id != 0 && m.cluster_id != live_.cluster_id) {
      other = "backup " + m.object_key + " is of cluster id " + etcd::IdHex(m.cluster_id) +
              " but the running members report " + etcd::IdHex(live_.cluster_id);
    }
    if (other.empty()) return Status::OK();
    if (!o_.allow_other_cluster) {
      return Status::FailedPrecondition(other + " (pick a backup of this cluster, or pass --allow-other-cluster)");
    }
    Log("warning: " + other + "; restoring it anyway (--allow-other-cluster)");
    return Status::OK();
  }

  StepOutcome CheckDisk() {
    const uint64_t size = r_.journal.size;
    std::vector<Status> out;
    for (const auto& m : fleet_.members()) {
      if (Status s = CheckHostDisk(m.status, m.address, size, r_.journal.sha256); !s.ok()) out.push_back(s);
    }
    return {Combine(out), "every host has room"};
  }

  StepOutcome Fetch() {
    RestoreJournal& j = r_.journal;
    std::vector<agent::FetchResponse> got(fleet_.members().size());
    auto res = ParallelFor(got.size(), [&](size_t i) -> Status {
      agent::FetchRequest req{j.store, j.backup_key, j.sha256, j.size};
      auto f = fleet_.members()[i].client->FetchBackup(req);
      if (!f.ok()) return f.status().Annotate(j.members[i].name);
      got[i] = *f;
      return Status::OK();
    });
    LB_RETURN_IF_ERROR(Combine(res));
    int cached = 0, in_place = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].sha256 != j.sha256 || got[i].revision != got[0].revision || got[i].live_keys != got[0].live_keys) {
        return Status::Corruption(j.members[i].name + " staged a different snapshot (sha256 " + got[i].sha256 +
                                  ", revision " + std::to_string(got[i].revision) + ") than " + j.members[0].name +
                                  " (refusing: every member must restore the same snapshot)");
      }
      cached += got[i].cached;
      in_place += got[i].in_place;
    }
    {
      std::lock_guard<std::mutex> l(journal_mu_);  // on --resume the journal is live already
      for (size_t i = 0; i < got.size(); ++i) j.members[i].staged_path = got[i].path;
      j.revision = got[0].revision;
      j.live_keys = got[0].live_keys;
    }
    backup_cluster_version_ = got[0].cluster_version;
    backup_members_ = got[0].members;
    return StepOutcome::Done(fmt::format("staged on {} hosts ({} already there, {} checked in place), sha256 {}…, revision {}, {} keys",
                          got.size(), cached, in_place, j.sha256.substr(0, 12), j.revision, j.live_keys));
  }

  // One etcd version on every host, and none older than the backup's cluster: a member of another
  // version would join a cluster it cannot serve, and etcd refuses data of a newer cluster version.
  // The staged snapshot's cluster/clusterVersion when known; for a point-in-time state (staged
  // only after the confirmation) the version of the member the base backup was taken from.
  StepOutcome CheckVersions() {
    const auto& ms = fleet_.members();
    std::string first, all;
    bool mixed = false;
    for (size_t i = 0; i < ms.size(); ++i) {
      const std::string& v = ms[i].status.etcd_version;
      all += (all.empty() ? "" : ", ") + r_.journal.members[i].name + " " + (v.empty() ? "unknown" : v);
      if (i == 0) first = v;
      else if (v != first) mixed = true;
    }
    if (mixed) {
      std::vector<std::pair<std::string, std::string>> pairs;
      for (size_t i = 0; i < ms.size(); ++i) pairs.emplace_back(r_.journal.members[i].name, ms[i].status.etcd_version);
      Status rule = CheckUpgradeRule(pairs);
      return Status::FailedPrecondition("the agents run different etcd versions (" + all +
                                        "): give every member the same etcd binary before restoring" +
                                        (rule.ok() ? "" : "; " + rule.message()));
    }
    const std::string data = backup_cluster_version_.empty() ? backup_etcd_version_ : backup_cluster_version_;
    std::vector<Status> out;
    for (size_t i = 0; i < ms.size(); ++i) {
      out.push_back(CheckCanServe(r_.journal.members[i].name + " (agent " + ms[i].address + ")",
                                  ms[i].status.etcd_version, data));
    }
    return {Combine(out), "etcd " + (first.empty() ? std::string("unknown") : first) + " on every host; backup's cluster " +
              (data.empty() ? std::string("unknown") : data)};
  }

  // A new restore must not start over an unfinished one: that one is to be resumed.
  Status RefuseUnfinishedJournal() const {
    auto old = LoadJournal(o_.journal_path);
    if (old.ok() && !Finished(*old)) {
      return Status::FailedPrecondition("an unfinished restore is journaled at " + o_.journal_path + " (phase " +
                                        PhaseName(old->phase) + "): finish it with --resume, or move the journal away");
    }
    return Status::OK();
  }

  // How the safety and point-in-time backups are stored: like every backup of this configuration.
  codec::EncodeOptions Encode() const { return codec::EncodeOptions{o_.zstd_level, 0, o_.keys, o_.signing}; }

  StepOutcome StorePitr() {
    LB_ASSIGN_OR_RETURN(auto store, store::OpenStore(o_.store_url));
    LB_ASSIGN_OR_RETURN(catalog::BackupEntry e, StorePointInTime(*store, *pitr_, Encode()));
    if (e.manifest.object_key != r_.journal.backup_key) {
      return Status::Internal("stored the point-in-time backup as " + e.manifest.object_key + ", planned " +
                              r_.journal.backup_key);
    }
    return StepOutcome::Done(e.manifest.object_key);
  }

  StepOutcome StartJournal() {
    std::error_code ec;
    if (std::filesystem::exists(o_.journal_path, ec)) {
      LB_RETURN_IF_ERROR(RefuseUnfinishedJournal());
      // A finished (or unreadable) journal is kept beside, not overwritten.
      std::string aside = o_.journal_path + "." + FormatCompactUTC(std::chrono::system_clock::now());
      std::filesystem::rename(o_.journal_path, aside, ec);
      if (ec) return Status::IOError("cannot move the old journal " + o_.journal_path + " aside: " + ec.message());
    }
    journal_started_ = true;
    r_.journaled = true;
    return {Save(), o_.journal_path};
  }

  StepOutcome SafetyBackup() {
    RestoreJournal& j = r_.journal;
    auto record = [&](std::string what) {
      std::lock_guard<std::mutex> l(journal_mu_);
      j.safety_backup = std::move(what);
    };
    if (!o_.safety_backup) {
      record("skipped (--skip-safety-backup)");
      return StepOutcome::Done(j.safety_backup);
    }
    live_ = ProbeLive(o_.client, fleet_.ClientUrls());
    if (live_.answering.empty()) {
      record("none: no member answered");
      return StepOutcome::Done(j.safety_backup);
    }
    if (o_.safety_stores.empty()) return Status::InvalidArgument("no store for the safety backup");
    etcd::ClientOptions c = o_.client;
    c.endpoints = live_.answering;
    BackupOptions bo;
    bo.source.mode = "any";
    bo.source.max_lag = UINT64_MAX;  // what is left is what there is
    bo.prefix = o_.prefix;
    bo.tiers = {{kSafetyTier, kSafetyTier, "", {}}};
    bo.cluster_name = o_.cluster_name;
    bo.zstd_level = o_.zstd_level;
    bo.encryption = o_.keys;  // a safety backup holds the same secrets as any other
    bo.signing = o_.signing;
    auto b = RunBackup(c, bo, o_.safety_stores, [](uint64_t, uint64_t) {});
    if (!b.ok()) {
      return b.status().Annotate("safety backup of the running members (restore with --skip-safety-backup if "
                                 "what is left is not worth keeping)");
    }
    for (const auto& copy : b->copies) {
      if (!copy.status.ok()) return copy.status.Annotate("safety backup to " + copy.store);
    }
    record(b->copies.front().object_key);
    return StepOutcome::Done(j.safety_backup + " from " + b->manifest.member_name);
  }

  // Runs fn for each member in parallel, saving the journal after each member's success.
  Status ForEachMember(const std::function<Status(size_t, MemberJournal&)>& fn) {
    auto res = ParallelFor(r_.journal.members.size(), [&](size_t i) -> Status {
      MemberJournal& mj = r_.journal.members[i];
      Status s = fn(i, mj);
      if (!s.ok()) return s.Annotate(mj.name);
      return Save();
    });
    return Combine(res);
  }

  agent::AgentClient& AgentOf(size_t i) { return *fleet_.members()[i].client; }

  // Followers first, then the leader: a leader stopped while its followers run first tries to
  // hand over leadership, which takes seconds when they are stopping too; alone, it just stops.
  StepOutcome StopAll() {
    // A member left out must still be gone: one that came back would keep the old cluster.
    for (const auto& w : r_.journal.without) {
      LB_RETURN_IF_ERROR(StillSilent(w.name, w.urls));
    }
    std::string leader = ProbeLive(o_.client, fleet_.ClientUrls()).leader;
    for (bool leader_wave : {false, true}) {
      LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) -> Status {
        if ((mj.client_url == leader) != leader_wave) return Status::OK();
        LB_ASSIGN_OR_RETURN(bool was, AgentOf(i).StopEtcd(std::chrono::seconds(30)));
        (void)was;
        std::lock_guard<std::mutex> l(journal_mu_);  // other members' threads are saving the journal
        mj.stopped = true;
        return Status::OK();
      }));
    }
    return StepOutcome::Done("every member stopped" + (leader.empty() ? std::string() : " (the leader last)"));
  }

  // Moves the member's data dir aside when there is one (absent after a disk loss: fine).
  Status MoveAside(size_t i, MemberJournal& mj) {
    auto moved = AgentOf(i).MoveDataAside();
    if (moved.ok()) {
      std::lock_guard<std::mutex> l(journal_mu_);
      mj.moved_to.push_back(*moved);
      return Status::OK();
    }
    if (moved.status().code() == Status::Code::kNotFound) return Status::OK();
    return moved.status();
  }

  StepOutcome MoveAllAside() {
    LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) { return MoveAside(i, mj); }));
    int n = 0;
    for (const auto& m : r_.journal.members) n += !m.moved_to.empty();
    return StepOutcome::Done(std::to_string(n) + " data dirs moved aside, none deleted");
  }

  StepOutcome RestoreAll() {
    RestoreJournal& j = r_.journal;
    LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) -> Status {
      if (mj.restored) return Status::OK();
      // After a crash mid-step the data dir may hold a restore that was not journaled: keep it
      // aside too and restore again, rather than trust it.
      LB_ASSIGN_OR_RETURN(auto st, AgentOf(i).GetStatus());
      if (st.etcd_running) return Status::FailedPrecondition("etcd is running again (stop it and --resume)");
      if (st.data_dir_present) LB_RETURN_IF_ERROR(MoveAside(i, mj));
      agent::RestoreRequest req;
      req.snapshot_path = mj.staged_path;
      req.expect_sha256 = j.sha256;
      req.name = mj.name;
      req.initial_cluster = j.initial_cluster;
      req.initial_cluster_token = j.cluster_token;
      req.peer_url = mj.peer_url;
      req.target_version = j.target_version;
      req.bump_revision = j.bump_revision;
      req.mark_compacted = j.mark_compacted;
      LB_ASSIGN_OR_RETURN(auto r, AgentOf(i).RestoreSnapshot(req));
      if (r.sha256 != j.sha256) {
        return Status::Corruption("restored from a file with sha256 " + r.sha256 + ", not the planned " + j.sha256);
      }
      std::lock_guard<std::mutex> l(journal_mu_);
      mj.restored = true;
      mj.restored_sha256 = r.sha256;
      mj.member_id = r.member_id;
      if (j.bump_revision > 0) j.restored_revision = r.revision;
      if (j.cluster_id == 0) j.cluster_id = r.cluster_id;
      if (r.cluster_id != j.cluster_id) {
        return Status::Internal("restored with cluster id " + etcd::IdHex(r.cluster_id) + ", the others " +
                                etcd::IdHex(j.cluster_id));
      }
      return Status::OK();
    }));
    std::string detail = "every member from sha256 " + j.sha256.substr(0, 12) + "…, cluster id " + etcd::IdHex(j.cluster_id) +
              ", token " + j.cluster_token;
    if (j.bump_revision > 0) {
      detail += fmt::format("; revision {} -> {} (bumped by {}, marked compacted)", j.revision, j.restored_revision,
                             j.bump_revision);
    }
    return StepOutcome::Done(detail);
  }

  StepOutcome StartAll() {
    RestoreJournal& j = r_.journal;
    LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) -> Status {
      if (mj.started) return Status::OK();
      LB_ASSIGN_OR_RETURN(auto st, AgentOf(i).GetStatus());
      if (!st.etcd_running) LB_RETURN_IF_ERROR(AgentOf(i).StartEtcd(StartOf(j.quarantine)).status());
      std::lock_guard<std::mutex> l(journal_mu_);
      mj.started = true;
      return Status::OK();
    }));
    return StepOutcome::Done(j.quarantine ? "every member answers on its quarantine URL" : "every member answers");
  }

  // The restored cluster's start: its membership and token, state "new" (ignored by etcd once
  // the data dir is initialized, so a restart sends the same).
  agent::StartRequest StartOf(bool quarantine) const {
    agent::StartRequest req;
    req.initial_cluster = r_.journal.initial_cluster;
    req.initial_cluster_state = "new";
    req.initial_cluster_token = r_.journal.cluster_token;
    req.timeout = o_.start_timeout;
    req.quarantine = quarantine;
    return req;
  }

  // Restarts every verified member on its client URL: followers stopped first, then the leader
  // (see StopAll), then all started at once.
  StepOutcome OpenToClients() {
    std::string leader = ProbeLive(o_.client, ServedUrls()).leader;
    for (bool leader_wave : {false, true}) {
      LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) -> Status {
        if (mj.opened || (mj.quarantine_client_url == leader) != leader_wave) return Status::OK();
        return AgentOf(i).StopEtcd(std::chrono::seconds(30)).status();
      }));
    }
    LB_RETURN_IF_ERROR(ForEachMember([&](size_t i, MemberJournal& mj) -> Status {
      if (mj.opened) return Status::OK();
      LB_RETURN_IF_ERROR(AgentOf(i).StartEtcd(StartOf(/*quarantine=*/false)).status());
      std::lock_guard<std::mutex> l(journal_mu_);
      mj.opened = true;
      return Status::OK();
    }));
    LB_RETURN_IF_ERROR(Verify(ServedUrls()).status);
    return StepOutcome::Done("every member restarted on its client URL and verified again");
  }

  // Whether a status-only survey shows every planned member answering, one leader, and each at
  // the restored revision or later: the state in which the HashKV round can pass.
  bool ReadyToHash(const ClusterReport& rep) const {
    if (rep.members.size() != r_.journal.members.size() || rep.reports.empty()) return false;
    for (const auto& rr : rep.reports) {
      if (!rr.reachable || rr.status.leader == 0 || rr.status.leader != rep.reports[0].status.leader) return false;
      if (rr.status.header.revision < ExpectedRevision(r_.journal)) return false;
    }
    return true;
  }

  // A HashKV round reads every member's whole keyspace, so it runs once the members are ready
  // for it (status alone, polled cheaply), not on every poll while they start. At the deadline
  // it returns, and the hashed round says what is wrong.
  void WaitReadyToHash(const etcd::ClientOptions& c, Clock::time_point until) {
    SurveyOptions so;
    so.whole_cluster = false;
    so.hashes = false;
    for (; Clock::now() < until; std::this_thread::sleep_for(milliseconds(100))) {
      auto rep = Survey(c, so);
      if (rep.ok() && ReadyToHash(*rep)) return;
    }
  }

  StepOutcome Verify(const std::vector<std::string>& urls) {
    etcd::ClientOptions c = o_.client;
    c.endpoints = urls;
    const auto until = Clock::now() + o_.verify_timeout;
    WaitReadyToHash(c, until);
    SurveyOptions so;
    so.whole_cluster = false;
    so.hashes = true;
    for (;;) {
      auto rep = Survey(c, so);
      if (rep.ok()) {
        CheckResult chk = Judge(*rep);
        r_.problems = RestoredClusterProblems(r_.journal, *rep, chk);
        r_.report = *rep;
        r_.check = chk;
      } else {
        r_.problems = {rep.status().message()};
      }
      if (r_.problems.empty()) break;
      if (Clock::now() >= until) {
        std::string all;
        for (const auto& p : r_.problems) all += (all.empty() ? "" : "; ") + p;
        return Status::FailedPrecondition("the restored cluster did not verify within " +
                                          std::to_string(o_.verify_timeout.count() / 1000) + "s: " + all);
      }
      std::this_thread::sleep_for(milliseconds(300));
    }
    return StepOutcome::Done(fmt::format("{} members, leader, revision {}, HashKV equal, {} keys", r_.journal.members.size(),
                          ExpectedRevision(r_.journal), r_.journal.live_keys));
  }

  const RestoreClusterOptions& o_;
  RestoreClusterResult r_;
  std::unique_ptr<FileLock> journal_lock_;
  Fleet fleet_;
  std::unique_ptr<RecoveryLease> lease_;  // released before the fleet's connections close
  LiveProbe live_;
  std::unique_ptr<PointInTimeBuild> pitr_;  // --to-revision/--to-time: built, stored after confirmation
  std::string backup_etcd_version_;      // the manifest's: the backed-up member's server version
  std::string backup_cluster_version_;  // the staged snapshot's cluster/clusterVersion
  std::vector<agent::StoredMember> backup_members_;  // the staged snapshot's membership
  std::mutex journal_mu_;
  bool journal_started_ = false;
  StepRunner runner_{&r_, o_.log, o_.step_done};
};

}  // namespace

int64_t ExpectedRevision(const RestoreJournal& j) { return std::max(j.revision, j.restored_revision); }

std::vector<std::string> RestoredClusterProblems(const RestoreJournal& j, const ClusterReport& report,
                                                 const CheckResult& check) {
  const int64_t want = ExpectedRevision(j);
  std::vector<std::string> p;
  uint64_t leader = 0;
  for (const auto& r : report.reports) {
    if (!r.reachable) {
      p.push_back(r.label() + " does not answer: " + r.error);
      continue;
    }
    const auto& st = r.status;
    if (j.cluster_id != 0 && st.header.cluster_id != j.cluster_id) {
      p.push_back(r.label() + " is in cluster " + etcd::IdHex(st.header.cluster_id) + ", not the restored " +
                  etcd::IdHex(j.cluster_id));
    }
    if (st.leader == 0) {
      p.push_back(r.label() + " has no leader");
    } else if (leader != 0 && st.leader != leader) {
      p.push_back(r.label() + " follows leader " + etcd::IdHex(st.leader) + ", another member " + etcd::IdHex(leader));
    }
    if (st.leader != 0) leader = st.leader;
    if (st.header.revision < want) {
      p.push_back(fmt::format("{} is at revision {}, below the {} {}", r.label(), st.header.revision,
                              j.restored_revision > j.revision ? "bumped" : "snapshot's", want));
    } else if (st.header.revision == want && r.keys_at_common && report.common_revision == want &&
               static_cast<uint64_t>(*r.keys_at_common) != j.live_keys) {
      p.push_back(fmt::format("{} holds {} keys at revision {}, the snapshot {}", r.label(), *r.keys_at_common,
                              want, j.live_keys));
    }
  }
  for (const auto& jm : j.members) {
    auto it = std::find_if(report.members.begin(), report.members.end(),
                           [&](const etcd::Member& m) { return m.name == jm.name; });
    if (it == report.members.end()) p.push_back(jm.name + " is not a started member of the cluster");
  }
  if (report.members.size() != j.members.size()) {
    p.push_back(fmt::format("the member list has {} members, the plan {}", report.members.size(), j.members.size()));
  }
  if (check.verdict != CheckResult::Verdict::kConsistent) {
    for (const auto& f : check.findings) p.push_back(f);
    if (check.findings.empty()) p.push_back(std::string("check: ") + VerdictName(check.verdict));
  }
  return p;
}

RestoreClusterResult RestoreCluster(const RestoreClusterOptions& options) {
  Coordinator c(options);
  RestoreClusterResult r = c.Run();
  c.DropStaged(r);
  return r;
}

}  // namespace lifeboat::ops
