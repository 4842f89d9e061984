// lifeboat agent --config F: the host agent (src/agent) for the one etcd member on this host,
// serving until SIGTERM/SIGINT. Its config is its own YAML file (docs/agent.md), read through
// the global --config flag (or LIFEBOAT_CONFIG); it does not use the cluster settings. With
// --check it reads the config and the token files as a start would, then exits: a deployment
// tool validates a new config with it before putting it in place (Ansible's `validate:`).
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <thread>

#include "host/agent_config.h"
#include "agent/agent_server.h"
#include "agent/token.h"
#include "cli/commands.h"
#include "cli/spdlog_logger.h"

namespace lifeboat::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

void RunAgent(Context& ctx, bool check_only) {
  std::string path = ctx.flags.config;
  if (path.empty() && std::getenv("LIFEBOAT_CONFIG")) path = std::getenv("LIFEBOAT_CONFIG");
  if (path.empty()) {
    return ctx.Fail(Status::InvalidArgument("lifeboat agent needs --config FILE (see docs/agent.md)"));
  }
  auto config = host::LoadAgentConfig(path);
  if (!config.ok()) return ctx.Fail(config.status());
  spdlog::set_default_logger(spdlog::stderr_color_mt("lifeboat-agent"));
  agent::AgentTokens tokens;
  if (!config->token_file.empty()) {
    auto t = agent::ReadTokenFile(config->token_file);
    if (!t.ok()) return ctx.Fail(t.status());
    tokens.recover = *t;
    if (!config->observe_token_file.empty()) {
      auto o = agent::ReadTokenFile(config->observe_token_file);
      if (!o.ok()) return ctx.Fail(o.status());
      if (*o == tokens.recover) {
        return ctx.Fail(Status::InvalidArgument("the observe token in " + config->observe_token_file +
                                                " equals the recover token: give it a token of its own"));
      }
      tokens.observe = *o;
    }
  } else {
    spdlog::warn("insecure-no-auth: true: ANYONE who can reach {} can stop etcd and move its data; use a token-file",
                 config->listen);
  }
  if (check_only) {
    std::cout << "agent config " << path << ": ok (member " << config->member_name << ", "
              << host::ControlModeName(config->mode) << " mode, listen " << config->listen << ")\n";
    return;
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  static SpdlogLogger log;  // outlives the server
  auto server = agent::AgentServer::Start(*config, tokens, log);
  if (!server.ok()) return ctx.Fail(server.status());
  spdlog::info("lifeboat agent for member {} ({} mode) listening on port {}", config->member_name,
               host::ControlModeName(config->mode), (*server)->port());
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("shutting down{}", config->mode == host::ControlMode::kProcess ? " (stopping the etcd it started)"
                                                                                  : " (etcd keeps running)");
  (*server)->Shutdown();
}

}  // namespace

void AddAgentCommand(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("agent", "serve the host agent for the etcd member on this host (--config FILE)");
  auto check = std::make_shared<bool>(false);
  cmd->add_flag("--check", *check, "read the config and the token files as a start would, then exit (0: it would start)");
  cmd->callback([&ctx, check] { RunAgent(ctx, *check); });
}

}  // namespace lifeboat::cli
