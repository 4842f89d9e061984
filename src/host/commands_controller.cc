// Commands mode: operator-supplied shell commands. `status` exits 0 when etcd runs; `start` gets
// the member's settings as LIFEBOAT_* variables (LIFEBOAT_NAME, LIFEBOAT_INITIAL_CLUSTER, ...: not
// ETCD_*, which etcd would find in conflict with its flags) and the full flag list as
// LIFEBOAT_ETCD_FLAGS, and
// must return once etcd is launched (with its output redirected: an inherited stdout is read
// until it closes); `stop` may return early, the agent polls `status` until the deadline.
#include <thread>

#include "host/controller.h"
#include "host/shell.h"

namespace lifeboat::host {
namespace {

class CommandsController : public EtcdController {
 public:
  explicit CommandsController(AgentConfig c) : c_(std::move(c)) {}

  Status Start(const StartArgs& args) override {
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : MemberEnv(c_, args)) env["LIFEBOAT_" + k.substr(5)] = v;  // ETCD_X -> LIFEBOAT_X
    std::string flags;
    for (const auto& x : MemberFlags(c_, args)) flags += (flags.empty() ? "" : " ") + x;
    env["LIFEBOAT_ETCD_FLAGS"] = flags;
    auto r = RunShell(c_.command_start, env, std::chrono::seconds(60));
    if (!r.ok()) return r.status();
    last_output_ = r->output;
    if (r->exit_code != 0) {
      return Status::Unavailable("start command failed (exit " + std::to_string(r->exit_code) +
                                 "): " + LastLines(r->output, 5) + " (check commands.start)");
    }
    return Status::OK();
  }

  Result<bool> Stop(std::chrono::milliseconds deadline) override {
    bool was = false;
    {
      LB_ASSIGN_OR_RETURN(was, IsRunning());
    }
    if (!was) return false;
    auto until = std::chrono::steady_clock::now() + deadline;
    auto r = RunShell(c_.command_stop, {}, deadline);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return Status::Unavailable("stop command failed (exit " + std::to_string(r->exit_code) +
                                 "): " + LastLines(r->output, 5) + " (check commands.stop)");
    }
    for (;;) {
      bool running = false;
      {
        LB_ASSIGN_OR_RETURN(running, IsRunning());
      }
      if (!running) return true;
      if (std::chrono::steady_clock::now() >= until) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return Status::DeadlineExceeded("etcd still running " + std::to_string(deadline.count()) +
                                    " ms after the stop command (check commands.stop and commands.status)");
  }

  Result<bool> IsRunning() override {
    auto r = RunShell(c_.command_status, {}, std::chrono::seconds(10));
    if (!r.ok()) return r.status();
    if (r->exit_code < 0) {
      return Status::DeadlineExceeded("status command did not finish within 10 s (check commands.status)");
    }
    return r->exit_code == 0;
  }

  std::string LogTail(int lines) override {
    // etcd.log-file (default "<data-dir>.log") when the operator's start command writes there;
    // otherwise the start command's own output is all the agent has.
    if (!c_.etcd_log_file.empty()) {
      auto r = RunShell("tail -n " + std::to_string(lines) + " \"$F\"", {{"F", c_.etcd_log_file}},
                        std::chrono::seconds(5));
      if (r.ok() && r->exit_code == 0 && !r->output.empty()) return LastLines(r->output, lines);
    }
    return LastLines(last_output_, lines);
  }

 private:
  const AgentConfig c_;
  std::string last_output_;
};

}  // namespace

std::unique_ptr<EtcdController> NewCommandsController(const AgentConfig& config) {
  return std::make_unique<CommandsController>(config);
}

}  // namespace lifeboat::host
