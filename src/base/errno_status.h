// ErrnoStatus: turns a failed system call's errno into a one-line Status that names the path,
// the reason and the usual fix. Everything that touches the local disk reports through it, so
// operators see the same wording for the same problem wherever it happens.
#pragma once

#include <string_view>

#include "base/status.h"

namespace lifeboat {

enum class Access { kRead, kWrite };

// `verb` is what we were doing to `path` ("create", "write", "read", "rename", ...).
// `access` picks the fix suggested for permission problems.
Status ErrnoStatus(int err, std::string_view verb, std::string_view path, Access access = Access::kWrite);

}  // namespace lifeboat
