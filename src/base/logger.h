// Logger: how long-running services (the daemon, the agent server) report what they did. They
// never print; the command that runs them chooses where the lines go (cli: spdlog to stderr,
// which systemd's journal keeps). Implementations must be safe to call from any thread.
#pragma once

#include <string_view>
#include <utility>

#include "fmt/format.h"

namespace lifeboat {

class Logger {
 public:
  enum class Level { kInfo, kWarn, kError };
  virtual ~Logger() = default;
  virtual void Log(Level level, std::string_view line) = 0;

  template <typename... Args>
  void Info(fmt::format_string<Args...> f, Args&&... args) {
    Log(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) {
    Log(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> f, Args&&... args) {
    Log(Level::kError, fmt::format(f, std::forward<Args>(args)...));
  }
};

// Drops every line: for services run where nobody reads their log (tests, one-shot drills).
class NullLogger : public Logger {
 public:
  void Log(Level, std::string_view) override {}
};

}  // namespace lifeboat
