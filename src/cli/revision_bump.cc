#include "cli/revision_bump.h"

#include <CLI/CLI.hpp>

#include "snapshot/restore.h"

namespace lifeboat::cli {

void RevisionBumpFlags::AddTo(CLI::App& cmd, bool kubernetes) {
  cmd.add_option("--bump-revision", amount_,
                 "raise the restored revision by N above the latest, as etcdutl (needs --mark-compacted)");
  cmd.add_flag("--mark-compacted", mark_compacted_,
               "mark the bumped revision compacted, so watchers of older revisions get 'compacted' and re-list");
  if (kubernetes) {
    cmd.add_flag("--kubernetes", kubernetes_,
                 "the restore Kubernetes survives: --bump-revision 1000000000 --mark-compacted (as OpenShift does)");
  }
}

Result<RevisionBump> RevisionBumpFlags::Parse() const {
  if (kubernetes_) {
    if (amount_ > 0 || mark_compacted_) {
      return Status::InvalidArgument(
          "--kubernetes already means --bump-revision 1000000000 --mark-compacted: give it alone, or those two");
    }
    return RevisionBump{kKubernetesRevisionBump, true};
  }
  LB_RETURN_IF_ERROR(snapshot::CheckBumpFlags(amount_, mark_compacted_));
  return RevisionBump{amount_, mark_compacted_};
}

}  // namespace lifeboat::cli
