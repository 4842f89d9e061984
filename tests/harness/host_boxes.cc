#include "harness/host_boxes.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "harness/etcd_cluster.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

constexpr const char* kScript = LB_SOURCE_DIR "/scripts/hosts";

// Roots of live boxes, for the SIGINT/SIGTERM handler: fixed storage, since a handler may only
// use async-signal-safe calls (fork, execv, waitpid).
constexpr int kMaxLive = 8;
char g_live[kMaxLive][512];
std::mutex g_live_mu;

void TearDownAllAndDie(int sig) {
  for (auto& root : g_live) {
    if (root[0] == '\0') continue;
    pid_t pid = fork();
    if (pid == 0) {
      const char* argv[] = {"/bin/bash", kScript, "down", root, nullptr};
      execv(argv[0], const_cast<char* const*>(argv));
      _exit(127);
    }
    if (pid > 0) waitpid(pid, nullptr, 0);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void Register(const std::string& root) {
  std::lock_guard<std::mutex> l(g_live_mu);
  static bool installed = false;
  if (!installed) {
    struct sigaction sa {};
    sa.sa_handler = TearDownAllAndDie;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    installed = true;
  }
  for (auto& slot : g_live) {
    if (slot[0] == '\0' && root.size() < sizeof(slot)) {
      std::memcpy(slot, root.c_str(), root.size() + 1);
      return;
    }
  }
}

void Unregister(const std::string& root) {
  std::lock_guard<std::mutex> l(g_live_mu);
  for (auto& slot : g_live) {
    if (root == slot) slot[0] = '\0';
  }
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string ScriptVersion(const std::string& resolved) {
  return resolved.rfind("3.4", 0) == 0 ? "3.4" : resolved;
}

}  // namespace

std::string HostBoxes::Unsupported() {
  if (geteuid() != 0) return "needs root (network, PID, mount and cgroup namespaces)";
  if (access("/lib/systemd/systemd", X_OK) != 0) return "needs systemd installed (/lib/systemd/systemd)";
  if (Run({"unshare", "--pid", "--fork", "--mount", "--mount-proc", "--cgroup", "true"}).exit_code != 0) {
    return "cannot create PID, mount and cgroup namespaces here (unshare failed)";
  }
  return "";
}

std::unique_ptr<HostBoxes> HostBoxes::Start(const HostBoxesOptions& options) {
  if (std::string why = Unsupported(); !why.empty()) {
    ADD_FAILURE() << "host boxes: " << why << " (run as root, or exclude these tests: ctest -LE hosts)";
    return nullptr;
  }
  std::unique_ptr<HostBoxes> h(new HostBoxes());
  h->version_ = ResolvedEtcdVersion(options.etcd_version);
  std::vector<std::string> argv{"bash", kScript, "up", "-n", std::to_string(options.hosts), "--etcd",
                                ScriptVersion(h->version_)};
  if (!options.start_etcd) argv.push_back("--no-etcd");
  if (!options.lifeboat) argv.push_back("--no-lifeboat");
  if (options.ssh) argv.push_back("--ssh");
  // A watcher tears the boxes down if this process dies without its destructor or signal
  // handler running (SIGKILL, e.g. a ctest timeout), even in the middle of `up`.
  argv.insert(argv.end(), {"--watch", std::to_string(getpid())});
  ProcResult r = Run(argv, {{"LB_BINARY", LB_BINARY}, {"LB_ETCD_DIR", LB_ETCD_DIR}}, std::chrono::seconds(300));
  if (!r.ok()) {
    ADD_FAILURE() << "scripts/hosts up failed (exit " << r.exit_code << "):\n" << r.err << r.out;
    return nullptr;
  }
  h->root_ = Trim(r.out.substr(r.out.rfind('\n', r.out.size() - 2) + 1));
  Register(h->root_);
  std::ifstream in(h->root_ + "/hosts.env");
  std::stringstream ss;
  ss << in.rdbuf();
  h->env_ = ParseClusterEnv(ss.str());
  for (int i = 1; i <= options.hosts; ++i) h->names_.push_back("h" + std::to_string(i));

  h->home_netns_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int coord = open(("/run/netns/" + h->Var("COORD_NS")).c_str(), O_RDONLY | O_CLOEXEC);
  if (h->home_netns_ < 0 || coord < 0 || setns(coord, CLONE_NEWNET) != 0) {
    ADD_FAILURE() << "cannot enter the coordinator namespace " << h->Var("COORD_NS") << ": " << strerror(errno);
    if (coord >= 0) close(coord);
    return nullptr;  // the destructor tears the boxes down
  }
  close(coord);
  if (options.start_etcd && options.lifeboat) {
    for (int i = 0; i < h->size(); ++i) {
      bool up = PollUntil(std::chrono::seconds(60), [&] {
        auto a = agent::AgentClient::Connect(h->addr(i) + ":9438", h->token(), std::chrono::seconds(2), h->tls());
        return a.ok() && (*a)->GetStatus().ok();
      }, std::chrono::milliseconds(200));
      if (!up) {
        ADD_FAILURE() << h->name(i) << "'s agent does not answer:\n" << h->Diagnostics();
        return nullptr;
      }
    }
  }
  return h;
}

HostBoxes::~HostBoxes() {
  if (home_netns_ >= 0) {
    if (setns(home_netns_, CLONE_NEWNET) != 0) ADD_FAILURE() << "cannot return to the machine's namespace";
    close(home_netns_);
  }
  if (root_.empty()) return;
  ProcResult r = Run({"bash", kScript, "down", root_}, {}, std::chrono::seconds(120));
  EXPECT_TRUE(r.ok()) << "scripts/hosts down " << root_ << ": " << r.err;
  Unregister(root_);
  if (r.ok() && !::testing::Test::HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  } else {
    std::cerr << "host boxes state kept in " << root_ << "\n";
  }
}

std::string HostBoxes::Var(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

std::string HostBoxes::token() const {
  std::ifstream in(token_file());
  std::string t;
  in >> t;
  return t;
}

std::unique_ptr<agent::AgentClient> HostBoxes::Agent(int i) const {
  auto c = agent::AgentClient::Connect(addr(i) + ":9438", token(), std::chrono::seconds(10), tls());
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

bool HostBoxes::RestartAgent(int i) const {
  if (!Exec(i, {"systemctl", "restart", "lifeboat-agent.service"}).ok()) return false;
  return PollUntil(std::chrono::seconds(30), [&] {
    auto a = Agent(i);
    return a && a->GetStatus().ok();
  }, std::chrono::milliseconds(200));
}

std::string HostBoxes::etcdctl() const { return EtcdTool(version_, "etcdctl"); }

uint64_t HostBoxes::ClusterId(int i) const {
  ProcResult r = Run({etcdctl(), "--endpoints", client_url(i), "endpoint", "status", "-w", "json"});
  auto j = ParseJson(r.out);
  if (!r.ok() || !j.is_array() || j.empty()) return 0;
  return j[0]["Status"]["header"]["cluster_id"].get<uint64_t>();
}

KV HostBoxes::KeysInBox(int i) const {
  ProcResult r = Exec(i, {"etcdctl", "--endpoints", client_url(i), "get", "", "--prefix", "--consistency=s"});
  EXPECT_TRUE(r.ok()) << name(i) << ": " << r.err;
  KV kv = ParseGet(r.out);
  std::erase_if(kv, [](const auto& e) { return e.first.rfind("/lifeboat/", 0) == 0; });
  return kv;
}

ProcResult HostBoxes::Exec(int i, const std::vector<std::string>& argv, std::chrono::seconds timeout) const {
  std::ifstream in(Var("H" + std::to_string(i + 1) + "_PIDFILE"));
  std::string pid;
  in >> pid;
  std::vector<std::string> a{"nsenter", "-t", pid, "-m", "-p", "-n", "-u", "-C", "--"};
  a.insert(a.end(), argv.begin(), argv.end());
  return Run(a, {}, timeout);
}

ProcResult HostBoxes::Sh(int i, const std::string& cmd, std::chrono::seconds timeout) const {
  return Exec(i, {"/bin/sh", "-c", cmd}, timeout);
}

std::string HostBoxes::UnitState(int i, const std::string& unit) const {
  return Trim(Exec(i, {"systemctl", "is-active", unit}).out);
}

std::string HostBoxes::UnitEnabled(int i, const std::string& unit) const {
  return Trim(Exec(i, {"systemctl", "is-enabled", unit}).out);
}

std::string HostBoxes::Journal(int i, const std::string& unit, int lines) const {
  return Exec(i, {"journalctl", "--no-pager", "-n", std::to_string(lines), "-u", unit}).out;
}

bool HostBoxes::Cut(int i) const { return Run({"bash", kScript, "cut", root_, names_[i]}).ok(); }
bool HostBoxes::Heal(int i) const { return Run({"bash", kScript, "heal", root_, names_[i]}).ok(); }

int HostBoxes::Forward(int port, int target_port) const {
  ProcResult r = Run({"bash", kScript, "forward", root_, std::to_string(port), std::to_string(target_port)});
  if (!r.ok()) {
    ADD_FAILURE() << "forward " << port << ": " << r.err;
    return -1;
  }
  return port;
}

HostBoxes::BoxStore HostBoxes::StartStore(const std::string& bucket) const {
  BoxStore b;
  auto s3 = S3Server::Start();
  if (s3 == nullptr || !s3->CreateBucket(bucket)) {
    ADD_FAILURE() << "radosgw for the boxes: " << (s3 == nullptr ? "did not start" : "cannot create " + bucket);
    return b;
  }
  int rgw_port = std::stoi(s3->endpoint().substr(s3->endpoint().rfind(':') + 1));
  if (Forward(7480, rgw_port) != 7480) return b;
  b.store_url = "s3://" + bucket + "/prod?endpoint=http://" + coord_addr() + ":7480";
  b.server = std::move(s3);
  return b;
}

std::string HostBoxes::WriteConfig(const std::string& store_url, const std::string& extra) const {
  std::string path = root_ + "/lifeboat.yaml";
  std::ofstream(path) << "endpoints: " << endpoints() << "\n"
                      << "agents: " << agents() << "\n"
                      << "agent-token-file: " << token_file() << "\n"
                      << "agent-insecure-transport: true\n"
                      << "store: " << store_url << "\n"
                      << "cluster-name: prod\n"
                      << "restore-journal: " << root_ << "/restore-journal.json\n"
                      << extra;
  return path;
}

std::string HostBoxes::Diagnostics() const {
  std::string out;
  for (int i = 0; i < size(); ++i) {
    out += "--- " + names_[i] + ": etcd " + UnitState(i, "etcd.service") + ", agent " +
           UnitState(i, "lifeboat-agent.service") + "\n";
    out += Journal(i, "etcd.service", 25) + Journal(i, "lifeboat-agent.service", 25);
  }
  return out;
}

}  // namespace lifeboat::harness
