// One Add*Command per subcommand (etcdctl keeps one file per command group; so do we).
// Each command resolves Settings, runs one ops/ workflow, prints, and leaves its exit code in
// Context: 0 ok, 1 failed or inconsistent, 2 usage or configuration error.
#pragma once

#include <string>

#include "base/status.h"
#include "catalog/trust.h"
#include "cli/config.h"

namespace CLI {
class App;
}

namespace lifeboat::cli {

struct Context {
  Flags flags;
  int exit_code = 0;
  // Prints "lifeboat: <message>" to stderr and records the exit code.
  void Fail(const Status& s);
};

void AddStatusCommand(CLI::App& app, Context& ctx);
void AddCheckCommand(CLI::App& app, Context& ctx);
void AddBackupCommand(CLI::App& app, Context& ctx);
void AddListCommand(CLI::App& app, Context& ctx);
void AddFetchCommand(CLI::App& app, Context& ctx);
void AddPruneCommand(CLI::App& app, Context& ctx);
void AddDaemonCommand(CLI::App& app, Context& ctx);
void AddLifecycleCommand(CLI::App& app, Context& ctx);
void AddAgentCommand(CLI::App& app, Context& ctx);
void AddRestoreClusterCommand(CLI::App& app, Context& ctx);
void AddRecoverMemberCommand(CLI::App& app, Context& ctx);
void AddDrillCommand(CLI::App& app, Context& ctx);
void AddChangeLogCommand(CLI::App& app, Context& ctx);

// A tier name from --tier -> its folder in the store (configured tiers), or the name itself.
std::string TierFolder(const Settings& settings, const std::string& name);
// What readers trust under these settings (catalog/trust.h); `allow_untrusted`: --allow-unencrypted.
catalog::TrustPolicy TrustOf(const Settings& settings, bool allow_untrusted = false);
// The flag that lets an explicit REF name an untrusted backup.
inline constexpr const char* kAllowUntrustedHelp =
    "use a backup named explicitly although it is not encrypted or its manifest is not authenticated (made before "
    "encryption or signing was configured); its checksums and etcd's trailer are still checked";
// Tells what a choice of backup passed over, one "warning:" line each on stderr.
void WarnSkipped(const std::vector<std::string>& skipped);
void AddSnapshotCommand(CLI::App& app, Context& ctx);
void AddVerifyCommand(CLI::App& app, Context& ctx);

}  // namespace lifeboat::cli
