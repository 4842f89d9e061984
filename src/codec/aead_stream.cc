#include "codec/aead_stream.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/sha256.h"
#include "codec/mac.h"

namespace lifeboat::codec {
namespace {

constexpr char kMagic[8] = {'L', 'B', 'A', 'E', 'A', 'D', '0', '1'};
constexpr size_t kSaltLen = 32, kTagLen = 16, kNonceLen = 12;
constexpr uint32_t kMaxChunk = 64u << 20;

struct CipherCtx {
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  ~CipherCtx() { EVP_CIPHER_CTX_free(c); }
};

Status DeriveFileKey(const std::array<uint8_t, 32>& master, std::span<const uint8_t> salt,
                     std::array<uint8_t, 32>* out) {
  static constexpr std::string_view kInfo = "lifeboat aead v1";
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> key,
                      HkdfSha256(master, salt, {reinterpret_cast<const uint8_t*>(kInfo.data()), kInfo.size()}, 32));
  std::memcpy(out->data(), key.data(), out->size());
  OPENSSL_cleanse(key.data(), key.size());
  return Status::OK();
}

void Nonce(uint64_t index, bool last, uint8_t out[kNonceLen]) {
  std::memset(out, 0, kNonceLen);
  for (int i = 0; i < 8; ++i) out[3 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
  out[11] = last ? 1 : 0;
}

}  // namespace

// ---- KeyRing ----

KeyRing::~KeyRing() {
  for (auto& [id, k] : keys_) OPENSSL_cleanse(k.data(), k.size());
}

Status KeyRing::Add(std::string id, const std::string& material, bool current) {
  std::array<uint8_t, 32> key{};
  std::string m = material;
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r' || m.back() == ' ')) m.pop_back();
  if (m.size() == 64) {
    auto raw = HexDecode(m);
    if (!raw.ok()) return Status::InvalidArgument("encryption key is not 64 hex digits (make one: openssl rand -hex 32)");
    std::memcpy(key.data(), raw->data(), 32);
    OPENSSL_cleanse(raw->data(), raw->size());
  } else if (material.size() == 32) {
    std::memcpy(key.data(), material.data(), 32);
  } else {
    return Status::InvalidArgument("encryption key must be 64 hex digits or 32 raw bytes (make one: openssl rand -hex 32)");
  }
  OPENSSL_cleanse(m.data(), m.size());
  if (id.empty()) {
    Sha256 h;
    static const char kTag[] = "lifeboat key id v1";
    h.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kTag), sizeof kTag - 1));
    h.Update(key);
    id = HexEncode(h.Finish()).substr(0, 16);
  }
  if (id.size() > 255) return Status::InvalidArgument("encryption key id is longer than 255 bytes");
  if (auto it = keys_.find(id); it != keys_.end() && it->second != key) {
    return Status::InvalidArgument("two different encryption keys have the id '" + id + "'");
  }
  keys_[id] = key;
  OPENSSL_cleanse(key.data(), key.size());
  if (current) current_ = id;
  return Status::OK();
}

const std::array<uint8_t, 32>* KeyRing::Find(const std::string& id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> KeyRing::ids() const {
  std::vector<std::string> out;
  for (const auto& [id, k] : keys_) out.push_back(id);
  return out;
}

Result<KeyRing> LoadKeyRing(const KeySource& current, const std::vector<KeySource>& old) {
  KeyRing ring;
  auto add = [&](const KeySource& k, bool is_current) -> Status {
    std::string material, where;
    if (!k.file.empty() == !k.env.empty()) {
      return Status::InvalidArgument("an encryption key needs exactly one of key-file or key-env" +
                                     (k.id.empty() ? std::string() : " (key id " + k.id + ")"));
    }
    if (!k.file.empty()) {
      where = "key file " + k.file;
      std::FILE* f = std::fopen(k.file.c_str(), "rb");
      if (f == nullptr) return Status::InvalidArgument("cannot read " + where + " (check the path and permissions)");
      char buf[128];
      size_t n = std::fread(buf, 1, sizeof buf, f);
      std::fclose(f);
      material.assign(buf, n);
      OPENSSL_cleanse(buf, sizeof buf);
    } else {
      where = "environment variable " + k.env;
      const char* v = std::getenv(k.env.c_str());
      if (v == nullptr || *v == 0) return Status::InvalidArgument(where + " is not set (export the key there)");
      material = v;
    }
    Status s = ring.Add(k.id, material, is_current);
    OPENSSL_cleanse(material.data(), material.size());
    return s.ok() ? s : s.Annotate(where);
  };
  LB_RETURN_IF_ERROR(add(current, true));
  for (const auto& k : old) LB_RETURN_IF_ERROR(add(k, false));
  return ring;
}

// ---- Encryptor ----

struct AeadEncryptor::Ctx {
  Sink sink;
  std::vector<uint8_t> header, plain, sealed;
  std::array<uint8_t, 32> key{};
  uint32_t chunk = 0;
  uint64_t index = 0;
  CipherCtx cipher;
  ~Ctx() { OPENSSL_cleanse(key.data(), key.size()); }
};

AeadEncryptor::~AeadEncryptor() = default;

Result<std::unique_ptr<AeadEncryptor>> AeadEncryptor::Create(const KeyRing& keys, Sink sink, uint32_t chunk_size) {
  const auto* master = keys.Find(keys.current_id());
  if (master == nullptr) return Status::InvalidArgument("no current encryption key (set encryption.key-file)");
  if (chunk_size == 0 || chunk_size > kMaxChunk) return Status::InvalidArgument("AEAD chunk size out of range");
  auto e = std::unique_ptr<AeadEncryptor>(new AeadEncryptor());
  e->ctx_ = std::make_unique<Ctx>();
  Ctx& c = *e->ctx_;
  c.sink = std::move(sink);
  c.chunk = chunk_size;
  const std::string& id = keys.current_id();
  std::array<uint8_t, kSaltLen> salt{};
  if (RAND_bytes(salt.data(), salt.size()) != 1) return Status::Internal("no randomness for the encryption salt");
  c.header.assign(kMagic, kMagic + 8);
  c.header.push_back(static_cast<uint8_t>(id.size()));
  c.header.insert(c.header.end(), id.begin(), id.end());
  c.header.insert(c.header.end(), salt.begin(), salt.end());
  for (int i = 3; i >= 0; --i) c.header.push_back(static_cast<uint8_t>(chunk_size >> (8 * i)));
  LB_RETURN_IF_ERROR(DeriveFileKey(*master, salt, &c.key));
  c.plain.reserve(chunk_size);
  c.sealed.resize(chunk_size + kTagLen);
  LB_RETURN_IF_ERROR(c.sink(c.header));
  return e;
}

Status AeadEncryptor::Seal(bool last) {
  Ctx& c = *ctx_;
  uint8_t nonce[kNonceLen];
  Nonce(c.index++, last, nonce);
  int len = 0, fin = 0;
  EVP_CIPHER_CTX* x = c.cipher.c;
  bool ok = EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
            EVP_EncryptInit_ex(x, nullptr, nullptr, c.key.data(), nonce) == 1 &&
            EVP_EncryptUpdate(x, nullptr, &len, c.header.data(), static_cast<int>(c.header.size())) == 1 &&
            EVP_EncryptUpdate(x, c.sealed.data(), &len, c.plain.data(), static_cast<int>(c.plain.size())) == 1 &&
            EVP_EncryptFinal_ex(x, c.sealed.data() + len, &fin) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, kTagLen, c.sealed.data() + c.plain.size()) == 1;
  if (!ok) return Status::Internal("AES-256-GCM encryption failed (OpenSSL)");
  size_t n = c.plain.size() + kTagLen;
  OPENSSL_cleanse(c.plain.data(), c.plain.size());
  c.plain.clear();
  return c.sink(std::span<const uint8_t>(c.sealed.data(), n));
}

Status AeadEncryptor::Update(std::span<const uint8_t> data) {
  Ctx& c = *ctx_;
  while (!data.empty()) {
    // A full chunk is sealed only when more data follows, so the last chunk is never empty
    // unless the whole stream is.
    if (c.plain.size() == c.chunk) LB_RETURN_IF_ERROR(Seal(false));
    size_t take = std::min<size_t>(data.size(), c.chunk - c.plain.size());
    c.plain.insert(c.plain.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    data = data.subspan(take);
  }
  return Status::OK();
}

Status AeadEncryptor::Finish() { return Seal(true); }

// ---- Decryptor ----

struct AeadDecryptor::Ctx {
  const KeyRing* keys = nullptr;
  Sink sink;
  std::vector<uint8_t> buf, header, plain;
  std::array<uint8_t, 32> key{};
  std::string key_id;
  bool have_header = false, finished = false;
  uint32_t chunk = 0;
  uint64_t index = 0;
  CipherCtx cipher;
  ~Ctx() { OPENSSL_cleanse(key.data(), key.size()); }
};

AeadDecryptor::~AeadDecryptor() = default;
const std::string& AeadDecryptor::key_id() const { return ctx_->key_id; }

Result<std::unique_ptr<AeadDecryptor>> AeadDecryptor::Create(const KeyRing& keys, Sink sink) {
  auto d = std::unique_ptr<AeadDecryptor>(new AeadDecryptor());
  d->ctx_ = std::make_unique<Ctx>();
  d->ctx_->keys = &keys;
  d->ctx_->sink = std::move(sink);
  return d;
}

std::string PeekKeyId(std::span<const uint8_t> head) {
  if (head.size() < 9 || std::memcmp(head.data(), kMagic, 8) != 0) return "";
  size_t n = head[8];
  if (head.size() < 9 + n) return "";
  return std::string(reinterpret_cast<const char*>(head.data() + 9), n);
}

Status AeadDecryptor::Header() {
  Ctx& c = *ctx_;
  if (c.buf.size() < 9) return Status::OK();
  if (std::memcmp(c.buf.data(), kMagic, 8) != 0) {
    return Status::Corruption("encrypted backup has no lifeboat encryption header (damaged, or not encrypted)");
  }
  size_t id_len = c.buf[8];
  size_t need = 9 + id_len + kSaltLen + 4;
  if (c.buf.size() < need) return Status::OK();
  c.key_id.assign(reinterpret_cast<const char*>(c.buf.data() + 9), id_len);
  const auto* master = c.keys->Find(c.key_id);
  if (master == nullptr) {
    return Status::FailedPrecondition("backup is encrypted with key id '" + c.key_id +
                                      "', which is not configured (add it to encryption.old-keys)");
  }
  std::span<const uint8_t> salt(c.buf.data() + 9 + id_len, kSaltLen);
  const uint8_t* cs = c.buf.data() + 9 + id_len + kSaltLen;
  c.chunk = (uint32_t{cs[0]} << 24) | (uint32_t{cs[1]} << 16) | (uint32_t{cs[2]} << 8) | cs[3];
  if (c.chunk == 0 || c.chunk > kMaxChunk) return Status::Corruption("encrypted backup header is damaged");
  LB_RETURN_IF_ERROR(DeriveFileKey(*master, salt, &c.key));
  c.header.assign(c.buf.begin(), c.buf.begin() + static_cast<std::ptrdiff_t>(need));
  c.buf.erase(c.buf.begin(), c.buf.begin() + static_cast<std::ptrdiff_t>(need));
  c.have_header = true;
  c.plain.resize(c.chunk);
  return Status::OK();
}

Status AeadDecryptor::Open(std::span<const uint8_t> sealed, bool last) {
  Ctx& c = *ctx_;
  if (c.finished) return Status::Corruption("encrypted backup has data after its last chunk");
  size_t n = sealed.size() - kTagLen;
  uint8_t nonce[kNonceLen];
  Nonce(c.index, last, nonce);
  int len = 0, fin = 0;
  EVP_CIPHER_CTX* x = c.cipher.c;
  std::array<uint8_t, kTagLen> tag{};
  std::memcpy(tag.data(), sealed.data() + n, kTagLen);
  bool ok = EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_IVLEN, kNonceLen, nullptr) == 1 &&
            EVP_DecryptInit_ex(x, nullptr, nullptr, c.key.data(), nonce) == 1 &&
            EVP_DecryptUpdate(x, nullptr, &len, c.header.data(), static_cast<int>(c.header.size())) == 1 &&
            EVP_DecryptUpdate(x, c.plain.data(), &len, sealed.data(), static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, kTagLen, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(x, c.plain.data() + len, &fin) == 1;
  if (!ok) {
    OPENSSL_cleanse(c.plain.data(), c.plain.size());
    return Status::Corruption("encrypted backup fails authentication at chunk " + std::to_string(c.index) +
                              (last ? " (the last)" : "") +
                              ": it was changed, cut, reordered or spliced (use another backup)");
  }
  c.index++;
  c.finished = last;
  Status s = c.sink(std::span<const uint8_t>(c.plain.data(), n));
  OPENSSL_cleanse(c.plain.data(), n);
  return s;
}

Status AeadDecryptor::Update(std::span<const uint8_t> data) {
  Ctx& c = *ctx_;
  c.buf.insert(c.buf.end(), data.begin(), data.end());
  if (!c.have_header) {
    LB_RETURN_IF_ERROR(Header());
    if (!c.have_header) return Status::OK();
  }
  // A chunk is known not to be the last only once more bytes follow it.
  size_t sealed = c.chunk + kTagLen, off = 0;
  while (c.buf.size() - off > sealed) {
    LB_RETURN_IF_ERROR(Open(std::span<const uint8_t>(c.buf.data() + off, sealed), false));
    off += sealed;
  }
  c.buf.erase(c.buf.begin(), c.buf.begin() + static_cast<std::ptrdiff_t>(off));
  return Status::OK();
}

Status AeadDecryptor::Finish() {
  Ctx& c = *ctx_;
  if (!c.have_header) return Status::Corruption("encrypted backup is truncated inside its header");
  if (c.finished) {
    return c.buf.empty() ? Status::OK() : Status::Corruption("encrypted backup has data after its last chunk");
  }
  if (c.buf.size() < kTagLen) return Status::Corruption("encrypted backup is truncated (no last chunk)");
  return Open(c.buf, true);
}

}  // namespace lifeboat::codec
