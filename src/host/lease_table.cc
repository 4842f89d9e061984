#include "host/lease_table.h"

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

// Format 2 keeps the epoch counter, the live lease, the last take-over and the last finished
// recovery. Format 1 (a bare lease object, no epochs) is still read: its lease has epoch 0.
constexpr int kFormat = 2;

std::string At(int64_t ms) {
  return FormatRFC3339(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

json ToJson(const LeaseInfo& l) {
  return {{"owner_id", l.owner_id},       {"holder", l.holder},           {"operation", l.operation},
          {"journal", l.journal},         {"epoch", l.epoch},             {"acquired_ms", l.acquired_ms},
          {"renewed_ms", l.renewed_ms},   {"expires_ms", l.expires_ms}};
}

LeaseInfo LeaseFromJson(const json& j) {
  LeaseInfo l;
  if (!j.is_object()) return l;
  l.owner_id = j.value("owner_id", "");
  l.holder = j.value("holder", "");
  l.operation = j.value("operation", "");
  l.journal = j.value("journal", "");
  l.epoch = j.value("epoch", uint64_t{0});
  l.acquired_ms = j.value("acquired_ms", int64_t{0});
  l.renewed_ms = j.value("renewed_ms", int64_t{0});
  l.expires_ms = j.value("expires_ms", int64_t{0});
  return l;
}

json ToJson(const RecoveryRecord& r) {
  return {{"owner_id", r.owner_id}, {"holder", r.holder}, {"operation", r.operation},
          {"backup", r.backup},     {"epoch", r.epoch},   {"finished_ms", r.finished_ms}};
}

RecoveryRecord RecordFromJson(const json& j) {
  RecoveryRecord r;
  if (!j.is_object()) return r;
  r.owner_id = j.value("owner_id", "");
  r.holder = j.value("holder", "");
  r.operation = j.value("operation", "");
  r.backup = j.value("backup", "");
  r.epoch = j.value("epoch", uint64_t{0});
  r.finished_ms = j.value("finished_ms", int64_t{0});
  return r;
}

std::string OperationOf(const std::string& op) { return op.empty() ? std::string("a recovery") : op; }

}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DescribeLease(const LeaseInfo& l) {
  std::string s = OperationOf(l.operation) + " by " +
                  (l.holder.empty() ? std::string("an unnamed coordinator") : l.holder) + " since " +
                  At(l.acquired_ms) + " (epoch " + std::to_string(l.epoch);
  if (!l.journal.empty()) s += ", journal " + l.journal;
  return s + "), lease expires " + At(l.expires_ms);
}

std::string DescribeRecord(const RecoveryRecord& r) {
  std::string s = OperationOf(r.operation) + " by " + r.holder + " (epoch " + std::to_string(r.epoch) + ")";
  if (!r.backup.empty()) s += " from " + r.backup;
  return s + ", finished " + At(r.finished_ms);
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
  const std::string damaged = "the recovery lease " + path_ + " is damaged (move it away if no recovery runs)";
  if (j.is_discarded() || !j.is_object()) return Status::Corruption(damaged);
  if (!j.contains("format")) {  // format 1: the lease itself
    if (!j.contains("owner_id")) return Status::Corruption(damaged);
    lease_ = LeaseFromJson(j);
    return Status::OK();
  }
  if (!j["format"].is_number_integer() || j["format"].get<int>() > kFormat || !j.contains("epoch")) {
    return Status::Corruption(damaged + ": format " + j["format"].dump() + " is newer than this lifeboat reads");
  }
  epoch_ = j.value("epoch", uint64_t{0});
  lease_ = LeaseFromJson(j.value("lease", json()));
  broken_ = LeaseFromJson(j.value("broken", json()));
  breaker_ = LeaseFromJson(j.value("breaker", json()));
  last_ = RecordFromJson(j.value("last_recovery", json()));
  return Status::OK();
}

Status LeaseTable::Persist() {
  if (path_.empty()) return Status::OK();
  json j = {{"format", kFormat}, {"epoch", epoch_}};
  if (!lease_.empty()) j["lease"] = ToJson(lease_);
  if (!broken_.empty()) {
    j["broken"] = ToJson(broken_);
    j["breaker"] = ToJson(breaker_);
  }
  if (!last_.empty()) j["last_recovery"] = ToJson(last_);
  std::string dir = path_.substr(0, path_.find_last_of('/'));
  if (!dir.empty()) LB_RETURN_IF_ERROR(MakeDirs(dir));
  LB_ASSIGN_OR_RETURN(auto f, AtomicFile::Create(path_));
  std::string body = j.dump(2) + "\n";
  LB_RETURN_IF_ERROR(f->Append({reinterpret_cast<const uint8_t*>(body.data()), body.size()}));
  return f->Commit();
}

LeaseInfo LeaseTable::LiveLease(int64_t now_ms) const {
  std::lock_guard<std::mutex> g(mu_);
  if (lease_.empty() || lease_.expires_ms <= now_ms) return {};
  return lease_;
}

RecoveryRecord LeaseTable::LastRecovery() const {
  std::lock_guard<std::mutex> g(mu_);
  return last_;
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
  next.epoch = ++epoch_;
  next.acquired_ms = now_ms;
  next.renewed_ms = now_ms;
  next.expires_ms = now_ms + ttl.count();
  if (!out.previous.empty()) {
    broken_ = out.previous;
    breaker_ = next;
  }
  lease_ = next;
  // A full disk is when a recovery is most needed: the lease then holds in memory (only an agent
  // restart would forget it) and the caller is told why.
  out.not_kept = Persist();
  out.lease = next;
  return out;
}

std::string LeaseTable::WhyNotHeld(const std::string& owner_id, uint64_t epoch, int64_t now_ms) const {
  std::string mine = "owner " + owner_id + ", epoch " + std::to_string(epoch);
  if (broken_.owner_id == owner_id && broken_.epoch == epoch) {
    return "this coordinator's recovery lease (" + mine + ") was broken by " + DescribeLease(breaker_);
  }
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  if (lease_.owner_id == owner_id && lease_.epoch == epoch) {
    return "this coordinator's recovery lease (" + mine + ") expired at " + At(lease_.expires_ms);
  }
  if (live) {
    return "this coordinator's recovery lease (" + mine + ") is over: the member is held by " + DescribeLease(lease_);
  }
  std::string s = "this coordinator's recovery lease (" + mine + ") is not held here any more (it expired, was "
                  "broken or released; the last epoch granted here is " + std::to_string(epoch_) + ")";
  if (!last_.empty() && last_.epoch > epoch) s += "; a later recovery finished here: " + DescribeRecord(last_);
  return s;
}

Result<LeaseInfo> LeaseTable::Renew(const std::string& owner_id, uint64_t epoch, std::chrono::milliseconds ttl,
                                    int64_t now_ms) {
  if (ttl.count() <= 0) return Status::InvalidArgument("a lease needs a positive ttl");
  std::lock_guard<std::mutex> g(mu_);
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  if (!live || lease_.owner_id != owner_id || lease_.epoch != epoch) {
    return Status::FailedPrecondition(WhyNotHeld(owner_id, epoch, now_ms));
  }
  lease_.renewed_ms = now_ms;
  lease_.expires_ms = now_ms + ttl.count();
  // Not kept on disk: an agent restarted before the next renewal keeps the older expiry, which
  // only shortens the lease. The write is still tried, so the file follows when it can.
  (void)Persist();
  return lease_;
}

Result<bool> LeaseTable::Release(const std::string& owner_id, uint64_t epoch, const RecoveryRecord* finished,
                                 int64_t now_ms) {
  std::lock_guard<std::mutex> g(mu_);
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  // An expired lease is no longer this owner's to release: it ended on its own, and a recovery
  // that outlived its lease did not finish under it.
  if (!live || lease_.owner_id != owner_id || lease_.epoch != epoch) return false;
  if (finished) {
    last_ = *finished;
    last_.owner_id = lease_.owner_id;
    last_.holder = lease_.holder;
    last_.epoch = lease_.epoch;
    last_.finished_ms = now_ms;
  }
  lease_ = {};
  Status kept = Persist();
  if (!kept.ok()) return kept.Annotate("released, but the lease file keeps the lease until the agent can rewrite it");
  return true;
}

Status LeaseTable::CheckFencedCall(const std::string& owner_id, uint64_t epoch, int64_t now_ms) const {
  std::lock_guard<std::mutex> g(mu_);
  bool live = !lease_.empty() && lease_.expires_ms > now_ms;
  if (live && owner_id == lease_.owner_id && epoch == lease_.epoch) return Status::OK();
  if (owner_id.empty()) {
    if (live) {
      return Status::FailedPrecondition("this member is held by " + DescribeLease(lease_) +
                                        ": nothing was done (wait for it, or take it over with --break-lease)");
    }
    return Status::FailedPrecondition("no recovery lease is held on this member: a change needs one (lifeboat "
                                      "restore-cluster and recover-member take it): nothing was done");
  }
  return Status::FailedPrecondition(WhyNotHeld(owner_id, epoch, now_ms) + ": nothing was done");
}

}  // namespace lifeboat::host
