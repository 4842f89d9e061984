// EtcdCluster: a thin C++ face on scripts/etcd-cluster (see etcd_cluster.h). All process
// management lives in the script so tests, demo and benchmarks share one implementation; this
// file only builds command lines and reads what the script wrote.
#include "harness/etcd_cluster.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#ifndef LB_SOURCE_DIR
#error "LB_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

namespace lifeboat::harness {
namespace {

const char kScript[] = LB_SOURCE_DIR "/scripts/etcd-cluster";

// Generous: the script enforces its own 60 s start deadline and prints log tails when it hits
// it; this outer limit only catches a script that is itself stuck.
constexpr std::chrono::seconds kScriptTimeout(180);

std::string ReadFile(const std::string& path, bool* ok = nullptr) {
  std::ifstream in(path, std::ios::binary);
  if (ok) *ok = static_cast<bool>(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  if (s.empty()) return parts;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, sep)) parts.push_back(part);
  return parts;
}

std::string Failure(const std::string& what, const ProcResult& r) {
  return what + " failed (exit " + std::to_string(r.exit_code) + ")\n--- stdout ---\n" + r.out +
         "\n--- stderr ---\n" + r.err;
}

// The string value of "field":"..." inside one flat JSON object; etcdctl's base64 strings
// contain no escapes, so the closing quote is the next quote.
bool JsonStringField(const std::string& obj, const std::string& field, std::string* out) {
  const std::string needle = "\"" + field + "\":\"";
  auto p = obj.find(needle);
  if (p == std::string::npos) return false;
  p += needle.size();
  auto q = obj.find('"', p);
  if (q == std::string::npos) return false;
  *out = obj.substr(p, q - p);
  return true;
}

}  // namespace

bool Base64Decode(const std::string& in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  out->clear();
  std::string s = in;
  while (!s.empty() && s.back() == '=') s.pop_back();
  if (s.size() % 4 == 1 || in.size() - s.size() > 2) return false;
  unsigned buf = 0;
  int bits = 0;
  for (char c : s) {
    int v = value(c);
    if (v < 0) return false;
    buf = (buf << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return true;
}

bool ParseEtcdctlGetJson(const std::string& json, std::map<std::string, std::string>* kvs) {
  kvs->clear();
  if (json.find("\"header\"") == std::string::npos) return false;
  auto p = json.find("\"kvs\":[");
  if (p == std::string::npos) return true;  // etcdctl omits "kvs" when the range is empty
  p += 7;
  // Each KeyValue is a flat object (no nested objects), so '}' ends it.
  for (;;) {
    while (p < json.size() && (json[p] == ',' || std::isspace(static_cast<unsigned char>(json[p])))) ++p;
    if (p >= json.size()) return false;
    if (json[p] == ']') return true;
    if (json[p] != '{') return false;
    auto end = json.find('}', p);
    if (end == std::string::npos) return false;
    const std::string obj = json.substr(p, end - p + 1);
    std::string k64, v64, k, v;
    if (!JsonStringField(obj, "key", &k64) || !Base64Decode(k64, &k)) return false;
    // "value" is omitted for empty values.
    if (JsonStringField(obj, "value", &v64) && !Base64Decode(v64, &v)) return false;
    (*kvs)[k] = v;
    p = end + 1;
  }
}

std::map<std::string, std::string> ParseClusterEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') value = value.substr(1, value.size() - 2);
    env[line.substr(0, eq)] = value;
  }
  return env;
}

ProcResult RunEtcdctl(const std::vector<std::string>& args, const std::string& version) {
  std::vector<std::string> argv{EtcdTool(version, "etcdctl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, {{"ETCDCTL_API", "3"}});
}

ProcResult RunEtcdutl(const std::vector<std::string>& args, const std::string& version) {
  if (ResolvedEtcdVersion(version).starts_with("3.4")) return RunEtcdctl(args, version);
  std::vector<std::string> argv{EtcdTool(version, "etcdutl")};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

std::unique_ptr<EtcdCluster> EtcdCluster::Start(const Options& options) {
  const bool own_dir = options.dir.empty();
  const std::string dir = own_dir ? MakeTempDir("lb-etcd-") : options.dir;
  if (dir.empty()) return nullptr;
  std::vector<std::string> argv{kScript, "start", dir, "--members", std::to_string(options.members)};
  if (options.tls) argv.push_back("--tls");
  if (options.client_cert_auth) argv.push_back("--client-cert-auth");
  if (options.auth) argv.push_back("--auth");
  if (!options.restore.empty()) argv.insert(argv.end(), {"--restore", options.restore});
  if (!options.restore_one.empty()) argv.insert(argv.end(), {"--restore-one", options.restore_one});
  if (!options.token.empty()) argv.insert(argv.end(), {"--token", options.token});
  if (options.quota_bytes > 0) argv.insert(argv.end(), {"--quota-bytes", std::to_string(options.quota_bytes)});
  const std::string bin_dir = EtcdBinDir(options.etcd_version);
  if (!bin_dir.empty()) argv.insert(argv.end(), {"--etcd-bin-dir", bin_dir});

  ProcResult r = Run(argv, {}, kScriptTimeout);
  if (!r.ok()) {
    ADD_FAILURE() << Failure("etcd-cluster start " + dir, r);
    // The script stops what it started when it fails, but not when it was killed on timeout;
    // `stop` also finds members by their data dirs, so nothing outlives the test.
    Run({kScript, "stop", dir}, {}, kScriptTimeout);
    return nullptr;
  }
  bool ok = false;
  std::string text = ReadFile(dir + "/cluster.env", &ok);
  if (!ok) {
    ADD_FAILURE() << "etcd-cluster start succeeded but " << dir << "/cluster.env is unreadable";
    return nullptr;
  }
  std::unique_ptr<EtcdCluster> c(new EtcdCluster());
  c->dir_ = dir;
  c->own_dir_ = own_dir;
  c->version_ = ResolvedEtcdVersion(options.etcd_version);
  c->env_ = ParseClusterEnv(text);
  c->endpoints_ = c->Var("ENDPOINTS");
  c->names_ = Split(c->Var("NAMES"), ',');
  if (c->endpoints_.empty() || static_cast<int>(c->names_.size()) != options.members) {
    ADD_FAILURE() << dir << "/cluster.env lacks ENDPOINTS or NAMES:\n" << text;
    return nullptr;  // the destructor stops the members
  }
  return c;
}

EtcdCluster::~EtcdCluster() {
  Stop();
  // Kept when the test failed (logs and data dirs are the evidence) or when asked to.
  if (own_dir_ && !::testing::Test::HasFailure() && std::getenv("LB_KEEP_CLUSTERS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string EtcdCluster::Var(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

std::string EtcdCluster::MemberVar(const std::string& name, const std::string& field) const {
  // Names are m1..mN and cluster.env spells their variables M1_CLIENT, ...
  if (name.size() < 2 || name[0] != 'm') return "";
  return Var("M" + name.substr(1) + "_" + field);
}

std::string EtcdCluster::endpoint(const std::string& name) const { return MemberVar(name, "CLIENT"); }
std::string EtcdCluster::peer_url(const std::string& name) const { return MemberVar(name, "PEER"); }
std::string EtcdCluster::data_dir(const std::string& name) const { return MemberVar(name, "DATA"); }
std::string EtcdCluster::log_file(const std::string& name) const { return MemberVar(name, "LOG"); }

pid_t EtcdCluster::pid(const std::string& name) const {
  bool ok = false;
  std::string text = Trim(ReadFile(dir_ + "/" + name + ".pid", &ok));
  if (!ok || text.empty()) return -1;
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  return (end && *end == '\0' && v > 0) ? static_cast<pid_t>(v) : -1;
}

std::vector<std::string> EtcdCluster::ScriptArgv(const std::string& command) const {
  return {kScript, command, dir_};
}

std::string EtcdCluster::Leader() const {
  ProcResult r = Run(ScriptArgv("leader"), {}, kScriptTimeout);
  if (!r.ok()) {
    ADD_FAILURE() << Failure("etcd-cluster leader " + dir_, r);
    return "";
  }
  return Trim(r.out);
}

bool EtcdCluster::Kill(const std::string& name, int sig) {
  auto argv = ScriptArgv("kill");
  argv.insert(argv.end(), {name, std::to_string(sig)});
  ProcResult r = Run(argv, {}, kScriptTimeout);
  if (!r.ok()) ADD_FAILURE() << Failure("etcd-cluster kill " + dir_ + " " + name, r);
  return r.ok();
}

bool EtcdCluster::StartMember(const std::string& name) {
  auto argv = ScriptArgv("start-member");
  argv.push_back(name);
  ProcResult r = Run(argv, {}, kScriptTimeout);
  if (!r.ok()) ADD_FAILURE() << Failure("etcd-cluster start-member " + dir_ + " " + name, r);
  return r.ok();
}

bool EtcdCluster::Load(double mb, int value_size) {
  auto argv = ScriptArgv("load");
  argv.insert(argv.end(), {std::to_string(mb), std::to_string(value_size)});
  ProcResult r = Run(argv, {}, std::chrono::seconds(600));
  if (!r.ok()) ADD_FAILURE() << Failure("etcd-cluster load " + dir_, r);
  return r.ok();
}

void EtcdCluster::Stop() {
  ProcResult r = Run(ScriptArgv("stop"), {}, kScriptTimeout);
  if (!r.ok()) ADD_FAILURE() << Failure("etcd-cluster stop " + dir_, r);
}

ProcResult EtcdCluster::EtcdctlAt(const std::string& endpoints, const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"--endpoints=" + endpoints, "--dial-timeout=3s"};
  if (tls()) {
    argv.insert(argv.end(), {"--cacert=" + cacert(), "--cert=" + cert(), "--key=" + key()});
  }
  if (auth()) argv.push_back("--user=root:" + root_password());
  argv.insert(argv.end(), args.begin(), args.end());
  return RunEtcdctl(argv, version_);
}

ProcResult EtcdCluster::Etcdctl(const std::vector<std::string>& args) const { return EtcdctlAt(endpoints_, args); }

std::map<std::string, std::string> EtcdCluster::DumpKeys(const std::string& endpoint, bool serializable) const {
  std::vector<std::string> args{"get", "", "--prefix", "-w", "json"};
  if (serializable) args.push_back("--consistency=s");
  ProcResult r = EtcdctlAt(endpoint.empty() ? endpoints_ : endpoint, args);
  std::map<std::string, std::string> kvs;
  if (!r.ok()) {
    ADD_FAILURE() << Failure("etcdctl get --prefix against " + endpoint, r);
  } else if (!ParseEtcdctlGetJson(r.out, &kvs)) {
    ADD_FAILURE() << "cannot parse etcdctl get -w json output: " << r.out.substr(0, 500);
  }
  return kvs;
}

}  // namespace lifeboat::harness
