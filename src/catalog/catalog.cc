#include "catalog/catalog.h"

#include "base/atomic_file.h"
#include "codec/object_codec.h"
#include "snapshot/digest.h"

#include <algorithm>
#include <unordered_map>

#include "base/sha256.h"
#include "base/timefmt.h"
#include "catalog/layout.h"
#include "fmt/format.h"

namespace lifeboat::catalog {

namespace {

// Manifests are a few hundred bytes; anything much bigger is not one of ours, and reading it
// whole could exhaust memory.
constexpr size_t kMaxManifestBytes = 1 << 20;

std::string_view BaseName(std::string_view key) {
  size_t slash = key.find_last_of('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

Result<std::string> ReadSmallObject(store::Store& store, const std::string& key) {
  std::string body;
  Status s = store.Read(key, [&body](std::span<const uint8_t> chunk) {
    if (body.size() + chunk.size() > kMaxManifestBytes) {
      return Status::Corruption(fmt::format("manifest is larger than {} bytes, so it is not a lifeboat manifest "
                                            "(move it out of the store)",
                                            kMaxManifestBytes));
    }
    body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    return Status::OK();
  });
  if (!s.ok()) return s;
  return body;
}

std::chrono::system_clock::time_point FinishedAt(const Manifest& m) {
  // ParseManifest already checked the time stamp, so this cannot fail for listed backups.
  auto t = ParseRFC3339(m.finished_at);
  return t.ok() ? t.value() : std::chrono::system_clock::time_point{};
}

std::string Where(store::Store& store, const std::string& prefix, std::string_view tier) {
  std::string where = store.Describe();
  if (!prefix.empty()) where += "/" + prefix;
  if (!tier.empty()) where += fmt::format(" in tier {}", tier);
  return where;
}

}  // namespace

namespace {

// One manifest of a listing: a backup entry, or a problem naming why it is not one.
Result<BackupEntry> ReadEntry(store::Store& store, const std::string& key,
                              const std::unordered_map<std::string, store::ObjectInfo>& objects,
                              const TrustPolicy& trust) {
  LB_ASSIGN_OR_RETURN(std::string body, ReadSmallObject(store, key));
  LB_ASSIGN_OR_RETURN(Manifest m, ParseManifest(body));
  if (ManifestKey(m.object_key) != key) {
    return Status::Corruption(fmt::format("it describes {}, whose manifest is {} (it was copied or moved; restore "
                                          "the right manifest from a copy, or delete this one)",
                                          m.object_key, ManifestKey(m.object_key)));
  }
  auto object = objects.find(m.object_key);
  if (object == objects.end()) {
    return Status::Corruption(
        fmt::format("its backup object {} is missing (restore the object or delete this manifest)", m.object_key));
  }
  if (object->second.size != m.stored_size()) {
    return Status::Corruption(fmt::format("backup object {} is {} bytes but the manifest says {} (it is damaged or "
                                          "incomplete; delete it and this manifest)",
                                          m.object_key, object->second.size, m.stored_size()));
  }
  BackupEntry e{std::move(m), key, "", object->second.mtime_unix};
  e.untrusted = DistrustManifest(trust, body, e.manifest);
  return e;
}

}  // namespace

Result<Listing> ListBackups(store::Store& store, std::string_view prefix, std::string_view tier,
                            const TrustPolicy& trust) {
  LB_RETURN_IF_ERROR(ValidatePrefix(prefix));
  if (!tier.empty()) LB_RETURN_IF_ERROR(ValidatePrefix(tier));
  const std::string normal = NormalizePrefix(prefix);
  const std::string list_prefix = normal.empty() ? "" : normal + "/";
  const std::string scope = tier.empty() ? list_prefix : fmt::format("{}{}/", list_prefix, tier);

  LB_ASSIGN_OR_RETURN(std::vector<store::ObjectInfo> objects, store.List(list_prefix));
  std::unordered_map<std::string, store::ObjectInfo> by_key;
  for (const store::ObjectInfo& o : objects) by_key.emplace(o.key, o);

  Listing out;
  for (const store::ObjectInfo& o : objects) {
    if (o.key.compare(0, scope.size(), scope) != 0) continue;
    if (IsBackupObjectKey(o.key) && !by_key.count(ManifestKey(o.key))) out.incomplete.push_back(o);
    if (!IsManifestKey(o.key)) continue;
    Result<BackupEntry> e = ReadEntry(store, o.key, by_key, trust);
    if (e.ok()) {
      out.backups.push_back(std::move(e).value());
    } else {
      out.problems.push_back(fmt::format("{}: {}", o.key, e.status().message()));
    }
  }
  std::sort(out.backups.begin(), out.backups.end(), [](const BackupEntry& a, const BackupEntry& b) {
    auto ta = FinishedAt(a.manifest), tb = FinishedAt(b.manifest);
    if (ta != tb) return ta > tb;
    return a.manifest.object_key > b.manifest.object_key;
  });
  return out;
}

Selection NewestTrusted(const Listing& listing, const std::function<bool(const BackupEntry&)>& accept) {
  Selection out;
  for (const BackupEntry& e : listing.backups) {  // newest first
    if (accept && !accept(e)) continue;
    if (!e.trusted()) {
      out.skipped.push_back(fmt::format("{}: {}", e.manifest.object_key, e.untrusted));
      continue;
    }
    out.entry = e;
    break;
  }
  return out;
}

namespace {

// " (skipped N untrusted: key: why; ...)" for a message that found nothing, or "".
std::string SkippedNote(const std::vector<std::string>& skipped) {
  if (skipped.empty()) return "";
  std::string all;
  for (const auto& s : skipped) all += (all.empty() ? "" : "; ") + s;
  return fmt::format(" (skipped {} untrusted: {})", skipped.size(), all);
}

// The backups `ref` names: full keys first, so that a complete key is never ambiguous, then
// file names.
std::vector<const BackupEntry*> Matches(const Listing& listing, const std::string& normal, std::string_view ref) {
  const std::string with_prefix = normal.empty() ? std::string(ref) : fmt::format("{}/{}", normal, ref);
  std::vector<const BackupEntry*> matches;
  for (const BackupEntry& e : listing.backups) {
    const std::string& object_key = e.manifest.object_key;
    if (object_key == ref || e.manifest_key == ref || object_key == with_prefix || e.manifest_key == with_prefix) {
      matches.push_back(&e);
    }
  }
  if (!matches.empty()) return matches;
  for (const BackupEntry& e : listing.backups) {
    std::string_view base = BaseName(e.manifest.object_key);
    std::string_view stem = base;
    if (stem.ends_with(kObjectSuffix)) stem.remove_suffix(kObjectSuffix.size());
    if (base == ref || stem == ref || BaseName(e.manifest_key) == ref) matches.push_back(&e);
  }
  return matches;
}

}  // namespace

Result<Selection> ResolveBackup(store::Store& store, std::string_view prefix, std::string_view tier,
                                std::string_view ref, const TrustPolicy& trust) {
  if (ref.empty()) {
    return Status::InvalidArgument("no backup given (pass latest, a key or a file name shown by `lifeboat list`)");
  }
  LB_ASSIGN_OR_RETURN(Listing listing, ListBackups(store, prefix, tier, trust));
  const std::string normal = NormalizePrefix(prefix);
  auto not_found = [&](const std::string& note) {
    return Status::NotFound(fmt::format("no backup matches {} under {}{} (run `lifeboat list` to see what exists)", ref,
                                        Where(store, normal, tier), note));
  };
  if (ref == "latest") {
    Selection sel = NewestTrusted(listing);
    if (!sel.entry) return not_found(SkippedNote(sel.skipped));
    return sel;
  }
  std::vector<const BackupEntry*> matches = Matches(listing, normal, ref);
  if (matches.empty()) {
    // A backup whose manifest cannot be read is not listed; say so rather than "no such backup".
    std::string_view stem = BaseName(ref);
    if (stem.ends_with(kObjectSuffix)) stem.remove_suffix(kObjectSuffix.size());
    for (const std::string& p : listing.problems) {
      if (!stem.empty() && p.find(stem) != std::string::npos) {
        return Status::Corruption(fmt::format("{} cannot be used: {} (restore another backup)", ref, p));
      }
    }
    return not_found("");
  }
  if (matches.size() > 1) {
    std::string keys;
    for (const BackupEntry* e : matches) keys += (keys.empty() ? "" : ", ") + e->manifest.object_key;
    return Status::InvalidArgument(
        fmt::format("backup name {} is ambiguous: it matches {} (pass the full key or a --tier)", ref, keys));
  }
  const BackupEntry& e = *matches.front();
  if (!e.trusted() && !trust.allow_untrusted) {
    return Status::FailedPrecondition(fmt::format(
        "backup {} is not trusted: {} (use a trusted backup, or pass --allow-unencrypted to use it anyway: its "
        "checksums and etcd's SHA-256 trailer are still checked)",
        e.manifest.object_key, e.untrusted));
  }
  return Selection{e, {}};
}

Status WriteManifest(store::Store& store, const Manifest& m, const codec::KeyRing* signer,
                     const store::WriteOptions& options) {
  Manifest signed_m = m;
  if (signer != nullptr && !signer->current_id().empty()) LB_RETURN_IF_ERROR(SignManifest(&signed_m, *signer));
  const std::string key = ManifestKey(m.object_key);
  const std::string body = ToJson(signed_m) + "\n";
  LB_ASSIGN_OR_RETURN(std::unique_ptr<store::ObjectWriter> w, store.Create(key, options));
  Status s = w->Append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  if (s.ok()) s = w->Commit();
  if (!s.ok()) w->Abort();
  return s;
}

Status CommitBackup(store::Store& store, store::ObjectWriter& object, Manifest* manifest,
                    const codec::KeyRing* signer, const store::WriteOptions& options, bool* committed) {
  const Manifest& m = *manifest;
  if (committed != nullptr) *committed = false;
  if (signer != nullptr && !signer->current_id().empty()) LB_RETURN_IF_ERROR(SignManifest(manifest, *signer));
  LB_RETURN_IF_ERROR(object.Commit());
  if (committed != nullptr) *committed = true;
  Status s = WriteManifest(store, m, nullptr, options);
  if (s.ok()) return s;
  // The object is whole and checked; deleting it for want of a manifest could lose the only copy.
  return s.WithMessage(fmt::format("the backup object {} is stored, but its manifest {} may not be: {} (the object "
                                   "is kept and `lifeboat list` shows it INCOMPLETE; take another backup)",
                                   m.object_key, ManifestKey(m.object_key), s.message()));
}

Result<Manifest> ReadManifest(store::Store& store, std::string_view object_key) {
  LB_ASSIGN_OR_RETURN(std::string body, ReadSmallObject(store, ManifestKey(object_key)));
  auto m = ParseManifest(body);
  if (!m.ok()) return m.status().Annotate(ManifestKey(object_key));
  if (m->object_key != object_key) {
    return Status::Corruption("manifest " + ManifestKey(object_key) + " describes " + m->object_key +
                              " (restore the right manifest from a copy)");
  }
  return m;
}

codec::Encoding EncodingOf(const Manifest& m) {
  if (m.format_version < 2) return {};
  return codec::Encoding{m.compression, m.encryption, m.key_id};
}

void RecordEncoding(const codec::ObjectEncoder& encoder, Manifest* m) {
  const codec::Encoding& e = encoder.encoding();
  if (e.plain()) return;
  m->format_version = 2;
  m->compression = e.compression;
  m->encryption = e.encryption;
  m->key_id = e.key_id;
  m->object_size = encoder.object_size();
  m->object_sha256 = encoder.object_sha256();
}

Status CopyVerified(store::Store& src, const Manifest& m, const store::ChunkSink& sink, const codec::KeyRing* keys) {
  // The stored bytes are checked against object_size/object_sha256 and, once decoded, the
  // snapshot file against size/sha256: a damaged object and a wrong decoding both show.
  Sha256 object_hash, file_hash;
  uint64_t seen = 0, produced = 0;
  auto deliver = [&](std::span<const uint8_t> chunk) -> Status {
    produced += chunk.size();
    if (produced > m.size) {
      return Status::Corruption(fmt::format(
          "backup {} is corrupt: it is longer than the {} bytes the manifest says (fetch another backup)",
          m.object_key, m.size));
    }
    file_hash.Update(chunk);
    return sink(chunk);
  };
  // object -> [decrypt] -> [decompress] -> deliver
  LB_ASSIGN_OR_RETURN(auto decoder, codec::ObjectDecoder::Create(EncodingOf(m), keys, deliver, "backup " + m.object_key));
  Status read = src.Read(m.object_key, [&](std::span<const uint8_t> chunk) -> Status {
    seen += chunk.size();
    // Stop as soon as the object is provably wrong rather than streaming the whole excess.
    if (seen > m.stored_size()) {
      return Status::Corruption(fmt::format(
          "backup {} is corrupt: the object is longer than the {} bytes the manifest says (fetch another backup)",
          m.object_key, m.stored_size()));
    }
    object_hash.Update(chunk);
    return decoder->Update(chunk);
  });
  if (!read.ok()) {
    if (read.code() == Status::Code::kCorruption) return read.Annotate("backup " + m.object_key);
    return read;
  }
  if (seen != m.stored_size()) {
    return Status::Corruption(fmt::format("backup {} is corrupt: {} bytes, manifest says {} (fetch another backup)",
                                          m.object_key, seen, m.stored_size()));
  }
  if (const std::string actual = HexEncode(object_hash.Finish()); actual != m.stored_sha256()) {
    return Status::Corruption(fmt::format("backup {} is corrupt: sha256 {}, manifest says {} (fetch another backup)",
                                          m.object_key, actual, m.stored_sha256()));
  }
  LB_RETURN_IF_ERROR(decoder->Finish());
  if (produced != m.size) {
    return Status::Corruption(fmt::format("backup {} decodes to {} bytes, manifest says {} (fetch another backup)",
                                          m.object_key, produced, m.size));
  }
  if (const std::string actual = HexEncode(file_hash.Finish()); actual != m.sha256) {
    return Status::Corruption(fmt::format("backup {} decodes to sha256 {}, manifest says {} (fetch another backup)",
                                          m.object_key, actual, m.sha256));
  }
  return Status::OK();
}

Status FetchToFile(store::Store& src, const Manifest& m, const std::string& path, const codec::KeyRing* keys,
                   const std::function<void(uint64_t)>& progress) {
  LB_ASSIGN_OR_RETURN(auto file, AtomicFile::Create(path));
  snapshot::SnapshotDigest digest;
  Status s = CopyVerified(src, m, [&](std::span<const uint8_t> chunk) {
    digest.Update(chunk);
    if (progress) progress(digest.bytes());
    return file->Append(chunk);
  }, keys);
  if (s.ok()) s = digest.Finish().status().Annotate(m.object_key);
  if (s.ok()) s = file->Commit();
  if (!s.ok()) file->Abort();
  return s;
}

}  // namespace lifeboat::catalog
