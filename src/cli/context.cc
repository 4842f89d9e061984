#include <cstdio>

#include "cli/commands.h"

namespace lifeboat::cli {

std::string TierFolder(const Settings& settings, const std::string& name) {
  const catalog::Tier* t = catalog::FindTier(settings.tiers, name);
  return t ? t->folder : name;
}

catalog::TrustPolicy TrustOf(const Settings& settings, bool allow_untrusted) {
  return catalog::TrustPolicy{settings.auth_keys.get(), settings.keys != nullptr, allow_untrusted};
}

void WarnSkipped(const std::vector<std::string>& skipped) {
  for (const auto& s : skipped) std::fprintf(stderr, "lifeboat: warning: skipped untrusted backup %s\n", s.c_str());
}

void Context::Fail(const Status& s) {
  std::fprintf(stderr, "lifeboat: %s\n", s.message().c_str());
  exit_code = s.ExitCode();
}

}  // namespace lifeboat::cli
