// Helpers for asserting what a local-folder store holds after a command: every regular file
// (temp files included, so "nothing half-written" is checked, not assumed) and JSON decoding.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lifeboat::harness {

// Every regular file under dir, hidden ones included, relative to dir; empty if dir is absent.
inline std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  }
  return out;
}

// A whole file's bytes ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Damages a stored file in place: inverts the byte at `offset`, so it always changes (writing a
// fixed byte does nothing when that byte is already there). False if the file is shorter.
inline bool FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  char byte = 0;
  if (!f.seekg(static_cast<std::streamoff>(offset)) || !f.get(byte)) return false;
  f.seekp(static_cast<std::streamoff>(offset));
  return static_cast<bool>(f.put(static_cast<char>(~byte)).flush());
}

// Parses JSON or returns a discarded value (check with .is_discarded()).
inline nlohmann::json ParseJson(const std::string& text) { return nlohmann::json::parse(text, nullptr, false); }

}  // namespace lifeboat::harness
