#include "host/leftovers.h"

#include <signal.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "host/lease_table.h"
#include "host/staging.h"

namespace lifeboat::host {
namespace {

namespace fs = std::filesystem;

// The pid in AtomicFile's temp name ".<base>.tmp-<pid>-<16 hex>", or 0 if the name is not one.
pid_t TempWriterPid(const std::string& name) {
  if (name.empty() || name[0] != '.') return 0;
  const size_t at = name.rfind(".tmp-");
  if (at == std::string::npos) return 0;
  const std::string rest = name.substr(at + 5);
  const size_t dash = rest.find('-');
  if (dash == std::string::npos || dash == 0 || rest.size() - dash - 1 != 16) return 0;
  for (size_t i = 0; i < dash; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return 0;
  }
  return static_cast<pid_t>(std::strtol(rest.substr(0, dash).c_str(), nullptr, 10));
}

bool Alive(pid_t pid) { return kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Result<std::vector<std::string>> SweepLeftovers(const std::string& staging_dir, const std::string& data_dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  auto remove = [&](const fs::path& p) -> Status {
    fs::remove_all(p, ec);
    if (ec) return Status::IOError("remove the leftover " + p.string() + ": " + ec.message());
    removed.push_back(p.string());
    return Status::OK();
  };
  if (!staging_dir.empty() && fs::is_directory(staging_dir, ec)) {
    for (const auto& e : fs::directory_iterator(staging_dir, ec)) {
      const pid_t pid = TempWriterPid(e.path().filename().string());
      if (pid > 0 && pid != getpid() && !Alive(pid) && e.is_regular_file(ec)) LB_RETURN_IF_ERROR(remove(e.path()));
    }
    if (ec) return Status::IOError("list " + staging_dir + ": " + ec.message());
  }
  if (!data_dir.empty()) {
    const fs::path target = fs::path(data_dir).lexically_normal();
    const fs::path parent = target.parent_path();
    const std::string prefix = "." + target.filename().string().substr(0, 180) + ".lifeboat-restore-";
    if (fs::is_directory(parent, ec)) {
      for (const auto& e : fs::directory_iterator(parent, ec)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(prefix, 0) == 0 && n.size() == prefix.size() + 6 && e.is_directory(ec)) {
          LB_RETURN_IF_ERROR(remove(e.path()));
        }
      }
      if (ec) return Status::IOError("list " + parent.string() + ": " + ec.message());
    }
  }
  return removed;
}

Result<std::vector<std::string>> SweepStaleStaged(const std::string& staging_dir, int64_t now_ms) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(staging_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("recovery-lease-", 0) != 0 || !name.ends_with(".json")) continue;
    LeaseTable lease(e.path().string());
    if (!lease.Load().ok() || !lease.LiveLease(now_ms).empty()) return std::vector<std::string>{};
  }
  LB_ASSIGN_OR_RETURN(Dropped dropped, DropStaged(staging_dir, {}));
  return dropped.paths;
}

}  // namespace lifeboat::host
