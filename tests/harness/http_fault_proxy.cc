#include "harness/http_fault_proxy.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include "harness/process.h"
#include "harness/store_probe.h"

namespace lifeboat::harness {

HttpFaultProxy::HttpFaultProxy(const S3Server& s3, const std::string& fault, const std::string& dir)
    : port_file_(dir + "/proxy.port") {
  std::string target = s3.endpoint().substr(s3.endpoint().find("//") + 2);
  pid_ = Spawn({"python3", LB_SOURCE_DIR "/tests/harness/http_fault_proxy.py", target, fault, port_file_},
               dir + "/proxy.out", dir + "/proxy.err");
  EXPECT_TRUE(PollUntil(std::chrono::seconds(10), [&] { return std::filesystem::exists(port_file_); }));
  endpoint_ = "http://127.0.0.1:" + ReadFile(port_file_);
}

HttpFaultProxy::~HttpFaultProxy() {
  kill(pid_, SIGKILL);
  Wait(pid_, std::chrono::seconds(10));
}

int HttpFaultProxy::faults() const { return std::atoi(ReadFile(port_file_ + ".faults").c_str()); }

std::string HttpFaultProxy::log() const { return ReadFile(port_file_ + ".log"); }

}  // namespace lifeboat::harness
