#include "harness/s3_server.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/etcd_cluster.h"  // ParseClusterEnv: s3.env has the same KEY='VALUE' form

namespace lifeboat::harness {

namespace {

constexpr const char* kScript = LB_SOURCE_DIR "/scripts/s3-server";
const auto kScriptTimeout = std::chrono::seconds(180);

std::string Failure(const std::string& what, const ProcResult& r) {
  return what + " failed (exit " + std::to_string(r.exit_code) + "):\n" + r.err + r.out;
}

// Stops the shared server when the test binary is done with it.
class SharedServerEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { server.reset(); }
  std::unique_ptr<S3Server> server;
};

SharedServerEnvironment* g_shared = nullptr;

}  // namespace

std::unique_ptr<S3Server> S3Server::Start() {
  const std::string dir = MakeTempDir("lb-s3-");
  if (dir.empty()) return nullptr;
  ProcResult r = Run({kScript, "start", dir}, {}, kScriptTimeout);
  std::unique_ptr<S3Server> s(new S3Server());
  s->dir_ = dir;
  if (!r.ok()) {
    ADD_FAILURE() << Failure("s3-server start " + dir, r);
    return nullptr;  // the destructor stops whatever did start
  }
  if (!s->LoadEnv()) return nullptr;
  return s;
}

S3Server* S3Server::Shared() {
  if (g_shared == nullptr) {
    // AddGlobalTestEnvironment takes ownership; its TearDown runs after the last test.
    g_shared = new SharedServerEnvironment();
    ::testing::AddGlobalTestEnvironment(g_shared);
  }
  if (!g_shared->server) g_shared->server = Start();
  return g_shared->server.get();
}

bool S3Server::LoadEnv() {
  std::ifstream in(dir_ + "/s3.env");
  std::stringstream ss;
  ss << in.rdbuf();
  env_ = ParseClusterEnv(ss.str());
  if (Var("ENDPOINT").empty()) {
    ADD_FAILURE() << dir_ << "/s3.env lacks ENDPOINT";
    return false;
  }
  return true;
}

S3Server::~S3Server() {
  Stop();
  if (!dir_.empty() && std::getenv("LB_KEEP_CLUSTERS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string S3Server::Var(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

std::string S3Server::Url(const std::string& bucket, const std::string& prefix) const {
  return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix) + "?endpoint=" + endpoint();
}

std::map<std::string, std::string> S3Server::Env(const std::string& secret) const {
  return {{"AWS_ACCESS_KEY_ID", access_key()},
          {"AWS_SECRET_ACCESS_KEY", secret.empty() ? secret_key() : secret},
          {"AWS_REGION", region()},
          // Hermetic: no operator's ~/.aws files leak into a test.
          {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"},
          {"AWS_CONFIG_FILE", "/nonexistent"}};
}

std::unique_ptr<store::S3Store> S3Server::Open(const std::string& bucket, const std::string& prefix,
                                               store::S3Options options) const {
  return OpenUrl(Url(bucket, prefix), options);
}

std::unique_ptr<store::S3Store> S3Server::OpenUrl(const std::string& url, store::S3Options options) const {
  auto env = Env();
  store::EnvLookup lookup = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto s = store::S3Store::Open(url, lookup, options);
  if (!s.ok()) {
    ADD_FAILURE() << "opening " << url << ": " << s.status().ToString();
    return nullptr;
  }
  return std::move(s).value();
}

bool S3Server::CreateBucket(const std::string& bucket, bool object_lock) const {
  auto s = Open(bucket);
  if (!s) return false;
  Status st = s->client().CreateBucket(object_lock);
  if (!st.ok()) ADD_FAILURE() << "create bucket " << bucket << ": " << st.ToString();
  return st.ok();
}

bool S3Server::KillGateway() {
  pid_t pid = static_cast<pid_t>(std::atoi(Var("RGW_PID").c_str()));
  if (pid <= 0 || kill(pid, SIGKILL) != 0) {
    ADD_FAILURE() << "cannot kill radosgw pid " << Var("RGW_PID");
    return false;
  }
  // Gone once the port refuses connections (the process may linger as a zombie).
  return PollUntil(std::chrono::seconds(10), [&] {
    return Run({"curl", "-s", "-o", "/dev/null", "--max-time", "1", endpoint()}).exit_code == 7;
  });
}

bool S3Server::Restart() {
  ProcResult r = Run({kScript, "start", dir_}, {}, kScriptTimeout);
  if (!r.ok()) {
    ADD_FAILURE() << Failure("s3-server start " + dir_, r);
    return false;
  }
  return LoadEnv();
}

ProcResult S3Server::Admin(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"radosgw-admin", "-c", dir_ + "/ceph.conf"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, {}, std::chrono::seconds(60));
}

void S3Server::Stop() {
  if (dir_.empty()) return;
  ProcResult r = Run({kScript, "stop", dir_}, {}, kScriptTimeout);
  if (!r.ok()) ADD_FAILURE() << Failure("s3-server stop " + dir_, r);
}

}  // namespace lifeboat::harness
