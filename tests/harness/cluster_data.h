// What a test reads back from a real cluster and its hosts: every key a member holds, a known
// load of keys, and the data dirs a recovery moved aside.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "etcd/client.h"

namespace lifeboat::harness {

using KV = std::map<std::string, std::string>;

// The keys and values of `etcdctl get` output (key line, value line, ...).
KV ParseGet(const std::string& etcdctl_out);
// Every key and value as member `endpoint` itself holds them (serializable read).
KV ReadAll(const std::string& endpoint);
// A client on one member; null (and a test failure) when it cannot connect.
std::unique_ptr<etcd::Client> ClientTo(const std::string& endpoint);
// Puts n keys "k/0000".."k/n-1" and deletes every seventh, so revision and key count differ.
void Load(const std::string& endpoint, int n, const std::string& tag);
// A real etcd watch on `prefix` from revision `from`, as a kube-apiserver's watch cache keeps
// one: the events until one at `until` or later arrived (or none came for 3 s: an idle stream
// reports progress every 200 ms). The status is etcd's answer: FailedPrecondition "compacted at
// C" when `from` lies below the compaction.
struct Watched {
  Status status;
  std::vector<etcd::WatchEvent> events;
};
Watched WatchFrom(const std::string& endpoint, const std::string& prefix, int64_t from, int64_t until);

// Data dirs moved aside for member dir `data_dir`: "<data_dir>.lifeboat-*" holding a member/ dir.
std::vector<std::string> AsideDirs(const std::string& data_dir);

}  // namespace lifeboat::harness
