// ReadFileChunks: streams a whole file to a callback in 1 MiB chunks (EINTR retried); the first
// error from the file or the callback stops it. For hashing and copying files of any size.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/status.h"

namespace lifeboat {

Status ReadFileChunks(const std::string& path, const std::function<Status(std::span<const uint8_t>)>& chunk);

}  // namespace lifeboat
