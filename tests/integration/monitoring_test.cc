// What operators monitor: the daemon's consistency check on a healthy cluster and on the
// runbook's trap, its /metrics as promtool reads it, the shipped alert rules evaluated by a real
// Prometheus (Debian's binary) scraping real daemons, and the Grafana dashboard's queries.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <optional>
#include <regex>
#include <set>

#include "harness/etcd_cluster.h"
#include "harness/process.h"
#include "harness/s3_server.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {
namespace {

using std::chrono::seconds;

// The value of one series ("name" or "name{labels}") in Prometheus text, if present.
std::optional<double> Metric(const std::string& text, const std::string& series) {
  std::string all = "\n" + text;
  size_t at = all.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::atof(all.c_str() + at + series.size() + 2);
}

std::string Get(const std::string& url) { return harness::Run({"curl", "-sf", url}).out; }

// A snapshot of a cluster with some history, taken by etcdctl (the oracle).
std::string MakeSnapshot(const std::string& dir) {
  auto src = EtcdCluster::Start();
  if (!src) return "";
  src->Load(0.5);
  std::string file = dir + "/source.db";
  ProcResult r = src->EtcdctlAt(src->endpoint(src->names()[0]), {"snapshot", "save", file});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return file;
}

// A daemon backing up `endpoints` every 5 s and checking consistency every 2 s.
struct Daemon {
  std::string dir, listen;
  pid_t pid = -1;
  std::string metrics() const { return Get("http://" + listen + "/metrics"); }
  void Stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    EXPECT_EQ(Wait(pid, seconds(30)).exit_code, 0) << ReadFile(dir + "/err");
    pid = -1;
  }
  ~Daemon() { Stop(); }
};

std::unique_ptr<Daemon> StartDaemon(const std::string& endpoints, const std::string& cluster_name) {
  auto d = std::make_unique<Daemon>();
  d->dir = MakeTempDir("lb-mon-");
  d->listen = "127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  std::ofstream(d->dir + "/d.yaml") << "endpoints: [" << endpoints << "]\nstore: file://" << d->dir
                                    << "/store\ncluster-name: " << cluster_name
                                    << "\ntiers:\n  - name: fast\n    schedule: \"*/5 * * * * *\"\n    keep: 1h\n"
                                       "check:\n  schedule: \"*/2 * * * * *\"\n";
  d->pid = Spawn({LB_BINARY, "--config", d->dir + "/d.yaml", "daemon", "--metrics-listen", d->listen},
                 d->dir + "/out", d->dir + "/err");
  return d;
}

// The metric families a /metrics text declares.
std::set<std::string> Families(const std::string& metrics) {
  std::set<std::string> out;
  static const std::regex kType(R"(# TYPE (\S+) )");
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), kType), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

std::set<std::string> LifeboatNames(const std::string& text) {
  std::set<std::string> out;
  static const std::regex kName(R"(\blifeboat_[a-z0-9_]+)");
  for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it) out.insert((*it)[0]);
  return out;
}

// Every PromQL string of a Grafana dashboard: panel targets' expr and template variables' query.
void CollectQueries(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    if (j.value("type", "") == "datasource") return;  // a data source picker, not a query
    for (const auto& [k, v] : j.items()) {
      if (v.is_string() && k == "expr") out.push_back(v.get<std::string>());
      if (k == "query" && v.is_string()) out.push_back(v.get<std::string>());
      if (k == "query" && v.is_object() && v.contains("query")) out.push_back(v["query"].get<std::string>());
      CollectQueries(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) CollectQueries(v, out);
  }
}

// The runbook's trap: a cluster whose snapshot was restored into m1 only (null on failure).
std::unique_ptr<EtcdCluster> StartTrapCluster(const std::string& prefix) {
  std::string snap = MakeSnapshot(MakeTempDir(prefix));
  if (snap.empty()) return nullptr;
  EtcdCluster::Options o;
  o.restore_one = snap;
  return EtcdCluster::Start(o);
}

TEST(MonitoringTest, TheDaemonsCheckFindsTheTrapAndItsMetricsAreWhatRulesAndDashboardQuery) {
  auto healthy = EtcdCluster::Start();
  ASSERT_TRUE(healthy);
  ASSERT_TRUE(healthy->Load(0.2));
  auto trap = StartTrapCluster("lb-mon-snap-");
  ASSERT_TRUE(trap);

  auto a = StartDaemon(healthy->endpoints(), "healthy");
  auto b = StartDaemon(trap->endpoints(), "trap");
  std::string ma, mb;
  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    ma = a->metrics();
    return Metric(ma, "lifeboat_cluster_consistent").has_value();
  })) << ma << ReadFile(a->dir + "/err");
  EXPECT_EQ(Metric(ma, "lifeboat_cluster_consistent"), 1.0) << ma << ReadFile(a->dir + "/err");
  for (const auto& m : healthy->names()) {
    EXPECT_EQ(Metric(ma, "lifeboat_member_divergent{member=\"" + m + "\"}"), 0.0)
        << m << "\n" << ma << ReadFile(a->dir + "/err");
  }
  EXPECT_GT(Metric(ma, "lifeboat_check_last_run_timestamp_seconds").value_or(0), 0) << ma;

  ASSERT_TRUE(PollUntil(seconds(30), [&] {
    mb = b->metrics();
    return Metric(mb, "lifeboat_cluster_consistent").has_value();
  })) << mb << ReadFile(b->dir + "/err");
  EXPECT_EQ(Metric(mb, "lifeboat_cluster_consistent"), 0.0) << mb;
  // m1 holds the restored data, m2 and m3 agree with each other and are empty: they are divergent.
  EXPECT_EQ(Metric(mb, "lifeboat_member_divergent{member=\"m1\"}"), 0.0) << mb;
  EXPECT_EQ(Metric(mb, "lifeboat_member_divergent{member=\"m2\"}"), 1.0) << mb;
  EXPECT_EQ(Metric(mb, "lifeboat_member_divergent{member=\"m3\"}"), 1.0) << mb;
  EXPECT_NE(ReadFile(b->dir + "/err").find("consistency check: DIVERGENT"), std::string::npos);
  // The verdict is re-taken on schedule, not frozen at start-up.
  double first = Metric(mb, "lifeboat_check_last_run_timestamp_seconds").value_or(0);
  EXPECT_TRUE(PollUntil(seconds(20), [&] {
    return Metric(b->metrics(), "lifeboat_check_last_run_timestamp_seconds").value_or(0) > first;
  }));

  // promtool accepts the exposition as it is served.
  for (const auto* d : {a.get(), b.get()}) {
    ProcResult chk = harness::Run({"sh", "-c", "curl -sf http://" + d->listen + "/metrics | promtool check metrics"});
    EXPECT_EQ(chk.exit_code, 0) << chk.out << chk.err;
  }

  // Every lifeboat metric the rules and the dashboard query is one the daemon exports.
  ASSERT_TRUE(PollUntil(seconds(20), [&] {
    mb = b->metrics();
    return mb.find("lifeboat_backup_success_total{tier=\"fast\"") != std::string::npos;
  })) << mb;
  std::set<std::string> exported = Families(mb);
  std::string rules = ReadFile(std::string(LB_SOURCE_DIR) + "/deploy/prometheus/lifeboat-rules.yaml");
  ASSERT_FALSE(rules.empty());
  for (const auto& n : LifeboatNames(rules)) EXPECT_TRUE(exported.count(n)) << "rules query " << n << ", not exported";
  auto dash = ParseJson(ReadFile(std::string(LB_SOURCE_DIR) + "/deploy/grafana/lifeboat.json"));
  ASSERT_FALSE(dash.is_discarded());
  std::vector<std::string> queries;
  CollectQueries(dash, queries);
  ASSERT_GE(queries.size(), 10u);
  std::set<std::string> queried;
  for (const auto& q : queries) {
    auto names = LifeboatNames(q);
    // A query that names no lifeboat metric can only be the scrape's own `up`.
    if (names.empty()) {
      EXPECT_NE(q.find("up{"), std::string::npos) << "query names no lifeboat metric: " << q;
    }
    for (const auto& n : names) {
      EXPECT_TRUE(exported.count(n)) << "dashboard queries " << n << ", not exported: " << q;
      queried.insert(n);
    }
  }
  for (const auto* must : {"lifeboat_backup_last_success_timestamp_seconds", "lifeboat_backup_size_bytes",
                           "lifeboat_backup_duration_seconds", "lifeboat_last_verified_restore_timestamp_seconds",
                           "lifeboat_changelog_last_segment_timestamp_seconds", "lifeboat_cluster_consistent",
                           "lifeboat_member_divergent"}) {
    EXPECT_TRUE(queried.count(must)) << "the dashboard shows no " << must;
  }
}

// The shipped rules with every `for:` shortened to 1s: the expressions are the real ones, their
// `for:` durations are covered by promtool's unit tests (tests/prometheus).
std::string ShortRules() {
  std::string rules = ReadFile(std::string(LB_SOURCE_DIR) + "/deploy/prometheus/lifeboat-rules.yaml");
  return std::regex_replace(rules, std::regex(R"(for: \S+)"), "for: 1s");
}

struct Prometheus {
  std::string dir, url;
  pid_t pid = -1;
  ~Prometheus() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      Wait(pid, seconds(30));
    }
  }
  nlohmann::json Api(const std::string& path) const { return ParseJson(Get(url + path)); }
  // The state of alert `name` for `instance` in /api/v1/alerts: "" when not listed (inactive).
  std::string AlertState(const std::string& name, const std::string& instance) const {
    auto j = Api("/api/v1/alerts");
    if (j.is_discarded() || !j.contains("data")) return "?";
    for (const auto& a : j["data"]["alerts"]) {
      if (a["labels"]["alertname"] == name && a["labels"].value("instance", "") == instance) return a["state"];
    }
    return "";
  }
  // The rule's state in /api/v1/rules once it has been evaluated without error, else "".
  std::string RuleState(const std::string& name) const {
    auto j = Api("/api/v1/rules");
    if (j.is_discarded() || !j.contains("data")) return "";
    for (const auto& g : j["data"]["groups"]) {
      for (const auto& r : g["rules"]) {
        if (r["name"] == name && r["health"] == "ok") return r["state"];
      }
    }
    return "";
  }
};

TEST(MonitoringTest, PrometheusFiresTheBackupAgeAlertWhenBackupsStopAndTheDivergenceAlertOnTheTrap) {
  ASSERT_EQ(harness::Run({"prometheus", "--version"}).exit_code, 0) << "Debian's prometheus is missing: run scripts/setup";
  auto healthy = EtcdCluster::Start();
  ASSERT_TRUE(healthy);
  auto trap = StartTrapCluster("lb-prom-snap-");
  ASSERT_TRUE(trap);
  auto a = StartDaemon(healthy->endpoints(), "healthy");
  auto b = StartDaemon(trap->endpoints(), "trap");

  Prometheus p;
  p.dir = MakeTempDir("lb-prom-");
  p.url = "http://127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  std::ofstream(p.dir + "/rules.yaml") << ShortRules();
  std::ofstream(p.dir + "/prometheus.yml")
      << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
         "rule_files: [rules.yaml]\n"
         "scrape_configs:\n  - job_name: lifeboat\n    static_configs:\n      - targets: ['"
      << a->listen << "', '" << b->listen << "']\n";
  p.pid = Spawn({"prometheus", "--config.file=" + p.dir + "/prometheus.yml", "--storage.tsdb.path=" + p.dir + "/data",
                 "--web.listen-address=" + p.url.substr(7)},
                p.dir + "/out", p.dir + "/err");

  // Backups run: the rule is evaluated over scraped data and is inactive.
  ASSERT_TRUE(PollUntil(seconds(60), [&] {
    auto q = p.Api("/api/v1/query?query=lifeboat_backup_success_total%7Binstance%3D%22" + a->listen + "%22%7D");
    return !q.is_discarded() && q.contains("data") && !q["data"]["result"].empty() &&
           std::stod(q["data"]["result"][0]["value"][1].get<std::string>()) >= 2 &&
           p.RuleState("LifeboatBackupTooOld") != "";
  }, std::chrono::milliseconds(500))) << ReadFile(p.dir + "/err");
  EXPECT_EQ(p.AlertState("LifeboatBackupTooOld", a->listen), "");

  // The trap: the divergence alert fires for its daemon, never for the healthy one's.
  EXPECT_TRUE(PollUntil(seconds(60), [&] { return p.AlertState("LifeboatClusterDivergent", b->listen) == "firing"; },
                        std::chrono::milliseconds(500)))
      << p.Api("/api/v1/alerts").dump() << ReadFile(b->dir + "/err");
  EXPECT_EQ(p.AlertState("LifeboatClusterDivergent", a->listen), "");
  EXPECT_EQ(p.AlertState("LifeboatBackupTooOld", a->listen), "") << "backups still run";

  // Backups stop (every member of the healthy cluster killed): the age alert fires, and so does
  // the failure alert.
  healthy->Stop();
  EXPECT_TRUE(PollUntil(seconds(60), [&] { return p.AlertState("LifeboatBackupTooOld", a->listen) == "firing"; },
                        std::chrono::milliseconds(500)))
      << p.Api("/api/v1/alerts").dump();
  auto alerts = p.Api("/api/v1/alerts");
  bool found = false;
  for (const auto& al : alerts["data"]["alerts"]) {
    if (al["labels"]["alertname"] != "LifeboatBackupTooOld") continue;
    found = true;
    EXPECT_EQ(al["labels"]["tier"], "fast");
    EXPECT_EQ(al["labels"]["severity"], "critical");
    EXPECT_NE(al["annotations"]["description"].get<std::string>().find("lifeboat backup --tier fast"),
              std::string::npos);
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(PollUntil(seconds(30), [&] { return p.AlertState("LifeboatBackupFailing", a->listen) == "firing"; },
                        std::chrono::milliseconds(500)));

  // Every dashboard panel's query is valid PromQL that Prometheus answers.
  auto dash = ParseJson(ReadFile(std::string(LB_SOURCE_DIR) + "/deploy/grafana/lifeboat.json"));
  std::vector<std::string> queries;
  CollectQueries(dash, queries);
  for (std::string q : queries) {
    if (q.rfind("label_values(", 0) == 0) continue;  // Grafana's, not PromQL
    q = std::regex_replace(q, std::regex(R"(\$(instance|cluster))"), ".*");
    ProcResult r = harness::Run({"curl", "-s", "-G", p.url + "/api/v1/query", "--data-urlencode", "query=" + q});
    auto j = ParseJson(r.out);
    EXPECT_TRUE(!j.is_discarded() && j["status"] == "success") << q << ": " << r.out;
  }

  // The daemon itself stops: the daemon-down alert fires.
  a->Stop();
  EXPECT_TRUE(PollUntil(seconds(30), [&] { return p.AlertState("LifeboatDaemonDown", a->listen) == "firing"; },
                        std::chrono::milliseconds(500)))
      << p.Api("/api/v1/alerts").dump();
}

// /readyz tells a daemon that works from one that cannot store: 503 naming the store once it
// failed three times in a row (radosgw killed), 200 again once a backup is stored; /healthz
// (the process answers) stays 200 throughout.
TEST(MonitoringTest, ReadyzGoesUnreadyWhileTheStoreIsUnreachableAndBack) {
  auto c = EtcdCluster::Start();
  ASSERT_TRUE(c);
  auto s3 = S3Server::Start();
  ASSERT_TRUE(s3);
  ASSERT_TRUE(s3->CreateBucket("ready"));
  std::string dir = MakeTempDir("lb-ready-");
  std::string listen = "127.0.0.1:" + std::to_string(FreePorts(1).at(0));
  std::ofstream(dir + "/d.yaml") << "endpoints: [" << c->endpoints() << "]\nstore: " << s3->Url("ready")
                                 << "\ntiers:\n  - name: fast\n    schedule: \"*/2 * * * * *\"\n    keep: 1h\n"
                                    "check:\n  enabled: false\n";
  pid_t d = Spawn({LB_BINARY, "--config", dir + "/d.yaml", "daemon", "--metrics-listen", listen}, dir + "/out",
                  dir + "/err", s3->Env());
  auto get = [&](const std::string& path) {
    return harness::Run({"curl", "-s", "-w", "\n%{http_code}", "http://" + listen + path}).out;
  };
  auto code = [](const std::string& answer) { return answer.substr(answer.rfind('\n') + 1); };
  std::string ready;
  EXPECT_TRUE(PollUntil(seconds(30), [&] {
    ready = get("/readyz");
    return code(ready) == "200" && ReadFile(dir + "/err").find(": stored ") != std::string::npos;
  }, std::chrono::milliseconds(250))) << ready << ReadFile(dir + "/err");

  ASSERT_TRUE(s3->KillGateway());
  EXPECT_TRUE(PollUntil(seconds(120), [&] {
    ready = get("/readyz");
    return code(ready) == "503" && ready.find("failures in a row") != std::string::npos;
  }, std::chrono::milliseconds(250))) << ready;
  EXPECT_NE(ready.find("not ready: store "), std::string::npos) << ready;
  EXPECT_EQ(code(get("/healthz")), "200");

  ASSERT_TRUE(s3->Restart());
  EXPECT_TRUE(PollUntil(seconds(120), [&] { return code(ready = get("/readyz")) == "200"; },
                        std::chrono::milliseconds(250)))
      << ready << ReadFile(dir + "/err");
  kill(d, SIGTERM);
  EXPECT_EQ(Wait(d, seconds(60)).exit_code, 0);
  if (!HasFailure()) std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace lifeboat::harness
