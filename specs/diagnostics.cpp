#include "specs/diagnostics.h"

#include <algorithm>
#include <tuple>

#include "base/term_style.h"

namespace reconciler::specs {

namespace {

// The `line`th line (1-based) of `text`, without its newline.
std::string LineOf(const std::string& text, int line) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    start = text.find('\n', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  size_t end = text.find('\n', start);
  std::string out = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return out;
}

// Spaces up to `column` (1-based, counted in characters), keeping tabs so the caret lines
// up under the same tab stops. Wide (CJK) characters take two cells.
std::string CaretPad(const std::string& line, int column) {
  std::string pad;
  int chars = 0;
  for (size_t i = 0; i < line.size() && chars < column - 1; ++chars) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    pad += c == '\t' ? "\t" : len == 3 ? "  " : " ";
    i += len;
  }
  return pad;
}

bool Printable(const std::string& line) {
  for (unsigned char c : line) {
    if (c < 0x20 && c != '\t') return false;
  }
  return line.size() <= 300;
}

}  // namespace

void Diagnostics::Error(const Location& at, std::string message) {
  all_.push_back({Severity::kError, at, std::move(message)});
}

void Diagnostics::Warning(const Location& at, std::string message) {
  all_.push_back({Severity::kWarning, at, std::move(message)});
}

void Diagnostics::Add(Diagnostic d) { all_.push_back(std::move(d)); }

void Diagnostics::Merge(const Diagnostics& other) { all_.insert(all_.end(), other.all_.begin(), other.all_.end()); }

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(
      std::count_if(all_.begin(), all_.end(), [](const Diagnostic& d) { return d.severity == Severity::kError; }));
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> out = all_;
  auto key = [](const Diagnostic& d) {
    return std::tie(d.at.file, d.at.line, d.at.column, d.severity, d.message);
  };
  std::stable_sort(out.begin(), out.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  out.erase(std::unique(out.begin(), out.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) == key(b); }),
            out.end());
  return out;
}

std::string Diagnostics::Render(const std::map<std::string, std::string>& sources, bool color) const {
  const std::string bold = StyleOn({TermStyle::kBold}, color);
  const std::string red = StyleOn({TermStyle::kBold, TermStyle::kRed}, color);
  const std::string magenta = StyleOn({TermStyle::kBold, TermStyle::kMagenta}, color);
  const std::string green = StyleOn({TermStyle::kBold, TermStyle::kGreen}, color);
  const std::string reset = StyleOff(color);
  std::string out;
  for (const Diagnostic& d : Sorted()) {
    out.append(bold).append(d.at.file);
    if (d.at.line > 0) {
      out.append(":").append(std::to_string(d.at.line)).append(":").append(std::to_string(d.at.column));
    }
    out.append(": ").append(reset);
    out.append(d.severity == Severity::kError ? red : magenta);
    out.append(d.severity == Severity::kError ? "error: " : "warning: ");
    out.append(reset).append(d.message).append("\n");
    auto src = sources.find(d.at.file);
    if (d.at.line > 0 && src != sources.end()) {
      std::string line = LineOf(src->second, d.at.line);
      if (Printable(line)) {
        out += "  " + line + "\n";
        out += "  " + CaretPad(line, d.at.column) + green + "^" + reset + "\n";
      }
    }
  }
  return out;
}

}  // namespace reconciler::specs
