// FirstAnswering: for a call any member can serve (the member list, a status, a linearizable
// read or write), the endpoints are tried in turn and the first that answers serves it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "etcd/client.h"
#include "etcd/options.h"

namespace lifeboat::etcd {

struct Answering {
  std::unique_ptr<Client> client;  // connected; `ask` succeeded on it
  size_t index = 0;                // its position in the endpoints
};

// Connects to each of `endpoints` in turn with `options` (their timeouts bound each try),
// starting at position `first` and wrapping around, and calls `ask` on the connection. Returns
// the first endpoint whose connection and `ask` both succeed, its client still open; the
// endpoints after it are not tried. When none answers: the last endpoint's error (from its
// connection or its `ask`), or Unavailable "no endpoints" when there are none.
Result<Answering> FirstAnswering(const std::vector<std::string>& endpoints, const ClientOptions& options,
                                 const std::function<Status(Client&)>& ask, size_t first = 0);

}  // namespace lifeboat::etcd
