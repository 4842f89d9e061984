#include "catalog/drill_record.h"

#include <nlohmann/json.hpp>

#include "catalog/layout.h"

namespace lifeboat::catalog {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::string DrillKey(std::string_view object_key) {
  std::string k(object_key);
  if (EndsWith(k, kObjectSuffix)) k.resize(k.size() - kObjectSuffix.size());
  return k + std::string(kDrillSuffix);
}

bool IsDrillKey(std::string_view key) { return EndsWith(key, kDrillSuffix); }

std::string ObjectOfDrillKey(std::string_view drill_key) {
  std::string k(drill_key.substr(0, drill_key.size() - kDrillSuffix.size()));
  // DrillKey drops ".db" only from plain objects; an encoded one ("x.db.zst", "x.db.enc") keeps its name.
  if (k.find(std::string(kObjectSuffix) + ".") != std::string::npos) return k;
  return k + std::string(kObjectSuffix);
}

std::string ToJson(const DrillRecord& r) {
  nlohmann::json j = {{"object_key", r.object_key},
                      {"drilled_at", r.drilled_at},
                      {"ok", r.ok},
                      {"error", r.error},
                      {"seconds", r.seconds},
                      {"expected_revision", r.expected_revision},
                      {"expected_keys", r.expected_keys},
                      {"revision", r.revision},
                      {"keys", r.keys},
                      {"etcd_version", r.etcd_version},
                      {"hashkv_revision", r.hashkv_revision},
                      {"bump_revision", r.bump_revision}};
  return j.dump(2);
}

Result<DrillRecord> ParseDrillRecord(std::string_view text) {
  DrillRecord r;
  try {
    auto j = nlohmann::json::parse(text);
    r.object_key = j.at("object_key").get<std::string>();
    r.drilled_at = j.at("drilled_at").get<std::string>();
    r.ok = j.at("ok").get<bool>();
    r.error = j.at("error").get<std::string>();
    r.seconds = j.at("seconds").get<double>();
    r.expected_revision = j.at("expected_revision").get<int64_t>();
    r.expected_keys = j.at("expected_keys").get<uint64_t>();
    r.revision = j.at("revision").get<int64_t>();
    r.keys = j.at("keys").get<int64_t>();
    r.etcd_version = j.at("etcd_version").get<std::string>();
    r.hashkv_revision = j.value("hashkv_revision", int64_t{0});  // absent in older records
    r.bump_revision = j.value("bump_revision", uint64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return Status::Corruption(std::string("drill record: ") + e.what());
  }
  return r;
}

Status WriteDrillRecord(store::Store& store, const DrillRecord& r) {
  LB_ASSIGN_OR_RETURN(auto w, store.Create(DrillKey(r.object_key)));
  std::string text = ToJson(r);
  Status s = w->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  if (s.ok()) s = w->Commit();
  if (!s.ok()) w->Abort();
  return s;
}

Result<std::optional<DrillRecord>> ReadDrillRecord(store::Store& store, std::string_view object_key) {
  std::string text;
  Status s = store.Read(DrillKey(object_key), [&](std::span<const uint8_t> c) {
    text.append(reinterpret_cast<const char*>(c.data()), c.size());
    return Status::OK();
  });
  if (s.code() == Status::Code::kNotFound) return std::optional<DrillRecord>();
  if (!s.ok()) return s;
  LB_ASSIGN_OR_RETURN(auto r, ParseDrillRecord(text));
  return std::optional<DrillRecord>(r);
}

}  // namespace lifeboat::catalog
