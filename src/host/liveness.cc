#include "host/liveness.h"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace lifeboat::host {

namespace fs = std::filesystem;

namespace {

struct FileId {
  dev_t dev;
  ino_t ino;
  std::string path;
};

// F_OFD_GETLK sees OFD and POSIX locks (etcd's WAL locks) without taking one.
bool FcntlLocked(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return false;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  bool held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return held;
}

// /proc/locks: every lock on the host, flock() ones included, with the owner's pid where there
// is one (-1 for OFD locks). Returns the first entry on one of `ids`: {found, pid}.
std::pair<bool, int64_t> ProcLocks(const std::vector<FileId>& ids) {
  std::ifstream in("/proc/locks");
  bool found = false;
  int64_t pid = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find("->") != std::string::npos) continue;  // a waiter, not a holder
    std::istringstream ls(line);
    std::string id, type, advisory, access, pid_s, where;
    if (!(ls >> id >> type >> advisory >> access >> pid_s >> where)) continue;
    unsigned maj = 0, min = 0;
    unsigned long long ino = 0;
    if (std::sscanf(where.c_str(), "%x:%x:%llu", &maj, &min, &ino) != 3) continue;
    for (const auto& f : ids) {
      if (f.ino != static_cast<ino_t>(ino) || major(f.dev) != maj || minor(f.dev) != min) continue;
      found = true;
      int64_t p = std::atoll(pid_s.c_str());
      if (p > 0) return {true, p};
    }
  }
  return {found, pid};
}

// The process with one of `ids` open, for an OFD lock (whose holder /proc/locks does not name).
int64_t ProcessWithOpen(const std::vector<FileId>& ids) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  int64_t found = 0;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;  // gone, or not ours to look at
    while (dirent* f = readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      struct stat st {};
      if (stat((fd_dir + "/" + f->d_name).c_str(), &st) != 0) continue;
      for (const auto& id : ids) {
        if (st.st_dev == id.dev && st.st_ino == id.ino) found = pid;
      }
      if (found) break;
    }
    closedir(fds);
    if (found) break;
  }
  closedir(proc);
  return found;
}

LockHolder ProbeFiles(const std::vector<std::string>& paths) {
  LockHolder h;
  std::vector<FileId> ids;
  for (const auto& p : paths) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) continue;
    ids.push_back({st.st_dev, st.st_ino, p});
    if (!h.held && FcntlLocked(p)) {
      h.held = true;
      h.file = p;
    }
  }
  if (ids.empty()) return h;
  auto [in_proc, pid] = ProcLocks(ids);
  if (in_proc && !h.held) {
    h.held = true;
    h.file = ids.front().path;
  }
  if (!h.held) return h;
  h.pid = pid > 0 ? pid : ProcessWithOpen(ids);
  return h;
}

}  // namespace

LockHolder ProbeFileLock(const std::string& path) { return ProbeFiles({path}); }

LockHolder ProbeDataDirLock(const std::string& data_dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(data_dir) / "member" / "wal", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".wal") paths.push_back(it->path().string());
  }
  paths.push_back((fs::path(data_dir) / "member" / "snap" / "db").string());
  return ProbeFiles(paths);
}

bool UrlAnswers(const std::string& url, std::chrono::milliseconds timeout) {
  // scheme://host:port[/...], host possibly [v6].
  auto sep = url.find("://");
  std::string rest = sep == std::string::npos ? url : url.substr(sep + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close_b = rest.find(']');
    if (close_b == std::string::npos) return false;
    host = rest.substr(1, close_b - 1);
    if (close_b + 1 < rest.size() && rest[close_b + 1] == ':') port = rest.substr(close_b + 2);
  } else {
    auto colon = rest.rfind(':');
    host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (port.empty()) port = url.rfind("https", 0) == 0 ? "443" : "80";
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return false;
  bool answered = false;
  for (addrinfo* a = res; a != nullptr && !answered; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      answered = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      answered = poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
    close(fd);
  }
  freeaddrinfo(res);
  return answered;
}

Liveness ProbeMember(const AgentConfig& c) {
  Liveness l;
  LockHolder h = ProbeDataDirLock(c.data_dir);
  if (h.held) {
    l.live = true;
    l.pid = h.pid;
    l.reason = (h.pid > 0 ? "pid " + std::to_string(h.pid) : std::string("a process")) + " holds the lock on " +
               h.file;
    return l;
  }
  for (const std::string* url : {&c.client_url, &c.quarantine_client_url, &c.peer_url}) {
    if (!url->empty() && UrlAnswers(*url, std::chrono::milliseconds(300))) {
      l.live = true;
      l.reason = *url + " answers";
      return l;
    }
  }
  return l;
}

std::optional<RunningEtcd> FindRunningEtcd(const AgentConfig& c) {
  LockHolder h = ProbeDataDirLock(c.data_dir);
  if (!h.held || h.pid <= 0) return std::nullopt;
  std::string url;
  for (const std::string* u : {&c.client_url, &c.quarantine_client_url}) {
    if (url.empty() && !u->empty() && UrlAnswers(*u, std::chrono::milliseconds(300))) url = *u;
  }
  if (url.empty()) return std::nullopt;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(h.pid), 0));
  if (pidfd < 0) return std::nullopt;
  // Still the holder now that it is pinned: not a process that reused the pid.
  if (ProbeDataDirLock(c.data_dir).pid != h.pid) {
    close(pidfd);
    return std::nullopt;
  }
  return RunningEtcd{h.pid, pidfd, "pid " + std::to_string(h.pid) + " holds the lock on " + h.file + " and " + url +
                                       " answers"};
}

namespace {

// Polls until the member is no longer live; the last probe.
Liveness WaitNotLive(const AgentConfig& c, std::chrono::steady_clock::time_point until) {
  for (;;) {
    Liveness l = ProbeMember(c);
    if (!l.live || std::chrono::steady_clock::now() >= until) return l;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A pidfd pins the process: the signal cannot reach another one that reused the pid.
bool Signal(int pidfd, pid_t pid, int sig) {
  if (pidfd >= 0) return syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) == 0;
  return kill(pid, sig) == 0;
}

}  // namespace

Result<bool> StopRemaining(const AgentConfig& c, bool controller_stopped, bool signal_holder,
                           std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  // A stopped etcd releases its locks and ports as it exits; give that a moment.
  Liveness l = controller_stopped ? WaitNotLive(c, until) : ProbeMember(c);
  if (!l.live) return false;
  if (!signal_holder || l.pid <= 0) {
    return Status::FailedPrecondition("etcd of member " + c.member_name + " is still live (" + l.reason + ")" +
                                      (controller_stopped ? " after the stop" : " but not under this agent's control") +
                                      ": stop it on the host, then retry");
  }
  pid_t pid = static_cast<pid_t>(l.pid);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  // The pid must still be the lock holder now that it is pinned.
  if (Liveness again = ProbeMember(c); !again.live || again.pid != l.pid) {
    if (pidfd >= 0) close(pidfd);
    if (!again.live) return false;
    return Status::Aborted("the etcd holding " + c.data_dir + "'s lock changed while stopping it (retry)");
  }
  Signal(pidfd, pid, SIGTERM);
  l = WaitNotLive(c, until);
  if (l.live) {
    // etcd did not finish its graceful shutdown in time; a SIGKILL is safe for its data (WAL+fsync).
    Signal(pidfd, pid, SIGKILL);
    l = WaitNotLive(c, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  }
  if (pidfd >= 0) close(pidfd);
  if (l.live) {
    return Status::DeadlineExceeded("etcd (pid " + std::to_string(pid) + ") is still live after SIGKILL (" +
                                    l.reason + "; check the host)");
  }
  return true;
}

}  // namespace lifeboat::host
