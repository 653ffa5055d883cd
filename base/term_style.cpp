#include "base/term_style.h"

#include <fmt/color.h>

namespace reconciler {

namespace {

fmt::text_style StyleOf(TermStyle s) {
  switch (s) {
    case TermStyle::kGreen: return fmt::fg(fmt::terminal_color::green);
    case TermStyle::kYellow: return fmt::fg(fmt::terminal_color::yellow);
    case TermStyle::kRed: return fmt::fg(fmt::terminal_color::red);
    case TermStyle::kCyan: return fmt::fg(fmt::terminal_color::cyan);
    case TermStyle::kMagenta: return fmt::fg(fmt::terminal_color::magenta);
    case TermStyle::kBold: return fmt::text_style(fmt::emphasis::bold);
    case TermStyle::kDim: return fmt::text_style(fmt::emphasis::faint);
  }
  return {};
}

// fmt writes a style as: opening escape, text, reset. A marker as the text splits the two.
struct Escapes {
  std::string open, close;
};

Escapes EscapesOf(std::initializer_list<TermStyle> styles) {
  fmt::text_style style;
  for (TermStyle s : styles) style |= StyleOf(s);
  const std::string written = fmt::format(style, "{}", '\x01');
  const size_t at = written.find('\x01');
  return {written.substr(0, at), written.substr(at + 1)};
}

}  // namespace

std::string StyleOn(std::initializer_list<TermStyle> styles, bool on) { return on ? EscapesOf(styles).open : ""; }

std::string StyleOff(bool on) { return on ? EscapesOf({TermStyle::kBold}).close : ""; }

std::string Styled(const std::string& text, std::initializer_list<TermStyle> styles, bool on) {
  if (!on) return text;
  Escapes e = EscapesOf(styles);
  return e.open + text + e.close;
}

}  // namespace reconciler
