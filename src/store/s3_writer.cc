#include "store/s3_writer.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "fmt/format.h"

namespace lifeboat::store {

namespace {

constexpr int kMaxParts = 10000;  // S3's limit per upload

class S3ObjectWriter : public ObjectWriter {
 public:
  S3ObjectWriter(S3Client* client, std::string key, WriteOptions options)
      : client_(client), key_(std::move(key)), options_(std::move(options)), part_size_(client->options().part_size),
        max_in_flight_(std::max(1, client->options().max_parts_in_flight)) {}

  ~S3ObjectWriter() override {
    if (!committed_) Abort();
  }

  Status Append(std::span<const uint8_t> data) override {
    if (done_) return Status::FailedPrecondition("append after commit or abort");
    while (!data.empty()) {
      if (current_.capacity() < part_size_) current_.reserve(part_size_);
      const size_t n = std::min(data.size(), part_size_ - current_.size());
      current_.insert(current_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
      data = data.subspan(n);
      if (current_.size() == part_size_) {
        Status s = Submit();
        if (!s.ok()) {
          Abort();
          return s;
        }
      }
    }
    return FirstError();
  }

  Status Commit() override {
    if (done_) return Status::FailedPrecondition("commit after commit or abort");
    Status s;
    if (upload_id_.empty()) {
      // Under one part: one PUT, no upload to start, complete or clean up.
      s = client_->PutObject(key_, current_, options_);
    } else {
      if (!current_.empty()) s = Submit();
      if (s.ok()) s = Drain();
      if (s.ok()) s = client_->CompleteMultipartUpload(key_, upload_id_, etags_);
      if (s.ok() && options_.locks()) s = EnsureLocked();
    }
    if (!s.ok()) {
      Abort();
      return s;
    }
    committed_ = done_ = true;
    StopWorkers();
    current_ = {};
    return Status::OK();
  }

  void Abort() override {
    if (committed_) return;
    done_ = true;
    cancel_ = true;  // in-flight part transfers stop at their next progress callback
    StopWorkers();
    current_ = {};
    if (!upload_id_.empty()) {
      // Best effort: the caller is already failing; a bucket lifecycle rule
      // (AbortIncompleteMultipartUpload) collects what a crash leaves behind.
      (void)client_->AbortMultipartUpload(key_, upload_id_);
      upload_id_.clear();
    }
  }

 private:
  struct Part {
    int number;
    std::vector<uint8_t> data;
  };

  Status FirstError() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  // Some servers (radosgw 16) ignore the lock headers of CreateMultipartUpload: the completed
  // object is locked with PutObjectRetention unless it already is. An object that cannot be
  // locked is deleted (nothing locks it yet), so a failed Commit leaves nothing.
  Status EnsureLocked() {
    auto head = client_->HeadObject(key_);
    if (head.ok() && head->lock_mode == options_.lock_mode && head->retain_until_unix >= options_.retain_until_unix) {
      return Status::OK();
    }
    Status s = client_->PutObjectRetention(key_, options_);
    if (!s.ok()) (void)client_->DeleteObject(key_);
    return s;
  }

  // Hands the current buffer to the workers, starting the upload on the first part.
  Status Submit() {
    if (upload_id_.empty()) {
      LB_ASSIGN_OR_RETURN(upload_id_, client_->CreateMultipartUpload(key_, options_));
      for (int i = 0; i < max_in_flight_; ++i) workers_.emplace_back([this] { Work(); });
    }
    if (next_part_ > kMaxParts) {
      return Status::FailedPrecondition(fmt::format(
          "object s3://{}/{} needs more than {} parts of {} MiB (S3's limit)", client_->location().bucket, key_,
          kMaxParts, part_size_ >> 20));
    }
    std::unique_lock<std::mutex> lock(mu_);
    // Bounded memory: wait until a worker is free to take this part.
    cv_.wait(lock, [this] { return !error_.ok() || queue_.size() + busy_ < static_cast<size_t>(max_in_flight_); });
    if (!error_.ok()) return error_;
    etags_.emplace_back();
    queue_.push_back(Part{next_part_++, std::move(current_)});
    current_ = {};
    cv_.notify_all();
    return Status::OK();
  }

  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      Part part = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
      lock.unlock();
      // Hashing for x-amz-content-sha256 happens here, off the Append() thread.
      auto etag = client_->UploadPart(key_, upload_id_, part.number, part.data, &cancel_, options_.locks());
      part.data = {};
      lock.lock();
      --busy_;
      if (etag.ok()) {
        etags_[static_cast<size_t>(part.number - 1)] = std::move(etag).value();
      } else if (error_.ok()) {
        error_ = etag.status();
        queue_.clear();
        cancel_ = true;  // the upload is lost anyway: stop the other parts now
      }
      cv_.notify_all();
    }
  }

  // Waits for every submitted part; the first failure if any.
  Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !error_.ok() || (queue_.empty() && busy_ == 0); });
    return error_;
  }

  void StopWorkers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (cancel_) queue_.clear();
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  S3Client* const client_;
  const std::string key_;
  const WriteOptions options_;
  const size_t part_size_;
  const int max_in_flight_;

  // Owned by the caller's thread.
  std::vector<uint8_t> current_;
  std::string upload_id_;
  int next_part_ = 1;
  bool done_ = false, committed_ = false;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Part> queue_;             // guarded by mu_
  size_t busy_ = 0;                    // guarded by mu_
  std::vector<std::string> etags_;     // guarded by mu_ (index = part number - 1)
  Status error_;                       // guarded by mu_
  bool stop_ = false;                  // guarded by mu_
  std::atomic<bool> cancel_{false};
};

}  // namespace

std::unique_ptr<ObjectWriter> NewS3ObjectWriter(S3Client* client, std::string key, WriteOptions options) {
  return std::make_unique<S3ObjectWriter>(client, std::move(key), std::move(options));
}

}  // namespace lifeboat::store
