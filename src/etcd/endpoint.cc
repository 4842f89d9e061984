#include "etcd/endpoint.h"

#include <cctype>

namespace lifeboat::etcd {

Result<Endpoint> ParseEndpoint(std::string_view text, bool default_tls) {
  std::string_view rest = text;
  Endpoint ep;
  ep.tls = default_tls;
  if (auto pos = rest.find("://"); pos != std::string_view::npos) {
    std::string_view scheme = rest.substr(0, pos);
    if (scheme == "https" || scheme == "unixs") {
      ep.tls = true;
    } else if (scheme == "http" || scheme == "unix") {
      ep.tls = false;
    } else {
      return Status::InvalidArgument("endpoint '" + std::string(text) +
                                     "' has an unknown scheme (use http://HOST:PORT or https://HOST:PORT)");
    }
    rest = rest.substr(pos + 3);
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  bool port_ok = colon != std::string_view::npos && colon + 1 < rest.size() && colon > 0;
  for (size_t i = colon + 1; port_ok && i < rest.size(); ++i) {
    port_ok = std::isdigit(static_cast<unsigned char>(rest[i])) != 0;
  }
  if (!port_ok || rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("endpoint '" + std::string(text) +
                                   "' is not HOST:PORT (write it like https://127.0.0.1:2379)");
  }
  ep.target = std::string(rest);
  ep.url = std::string(ep.tls ? "https://" : "http://") + ep.target;
  return ep;
}

}  // namespace lifeboat::etcd
