// tests/harness/http_fault_proxy.py in front of radosgw (see its docstring for the faults),
// started for one test and killed on destruction.
#pragma once

#include <sys/types.h>

#include <string>

#include "harness/s3_server.h"

namespace lifeboat::harness {

class HttpFaultProxy {
 public:
  // `fault` as the script takes it ("status:503:3", "slow:2:1500", ...); its files go in `dir`.
  HttpFaultProxy(const S3Server& s3, const std::string& fault, const std::string& dir);
  ~HttpFaultProxy();
  HttpFaultProxy(const HttpFaultProxy&) = delete;
  HttpFaultProxy& operator=(const HttpFaultProxy&) = delete;

  // The store URL of `bucket` through this proxy.
  std::string Url(const std::string& bucket) const { return "s3://" + bucket + "?endpoint=" + endpoint_; }
  // How many faults it injected, and the status line of every response it relayed.
  int faults() const;
  std::string log() const;

 private:
  std::string port_file_, endpoint_;
  pid_t pid_ = -1;
};

}  // namespace lifeboat::harness
