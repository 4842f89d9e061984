// lifeboat: keeps etcd clusters recoverable. See README.md.
#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "base/temp_dir.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  // A write past RLIMIT_FSIZE must fail with EFBIG (reported as a full disk), not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  // Throwaway copies (decrypted snapshots) go with the process on SIGINT/SIGTERM/SIGHUP too.
  lifeboat::InstallTempDirCleanup();

  CLI::App app{"lifeboat: backups, consistency checks and recovery for etcd clusters"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand, as with etcdctl
  app.set_version_flag("--version", std::string("lifeboat ") + LIFEBOAT_VERSION + " (commit " + LIFEBOAT_GIT_COMMIT + ")");
  lifeboat::cli::Context ctx;
  lifeboat::cli::AddGlobalFlags(app, ctx.flags);
  lifeboat::cli::AddStatusCommand(app, ctx);
  lifeboat::cli::AddCheckCommand(app, ctx);
  lifeboat::cli::AddBackupCommand(app, ctx);
  lifeboat::cli::AddListCommand(app, ctx);
  lifeboat::cli::AddFetchCommand(app, ctx);
  lifeboat::cli::AddPruneCommand(app, ctx);
  lifeboat::cli::AddDaemonCommand(app, ctx);
  lifeboat::cli::AddLifecycleCommand(app, ctx);
  lifeboat::cli::AddAgentCommand(app, ctx);
  lifeboat::cli::AddRestoreClusterCommand(app, ctx);
  lifeboat::cli::AddRecoverMemberCommand(app, ctx);
  lifeboat::cli::AddDrillCommand(app, ctx);
  lifeboat::cli::AddChangeLogCommand(app, ctx);
  lifeboat::cli::AddSnapshotCommand(app, ctx);
  lifeboat::cli::AddVerifyCommand(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Without a subcommand CLI11 reports the missing subcommand first; an unknown flag or
    // subcommand is the mistake to name.
    std::string what = e.what();
    if (const auto rest = app.remaining(); app.get_subcommands().empty() && !rest.empty()) {
      const std::string& first = rest.front();
      what = (first.starts_with("-") ? "unknown flag " : "unknown command ") + first;
    }
    std::fprintf(stderr, "lifeboat: %s (see lifeboat --help)\n", what.c_str());
    return 2;
  }
  return ctx.exit_code;
}
