// Protocol-buffer wire format, only what etcd's small messages need: varints, tags and
// length-delimited fields, written in field-number order like gogo-protobuf's Marshal, and a
// reader that walks any field order and skips unknown fields (as etcd's decoders do).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lifeboat::snapshot::proto {

enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kBytes = 2, kFixed32 = 5 };

inline void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline void AppendVarintField(std::string* out, uint32_t field, uint64_t v) {
  AppendVarint(out, (uint64_t{field} << 3) | kVarint);
  AppendVarint(out, v);
}

inline void AppendBytesField(std::string* out, uint32_t field, std::string_view bytes) {
  AppendVarint(out, (uint64_t{field} << 3) | kBytes);
  AppendVarint(out, bytes.size());
  out->append(bytes);
}

// Iterates the fields of one message. Next() returns false at the end or on malformed input;
// ok() tells which.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool Next() {
    if (pos_ >= data_.size()) return false;
    uint64_t tag;
    if (!Varint(&tag)) return Fail();
    field_ = static_cast<uint32_t>(tag >> 3);
    type_ = static_cast<uint8_t>(tag & 7);
    switch (type_) {
      case kVarint:
        return Varint(&varint_) || Fail();
      case kFixed64:
        if (data_.size() - pos_ < 8) return Fail();
        pos_ += 8;
        return true;
      case kFixed32:
        if (data_.size() - pos_ < 4) return Fail();
        pos_ += 4;
        return true;
      case kBytes: {
        uint64_t len;
        if (!Varint(&len) || len > data_.size() - pos_) return Fail();
        bytes_ = data_.substr(pos_, len);
        pos_ += len;
        return true;
      }
      default:
        return Fail();
    }
  }
  uint32_t field() const { return field_; }
  uint8_t type() const { return type_; }
  uint64_t varint() const { return varint_; }
  std::string_view bytes() const { return bytes_; }
  bool ok() const { return ok_; }

 private:
  bool Fail() {
    ok_ = false;
    pos_ = data_.size();
    return false;
  }
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      *v |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return true;
    }
    return false;
  }

  std::string_view data_;
  size_t pos_ = 0;
  uint32_t field_ = 0;
  uint8_t type_ = 0;
  uint64_t varint_ = 0;
  std::string_view bytes_;
  bool ok_ = true;
};

}  // namespace lifeboat::snapshot::proto
