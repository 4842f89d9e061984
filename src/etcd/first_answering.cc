#include "etcd/first_answering.h"

namespace lifeboat::etcd {

Result<Answering> FirstAnswering(const std::vector<std::string>& endpoints, const ClientOptions& options,
                                 const std::function<Status(Client&)>& ask, size_t first) {
  Status last = Status::Unavailable("no endpoints");
  const size_t n = endpoints.size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (first + k) % n;
    auto c = Client::Connect(endpoints[i], options);
    if (!c.ok()) {
      last = c.status();
      continue;
    }
    last = ask(**c);
    if (last.ok()) return Answering{std::move(*c), i};
  }
  return last;
}

}  // namespace lifeboat::etcd
