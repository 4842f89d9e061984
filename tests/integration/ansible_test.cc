// The Ansible role (deploy/ansible) as the runbook's team would run it: three host boxes with
// systemd, Debian's etcd.service and sshd but no lifeboat; from the coordinator namespace (the
// operator's workstation) Debian's ansible-playbook deploys the .deb built from this tree over
// ssh, and the emergency playbooks call lifeboat. NEEDS ROOT AND NAMESPACES (ctest label `hosts`).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "harness/cluster_data.h"
#include "harness/host_boxes.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// One host's line of ansible-playbook's PLAY RECAP.
struct Recap {
  int ok = -1, changed = -1, unreachable = -1, failed = -1;
};

std::map<std::string, Recap> ParseRecap(const std::string& out) {
  std::map<std::string, Recap> m;
  const size_t at = out.rfind("PLAY RECAP");
  if (at == std::string::npos) return m;
  static const std::regex line(R"((\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+))");
  std::istringstream in(out.substr(at));
  for (std::string l; std::getline(in, l);) {
    std::smatch sm;
    if (std::regex_search(l, sm, line)) {
      m[sm[1]] = {std::stoi(sm[2]), std::stoi(sm[3]), std::stoi(sm[4]), std::stoi(sm[5])};
    }
  }
  return m;
}

// systemctl show's properties of a unit in box i, as a map.
std::map<std::string, std::string> Show(const HostBoxes& h, int i, const std::string& unit) {
  ProcResult r = h.Exec(i, {"systemctl", "show", "-p", "MainPID", "-p", "InactiveEnterTimestampMonotonic", "-p",
                            "ActiveEnterTimestampMonotonic", unit});
  std::map<std::string, std::string> m;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) {
    if (auto eq = l.find('='); eq != std::string::npos) m[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return m;
}

// ansible-playbook from the coordinator namespace, with its own config, home and temp dirs
// (nothing under the machine's ~/.ansible or ~/.ssh): ssh through the boxes' ssh config and
// known_hosts, the modules' temp files in each box's private /tmp.
class Ansible {
 public:
  Ansible(const HostBoxes& h, const std::string& dir) : dir_(dir) {
    fs::create_directories(dir + "/home");
    fs::create_directories(dir + "/tmp");
    fs::create_directories(dir + "/cp");
    std::ofstream(dir + "/ansible.cfg") << "[defaults]\n"
                                        << "inventory = " << dir << "/inventory.yml\n"
                                        << "remote_tmp = /tmp/.ansible-remote\n"
                                        << "local_tmp = " << dir << "/tmp\n"
                                        << "forks = 5\nretry_files_enabled = False\nnocolor = True\n"
                                        << "[ssh_connection]\n"
                                        << "ssh_args = -F " << h.ssh_config()
                                        << " -o ControlMaster=auto -o ControlPersist=120s\n"
                                        << "control_path_dir = " << dir << "/cp\n"
                                        << "pipelining = True\n";
    env_ = {{"ANSIBLE_CONFIG", dir + "/ansible.cfg"}, {"ANSIBLE_HOME", dir + "/home/.ansible"},
            {"HOME", dir + "/home"}, {"LC_ALL", "C.UTF-8"}, {"ANSIBLE_NOCOLOR", "1"}};
  }
  const std::string& dir() const { return dir_; }
  std::string token_dir() const { return dir_ + "/credentials/lifeboat"; }

  ProcResult Play(const std::string& playbook, const std::vector<std::string>& args = {}) const {
    std::vector<std::string> argv{"ansible-playbook", LB_SOURCE_DIR "/deploy/ansible/" + playbook};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv, env_, seconds(900));
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> env_;
};

// The test's PKI for the agents' port: one CA; per box a server certificate for its address; a
// client certificate for the coordinators and the daemon (mutual TLS).
bool MakePki(const HostBoxes& h, const std::string& dir) {
  std::string sh = "set -e; cd '" + dir + "'\n"
                   "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$1\"; }\n"
                   "key ca.key\n"
                   "openssl req -new -x509 -key ca.key -subj /CN=lifeboat-test-agents-ca -days 2 -out ca.crt "
                   "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n"
                   "leaf() { key $1.key; openssl req -new -key $1.key -subj /CN=$1 -out $1.csr\n"
                   "  printf 'basicConstraints=critical,CA:FALSE\\nextendedKeyUsage=%s\\n%s\\n' \"$2\" \"$3\" >$1.ext\n"
                   "  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
                   "-extfile $1.ext -out $1.crt; }\n"
                   "leaf client clientAuth ''\n";
  for (int i = 0; i < h.size(); ++i) sh += "leaf " + h.name(i) + " serverAuth subjectAltName=IP:" + h.addr(i) + "\n";
  sh += "chmod 600 *.key\n";
  fs::create_directories(dir);
  ProcResult r = Run({"sh", "-c", sh});
  EXPECT_TRUE(r.ok()) << r.err;
  return r.ok();
}

// Every backup's object key in the store (lifeboat list, from the coordinator namespace).
std::vector<std::string> Backups(const std::string& store, const std::map<std::string, std::string>& env) {
  auto r = Lifeboat({"list", "--store", store, "-w", "json"}, env);
  auto j = ParseJson(r.out);
  std::vector<std::string> keys;
  if (!r.ok() || !j.is_array()) return keys;
  for (const auto& e : j) keys.push_back(e.value("object_key", ""));
  return keys;
}

size_t InFolder(const std::vector<std::string>& keys, const std::string& folder) {
  return std::count_if(keys.begin(), keys.end(), [&](const std::string& k) { return k.find(folder) == 0; });
}

// The role on three systemd hosts, for real: the first run installs the .deb (by path on two hosts,
// by URL with its checksum on the third) into each box's own /usr, writes every agent.yaml from
// the boxes' /etc/default/etcd, generates the tokens once on the controller (0600, never in the
// output) and enables the agent everywhere and the daemon on h1 and h3 only; the daemon's first
// tick stores a backup; `lifeboat backup` works with the deployed config; a second run changes
// nothing and restarts nothing; restore-cluster.yml restores after every member was stopped and
// h2's data dir lost; a third run turns on mutual TLS to the agents and restarts them one host at
// a time; recover-member.yml then replaces h3 over TLS.
TEST(HostsNeedRootNs, AnsibleRoleDeploysTheFleetAndItsPlaybooksRecover) {
  HostBoxesOptions options;
  options.lifeboat = false;
  options.ssh = true;
  auto h = HostBoxes::Start(options);
  ASSERT_NE(h, nullptr);
  auto box_store = h->StartStore("db-etcd");  // radosgw in the coordinator's namespace
  ASSERT_NE(box_store.server, nullptr);
  S3Server* s3 = box_store.server.get();
  const std::string store = box_store.store_url;
  const auto creds = s3->Env();

  Load(h->client_url(0), 300, "a");
  const KV before = h->KeysInBox(0);
  ASSERT_EQ(before.size(), 300u - 43u);
  const uint64_t first_id = h->ClusterId(0);

  // The package, from this build tree (cpack packs the binary already built), served over HTTP
  // from the coordinator too, for the host that installs from a URL.
  const std::string debs = h->root() + "/deb";
  fs::create_directories(debs);
  ProcResult pack = harness::Run({"cpack", "-G", "DEB", "--config", LB_BUILD_DIR "/CPackConfig.cmake", "-B", debs + "/out"},
                        {}, seconds(300));
  ASSERT_TRUE(pack.ok()) << pack.out << pack.err;
  std::string deb;
  for (const auto& e : fs::directory_iterator(debs + "/out")) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  ASSERT_FALSE(deb.empty()) << pack.out;
  const std::string sha256 = harness::Run({"sha256sum", deb}).out.substr(0, 64);
  pid_t http = Spawn({"python3", "-m", "http.server", "8080", "--bind", h->coord_addr(), "--directory",
                      debs + "/out"},
                     debs + "/http.log", debs + "/http.log");
  ASSERT_GT(http, 0);
  struct Reap {
    pid_t pid;
    ~Reap() {
      kill(pid, SIGTERM);
      Wait(pid, seconds(10));
    }
  } reap{http};
  const std::string deb_url = "http://" + h->coord_addr() + ":8080/" + fs::path(deb).filename().string();
  ASSERT_TRUE(PollUntil(seconds(30), [&] { return harness::Run({"curl", "-sfI", deb_url}).ok(); }));
  const std::string machine_dpkg = harness::Run({"dpkg-query", "-W", "-f=${Status} ${Version}", "lifeboat"}).out;

  Ansible ansible(*h, h->root() + "/ansible");
  auto inventory = [&](const std::string& extra_all, const std::vector<std::string>& extra_host) {
    std::ostringstream inv;
    inv << "all:\n  vars:\n    ansible_user: root\n    ansible_python_interpreter: /usr/bin/python3\n"
        << "    lifeboat_deb: " << deb << "\n"
        << "    lifeboat_store: \"" << store << "\"\n    lifeboat_cluster_name: prod\n"
        << "    lifeboat_store_env:\n";
    for (const auto& [k, v] : creds) inv << "      " << k << ": \"" << v << "\"\n";
    inv << extra_all << "  children:\n    etcd:\n      hosts:\n";
    for (int i = 0; i < h->size(); ++i) {
      inv << "        " << h->name(i) << ":\n          ansible_host: " << h->addr(i) << "\n";
      if (i == 2) inv << "          lifeboat_deb: " << deb_url << "\n          lifeboat_deb_checksum: sha256:" << sha256 << "\n";
      if (static_cast<size_t>(i) < extra_host.size()) inv << extra_host[i];
    }
    inv << "    lifeboat_daemon:\n      hosts:\n        h1:\n        h3:\n";
    std::ofstream(ansible.dir() + "/inventory.yml") << inv.str();
  };
  inventory("", {});

  // --- The first run: verbose, so that every module's result is printed (a token is never). ---
  auto t0 = std::chrono::steady_clock::now();
  ProcResult run1 = ansible.Play("deploy.yml", {"-v"});
  const double run1_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(run1.exit_code, 0) << run1.out << run1.err << h->Diagnostics();
  for (const auto& [host, r] : ParseRecap(run1.out)) {
    EXPECT_EQ(r.failed, 0) << host;
    EXPECT_GT(r.changed, 0) << host;
  }
  EXPECT_EQ(ParseRecap(run1.out).size(), 3u) << run1.out;
  const std::string recover = Slurp(ansible.token_dir() + "/recover.token");
  const std::string observe = Slurp(ansible.token_dir() + "/observe.token");
  for (const auto* t : {&recover, &observe}) {
    EXPECT_TRUE(std::regex_match(*t, std::regex("[0-9a-f]{64}"))) << "256 bits from openssl rand -hex 32";
    EXPECT_EQ(run1.out.find(*t), std::string::npos) << "a token in ansible-playbook's output";
  }
  EXPECT_NE(recover, observe);
  for (const char* f : {"/recover.token", "/observe.token"}) {
    struct stat st {};
    ASSERT_EQ(stat((ansible.token_dir() + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }

  for (int i = 0; i < h->size(); ++i) {
    const bool daemon = i != 1;
    SCOPED_TRACE(h->name(i));
    EXPECT_EQ(h->Exec(i, {"dpkg-query", "-W", "-f=${Status} ${Version}", "lifeboat"}).out, "install ok installed 0.1.0");
    EXPECT_TRUE(fs::exists(h->Var("H" + std::to_string(i + 1) + "_DIR") + "/usr/bin/lifeboat"))
        << "the package went into the box's own /usr layer";
    EXPECT_EQ(h->Exec(i, {"systemctl", "show", "-p", "FragmentPath", "--value", "lifeboat-agent"}).out,
              "/lib/systemd/system/lifeboat-agent.service\n")
        << "the package's unit";
    EXPECT_EQ(h->UnitEnabled(i, "lifeboat-agent.service"), "enabled");
    EXPECT_EQ(h->UnitState(i, "lifeboat-agent.service"), "active");
    EXPECT_EQ(h->UnitEnabled(i, "lifeboat.service"), daemon ? "enabled" : "disabled");
    EXPECT_EQ(h->UnitState(i, "lifeboat.service"), daemon ? "active" : "inactive");
    EXPECT_EQ(h->Sh(i, "stat -c '%a %U' /etc/lifeboat/agent.token /etc/lifeboat/observe.token").out,
              "600 root\n600 root\n");
    EXPECT_EQ(h->Exec(i, {"cat", "/etc/lifeboat/agent.token"}).out, recover + "\n");
    EXPECT_EQ(h->Exec(i, {"cat", "/etc/lifeboat/observe.token"}).out, observe + "\n");
    EXPECT_EQ(h->Sh(i, "stat -c '%a %U' /etc/lifeboat/daemon-observe.token").out, daemon ? "600 lifeboat\n" : "")
        << "only the daemon's hosts hold the daemon's copy";
    EXPECT_EQ(h->Sh(i, "grep '^agent.*token-file:' /etc/lifeboat/lifeboat.yaml").out,
              daemon ? "agent-observe-token-file: /etc/lifeboat/daemon-observe.token\n" : "")
        << "the daemon's config names one token, the observe token (elsewhere: the package's example)";
    // The agent answers with the controller's tokens, for the member /etc/default/etcd names.
    auto a = agent::AgentClient::Connect(h->addr(i) + ":9438", observe, seconds(10), h->tls());
    ASSERT_TRUE(a.ok()) << a.status().message();
    auto st = (*a)->GetStatus();
    ASSERT_TRUE(st.ok()) << st.status().message();
    EXPECT_EQ(st->mode, "systemd");
    EXPECT_EQ(st->member_name, h->name(i));
    EXPECT_EQ(st->client_url, h->client_url(i));
    EXPECT_TRUE(st->etcd_running);
  }
  EXPECT_EQ(harness::Run({"dpkg-query", "-W", "-f=${Status} ${Version}", "lifeboat"}).out, machine_dpkg)
      << "the machine's own packages are untouched";

  // The daemon's first tick (the one missed before it started, made up at start-up) stored a
  // backup in both of the runbook's tiers.
  std::vector<std::string> keys;
  bool ticked = PollUntil(seconds(90), [&] {
    keys = Backups(store, creds);
    return InFolder(keys, "db-etcd/a/") >= 1 && InFolder(keys, "db-etcd/b/") >= 1;
  }, std::chrono::milliseconds(500));
  ASSERT_TRUE(ticked) << h->Journal(0, "lifeboat.service") << h->Journal(2, "lifeboat.service");
  std::string journals = h->Journal(0, "lifeboat.service", 200) + h->Journal(2, "lifeboat.service", 200);
  EXPECT_NE(journals.find("was missed; running it now"), std::string::npos) << journals;

  // `lifeboat backup` with the deployed config, as root on a daemon host (credentials from /etc/lifeboat/env).
  ProcResult backup = h->Sh(0, "set -a && . /etc/lifeboat/env && set +a && lifeboat --config /etc/lifeboat/lifeboat.yaml backup");
  ASSERT_EQ(backup.exit_code, 0) << backup.out << backup.err;
  EXPECT_EQ(Backups(store, creds).size(), keys.size() + 1);

  // --- The second run changes nothing and restarts nothing. ---
  std::vector<std::map<std::string, std::string>> agents_before, daemons_before;
  for (int i = 0; i < h->size(); ++i) {
    agents_before.push_back(Show(*h, i, "lifeboat-agent.service"));
    daemons_before.push_back(Show(*h, i, "lifeboat.service"));
  }
  t0 = std::chrono::steady_clock::now();
  ProcResult run2 = ansible.Play("deploy.yml");
  const double run2_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(run2.exit_code, 0) << run2.out << run2.err;
  auto recap2 = ParseRecap(run2.out);
  ASSERT_EQ(recap2.size(), 3u) << run2.out;
  for (const auto& [host, r] : recap2) {
    EXPECT_EQ(r.changed, 0) << host << ": the second run changed something:\n" << run2.out;
    EXPECT_EQ(r.failed, 0) << host;
  }
  for (int i = 0; i < h->size(); ++i) {
    EXPECT_EQ(Show(*h, i, "lifeboat-agent.service"), agents_before[i]) << h->name(i) << ": agent restarted";
    EXPECT_EQ(Show(*h, i, "lifeboat.service"), daemons_before[i]) << h->name(i) << ": daemon restarted";
  }

  // --- The runbook's disaster: every etcd stopped, h2's data dir lost; restore-cluster.yml. ---
  for (int i = 0; i < h->size(); ++i) ASSERT_TRUE(h->Exec(i, {"systemctl", "stop", "etcd"}).ok());
  ASSERT_TRUE(h->Exec(1, {"rm", "-rf", HostBoxes::BoxDataDir()}).ok());
  t0 = std::chrono::steady_clock::now();
  ProcResult restore = ansible.Play("restore-cluster.yml", {"-e", "backup=latest"});
  const double restore_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err << h->Diagnostics();
  EXPECT_EQ(ParseRecap(restore.out).size(), 1u) << "one task on one host:\n" << restore.out;
  EXPECT_TRUE(std::regex_search(restore.out, std::regex(R"("\s+verify\s+[0-9.]+s )")))
      << "lifeboat's step table is shown:\n" << restore.out;
  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->KeysInBox(i), before) << h->name(i);
  const uint64_t restored_id = h->ClusterId(0);
  EXPECT_NE(restored_id, first_id) << "a restore makes a new cluster";
  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->ClusterId(i), restored_id) << h->name(i);
  auto check = Lifeboat({"check", "--endpoints", h->endpoints()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  // --- The third run: mutual TLS to the agents. Every agent is restarted, one host at a time. ---
  const std::string pki = h->root() + "/pki";
  ASSERT_TRUE(MakePki(*h, pki));
  std::vector<std::string> per_host;
  for (int i = 0; i < h->size(); ++i) {
    per_host.push_back("          lifeboat_agent_tls_cert_src: " + pki + "/" + h->name(i) + ".crt\n"
                       "          lifeboat_agent_tls_key_src: " + pki + "/" + h->name(i) + ".key\n");
  }
  inventory("    lifeboat_agent_tls_ca_src: " + pki + "/ca.crt\n    lifeboat_agent_tls_client_ca_src: " + pki +
                "/ca.crt\n    lifeboat_agent_client_cert_src: " + pki + "/client.crt\n"
                "    lifeboat_agent_client_key_src: " + pki + "/client.key\n",
            per_host);
  std::vector<std::map<std::string, std::string>> old_agents;
  for (int i = 0; i < h->size(); ++i) old_agents.push_back(Show(*h, i, "lifeboat-agent.service"));
  t0 = std::chrono::steady_clock::now();
  ProcResult run3 = ansible.Play("deploy.yml");
  const double run3_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(run3.exit_code, 0) << run3.out << run3.err << h->Diagnostics();
  struct Window {
    uint64_t down, up;
    std::string host;
  };
  std::vector<Window> windows;
  for (int i = 0; i < h->size(); ++i) {
    auto now = Show(*h, i, "lifeboat-agent.service");
    EXPECT_NE(now["MainPID"], old_agents[i]["MainPID"]) << h->name(i) << ": not restarted";
    windows.push_back({std::stoull(now["InactiveEnterTimestampMonotonic"]),
                       std::stoull(now["ActiveEnterTimestampMonotonic"]), h->name(i)});
  }
  std::sort(windows.begin(), windows.end(), [](const Window& a, const Window& b) { return a.down < b.down; });
  for (size_t k = 1; k < windows.size(); ++k) {
    EXPECT_LT(windows[k - 1].up, windows[k].down)
        << windows[k - 1].host << "'s agent was not back before " << windows[k].host << "'s went down";
  }
  agent::AgentTls mtls{pki + "/ca.crt", pki + "/client.crt", pki + "/client.key", false};
  for (int i = 0; i < h->size(); ++i) {
    SCOPED_TRACE(h->name(i));
    auto tls = agent::AgentClient::Connect(h->addr(i) + ":9438", observe, seconds(10), mtls);
    ASSERT_TRUE(tls.ok());
    EXPECT_TRUE((*tls)->GetStatus().ok()) << "mutual TLS with the inventory's PKI";
    auto plain = agent::AgentClient::Connect(h->addr(i) + ":9438", observe, seconds(5), h->tls());
    ASSERT_TRUE(plain.ok());
    EXPECT_FALSE((*plain)->GetStatus().ok()) << "plain text refused";
    agent::AgentTls no_cert{pki + "/ca.crt", "", "", false};
    auto anonymous = agent::AgentClient::Connect(h->addr(i) + ":9438", observe, seconds(5), no_cert);
    ASSERT_TRUE(anonymous.ok());
    EXPECT_FALSE((*anonymous)->GetStatus().ok()) << "a coordinator without the client certificate refused";
  }
  // The coordinator's config reaches every agent over TLS (status asks each for its lease).
  ProcResult status = h->Exec(1, {"lifeboat", "--config", "/etc/lifeboat/coordinator.yaml", "status", "--no-hash"});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_EQ(status.err, "") << "every agent answered";

  // --- One member lost (etcd stopped, its data dir gone): recover-member.yml, over TLS. ---
  ASSERT_TRUE(h->Exec(2, {"systemctl", "stop", "etcd"}).ok());
  ASSERT_TRUE(h->Exec(2, {"rm", "-rf", HostBoxes::BoxDataDir()}).ok());
  t0 = std::chrono::steady_clock::now();
  ProcResult rm = ansible.Play("recover-member.yml", {"-e", "member=h3"});
  const double recover_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(rm.exit_code, 0) << rm.out << rm.err << h->Diagnostics();
  EXPECT_NE(rm.out.find("recovered h3"), std::string::npos) << rm.out;
  EXPECT_TRUE(std::regex_search(rm.out, std::regex(R"("\s+member add\s+[0-9.]+s )"))) << rm.out;
  EXPECT_NE(rm.out.find("ok: [h1]"), std::string::npos) << "run on another member's host:\n" << rm.out;
  EXPECT_EQ(h->KeysInBox(2), before);
  EXPECT_EQ(h->ClusterId(2), restored_id) << "the same cluster, one member replaced";
  check = Lifeboat({"check", "--endpoints", h->endpoints()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  for (int i = 0; i < h->size(); ++i) EXPECT_EQ(h->UnitState(i, "etcd.service"), "active") << h->name(i);

  std::cerr << "ansible-playbook wall times (s): first run " << run1_s << ", second " << run2_s
            << ", restore-cluster.yml " << restore_s << ", third (TLS) " << run3_s << ", recover-member.yml "
            << recover_s << "\n";
}

}  // namespace
}  // namespace lifeboat::harness
