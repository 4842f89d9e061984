// tests/harness/fault_proxy.py in front of one etcd member: every connection through it gets
// one fault once `after` bytes went from the member to the client (`flip`, `cut`, `stall`), or
// its first bytes held `after` ms (`delay`). Killed on destruction.
#pragma once

#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include "harness/process.h"

namespace lifeboat::harness {

class FaultProxy {
 public:
  FaultProxy(const std::string& target_url, const std::string& mode, long long after, const std::string& dir) {
    std::string target = target_url.substr(target_url.find("://") + 3);
    std::string port_file = dir + "/proxy-" + mode + ".port";
    pid_ = Spawn({"python3", LB_SOURCE_DIR "/tests/harness/fault_proxy.py", target, mode, std::to_string(after),
                  port_file},
                 dir + "/proxy.out", dir + "/proxy.err");
    std::string port;
    PollUntil(std::chrono::seconds(10), [&] {
      std::ifstream in(port_file);
      return static_cast<bool>(in >> port);
    });
    url_ = "http://127.0.0.1:" + port;
  }
  ~FaultProxy() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait(pid_, std::chrono::seconds(10));
    }
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  // The client URL of the member through this proxy.
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace lifeboat::harness
