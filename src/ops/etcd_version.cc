#include "ops/etcd_version.h"

#include <charconv>

namespace lifeboat::ops {
namespace {

bool ParseInt(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::optional<MajorMinor> ParseMajorMinor(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view rest = v.substr(dot + 1);
  size_t dot2 = rest.find('.');
  MajorMinor mm;
  if (!ParseInt(v.substr(0, dot), &mm.major) || !ParseInt(rest.substr(0, dot2), &mm.minor)) return std::nullopt;
  return mm;
}

Status CheckCanServe(const std::string& who, const std::string& server, const std::string& data_version,
                     const std::string& fix) {
  auto s = ParseMajorMinor(server);
  auto d = ParseMajorMinor(data_version);
  if (!s || !d || *s >= *d) return Status::OK();
  const std::string need = std::to_string(d->major) + "." + std::to_string(d->minor);
  return Status::FailedPrecondition(who + " runs etcd " + server + ", older than the backup's cluster version " +
                                    data_version + " (etcd refuses to downgrade): " +
                                    (fix.empty() ? "give it an etcd " + need + " or newer binary" : fix));
}

}  // namespace lifeboat::ops
