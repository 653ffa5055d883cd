#pragma once

// Status and Result<T>: how expected failures travel through the project.
//
// The codes are only the ones callers branch on. Library errors (libcurl, yaml-cpp,
// nlohmann/json, SQLite) are converted to a Status at the boundary where they occur.
// A broken invariant is a bug and asserts instead.

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace reconciler {

enum class Code {
  kOk,
  kInvalidInput,    // the caller's input is wrong; nothing was sent
  kNotFound,        // the thing asked for does not exist
  kNotSent,         // the request certainly never reached the server (DNS, refused)
  kOutcomeUnknown,  // the request may have been processed: timeout after send, reset,
                    // truncated or unreadable answer, 5xx
  kThrottled,       // RequestLimitExceeded: back off and retry
  kRetryable,       // a transient server-side failure; retrying may succeed
  kPermanent,       // the server refused; retrying the same request cannot succeed
  kAuth,            // credentials or signature rejected
  kConflict,        // someone else holds the lock, or the world changed under a saved plan
  kCancelled,       // stopped on request (Ctrl-C)
  kInternal,        // a local failure: I/O, database, unexpected data
};

// Returns a stable lower-case name for `code`, e.g. "outcome-unknown".
const char* CodeName(Code code);

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string api_code = {}, std::string request_id = {})
      : code_(code),
        message_(std::move(message)),
        api_code_(std::move(api_code)),
        request_id_(std::move(request_id)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The cloud's Error.Code when the cloud answered with an error, else empty.
  const std::string& api_code() const { return api_code_; }
  // The cloud's RequestId when it answered, else empty.
  const std::string& request_id() const { return request_id_; }

  // "outcome-unknown: timed out after the request was sent"
  // "permanent: InvalidParameterValue.BadSpec: spec not sold (RequestId 1234)"
  std::string ToString() const;

  // Prefixes the message with context, keeping the code, api code and request id.
  Status Annotate(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string api_code_;
  std::string request_id_;
};

// A value or the Status that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok()
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace reconciler
