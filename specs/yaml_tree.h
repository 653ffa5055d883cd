#pragma once

// YAML parsed into a plain tree that remembers where every node was written. This is the
// only place that includes yaml-cpp. On top of yaml-cpp it:
//   - rejects duplicate mapping keys;
//   - expands merge keys (`<<: *anchor`, or a list of anchors), explicit keys winning;
//   - expands aliases under a node budget, so an alias bomb is an error, not a hang;
//   - limits nesting depth, file size, and refuses binary files and tab indentation.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "specs/diagnostics.h"

namespace reconciler::specs {

struct Member;

struct Node {
  enum class Type { kNull, kScalar, kSequence, kMap };
  Type type = Type::kNull;
  std::string scalar;   // the text of a scalar
  bool quoted = false;  // written quoted or tagged !!str: always a string, never a number
  Location at;
  std::vector<Node> items;                     // a sequence's elements
  std::vector<Member> members;                 // a mapping's keys and values, in order

  bool IsMap() const { return type == Type::kMap; }
  bool IsSequence() const { return type == Type::kSequence; }
  bool IsScalar() const { return type == Type::kScalar; }
  bool IsNull() const { return type == Type::kNull; }
  // The value of `key` in a mapping, or nullptr.
  const Node* Find(std::string_view key) const;
  Node* Find(std::string_view key);
  // The key node of `key` in a mapping, or nullptr.
  const Node* FindKey(std::string_view key) const;
  // "a mapping", "a list", "the string \"x\"", "the number 3", "null": for messages.
  std::string Describe() const;
};

struct Member {
  Node key;
  Node value;
};

struct ParseLimits {
  size_t max_bytes = 4u << 20;  // per file
  size_t max_total_bytes = 64u << 20;  // all the files of a stack together, project file included
  size_t max_files = 10000;            // spec files in a stack
  size_t max_nodes = 500000;    // per file, after expanding aliases
  size_t max_documents = 10000; // per file
  int max_depth = 64;
};

// Parses every document of `text`, reporting problems against `file`. Documents that fail
// to parse are dropped; the rest are returned.
std::vector<Node> ParseYaml(const std::string& file, const std::string& text, Diagnostics* diags,
                            const ParseLimits& limits = {});

// Checks that `text` is UTF-8 text without NUL bytes or other control characters YAML
// forbids. Reports the first offending byte's position.
bool CheckText(const std::string& file, const std::string& text, Diagnostics* diags);

}  // namespace reconciler::specs
