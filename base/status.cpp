#include "base/status.h"

namespace reconciler {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidInput: return "invalid-input";
    case Code::kNotFound: return "not-found";
    case Code::kNotSent: return "not-sent";
    case Code::kOutcomeUnknown: return "outcome-unknown";
    case Code::kThrottled: return "throttled";
    case Code::kRetryable: return "retryable";
    case Code::kPermanent: return "permanent";
    case Code::kAuth: return "auth";
    case Code::kConflict: return "conflict";
    case Code::kCancelled: return "cancelled";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out = CodeName(code_);
  out += ": ";
  if (!api_code_.empty()) {
    out += api_code_;
    out += ": ";
  }
  out += message_;
  if (!request_id_.empty()) {
    out += " (RequestId ";
    out += request_id_;
    out += ")";
  }
  return out;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, api_code_, request_id_);
}

}  // namespace reconciler
