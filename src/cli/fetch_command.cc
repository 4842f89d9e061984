// lifeboat fetch REF -o FILE: copy a backup out of the store, verified against its manifest and
// etcd's own trailer, written atomically (a failed fetch leaves no FILE behind).
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/printer.h"
#include "cli/progress.h"
#include "store/store.h"

namespace lifeboat::cli {
namespace {

struct FetchArgs {
  std::string ref, output, tier;
  bool force = false, allow_untrusted = false;
};

void RunFetch(Context& ctx, const FetchArgs& a) {
  auto settings = Resolve(ctx.flags);
  if (!settings.ok()) return ctx.Fail(settings.status());
  std::error_code ec;
  if (!a.force && std::filesystem::exists(a.output, ec)) {
    return ctx.Fail(Status::InvalidArgument(a.output + " already exists (choose another -o, or pass --force)"));
  }
  auto store = store::OpenStore(settings->store);
  if (!store.ok()) return ctx.Fail(store.status());
  auto sel = catalog::ResolveBackup(**store, settings->prefix, a.tier.empty() ? "" : TierFolder(*settings, a.tier), a.ref,
                                    TrustOf(*settings, a.allow_untrusted));
  if (!sel.ok()) return ctx.Fail(sel.status());
  WarnSkipped(sel->skipped);
  const auto& entry = sel->entry;
  Progress progress("fetch");
  Status st = catalog::FetchToFile(**store, entry->manifest, a.output, settings->keys.get(),
                                   [&](uint64_t done) { progress.Update(done, entry->manifest.size); });
  progress.Finish();
  if (!st.ok()) {
    return ctx.Fail(st.Annotate("fetch of " + entry->manifest.object_key + " failed, " + a.output + " not written"));
  }
  std::cout << "fetched " << entry->manifest.object_key << " -> " << a.output << " (" << HumanBytes(entry->manifest.size)
            << ", revision " << entry->manifest.revision << ", sha256 " << entry->manifest.sha256 << " verified)\n";
}

}  // namespace

void AddFetchCommand(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<FetchArgs>();
  auto* cmd = app.add_subcommand("fetch", "copy a backup out of the store, verifying its checksums");
  cmd->add_option("ref", a->ref, "latest (the newest trusted), an object key, or a backup file name")->required();
  cmd->add_option("-o,--output", a->output, "file to write")->required();
  cmd->add_option("--tier", a->tier, "with latest: the newest of this tier");
  cmd->add_flag("--force", a->force, "overwrite an existing output file");
  cmd->add_flag("--allow-unencrypted", a->allow_untrusted, kAllowUntrustedHelp);
  cmd->callback([&ctx, a] { RunFetch(ctx, *a); });
}

}  // namespace lifeboat::cli
