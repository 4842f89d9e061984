#include "host/lease_table.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/atomic_file.h"
#include "base/timefmt.h"

namespace lifeboat::host {
namespace {

using nlohmann::json;

std::string At(int64_t ms) {
  return FormatRFC3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

json ToJson(const LeaseInfo& l) {
  return {{"owner_id", l.owner_id},       {"holder", l.holder},         {"operation", l.operation},
          {"journal", l.journal},         {"acquired_ms", l.acquired_ms}, {"renewed_ms", l.renewed_ms},
          {"expires_ms", l.expires_ms}};
}

}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DescribeLease(const LeaseInfo& l) {
  std::string s = (l.operation.empty() ? std::string("a recovery") : l.operation) + " by " +
                  (l.holder.empty() ? std::string("an unnamed coordinator") : l.holder) + " since " +
                  At(l.acquired_ms);
  if (!l.journal.empty()) s += " (journal " + l.journal + ")";
  return s + ", lease expires " + At(l.expires_ms);
}

Status LeaseTable::Load() {
  std::lock_guard<std::mutex> g(mu_);
  if (path_.empty()) return Status::OK();
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return Status::OK();
    return Status::IOError("cannot read the recovery lease " + path_ + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("owner_id")) {
    return Status::Corruption("the recovery lease " + path_ + " is damaged (move it away if no recovery runs)");
  }
  lease_.owner_id = j.value("owner_id", "");
  lease_.holder = j.value("holder", "");
  lease_.operation = j.value("operation", "");
  lease_.journal = j.value("journal", "");
  lease_.acquired_ms = j.value("acquired_ms", int64_t{0});
  lease_.renewed_ms = j.value("renewed_ms", int64_t{0});
  lease_.expires_ms = j.value("expires_ms", int64_t{0});
  return Status::OK();
}

Status LeaseTable::Persist(const LeaseInfo& l) {
  if (path_.empty()) return Status::OK();
  if (l.empty()) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError("cannot remove the recovery lease " + path_ + ": " + std::strerror(errno));
    }
    std::string dir = path_.substr(0, path_.find_last_of('/'));
    return FsyncDir(dir.empty() ? "/" : dir);
  }
  std::string dir = path_.substr(0, path_.find_last_of('/'));
  if (!dir.empty()) LB_RETURN_IF_ERROR(MakeDirs(dir));
  LB_ASSIGN_OR_RETURN(auto f, AtomicFile::Create(path_));
  std::string body = ToJson(l).dump(2) + "\n";
  LB_RETURN_IF_ERROR(f->Append({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
  return f->Commit();
}

LeaseInfo LeaseTable::Live(int64_t now_ms) const {
  std::lock_guard<std::mutex> g(mu_);
  if (lease_.empty() || lease_.expires_ms <= now_ms) return {};
  return lease_;
}

Result<LeaseTable::Grant> LeaseTable::Acquire(const LeaseInfo& want, std::chrono::milliseconds ttl, bool break_lease,
                                              int64_t now_ms) {
  if (want.owner_id.empty()) return Status::InvalidArgument("a lease needs an owner id");
  if (ttl.count() <= 0) return Status::InvalidArgument("a lease needs a positive ttl");
  std::lock_guard<std::mutex> g(mu_);
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  bool same = live && lease_.owner_id == want.owner_id && lease_.holder == want.holder;
  Grant out;
  if (live && !same) {
    if (!break_lease) {
      return Status::FailedPrecondition("held by " + DescribeLease(lease_) + " (wait, or take it over with --break-lease)");
    }
    out.previous = lease_;
  }
  LeaseInfo next = want;
  next.acquired_ms = same ? lease_.acquired_ms : now_ms;
  next.renewed_ms = now_ms;
  next.expires_ms = now_ms + ttl.count();
  // A full disk is when a recovery is most needed: the lease then holds in memory (only an agent
  // restart would forget it) and the caller is told why.
  out.not_kept = Persist(next);
  lease_ = next;
  out.lease = next;
  return out;
}

Result<bool> LeaseTable::Release(const std::string& owner_id, int64_t now_ms) {
  std::lock_guard<std::mutex> g(mu_);
  (void)now_ms;
  if (lease_.empty() || lease_.owner_id != owner_id) return false;
  Status kept = Persist({});
  lease_ = {};
  if (!kept.ok()) return kept.Annotate("released, but the lease file stays until the agent can remove it");
  return true;
}

Status LeaseTable::Admit(const std::string& owner_id, int64_t now_ms) const {
  std::lock_guard<std::mutex> g(mu_);
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  if (live) {
    if (owner_id == lease_.owner_id) return Status::OK();
    return Status::FailedPrecondition("this member is held by " + DescribeLease(lease_) +
                                      ": nothing was done (wait for it, or take it over with --break-lease)");
  }
  if (owner_id.empty()) return Status::OK();
  // A coordinator whose lease lapsed or was broken must not go on as if it still held it.
  return Status::FailedPrecondition("this coordinator's recovery lease (owner " + owner_id +
                                    ") is not held here any more (it expired or was broken): nothing was done");
}

}  // namespace lifeboat::host
