// Status and Result<T>: errors are values, never exceptions across module boundaries.
// A Status names what failed and what to do about it; the CLI maps its code to an exit code
// (InvalidArgument -> 2, anything else that is not OK -> 1).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lifeboat {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,    // usage or configuration error (exit 2)
    kNotFound,
    kUnavailable,        // endpoint down, connection refused
    kDeadlineExceeded,
    kUnauthenticated,    // wrong password, bad certificate
    kPermissionDenied,
    kCorruption,         // checksum mismatch, truncated stream
    kIOError,            // local disk
    kFailedPrecondition, // state of the world forbids it (e.g. no healthy follower)
    kAborted,
    kInternal,
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
  static Status DeadlineExceeded(std::string m) { return Status(Code::kDeadlineExceeded, std::move(m)); }
  static Status Unauthenticated(std::string m) { return Status(Code::kUnauthenticated, std::move(m)); }
  static Status PermissionDenied(std::string m) { return Status(Code::kPermissionDenied, std::move(m)); }
  static Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
  static Status FailedPrecondition(std::string m) { return Status(Code::kFailedPrecondition, std::move(m)); }
  static Status Aborted(std::string m) { return Status(Code::kAborted, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>".
  Status Annotate(const std::string& context) const;
  // The same code with another message.
  Status WithMessage(std::string m) const { return Status(code_, std::move(m)); }
  // 0 ok, 2 usage/config error, 1 anything else.
  int ExitCode() const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

const char* CodeName(Status::Code c);

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                                      // NOLINT
  Result(Status s) : v_(std::move(s)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lifeboat

#define LB_CONCAT_INNER(a, b) a##b
#define LB_CONCAT(a, b) LB_CONCAT_INNER(a, b)

#define LB_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::lifeboat::Status _lb_st = (expr);          \
    if (!_lb_st.ok()) return _lb_st;             \
  } while (0)

#define LB_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define LB_ASSIGN_OR_RETURN(lhs, expr) LB_ASSIGN_OR_RETURN_IMPL(LB_CONCAT(_lb_r_, __LINE__), lhs, expr)
