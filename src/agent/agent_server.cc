#include "agent/agent_server.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <mutex>
#include <thread>

#include "agent.grpc.pb.h"
#include "host/access.h"
#include "host/controller.h"
#include "host/host_ops.h"
#include "host/lease_table.h"
#include "host/leftovers.h"
#include "host/liveness.h"
#include "host/shell.h"
#include "host/staging.h"
#include "agent/token.h"
#include "etcd/client.h"
#include "snapshot/restore.h"

namespace lifeboat::agent {

// The host layer this service is a thin gRPC face of.
using host::AbsentOrEmpty;
using host::AgentConfig;
using host::ClipLog;
using host::ControlMode;
using host::ControlModeName;
using host::DataDirFacts;
using host::DescribeLease;
using host::EtcdController;
using host::EtcdVersion;
using host::GiveToParentOwner;
using host::FileSha256;
using host::InspectDataDir;
using host::LeaseInfo;
using host::LeaseTable;
using host::RecoveryRecord;
using host::Liveness;
using host::MoveAside;
using host::NewController;
using host::ProbeMember;
using host::StageBackup;
using host::StagedCopies;
using host::StageRequest;
using host::StartArgs;
using host::StopRemaining;
using host::SweepLeftovers;
using host::SweepStaleStaged;
using host::UnixMillisNow;
namespace {

namespace pb = ::lifeboat::agent::v1;
using std::chrono::milliseconds;

grpc::Status ToGrpc(const Status& s) {
  using C = Status::Code;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (s.code()) {
    case C::kOk:
      return grpc::Status::OK;
    case C::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case C::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case C::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case C::kDeadlineExceeded:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case C::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
    case C::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case C::kCorruption:
      code = grpc::StatusCode::DATA_LOSS;
      break;
    case C::kIOError:
      code = grpc::StatusCode::INTERNAL;
      break;
    case C::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case C::kAborted:
      code = grpc::StatusCode::ABORTED;
      break;
    case C::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(code, s.message());
}

milliseconds OrDefault(uint32_t ms, milliseconds def) { return ms == 0 ? def : milliseconds(ms); }

void ToProto(const LeaseInfo& l, pb::Lease* out) {
  if (l.empty()) return;
  out->set_owner_id(l.owner_id);
  out->set_holder(l.holder);
  out->set_operation(l.operation);
  out->set_journal(l.journal);
  out->set_acquired_unix_ms(l.acquired_ms);
  out->set_renewed_unix_ms(l.renewed_ms);
  out->set_expires_unix_ms(l.expires_ms);
  out->set_epoch(l.epoch);
}

void ToProto(const RecoveryRecord& r, pb::RecoveryRecord* out) {
  if (r.empty()) return;
  out->set_owner_id(r.owner_id);
  out->set_holder(r.holder);
  out->set_operation(r.operation);
  out->set_backup(r.backup);
  out->set_epoch(r.epoch);
  out->set_finished_unix_ms(r.finished_ms);
}

std::string Metadata(grpc::ServerContext* ctx, const char* key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(key);
  return it == md.end() ? std::string() : std::string(it->second.data(), it->second.size());
}

// The lease a mutating call is made under: its owner (empty: none) and epoch (0: none given).
struct CallLease {
  std::string owner;
  uint64_t epoch = 0;
};
CallLease LeaseOf(grpc::ServerContext* ctx) {
  CallLease l{Metadata(ctx, "lifeboat-lease-owner"), 0};
  std::string e = Metadata(ctx, "lifeboat-lease-epoch");
  if (!e.empty() && e.find_first_not_of("0123456789") == std::string::npos && e.size() < 20) l.epoch = std::stoull(e);
  return l;
}

// What a token may call: the observe token reads status, the recover token does everything.
enum class Need { kObserve, kRecover };

class Service final : public pb::Agent::Service {
 public:
  Service(AgentConfig c, AgentTokens tokens, std::shared_ptr<codec::KeyRing> keys, Logger& log)
      : log_(log),
        c_(std::move(c)),
        tokens_(std::move(tokens)),
        keys_(std::move(keys)),
        ctl_(NewController(c_)),
        // Named by member: agents on one host may share a staging dir.
        lease_(c_.staging_dir + "/recovery-lease-" + c_.member_name + ".json") {}

  Status LoadLease() {
    LB_RETURN_IF_ERROR(lease_.Load());
    if (auto l = lease_.LiveLease(UnixMillisNow()); !l.empty()) log_.Warn("recovery lease kept from before: {}", DescribeLease(l));
    return Status::OK();
  }

  EtcdController& controller() { return *ctl_; }

  grpc::Status GetStatus(grpc::ServerContext* ctx, const pb::GetStatusRequest*, pb::GetStatusResponse* out) override {
    if (auto a = Authorize(ctx, Need::kObserve, "GetStatus"); !a.ok()) return a;
    auto live = EtcdLiveness();
    if (!live.ok()) return ToGrpc(live.status());
    out->set_etcd_running(live->live);
    out->set_pid(live->pid);
    DataDirFacts f = InspectDataDir(c_.data_dir);
    out->set_data_dir_present(f.present);
    out->set_data_dir_bytes(f.bytes);
    out->set_free_bytes(f.free_bytes);
    out->set_etcd_version(Version());
    out->set_member_name(c_.member_name);
    out->set_peer_url(c_.peer_url);
    out->set_client_url(c_.client_url);
    out->set_data_dir(c_.data_dir);
    out->set_mode(ControlModeName(c_.mode));
    out->set_min_free_bytes(c_.min_free_bytes);
    out->set_staging_dir(c_.staging_dir);
    DataDirFacts staging = InspectDataDir(c_.staging_dir);
    out->set_staging_free_bytes(staging.free_bytes);
    out->set_staging_on_other_fs(f.dev != 0 && staging.dev != 0 && f.dev != staging.dev);
    for (const auto& [sha, bytes] : StagedCopies(c_.staging_dir)) {
      auto* copy = out->add_staged();
      copy->set_sha256(sha);
      copy->set_bytes(bytes);
    }
    out->set_quarantine_client_url(c_.quarantine_client_url);
    ToProto(lease_.LiveLease(UnixMillisNow()), out->mutable_lease());
    ToProto(lease_.LastRecovery(), out->mutable_last_recovery());
    for (const auto& s : c_.stores) out->add_stores(s);
    return grpc::Status::OK;
  }

  grpc::Status AcquireLease(grpc::ServerContext* ctx, const pb::AcquireLeaseRequest* req,
                            pb::AcquireLeaseResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "AcquireLease"); !a.ok()) return a;
    LeaseInfo want;
    want.owner_id = req->lease().owner_id();
    want.holder = req->lease().holder();
    want.operation = req->lease().operation();
    want.journal = req->lease().journal();
    auto g = lease_.Acquire(want, OrDefault(req->ttl_ms(), std::chrono::minutes(10)), req->break_lease(),
                            UnixMillisNow());
    if (!g.ok()) return ToGrpc(g.status().WithMessage(c_.member_name + " is " + g.status().message()));
    if (!g->not_kept.ok()) log_.Warn("recovery lease held in memory only: {}", g->not_kept.message());
    if (!g->previous.empty()) {
      log_.Warn("recovery lease BROKEN by {} ({}): it was held by {}", want.holder, want.operation,
                   DescribeLease(g->previous));
    } else {
      log_.Info("recovery lease granted: {}", DescribeLease(g->lease));
    }
    ToProto(g->lease, out->mutable_lease());
    ToProto(g->previous, out->mutable_previous());
    return grpc::Status::OK;
  }

  grpc::Status RenewLease(grpc::ServerContext* ctx, const pb::RenewLeaseRequest* req,
                          pb::RenewLeaseResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "RenewLease"); !a.ok()) return a;
    auto l = lease_.Renew(req->owner_id(), req->epoch(), OrDefault(req->ttl_ms(), std::chrono::minutes(10)),
                          UnixMillisNow());
    if (!l.ok()) {
      log_.Warn("refused to renew the recovery lease of owner {} epoch {}: {}", req->owner_id(), req->epoch(),
                l.status().message());
      return ToGrpc(l.status().WithMessage(c_.member_name + ": " + l.status().message()));
    }
    ToProto(*l, out->mutable_lease());
    return grpc::Status::OK;
  }

  grpc::Status ReleaseLease(grpc::ServerContext* ctx, const pb::ReleaseLeaseRequest* req,
                            pb::ReleaseLeaseResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "ReleaseLease"); !a.ok()) return a;
    RecoveryRecord finished;
    finished.operation = req->finished().operation();
    finished.backup = req->finished().backup();
    auto released = lease_.Release(req->owner_id(), req->epoch(), req->has_finished() ? &finished : nullptr,
                                   UnixMillisNow());
    if (!released.ok()) return ToGrpc(released.status());
    if (*released) {
      log_.Info("recovery lease released by owner {} epoch {}{}", req->owner_id(), req->epoch(),
                req->has_finished() ? ": finished " + host::DescribeRecord(lease_.LastRecovery()) : "");
    }
    out->set_released(*released);
    return grpc::Status::OK;
  }

  grpc::Status StopEtcd(grpc::ServerContext* ctx, const pb::StopEtcdRequest* req, pb::StopEtcdResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "StopEtcd"); !a.ok()) return a;
    std::lock_guard<std::mutex> l(op_mu_);
    if (auto a = AdmitUnderLiveLease(ctx, "StopEtcd"); !a.ok()) return a;
    milliseconds deadline = OrDefault(req->timeout_ms(), std::chrono::seconds(30));
    auto was = ctl_->Stop(deadline);
    if (!was.ok()) return ToGrpc(was.status());
    // What the controller does not know (an etcd an earlier agent process started) still counts.
    auto rest = StopRemaining(c_, *was, c_.mode == ControlMode::kProcess, deadline);
    if (!rest.ok()) return ToGrpc(rest.status());
    out->set_was_running(*was || *rest);
    log_.Info("StopEtcd: {}", *was     ? "stopped"
                                 : *rest ? "stopped an etcd this agent had not started (it held the data dir's lock)"
                                         : "was not running");
    return grpc::Status::OK;
  }

  grpc::Status StartEtcd(grpc::ServerContext* ctx, const pb::StartEtcdRequest* req,
                         pb::StartEtcdResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "StartEtcd"); !a.ok()) return a;
    const std::string& state = req->initial_cluster_state();
    if (!state.empty() && state != "new" && state != "existing") {
      return ToGrpc(Status::InvalidArgument("initial_cluster_state must be new or existing, not '" + state + "'"));
    }
    std::lock_guard<std::mutex> l(op_mu_);
    if (auto a = AdmitUnderLiveLease(ctx, "StartEtcd"); !a.ok()) return a;
    if (Status st = RefuseWhileRunning("start another etcd"); !st.ok()) return ToGrpc(st);
    if (req->quarantine() && c_.quarantine_client_url.empty()) {
      return ToGrpc(Status::FailedPrecondition("no member.quarantine-client-url in the agent config of " +
                                               c_.member_name + " (add one to start it quarantined)"));
    }
    StartArgs args{req->initial_cluster(), state, req->initial_cluster_token(), req->quarantine()};
    const std::string& url = ServedClientUrl(c_, args);
    if (Status st = ctl_->Start(args); !st.ok()) return ToGrpc(st);
    log_.Info("StartEtcd: launched (state {}{}), waiting for {}", state.empty() ? "-" : state,
                 args.quarantine ? ", quarantined" : "", url);
    Status st = WaitAnswering(url, OrDefault(req->timeout_ms(), std::chrono::seconds(60)), out);
    if (!st.ok()) return ToGrpc(st);
    out->set_pid(ctl_->Pid());
    return grpc::Status::OK;
  }

  grpc::Status MoveDataAside(grpc::ServerContext* ctx, const pb::MoveDataAsideRequest*,
                             pb::MoveDataAsideResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "MoveDataAside"); !a.ok()) return a;
    std::lock_guard<std::mutex> l(op_mu_);
    if (auto a = AdmitUnderLiveLease(ctx, "MoveDataAside"); !a.ok()) return a;
    if (Status st = RefuseWhileRunning("move the data dir aside"); !st.ok()) return ToGrpc(st);
    auto moved = MoveAside(c_.data_dir, std::chrono::system_clock::now());
    if (!moved.ok()) return ToGrpc(moved.status());
    log_.Info("MoveDataAside: {} -> {}", c_.data_dir, *moved);
    out->set_new_path(*moved);
    return grpc::Status::OK;
  }

  grpc::Status RestoreSnapshot(grpc::ServerContext* ctx, const pb::RestoreSnapshotRequest* req,
                               pb::RestoreSnapshotResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "RestoreSnapshot"); !a.ok()) return a;
    std::lock_guard<std::mutex> l(op_mu_);
    if (auto a = AdmitUnderLiveLease(ctx, "RestoreSnapshot"); !a.ok()) return a;
    if (Status st = host::AllowSnapshotPath(c_, req->snapshot_path()); !st.ok()) {
      log_.Warn("RestoreSnapshot refused: {}", st.message());
      return ToGrpc(st);
    }
    if (Status st = RefuseWhileRunning("restore"); !st.ok()) return ToGrpc(st);
    if (!AbsentOrEmpty(c_.data_dir)) {
      return ToGrpc(Status::FailedPrecondition("data dir " + c_.data_dir +
                                               " exists and is not empty (MoveDataAside first)"));
    }
    // The restore hashes the file on a second thread while it writes the db, and renames nothing
    // into place unless the trailer and the expected SHA-256 matched: one read, not two in a row.
    // Without the trailer check there is no such pass, and the file is hashed first.
    std::string sha;
    if (req->skip_hash_check()) {
      auto whole = FileSha256(req->snapshot_path());
      if (!whole.ok()) return ToGrpc(whole.status());
      if (!req->expect_sha256().empty() && *whole != req->expect_sha256()) {
        return ToGrpc(Status::Corruption(req->snapshot_path() + ": SHA-256 " + *whole + ", not the expected " +
                                         req->expect_sha256()));
      }
      sha = *whole;
    }
    snapshot::RestoreOptions o;
    o.snapshot_path = req->snapshot_path();
    o.name = req->name().empty() ? c_.member_name : req->name();
    // Empty: a one-member cluster of this member (the recover-from-one-host case).
    o.initial_advertise_peer_urls = req->peer_url().empty() ? c_.peer_url : req->peer_url();
    o.initial_cluster = req->initial_cluster().empty() ? o.name + "=" + o.initial_advertise_peer_urls
                                                       : req->initial_cluster();
    if (!req->initial_cluster_token().empty()) o.initial_cluster_token = req->initial_cluster_token();
    o.data_dir = c_.data_dir;
    o.skip_hash_check = req->skip_hash_check();
    if (!o.skip_hash_check) o.expect_file_sha256 = req->expect_sha256();
    o.target_version = req->target_version();
    o.bump_revision = req->bump_revision();
    o.mark_compacted = req->mark_compacted();
    auto r = snapshot::RestoreSnapshot(o);
    if (!r.ok()) return ToGrpc(r.status());
    if (!o.skip_hash_check) sha = r->file_sha256;
    auto owned = GiveToParentOwner(r->data_dir);
    if (!owned.ok()) return ToGrpc(owned.status());
    if (*owned) log_.Info("RestoreSnapshot: {} now belongs to the owner of its parent dir", r->data_dir);
    log_.Info("RestoreSnapshot: {} (sha256 {}) -> {} at revision {} for etcd {} (snapshot from {})", o.snapshot_path,
                 sha, r->data_dir, r->revision, r->target_version, r->source_version);
    out->set_sha256(sha);
    out->set_revision(r->revision);
    out->set_member_id(r->member_id);
    out->set_cluster_id(r->cluster_id);
    out->set_data_dir(r->data_dir);
    out->set_live_keys(r->live_keys);
    out->set_target_version(r->target_version);
    return grpc::Status::OK;
  }

  grpc::Status ChangeMembership(grpc::ServerContext* ctx, const pb::ChangeMembershipRequest* req,
                                pb::ChangeMembershipResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "ChangeMembership"); !a.ok()) return a;
    std::lock_guard<std::mutex> l(op_mu_);
    if (auto a = AdmitUnderLiveLease(ctx, "ChangeMembership"); !a.ok()) return a;
    auto client = MemberClient();
    if (!client.ok()) return ToGrpc(client.status());
    Status s;
    uint64_t id = req->member_id();
    switch (req->kind()) {
      case pb::ChangeMembershipRequest::REMOVE:
        s = (*client)->MemberRemove(id);
        break;
      case pb::ChangeMembershipRequest::PROMOTE:
        s = (*client)->MemberPromote(id);
        break;
      case pb::ChangeMembershipRequest::ADD: {
        auto m = (*client)->MemberAdd({req->peer_urls().begin(), req->peer_urls().end()}, req->learner());
        s = m.status();
        if (m.ok()) id = m->id;
        break;
      }
      default:
        return ToGrpc(Status::InvalidArgument("unknown membership change"));
    }
    if (!s.ok()) return ToGrpc(s);
    log_.Info("ChangeMembership: {} member {:x}", pb::ChangeMembershipRequest::Kind_Name(req->kind()), id);
    out->set_member_id(id);
    return grpc::Status::OK;
  }

  grpc::Status FetchBackup(grpc::ServerContext* ctx, const pb::FetchBackupRequest* req,
                           pb::FetchBackupResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "FetchBackup"); !a.ok()) return a;
    if (Status st = host::AllowStore(c_, req->store_url()); !st.ok()) {
      log_.Warn("FetchBackup refused: {}", st.message());
      return ToGrpc(st);
    }
    // Not under op_mu_: a download does not touch etcd or its data dir, and it may take minutes.
    std::lock_guard<std::mutex> l(fetch_mu_);
    StageRequest sr{req->store_url(), req->object_key(), req->sha256(), req->size()};
    // The staging dir holds what this recovery needs: earlier copies go first, unless another
    // coordinator's lease holds this member (its copy may be in use).
    auto staged = StageBackup(sr, c_.staging_dir, keys_.get(), MayChangeStaging(ctx).ok());
    if (!staged.ok()) return ToGrpc(staged.status());
    log_.Info("FetchBackup: {} -> {} ({})", req->object_key(), staged->path,
                 staged->in_place ? "checked in place" : staged->cached ? "already staged" : "downloaded");
    out->set_path(staged->path);
    out->set_sha256(staged->sha256);
    out->set_revision(staged->revision);
    out->set_live_keys(staged->live_keys);
    out->set_cached(staged->cached);
    out->set_in_place(staged->in_place);
    out->set_cluster_version(staged->cluster_version);
    for (const auto& m : staged->members) {
      auto* pm = out->add_members();
      pm->set_name(m.name);
      for (const auto& u : m.peer_urls) pm->add_peer_urls(u);
      for (const auto& u : m.client_urls) pm->add_client_urls(u);
      pm->set_is_learner(m.is_learner);
    }
    return grpc::Status::OK;
  }

  grpc::Status DropStaged(grpc::ServerContext* ctx, const pb::DropStagedRequest* req,
                          pb::DropStagedResponse* out) override {
    if (auto a = Authorize(ctx, Need::kRecover, "DropStaged"); !a.ok()) return a;
    if (Status st = MayChangeStaging(ctx); !st.ok()) {
      log_.Warn("refused DropStaged from {}: {}", ctx->peer(), st.message());
      return ToGrpc(st.WithMessage(c_.member_name + ": " + st.message()));
    }
    std::lock_guard<std::mutex> l(fetch_mu_);  // never under a download
    auto dropped = host::DropStaged(c_.staging_dir, {req->keep_sha256().begin(), req->keep_sha256().end()});
    if (!dropped.ok()) return ToGrpc(dropped.status());
    for (const auto& p : dropped->paths) {
      log_.Info("DropStaged: removed {}", p);
      out->add_removed(p);
    }
    out->set_freed_bytes(dropped->bytes);
    return grpc::Status::OK;
  }

 private:
  grpc::Status Authorize(grpc::ServerContext* ctx, Need need, const char* rpc) {
    if (tokens_.recover.empty()) return grpc::Status::OK;  // insecure-no-auth
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "no bearer token (send \"authorization: Bearer <token>\" with the agent's token)");
    }
    std::string_view got = BearerToken(std::string_view(it->second.data(), it->second.size()));
    if (ConstantTimeEquals(got, tokens_.recover)) return grpc::Status::OK;
    if (!tokens_.observe.empty() && ConstantTimeEquals(got, tokens_.observe)) {
      if (need == Need::kObserve) return grpc::Status::OK;
      log_.Warn("refused {} from {}: the observe token only reads status", rpc, ctx->peer());
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          std::string("the observe token may only read status, not call ") + rpc +
                              " (a recovery needs the agent's recover token, its token-file)");
    }
    log_.Warn("refused {} from {}: wrong bearer token", rpc, ctx->peer());
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong bearer token (use the token in the agent's token-file)");
  }

  // Mutating calls only, under op_mu_: admitted only under the live lease's owner and epoch, so
  // a coordinator whose lease ended (expired, broken, released) never acts again.
  // Staged copies may be dropped by the live lease's owner, or by anyone while no lease is live
  // (a dry run takes none; a finished restore has released its own): never under another
  // coordinator's lease, whose restore may read them.
  Status MayChangeStaging(grpc::ServerContext* ctx) {
    const int64_t now = UnixMillisNow();
    if (lease_.LiveLease(now).empty()) return Status::OK();
    CallLease call = LeaseOf(ctx);
    return lease_.CheckFencedCall(call.owner, call.epoch, now);
  }

  grpc::Status AdmitUnderLiveLease(grpc::ServerContext* ctx, const char* rpc) {
    CallLease call = LeaseOf(ctx);
    Status s = lease_.CheckFencedCall(call.owner, call.epoch, UnixMillisNow());
    if (s.ok()) {
      log_.Info("{} under the recovery lease of owner {} epoch {}", rpc, call.owner, call.epoch);
      return grpc::Status::OK;
    }
    log_.Warn("refused {} from {} (lease owner '{}' epoch {}): {}", rpc, ctx->peer(), call.owner, call.epoch,
              s.message());
    return ToGrpc(s.WithMessage(c_.member_name + ": " + s.message()));
  }

  // Running as etcd sees it: the controller's own view, or the data dir's lock held or a member
  // URL answering (an etcd an earlier agent process started, or one started by hand).
  Result<Liveness> EtcdLiveness() {
    auto running = ctl_->IsRunning();
    if (!running.ok()) return running.status();
    if (*running) {
      int64_t pid = ctl_->Pid();
      return Liveness{true, pid, pid > 0 ? "pid " + std::to_string(pid) : std::string("its controller says so")};
    }
    return ProbeMember(c_);
  }

  Status RefuseWhileRunning(const std::string& what) {
    auto live = EtcdLiveness();
    if (!live.ok()) return live.status();
    if (live->live) {
      return Status::FailedPrecondition("etcd is running on this host (" + live->reason + "): cannot " + what +
                                        " (StopEtcd first)");
    }
    return Status::OK();
  }

  // `etcd --version` runs once; the binary does not change under a running agent.
  std::string Version() {
    std::lock_guard<std::mutex> l(version_mu_);
    if (version_.empty()) version_ = EtcdVersion(c_.etcd_binary);
    return version_;
  }

  // A client on this host's member, with the agent's etcd TLS files and user.
  Result<std::unique_ptr<etcd::Client>> MemberClient() {
    etcd::ClientOptions o;
    o.endpoints = {c_.client_url};
    o.cacert = c_.etcd_cacert;
    o.cert = c_.etcd_cert;
    o.key = c_.etcd_key;
    o.user = c_.etcd_user;
    if (!c_.etcd_password_file.empty()) {
      std::ifstream in(c_.etcd_password_file);
      if (!in || !std::getline(in, o.password)) {
        return Status::InvalidArgument("cannot read etcd.password-file " + c_.etcd_password_file +
                                       " (check the agent config)");
      }
    }
    return etcd::Client::Connect(c_.client_url, o);
  }

  // Polls Maintenance.Status on the client URL: it answers without a leader, so each member of a
  // new multi-member cluster can be started in turn.
  Status WaitAnswering(const std::string& url, milliseconds timeout, pb::StartEtcdResponse* out) {
    etcd::ClientOptions o;
    o.endpoints = {url};
    o.cacert = c_.etcd_cacert;
    o.cert = c_.etcd_cert;
    o.key = c_.etcd_key;
    o.dial_timeout = milliseconds(500);
    o.command_timeout = milliseconds(1000);
    auto until = std::chrono::steady_clock::now() + timeout;
    std::string last = "no attempt";
    while (std::chrono::steady_clock::now() < until) {
      auto running = ctl_->IsRunning();
      if (running.ok() && !*running) {
        return Status::Unavailable("etcd exited during start-up; its log ends with:\n" + ClipLog(ctl_->LogTail(20)));
      }
      if (Status st = ctl_->CheckStarting(); !st.ok()) {
        return Status::Unavailable("etcd cannot start: " + st.message() + "; its log ends with:\n" + ClipLog(ctl_->LogTail(20)));
      }
      auto client = etcd::Client::Connect(url, o);
      if (client.ok()) {
        auto st = (*client)->Status();
        if (st.ok()) {
          out->set_version(st->version);
          return Status::OK();
        }
        last = st.status().message();
      } else {
        last = client.status().message();
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return Status::DeadlineExceeded("etcd did not answer on " + url + " within " +
                                    std::to_string(timeout.count()) + " ms (last error: " + last +
                                    "); its log ends with:\n" + ClipLog(ctl_->LogTail(20)));
  }

  Logger& log_;

  const AgentConfig c_;
  const AgentTokens tokens_;
  const std::shared_ptr<codec::KeyRing> keys_;  // loaded once at start-up; null without encryption
  std::unique_ptr<EtcdController> ctl_;
  LeaseTable lease_;
  std::mutex op_mu_;  // one mutating operation at a time
  std::mutex fetch_mu_;
  std::mutex version_mu_;
  std::string version_;
};

}  // namespace

struct AgentServer::Impl {
  Logger* log = nullptr;
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  bool process_mode = false;
  bool shut = false;
};

AgentServer::AgentServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentServer::~AgentServer() { Shutdown(); }

Result<std::unique_ptr<AgentServer>> AgentServer::Start(const AgentConfig& config, const AgentTokens& tokens,
                                                         Logger& log) {
  if (tokens.recover.empty() && !config.insecure_no_auth) {
    return Status::InvalidArgument("the agent needs a token (set token-file; insecure-no-auth: true only for tests)");
  }
  auto impl = std::make_unique<Impl>();
  std::shared_ptr<codec::KeyRing> keys;
  if (config.has_encryption) {
    auto ring = codec::LoadKeyRing(config.key, config.old_keys);
    if (!ring.ok()) return ring.status().Annotate("agent encryption keys");
    keys = std::make_shared<codec::KeyRing>(std::move(*ring));
  }
  impl->log = &log;
  impl->service = std::make_unique<Service>(config, tokens, keys, log);
  LB_RETURN_IF_ERROR(impl->service->LoadLease());
  if (auto a = impl->service->controller().Adopted(); !a.empty()) log.Info("adopted the etcd an earlier agent started: {}", a);
  auto swept = SweepLeftovers(config.staging_dir, config.data_dir);
  if (!swept.ok()) return swept.status().Annotate("agent start");
  for (const auto& p : *swept) log.Info("removed {}: left by an agent that died mid-call", p);
  // After the lease is loaded: a recovery under way keeps its staged copies for --resume.
  auto stale = SweepStaleStaged(config.staging_dir, UnixMillisNow());
  if (!stale.ok()) return stale.status().Annotate("agent start");
  for (const auto& p : *stale) log.Info("removed {}: staged for a recovery that is over", p);
  impl->process_mode = config.mode == ControlMode::kProcess;
  grpc::ServerBuilder b;
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!config.tls_cert.empty()) {
    auto pem = [](const std::string& path) -> Result<std::string> {
      std::ifstream in(path);
      if (!in) return Status::InvalidArgument("cannot read " + path + " (check the agent's tls section)");
      std::stringstream ss;
      ss << in.rdbuf();
      return ss.str();
    };
    grpc::SslServerCredentialsOptions o(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    LB_ASSIGN_OR_RETURN(pair.cert_chain, pem(config.tls_cert));
    LB_ASSIGN_OR_RETURN(pair.private_key, pem(config.tls_key));
    o.pem_key_cert_pairs.push_back(pair);
    if (!config.tls_client_ca.empty()) {
      LB_ASSIGN_OR_RETURN(o.pem_root_certs, pem(config.tls_client_ca));
      o.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    creds = grpc::SslServerCredentials(o);
  } else {
    log.Warn("agent transport is plain text: the bearer token crosses the network in clear (set tls)");
  }
  b.AddListeningPort(config.listen, creds, &impl->port);
  b.RegisterService(impl->service.get());
  impl->server = b.BuildAndStart();
  if (!impl->server || impl->port == 0) {
    return Status::Unavailable("cannot listen on " + config.listen + " (is the port taken? change 'listen')");
  }
  return std::unique_ptr<AgentServer>(new AgentServer(std::move(impl)));
}

int AgentServer::port() const { return impl_->port; }

void AgentServer::Shutdown() {
  if (impl_->shut) return;
  impl_->shut = true;
  // In-flight calls get a moment to finish; then they are cancelled (the op mutex keeps etcd consistent).
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // etcd outlives the agent in every mode: in process mode the next agent adopts it.
  if (int64_t pid = impl_->service->controller().Pid(); impl_->process_mode && pid > 0) {
    impl_->log->Info("etcd (pid {}) keeps running; the next agent adopts it", pid);
  }
}

}  // namespace lifeboat::agent
