// Process mode: etcd is this agent's child, in its own process group, output appended to the
// log file. Stop is SIGTERM, then SIGKILL once the deadline has passed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "agent/controller.h"
#include "agent/shell.h"
#include "base/errno_status.h"

namespace lifeboat::agent {
namespace {

class ProcessController : public EtcdController {
 public:
  explicit ProcessController(AgentConfig c) : c_(std::move(c)) {}

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
    // A pipe that closes on a successful exec: its message tells a missing binary from a crash.
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      close(log);
      return ErrnoStatus(errno, "create a pipe for", c_.etcd_binary);
    }
    pid_t pid = fork();
    if (pid < 0) {
      int e = errno;
      close(log);
      close(fds[0]);
      close(fds[1]);
      return ErrnoStatus(e, "fork for", c_.etcd_binary);
    }
    if (pid == 0) {
      setpgid(0, 0);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, 0);
      dup2(log, 1);
      dup2(log, 2);
      execvp(cargv[0], cargv.data());
      int e = errno;
      ssize_t ignored = write(fds[1], &e, sizeof e);
      (void)ignored;
      _exit(127);
    }
    close(log);
    close(fds[1]);
    int child_errno = 0;
    ssize_t got;
    while ((got = read(fds[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    close(fds[0]);
    if (got == sizeof child_errno) {
      waitpid(pid, nullptr, 0);
      return ErrnoStatus(child_errno, "run", c_.etcd_binary, Access::kRead)
          .Annotate("cannot start etcd (set etcd.binary in the agent config)");
    }
    std::lock_guard<std::mutex> l(mu_);
    pid_ = pid;
    return Status::OK();
  }

  Result<bool> Stop(std::chrono::milliseconds deadline) override {
    pid_t pid = CurrentPid();
    if (pid == 0) return false;
    kill(pid, SIGTERM);
    auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      if (CurrentPid() == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // etcd did not finish its graceful shutdown in time; a SIGKILL is safe for its data (WAL+fsync).
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
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
  // Reaps the child when it has exited, so a crashed etcd reads as "not running".
  pid_t CurrentPid() {
    std::lock_guard<std::mutex> l(mu_);
    if (pid_ == 0) return 0;
    int ws = 0;
    pid_t r = waitpid(pid_, &ws, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) pid_ = 0;
    return pid_;
  }

  const AgentConfig c_;
  std::mutex mu_;
  pid_t pid_ = 0;
};

}  // namespace

std::unique_ptr<EtcdController> NewProcessController(const AgentConfig& config) {
  return std::make_unique<ProcessController>(config);
}

}  // namespace lifeboat::agent
