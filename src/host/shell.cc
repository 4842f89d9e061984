#include "host/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "base/errno_status.h"

extern "C" char** environ;

namespace lifeboat::host {

namespace {

// The child's environment is prepared here, before it exists: setenv() after fork() in a
// threaded process can deadlock on a lock another thread held at the fork.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    if (!env.contains(std::string(kv.substr(0, kv.find('='))))) vars.emplace_back(kv);
  }
  for (const auto& [k, v] : env) vars.push_back(k + "=" + v);
  return vars;
}

// Starts `/bin/sh -c command` with stdin from /dev/null and stdout and stderr into `out_fd`.
// Returns the posix_spawn error (0: started).
int Spawn(const std::string& command, std::vector<std::string>& vars, int out_fd, pid_t* pid) {
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  // Own process group, so a timeout kills everything the command started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int rc = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

// Reads the command's output (its last 64 KiB kept) until EOF; false when the deadline passed
// first.
bool ReadOutput(int fd, std::chrono::steady_clock::time_point deadline, std::string* output) {
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return true;  // EOF: the command (and anything holding its output) is done
    output->append(buf, static_cast<size_t>(got));
    if (output->size() > 65536) output->erase(0, output->size() - 65536);
  }
}

}  // namespace

Result<ShellResult> RunShell(const std::string& command, const std::map<std::string, std::string>& env,
                             std::chrono::milliseconds timeout) {
  std::vector<std::string> vars = ChildEnvironment(env);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "create a pipe for", command);
  pid_t pid = 0;
  int rc = Spawn(command, vars, fds[1], &pid);
  if (rc != 0) {
    close(fds[0]);
    close(fds[1]);
    return ErrnoStatus(rc, "start /bin/sh for", command);
  }
  close(fds[1]);
  ShellResult r;
  const bool done = ReadOutput(fds[0], std::chrono::steady_clock::now() + timeout, &r.output);
  close(fds[0]);
  if (!done) {
    kill(-pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    r.exit_code = -1;
    r.output += "\n(killed after " + std::to_string(timeout.count()) + " ms)";
    return r;
  }
  int ws = 0;
  // Output closed; the shell itself exits right after (a background child may keep it open
  // longer, which is why the read loop, not this wait, carries the deadline).
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
  return r;
}

std::string LastLines(const std::string& text, int lines) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '\n') --end;
  size_t start = end;
  for (int i = 0; i < lines; ++i) {
    size_t nl = start == 0 ? std::string::npos : text.rfind('\n', start - 1);
    if (nl == std::string::npos) return text.substr(0, end);
    start = nl;
  }
  return text.substr(start + 1, end - start - 1);
}

std::string ClipLog(const std::string& tail, size_t line_bytes, size_t max_bytes) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at <= tail.size()) {
    size_t nl = tail.find('\n', at);
    std::string line = tail.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (line.size() > line_bytes) line = line.substr(0, line_bytes) + " [...]";
    lines.push_back(std::move(line));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (out.size() + it->size() + 1 > max_bytes) break;
    out = *it + (out.empty() ? "" : "\n") + out;
  }
  return out;
}

}  // namespace lifeboat::host
