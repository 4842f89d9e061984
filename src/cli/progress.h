// A one-line progress meter (bytes, rate, ETA) on stderr, redrawn at most 5 times a second.
// Silent unless stderr is a terminal, so pipes, logs and cron mail stay clean.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace lifeboat::cli {

class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();
  void Update(uint64_t done, uint64_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace lifeboat::cli
