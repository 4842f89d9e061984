#include "host/unit_settings.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace lifeboat::host {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// A value as systemd unquotes it: "..." with \ escapes, '...' verbatim, else as written.
std::string Unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return v.substr(1, v.size() - 2);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return v;
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out += v[i];
  }
  return out;
}

// Words separated by blanks; a word in double quotes keeps its blanks.
std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char ch : s) {
    if (ch == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (ch == ' ' || ch == '\t')) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += ch;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

// systemd's expansion of one ExecStart= word: "$VAR" alone becomes the value's words, "${VAR}"
// is replaced in place.
void Expand(const std::string& word, const std::map<std::string, std::string>& env, std::vector<std::string>& out) {
  auto value = [&](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  if (word.size() > 1 && word[0] == '$' && word[1] != '{') {
    for (const auto& w : Words(value(word.substr(1)))) out.push_back(w);
    return;
  }
  std::string r;
  for (size_t i = 0; i < word.size(); ++i) {
    size_t close = word.find('}', i);
    if (word.compare(i, 2, "${") == 0 && close != std::string::npos) {
      r += value(word.substr(i + 2, close - i - 2));
      i = close;
    } else {
      r += word[i];
    }
  }
  out.push_back(r);
}

std::string EnvName(const std::string& flag) {
  std::string n = "ETCD_";
  for (char ch : flag) n += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return n;
}

// The value of `show`'s KEY= lines, each.
std::vector<std::string> ShowValues(const std::string& show, const std::string& key) {
  std::vector<std::string> out;
  std::istringstream in(show);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + "=", 0) == 0) out.push_back(line.substr(key.size() + 1));
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> ParseEnvironmentFile(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string logical;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line.back() == '\\') {
      logical += line.substr(0, line.size() - 1);
      continue;
    }
    logical += line;
    std::string l = Trim(logical);
    logical.clear();
    if (l.empty() || l[0] == '#' || l[0] == ';') continue;
    size_t eq = l.find('=');
    if (eq == std::string::npos) continue;
    out[Trim(l.substr(0, eq))] = Unquote(Trim(l.substr(eq + 1)));
  }
  return out;
}

UnitSettings ParseUnitSettings(const std::string& show, const std::string& skip,
                               const std::function<std::string(const std::string&)>& read_file) {
  UnitSettings u;
  for (const auto& line : ShowValues(show, "Environment")) {
    for (const auto& w : Words(line)) {
      size_t eq = w.find('=');
      if (eq != std::string::npos) u.env[w.substr(0, eq)] = w.substr(eq + 1);
    }
  }
  for (const auto& line : ShowValues(show, "EnvironmentFiles")) {
    std::string path = line.substr(0, line.find(" ("));  // "PATH (ignore_errors=yes)"
    if (path.empty() || path == skip) continue;
    for (const auto& [k, v] : ParseEnvironmentFile(read_file(path))) u.env[k] = v;
  }
  for (const auto& line : ShowValues(show, "ExecStart")) {
    size_t b = line.find("argv[]=");
    if (b == std::string::npos) continue;
    b += 7;
    size_t e = line.find(" ;", b);
    for (const auto& w : Words(line.substr(b, e == std::string::npos ? std::string::npos : e - b))) Expand(w, u.env, u.argv);
  }
  return u;
}

std::string UnitSettings::Get(const std::string& flag) const {
  std::string found;
  bool in_flags = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      a = a.substr(2);
    } else if (a.rfind("-", 0) == 0) {
      a = a.substr(1);
    } else {
      continue;
    }
    if (a == flag && i + 1 < argv.size()) {
      found = argv[++i];
      in_flags = true;
    } else if (a.rfind(flag + "=", 0) == 0) {
      found = a.substr(flag.size() + 1);
      in_flags = true;
    }
  }
  if (in_flags) return found;
  auto it = env.find(EnvName(flag));
  return it == env.end() ? "" : it->second;
}

bool UnitSettings::InFlags(const std::string& flag) const {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    for (const std::string& f : {"--" + flag, "-" + flag}) {
      if (a == f || a.rfind(f + "=", 0) == 0) return true;
    }
  }
  return false;
}

namespace {

// host:port of a URL, and whether the host is a wildcard (0.0.0.0, [::]).
std::pair<std::string, std::string> HostPort(const std::string& url) {
  std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') return {rest, ""};
  return {rest.substr(0, colon), rest.substr(colon + 1)};
}

// Whether etcd listening on `listen` (comma-separated URLs) serves `url`.
bool Serves(const std::string& listen, const std::string& url) {
  auto [host, port] = HostPort(url);
  std::istringstream in(listen);
  for (std::string l; std::getline(in, l, ',');) {
    l = Trim(l);
    if (l == url) return true;
    auto [lh, lp] = HostPort(l);
    if (lp == port && (lh == host || lh == "0.0.0.0" || lh == "[::]" || lh.empty())) return true;
  }
  return false;
}

std::string Mismatch(const std::string& unit, const std::string& what, const std::string& flag, const std::string& got,
                     const std::string& key, const std::string& want) {
  return unit + " gives etcd " + what + " " + got + " (--" + flag + " or " + EnvName(flag) + "), the agent's " + key +
         " is " + want + ": make them the same";
}

}  // namespace

Result<std::map<std::string, std::string>> SystemdStartEnv(const AgentConfig& c, const StartArgs& a,
                                                           const UnitSettings& unit, const std::string& unit_name) {
  for (const char* f : {"initial-cluster", "initial-cluster-state", "initial-cluster-token"}) {
    if (unit.InFlags(f)) {
      return Status::FailedPrecondition(unit_name + " passes --" + std::string(f) +
                                        " in ExecStart=, where a restore cannot change it: move it to its "
                                        "EnvironmentFile (as " + EnvName(f) + ")");
    }
  }
  std::map<std::string, std::string> env;
  // Given by the unit: must agree with the config. Not given: the config's.
  auto same = [&](const std::string& flag, const std::string& what, const std::string& key,
                  const std::string& want) -> Status {
    std::string got = unit.Get(flag);
    while (got.size() > 1 && got.back() == '/') got.pop_back();
    if (got.empty()) env[EnvName(flag)] = want;
    else if (got != want) return Status::FailedPrecondition(Mismatch(unit_name, what, flag, got, key, want));
    return Status::OK();
  };
  LB_RETURN_IF_ERROR(same("name", "the name", "member.name", c.member_name));
  LB_RETURN_IF_ERROR(same("data-dir", "the data dir", "member.data-dir", c.data_dir));
  for (const char* f : {"listen-peer-urls", "initial-advertise-peer-urls"}) {
    if (unit.Get(f).empty()) env[EnvName(f)] = c.peer_url;
  }
  if (a.quarantine) {
    // Served nowhere else until verified: only here are the unit's client URLs replaced.
    if (unit.InFlags("listen-client-urls") || unit.InFlags("advertise-client-urls")) {
      return Status::FailedPrecondition(unit_name + " passes its client URLs in ExecStart=, so a quarantined start "
                                        "cannot replace them: move them to its EnvironmentFile");
    }
    env["ETCD_LISTEN_CLIENT_URLS"] = env["ETCD_ADVERTISE_CLIENT_URLS"] = c.quarantine_client_url;
  } else {
    const std::string listen = unit.Get("listen-client-urls");
    if (listen.empty()) env["ETCD_LISTEN_CLIENT_URLS"] = c.client_url;
    else if (!Serves(listen, c.client_url)) {
      return Status::FailedPrecondition(Mismatch(unit_name, "the client URLs", "listen-client-urls", listen,
                                                 "member.client-url", c.client_url + " (not among them)"));
    }
    if (unit.Get("advertise-client-urls").empty()) env["ETCD_ADVERTISE_CLIENT_URLS"] = c.client_url;
  }
  if (!a.initial_cluster.empty()) env["ETCD_INITIAL_CLUSTER"] = a.initial_cluster;
  if (!a.initial_cluster_state.empty()) env["ETCD_INITIAL_CLUSTER_STATE"] = a.initial_cluster_state;
  if (!a.initial_cluster_token.empty()) env["ETCD_INITIAL_CLUSTER_TOKEN"] = a.initial_cluster_token;
  return env;
}

}  // namespace lifeboat::host
