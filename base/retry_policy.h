#pragma once

// The retry table: the one place that decides what a failed cloud call means.
//
// Every failure gets a Status code (status.h) where it happens, from one of two tables:
//   - a transport failure by its class (TransportCode): not sent, a timeout after the
//     request went out, a reset, HTTP 429, HTTP 5xx, another HTTP status, an unreadable
//     answer;
//   - an answer from the cloud by its Error.Code (ClassifyCloudError): an exact code, or a
//     family such as every RequestLimitExceeded.* code.
// Decide() then turns the code and the call's Effect into exactly one Verdict:
//
//   code                          read    write            purchase
//   kThrottled, kNotSent          retry   retry            retry
//   kRetryable, kOutcomeUnknown   retry   outcome unknown  outcome unknown
//   anything else                 terminal (the resource stops with the cloud's code)
//
// Throttling and a refused connection prove nothing was done, so every call may go again.
// A server fault (InternalError) or a lost answer proves nothing either way: a read is
// repeated, but a purchase must first search for what it may have bought, and a write is
// left for the next plan to observe. Codes the table does not know are terminal.
//
// Retries wait a full-jitter backoff (Backoff below).

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace reconciler {

// What repeating a call could do.
enum class Effect {
  kRead,      // describe, inquiry, DryRun: safe to repeat
  kMutate,    // modify, tag, isolate, destroy: repeating is harmless or detectable
  kPurchase,  // create, spec change: repeating may buy twice
};
const char* EffectName(Effect e);

enum class Verdict {
  kRetry,           // send the same call again after a backoff
  kOutcomeUnknown,  // the call may have taken effect: find out before anything else
  kTerminal,        // repeating cannot help: stop this resource and show the cloud's code
};
const char* VerdictName(Verdict v);

// REQUIRES: code != Code::kOk
Verdict Decide(Code code, Effect effect);
// Decide() for a failed status.
inline Verdict Decide(const Status& s, Effect effect) { return Decide(s.code(), effect); }

// How an exchange failed before a Tencent Cloud API answer could be read.
enum class TransportFailure {
  kNotSent,           // DNS, connection refused, TLS handshake: the request never left
  kTimeoutAfterSend,  // the request went out and no (complete) answer came in time
  kReset,             // the connection broke after the request went out
  kHttp429,           // the gateway throttled the request
  kHttp5xx,           // the gateway or server failed; the API may have acted
  kHttpOther,         // any other non-200 status: the API answers its errors with 200, so
                      // this came from something in between, which may have passed it on
  kMalformedAnswer,   // 200, but not an API envelope (truncated, wrong types, not JSON)
};
const char* TransportFailureName(TransportFailure f);
Code TransportCode(TransportFailure f);

// One row of the cloud's error codes. `pattern` is an exact code ("InternalError"), or a
// family ending in ".*" ("RequestLimitExceeded.*") that matches the bare family name and
// every code under it. An exact row wins over a family; a longer family over a shorter.
struct CloudErrorRule {
  std::string_view pattern;
  Code code;  // kThrottled, kRetryable, kAuth, kNotFound or kPermanent
  std::string_view why;
};

// Every row, for documentation and tests.
const std::vector<CloudErrorRule>& CloudErrorTable();

// The row that decides `api_code`, or nullptr when no row matches.
const CloudErrorRule* FindCloudErrorRule(std::string_view api_code);

// The Status code of a cloud Error.Code. A code no row matches is kPermanent.
Code ClassifyCloudError(std::string_view api_code);

// Whether a terminal failure with this cloud code says something about the resource (a
// refusal, a deadline) rather than about the caller's credentials, which the next run may
// have fixed. Only the former holds a resource until the user acts (see diff.h).
bool HoldsResource(std::string_view api_code);

// Capped exponential backoff with full jitter: the n-th delay (from 0) is uniform in
// [0, min(cap, base * 2^n)]. Not thread-safe; one per retry loop.
class Backoff {
 public:
  // `seed` 0 seeds from std::random_device; tests pass a fixed seed.
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, uint64_t seed = 0);

  // The delay before the next attempt.
  std::chrono::milliseconds Next();
  // The upper bound of the delay Next() returns next.
  std::chrono::milliseconds Ceiling() const;
  int attempts() const { return attempts_; }

 private:
  uint64_t NextRandom();  // splitmix64

  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  int attempts_ = 0;
  uint64_t state_;
};

}  // namespace reconciler
