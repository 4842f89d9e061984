#include "store/s3_store.h"

#include "fmt/format.h"
#include "store/s3_writer.h"

namespace lifeboat::store {

Result<std::unique_ptr<S3Store>> S3Store::Open(std::string_view url, const EnvLookup& env, S3Options options) {
  LB_ASSIGN_OR_RETURN(S3Location loc, ParseS3Url(url, env));
  LB_ASSIGN_OR_RETURN(Credentials creds, LoadCredentials(env));
  if (auto ca = env("AWS_CA_BUNDLE"); ca && !ca->empty() && options.http.ca_file.empty()) options.http.ca_file = *ca;
  return std::unique_ptr<S3Store>(new S3Store(std::make_unique<S3Client>(std::move(loc), std::move(creds), options)));
}

std::string S3Store::FullKey(std::string_view key) const {
  const std::string& prefix = client_->location().prefix;
  return prefix.empty() ? std::string(key) : prefix + "/" + std::string(key);
}

std::string S3Store::RelativeKey(std::string_view full) const {
  const std::string& prefix = client_->location().prefix;
  return prefix.empty() ? std::string(full) : std::string(full.substr(prefix.size() + 1));
}

Result<std::unique_ptr<ObjectWriter>> S3Store::Create(std::string_view key, const WriteOptions& options) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  if (options.locks() && options.lock_mode != "GOVERNANCE" && options.lock_mode != "COMPLIANCE") {
    return Status::InvalidArgument("object lock mode '" + options.lock_mode + "' is not GOVERNANCE or COMPLIANCE");
  }
  return NewS3ObjectWriter(client_.get(), FullKey(key), options);
}

Status S3Store::Read(std::string_view key, const ChunkSink& sink) { return ReadRange(key, 0, 0, sink); }

Status S3Store::ReadRange(std::string_view key, uint64_t offset, uint64_t length, const ChunkSink& sink) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  Status s = client_->GetObject(FullKey(key), offset, length, sink);
  if (s.code() == Status::Code::kNotFound && s.message().rfind("no object", 0) == 0) {
    return Status::NotFound(fmt::format("no object {} in {} (run `lifeboat list` to see what exists)", key, Describe()));
  }
  return s;
}

Result<ObjectInfo> S3Store::Stat(std::string_view key) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  auto o = client_->HeadObject(FullKey(key));
  if (!o.ok()) {
    if (o.status().code() == Status::Code::kNotFound) {
      return Status::NotFound(
          fmt::format("no object {} in {} (run `lifeboat list` to see what exists)", key, Describe()));
    }
    return o.status();
  }
  return ObjectInfo{std::string(key), o->size, o->mtime_unix, o->lock_mode, o->retain_until_unix};
}

Result<std::vector<ObjectInfo>> S3Store::List(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  // With a store prefix p, FullKey("") is "p/", which never matches a sibling like "p2/x".
  const std::string list_prefix = FullKey(prefix);
  do {
    LB_ASSIGN_OR_RETURN(S3ListPage page, client_->ListObjectsV2(list_prefix, token));
    for (auto& o : page.objects) {
      std::string key = RelativeKey(o.key);
      // Objects other tools put there with keys lifeboat cannot address are not ours to list.
      if (ValidateKey(key).ok()) out.push_back(ObjectInfo{std::move(key), o.size, o.mtime_unix, "", 0});
    }
    token = std::move(page.next_token);
  } while (!token.empty());
  return out;  // S3 lists in UTF-8 binary order, which is key order
}

Status S3Store::Delete(std::string_view key) {
  LB_RETURN_IF_ERROR(ValidateKey(key));
  // S3 answers 204 for absent keys too; the Store contract wants NotFound.
  LB_RETURN_IF_ERROR(Stat(key).status());
  return client_->DeleteObject(FullKey(key));
}

Result<std::vector<std::string>> S3Store::DeleteObjects(const std::vector<std::string>& keys) {
  std::vector<std::string> failed;
  for (size_t i = 0; i < keys.size(); i += 1000) {
    std::vector<std::string> batch;
    for (size_t j = i; j < std::min(keys.size(), i + 1000); ++j) {
      LB_RETURN_IF_ERROR(ValidateKey(keys[j]));
      batch.push_back(FullKey(keys[j]));
    }
    LB_ASSIGN_OR_RETURN(std::vector<std::string> f, client_->DeleteObjects(batch));
    for (auto& s : f) failed.push_back(RelativeKey(s.substr(0, s.find(':'))) + s.substr(s.find(':')));
  }
  return failed;
}

Result<std::vector<S3Upload>> S3Store::ListMultipartUploads() {
  const std::string& prefix = client_->location().prefix;
  LB_ASSIGN_OR_RETURN(std::vector<S3Upload> all, client_->ListMultipartUploads(prefix.empty() ? "" : prefix + "/"));
  for (auto& u : all) u.key = RelativeKey(u.key);
  return all;
}

std::string S3Store::Describe() const { return client_->location().Describe(); }

}  // namespace lifeboat::store
