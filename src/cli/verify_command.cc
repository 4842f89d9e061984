// lifeboat verify FILE|REF: is this snapshot intact? SHA-256 trailer, every page of the bbolt
// tree, etcd's records, and (for a backup in the store) its manifest's checksums and revision.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "catalog/catalog.h"
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

// A store backup is copied (verified against its manifest on the way) into a private temp file
// and checked there; the file is removed afterwards whatever happens.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) unlink(path.c_str());
  }
};

void RunVerify(Context& ctx, const VerifyArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  snapshot::VerifyOptions opts;
  opts.allow_no_trailer = a.allow_no_trailer;
  std::string path = a.ref, what = a.ref;
  TempFile temp;
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
    // A plain object in a local-folder store is checked in place: its bytes are proven against
    // the manifest first, and the file check below compares the db's SHA-256 with the manifest
    // again, so no copy (as large as the db) is written.
    const std::string local = (*store)->LocalPath(entry->manifest.object_key);
    const bool in_place = !local.empty() && catalog::EncodingOf(entry->manifest).plain();
    const char* tmpdir = getenv("TMPDIR");
    std::string tmpl = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/lifeboat-verify-XXXXXX";
    int fd = in_place ? -1 : mkstemp(tmpl.data());
    if (!in_place && fd < 0) return ctx.Fail(Status::IOError("cannot create a temp file in " + tmpl));
    if (!in_place) temp.path = tmpl;
    Status st = catalog::CopyVerified(**store, entry->manifest, [&](std::span<const uint8_t> chunk) {
      if (in_place) return Status::OK();
      size_t done = 0;
      while (done < chunk.size()) {
        ssize_t n = write(fd, chunk.data() + done, chunk.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          return Status::IOError(fmt::format("cannot write {}: {}", tmpl, std::strerror(errno)));
        }
        done += static_cast<size_t>(n);
      }
      return Status::OK();
    }, settings->keys.get());
    if (fd >= 0) close(fd);
    if (!st.ok()) return ctx.Fail(st.Annotate("verify of " + entry->manifest.object_key));
    path = in_place ? local : temp.path;
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
                           report.hashkv_checked ? fmt::format(", HashKV at revision {} equal to the source member's",
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
