#include "harness/cluster_data.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "harness/process.h"

namespace lifeboat::harness {

namespace fs = std::filesystem;

KV ParseGet(const std::string& etcdctl_out) {
  KV out;
  std::istringstream in(etcdctl_out);
  std::string k, v;
  while (std::getline(in, k) && std::getline(in, v)) out[k] = v;
  return out;
}

KV ReadAll(const std::string& endpoint) {
  auto r = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", endpoint, "--consistency=s", "get", "", "--prefix"});
  EXPECT_TRUE(r.ok()) << r.err;
  return ParseGet(r.out);
}

std::unique_ptr<etcd::Client> ClientTo(const std::string& endpoint) {
  etcd::ClientOptions o;
  o.endpoints = {endpoint};
  auto c = etcd::Client::Connect(endpoint, o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

void Load(const std::string& endpoint, int n, const std::string& tag) {
  auto c = ClientTo(endpoint);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "k/%04d", i);
    ASSERT_TRUE(c->Put(key, tag + "-value-" + std::to_string(i)).ok());
  }
  for (int i = 0; i < n; i += 7) {
    char key[32];
    std::snprintf(key, sizeof key, "k/%04d", i);
    auto r = harness::Run({harness::EtcdTool("", "etcdctl"), "--endpoints", endpoint, "del", key});
    ASSERT_TRUE(r.ok()) << r.err;
  }
}

Watched WatchFrom(const std::string& endpoint, const std::string& prefix, int64_t from, int64_t until) {
  Watched w;
  auto c = ClientTo(endpoint);
  if (c == nullptr) {
    w.status = Status::Unavailable("no client to " + endpoint);
    return w;
  }
  std::string end = prefix;
  end.back() = static_cast<char>(end.back() + 1);
  int idle = 0;
  etcd::WatchOptions o;
  o.progress_every = std::chrono::milliseconds(200);
  w.status = c->Watch(prefix, end, from, o,
                      [&](const etcd::WatchBatch& b) -> Result<bool> {
                        for (const auto& e : b.events) w.events.push_back(e);
                        idle = b.events.empty() ? idle + 1 : 0;
                        bool reached = !w.events.empty() && w.events.back().kv.mod_revision >= until;
                        return !reached && idle < 15;
                      });
  return w;
}

std::vector<std::string> AsideDirs(const std::string& data_dir) {
  std::vector<std::string> out;
  fs::path p(data_dir);
  for (const auto& e : fs::directory_iterator(p.parent_path())) {
    std::string n = e.path().filename().string();
    if (n.rfind(p.filename().string() + ".lifeboat-", 0) == 0 && n.find("staging") == std::string::npos) {
      if (fs::exists(e.path() / "member" / "wal")) out.push_back(e.path().string());
    }
  }
  return out;
}

}  // namespace lifeboat::harness
