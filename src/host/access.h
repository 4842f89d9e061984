// What a recover token lets a coordinator make this agent read: only the stores its own config
// names (FetchBackup), and only snapshot files inside its staging dir or one of those stores'
// folders (RestoreSnapshot). Everything else is refused naming the config key to change, so the
// token is not a way to read arbitrary files or reach arbitrary endpoints from the etcd host.
#pragma once

#include <string>

#include "base/status.h"
#include "host/agent_config.h"

namespace lifeboat::host {

// "file:///a/b/", "/a/b" -> "file:///a/b"; other URLs lose a trailing '/' only.
std::string NormalizeStoreUrl(const std::string& url);

// OK when `url` is one of config.stores; PermissionDenied naming it and the key otherwise.
Status AllowStore(const AgentConfig& config, const std::string& url);

// OK when `path` (resolved through symlinks) is a regular file inside config.staging_dir or
// inside the folder of a file:// store of config.stores; PermissionDenied otherwise.
Status AllowSnapshotPath(const AgentConfig& config, const std::string& path);

}  // namespace lifeboat::host
