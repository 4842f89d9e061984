#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include "cli/printer.h"

namespace lifeboat::cli {

Progress::Progress(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { Finish(); }

void Progress::Update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(200) && done != total) return;
  last_draw_ = now;
  drawn_ = true;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  std::string line = label_ + " " + HumanBytes(done);
  if (total > 0) {
    line += " / " + HumanBytes(total) + " (" + std::to_string(done * 100 / total) + "%)";
  }
  line += ", " + HumanBytes(static_cast<uint64_t>(rate)) + "/s";
  if (total > done && rate > 0) {
    line += ", ETA " + std::to_string(static_cast<int>((static_cast<double>(total - done)) / rate + 0.5)) + "s";
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

void Progress::Finish() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace lifeboat::cli
