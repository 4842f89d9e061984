// S3Store: a Store in an S3 bucket (AWS S3, Huawei OBS, Google Cloud Storage's XML API, Ceph
// RGW), opened from s3://bucket/prefix?endpoint=URL&region=R&style=virtual|path (s3_location.h).
// Store key K is the object "<prefix>/K". Writers stream multipart uploads (s3_writer.h).
// Credentials: credentials.h. Retries and error wording: s3_client.h. docs/object-stores.md.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/credentials.h"
#include "store/s3_client.h"
#include "store/store.h"

namespace lifeboat::store {

class S3Store : public Store {
 public:
  // Parses the URL and finds credentials; nothing is sent until the first operation.
  static Result<std::unique_ptr<S3Store>> Open(std::string_view url, const EnvLookup& env = ProcessEnv(),
                                               S3Options options = {});

  Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, const WriteOptions& options = {}) override;
  Status Read(std::string_view key, const ChunkSink& sink) override;
  Result<ObjectInfo> Stat(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  std::string Describe() const override;

  // `length` bytes from `offset` (length 0: to the end).
  Status ReadRange(std::string_view key, uint64_t offset, uint64_t length, const ChunkSink& sink);
  // Deletes many objects, 1000 per request; "<key>: <why>" for each one that failed.
  Result<std::vector<std::string>> DeleteObjects(const std::vector<std::string>& keys);
  // Unfinished multipart uploads under the store's prefix (keys relative to it).
  Result<std::vector<S3Upload>> ListMultipartUploads();
  // Lifecycle rules are per bucket, so their prefixes are full bucket keys, not store keys.
  Result<std::string> GetBucketLifecycleConfiguration() { return client_->GetBucketLifecycleConfiguration(); }
  Status PutBucketLifecycleConfiguration(std::string_view xml) { return client_->PutBucketLifecycleConfiguration(xml); }

  S3Client& client() { return *client_; }
  // The bucket key of store key `key`.
  std::string FullKey(std::string_view key) const;

 private:
  explicit S3Store(std::unique_ptr<S3Client> client) : client_(std::move(client)) {}
  std::string RelativeKey(std::string_view full) const;

  std::unique_ptr<S3Client> client_;
};

}  // namespace lifeboat::store
