// Systemd mode: `systemctl start|stop|is-active UNIT`, tested against a real systemd (PID 1 of a
// host box, tests/harness/host_boxes.h) running Debian's etcd.service.
//
// The start's settings reach the unit through an environment file of the agent's own,
// /run/lifeboat/<unit>.env (host/unit_settings.h: the cluster settings, and the member's name,
// data dir and URLs only where the unit gives none), named by a runtime drop-in /run/systemd/system/<unit>.d/
// zz-lifeboat.conf (`EnvironmentFile=`). systemd reads EnvironmentFile= entries in order and the
// later one wins, and drop-ins are read after the unit (in file name order, hence "zz-"), so this
// file overrides Debian's /etc/default/etcd. The manager's environment (`systemctl
// set-environment`) would not: every EnvironmentFile= overrides it (docs/agent.md). The file
// stays after the start: systemd re-reads it when it restarts the unit by itself, and a member
// that joined with `existing` must not come back with the unit file's `new`. Both live in /run,
// so a reboot forgets them; by then the data dir exists and etcd ignores initial-cluster settings.
#include <sys/stat.h>

#include <thread>

#include "host/controller.h"
#include "host/shell.h"
#include "host/unit_settings.h"
#include "base/atomic_file.h"

namespace lifeboat::host {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

std::string UnitName(const std::string& unit) {
  return unit.find('.') == std::string::npos ? unit + ".service" : unit;
}

// One line of an EnvironmentFile=: KEY="VALUE" with \ and " escaped.
std::string EnvLine(const std::string& k, const std::string& v) {
  std::string q;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') q += '\\';
    q += ch;
  }
  return k + "=\"" + q + "\"\n";
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  auto f = AtomicFile::Create(path, mode);
  if (!f.ok()) return f.status();
  LB_RETURN_IF_ERROR((*f)->Append({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
  return (*f)->Commit();
}

std::string ReadSmallFile(const std::string& path) {
  std::string out;
  if (FILE* f = fopen(path.c_str(), "re")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    fclose(f);
  }
  return out;
}

// The value of KEY in `systemctl show` output (KEY=VALUE lines).
std::string ShowValue(const std::string& show, const std::string& key) {
  size_t at = 0;
  while ((at = show.find(key + "=", at)) != std::string::npos) {
    if (at == 0 || show[at - 1] == '\n') {
      size_t b = at + key.size() + 1, e = show.find('\n', b);
      return show.substr(b, e == std::string::npos ? std::string::npos : e - b);
    }
    at += key.size();
  }
  return "";
}

class SystemdController : public EtcdController {
 public:
  explicit SystemdController(AgentConfig c)
      : c_(std::move(c)),
        name_(UnitName(c_.systemd_unit)),
        unit_(Quote(name_)),
        env_file_("/run/lifeboat/" + name_ + ".env"),
        dropin_dir_("/run/systemd/system/" + name_ + ".d"),
        dropin_(dropin_dir_ + "/zz-lifeboat.conf") {}

  Status Start(const StartArgs& args) override {
    auto shown = RunShell("systemctl show -p Environment,EnvironmentFiles,ExecStart " + unit_, {}, seconds(10));
    if (!shown.ok()) return shown.status();
    UnitSettings unit = ParseUnitSettings(shown->output, env_file_, ReadSmallFile);
    LB_ASSIGN_OR_RETURN(auto vars, SystemdStartEnv(c_, args, unit, name_));
    std::string env = "# Written by the lifeboat agent before each start of " + name_ +
                      ": the start's cluster settings, and what the unit does not give etcd itself; read "
                      "after /etc/default/etcd (see " + dropin_ + ").\n";
    for (const auto& [k, v] : vars) env += EnvLine(k, v);
    LB_RETURN_IF_ERROR(MakeDirs("/run/lifeboat", 0755));
    LB_RETURN_IF_ERROR(WriteFile(env_file_, env, 0644));
    LB_RETURN_IF_ERROR(EnsureDropIn());
    // A unit that failed too often in a row (a crash loop) refuses `start` until this.
    (void)Check("systemctl reset-failed " + unit_, seconds(10));
    auto show = Show();
    restarts_at_start_ = show.ok() ? ShowValue(*show, "NRestarts") : "";
    cursor_ = JournalCursor();
    started_at_ = std::chrono::steady_clock::now();
    last_log_scan_ = {};
    return Check("systemctl start --no-block " + unit_, seconds(30));
  }

  // Always asks systemd to stop the unit, even when it looks inactive: a stop job also cancels a
  // pending start or restart, which would otherwise bring etcd back on a data dir being moved.
  // `systemctl stop` returns once the unit is inactive (or failed).
  Result<bool> Stop(milliseconds deadline) override {
    bool was = false;
    {
      LB_ASSIGN_OR_RETURN(was, IsRunning());
    }
    auto r = RunShell("systemctl stop " + unit_, {}, deadline);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return Status::Unavailable("`systemctl stop " + name_ + "` failed (exit " + std::to_string(r->exit_code) +
                                 "): " + LastLines(r->output, 3));
    }
    bool still = false;
    {
      LB_ASSIGN_OR_RETURN(still, IsRunning());
    }
    if (still) {
      return Status::DeadlineExceeded("systemd unit " + name_ + " still active after " +
                                      std::to_string(deadline.count()) + " ms (check `systemctl status " + name_ +
                                      "`)");
    }
    return was;
  }

  // "activating" counts as running, and so does a queued job: a Type=notify etcd stays there until it has joined its
  // cluster, which for a new multi-member cluster needs the other members to be started too,
  // and a unit waiting to be restarted by systemd (Restart=) is "activating" as well.
  Result<bool> IsRunning() override {
    auto r = RunShell("systemctl is-active " + unit_, {}, seconds(10));
    if (!r.ok()) return r.status();
    if (r->exit_code < 0) return Status::DeadlineExceeded("`systemctl is-active " + name_ + "` hung");
    std::string state = LastLines(r->output, 1);
    if (state == "active" || state == "activating" || state == "reloading" || state == "deactivating") return true;
    // Right after `start --no-block` the unit is still inactive with a start job queued.
    auto jobs = RunShell("systemctl list-jobs --no-legend " + unit_, {}, seconds(10));
    if (!jobs.ok()) return jobs.status();
    return jobs->exit_code == 0 && jobs->output.find(name_) != std::string::npos;
  }

  // A start that can no longer succeed: the unit failed or went inactive with no job left,
  // etcd exited and systemd restarted it (NRestarts grew, or it waits to), or etcd's log since
  // the start says it met another cluster. Each is final for this start.
  Status CheckStarting() override {
    auto show = Show();
    if (!show.ok()) return Status::OK();  // systemctl hiccup: the wait's deadline still holds
    std::string active = ShowValue(*show, "ActiveState"), sub = ShowValue(*show, "SubState");
    std::string restarts = ShowValue(*show, "NRestarts"), result = ShowValue(*show, "Result");
    std::string status = ShowValue(*show, "ExecMainStatus");
    std::string what = "unit " + name_ + " is " + active + " (" + sub + ", result " + result +
                       ", etcd's exit status " + status + ")";
    if (active == "failed") return Status::Unavailable(what);
    if (sub == "auto-restart" || (!restarts_at_start_.empty() && restarts != restarts_at_start_)) {
      return Status::Unavailable("etcd exited and systemd restarted it (Restart=): " + what);
    }
    if (active == "inactive" && std::chrono::steady_clock::now() - started_at_ > seconds(2)) {
      auto jobs = RunShell("systemctl list-jobs --no-legend " + unit_, {}, seconds(10));
      if (jobs.ok() && jobs->exit_code == 0 && jobs->output.find(name_) == std::string::npos) {
        return Status::Unavailable(what);
      }
    }
    // The journal, at most once a second (journalctl costs tens of milliseconds).
    auto now = std::chrono::steady_clock::now();
    if (now - last_log_scan_ >= seconds(1)) {
      last_log_scan_ = now;
      std::string log = JournalSinceStart();
      if (log.find("cluster ID mismatch") != std::string::npos) {
        return Status::Unavailable("etcd met members of another cluster (\"cluster ID mismatch\" in its log)");
      }
    }
    return Status::OK();
  }

  std::string LogTail(int lines) override {
    auto r = RunShell("journalctl --no-pager -n " + std::to_string(lines) + " -u " + unit_, {}, seconds(10));
    return r.ok() ? LastLines(r->output, lines) : "";
  }

 private:
  Status Check(const std::string& cmd, milliseconds timeout) {
    auto r = RunShell(cmd, {}, timeout);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) {
      return Status::Unavailable("`" + cmd + "` failed (exit " + std::to_string(r->exit_code) +
                                 "): " + LastLines(r->output, 3));
    }
    return Status::OK();
  }

  Result<std::string> Show() {
    auto r = RunShell("systemctl show -p ActiveState,SubState,NRestarts,Result,ExecMainStatus " + unit_, {},
                      seconds(10));
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Status::Unavailable("systemctl show failed: " + LastLines(r->output, 2));
    return r->output;
  }

  // Written (and systemd reloaded) only when missing or different, then checked: the unit must
  // list our file last among its EnvironmentFiles, or it is not what etcd will read.
  Status EnsureDropIn() {
    const std::string text = "# Written by the lifeboat agent: the member settings of its last start of " + name_ +
                             " win over the unit's own EnvironmentFile= (docs/agent.md).\n[Service]\n"
                             "EnvironmentFile=-" + env_file_ + "\n";
    if (ReadSmallFile(dropin_) != text) {
      LB_RETURN_IF_ERROR(MakeDirs(dropin_dir_, 0755));
      LB_RETURN_IF_ERROR(WriteFile(dropin_, text, 0644));
      LB_RETURN_IF_ERROR(Check("systemctl daemon-reload", seconds(60)));
    }
    auto r = RunShell("systemctl show -p EnvironmentFiles " + unit_, {}, seconds(10));
    if (!r.ok()) return r.status();
    // One line per file, in the order systemd reads them.
    std::string last;
    for (size_t at = 0; (at = r->output.find("EnvironmentFiles=", at)) != std::string::npos; ++at) {
      size_t e = r->output.find('\n', at);
      last = r->output.substr(at, e == std::string::npos ? std::string::npos : e - at);
    }
    if (last.find(env_file_) == std::string::npos) {
      return Status::FailedPrecondition("systemd unit " + name_ + " does not read " + env_file_ +
                                        " last (`systemctl show -p EnvironmentFiles " + name_ + "`: " +
                                        LastLines(r->output, 5) + "); a drop-in sorted after " + dropin_ +
                                        " overrides the member's settings");
    }
    return Status::OK();
  }

  std::string JournalCursor() {
    auto r = RunShell("journalctl --no-pager -n 0 --show-cursor -u " + unit_, {}, seconds(10));
    if (!r.ok()) return "";
    size_t at = r->output.rfind("-- cursor: ");
    if (at == std::string::npos) return "";
    std::string c = r->output.substr(at + 11);
    while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.pop_back();
    return c;
  }

  std::string JournalSinceStart() {
    std::string cmd = "journalctl --no-pager -o cat -u " + unit_ +
                      (cursor_.empty() ? std::string(" -n 200") : " --after-cursor " + Quote(cursor_));
    auto r = RunShell(cmd, {}, seconds(10));
    return r.ok() ? r->output : "";
  }

  const AgentConfig c_;
  const std::string name_, unit_, env_file_, dropin_dir_, dropin_;
  std::string restarts_at_start_, cursor_;
  std::chrono::steady_clock::time_point started_at_, last_log_scan_;
};

}  // namespace

std::unique_ptr<EtcdController> NewSystemdController(const AgentConfig& config) {
  return std::make_unique<SystemdController>(config);
}

}  // namespace lifeboat::host
