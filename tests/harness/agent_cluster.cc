#include "harness/agent_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "etcd/client.h"

namespace lifeboat::harness {

namespace fs = std::filesystem;

std::string WriteToken(const std::string& path) {
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  unsigned char b[16] = {};
  rnd.read(reinterpret_cast<char*>(b), sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (unsigned char x : b) t += {hex[x >> 4], hex[x & 15]};
  std::ofstream(path) << t << "\n";
  chmod(path.c_str(), 0600);
  return t;
}

Status HoldLease(agent::AgentClient& c, const std::string& owner, bool break_lease) {
  agent::LeaseRequest req;
  req.break_lease = break_lease;
  req.lease.owner_id = owner;
  req.lease.holder = "harness@test";
  req.lease.operation = "test";
  req.ttl = std::chrono::minutes(10);
  auto g = c.AcquireLease(req);
  if (!g.ok()) return g.status();
  c.SetLease(owner, g->lease.epoch);
  return Status::OK();
}

std::unique_ptr<AgentCluster> AgentCluster::Start(const AgentClusterOptions& options) {
  auto c = std::unique_ptr<AgentCluster>(new AgentCluster());
  c->dir_ = MakeTempDir("lb-agents-");
  if (c->dir_.empty()) return nullptr;
  c->token_file_ = c->dir_ + "/agent.token";
  c->token_ = WriteToken(c->token_file_);
  if (options.observe_token) {
    c->observe_token_file_ = c->dir_ + "/observe.token";
    WriteToken(c->observe_token_file_);
  }
  c->env_ = options.env;
  std::string stores = "stores: [file://" + c->dir_ + "/store";
  for (std::string s : options.stores) {
    if (auto at = s.find("{dir}"); at != std::string::npos) s.replace(at, 5, c->dir_);
    stores += ", '" + s + "'";
  }
  stores += "]\n";
  // One wrapper per member: it runs that member's etcd version.
  auto write_wrapper = [&](const std::string& name, const std::string& etcd) {
    std::string wrapper = c->dir_ + "/etcd-wrapper-" + name;
    std::ofstream(wrapper) << "#!/bin/sh\n"
                              "prev=; name=\n"
                              "for a in \"$@\"; do [ \"$prev\" = --name ] && name=$a; prev=$a; done\n"
                              "if [ -n \"$name\" ] && [ -e \"$(dirname \"$0\")/fail-$name\" ]; then\n"
                              "  echo \"test wrapper: refusing to start $name (fail-$name exists)\" >&2; exit 1\n"
                              "fi\n"
                              "exec " << etcd << " \"$@\"\n";
    chmod(wrapper.c_str(), 0755);
    return wrapper;
  };
  c->data_root_ = c->dir_;
  if (options.data_tmpfs_mb > 0) {
    c->data_root_ = c->dir_ + "/disk";
    fs::create_directories(c->data_root_);
    std::string size = "size=" + std::to_string(options.data_tmpfs_mb) + "m";
    if (mount("tmpfs", c->data_root_.c_str(), "tmpfs", 0, size.c_str()) != 0) {
      ADD_FAILURE() << "cannot mount a tmpfs at " << c->data_root_ << " (the tests run as root)";
      return nullptr;
    }
    c->tmpfs_ = true;
  }
  std::string tls_yaml;
  if (options.mtls) {
    auto r = Run({"bash", std::string(LB_SOURCE_DIR) + "/scripts/etcd-cluster", "pki", c->pki()});
    if (!r.ok()) {
      ADD_FAILURE() << "pki: " << r.err;
      return nullptr;
    }
    tls_yaml = "tls: {cert: " + c->pki() + "/server.crt, key: " + c->pki() + "/server.key, client-ca: " + c->pki() +
               "/ca.crt}\n";
    c->tls_ = {c->pki() + "/ca.crt", c->pki() + "/client.crt", c->pki() + "/client.key"};
  }
  auto ports = FreePorts(4 * options.members);
  for (int i = 0; i < options.members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i + 1);
    m.client_url = "http://127.0.0.1:" + std::to_string(ports[4 * i]);
    m.peer_url = "http://127.0.0.1:" + std::to_string(ports[4 * i + 1]);
    m.agent_address = "127.0.0.1:" + std::to_string(ports[4 * i + 2]);
    if (options.quarantine) m.quarantine_url = "http://127.0.0.1:" + std::to_string(ports[4 * i + 3]);
    m.data_dir = c->data_root_ + "/" + m.name + ".etcd";
    m.log_file = c->dir_ + "/" + m.name + ".log";
    auto v = options.member_etcd_version.find(m.name);
    m.etcd_version = ResolvedEtcdVersion(v == options.member_etcd_version.end() ? options.etcd_version : v->second);
    const std::string wrapper = write_wrapper(m.name, harness::EtcdTool(m.etcd_version, "etcd"));
    std::string cfg = c->dir_ + "/agent-" + m.name + ".yaml";
    std::ofstream(cfg) << "listen: " << m.agent_address << "\n"
                       << "token-file: " << c->token_file_ << "\n"
                       << (c->observe_token_file_.empty() ? "" : "observe-token-file: " + c->observe_token_file_ + "\n")
                       << stores
                       << "min-free-bytes: " << options.min_free_bytes << "\n"
                       << "member: {name: " << m.name << ", data-dir: " << m.data_dir
                       << ", client-url: " << m.client_url << ", peer-url: " << m.peer_url
                       << (m.quarantine_url.empty() ? "" : ", quarantine-client-url: " + m.quarantine_url) << "}\n"
                       << "mode: process\n"
                       << "etcd:\n  binary: " << wrapper << "\n  log-file: " << m.log_file << "\n"
                       << "  extra-args: [--heartbeat-interval, '50', --election-timeout, '500']\n"
                       << options.agent_yaml << tls_yaml;
    m.agent_pid = Spawn({LB_BINARY, "agent", "--config", cfg}, c->dir_ + "/agent-" + m.name + ".out",
                        c->dir_ + "/agent-" + m.name + ".err", options.env);
    if (m.agent_pid <= 0) return nullptr;
    c->members_.push_back(m);
  }
  // Wait for every agent, then bootstrap the cluster through them, all members at once.
  std::string initial;
  for (const auto& m : c->members_) initial += (initial.empty() ? "" : ",") + m.name + "=" + m.peer_url;
  for (size_t i = 0; i < c->members_.size(); ++i) {
    bool up = PollUntil(std::chrono::seconds(20), [&] { return c->Agent(i)->GetStatus().ok(); },
                        std::chrono::milliseconds(100));
    if (!up) {
      ADD_FAILURE() << "agent " << c->members_[i].name << " did not answer";
      return nullptr;
    }
  }
  std::vector<Status> started(c->members_.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < c->members_.size(); ++i) {
    threads.emplace_back([&, i] {
      agent::StartRequest req;
      req.initial_cluster = initial;
      req.initial_cluster_state = "new";
      req.initial_cluster_token = "agents-" + fs::path(c->dir_).filename().string();
      auto a = c->Agent(i);
      // The agent has answered GetStatus; a transport error on the next connection (seen once in a
      // loaded run, "failed to connect" to the listening port) is asked again, a refusal is not.
      PollUntil(std::chrono::seconds(10), [&] {
        started[i] = HoldLease(*a, "harness-bootstrap");
        return started[i].code() != Status::Code::kUnavailable;
      }, std::chrono::milliseconds(200));
      if (started[i].ok()) started[i] = a->StartEtcd(req).status();
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < started.size(); ++i) {
    if (!started[i].ok()) {
      ADD_FAILURE() << "start " << c->members_[i].name << ": " << started[i].ToString();
      return nullptr;
    }
  }
  c->ReleaseLeases("harness-bootstrap");
  bool leader = PollUntil(std::chrono::seconds(20), [&] {
    for (const auto& m : c->members_) {
      etcd::ClientOptions o;
      o.endpoints = {m.client_url};
      auto cl = etcd::Client::Connect(m.client_url, o);
      if (!cl.ok()) return false;
      auto st = (*cl)->Status();
      if (!st.ok() || st->leader == 0) return false;
    }
    return true;
  });
  if (!leader) {
    ADD_FAILURE() << "no leader in the agent-run cluster";
    return nullptr;
  }
  return c;
}

AgentCluster::~AgentCluster() {
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (m.orphan_etcd > 0) kill(m.orphan_etcd, SIGKILL);
    if (m.agent_pid > 0) {
      const pid_t etcd = EtcdPid(i);  // an agent's exit leaves its etcd running
      kill(m.agent_pid, SIGTERM);
      auto r = Wait(m.agent_pid, std::chrono::seconds(60));
      EXPECT_EQ(r.exit_code, 0) << "agent " << m.name << ": " << r.err;
      if (etcd > 0) kill(etcd, SIGKILL);
    }
  }
  if (tmpfs_) umount2(data_root_.c_str(), MNT_DETACH);
  if (!dir_.empty() && !::testing::Test::HasFailure()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string AgentCluster::agents() const {
  std::string out;
  for (const auto& m : members_) out += (out.empty() ? "" : ",") + m.agent_address;
  return out;
}

std::string AgentCluster::endpoints() const {
  std::string out;
  for (const auto& m : members_) out += (out.empty() ? "" : ",") + m.client_url;
  return out;
}

std::unique_ptr<agent::AgentClient> AgentCluster::Agent(size_t i) const {
  auto c = agent::AgentClient::Connect(members_[i].agent_address, token_, std::chrono::seconds(10), tls_);
  EXPECT_TRUE(c.ok());
  return std::move(*c);
}

std::unique_ptr<agent::AgentClient> AgentCluster::LeasedAgent(size_t i, const std::string& owner) const {
  auto c = Agent(i);
  Status held = HoldLease(*c, owner);
  EXPECT_TRUE(held.ok()) << held.ToString();
  return c;
}

void AgentCluster::ReleaseLeases(const std::string& owner) const {
  for (size_t i = 0; i < members_.size(); ++i) {
    auto c = Agent(i);
    auto st = c->GetStatus();
    if (st.ok() && st->lease.owner_id == owner) {
      auto r = c->ReleaseLease(owner, st->lease.epoch);
      EXPECT_TRUE(r.ok() && *r) << "release " << owner << " on " << members_[i].name;
    }
  }
}

pid_t AgentCluster::EtcdPid(size_t i) const {
  auto st = Agent(i)->GetStatus();
  if (!st.ok() || !st->etcd_running) return -1;
  return static_cast<pid_t>(st->pid);
}

void AgentCluster::KillEtcd(size_t i) const {
  pid_t pid = EtcdPid(i);
  ASSERT_GT(pid, 0) << members_[i].name << " has no etcd to kill";
  kill(pid, SIGKILL);
  bool gone = PollUntil(std::chrono::seconds(10), [&] { return EtcdPid(i) <= 0; });
  ASSERT_TRUE(gone) << members_[i].name << "'s etcd survived SIGKILL";
}

void AgentCluster::KillAgent(size_t i) {
  pid_t pid = members_[i].agent_pid;
  ASSERT_GT(pid, 0);
  members_[i].orphan_etcd = EtcdPid(i);
  kill(pid, SIGKILL);
  Wait(pid, std::chrono::seconds(10));
  members_[i].agent_pid = -1;
}

void AgentCluster::RestartAgent(size_t i) {
  Member& m = members_[i];
  ASSERT_LE(m.agent_pid, 0) << m.name << "'s agent is still running";
  m.agent_pid = Spawn({LB_BINARY, "agent", "--config", dir_ + "/agent-" + m.name + ".yaml"},
                      dir_ + "/agent-" + m.name + ".out", dir_ + "/agent-" + m.name + ".err", env_);
  ASSERT_GT(m.agent_pid, 0);
  bool up = PollUntil(std::chrono::seconds(20), [&] { return Agent(i)->GetStatus().ok(); },
                      std::chrono::milliseconds(100));
  ASSERT_TRUE(up) << "agent " << m.name << " did not answer after its restart";
}

std::string AgentCluster::WriteConfig(const std::string& store_url, const std::string& extra) const {
  std::string path = dir_ + "/lifeboat.yaml";
  std::ofstream(path) << "endpoints: " << endpoints() << "\n"
                      << "agents: " << agents() << "\n"
                      << "agent-token-file: " << token_file_ << "\n"
                      << "store: " << store_url << "\n"
                      << "cluster-name: prod\n"
                      << "restore-journal: " << dir_ << "/restore-journal.json\n"
                      << (tls_.cacert.empty() ? std::string()
                                              : "agent-cacert: " + tls_.cacert + "\nagent-cert: " + tls_.cert +
                                                    "\nagent-key: " + tls_.key + "\n")
                      << extra;
  return path;
}

}  // namespace lifeboat::harness
