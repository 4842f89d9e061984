// fork/execvpe-based process control for the integration harness (see process.h for the contract).
// Everything the child needs is prepared before fork(), so the child only makes async-signal-safe
// calls and the helpers stay usable from multi-threaded tests.
#include "harness/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/temp_dir.h"

#ifndef LB_BINARY
#error "LB_BINARY must name the lifeboat binary (tests/CMakeLists.txt defines it)"
#endif

extern char** environ;

namespace lifeboat::harness {
namespace {

using Clock = std::chrono::steady_clock;

// argv/envp as the NULL-terminated char* arrays exec wants; owns the strings.
class ExecArgs {
 public:
  ExecArgs(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env)
      : argv_strings_(argv) {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : extra_env) env[k] = v;
    for (const auto& [k, v] : env) env_strings_.push_back(k + "=" + v);
    for (auto& s : argv_strings_) argv_.push_back(s.data());
    argv_.push_back(nullptr);
    for (auto& s : env_strings_) envp_.push_back(s.data());
    envp_.push_back(nullptr);
  }
  char* const* argv() { return argv_.data(); }
  char* const* envp() { return envp_.data(); }
  const char* file() const { return argv_strings_.empty() ? "" : argv_strings_[0].c_str(); }

 private:
  std::vector<std::string> argv_strings_, env_strings_;
  std::vector<char*> argv_, envp_;
};

std::string Describe(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Child side of fork(): own process group (so a timeout can kill the whole tree), stdin from
// /dev/null, stdout/stderr to the given fds. On exec failure errno travels back through
// exec_err_fd, which is close-on-exec and therefore reads as EOF when exec succeeds.
[[noreturn]] void ExecChild(ExecArgs& args, int in_fd, int out_fd, int err_fd, int exec_err_fd) {
  setpgid(0, 0);
  int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
  if (in >= 0) dup2(in, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  execvpe(args.file(), args.argv(), args.envp());
  int e = errno;
  ssize_t ignored = write(exec_err_fd, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

// Forks and execs; returns the pid, or -1 with *error describing why the exec failed.
pid_t ForkExec(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
               int out_fd, int err_fd, std::string* error, int in_fd = -1) {
  if (argv.empty()) {
    *error = "empty argv";
    return -1;
  }
  ExecArgs args(argv, env);
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe2: ") + std::strerror(errno);
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return -1;
  }
  if (pid == 0) ExecChild(args, in_fd, out_fd, err_fd, status_pipe[1]);
  setpgid(pid, pid);  // also from the parent: no window in which a kill(-pid) would miss
  close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n > 0) {
    int st;
    waitpid(pid, &st, 0);
    *error = "cannot execute " + argv[0] + ": " + std::strerror(child_errno);
    return -1;
  }
  return pid;
}

// Waits for pid until deadline; SIGKILLs its process group when the deadline passes.
// Returns the decoded exit code, or -1 on timeout.
int ReapOrKill(pid_t pid, Clock::time_point deadline, bool* timed_out, struct rusage* usage = nullptr) {
  int st = 0;
  *timed_out = false;
  for (;;) {
    pid_t r = wait4(pid, &st, WNOHANG, usage);
    if (r == pid) return DecodeStatus(st);
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  *timed_out = true;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Output files of children started by Spawn, so Wait can return their contents.
std::mutex g_spawned_mu;
std::map<pid_t, std::pair<std::string, std::string>> g_spawned;

}  // namespace

ProcResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& extra_env,
               std::chrono::seconds timeout) {
  ProcResult res;
  const auto deadline = Clock::now() + timeout;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    res.err = std::string("pipe2: ") + std::strerror(errno);
    return res;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    res.err = std::string("pipe2: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return res;
  }
  std::string error;
  pid_t pid = ForkExec(argv, extra_env, out_pipe[1], err_pipe[1], &error);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    res.err = error;
    return res;
  }

  // Drain both pipes together: reading one to EOF first would deadlock once the child fills
  // the other pipe's buffer.
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&res.out, &res.err};
  int open_fds = 2;
  bool timed_out = false;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int r = poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;  // poll() ignores negative fds
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  bool reap_timed_out = false;
  res.exit_code = ReapOrKill(pid, timed_out ? Clock::now() : deadline, &reap_timed_out);
  if (timed_out || reap_timed_out) {
    res.exit_code = -1;
    res.err += "\n[harness] timed out after " + std::to_string(timeout.count()) + "s, killed: " +
               Describe(argv) + "\n";
  }
  return res;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file,
            const std::map<std::string, std::string>& extra_env, int in_fd) {
  int out_fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int err_fd = open(err_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "Spawn: cannot open " << out_file << " / " << err_file << ": " << std::strerror(errno);
    if (out_fd >= 0) close(out_fd);
    if (err_fd >= 0) close(err_fd);
    return -1;
  }
  std::string error;
  pid_t pid = ForkExec(argv, extra_env, out_fd, err_fd, &error, in_fd);
  close(out_fd);
  close(err_fd);
  if (pid < 0) {
    ADD_FAILURE() << "Spawn: " << error;
    return -1;
  }
  std::lock_guard<std::mutex> lock(g_spawned_mu);
  g_spawned[pid] = {out_file, err_file};
  return pid;
}

pid_t SpawnOnTerminal(const std::vector<std::string>& argv, const std::string& out_file, const std::string& err_file,
                      int* terminal, const std::map<std::string, std::string>& extra_env) {
  *terminal = -1;
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    ADD_FAILURE() << "SpawnOnTerminal: no pseudo-terminal: " << std::strerror(errno);
    if (master >= 0) close(master);
    return -1;
  }
  int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) {
    ADD_FAILURE() << "SpawnOnTerminal: cannot open " << ptsname(master) << ": " << std::strerror(errno);
    close(master);
    return -1;
  }
  pid_t pid = Spawn(argv, out_file, err_file, extra_env, slave);
  close(slave);
  if (pid < 0) {
    close(master);
    return -1;
  }
  *terminal = master;
  return pid;
}

ProcResult Wait(pid_t pid, std::chrono::seconds timeout, struct rusage* usage) {
  ProcResult res;
  bool timed_out = false;
  res.exit_code = ReapOrKill(pid, Clock::now() + timeout, &timed_out, usage);
  std::pair<std::string, std::string> files;
  {
    std::lock_guard<std::mutex> lock(g_spawned_mu);
    auto it = g_spawned.find(pid);
    if (it != g_spawned.end()) {
      files = it->second;
      g_spawned.erase(it);
    }
  }
  if (!files.first.empty()) res.out = ReadWholeFile(files.first);
  if (!files.second.empty()) res.err = ReadWholeFile(files.second);
  if (timed_out) {
    res.exit_code = -1;
    res.err += "\n[harness] timed out after " + std::to_string(timeout.count()) + "s, killed pid " +
               std::to_string(pid) + "\n";
  }
  return res;
}

bool PollUntil(std::chrono::milliseconds deadline, const std::function<bool()>& cond,
               std::chrono::milliseconds interval) {
  const auto end = Clock::now() + deadline;
  for (;;) {
    if (cond()) return true;
    auto now = Clock::now();
    if (now >= end) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(interval, end - now));
  }
}

std::string PassEtcdVersion() {
  const char* v = std::getenv("LB_ETCD_VERSION");
  return v == nullptr ? "" : v;
}

std::string ResolvedEtcdVersion(const std::string& version) {
  std::string v = version.empty() ? PassEtcdVersion() : version;
  return v.empty() || v == "3.4" ? "3.4.23" : v;  // Debian 12's etcd
}

std::string EtcdBinDir(const std::string& version) {
  std::string v = ResolvedEtcdVersion(version);
  if (v == "3.4.23") return "";
#ifdef LB_ETCD_DIR
  return std::string(LB_ETCD_DIR) + "/" + v + "/usr/bin";
#else
  return "";
#endif
}

std::string EtcdTool(const std::string& version, const std::string& tool) {
  std::string dir = EtcdBinDir(version);
  return dir.empty() ? tool : dir + "/" + tool;
}

namespace {

// The temp dirs this test process made: removed at its exit when every test in it passed (ctest
// runs one test per process), kept for a post-mortem when one failed. Built by the first
// MakeTempDir, so it is destroyed after every cluster or server whose dir came from a later
// call (they stop their processes, reading pid files from those dirs, as they go).
class TempDirRegistry {
 public:
  ~TempDirRegistry() {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    for (const auto& d : dirs_) {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  }
  void Add(const std::string& dir) {
    std::lock_guard<std::mutex> l(mu_);
    dirs_.push_back(dir);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> dirs_;
};

TempDirRegistry& TempDirs() {
  static TempDirRegistry registry;
  return registry;
}

}  // namespace

std::string MakeTempDir(const std::string& prefix) {
  TempDirRegistry& registry = TempDirs();  // first: it must outlive whatever uses the dir
  std::string templ = "/tmp/" + prefix + "XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << templ << "): " << std::strerror(errno);
    return "";
  }
  registry.Add(templ);
  return templ;
}

ProcResult Lifeboat(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    std::chrono::seconds timeout) {
  std::vector<std::string> argv{LB_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, env, timeout);
}

namespace {

// Ports come from below the kernel's ephemeral range (32768-60999 on Debian), where outgoing
// connections take their local ports: a port released there can be taken by any test's next
// connect() before the etcd it was meant for binds it. Tests that run at once (ctest -j) keep
// apart through a lock file per port, held (flock) until the test process exits.
constexpr int kPortLow = 10000, kPortHigh = 19999;  // scripts/s3-server takes 20000-32000

bool Bindable(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// Holds port's lock file for the rest of this process; false when another process holds it.
bool Reserve(int port) {
  std::string dir = DefaultTempParent() + "/lifeboat-test-ports";
  mkdir(dir.c_str(), 0777);
  int fd = open((dir + "/" + std::to_string(port)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return false;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  return true;  // the descriptor stays open: the lock lasts as long as the test process
}

}  // namespace

std::vector<int> FreePorts(int n) {
  static std::mutex mu;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard lock(mu);
  std::vector<int> ports;
  std::uniform_int_distribution<int> pick(kPortLow, kPortHigh);
  for (int tries = 0; static_cast<int>(ports.size()) < n && tries < 10000; ++tries) {
    int port = pick(rng);
    if (std::find(ports.begin(), ports.end(), port) != ports.end()) continue;
    if (Reserve(port) && Bindable(port)) ports.push_back(port);
  }
  if (static_cast<int>(ports.size()) < n) ADD_FAILURE() << "cannot reserve " << n << " loopback ports";
  return ports;
}

}  // namespace lifeboat::harness
