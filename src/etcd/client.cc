#include "etcd/client.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "rpc.grpc.pb.h"

namespace lifeboat::etcd {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

std::string IdHex(uint64_t id) {
  std::ostringstream os;
  os << std::hex << id;
  return os.str();
}

namespace {

Result<std::string> ReadPem(const std::string& path, const char* flag, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(std::string("cannot read ") + flag + " " + path + " (pass " + what + ")");
  }
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

Header FromPb(const pb::ResponseHeader& h) {
  return Header{h.cluster_id(), h.member_id(), h.revision(), h.raft_term()};
}

Member FromPb(const pb::Member& m) {
  Member mm;
  mm.id = m.id();
  mm.name = m.name();
  mm.peer_urls.assign(m.peerurls().begin(), m.peerurls().end());
  mm.client_urls.assign(m.clienturls().begin(), m.clienturls().end());
  mm.is_learner = m.islearner();
  return mm;
}

std::string Seconds(std::chrono::milliseconds d) {
  std::ostringstream os;
  os << static_cast<double>(d.count()) / 1000.0 << "s";
  return os.str();
}

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// gRPC logs every failed handshake and reconnect to stderr itself; lifeboat reports each failure
// once, as a Status with a fix. LIFEBOAT_GRPC_LOG=1 keeps gRPC's own lines for debugging.
void QuietGrpcLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* keep = std::getenv("LIFEBOAT_GRPC_LOG");
    if (keep == nullptr || std::string(keep) != "1") gpr_set_log_function([](gpr_log_func_args*) {});
  });
}

// gRPC's "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:2379: Failed to
// connect to remote host: Connection refused" says "connection refused" once the address (already
// named by the caller) and the layers are taken off.
std::string TidyConnectError(std::string m) {
  auto cut_after = [&](const std::string& marker) {
    size_t p = m.rfind(marker);
    if (p != std::string::npos) m = m.substr(p + marker.size());
  };
  cut_after("last error: ");
  cut_after("Failed to connect to remote host: ");
  if (m.rfind("UNKNOWN: ", 0) == 0) m = m.substr(9);
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z' && (m.size() < 2 || (m[1] >= 'a' && m[1] <= 'z'))) m[0] = static_cast<char>(m[0] - 'A' + 'a');
  return m;
}

// A side thread beside one stream: it cancels the stream when nothing arrived for `idle`
// (0: never; the stream then ends and stalled() says why), and calls `every` each `period`
// (0: never) until it returns false. The stream's reader calls Touch() on every message.
class StreamGuard {
 public:
  StreamGuard(grpc::ClientContext& ctx, std::chrono::milliseconds idle, std::chrono::milliseconds period = {},
              std::function<bool()> every = {})
      : ctx_(ctx), idle_(idle), period_(period), every_(std::move(every)) {
    Touch();
    thread_ = std::thread([this] { Run(); });
  }
  ~StreamGuard() { Stop(); }
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

  void Touch() { last_ns_ = Clock::now().time_since_epoch().count(); }
  bool stalled() const { return stalled_.load(); }
  void Stop() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lk(mu_);
    auto next = Clock::now() + period_;
    while (!cv_.wait_for(lk, std::chrono::milliseconds(100), [&] { return done_; })) {
      auto now = Clock::now();
      if (idle_.count() > 0 && now - Clock::time_point(Clock::duration(last_ns_.load())) > idle_) {
        stalled_ = true;
        ctx_.TryCancel();
        return;
      }
      if (period_.count() > 0 && now >= next) {
        next = now + period_;
        if (!every_()) period_ = std::chrono::milliseconds(0);
      }
    }
  }

  grpc::ClientContext& ctx_;
  const std::chrono::milliseconds idle_;
  std::chrono::milliseconds period_;
  std::function<bool()> every_;
  std::atomic<int64_t> last_ns_{0};
  std::atomic<bool> stalled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

struct Client::Impl {
  Endpoint ep;
  ClientOptions opts;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Cluster::Stub> cluster;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  std::unique_ptr<pb::Auth::Stub> auth;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::string token;

  void Prepare(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) const {
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    if (!token.empty()) ctx.AddMetadata("token", token);
  }

  // Turns a gRPC failure into a one-line message that names the member, what failed and the fix.
  // etcd's message names the cause more precisely than the code does, so it is read first.
  lifeboat::Status Map(const grpc::Status& s, const std::string& what) const {
    const std::string at = ep.url + ": " + what;
    if (std::optional<lifeboat::Status> known = MapEtcdMessage(s.error_message(), at)) return *known;
    return MapCode(s, at);
  }

  // The failures etcd names in its message (auth, membership, leader, compaction); nullopt when
  // the message is none of them.
  std::optional<lifeboat::Status> MapEtcdMessage(const std::string& m, const std::string& at) const {
    if (Contains(m, "authentication failed")) {
      return lifeboat::Status::Unauthenticated(at + ": wrong user name or password for user '" + opts.user +
                                               "' (check --user/--password)");
    }
    if (Contains(m, "user name is empty")) {
      return lifeboat::Status::PermissionDenied(
          at + ": the cluster has authentication enabled (pass --user NAME:PASSWORD)");
    }
    if (Contains(m, "user not found") || Contains(m, "user name not found")) {
      return lifeboat::Status::PermissionDenied(
          at + ": etcd does not know the user " +
          (opts.user.empty() ? std::string("named by the client certificate's CN") : "'" + opts.user + "'") +
          " (pass --user NAME:PASSWORD of an etcd user with the root role)");
    }
    if (Contains(m, "permission denied")) {
      return lifeboat::Status::PermissionDenied(at + ": user '" + opts.user +
                                                "' is not allowed to do this (use a user with the root role)");
    }
    if (Contains(m, "unhealthy cluster")) {
      // etcd refuses membership changes until every voter has been connected for 5 s.
      return lifeboat::Status::FailedPrecondition(at + ": etcd says the cluster is not healthy enough to change "
                                                  "membership (every member must be connected for 5 s; retry)");
    }
    if (Contains(m, "can only promote a learner member which is in sync with leader")) {
      return lifeboat::Status::FailedPrecondition(at + ": the learner has not caught up with the leader yet");
    }
    if (Contains(m, "no leader")) {
      return lifeboat::Status::Unavailable(at + ": the member has no leader (cut off from the other members?)");
    }
    if (Contains(m, "required revision has been compacted")) {
      return lifeboat::Status::FailedPrecondition(at + ": required revision has been compacted");
    }
    return std::nullopt;
  }

  // A failure etcd did not name: the gRPC code says which fix to suggest.
  lifeboat::Status MapCode(const grpc::Status& s, const std::string& at) const {
    const std::string& m = s.error_message();
    switch (s.error_code()) {
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        return lifeboat::Status::DeadlineExceeded(at + ": no answer within " + Seconds(opts.command_timeout) +
                                                  " (raise --command-timeout or check the member)");
      case grpc::StatusCode::UNAVAILABLE:
        return MapUnavailable(m, at);
      case grpc::StatusCode::UNAUTHENTICATED:
        return lifeboat::Status::Unauthenticated(at + ": " + m + " (check --user/--password)");
      case grpc::StatusCode::PERMISSION_DENIED:
        return lifeboat::Status::PermissionDenied(at + ": " + m + " (use a user with the root role)");
      case grpc::StatusCode::CANCELLED:
        return lifeboat::Status::Aborted(at + ": cancelled: " + m);
      default:
        return lifeboat::Status::Unavailable(at + ": " + m);
    }
  }

  // UNAVAILABLE covers a refused port and a failed TLS handshake alike; the message tells them
  // apart, and each has a different fix.
  lifeboat::Status MapUnavailable(const std::string& m, const std::string& at) const {
    if (Contains(m, "andshake") || Contains(m, "CERTIFICATE") || Contains(m, "certificate") || Contains(m, "SSL") ||
        Contains(m, "ssl")) {
      return lifeboat::Status::Unauthenticated(
          at + ": TLS handshake failed: " + m +
          " (check that --cacert is the CA that signed etcd's certificate and that --cert/--key are a pair "
          "etcd trusts)");
    }
    if (ep.tls && (Contains(m, "Endpoint read failed") || Contains(m, "Socket closed") ||
                   Contains(m, "Connection reset by peer"))) {
      // The server hangs up mid-handshake when it rejects our client certificate; which of
      // these the first failed attempt reports depends on timing.
      return lifeboat::Status::Unauthenticated(
          at + ": the server closed the TLS connection: " + m +
          " (it probably rejected the client certificate: check that --cert/--key are signed by a CA etcd "
          "trusts)");
    }
    return lifeboat::Status::Unavailable(at + ": unreachable: " + TidyConnectError(m) +
                                         " (check that etcd runs there and that --endpoints is right)");
  }

  // Why the channel did not become ready: a fail-fast call on a failed channel returns gRPC's
  // reason (refused, TLS handshake, ...); one that times out means the dial was too slow.
  lifeboat::Status DialFailure() const {
    pb::StatusRequest req;
    pb::StatusResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::Status s = maintenance->Status(&ctx, req, &resp);
    if (s.ok() || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return lifeboat::Status::Unavailable(ep.url + ": cannot connect within " + Seconds(opts.dial_timeout) +
                                           " (check that etcd runs there, or raise --dial-timeout)");
    }
    return Map(s, "connect");
  }

  static bool TokenExpired(const grpc::Status& s) {
    return Contains(s.error_message(), "invalid auth token") || Contains(s.error_message(), "invalid auth revision");
  }

  lifeboat::Status Authenticate() {
    token.clear();
    pb::AuthenticateRequest req;
    req.set_name(opts.user);
    req.set_password(opts.password);
    pb::AuthenticateResponse resp;
    grpc::ClientContext ctx;
    Prepare(ctx, opts.command_timeout);
    grpc::Status s = auth->Authenticate(&ctx, req, &resp);
    if (!s.ok()) return Map(s, "authenticate");
    token = resp.token();
    return lifeboat::Status::OK();
  }

  // Runs one unary call; re-authenticates once when the server says the token has expired.
  template <typename Fn>
  lifeboat::Status Call(const std::string& what, Fn&& fn, std::chrono::milliseconds timeout = {}) {
    if (timeout.count() == 0) timeout = opts.command_timeout;
    for (int attempt = 0;; ++attempt) {
      grpc::ClientContext ctx;
      Prepare(ctx, timeout);
      grpc::Status s = fn(ctx);
      if (s.ok()) return lifeboat::Status::OK();
      if (attempt == 0 && !opts.user.empty() && TokenExpired(s)) {
        LB_RETURN_IF_ERROR(Authenticate());
        continue;
      }
      return Map(s, what);
    }
  }

  lifeboat::Status AlarmList(pb::AlarmResponse& resp);
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

const Endpoint& Client::endpoint() const { return impl_->ep; }

namespace {

// The channel's credentials: TLS with the given CA and client pair when the endpoint is
// https, plain text otherwise.
Result<std::shared_ptr<grpc::ChannelCredentials>> Credentials(const Endpoint& ep, const ClientOptions& options) {
  if (!ep.tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  if (!options.cacert.empty()) {
    LB_ASSIGN_OR_RETURN(ssl.pem_root_certs,
                        ReadPem(options.cacert, "--cacert", "the CA certificate that signed etcd's certificate"));
  }
  if (!options.cert.empty()) {
    LB_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(options.cert, "--cert", "a client certificate"));
    LB_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(options.key, "--key", "the client certificate's key"));
  }
  return grpc::SslCredentials(ssl);
}

grpc::ChannelArguments ChannelArgs(const ClientOptions& options) {
  grpc::ChannelArguments args;
  // Reconnect fast: members restart during recovery and we poll them with short deadlines.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // gRPC also uses this as the time one connection attempt (TCP, TLS, HTTP/2 SETTINGS) may
  // take: it must be the whole dial timeout, or a TLS handshake on a busy host fails the dial.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(std::max<int64_t>(100, options.dial_timeout.count())));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  // A fixed 8 MiB flow-control window instead of gRPC's bandwidth-delay probing, which lets a
  // member run tens of MiB ahead of a snapshot reader paused by its disk, all of it buffered in
  // our memory. 8 MiB still fills 800 MB/s at a 10 ms round trip.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8 << 20);
  // One channel per member: never share a subchannel between two Clients of the same endpoint,
  // so a stalled snapshot stream cannot block another client's calls.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

// Waits for the channel to be ready, but gives up at the first failed attempt: a refused port
// fails in microseconds, and waiting out the whole dial timeout would make every dead member
// cost seconds.
bool WaitUntilReady(grpc::Channel& channel, std::chrono::milliseconds dial_timeout) {
  const auto deadline = std::chrono::system_clock::now() + dial_timeout;
  for (grpc_connectivity_state st = channel.GetState(true);;) {
    if (st == GRPC_CHANNEL_READY) return true;
    if (st == GRPC_CHANNEL_TRANSIENT_FAILURE || st == GRPC_CHANNEL_SHUTDOWN) return false;
    if (!channel.WaitForStateChange(st, deadline)) return false;
    st = channel.GetState(true);
  }
}

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& endpoint, const ClientOptions& options) {
  QuietGrpcLogs();
  bool have_tls_files = !options.cacert.empty() || !options.cert.empty() || !options.key.empty();
  LB_ASSIGN_OR_RETURN(Endpoint ep, ParseEndpoint(endpoint, have_tls_files));
  if (options.cert.empty() != options.key.empty()) {
    return Status::InvalidArgument("--cert and --key go together (pass both, or neither)");
  }
  LB_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds, Credentials(ep, options));

  auto impl = std::make_unique<Impl>();
  impl->ep = ep;
  impl->opts = options;
  impl->channel = grpc::CreateCustomChannel(ep.target, creds, ChannelArgs(options));
  impl->kv = pb::KV::NewStub(impl->channel);
  impl->cluster = pb::Cluster::NewStub(impl->channel);
  impl->maintenance = pb::Maintenance::NewStub(impl->channel);
  impl->auth = pb::Auth::NewStub(impl->channel);
  impl->lease = pb::Lease::NewStub(impl->channel);
  impl->watch = pb::Watch::NewStub(impl->channel);

  if (!WaitUntilReady(*impl->channel, options.dial_timeout)) return impl->DialFailure();
  if (!options.user.empty()) LB_RETURN_IF_ERROR(impl->Authenticate());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<MemberStatus> Client::Status() {
  pb::StatusRequest req;
  pb::StatusResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("status", [&](grpc::ClientContext& ctx) {
    return impl_->maintenance->Status(&ctx, req, &resp);
  }));
  MemberStatus st;
  st.header = FromPb(resp.header());
  st.version = resp.version();
  st.db_size = resp.dbsize();
  st.db_size_in_use = resp.dbsizeinuse();
  st.leader = resp.leader();
  st.raft_index = resp.raftindex();
  st.raft_term = resp.raftterm();
  st.raft_applied_index = resp.raftappliedindex();
  st.errors.assign(resp.errors().begin(), resp.errors().end());
  st.is_learner = resp.islearner();
  st.storage_version = resp.storageversion();
  return st;
}

Result<std::vector<Member>> Client::MemberList() {
  pb::MemberListRequest req;
  pb::MemberListResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("member list", [&](grpc::ClientContext& ctx) {
    return impl_->cluster->MemberList(&ctx, req, &resp);
  }));
  std::vector<Member> out;
  for (const auto& m : resp.members()) out.push_back(FromPb(m));
  return out;
}

Result<Member> Client::MemberAdd(const std::vector<std::string>& peer_urls, bool learner) {
  pb::MemberAddRequest req;
  for (const auto& u : peer_urls) req.add_peerurls(u);
  req.set_islearner(learner);
  pb::MemberAddResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("member add", [&](grpc::ClientContext& ctx) {
    return impl_->cluster->MemberAdd(&ctx, req, &resp);
  }));
  return FromPb(resp.member());
}

lifeboat::Status Client::MemberRemove(uint64_t id) {
  pb::MemberRemoveRequest req;
  req.set_id(id);
  pb::MemberRemoveResponse resp;
  return impl_->Call("member remove " + IdHex(id), [&](grpc::ClientContext& ctx) {
    return impl_->cluster->MemberRemove(&ctx, req, &resp);
  });
}

lifeboat::Status Client::MemberPromote(uint64_t id) {
  pb::MemberPromoteRequest req;
  req.set_id(id);
  pb::MemberPromoteResponse resp;
  return impl_->Call("member promote " + IdHex(id), [&](grpc::ClientContext& ctx) {
    return impl_->cluster->MemberPromote(&ctx, req, &resp);
  });
}

// etcd answers an alarm list through raft. A member that still follows a leader that just died
// forwards the proposal to it, where it is lost, and the call would wait out its whole
// deadline although a new leader is elected within about a second. So the call is tried with
// growing deadlines (1 s, 2 s, then what is left of the command timeout), each try a new
// proposal that the new leader commits.
lifeboat::Status Client::Impl::AlarmList(pb::AlarmResponse& resp) {
  pb::AlarmRequest req;
  req.set_action(pb::AlarmRequest::GET);
  const auto until = std::chrono::steady_clock::now() + opts.command_timeout;
  for (std::chrono::milliseconds attempt(1000);; attempt *= 2) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    const bool last = left <= attempt;
    lifeboat::Status s = Call("alarm list", [&](grpc::ClientContext& ctx) {
      return maintenance->Alarm(&ctx, req, &resp);
    }, last ? std::max(left, std::chrono::milliseconds(1)) : attempt);
    if (s.ok() || last || s.code() != lifeboat::Status::Code::kDeadlineExceeded) return s;
  }
}

Result<std::vector<Alarm>> Client::Alarms() {
  pb::AlarmResponse resp;
  LB_RETURN_IF_ERROR(impl_->AlarmList(resp));
  std::vector<Alarm> out;
  for (const auto& a : resp.alarms()) {
    out.push_back(Alarm{a.memberid(), pb::AlarmType_Name(a.alarm())});
  }
  return out;
}

Result<KvHash> Client::HashKV(int64_t revision) {
  pb::HashKVRequest req;
  req.set_revision(revision);
  pb::HashKVResponse resp;
  // HashKV reads the member's whole key space: etcd 3.4's first one on a GB-sized db takes longer
  // than etcdctl's 5 s default, so it gets at least a minute.
  auto timeout = std::max(impl_->opts.command_timeout, std::chrono::milliseconds(60000));
  LB_RETURN_IF_ERROR(impl_->Call(
      "hashkv", [&](grpc::ClientContext& ctx) { return impl_->maintenance->HashKV(&ctx, req, &resp); }, timeout));
  return KvHash{FromPb(resp.header()), resp.hash(), resp.compact_revision()};
}

Result<int64_t> Client::Count(const std::string& key, const std::string& range_end, int64_t revision,
                              bool serializable) {
  pb::RangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  req.set_revision(revision);
  req.set_serializable(serializable);
  req.set_count_only(true);
  pb::RangeResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("count keys", [&](grpc::ClientContext& ctx) {
    return impl_->kv->Range(&ctx, req, &resp);
  }));
  return resp.count();
}

Result<int64_t> Client::Put(const std::string& key, const std::string& value, std::chrono::seconds ttl) {
  pb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  if (ttl.count() > 0) {
    LB_ASSIGN_OR_RETURN(int64_t lease, GrantLease(ttl));
    req.set_lease(lease);
  }
  pb::PutResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("put", [&](grpc::ClientContext& ctx) {
    return impl_->kv->Put(&ctx, req, &resp);
  }));
  return resp.header().revision();
}

Result<std::optional<std::string>> Client::Get(const std::string& key) {
  pb::RangeRequest req;
  req.set_key(key);
  pb::RangeResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("get", [&](grpc::ClientContext& ctx) { return impl_->kv->Range(&ctx, req, &resp); }));
  if (resp.kvs_size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(resp.kvs(0).value());
}

Result<int64_t> Client::GrantLease(std::chrono::seconds ttl) {
  pb::LeaseGrantRequest req;
  req.set_ttl(ttl.count());
  pb::LeaseGrantResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("lease grant", [&](grpc::ClientContext& ctx) {
    return impl_->lease->LeaseGrant(&ctx, req, &resp);
  }));
  return resp.id();
}

Result<LeaseTtl> Client::LeaseTimeToLive(int64_t id) {
  pb::LeaseTimeToLiveRequest req;
  req.set_id(id);
  pb::LeaseTimeToLiveResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("lease timetolive", [&](grpc::ClientContext& ctx) {
    return impl_->lease->LeaseTimeToLive(&ctx, req, &resp);
  }));
  return LeaseTtl{resp.id(), resp.ttl(), resp.grantedttl()};
}

Result<bool> Client::CreateIfAbsent(const std::string& key, const std::string& value, std::chrono::seconds ttl) {
  LB_ASSIGN_OR_RETURN(int64_t lease, GrantLease(ttl));
  pb::TxnRequest req;
  auto* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_target(pb::Compare::CREATE);
  cmp->set_result(pb::Compare::EQUAL);
  cmp->set_create_revision(0);  // "the key does not exist"
  auto* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  pb::TxnResponse resp;
  LB_RETURN_IF_ERROR(impl_->Call("txn", [&](grpc::ClientContext& ctx) { return impl_->kv->Txn(&ctx, req, &resp); }));
  return resp.succeeded();
}

lifeboat::Status Client::Snapshot(const SnapshotSink& sink, std::chrono::milliseconds idle_timeout) {
  // No overall deadline: a large snapshot legitimately takes minutes. A watchdog cancels the
  // stream instead when the member stops sending (stalled, partitioned, paused).
  grpc::ClientContext ctx;
  if (!impl_->token.empty()) ctx.AddMetadata("token", impl_->token);
  pb::SnapshotRequest req;
  auto reader = impl_->maintenance->Snapshot(&ctx, req);

  StreamGuard guard(ctx, idle_timeout);

  lifeboat::Status sink_status;
  uint64_t received = 0;
  uint64_t image_size = 0;
  bool first = true;
  pb::SnapshotResponse resp;
  while (reader->Read(&resp)) {
    guard.Touch();
    if (first) {
      image_size = resp.remaining_bytes() + resp.blob().size();
      first = false;
    }
    const auto& blob = resp.blob();
    received += blob.size();
    sink_status = sink(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()),
                       image_size);
    if (!sink_status.ok()) {
      ctx.TryCancel();
      break;
    }
  }
  guard.Stop();
  grpc::Status s = reader->Finish();

  if (!sink_status.ok()) return sink_status;
  if (guard.stalled()) {
    return lifeboat::Status::DeadlineExceeded(
        impl_->ep.url + ": snapshot stream stalled: no data for " + Seconds(idle_timeout) + " after " +
        std::to_string(received) + " bytes (check the member, or raise --stall-timeout)");
  }
  if (!s.ok()) return impl_->Map(s, "snapshot failed after " + std::to_string(received) + " bytes");
  if (first || received != image_size + 32) {
    return lifeboat::Status::Corruption(impl_->ep.url + ": snapshot stream ended after " + std::to_string(received) +
                                        " of " + std::to_string(image_size + 32) +
                                        " bytes (the member may have restarted; run the backup again)");
  }
  return lifeboat::Status::OK();
}

namespace {

KeyValue FromPb(const mvccpb::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version(), kv.lease()};
}

}  // namespace

namespace {

void AppendEvents(const pb::WatchResponse& resp, WatchBatch& batch) {
  for (const auto& e : resp.events()) {
    WatchEvent we;
    we.is_delete = e.type() == mvccpb::Event::DELETE;
    we.kv = FromPb(e.kv());
    we.has_prev = e.has_prev_kv();
    if (we.has_prev) we.prev = FromPb(e.prev_kv());
    batch.events.push_back(std::move(we));
  }
}

pb::WatchRequest CreateRequest(const std::string& key, const std::string& range_end, int64_t start_revision,
                               const WatchOptions& options) {
  pb::WatchRequest create;
  auto* cr = create.mutable_create_request();
  cr->set_key(key);
  cr->set_range_end(range_end);
  cr->set_start_revision(start_revision);
  cr->set_prev_kv(options.prev_kv);
  cr->set_progress_notify(true);
  // etcd splits a response larger than its max request size (1.5 MiB by default) into
  // fragments: a catch-up batch of large values could otherwise exceed our 64 MiB receive limit.
  // ReadWatch joins the fragments again, so the sink always sees whole responses.
  cr->set_fragment(true);
  return create;
}

// The end a response announces (a compaction past the start revision, or a cancel by the
// member); nullopt while the watch goes on.
std::optional<lifeboat::Status> EndAnnounced(const pb::WatchResponse& resp, const std::string& at,
                                             int64_t* compact_revision) {
  if (resp.compact_revision() > 0) {
    if (compact_revision != nullptr) *compact_revision = resp.compact_revision();
    return lifeboat::Status::FailedPrecondition(at + " is impossible: compacted at " +
                                                std::to_string(resp.compact_revision()) +
                                                " (start from a newer full backup)");
  }
  if (resp.canceled()) {
    return lifeboat::Status::Unavailable(at + ": canceled by the member: " + resp.cancel_reason());
  }
  return std::nullopt;
}

using WatchStream = grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>;

// Reads responses into whole batches for the sink until the stream ends. Returns the status
// the watch ends with when it ends here (by the sink or by a response that ends the watch);
// nullopt when the stream ended on its own (closed, broken or cancelled by the guard).
std::optional<lifeboat::Status> ReadWatch(WatchStream& stream, StreamGuard& guard, const std::string& at,
                                          const WatchSink& sink, int64_t* compact_revision) {
  pb::WatchResponse resp;
  WatchBatch pending;
  while (stream.Read(&resp)) {
    guard.Touch();
    if (std::optional<lifeboat::Status> end = EndAnnounced(resp, at, compact_revision)) return end;
    if (resp.created() && resp.events_size() == 0) continue;
    AppendEvents(resp, pending);
    if (resp.fragment()) continue;  // more of this response follows
    pending.header_revision = resp.header().revision();
    Result<bool> more = sink(pending);
    pending = WatchBatch{};
    if (!more.ok() || !*more) return more.status();
  }
  return std::nullopt;
}

}  // namespace

lifeboat::Status Client::Watch(const std::string& key, const std::string& range_end, int64_t start_revision,
                               const WatchOptions& options, const WatchSink& sink, int64_t* compact_revision) {
  grpc::ClientContext ctx;  // no deadline: a watch lives as long as its caller wants
  if (!impl_->token.empty()) ctx.AddMetadata("token", impl_->token);
  if (options.require_leader) ctx.AddMetadata("hasleader", "true");  // etcd's WithRequireLeader
  auto stream = impl_->watch->Watch(&ctx);
  if (!stream->Write(CreateRequest(key, range_end, start_revision, options))) {
    return impl_->Map(stream->Finish(), "watch");
  }

  // The only writer after the create request: progress requests.
  StreamGuard guard(ctx, options.stall_timeout, options.progress_every, [&] {
    pb::WatchRequest req;
    req.mutable_progress_request();
    return stream->Write(req);
  });
  const std::string at = impl_->ep.url + ": watch from revision " + std::to_string(start_revision);
  std::optional<lifeboat::Status> ended_here = ReadWatch(*stream, guard, at, sink, compact_revision);
  guard.Stop();
  if (ended_here) ctx.TryCancel();
  grpc::Status s = stream->Finish();
  if (ended_here) return *ended_here;
  if (guard.stalled()) {
    return lifeboat::Status::Unavailable(at + ": stalled: nothing received for " + Seconds(options.stall_timeout) +
                                         " (cut off from the member, or the member hangs)");
  }
  // Every other end is the member's or the network's: CANCELLED here is a server that went away
  // (etcd shutting down), never our own cancel.
  if (s.ok() || s.error_code() == grpc::StatusCode::CANCELLED) {
    return lifeboat::Status::Unavailable(at + ": the member closed the stream");
  }
  return impl_->Map(s, "watch from revision " + std::to_string(start_revision));
}

}  // namespace lifeboat::etcd
