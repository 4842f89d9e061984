// The revision-bump flags shared by `snapshot restore`, `restore-cluster` and `drill`: etcdutl's
// --bump-revision N --mark-compacted (both or neither, same meaning), and restore-cluster's
// --kubernetes preset. After a restore to an older state, a kube-apiserver's watch cache would
// see revisions go backwards and events it already had come again under new meanings; a bump
// above every revision it saw, marked compacted, makes each watcher get "compacted" and re-list.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace CLI {
class App;
}

namespace lifeboat::cli {

// What OpenShift and HyperShift bump by when they restore a cluster's etcd.
inline constexpr uint64_t kKubernetesRevisionBump = 1000000000;

struct RevisionBump {
  uint64_t amount = 0;
  bool mark_compacted = false;
};

class RevisionBumpFlags {
 public:
  // kubernetes: also --kubernetes (the preset).
  void AddTo(CLI::App& cmd, bool kubernetes = false);
  // InvalidArgument (exit 2): one of etcdutl's pair without the other, or --kubernetes with either.
  Result<RevisionBump> Parse() const;

 private:
  uint64_t amount_ = 0;
  bool mark_compacted_ = false, kubernetes_ = false;
};

}  // namespace lifeboat::cli
