// Randomized fault schedules over real agents and etcd, checked against invariants, in the spirit
// of etcd's tests/robustness. Each schedule (harness/fault_schedule.h) runs concurrent
// coordinators with faults; then it settles the way an operator would (every paused process let
// go, every agent back, the newest unfinished journal resumed, a member that does not answer
// recovered) and asserts:
//   1. every member (each has an agent) is in one cluster, answers, and check finds one HashKV;
//   2. the data served is the backup of the last restore reported successful, "last" meaning
//      the latest lease epoch on m1 (every coordinator takes m1 first): a restore that began
//      earlier must never finish over a later one;
//   3. no data dir was ever deleted (every inode of a data or moved-aside dir is still there);
//   4. a restore given agents for only part of the cluster never succeeds;
//   5. every change an agent admitted (its log names the owner and epoch) was made under an
//      epoch some coordinator process acquired at its own lease step: a coordinator whose lease
//      ended never acts again, not even after re-taking a lease it did not ask for.
// LB_SCHEDULES (default 10 on the default pass, 5 on the others) schedules run, seeded LB_SEED, LB_SEED+1, ... (default: from the
// clock, printed), and no new one starts after LB_SCHEDULE_BUDGET seconds (default 200: the
// ctest pass gives a test 300). A violation prints its seed, the schedule and how to replay it;
// the run stops. scripts/robustness runs thousands.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>
#include <tuple>

#include "harness/agent_cluster.h"
#include "harness/cluster_data.h"
#include "harness/fault_schedule.h"
#include "harness/process.h"
#include "harness/store_probe.h"
#include "ops/recovery/restore_journal.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kTtl(3000);

uint64_t EnvNumber(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : def;
}

// One coordinator as it ran: what it was, how it ended, under which epoch of m1 it acted.
struct Ran {
  std::string what, journal, err;
  pid_t pid = -1;
  int exit_code = -2;  // -2: never started
  bool restore = false, partial = false;
};

struct Backup {
  std::string key;
  KV data;
};

class Driver {
 public:
  Driver(AgentCluster& c, std::string cfg, std::vector<Backup> backups, int expected)
      : c_(c), cfg_(std::move(cfg)), backups_(std::move(backups)), expected_(expected) {}

  // Runs one schedule; "" when every invariant held, else the violation.
  std::string Run(const Schedule& s) {
    dir_ = c_.dir() + "/s" + std::to_string(s.seed);
    fs::create_directories(dir_);
    const std::map<ino_t, std::string> before = DataDirs();
    const std::vector<size_t> log_from = AgentLogSizes();
    std::vector<Ran> ran(s.coordinators.size());
    Execute(s, ran);
    for (auto& r : ran) Finish(r);
    std::string settled = Settle(ran);
    if (!settled.empty()) return "settling failed: " + settled + Outcomes(ran);
    UpdateExpected(ran);
    for (size_t i = 0; i < ran.size(); ++i) {
      if (ran[i].partial && ran[i].exit_code == 0) {
        return "C" + std::to_string(i) + " restored a cluster it had agents for only part of" + Outcomes(ran);
      }
    }
    if (std::string v = OneCluster(); !v.empty()) return v + Outcomes(ran);
    if (std::string v = ServesExpected(); !v.empty()) return v + Outcomes(ran);
    if (std::string v = NothingDeleted(before); !v.empty()) return v + Outcomes(ran);
    if (std::string v = OnlyAcquiredEpochsActed(ran, log_from); !v.empty()) return v + Outcomes(ran);
    std::cerr << "  held: serves B" << expected_ << Outcomes(ran) << "\n";
    return "";
  }

 private:
  std::vector<std::string> Argv(const CoordinatorPlan& p, size_t i, Ran& r) {
    r.journal = dir_ + "/journal-" + std::to_string(i) + ".json";
    std::vector<std::string> a = {LB_BINARY};
    const std::string ttl = std::to_string(kTtl.count() / 1000) + "s";
    if (p.kind == CoordinatorPlan::Kind::kRecoverMember) {
      r.what = "recover-member m" + std::to_string(p.member + 1);
      a.insert(a.end(), {"recover-member", "m" + std::to_string(p.member + 1), "--force", "--timeout", "60s"});
    } else {
      r.restore = true;
      a.insert(a.end(), {"restore-cluster", "--journal", r.journal, "--start-timeout", "30s", "--verify-timeout", "60s"});
      if (p.kind == CoordinatorPlan::Kind::kResumeCopy) {
        r.what = "resume of a copy of C" + std::to_string(p.of) + "'s journal";
        a.push_back("--resume");
      } else {
        r.what = "restore-cluster of B" + std::to_string(p.backup);
        a.insert(a.end(), {"--backup", backups_[p.backup].key, "--yes"});
      }
      if (p.kind == CoordinatorPlan::Kind::kPartialRestore) {
        r.partial = true;
        r.what += " without m" + std::to_string(p.member + 1) + "'s agent";
        std::string agents;
        for (size_t m = 0; m < c_.members().size(); ++m) {
          if (static_cast<int>(m) != p.member) agents += (agents.empty() ? "" : ",") + c_.members()[m].agent_address;
        }
        a.insert(a.end(), {"--agents", agents});
      }
    }
    a.insert(a.end(), {"--config", cfg_, "--lease-ttl", ttl});
    if (p.break_lease) a.push_back("--break-lease");
    return a;
  }

  // Starts coordinator i, or (a copy of a journal that does not exist yet) leaves it unstarted.
  void Start(const Schedule& s, size_t i, std::vector<Ran>& ran) {
    const CoordinatorPlan& p = s.coordinators[i];
    Ran& r = ran[i];
    std::vector<std::string> argv = Argv(p, i, r);
    if (p.kind == CoordinatorPlan::Kind::kResumeCopy) {
      std::error_code ec;
      if (!fs::copy_file(ran[p.of].journal, r.journal, ec)) {
        r.what += " (no journal to copy yet: not run)";
        return;
      }
    }
    const std::string base = dir_ + "/c" + std::to_string(i);
    r.pid = Spawn(argv, base + ".out", base + ".err");
  }

  bool Running(const Ran& r) const { return r.pid > 0 && r.exit_code == -2; }

  // The schedule's timeline, on this thread: coordinator starts and faults in time order.
  void Execute(const Schedule& s, std::vector<Ran>& ran) {
    std::vector<std::pair<int, std::function<void()>>> events;
    for (size_t i = 0; i < s.coordinators.size(); ++i) {
      events.push_back({s.coordinators[i].start_ms, [&, i] { Start(s, i, ran); }});
    }
    for (const auto& f : s.faults) {
      switch (f.kind) {
        case FaultPlan::Kind::kPauseCoordinator:
          events.push_back({f.at_ms, [&, f] { if (Running(ran[f.target])) kill(ran[f.target].pid, SIGSTOP); }});
          events.push_back({f.at_ms + f.for_ms, [&, f] { if (ran[f.target].pid > 0) kill(ran[f.target].pid, SIGCONT); }});
          break;
        case FaultPlan::Kind::kKillCoordinator:
          events.push_back({f.at_ms, [&, f] { if (Running(ran[f.target])) kill(ran[f.target].pid, SIGKILL); }});
          break;
        case FaultPlan::Kind::kKillAgent:
          events.push_back({f.at_ms, [&, f] { if (c_.members()[f.target].agent_pid > 0) c_.KillAgent(f.target); }});
          events.push_back({f.at_ms + f.for_ms, [&, f] { RestartAgent(f.target); }});
          break;
        case FaultPlan::Kind::kKillEtcd:
          events.push_back({f.at_ms, [&, f] {
                              pid_t pid = c_.EtcdPid(f.target);
                              if (pid > 0) kill(pid, SIGKILL);
                            }});
          break;
      }
    }
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto t0 = Clock::now();
    for (auto& [at, fn] : events) {
      std::this_thread::sleep_until(t0 + milliseconds(at));
      fn();
    }
  }

  void RestartAgent(size_t m) {
    if (c_.members()[m].agent_pid <= 0) c_.RestartAgent(m);
  }

  void Finish(Ran& r) {
    if (r.pid <= 0) return;
    kill(r.pid, SIGCONT);
    ProcResult res = Wait(r.pid, seconds(300));
    r.exit_code = res.exit_code;
    r.err = res.err;
  }

  // m1's epoch under which a coordinator acted: its lease step's, or, for a journal already
  // finished (no lease taken), the journal's.
  static uint64_t EpochOf(const Ran& r) {
    std::smatch m;
    if (std::regex_search(r.err, m, std::regex("epochs m1 ([0-9]+)"))) return std::stoull(m[1]);
    auto j = ops::LoadJournal(r.journal);
    if (j.ok()) {
      for (const auto& mj : j->members) {
        if (mj.name == "m1") return mj.lease_epoch;
      }
    }
    return 0;
  }

  int BackupOf(const Ran& r) const {
    auto j = ops::LoadJournal(r.journal);
    if (!j.ok()) return -1;
    for (size_t b = 0; b < backups_.size(); ++b) {
      if (backups_[b].key == j->backup_key) return static_cast<int>(b);
    }
    return -1;
  }

  // As an operator would: every agent back, every etcd that crashed started again (systemd's
  // Restart= would have; process mode has no supervisor), the newest unfinished journal resumed
  // (an older one is refused once a later recovery finished), a member that does not answer
  // recovered.
  std::string Settle(std::vector<Ran>& ran) {
    for (size_t m = 0; m < c_.members().size(); ++m) RestartAgent(m);
    RestartCrashedEtcd();
    std::vector<size_t> journals;
    for (size_t i = 0; i < ran.size(); ++i) {
      if (ran[i].restore && fs::exists(ran[i].journal)) journals.push_back(i);
    }
    std::sort(journals.begin(), journals.end(), [&](size_t a, size_t b) { return EpochOf(ran[a]) > EpochOf(ran[b]); });
    for (size_t i : journals) {
      Ran resumed;
      resumed.what = "settle: --resume of C" + std::to_string(i) + "'s journal";
      resumed.journal = ran[i].journal;
      resumed.restore = true;
      auto res = Lifeboat({"restore-cluster", "--config", cfg_, "--resume", "--break-lease", "--journal", resumed.journal,
                           "--lease-ttl", "10s", "--verify-timeout", "60s"},
                          {}, seconds(240));
      resumed.exit_code = res.exit_code;
      resumed.err = res.err;
      ran.push_back(resumed);
      if (res.exit_code == 0) break;
    }
    return RecoverSilentMembers(ran);
  }

  // A member that does not answer is recovered by name; one that answers but is not right (a
  // learner an interrupted recover-member left) by --auto.
  // An etcd that is not running over an intact data dir, started again with the cluster it was
  // in (its data dir decides; the initial-cluster settings are ignored), as its supervisor would.
  // A member a recovery left without data is not started: the settle's recoveries deal with it.
  void RestartCrashedEtcd() {
    for (size_t m = 0; m < c_.members().size(); ++m) {
      auto a = c_.Agent(m);
      auto st = a->GetStatus();
      if (!st.ok() || st->etcd_running || !st->data_dir_present) continue;
      if (!HoldLease(*a, "settle", /*break_lease=*/true).ok()) continue;
      agent::StartRequest start;
      start.initial_cluster_state = "existing";
      start.timeout = seconds(20);
      (void)a->StartEtcd(start);
      auto held = a->GetStatus();
      if (held.ok()) (void)a->ReleaseLease("settle", held->lease.epoch);
    }
  }

  std::string RecoverSilentMembers(std::vector<Ran>& ran) {
    for (int round = 0; round < 3; ++round) {
      if (Lifeboat({"check", "--config", cfg_}).exit_code == 0 && OneCluster().empty()) return "";
      std::vector<std::string> targets;
      for (size_t m = 0; m < c_.members().size(); ++m) {
        if (!ClientAnswers(c_.members()[m].client_url)) targets.push_back("m" + std::to_string(m + 1));
      }
      if (targets.empty()) targets.push_back("--auto");
      for (const auto& t : targets) {
        Ran rec;
        rec.what = "settle: recover-member " + t;
        auto res = Lifeboat({"recover-member", t, "--config", cfg_, "--break-lease", "--timeout", "60s"}, {},
                            seconds(240));
        rec.exit_code = res.exit_code;
        rec.err = res.err;
        ran.push_back(rec);
      }
    }
    auto chk = Lifeboat({"check", "--config", cfg_});
    return chk.exit_code == 0 ? OneCluster() : "check: " + chk.out + chk.err;
  }

  static bool ClientAnswers(const std::string& url) {
    etcd::ClientOptions o;
    o.endpoints = {url};
    o.dial_timeout = milliseconds(1000);
    o.command_timeout = milliseconds(2000);
    auto cl = etcd::Client::Connect(url, o);
    return cl.ok() && (*cl)->Status().ok();
  }

  // Invariant 1: every member answers, in one cluster, and the member list is the three of them.
  std::string OneCluster() {
    std::set<uint64_t> ids;
    for (const auto& m : c_.members()) {
      etcd::ClientOptions o;
      o.endpoints = {m.client_url};
      auto cl = etcd::Client::Connect(m.client_url, o);
      if (!cl.ok()) return m.name + " does not answer";
      auto st = (*cl)->Status();
      if (!st.ok()) return m.name + " does not answer: " + st.status().message();
      ids.insert(st->header.cluster_id);
      auto list = (*cl)->MemberList();
      if (!list.ok() || list->size() != c_.members().size()) return m.name + " lists another membership";
    }
    if (ids.size() != 1) return "the members answer in " + std::to_string(ids.size()) + " clusters";
    return "";
  }

  // Invariant 2: every member serves the expected backup's data (UpdateExpected).
  std::string ServesExpected() const {
    for (const auto& m : c_.members()) {
      if (ReadAll(m.client_url) != backups_[expected_].data) {
        return m.name + " does not serve B" + std::to_string(expected_) + ", the backup of the last restore that "
               "reported success";
      }
    }
    return "";
  }

  // Invariant 3: inode -> path of every data dir and moved-aside dir of every member.
  std::map<ino_t, std::string> DataDirs() const {
    std::map<ino_t, std::string> out;
    for (const auto& m : c_.members()) {
      fs::path d(m.data_dir);
      const std::string base = d.filename().string();
      for (const auto& e : fs::directory_iterator(d.parent_path())) {
        const std::string n = e.path().filename().string();
        if (n != base && (n.rfind(base + ".lifeboat-", 0) != 0 || n == base + ".lifeboat-staging")) continue;
        struct stat st {};
        if (stat(e.path().c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out[st.st_ino] = e.path().string();
      }
    }
    return out;
  }

  std::string NothingDeleted(const std::map<ino_t, std::string>& before) const {
    auto now = DataDirs();
    for (const auto& [ino, path] : before) {
      if (!now.count(ino)) return "the data dir " + path + " (inode " + std::to_string(ino) + ") is gone";
    }
    return "";
  }

  // Invariant 5. The agents' logs (appended across restarts) from where this schedule began.
  std::string AgentLog(size_t m) const { return c_.dir() + "/agent-" + c_.members()[m].name + ".err"; }

  std::vector<size_t> AgentLogSizes() const {
    std::vector<size_t> out;
    for (size_t m = 0; m < c_.members().size(); ++m) {
      std::error_code ec;
      auto n = fs::file_size(AgentLog(m), ec);
      out.push_back(ec ? 0 : static_cast<size_t>(n));
    }
    return out;
  }

  std::string OnlyAcquiredEpochsActed(const std::vector<Ran>& ran, const std::vector<size_t>& from) const {
    // (owner, member, epoch) each coordinator process printed at its lease step; the harness's
    // own leases (settle restarts a crashed etcd under "settle") are its own.
    std::set<std::tuple<std::string, std::string, uint64_t>> acquired;
    const std::regex lease_step("owner ([0-9a-f]+), epochs ([^)]*)\\)");
    const std::regex member_epoch("(m[0-9]+) ([0-9]+)");
    for (const Ran& r : ran) {
      for (std::sregex_iterator it(r.err.begin(), r.err.end(), lease_step), end; it != end; ++it) {
        const std::string owner = (*it)[1], list = (*it)[2];
        for (std::sregex_iterator e(list.begin(), list.end(), member_epoch); e != end; ++e) {
          acquired.insert({owner, (*e)[1], std::stoull((*e)[2])});
        }
      }
    }
    const std::regex admitted("([A-Za-z]+) under the recovery lease of owner (\\S+) epoch ([0-9]+)");
    for (size_t m = 0; m < c_.members().size(); ++m) {
      const std::string all = ReadText(AgentLog(m));
      const std::string log = all.substr(std::min(from[m], all.size()));
      const std::string& name = c_.members()[m].name;
      for (std::sregex_iterator it(log.begin(), log.end(), admitted), end; it != end; ++it) {
        const std::string rpc = (*it)[1], owner = (*it)[2];
        const uint64_t epoch = std::stoull((*it)[3]);
        if (owner == "settle" || acquired.count({owner, name, epoch})) continue;
        return name + "'s agent admitted " + rpc + " of owner " + owner + " under epoch " + std::to_string(epoch) +
               ", which no coordinator acquired at its lease step: a coordinator acted after its lease ended";
      }
    }
    return "";
  }

  static std::string ReadText(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string Outcomes(const std::vector<Ran>& ran) const {
    std::string out = "\ncoordinators:";
    for (size_t i = 0; i < ran.size(); ++i) {
      out += "\n  C" + std::to_string(i) + " " + ran[i].what + ": exit " + std::to_string(ran[i].exit_code) +
             ", m1 epoch " + std::to_string(EpochOf(ran[i]));
      if (ran[i].exit_code != 0 && ran[i].exit_code != -2) {
        std::string e = ran[i].err;
        auto at = e.rfind("lifeboat: ");
        out += "\n      " + (at == std::string::npos ? e.substr(0, 400) : e.substr(at, 400));
      }
    }
    return out;
  }

  // The backup of the successful restore with the latest m1 epoch; the previous one stays when
  // none succeeded (recover-member changes no data).
  void UpdateExpected(const std::vector<Ran>& ran) {
    uint64_t best = 0;
    for (const Ran& r : ran) {
      if (!r.restore || r.exit_code != 0) continue;
      uint64_t e = EpochOf(r);
      int b = BackupOf(r);
      if (b >= 0 && e >= best) {
        best = e;
        expected_ = b;
      }
    }
  }

  AgentCluster& c_;
  const std::string cfg_;
  const std::vector<Backup> backups_;
  int expected_;
  std::string dir_;
};

TEST(Robustness, RandomFaultSchedulesKeepEveryInvariant) {
  // The default pass (the system's etcd) runs 10; the full 3.6 pass 5 more on another version.
  const uint64_t count = EnvNumber("LB_SCHEDULES", PassEtcdVersion().empty() ? 10 : 5);
  const uint64_t base = EnvNumber("LB_SEED", static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000007ull);
  std::cerr << "robustness: " << count << " schedules from seed " << base << " (LB_SEED=" << base << ")\n";

  auto c = AgentCluster::Start();
  ASSERT_NE(c, nullptr);
  const std::string cfg = c->WriteConfig("file://" + c->dir() + "/store");
  std::vector<Backup> backups;
  for (int b = 0; b < 3; ++b) {
    Load(c->members()[0].client_url, 30, "b" + std::to_string(b));
    ASSERT_TRUE(Lifeboat({"backup", "--config", cfg}).ok());
    auto list = ParseJson(Lifeboat({"list", "--config", cfg, "-w", "json"}).out);
    ASSERT_EQ(list.size(), static_cast<size_t>(b + 1));
    backups.push_back({list[0]["object_key"], ReadAll(c->members()[0].client_url)});
  }
  Driver d(*c, cfg, backups, 2);
  const auto budget = Clock::now() + seconds(EnvNumber("LB_SCHEDULE_BUDGET", 200));
  uint64_t ran = 0;
  for (uint64_t i = 0; i < count && Clock::now() < budget; ++i, ++ran) {
    const Schedule s = MakeSchedule(base + i, 3, 3, kTtl);
    std::cerr << s.Describe();
    const std::string violation = d.Run(s);
    if (!violation.empty()) {
      ADD_FAILURE() << "VIOLATION in schedule seed " << s.seed << ": " << violation << "\n"
                    << s.Describe() << "replay: LB_SEED=" << s.seed
                    << " LB_SCHEDULES=1 build/tests/integration_tests --gtest_filter=Robustness.*";
      return;
    }
  }
  std::cerr << "robustness: " << ran << " schedules, 0 violations\n";
  EXPECT_GE(ran, std::min<uint64_t>(count, 3)) << "too few schedules ran in the time budget to mean anything";
}

}  // namespace
}  // namespace lifeboat::harness
