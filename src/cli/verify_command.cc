// lifeboat verify FILE|REF: is this snapshot intact? SHA-256 trailer, every page of the bbolt
// tree, etcd's records, and (for a backup in the store) its manifest's checksums and revision.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "catalog/local_object.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "fmt/format.h"
#include "snapshot/snapshot.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct VerifyArgs {
  std::string ref, tier;
  bool allow_no_trailer = false, allow_untrusted = false;
};

// The snapshot file of a store backup, its bytes proven against the manifest on the way. A plain
// object in a local-folder store is checked in place (catalog/local_object.h), so no copy (as
// large as the db) is written. Anything else is copied into a file readable by this user only,
// in a private dir (`dir`) that goes on every exit path (base/temp_dir.h).
Result<std::string> BackupFile(store::Store& store, const catalog::Manifest& m, const codec::KeyRing* keys,
                               std::unique_ptr<TempDir>* dir) {
  auto local = catalog::CheckedLocalObject(store, m);
  if (!local.ok() && local.status().code() == Status::Code::kCorruption) {
    return Status::Corruption(
        fmt::format("backup {} is corrupt: {} (fetch another backup)", m.object_key, local.status().message()));
  }
  if (!local.ok()) return local.status();
  if (!local->empty()) return *local;
  LB_ASSIGN_OR_RETURN(*dir, TempDir::Create("", "lifeboat-verify-"));
  const std::string path = (*dir)->path() + "/snapshot.db";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  Status st = catalog::CopyVerified(store, m, [&](std::span<const uint8_t> chunk) {
    for (size_t done = 0; done < chunk.size();) {
      ssize_t n = write(fd, chunk.data() + done, chunk.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }, keys);
  close(fd);
  if (!st.ok()) return st;
  return path;
}

void RunVerify(Context& ctx, const VerifyArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  snapshot::VerifyOptions opts;
  opts.allow_no_trailer = a.allow_no_trailer;
  std::string path = a.ref, what = a.ref;
  std::unique_ptr<TempDir> temp_dir;  // holds a store backup's copy until the check is done
  std::error_code ec;
  if (!std::filesystem::is_regular_file(a.ref, ec)) {
    // Not a local file: a backup reference in the store.
    auto store = store::OpenStore(settings->store);
    if (!store.ok()) return ctx.Fail(store.status());
    auto sel = catalog::ResolveBackup(**store, settings->prefix, a.tier, a.ref, TrustOf(*settings, a.allow_untrusted));
    if (!sel.ok()) {
      if (sel.status().code() != Status::Code::kNotFound) return ctx.Fail(sel.status());
      return ctx.Fail(
          sel.status().Annotate(fmt::format("{} is neither a file nor a backup in {}", a.ref, settings->store)));
    }
    WarnSkipped(sel->skipped);
    const auto& entry = sel->entry;
    auto file = BackupFile(**store, entry->manifest, settings->keys.get(), &temp_dir);
    if (!file.ok()) return ctx.Fail(file.status().Annotate("verify of " + entry->manifest.object_key));
    path = *file;
    what = entry->manifest.object_key;
    opts.manifest_revision = entry->manifest.revision;
    opts.manifest_db_sha256 = entry->manifest.db_sha256;
    if (const auto& h = entry->manifest.source_hashkv) {
      opts.source_hashkv = snapshot::ExpectedKvHash{h->revision, h->hash, h->compact_revision};
    }
  }
  snapshot::VerifyReport report;
  Status st = snapshot::VerifySnapshotFile(path, opts, &report);
  if (settings->write_out == "json") {
    nlohmann::ordered_json j;
    j["file"] = what;
    j["ok"] = st.ok();
    if (!st.ok()) j["error"] = st.message();
    j["trailerChecked"] = report.trailer_checked;
    j["revision"] = report.status.current_revision;
    j["totalKey"] = report.status.total_keys;
    j["liveKeys"] = report.status.live_keys;
    if (opts.manifest_revision) j["manifestRevision"] = *opts.manifest_revision;
    j["sourceHashKVChecked"] = report.hashkv_checked;
    std::cout << j.dump() << "\n";
    if (!st.ok()) ctx.exit_code = st.ExitCode();
    return;
  }
  if (!st.ok()) return ctx.Fail(st.Annotate("verify " + what + " FAILED"));
  std::cout << fmt::format("{}: OK ({}{} pages checked, revision {}{}, {} live keys, hash {:x}{})\n", what,
                           report.trailer_checked ? "SHA-256 trailer matches, " : "no trailer, ",
                           report.status.pages_reachable, report.status.current_revision,
                           opts.manifest_revision ? fmt::format(" (manifest {})", *opts.manifest_revision) : "",
                           report.status.live_keys, report.status.hash,
                           report.hashkv_checked ? fmt::format(", HashKV at revision {} equal to the cluster's",
                                                               opts.source_hashkv->revision)
                                                 : "");
}

}  // namespace

void AddVerifyCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand("verify",
                                 "check a snapshot file or a stored backup: SHA-256, every bbolt page, "
                                 "the manifest's revision");
  cmd->add_option("ref", a->ref, "a snapshot file, or a backup in the store (latest, object key, file name)")
      ->required();
  cmd->add_option("--tier", a->tier, "with latest: the newest of this tier");
  cmd->add_flag("--allow-no-trailer", a->allow_no_trailer, "accept a bbolt file without etcd's SHA-256 trailer");
  cmd->add_flag("--allow-unencrypted", a->allow_untrusted, kAllowUntrustedHelp);
  cmd->callback([&ctx, a] { RunVerify(ctx, *a); });
}

}  // namespace lifeboat::cli
