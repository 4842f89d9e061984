#include <cstdio>

#include "cli/commands.h"

namespace lifeboat::cli {

std::string TierFolder(const Settings& settings, const std::string& name) {
  const catalog::Tier* t = catalog::FindTier(settings.tiers, name);
  return t ? t->folder : name;
}

void Context::Fail(const Status& s) {
  std::fprintf(stderr, "lifeboat: %s\n", s.message().c_str());
  exit_code = s.ExitCode();
}

}  // namespace lifeboat::cli
