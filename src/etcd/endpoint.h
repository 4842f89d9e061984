// An etcd client endpoint as operators write it ("https://10.0.0.1:2379", "127.0.0.1:2379").
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace lifeboat::etcd {

struct Endpoint {
  std::string url;     // normalised: scheme://host:port
  std::string target;  // what gRPC dials: host:port
  bool tls = false;
};

// `default_tls` applies when the endpoint has no scheme (TLS files were given).
Result<Endpoint> ParseEndpoint(std::string_view text, bool default_tls);

}  // namespace lifeboat::etcd
