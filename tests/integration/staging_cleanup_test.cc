// Staging that cleans up, against real etcd, real agents and radosgw. A staged copy is a full
// copy of the database on etcd's own disk: after a restore and after a dry run no staging dir
// holds one (--keep-staged keeps them), an agent starting with no recovery under way drops what
// an earlier one left, a new recovery drops the previous one's copies before downloading, and
// GetStatus reports what is staged. A verify SIGKILLed while its decrypted copy is being written
// leaves it in a private dir that the next lifeboat start removes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "harness/agent_cluster.h"
#include "harness/etcd_cluster.h"
#include "harness/http_fault_proxy.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

// The staged copies ("<sha256>.db") in member `m`'s staging dir; lease files and the like aside.
std::vector<std::string> Staged(const AgentCluster::Member& m) {
  std::vector<std::string> out;
  for (const auto& f : FilesUnder(m.data_dir + ".lifeboat-staging")) {
    if (f.find(".db") != std::string::npos) out.push_back(f);
  }
  return out;
}

TEST(StagingCleanupTest, NothingStaysStagedAfterARestoreOrADryRun) {
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("staging-cleanup"));
  AgentClusterOptions ao;
  ao.env = s3->Env();
  ao.stores = {s3->Url("staging-cleanup")};
  auto c = AgentCluster::Start(ao);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", c->endpoints(), "put", "k", "v1"}).exit_code, 0);
  const std::string cfg = c->WriteConfig(s3->Url("staging-cleanup"));
  auto lb = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--config", cfg});
    return Lifeboat(args, s3->Env(), seconds(240));
  };
  ASSERT_EQ(lb({"backup"}).exit_code, 0);

  // A dry run stages on every host (that is its check) and removes the copies when it ends.
  auto dry = lb({"restore-cluster", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.err.find("staged copies removed on every host"), std::string::npos) << dry.err;
  for (const auto& m : c->members()) EXPECT_TRUE(Staged(m).empty()) << m.name;

  // --keep-staged keeps them, and GetStatus says what is staged.
  auto kept = lb({"restore-cluster", "--dry-run", "--keep-staged"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  for (const auto& m : c->members()) EXPECT_EQ(Staged(m).size(), 1u) << m.name;
  auto st = c->Agent(0)->GetStatus();
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_EQ(st->staged.size(), 1u);
  const std::string first_sha = st->staged.begin()->first;
  EXPECT_EQ(Staged(c->members()[0]).front(), first_sha + ".db");
  EXPECT_GT(st->staged.begin()->second, 0u);

  // An agent that starts while no recovery holds its member drops what an earlier one staged.
  c->KillAgent(0);
  c->RestartAgent(0);
  EXPECT_TRUE(Staged(c->members()[0]).empty());
  EXPECT_NE(ReadFile(c->dir() + "/agent-m1.err").find("staged for a recovery that is over"), std::string::npos);
  EXPECT_EQ(Staged(c->members()[1]).size(), 1u) << "the other agents did not restart";

  // A newer backup: the restore stages it, dropping the older copy first on the hosts that still
  // hold one, and removes its own once every member is restored and verified.
  ASSERT_EQ(harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", c->endpoints(), "put", "k", "v2"}).exit_code, 0);
  ASSERT_EQ(lb({"backup"}).exit_code, 0);
  auto r = lb({"restore-cluster", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("staged copies removed on every host"), std::string::npos) << r.err;
  for (const auto& m : c->members()) {
    EXPECT_TRUE(Staged(m).empty()) << m.name;
    EXPECT_EQ(harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", m.client_url, "get", "k",
                            "--print-value-only"}).out,
              "v2\n")
        << m.name;
  }
  EXPECT_NE(ReadFile(c->dir() + "/agent-m2.err").find("DropStaged: removed"), std::string::npos);
  EXPECT_NE(ReadFile(c->dir() + "/agent-m2.err").find(first_sha), std::string::npos)
      << "m2's older copy was dropped (by the new fetch or at the end)";
}

TEST(StagingCleanupTest, ASigkilledVerifyLeavesItsDecryptedCopySweptAtTheNextStart) {
  S3Server* s3 = S3Server::Shared();
  ASSERT_NE(s3, nullptr);
  ASSERT_TRUE(s3->CreateBucket("verify-killed"));
  auto c = EtcdCluster::Start();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Load(1));
  const std::string dir = MakeTempDir("lb-verify-killed-");
  std::ofstream(dir + "/k.key") << std::string(64, '4') << "\n";
  const std::string enc = "encryption: {key-file: " + dir + "/k.key, key-id: k}\n";
  auto config = [&](const std::string& name, const std::string& store) {
    std::ofstream(dir + "/" + name) << "endpoints: " << c->endpoints() << "\nstore: " << store << "\n" << enc;
    return dir + "/" + name;
  };
  const std::string direct = config("direct.yaml", s3->Url("verify-killed"));
  auto env = s3->Env();
  env["TMPDIR"] = dir;
  ASSERT_EQ(Lifeboat({"backup", "--config", direct}, env).exit_code, 0);

  // Every request held 3 s: verify has made its private copy and waits for the object's bytes.
  HttpFaultProxy proxy(*s3, "slow:1000:3000", dir);
  const std::string slow = config("slow.yaml", proxy.Url("verify-killed"));
  pid_t pid = Spawn({LB_BINARY, "verify", "latest", "--config", slow}, dir + "/verify.out", dir + "/verify.err", env);
  ASSERT_GT(pid, 0);
  const std::string root = dir + "/lifeboat-" + std::to_string(getuid());
  std::string copy;
  const bool made = PollUntil(seconds(60), [&] {
    for (const auto& f : FilesUnder(root)) {
      if (f.find("lifeboat-verify-" + std::to_string(pid) + "-") == 0) copy = root + "/" + f;
    }
    return !copy.empty();
  }, std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  Wait(pid, seconds(30));
  ASSERT_TRUE(made) << "verify never made its copy: " << ReadFile(dir + "/verify.err");
  struct stat st {};
  ASSERT_EQ(stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(fs::path(copy).parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(copy.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(copy)) << "a SIGKILL runs no cleanup";

  // The next start of a lifeboat that needs a private copy removes it; that verify passes.
  auto v = Lifeboat({"verify", "latest", "--config", direct}, env);
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_FALSE(fs::exists(fs::path(copy).parent_path())) << copy;
  EXPECT_TRUE(FilesUnder(root).empty());
  // SIGTERM: removed before it dies.
  pid = Spawn({LB_BINARY, "verify", "latest", "--config", slow}, dir + "/verify2.out", dir + "/verify2.err", env);
  copy.clear();
  ASSERT_TRUE(PollUntil(seconds(60), [&] {
    for (const auto& f : FilesUnder(root)) copy = root + "/" + f;
    return !copy.empty();
  }, std::chrono::milliseconds(20)));
  kill(pid, SIGTERM);
  ProcResult term = Wait(pid, seconds(30));
  EXPECT_EQ(term.exit_code, 128 + SIGTERM) << term.err;
  EXPECT_TRUE(FilesUnder(root).empty()) << copy;
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
