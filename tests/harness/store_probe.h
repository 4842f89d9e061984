// Helpers for asserting what a local-folder store holds after a command: every regular file
// (temp files included, so "nothing half-written" is checked, not assumed) and JSON decoding.
#pragma once

#include <filesystem>
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

// Parses JSON or returns a discarded value (check with .is_discarded()).
inline nlohmann::json ParseJson(const std::string& text) { return nlohmann::json::parse(text, nullptr, false); }

}  // namespace lifeboat::harness
