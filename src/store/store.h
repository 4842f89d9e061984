// Store: where backups live. An object store seen as flat keys ("a/b/c.db") holding byte streams.
// Writers are atomic: an object becomes visible (List/Read/Stat) only after Commit() succeeds;
// a writer destroyed or aborted before Commit leaves nothing behind. Keys use '/' separators,
// never start with '/', and never contain "." or ".." segments.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lifeboat::store {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_unix = 0;  // seconds since the epoch, UTC
  // S3 Object Lock, as Stat reads it (List leaves it empty): "GOVERNANCE" or "COMPLIANCE" and
  // the time before which the store refuses to delete this version; empty/0: not locked.
  std::string lock_mode;
  int64_t retain_until_unix = 0;
};

// How an object is written. Object Lock (S3 only): the store keeps the object's version
// undeletable, even by the bucket's owner (COMPLIANCE) or by anyone without
// s3:BypassGovernanceRetention (GOVERNANCE), until `retain_until_unix`.
struct WriteOptions {
  std::string lock_mode;  // "" (none), "GOVERNANCE" or "COMPLIANCE"
  int64_t retain_until_unix = 0;
  bool locks() const { return !lock_mode.empty(); }
};

class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual Status Append(std::span<const uint8_t> data) = 0;
  // Makes the object durable and visible under its key. After a failed Commit the object is absent.
  virtual Status Commit() = 0;
  // Drops everything written so far. Safe to call more than once, and after a failed Commit.
  virtual void Abort() = 0;
};

// Called with consecutive chunks of an object; a non-OK return stops the read with that Status.
using ChunkSink = std::function<Status(std::span<const uint8_t>)>;

class Store {
 public:
  virtual ~Store() = default;
  // Starts writing `key`; an existing object of that key is replaced only at Commit.
  // InvalidArgument when the store cannot honour `options` (a folder cannot lock an object).
  virtual Result<std::unique_ptr<ObjectWriter>> Create(std::string_view key, const WriteOptions& options = {}) = 0;
  // Streams the object's bytes to `sink`.
  virtual Status Read(std::string_view key, const ChunkSink& sink) = 0;
  virtual Result<ObjectInfo> Stat(std::string_view key) = 0;
  // Every committed object whose key starts with `prefix`, in key order.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;
  // Removes one object; NotFound when absent.
  virtual Status Delete(std::string_view key) = 0;
  // The store's URL with any secret removed: for logs and manifests.
  virtual std::string Describe() const = 0;
  // The object's file when the store is a folder on this host, for readers that can use it in
  // place (a committed object is never rewritten: replacing it is a rename); empty otherwise.
  virtual std::string LocalPath(std::string_view) const { return {}; }
};

// Opens a store from its URL. Supported: file:///absolute/path (the local-folder store) and
// s3://bucket/prefix?endpoint=URL&region=R&style=virtual|path (s3_store.h).
// InvalidArgument for a malformed or unsupported URL.
Result<std::unique_ptr<Store>> OpenStore(std::string_view url);

// Checks a key against the rules above.
Status ValidateKey(std::string_view key);

}  // namespace lifeboat::store
