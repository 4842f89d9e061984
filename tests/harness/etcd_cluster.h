// A real etcd cluster on 127.0.0.1 for one integration test, driven through scripts/etcd-cluster
// (the same implementation the demo and benchmarks use) and described by its DIR/cluster.env.
// The destructor stops every member; the directory is removed unless the test failed.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/process.h"

namespace lifeboat::harness {

// Outside EtcdCluster so that its default member initializers can be used in default arguments.
struct EtcdClusterOptions {
  int members = 3;
  bool tls = false;               // https client and peer URLs, PKI in dir()/pki
  bool client_cert_auth = false;  // members require a client cert signed by cacert(); needs tls
  bool auth = false;              // user root with root_password(), auth enabled
  std::string restore;            // snapshot restored into every member (a correct restore)
  std::string restore_one;        // snapshot restored into m1 only (the trap)
  std::string token;              // initial cluster token; empty: a random one
  long long quota_bytes = 0;      // --quota-backend-bytes; 0: etcd's default
  std::string dir;                // cluster directory; empty: a fresh /tmp/lb-etcd-XXXXXX
  std::string etcd_version;       // "" = the pass's (PassEtcdVersion), "3.4", "3.5.16", "3.5.30"
};

class EtcdCluster {
 public:
  using Options = EtcdClusterOptions;

  // Starts the cluster and waits until every member is healthy and there is a leader.
  // On failure fails the current test (with the script's stderr and log tails) and returns null.
  static std::unique_ptr<EtcdCluster> Start(const Options& options = {});

  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& endpoints() const { return endpoints_; }  // comma-separated client URLs
  const std::vector<std::string>& names() const { return names_; }  // m1..mN
  std::string endpoint(const std::string& name) const;  // client URL of one member
  std::string peer_url(const std::string& name) const;
  std::string data_dir(const std::string& name) const;
  std::string log_file(const std::string& name) const;
  // From the member's pid file: -1 once the member was stopped or killed through the harness.
  pid_t pid(const std::string& name) const;

  bool tls() const { return Var("TLS") == "1"; }
  bool auth() const { return Var("AUTH") == "1"; }
  std::string token() const { return Var("TOKEN"); }
  std::string cacert() const { return Var("CACERT"); }
  std::string cert() const { return Var("CERT"); }
  std::string key() const { return Var("KEY"); }
  std::string wrong_cacert() const { return Var("WRONG_CACERT"); }
  std::string wrong_cert() const { return Var("WRONG_CERT"); }
  std::string wrong_key() const { return Var("WRONG_KEY"); }
  std::string root_password() const { return Var("ROOT_PASSWORD"); }
  // The etcd version its members run ("3.4.23", "3.5.30", ...) and its etcdctl.
  const std::string& etcd_version() const { return version_; }
  std::string etcdctl() const { return EtcdTool(version_, "etcdctl"); }
  // Any variable of cluster.env ("" if absent), e.g. Var("INITIAL_CLUSTER").
  std::string Var(const std::string& key) const;

  // Name of the current leader, waiting for an election if needed; "" (and a test failure) if
  // no running member becomes leader in time.
  std::string Leader() const;
  // Sends sig to one member; for fatal signals returns once the member is gone.
  bool Kill(const std::string& name, int sig = SIGKILL);
  // Restarts a stopped or killed member from its data dir; returns once it is healthy.
  bool StartMember(const std::string& name);
  // Writes ~mb MiB of values as /load/%08d keys (plain http clusters only).
  bool Load(double mb, int value_size = 1024);
  // Stops every member (SIGTERM, then SIGKILL); idempotent.
  void Stop();

  // etcdctl (API v3) against endpoints() with this cluster's TLS and auth flags. Flags in args
  // come later on the command line and therefore override ours (e.g. a wrong --cacert).
  ProcResult Etcdctl(const std::vector<std::string>& args) const;
  // The same against the given endpoint(s) only.
  ProcResult EtcdctlAt(const std::string& endpoints, const std::vector<std::string>& args) const;

  // Every key/value visible through `endpoint` (a client URL; "" = all endpoints), via
  // `etcdctl get "" --prefix -w json`. A single endpoint shows that member's own data;
  // serializable reads need no quorum. Fails the current test if etcdctl fails.
  std::map<std::string, std::string> DumpKeys(const std::string& endpoint = "", bool serializable = false) const;

 private:
  EtcdCluster() = default;
  std::string MemberVar(const std::string& name, const std::string& field) const;
  std::vector<std::string> ScriptArgv(const std::string& command) const;

  std::string dir_, endpoints_, version_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> env_;
  bool own_dir_ = false;  // created by Start, so the destructor may remove it
};

// etcdctl (of the pass's version, or `version`) with ETCDCTL_API=3 and nothing else added: for
// calls that must not carry the cluster's credentials (wrong CA, no client cert, no password).
ProcResult RunEtcdctl(const std::vector<std::string>& args, const std::string& version = "");

// etcd's offline tool of the pass's version (or `version`) for `snapshot status|restore`: etcdutl
// from 3.5 on (3.6 removed them from etcdctl), etcdctl for 3.4, which has no etcdutl.
ProcResult RunEtcdutl(const std::vector<std::string>& args, const std::string& version = "");

// Decodes standard base64 (with or without padding); false on malformed input.
bool Base64Decode(const std::string& in, std::string* out);

// Parses `etcdctl get -w json` output into key -> value; false if it is not such output.
bool ParseEtcdctlGetJson(const std::string& json, std::map<std::string, std::string>* kvs);

// Parses a cluster.env written by scripts/etcd-cluster (lines KEY='VALUE', # comments).
std::map<std::string, std::string> ParseClusterEnv(const std::string& text);

}  // namespace lifeboat::harness
