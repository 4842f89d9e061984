// lifeboat changelog: the continuous change log in the foreground (the daemon runs the same with
// changelog.enabled). SIGTERM/SIGINT: the buffered changes are written, then exit 0.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "cli/commands.h"
#include "cli/spdlog_logger.h"
#include "ops/backup/changelog.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

std::atomic<bool> g_log_stop{false};
void OnLogSignal(int) { g_log_stop = true; }

struct ChangeLogArgs {
  int64_t from_revision = 0;
};

void RunChangeLogCommand(Context& ctx, const ChangeLogArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  if (settings->cluster_name.empty()) {
    return ctx.Fail(Status::InvalidArgument("the change log needs --cluster-name (its folder in the store)"));
  }
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  auto id = ops::ServedClusterId(settings->client);
  if (!id.ok()) return ctx.Fail(id.status());
  int64_t start = a.from_revision;
  if (start == 0) {
    auto s = ops::ChangeLogStart(**store, settings->prefix, settings->cluster_name, *id, TrustOf(*settings));
    if (!s.ok()) return ctx.Fail(s.status());
    start = *s;
  }
  const ops::ChangeLogOptions o = ChangeLogOptionsOf(*settings);
  struct sigaction sa {};
  sa.sa_handler = OnLogSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::cerr << "lifeboat: change log of " << settings->cluster_name << " from revision " << start << std::endl;
  uint64_t segments = 0, events = 0;
  int64_t reached = start - 1;
  ops::ChangeLogHooks hooks;
  hooks.on_segment = [&](const catalog::SegmentManifest& m) {
    segments++;
    events += m.count;
    reached = m.end_revision;
  };
  // Reopened watches and store retries are logged to stderr, as the daemon logs them.
  spdlog::set_default_logger(spdlog::stderr_color_mt("lifeboat"));
  SpdlogLogger log;
  hooks.log = &log;
  Status s = ops::RunChangeLog(settings->client, **store, o, start, *id, g_log_stop, hooks);
  std::cerr << "lifeboat: " << segments << " segments, " << events << " changes, up to revision " << reached
            << std::endl;
  if (!s.ok()) ctx.Fail(s);
}

}  // namespace

void AddChangeLogCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ChangeLogArgs>();
  auto* cmd = app.add_subcommand("changelog", "log every change to the store continuously (for point-in-time restore)");
  cmd->add_option("--from-revision", a->from_revision,
                  "first revision to log (default: after the last segment or the newest full backup)");
  cmd->callback([&ctx, a] { RunChangeLogCommand(ctx, *a); });
}

}  // namespace lifeboat::cli
