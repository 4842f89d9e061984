// SpdlogLogger: the services' Logger (base/logger.h) as the commands that run them print it,
// through spdlog's default logger (stderr, kept by systemd's journal).
#pragma once

#include <spdlog/spdlog.h>

#include "base/logger.h"

namespace lifeboat::cli {

class SpdlogLogger : public Logger {
 public:
  void Log(Level level, std::string_view line) override {
    switch (level) {
      case Level::kInfo: spdlog::info("{}", line); break;
      case Level::kWarn: spdlog::warn("{}", line); break;
      case Level::kError: spdlog::error("{}", line); break;
    }
  }
};

}  // namespace lifeboat::cli
