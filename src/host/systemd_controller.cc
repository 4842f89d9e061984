// Systemd mode: `systemctl start|stop|is-active UNIT`. The member's initial-cluster settings go
// to the unit as ETCD_* variables through the manager's environment (set just before the start
// and unset right after: a unit captures its environment when it is spawned), so the unit's
// ExecStart must not pass --initial-cluster* flags itself (etcd prefers flags to variables).
// Not covered by tests: there is no systemd on the build machine.
#include <thread>

#include "host/controller.h"
#include "host/shell.h"

namespace lifeboat::host {
namespace {

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

class SystemdController : public EtcdController {
 public:
  explicit SystemdController(AgentConfig c) : c_(std::move(c)), unit_(Quote(c_.systemd_unit)) {}

  Status Start(const StartArgs& args) override {
    std::string set = "systemctl set-environment", unset = "systemctl unset-environment";
    for (const auto& [k, v] : MemberEnv(c_, args)) {
      if (k.rfind("ETCD_INITIAL_CLUSTER", 0) != 0) continue;  // the rest is the unit's business
      set += " " + Quote(k + "=" + v);
      unset += " " + k;
    }
    LB_RETURN_IF_ERROR(Check(set, std::chrono::seconds(10)));
    Status st = Check("systemctl start --no-block " + unit_, std::chrono::seconds(30));
    (void)Check(unset, std::chrono::seconds(10));
    return st;
  }

  Result<bool> Stop(std::chrono::milliseconds deadline) override {
    bool was = false;
    {
      LB_ASSIGN_OR_RETURN(was, IsRunning());
    }
    if (!was) return false;
    auto r = RunShell("systemctl stop " + unit_, {}, deadline);
    if (!r.ok()) return r.status();
    bool still = false;
    {
      LB_ASSIGN_OR_RETURN(still, IsRunning());
    }
    if (still) {
      return Status::DeadlineExceeded("systemd unit " + c_.systemd_unit + " still active after " +
                                      std::to_string(deadline.count()) + " ms (check `systemctl status " +
                                      c_.systemd_unit + "`)");
    }
    return true;
  }

  // "activating" counts as running: a Type=notify etcd stays there until it has joined its
  // cluster, which for a new multi-member cluster needs the other members to be started too.
  Result<bool> IsRunning() override {
    auto r = RunShell("systemctl is-active " + unit_, {}, std::chrono::seconds(10));
    if (!r.ok()) return r.status();
    if (r->exit_code < 0) return Status::DeadlineExceeded("`systemctl is-active " + c_.systemd_unit + "` hung");
    std::string state = LastLines(r->output, 1);
    return state == "active" || state == "activating" || state == "reloading" || state == "deactivating";
  }

  std::string LogTail(int lines) override {
    auto r = RunShell("journalctl --no-pager -n " + std::to_string(lines) + " -u " + unit_, {},
                      std::chrono::seconds(10));
    return r.ok() ? LastLines(r->output, lines) : "";
  }

 private:
  Status Check(const std::string& cmd, std::chrono::milliseconds timeout) {
    auto r = RunShell(cmd, {}, timeout);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return Status::Unavailable("`" + cmd + "` failed (exit " + std::to_string(r->exit_code) +
                                 "): " + LastLines(r->output, 3));
    }
    return Status::OK();
  }

  const AgentConfig c_;
  const std::string unit_;
};

}  // namespace

std::unique_ptr<EtcdController> NewSystemdController(const AgentConfig& config) {
  return std::make_unique<SystemdController>(config);
}

}  // namespace lifeboat::host
