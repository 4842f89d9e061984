// Process mode: etcd is this agent's child, in its own process group, output appended to the
// log file. Stop is SIGTERM, then SIGKILL once the deadline has passed. The agent's exit leaves
// etcd running; the next agent's controller adopts it (FindRunningEtcd) and follows it through a
// pidfd, which shows its exit and takes signals for it alone, as it is not this process's child.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "host/controller.h"
#include "host/liveness.h"
#include "host/shell.h"
#include "base/errno_status.h"

extern "C" char** environ;

namespace lifeboat::host {
namespace {

class ProcessController : public EtcdController {
 public:
  explicit ProcessController(AgentConfig c) : c_(std::move(c)) {
    if (auto running = FindRunningEtcd(c_)) {
      pid_ = static_cast<pid_t>(running->pid);
      pidfd_ = running->pidfd;
      adopted_ = running->reason;
    }
  }
  ~ProcessController() override {
    if (pidfd_ >= 0) close(pidfd_);
  }
  ProcessController(const ProcessController&) = delete;
  ProcessController& operator=(const ProcessController&) = delete;

  std::string Adopted() const override { return adopted_; }

  Status Start(const StartArgs& args) override {
    if (IsRunning().value()) {
      return Status::FailedPrecondition("etcd is already running as pid " + std::to_string(Pid()) +
                                        " (stop it first)");
    }
    int log = open(c_.etcd_log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (log < 0) return ErrnoStatus(errno, "open etcd's log file", c_.etcd_log_file);
    std::vector<std::string> argv{c_.etcd_binary};
    auto flags = MemberFlags(c_, args);
    argv.insert(argv.end(), flags.begin(), flags.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    // posix_spawnp, not fork+exec: nothing runs in a copy of this threaded process, and an exec
    // failure (a missing binary) comes back as its return value.
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log, 1);
    posix_spawn_file_actions_adddup2(&fa, log, 2);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(log);
    if (rc != 0) {
      return ErrnoStatus(rc, "run", c_.etcd_binary, Access::kRead)
          .Annotate("cannot start etcd (set etcd.binary in the agent config)");
    }
    std::lock_guard<std::mutex> l(mu_);
    pid_ = pid;
    return Status::OK();
  }

  Result<bool> Stop(std::chrono::milliseconds deadline) override {
    pid_t pid = CurrentPid();
    if (pid == 0) return false;
    Signal(pid, SIGTERM);
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      if (CurrentPid() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // etcd did not finish its graceful shutdown in time; a SIGKILL is safe for its data (WAL+fsync).
    Signal(pid, SIGKILL);
    auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < hard) {
      if (CurrentPid() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::DeadlineExceeded("etcd (pid " + std::to_string(pid) + ") survived SIGKILL (check the host)");
  }

  Result<bool> IsRunning() override { return CurrentPid() != 0; }
  int64_t Pid() override { return CurrentPid(); }

  std::string LogTail(int lines) override {
    std::ifstream in(c_.etcd_log_file, std::ios::binary);
    if (!in) return "";
    in.seekg(0, std::ios::end);
    std::streamoff size = in.tellg();
    std::streamoff from = size > 65536 ? size - 65536 : 0;
    in.seekg(from);
    std::stringstream ss;
    ss << in.rdbuf();
    return LastLines(ss.str(), lines);
  }

 private:
  // The child's process group (etcd's own children too); an adopted etcd through its pidfd.
  void Signal(pid_t pid, int sig) {
    std::lock_guard<std::mutex> l(mu_);
    if (pidfd_ >= 0) {
      syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0);
    } else if (pid == pid_) {
      if (sig == SIGKILL) kill(-pid, sig);
      kill(pid, sig);
    }
  }

  // Reaps the child when it has exited, so a crashed etcd reads as "not running"; an adopted
  // etcd's pidfd turns readable when it exits.
  pid_t CurrentPid() {
    std::lock_guard<std::mutex> l(mu_);
    if (pid_ == 0) return 0;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      if (poll(&p, 1, 0) == 1) {
        close(pidfd_);
        pidfd_ = -1;
        pid_ = 0;
      }
      return pid_;
    }
    int ws = 0;
    pid_t r = waitpid(pid_, &ws, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) pid_ = 0;
    return pid_;
  }

  const AgentConfig c_;
  std::mutex mu_;
  pid_t pid_ = 0;
  int pidfd_ = -1;  // set while the etcd is an adopted one
  std::string adopted_;
};

}  // namespace

std::unique_ptr<EtcdController> NewProcessController(const AgentConfig& config) {
  return std::make_unique<ProcessController>(config);
}

}  // namespace lifeboat::host
