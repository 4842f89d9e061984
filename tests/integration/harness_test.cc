// Proves the integration harness itself: process control (output capture, timeouts, spawn/wait)
// and real etcd clusters (plain, TLS + client-cert-auth + auth, correct restore, and the
// --restore-one trap whose members come up healthy yet hold different data).
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "harness/etcd_cluster.h"
#include "harness/process.h"

namespace lifeboat::harness {
namespace {

using namespace std::chrono_literals;

// Zombies count as gone: the members are orphans and PID 1 may never reap them.
bool ProcessGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z';
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A snapshot of a cluster holding `mb` MiB of /load/ keys; returns its path and key count.
std::string MakeSnapshot(double mb, size_t* keys) {
  EtcdCluster::Options options;
  options.members = 1;
  auto source = EtcdCluster::Start(options);
  if (source == nullptr) return "";
  EXPECT_TRUE(source->Load(mb));
  *keys = source->DumpKeys().size();
  // Next to the cluster dir, not in it: the dir is removed when `source` goes away.
  const std::string path = source->dir() + ".db";
  ProcResult r = source->Etcdctl({"snapshot", "save", path});
  EXPECT_TRUE(r.ok()) << r.err;
  return r.ok() ? path : "";
}

TEST(ProcessTest, RunDrainsLargeStdoutAndStderrTogether) {
  // Both streams exceed the 64 KiB pipe buffer: reading them one after the other would deadlock.
  ProcResult r = harness::Run({"bash", "-c",
                      "head -c 3000000 /dev/zero | tr '\\0' a; head -c 2000000 /dev/zero | tr '\\0' b >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out.size(), 3000000u);
  EXPECT_EQ(r.err.size(), 2000000u);
  EXPECT_EQ(r.out.find_first_not_of('a'), std::string::npos);
}

TEST(ProcessTest, RunKillsTheProcessGroupOnTimeout) {
  auto start = std::chrono::steady_clock::now();
  // The grandchild holds the pipe too; only killing the whole group ends the wait.
  ProcResult r = harness::Run({"bash", "-c", "sleep 30 & sleep 30"}, {}, 1s);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(ProcessTest, RunReportsEnvSignalsAndExecFailures) {
  ProcResult env = harness::Run({"bash", "-c", "echo \"$LB_HARNESS_X\""}, {{"LB_HARNESS_X", "hello"}});
  EXPECT_EQ(env.exit_code, 0);
  EXPECT_EQ(env.out, "hello\n");
  EXPECT_EQ(harness::Run({"bash", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
  ProcResult missing = harness::Run({"/nonexistent/binary"});
  EXPECT_EQ(missing.exit_code, -1);
  EXPECT_NE(missing.err.find("cannot execute"), std::string::npos) << missing.err;
}

TEST(ProcessTest, SpawnWaitAndPollUntil) {
  const std::string dir = MakeTempDir("lb-proc-");
  ASSERT_FALSE(dir.empty());
  const std::string flag = dir + "/flag";
  pid_t pid = Spawn({"bash", "-c", "echo out; echo err >&2; touch " + flag + "; exit 4"}, dir + "/out", dir + "/err");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(PollUntil(10s, [&] { return std::filesystem::exists(flag); }));
  ProcResult r = Wait(pid, 10s);
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(PollUntil(100ms, [] { return false; }));
  std::filesystem::remove_all(dir);
}

TEST(EtcdClusterTest, Base64AndGetJsonParsing) {
  std::string out;
  ASSERT_TRUE(Base64Decode("L2xvYWQvMDAwMDAwMDE=", &out));
  EXPECT_EQ(out, "/load/00000001");
  ASSERT_TRUE(Base64Decode("YQ", &out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(Base64Decode("a$==", &out));
  std::map<std::string, std::string> kvs;
  ASSERT_TRUE(ParseEtcdctlGetJson(
      R"({"header":{"revision":3},"kvs":[{"key":"YQ==","create_revision":2,"value":"MQ=="},{"key":"Yg=="}],"count":2})",
      &kvs));
  EXPECT_EQ(kvs, (std::map<std::string, std::string>{{"a", "1"}, {"b", ""}}));
  ASSERT_TRUE(ParseEtcdctlGetJson(R"({"header":{"revision":1}})", &kvs));
  EXPECT_TRUE(kvs.empty());
  EXPECT_FALSE(ParseEtcdctlGetJson("Error: context deadline exceeded", &kvs));
}

TEST(EtcdClusterTest, PlainClusterPutGetLeaderAndCleanStop) {
  auto start = std::chrono::steady_clock::now();
  auto c = EtcdCluster::Start();
  ASSERT_NE(c, nullptr);
  RecordProperty("start_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - start).count()));
  ASSERT_EQ(c->names(), (std::vector<std::string>{"m1", "m2", "m3"}));
  EXPECT_EQ(std::count(c->endpoints().begin(), c->endpoints().end(), ','), 2);
  for (const auto& n : c->names()) {
    EXPECT_EQ(c->endpoint(n).rfind("http://127.0.0.1:", 0), 0u) << c->endpoint(n);
    EXPECT_TRUE(std::filesystem::is_directory(c->data_dir(n))) << c->data_dir(n);
    EXPECT_GT(c->pid(n), 0);
  }

  ProcResult put = c->Etcdctl({"put", "/harness/k", "v1"});
  ASSERT_TRUE(put.ok()) << put.err;
  ProcResult get = c->Etcdctl({"get", "/harness/k", "--print-value-only"});
  ASSERT_TRUE(get.ok()) << get.err;
  EXPECT_EQ(get.out, "v1\n");
  EXPECT_EQ(c->DumpKeys(c->endpoint("m3")), (std::map<std::string, std::string>{{"/harness/k", "v1"}}));
  EXPECT_TRUE(Contains(c->names(), c->Leader()));

  std::vector<pid_t> pids;
  for (const auto& n : c->names()) pids.push_back(c->pid(n));
  c->Stop();
  c->Stop();  // idempotent
  for (pid_t p : pids) EXPECT_TRUE(ProcessGone(p)) << p;
}

TEST(EtcdClusterTest, KillLeaderElectsAnotherAndTheMemberRejoins) {
  auto c = EtcdCluster::Start();
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Etcdctl({"put", "/harness/before", "1"}).ok());
  const std::string old_leader = c->Leader();
  ASSERT_TRUE(Contains(c->names(), old_leader));
  const pid_t old_pid = c->pid(old_leader);
  ASSERT_TRUE(c->Kill(old_leader));
  EXPECT_TRUE(ProcessGone(old_pid));
  EXPECT_EQ(c->pid(old_leader), -1);

  const std::string new_leader = c->Leader();
  EXPECT_TRUE(Contains(c->names(), new_leader));
  EXPECT_NE(new_leader, old_leader);
  ASSERT_TRUE(c->Etcdctl({"put", "/harness/during", "2"}).ok());

  ASSERT_TRUE(c->StartMember(old_leader));
  EXPECT_GT(c->pid(old_leader), 0);
  // The restarted member catches up through raft; its own (serializable) view converges.
  const std::map<std::string, std::string> want{{"/harness/before", "1"}, {"/harness/during", "2"}};
  EXPECT_TRUE(PollUntil(10s, [&] { return c->DumpKeys(c->endpoint(old_leader), true) == want; }));
}

TEST(EtcdClusterTest, TlsClientCertAuthAndAuth) {
  EtcdCluster::Options options;
  options.tls = options.client_cert_auth = options.auth = true;
  auto c = EtcdCluster::Start(options);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->endpoint("m1").rfind("https://127.0.0.1:", 0), 0u);
  EXPECT_FALSE(c->root_password().empty());
  for (const auto& f : {c->cacert(), c->cert(), c->key(), c->wrong_cacert(), c->wrong_cert(), c->wrong_key()}) {
    EXPECT_TRUE(std::filesystem::exists(f)) << f;
  }

  ProcResult put = c->Etcdctl({"put", "/secure/k", "v"});
  ASSERT_TRUE(put.ok()) << put.err;
  ProcResult get = c->Etcdctl({"get", "/secure/k", "--print-value-only"});
  ASSERT_TRUE(get.ok()) << get.err;
  EXPECT_EQ(get.out, "v\n");

  const std::string ep = "--endpoints=" + c->endpoint("m1");
  const std::string user = "--user=root:" + c->root_password();
  auto get_with = [&](std::vector<std::string> flags) {
    // Short timeouts: a rejected TLS handshake only surfaces as a dial timeout.
    flags.insert(flags.begin(), {ep, "--dial-timeout=1s", "--command-timeout=3s"});
    flags.insert(flags.end(), {"get", "/secure/k"});
    return RunEtcdctl(flags);
  };
  EXPECT_TRUE(get_with({"--cacert=" + c->cacert(), "--cert=" + c->cert(), "--key=" + c->key(), user}).ok());
  // The server's certificate does not chain to the wrong CA.
  EXPECT_FALSE(get_with({"--cacert=" + c->wrong_cacert(), "--cert=" + c->cert(), "--key=" + c->key(), user}).ok());
  // The server rejects a client certificate from the wrong CA, and a missing one.
  EXPECT_FALSE(
      get_with({"--cacert=" + c->cacert(), "--cert=" + c->wrong_cert(), "--key=" + c->wrong_key(), user}).ok());
  EXPECT_FALSE(get_with({"--cacert=" + c->cacert(), user}).ok());
  // Right certificates, no or wrong password.
  EXPECT_FALSE(get_with({"--cacert=" + c->cacert(), "--cert=" + c->cert(), "--key=" + c->key()}).ok());
  EXPECT_FALSE(
      get_with({"--cacert=" + c->cacert(), "--cert=" + c->cert(), "--key=" + c->key(), "--user=root:wrong"}).ok());
}

TEST(EtcdClusterTest, RestoreIntoEveryMemberGivesIdenticalMembers) {
  size_t keys = 0;
  const std::string snap = MakeSnapshot(0.25, &keys);
  ASSERT_FALSE(snap.empty());
  ASSERT_EQ(keys, 256u);
  EtcdCluster::Options options;
  options.restore = snap;
  auto c = EtcdCluster::Start(options);
  ASSERT_NE(c, nullptr);
  const auto m1 = c->DumpKeys(c->endpoint("m1"), true);
  EXPECT_EQ(m1.size(), keys);
  for (const auto& n : c->names()) EXPECT_EQ(c->DumpKeys(c->endpoint(n), true), m1) << n;
  std::filesystem::remove(snap);
}

TEST(EtcdClusterTest, RestoreOneIsTheTrapHealthyButMembersDisagree) {
  size_t keys = 0;
  const std::string snap = MakeSnapshot(0.25, &keys);
  ASSERT_FALSE(snap.empty());
  ASSERT_EQ(keys, 256u);
  EtcdCluster::Options options;
  options.restore_one = snap;
  auto c = EtcdCluster::Start(options);
  ASSERT_NE(c, nullptr);
  // Every member is healthy and there is one leader ...
  ProcResult health = c->Etcdctl({"endpoint", "health"});
  EXPECT_TRUE(health.ok()) << health.err;
  EXPECT_TRUE(Contains(c->names(), c->Leader()));
  // ... yet only m1 holds the restored keys: each member's local view differs.
  EXPECT_EQ(c->DumpKeys(c->endpoint("m1"), true).size(), keys);
  EXPECT_TRUE(c->DumpKeys(c->endpoint("m2"), true).empty());
  EXPECT_TRUE(c->DumpKeys(c->endpoint("m3"), true).empty());
  std::filesystem::remove(snap);
}

}  // namespace
}  // namespace lifeboat::harness
