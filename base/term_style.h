#pragma once

// Terminal text styles by name. fmt writes their escapes (fmt/color.h stays in the .cpp), so
// no code spells out ANSI codes.

#include <initializer_list>
#include <string>

namespace reconciler {

enum class TermStyle { kGreen, kYellow, kRed, kCyan, kMagenta, kBold, kDim };

// The escape that turns all of `styles` on; "" when `on` is false (no colour wanted).
std::string StyleOn(std::initializer_list<TermStyle> styles, bool on);

// The escape that turns every style off; "" when `on` is false.
std::string StyleOff(bool on);

// `text` in `styles`, followed by the reset; `text` alone when `on` is false.
std::string Styled(const std::string& text, std::initializer_list<TermStyle> styles, bool on);

}  // namespace reconciler
