// S3Client: the S3 REST operations lifeboat needs, signed with SigV4, against one bucket.
// Thread-safe: each call borrows a keep-alive connection from a small pool. Failures are retried
// with exponential backoff and full jitter when a retry can help (5xx, 429, RequestTimeout,
// timeouts, resets, refused connections); other 4xx fail at once with a one-line Status that
// names the bucket, key, access key id (never the secret) and the fix.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/credentials.h"
#include "store/http_client.h"
#include "store/s3_location.h"
#include "store/sigv4.h"
#include "store/store.h"

namespace lifeboat::store {

struct S3Options {
  int max_attempts = 5;                            // per request, the first try included
  std::chrono::milliseconds backoff_base{200};     // doubled after every failed attempt...
  std::chrono::milliseconds backoff_cap{5000};     // ...up to this; the sleep is uniform in [0, that]
  size_t part_size = 8 << 20;                      // multipart part size (S3: 5 MiB .. 5 GiB)
  int max_parts_in_flight = 4;                     // memory bound: (this + 1) * part_size
  int list_page_size = 1000;                       // max-keys of one ListObjectsV2 request
  HttpOptions http;
};

struct S3Object {
  std::string key;  // full key in the bucket
  uint64_t size = 0;
  int64_t mtime_unix = 0;
  std::string etag;
  std::string lock_mode;          // HEAD only: x-amz-object-lock-mode
  int64_t retain_until_unix = 0;  // HEAD only: x-amz-object-lock-retain-until-date
};

struct S3ListPage {
  std::vector<S3Object> objects;
  std::string next_token;  // "" on the last page
};

struct S3Upload {
  std::string key;
  std::string upload_id;
};

class S3Client {
 public:
  S3Client(S3Location location, Credentials credentials, S3Options options);
  ~S3Client();

  const S3Location& location() const { return location_; }
  const S3Options& options() const { return options_; }
  const std::string& access_key_id() const { return credentials_.access_key_id; }

  // With a lock in `options`, the object is written under S3 Object Lock (with the Content-MD5
  // S3 demands then).
  Status PutObject(std::string_view key, std::span<const uint8_t> body, const WriteOptions& options = {});
  // `length` 0 means to the end. A dropped connection resumes where it stopped (If-Match on the
  // first reply's ETag, so a replaced object is never spliced into the old one's bytes).
  Status GetObject(std::string_view key, uint64_t offset, uint64_t length, const BodySink& sink);
  Result<S3Object> HeadObject(std::string_view key);
  Result<S3ListPage> ListObjectsV2(std::string_view prefix, std::string_view continuation_token);
  Status DeleteObject(std::string_view key);
  // Deletes up to 1000 keys in one request; the keys that could not be deleted, with reasons.
  Result<std::vector<std::string>> DeleteObjects(const std::vector<std::string>& keys);

  // A lock in `options` applies to the object the upload completes.
  Result<std::string> CreateMultipartUpload(std::string_view key, const WriteOptions& options = {});
  // Returns the part's ETag. `cancel` (may be null) ends the transfer early. `md5`: send
  // Content-MD5 (S3 demands it for the parts of a locked object).
  Result<std::string> UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                 std::span<const uint8_t> data, const std::atomic<bool>* cancel, bool md5 = false);
  Status CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                 const std::vector<std::string>& etags);
  Status AbortMultipartUpload(std::string_view key, std::string_view upload_id);
  // PutObjectRetention: the lock of `options` on the object's current version.
  Status PutObjectRetention(std::string_view key, const WriteOptions& options);
  Result<std::vector<S3Upload>> ListMultipartUploads(std::string_view prefix);

  // The bucket's lifecycle configuration as S3's XML document; NotFound when it has none.
  Result<std::string> GetBucketLifecycleConfiguration();
  Status PutBucketLifecycleConfiguration(std::string_view xml);
  // For tests and set-up scripts; succeeds when the bucket already exists and is ours.
  // `object_lock`: the bucket is created with Object Lock enabled (and so versioned).
  Status CreateBucket(bool object_lock = false);

 private:
  struct Call;
  struct Resume;
  // One S3 call with its retries: sign, send, classify the reply, back off, resume a broken GET.
  Result<HttpResponse> Execute(const Call& call);
  SigV4Request SignedRequest(const Call& call, const std::string& path, const std::string& payload_sha256,
                             const Resume& resume) const;
  Status TransportError(const Call& call, const HttpResponse& r, bool* retry) const;
  bool LearnServerClock(const HttpResponse& r);
  Status Backoff(const Call& call, int attempt) const;
  Status ErrorStatus(const Call& call, const HttpResponse& r, std::string_view code, std::string_view message) const;
  std::unique_ptr<HttpClient> Acquire();
  void Release(std::unique_ptr<HttpClient> http);

  const S3Location location_;
  const Credentials credentials_;
  const S3Options options_;
  // Seconds to add to the local clock when signing; learnt from a RequestTimeTooSkewed reply.
  std::atomic<int64_t> clock_offset_s_{0};
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<HttpClient>> pool_;  // idle connections
};

}  // namespace lifeboat::store
