// Three (or N) etcd hosts on this machine, each a box with systemd as its PID 1, for tests of the
// runbook's world: etcd.service (Debian's unit, /etc/default/etcd per host) on the default ports
// 2379/2380 of the host's own 198.18.0.x address, and lifeboat-agent.service (the repo's
// deploy/lifeboat-agent.service) in systemd mode. Driven through scripts/hosts, where the recipe
// and its safety rules live (private /tmp, /var/tmp and /run; masks on every unit that would act
// on the machine). Needs root and namespaces.
//
// The test process itself becomes the coordinator: Start() moves it into the coordinator's
// network namespace (198.18.0.1 on the same bridge), so the lifeboat CLI, radosgw and every
// client the test opens run there. Run only one such test per process (ctest does): threads
// created before Start() stay in the machine's namespace.
// The destructor (and SIGINT/SIGTERM) tears down every box, namespace and cgroup; the state dir
// is removed unless the test failed.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_client.h"
#include "harness/cluster_data.h"
#include "harness/process.h"
#include "harness/s3_server.h"

namespace lifeboat::harness {

struct HostBoxesOptions {
  int hosts = 3;
  std::string etcd_version;  // "" = the pass's (PassEtcdVersion)
  bool start_etcd = true;    // start etcd.service (a new cluster) and the agents
  // false: hosts before lifeboat is installed: etcd.service only, no lifeboat binary, agent unit,
  // agent config or lifeboat user (scripts/hosts up --no-lifeboat), for a test that installs it.
  bool lifeboat = true;
  bool ssh = false;  // each box runs sshd; ssh_config() reaches them from the coordinator namespace
};

class HostBoxes {
 public:
  // "" when this process can run boxes; else why not (not root, no namespaces, no systemd).
  static std::string Unsupported();
  // Starts the boxes and enters the coordinator namespace; fails the test and returns null on error.
  static std::unique_ptr<HostBoxes> Start(const HostBoxesOptions& options = {});
  ~HostBoxes();
  HostBoxes(const HostBoxes&) = delete;
  HostBoxes& operator=(const HostBoxes&) = delete;

  int size() const { return static_cast<int>(names_.size()); }
  const std::string& root() const { return root_; }
  const std::string& name(int i) const { return names_[i]; }   // h1, h2, ...
  std::string addr(int i) const { return Var("H" + std::to_string(i + 1) + "_ADDR"); }
  std::string client_url(int i) const { return "http://" + addr(i) + ":2379"; }
  std::string peer_url(int i) const { return "http://" + addr(i) + ":2380"; }
  std::string endpoints() const { return Var("ENDPOINTS"); }
  std::string agents() const { return Var("AGENTS"); }
  std::string token_file() const { return Var("TOKEN_FILE"); }
  std::string token() const;
  // How the coordinator namespace reaches the agents: plain text to 198.18.0.x, accepted on purpose
  // (the boxes' network is the test's own).
  agent::AgentTls tls() const {
    agent::AgentTls t;
    t.insecure_transport = true;
    return t;
  }
  // A client for box i's agent (lifeboat-agent.service at addr(i):9438).
  std::unique_ptr<agent::AgentClient> Agent(int i) const;
  // Restarts box i's agent (after a change to /etc/lifeboat) and waits until it answers.
  bool RestartAgent(int i) const;
  std::string coord_addr() const { return Var("COORD_ADDR"); }
  // With HostBoxesOptions::ssh: `ssh -F ssh_config() hN` logs in as root (key and known_hosts
  // of these boxes only).
  std::string ssh_config() const { return Var("SSH_CONFIG"); }
  // The etcd version the boxes run ("3.4.23", "3.5.30") and its etcdctl (for the test's own use).
  const std::string& etcd_version() const { return version_; }
  std::string etcdctl() const;
  // Where box i's /var/lib/etcd lives on this machine (its data dir is <this>/default).
  std::string etcd_dir(int i) const { return Var("H" + std::to_string(i + 1) + "_DIR") + "/etcd"; }
  // The data dir as the box sees it (/var/lib/etcd/default) and as this machine does.
  static std::string BoxDataDir() { return "/var/lib/etcd/default"; }
  std::string data_dir(int i) const { return etcd_dir(i) + "/default"; }
  // The cluster id as member i reports it (etcdctl endpoint status), 0 when it does not answer.
  uint64_t ClusterId(int i) const;
  // Every key as member i holds it, read by etcdctl inside box i (the host's own view), without
  // the daemon's own tick claims under /lifeboat/ (it keeps writing them while a test reads).
  KV KeysInBox(int i) const;
  std::string Var(const std::string& key) const;

  // Runs argv inside box i (all its namespaces).
  ProcResult Exec(int i, const std::vector<std::string>& argv,
                  std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  // /bin/sh -c cmd inside box i.
  ProcResult Sh(int i, const std::string& cmd, std::chrono::seconds timeout = std::chrono::seconds(60)) const;
  // `systemctl is-active|is-enabled UNIT` in box i, trimmed ("active", "inactive", "enabled", ...).
  std::string UnitState(int i, const std::string& unit) const;
  std::string UnitEnabled(int i, const std::string& unit) const;
  // The last lines of a unit's journal in box i.
  std::string Journal(int i, const std::string& unit, int lines = 40) const;
  // Takes box i's link off the bridge (a partition) and puts it back.
  bool Cut(int i) const;
  bool Heal(int i) const;
  // Makes 127.0.0.1:target_port of the coordinator namespace reachable from the boxes at
  // coord_addr():port; returns port, or -1 (and a test failure).
  int Forward(int port, int target_port) const;
  // radosgw (S3Server) in the coordinator's namespace with `bucket` created, forwarded so that
  // the boxes reach it at coord_addr():7480; `store_url` is "s3://BUCKET/prod?endpoint=..." as
  // the boxes' configs name it. `server` is null (and the test failed) when any of that failed.
  struct BoxStore {
    std::unique_ptr<S3Server> server;
    std::string store_url;
  };
  BoxStore StartStore(const std::string& bucket) const;
  // A coordinator config (lifeboat.yaml) in root() for these hosts; `extra` is appended.
  std::string WriteConfig(const std::string& store_url, const std::string& extra = "") const;
  // Every unit's journal and state in every box, for a failure message.
  std::string Diagnostics() const;

 private:
  HostBoxes() = default;
  std::string root_, version_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> env_;
  int home_netns_ = -1;  // this process's network namespace before Start
};

}  // namespace lifeboat::harness
