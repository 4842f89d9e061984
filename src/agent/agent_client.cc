#include "agent/agent_client.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "agent.grpc.pb.h"

namespace lifeboat::agent {
namespace {

namespace pb = ::lifeboat::agent::v1;
using std::chrono::milliseconds;

Status FromGrpc(const grpc::Status& s, const std::string& address, const char* rpc) {
  std::string at = "agent " + address + " " + rpc;
  const std::string& m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthenticated(at + ": " + m);
    case grpc::StatusCode::UNAVAILABLE:
      // The agent also answers UNAVAILABLE itself (etcd would not start); only a transport
      // failure means the agent was not reached.
      if (m.find("connect") != std::string::npos || m.find("Socket closed") != std::string::npos ||
          m.find("DNS") != std::string::npos) {
        // A TLS mismatch (plain text against TLS, no or a foreign client certificate) also
        // shows as a closed socket.
        return Status::Unavailable(at + ": unreachable: " + m +
                                   " (check that the agent runs there, the address, and that agent-cacert/agent-cert/"
                                   "agent-key match the agent's tls section)");
      }
      return Status::Unavailable(at + ": " + m);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded(at + ": " + m);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(at + ": " + m);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(at + ": " + m);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(at + ": " + m);
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::PermissionDenied(at + ": " + m);
    case grpc::StatusCode::DATA_LOSS:
      return Status::Corruption(at + ": " + m);
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
      return Status::Aborted(at + ": " + m);
    default:
      return Status::Internal(at + ": " + m);
  }
}

LeaseInfo FromProto(const pb::Lease& l) {
  LeaseInfo o;
  o.owner_id = l.owner_id();
  o.holder = l.holder();
  o.operation = l.operation();
  o.journal = l.journal();
  o.acquired_ms = l.acquired_unix_ms();
  o.renewed_ms = l.renewed_unix_ms();
  o.expires_ms = l.expires_unix_ms();
  o.epoch = l.epoch();
  return o;
}

RecoveryRecord FromProto(const pb::RecoveryRecord& r) {
  RecoveryRecord o;
  o.owner_id = r.owner_id();
  o.holder = r.holder();
  o.operation = r.operation();
  o.backup = r.backup();
  o.epoch = r.epoch();
  o.finished_ms = r.finished_unix_ms();
  return o;
}

// The host part of HOST:PORT ("[::1]:9438" -> "::1").
std::string HostOf(const std::string& address) {
  if (!address.empty() && address[0] == '[') return address.substr(1, address.find(']') - 1);
  return address.substr(0, address.rfind(':'));
}

// Only literal loopback addresses count: a name may resolve anywhere.
bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

struct AgentClient::Impl {
  std::string address, token, lease_owner;
  uint64_t lease_epoch = 0;
  milliseconds call_timeout;
  std::unique_ptr<pb::Agent::Stub> stub;

  void Prepare(grpc::ClientContext* ctx, milliseconds extra) const {
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    if (!lease_owner.empty()) {
      ctx->AddMetadata("lifeboat-lease-owner", lease_owner);
      ctx->AddMetadata("lifeboat-lease-epoch", std::to_string(lease_epoch));
    }
    ctx->set_deadline(std::chrono::system_clock::now() + call_timeout + extra);
  }
};

AgentClient::AgentClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentClient::~AgentClient() = default;

namespace {
Result<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument(std::string("cannot read the agent ") + what + " " + path + " (check the path)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

Result<std::unique_ptr<AgentClient>> AgentClient::Connect(const std::string& address, const std::string& token,
                                                          milliseconds call_timeout, const AgentTls& tls) {
  if (address.find(':') == std::string::npos) {
    return Status::InvalidArgument("agent address '" + address + "' is not HOST:PORT");
  }
  if (tls.cacert.empty() && !token.empty() && !tls.insecure_transport && !IsLoopback(HostOf(address))) {
    return Status::InvalidArgument("refusing to send the agent token in clear text to " + address +
                                   ": set agent-cacert (TLS, docs/agent.md), or accept plain text with "
                                   "--insecure-transport (agent-insecure-transport: true)");
  }
  auto impl = std::make_unique<Impl>();
  impl->address = address;
  impl->token = token;
  impl->call_timeout = call_timeout;
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!tls.cacert.empty()) {
    grpc::SslCredentialsOptions o;
    LB_ASSIGN_OR_RETURN(o.pem_root_certs, ReadPem(tls.cacert, "CA certificate"));
    if (!tls.cert.empty()) {
      LB_ASSIGN_OR_RETURN(o.pem_cert_chain, ReadPem(tls.cert, "client certificate"));
      LB_ASSIGN_OR_RETURN(o.pem_private_key, ReadPem(tls.key, "client key"));
    }
    creds = grpc::SslCredentials(o);
  }
  impl->stub = pb::Agent::NewStub(grpc::CreateChannel(address, creds));
  return std::unique_ptr<AgentClient>(new AgentClient(std::move(impl)));
}

Result<AgentStatus> AgentClient::GetStatus() {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::GetStatusRequest req;
  pb::GetStatusResponse r;
  grpc::Status s = impl_->stub->GetStatus(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "GetStatus");
  AgentStatus a;
  a.etcd_running = r.etcd_running();
  a.pid = r.pid();
  a.data_dir_present = r.data_dir_present();
  a.data_dir_bytes = r.data_dir_bytes();
  a.free_bytes = r.free_bytes();
  a.etcd_version = r.etcd_version();
  a.member_name = r.member_name();
  a.peer_url = r.peer_url();
  a.client_url = r.client_url();
  a.data_dir = r.data_dir();
  a.mode = r.mode();
  a.min_free_bytes = r.min_free_bytes();
  a.staging_dir = r.staging_dir();
  a.staging_free_bytes = r.staging_free_bytes();
  a.quarantine_client_url = r.quarantine_client_url();
  a.lease = FromProto(r.lease());
  a.staging_on_other_fs = r.staging_on_other_fs();
  a.last_recovery = FromProto(r.last_recovery());
  a.stores.assign(r.stores().begin(), r.stores().end());
  for (const auto& c : r.staged()) a.staged[c.sha256()] = c.bytes();
  return a;
}

Result<bool> AgentClient::StopEtcd(milliseconds timeout) {
  grpc::ClientContext ctx;
  // The agent may SIGKILL after `timeout` and then wait a little more.
  impl_->Prepare(&ctx, timeout + std::chrono::seconds(15));
  pb::StopEtcdRequest req;
  req.set_timeout_ms(static_cast<uint32_t>(timeout.count()));
  pb::StopEtcdResponse r;
  grpc::Status s = impl_->stub->StopEtcd(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "StopEtcd");
  return r.was_running();
}

Result<StartResponse> AgentClient::StartEtcd(const StartRequest& in) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, in.timeout);
  pb::StartEtcdRequest req;
  req.set_initial_cluster(in.initial_cluster);
  req.set_initial_cluster_state(in.initial_cluster_state);
  req.set_initial_cluster_token(in.initial_cluster_token);
  req.set_timeout_ms(static_cast<uint32_t>(in.timeout.count()));
  req.set_quarantine(in.quarantine);
  pb::StartEtcdResponse r;
  grpc::Status s = impl_->stub->StartEtcd(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "StartEtcd");
  return StartResponse{r.pid(), r.version()};
}

Result<std::string> AgentClient::MoveDataAside() {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::MoveDataAsideRequest req;
  pb::MoveDataAsideResponse r;
  grpc::Status s = impl_->stub->MoveDataAside(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "MoveDataAside");
  return r.new_path();
}

Result<RestoreResponse> AgentClient::RestoreSnapshot(const RestoreRequest& in) {
  grpc::ClientContext ctx;
  // A restore reads and rewrites the whole db: allow it minutes, not the quick-call timeout.
  impl_->Prepare(&ctx, std::chrono::minutes(30));
  pb::RestoreSnapshotRequest req;
  req.set_snapshot_path(in.snapshot_path);
  req.set_name(in.name);
  req.set_initial_cluster(in.initial_cluster);
  req.set_initial_cluster_token(in.initial_cluster_token);
  req.set_peer_url(in.peer_url);
  req.set_skip_hash_check(in.skip_hash_check);
  req.set_expect_sha256(in.expect_sha256);
  req.set_target_version(in.target_version);
  req.set_bump_revision(in.bump_revision);
  req.set_mark_compacted(in.mark_compacted);
  pb::RestoreSnapshotResponse r;
  grpc::Status s = impl_->stub->RestoreSnapshot(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "RestoreSnapshot");
  RestoreResponse o;
  o.sha256 = r.sha256();
  o.data_dir = r.data_dir();
  o.revision = r.revision();
  o.member_id = r.member_id();
  o.cluster_id = r.cluster_id();
  o.live_keys = r.live_keys();
  o.target_version = r.target_version();
  return o;
}

Result<FetchResponse> AgentClient::FetchBackup(const FetchRequest& in) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, std::chrono::minutes(60));  // a download of GBs
  pb::FetchBackupRequest req;
  req.set_store_url(in.store_url);
  req.set_object_key(in.object_key);
  req.set_sha256(in.sha256);
  req.set_size(in.size);
  pb::FetchBackupResponse r;
  grpc::Status s = impl_->stub->FetchBackup(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "FetchBackup");
  FetchResponse out{r.path(), r.sha256(), r.revision(), r.live_keys(), r.cached(), r.in_place(),
                    r.cluster_version(), {}};
  for (const auto& m : r.members()) {
    out.members.push_back({m.name(), {m.peer_urls().begin(), m.peer_urls().end()},
                           {m.client_urls().begin(), m.client_urls().end()}, m.is_learner()});
  }
  return out;
}

Result<DropStagedResponse> AgentClient::DropStaged(const std::vector<std::string>& keep) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::DropStagedRequest req;
  for (const auto& k : keep) req.add_keep_sha256(k);
  pb::DropStagedResponse r;
  grpc::Status s = impl_->stub->DropStaged(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "DropStaged");
  return DropStagedResponse{{r.removed().begin(), r.removed().end()}, r.freed_bytes()};
}

namespace {
Result<uint64_t> ChangeMembership(pb::Agent::Stub& stub, const AgentClient& self, const pb::ChangeMembershipRequest& req,
                                  const std::function<void(grpc::ClientContext*)>& prepare) {
  grpc::ClientContext ctx;
  prepare(&ctx);
  pb::ChangeMembershipResponse r;
  grpc::Status s = stub.ChangeMembership(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, self.address(), "ChangeMembership");
  return r.member_id();
}
}  // namespace

Result<uint64_t> AgentClient::MemberRemove(uint64_t id) {
  pb::ChangeMembershipRequest req;
  req.set_kind(pb::ChangeMembershipRequest::REMOVE);
  req.set_member_id(id);
  return ChangeMembership(*impl_->stub, *this, req, [&](grpc::ClientContext* c) { impl_->Prepare(c, milliseconds(0)); });
}

Result<uint64_t> AgentClient::MemberAdd(const std::vector<std::string>& peer_urls, bool learner) {
  pb::ChangeMembershipRequest req;
  req.set_kind(pb::ChangeMembershipRequest::ADD);
  for (const auto& u : peer_urls) req.add_peer_urls(u);
  req.set_learner(learner);
  return ChangeMembership(*impl_->stub, *this, req, [&](grpc::ClientContext* c) { impl_->Prepare(c, milliseconds(0)); });
}

Result<uint64_t> AgentClient::MemberPromote(uint64_t id) {
  pb::ChangeMembershipRequest req;
  req.set_kind(pb::ChangeMembershipRequest::PROMOTE);
  req.set_member_id(id);
  return ChangeMembership(*impl_->stub, *this, req, [&](grpc::ClientContext* c) { impl_->Prepare(c, milliseconds(0)); });
}

const std::string& AgentClient::address() const { return impl_->address; }

Result<LeaseGrant> AgentClient::AcquireLease(const LeaseRequest& in) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::AcquireLeaseRequest req;
  req.mutable_lease()->set_owner_id(in.lease.owner_id);
  req.mutable_lease()->set_holder(in.lease.holder);
  req.mutable_lease()->set_operation(in.lease.operation);
  req.mutable_lease()->set_journal(in.lease.journal);
  req.set_ttl_ms(static_cast<uint32_t>(in.ttl.count()));
  req.set_break_lease(in.break_lease);
  pb::AcquireLeaseResponse r;
  grpc::Status s = impl_->stub->AcquireLease(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "AcquireLease");
  return LeaseGrant{FromProto(r.lease()), FromProto(r.previous())};
}

Result<LeaseInfo> AgentClient::RenewLease(const std::string& owner_id, uint64_t epoch, milliseconds ttl) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::RenewLeaseRequest req;
  req.set_owner_id(owner_id);
  req.set_epoch(epoch);
  req.set_ttl_ms(static_cast<uint32_t>(ttl.count()));
  pb::RenewLeaseResponse r;
  grpc::Status s = impl_->stub->RenewLease(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "RenewLease");
  return FromProto(r.lease());
}

Result<bool> AgentClient::ReleaseLease(const std::string& owner_id, uint64_t epoch, const RecoveryRecord* finished) {
  grpc::ClientContext ctx;
  impl_->Prepare(&ctx, milliseconds(0));
  pb::ReleaseLeaseRequest req;
  req.set_owner_id(owner_id);
  req.set_epoch(epoch);
  if (finished) {
    req.mutable_finished()->set_operation(finished->operation);
    req.mutable_finished()->set_backup(finished->backup);
  }
  pb::ReleaseLeaseResponse r;
  grpc::Status s = impl_->stub->ReleaseLease(&ctx, req, &r);
  if (!s.ok()) return FromGrpc(s, impl_->address, "ReleaseLease");
  return r.released();
}

void AgentClient::SetLease(const std::string& owner_id, uint64_t epoch) {
  impl_->lease_owner = owner_id;
  impl_->lease_epoch = epoch;
}

}  // namespace lifeboat::agent
