#include "host/access.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>

namespace lifeboat::host {
namespace {

// The canonical path of an existing file or dir; empty when it cannot be resolved.
std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : std::string();
}

bool Inside(const std::string& path, const std::string& dir) {
  if (dir.empty() || path.size() <= dir.size() || path.compare(0, dir.size(), dir) != 0) return false;
  return dir == "/" || path[dir.size()] == '/';
}

}  // namespace

std::string NormalizeStoreUrl(const std::string& url) {
  std::string u = url.rfind("/", 0) == 0 ? "file://" + url : url;
  if (u.find('?') == std::string::npos) {
    while (u.size() > 8 && u.back() == '/') u.pop_back();
  }
  return u;
}

Status AllowStore(const AgentConfig& config, const std::string& url) {
  const std::string want = NormalizeStoreUrl(url);
  for (const auto& s : config.stores) {
    if (NormalizeStoreUrl(s) == want) return Status::OK();
  }
  if (config.stores.empty()) {
    return Status::PermissionDenied("this agent may fetch from no store: list " + url +
                                    " under 'stores' in the agent config of " + config.member_name);
  }
  return Status::PermissionDenied("store " + url + " is not one of this agent's stores: add it to 'stores' in the "
                                  "agent config of " + config.member_name + " if backups are to be fetched from it");
}

Status AllowSnapshotPath(const AgentConfig& config, const std::string& path) {
  const std::string real = RealPath(path);
  struct stat st {};
  if (real.empty() || ::stat(real.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::NotFound("snapshot " + path + " is not a file on " + config.member_name + "'s host (FetchBackup "
                            "stages it first)");
  }
  if (Inside(real, RealPath(config.staging_dir))) return Status::OK();
  for (const auto& s : config.stores) {
    const std::string u = NormalizeStoreUrl(s);
    if (u.rfind("file://", 0) == 0 && Inside(real, RealPath(u.substr(7)))) return Status::OK();
  }
  return Status::PermissionDenied("snapshot " + path + " is outside the staging dir " + config.staging_dir +
                                  " and this agent's local stores: an agent restores only what FetchBackup staged");
}

}  // namespace lifeboat::host
