// lifeboat daemon --config F: scheduled backups per tier with retention, /metrics and /healthz,
// clean shutdown on SIGTERM. Several may run against one cluster: each tick is claimed in etcd.
#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "agent/token.h"
#include "cli/commands.h"
#include "cli/spdlog_logger.h"
#include "daemon/daemon.h"
#include "daemon/health.h"
#include "daemon/metrics.h"

namespace lifeboat::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// How late a tick may start, and how long the change log may hear nothing, before /readyz says so.
daemon::Health::Limits HealthLimits(const daemon::DaemonConfig& dc) {
  daemon::Health::Limits l;
  l.tick_margin = std::chrono::seconds(30) + dc.jitter;
  if (dc.changelog) l.changelog_stall = dc.changelog_options.flush_interval + std::chrono::seconds(30);
  return l;
}

// /metrics; /healthz: the process answers (200, with the last error for people); /readyz: 200
// when the daemon does its work, else 503 naming each reason (daemon/health.h).
void ServeHealth(httplib::Server& http, daemon::Metrics& metrics, daemon::Health& health) {
  http.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.Render(), "text/plain; version=0.0.4");
  });
  http.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    std::string err = metrics.LastError();
    res.set_content(err.empty() ? "ok\n" : "ok (last error: " + err + ")\n", "text/plain");
  });
  http.Get("/readyz", [&](const httplib::Request&, httplib::Response& res) {
    auto problems = health.Problems(std::chrono::system_clock::now());
    std::string body = problems.empty() ? "ready\n" : "";
    for (const auto& p : problems) body += "not ready: " + p + "\n";
    res.status = problems.empty() ? 200 : 503;
    res.set_content(body, "text/plain");
  });
}

// Schedules are read in the configured zone ("00:00 and 12:00" are the operators' local times).
Status UseTimezone(const std::string& timezone) {
  if (timezone != "UTC" && !std::filesystem::exists("/usr/share/zoneinfo/" + timezone)) {
    return Status::InvalidArgument("unknown timezone '" + timezone +
                                   "' (use a name from /usr/share/zoneinfo, e.g. Asia/Shanghai)");
  }
  setenv("TZ", timezone.c_str(), 1);
  tzset();
  return Status::OK();
}

// The agents the daemon asks whether a recovery runs. It only reads their status: the observe
// token is all it needs.
Status AddAgents(const Settings& s, daemon::DaemonConfig* dc) {
  if (s.agents.empty()) return Status::OK();
  const std::string& file = s.agent_observe_token_file.empty() ? s.agent_token_file : s.agent_observe_token_file;
  if (file.empty()) {
    return Status::InvalidArgument(
        "'agents:' is set but 'agent-observe-token-file:' is not: the daemon asks the agents whether a recovery "
        "runs (set agent-observe-token-file, or agent-token-file)");
  }
  LB_ASSIGN_OR_RETURN(dc->agent_token, agent::ReadTokenFile(file));
  dc->agents = s.agents;
  dc->agent_tls = s.agent_tls;
  return Status::OK();
}

// The daemon's configuration from the resolved settings; its identity names this process in the
// tick claims it writes to etcd.
Result<daemon::DaemonConfig> DaemonConfigOf(const Settings& s) {
  daemon::DaemonConfig dc;
  dc.client = s.client;
  dc.store_urls = {s.store};
  dc.store_urls.insert(dc.store_urls.end(), s.extra_stores.begin(), s.extra_stores.end());
  dc.prefix = s.prefix;
  dc.cluster_name = s.cluster_name;
  dc.tiers = s.tiers;
  dc.source.mode = s.source;
  dc.source.max_lag = s.max_lag;
  dc.stall_timeout = s.stall_timeout;
  dc.max_rate = s.max_rate;
  dc.zstd_level = s.compression == "zstd" ? s.zstd_level : 0;
  dc.keys = s.keys;
  dc.auth_keys = s.auth_keys;
  dc.changelog = s.changelog;
  dc.changelog_options = ChangeLogOptionsOf(s);
  dc.jitter = s.jitter;
  dc.prune = s.prune_after_backup;
  if (!s.drill_schedule.empty()) dc.drill_schedule = *catalog::CronSchedule::Parse(s.drill_schedule);
  dc.etcd_binary = s.etcd_binary;
  if (!s.check_schedule.empty()) dc.check_schedule = *catalog::CronSchedule::Parse(s.check_schedule);
  dc.check_settle_timeout = s.check_settle_timeout;
  LB_RETURN_IF_ERROR(AddAgents(s, &dc));
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  dc.identity = std::string(host) + ":" + std::to_string(getpid());
  return dc;
}

struct ListenAddress {
  std::string host;
  int port = 0;
};

// --metrics-listen (or the config's metrics-listen) as HOST:PORT.
Result<ListenAddress> ParseListen(const std::string& listen) {
  auto colon = listen.rfind(':');
  int port = 0;
  try {
    port = colon == std::string::npos ? -1 : std::stoi(listen.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("--metrics-listen '" + listen + "' is not HOST:PORT (e.g. 127.0.0.1:9437)");
  }
  return ListenAddress{listen.substr(0, colon), port};
}

void RunDaemon(Context& ctx, const std::string& listen_flag) {
  // One malloc arena, set before any thread starts: every tick starts short-lived threads, and
  // glibc would give them arenas of their own that keep the pages freed in them, so the RSS
  // would creep up with each backup. The daemon's few concurrent allocations do not contend.
  mallopt(M_ARENA_MAX, 1);
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  // Logs go to stderr (journald and kubectl logs read it); stdout stays free for output.
  spdlog::set_default_logger(spdlog::stderr_color_mt("lifeboat"));
  if (Status st = UseTimezone(settings->timezone); !st.ok()) return ctx.Fail(st);
  auto dc = DaemonConfigOf(*settings);
  if (!dc.ok()) return ctx.Fail(dc.status());
  std::string listen = listen_flag.empty() ? settings->metrics_listen : listen_flag;
  auto address = ParseListen(listen);
  if (!address.ok()) return ctx.Fail(address.status());

  daemon::Metrics metrics;
  daemon::Health health(HealthLimits(*dc), std::chrono::system_clock::now());
  httplib::Server http;
  ServeHealth(http, metrics, health);
  if (!http.bind_to_port(address->host.c_str(), address->port)) {
    return ctx.Fail(Status::Unavailable("cannot listen on " + listen + " for /metrics (is the port taken? set --metrics-listen)"));
  }
  std::thread server([&] { http.listen_after_bind(); });

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  spdlog::info("lifeboat daemon {} started: {} tier(s), {} store(s), metrics on {}", dc->identity, dc->tiers.size(),
               dc->store_urls.size(), listen);
  SpdlogLogger log;
  daemon::Daemon d(*dc, metrics, health, log);
  Status st = d.Run(g_stop);
  http.stop();
  server.join();
  if (!st.ok()) ctx.Fail(st);
}

}  // namespace

void AddDaemonCommand(CLI::App& app, Context& ctx) {
  auto listen = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("daemon", "run scheduled backups per tier, with retention and /metrics");
  cmd->add_option("--metrics-listen", *listen, "HOST:PORT for /metrics, /healthz and /readyz (default 127.0.0.1:9437)");
  cmd->callback([&ctx, listen] { RunDaemon(ctx, *listen); });
}

}  // namespace lifeboat::cli
