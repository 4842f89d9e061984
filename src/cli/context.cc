#include <cstdio>

#include "cli/commands.h"

namespace lifeboat::cli {

void Context::Fail(const Status& s) {
  std::fprintf(stderr, "lifeboat: %s\n", s.message().c_str());
  exit_code = s.ExitCode();
}

}  // namespace lifeboat::cli
