// Status and Result<T>: the error type that crosses every module boundary in Edgewise.
//
// No exception crosses a module API; functions that can fail return Status or Result<T>, both
// [[nodiscard]]. Status is cheap when ok (no allocation). Thread-safety: values, no sharing.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ew {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // the thing to create exists already
  kFailedPrecondition,  // the system is not in a state to do this (e.g. newer schema)
  kResourceExhausted,   // a limit was hit (size, memory, queue)
  kUnavailable,         // try again later (overload, storage background error)
  kCorruption,          // stored data failed verification
  kIOError,             // the file system failed
  kInternal,            // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message" (or "OK").
  std::string ToString() const;

  // Prefixes the message with context: "opening data dir: <message>".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T>: a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ew

#define EW_CONCAT_INNER(a, b) a##b
#define EW_CONCAT(a, b) EW_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when it is not ok.
#define EW_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::ew::Status ew_status_ = (expr);        \
    if (!ew_status_.ok()) return ew_status_; \
  } while (0)

// EW_ASSIGN_OR_RETURN(auto x, Compute()); — declares x from a Result or returns its status.
#define EW_ASSIGN_OR_RETURN(lhs, expr) \
  EW_ASSIGN_OR_RETURN_IMPL(EW_CONCAT(ew_result_, __LINE__), lhs, expr)
#define EW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
