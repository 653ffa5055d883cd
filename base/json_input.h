#pragma once

// JSON that comes from outside: a cloud answer, a plan file, --data, a state record.
//
// nlohmann/json parses any depth without recursion, but dump() and every walk over the
// result recurse, so text nested a few hundred thousand levels deep would overflow the
// stack long after it was accepted. Input is therefore refused above a nesting depth no
// document of ours comes near.

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "base/status.h"

namespace reconciler {

inline constexpr size_t kMaxJsonDepth = 100;

// The deepest nesting of arrays and objects in `text` (strings are skipped). Exact for valid
// JSON; for anything else it is only a bound, and the parse fails anyway.
size_t JsonDepth(std::string_view text);

// Parses `text`. Fails with kInvalidInput when it is not JSON (a raw NUL byte anywhere
// included) or is nested deeper than `max_depth`; the message says which, not what the text
// holds.
Result<nlohmann::json> ParseJsonInput(std::string_view text, size_t max_depth = kMaxJsonDepth);

// Whether `j` holds a number with a fraction or an exponent anywhere within its first
// kMaxJsonDepth levels. Converting such a number to an integer field is undefined when it
// is out of range, so documents whose numbers are all whole refuse them first.
bool HoldsFraction(const nlohmann::json& j);

}  // namespace reconciler
