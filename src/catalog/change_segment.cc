#include "catalog/change_segment.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "base/sha256.h"
#include "catalog/layout.h"
#include "fmt/format.h"

namespace lifeboat::catalog {
namespace {

constexpr char kMagic[8] = {'L', 'B', 'C', 'H', 'G', '0', '0', '1'};
constexpr std::string_view kSegSuffix = ".seg", kSegManifestSuffix = ".seg.json", kGapSuffix = ".gap.json";

template <typename T>
void Put(std::string* out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
}

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> d) : d_(d) {}
  bool done() const { return pos_ == d_.size(); }
  template <typename T>
  bool Get(T* v) {
    if (d_.size() - pos_ < sizeof(T)) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < sizeof(T); ++i) x |= static_cast<uint64_t>(d_[pos_ + i]) << (8 * i);
    *v = static_cast<T>(x);
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(std::string* s) {
    uint32_t n = 0;
    if (!Get(&n) || d_.size() - pos_ < n) return false;
    s->assign(reinterpret_cast<const char*>(d_.data() + pos_), n);
    pos_ += n;
    return true;
  }

 private:
  std::span<const uint8_t> d_;
  size_t pos_ = 0;
};

Result<std::string> ReadAll(store::Store& store, const std::string& key, uint64_t limit) {
  std::string body;
  LB_RETURN_IF_ERROR(store.Read(key, [&](std::span<const uint8_t> c) {
    if (body.size() + c.size() > limit) return Status::Corruption(key + " is larger than its manifest says");
    body.append(reinterpret_cast<const char*>(c.data()), c.size());
    return Status::OK();
  }));
  return body;
}

// Creates `key`, lets `fill` write it and commits; aborted (nothing listed) on any error.
Status WriteObject(store::Store& store, const std::string& key, const std::function<Status(store::ObjectWriter&)>& fill) {
  LB_ASSIGN_OR_RETURN(auto w, store.Create(key));
  Status s = fill(*w);
  if (s.ok()) s = w->Commit();
  if (!s.ok()) w->Abort();
  return s;
}

Status WriteText(store::Store& store, const std::string& key, const std::string& text) {
  return WriteObject(store, key, [&](store::ObjectWriter& w) {
    return w.Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  });
}

Result<ChangeGap> ParseGap(std::string_view text) {
  ChangeGap g;
  try {
    auto j = nlohmann::json::parse(text);
    g.cluster_name = j.at("cluster_name").get<std::string>();
    g.cluster_id = std::stoull(j.at("cluster_id").get<std::string>(), nullptr, 16);
    g.from_revision = j.at("from_revision").get<int64_t>();
    g.compact_revision = j.at("compact_revision").get<int64_t>();
    g.member = j.at("member").get<std::string>();
    g.detected_at = j.at("detected_at").get<std::string>();
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("change log gap record: ") + e.what());
  }
  return g;
}

}  // namespace

std::string EncodeSegment(const SegmentData& data) {
  std::string out(kMagic, sizeof kMagic);
  for (const auto& l : data.leases) {
    out.push_back(2);
    Put<int64_t>(&out, l.id);
    Put<int64_t>(&out, l.ttl);
  }
  for (const auto& e : data.events) {
    out.push_back(e.is_delete ? 1 : 0);
    Put<int64_t>(&out, e.revision);
    Put<uint32_t>(&out, e.sub);
    Put<uint32_t>(&out, static_cast<uint32_t>(e.key.size()));
    out += e.key;
    Put<uint32_t>(&out, static_cast<uint32_t>(e.value.size()));
    out += e.value;
    Put<int64_t>(&out, e.create_revision);
    Put<int64_t>(&out, e.version);
    Put<int64_t>(&out, e.lease);
  }
  return out;
}

Result<SegmentData> DecodeSegment(std::span<const uint8_t> bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return Status::Corruption("not a lifeboat change segment (bad magic)");
  }
  Cursor c(bytes.subspan(sizeof kMagic));
  SegmentData out;
  while (!c.done()) {
    uint8_t type = 0;
    bool ok = c.Get(&type);
    if (ok && type == 2) {
      LeaseGrant l;
      ok = c.Get(&l.id) && c.Get(&l.ttl);
      if (ok) {
        out.leases.push_back(l);
        continue;
      }
    }
    ChangeEvent e;
    if (!ok || type > 1 || !c.Get(&e.revision) || !c.Get(&e.sub) || !c.Bytes(&e.key) || !c.Bytes(&e.value) ||
        !c.Get(&e.create_revision) || !c.Get(&e.version) || !c.Get(&e.lease)) {
      return Status::Corruption(
          fmt::format("change segment record {} is cut short or damaged", out.events.size() + out.leases.size()));
    }
    e.is_delete = type == 1;
    out.events.push_back(std::move(e));
  }
  return out;
}

std::string SegmentFolder(std::string_view prefix, std::string_view cluster) {
  std::string p = NormalizePrefix(prefix);
  return (p.empty() ? "" : p + "/") + "changes/" + SanitizeName(cluster) + "/";
}

std::string SegmentKey(std::string_view prefix, std::string_view cluster, int64_t start, int64_t end,
                       uint64_t cluster_id) {
  if (cluster_id == 0) return SegmentFolder(prefix, cluster) + fmt::format("{:020}-{:020}{}", start, end, kSegSuffix);
  return SegmentFolder(prefix, cluster) + fmt::format("{:020}-{:020}-{:016x}{}", start, end, cluster_id, kSegSuffix);
}

std::string SegmentManifestKey(std::string_view segment_key) {
  std::string k(segment_key);
  for (std::string_view suffix : {".enc", ".zst"}) {
    if (k.ends_with(suffix) && k.size() > suffix.size() + kSegSuffix.size() &&
        std::string_view(k).substr(0, k.size() - suffix.size()).find(kSegSuffix) != std::string_view::npos) {
      k.resize(k.size() - suffix.size());
    }
  }
  return k + ".json";
}

std::string ToJson(const SegmentManifest& m) {
  nlohmann::ordered_json j;
  j["format_version"] = m.format_version;
  j["object_key"] = m.object_key;
  j["cluster_name"] = m.cluster_name;
  if (m.cluster_id != 0) j["cluster_id"] = fmt::format("{:016x}", m.cluster_id);
  j["start_revision"] = m.start_revision;
  j["end_revision"] = m.end_revision;
  j["count"] = m.count;
  j["size"] = m.size;
  j["sha256"] = m.sha256;
  j["finished_at"] = m.finished_at;
  if (m.format_version >= 2) {
    j["compression"] = m.encoding.compression;
    j["encryption"] = m.encoding.encryption;
    j["key_id"] = m.encoding.key_id;
    j["object_size"] = m.object_size;
    j["object_sha256"] = m.object_sha256;
  }
  if (m.hashkv) {
    j["hashkv"] = {{"revision", m.hashkv->revision},
                   {"hash", m.hashkv->hash},
                   {"compact_revision", m.hashkv->compact_revision},
                   {"member_id", fmt::format("{:x}", m.hashkv->member_id)}};
  }
  if (m.auth) j["auth"] = {{"alg", m.auth->alg}, {"key_id", m.auth->key_id}, {"mac", m.auth->mac}};
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<SegmentManifest> ParseSegmentManifest(std::string_view text) {
  SegmentManifest m;
  try {
    auto j = nlohmann::json::parse(text);
    m.format_version = j.at("format_version").get<int>();
    if (m.format_version != 1 && m.format_version != 2) {
      return Status::Corruption(fmt::format("segment manifest format {} is not known (upgrade lifeboat)", m.format_version));
    }
    m.object_key = j.at("object_key").get<std::string>();
    m.cluster_name = j.at("cluster_name").get<std::string>();
    if (j.contains("cluster_id")) m.cluster_id = std::stoull(j.at("cluster_id").get<std::string>(), nullptr, 16);
    m.start_revision = j.at("start_revision").get<int64_t>();
    m.end_revision = j.at("end_revision").get<int64_t>();
    m.count = j.at("count").get<uint64_t>();
    m.size = j.at("size").get<uint64_t>();
    m.sha256 = j.at("sha256").get<std::string>();
    m.finished_at = j.at("finished_at").get<std::string>();
    if (m.format_version >= 2) {
      m.encoding.compression = j.at("compression").get<std::string>();
      m.encoding.encryption = j.at("encryption").get<std::string>();
      m.encoding.key_id = j.at("key_id").get<std::string>();
      m.object_size = j.at("object_size").get<uint64_t>();
      m.object_sha256 = j.at("object_sha256").get<std::string>();
    }
    if (j.contains("hashkv")) {
      const auto& h = j.at("hashkv");
      SegmentHash sh;
      sh.revision = h.at("revision").get<int64_t>();
      sh.hash = h.at("hash").get<uint32_t>();
      sh.compact_revision = h.at("compact_revision").get<int64_t>();
      sh.member_id = std::stoull(h.at("member_id").get<std::string>(), nullptr, 16);
      m.hashkv = sh;
    }
    if (auto a = j.find("auth"); a != j.end() && a->is_object() && a->contains("alg") && a->contains("key_id") &&
                                 a->contains("mac")) {
      m.auth = ManifestAuth{a->at("alg").get<std::string>(), a->at("key_id").get<std::string>(),
                            a->at("mac").get<std::string>()};
    }
  } catch (const std::exception& e) {  // json errors, and stoull on a bad member id
    return Status::Corruption(std::string("segment manifest: ") + e.what());
  }
  if (m.start_revision < 1 || m.end_revision < m.start_revision - 1) {
    return Status::Corruption(fmt::format("segment manifest: revisions {}..{} are not a range", m.start_revision,
                                          m.end_revision));
  }
  if (m.hashkv && (m.hashkv->revision < m.start_revision - 1 || m.hashkv->revision > m.end_revision)) {
    return Status::Corruption(fmt::format("segment manifest: its HashKV at revision {} is outside {}..{}",
                                          m.hashkv->revision, m.start_revision, m.end_revision));
  }
  return m;
}

Result<SegmentManifest> WriteSegment(store::Store& store, std::string_view prefix, SegmentManifest m,
                                     const SegmentData& data, const codec::EncodeOptions& encode) {
  m.format_version = 1;
  m.encoding = codec::EncodingOf(encode);
  m.object_key = SegmentKey(prefix, m.cluster_name, m.start_revision, m.end_revision, m.cluster_id) +
                 codec::EncodedSuffix(m.encoding);
  m.count = data.events.size();
  const std::string body = EncodeSegment(data);
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  m.size = body.size();
  m.sha256 = HexEncode(Sha256::Of(bytes));
  LB_RETURN_IF_ERROR(WriteObject(store, m.object_key, [&](store::ObjectWriter& w) -> Status {
    LB_ASSIGN_OR_RETURN(auto enc, codec::ObjectEncoder::Create(encode, [&](std::span<const uint8_t> c) {
      return w.Append(c);
    }));
    LB_RETURN_IF_ERROR(enc->Update(bytes));
    LB_RETURN_IF_ERROR(enc->Finish());
    if (!enc->encoding().plain()) {
      m.format_version = 2;  // older lifeboats must refuse it rather than misread it
      m.object_size = enc->object_size();
      m.object_sha256 = enc->object_sha256();
    }
    return Status::OK();
  }));
  if (encode.signer != nullptr && !encode.signer->current_id().empty()) {
    m.auth.reset();
    LB_ASSIGN_OR_RETURN(m.auth, SignJson(kSegmentManifestKind, nlohmann::json::parse(ToJson(m)), *encode.signer));
  }
  LB_RETURN_IF_ERROR(WriteText(store, SegmentManifestKey(m.object_key), ToJson(m)));
  return m;
}

Status WriteGap(store::Store& store, std::string_view prefix, const ChangeGap& g) {
  nlohmann::ordered_json j;
  j["cluster_name"] = g.cluster_name;
  j["cluster_id"] = fmt::format("{:016x}", g.cluster_id);
  j["from_revision"] = g.from_revision;
  j["compact_revision"] = g.compact_revision;
  j["member"] = g.member;
  j["detected_at"] = g.detected_at;
  const std::string key = SegmentFolder(prefix, g.cluster_name) +
                          fmt::format("{:020}-{:016x}{}", g.from_revision, g.cluster_id, kGapSuffix);
  return WriteText(store, key, j.dump(2));
}

Result<SegmentListing> ListSegments(store::Store& store, std::string_view prefix, std::string_view cluster,
                                    const TrustPolicy& trust) {
  SegmentListing out;
  LB_ASSIGN_OR_RETURN(auto objects, store.List(SegmentFolder(prefix, cluster)));
  for (const auto& o : objects) {
    const bool gap = o.key.ends_with(kGapSuffix);
    if (!gap && !o.key.ends_with(kSegManifestSuffix)) continue;
    auto body = ReadAll(store, o.key, 1 << 20);
    if (!body.ok()) {
      out.problems.push_back(o.key + ": " + body.status().message());
      continue;
    }
    if (gap) {
      auto g = ParseGap(*body);
      if (g.ok()) out.gaps.push_back(*g);
      else out.problems.push_back(o.key + ": " + g.status().message());
      continue;
    }
    auto m = ParseSegmentManifest(*body);
    if (!m.ok()) {
      out.problems.push_back(o.key + ": " + m.status().message());
      continue;
    }
    if (trust.checks()) {
      const nlohmann::json doc = nlohmann::json::parse(*body, nullptr, /*allow_exceptions=*/false);
      const std::string why =
          Distrust(trust, kSegmentManifestKind, doc, m->format_version >= 2 ? m->encoding : codec::Encoding{});
      if (!why.empty()) {
        out.problems.push_back(o.key + ": not trusted: " + why);
        continue;
      }
    }
    out.segments.push_back(*m);
  }
  // An empty segment (the log alive on a quiet cluster: it ends before it starts) comes before
  // the one that later starts at the same revision.
  std::sort(out.segments.begin(), out.segments.end(), [](const SegmentManifest& a, const SegmentManifest& b) {
    return std::pair(a.start_revision, a.end_revision) < std::pair(b.start_revision, b.end_revision);
  });
  return out;
}

Result<SegmentData> ReadSegment(store::Store& store, const SegmentManifest& m, const codec::KeyRing* keys) {
  const std::string what = "change segment " + m.object_key;
  std::string body;
  auto deliver = [&](std::span<const uint8_t> c) -> Status {
    if (body.size() + c.size() > m.size) return Status::Corruption(what + " decodes to more than its manifest says");
    body.append(reinterpret_cast<const char*>(c.data()), c.size());
    return Status::OK();
  };
  LB_ASSIGN_OR_RETURN(auto decoder, codec::ObjectDecoder::Create(m.format_version >= 2 ? m.encoding : codec::Encoding{},
                                                                 keys, deliver, what));
  // The stored bytes stream through the decoder (no copy of the object is held), but a decoding
  // error counts only once the stored bytes matched their manifest, so a damaged object is named
  // as such.
  Sha256 stored_hash;
  uint64_t stored = 0;
  Status decoded = Status::OK();
  LB_RETURN_IF_ERROR(store.Read(m.object_key, [&](std::span<const uint8_t> c) {
    stored += c.size();
    if (stored > m.stored_size()) return Status::Corruption(m.object_key + " is larger than its manifest says");
    stored_hash.Update(c);
    if (decoded.ok()) decoded = decoder->Update(c);
    return Status::OK();
  }));
  if (stored != m.stored_size() || HexEncode(stored_hash.Finish()) != m.stored_sha256()) {
    return Status::Corruption(what + " does not match its manifest (size or SHA-256)");
  }
  LB_RETURN_IF_ERROR(decoded);
  LB_RETURN_IF_ERROR(decoder->Finish());
  auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  if (body.size() != m.size || HexEncode(Sha256::Of(bytes)) != m.sha256) {
    return Status::Corruption(what + " does not match its manifest (size or SHA-256)");
  }
  auto data = DecodeSegment(bytes);
  if (!data.ok()) return data.status().Annotate(m.object_key);
  int64_t last_rev = 0;
  uint32_t last_sub = 0;
  for (const auto& e : data->events) {
    bool ordered = e.revision > last_rev || (e.revision == last_rev && e.sub > last_sub);
    if (e.revision < m.start_revision || e.revision > m.end_revision || (last_rev != 0 && !ordered)) {
      return Status::Corruption(fmt::format("change segment {}: event at revision {} is outside {}..{} or out of order",
                                            m.object_key, e.revision, m.start_revision, m.end_revision));
    }
    last_rev = e.revision;
    last_sub = e.sub;
  }
  if (data->events.size() != m.count) {
    return Status::Corruption(fmt::format("change segment {} holds {} events, its manifest says {}", m.object_key,
                                          data->events.size(), m.count));
  }
  return data;
}

}  // namespace lifeboat::catalog
