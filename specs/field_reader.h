#pragma once

// Reads the members of one YAML mapping into typed fields. Type errors are reported at the
// value, missing required fields at the mapping's key, and Finish() reports every member
// no read asked for, with a "did you mean" hint from the fields that exist.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "specs/diagnostics.h"
#include "specs/yaml_tree.h"

namespace reconciler::specs {

class FieldReader {
 public:
  // `what` names the mapping in messages, e.g. "ReadOnlyInstance spec". `fields` lists every
  // field the mapping may hold, for Finish() and its hints. `where` is the location reported
  // for missing fields (usually the key that introduced the mapping).
  // `prefix` is put before field names in messages ("daemon." for daemon.interval).
  FieldReader(const Node& map, std::string what, std::vector<std::string> fields, Location where,
              Diagnostics* diags, std::string prefix = "");

  // Each returns true when the field is present and well typed; then *out is set. An
  // absent field leaves *out alone (its default) and returns false.
  bool String(std::string_view key, std::string* out);
  bool Uint(std::string_view key, uint64_t* out);
  bool Int(std::string_view key, int64_t* out);
  bool Bool(std::string_view key, bool* out);
  // `item_at`, when given, receives where each item (or each key) was written.
  bool StringList(std::string_view key, std::vector<std::string>* out, std::vector<Location>* item_at = nullptr);
  bool StringMap(std::string_view key, std::map<std::string, std::string>* out,
                 std::map<std::string, Location>* key_at = nullptr);
  // The raw node of `key`, or nullptr; marks it as read.
  const Node* Get(std::string_view key);

  // Marks `key` as required; Finish() reports it when absent, unless an unknown field that
  // looks like a typo of it explains its absence.
  void Require(std::string_view key, const std::string& hint = "");
  bool Has(std::string_view key) const { return map_.Find(key) != nullptr; }
  // Where the value of `key` was written, or the mapping's location when absent.
  Location At(std::string_view key) const;
  // Reports an error at `key`'s value.
  void Error(std::string_view key, const std::string& message);
  void Warning(std::string_view key, const std::string& message);

  // Reports missing required fields and unknown members. Call once, after every read.
  void Finish();
  // Where each present, known field was written.
  std::map<std::string, Location> Locations() const;

 private:
  // The value of `key`, marked as read, or nullptr.
  const Node* MarkRead(std::string_view key);
  bool TypeError(std::string_view key, const Node& value, const char* expected);
  std::string Name(std::string_view key) const { return prefix_ + std::string(key); }

  const Node& map_;
  std::string what_;
  std::vector<std::string> fields_;
  Location where_;
  Diagnostics* diags_;
  std::string prefix_;
  std::vector<bool> read_;  // per member of map_: asked for by a read
  std::vector<std::pair<std::string, std::string>> required_;  // key, hint
};

// Parses an integer scalar written without quotes ("100", "-3", "0x10" is not allowed).
bool ParseInteger(const Node& n, int64_t* out);
bool ParseUnsigned(const Node& n, uint64_t* out);

}  // namespace reconciler::specs
