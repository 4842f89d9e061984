#include "snapshot/snap_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/errno_status.h"
#include "fmt/format.h"
#include "snapshot/crc32c.h"
#include "snapshot/file_reader.h"
#include "snapshot/go_json.h"
#include "snapshot/raft_messages.h"

namespace lifeboat::snapshot {
namespace {

constexpr char kZeroTime[] = "\"ExpireTime\":\"0001-01-01T00:00:00Z\"";
constexpr int kEventHistory = 1000;

// A v2 node (store/node.go's JSON). `children` is the already-encoded object, or null for a leaf.
std::string Node(std::string_view path, uint64_t index, std::string_view value_json, const std::string* children) {
  std::string s = "{\"Path\":";
  AppendGoJsonString(&s, path);
  s += fmt::format(",\"CreatedIndex\":{0},\"ModifiedIndex\":{0},{1},\"Value\":", index, kZeroTime);
  s += value_json;
  s += ",\"Children\":";
  s += children ? *children : "null";
  s += "}";
  return s;
}

std::string RaftAttributes(const ClusterMember& m) {
  std::string s = "{\"peerURLs\":[";
  for (size_t i = 0; i < m.peer_urls.size(); ++i) {
    if (i) s += ",";
    AppendGoJsonString(&s, m.peer_urls[i]);
  }
  return s + "]}";
}

}  // namespace

std::string V2StoreJson(const ClusterConfig& cluster) {
  const size_t n = cluster.members.size();
  // v2 indexes follow id order; the children object is keyed (and so sorted) by hex string.
  std::vector<std::pair<std::string, size_t>> by_hex;
  for (size_t i = 0; i < n; ++i) by_hex.emplace_back(IdString(cluster.members[i].id), i);
  std::sort(by_hex.begin(), by_hex.end());
  std::string members = "{";
  for (size_t k = 0; k < by_hex.size(); ++k) {
    const auto& [hex, i] = by_hex[k];
    const uint64_t index = i + 1;
    const std::string dir = "/0/members/" + hex;
    const std::string attr =
        Node(dir + "/raftAttributes", index, GoJsonString(RaftAttributes(cluster.members[i])), nullptr);
    const std::string children = "{\"raftAttributes\":" + attr + "}";
    if (k) members += ",";
    AppendGoJsonString(&members, hex);
    members += ":" + Node(dir, index, "\"\"", &children);
  }
  members += "}";
  const std::string zero_children = "{\"members\":" + Node("/0/members", 1, "\"\"", &members) + "}";
  const std::string empty = "{}";
  const std::string root_children =
      "{\"0\":" + Node("/0", 0, "\"\"", &zero_children) + ",\"1\":" + Node("/1", 0, "\"\"", &empty) + "}";

  std::string events = "[";
  for (size_t i = 0; i < n; ++i) {
    const auto& m = cluster.members[i];
    if (i) events += ",";
    events += "{\"action\":\"create\",\"node\":{\"key\":";
    AppendGoJsonString(&events, "/0/members/" + IdString(m.id) + "/raftAttributes");
    events += ",\"value\":";
    AppendGoJsonString(&events, RaftAttributes(m));
    events += fmt::format(",\"modifiedIndex\":{0},\"createdIndex\":{0}}}}}", i + 1);
  }
  for (size_t i = n; i < kEventHistory; ++i) events += (i ? ",null" : "null");
  events += "]";

  std::string s = "{\"Root\":" + Node("/", 0, "\"\"", &root_children);
  s += fmt::format(
      ",\"WatcherHub\":{{\"EventHistory\":{{\"Queue\":{{\"Events\":{0},\"Size\":{1},\"Front\":0,\"Back\":{1},"
      "\"Capacity\":{2}}},\"StartIndex\":1,\"LastIndex\":{1}}}}},\"CurrentIndex\":{1},",
      events, n, kEventHistory);
  s += fmt::format(
      "\"Stats\":{{\"getsSuccess\":0,\"getsFail\":0,\"setsSuccess\":0,\"setsFail\":0,\"deleteSuccess\":0,"
      "\"deleteFail\":0,\"updateSuccess\":0,\"updateFail\":0,\"createSuccess\":{},\"createFail\":0,"
      "\"compareAndSwapSuccess\":0,\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,"
      "\"compareAndDeleteFail\":0,\"expireCount\":0,\"watchers\":0}},\"CurrentVersion\":2}}",
      n);
  return s;
}

std::string SnapFileName(uint64_t term, uint64_t index) { return fmt::format("{:016x}-{:016x}.snap", term, index); }

Status WriteSnapFile(const std::string& dir, const ClusterConfig& cluster, uint64_t term, uint64_t index,
                     raftmsg::Marshal marshal) {
  std::vector<uint64_t> voters;
  for (const auto& m : cluster.members) voters.push_back(m.id);
  const std::string data =
      raftmsg::RaftSnapshot(V2StoreJson(cluster), raftmsg::SnapshotMetadata(voters, index, term, marshal));
  const std::string file = raftmsg::SnapFile(Crc32c(0, data), data);
  const std::string path = dir + "/" + SnapFileName(term, index);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return ErrnoStatus(errno, "create", path);
  Status st;
  size_t done = 0;
  while (st.ok() && done < file.size()) {
    ssize_t n = write(fd, file.data() + done, file.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      st = ErrnoStatus(errno, "write", path);
    else
      done += static_cast<size_t>(n);
  }
  if (st.ok() && fsync(fd) != 0) st = ErrnoStatus(errno, "fsync", path);
  if (close(fd) != 0 && st.ok()) st = ErrnoStatus(errno, "close", path);
  if (!st.ok()) unlink(path.c_str());
  return st;
}

Result<SnapFileContents> ReadSnapFile(const std::string& path) {
  LB_ASSIGN_OR_RETURN(auto f, FileReader::Open(path));
  if (f->size() == 0) return Status::Corruption(path + ": empty .snap file");
  if (f->size() > (1u << 30)) return Status::Corruption(path + ": implausibly large .snap file");
  std::string raw(f->size(), '\0');
  LB_RETURN_IF_ERROR(f->ReadDirect(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(raw.data()), raw.size())));
  SnapFileContents c;
  std::string data;
  proto::Reader r(raw);
  while (r.Next()) {
    if (r.field() == 1 && r.type() == proto::kVarint) c.crc = static_cast<uint32_t>(r.varint());
    if (r.field() == 2 && r.type() == proto::kBytes) data.assign(r.bytes());
  }
  if (!r.ok()) return Status::Corruption(path + ": not a snappb.Snapshot");
  if (data.empty()) return Status::Corruption(path + ": no data");
  if (c.crc == 0 || c.crc != Crc32c(0, data)) return Status::Corruption(path + ": CRC mismatch");
  std::string meta;
  proto::Reader rs(data);
  while (rs.Next()) {
    if (rs.field() == 1 && rs.type() == proto::kBytes) c.store_json.assign(rs.bytes());
    if (rs.field() == 2 && rs.type() == proto::kBytes) meta.assign(rs.bytes());
  }
  std::string cs;
  proto::Reader rm(meta);
  while (rm.Next()) {
    if (rm.field() == 1 && rm.type() == proto::kBytes) cs.assign(rm.bytes());
    if (rm.field() == 2 && rm.type() == proto::kVarint) c.index = rm.varint();
    if (rm.field() == 3 && rm.type() == proto::kVarint) c.term = rm.varint();
  }
  proto::Reader rc(cs);
  while (rc.Next()) {
    if (rc.field() == 1 && rc.type() == proto::kVarint) c.voters.push_back(rc.varint());
  }
  if (!rs.ok() || !rm.ok() || !rc.ok()) return Status::Corruption(path + ": raftpb.Snapshot does not parse");
  return c;
}

}  // namespace lifeboat::snapshot
