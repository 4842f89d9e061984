#include "ops/recovery/restore_journal.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/atomic_file.h"

namespace lifeboat::ops {
namespace {

using nlohmann::json;

constexpr RestorePhase kPhases[] = {RestorePhase::kPlanned,    RestorePhase::kSafetyBackup, RestorePhase::kStopped,
                                    RestorePhase::kMovedAside, RestorePhase::kRestored,     RestorePhase::kStarted,
                                    RestorePhase::kVerified,   RestorePhase::kOpened};

}  // namespace

const char* PhaseName(RestorePhase p) {
  switch (p) {
    case RestorePhase::kPlanned:
      return "planned";
    case RestorePhase::kSafetyBackup:
      return "safety-backup";
    case RestorePhase::kStopped:
      return "stopped";
    case RestorePhase::kMovedAside:
      return "moved-aside";
    case RestorePhase::kRestored:
      return "restored";
    case RestorePhase::kStarted:
      return "started";
    case RestorePhase::kVerified:
      return "verified";
    case RestorePhase::kOpened:
      return "opened";
  }
  return "?";
}

bool Finished(const RestoreJournal& j) {
  return j.phase == RestorePhase::kOpened || (j.phase == RestorePhase::kVerified && !j.quarantine);
}

std::string ToJson(const RestoreJournal& j) {
  json members = json::array();
  for (const auto& m : j.members) {
    members.push_back({{"name", m.name},
                       {"agent", m.agent},
                       {"client_url", m.client_url},
                       {"peer_url", m.peer_url},
                       {"data_dir", m.data_dir},
                       {"staged_path", m.staged_path},
                       {"stopped", m.stopped},
                       {"moved_to", m.moved_to},
                       {"restored", m.restored},
                       {"restored_sha256", m.restored_sha256},
                       {"member_id", m.member_id},
                       {"started", m.started},
                       {"quarantine_client_url", m.quarantine_client_url},
                       {"opened", m.opened},
                       {"lease_epoch", m.lease_epoch}});
  }
  json without = json::array();
  for (const auto& w : j.without) {
    without.push_back({{"name", w.name}, {"peer_url", w.peer_url}, {"why", w.why}, {"urls", w.urls}});
  }
  json out = {{"format_version", j.format_version},
              {"created_at", j.created_at},
              {"phase", PhaseName(j.phase)},
              {"store", j.store},
              {"backup_key", j.backup_key},
              {"sha256", j.sha256},
              {"size", j.size},
              {"revision", j.revision},
              {"live_keys", j.live_keys},
              {"source_cluster_name", j.source_cluster_name},
              {"source_member", j.source_member},
              {"cluster_token", j.cluster_token},
              {"initial_cluster", j.initial_cluster},
              {"target_version", j.target_version},
              {"bump_revision", j.bump_revision},
              {"mark_compacted", j.mark_compacted},
              {"restored_revision", j.restored_revision},
              {"cluster_id", j.cluster_id},
              {"safety_backup", j.safety_backup},
              {"quarantine", j.quarantine},
              {"lease_owner", j.lease_owner},
              {"members", members},
              {"without", without},
              {"membership_source", j.membership_source},
              {"last_error", j.last_error}};
  return out.dump(2) + "\n";
}

namespace {

// The fields below read a journal written by this or an older version (fields added since have
// defaults); each throws json::exception on a missing or mistyped one, which the caller reports
// as damage.

// The plan's own fields.
void ReadPlan(const json& in, RestoreJournal& j) {
  j.store = in.at("store").get<std::string>();
  j.backup_key = in.at("backup_key").get<std::string>();
  j.sha256 = in.at("sha256").get<std::string>();
  j.size = in.at("size").get<uint64_t>();
  j.revision = in.at("revision").get<int64_t>();
  j.live_keys = in.at("live_keys").get<uint64_t>();
  j.source_cluster_name = in.at("source_cluster_name").get<std::string>();
  j.source_member = in.at("source_member").get<std::string>();
  j.cluster_token = in.at("cluster_token").get<std::string>();
  j.initial_cluster = in.at("initial_cluster").get<std::string>();
  j.cluster_id = in.at("cluster_id").get<uint64_t>();
  j.safety_backup = in.at("safety_backup").get<std::string>();
  j.last_error = in.at("last_error").get<std::string>();
  j.quarantine = in.value("quarantine", false);  // absent in journals of older versions
  j.lease_owner = in.value("lease_owner", "");
  j.target_version = in.value("target_version", "");  // absent in journals of older versions
  j.bump_revision = in.value("bump_revision", uint64_t{0});
  j.mark_compacted = in.value("mark_compacted", false);
  j.restored_revision = in.value("restored_revision", int64_t{0});
}

MemberJournal ReadMember(const json& m) {
  MemberJournal mj;
  mj.name = m.at("name").get<std::string>();
  mj.agent = m.at("agent").get<std::string>();
  mj.client_url = m.at("client_url").get<std::string>();
  mj.peer_url = m.at("peer_url").get<std::string>();
  mj.data_dir = m.at("data_dir").get<std::string>();
  mj.staged_path = m.at("staged_path").get<std::string>();
  mj.stopped = m.at("stopped").get<bool>();
  mj.moved_to = m.at("moved_to").get<std::vector<std::string>>();
  mj.restored = m.at("restored").get<bool>();
  mj.restored_sha256 = m.at("restored_sha256").get<std::string>();
  mj.member_id = m.at("member_id").get<uint64_t>();
  mj.started = m.at("started").get<bool>();
  mj.quarantine_client_url = m.value("quarantine_client_url", "");
  mj.opened = m.value("opened", false);
  mj.lease_epoch = m.value("lease_epoch", uint64_t{0});
  return mj;
}

// The journal, once its format and phase are known to be ones this version reads.
Status ReadJournal(const json& in, RestoreJournal& j) {
  j.format_version = in.at("format_version").get<int>();
  if (j.format_version != 1 && j.format_version != 2) {
    return Status::InvalidArgument("restore journal format " + std::to_string(j.format_version) +
                                   " is not supported by this lifeboat (resume with the version that wrote it)");
  }
  j.created_at = in.at("created_at").get<std::string>();
  std::string phase = in.at("phase").get<std::string>();
  bool known = false;
  for (RestorePhase p : kPhases) {
    if (phase == PhaseName(p)) {
      j.phase = p;
      known = true;
    }
  }
  if (!known) return Status::Corruption("restore journal: unknown phase '" + phase + "'");
  ReadPlan(in, j);
  for (const auto& m : in.at("members")) j.members.push_back(ReadMember(m));
  for (const auto& w : in.value("without", json::array())) {
    j.without.push_back({w.at("name").get<std::string>(), w.value("peer_url", ""), w.value("why", ""),
                         w.value("urls", std::vector<std::string>{})});
  }
  j.membership_source = in.value("membership_source", "");
  return Status::OK();
}

}  // namespace

Result<RestoreJournal> ParseRestoreJournal(const std::string& text) {
  RestoreJournal j;
  try {
    LB_RETURN_IF_ERROR(ReadJournal(json::parse(text), j));
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("restore journal is damaged: ") + e.what() +
                              " (inspect it; the data dirs it names are never deleted)");
  }
  return j;
}

Status SaveJournal(const std::string& path, const RestoreJournal& j) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) LB_RETURN_IF_ERROR(MakeDirs(dir));
  LB_ASSIGN_OR_RETURN(auto f, AtomicFile::Create(path, 0600));
  std::string text = ToJson(j);
  LB_RETURN_IF_ERROR(f->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return f->Commit();
}

Result<RestoreJournal> LoadJournal(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("no restore journal at " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = ParseRestoreJournal(ss.str());
  if (!j.ok()) return j.status().Annotate(path);
  return j;
}

}  // namespace lifeboat::ops
