#include "base/status.h"

namespace lifeboat {

const char* CodeName(Status::Code c) {
  switch (c) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kDeadlineExceeded: return "deadline exceeded";
    case Status::Code::kUnauthenticated: return "unauthenticated";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kFailedPrecondition: return "failed precondition";
    case Status::Code::kAborted: return "aborted";
    case Status::Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

int Status::ExitCode() const {
  if (ok()) return 0;
  return code_ == Code::kInvalidArgument ? 2 : 1;
}

}  // namespace lifeboat
