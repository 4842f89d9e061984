// A real etcd cluster run by real host agents: one `lifeboat agent` process per member, each in
// process mode supervising its own etcd (the pass's version unless the options name one) on free loopback ports, bootstrapped through the
// agents themselves. etcd is started through a wrapper that refuses to start member NAME while
// the file fail-NAME exists in dir(), so tests can make a member not come back.
// The destructor stops the agents and kills their etcd (an agent's exit leaves it running); the
// dir is removed unless the test failed.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "harness/process.h"

namespace lifeboat::harness {

struct AgentClusterOptions {
  int members = 3;
  uint64_t min_free_bytes = 0;                // the agents' reserve
  std::map<std::string, std::string> env;     // for the agents (e.g. S3 credentials)
  std::string agent_yaml;                     // appended to every agent's config
  bool mtls = false;                          // agents serve mTLS (PKI from scripts/etcd-cluster pki)
  bool quarantine = false;                    // members get a member.quarantine-client-url
  int data_tmpfs_mb = 0;                      // > 0: the data dirs live on a tmpfs of this size (disk-full tests)
  std::string etcd_version;                   // "" = the pass's (PassEtcdVersion), "3.4", "3.5.30", ...
  std::map<std::string, std::string> member_etcd_version;  // per member name, overrides etcd_version
  // The stores the agents may fetch from, besides file://<dir>/store; "{dir}" stands for dir().
  std::vector<std::string> stores;
  bool observe_token = false;  // the agents also get an observe token (observe_token_file())
};

// Writes a fresh 128-bit random hex token to `path`, mode 0600; returns it.
std::string WriteToken(const std::string& path);
// Acquires a recovery lease on `c`'s agent (owner `owner`, holder "harness@test", 10 minutes)
// and makes `c` send it with every later call: what a coordinator does before a change.
Status HoldLease(agent::AgentClient& c, const std::string& owner = "harness", bool break_lease = false);

class AgentCluster {
 public:
  struct Member {
    std::string name, client_url, peer_url, data_dir, agent_address, log_file;
    std::string quarantine_url;  // with options.quarantine
    std::string etcd_version;    // "3.4", "3.5.30", ...
    pid_t agent_pid = -1;
    pid_t orphan_etcd = -1;  // the etcd of a killed agent, killed by the destructor
  };

  // Starts agents and etcd and waits for a leader; on failure fails the test and returns null.
  static std::unique_ptr<AgentCluster> Start(const AgentClusterOptions& options = {});
  ~AgentCluster();

  const std::string& dir() const { return dir_; }
  // The etcd version member i runs ("3.4.23", "3.5.30", ...) and a tool of that version.
  const std::string& etcd_version(size_t i) const { return members_[i].etcd_version; }
  std::string EtcdTool(size_t i, const std::string& tool) const { return harness::EtcdTool(members_[i].etcd_version, tool); }
  // The file system of the data dirs (dir(), or its tmpfs with data_tmpfs_mb).
  const std::string& data_root() const { return data_root_; }
  const std::string& token_file() const { return token_file_; }
  std::string token() const { return token_; }
  const std::string& observe_token_file() const { return observe_token_file_; }
  // With mtls: the PKI dir (ca.crt, client.crt/key, wrong-client.crt/key signed by wrong-ca).
  std::string pki() const { return dir_ + "/pki"; }
  agent::AgentTls tls() const { return tls_; }
  std::string agents() const;     // comma-separated agent addresses
  std::string endpoints() const;  // comma-separated client URLs
  std::vector<Member>& members() { return members_; }
  // A client for member i's agent.
  std::unique_ptr<agent::AgentClient> Agent(size_t i) const;
  // The same, holding a recovery lease on that agent (HoldLease), for a test that drives it by hand.
  std::unique_ptr<agent::AgentClient> LeasedAgent(size_t i, const std::string& owner = "harness") const;
  // Releases a lease taken with LeasedAgent (or HoldLease) on every agent that holds one of `owner`.
  void ReleaseLeases(const std::string& owner = "harness") const;
  // The pid of member i's etcd, from its agent; -1 when not running.
  pid_t EtcdPid(size_t i) const;
  // SIGKILLs member i's etcd (the agent notices it is gone).
  void KillEtcd(size_t i) const;
  // SIGKILLs member i's agent process (its etcd keeps running).
  void KillAgent(size_t i);
  // Starts member i's agent again with its config (after KillAgent) and waits until it answers.
  void RestartAgent(size_t i);
  // Writes a coordinator config (lifeboat.yaml) in dir() and returns its path. `extra` is appended.
  std::string WriteConfig(const std::string& store_url, const std::string& extra = "") const;

 private:
  std::string dir_, token_, token_file_, observe_token_file_;
  std::string data_root_;  // where the data dirs live: dir_, or the tmpfs mounted in it
  bool tmpfs_ = false;
  agent::AgentTls tls_;
  std::map<std::string, std::string> env_;  // the agents'
  std::vector<Member> members_;
};

}  // namespace lifeboat::harness
