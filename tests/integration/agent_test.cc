// lifeboat agent against real etcd (the pass's version) on free loopback ports: the agent binary is started
// with a config, then driven through AgentClient (the coordinator's client) step by step:
// status, native restore, start, stop, move aside; wrong and missing tokens change nothing.
// The process mode is the main case; the commands mode runs etcd through a small shell script.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "agent/agent_client.h"
#include "harness/agent_cluster.h"
#include "harness/process.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using agent::AgentClient;

bool PortOpen(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

std::set<std::string> FilesUnder(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) out.insert(fs::relative(e.path(), dir).string());
  return out;
}

// One agent process for member "m1" on free ports, in a fresh temp dir.
class AgentFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("lb-agent-");
    ASSERT_FALSE(dir_.empty());
    auto p = FreePorts(3);
    client_url_ = "http://127.0.0.1:" + std::to_string(p[0]);
    peer_url_ = "http://127.0.0.1:" + std::to_string(p[1]);
    port_ = p[2];
    address_ = "127.0.0.1:" + std::to_string(port_);
    data_dir_ = dir_ + "/m1.etcd";
    token_ = WriteToken(dir_ + "/token");
  }

  void TearDown() override {
    if (client_ && agent_pid_ > 0) {
      // The agent's exit leaves its etcd running (the next agent adopts it): killed here.
      auto st = client_->GetStatus();
      if (st.ok() && st->pid > 0) orphan_etcd_ = static_cast<pid_t>(st->pid);
    }
    client_.reset();  // an open connection holds up the server's shutdown for its grace period
    if (orphan_etcd_ > 0) kill(orphan_etcd_, SIGKILL);
    if (agent_pid_ > 0) {
      kill(agent_pid_, SIGTERM);
      auto r = Wait(agent_pid_, std::chrono::seconds(60));
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // `mode_yaml` is the mode-specific part of the config.
  void StartAgent(const std::string& mode_yaml) {
    std::ofstream(dir_ + "/agent.yaml") << "listen: " << address_ << "\n"
                                        << "token-file: " << dir_ << "/token\n"
                                        << "stores: [file://" << dir_ << "/store]\n"
                                        << "member: {name: m1, data-dir: " << data_dir_ << ", client-url: "
                                        << client_url_ << ", peer-url: " << peer_url_ << "}\n"
                                        << "etcd:\n  binary: " << EtcdTool("", "etcd") << "\n  log-file: " << dir_
                                        << "/etcd.log\n"
                                        << "  extra-args: [--heartbeat-interval, '50', --election-timeout, '500']\n"
                                        << mode_yaml;
    agent_pid_ = Spawn({LB_BINARY, "agent", "--config", dir_ + "/agent.yaml"}, dir_ + "/agent.out",
                       dir_ + "/agent.err");
    ASSERT_GT(agent_pid_, 0);
    // Wait for the port first: a gRPC channel that found it closed backs off for seconds.
    bool listening = PollUntil(std::chrono::seconds(20), [&] { return PortOpen(port_); });
    ASSERT_TRUE(listening) << "agent did not listen; stderr:\n" << ReadFile(dir_ + "/agent.err");
    auto c = AgentClient::Connect(address_, token_, std::chrono::seconds(5));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    auto st = client_->GetStatus();
    ASSERT_TRUE(st.ok()) << st.status().ToString() << "\nagent stderr:\n" << ReadFile(dir_ + "/agent.err");
    // Every change needs the recovery lease, as a coordinator takes it.
    Status held = HoldLease(*client_, "agent-test");
    ASSERT_TRUE(held.ok()) << held.ToString();
  }

  // The test snapshot, copied into the agent's staging dir: an agent restores nothing else.
  std::string Staged() {
    std::string staging = data_dir_ + ".lifeboat-staging";
    fs::create_directories(staging);
    fs::copy_file(std::string(LB_TEST_DATA) + "/small-snapshot.db", staging + "/small-snapshot.db",
                  fs::copy_options::overwrite_existing);
    return staging + "/small-snapshot.db";
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::unique_ptr<AgentClient> ClientWithToken(const std::string& token) {
    auto c = AgentClient::Connect(address_, token, std::chrono::seconds(5));
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  agent::RestoreResponse Restore() {
    agent::RestoreRequest req;
    req.snapshot_path = Staged();
    req.initial_cluster = "m1=" + peer_url_;
    req.initial_cluster_token = "agent-test";
    auto r = client_->RestoreSnapshot(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : agent::RestoreResponse{};
  }

  // The start of the member Restore() wrote: a one-member cluster of its own.
  agent::StartRequest StartOfRestored() const {
    agent::StartRequest start;
    start.initial_cluster = "m1=" + peer_url_;
    start.initial_cluster_state = "new";
    start.initial_cluster_token = "agent-test";
    start.timeout = std::chrono::seconds(30);
    return start;
  }

  // A process-mode agent that restored the test snapshot and started etcd on it; etcd's pid
  // (also kept for TearDown) and the restored revision.
  pid_t StartRestoredEtcd(int64_t* revision) {
    StartAgent("mode: process\n");
    if (HasFatalFailure()) return -1;
    *revision = Restore().revision;
    auto started = client_->StartEtcd(StartOfRestored());
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return -1;
    orphan_etcd_ = static_cast<pid_t>(started->pid);
    return orphan_etcd_;
  }

  // Keys at the restored revision: the snapshot holds a key on a short lease, which etcd may
  // revoke (at a later revision) before we count on a loaded machine.
  int KeyCount(int64_t revision) {
    auto r = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", client_url_, "get", "", "--prefix", "--keys-only",
                           "--rev=" + std::to_string(revision)});
    EXPECT_TRUE(r.ok()) << r.err;
    int n = 0;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) n += !line.empty();
    return n;
  }

  std::string dir_, client_url_, peer_url_, address_, data_dir_, token_;
  int port_ = 0;
  pid_t agent_pid_ = -1;
  pid_t orphan_etcd_ = -1;  // an etcd whose agent was killed
  std::unique_ptr<AgentClient> client_;
};

TEST_F(AgentFixture, ProcessModeRestoreStartStopMoveAside) {
  StartAgent("mode: process\n");
  if (HasFatalFailure()) return;

  auto st = client_->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_FALSE(st->etcd_running);
  EXPECT_FALSE(st->data_dir_present);
  EXPECT_GT(st->free_bytes, 0u);
  EXPECT_EQ(st->etcd_version, ResolvedEtcdVersion(""));
  EXPECT_EQ(st->member_name, "m1");
  EXPECT_EQ(st->mode, "process");

  // Wrong and missing tokens: refused, nothing touched.
  for (const std::string& bad : {std::string("wrong-token"), std::string()}) {
    auto c = ClientWithToken(bad);
    auto s = c->GetStatus();
    EXPECT_EQ(s.status().code(), Status::Code::kUnauthenticated) << s.status().ToString();
    EXPECT_EQ(s.status().message().find(token_), std::string::npos);
    agent::RestoreRequest req;
    req.snapshot_path = std::string(LB_TEST_DATA) + "/small-snapshot.db";
    req.initial_cluster = "m1=" + peer_url_;
    EXPECT_EQ(c->RestoreSnapshot(req).status().code(), Status::Code::kUnauthenticated);
    EXPECT_EQ(c->StartEtcd({}).status().code(), Status::Code::kUnauthenticated);
  }
  EXPECT_FALSE(fs::exists(data_dir_));

  auto sha = harness::Run({"sha256sum", std::string(LB_TEST_DATA) + "/small-snapshot.db"});
  ASSERT_TRUE(sha.ok());
  {
    // Not the backup the coordinator planned: refused, and no data dir appears.
    agent::RestoreRequest other;
    other.snapshot_path = Staged();
    other.initial_cluster = "m1=" + peer_url_;
    other.expect_sha256 = std::string(64, '0');
    auto r = client_->RestoreSnapshot(other);
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find("not the expected " + other.expect_sha256), std::string::npos)
        << r.status().ToString();
    EXPECT_FALSE(fs::exists(data_dir_));
  }

  // Restore: the whole file's sha256 and the snapshot's revision.
  auto restored = Restore();
  EXPECT_EQ(restored.sha256, sha.out.substr(0, 64));
  EXPECT_EQ(restored.revision, 307);
  EXPECT_EQ(restored.data_dir, data_dir_);
  {
    agent::RestoreRequest again;
    again.snapshot_path = Staged();
    again.initial_cluster = "m1=" + peer_url_;
    auto r = client_->RestoreSnapshot(again);
    EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition) << r.status().ToString();
  }

  const agent::StartRequest start = StartOfRestored();
  auto started = client_->StartEtcd(start);
  ASSERT_TRUE(started.ok()) << started.status().ToString() << "\nagent stderr:\n" << ReadFile(dir_ + "/agent.err");
  EXPECT_EQ(started->version, ResolvedEtcdVersion(""));
  EXPECT_GT(started->pid, 0);
  EXPECT_EQ(KeyCount(restored.revision), 303);  // `lifeboat snapshot status` of the file: 303 live keys

  st = client_->GetStatus();
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->etcd_running);
  EXPECT_EQ(st->pid, started->pid);
  EXPECT_TRUE(st->data_dir_present);
  EXPECT_GT(st->data_dir_bytes, 0u);

  // While etcd runs: no move aside, no second start; a wrong token cannot stop it.
  EXPECT_EQ(client_->MoveDataAside().status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(client_->StartEtcd(start).status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(ClientWithToken("wrong-token")->StopEtcd().status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(ClientWithToken("")->MoveDataAside().status().code(), Status::Code::kUnauthenticated);
  EXPECT_TRUE(fs::exists(data_dir_));
  EXPECT_TRUE(client_->GetStatus()->etcd_running);

  auto stopped = client_->StopEtcd(std::chrono::seconds(20));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(*stopped);
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
  EXPECT_EQ(kill(static_cast<pid_t>(started->pid), 0), -1);  // gone (and reaped)
  auto again = client_->StopEtcd();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);

  auto before = FilesUnder(data_dir_);
  auto moved = client_->MoveDataAside();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_TRUE(std::regex_match(*moved, std::regex(std::regex_replace(data_dir_, std::regex("\\."), "\\.") +
                                                   "\\.lifeboat-[0-9]{8}T[0-9]{6}Z")))
      << *moved;
  EXPECT_FALSE(fs::exists(data_dir_));
  EXPECT_EQ(FilesUnder(*moved), before);
  st = client_->GetStatus();
  EXPECT_FALSE(st->data_dir_present);
  // Nothing left to move: NotFound, never a silent success.
  EXPECT_EQ(client_->MoveDataAside().status().code(), Status::Code::kNotFound);
}

TEST_F(AgentFixture, ProcessModeStartFailureQuotesTheLog) {
  StartAgent("mode: process\n");
  if (HasFatalFailure()) return;
  // No restore: etcd bootstraps a new member, and the initial cluster does not name it.
  agent::StartRequest start;
  start.initial_cluster = "other=http://127.0.0.1:1";
  start.initial_cluster_state = "new";
  start.timeout = std::chrono::seconds(20);
  auto r = client_->StartEtcd(start);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("log ends with"), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
}

// Running: exists and is not a zombie (an orphan waits for init to reap it).
bool Alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos;
  }
  return false;
}

// An agent restart (SIGTERM, then a new agent) leaves the etcd it started serving, and the new
// agent adopts it: it reports it as its own, stops it, and starts a new one.
TEST_F(AgentFixture, AnAgentRestartLeavesEtcdRunningAndTheNextAgentAdoptsIt) {
  int64_t revision = 0;
  const pid_t etcd = StartRestoredEtcd(&revision);
  ASSERT_GT(etcd, 0);
  const agent::StartRequest start = StartOfRestored();
  for (int restart = 0; restart < 2; ++restart) {
    client_.reset();
    kill(agent_pid_, SIGTERM);
    auto r = Wait(agent_pid_, std::chrono::seconds(60));
    agent_pid_ = -1;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("etcd (pid " + std::to_string(etcd) + ") keeps running"), std::string::npos) << r.err;
    ASSERT_TRUE(Alive(etcd)) << "etcd went with its agent";
    EXPECT_EQ(KeyCount(revision), 303) << "and serves on";
    StartAgent("mode: process\n");
    if (HasFatalFailure()) return;
    auto st = client_->GetStatus();
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_TRUE(st->etcd_running);
    EXPECT_EQ(st->pid, etcd);
    EXPECT_NE(ReadFile(dir_ + "/agent.err").find("adopted the etcd an earlier agent started: pid " + std::to_string(etcd)),
              std::string::npos)
        << ReadFile(dir_ + "/agent.err");
  }
  // Adopted means its own: StopEtcd stops it through the controller, and a new one starts.
  auto stopped = client_->StopEtcd(std::chrono::seconds(20));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(*stopped);
  EXPECT_TRUE(PollUntil(std::chrono::seconds(10), [&] { return !Alive(etcd); }));
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
  auto again = client_->StartEtcd(start);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(again->pid, etcd);
  EXPECT_EQ(KeyCount(revision), 303);
}

// An agent restarted after a crash (SIGKILL) finds the etcd its predecessor started through the
// data dir's lock and adopts it: it never moves or overwrites that member's data under it.
TEST_F(AgentFixture, RestartedAgentNeverTouchesTheLiveMember) {
  int64_t revision = 0;
  const pid_t etcd = StartRestoredEtcd(&revision);
  ASSERT_GT(etcd, 0);
  const agent::StartRequest start = StartOfRestored();

  client_.reset();
  kill(agent_pid_, SIGKILL);
  Wait(agent_pid_, std::chrono::seconds(10));
  agent_pid_ = -1;
  ASSERT_TRUE(Alive(etcd));
  StartAgent("mode: process\n");
  if (HasFatalFailure()) return;

  auto st = client_->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(st->etcd_running);
  EXPECT_EQ(st->pid, etcd);  // the holder of the data dir's lock

  const auto before = FilesUnder(data_dir_ + "/member/snap");
  auto moved = client_->MoveDataAside();
  EXPECT_EQ(moved.status().code(), Status::Code::kFailedPrecondition) << moved.status().ToString();
  EXPECT_NE(moved.status().message().find("pid " + std::to_string(etcd)), std::string::npos)
      << moved.status().ToString();
  agent::RestoreRequest restore;
  restore.snapshot_path = Staged();
  restore.initial_cluster = "m1=" + peer_url_;
  auto restored = client_->RestoreSnapshot(restore);
  EXPECT_EQ(restored.status().code(), Status::Code::kFailedPrecondition) << restored.status().ToString();
  EXPECT_NE(restored.status().message().find("etcd is running"), std::string::npos) << restored.status().ToString();
  auto again = client_->StartEtcd(start);
  EXPECT_EQ(again.status().code(), Status::Code::kFailedPrecondition) << again.status().ToString();
  // Nothing moved, the same etcd still serves the same data.
  EXPECT_TRUE(fs::is_directory(data_dir_ + "/member/wal"));
  EXPECT_EQ(FilesUnder(data_dir_ + "/member/snap"), before);
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (name == "m1.etcd.lifeboat-staging") continue;  // the agent's staging dir, not an aside dir
    EXPECT_EQ(name.find("m1.etcd.lifeboat-"), std::string::npos) << e.path();
  }
  EXPECT_TRUE(Alive(etcd));
  EXPECT_EQ(KeyCount(revision), 303);

  // StopEtcd stops the member's etcd by the pid that holds its lock; then the data dir may move.
  auto stopped = client_->StopEtcd(std::chrono::seconds(20));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(*stopped);
  EXPECT_FALSE(Alive(etcd));
  if (!Alive(etcd)) orphan_etcd_ = -1;  // else TearDown kills it
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
  moved = client_->MoveDataAside();
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_EQ(FilesUnder(*moved + "/member/snap"), before);
}

TEST_F(AgentFixture, RefusesToStartWithoutItsTokenFile) {
  std::ofstream(dir_ + "/agent.yaml") << "listen: " << address_ << "\ntoken-file: " << dir_ << "/missing-token\n"
                                      << "member: {name: m1, data-dir: " << data_dir_ << ", client-url: " << client_url_
                                      << ", peer-url: " << peer_url_ << "}\n";
  auto r = Lifeboat({"agent", "--config", dir_ + "/agent.yaml"}, {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing-token"), std::string::npos) << r.err;
  std::ofstream(dir_ + "/bad.yaml") << "listen: " << address_ << "\nmember: {name: m1}\n";
  r = Lifeboat({"agent", "--config", dir_ + "/bad.yaml"}, {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // Nothing listens there: the coordinator's client says so in one line.
  auto down = ClientWithToken(token_)->GetStatus();
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(down.status().message().find("unreachable"), std::string::npos) << down.status().ToString();
}

TEST_F(AgentFixture, CommandsModeRunsOperatorCommands) {
  // The operator's commands: etcd in the background with the flags the agent hands over.
  std::string pidf = dir_ + "/etcd.pid";
  StartAgent("mode: commands\ncommands:\n"
             "  start: '" + EtcdTool("", "etcd") + " $LIFEBOAT_ETCD_FLAGS >>" + dir_ + "/etcd.log 2>&1 </dev/null & echo $! >" + pidf + "'\n"
             "  stop: 'kill $(cat " + pidf + ")'\n"
             // A zombie (exited, not yet reaped by init) is not running.
             "  status: 'p=$(cat " + pidf + " 2>/dev/null) && grep -q \"^State:[[:space:]]*[^Z]\" /proc/$p/status'\n");
  if (HasFatalFailure()) return;
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
  const int64_t revision = Restore().revision;
  const agent::StartRequest start = StartOfRestored();
  auto started = client_->StartEtcd(start);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(KeyCount(revision), 303);
  auto st = client_->GetStatus();
  EXPECT_TRUE(st->etcd_running);
  EXPECT_EQ(st->mode, "commands");
  EXPECT_EQ(client_->MoveDataAside().status().code(), Status::Code::kFailedPrecondition);
  auto stopped = client_->StopEtcd(std::chrono::seconds(20));
  ASSERT_TRUE(stopped.ok()) << stopped.status().ToString();
  EXPECT_TRUE(*stopped);
  EXPECT_FALSE(client_->GetStatus()->etcd_running);
}

// The recover token is not root on the host: the agent restores only what it staged (or a file of
// one of its own local stores) and fetches only from the stores its config names.
TEST_F(AgentFixture, RestoresOnlyStagedFilesAndFetchesOnlyItsStores) {
  StartAgent("mode: process\n");
  if (HasFatalFailure()) return;
  agent::RestoreRequest elsewhere;
  elsewhere.snapshot_path = std::string(LB_TEST_DATA) + "/small-snapshot.db";  // a valid snapshot, outside
  auto r = client_->RestoreSnapshot(elsewhere);
  EXPECT_EQ(r.status().code(), Status::Code::kPermissionDenied) << r.status().ToString();
  EXPECT_NE(r.status().message().find("outside the staging dir"), std::string::npos) << r.status().ToString();
  elsewhere.snapshot_path = "/etc/shadow";
  EXPECT_EQ(client_->RestoreSnapshot(elsewhere).status().code(), Status::Code::kPermissionDenied);
  EXPECT_FALSE(fs::exists(data_dir_)) << "nothing was restored";

  agent::FetchRequest fetch{"file://" + dir_ + "/other-store", "db-etcd/a/x.db", std::string(64, 'a'), 1};
  auto f = client_->FetchBackup(fetch);
  EXPECT_EQ(f.status().code(), Status::Code::kPermissionDenied) << f.status().ToString();
  EXPECT_NE(f.status().message().find("add it to 'stores'"), std::string::npos) << f.status().ToString();
  fetch.store_url = "s3://bucket/x?endpoint=http://198.18.0.99:7480";
  EXPECT_EQ(client_->FetchBackup(fetch).status().code(), Status::Code::kPermissionDenied);
  EXPECT_FALSE(fs::exists(dir_ + "/other-store"));
  EXPECT_NE(ReadFile(dir_ + "/agent.err").find("FetchBackup refused"), std::string::npos);

  // Its own store is read (the object is absent: NotFound, not a refusal).
  fetch.store_url = "file://" + dir_ + "/store";
  EXPECT_EQ(client_->FetchBackup(fetch).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(client_->GetStatus()->stores, std::vector<std::string>{"file://" + dir_ + "/store"});
}

// Every change is fenced: without the live lease and its epoch the agent refuses it.
TEST_F(AgentFixture, ChangesNeedTheLiveLeaseAndItsEpoch) {
  StartAgent("mode: process\n");
  if (HasFatalFailure()) return;
  auto st = client_->GetStatus();
  ASSERT_TRUE(st.ok());
  const uint64_t epoch = st->lease.epoch;
  ASSERT_GT(epoch, 0u);
  auto none = ClientWithToken(token_);  // no lease named
  agent::RestoreRequest restore;
  restore.snapshot_path = Staged();
  auto r = none->RestoreSnapshot(restore);
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition) << r.status().ToString();
  none->SetLease("agent-test", epoch + 1);  // the owner, with an epoch never granted
  EXPECT_EQ(none->MoveDataAside().status().code(), Status::Code::kFailedPrecondition);
  // The lease taken over by another owner: the first one's epoch is refused, naming the breaker.
  agent::LeaseRequest req;
  req.lease = {"bob", "bob@ws2", "restore-cluster", ""};
  req.break_lease = true;
  auto g = none->AcquireLease(req);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->lease.epoch, epoch + 1);
  auto stale = client_->StopEtcd();
  EXPECT_EQ(stale.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(stale.status().message().find("was broken by restore-cluster by bob@ws2"), std::string::npos)
      << stale.status().ToString();
  EXPECT_EQ(client_->RenewLease("agent-test", epoch, std::chrono::minutes(1)).status().code(),
            Status::Code::kFailedPrecondition);
  // Membership changes go through the agent for the same reason: a stale coordinator cannot
  // remove or add a member either.
  auto removed = client_->MemberRemove(0x1234);
  EXPECT_EQ(removed.status().code(), Status::Code::kFailedPrecondition) << removed.status().ToString();
  EXPECT_NE(removed.status().message().find("was broken by"), std::string::npos) << removed.status().ToString();
  none->SetLease("bob", g->lease.epoch);
  EXPECT_TRUE(none->StopEtcd().ok());
  // Released with a record: GetStatus shows it as the last finished recovery.
  agent::RecoveryRecord done;
  done.operation = "restore-cluster";
  done.backup = "db-etcd/a/x.db";
  ASSERT_TRUE(*none->ReleaseLease("bob", g->lease.epoch, &done));
  st = client_->GetStatus();
  EXPECT_TRUE(st->lease.empty());
  EXPECT_EQ(st->last_recovery.holder, "bob@ws2");
  EXPECT_EQ(st->last_recovery.epoch, epoch + 1);
  EXPECT_EQ(st->last_recovery.backup, "db-etcd/a/x.db");
  EXPECT_EQ(none->StopEtcd().status().code(), Status::Code::kFailedPrecondition) << "released: no lease, no change";
}

TEST_F(AgentFixture, AWorldReadableTokenFileStopsTheAgent) {
  chmod((dir_ + "/token").c_str(), 0644);
  std::ofstream(dir_ + "/agent.yaml") << "listen: " << address_ << "\ntoken-file: " << dir_ << "/token\n"
                                      << "member: {name: m1, data-dir: " << data_dir_ << ", client-url: " << client_url_
                                      << ", peer-url: " << peer_url_ << "}\n";
  auto r = Lifeboat({"agent", "--config", dir_ + "/agent.yaml"}, {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("chmod 600 " + dir_ + "/token"), std::string::npos) << r.err;
  EXPECT_FALSE(PortOpen(port_)) << "it never listened";
}

// --check reads the config and the token files as a start would and exits without serving: 0
// for what would start, 2 naming the fix for what would not (a deployment validates with it).
TEST_F(AgentFixture, CheckReadsConfigAndTokensThenExitsWithoutServing) {
  const std::string observe = dir_ + "/observe";
  WriteToken(observe);
  std::ofstream(dir_ + "/agent.yaml") << "listen: " << address_ << "\ntoken-file: " << dir_ << "/token\n"
                                      << "observe-token-file: " << observe << "\nmode: systemd\nsystemd: {unit: etcd.service}\n"
                                      << "member: {name: m1, data-dir: " << data_dir_ << ", client-url: " << client_url_
                                      << ", peer-url: " << peer_url_ << "}\n";
  auto r = Lifeboat({"agent", "--config", dir_ + "/agent.yaml", "--check"}, {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "agent config " + dir_ + "/agent.yaml: ok (member m1, systemd mode, listen " + address_ + ")\n");
  EXPECT_FALSE(PortOpen(port_)) << "a check never listens";
  chmod(observe.c_str(), 0644);
  r = Lifeboat({"agent", "--config", dir_ + "/agent.yaml", "--check"}, {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("chmod 600 " + observe), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(AgentFixture, TheObserveTokenOnlyReadsStatus) {
  const std::string observe = WriteToken(dir_ + "/observe");
  StartAgent("mode: process\nobserve-token-file: " + dir_ + "/observe\n");
  if (HasFatalFailure()) return;
  auto watcher = ClientWithToken(observe);
  auto st = watcher->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->lease.owner_id, "agent-test") << "it sees the lease";
  watcher->SetLease("agent-test", st->lease.epoch);  // even with the lease's name and epoch
  for (auto code : {watcher->StopEtcd().status().code(), watcher->MoveDataAside().status().code(),
                    watcher->AcquireLease(agent::LeaseRequest{{"w", "w@x", "x", ""}, std::chrono::minutes(1), true})
                        .status()
                        .code(),
                    watcher->FetchBackup({"file://" + dir_ + "/store", "k", std::string(64, 'a'), 1}).status().code()}) {
    EXPECT_EQ(code, Status::Code::kPermissionDenied);
  }
  EXPECT_EQ(client_->GetStatus()->lease.owner_id, "agent-test") << "nothing was taken over";
}

}  // namespace
}  // namespace lifeboat::harness
