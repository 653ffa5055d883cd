#pragma once

// Problems found in specs and project files, each pointing at a file, line and column.
// Rendered as
//   replicas.yaml:12:14: error: storageGB must be a multiple of 10, got 105
//     storageGB: 105
//                ^
// Every problem of every file is collected; Render() sorts them by file, line and column.

#include <map>
#include <string>
#include <vector>

namespace reconciler::specs {

// 1-based. line == 0 means the file as a whole.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  Location at;
  std::string message;
};

class Diagnostics {
 public:
  void Error(const Location& at, std::string message);
  void Warning(const Location& at, std::string message);
  void Add(Diagnostic d);
  // Appends another collection (from another file loaded in parallel).
  void Merge(const Diagnostics& other);

  bool has_errors() const;
  size_t error_count() const;
  // Sorted by file, line, column; exact duplicates (the same default reported through
  // several resources) appear once.
  std::vector<Diagnostic> Sorted() const;

  // The rendered text. `sources` maps a file as named in Location to its contents, for the
  // source line and caret. Colour when `color` is set.
  std::string Render(const std::map<std::string, std::string>& sources, bool color = false) const;

 private:
  std::vector<Diagnostic> all_;
};

}  // namespace reconciler::specs
