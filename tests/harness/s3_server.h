// A real S3 server (Ceph radosgw, one monitor, one OSD) on 127.0.0.1 for integration tests,
// driven through scripts/s3-server and described by its DIR/s3.env. Starting one takes ~7 s, so
// a test binary run shares one (Shared()) and stops it at exit; each test uses its own bucket.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "harness/process.h"
#include "store/s3_store.h"

namespace lifeboat::harness {

class S3Server {
 public:
  // Starts a server in a fresh /tmp/lb-s3-XXXXXX; on failure fails the current test and
  // returns null.
  static std::unique_ptr<S3Server> Start();
  // The server shared by every test of this process, started on first use; null on failure.
  static S3Server* Shared();

  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  const std::string& dir() const { return dir_; }
  std::string endpoint() const { return Var("ENDPOINT"); }
  std::string access_key() const { return Var("ACCESS_KEY"); }
  std::string secret_key() const { return Var("SECRET_KEY"); }
  std::string region() const { return Var("REGION"); }
  std::string Var(const std::string& key) const;

  // s3://bucket[/prefix]?endpoint=... for this server.
  std::string Url(const std::string& bucket, const std::string& prefix = "") const;
  // AWS_* variables that make lifeboat (or the aws CLI) use this server's user; secret can be
  // overridden to test a wrong one.
  std::map<std::string, std::string> Env(const std::string& secret = "") const;
  // Opens the store with this server's credentials (fails the test on error).
  std::unique_ptr<store::S3Store> Open(const std::string& bucket, const std::string& prefix = "",
                                       store::S3Options options = {}) const;
  // The same for any store URL (another endpoint spelling, style=...).
  std::unique_ptr<store::S3Store> OpenUrl(const std::string& url, store::S3Options options = {}) const;
  // Creates the bucket (idempotent); false (and a test failure) on error. `object_lock`: with
  // S3 Object Lock enabled (x-amz-bucket-object-lock-enabled), so versioned.
  bool CreateBucket(const std::string& bucket, bool object_lock = false) const;

  // SIGKILLs radosgw only (monitor and OSD keep running); Restart() brings it back.
  bool KillGateway();
  bool Restart();
  // radosgw-admin with this server's ceph.conf.
  ProcResult Admin(const std::vector<std::string>& args) const;
  void Stop();

 private:
  S3Server() = default;
  bool LoadEnv();

  std::string dir_;
  std::map<std::string, std::string> env_;
};

}  // namespace lifeboat::harness
